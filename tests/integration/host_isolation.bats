#!/usr/bin/env bats
bats_require_minimum_version 1.5.0
# host_isolation.bats: what a container and untrusted text can do to the host
# (issue 13, items 1, 6 and 8): a container running as root attacks the
# files, terminals and devices behind its stdin, stdout and stderr through
# /proc/self/fd/N (ctr_probe stdio: chmod, chown, truncate, reopen for
# writing, a setuid copy, F_SETFL, F_SETOWN), under rampd and under ramp run
# and ramp test with pipes, files, /dev/null and a terminal; an app with a
# private network tries the host's loopback services; escape sequences in
# images, hosts' answers and app logs reach no terminal raw.

load rampd_helpers

setup_file() {
	export TREE=$BATS_FILE_TMPDIR/tree RAMP_STORE=$BATS_FILE_TMPDIR/store
	mkdir -p "$TREE/bin"
	cp /bin/busybox "$TREE/bin/busybox"
	for a in sh cat echo printf sleep head tr fold true; do ln -s busybox "$TREE/bin/$a"; done
	${CC_STATIC:-cc} -static -O1 -D_GNU_SOURCE -o "$TREE/bin/ctr_probe" "$BATS_TEST_DIRNAME/../helpers/static/ctr_probe.c"
	cat >"$TREE/attack.sh" <<'SH'
#!/bin/sh
ctr_probe stdio
printf '\033]0;pwned\007\033[2J\r1970-01-01T00:00:00Z rampd: forged by the app\n'
(while :; do echo tick; sleep 0.2; done) &
exec ctr_probe serve
SH
	cat >"$TREE/net.sh" <<'SH'
#!/bin/sh
ctr_probe connect $TARGETS
ctr_probe vsock
exec ctr_probe serve
SH
	cat >"$TREE/burst.sh" <<'SH'
#!/bin/sh
head -c "$BYTES" /dev/zero | tr '\0' x | fold -w 99
echo "burst done"
exec ctr_probe serve
SH
	chmod 755 "$TREE"/*.sh
	export IMG=$BATS_FILE_TMPDIR/probe.tar
	"$RAMP_BIN" -q build "$TREE" -o "$IMG" >/dev/null
	# the state of fds 0-2 as the host sees them: mode, owner, flags, F_GETOWN (and
	# stdin's size); written to the file named, never to the fds themselves
	export FDSTATE=$BATS_FILE_TMPDIR/fdstate.py
	cat >"$FDSTATE" <<'PY'
import fcntl, os, sys
with open(sys.argv[1], "w") as out:
    for fd in (0, 1, 2):
        st = os.fstat(fd)
        print(fd, oct(st.st_mode), st.st_uid, st.st_gid, st.st_size if fd == 0 else "-",
              fcntl.fcntl(fd, fcntl.F_GETFL), fcntl.fcntl(fd, fcntl.F_GETOWN), file=out)
PY
	export REGDIR=$BATS_FILE_TMPDIR/registry REG ATTACK NET BURST
	REG=$(start_registry "$REGDIR")
	ATTACK=$(probe_image attack /attack.sh --health-cmd "/bin/ctr_probe stdio" --health-interval 200ms)
	NET=$(probe_image net /net.sh --health-http 8080/health --health-interval 200ms)
	BURST=$(probe_image burst /burst.sh --health-http 8080/health --health-interval 200ms)
}

teardown_file() { stop_registry "$REGDIR"; }

# probe_image NAME ENTRYPOINT [ramp build flags...]: the probe tree as REG/probe:NAME
probe_image() {
	local name=$1 ep=$2 d=$BATS_FILE_TMPDIR/img-$1
	shift 2
	mkdir -p "$d"
	"$RAMP_BIN" -q build "$TREE" -o "$d/image.tar" --entrypoint "$ep" --port 8080 "$@" >/dev/null
	skopeo copy -q "oci-archive:$d/image.tar" "docker://$REG/probe:$name" --dest-tls-verify=false
	echo "$REG/probe@$(skopeo inspect --tls-verify=false "docker://$REG/probe:$name" | jq -r .Digest)"
}

setup() {
	rampd_setup
	stat -c '%a %u %g %t:%T' /dev/null >"$T/devnull.before"
}

teardown() {
	[ -n "${ABSTRACT_PID:-}" ] && kill "$ABSTRACT_PID" 2>/dev/null
	rampd_teardown 2>/dev/null
	if mountpoint -q "$T/small"; then
		umount "$T/small"
		rm -rf "$T"
	fi
	# were the host's /dev/null changed (a regression), put it back for everyone else,
	# once no container is left to change it again
	if [ "$(stat -c '%a %u %g' /dev/null)" != "666 0 0" ]; then
		chown 0:0 /dev/null
		chmod 666 /dev/null
	fi
}

devnull_unchanged() {
	[ "$(stat -c '%a %u %g %t:%T' /dev/null)" = "$(cat "$T/devnull.before")" ]
}

# the app's serving process (its ticker and probes come and go)
serve_pid() {
	local p
	for p in $(app_pids "$T"); do
		[ "$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)" = "ctr_probe serve " ] && echo "$p"
	done
	return 0
}

# the app's output through the API
logs() { api GET "/v1/apps/${2:-web}/logs?tail=${1:-1000}"; }

wait_log() {
	for _ in $(seq 200); do
		logs 2>/dev/null
		[[ "$body" == *"$1"* ]] && return 0
		sleep 0.05
	done
	echo "never in the log: $1; log: $body" >&2
	return 1
}

@test "stdio: a rampd app, and its exec health probes, reach neither app.log nor the host's /dev/null" {
	app_config "$PORT"
	start_rampd
	deploy "$ATTACK" 1
	wait_app .phase healthy
	wait_log "stdio chmod0="
	log=$T/state/apps/web/run/app.log
	cp "$log" "$T/log.before"
	# health probes ran the attack too (their stdin is the container's /dev/null)
	wait_app '.health.probes | length >= 2' true
	devnull_unchanged
	# rampd's own log file: root's, 0600, not setuid, nothing cut or overwritten
	[ "$(stat -c '%a %u %g' "$log")" = "600 0 0" ]
	wait_log tick
	cmp -n "$(stat -c %s "$T/log.before")" "$T/log.before" "$log"
	# every line is rampd's or carries the container's mark: none reads as rampd's
	# forged one (the app also wrote a copy of its binary into its stdout: -a)
	grep -aq ' rampd: starting ' "$log"
	! grep -aq '^1970-01-01T00:00:00Z rampd: forged' "$log" || false
	! grep -aEv '^[0-9TZ:-]{20} (rampd: |\[i[0-9a-f]+-[0-9]+\] )' "$log" || false
	# kill -9 of rampd: the app keeps its reader (the init holds the pipe), the next
	# rampd takes the pipe back and the output goes on
	pid=$(serve_pid)
	[ -n "$pid" ]
	kill -KILL "$RAMPD_PID"
	wait "$RAMPD_PID" || true
	sleep 0.5
	kill -0 "$pid"
	start_rampd
	wait_app .phase healthy
	n=$(grep -ac tick "$log")
	for _ in $(seq 100); do [ "$(grep -ac tick "$log")" -gt $((n + 2)) ] && break; sleep 0.05; done
	[ "$(grep -ac tick "$log")" -gt $((n + 2)) ]
	[ "$(serve_pid)" = "$pid" ]
	devnull_unchanged
}

@test "stdio: rampd rotates app.log at log_max, keeps log_files, and the logs read across the rotation" {
	write_config "\"apps\": {\"web\": {\"ports\": {\"8080\": \"127.0.0.1:$PORT\"}, \"env\": {\"BYTES\": \"400000\"}, \"log_max\": \"64K\", \"log_files\": 2}}"
	start_rampd
	deploy "$BURST" 1
	wait_app .phase healthy
	wait_log "burst done"
	dir=$T/state/apps/web/run
	[ -f "$dir/app.log.1" ]
	[ ! -e "$dir/app.log.2" ]
	[ "$(stat -c %s "$dir/app.log")" -le $((64 * 1024 + 16384 + 200)) ]
	[ "$(stat -c %s "$dir/app.log.1")" -le $((64 * 1024 + 16384 + 200)) ]
	# a tail longer than app.log reaches into app.log.1, in order
	lines=$(wc -l <"$dir/app.log")
	logs $((lines + 5))
	[ "$(wc -l <<<"$body")" -eq $((lines + 5)) ]
	[ "$(tail -n 1 "$dir/app.log.1")" = "$(sed -n 5p <<<"$body")" ]
	run "$RAMP_BIN" host --socket "$T/rampd.sock" logs web --tail 3
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 3 ]
}

@test "stdio: a full disk under app.log stalls neither the app nor rampd" {
	mkdir -p "$T/small"
	mount -t tmpfs -o size=24m tmpfs "$T/small"
	cat >"$T/rampd.json" <<JSON
{"state_dir": "$T/small/state", "socket": "$T/rampd.sock",
 "apps": {"web": {"ports": {"8080": "127.0.0.1:$PORT"}, "env": {"BYTES": "60000000"}, "log_max": "1G"}}}
JSON
	start_rampd
	deploy "$BURST" 1
	# 60 MB of output into 24 MiB: the app gets through it and serves
	wait_app .phase healthy 60
	[ "$(curl -s -m 5 "http://127.0.0.1:$PORT/")" = ok ]
	for _ in $(seq 200); do grep -q 'its log cannot be written (No space left on device)' "$T/rampd.log" && break; sleep 0.05; done
	grep -q 'its log cannot be written (No space left on device)' "$T/rampd.log"
	api GET /v1/apps/web
	[ "$code" = 200 ]
}

# run_attack OUT_PREFIX VERB ARGS...: ramp VERB ARGS... -- ctr_probe stdio, with the
# fds' state recorded before and after, within the caller's redirections
run_attack() {
	local p=$1
	shift
	python3 "$FDSTATE" "$p.before"
	"$RAMP_BIN" "$@" -- ctr_probe stdio
	echo $? >"$p.rc"
	python3 "$FDSTATE" "$p.after"
}

fds_unchanged() {
	diff "$1.before" "$1.after"
	[ "$(cat "$1.rc")" = 0 ]
}

@test "stdio: ramp run and ramp test on files and /dev/null: the caller's files keep owner, mode, flags, size and content" {
	cp "$IMG" "$T/test.tar"
	for verb in "run --rm $IMG" "test $T/test.tar"; do
		printf 'input\n' >"$T/in"
		printf 'KEEP\n' >"$T/out"
		printf 'KEEPERR\n' >"$T/err"
		chmod 640 "$T/in" "$T/out" "$T/err"
		run_attack "$T/f" $verb <"$T/in" >>"$T/out" 2>>"$T/err"
		fds_unchanged "$T/f"
		[ "$(cat "$T/in")" = input ]
		[ "$(stat -c '%a %u %g' "$T/in" "$T/out" "$T/err" | sort -u)" = "640 0 0" ]
		[ "$(head -n 1 "$T/out")" = KEEP ]
		[ "$(head -n 1 "$T/err")" = KEEPERR ]
		grep -q 'stdio chmod0=' "$T/err"
		run_attack "$T/n" $verb </dev/null >/dev/null 2>/dev/null
		fds_unchanged "$T/n"
		devnull_unchanged
	done
}

@test "stdio: ramp run and ramp test on pipes: the caller's pipes keep owner, mode and flags" {
	cp "$IMG" "$T/test.tar"
	for verb in "run --rm $IMG" "test $T/test.tar"; do
		printf 'input\n' | run_attack "$T/p" $verb 2> >(cat >"$T/perr") | cat >"$T/pout"
		fds_unchanged "$T/p"
		for _ in $(seq 100); do grep -q 'stdio chmod0=' "$T/perr" && break; sleep 0.05; done
		grep -q 'stdio chmod0=' "$T/perr"
	done
}

@test "stdio: ramp run and ramp test in a terminal: a terminal of the container's own; the caller's, raw meanwhile, comes back as it was" {
	cp "$IMG" "$T/test.tar"
	cat >"$T/term.sh" <<SH
t=\$(tty)
stat -c '%a %u %g' "\$t" >$T/tty.before
stty -g >$T/stty.before
python3 $FDSTATE $T/t.before
"$RAMP_BIN" run --rm $IMG -- ctr_probe stdio
echo \$? >$T/t.rc
"$RAMP_BIN" test $T/test.tar -- ctr_probe stdio
echo \$? >>$T/t.rc
python3 $FDSTATE $T/t.after
stat -c '%a %u %g' "\$t" >$T/tty.after
stty -g >$T/stty.after
# raw while the container runs: sampled until seen
(for i in \$(seq 200); do s=\$(stty -g <"\$t"); [ "\$s" != "\$(cat $T/stty.before)" ] && { echo "\$s" >$T/stty.during; break; }; sleep 0.05; done) &
"$RAMP_BIN" run --rm $IMG -- sleep 2
wait
stty -g >$T/stty.after2
# stopped by SIGTERM: the terminal is restored on that way out too
(for i in \$(seq 200); do [ "\$(stty -g <"\$t")" != "\$(cat $T/stty.before)" ] && break; sleep 0.05; done; kill -TERM \$(cat $T/ramp.pid)) &
sh -c 'echo \$\$ >$T/ramp.pid; exec "$RAMP_BIN" run --rm --init $IMG -- sleep 30'
echo \$? >$T/term.rc
wait
stty -g >$T/stty.after3
SH
	script -qec "bash $T/term.sh" /dev/null </dev/null >"$T/script.out"
	cat "$T/script.out"
	[ "$(cat "$T/t.rc")" = "$(printf '0\n0')" ]
	diff "$T/tty.before" "$T/tty.after"
	diff "$T/t.before" "$T/t.after"
	grep -q 'stdio chmod0=ok chown0=ok' "$T/script.out" # its own terminal takes it
	[ -s "$T/stty.during" ]
	[ "$(cat "$T/stty.during")" != "$(cat "$T/stty.before")" ]
	diff "$T/stty.before" "$T/stty.after"
	diff "$T/stty.before" "$T/stty.after2"
	diff "$T/stty.before" "$T/stty.after3"
	[ "$(cat "$T/term.rc")" = 143 ]
}

# an abstract unix socket listening in the host's network namespace ($ABSTRACT_PID)
abstract_listener() {
	python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind("\0" + sys.argv[1])
s.listen(8)
time.sleep(300)' "$1" </dev/null >/dev/null 2>&1 3>&- &
	ABSTRACT_PID=$!
	for _ in $(seq 100); do grep -q "@$1\$" /proc/net/unix && return 0; sleep 0.05; done
	return 1
}

@test "network: a private app serves on its handed port but reaches no loopback service, rampd's TCP port nor an abstract socket of the host; on the host network it would" {
	tport=$(free_port) port2=$(free_port) name=ramp-test-abstract-$$
	printf 'net-test-token-0123456789\n' >"$T/token"
	chmod 600 "$T/token"
	abstract_listener "$name"
	targets="tcp:$REG tcp:127.0.0.1:$tport unix:@$name"
	write_config "\"listen\": [\"127.0.0.1:$tport\"], \"token_file\": \"$T/token\", \"apps\": {
		\"web\": {\"ports\": {\"8080\": \"127.0.0.1:$PORT\"}, \"network\": \"private\", \"env\": {\"TARGETS\": \"$targets\"}},
		\"open\": {\"ports\": {\"8080\": \"127.0.0.1:$port2\"}, \"env\": {\"TARGETS\": \"$targets\"}}}"
	start_rampd
	deploy "$NET" 1
	api PUT /v1/apps/open "{\"image\":\"$NET\",\"generation\":1}"
	# healthy: rampd's HTTP probes reach it through the host side of the handed socket
	wait_app .phase healthy
	[ "$(curl -s -m 5 "http://127.0.0.1:$PORT/")" = ok ]
	wait_log "vsock="
	for t in $targets; do [[ "$body" == *"connect $t=ECONNREFUSED"* ]]; done
	[[ "$body" == *"vsock=EPERM vsock_hi=EPERM inet=ok"* ]]
	# the same image on the host network reaches all three: the probe can tell
	for _ in $(seq 200); do logs 1000 open; [[ "$body" == *"vsock="* ]] && break; sleep 0.05; done
	for t in $targets; do [[ "$body" == *"connect $t=ok"* ]]; done
	[ "$(curl -s -m 5 "http://127.0.0.1:$port2/")" = ok ]
	pid=$(app_pids "$T" | head -1)
	[ -n "$pid" ]
}

@test "escapes: an image's user, env and labels, a host's status and error text, and an app's log reach the terminal escaped; --raw on request" {
	esc=$'\e]0;pwned\a\e[2J'
	"$RAMP_BIN" -q build "$TREE" -o "$T/esc.tar" --entrypoint /bin/true --user "$esc" --env "E=$esc" --label "l=$esc" >/dev/null
	has_esc() { LC_ALL=C grep -aq $'[\x01-\x08\x0b-\x1f\x7f]' "$1"; }
	"$RAMP_BIN" inspect "$T/esc.tar" >"$T/inspect" 2>&1
	! has_esc "$T/inspect" || false
	grep -qF 'user        \x1b]0;pwned\x07\x1b[2J' "$T/inspect"
	grep -qF 'E=\x1b]0;pwned' "$T/inspect"
	grep -qF 'l=\x1b]0;pwned' "$T/inspect"
	run "$RAMP_BIN" run --rm "$T/esc.tar" -- true
	[ "$status" -eq 1 ]
	[[ "$output" == *'user "\x1b]0;pwned\x07\x1b[2J" not found'* ]]
	[[ "$output" != *$'\e'* ]]
	# rampd: the same image cannot start (its user), the app's own output is hostile
	skopeo copy -q "oci-archive:$T/esc.tar" "docker://$REG/probe:esc" --dest-tls-verify=false
	bad="$REG/probe@$(skopeo inspect --tls-verify=false "docker://$REG/probe:esc" | jq -r .Digest)"
	app_config "$PORT"
	start_rampd
	deploy "$ATTACK" 1
	wait_app .phase healthy
	wait_log "forged by the app"
	api PUT /v1/apps/bad "{\"image\":\"$bad\",\"generation\":1}"
	for _ in $(seq 200); do api GET /v1/apps/bad; [[ "$body" == *'not found'* ]] && break; sleep 0.05; done
	h() { "$RAMP_BIN" host --socket "$T/rampd.sock" "$@"; }
	h status bad >"$T/status" 2>&1
	cat "$T/status"
	! has_esc "$T/status" || false
	# a host's answer is cleaned by the reply parser (control characters become '?', docs/SECURITY.md H1)
	grep -qF 'user "?]0;pwned??[2J" not found' "$T/status"
	h status >"$T/list" 2>&1
	! has_esc "$T/list" || false
	# (all of it: the app ticks, and its lines pass the default tail of 100 quickly)
	h logs web --tail 10000 >"$T/logs" 2>&1
	! has_esc "$T/logs" || false
	# the forged line is shown escaped, and after the container's mark, not as rampd's
	grep -aqE '^[0-9TZ:-]{20} \[i[0-9a-f]+-[0-9]+\] \\x1b\]0;pwned\\x07\\x1b\[2J\\r1970-01-01T00:00:00Z rampd: forged by the app$' "$T/logs"
	! grep -aq '^1970-01-01T00:00:00Z rampd: forged' "$T/logs" || false
	h logs web --tail 10000 --raw >"$T/raw"
	grep -aqF "$esc" "$T/raw"
	# a host that answers with escape sequences in its error
	fport=$(free_port)
	python3 - "$fport" </dev/null >/dev/null 2>&1 3>&- <<'PY' &
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b'{"error":"x\\u001b[2J","message":"\\u001b]0;pwned\\u0007\\rramp: error: forged"}'
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H)
s.timeout = 30
for _ in range(5):
    s.handle_request()
PY
	fake=$!
	printf 'fake-host-token-0123456789\n' >"$T/ftoken"
	chmod 600 "$T/ftoken"
	for _ in $(seq 100); do (echo >"/dev/tcp/127.0.0.1/$fport") 2>/dev/null && break; sleep 0.05; done
	"$RAMP_BIN" host --host "http://127.0.0.1:$fport" --token-file "$T/ftoken" status >"$T/fake" 2>&1 || true
	kill "$fake" 2>/dev/null || true
	cat "$T/fake"
	! has_esc "$T/fake" || false
	grep -qF '?]0;pwned??ramp: error: forged' "$T/fake" # cleaned by the reply parser, on the same line
}
