# rollout_real_helpers.bash: a fleet of real rampd processes for the
# rollout_real*.bats tests: hosts h1..h7 on loopback (each its own state dir,
# unix socket, TCP listener and app port), h8 in its own network namespace
# behind a veth pair on a bridge (so its link can be cut or slowed), a real
# registry (and a second registry process on the bridge address serving the
# same storage, which h8 uses as its mirror), and images of the demo app.
# Everything is started once per file (setup_file) and stopped in
# real_teardown_file, also when a test fails.

load rampd_helpers

# a file may want fewer hosts (the last one is still in the namespace) and
# more settings for app web (REAL_APP_EXTRA: ', "metrics": {...}')
REAL_HOSTS=${REAL_HOSTS:-8}

# real_setup_file: starts everything; exports what the tests use:
# R (the file's directory), REG, FLEET, TOKEN, NSNET (h8's network namespace),
# VETH, NSADDR, APP_PORTS
real_setup_file() {
	export R=$BATS_FILE_TMPDIR
	local sfx=$(($$ % 200 + 20)) i
	# names and a subnet of this file's own: other test files may run at the same time
	export BR=rrb$sfx VETH=rrv$sfx NET=10.233.$sfx
	export NSADDR=$NET.2
	real_net_up
	REG=$(start_registry "$R/registry")
	export REG
	# h8 reaches the registry's storage through a second process on the bridge
	local mport
	mport=$(free_port)
	mkdir -p "$R/mirror"
	sed -e "s/addr: 127.0.0.1:[0-9]*/addr: $NET.1:$mport/" "$R/registry/config.yml" >"$R/mirror/config.yml"
	docker-registry serve "$R/mirror/config.yml" >"$R/mirror/log" 2>&1 </dev/null 3>&- &
	echo $! >"$R/mirror/pid"
	export MIRROR=$NET.1:$mport
	head -c 24 /dev/urandom | base64 | tr -d '\n/+=' >"$R/token"
	chmod 600 "$R/token"
	export TOKEN=$R/token
	: >"$R/fleet.txt"
	APP_PORTS=
	for i in $(seq 1 $REAL_HOSTS); do
		local api app d=$R/h$i addr=127.0.0.1 extra=
		mkdir -p "$d"
		api=$(free_port)
		app=$(free_port)
		if [ "$i" = "$REAL_HOSTS" ]; then
			addr=$NSADDR
			extra=", \"registries\": {\"$REG\": {\"mirrors\": [\"$MIRROR\"]}, \"$MIRROR\": {\"insecure\": true}}"
		fi
		cat >"$d/rampd.json" <<JSON
{"state_dir": "$d/state", "socket": "$d/rampd.sock", "listen": ["$addr:$api"], "token_file": "$TOKEN",
 "apps": {"web": {"ports": {"8080": "$addr:$app"}, "stop_grace": "1s", "health_deadline": "20s"${REAL_APP_EXTRA:-}}}$extra}
JSON
		echo "h$i $addr:$api zone=z$((i % 2)) app=$addr:$app" >>"$R/fleet.txt"
		APP_PORTS="$APP_PORTS $addr:$app"
		echo "$app" >"$d/app"
		echo "$addr:$api" >"$d/api"
		real_start_host "$i"
	done
	export APP_PORTS FLEET=$R/fleet.txt
	for i in $(seq 1 $REAL_HOSTS); do real_wait_host "$i"; done
}

real_net_up() {
	ip link add "$BR" type bridge
	ip link set "$BR" up
	ip addr add "$NET.1/24" dev "$BR"
	# the namespace lives as long as a process in it, not as a /run/netns
	# mount (ip netns add leaves /run/netns mounted for good)
	unshare --net sleep infinity </dev/null >/dev/null 2>&1 3>&- &
	echo $! >"$R/netns.pid"
	export NSNET=/proc/$!/ns/net
	local _
	for _ in $(seq 200); do
		[ "$(readlink "$NSNET")" != "$(readlink /proc/self/ns/net)" ] && break
		sleep 0.01
	done
	ip link add "$VETH" type veth peer name eth0 netns "$(cat "$R/netns.pid")"
	ip link set "$VETH" master "$BR" up
	nsenter "--net=$NSNET" ip addr add "$NSADDR/24" dev eth0
	nsenter "--net=$NSNET" ip link set eth0 up
	nsenter "--net=$NSNET" ip link set lo up
}

# real_start_host I: rampd of host I in the background (h8 in the namespace:
# nsenter joins only its network, so mounts and cgroups are the host's)
real_start_host() {
	local i=$1 d=$R/h$1 pre=()
	[ "$i" = "$REAL_HOSTS" ] && pre=(nsenter "--net=$NSNET")
	"${pre[@]}" "$RAMPD_BIN" --config "$d/rampd.json" 2>>"$d/rampd.log" </dev/null 3>&- &
	echo $! >"$d/pid"
}

real_wait_host() {
	local d=$R/h$1
	for _ in $(seq 200); do
		curl -sf --unix-socket "$d/rampd.sock" http://rampd/healthz >/dev/null 2>&1 && return 0
		kill -0 "$(cat "$d/pid")" 2>/dev/null || { cat "$d/rampd.log" >&2; return 1; }
		sleep 0.05
	done
	echo "rampd of h$1 did not answer" >&2
	return 1
}

real_teardown_file() {
	local i p
	for i in $(seq 1 $REAL_HOSTS); do
		p=$(cat "$R/h$i/pid" 2>/dev/null) && kill -TERM "$p" 2>/dev/null
	done
	for i in $(seq 1 $REAL_HOSTS); do
		p=$(cat "$R/h$i/pid" 2>/dev/null) || continue
		for _ in $(seq 200); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
		kill -KILL "$p" 2>/dev/null || true
	done
	# app processes left behind (rampd killed hard): their root is an overlay in $R
	local f
	for f in $(grep -lsz "^RAMP_INSTANCE=" /proc/[0-9]*/environ); do
		p=${f#/proc/}
		p=${p%/environ}
		grep -qs "upperdir=$R/" "/proc/$p/mountinfo" && kill -KILL "$p" 2>/dev/null
	done
	stop_registry "$R/registry"
	stop_registry "$R/mirror"
	p=$(cat "$R/netns.pid" 2>/dev/null) && kill -KILL "$p" 2>/dev/null
	ip link del "$VETH" 2>/dev/null
	ip link del "$BR" 2>/dev/null
	return 0
}

# real_image NAME VERSION [--tested] [ramp build flags...]: the demo app
# (plus busybox for its test) pushed as $REG/hello:NAME with the test record
# of `ramp test` when --tested; prints the digest-pinned reference
real_image() {
	local name=$1 version=$2 tested= d
	shift 2
	if [ "${1:-}" = --tested ]; then tested=1; shift; fi
	d=$R/img-$name
	mkdir -p "$d/tree/bin"
	cp "$RAMP_HELLO" "$d/tree/hello"
	cp /bin/busybox "$d/tree/bin/busybox"
	"$RAMP_BIN" -q build "$d/tree" -o "$d/image.tar" --entrypoint /hello --port 8080 \
		--health-http 8080/health --health-interval 100ms --env "HELLO_VERSION=$version" "$@" >/dev/null
	if [ -n "$tested" ]; then
		"$RAMP_BIN" -q test --store "$R/test-store" "$d/image.tar" -- /bin/busybox true >/dev/null
	fi
	local dg
	dg=$("$RAMP_BIN" -q push "$d/image.tar" "$REG/hello:$name" | tail -1)
	echo "$REG/hello@$dg"
}

# rollout_real [options]: a rollout over the real fleet with short settings;
# --json events on stdout
# (--override: these tests roll the same digests out again after the failures they cause on
# purpose, which outcome records would otherwise refuse; outcome.bats tests the refusal)
real_args() {
	RA=(rollout --app web --fleet "$FLEET" --token-file "$TOKEN" --state-dir "$R/state" --bake 300ms --poll 50ms
		--request-timeout 2s --unreachable-after 1500ms --revert-deadline 20s --health-deadline 15s --json
		--override "rollout_real.bats: the same digests again after planned failures")
}
rollout_real() {
	real_args
	"$RAMP_BIN" "${RA[@]}" "$@"
}

# rollout_real_bg OUT [options]: the same in the background, events in OUT,
# stderr in OUT.err; BG is ramp's own pid (kill -9 hits the orchestrator)
rollout_real_bg() {
	local out=$1
	shift
	real_args
	"$RAMP_BIN" "${RA[@]}" "$@" >"$out" 2>"$out.err" &
	BG=$!
	BG_PIDS="${BG_PIDS:-} $BG"
}

# host_api I METHOD PATH: over host I's unix socket; sets $code and $body
host_api() {
	code=$(curl -s -o "$R/resp" -w '%{http_code}' -X "$2" --unix-socket "$R/h$1/rampd.sock" "http://rampd$3") || true
	body=$(cat "$R/resp")
}

# the digest each host runs, "h1=sha256:... h2=..." in order
host_digests() {
	local i out=
	for i in $(seq 1 $REAL_HOSTS); do
		host_api "$i" GET /v1/apps/web
		out="$out h$i=$(jq -r '.current.digest // "none"' <<<"$body" 2>/dev/null)"
	done
	echo "${out# }"
}

# every host runs digest $1, healthy, and serves version $2 on its app port
# (asked on /version: "/" fails a share of requests in the canary's images)
fleet_on() {
	local dg=${1#*@} ver=$2 i a out
	for i in $(seq 1 $REAL_HOSTS); do
		host_api "$i" GET /v1/apps/web
		[ "$(jq -r .current.digest <<<"$body")" = "$dg" ] || { echo "h$i: $body" >&2; return 1; }
		[ "$(jq -r .phase <<<"$body")" = healthy ] || { echo "h$i: $body" >&2; return 1; }
	done
	for a in $APP_PORTS; do
		out=$(curl -s -m 5 "http://$a/version")
		[ "$out" = "$ver" ] || { echo "$a: wanted $ver, got \"$out\"" >&2; return 1; }
	done
}

# wait_event OUT JQ-FILTER: until a JSON event line in OUT matches (30 s at most)
wait_event() {
	for _ in $(seq 600); do
		[ -n "$(jq -c "select($2)" "$1" 2>/dev/null)" ] && return 0
		sleep 0.05
	done
	echo "no event $2 in $1" >&2
	return 1
}

# start_latency_relay: h8's API behind a relay on 127.0.0.1 that holds what
# goes to h8 for $(cat $R/delay) seconds (new connections too), as netem on
# the link would (this kernel has no sch_netem); sets RELAY (address) and
# RELAY_PID, and writes $R/fleet-lat.txt: the fleet with h8 behind it
start_latency_relay() {
	local port
	port=$(free_port)
	echo 0 >"$R/delay"
	rm -f "$R/relay.ready"
	cat >"$R/relay.py" <<'PY'
import asyncio, sys
lport, host, hport, delay_file, ready = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
def delay():
    try:
        return float(open(delay_file).read().strip() or 0)
    except (OSError, ValueError):
        return 0.0
async def pipe(r, w, to_host):
    try:
        while True:
            data = await r.read(65536)
            if not data:
                break
            if to_host and delay():
                await asyncio.sleep(delay())
            w.write(data)
            await w.drain()
    except (OSError, asyncio.CancelledError):
        pass
    finally:
        w.close()
async def handle(cr, cw):
    if delay():
        await asyncio.sleep(delay())  # the connection's first packet crosses the link too
    try:
        hr, hw = await asyncio.open_connection(host, hport)
    except OSError:
        cw.close()
        return
    await asyncio.gather(pipe(cr, hw, True), pipe(hr, cw, False))
async def main():
    srv = await asyncio.start_server(handle, "127.0.0.1", lport)
    open(ready, "w").write("ok")
    async with srv:
        await srv.serve_forever()
asyncio.run(main())
PY
	python3 "$R/relay.py" "$port" "$NSADDR" "$(cut -d: -f2 "$R/h$REAL_HOSTS/api")" "$R/delay" "$R/relay.ready" \
		</dev/null 2>"$R/relay.log" 3>&- &
	RELAY_PID=$!
	BG_PIDS="${BG_PIDS:-} $RELAY_PID"
	for _ in $(seq 100); do [ -f "$R/relay.ready" ] && break; sleep 0.05; done
	RELAY=127.0.0.1:$port
	sed "s/^h$REAL_HOSTS [^ ]*/h$REAL_HOSTS $RELAY/" "$FLEET" >"$R/fleet-lat.txt"
}

# real_traffic_start: requests to every host's app, one curl each with 4
# connections, batch after batch, until real_traffic_stop (call it in
# teardown_file, before real_teardown_file)
real_traffic_start() {
	local a
	: >"$R/traffic.pids"
	for a in $APP_PORTS; do
		(while :; do
			for _ in $(seq 300); do printf 'url = "http://%s/"\noutput = /dev/null\n' "$a"; done |
				curl -s -Z --parallel-max 4 -K - || true
		done) </dev/null >/dev/null 2>&1 3>&- &
		echo $! >>"$R/traffic.pids"
	done
}

real_traffic_stop() {
	local p
	# stopped first, the loop starts no curl between the two kills
	for p in $(cat "$R/traffic.pids" 2>/dev/null); do
		kill -STOP "$p" 2>/dev/null || continue
		pkill -KILL -P "$p" 2>/dev/null
		kill -KILL "$p" 2>/dev/null
	done
	return 0
}

# events of a kind from JSON lines in $output
events() { jq -c --arg e "$1" 'select(.event == $e)' <<<"$output"; }
