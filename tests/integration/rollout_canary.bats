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
# $output) opened in Chromium: no console message; per metric of the analysis
# events a chart named for it, its points, the tolerance of its last
# judgement and, when it was decided, the decision's marker and verdict; per
# wave the analysis' verdict
charts() {
	local p=$1 m n want tol shown
	open_pages --count '#metrics figure' --count '#metrics path.decision' --count '#metrics polyline.conv' \
		--count '#metrics polyline.base' --count '#metrics path.band' --text '#metrics figcaption' \
		--text '#decisions' --text '#status' "$R/$p.html"
	clean "$p"
	local names
	names=$(events analysis | jq -r '.metrics[].name' | sort -u)
	n=$(wc -l <<<"$names")
	[ "$n" = 2 ]
	[ "$(count "$p" '#metrics figure')" = "$n" ]
	[ "$(count "$p" '#metrics polyline.conv')" = "$n" ]
	[ "$(count "$p" '#metrics polyline.base')" = "$n" ]
	[ "$(count "$p" '#metrics path.band')" = "$n" ]
	# a marker per metric that was decided
	want=$(events analysis | jq -r '.metrics[] | select(.verdict != "continue") | .name' | sort -u | wc -l)
	[ "$(count "$p" '#metrics path.decision')" = "$want" ]
	for m in $names; do
		dom "$p" | grep -qF "<svg viewBox=\"0 0 600 160\" width=\"600\" role=\"img\" aria-label=\"metric $m\">"
		shown=$(text "$p" '#metrics figcaption' | grep "^$m: ")
		# the tolerance of its last judgement (allowed - baseline), as %g prints it
		tol=$(events analysis | jq -r --arg m "$m" '.metrics[] | select(.name == $m and .allowed != null
			and .baseline != null) | .allowed - .baseline' | tail -1)
		[[ "$shown" == "$m: tolerance ±$(printf %g "$tol");"* ]] || { echo "$shown, tolerance $tol"; false; }
		# every judgement with both values is a point
		want=$(events analysis | jq -r --arg m "$m" '.metrics[] | select(.name == $m and .converted != null
			and .baseline != null) | .name' | wc -l)
		[[ "$shown" == *"($want points)" ]] || { echo "$shown, $want points"; false; }
		# its decision, when it had one: the last verdict that was not "continue", and its moment
		want=$(events analysis | jq -r --arg m "$m" '.metrics[] | select(.name == $m and .verdict != "continue")
			| .verdict' | tail -1)
		if [ -n "$want" ]; then
			[[ "$shown" =~ "decision: $want +"[0-9hms.]+" (" ]] || { echo "$shown, decision $want"; false; }
		else
			[[ "$shown" == *"decision: none yet"* ]] || { echo "$shown"; false; }
		fi
	done
	# each wave's analysis and its verdict among the decisions
	for w in $(events analysis | jq -r '"\(.wave):\(.verdict)"'); do
		[[ "$(text "$p" '#decisions')" == *"analysis of wave ${w%%:*}: ${w#*:}"* ]] || { echo "wave $w"; false; }
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
	[[ "$(text canary-bad '#metrics figcaption' | grep '^errors: ')" == *"decision: fail +"* ]]
	w=$(events analysis | jq -r .wave | tail -1)
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
	[ "$(text canary-good '#metrics figcaption' | grep -c 'decision: pass +')" = 2 ]
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
