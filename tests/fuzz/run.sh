#!/usr/bin/env bash
# tests/fuzz/run.sh: runs the libFuzzer targets (make fuzz) or shrinks their
# corpora (make fuzz-merge).
#
# usage: tests/fuzz/run.sh [--merge] BUILD_DIR SECONDS TARGET...
#
# Each target runs for SECONDS at nice 19 (the machine is shared), on a
# working corpus BUILD_DIR/corpus/NAME that starts from the committed one,
# tests/fuzz/corpus/NAME, with tests/fuzz/NAME.dict when there is one.
# Findings are written to BUILD_DIR/artifacts/NAME-*; the last statistics
# line of each run (executions, coverage) is appended to BUILD_DIR/stats.txt.
# The extraction targets write their scratch trees under FUZZ_TMPDIR
# (default /dev/shm: many small files, no disk).
# --merge replaces the committed corpus by the smallest subset of it and of
# the working corpus that keeps the coverage (libFuzzer -merge=1).
set -u
merge=0
[ "${1:-}" = --merge ] && { merge=1; shift; }
out=$1 seconds=$2
shift 2
src=$(cd "$(dirname "$0")" && pwd)
status=0
export TMPDIR=${FUZZ_TMPDIR:-/dev/shm}
mkdir -p "$out/artifacts" "$out/logs"

for t in "$@"; do
	bin="$out/fuzz_$t" seeds="$src/corpus/$t" work="$out/corpus/$t"
	[ -x "$bin" ] || { echo "fuzz: no target $t" >&2; status=1; continue; }
	mkdir -p "$work" "$seeds"
	opts=(-rss_limit_mb=2048 -timeout=30 -print_final_stats=1 -artifact_prefix="$out/artifacts/$t-")
	[ -f "$src/$t.dict" ] && opts+=(-dict="$src/$t.dict")
	if [ "$merge" = 1 ]; then
		new=$(mktemp -d "$out/merge-$t-XXXXXX")
		echo "== merge: $t ($(ls "$seeds" | wc -l) committed, $(ls "$work" | wc -l) found)"
		if nice -n 19 "$bin" "${opts[@]}" -merge=1 "$new" "$seeds" "$work" >"$out/logs/$t-merge.log" 2>&1; then
			rm -rf "$seeds" && mv "$new" "$seeds" && chmod 755 "$seeds"
			echo "   $(ls "$seeds" | wc -l) kept in tests/fuzz/corpus/$t"
		else
			tail -n 20 "$out/logs/$t-merge.log"
			rm -rf "$new"
			status=1
		fi
		continue
	fi
	echo "== fuzz: $t for ${seconds}s"
	log="$out/logs/$t.log"
	/usr/bin/time -f '%U %S' -o "$out/logs/$t.time" \
		nice -n 19 "$bin" "${opts[@]}" -max_total_time="$seconds" "$work" "$seeds" >"$log" 2>&1
	rc=$?
	last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
	execs=$(sed -n 's/^stat::number_of_executed_units: //p' "$log")
	cpu=$(tail -n 1 "$out/logs/$t.time" 2>/dev/null | awk '{printf "%d", $1 + $2}')
	echo "   $last (${cpu:-?} CPU seconds)"
	printf '%s %s seconds=%s cpu=%s execs=%s %s\n' "$(date -u +%FT%TZ)" "$t" "$seconds" "${cpu:-?}" "${execs:-?}" \
		"$last" >>"$out/stats.txt"
	if [ "$rc" -ne 0 ]; then
		echo "   FINDING (exit $rc): see $log and $out/artifacts/$t-*"
		grep -E 'ERROR|invariant|SUMMARY' "$log" | head -n 5 | sed 's/^/   /'
		status=1
	fi
done
exit $status
