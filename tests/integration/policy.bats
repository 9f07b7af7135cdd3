#!/usr/bin/env bats
bats_require_minimum_version 1.5.0
# policy.bats: release policies (--policy, FLEET.policy.json) against a
# simulated fleet (tests/helpers/fakefleet): freezes refuse a rollout at the
# start and pause it between waves, --resume waits for the end of a freeze,
# a recurring freeze on a faked clock across a daylight-saving change,
# blockers (clear, blocked, error, timeout), --override with its trace,
# reverts never blocked, --dry-run's decision, malformed files.

load rollout_helpers

setup() {
	fleet_setup
	start_fleet 4
	POL=$T/policy.json
}

teardown() {
	fleet_teardown
}

iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }

# a one-time freeze from $1 to $2 (Unix seconds), and blockers ($3: JSON list)
policy() {
	printf '{"freezes":[{"name":"launch","reason":"big launch day","from":"%s","to":"%s"}],"blockers":%s}\n' \
		"$(iso "$1")" "$(iso "$2")" "${3:-[]}" >"$POL"
}

@test "policy: a rollout during a freeze is refused, naming it, its reason and its end" {
	now=$(date +%s)
	policy $((now - 60)) $((now + 3600))
	run --separate-stderr rollout --image "$IMG@$V2" --policy "$POL" --json
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"refused: freeze \"launch\" (big launch day) until $(iso $((now + 3600)))"* ]]
	[ "$(events policy | jq -r '"\(.check) \(.name) \(.ok) \(.until)"')" = "freeze launch false $(iso $((now + 3600)))" ]
	[ "$(events end | jq -r .result)" = refused ]
	[ "$(fake_state | jq '[.hosts[].counts.put] | add')" = 0 ]
	# the default policy beside the fleet file is the same
	cp "$POL" "${FLEET%.txt}.policy.json"
	run --separate-stderr rollout --image "$IMG@$V2"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"freeze \"launch\""* ]]
	# a recurring freeze over every minute of the week ends "until further notice"
	echo '{"freezes":[{"name":"always","reason":"r","days":["mon","tue","wed","thu","fri","sat","sun"],"from":"00:00","to":"24:00","timezone":"Europe/Berlin"}]}' >"$POL"
	run --separate-stderr rollout --image "$IMG@$V2" --policy "$POL"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"freeze \"always\" (r) until further notice"* ]]
	[ "$(digests)" = "$V1" ]
}

@test "policy: --override proceeds, and the journal, events and summary say why and who" {
	now=$(date +%s)
	policy $((now - 60)) $((now + 3600)) '[{"name":"bugs","command":"echo BUG-1 is open; exit 1"}]'
	GITHUB_ACTOR=alice run --separate-stderr rollout --image "$IMG@$V2" --policy "$POL" --override "hotfix for INC-42" --json
	[ "$status" -eq 0 ]
	[ "$(events start | jq -r .options.override)" = "hotfix for INC-42" ]
	[ "$(events start | jq -r .options.overrideBy)" = alice ]
	[ "$(events start | jq -r .options.policyFile)" = "$POL" ]
	# asked before wave 1 and again before each later wave (4 hosts: 3 waves)
	[ "$(events policy | jq -r 'select(.check == "freeze") | .overriddenBy' | sort -u)" = alice ]
	[ "$(events policy | jq -r 'select(.check == "blocker") | "\(.ok) \(.reason) \(.overriddenBy)"' | sort -u)" = "false BUG-1 is open alice" ]
	[ "$(events policy | jq -s 'length')" = 6 ]
	[ "$(digests)" = "$V2" ]
	id=$(events start | jq -r .rollout)
	diff <(cat "$T/state/rollouts/$id.jsonl") <(printf '%s\n' "$output")
	# the summary in words; GitLab's variable when GitHub's is not there
	GITLAB_USER_LOGIN=bob run --separate-stderr rollout --image "$IMG@$V1" --policy "$POL" --override "roll back the hotfix"
	[ "$status" -eq 0 ]
	[[ "$output" == *"; --override by bob: roll back the hotfix"* ]]
}

@test "policy: a freeze that begins mid-rollout pauses after the wave; --resume waits for its end" {
	now=$(date +%s)
	from=$((now + 6)) to=$((now + 12))
	policy $from $to
	# wave 1's check waits for the freeze to begin (on the real clock; the faked one is below)
	run --separate-stderr rollout --image "$IMG@$V2" --policy "$POL" --json \
		--check "[ \$RAMP_WAVE != 1 ] || while [ \$(date +%s) -lt $from ]; do sleep 0.1; done"
	[ "$status" -eq 3 ]
	[ "$(events wave_passed | jq -r .wave)" = 1 ]
	[ "$(events paused | jq -r .reason)" = "freeze \"launch\" (big launch day) until $(iso $to)" ]
	[ "$(digest_of h1)" = "$V2" ]
	[ "$(digest_of h2)" = "$V1" ]
	id=$(events start | jq -r .rollout)
	# refused while it lasts, and still paused
	run --separate-stderr "$RAMP_BIN" rollout --resume "$id" --state-dir "$T/state"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"refused: freeze \"launch\""*"rollout $id stays paused"* ]]
	[ "$(tail -1 "$T/state/rollouts/$id.jsonl" | jq -r .event)" = policy ]
	while [ "$(date +%s)" -lt $to ]; do sleep 0.2; done
	run --separate-stderr "$RAMP_BIN" rollout --resume "$id" --state-dir "$T/state" --json
	[ "$status" -eq 0 ]
	[ "$(events end | jq -r .result)" = done ]
	[ "$(digests)" = "$V2" ]
}

# faked_rollout ARGS: rollout with the wall clock moved by the offset in
# $T/clock (libfaketime, as tests/fault/clock.sh; its children, the checks,
# see the same clock; CLOCK_MONOTONIC, the engine's timers, left alone)
faked_rollout() {
	local lib
	lib=$(ls /usr/lib/*/faketime/libfaketimeMT.so.1 | head -1)
	(
		export LD_PRELOAD=$lib FAKETIME_TIMESTAMP_FILE=$T/clock FAKETIME_NO_CACHE=1 FAKETIME_DONT_FAKE_MONOTONIC=1
		export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
		rollout "$@"
	)
}

@test "policy: a faked clock on the night Berlin moves to summer time: a freeze from 03:00 begins during wave 2 and pauses after it" {
	# 2026-03-29 01:00Z: 02:00 CET becomes 03:00 CEST. A zone read without
	# its change would put 03:00 at 02:00Z: no freeze during this rollout.
	at=1774746000
	printf "%+d\n" $((at - 8 - $(date +%s))) >"$T/clock"
	printf '{"freezes":[{"name":"sunday","reason":"maintenance","days":["sun"],"from":"03:00","to":"04:00","timezone":"Europe/Berlin"}]}\n' >"$POL"
	run --separate-stderr faked_rollout --image "$IMG@$V2" --policy "$POL" --json \
		--check "[ \$RAMP_WAVE != 2 ] || while [ \$(date +%s) -lt $at ]; do sleep 0.1; done"
	[ "$status" -eq 3 ] || { echo "$stderr"; false; }
	# clear at the start (01:59:52 CET), in force after wave 2 (03:00 CEST), until 04:00 CEST
	[ "$(events start | jq -r .time)" \< 2026-03-29T01:00:00 ]
	[ "$(events wave_passed | jq -r .wave | paste -sd' ')" = "1 2" ]
	[ "$(events paused | jq -r .reason)" = 'freeze "sunday" (maintenance) until 2026-03-29T02:00:00Z' ]
	[ "$(digest_of h1)" = "$V2" ]
	[ "$(digest_of h4)" = "$V1" ]
}

@test "policy: blockers: clear, blocked with its output, errors and timeouts block; one turning red pauses" {
	now=$(date +%s)
	past=$((now - 7200))
	policy $past $((past + 60)) '[{"name":"ok","command":"exit 0"},{"name":"bugs","command":"echo \"BUG-7: data loss\"; exit 1"}]'
	run --separate-stderr rollout --image "$IMG@$V2" --policy "$POL"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"refused: blocker \"bugs\": BUG-7: data loss; nothing was deployed"* ]]
	policy $past $((past + 60)) '[{"name":"broken","command":"exit 3"}]'
	run --separate-stderr rollout --image "$IMG@$V2" --policy "$POL"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"blocker \"broken\": error: exited with status 3 (0 is clear, 1 blocked)"* ]]
	policy $past $((past + 60)) '[{"name":"hangs","command":"sleep 30","timeout":1}]'
	t0=$(date +%s)
	run --separate-stderr rollout --image "$IMG@$V2" --policy "$POL"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"blocker \"hangs\": error: did not finish within 1 s"* ]]
	[ $(($(date +%s) - t0)) -lt 20 ]
	[ "$(fake_state | jq '[.hosts[].counts.put] | add')" = 0 ]
	# clear before wave 1, red before wave 2 (it sees RAMP_WAVE): paused between the waves
	policy $past $((past + 60)) '[{"name":"late","command":"[ $RAMP_WAVE -lt 2 ] || { echo \"BUG-9 filed\"; exit 1; }"}]'
	run --separate-stderr rollout --image "$IMG@$V2" --policy "$POL" --json
	[ "$status" -eq 3 ]
	[ "$(events paused | jq -r .reason)" = 'blocker "late": BUG-9 filed' ]
	[ "$(events policy | jq -r '"\(.ok)"' | tr '\n' ,)" = "true,false," ]
	[ "$(digest_of h1)" = "$V2" ]
	[ "$(digest_of h2)" = "$V1" ]
}

@test "policy: reverts are never blocked: --abort and automatic reverts during a freeze and a red blocker (ramp revert reads no policy)" {
	now=$(date +%s)
	policy $((now + 6)) $((now + 3600)) '[{"name":"late","command":"[ $RAMP_WAVE -lt 2 ] || { echo BUG-9; exit 1; }"}]'
	run --separate-stderr rollout --image "$IMG@$V2" --policy "$POL" --json
	[ "$status" -eq 3 ]
	id=$(events start | jq -r .rollout)
	while [ "$(date +%s)" -lt $((now + 6)) ]; do sleep 0.2; done
	run --separate-stderr "$RAMP_BIN" rollout --abort "$id" --state-dir "$T/state" --json
	[ "$status" -eq 0 ]
	[ "$(events end | jq -r .result)" = aborted ]
	[ -z "$(events policy)" ]
	[ "$(digests)" = "$V1" ]
	# an automatic revert in wave 1, overridden freeze: the revert asks nothing
	behave "h1 crash $V3"
	run --separate-stderr rollout --image "$IMG@$V3" --policy "$POL" --override "test" --json
	[ "$status" -eq 1 ]
	[ "$(events revert | jq -r '.hosts | join(" ")')" = h1 ]
	[ "$(events policy | jq -s 'length')" = 2 ]
	[ "$(digests)" = "$V1" ]
}

@test "policy: --dry-run says what the policy decides now and why" {
	now=$(date +%s)
	policy $((now + 86400)) $((now + 90000)) '[{"name":"ok","command":"exit 0"}]'
	run --separate-stderr rollout --image "$IMG@$V2" --policy "$POL" --dry-run
	[ "$status" -eq 0 ]
	[[ "$output" == *"no freeze in force; the next: \"launch\" (big launch day) from $(iso $((now + 86400)))"* ]]
	[[ "$output" == *'blocker "ok": clear'* ]]
	[[ "$output" == *"decision: would proceed"* ]]
	policy $((now - 60)) $((now + 60)) '[{"name":"bugs","command":"echo BUG-3; exit 1"}]'
	run --separate-stderr rollout --image "$IMG@$V2" --policy "$POL" --dry-run
	[ "$status" -eq 2 ]
	[[ "$output" == *"freeze \"launch\" in force: big launch day; until $(iso $((now + 60)))"* ]]
	[[ "$output" == *'blocker "bugs": blocked: BUG-3'* ]]
	[[ "$output" == *"decision: refused"* ]]
	run --separate-stderr rollout --image "$IMG@$V2" --policy "$POL" --dry-run --json
	[ "$status" -eq 2 ]
	[ "$(events policy | jq -r '"\(.check) \(.ok)"' | tr '\n' ,)" = "freeze false,blocker false," ]
	run --separate-stderr rollout --image "$IMG@$V2" --policy "$POL" --dry-run --override "why not"
	[ "$status" -eq 0 ]
	[[ "$output" == *"decision: would proceed, overridden: why not"* ]]
	[ "$(fake_state | jq '[.hosts[].counts.put] | add')" = 0 ]
}

@test "policy: malformed files are refused with the place of the error, nothing deployed" {
	echo '{"freezes":[{"name":"a","reason":"r","days":["Sunday"],"from":"09:00","to":"10:00","timezone":"UTC"}]}' >"$POL"
	run --separate-stderr rollout --image "$IMG@$V2" --policy "$POL"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"$POL: freezes[0].days[0]: \"Sunday\" is not a day (mon..sun)"* ]]
	echo '{"blockers":[{"name":"a"}]' >"$POL"
	run --separate-stderr rollout --image "$IMG@$V2" --policy "$POL"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"$POL: "* ]]
	run --separate-stderr rollout --image "$IMG@$V2" --policy "$T/none.json"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"$T/none.json"* ]]
	run --separate-stderr rollout --image "$IMG@$V2" --override ""
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"--override: give the reason"* ]]
	[ "$(fake_state | jq '[.hosts[].counts.put] | add')" = 0 ]
}

@test "policy: the example blockers: an issue tracker over HTTP, a bugs/ directory" {
	ex=$BATS_TEST_DIRNAME/../../docs/examples
	# a tracker: canned answers of GitHub's issue API from a local HTTP server
	mkdir -p "$T/www"
	echo '[{"number":12,"title":"checkout loses the cart","state":"open"},{"number":13,"title":"a fix","state":"open","pull_request":{}}]' >"$T/www/open.json"
	echo '[{"number":13,"title":"a fix","state":"open","pull_request":{}},{"iid":4,"title":"old","state":"closed"}]' >"$T/www/none.json"
	(cd "$T/www" && exec python3 -u -m http.server 0 --bind 127.0.0.1 >"$T/www.log" 2>&1) &
	BG_PIDS="${BG_PIDS:-} $!"
	wait_for "$T/www.log" "port [1-9]"
	port=$(sed -n 's/.* port \([0-9]*\).*/\1/p' "$T/www.log" | head -1)
	printf '{"blockers":[{"name":"tracker","command":"%s/blocker-issues-http.sh http://127.0.0.1:%s/open.json"}]}\n' "$ex" "$port" >"$POL"
	run --separate-stderr rollout --image "$IMG@$V2" --policy "$POL" --dry-run
	[ "$status" -eq 2 ]
	[[ "$output" == *'blocker "tracker": blocked: open release blockers:'*'#12 checkout loses the cart'* ]]
	[[ "$output" != *"a fix"* ]]
	sed -i 's/open.json/none.json/' "$POL"
	run --separate-stderr rollout --image "$IMG@$V2" --policy "$POL" --dry-run
	[ "$status" -eq 0 ]
	[[ "$output" == *'blocker "tracker": clear'* ]]
	sed -i 's/none.json/missing.json/' "$POL"
	run --separate-stderr rollout --image "$IMG@$V2" --policy "$POL" --dry-run
	[ "$status" -eq 2 ]
	[[ "$output" == *'blocker "tracker": blocked: error: exited with status 2'* ]]
	# a bugs/ directory: an open blocker blocks, a closed one or a minor bug does not
	mkdir -p "$T/repo/bugs"
	printf 'title: data loss on restart\nseverity: blocker\nstatus: open\n' >"$T/repo/bugs/17.md"
	printf 'title: typo\nseverity: minor\nstatus: open\n' >"$T/repo/bugs/18.md"
	printf '{"blockers":[{"name":"bugs","command":"%s/blocker-bugs-dir.sh %s/repo/bugs"}]}\n' "$ex" "$T" >"$POL"
	run --separate-stderr rollout --image "$IMG@$V2" --policy "$POL" --dry-run
	[ "$status" -eq 2 ]
	[[ "$output" == *'blocker "bugs": blocked: open release blockers in '*'17.md: data loss on restart'* ]]
	[[ "$output" != *"typo"* ]]
	sed -i 's/status: open/status: closed/' "$T/repo/bugs/17.md"
	run --separate-stderr rollout --image "$IMG@$V2" --policy "$POL" --dry-run
	[ "$status" -eq 0 ]
	[[ "$output" == *'blocker "bugs": clear'* ]]
}
