#!/usr/bin/env bash
# tests/run.sh: runs the unit test programs (cmocka, TAP output) and the bats
# integration files, counts every TAP result line, and ends with the one line
#   N passed, N failed, N skipped
# A program that crashes or exits non-zero without a failing result counts as
# one failure, so nothing that breaks can pass silently; so does anything the
# tests leave on the machine (ramp's default store, network namespaces).
#
# usage: tests/run.sh [--sanitize] UNIT_BIN... -- BATS_FILE...
# RAMP_TEST_WRAPPER runs each unit program through a command (make valgrind).
set -u
sanitize=0
[ "${1:-}" = --sanitize ] && { sanitize=1; shift; }
units=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do units+=("$1"); shift; done
[ "${1:-}" = -- ] && shift
bats_files=("$@")

if [ -n "${RAMP_TEST_FILTER:-}" ]; then
	units=($(printf '%s\n' "${units[@]}" | grep -E "$RAMP_TEST_FILTER" || true))
	bats_files=($(printf '%s\n' "${bats_files[@]}" | grep -E "$RAMP_TEST_FILTER" || true))
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=86}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export CMOCKA_MESSAGE_OUTPUT=TAP
export RAMP_SANITIZE=$sanitize

pass=0 fail=0 skip=0
log=$(mktemp -d /tmp/ramp-tests-XXXXXX)
trap 'rm -rf "$log"' EXIT

# What a test must never leave on the machine: ramp's default store of
# `ramp run`/`ramp test` (a test forgot --store), network namespaces and the
# /run/netns mount that `ip netns add` makes once and never removes. Each
# found after the run counts as a failure. (Another checkout's tests running
# at the same time can trip this too: the message names what to look for.)
CLI_STORE=/var/cache/ramp
touch "$log/start"
store_before=$([ -e "$CLI_STORE" ] && echo yes)
netns_before=$(ls -A /run/netns 2>/dev/null | sort)
netns_mount_before=$(mountpoint -q /run/netns 2>/dev/null && echo yes)
leftovers() {
	local new
	if [ -e "$CLI_STORE" ] && { [ -z "$store_before" ] || [ -n "$(find "$CLI_STORE" -newer "$log/start" -print -quit)" ]; }; then
		echo "FAIL: the tests wrote to $CLI_STORE, ramp's default store: a test ran 'ramp run' or 'ramp test' without --store"
		fail=$((fail + 1))
	fi
	new=$(comm -13 <(echo "$netns_before") <(ls -A /run/netns 2>/dev/null | sort) | tr '\n' ' ')
	if [ -n "${new// /}" ]; then
		echo "FAIL: the tests left network namespaces in /run/netns: $new"
		fail=$((fail + 1))
	fi
	if [ -z "$netns_mount_before" ] && mountpoint -q /run/netns 2>/dev/null; then
		echo "FAIL: the tests left /run/netns mounted ('ip netns add'; hold a namespace with a process instead)"
		fail=$((fail + 1))
	fi
}

# count TAP lines of one program's output; $2 is its exit status
tally() {
	local out=$1 rc=$2 name=$3 p f s
	p=$(grep -cE '^ok [0-9]+' "$out" | head -1)
	s=$(grep -cE '^ok [0-9]+.*# (skip|SKIP)' "$out" | head -1)
	f=$(grep -cE '^not ok [0-9]+' "$out" | head -1)
	p=$((p - s))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL: $name exited with status $rc without a failing test (crash?); its last lines:"
		tail -n 30 "$out" | sed 's/^/  /'
		f=1
	fi
	grep -E '^not ok' "$out" | sed "s|^|  $name: |"
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
}

for u in "${units[@]}"; do
	name=$(basename "$u")
	out="$log/$name.out"
	t0=$SECONDS
	${RAMP_TEST_WRAPPER:-} "$u" >"$out" 2>&1
	rc=$?
	echo "== unit: $name ($((SECONDS - t0)) s)"
	echo "$((SECONDS - t0)) $name" >>"$log/times"
	[ "${RAMP_TEST_VERBOSE:-0}" = 1 ] && cat "$out"
	grep -E '^(not ok|# )' "$out" | grep -v '^# ok' | head -40
	tally "$out" "$rc" "$name"
done

# The integration files run in RAMP_TEST_JOBS lanes at once (default: the
# number of CPUs): most of a file's time is one process waiting on another,
# and each file starts its own registry, hosts and temp dirs on free ports.
# The files measured slowest start first so no lane ends long after the rest;
# each file's result is printed whole when it ends.
SLOW_FIRST="image_limits registry_hostile rollout_real demo rampd_deploy rollout_canary rollout rampd_crash fault_quick"
ordered=()
for n in $SLOW_FIRST; do
	for b in "${bats_files[@]}"; do [ "$(basename "$b" .bats)" = "$n" ] && ordered+=("$b"); done
done
for b in "${bats_files[@]}"; do
	case " $SLOW_FIRST " in *" $(basename "$b" .bats) "*) ;; *) ordered+=("$b") ;; esac
done

run_bats() { # FILE OUT: the file's TAP output, then its status and seconds in OUT.rc
	local t0=$SECONDS rc
	bats --tap --timing "$1" >"$2" 2>&1
	rc=$?
	echo "$rc $((SECONDS - t0))" >"$2.rc"
}

report_bats() { # FILE OUT
	local name rc secs
	name=$(basename "$1")
	read -r rc secs <"$2.rc"
	echo "== integration: $name ($secs s)" # where the suite's time goes
	echo "$secs $name" >>"$log/times"
	# show the failures with their diagnostics, the rest stays quiet
	awk '/^not ok/{p=1} /^ok /{p=0} p' "$2" | head -80
	tally "$2" "$rc" "$name"
}

jobs_max=${RAMP_TEST_JOBS:-$(nproc)}
declare -A running=() # pid -> file
for b in "${ordered[@]}"; do
	[ -e "$b" ] || continue
	while [ "${#running[@]}" -ge "$jobs_max" ]; do
		wait -n
		for pid in "${!running[@]}"; do
			kill -0 "$pid" 2>/dev/null && continue
			wait "$pid"
			report_bats "${running[$pid]}" "$log/$(basename "${running[$pid]}").out"
			unset "running[$pid]"
		done
	done
	run_bats "$b" "$log/$(basename "$b").out" &
	running[$!]=$b
done
for pid in "${!running[@]}"; do
	wait "$pid"
	report_bats "${running[$pid]}" "$log/$(basename "${running[$pid]}").out"
done

# where the time went: the slowest files (the integration files ran in lanes)
[ -s "$log/times" ] && echo "slowest: $(sort -rn "$log/times" | head -10 | awk '{printf "%s%s %d s", (NR > 1 ? ", " : ""), $2, $1}')"
leftovers
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
