# tests/fault/lib.sh: shared by the fault-injection scenarios (sourced; see
# docs/FAULTS.md). Each scenario is a bash script that runs ROUNDS rounds of
# one fault, prints a line per round and ends with one line
#   PASS NAME: ...   or   FAIL NAME: round N: what was wrong
# and exits non-zero on a failure. It reuses the integration tests' helpers
# (tests/integration/*_helpers.bash, read-only) for rampd, registries and the
# simulated fleet; everything it starts is stopped on exit, in a temp dir.
#
# Environment: RAMP_BIN, RAMPD_BIN, RAMP_HELPERS, RAMP_HELLO (set by make
# fault), FAULT_ROUNDS (rounds, the scenario's default otherwise),
# FAULT_SEED (reproduces the random kill points), FAULT_KEEP=1 keeps the
# temp dir.
set -uo pipefail
: "${RAMP_BIN:?run through make fault}" "${RAMPD_BIN:?}" "${RAMP_HELPERS:?}" "${RAMP_HELLO:?}"

FAULT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$FAULT_DIR/../.." && pwd)
NAME=$(basename "$0" .sh)
SEED=${FAULT_SEED:-$((RANDOM * 32768 + RANDOM))}
RANDOM=$SEED
round=0

T=$(mktemp -d /var/tmp/ramp-fault-XXXXXX)
# what the bats helpers expect
BATS_TEST_DIRNAME=$TOP/tests/integration
BATS_FILE_TMPDIR=$T/file
mkdir -p "$BATS_FILE_TMPDIR"
load() { . "$BATS_TEST_DIRNAME/$1.bash"; }
# the helpers' diagnostics (and bash's "Killed" notes) go to a log, shown on failure
exec 4>&2 2>>"$T/stderr.log"

# scenario cleanups run first (newest first), then the common one
CLEANUPS=()
run_cleanups() {
	local i
	for ((i = ${#CLEANUPS[@]} - 1; i >= 0; i--)); do eval "${CLEANUPS[$i]}" >/dev/null 2>&1 || true; done
	CLEANUPS=()
}
on_exit() {
	run_cleanups
	if [ "${FAULT_KEEP:-0}" = 1 ]; then echo "kept $T" >&4; else rm -rf "$T"; fi
}
trap on_exit EXIT
trap 'exit 130' INT TERM

say() { printf '%s: %s\n' "$NAME" "$*"; }
# fail WHAT: the scenario's FAIL line (with the seed that reproduces it), exit 1
fail() {
	[ -n "${FAIL_LOG:-}" ] && [ -f "$FAIL_LOG" ] && tail -n 20 "$FAIL_LOG" | sed "s|^|  $(basename "$FAIL_LOG"): |"
	tail -n 10 "$T/stderr.log" | grep -v ' Killed ' | sed 's|^|  stderr: |'
	printf 'FAIL %s: round %s: %s (FAULT_SEED=%s)\n' "$NAME" "$round" "$*" "$SEED"
	exit 1
}
# pass SUMMARY: stops everything first, so that an ASan/UBSan build's reports
# (leaks show at exit) are in the logs of $T, and fails on any
pass() {
	local f
	run_cleanups
	f=$(grep -rlE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T" --include='*.log' --include='*.err' 2>/dev/null | head -1)
	[ -z "$f" ] || fail "sanitizer report in $f: $(grep -m1 -E 'Sanitizer|runtime error:' "$f")"
	printf 'PASS %s: %s (seed %s)\n' "$NAME" "$*" "$SEED"
}

# rand_ms MAX: a random sleep of 0..MAX-1 milliseconds
rand_sleep() { sleep "$(awk -v m="$((RANDOM % $1))" 'BEGIN{printf "%.3f", m / 1000}')"; }

# mounts_in DIR: lines of this (the host's) mount table naming DIR. Containers
# mount their roots in their own mount namespaces: none may show up here.
mounts_in() { grep -c -F "$1" /proc/self/mountinfo || true; }

# store_verify STATE_DIR [APP...]: the host store is consistent: every blob
# hashes to its name, every layer blob decompresses to its diff_id, every image
# record's blobs and layers are present, no half-made layer is visible, and
# each app's current and kept versions are images of the store. rampd runs
# meanwhile: what its garbage collection removes during the check (gone
# when looked at again) is skipped.
store_verify() {
	local s=$1 f c d h ld t
	shift
	for f in "$s"/blobs/sha256/*; do
		[ -e "$f" ] || continue
		h=$(sha256sum <"$f" 2>/dev/null | cut -c1-64)
		[ -e "$f" ] || continue
		[ "$h" = "$(basename "$f")" ] || { echo "blob $f hashes to $h"; return 1; }
	done
	for ld in "$s"/layers/*/; do
		ld=${ld%/}
		[ -d "$ld" ] || continue
		case $(basename "$ld") in .tmp-* | .del-*) continue ;; esac # repaired by the next open
		read -r d c t < <(jq -r '[.digest, .diffID, .mediaType] | join(" ")' "$ld/layer.json" 2>/dev/null)
		f=$s/blobs/sha256/${d#sha256:}
		case $t in
		*zstd) h=$(zstd -dc <"$f" 2>/dev/null | sha256sum | cut -c1-64) ;;
		*gzip) h=$(gzip -dc <"$f" 2>/dev/null | sha256sum | cut -c1-64) ;;
		*) h=$(sha256sum <"$f" 2>/dev/null | cut -c1-64) ;;
		esac
		[ -d "$ld" ] || continue # collected meanwhile
		[ -d "$ld/fs" ] && [ -n "$c" ] || { echo "layer $ld is incomplete"; return 1; }
		[ -f "$f" ] || { echo "layer $ld: blob $d is missing"; return 1; }
		[ "sha256:$h" = "$c" ] || { echo "layer $ld: content hashes to $h, not its diff_id $c"; return 1; }
	done
	for f in "$s"/images/*.json; do
		[ -e "$f" ] || continue
		d=$(jq -r '.digest, .config, .layers[].digest' "$f" 2>/dev/null)
		c=$(jq -r '.layers[].chainID' "$f" 2>/dev/null)
		for d in $d; do
			[ -f "$s/blobs/sha256/${d#sha256:}" ] || [ ! -e "$f" ] || { echo "$f: blob $d is missing"; return 1; }
		done
		for c in $c; do
			[ -d "$s/layers/${c#sha256:}/fs" ] || [ ! -e "$f" ] || { echo "$f: layer $c is missing"; return 1; }
		done
	done
	for a in "$@"; do
		f=$s/apps/$a/state.json
		jq -e . "$f" >/dev/null || { echo "$f does not parse"; return 1; }
		for d in $(jq -r '(.current // empty | .digest), (.previous[]?.digest)' "$f"); do
			[ -f "$s/images/${d#sha256:}.json" ] || { echo "app $a: version $d is not in the store"; return 1; }
		done
	done
}

# build_image REG NAME VERSION MIB [ramp build flags]: the demo app with MIB
# MiB of random payload (its own layer content), pushed to REG/NAME:VERSION;
# prints the pinned reference
build_image() {
	local reg=$1 name=$2 v=$3 mib=$4 d
	shift 4
	d=$T/build-$name-$v
	mkdir -p "$d/tree"
	cp "$RAMP_HELLO" "$d/tree/hello"
	[ "$mib" -gt 0 ] && head -c $((mib << 20)) /dev/urandom >"$d/tree/payload"
	"$RAMP_BIN" -q build "$d/tree" -o "$d/image.tar" --entrypoint /hello --port 8080 \
		--health-http 8080/health --health-interval 100ms --env "HELLO_VERSION=$v" "$@" >/dev/null || return 1
	skopeo copy -q "oci-archive:$d/image.tar" "docker://$reg/$name:$v" --dest-tls-verify=false || return 1
	echo "$reg/$name@$(skopeo inspect --tls-verify=false "docker://$reg/$name:$v" | jq -r .Digest)"
	rm -rf "$d"
}

# wait_until SECONDS CMD...: until CMD succeeds (polled every 20 ms)
wait_until() {
	local s=$1 i
	shift
	for ((i = 0; i < s * 50; i++)); do
		"$@" && return 0
		sleep 0.02
	done
	return 1
}

# ---- real hosts: several rampd on this machine, each with its own state
# dir, socket and app port (needs rampd_helpers loaded) ----

# host_start I: rampd "hI" ($T/hI), app web on its own port; again with the
# same state dir when it ran before. HOST_WRAP: a command (with its
# arguments, split on spaces) that runs rampd, such as env with LD_PRELOAD
host_start() {
	local i=$1 d=$T/h$1
	mkdir -p "$d"
	[ -f "$d/port" ] || free_port >"$d/port"
	[ -f "$d/rampd.json" ] || cat >"$d/rampd.json" <<JSON
{"state_dir": "$d/state", "socket": "$d/rampd.sock",
 "apps": {"web": {"ports": {"8080": "127.0.0.1:$(cat "$d/port")"}, "stop_grace": "2s"}}}
JSON
	${HOST_WRAP:-} "$RAMPD_BIN" --config "$d/rampd.json" 2>>"$d/rampd.log" </dev/null &
	HPID[$i]=$!
	echo "${HPID[$i]}" >>"$T/rampd.pids" # stopped by rampd_teardown
	wait_until 10 curl -sf -o /dev/null --unix-socket "$d/rampd.sock" http://rampd/healthz
}

# host_kill I [SIG]: kill hI's rampd (default SIGKILL) and wait for it
host_kill() {
	kill "-${2:-KILL}" "${HPID[$1]}" 2>/dev/null
	wait_exit "${HPID[$1]}" 10
}

# crash PID [DIR]: kill -9 a rampd; with DIR, also the app processes it
# started under DIR (a power cut)
crash() {
	local apps=
	[ -n "${2:-}" ] && apps=$(app_pids "$2")
	kill -KILL "$1" $apps 2>/dev/null
}

# host_get I: GET /v1/apps/web of hI into $hbody ("" when it does not answer)
host_get() {
	hbody=$(curl -s -m 2 --unix-socket "$T/h$1/rampd.sock" http://rampd/v1/apps/web) || hbody=
}

# hosts_fleet N: the fleet file $T/fleet.txt of h1..hN (unix sockets)
hosts_fleet() {
	local i
	for ((i = 1; i <= $1; i++)); do echo "h$i unix:$T/h$i/rampd.sock zone=z$((i % 2))"; done >"$T/fleet.txt"
}

# three_hosts PREFIX N: a registry with the images PREFIX0..PREFIXN of the
# demo app (IMGS[i] pinned, VER[digest] its version name), hosts h1..h3 in
# the fleet file, all on PREFIX0
three_hosts() {
	local p=$1 n=$2 i msg
	reg=$(start_registry "$T/registry")
	for ((i = 0; i <= n; i++)); do
		IMGS[$i]=$(build_image "$reg" app "$p$i" 0) || fail "building image $i"
		VER[${IMGS[$i]#*@}]=$p$i
	done
	for i in 1 2 3; do host_start "$i" || fail "h$i did not start"; done
	hosts_fleet 3
	for i in 1 2 3; do
		curl -sf -o /dev/null -X PUT --unix-socket "$T/h$i/rampd.sock" --data "{\"image\":\"${IMGS[0]}\",\"generation\":1}" \
			http://rampd/v1/apps/web || fail "deploying ${p}0 on h$i"
	done
	msg=$(hosts_on 3 "${IMGS[0]#*@}" "${p}0") || fail "the first deploy: $msg"
}

# hosts_on N DIGEST VERSION: every host runs DIGEST, healthy, and its port
# answers as VERSION (waits up to 20 s for each)
hosts_on() {
	local i n=$1 d=$2 v=$3
	for ((i = 1; i <= n; i++)); do
		wait_until 20 host_is "$i" "$d" || { echo "h$i: $(jq -c '[.current.digest, .desired.digest, .phase]' <<<"$hbody")"; return 1; }
		served_by "$(cat "$T/h$i/port")" "$v" || { echo "h$i: port does not serve $v"; return 1; }
	done
}
host_is() {
	host_get "$1"
	[ -n "$hbody" ] && [ "$(jq -r '[.current.digest, .desired.digest, .phase] | join(" ")' <<<"$hbody")" = "$2 $2 healthy" ]
}

# rampd_stop: rampd_teardown (every rampd and app of $T stopped, registries
# too) without its removal of $T (on_exit does that, unless FAULT_KEEP=1)
rampd_stop() {
	common_teardown() { :; }
	rampd_teardown
}

