#!/usr/bin/env bats
bats_require_minimum_version 1.5.0
# rollout_fleet.bats: `ramp fleet status` and `ramp revert` against a simulated
# fleet, and a rollout over 200 hosts of which 1% stop answering.

load rollout_helpers

setup() {
	fleet_setup
}

teardown() {
	fleet_teardown
}

@test "fleet status: every host's version, phase and health" {
	start_fleet 8 --new h8
	behave "h3 hang"
	run --separate-stderr "$RAMP_BIN" fleet status --fleet "$FLEET" --app web --request-timeout 500ms
	[ "$status" -eq 1 ]
	[[ "${lines[0]}" == "HOST  APP           VERSION              PHASE       HEALTH     SINCE"* ]]
	[[ "${lines[1]}" == "h1    web           ${V1:0:19}  healthy     healthy    "*"  1" ]]
	[[ "${lines[3]}" == "h3    unreachable: "* ]]
	[[ "${lines[8]}" == "h8    web is not on this host" ]]
	behave "h3 ok"
	run --separate-stderr "$RAMP_BIN" fleet status --fleet "$FLEET" --json
	[ "$status" -eq 0 ]
	[ "$(jq -r '.hosts | length' <<<"$output")" = 8 ]
	[ "$(jq -r '.hosts[0] | "\(.host) \(.app) \(.digest) \(.phase) \(.healthy) \(.generation)"' <<<"$output")" = "h1 web $V1 healthy true 1" ]
	[ "$(jq -r '.hosts[7] | "\(.host) \(.reachable) \(.error)"' <<<"$output")" = "h8 true no apps" ]
	# after a rollout: the new version, generation and rollout id
	run --separate-stderr rollout --image "$IMG@$V2" --json
	[ "$status" -eq 0 ]
	id=$(events start | jq -r .rollout)
	run --separate-stderr "$RAMP_BIN" fleet status --fleet "$FLEET" --app web --json
	[ "$(jq -r '[.hosts[] | .digest] | unique | join(" ")' <<<"$output")" = "$V2" ]
	[ "$(jq -r '[.hosts[] | .rollout] | unique | join(" ")' <<<"$output")" = "$id" ]
	[ "$(jq -r '[.hosts[] | .generation] | unique | join(" ")' <<<"$output")" = 2 ]
	run --separate-stderr "$RAMP_BIN" fleet status
	[ "$status" -eq 2 ]
	run --separate-stderr "$RAMP_BIN" fleet
	[ "$status" -eq 2 ]
}

@test "revert: the whole fleet back on its previous version, all hosts at once" {
	start_fleet 8 --new h8
	run --separate-stderr rollout --image "$IMG@$V2"
	[ "$status" -eq 0 ]
	[ "$(digests)" = "$V2" ]
	run --separate-stderr "$RAMP_BIN" revert --app web --fleet "$FLEET" --json
	[ "$status" -eq 3 ]
	[ "$(events revert | jq -r '.hosts | length')" = 7 ]
	[ "$(events end | jq -r .result)" = revert_incomplete ]
	# h8 was new: it keeps no earlier version, and is named
	[ "$(events end | jq -r '.hosts[] | select(.host == "h8") | "\(.state): \(.reason)"')" = "revert_failed: keeps no earlier version of web to revert to" ]
	fake_state | jq -e '[.hosts[] | select(.name != "h8") | .apps.web.current.digest == "'"$V1"'"] | all'
	[ "$(digest_of h8)" = "$V2" ]
	# it took a new generation, higher than the rollout's
	[ "$(fake_state | jq -r '.hosts[0].apps.web.generation')" = 3 ]
	# forward again, explicitly
	run --separate-stderr "$RAMP_BIN" revert --app web --fleet "$FLEET" --to "$V2"
	[ "$status" -eq 0 ]
	[ "$(digests)" = "$V2" ]
	all_healthy
	# a version no host keeps
	run --separate-stderr "$RAMP_BIN" revert --app web --fleet "$FLEET" --to "$V3" --json
	[ "$status" -eq 3 ]
	[[ "$(events end | jq -r '.hosts[0].reason')" == "the host no longer keeps $V3"* ]]
	run --separate-stderr "$RAMP_BIN" revert --app web --fleet "$FLEET" --to nope
	[ "$status" -eq 2 ]
}

@test "revert: a fleet that keeps no earlier version: nothing to revert, exit 0, nothing changed" {
	start_fleet 3
	run --separate-stderr "$RAMP_BIN" revert --app web --fleet "$FLEET"
	[ "$status" -eq 0 ]
	[[ "$output" == *"nothing to revert: no host keeps an earlier version of web; nothing was changed"* ]]
	[[ "$output$stderr" != *"reverting"* ]]
	run --separate-stderr "$RAMP_BIN" revert --app web --fleet "$FLEET" --json
	[ "$status" -eq 0 ]
	[ "$(events end | jq -r '"\(.result) \(.exit) \(.counts.skipped)"')" = "nothing_to_revert 0 3" ]
	[ -z "$(events revert)" ]
	[ "$(fake_state | jq '[.hosts[].counts.revert] | add')" = 0 ]
	[ "$(digests)" = "$V1" ]
}

@test "revert: refuses \"previous\" when the hosts disagree on it (after a rollback)" {
	start_fleet 8
	run --separate-stderr rollout --image "$IMG@$V2"
	[ "$status" -eq 0 ]
	behave "h3 crash $V3"
	run --separate-stderr rollout --image "$IMG@$V3"
	[ "$status" -eq 1 ]
	# h1..h3 now keep V3 (failed) as their newest kept version, the others V1
	run --separate-stderr "$RAMP_BIN" revert --app web --fleet "$FLEET"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"hosts keep different previous versions of web (3 keep $V3 as their newest, 5 do not:"* ]]
	[ "$(fake_state | jq '[.hosts[].counts.revert] | add')" = 3 ] # only the rollback's
	run --separate-stderr "$RAMP_BIN" revert --app web --fleet "$FLEET" --to "$V1"
	[ "$status" -eq 0 ]
	[ "$(digests)" = "$V1" ]
}

@test "revert: skips hosts without the app, fences a running rollout" {
	start_fleet 8 --new h7
	behave "* start 300"
	rollout_bg "$T/a.out" --image "$IMG@$V2" --bake 2s --json
	a=$BG
	wait_for "$T/a.out" '"event":"wave"'
	sleep 0.5
	run --separate-stderr "$RAMP_BIN" revert --app web --fleet "$FLEET" --to "$V1" --json
	[ "$status" -eq 0 ]
	[ "$(events end | jq -r '.hosts[] | select(.host == "h7") | .state')" = skipped ]
	wait "$a" && st=0 || st=$?
	[ "$st" -eq 3 ]
	[ "$(jq -r 'select(.event == "end") | .result' "$T/a.out")" = superseded ]
	fake_state | jq -e '[.hosts[] | select(.name != "h7") | .apps.web.current.digest == "'"$V1"'"] | all'
}

@test "scale: 300 hosts keep one connection each, from the precheck to the end (keep-alive)" {
	start_fleet 300 --start-ms 0
	run --separate-stderr rollout --image "$IMG@$V2" --bake 0 --max-parallel 50 --json
	[ "$status" -eq 0 ]
	[ "$(events end | jq -r .counts.baked)" = 300 ]
	# a precheck, a PUT and at least one poll each, on one connection each
	fake_state | jq -e '[.hosts[].counts | .get + .put >= 3 and .connect == 1] | all'
}

@test "scale: 200 hosts, 1% stop answering: reported as unreachable within the budget, in bounded time" {
	start_fleet 200
	behave "h37 hang"             # gone before the rollout starts
	behave "h150 hang-on $V2"     # gone once told to deploy
	start=$(date +%s%N)
	run --separate-stderr rollout --image "$IMG@$V2" --bake 0 --max-unreachable 2 --max-parallel 50 \
		--request-timeout 500ms --unreachable-after 900ms --json
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	echo "# 200 hosts in ${ms} ms" >&3
	[ "$status" -eq 0 ]
	[ "$(events wave | wc -l)" = 8 ] # ceil(log2(201))
	[[ "$(events precheck | jq -r '.skipped[] | "\(.host) \(.reason)"')" == "h37 unreachable: "*"timed out after"* ]]
	[ "$(events end | jq -r '.hosts[] | select(.host == "h37") | .state')" = skipped ]
	[ "$(events end | jq -r '[.hosts[] | select(.state == "unreachable") | .host] | join(" ")')" = h150 ]
	[[ "$(events host | jq -r 'select(.host == "h150") | .message')" == "no answer for "* ]]
	[ "$(events end | jq -r .counts.baked)" = 198 ]
	[ "$ms" -lt 10000 ]
	# the human summary names them
	behave "h150 ok"
	behave "h150 hang-on $V3"
	run --separate-stderr rollout --image "$IMG@$V3" --bake 0 --max-unreachable 2 --max-parallel 50 \
		--request-timeout 500ms --unreachable-after 900ms
	[ "$status" -eq 0 ]
	[[ "$output" == *"200 hosts: "*"198 baked"* ]]
	[[ "$output" == *"h37 "*"skipped        unreachable: "*"timed out"* ]]
	[[ "$output" == *"h150 "*"unreachable    no answer for "* ]]
	# one more and the budget is spent: everything goes back
	behave "h99 hang"
	run --separate-stderr rollout --image "$IMG@$V2" --bake 0 --max-unreachable 1 --max-parallel 50 \
		--request-timeout 500ms --unreachable-after 900ms --json
	[ "$status" -eq 2 ]
	[ "$(events precheck | jq -r '[.problems[].host] | join(" ")')" = "h37 h99 h150" ]
}
