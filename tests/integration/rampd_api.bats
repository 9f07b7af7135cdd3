#!/usr/bin/env bats
bats_require_minimum_version 1.5.0
# rampd_api.bats: a real rampd process: its API on the unix socket and on TCP
# (tokens, TLS, rate limit), hostile requests and config files, signals
# (SIGHUP reload, SIGTERM), the systemd notification protocol and unit file.

load rampd_helpers

setup() { common_setup; }
teardown() { rampd_teardown; }

D64=$(printf 'a%.0s' $(seq 64))
IMG="127.0.0.1:5000/web@sha256:$D64"

@test "rampd api: the unix socket is 0600 and answers without a token" {
	write_config
	start_rampd
	[ "$(stat -c %a "$T/rampd.sock")" = 600 ]
	api GET /healthz
	[ "$code" = 200 ]
	[ "$body" = '{"status":"ok"}' ]
	api GET /v1/info
	[ "$code" = 200 ]
	[ "$(jq -r .version <<<"$body")" = "$("$RAMPD_BIN" --version | cut -d' ' -f2)" ]
	[ "$(jq -r .platform.os <<<"$body")" = linux ]
	api GET /metrics
	[ "$code" = 200 ]
	[[ "$body" == *"ramp_pull_bytes_total 0"* ]]
}

@test "rampd api: a second rampd on the same socket is refused, a stale socket file is replaced" {
	write_config
	start_rampd
	run "$RAMPD_BIN" --config "$T/rampd.json"
	[ "$status" -eq 1 ]
	[[ "$output" == *"store \"$T/state\" is in use by another process"* ]]
	sed "s|$T/state|$T/state2|" "$T/rampd.json" >"$T/other.json"
	run "$RAMPD_BIN" --config "$T/other.json"
	[ "$status" -eq 1 ]
	[[ "$output" == *"another rampd is listening on \"$T/rampd.sock\""* ]]
	kill -KILL "$RAMPD_PID"
	wait_exit "$RAMPD_PID" 5 || true
	[ -S "$T/rampd.sock" ]
	start_rampd
	api GET /healthz
	[ "$code" = 200 ]
}

@test "rampd api: TCP needs the bearer token; bad tokens are rate-limited; TLS works" {
	port=$(free_port)
	head -c 24 /dev/urandom | base64 | tr -d '\n/+=' >"$T/token"
	chmod 600 "$T/token"
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" -days 1 \
		-subj /CN=localhost -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null
	write_config "\"listen\": [\"127.0.0.1:$port\"], \"token_file\": \"$T/token\", \"tls_cert\": \"$T/cert.pem\", \"tls_key\": \"$T/key.pem\""
	start_rampd
	tok=$(cat "$T/token")
	url="https://127.0.0.1:$port"
	c() { curl -s --cacert "$T/cert.pem" -o "$T/out" -w '%{http_code}' "$@"; }
	[ "$(c "$url/healthz")" = 401 ]
	[ "$(jq -r .error "$T/out")" = unauthorized ]
	[ "$(c "$url/metrics")" = 401 ]
	[ "$(c -X PUT --data-binary "{\"image\":\"$IMG\",\"generation\":1}" "$url/v1/apps/web")" = 401 ]
	[ "$(c -H "Authorization: Bearer $tok" "$url/v1/apps/web")" = 404 ]  # nothing was created
	[ "$(c -H "Authorization: Bearer $tok" "$url/healthz")" = 200 ]
	[ "$(c -H "Authorization: Basic $tok" "$url/healthz")" = 401 ]
	[ "$(c -H "Authorization: Bearer ${tok}x" "$url/healthz")" = 401 ]
	# plain HTTP on the TLS port gets no answer
	run curl -s -m 5 "http://127.0.0.1:$port/healthz"
	[ "$status" -ne 0 ]
	for i in $(seq 10); do c -H "Authorization: Bearer wrong$i" "$url/healthz" >/dev/null; done
	[ "$(c -H "Authorization: Bearer $tok" "$url/healthz")" = 429 ]
	[ "$(jq -r .error "$T/out")" = rate_limited ]
	api GET /healthz
	[ "$code" = 200 ]
}

@test "rampd api: slow clients without the token cannot keep a client with it out" {
	# issue 13 item 2, scaled down: rampd with 256 descriptors (64 connections a
	# listener, 16 of them without the token); 320 connections from 10 addresses
	# trickling a header line every 0.5 s, reopened as soon as they are closed
	# (--flood: harsher than the issue's, whose connections came back at their
	# next line)
	port=$(free_port)
	head -c 24 /dev/urandom | base64 | tr -d '\n/+=' >"$T/token"
	chmod 600 "$T/token"
	write_config "\"listen\": [\"127.0.0.1:$port\"], \"token_file\": \"$T/token\""
	RAMPD_NOFILE=256 start_rampd
	slow=$BATS_TEST_DIRNAME/../helpers/slowloris.py
	python3 "$slow" --port "$port" --addresses 10 --per-address 32 --interval 0.5 --seconds 60 \
		--flood --ready "$T/ready" --stop "$T/stop" >"$T/slow.out" &
	spid=$!
	# meanwhile one more from its own address, never idle: the deadline closes
	# it 5 s after it was accepted, however it trickles
	python3 "$slow" --port "$port" --first 20 --addresses 1 --per-address 1 --interval 0.5 --seconds 15 \
		--once >"$T/one.out" &
	opid=$!
	for _ in $(seq 200); do [ -f "$T/ready" ] && break; sleep 0.05; done
	[ -f "$T/ready" ]
	# the client with the token gets every answer, each on a new connection
	for i in $(seq 10); do
		code=$(curl -s -m 3 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(cat "$T/token")" \
			"http://127.0.0.1:$port/healthz") || true
		echo "request $i: $code"
		[ "$code" = 200 ]
	done
	wait "$opid"
	touch "$T/stop"
	wait "$spid"
	cat "$T/slow.out" "$T/one.out"
	read -r _ _ _ closed _ <"$T/slow.out"
	[ "$closed" -gt 0 ]
	read -r _ _ _ closed _ _ _ longest _ <"$T/one.out"
	[ "$closed" = 1 ]          # before rampd's 30 s idle timeout, which each line restarts
	[ "${longest%.*}" -ge 4 ]  # and not before its deadline
	api GET /healthz
	[ "$code" = 200 ]
}

@test "token files: rampd, ramp host, ramp fleet and ramp rollout refuse one others can read, that another user owns or that is a symlink" {
	# issue 13 item 7: such a file was accepted with a warning
	port=$(free_port)
	printf 'token-files-test-0123456789\n' >"$T/token"
	chmod 644 "$T/token"
	write_config "\"listen\": [\"127.0.0.1:$port\"], \"token_file\": \"$T/token\""
	run timeout 10 "$RAMPD_BIN" --config "$T/rampd.json"  # (a rampd that starts is stopped)
	[ "$status" -eq 1 ]
	[[ "$output" == *"token file \"$T/token\" is accessible by others than its owner (mode 0644): run \"chmod 600 $T/token\""* ]]
	[ ! -e "$T/rampd.sock" ]
	chmod 600 "$T/token"
	start_rampd
	echo "web 127.0.0.1:$port" >"$T/fleet.txt"
	cp -p "$T/token" "$T/other"
	chown 65534:65534 "$T/other"
	ln -s "$T/token" "$T/link"
	for f in "$T/other" "$T/link"; do
		run "$RAMP_BIN" host --host "http://127.0.0.1:$port" --token-file "$f" status
		[ "$status" -eq 1 ]
		[[ "$output" == *"token file \"$f\""* ]]
		run "$RAMP_BIN" fleet status --fleet "$T/fleet.txt" --token-file "$f"
		[ "$status" -ne 0 ]
		[[ "$output" == *"token file \"$f\""* ]]
		# a rollout names the token file too, before any registry (none listens here)
		run "$RAMP_BIN" rollout --app web --image "127.0.0.1:$(free_port)/x:y" --fleet "$T/fleet.txt" \
			--token-file "$f" --state-dir "$T/st" --allow-untested
		[ "$status" -eq 2 ]
		[[ "$output" == *"token file \"$f\""* ]]
	done
	[[ "$output" == *"is a symbolic link: name the file itself"* ]]
	chmod 640 "$T/other"
	chown root:root "$T/other"
	run "$RAMP_BIN" host --host "http://127.0.0.1:$port" --token-file "$T/other" status
	[ "$status" -eq 1 ]
	[[ "$output" == *"chmod 600 $T/other"* ]]
	# the private file works for all of them
	run "$RAMP_BIN" host --host "http://127.0.0.1:$port" --token-file "$T/token" status
	[ "$status" -eq 0 ]
	run "$RAMP_BIN" fleet status --fleet "$T/fleet.txt" --token-file "$T/token"
	[ "$status" -eq 0 ]
}

@test "rampd api: hostile requests are refused cleanly and change nothing" {
	write_config
	start_rampd
	api PUT /v1/apps/web "{\"image\":\"$IMG\",\"rollout\":\"r1\",\"generation\":7}"
	[ "$code" = 202 ]
	while read -r body; do
		api PUT /v1/apps/web "$body"
		[ "$code" = 400 ] || { echo "answered $code to $body"; false; }
		[ "$(jq -r .error <<<"$body")" = bad_request ]
	done <<EOF
not json
{"image":"127.0.0.1:5000/web:latest","generation":8}
{"image":"127.0.0.1:5000/web","generation":8}
{"image":"127.0.0.1:5000/web@sha256:abcd","generation":8}
{"image":"$IMG","generation":"8"}
{"image":"$IMG","generation":8.5}
{"image":"$IMG","generation":-8}
{"image":"$IMG","generation":8,"command":"rm -rf /"}
{"image":["$IMG"],"generation":8}
{"image":"$IMG","generation":8,"generation":9}
{"image":"$IMG","generation":8} trailing
EOF
	# nesting: valid, terminated documents; 5,000 levels and 65 are over the limit (64),
	# 63 is under it and refused only for its unknown field
	for depth in 5000 65 63; do
		python3 -c 'import sys; n = int(sys.argv[1]) - 1
print("{\"image\":\"%s\",\"generation\":8,\"x\":%s1%s}" % (sys.argv[2], "[" * n, "]" * n))' "$depth" "$IMG" >"$T/deep"
		run curl -s -w '%{http_code}' -X PUT --unix-socket "$T/rampd.sock" --data-binary @"$T/deep" http://rampd/v1/apps/web
		[[ "$output" == *'"bad_request"'*400 ]]
		if [ "$depth" -gt 64 ]; then
			[[ "$output" == *"nested deeper than 64 levels"* ]] || { echo "$depth: $output"; false; }
		else
			[[ "$output" != *nested* && "$output" == *'unknown field \"x\"'* ]] || { echo "$depth: $output"; false; }
		fi
	done
	head -c 300000 /dev/zero | tr '\0' ' ' >"$T/big"
	run curl -s -w '%{http_code}' -X PUT --unix-socket "$T/rampd.sock" --data-binary @"$T/big" http://rampd/v1/apps/web
	[[ "$output" == *'"too_large"'*413 ]]
	# the limit itself, 65536 bytes, is read whole and parsed; one byte more is refused
	for size in 65536 65537; do
		python3 -c 'import sys; b = "{\"image\":\"%s\",\"generation\":8,\"x\":1}" % sys.argv[2]
sys.stdout.write(b + " " * (int(sys.argv[1]) - len(b)))' "$size" "$IMG" >"$T/edge"
		[ "$(stat -c %s "$T/edge")" -eq "$size" ]
		run curl -s -w '%{http_code}' -X PUT --unix-socket "$T/rampd.sock" --data-binary @"$T/edge" http://rampd/v1/apps/web
		if [ "$size" -eq 65536 ]; then
			[[ "$output" == *'unknown field \"x\"'*400 ]] || { echo "$size: $output"; false; }
		else
			[[ "$output" == *'"too_large"'*413 ]] || { echo "$size: $output"; false; }
		fi
	done
	# far beyond the limit: refused without reading it (413, or the connection is cut)
	head -c 20000000 /dev/zero >"$T/huge"
	run curl -s -w '%{http_code}' -X PUT --unix-socket "$T/rampd.sock" --data-binary @"$T/huge" http://rampd/v1/apps/web
	[[ "$output" == *413 || "$output" == *000 ]]
	for path in '/v1/apps/..' '/v1/apps/..%2F..%2Fetc' '/v1/apps/a%00b' '/v1/apps/.x' '/v1/apps/WEB' \
		"/v1/apps/$(printf 'a%.0s' $(seq 64))"; do
		api PUT "$path" "{\"image\":\"$IMG\",\"generation\":1}"
		[ "$code" = 400 ] || [ "$code" = 404 ] || { echo "$path answered $code"; false; }
	done
	api PUT /v1/apps/web/../../x "{\"image\":\"$IMG\",\"generation\":1}"
	[ "$code" = 400 ] || [ "$code" = 404 ]
	# still the same app, same generation, nothing else appeared
	api GET /v1/apps
	[ "$(jq -r '.apps | length' <<<"$body")" = 1 ]
	[ "$(jq -r '.apps[0].generation' <<<"$body")" = 7 ]
	[ "$(ls "$T/state/apps")" = web ]
	api GET /healthz
	[ "$code" = 200 ]
}

@test "rampd api: generations fence stale requests and survive a restart" {
	write_config
	start_rampd
	api PUT /v1/apps/web "{\"image\":\"$IMG\",\"rollout\":\"r1\",\"generation\":5}"
	[ "$code" = 202 ]
	[ "$(jq -r .phase <<<"$body")" = pulling ]
	kill -KILL "$RAMPD_PID"
	wait_exit "$RAMPD_PID" 5 || true
	start_rampd
	api GET /v1/apps/web
	[ "$code" = 200 ]
	[ "$(jq -r .generation <<<"$body")" = 5 ]
	[ "$(jq -r .rollout <<<"$body")" = r1 ]
	[ "$(jq -r .desired.digest <<<"$body")" = "sha256:$D64" ]
	api PUT /v1/apps/web "{\"image\":\"$IMG\",\"generation\":4}"
	[ "$code" = 409 ]
	[ "$(jq -r .error <<<"$body")" = stale_generation ]
	api POST /v1/apps/web/revert '{"to":"previous","generation":3}'
	[ "$code" = 409 ]
	api DELETE /v1/apps/web '{"generation":2}'
	[ "$code" = 409 ]
	api POST /v1/apps/web/revert '{"to":"previous","generation":5}'
	[ "$code" = 422 ]
	[ "$(jq -r .error <<<"$body")" = nothing_to_revert ]
	api DELETE /v1/apps/web '{"generation":5}'
	[ "$code" = 200 ]
	[ "$body" = '{"deleted":"web"}' ]
	# the app's thread removes its files in the background
	for _ in $(seq 200); do [ -e "$T/state/apps/web" ] || break; sleep 0.05; done
	[ ! -e "$T/state/apps/web" ]
}

@test "rampd config: hostile and mistaken config files are refused with a message" {
	while read -r doc; do
		printf '%s' "$doc" >"$T/bad.json"
		run "$RAMPD_BIN" --check-config --config "$T/bad.json"
		[ "$status" -eq 1 ] || { echo "accepted: $doc"; false; }
		[[ "$output" == *"rampd: error: config \"$T/bad.json\": "* ]]
	done <<'EOF'
{"state_dir": "relative/path"}
{"listen": ["0.0.0.0:7300"]}
{"listen": ["example.com:7300"], "token_file": "/etc/ramp/token"}
{"apps": {"../../etc": {}}}
{"apps": {"web": {"ports": {"8080": "0.0.0.0:99999"}}}}
{"apps": {"web": {"memory_max": "a lot"}}}
{"apps": {"web": {"stop_grace": 10}}}
{"nonsense": 1}
{"socket": "/a", "socket": "/b"}
[1, 2, 3]
EOF
	python3 -c 'print("[" * 100000 + "]" * 100000)' >"$T/deep.json"
	run "$RAMPD_BIN" --check-config --config "$T/deep.json"
	[ "$status" -eq 1 ]
	[[ "$output" == *"nested deeper than 64 levels"* ]]
	head -c 2000000 /dev/zero | tr '\0' ' ' >"$T/big.json"
	run "$RAMPD_BIN" --check-config --config "$T/big.json"
	[ "$status" -eq 1 ]
	[[ "$output" == *"larger than"* ]]
	run "$RAMPD_BIN" --check-config --config "$T/missing.json"
	[ "$status" -eq 1 ]
	[[ "$output" == *"No such file or directory"* ]]
	write_config
	run "$RAMPD_BIN" --check-config --config "$T/rampd.json"
	[ "$status" -eq 0 ]
	# a daemon with a bad config does not start
	echo '{"log_level": "shout"}' >"$T/rampd.json"
	run "$RAMPD_BIN" --config "$T/rampd.json"
	[ "$status" -eq 1 ]
	[ ! -e "$T/rampd.sock" ]
}

@test "rampd signals: SIGHUP reloads (a new token at once; a bad file keeps the old config), SIGTERM exits 0" {
	port=$(free_port)
	printf 'first-token-0123456789abcdef\n' >"$T/token"
	chmod 600 "$T/token"
	write_config "\"listen\": [\"127.0.0.1:$port\"], \"token_file\": \"$T/token\""
	start_rampd
	c() { curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $1" "http://127.0.0.1:$port/healthz"; }
	[ "$(c first-token-0123456789abcdef)" = 200 ]
	# rotate the token and raise the log level
	printf 'second-token-0123456789abcdef\n' >"$T/token"
	write_config "\"listen\": [\"127.0.0.1:$port\"], \"token_file\": \"$T/token\", \"log_level\": \"debug\""
	kill -HUP "$RAMPD_PID"
	for _ in $(seq 100); do grep -q 'reloaded' "$T/rampd.log" && break; sleep 0.05; done
	grep -q "reloaded \"$T/rampd.json\"" "$T/rampd.log"
	[ "$(c second-token-0123456789abcdef)" = 200 ]
	[ "$(c first-token-0123456789abcdef)" = 401 ]
	grep -q 'rampd: debug: ' "$T/rampd.log"
	# a broken file, or one whose token file is gone: refused, the running config stays
	echo '{"log_level": ' >"$T/rampd.json"
	kill -HUP "$RAMPD_PID"
	for _ in $(seq 100); do grep -q 'reload failed' "$T/rampd.log" && break; sleep 0.05; done
	grep -q 'reload failed, keeping the running configuration' "$T/rampd.log"
	write_config "\"listen\": [\"127.0.0.1:$port\"], \"token_file\": \"$T/gone\""
	kill -HUP "$RAMPD_PID"
	for _ in $(seq 100); do [ "$(grep -c 'reload failed' "$T/rampd.log")" -ge 2 ] && break; sleep 0.05; done
	[ "$(grep -c 'reload failed' "$T/rampd.log")" -ge 2 ]
	[ "$(c second-token-0123456789abcdef)" = 200 ]
	api GET /healthz
	[ "$code" = 200 ]
	kill -TERM "$RAMPD_PID"
	wait_exit "$RAMPD_PID" 10
	[ "$rc" -eq 0 ]
	[ ! -e "$T/rampd.sock" ]
}

@test "rampd logs: journald priority prefixes when stderr is the journal, the program name when not" {
	write_config
	: >"$T/journal"
	JOURNAL_STREAM=$(stat -c '%d:%i' "$T/journal") "$RAMPD_BIN" --config "$T/rampd.json" 2>>"$T/journal" </dev/null 3>&- &
	RAMPD_PID=$!
	echo "$RAMPD_PID" >>"$T/rampd.pids"
	for _ in $(seq 200); do curl -sf --unix-socket "$T/rampd.sock" http://rampd/healthz >/dev/null 2>&1 && break; sleep 0.05; done
	kill -TERM "$RAMPD_PID"
	wait_exit "$RAMPD_PID" 10
	cat "$T/journal"
	grep -q '^<5>rampd .* serving on ' "$T/journal"
	grep -q '^<5>Terminated: stopping' "$T/journal"
	! grep -qv '^<[0-7]>' "$T/journal" || false
	start_rampd
	grep -q '^rampd: rampd .* serving on ' "$T/rampd.log"
}

@test "rampd systemd: READY, WATCHDOG and STOPPING over \$NOTIFY_SOCKET" {
	write_config
	python3 - "$T/notify.sock" "$T/notify.log" 3>&- <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(0.2)
end = time.time() + 20
with open(sys.argv[2], "w", buffering=1) as f:
    while time.time() < end:
        try:
            f.write(s.recv(4096).decode() + "\n--\n")
        except socket.timeout:
            pass
        if "STOPPING=1" in open(sys.argv[2]).read():
            break
PY
	listener=$!
	for _ in $(seq 100); do [ -S "$T/notify.sock" ] && break; sleep 0.05; done
	NOTIFY_SOCKET="$T/notify.sock" WATCHDOG_USEC=200000 start_rampd
	sleep 0.5
	kill -TERM "$RAMPD_PID"
	wait_exit "$RAMPD_PID" 10
	wait "$listener" || true
	grep -q '^READY=1' "$T/notify.log"
	[ "$(grep -c '^WATCHDOG=1' "$T/notify.log")" -ge 3 ]
	grep -q '^STOPPING=1' "$T/notify.log"
}

@test "rampd systemd: the unit file passes systemd-analyze verify" {
	unit="$BATS_TEST_DIRNAME/../../runtime/rampd/rampd.service"
	sed "s|/usr/local/bin/rampd|$RAMPD_BIN|" "$unit" >"$T/rampd.service"
	run systemd-analyze verify "$T/rampd.service"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	grep -q '^Type=notify$' "$unit"
	grep -q '^KillMode=process$' "$unit"
	grep -q '^WatchdogSec=' "$unit"
	grep -q '^Restart=always$' "$unit"
	grep -q '^StateDirectory=ramp$' "$unit"
	# and the check can fail
	sed 's/^KillMode=process/KillMode=sometimes/' "$T/rampd.service" >"$T/bad.service"
	run systemd-analyze verify "$T/bad.service"
	[ -n "$output" ]
}

@test "ramp host: status, deploy, rm over the socket and over TCP with a token" {
	port=$(free_port)
	printf 'host-test-token-0123456789\n' >"$T/token"
	chmod 600 "$T/token"
	write_config "\"listen\": [\"127.0.0.1:$port\"], \"token_file\": \"$T/token\""
	start_rampd
	h() { "$RAMP_BIN" host --socket "$T/rampd.sock" "$@"; }
	run h status
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == APP*PHASE*CURRENT* ]]
	run h deploy web "$IMG" --rollout r7
	[ "$status" -eq 0 ]
	[[ "$output" == "web: deploying sha256:$D64 (generation 1)" ]]
	run h deploy web "$IMG"
	[[ "$output" == *"(generation 2)" ]]
	run h status web
	[ "$status" -eq 0 ]
	[[ "$output" == *"generation   2"* ]]
	run h status --json
	[ "$(jq -r '.apps[0].name' <<<"$output")" = web ]
	run h deploy web 127.0.0.1:5000/web:latest
	[ "$status" -eq 2 ]
	[[ "$output" == *"not pinned by digest"* ]]
	run h deploy web "$IMG" --generation 1
	[ "$status" -eq 1 ]
	[[ "$output" == *"stale_generation"* ]]
	run h revert web
	[ "$status" -eq 1 ]
	[[ "$output" == *"nothing_to_revert"* ]]
	run h logs web --tail 5
	[ "$status" -eq 0 ]
	run "$RAMP_BIN" host --host "http://127.0.0.1:$port" --token-file "$T/token" status
	[ "$status" -eq 0 ]
	[[ "${lines[1]}" == web* ]]
	printf 'wrong-token-0123456789abc\n' >"$T/bad"
	chmod 600 "$T/bad"
	run "$RAMP_BIN" host --host "http://127.0.0.1:$port" --token-file "$T/bad" status
	[ "$status" -eq 1 ]
	[[ "$output" == *unauthorized* ]]
	run "$RAMP_BIN" host --host "http://127.0.0.1:$port" status
	[ "$status" -eq 2 ]
	run h rm web
	[ "$status" -eq 0 ]
	run h status web
	[ "$status" -eq 1 ]
	[[ "$output" == *not_found* ]]
	run "$RAMP_BIN" host --socket "$T/none.sock" status
	[ "$status" -eq 1 ]
}
