#!/usr/bin/env bats
bats_require_minimum_version 1.5.0
# rollout_canary.bats: `ramp rollout --analysis FILE` against 4 real rampd
# hosts running the demo app (images/hello with --metrics-http), under
# traffic sent to every host by curl: a release that stays healthy but fails
# 5% of its requests (HELLO_ERROR_RATE) is caught by the canary analysis in
# wave 1 or 2 and reverted; a good release under the same traffic passes
# every wave, the last against the hosts' own window on the old version.
# The analysis file (images/hello/analysis.json) is the default set with
# wider tolerances (1 percentage point of errors, 2 of slow requests): this
# machine's traffic (a few hundred requests a second) decides within seconds
# then; the default's tighter tolerances need more requests to pass a good
# release.

REAL_HOSTS=4
REAL_APP_EXTRA=', "metrics": {"interval": "500ms", "timeout": "1s"}'
load rollout_real_helpers
load html_helpers

setup_file() {
	export REAL_APP_EXTRA HTML_DIR
	real_setup_file
	HTML_DIR=$R/html
	export V1 V2 VBAD
	local m=(--metrics-http 8080/metrics --env HELLO_ERROR_RATE=0.005)
	V1=$(real_image c1 c1 --tested "${m[@]}")
	V2=$(real_image c2 c2 --tested "${m[@]}")
	VBAD=$(real_image cbad cbad --tested --metrics-http 8080/metrics --env HELLO_ERROR_RATE=0.05)
	rollout_real --image "$V1" --bake 0 >/dev/null
	real_traffic_start
}

teardown_file() {
	real_traffic_stop
	real_teardown_file
}

canary() {
	rollout_real --analysis "$BATS_TEST_DIRNAME/../../images/hello/analysis.json" --bake 1s --bake-max 90s --on-inconclusive fail "$@"
}

# charts NAME: the report NAME.html (of the rollout whose events are in
# $output) opened in Chromium: no console message; per wave analysed and
# metric a chart named for both, with as many judgements as the wave's
# series event of it has points (the deciding one last: its ms is the
# analysis'), the converted, baseline and allowed lines where the series has
# such values, the tolerated band, and the decision's marker and verdict
charts() {
	local p=$1 w m v n want cap verdict
	open_pages --count '#metrics figure.chart' --count '#metrics g.marker' --count '#metrics path.conv[d^=M]' \
		--count '#metrics path.base[d^=M]' --count '#metrics path.allowed[d^=M]' --count '#metrics path.band' \
		--text '#metrics figcaption' --text '#metrics svg title' --text '#decisions' --text '#status' "$R/$p.html"
	clean "$p"
	keep_shots
	# the series: the deciding judgement is the last point of each
	[ "$(events series | wc -l)" -ge 1 ]
	for s in $(events series | jq -c '{wave, metric, last: .points[-1][0]}'); do
		want=$(events analysis | jq --argjson w "$(jq .wave <<<"$s")" 'select(.wave == $w) | .ms')
		[ "$(jq .last <<<"$s")" = "$want" ] || { echo "$s, decided at $want"; false; }
	done
	# a chart per wave and metric of the analysis events, decided, with its marker
	n=$(events analysis | jq -c '.metrics[]' | wc -l)
	[ "$(count "$p" '#metrics figure.chart')" = "$n" ]
	[ "$(count "$p" '#metrics g.marker')" = "$n" ]
	# the lines: a converted and a baseline per chart with such a value (or the legend's), the band
	local with_conv with_band
	with_conv=$(events series | jq -s '[.[] | select([.points[][1]] | any(. != null))] | length')
	with_band=$(events series | jq -s '[.[] | select([.points[] | select(.[2] != null and .[3] != null)] | length > 0)] | length')
	[ "$(count "$p" '#metrics path.conv[d^=M]')" = $((n + with_conv)) ]
	[ "$(count "$p" '#metrics path.band')" -ge "$with_band" ]
	[ "$with_band" -ge 1 ]
	for a in $(events analysis | jq -c '{wave, verdict, m: [.metrics[] | {name, verdict}]}'); do
		w=$(jq .wave <<<"$a")
		for mv in $(jq -r '.m[] | "\(.name)=\(.verdict)"' <<<"$a"); do
			m=${mv%%=*} v=${mv#*=}
			dom "$p" | grep -qF "<figure class=\"chart\" data-wave=\"$w\" data-metric=\"$m\"><svg viewBox=\"0 0 600 180\"" ||
				{ echo "no chart of $m in wave $w"; false; }
			# judgements: the series' points (a metric never judged: the analysis' one)
			want=$(events series | jq --argjson w "$w" --arg m "$m" 'select(.wave == $w and .metric == $m) | .points | length')
			[ -n "$want" ] || want=1
			verdict=$v
			[ "$v" != continue ] || verdict="undecided (wave: $(jq -r .verdict <<<"$a"))"
			cap=$(text "$p" '#metrics figcaption' | grep -F "wave $w · $m: ")
			[[ "$cap" == "wave $w · $m: $verdict at +"*" ($want judgement"* ]] || { echo "$cap; want $verdict, $want"; false; }
			# its accessible name says the same, and the line styles
			text "$p" '#metrics svg title' | grep -F "$m in wave $w: the converted hosts (solid line) against the baseline (dashed) and the allowed bound (dotted), $want judgement" | grep -qF "decision: $verdict at +" ||
				{ echo "title of $m in wave $w"; false; }
		done
		# the wave's analysis and its verdict among the decisions
		[[ "$(text "$p" '#decisions')" == *"analysis of wave $w: $(jq -r .verdict <<<"$a")"* ]] || { echo "wave $w"; false; }
	done
}

@test "canary: 5% of requests failing, every health check green: caught in wave 1 or 2, reverted" {
	run --separate-stderr canary --image "$VBAD" --html "$R/canary-bad.html"
	[ "$status" -eq 1 ] || { echo "$output $stderr"; false; }
	a=$(events analysis | tail -1)
	[ "$(jq -r .verdict <<<"$a")" = fail ] || { echo "$a"; false; }
	[ "$(jq -r .wave <<<"$a")" -le 2 ]
	[ "$(jq -r '.metrics[] | select(.name == "errors") | .verdict' <<<"$a")" = fail ]
	[ "$(jq -r '.metrics[] | select(.name == "errors") | .converted > .baseline' <<<"$a")" = true ]
	[[ "$(events failure | jq -r .reason)" == "canary analysis: errors: "* ]]
	[[ "$stderr" == *"METRIC"*"CONVERTED"*"BASELINE"*"errors"*"fail"* ]]
	[ "$(events end | jq -r .result)" = rolled_back ]
	fleet_on "$V1" c1
	# the journal keeps the judgement
	id=$(events start | jq -r .rollout)
	run "$RAMP_BIN" rollout show "$id" --state-dir "$R/state"
	[[ "$output" == *"analysis    wave "*": fail after"* ]]
	# the report: the charts, the errors' fail among them; the wave that failed
	output=$(cat "$R/state/rollouts/$id.jsonl")
	charts canary-bad
	[ "$(text canary-bad '#status')" = rolled_back ]
	w=$(events analysis | jq -r .wave | tail -1)
	[[ "$(text canary-bad '#metrics figcaption' | grep "^wave $w · errors: ")" == *"errors: fail at +"* ]]
	[ "$(dom canary-bad | grep -o 'data-verdict="[^"]*"' | sed -n "${w}p")" = 'data-verdict="failed"' ]
}

@test "canary: a release as good as the old one passes every wave under the same traffic" {
	run --separate-stderr canary --image "$V2" --html "$R/canary-good.html"
	[ "$status" -eq 0 ] || { echo "$output $stderr"; false; }
	[ "$(events analysis | jq -r .verdict | tr '\n' ' ')" = "pass pass pass " ]
	[ "$(events analysis | jq -r .baseline | tail -1)" = historical ]
	fleet_on "$V2" c2
	# the report: every metric passed, every wave too
	charts canary-good
	[ "$(text canary-good '#status')" = done ]
	[ "$(text canary-good '#metrics figcaption' | grep -c ': pass at +')" = 6 ]
	[ "$(dom canary-good | grep -o 'data-verdict="[^"]*"' | sort -u)" = 'data-verdict="passed"' ]
}

@test "canary: --max-error-ratio and --max-slow-ratio make the analysis without a file" {
	run --separate-stderr rollout_real --max-slow-ratio 5% --image "$VBAD"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *'--max-slow-ratio: "5%": expected a share (0.01), a relative increase (+50%)'* ]] || { echo "$stderr"; false; }
	run --separate-stderr rollout_real --max-error-ratio 1.5 --image "$VBAD"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *'--max-error-ratio: "1.5": a share is below 1'* ]] || { echo "$stderr"; false; }
	[ -z "$output" ]
	run --separate-stderr rollout_real --max-error-ratio 0.01,+100% --max-slow-ratio 0.02,+100% --bake 1s \
		--bake-max 90s --on-inconclusive fail --image "$VBAD"
	[ "$status" -eq 1 ] || { echo "$output $stderr"; false; }
	a=$(events analysis | tail -1)
	[ "$(jq -r .verdict <<<"$a")" = fail ] || { echo "$a"; false; }
	[ "$(jq -r .wave <<<"$a")" -le 2 ]
	[ "$(jq -r '[.metrics[].name] | join(",")' <<<"$a")" = errors,latency ]
	[ "$(jq -r '.metrics[] | select(.name == "errors") | "\(.verdict) \(.toleranceAbs) \(.toleranceRel)"' <<<"$a")" = "fail 0.01 1" ]
	# the journal keeps the analysis the flags made, for --resume
	[ "$(events start | jq -r .options.analysis | jq -r '.metrics[0].tolerance_abs')" = 0.01 ]
	fleet_on "$V2" c2
}
