#!/usr/bin/env bash
# tests/bench/rampd.sh: rampd against a plain runtime (runc) doing the same
# switch, measured in the same run (issue 5's targets):
#  - revert latency, from the API request to the old version's process
#    running: rampd (kept version, handed sockets) vs runc (stop the running
#    container, then run the kept bundle); 100 each, p50 and p99;
#  - wrk on the app while 50 switches and reverts run in a row: failed or
#    refused requests with rampd (handed sockets), with rampd and an app that
#    binds its port itself ("handoff": false) and with runc (stop, start);
#  - rampd's idle memory with three apps;
#  - status request latency while a large pull runs: from a registry behind
#    a 1 Gbit/s link (a network namespace, veth and tc tbf), as a registry
#    across a network is, and straight over loopback from a co-located one.
# Prints a markdown section.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
ramp=${RAMP_BIN:?} rampd=${RAMPD_BIN:?} hello=${RAMP_HELLO:?}
N_REVERTS=${N_REVERTS:-100}
N_SWITCHES=${N_SWITCHES:-50}
for t in docker-registry skopeo runc wrk python3 jq curl ip tc nsenter; do
	command -v "$t" >/dev/null || { echo "rampd bench: $t is missing (make deps)" >&2; exit 1; }
done

w=$(mktemp -d /var/tmp/ramp-bench-rampd-XXXXXX)
ns=ramp-bench-$$
load0=$(cut -d' ' -f1 /proc/loadavg)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	[ -f "$w/rampd.pid" ] && kill -TERM "$(cat "$w/rampd.pid")" 2>/dev/null && sleep 2
	ip netns del "$ns" 2>/dev/null || true
	runc --root "$w/runc" kill peer KILL 2>/dev/null || true
	runc --root "$w/runc" delete -f peer 2>/dev/null || true
	rm -rf "$w"
}
trap cleanup EXIT

# ---- a registry with the demo app, v1 and v2, and a large image ----
start_registry "$w/reg"
pids+=("$REG_PID")
reg=$REG
image() { # NAME VERSION [ramp build args]: pushed to $to (default $reg), prints the pinned reference
	local n=$1 v=$2 r=${to:-$reg}
	shift 2
	mkdir -p "$w/$n"
	cp "$hello" "$w/$n/hello"
	"$ramp" -q build "$w/$n" -o "$w/$n.tar" --entrypoint /hello --port 8080 --health-http 8080/health \
		--env "HELLO_VERSION=$v" "$@" >/dev/null
	skopeo copy -q "oci-archive:$w/$n.tar" "docker://$r/hello:$n" --dest-tls-verify=false
	echo "$r/hello@$(skopeo inspect --tls-verify=false "docker://$r/hello:$n" | jq -r .Digest)"
}
v1=$(image v1 v1)
v2=$(image v2 v2)
head -c $((256 << 20)) /dev/urandom >"$w/big.bin"
mkdir -p "$w/big" && mv "$w/big.bin" "$w/big/"
big=$(image big big --compression zstd)

# ---- the same large image in a registry across a 1 Gbit/s link ----
net=10.$((200 + $$ % 50)).$((($$ / 50) % 250))
ip netns add "$ns"
ip link add "rb$$" type veth peer name eth0 netns "$ns"
ip addr add "$net.1/30" dev "rb$$"
ip link set "rb$$" up
ip -n "$ns" addr add "$net.2/30" dev eth0
ip -n "$ns" link set eth0 up
ip -n "$ns" link set lo up
tc -n "$ns" qdisc add dev eth0 root tbf rate 1gbit burst 256kb latency 50ms
far=$net.2:5000
mkdir -p "$w/far"
printf 'version: 0.1\nlog: {level: error}\nstorage: {filesystem: {rootdirectory: %s}}\nhttp: {addr: %s}\n' \
	"$w/far/data" "$far" >"$w/far/config.yml"
nsenter "--net=/run/netns/$ns" docker-registry serve "$w/far/config.yml" >"$w/far/log" 2>&1 </dev/null &
pids+=($!)
for _ in $(seq 100); do curl -sf "http://$far/v2/" >/dev/null && break; sleep 0.05; done
mkdir -p "$w/big2" && head -c $((256 << 20)) /dev/urandom >"$w/big2/big.bin"
big_far=$(to=$far image big2 big2 --compression zstd)

# ---- rampd with three apps ----
pw=$(free_port) pa=$(free_port) pd=$(free_port) po=$(free_port)
cat >"$w/rampd.json" <<JSON
{"state_dir": "$w/state", "socket": "$w/rampd.sock", "log_level": "notice",
 "registries": {"$far": {"insecure": true}},
 "defaults": {"stop_grace": "5s"},
 "apps": {"web": {"ports": {"8080": "127.0.0.1:$pw"}}, "api": {"ports": {"8080": "127.0.0.1:$pa"}},
          "db": {"ports": {"8080": "127.0.0.1:$pd"}},
          "own": {"ports": {"8080": "127.0.0.1:$po"}, "handoff": false}}}
JSON
"$rampd" --config "$w/rampd.json" 2>"$w/rampd.log" &
echo $! >"$w/rampd.pid"
for _ in $(seq 100); do [ -S "$w/rampd.sock" ] && break; sleep 0.05; done
host() { "$ramp" -q host --socket "$w/rampd.sock" "$@" >/dev/null; }
host deploy web "$v1" --wait
host deploy web "$v2" --wait
host deploy api "$v1" --wait
host deploy db "$v1" --wait

cat >"$w/client.py" <<'PY'
# the bench's client: raw HTTP over rampd's socket and to the app
import json, socket, sys, time

SOCK = sys.argv[2]

def api(method, path, body=None):
    s = socket.socket(socket.AF_UNIX)
    s.connect(SOCK)
    b = json.dumps(body).encode() if body is not None else b""
    s.sendall(b"%s %s HTTP/1.1\r\nHost: r\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
              % (method.encode(), path.encode(), len(b), b))
    d = b""
    while True:
        x = s.recv(65536)
        if not x:
            break
        d += x
    s.close()
    head, _, rest = d.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(rest) if rest else None

def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]

def reverts(n):
    """API request to the kept version's process running (rampd has started it)."""
    lat = []
    for _ in range(n):
        _, a = api("GET", "/v1/apps/web")
        target = a["previous"][0]["digest"]
        t0 = time.perf_counter()
        st, _ = api("POST", "/v1/apps/web/revert", {"to": "previous", "generation": a["generation"]})
        assert st == 202, st
        while True:
            _, a = api("GET", "/v1/apps/web")
            if a["current"]["digest"] == target and (a["phase"] == "healthy" or "started (pid" in a["message"]):
                break
            time.sleep(0.0005)  # leave the CPU to rampd: on 2 cores a busy poll slows what it measures
        lat.append((time.perf_counter() - t0) * 1000)
        while a["phase"] != "healthy":
            time.sleep(0.002)
            _, a = api("GET", "/v1/apps/web")
    print("%.2f %.2f" % (pct(lat, 50), pct(lat, 99)))

def switches(app, n, v1, v2):
    """n switches and reverts in a row, each done (healthy) before the next."""
    for i in range(n):
        _, a = api("GET", "/v1/apps/" + app)
        gen = a["generation"] + 1
        if i % 2 == 0:
            api("PUT", "/v1/apps/" + app, {"image": v2 if a["current"]["image"] == v1 else v1, "generation": gen})
        else:
            api("POST", "/v1/apps/%s/revert" % app, {"to": "previous", "generation": gen})
        t = time.time()
        while True:
            _, b = api("GET", "/v1/apps/" + app)
            if b["current"]["digest"] == b["desired"]["digest"] and b["phase"] == "healthy":
                break
            assert time.time() - t < 30, b
            time.sleep(0.005)

def status_during_pull(app, image):
    """GET /v1/apps/APP latency while APP pulls and unpacks image."""
    _, a = api("GET", "/v1/apps/" + app)
    api("PUT", "/v1/apps/" + app, {"image": image, "generation": a["generation"] + 1})
    lat, phases = [], set()
    while True:
        t0 = time.perf_counter()
        _, a = api("GET", "/v1/apps/" + app)
        lat.append((time.perf_counter() - t0) * 1000)
        phases.add(a["phase"])
        if a["phase"] in ("pulling", "unpacking"):
            time.sleep(0.001)
            continue
        if len(lat) > 5:
            break
    print("%.2f %.2f %.2f %d %s" % (pct(lat, 50), pct(lat, 99), max(lat), len(lat), ",".join(sorted(phases))))

cmd = sys.argv[1]
if cmd == "reverts":
    reverts(int(sys.argv[3]))
elif cmd == "switches":
    switches(sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6])
elif cmd == "pull":
    status_during_pull(sys.argv[3], sys.argv[4])
PY
client() { python3 "$w/client.py" "$1" "$w/rampd.sock" "${@:2}"; }

# ---- revert latency ----
read -r r50 r99 < <(client reverts "$N_REVERTS")

# wrk_during OUT CMD...: wrk on web's port (new connection per request) for as long as CMD runs
wrk_during() {
	local out=$1 port=$2
	shift 2
	wrk -t2 -c16 -d600s -H 'Connection: close' "http://127.0.0.1:$port/" >"$out" 2>&1 &
	local wp=$!
	sleep 1
	"$@"
	sleep 1
	kill -INT "$wp"
	wait "$wp" || true
}
# "requests errors": socket errors (connect, read, write, timeout) and non-2xx answers
wrk_summary() {
	local reqs errs
	reqs=$(awk '/requests in/{print $1}' "$1")
	errs=$(awk '/Socket errors/{gsub(",",""); s+=$4+$6+$8+$10} /Non-2xx/{s+=$NF} END{print s+0}' "$1")
	echo "${reqs:-0} $errs"
}
wrk_during "$w/wrk.rampd" "$pw" client switches web "$N_SWITCHES" "$v1" "$v2"
read -r q_rampd e_rampd < <(wrk_summary "$w/wrk.rampd")
# the same with an app that binds $PORT itself: stop, then start
host deploy own "$v2" --wait
wrk_during "$w/wrk.own" "$po" client switches own "$N_SWITCHES" "$v1" "$v2"
read -r q_own e_own < <(wrk_summary "$w/wrk.own")
host rm own

# ---- memory: three apps, idle ----
sleep 2
rpid=$(cat "$w/rampd.pid")
rss=$(awk '/VmRSS/{printf "%.1f", $2/1024}' "/proc/$rpid/status")
anon=$(awk '/RssAnon/{printf "%.1f", $2/1024}' "/proc/$rpid/status")
file=$(awk '/RssFile/{printf "%.1f", $2/1024}' "/proc/$rpid/status")
# the floor: rampd's shared libraries loaded (and their constructors run), nothing started
floor=$(/usr/bin/time -f %M "$rampd" --version 2>&1 >/dev/null | awk '{printf "%.1f", $1 / 1024}')
pss=$(awk '/^Pss:/{printf "%.1f", $2/1024}' "/proc/$rpid/smaps_rollup")
priv=$(awk '/^Private_Dirty:/{printf "%.1f", $2/1024}' "/proc/$rpid/smaps_rollup")
threads=$(awk '/Threads/{print $2}' "/proc/$rpid/status")

# ---- status latency while a 256 MiB image is pulled and unpacked ----
# the helper's peak memory, sampled while the pulls run; once a helper is
# found, with bash builtins only (a fork per sample would disturb the
# latency measured at the same time)
(exec {idle}<> <(:)
while :; do
	hp=$(pgrep -P "$rpid" -x rampd-pull) || { read -r -t 0.05 -u "$idle" || :; continue; }
	while [ -e "/proc/$hp/status" ]; do
		while read -r key val _; do [ "$key" = VmHWM: ] && echo "$val"; done 2>/dev/null <"/proc/$hp/status" || :
		read -r -t 0.1 -u "$idle" || :
	done
done) >"$w/helper.kb" &
sampler=$!
read -r s50 s99 smax sn sphases < <(client pull db "$big_far")
read -r l50 l99 lmax ln lphases < <(client pull api "$big")
kill "$sampler"
helper_mb=$(sort -n "$w/helper.kb" | tail -1 | awk '{printf "%.1f", $1 / 1024}')

# ---- the peer: runc, the app binding its port itself, stop then start ----
pp=$(free_port)
mkdir -p "$w/bundle/rootfs" "$w/runc"
cp "$hello" "$w/bundle/rootfs/hello"
(cd "$w/bundle" && runc spec)
jq --arg port "PORT=$pp" '.process.terminal = false | .process.args = ["/hello"]
    | .process.env += [$port, "HELLO_VERSION=peer"] | .root.readonly = false
    | .linux.namespaces |= map(select(.type != "network"))' "$w/bundle/config.json" >"$w/bundle/c.json"
mv "$w/bundle/c.json" "$w/bundle/config.json"
peer_start() { runc --root "$w/runc" run -d -b "$w/bundle" peer >/dev/null 2>>"$w/runc.log" </dev/null; }
peer_stop() {
	runc --root "$w/runc" kill peer TERM 2>/dev/null || true
	while [ "$(runc --root "$w/runc" state peer 2>/dev/null | jq -r .status)" = running ]; do sleep 0.001; done
	runc --root "$w/runc" delete -f peer >/dev/null 2>&1 || true
}
peer_up() { for _ in $(seq 2000); do curl -sf -o /dev/null "http://127.0.0.1:$pp/health" && return 0; sleep 0.002; done; return 1; }
peer_start
peer_up
for i in $(seq "$N_REVERTS"); do
	t0=$EPOCHREALTIME
	peer_stop
	peer_start
	t1=$EPOCHREALTIME
	echo $(((${t1/./} - ${t0/./})))
	peer_up
done >"$w/peer.us"
read -r p50 p99 < <(sort -n "$w/peer.us" | awk '{a[NR]=$1} END{printf "%.2f %.2f\n", a[int((NR+1)/2)]/1000, a[int(NR*0.99+0.5)]/1000}')
peer_switches() {
	for _ in $(seq "$N_SWITCHES"); do
		peer_stop
		peer_start
		peer_up
	done
}
wrk_during "$w/wrk.peer" "$pp" peer_switches
read -r q_peer e_peer < <(wrk_summary "$w/wrk.peer")
peer_stop

cat <<MD
## rampd: revert, switches under load, memory, status during a pull (issue 5)

The demo app (images/hello, a static HTTP server) in three apps on one rampd; the peer is
runc running the same binary from a bundle, switched the way a plain runtime can: stop the
running container (SIGTERM, wait), then run the other one, which binds its port itself.
Command: \`make bench\` (tests/bench/rampd.sh).

| what | rampd | runc, stop then start | ratio | target |
| --- | ---: | ---: | ---: | --- |
| revert, request to the kept version's process running, p50 ms ($N_REVERTS reverts) | $r50 | $p50 | $(ratio "$r50" "$p50") | <= 20 ms |
| revert, p99 ms | $r99 | $p99 | $(ratio "$r99" "$p99") | |
| wrk during $N_SWITCHES switches and reverts in a row: requests | $q_rampd | $q_peer | | |
| ... failed or refused requests | $e_rampd | $e_peer | | 0 |
| the same with an app that binds its port itself (\`"handoff": false\`): requests / failed or refused | $q_own / $e_own | | | |

rampd's own numbers:

| what | value | target |
| --- | ---: | --- |
| idle VmRSS with three apps, MB | $rss | <= 8 |
| ... of it anonymous (heap, stacks, relocated library data), MB | $anon | |
| ... of it shared library pages (libc, GnuTLS, libmicrohttpd …), MB | $file | |
| peak RSS of \`rampd --version\` (its libraries loaded, nothing started), MB | $floor | |
| idle PSS, MB (shared library pages divided among their users) | $pss | |
| idle private dirty memory, MB | $priv | |
| threads | $threads | |
| peak RSS of the pull helper (rampd-pull, one per pull, gone when it ends), MB | $helper_mb | |
| GET /v1/apps/NAME while a 256 MiB image is pulled (1 Gbit/s link) and unpacked: p50 / p99 / max ms ($sn requests) | $s50 / $s99 / $smax | p99 <= 2 |
| ... the same, pulled over loopback from a registry on the same 2 cores: p50 / p99 / max ms ($ln requests) | $l50 / $l99 / $lmax | |

wrk: 2 threads, 16 connections, a new connection per request (\`Connection: close\`), so
every request goes through the listening socket; rampd's revert time is until rampd has
started the kept version's process (its execve succeeded), the peer's until \`runc run -d\`
has returned, both from the request. Phases seen during the pulls: $sphases; $lphases.
Memory: rampd maps only libmicrohttpd (with GnuTLS and nettle), yajl, libseccomp and libcap;
pulls and unpacks run in the helper rampd-pull, one process per pull, which has libcurl,
OpenSSL and libarchive. The buffers are allocated per call, one malloc arena serves every thread.
Status during a pull: the first pull comes from a registry in a network namespace whose link
is limited to 1 Gbit/s (\`tc tbf\`), as a registry across a network is; the second straight from
the co-located registry over loopback, where the registry's own sends (in the kernel, not
preemptible) and the page cache's writeback threads take the 2 cores in turns of about 1 ms
(seen with \`perf sched timehist\`), which is most of that tail.
Load average (1 min) at the start and at the end of the run: $load0, $(cut -d' ' -f1 /proc/loadavg)
($(nproc) cores): other work on the machine slows every number above.
MD
