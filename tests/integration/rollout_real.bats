#!/usr/bin/env bats
bats_require_minimum_version 1.5.0
# rollout_real.bats: `ramp rollout` against real hosts: 8 rampd processes
# (h8 in its own network namespace, for link faults), a real registry, the
# demo app in good and bad versions, test records made by `ramp test`;
# also `ramp revert` and `ramp fleet status` on them.
# The hosts are started once for the file; the tests run in order and each
# starts from a fleet on v2 (ensure_v2).

load rollout_real_helpers

setup_file() {
	real_setup_file
	export V1 V2 V3 V4
	V1=$(real_image v1 v1 --tested)
	V2=$(real_image v2 v2 --tested)
	V3=$(real_image v3 v3 --env HELLO_MODE=crash)
	V4=$(real_image v4 v4 --env HELLO_FAIL_AFTER=3 --health-retries 1)
}

teardown_file() {
	real_teardown_file
}

teardown() {
	for p in ${BG_PIDS:-}; do kill -9 "$p" 2>/dev/null || true; done
	# whatever a failed test did to h8's link is undone for the next
	ip link set "$VETH" up 2>/dev/null || true
}

# the fleet on v2 with v1 kept (after the first test), whatever the test
# before left: a fleet-wide revert to v2 (every host keeps it), else a rollout
ensure_v2() {
	fleet_on "$V2" v2 2>/dev/null && return 0
	"$RAMP_BIN" revert --app web --fleet "$FLEET" --token-file "$TOKEN" --to "${V2#*@}" >/dev/null 2>&1 || true
	fleet_on "$V2" v2 2>/dev/null && return 0
	rollout_real --image "$V2" --bake 0 --takeover >/dev/null 2>&1 || true
	fleet_on "$V2" v2
}

@test "real: v1 then v2 rolled out cleanly in waves 1,2,4,1 (test records, a tag)" {
	# new hosts: nothing to return to is fine; v1 has a passing test record
	# a 100 ms bake cannot see a failure of a check every 100 ms, 3 retries: said once
	run --separate-stderr rollout_real --image "$V1" --bake 100ms
	[ "$status" -eq 0 ] || { echo "$stderr"; false; }
	[ "$(events precheck | jq -c .before)" = "[null,null,null,null,null,null,null,null]" ]
	fleet_on "$V1" v1
	[ "$(grep -c 'bake is shorter than the image' <<<"$stderr")" = 1 ]
	[[ "$stderr" == *"the 100 ms bake"*"probes every 100 ms, unhealthy after 3 failures: 300 ms); use --bake 300ms"* ]]
	host_api 1 GET /v1/apps/web
	[ "$(jq -c '[.health.intervalMs, .health.retries]' <<<"$body")" = "[100,3]" ]
	# v2 by its tag: resolved once, every host gets the digest
	run --separate-stderr rollout_real --image "$REG/hello:v2"
	[ "$status" -eq 0 ] || { echo "$stderr"; false; }
	[[ "$stderr" != *"bake is shorter"* ]] # 300 ms: long enough
	[ "$(events start | jq -r .image)" = "$V2" ]
	[ "$(events wave | jq -r '.hosts | join(" ")' | tr '\n' ,)" = "h1,h2 h3,h4 h5 h6 h7,h8," ]
	[ "$(jq -r 'select(.event == "wave" or .event == "wave_passed") | "\(.event)\(.wave)"' <<<"$output" | tr '\n' ' ')" = \
		"wave1 wave_passed1 wave2 wave_passed2 wave3 wave_passed3 wave4 wave_passed4 " ]
	[ "$(events host | jq -r 'select(.state == "baked") | .host' | sort | tr '\n' ' ')" = "h1 h2 h3 h4 h5 h6 h7 h8 " ]
	[ "$(events end | jq -r .result)" = done ]
	# the journal holds the same lines
	id=$(events start | jq -r .rollout)
	diff "$R/state/rollouts/$id.jsonl" <(printf '%s\n' "$output")
	# and the hosts agree: on v2 (serving it), this rollout's generation, v1 kept
	fleet_on "$V2" v2
	gen=$(events precheck | jq -r .generation)
	for i in $(seq 1 8); do
		host_api "$i" GET /v1/apps/web
		[ "$(jq -r .generation <<<"$body")" = "$gen" ]
		[ "$(jq -r .rollout <<<"$body")" = "$id" ]
		[ "$(jq -r '.previous[0].digest' <<<"$body")" = "${V1#*@}" ]
	done
	run "$RAMP_BIN" fleet status --fleet "$FLEET" --token-file "$TOKEN" --app web --json
	[ "$status" -eq 0 ]
	[ "$(jq -r '[.hosts[].digest] | unique | join(" ")' <<<"$output")" = "${V2#*@}" ]
}

@test "real: ramp revert puts every host back at once; fleet status shows it" {
	ensure_v2
	run --separate-stderr "$RAMP_BIN" revert --app web --fleet "$FLEET" --token-file "$TOKEN" --json
	[ "$status" -eq 0 ] || { echo "$stderr"; false; }
	[ "$(events revert | jq -r '.hosts | length')" = 8 ]
	[ "$(events end | jq -r .result)" = reverted ]
	fleet_on "$V1" v1
	run "$RAMP_BIN" fleet status --fleet "$FLEET" --token-file "$TOKEN" --app web --json
	[ "$status" -eq 0 ]
	[ "$(jq -r '[.hosts[] | "\(.digest) \(.phase) \(.healthy)"] | unique | join(",")' <<<"$output")" = "${V1#*@} healthy true" ]
	# and forward again, by digest
	run --separate-stderr "$RAMP_BIN" revert --app web --fleet "$FLEET" --token-file "$TOKEN" --to "${V2#*@}"
	[ "$status" -eq 0 ] || { echo "$stderr"; false; }
	fleet_on "$V2" v2
}

@test "real: untested image refused; a record for another platform does not count" {
	ensure_v2
	run --separate-stderr rollout_real --image "$V3"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"no passing test record for linux/"*"0 records found"* ]]
	[ "$(events end | jq -r .result)" = refused ]
	# killed in its gate (before the precheck), then resumed: the records are still required
	rollout_real_bg "$R/out" --image "$V3" --gate "[ -e $R/gate.pid ] || { sleep 30 & echo \$! >$R/gate.pid; wait; }"
	for _ in $(seq 200); do [ -s "$R/gate.pid" ] && break; sleep 0.05; done
	kill -9 "$BG"
	wait "$BG" || true
	kill "$(cat "$R/gate.pid")"
	id=$(jq -r 'select(.event == "start") | .rollout' "$R/out")
	run --separate-stderr "$RAMP_BIN" rollout --resume "$id" --state-dir "$R/state" --json
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"no passing test record for linux/"* ]]
	[ "$(events end | jq -r .result)" = refused ]
	# v2 passed its tests here, but not on the platform a ninth host reports
	"$RAMP_HELPERS/fakefleet" --hosts 1 --fleet-out "$R/fake.txt" --ready "$R/fake.ready" --app "web=$V1" \
		2>"$R/fake.log" 3>&- &
	fake=$!
	for _ in $(seq 100); do [ -s "$R/fake.ready" ] && break; sleep 0.05; done
	curl -sf -XPOST --data "h1 platform linux/riscv64" "http://127.0.0.1:$(cat "$R/fake.ready")/_fake/behave"
	{ cat "$FLEET"; sed 's/^h1 /x9 /' "$R/fake.txt"; } >"$R/fleet9.txt"
	run --separate-stderr rollout_real --image "$V1" --fleet "$R/fleet9.txt"
	kill "$fake"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"no passing test record for linux/riscv64"* ]]
	fleet_on "$V2" v2
}

@test "real: v3 crashes on start: reverted after wave 1, the fleet back on v2" {
	ensure_v2
	run --separate-stderr rollout_real --image "$V3" --allow-untested
	[ "$status" -eq 1 ] || { echo "status $status: $stderr"; false; }
	[ "$(events wave | jq -r .wave | tr '\n' ' ')" = "1 " ]
	[ "$(events failure | jq -r '"\(.host) \(.wave)"')" = "h1 1" ]
	echo "$stderr" | grep -q "h1"
	[ "$(events revert | jq -r '.hosts | join(" ")')" = h1 ]
	[ "$(events end | jq -r .result)" = rolled_back ]
	fleet_on "$V2" v2
}

@test "real: v4 healthy at first, failing after 3 s: caught in the bake, earlier waves reverted too" {
	ensure_v2
	run --separate-stderr rollout_real --image "$V4" --allow-untested --bake 1s
	[ "$status" -eq 1 ] || { echo "status $status: $stderr"; false; }
	# h1 (wave 1) passed its bake, then turned unhealthy while a later wave baked
	[ "$(events host | jq -r 'select(.host == "h1" and .state == "baked") | .host')" = h1 ]
	[ "$(events failure | jq -r '.host' | head -1)" = h1 ]
	[ "$(events failure | jq -r '.wave' | head -1)" = 1 ]
	[ "$(events wave_passed | jq -r .wave | head -1)" = 1 ]
	reverted=$(events revert | jq -r '.hosts | join(" ")')
	[[ "$reverted" == "h1 h2 h3"* ]]
	[ "$(events end | jq -r .result)" = rolled_back ]
	fleet_on "$V2" v2
}

@test "real: h8's link goes down during its wave: unreachable, stopped and reverted, h8 reconciled when back" {
	ensure_v2
	# waves of 7 and 1; back to v1 (kept on every host)
	rollout_real_bg "$R/out" --image "$V1" --steps 7,8 --bake 1s --unreachable-after 1s --request-timeout 500ms
	# once h8 took the deploy request, cut its link (wave 1 bakes first: the
	# wait is long, and the test stops plainly if h8 never takes it)
	took=
	for _ in $(seq 1200); do
		host_api 8 GET /v1/apps/web
		[ "$(jq -r .desired.digest <<<"$body")" = "${V1#*@}" ] && took=1 && break
		sleep 0.05
	done
	[ -n "$took" ] || { echo "h8 never took the deploy request: $body" >&2; false; }
	ip link set "$VETH" down
	wait_event "$R/out" '.event == "failure"'
	sleep 1
	ip link set "$VETH" up
	rc=0
	wait "$BG" || rc=$?
	[ "$rc" -eq 1 ] || { cat "$R/out.err"; false; }
	output=$(cat "$R/out")
	[ "$(events failure | jq -r '"\(.host) \(.wave)"')" = "h8 2" ]
	[[ "$(events failure | jq -r .reason)" == "no answer for"* ]]
	[ "$(events host | jq -r 'select(.host == "h8" and .state == "unreachable") | .host')" = h8 ]
	[ "$(events revert | jq -r '.hosts | join(" ")')" = "h1 h2 h3 h4 h5 h6 h7 h8" ]
	[ "$(events host | jq -r 'select(.state == "reverted") | .host' | sort | tr '\n' ' ')" = "h1 h2 h3 h4 h5 h6 h7 h8 " ]
	fleet_on "$V2" v2
}

@test "real: 2 s of latency on h8's link: waited for within the timeouts; a shorter timeout refuses" {
	ensure_v2
	start_latency_relay
	rollout_real_bg "$R/out" --fleet "$R/fleet-lat.txt" --image "$V1" --steps 7,8 --request-timeout 6s \
		--unreachable-after 15s
	wait_event "$R/out" '.event == "wave" and .wave == 2'
	echo 2 >"$R/delay"
	# meanwhile a second rollout of the app on the fleet is refused
	run --separate-stderr rollout_real --fleet "$R/fleet-lat.txt" --image "$V2"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"is running"* ]]
	rc=0
	wait "$BG" || rc=$?
	[ "$rc" -eq 0 ] || { cat "$R/out.err"; false; }
	output=$(cat "$R/out")
	[ "$(events end | jq -r .result)" = done ]
	# h8's wave took the latency: its deploy request and a status poll at least
	[ "$(events wave_passed | jq -r 'select(.wave == 2) | .ms')" -ge 4000 ]
	fleet_on "$V1" v1
	# requests shorter than the latency: h8 is unreachable at the precheck; nothing deployed
	run --separate-stderr rollout_real --fleet "$R/fleet-lat.txt" --image "$V2" --request-timeout 1s \
		--unreachable-after 1500ms
	[ "$status" -eq 2 ]
	[[ "$(events precheck | jq -r '.problems[0].host + ": " + .problems[0].reason')" == "h8: unreachable"* ]]
	echo 0 >"$R/delay"
	fleet_on "$V1" v1
}

@test "real: a failing gate deploys nothing; a failing --check reverts" {
	ensure_v2
	host_api 1 GET /v1/apps/web
	gen=$(jq -r .generation <<<"$body")
	run --separate-stderr rollout_real --image "$V1" --gate true --gate 'echo blocker bug 42 open; exit 1'
	[ "$status" -eq 2 ]
	[ "$(events gate | jq -r .ok | tr '\n' ' ')" = "true false " ]
	for i in $(seq 1 8); do
		host_api "$i" GET /v1/apps/web
		[ "$(jq -r .generation <<<"$body")" = "$gen" ]
	done
	fleet_on "$V2" v2
	# the check sees the wave's hosts and fails the second wave
	run --separate-stderr rollout_real --image "$V1" \
		--check 'echo "$RAMP_WAVE|$RAMP_WAVE_HOSTS" >>'"$R/checks.log"'; test "$RAMP_WAVE" -lt 2'
	[ "$status" -eq 1 ] || { echo "status $status: $stderr"; false; }
	[ "$(cat "$R/checks.log")" = "1|h1
2|h2 h3" ]
	[[ "$(events failure | jq -r .reason)" == *"exited with status 1"* ]]
	[ "$(events revert | jq -r '.hosts | join(" ")')" = "h1 h2 h3" ]
	fleet_on "$V2" v2
}

@test "real: the orchestrator killed at random points, then --resume or --abort: the fleet is consistent" {
	ensure_v2
	seed=${RAMP_CRASH_SEED:-$RANDOM}
	RANDOM=$seed
	echo "# seed $seed (RAMP_CRASH_SEED=$seed reproduces the kill points)" >&3
	before=$V2
	for r in $(seq 1 "${RAMP_REAL_CRASH_ROUNDS:-3}"); do
		if [ "$before" = "$V2" ]; then d=$V1; else d=$V2; fi
		rollout_real_bg "$R/out" --image "$d" --bake 100ms
		ms=$((RANDOM % 2000))
		sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
		kill -9 "$BG" 2>/dev/null || true
		wait "$BG" 2>/dev/null || true
		id=$(jq -r 'select(.event == "start") | .rollout' "$R/out" 2>/dev/null || true)
		action=resume
		[ $((RANDOM % 2)) = 0 ] && action=abort
		if [ -z "$id" ]; then
			action=none # killed before its journal existed
			want=$before
		elif [ -n "$(jq -r 'select(.event == "end") | .result' "$R/state/rollouts/$id.jsonl")" ]; then
			action=ended
			want=$d
		fi
		echo "# round $r: killed after $ms ms: $action" >&3
		if [ "$action" = resume ] || [ "$action" = abort ]; then
			run --separate-stderr "$RAMP_BIN" rollout "--$action" "$id" --state-dir "$R/state" --json
			[ "$status" -eq 0 ] || { echo "$stderr" >&3; false; }
			if [ "$action" = abort ]; then want=$before; else want=$d; fi
			run "$RAMP_BIN" rollout show "$id" --state-dir "$R/state" --json
			[ "$(jq -r .status <<<"$output")" != unfinished ]
		fi
		if [ "$want" = "$V1" ]; then fleet_on "$V1" v1; else fleet_on "$V2" v2; fi
		before=$want
	done
	run "$RAMP_BIN" rollout list --state-dir "$R/state"
	! grep -q unfinished <<<"$output" || false
}
