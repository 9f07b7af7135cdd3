#!/usr/bin/env bash
# tests/mutants/run.sh: applies each check-removal kept in tests/mutants/NAME.patch
# in turn, rebuilds, runs the tests its "Test:" line names, and reports whether
# they caught it (failed) or it survived; the tree is restored after each.
# A patch starts with
#   Check: the safety check the patch removes
#   Test: a shell command, run from the tree's top with the variables of make check
# then a blank line and the diff. Ends with "N caught, N survived"; exits 1 when
# one survived (or did not apply: the code moved, the patch needs renewing).
#
# usage: tests/mutants/run.sh [NAME...]     (make mutants [MUTANTS="NAME..."])
set -u
cd "$(dirname "$0")/../.."
names=("$@")
[ ${#names[@]} -gt 0 ] || names=($(ls tests/mutants/*.patch | sed 's|.*/||; s|\.patch$||'))
caught=0 survived=0
log=$(mktemp /tmp/ramp-mutants-XXXXXX)
trap 'rm -f "$log"' EXIT
for n in "${names[@]}"; do
	p=tests/mutants/$n.patch
	check=$(sed -n 's/^Check: //p' "$p" | head -1)
	test=$(sed -n 's/^Test: //p' "$p" | head -1)
	files=$(sed -n 's|^+++ b/||p' "$p")
	if ! git diff --quiet -- $files || ! git apply --check "$p" 2>"$log"; then
		echo "NOT APPLIED $n ($check): $(head -1 "$log")$(git diff --quiet -- $files || echo "uncommitted changes in $files")"
		survived=$((survived + 1))
		continue
	fi
	git apply "$p"
	# RAMP_MUTANT_BUILD: the test programs to rebuild too (make mutants passes them)
	if ! make -j2 --no-print-directory all ${RAMP_MUTANT_BUILD:-} >"$log" 2>&1; then
		echo "CAUGHT    $n ($check): it does not build"
		caught=$((caught + 1))
	elif bash -c "$test" >"$log" 2>&1; then
		echo "SURVIVED  $n ($check): $test passed"
		survived=$((survived + 1))
	else
		echo "CAUGHT    $n ($check) by: $test"
		caught=$((caught + 1))
	fi
	git apply -R "$p"
done
# the tree as it was, built again
make -j2 --no-print-directory all ${RAMP_MUTANT_BUILD:-} >/dev/null 2>&1
echo "$caught caught, $survived survived"
[ "$survived" -eq 0 ]
