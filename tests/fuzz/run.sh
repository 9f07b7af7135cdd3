#!/usr/bin/env bash
# tests/fuzz/run.sh: runs the libFuzzer targets (make fuzz), adds what they
# found to the committed corpora (make fuzz-merge), measures the line coverage
# the corpora reach (make fuzz-coverage).
#
# usage: tests/fuzz/run.sh [--merge|--coverage] BUILD_DIR SECONDS TARGET...
#
# Each target runs for SECONDS at nice 19 (the machine is shared), on a
# working corpus BUILD_DIR/corpus/NAME that starts from the committed one,
# tests/fuzz/corpus/NAME, with tests/fuzz/NAME.dict when there is one.
# Findings are written to BUILD_DIR/artifacts/NAME-*; the last statistics
# line of each run (executions, coverage) is appended to BUILD_DIR/stats.txt.
# The extraction targets write their scratch trees under FUZZ_TMPDIR
# (default /dev/shm: many small files, no disk).
# --merge adds to the committed corpus the inputs of the working corpus
# that reach coverage it does not (libFuzzer -merge=1).
# --coverage replays both corpora with the coverage builds of BUILD_DIR
# (make fuzz-coverage) and prints the line coverage of the target's own
# sources (appended to BUILD_DIR/coverage.txt).
set -u
mode=fuzz
case "${1:-}" in --merge | --coverage) mode=${1#--}; shift ;; esac
out=$1 seconds=$2
shift 2
src=$(cd "$(dirname "$0")" && pwd)
status=0
export TMPDIR=${FUZZ_TMPDIR:-/dev/shm}
[ "$mode" = coverage ] || mkdir -p "$out/artifacts" "$out/logs"

# the sources each target is about
sources() {
	case $1 in
	reference) echo image/reference.c image/digest.c ;;
	oci) echo image/oci.c lib/json.c ;;
	record) echo image/record_doc.c ;;
	dsse) echo image/dsse.c lib/base64.c image/key.c ;;
	statement) echo image/record_doc.c image/dsse.c ;;
	trust_policy) echo image/trust.c image/key.c ;;
	settings) echo image/settings.c ;;
	registry) echo image/registry.c image/registry_auth.c lib/http.c image/push.c ;;
	creds) echo image/creds.c lib/base64.c ;;
	app_state) echo runtime/app_state.c ;;
	user) echo runtime/container_user.c ;;
	unpack) echo runtime/unpack.c ;;
	archive) echo image/archive.c image/image.c image/layout.c image/verify.c image/push.c ;;
	api) echo runtime/rampd/api_server.c orchestrator/hostapi.c ;;
	host_reply) echo orchestrator/hostapi.c ;;
	promquery) echo orchestrator/promquery.c ;;
	rampd_config) echo runtime/rampd/config.c ;;
	fleet) echo orchestrator/fleet.c ;;
	journal) echo orchestrator/journal.c ;;
	term) echo lib/term.c ;;
	applog) echo runtime/rampd/applog.c ;;
	promtext) echo runtime/rampd/promtext.c ;;
	html) echo orchestrator/html.c orchestrator/html_events.c ;;
	esac
}

coverage() {
	local t=$1 bin="$out/replay_$t" prof="$out/$t.profdata"
	[ -x "$bin" ] || { echo "fuzz: no coverage build for $t" >&2; return 1; }
	LLVM_PROFILE_FILE="$out/$t.profraw" "$bin" "$src/corpus/$t" $(ls -d "$fuzz_out/corpus/$t" 2>/dev/null) \
		>/dev/null 2>"$out/$t.replay.log" || { tail -n 5 "$out/$t.replay.log"; return 1; }
	llvm-profdata merge -o "$prof" "$out/$t.profraw" || return 1
	# the TOTAL row: regions, missed, cover, functions, missed, cover, lines, missed, cover, ...
	for f in $(sources "$t"); do
		llvm-cov report "$bin" -instr-profile="$prof" "$f" |
			awk -v t="$t" -v f="$f" '$1 == "TOTAL" { printf "%s %s lines %s (%d of %d)\n", t, f, $10, $8 - $9, $8 }'
	done | tee -a "$out/coverage.txt"
}

fuzz_out=${FUZZ_OUT:-build/fuzz}
for t in "$@"; do
	if [ "$mode" = coverage ]; then
		coverage "$t" || status=1
		continue
	fi
	bin="$out/fuzz_$t" seeds="$src/corpus/$t" work="$out/corpus/$t"
	[ -x "$bin" ] || { echo "fuzz: no target $t" >&2; status=1; continue; }
	mkdir -p "$work" "$seeds"
	opts=(-rss_limit_mb=2048 -timeout=30 -print_final_stats=1 -artifact_prefix="$out/artifacts/$t-")
	[ -f "$src/$t.dict" ] && opts+=(-dict="$src/$t.dict")
	if [ "$mode" = merge ]; then
		n=$(ls "$seeds" | wc -l)
		if nice -n 19 "$bin" "${opts[@]}" -merge=1 "$seeds" "$work" >"$out/logs/$t-merge.log" 2>&1; then
			echo "== merge: $t: $n committed, $(($(ls "$seeds" | wc -l) - n)) added from $(ls "$work" | wc -l) found"
		else
			tail -n 20 "$out/logs/$t-merge.log"
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
