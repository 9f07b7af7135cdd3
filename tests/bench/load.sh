#!/usr/bin/env bash
# tests/bench/load.sh: the rampd API under load (issue 8's target: 200
# concurrent clients for 60 s keep getting answers, p99 under 50 ms, no
# errors), on loopback, with tests/helpers/loadclient (libcurl multi):
#   - 200 clients on the unix socket, keep-alive, GETs of the app's status,
#     /v1/info, /healthz and /metrics in turn, while the app is switched
#     between two versions every 2 s;
#   - 200 clients over TCP with the bearer token, keep-alive, spread over 8
#     source addresses (rampd allows 32 connections per address);
#   - the same with a new connection for every request;
#   - both again with each client sending a request every 50 ms (4,000
#     requests/s offered) rather than at once: the rows above measure how
#     many requests rampd answers flat out (the latency is then 200 divided
#     by that rate), these how fast it answers 200 clients it keeps up with;
#   - slow clients (issue 13, tests/helpers/slowloris.py): 1,280 connections
#     from 40 addresses trickling headers without a token, and 4 clients
#     with the token beside them.
# Each runs LOAD_SECONDS (default 60). The peer: wrk (-c 32, the most one
# address may open) on the same rampd and path, beside loadclient with 32
# clients, to check the load generator against a known one.
# Prints a markdown section.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
ramp=${RAMP_BIN:?} rampd=${RAMPD_BIN:?} hello=${RAMP_HELLO:?} load=${RAMP_HELPERS:?}/loadclient
S=${LOAD_SECONDS:-60}
for t in docker-registry skopeo wrk jq curl python3; do
	command -v "$t" >/dev/null || { echo "load bench: $t is missing (make deps)" >&2; exit 1; }
done
loadavg=$(cut -d' ' -f1 /proc/loadavg)
w=$(mktemp -d /var/tmp/ramp-bench-load-XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	[ -f "$w/rampd.pid" ] && kill -TERM "$(cat "$w/rampd.pid")" 2>/dev/null && sleep 2
	rm -rf "$w"
}
trap cleanup EXIT

# a registry with two versions of the demo app
start_registry "$w/reg"
pids+=("$REG_PID")
reg=$REG
image() {
	mkdir -p "$w/$1"
	cp "$hello" "$w/$1/hello"
	"$ramp" -q build "$w/$1" -o "$w/$1.tar" --entrypoint /hello --port 8080 --health-http 8080/health \
		--health-interval 1s --env "HELLO_VERSION=$1" >/dev/null
	skopeo copy -q "oci-archive:$w/$1.tar" "docker://$reg/hello:$1" --dest-tls-verify=false
	echo "$reg/hello@$(skopeo inspect --tls-verify=false "docker://$reg/hello:$1" | jq -r .Digest)"
}
v1=$(image v1)
v2=$(image v2)

# rampd: the unix socket and a TCP listener with a token
tport=$(free_port) aport=$(free_port)
head -c 32 /dev/urandom | base64 | tr -d '\n' >"$w/token"
chmod 600 "$w/token"
cat >"$w/rampd.json" <<JSON
{"state_dir": "$w/state", "socket": "$w/rampd.sock", "log_level": "warning",
 "listen": ["127.0.0.1:$tport"], "token_file": "$w/token",
 "apps": {"web": {"ports": {"8080": "127.0.0.1:$aport"}, "stop_grace": "2s"}}}
JSON
"$rampd" --config "$w/rampd.json" 2>"$w/rampd.log" &
echo $! >"$w/rampd.pid"
for _ in $(seq 100); do [ -S "$w/rampd.sock" ] && break; sleep 0.05; done
"$ramp" -q host --socket "$w/rampd.sock" deploy web "$v1" --wait >/dev/null
rpid=$(cat "$w/rampd.pid")

paths=(--path /v1/apps/web --path /v1/info --path /healthz --path /metrics)
src=--source=127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5,127.0.0.6,127.0.0.7,127.0.0.8,127.0.0.9
# run NAME ARGS...: loadclient; prints "requests errors p50 p99 max rps"
run() {
	local name=$1
	shift
	"$load" "$@" >"$w/$name.out" 2>"$w/$name.err"
	awk '{print $2, $4, $6, $8, $10, $12}' "$w/$name.out"
}

# 1: unix socket, while the app is switched every 2 s
(
	i=0
	while :; do
		i=$((i + 1))
		if ((i % 2)); then v=$v2; else v=$v1; fi
		"$ramp" -q host --socket "$w/rampd.sock" deploy web "$v" --wait --timeout 30s >/dev/null 2>&1 && echo >>"$w/switches"
		sleep 2
	done
) &
sw=$!
pids+=($sw)
read -r u_n u_e u_50 u_99 u_max u_rps < <(run unix --url http://rampd/ --unix "$w/rampd.sock" --clients 200 --seconds "$S" "${paths[@]}")
kill "$sw" 2>/dev/null || true
wait "$sw" 2>/dev/null || true
switches=$(wc -l <"$w/switches" 2>/dev/null || echo 0)
rss=$(awk '/VmRSS/{printf "%.1f", $2/1024}' "/proc/$rpid/status")
"$ramp" -q host --socket "$w/rampd.sock" deploy web "$v1" --wait --timeout 30s >/dev/null

# 2, 3: TCP with the token, keep-alive and a connection per request
read -r t_n t_e t_50 t_99 t_max t_rps < <(run tcp --url "http://127.0.0.1:$tport/" --token "$w/token" --clients 200 \
	--seconds "$S" "$src" "${paths[@]}")
read -r c_n c_e c_50 c_99 c_max c_rps < <(run close --url "http://127.0.0.1:$tport/" --token "$w/token" --clients 200 \
	--seconds "$S" "$src" --new-connection "${paths[@]}")

read -r k_n k_e k_50 k_99 k_max k_rps < <(run paced --url "http://127.0.0.1:$tport/" --token "$w/token" --clients 200 \
	--seconds "$S" "$src" --interval 50 "${paths[@]}")
read -r n_n n_e n_50 n_99 n_max n_rps < <(run pacedclose --url "http://127.0.0.1:$tport/" --token "$w/token" --clients 200 \
	--seconds "$S" "$src" --interval 50 --new-connection "${paths[@]}")

# 6, 7: slow clients (issue 13): 1,280 connections from 40 addresses, each a
# header line every 10 s and never a token, opened again at their next line
# when rampd closes them (the classic slowloris), then again at once (a
# connection flood as well); meanwhile 4 clients with the token, each a
# request every 100 ms on a new connection from an address of its own
# slow NAME [slowloris options]: prints "requests errors p50 p99 max rps opened closed"
slow() {
	local name=$1
	shift
	rm -f "$w/slow.ready" "$w/slow.stop"
	python3 "$here/../helpers/slowloris.py" --port "$tport" --first 100 --addresses 40 --per-address 32 --interval 10 \
		--seconds $((S + 30)) --ready "$w/slow.ready" --stop "$w/slow.stop" "$@" >"$w/$name.slow" &
	local spid=$!
	for _ in $(seq 600); do [ -f "$w/slow.ready" ] && break; sleep 0.05; done
	local r
	r=$(run "$name" --url "http://127.0.0.1:$tport/healthz" --token "$w/token" --clients 4 --seconds "$S" \
		--source=127.0.0.250 --interval 100 --new-connection)
	touch "$w/slow.stop"
	wait "$spid" || true
	echo "$r $(awk '{print $2, $4}' "$w/$name.slow")"
}
read -r s_n s_e s_50 s_99 s_max _ s_op s_cl < <(slow slowtick)
read -r f_n f_e f_50 f_99 f_max _ f_op f_cl < <(slow slowflood --flood)

# the peer check: wrk and loadclient, 32 keep-alive connections from one address, /v1/info;
# and 32 with a new connection per request (wrk: "Connection: close")
ps=$(((S + 5) / 6))
wrk -t2 -c32 -d"${ps}s" --latency -H "Authorization: Bearer $(cat "$w/token")" "http://127.0.0.1:$tport/v1/info" >"$w/wrk.out" 2>&1
wrk_rps=$(awk '/Requests\/sec/{print $2}' "$w/wrk.out")
wrk_99=$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub("us","",v); v/=1000} else if (v ~ /ms$/) sub("ms","",v); else if (v ~ /s$/) {sub("s","",v); v*=1000}; print v}' "$w/wrk.out")
wrk_err=$(awk '/Socket errors/{gsub(",",""); s+=$4+$6+$8+$10} /Non-2xx/{s+=$NF} END{print s+0}' "$w/wrk.out")
read -r p_n p_e _ p_99 _ p_rps < <(run peer --url "http://127.0.0.1:$tport/v1/info" --token "$w/token" --clients 32 --seconds "$ps")
wrk -t2 -c32 -d"${ps}s" --latency -H 'Connection: close' -H "Authorization: Bearer $(cat "$w/token")" \
	"http://127.0.0.1:$tport/v1/info" >"$w/wrkc.out" 2>&1
wrkc_rps=$(awk '/Requests\/sec/{print $2}' "$w/wrkc.out")
wrkc_99=$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub("us","",v); v/=1000} else if (v ~ /ms$/) sub("ms","",v); else if (v ~ /s$/) {sub("s","",v); v*=1000}; print v}' "$w/wrkc.out")
wrkc_err=$(awk '/Socket errors/{gsub(",",""); s+=$4+$6+$8+$10} /Non-2xx/{s+=$NF} END{print s+0}' "$w/wrkc.out")
read -r q_n q_e _ q_99 _ q_rps < <(run peerclose --url "http://127.0.0.1:$tport/v1/info" --token "$w/token" --clients 32 \
	--seconds "$ps" --new-connection)

# slow_reading WHAT P99 ERRORS: the slow-client target in words
slow_reading() {
	awk -v w="$1" -v p="$2" -v e="$3" 'BEGIN{
		if (p < 100 && e == 0) printf "%s met, p99 %.1f ms (%.2fx the 100 ms)", w, p, p / 100
		else printf "%s NOT met, p99 %.1f ms (%.2fx the 100 ms), %d errors", w, p, p / 100, e }'
}
verdict() { awk -v p="$1" -v e="$2" 'BEGIN{print (p < 50 && e == 0) ? "yes" : "NO"}'; }
cat <<MD
## rampd API under load (issue 8)

\`tests/helpers/loadclient\` (libcurl multi, one thread) keeps 200 clients busy for $S s each,
every client sending its next GET as soon as the last one is answered: the app's status
(\`/v1/apps/web\`), \`/v1/info\`, \`/healthz\` and \`/metrics\` in turn. An error is a failed transfer
or an answer other than 200. rampd serves the unix socket and a TCP listener (bearer token);
over TCP the clients come from 8 loopback addresses, since rampd lets one address open at
most 32 connections. The first three rows send flat out (closed loop): there the
latency is the 200 clients divided by the rate rampd reaches on what the load generator
leaves it of the machine; the last two offer 4,000 requests/s. Client and rampd share the
$(nproc) cores; load average (1 min) when this started: $loadavg, when it ended: $(cut -d' ' -f1 /proc/loadavg). Command: \`make bench BENCH=load\`
(tests/bench/load.sh; \`LOAD_SECONDS\` shortens it), $(date -u +%Y-%m-%d).

| what | requests | errors | p50 ms | p99 ms | max ms | requests/s | target met (p99 < 50 ms, 0 errors) |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |
| unix socket, keep-alive, the app switched every 2 s ($switches switches) | $u_n | $u_e | $u_50 | $u_99 | $u_max | $u_rps | $(verdict "$u_99" "$u_e") |
| TCP + token, keep-alive | $t_n | $t_e | $t_50 | $t_99 | $t_max | $t_rps | $(verdict "$t_99" "$t_e") |
| TCP + token, a new connection per request | $c_n | $c_e | $c_50 | $c_99 | $c_max | $c_rps | $(verdict "$c_99" "$c_e") |
| TCP + token, keep-alive, each client every 50 ms | $k_n | $k_e | $k_50 | $k_99 | $k_max | $k_rps | $(verdict "$k_99" "$k_e") |
| TCP + token, a new connection per request, each client every 50 ms | $n_n | $n_e | $n_50 | $n_99 | $n_max | $n_rps | $(verdict "$n_99" "$n_e") |

Slow clients (issue 13, \`tests/helpers/slowloris.py\`): 1,280 connections from 40 addresses,
each sending a header line every 10 s and never a token; rampd closes them (at 5 s without the
token, or as the oldest of the most) and they come back at their next line (the classic
slowloris), or at once (a connection flood too). Meanwhile 4 clients with the token, each a
request to \`/healthz\` every 100 ms on a new connection from an address of its own (timeout 10 s,
the orchestrator's):

| what | slow connections opened / closed by rampd | requests | errors | p50 ms | p99 ms | max ms | target met (p99 < 100 ms, 0 errors) |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |
| TCP + token beside the slow clients | $s_op / $s_cl | $s_n | $s_e | $s_50 | $s_99 | $s_max | $(awk -v p="$s_99" -v e="$s_e" 'BEGIN{print (p < 100 && e == 0) ? "yes" : "NO"}') |
| ... coming back at once | $f_op / $f_cl | $f_n | $f_e | $f_50 | $f_99 | $f_max | $(awk -v p="$f_99" -v e="$f_e" 'BEGIN{print (p < 100 && e == 0) ? "yes" : "NO"}') |

Reading (issue 13, p99 under 100 ms with 0 errors): $(slow_reading "beside the slow clients" "$s_99" "$s_e"); $(slow_reading "beside the flood" "$f_99" "$f_e").

rampd's RSS after the unix-socket run: $rss MB. The load generator checked against wrk on the
same rampd (\`/v1/info\`, 32 keep-alive connections from one address, $ps s each):

| client | requests/s | p99 ms | errors | vs wrk |
| --- | ---: | ---: | ---: | ---: |
| wrk -t2 -c32 | $wrk_rps | $wrk_99 | $wrk_err | 1.00 |
| loadclient --clients 32 | $p_rps | $p_99 | $p_e | $(ratio "$p_rps" "$wrk_rps") |
| wrk -t2 -c32 -H 'Connection: close' | $wrkc_rps | $wrkc_99 | $wrkc_err | 1.00 |
| loadclient --clients 32 --new-connection | $q_rps | $q_99 | $q_e | $(ratio "$q_rps" "$wrkc_rps") |

wrk runs two threads, loadclient one: where it reaches fewer requests per second than
wrk, the flat-out rows above are bounded by the load generator as much as by rampd.
MD
