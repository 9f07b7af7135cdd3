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

# start_rampd [ARGS...]: start rampd on $T/rampd.json, wait until its API answers
start_rampd() {
	"$RAMPD_BIN" --config "$T/rampd.json" "$@" 2>>"$T/rampd.log" &
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
		kill -0 "$pid" 2>/dev/null || { wait "$pid"; rc=$?; return 0; }
		sleep 0.05
	done
	return 1
}

rampd_teardown() {
	local p
	if [ -f "$T/rampd.pids" ]; then
		while read -r p; do kill -KILL "$p" 2>/dev/null || true; done <"$T/rampd.pids"
	fi
	if [ -n "${BATS_TEST_COMPLETED:-}" ] || [ ! -f "$T/rampd.log" ]; then :; else
		echo "--- rampd log" >&2
		cat "$T/rampd.log" >&2
	fi
	common_teardown
}
