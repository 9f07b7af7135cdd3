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
	echo "== unit: $name"
	out="$log/$name.out"
	${RAMP_TEST_WRAPPER:-} "$u" >"$out" 2>&1
	rc=$?
	[ "${RAMP_TEST_VERBOSE:-0}" = 1 ] && cat "$out"
	grep -E '^(not ok|# )' "$out" | grep -v '^# ok' | head -40
	tally "$out" "$rc" "$name"
done

for b in "${bats_files[@]}"; do
	[ -e "$b" ] || continue
	name=$(basename "$b")
	echo "== integration: $name"
	out="$log/$name.out"
	t0=$SECONDS
	bats --tap "$b" >"$out" 2>&1
	rc=$?
	echo "   ($((SECONDS - t0)) s)" # where the suite's time goes
	# show the failures with their diagnostics, the rest stays quiet
	awk '/^not ok/{p=1} /^ok /{p=0} p' "$out" | head -80
	tally "$out" "$rc" "$name"
done

leftovers
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
