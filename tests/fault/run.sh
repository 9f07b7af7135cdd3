#!/usr/bin/env bash
# tests/fault/run.sh: `make fault`: runs every fault scenario (tests/fault/*.sh
# but this one and lib.sh; FAULT_ONLY=regex for some), one after the other,
# each with its own rounds (FAULT_ROUNDS overrides them all), keeps each one's
# output in build/fault/NAME.log and ends with
#   N scenarios passed, N failed (R rounds)
# exiting non-zero when one failed. docs/FAULTS.md describes the scenarios.
set -u
here=$(cd "$(dirname "$0")" && pwd)
out=$here/../../build/fault
mkdir -p "$out"
passed=0 failed=0 rounds=0 lines=()
for s in "$here"/*.sh; do
	name=$(basename "$s" .sh)
	case $name in run | lib) continue ;; esac
	[ -n "${FAULT_ONLY:-}" ] && ! [[ $name =~ $FAULT_ONLY ]] && continue
	echo "== fault: $name"
	t0=$SECONDS
	"$s" 2>&1 | tee "$out/$name.log" | grep -E --line-buffered '^(PASS|FAIL|  )|: round [0-9]*0:'
	rc=${PIPESTATUS[0]}
	r=$(grep -cE '^[a-z_]+: round [0-9]+:' "$out/$name.log")
	rounds=$((rounds + r))
	if [ "$rc" = 0 ] && grep -q '^PASS ' "$out/$name.log"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		grep -q '^FAIL ' "$out/$name.log" || echo "FAIL $name: exited $rc without a result line"
	fi
	lines+=("$(grep -E '^(PASS|FAIL) ' "$out/$name.log" | tail -1 || echo "FAIL $name") [$((SECONDS - t0)) s]")
done
echo
printf '%s\n' "${lines[@]}"
echo "$passed scenarios passed, $failed failed ($rounds rounds)"
[ "$failed" = 0 ]
