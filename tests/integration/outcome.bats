#!/usr/bin/env bats
bats_require_minimum_version 1.5.0
# outcome.bats: outcome records and vetoes in a real registry (docker-registry):
# a rollout that is rolled back leaves a record that refuses the digest's next
# rollout (exit 2) until --override; a record names who started the rollout
# and who finished it (a --resume by someone else); `ramp veto` and --remove;
# skopeo still reads the image. The hosts are simulated (tests/helpers/fakefleet); the
# registry is real.

load rollout_helpers
load registry_helpers

setup() {
	reg_setup
	FAKE_PID=
	start_registry reg
	IMG=$REG/web
	"$MKIMAGE" "$T/a" -n 1 -s 1000 -S 1 -t v1 -a "$T/a.tar" >/dev/null
	"$MKIMAGE" "$T/b" -n 1 -s 1000 -S 2 -t v2 -a "$T/b.tar" >/dev/null
	V1=$("$RAMP_BIN" -q push "$T/a.tar" "$IMG:v1")
	V2=$("$RAMP_BIN" -q push "$T/b.tar" "$IMG:v2")
	start_fleet 3
}

teardown() {
	stop_fleet
	reg_teardown
}

# the outcome records of a digest, as the registry keeps them (fallback tag index)
records_of() {
	curl -sf -H 'Accept: application/vnd.oci.image.index.v1+json' "http://$REG/v2/web/manifests/sha256-${1#sha256:}" |
		jq -r '[.manifests[] | select(.artifactType == "application/vnd.ramp.outcome.v1+json")] | length'
}

@test "outcome: a rolled-back digest is refused next time, naming the rollout; --override rolls it out and is recorded" {
	behave "h2 crash $V2"
	run --separate-stderr rollout --image "$IMG@$V2" --json
	[ "$status" -eq 1 ] || { echo "$stderr"; false; }
	first=$(events start | jq -r .rollout)
	[ "$(records_of "$V2")" = 1 ]
	# the record, read back
	run --separate-stderr "$RAMP_BIN" veto --list "$IMG@$V2"
	[ "$status" -eq 1 ] || { echo "$output $stderr"; false; }
	[[ "$output" == *"rollout $first of web on "*": rolled_back at h2"* ]] || { echo "$output"; false; }
	[[ "$output" == *"known bad"* ]]
	# refused, naming the earlier rollout and why; nothing deployed
	puts=$(puts_to h1)
	run --separate-stderr rollout --image "$IMG@$V2" --json
	[ "$status" -eq 2 ] || { echo "$stderr"; false; }
	[[ "$stderr" == *"known bad"*"rollout $first"*"rolled_back"* ]] || { echo "$stderr"; false; }
	[ "$(puts_to h1)" = "$puts" ]
	[ "$(events end | jq -r .result)" = refused ]
	# a tag resolves to the same digest: refused too
	run --separate-stderr rollout --image "$IMG:v2"
	[ "$status" -eq 2 ]
	# --override: it proceeds, and the override is in the journal, the events and the outcome record
	behave "h2 ok"
	GITHUB_ACTOR=octocat run --separate-stderr rollout --image "$IMG@$V2" --override "h2's disk was full, fixed"
	[ "$status" -eq 0 ] || { echo "$stderr"; false; }
	# the summary says it
	[[ "$output" == *"done: web runs $V2 on 3 of 3 hosts"*"; --override by octocat: h2's disk was full, fixed"* ]] ||
		{ echo "$output"; false; }
	# the journal: the override event, and the start event's options
	output=$(cat "$(ls -t "$T"/state/rollouts/*.jsonl | head -1)")
	[ "$(events override | jq -r .by)" = octocat ]
	[ "$(events override | jq -r .reason)" = "h2's disk was full, fixed" ]
	[[ "$(events override | jq -r .lifted)" == *"rollout $first"* ]]
	id=$(events start | jq -r .rollout)
	[ "$(events start | jq -r .options.override)" = "h2's disk was full, fixed" ]
	[ "$(events start | jq -r .options.overrideBy)" = octocat ]
	run --separate-stderr "$RAMP_BIN" veto --list "$IMG@$V2"
	[ "$status" -eq 0 ]
	[[ "$output" == *"rollout $id of web on "*": done by octocat, overriding: h2's disk was full, fixed"* ]] ||
		{ echo "$output"; false; }
	# done after the override: the digest is good again
	run --separate-stderr rollout --image "$IMG@$V2" --json
	[ "$status" -eq 0 ] || { echo "$stderr"; false; }
	# skopeo still reads the image the records refer to
	[ "$(skopeo_digest "$IMG@$V2")" = "$V2" ]
}

@test "outcome: paused, then resumed by someone else: the record names who started it (and its CI job) and who finished it" {
	unset GITHUB_ACTOR GITLAB_USER_LOGIN BUILD_USER_ID BUILDKITE_BUILD_CREATOR CI_USER GITHUB_SERVER_URL \
		GITHUB_REPOSITORY GITHUB_RUN_ID CI_JOB_URL BUILD_URL
	behave "h2 crash $V2"
	GITHUB_ACTOR=alice GITHUB_SERVER_URL=https://github.example GITHUB_REPOSITORY=o/r GITHUB_RUN_ID=7 \
		run --separate-stderr rollout --image "$IMG@$V2" --on-failure pause --json
	[ "$status" -eq 3 ] || { echo "$stderr"; false; }
	id=$(events start | jq -r .rollout)
	[ "$(events start | jq -r .startedBy)" = alice ]
	# paused is not an end: no record yet
	[ -z "$(records_of "$V2")" ]
	behave "h2 ok"
	GITLAB_USER_LOGIN=bob run --separate-stderr "$RAMP_BIN" rollout --resume "$id" --state-dir "$T/state" --json
	[ "$status" -eq 0 ] || { echo "$stderr"; false; }
	[ "$(events end | jq -r .result)" = done ]
	[ "$(records_of "$V2")" = 1 ]
	run --separate-stderr "$RAMP_BIN" veto --list "$IMG@$V2"
	[ "$status" -eq 0 ]
	# done: the failure the resume got past is not the outcome's
	[[ "$output" == *"rollout $id of web on "*": done by alice, finished by bob"* ]] || { echo "$output"; false; }
	# the record itself, as ramp pull brings it along
	"$RAMP_BIN" -q pull --layout "$T/pulled" "$IMG@$V2" 2>/dev/null
	run --separate-stderr "$RAMP_BIN" inspect --json "$T/pulled"
	[ "$status" -eq 0 ]
	[ "$(jq -r '.outcomes[0] | "\(.by) \(.ci) \(.finishedBy) \(.host) \(.reason)"' <<<"$output")" = \
		"alice https://github.example/o/r/actions/runs/7 bob null null" ] || { echo "$output"; false; }
	# resumed by the one who started it: nobody else is named
	behave "h2 crash $V1"
	GITLAB_USER_LOGIN=bob run --separate-stderr rollout --image "$IMG@$V1" --on-failure pause --json
	[ "$status" -eq 3 ] || { echo "$stderr"; false; }
	id=$(events start | jq -r .rollout)
	behave "h2 ok"
	GITLAB_USER_LOGIN=bob run --separate-stderr "$RAMP_BIN" rollout --resume "$id" --state-dir "$T/state"
	[ "$status" -eq 0 ] || { echo "$stderr"; false; }
	run --separate-stderr "$RAMP_BIN" veto --list "$IMG@$V1"
	[[ "$output" == *"rollout $id of web on "*": done by bob"* ]] || { echo "$output"; false; }
	[[ "$output" != *"finished by"* ]]
}

@test "outcome: ramp veto refuses a digest, --remove lifts it; a revert is never refused" {
	rollout --image "$IMG@$V1" --json >/dev/null
	run --separate-stderr "$RAMP_BIN" veto "$IMG:v2"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"--reason TEXT is required"* ]]
	"$RAMP_BIN" key generate "$T/keys" >/dev/null
	run --separate-stderr "$RAMP_BIN" veto "$IMG:v2" --reason "CVE-2026-0001 in libfoo" --sign-key "$T/keys/ramp.key"
	[ "$status" -eq 0 ] || { echo "$stderr"; false; }
	[[ "$output" == sha256:* ]]
	run --separate-stderr rollout --image "$IMG@$V2" --json
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"vetoed by "*"CVE-2026-0001 in libfoo"* ]] || { echo "$stderr"; false; }
	[ "$(digests)" = "$V1" ]
	# ramp pull brings the veto along and says so; ramp inspect shows it
	run --separate-stderr "$RAMP_BIN" pull --layout "$T/pulled" "$IMG@$V2"
	[ "$status" -eq 0 ] || { echo "$stderr"; false; }
	[[ "$stderr" == *"known bad"*"vetoed by "*"CVE-2026-0001 in libfoo"* ]] || { echo "$stderr"; false; }
	run --separate-stderr "$RAMP_BIN" inspect "$T/pulled"
	[ "$status" -eq 0 ]
	[[ "$output" == *"outcomes     known bad"*"vetoed by "*"CVE-2026-0001 in libfoo"* ]] || { echo "$output"; false; }
	run --separate-stderr "$RAMP_BIN" inspect --json "$T/pulled"
	[ "$(jq -r .knownBad <<<"$output")" = true ]
	[ "$(jq -r '.outcomes[0].kind + " " + .outcomes[0].reason' <<<"$output")" = "veto CVE-2026-0001 in libfoo" ]
	# lifted: the newest record wins
	run --separate-stderr "$RAMP_BIN" veto --remove "$IMG@$V2" --reason "libfoo patched in the base"
	[ "$status" -eq 0 ] || { echo "$stderr"; false; }
	run --separate-stderr "$RAMP_BIN" veto --list "$IMG@$V2"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *"vetoed by "*"CVE-2026-0001"*"(signed)" ]] || { echo "$output"; false; }
	[[ "${lines[1]}" == *"veto lifted by "*"libfoo patched"* ]]
	[[ "${lines[2]}" == *"not known bad"* ]]
	run --separate-stderr rollout --image "$IMG@$V2" --json
	[ "$status" -eq 0 ] || { echo "$stderr"; false; }
	[ "$(digests)" = "$V2" ]
	# V1 vetoed: going back to it with ramp revert is never refused
	"$RAMP_BIN" veto "$IMG@$V1" --reason "bad too" >/dev/null
	run --separate-stderr "$RAMP_BIN" revert --app web --fleet "$FLEET" --to "$V1"
	[ "$status" -eq 0 ] || { echo "$stderr"; false; }
	[ "$(digests)" = "$V1" ]
	# V2 vetoed again, and rolled out all the same with --override: the event names the veto it lifted
	"$RAMP_BIN" veto "$IMG@$V2" --reason "CVE-2026-0002 in libbar" >/dev/null
	GITHUB_ACTOR=octocat run --separate-stderr rollout --image "$IMG@$V2" --override "libbar unused by web" --json
	[ "$status" -eq 0 ] || { echo "$stderr"; false; }
	[ "$(digests)" = "$V2" ]
	ov=$(jq -c 'select(.event == "override")' <<<"$output")
	[ "$(jq -r '.by + ": " + .reason' <<<"$ov")" = "octocat: libbar unused by web" ]
	[[ "$(jq -r .lifted <<<"$ov")" == *"vetoed by "*"CVE-2026-0002 in libbar"* ]] || { echo "$ov"; false; }
}

@test "outcome: a registry that cannot take the record is a warning; the rollout's exit code stands" {
	kill "${PIDS[0]}"
	wait "${PIDS[0]}" 2>/dev/null || true
	PIDS=()
	run --separate-stderr rollout --image "$IMG@$V1" --json
	[ "$status" -eq 0 ] || { echo "$stderr"; false; }
	[[ "$stderr" == *"outcome records and vetoes could not be read"* ]]
	[[ "$stderr" == *"outcome record could not be attached"* ]]
	[ "$(digests)" = "$V1" ]
}
