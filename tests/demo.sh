#!/usr/bin/env bash
# tests/demo.sh: `make demo`, the whole story of ramp on this one machine.
#
# A registry and 8 hosts (8 rampd processes on 127.0.0.1, each with its own
# store, API port, token and app port) in a temp dir; the demo service
# (images/hello) built into an image, tested inside it, pushed and rolled out
# in waves of 1, 2, 4 and 1 hosts; then a release that passes its test but
# fails its health check a second after it starts, rolled out and reverted
# automatically after the first wave; then, with traffic sent to every host,
# a release that passes its test and every health check but fails 5% of its
# requests, caught by the canary analysis and reverted, and a good release
# that passes it (the hello app only). Everything it starts is stopped and
# everything it made is removed at the end, also on Ctrl-C or an error.
#
# `make demo-full` (DEMO_APP=python) tells the same story with the service
# written in Python (images/pyhello) on a Debian root file system: made once
# with debootstrap (it downloads packages) and kept in /var/tmp for next time.
#
# Environment: RAMP_BIN, RAMPD_BIN, RAMP_HELLO (the binaries; default: this
# tree's build), DEMO_APP (hello, the default, or python), DEMO_JSON=FILE
# (also write the rollouts' JSON events there, then one "fleet" line per
# `ramp fleet status`), DEMO_HOSTS (default 8), DEMO_BAKE (default 3s),
# DEMO_ROOTFS (the Debian tree with python3 for DEMO_APP=python; default
# /var/tmp/ramp-demo-python-rootfs), DEMO_KEEP=1 (leave the temp dir).
#
# `make tour` (tests/demo.sh --tour) starts only the machine, a registry and
# DEMO_HOSTS (default 4) hosts, and leaves it running for the README's tour:
# it writes DIR/tour.env (PATH, REGISTRY, RAMP_STORE, ...: source it), puts
# the demo service's binary in DIR/app, and prints the commands to try and
# the one that stops it all: `tests/demo.sh --stop DIR` (the daemons, their
# apps, their mounts, DIR itself).
set -euo pipefail
if [ "$(id -u)" != 0 ]; then
	echo "the demo needs root: it starts containers (namespaces, mounts); run it as root" >&2
	exit 2
fi
top=$(cd "$(dirname "$0")/.." && pwd)
mode=demo
case "${1:-}" in
"") ;;
--tour) mode=tour ;;
--stop)
	mode=stop
	w=${2:-}
	[ -f "$w/tour.pids" ] && [[ "$(basename "$w")" == ramp-tour-* ]] ||
		{ echo "demo: --stop DIR: \"$w\" is not a directory of 'make tour' (no tour.pids in it)" >&2; exit 2; }
	w=$(realpath "$w")
	;;
*) echo "usage: tests/demo.sh [--tour | --stop DIR]" >&2; exit 2 ;;
esac
RAMP=${RAMP_BIN:-$top/bin/ramp}
RAMPD=${RAMPD_BIN:-$top/bin/rampd}
HELLO=${RAMP_HELLO:-$top/build/release/images/hello/hello}
hosts=${DEMO_HOSTS:-$([ "$mode" = tour ] && echo 4 || echo 8)} bake=${DEMO_BAKE:-3s} app=${DEMO_APP:-hello}
rootfs=${DEMO_ROOTFS:-/var/tmp/ramp-demo-python-rootfs}
case $app in
hello | python) ;;
*) echo "demo: DEMO_APP is hello or python, not \"$app\"" >&2; exit 2 ;;
esac
[ "$app" = hello ] || command -v debootstrap >/dev/null || [ -d "$rootfs" ] ||
	{ echo "demo: debootstrap is missing: run make deps first" >&2; exit 2; }
for b in "$RAMP" "$RAMPD" "$HELLO"; do
	[ -x "$b" ] || { echo "demo: $b is missing: run make first" >&2; exit 2; }
done
for t in docker-registry curl jq python3; do
	command -v "$t" >/dev/null || { echo "demo: $t is missing: run make deps first" >&2; exit 2; }
done

[ "$mode" = stop ] || w=$(mktemp -d "${TMPDIR:-/tmp}/ramp-$mode-XXXXXX")
# the Python demo's 8 hosts each unpack a Debian tree: on a tmpfs of its own
# that costs memory for a minute instead of minutes of deleting from disk
tmpfs=0
if [ "$app" = python ] && mount -t tmpfs -o size=6g,mode=0700 ramp-demo "$w" 2>/dev/null; then tmpfs=1; fi
pids=() traffic=()
bold=$'\033[1m' dim=$'\033[2m' off=$'\033[0m'
[ -t 1 ] || bold='' dim='' off=''

# ---- stopping everything, whatever happened ----

. "$top/tests/lib/procs.sh"

# stop_all: the daemons ($pids) and their apps, then the mounts under $w
stop_all() {
	local p i m
	# the traffic loops and their curl
	for p in "${traffic[@]}"; do pkill -KILL -P "$p" 2>/dev/null; kill -KILL "$p" 2>/dev/null; done
	# rampd stops its apps on SIGTERM; give them a few seconds, then make sure
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for i in $(seq 100); do
		for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && break; done
		kill -0 "$p" 2>/dev/null || break
		sleep 0.1
	done
	for p in "${pids[@]}" $(app_pids "$w"); do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
	# mounts left by a process killed hard (or an interrupted debootstrap), innermost first
	for m in $(awk -v w="$w/" -v r="$rootfs.tmp/" 'index($2, w) == 1 || index($2, r) == 1 {print $2}' \
		/proc/self/mounts | sort -r); do
		umount -l "$m" 2>/dev/null
	done
}

if [ "$mode" = stop ]; then
	# the daemons the tour started, those still running (a pid that now
	# belongs to another process does not name the tour's directory)
	set +eu
	for p in $(cat "$w/tour.pids"); do
		if tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF "$w/"; then pids+=("$p"); fi
	done
	stop_all
	rm -rf "$w"
	echo "tour: stopped ${#pids[@]} daemons and their apps, removed $w"
	exit 0
fi

cleanup() {
	local rc=$? l
	trap - EXIT INT TERM
	trap '' PIPE # the output may be gone (| head): clean up all the same
	set +eu
	# the tour's fleet stays up once it has started
	[ "$mode" = tour ] && [ "$rc" -eq 0 ] && exit 0
	cd /
	stop_all
	if [ "$rc" -eq 1 ]; then
		for l in "$w"/h*/rampd.log "$w"/registry/log; do
			[ -s "$l" ] && { echo "--- ${l#$w/}" >&2; tail -n 20 "$l" >&2; }
		done
	fi
	if [ "${DEMO_KEEP:-0}" = 1 ]; then
		echo "demo: kept $w" >&2
	else
		[ "$tmpfs" = 1 ] && umount -l "$w"
		rm -rf "$w"
	fi
	if [ "$rc" -ne 0 ]; then
		echo "demo: stopped (status $rc); everything it started is stopped and removed" >&2
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 141' PIPE

# ---- narration ----

step=0
say() {
	step=$((step + 1))
	printf '\n%s%2d. %s%s\n' "$bold" "$step" "$*" "$off"
}
# run CMD...: show it as a user would type it (ramp for the binary, the demo's
# files relative to its directory, quotes where the shell needs them), then run it
run() {
	local a line=""
	for a in "$@"; do
		[ "$a" = "$RAMP" ] && a=ramp
		a=${a#$w/}
		[[ "$a" =~ ^[][A-Za-z0-9_./:=@,+%-]+$ ]] || a="'$a'"
		line+=" $a"
	done
	printf '%s$%s%s\n' "$dim" "$line" "$off" >&2
	"$@"
}
if [ -n "${DEMO_JSON:-}" ]; then
	DEMO_JSON=$(realpath -m "$DEMO_JSON")
	: >"$DEMO_JSON"
fi
# the demo's files are named relative to $w, as in the commands shown
cd "$w"

# JSON events: the journal of each rollout, then the fleet's status
json_out() {
	[ -n "${DEMO_JSON:-}" ] || return 0
	cat "$@" >>"$DEMO_JSON"
}
fleet_status() {
	run "$RAMP" fleet status --fleet fleet.txt --app web --token-file token
	if [ -n "${DEMO_JSON:-}" ]; then
		"$RAMP" fleet status --fleet fleet.txt --app web --token-file token --json |
			jq -c --arg when "$1" '{event: "fleet", when: $when, status: .}' >>"$DEMO_JSON"
	fi
}

# ---- the machine: a registry and the hosts ----

# 1 + 2 per host distinct free ports on 127.0.0.1 (held together while chosen)
read -r -a ports <<<"$(python3 -c '
import socket, sys
s = [socket.socket() for _ in range(int(sys.argv[1]))]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))' $((1 + 2 * hosts)))"

say "A registry: docker-registry on 127.0.0.1:${ports[0]}, its data in $w"
reg=127.0.0.1:${ports[0]}
mkdir -p registry
cat >registry/config.yml <<YML
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $w/registry/data}, delete: {enabled: true}}
http: {addr: $reg}
YML
# (the tour's daemons in a session of their own: a Ctrl-C later does not reach them)
detach=()
[ "$mode" = tour ] && detach=(setsid)
"${detach[@]}" docker-registry serve "$w/registry/config.yml" >registry/log 2>&1 </dev/null &
pids+=($!)

say "$hosts hosts: $hosts rampd daemons on 127.0.0.1, each with its own store, API port and app port"
head -c 24 /dev/urandom | base64 | tr -d '\n/+=' >token
chmod 600 token
: >fleet.txt
for i in $(seq "$hosts"); do
	api=${ports[2 * i - 1]} app_port=${ports[2 * i]}
	mkdir -p "h$i"
	cat >"h$i/rampd.json" <<JSON
{"state_dir": "$w/h$i/state", "socket": "$w/h$i/rampd.sock", "listen": ["127.0.0.1:$api"],
 "token_file": "$w/token", "log_level": "warning",
 "apps": {"web": {"ports": {"8080": "127.0.0.1:$app_port"}, "stop_grace": "2s", "metrics": {"interval": "500ms"}}}}
JSON
	"${detach[@]}" "$RAMPD" --config "$w/h$i/rampd.json" >"h$i/rampd.log" 2>&1 </dev/null &
	pids+=($!)
	printf 'h%-3s 127.0.0.1:%-6s zone=z%s app_port=%s\n' "$i" "$api" "$(( i % 2 ? 1 : 2 ))" "$app_port" >>fleet.txt
done
for _ in $(seq 200); do
	up=0
	curl -sf "http://$reg/v2/" >/dev/null && up=1
	for i in $(seq "$hosts"); do
		curl -sf --unix-socket "h$i/rampd.sock" http://rampd/healthz >/dev/null && up=$((up + 1))
	done
	[ "$up" = $((hosts + 1)) ] && break
	for p in "${pids[@]}"; do
		kill -0 "$p" 2>/dev/null || { cat registry/log h*/rampd.log >&2; echo "demo: a daemon did not start" >&2; exit 1; }
	done
	sleep 0.05
done
[ "$up" = $((hosts + 1)) ] || { echo "demo: the registry or a host did not answer" >&2; exit 1; }
echo "the fleet file (one host a line: name, rampd's address, labels):"
sed 's/^/  /' fleet.txt

if [ "$mode" = tour ]; then
	printf '%s\n' "${pids[@]}" >tour.pids
	mkdir -p app
	install -m 0755 "$HELLO" app/hello
	bindir=$(dirname "$RAMP")
	cat >tour.env <<ENV
# the tour's fleet (made by 'make tour'): source it, in bash
cd $w
export PATH=$bindir:\$PATH     # ramp and rampd of this build (make install puts them in /usr/local/bin)
export REGISTRY=$reg       # the registry (docker-registry), its data in $w/registry
export RAMP_STORE=$w/store       # where ramp test and ramp run unpack images
export XDG_STATE_HOME=$w/state   # ramp rollout's journals and locks
export WEB_1=http://127.0.0.1:$(awk '$1 == "h1" {sub("app_port=", "", $4); print $4}' fleet.txt)  # h1's app
ENV
	cat <<TXT

${bold}The tour's fleet is up${off}: a registry on $reg and $hosts hosts (fleet.txt, token), in $w.
Binaries: $bindir (ramp, rampd); the manual: man -l $top/build/release/man/ramp.1 (and rampd.8),
made by 'make man'; 'make install' puts both in place.

Try (as root: ramp test runs containers), following README.md's "A five-minute tour":

  . $w/tour.env
  ramp build app -o hello-1.0.oci.tar --tag hello:1.0 --entrypoint /hello --port 8080 \\
      --health-http 8080/health --health-interval 1s --env HELLO_VERSION=1.0
  ramp test hello-1.0.oci.tar -- /hello --self-test
  ramp push hello-1.0.oci.tar \$REGISTRY/hello:1.0
  ramp rollout --app web --image \$REGISTRY/hello:1.0 --fleet fleet.txt --token-file token --bake 10s
  ramp fleet status --fleet fleet.txt --token-file token
  curl -s \$WEB_1/

Stop it all (daemons, apps, mounts, files):

  $top/tests/demo.sh --stop $w
TXT
	exit 0
fi

# ---- v1: build, test, push ----

# the image of a version: OUT VERSION [more ramp build options]
settings=(--port 8080 --health-http 8080/health --health-interval 200ms)
if [ "$app" = hello ]; then
	say "Build hello 1.0: a directory tree holding one static binary becomes a reproducible OCI image"
	mkdir -p tree
	install -m 0755 "$HELLO" tree/hello
	ls -l tree | tail -n +2 | sed 's/^/  /'
	layers=(tree)
	settings+=(--entrypoint /hello --metrics-http 8080/metrics)
	selftest=(/hello --self-test)
else
	say "Build hello 1.0 in Python: a Debian root file system with python3 in it, and the service on top"
	if [ ! -d "$rootfs" ]; then
		# made once, complete or not at all; one debootstrap at a time
		exec 9>"$rootfs.lock"
		flock 9
		if [ ! -d "$rootfs" ]; then
			rm -rf "$rootfs.tmp"
			run debootstrap --variant=minbase --include=python3 bookworm "$rootfs.tmp" >/dev/null
			mv "$rootfs.tmp" "$rootfs"
		fi
		exec 9>&-
	fi
	echo "  layer 1: $rootfs ($(du -sh "$rootfs" | cut -f1), $(find "$rootfs" | wc -l) entries: $(
		. "$rootfs/etc/os-release" && echo "$PRETTY_NAME"), $(chroot "$rootfs" python3 --version))"
	echo "  layer 2: images/pyhello/tree: $(cd "$top/images/pyhello/tree" && find . -type f | cut -c3-)"
	ln -s "$top/images/pyhello/tree" app
	layers=("$rootfs" app/)
	settings+=(--entrypoint '["python3","/srv/hello/server.py"]')
	selftest=(python3 /srv/hello/server.py --self-test)
fi
build() {
	SOURCE_DATE_EPOCH=1700000000 run "$RAMP" build "${layers[@]}" -o "$1" "${settings[@]}" \
		--env "HELLO_VERSION=$2" "${@:3}"
}
build v1.oci.tar 1.0

say "Test it inside the image itself, with the runtime the hosts use; passing attaches a test record"
run "$RAMP" test --store "$w/test-store" v1.oci.tar -- "${selftest[@]}"
"$RAMP" inspect v1.oci.tar | sed -n '/^test records/,$p'

say "Push the image and its test record to the registry"
d1=$(run "$RAMP" push v1.oci.tar "$reg/hello:1.0")
echo "$d1"

say "The fleet before: nothing deployed yet"
fleet_status before-v1 || true

# ---- the rollouts ----

# rollout IMAGE [OPTIONS]: exponential waves, each host healthy for $bake before the next wave;
# the tag is resolved to a digest once, and that digest needs a passing test record
rollout() {
	local rc=0 f
	run "$RAMP" rollout --app web --image "$1" --fleet fleet.txt --token-file token --state-dir "$w/state" \
		--bake "$bake" --poll 200ms --health-deadline 2m --revert-deadline 2m "${@:2}" || rc=$?
	for f in state/rollouts/*.jsonl; do
		grep -qxF "$f" journals 2>/dev/null && continue
		echo "$f" >>journals
		json_out "$f"
	done
	return "$rc"
}

# rollout_ends IMAGE STATUS MEANING [OPTIONS]: a rollout the story expects to end with STATUS
rollout_ends() {
	local rc=0
	rollout "$1" "${@:4}" || rc=$?
	echo "ramp rollout exited with status $rc ($3)"
	[ "$rc" = "$2" ] || { echo "demo: expected the rollout of $1 to end with status $2 ($3)" >&2; exit 1; }
}

# the waves of the default plan: 1, 2, 4, ... and what is left
waves=() left=$hosts n=1
while [ "$left" -gt 0 ]; do
	waves+=($((n < left ? n : left)))
	left=$((left - waves[-1])) n=$((n * 2))
done
waves_text=$(IFS=,; echo "${waves[*]}" | sed 's/,\([0-9]*\)$/ and \1/; s/,/, /g')

say "Roll 1.0 out: the tag is pinned to its digest, whose test record is checked; then waves of $waves_text hosts, each healthy for $bake before the next"
rollout "$reg/hello:1.0"

say "Every host serves 1.0 now"
for i in $(seq "$hosts"); do
	port=$(awk -v h="h$i" '$1 == h {sub("app_port=", "", $4); print $4}' fleet.txt)
	printf '  h%s  %s' "$i" "$(curl -s -m 2 "http://127.0.0.1:$port/")"
	echo
done
fleet_status after-v1

# ---- 2.0-rc1: a release that cannot start, caught by its test ----

say "Build hello 2.0-rc1, a release that crashes on start: its test fails, so it gets no test record"
build rc1.oci.tar 2.0-rc1 --env HELLO_MODE=crash
rc=0
run "$RAMP" test --store "$w/test-store" rc1.oci.tar -- "${selftest[@]}" || rc=$?
[ "$rc" != 0 ] || { echo "demo: the test of 2.0-rc1 passed" >&2; exit 1; }
run "$RAMP" push rc1.oci.tar "$reg/hello:2.0-rc1"

say "Pushed all the same, its rollout is refused before anything is deployed"
rollout_ends "$reg/hello:2.0-rc1" 2 "2: refused, nothing was deployed"

# ---- 2.0: a bad release that its test does not catch ----

say "Build hello 2.0, a bad release: it passes its test but its health check fails 1 s after it starts"
build v2.oci.tar 2.0 --env HELLO_FAIL_AFTER=1
run "$RAMP" test --store "$w/test-store" v2.oci.tar -- "${selftest[@]}"
d2=$(run "$RAMP" push v2.oci.tar "$reg/hello:2.0")
echo "$d2"

say "Roll 2.0 out: the first host goes unhealthy while it bakes, and the rollout puts it back"
rollout_ends "$reg/hello:2.0" 1 "1: rolled back, every converted host is on its previous version"

say "The fleet after: every host on 1.0 again"
fleet_status after-v2

# ---- 2.1: healthy, but failing some requests: the canary analysis ----

if [ "$app" = hello ]; then
	say "Users now: every host gets requests (curl, one connection each), and its rampd reads the app's /metrics"
	for port in $(sed -n 's/.*app_port=\([0-9]*\).*/\1/p' fleet.txt); do
		(while :; do
			for _ in $(seq 200); do printf 'url = "http://127.0.0.1:%s/"\noutput = /dev/null\n' "$port"; done |
				curl -s -Z --parallel-max 4 -K - || true
		done) </dev/null >/dev/null 2>&1 &
		traffic+=($!)
		disown "$!" # stopped by cleanup, without a "Killed" line
	done
	echo "  the analysis: the 5xx ratio and the latency histogram, converted hosts against the others"
	cp "$top/images/hello/analysis.json" analysis.json
	sed 's/^/  /' analysis.json

	say "Build hello 2.1: it passes its test and every health check, but fails 5% of its requests"
	build v21.oci.tar 2.1 --env HELLO_ERROR_RATE=0.05
	run "$RAMP" test --store "$w/test-store" v21.oci.tar -- "${selftest[@]}"
	run "$RAMP" push v21.oci.tar "$reg/hello:2.1" >/dev/null

	say "Roll 2.1 out with --analysis: the converted host serves more errors than the rest, so it is put back"
	rollout_ends "$reg/hello:2.1" 1 "1: rolled back by the canary analysis" --analysis analysis.json --bake-max 1m

	say "Build hello 2.2, a good release, and roll it out under the same traffic: each wave passes the analysis"
	build v22.oci.tar 2.2
	run "$RAMP" test --store "$w/test-store" v22.oci.tar -- "${selftest[@]}"
	run "$RAMP" push v22.oci.tar "$reg/hello:2.2" >/dev/null
	rollout_ends "$reg/hello:2.2" 0 "0: done, every wave judged no worse" --analysis analysis.json --bake-max 1m
fi

say "Done in $SECONDS s: stopping the hosts and the registry, removing $w"
