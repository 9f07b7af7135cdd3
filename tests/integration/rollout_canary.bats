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

setup_file() {
	export REAL_APP_EXTRA
	real_setup_file
	export V1 V2 VBAD
	local m=(--metrics-http 8080/metrics --env HELLO_ERROR_RATE=0.005)
	V1=$(real_image c1 c1 --tested "${m[@]}")
	V2=$(real_image c2 c2 --tested "${m[@]}")
	VBAD=$(real_image cbad cbad --tested --metrics-http 8080/metrics --env HELLO_ERROR_RATE=0.05)
	rollout_real --image "$V1" --bake 0 >/dev/null
	# traffic: every host's app, one connection each, batch after batch
	local a
	: >"$R/traffic.pids"
	for a in $APP_PORTS; do
		(while :; do
			for _ in $(seq 300); do printf 'url = "http://%s/"\noutput = /dev/null\n' "$a"; done |
				curl -s -Z --parallel-max 4 -K - || true
		done) </dev/null >/dev/null 2>&1 3>&- &
		echo $! >>"$R/traffic.pids"
	done
}

teardown_file() {
	local p
	for p in $(cat "$R/traffic.pids" 2>/dev/null); do
		pkill -KILL -P "$p" 2>/dev/null || true
		kill -KILL "$p" 2>/dev/null || true
	done
	real_teardown_file
}

canary() {
	rollout_real --analysis "$BATS_TEST_DIRNAME/../../images/hello/analysis.json" --bake 1s --bake-max 90s --on-inconclusive fail "$@"
}

@test "canary: 5% of requests failing, every health check green: caught in wave 1 or 2, reverted" {
	run --separate-stderr canary --image "$VBAD"
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
}

@test "canary: a release as good as the old one passes every wave under the same traffic" {
	run --separate-stderr canary --image "$V2"
	[ "$status" -eq 0 ] || { echo "$output $stderr"; false; }
	[ "$(events analysis | jq -r .verdict | tr '\n' ' ')" = "pass pass pass " ]
	[ "$(events analysis | jq -r .baseline | tail -1)" = historical ]
	fleet_on "$V2" c2
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
