# rampd_helpers.bash: starting and stopping real rampd processes for the
# rampd*.bats tests (bats `load rampd_helpers`). Every rampd started here is
# stopped in rampd_teardown, also when a test fails.

load helpers

# a free TCP port on 127.0.0.1
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# write_config [EXTRA_JSON_FIELDS]: $T/rampd.json with a state dir and socket in $T
write_config() {
	local extra=${1:-}
	cat >"$T/rampd.json" <<JSON
{"state_dir": "$T/state", "socket": "$T/rampd.sock"${extra:+, $extra}}
JSON
}

# start_rampd [ARGS...]: start rampd on $T/rampd.json, wait until its API
# answers ($RAMPD_NOFILE: its descriptor limit, else the shell's)
start_rampd() {
	# fd 3 is bats' own: a process left holding it would keep bats waiting
	${RAMPD_NOFILE:+prlimit --nofile=$RAMPD_NOFILE:$RAMPD_NOFILE} \
		"$RAMPD_BIN" --config "$T/rampd.json" "$@" 2>>"$T/rampd.log" </dev/null 3>&- &
	RAMPD_PID=$!
	echo "$RAMPD_PID" >>"$T/rampd.pids"
	for _ in $(seq 200); do
		curl -sf --unix-socket "$T/rampd.sock" http://rampd/healthz >/dev/null 2>&1 && return 0
		kill -0 "$RAMPD_PID" 2>/dev/null || { cat "$T/rampd.log" >&2; return 1; }
		sleep 0.05
	done
	echo "rampd did not answer" >&2
	return 1
}

# api METHOD PATH [BODY]: request over the unix socket; sets $code and $body
api() {
	code=$(curl -s -o "$T/resp" -w '%{http_code}' -X "$1" --unix-socket "$T/rampd.sock" \
		${3:+-H 'Content-Type: application/json' --data-binary "$3"} "http://rampd$2") || true
	body=$(cat "$T/resp")
}

# wait for rampd (pid $1) to exit, at most $2 seconds; sets $rc
wait_exit() {
	local pid=$1 s=${2:-10}
	for _ in $(seq $((s * 20))); do
		kill -0 "$pid" 2>/dev/null || { rc=0; wait "$pid" || rc=$?; return 0; }
		sleep 0.05
	done
	return 1
}

rampd_teardown() {
	local p
	if [ -f "$T/rampd.pids" ]; then
		# SIGTERM: rampd stops its apps; then make sure
		while read -r p; do kill -TERM "$p" 2>/dev/null || true; done <"$T/rampd.pids"
		while read -r p; do wait_exit "$p" 15 || kill -KILL "$p" 2>/dev/null || true; done <"$T/rampd.pids"
	fi
	for p in $(app_pids "$T"); do kill -KILL "$p" 2>/dev/null || true; done
	# registries a test started in $T
	for p in "$T"/*/pid; do [ -f "$p" ] && stop_registry "$(dirname "$p")"; done
	if [ -n "${BATS_TEST_COMPLETED:-}" ] || [ ! -f "$T/rampd.log" ]; then :; else
		echo "--- rampd log" >&2
		cat "$T/rampd.log" >&2
	fi
	common_teardown
}

# ---- a registry and images of the demo app ----

# start_registry DIR: docker-registry on a free loopback port with its data in
# DIR (again on the same port when DIR has one); prints 127.0.0.1:PORT (its
# pid is in DIR/pid)
start_registry() {
	local d=$1 port
	port=$(cat "$d/port" 2>/dev/null || free_port)
	mkdir -p "$d"
	echo "$port" >"$d/port"
	cat >"$d/config.yml" <<YML
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $d/data}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$port}
YML
	docker-registry serve "$d/config.yml" >"$d/log" 2>&1 </dev/null 3>&- &
	echo $! >"$d/pid"
	for _ in $(seq 100); do
		curl -sf "http://127.0.0.1:$port/v2/" >/dev/null && break
		sleep 0.05
	done
	echo "127.0.0.1:$port"
}

stop_registry() {
	[ -f "$1/pid" ] && kill "$(cat "$1/pid")" 2>/dev/null && kill -CONT "$(cat "$1/pid")" 2>/dev/null # a held proxy too
	return 0
}

# hello_image REG NAME VERSION [ramp build flags...]: the demo app as an image
# pushed to REG/hello:NAME; prints the digest-pinned reference
hello_image() {
	local reg=$1 name=$2 version=$3 d
	shift 3
	d=$BATS_FILE_TMPDIR/img-$name
	mkdir -p "$d/tree"
	cp "$RAMP_HELLO" "$d/tree/hello"
	"$RAMP_BIN" -q build "$d/tree" -o "$d/image.tar" --entrypoint /hello --port 8080 \
		--health-http 8080/health --health-interval 200ms --env "HELLO_VERSION=$version" "$@" >/dev/null
	skopeo copy -q "oci-archive:$d/image.tar" "docker://$reg/hello:$name" --dest-tls-verify=false
	echo "$reg/hello@$(skopeo inspect --tls-verify=false "docker://$reg/hello:$name" | jq -r .Digest)"
}

# app_config PORT [EXTRA]: rampd.json with app "web" on 127.0.0.1:PORT
app_config() {
	write_config "\"apps\": {\"web\": {\"ports\": {\"8080\": \"127.0.0.1:$1\"}, \"stop_grace\": \"3s\"${2:+, $2}}}"
}

# wait_app FIELD VALUE [SECONDS]: until jq FIELD of GET /v1/apps/web is VALUE
wait_app() {
	local f=$1 want=$2 s=${3:-20}
	for _ in $(seq $((s * 20))); do
		api GET /v1/apps/web
		[ "$code" = 200 ] && [ "$(jq -r "$f" <<<"$body")" = "$want" ] && return 0
		sleep 0.05
	done
	echo "app never had $f = $want; last: $body" >&2
	return 1
}

# the app answers "hello from VERSION" on PORT
served_by() {
	local port=$1 want=$2 out
	for _ in $(seq 100); do
		out=$(curl -s -m 2 "http://127.0.0.1:$port/") && [[ "$out" == "hello from $want "* ]] && return 0
		sleep 0.05
	done
	echo "port $port: wanted $want, got \"$out\"" >&2
	return 1
}

. "$BATS_TEST_DIRNAME/../lib/procs.sh"

# slow_proxy TARGET BYTES_PER_SEC [HOLD_AFTER]: a TCP proxy on a free
# loopback port that passes TARGET's answers on at that rate (a slow link to a
# registry); prints 127.0.0.1:PORT; its pid is in $T/proxy/pid (stopped by
# rampd_teardown). With HOLD_AFTER, once it has passed on that many bytes of
# answers (0: before the first) it stops itself (SIGSTOP): a pull through it
# is held there, whatever the load, until `kill -CONT` (proxy_held tells)
slow_proxy() {
	local port
	port=$(free_port)
	mkdir -p "$T/proxy"
	python3 - "$port" "$1" "$2" ${3:+"$3"} >"$T/proxy/log" 2>&1 </dev/null 3>&- <<'PY' &
import os, signal, socket, sys, threading, time
port, (th, tp), rate = int(sys.argv[1]), sys.argv[2].rsplit(":", 1), int(sys.argv[3])
hold = int(sys.argv[4]) if len(sys.argv) > 4 else None
chunk = max(1, rate // 20)
passed, mu = 0, threading.Lock()
def pipe(src, dst, slow):
    global passed, hold
    try:
        while True:
            b = src.recv(chunk if slow else 65536)
            if not b:
                break
            if slow:
                with mu:
                    if hold is not None and passed >= hold:
                        hold = None
                        os.kill(os.getpid(), signal.SIGSTOP)
                    passed += len(b)
            dst.sendall(b)
            if slow:
                time.sleep(0.05)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", port))
l.listen(16)
while True:
    c, _ = l.accept()
    u = socket.create_connection((th, int(tp)))
    threading.Thread(target=pipe, args=(c, u, False), daemon=True).start()
    threading.Thread(target=pipe, args=(u, c, True), daemon=True).start()
PY
	echo $! >"$T/proxy/pid"
	for _ in $(seq 100); do
		(echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
		sleep 0.05
	done
	echo "127.0.0.1:$port"
}

# proxy_held: wait until the slow proxy has stopped itself at its HOLD_AFTER
proxy_held() {
	for _ in $(seq 600); do
		grep -q '^State:.*T' "/proc/$(cat "$T/proxy/pid")/status" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "the slow proxy never came to its hold" >&2
	return 1
}

# hello_registry_start: the registry of a test file ($REG,
# in $BATS_FILE_TMPDIR, stopped by hello_registry_stop) holding v1 and v2 of
# the demo app ($V1, $V2)
hello_registry_start() {
	export REGDIR=$BATS_FILE_TMPDIR/registry
	export REG V1 V2
	REG=$(start_registry "$REGDIR")
	V1=$(hello_image "$REG" v1 v1)
	V2=$(hello_image "$REG" v2 v2)
}
hello_registry_stop() { stop_registry "$REGDIR"; }

# each test: its $T (common_setup) and a free $PORT for the app
rampd_setup() {
	common_setup
	PORT=$(free_port)
}

# deploy IMAGE GENERATION [ROLLOUT]: PUT /v1/apps/web
deploy() { api PUT /v1/apps/web "{\"image\":\"$1\",\"rollout\":\"${3:-r}\",\"generation\":$2}"; }
