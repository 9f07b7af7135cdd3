#!/usr/bin/env bash
# tests/mutants/run.sh: applies each check-removal kept in tests/mutants/NAME.patch
# in turn, rebuilds, runs the tests its "Test:" lines name, and reports whether
# they caught it (failed) or it survived; the tree is restored after each.
# A patch starts with
#   Check: ROW[, ROW]: the safety check the patch removes (ROW: its docs/SECURITY.md row)
#   Test: a shell command, run from the tree's top with the variables of make check
#   Test: ... (one line per test that must catch it)
# then a blank line and the diff. A patch is caught when every Test: command fails;
# each row names the tests and the patch (`mutant NAME`), tests/lib/check_catalogue.py
# checks they agree. Ends with "N caught, N survived"; exits 1 when one survived
# (or did not apply: the code moved, the patch needs renewing).
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
	mapfile -t tests < <(sed -n 's/^Test: //p' "$p")
	files=$(sed -n 's|^+++ b/||p' "$p")
	if ! git diff --quiet -- $files || ! git apply --check "$p" 2>"$log"; then
		echo "NOT APPLIED $n ($check): $(head -1 "$log")$(git diff --quiet -- $files || echo "uncommitted changes in $files")"
		survived=$((survived + 1))
		continue
	fi
	git apply "$p"
	# RAMP_MUTANT_BUILD: the test programs to rebuild too (make mutants passes them)
	if ! make -j2 --no-print-directory all ${RAMP_MUTANT_BUILD:-} >"$log" 2>&1; then
		echo "NOT BUILT $n ($check): $(grep -m1 'error' "$log") (the patch needs renewing)"
		survived=$((survived + 1))
	else
		passed=()
		for t in "${tests[@]}"; do
			bash -c "$t" >"$log" 2>&1 && passed+=("$t")
		done
		if [ ${#tests[@]} -eq 0 ] || [ ${#passed[@]} -gt 0 ]; then
			echo "SURVIVED  $n ($check): ${passed[*]:-no Test: line} passed"
			survived=$((survived + 1))
		else
			echo "CAUGHT    $n ($check) by each of: ${tests[*]}"
			caught=$((caught + 1))
		fi
	fi
	git apply -R "$p"
done
# the tree as it was, built again
make -j2 --no-print-directory all ${RAMP_MUTANT_BUILD:-} >/dev/null 2>&1
echo "$caught caught, $survived survived"
[ "$survived" -eq 0 ]
