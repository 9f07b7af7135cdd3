#!/usr/bin/env bats
bats_require_minimum_version 1.5.0
# outcome.bats: outcome records and vetoes in a real registry (docker-registry):
# a rollout that is rolled back leaves a record that refuses the digest's next
# rollout (exit 2) until --override; `ramp veto` and --remove; skopeo still
# reads the image. The hosts are simulated (tests/helpers/fakefleet); the
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
