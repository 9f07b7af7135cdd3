#!/usr/bin/env bats
bats_require_minimum_version 1.5.0
# rollout.bats: `ramp rollout` against a simulated fleet (tests/helpers/fakefleet):
# waves, bake, watching, failures and reverts, gates, checks, probes, budgets,
# fencing, locks, dry runs.

load rollout_helpers

setup() {
	fleet_setup
}

teardown() {
	fleet_teardown
}

@test "rollout: clean rollout on 8 hosts goes in waves 1,2,4,1" {
	start_fleet 8
	run --separate-stderr rollout --image "$IMG@$V2" --json
	[ "$status" -eq 0 ]
	# the waves, from the events
	[ "$(events wave | jq -r '.hosts | length' | tr '\n' ,)" = "1,2,4,1," ]
	[ "$(events wave | jq -r '.hosts | join(" ")' | tr '\n' ,)" = "h1,h2 h3,h4 h5 h6 h7,h8," ]
	# each wave starts only after the one before it passed
	[ "$(jq -r 'select(.event == "wave" or .event == "wave_passed") | "\(.event)\(.wave)"' <<<"$output" | tr '\n' ' ')" = \
		"wave1 wave_passed1 wave2 wave_passed2 wave3 wave_passed3 wave4 wave_passed4 " ]
	[ "$(events host | jq -r 'select(.state == "baked") | .host' | sort | tr '\n' ' ')" = "h1 h2 h3 h4 h5 h6 h7 h8 " ]
	[ "$(events end | jq -r .result)" = done ]
	[ "$(events end | jq -r .counts.baked)" = 8 ]
	gen=$(events precheck | jq -r .generation)
	[ "$gen" = 2 ]
	# and from the hosts themselves
	[ "$(digests)" = "$V2" ]
	all_healthy
	[ "$(fake_state | jq -r '[.hosts[].apps.web.generation] | unique | join(" ")')" = 2 ]
	[ "$(fake_state | jq -r '[.hosts[].counts.put] | unique | join(" ")')" = 1 ]
	# every line of the output is an event of this rollout
	id=$(events start | jq -r .rollout)
	[ "$(jq -r .rollout <<<"$output" | sort -u)" = "$id" ]
	# the journal holds the same lines
	diff <(cat "$T/state/rollouts/$id.jsonl") <(printf '%s\n' "$output")
}

@test "rollout: back to a version the hosts keep (switched to without a pull: phase reverting)" {
	start_fleet 8
	run --separate-stderr rollout --image "$IMG@$V2"
	[ "$status" -eq 0 ]
	run --separate-stderr rollout --image "$IMG@$V1" --json
	[ "$status" -eq 0 ]
	[ "$(events end | jq -r .counts.baked)" = 8 ]
	[ "$(digests)" = "$V1" ]
	[ "$(fake_state | jq -r '[.hosts[].apps.web.history[].phase] | index("reverting") != null')" = true ]
}

@test "rollout: human output names the waves and ends with a summary table" {
	start_fleet 8
	run --separate-stderr rollout --image "$IMG@$V2" --spread zone
	[ "$status" -eq 0 ]
	[[ "$output" == *"wave 1/4 (1 host): h1"* ]]
	[[ "$output" == *"wave 2/4 (2 hosts): h2 h3"* ]]
	[[ "$output" == *"done: web runs $V2 on 8 of 8 hosts (4 waves)"* ]]
	[[ "$output" == *"HOST  WAVE  STATE"* ]]
	[ "$(grep -c ' baked' <<<"$output")" = 8 ]
	# -q (after the command too): no wave lines, no table, only the result
	run --separate-stderr rollout -q --image "$IMG@$V1" --spread zone
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == "done: web runs $V1 on 8 of 8 hosts (4 waves)"* ]]
	# nothing but the warnings that this test's registry does not exist (no outcome records)
	[ -z "$(grep -v -e 'outcome records and vetoes could not be read' -e 'outcome record could not be attached' <<<"$stderr")" ]
	[ "$(digests)" = "$V1" ]
}

@test "rollout: a version that crashes is caught in wave 1 and reverted" {
	start_fleet 8
	behave "* crash $V2"
	run --separate-stderr rollout --image "$IMG@$V2" --json
	[ "$status" -eq 1 ]
	f=$(events failure)
	[ "$(jq -r .host <<<"$f")" = h1 ]
	[ "$(jq -r .wave <<<"$f")" = 1 ]
	[ "$(jq -r .phase <<<"$f")" = failed ]
	[[ "$(jq -r .reason <<<"$f")" == *"exited with status 1"* ]]
	# the phase history from the host's API is in the report
	[ "$(jq -r '[.history[].phase] | join(" ")' <<<"$f")" = "healthy pulling unpacking starting failed" ]
	[ "$(events revert | jq -r '.hosts | join(" ")')" = h1 ]
	[ "$(events end | jq -r .result)" = rolled_back ]
	[ "$(digests)" = "$V1" ]
	all_healthy
	[ "$(puts_to h1)" = 1 ]
	[ "$(puts_to h2)" = 0 ]
	# the human form names the host and why
	run --separate-stderr rollout --image "$IMG@$V2"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"FAILED: host h1 (wave 1): phase failed"* ]]
	[[ "$stderr" == *"phase history:"* ]]
	[[ "$stderr" == *"rolled back: 1 host reverted; h1 (wave 1): phase failed"* ]]
}

@test "rollout: a host of an earlier wave that turns unhealthy later reverts every wave" {
	start_fleet 8
	# h1 (wave 1) fails 700 ms after it became healthy: waves 2 and 3 are under way by then
	behave "h1 sick $V2 700"
	run --separate-stderr rollout --image "$IMG@$V2" --bake 400ms --json
	[ "$status" -eq 1 ]
	[ "$(events failure | jq -r .host)" = h1 ]
	[ "$(events failure | jq -r .phase)" = unhealthy ]
	[ "$(events wave_passed | jq -r .wave | head -1)" = 1 ]
	reverted=$(events revert | jq -r '.hosts | length')
	[ "$reverted" -ge 3 ]
	[ "$(events host | jq -r 'select(.state == "reverted") | .host' | wc -l)" = "$reverted" ]
	[ "$(digests)" = "$V1" ]
	all_healthy
	[ "$(puts_to h8)" = 0 ]
}

@test "rollout: --final-bake watches the whole fleet after the last wave" {
	start_fleet 4
	behave "h1 sick $V2 900" # long after its own wave
	run --separate-stderr rollout --image "$IMG@$V2" --bake 100ms --final-bake 3s --json
	[ "$status" -eq 1 ]
	[ "$(events wave_passed | wc -l)" = 3 ]
	[ "$(events failure | jq -r '"\(.host) \(.phase)"')" = "h1 unhealthy" ]
	[ "$(events revert | jq -r '.hosts | length')" = 4 ]
	[ "$(digests)" = "$V1" ]
}

@test "rollout: a host failing during its bake reverts it and the earlier waves" {
	start_fleet 8
	behave "h5 sick $V2 100"
	run --separate-stderr rollout --image "$IMG@$V2" --bake 600ms --json
	[ "$status" -eq 1 ]
	[ "$(events failure | jq -r '"\(.host) \(.wave)"')" = "h5 3" ]
	[ "$(events revert | jq -r '.hosts | join(" ")')" = "h1 h2 h3 h4 h5 h6 h7" ]
	[ "$(digests)" = "$V1" ]
	all_healthy
}

@test "rollout: phase healthy with healthy false, or a healthySince that moves between polls, fails the wave" {
	start_fleet 4
	# h1 says phase "healthy" but "healthy": false: not a pass, however long it says so
	behave "h1 liar $V2"
	run --separate-stderr rollout --image "$IMG@$V2" --json
	[ "$status" -eq 1 ]
	[ "$(events failure | jq -r '"\(.host) \(.wave) \(.phase)"')" = "h1 1 healthy" ]
	[ -z "$(events wave_passed)" ]
	[ "$(events end | jq -r .result)" = rolled_back ]
	[ "$(digests)" = "$V1" ]
	# h1 goes unhealthy and healthy again every 60 ms, each time between two polls:
	# its phase and flag always say healthy, only healthySince tells
	behave "h1 ok"
	behave "h1 flap $V2 60"
	run --separate-stderr rollout --image "$IMG@$V2" --bake 400ms --json
	[ "$status" -eq 1 ]
	[ "$(events failure | jq -r '"\(.host) \(.wave)"')" = "h1 1" ]
	[[ "$(events failure | jq -r .reason)" == *"was unhealthy between two polls"* ]]
	[ -z "$(events wave_passed)" ]
	[ "$(digests)" = "$V1" ]
}

@test "rollout: a host that stops answering is unreachable: exit 1, reverted once it answers" {
	start_fleet 8
	# h2 takes the deploy request, then does not answer for 1.5 s
	behave "h2 hang-on $V2 1000"
	run --separate-stderr rollout --image "$IMG@$V2" --request-timeout 500ms --json
	[ "$status" -eq 1 ]
	[ "$(events failure | jq -r .host)" = h2 ]
	[[ "$(events failure | jq -r .reason)" == "no answer for"* ]]
	[ "$(events host | jq -r 'select(.host == "h2" and .state == "unreachable") | .host')" = h2 ]
	[ "$(events end | jq -r .result)" = rolled_back ]
	[ "$(digests)" = "$V1" ]
	all_healthy
}

@test "rollout: a revert that cannot finish exits 3 and names the hosts" {
	start_fleet 8
	behave "h2 hang-on $V2"
	run --separate-stderr rollout --image "$IMG@$V2" --request-timeout 500ms --revert-deadline 1s
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"revert incomplete: 1 host could not be put back: h2"* ]]
	[ "$(digest_of h1)" = "$V1" ]
	[ "$(digest_of h3)" = "$V1" ]
}

@test "rollout: slow hosts are waited for; one that misses the health deadline fails" {
	start_fleet 8
	behave "h2 slow 200"   # every answer 200 ms late
	behave "h3 start 300"  # starting takes 300 ms
	run --separate-stderr rollout --image "$IMG@$V2" --json
	[ "$status" -eq 0 ]
	[ "$(digests)" = "$V2" ]
	behave "h5 start 5000"
	run --separate-stderr rollout --image "$IMG@$V3" --health-deadline 1s --json
	[ "$status" -eq 1 ]
	[ "$(events failure | jq -r '"\(.host) \(.reason)"')" = "h5 not healthy within the 1 s deadline (last: phase pulling)" ]
	[ "$(digests)" = "$V2" ]
}

@test "rollout: a failing gate deploys nothing and exits 2" {
	start_fleet 8
	run --separate-stderr rollout --image "$IMG@$V2" --gate 'test "$RAMP_APP" = web' --gate 'echo open blockers >&2; exit 3' --json
	[ "$status" -eq 2 ]
	[ "$(events gate | jq -r '"\(.ok) \(.exit)"' | tr '\n' ,)" = "true 0,false 3," ]
	[ "$(events end | jq -r .result)" = refused ]
	[[ "$stderr" == *"open blockers"* ]]
	[ "$(fake_state | jq '[.hosts[].counts.put] | add')" = 0 ]
	[ -z "$(events wave)" ]
	# and the rollout is over: a new one is not refused for it
	run --separate-stderr rollout --image "$IMG@$V2" --gate true
	[ "$status" -eq 0 ]
}

@test "rollout: a failing --check reverts; checks see the wave's hosts" {
	start_fleet 8
	run --separate-stderr rollout --image "$IMG@$V2" --json \
		--check 'echo "$RAMP_WAVE|$RAMP_WAVE_HOSTS|$RAMP_WAVE_ADDRS|$RAMP_GENERATION" >>'"$T/checks.log"'; test "$RAMP_WAVE" -lt 3'
	[ "$status" -eq 1 ]
	[ "$(sed -n 1p "$T/checks.log")" = "1|h1|127.1.0.1:$FAKE_PORT|2" ]
	[ "$(sed -n 2p "$T/checks.log")" = "2|h2 h3|127.1.0.2:$FAKE_PORT 127.1.0.3:$FAKE_PORT|2" ]
	[ "$(sed -n 3p "$T/checks.log" | cut -d'|' -f1,2)" = "3|h4 h5 h6 h7" ]
	[[ "$(events failure | jq -r .reason)" == *"exited with status 1"* ]]
	[ "$(events revert | jq -r '.hosts | length')" = 7 ]
	[ "$(digests)" = "$V1" ]
}

@test "rollout: orchestrator-side probes must pass; a failing one names its URL and output" {
	start_fleet 8
	run --separate-stderr rollout --image "$IMG@$V2" --probe "http://{host}/healthz" --json
	[ "$status" -eq 0 ]
	run --separate-stderr rollout --image "$IMG@$V3" --probe "http://{address}:$FAKE_PORT/nope-{name}" --json
	[ "$status" -eq 1 ]
	f=$(events failure)
	[ "$(jq -r .host <<<"$f")" = h1 ]
	[ "$(jq -r .reason <<<"$f")" = "probe http://127.1.0.1:$FAKE_PORT/nope-h1: HTTP 404" ]
	[[ "$(jq -r .probe <<<"$f")" == *not_found* ]]
	[ "$(digests)" = "$V2" ]
}

@test "rollout: failures within --max-unhealthy are reverted on their own; the rollout goes on" {
	start_fleet 8
	behave "h3 crash $V2"
	run --separate-stderr rollout --image "$IMG@$V2" --max-unhealthy 1 --json
	[ "$status" -eq 0 ]
	[ "$(events end | jq -r '.hosts[] | select(.host == "h3") | .state')" = reverted ]
	[[ "$(events end | jq -r '.hosts[] | select(.host == "h3") | .reason')" == *"phase failed"* ]]
	[ "$(digest_of h3)" = "$V1" ]
	[ "$(fake_state | jq -r '[.hosts[] | select(.name != "h3") | .apps.web.current.digest] | unique | join(" ")')" = "$V2" ]
	# two failures are one too many
	behave "h5 crash $V3"
	behave "h6 crash $V3"
	run --separate-stderr rollout --image "$IMG@$V3" --max-unhealthy 1 --json
	[ "$status" -eq 1 ]
}

@test "rollout: --on-failure pause leaves the hosts, --abort reverts them" {
	start_fleet 8
	behave "h3 crash $V2"
	run --separate-stderr rollout --image "$IMG@$V2" --on-failure pause --json
	[ "$status" -eq 3 ]
	id=$(events start | jq -r .rollout)
	[ -n "$(events paused)" ]
	[ "$(digest_of h1)" = "$V2" ]
	[ "$(digest_of h2)" = "$V2" ]
	# unfinished: a new rollout is refused
	run --separate-stderr rollout --image "$IMG@$V3"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"rollout $id of web on"*"is unfinished"* ]]
	run --separate-stderr "$RAMP_BIN" rollout --abort "$id" --state-dir "$T/state" --json
	[ "$status" -eq 0 ]
	[ "$(events end | jq -r .result)" = aborted ]
	[ "$(digests)" = "$V1" ]
	all_healthy
	run --separate-stderr "$RAMP_BIN" rollout --abort "$id" --state-dir "$T/state"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"has already ended: aborted"* ]]
}

@test "rollout: a new host has its app removed on revert; a host without a version to return to refuses" {
	start_fleet 8 --new h5
	behave "h6 crash $V2"
	run --separate-stderr rollout --image "$IMG@$V2" --json
	[ "$status" -eq 1 ]
	[ "$(events precheck | jq -c .before[4])" = null ]
	[ "$(digest_of h5)" = none ]
	[ "$(digest_of h4)" = "$V1" ]
	[ "$(fake_state | jq -r '.hosts[4].counts.delete')" = 1 ]
	# a host whose app is there but runs nothing yet
	behave "h5 start 60000"
	curl -sf -XPUT --data "{\"image\":\"$IMG@$V1\",\"generation\":9}" "http://127.1.0.5:$FAKE_PORT/v1/apps/web" >/dev/null
	puts=$(fake_state | jq '[.hosts[].counts.put] | add')
	run --separate-stderr rollout --image "$IMG@$V2"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"h5: runs no version of web to return to (phase pulling)"* ]]
	[ "$(fake_state | jq '[.hosts[].counts.put] | add')" = "$puts" ]
}

@test "rollout: an unreachable host at the precheck refuses the rollout" {
	start_fleet 4
	behave "h3 hang"
	run --separate-stderr rollout --image "$IMG@$V2" --request-timeout 500ms --json
	[ "$status" -eq 2 ]
	[[ "$(events precheck | jq -r '.problems[0].host + ": " + .problems[0].reason')" == "h3: unreachable: "* ]]
	[ "$(fake_state | jq '[.hosts[].counts.put] | add')" = 0 ]
}

@test "rollout: a host whose connection is refused (a mistyped port) refuses the rollout at once, naming it" {
	start_fleet 2
	echo "h9 127.0.0.1:1" >>"$FLEET"
	# waiting for --unreachable-after would take ten minutes: timeout's 124 fails the test
	run --separate-stderr timeout 60 "$RAMP_BIN" rollout --app web --fleet "$FLEET" --state-dir "$T/state" \
		--allow-untested --image "$IMG@$V2" --request-timeout 10m --unreachable-after 10m
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"h9: unreachable: connection refused at 127.0.0.1:1: nothing listens there (is the address in the fleet file right, and rampd running?)"* ]]
	[ "$(fake_state | jq '[.hosts[].counts.put] | add')" = 0 ]
	# the same for a fleet-wide revert
	run --separate-stderr timeout 60 "$RAMP_BIN" revert --app web --fleet "$FLEET" --request-timeout 10m
	[ "$status" -eq 3 ]
	[[ "$output" == *"h9 "*"connection refused at 127.0.0.1:1"* ]]
}

@test "rollout: local inputs (fleet file, token file) are checked before the registry: exit 2, nothing written" {
	# a registry that does not answer: asking it first would say so instead
	export RAMP_REGISTRY_RETRIES=0
	printf 'h1 127.0.0.1:7300\nh1 127.0.0.1:7301\n' >"$T/dup.txt"
	run --separate-stderr "$RAMP_BIN" rollout --app web --fleet "$T/dup.txt" --state-dir "$T/state" --image 127.0.0.1:1/web:1.0
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"line 2: host name \"h1\" is already used on line 1"* ]]
	[[ "$stderr" != *"127.0.0.1:1"* ]]
	run --separate-stderr "$RAMP_BIN" rollout --app web --fleet "$T/none.txt" --state-dir "$T/state" --image 127.0.0.1:1/web:1.0
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"$T/none.txt"* ]]
	[[ "$stderr" != *"127.0.0.1:1"* ]]
	printf 'h1 127.0.0.1:7300\n' >"$T/fleet1.txt"
	run --separate-stderr "$RAMP_BIN" rollout --app web --fleet "$T/fleet1.txt" --state-dir "$T/state" \
		--image 127.0.0.1:1/web:1.0 --token-file "$T/no-token"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"host h1: token file \"$T/no-token\""* ]]
	[[ "$stderr" != *"127.0.0.1:1"* ]]
	# nothing was written: not even the state directory
	[ ! -e "$T/state" ]
}

@test "rollout: test records and tags are looked up at the registry; none answering refuses the rollout" {
	start_fleet 2
	export RAMP_REGISTRY_RETRIES=0
	run --separate-stderr "$RAMP_BIN" rollout --app web --fleet "$FLEET" --state-dir "$T/state" --image "127.0.0.1:1/web@$V2"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"image 127.0.0.1:1/web@$V2"* ]]
	run --separate-stderr rollout --image "127.0.0.1:1/web:v2"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"image 127.0.0.1:1/web:v2"* ]]
	[ "$(fake_state | jq '[.hosts[].counts.put] | add')" = 0 ]
}

# put_blob FILE, put_manifest REF MEDIATYPE FILE: push to $REG/web; the digest on stdout
put_blob() {
	local d=sha256:$(sha256sum "$1" | cut -d' ' -f1) loc
	loc=$(curl -sf -XPOST -D- -o /dev/null "http://$REG/v2/web/blobs/uploads/" | tr -d '\r' | awk 'tolower($1) == "location:" {print $2}')
	curl -sf -XPUT -H 'Content-Type: application/octet-stream' --data-binary "@$1" "$loc&digest=$d" >/dev/null
	echo "$d"
}
put_manifest() {
	curl -sf -XPUT -H "Content-Type: $2" --data-binary "@$3" "http://$REG/v2/web/manifests/$1" >/dev/null
	echo "sha256:$(sha256sum "$3" | cut -d' ' -f1)"
}
get_manifest() { curl -sf -H "Accept: $1" "http://$REG/v2/web/manifests/$2"; }

@test "rollout: test records about another image (by their subject or by their content) do not count" {
	start_fleet_registry
	start_fleet 2
	# two images; Y has a genuine passing record of `ramp test`, X none of its own
	for n in x y; do
		mkdir -p "$T/$n/bin"
		cp /bin/busybox "$T/$n/bin/busybox"
		echo "$n" >"$T/$n/name"
		"$RAMP_BIN" -q build "$T/$n" -o "$T/$n.tar" >/dev/null
	done
	"$RAMP_BIN" -q test --store "$T/store" "$T/y.tar" -- /bin/busybox true >/dev/null
	X=$("$RAMP_BIN" -q push "$T/x.tar" "$REG/web:x" | tail -1)
	Y=$("$RAMP_BIN" -q push "$T/y.tar" "$REG/web:y" | tail -1)
	oci_index=application/vnd.oci.image.index.v1+json
	oci_manifest=application/vnd.oci.image.manifest.v1+json
	# Y's record as the registry serves it (the tag schema: sha256-HEX lists the referrers)
	get_manifest $oci_index "sha256-${Y#sha256:}" >"$T/y.idx"
	[ "$(jq '.manifests | length' "$T/y.idx")" = 1 ]
	get_manifest $oci_manifest "$(jq -r '.manifests[0].digest' "$T/y.idx")" >"$T/y.rec"
	curl -sf "http://$REG/v2/web/blobs/$(jq -r '.layers[0].digest' "$T/y.rec")" >"$T/y.json"
	[ "$(jq -r .image "$T/y.json")" = "$Y" ]
	# A: attached to Y (subject), but says it is about X; B: attached to X, but about Y
	jq -c --arg x "$X" '.image = $x' "$T/y.json" >"$T/x.json"
	xb=$(put_blob "$T/x.json")
	jq -c --arg d "$xb" --argjson n "$(stat -c %s "$T/x.json")" '.layers[0].digest = $d | .layers[0].size = $n' \
		"$T/y.rec" >"$T/a.rec"
	jq -c --arg d "$X" --argjson n "$(get_manifest $oci_manifest "$X" | wc -c)" \
		'.subject.digest = $d | .subject.size = $n' "$T/y.rec" >"$T/b.rec"
	a=$(put_manifest rec-a $oci_manifest "$T/a.rec")
	b=$(put_manifest rec-b $oci_manifest "$T/b.rec")
	# both listed as X's referrers
	jq -c --arg a "$a" --arg b "$b" --argjson na "$(stat -c %s "$T/a.rec")" --argjson nb "$(stat -c %s "$T/b.rec")" \
		'.manifests = [(.manifests[0] | .digest = $a | .size = $na), (.manifests[0] | .digest = $b | .size = $nb)]' \
		"$T/y.idx" >"$T/x.idx"
	put_manifest "sha256-${X#sha256:}" $oci_index "$T/x.idx" >/dev/null
	run --separate-stderr "$RAMP_BIN" rollout --app web --fleet "$FLEET" --state-dir "$T/state" --image "$REG/web@$X" \
		--bake 0 --poll 20ms
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"test record $a ignored: its subject is not $X"* ]]
	[[ "$stderr" == *"test record $b ignored: the record is about $Y"* ]]
	[[ "$stderr" == *"no passing test record for linux/"*"0 records found"* ]]
	[ "$(fake_state | jq '[.hosts[].counts.put] | add')" = 0 ]
	# Y's own record, read the same way, lets Y roll out
	run --separate-stderr "$RAMP_BIN" rollout --app web --fleet "$FLEET" --state-dir "$T/state" --image "$REG/web@$Y" \
		--bake 0 --poll 20ms
	[ "$status" -eq 0 ] || { echo "$stderr"; false; }
	[ "$(digests)" = "$Y" ]
}

@test "fencing: the simulator refuses older generations exactly as API.md says" {
	start_fleet 1
	u=http://127.1.0.1:$FAKE_PORT/v1/apps/web
	put() { curl -s -o "$T/body" -w '%{http_code}' -XPUT --data "{\"image\":\"$IMG@$1\",\"rollout\":\"r\",\"generation\":$2}" "$u"; }
	[ "$(put "$V2" 5)" = 202 ]
	[ "$(put "$V2" 5)" = 202 ]                 # the same request again is harmless
	[ "$(put "$V3" 5)" = 409 ]                 # same generation, other image
	[ "$(jq -r .error "$T/body")" = conflict ]
	[ "$(put "$V3" 4)" = 409 ]
	[ "$(jq -r .error "$T/body")" = stale_generation ]
	[ "$(curl -s -o "$T/body" -w '%{http_code}' -XPOST --data '{"to":"previous","generation":4}' "$u/revert")" = 409 ]
	[ "$(curl -s -o "$T/body" -w '%{http_code}' -XDELETE --data '{"generation":4}' "$u")" = 409 ]
	[ "$(put "$V3" 6)" = 202 ]
	[ "$(curl -s -o "$T/body" -w '%{http_code}' -XPUT --data "{\"image\":\"$IMG:tag\",\"generation\":7}" "$u")" = 400 ]
	[ "$(curl -s -o "$T/body" -w '%{http_code}' -XPUT --data "{\"image\":\"$IMG@$V3\",\"generation\":7,\"x\":1}" "$u")" = 400 ]
	[ "$(curl -s -o "$T/body" -w '%{http_code}' -XPOST --data "{\"to\":\"sha256:$(printf '9%.0s' {1..64})\",\"generation\":7}" "$u/revert")" = 422 ]
}

@test "fencing: a newer orchestrator supersedes an older one, which stops without undoing it" {
	start_fleet 8
	behave "* start 300"
	# A: slow rollout of V2; B (elsewhere: another state directory) takes over with V3
	rollout_bg "$T/a.out" --image "$IMG@$V2" --bake 2s --json
	a=$BG
	wait_for "$T/a.out" '"event":"wave"'
	sleep 0.5
	run --separate-stderr "$RAMP_BIN" rollout --app web --fleet "$FLEET" --state-dir "$T/state-b" --allow-untested \
		--image "$IMG@$V3" --bake 200ms --poll 20ms --json
	[ "$status" -eq 0 ]
	[ "$(events precheck | jq -r .generation)" = 3 ]
	wait "$a" && st=0 || st=$?
	[ "$st" -eq 3 ]
	output=$(cat "$T/a.out")
	[ "$(events superseded | jq -r .generation)" = 3 ]
	[ "$(events end | jq -r .result)" = superseded ]
	[ -z "$(events revert)" ]
	[ "$(digests)" = "$V3" ]
	# A's journal is finished: a new rollout from its state directory is not refused
	[ "$(jq -r 'select(.event == "end") | .result' "$T"/state/rollouts/*.jsonl)" = superseded ]
}

@test "locks: a second rollout of the same app and fleet is refused while one runs" {
	start_fleet 4
	rollout_bg "$T/a.out" --image "$IMG@$V2" --bake 700ms --json
	a=$BG
	wait_for "$T/a.out" '"event":"wave"'
	run --separate-stderr rollout --image "$IMG@$V3"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"a rollout of web on $T/fleet.txt is running: "* ]]
	run --separate-stderr "$RAMP_BIN" rollout list --state-dir "$T/state"
	[[ "$output" == *" running"* ]]
	wait "$a"
	[ "$(digests)" = "$V2" ]
	run --separate-stderr rollout --image "$IMG@$V3"
	[ "$status" -eq 0 ]
	[ "$(digests)" = "$V3" ]
}

@test "locks: an orchestrator killed mid-rollout blocks new ones until --resume, --abort or --takeover" {
	start_fleet 4
	rollout_bg "$T/a.out" --image "$IMG@$V2" --bake 1s --json
	a=$BG
	wait_for "$T/a.out" '"event":"wave"'
	kill -9 "$a"
	wait "$a" || true
	id=$(jq -r 'select(.event == "start") | .rollout' "$T/a.out")
	run --separate-stderr rollout --image "$IMG@$V3"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"rollout $id of web"*"is unfinished"*"--resume $id"* ]]
	run --separate-stderr rollout --image "$IMG@$V3" --takeover --json
	[ "$status" -eq 0 ]
	[ "$(events start | jq -r .takeover)" = "$id" ]
	[ "$(digests)" = "$V3" ]
	# the taken-over rollout is closed and cannot be resumed
	[ "$(jq -r 'select(.event == "end") | .result' "$T/state/rollouts/$id.jsonl")" = superseded ]
	run --separate-stderr "$RAMP_BIN" rollout --resume "$id" --state-dir "$T/state"
	[ "$status" -eq 2 ]
}

@test "rollout: --dry-run prints the waves and the duration bounds, and contacts nobody" {
	start_fleet 8
	run --separate-stderr rollout --image "$IMG@$V2" --dry-run --spread zone --bake 30s --health-deadline 5m
	[ "$status" -eq 0 ]
	[[ "$output" == *"plan: web on 8 hosts in 4 waves (bake 30.0s, health deadline 5m00s, 64 at a time)"* ]]
	[[ "$output" == *"wave 1 (1 host): h1(a)"* ]]
	[[ "$output" == *"wave 2 (2 hosts): h2(b) h3(a)"* ]]
	[[ "$output" == *"wave 4 (1 host): h8(b)"* ]]
	[[ "$output" == *"at least 2m00s"*"at most 20m00s"* ]]
	run --separate-stderr rollout --image "$IMG@$V2" --dry-run --steps 1,50%,100% --json
	[ "$status" -eq 0 ]
	[ "$(jq -c '[.waves[].hosts | length]' <<<"$output")" = "[1,3,4]" ]
	[ "$(jq -r .minSeconds <<<"$output")" = 0 ]
	[ "$(fake_state | jq '[.hosts[].counts | .get + .put] | add')" = 0 ]
	[ ! -d "$T/state/rollouts" ] || [ -z "$(ls "$T/state/rollouts")" ]
}

@test "rollout: usage errors exit 2" {
	start_fleet 2
	for v in "rollout --help" "revert --help" "fleet --help" "fleet status --help"; do
		run $RAMP_BIN $v
		[ "$status" -eq 0 ]
		[[ "$output" == usage:* ]]
	done
	run --separate-stderr "$RAMP_BIN" rollout --app web --fleet "$FLEET"
	[ "$status" -eq 2 ]
	run --separate-stderr rollout --image "$IMG@$V2" --steps 1,0
	[ "$status" -eq 2 ]
	run --separate-stderr rollout --image "$IMG@$V2" --bake 10m
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"--bake must be shorter than --health-deadline"* ]]
	run --separate-stderr rollout --image "$IMG@$V2" --probe 'ftp://x'
	[ "$status" -eq 2 ]
	run --separate-stderr "$RAMP_BIN" rollout --app 'Web!' --image "$IMG@$V2" --fleet "$FLEET" --state-dir "$T/state" --allow-untested
	[ "$status" -eq 2 ]
	printf 'h1 127.1.0.1:%s\nh1 127.1.0.2:%s\n' "$FAKE_PORT" "$FAKE_PORT" >"$T/dup.txt"
	run --separate-stderr "$RAMP_BIN" rollout --app web --image "$IMG@$V2" --fleet "$T/dup.txt" --state-dir "$T/state" --allow-untested
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"line 2: host name \"h1\" is already used on line 1"* ]]
	run --separate-stderr "$RAMP_BIN" rollout --resume '../x' --state-dir "$T/state"
	[ "$status" -eq 2 ]
}

@test "rollout: agents behind a bearer token" {
	printf 's3cret-0123456789abcdef\n' >"$T/token"
	chmod 600 "$T/token"
	start_fleet 4 --token "$T/token"
	# no --token-file: the option and the host are named, not just "HTTP 401" (issue 14)
	run --separate-stderr rollout --image "$IMG@$V2"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"h1: HTTP 401: 127.1.0.1:"*" asks for a bearer token and none was given: pass --token-file FILE"* ]]
	run --separate-stderr "$RAMP_BIN" fleet status --fleet "$FLEET" --app web
	[[ "${lines[1]}" == "h1  "*"asks for a bearer token and none was given: pass --token-file FILE"* ]]
	# a token the hosts do not take: which file's
	printf 'another-token-0123456789\n' >"$T/other"
	chmod 600 "$T/other"
	run --separate-stderr rollout --image "$IMG@$V2" --token-file "$T/other"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"h1: HTTP 401: 127.1.0.1:"*" refused the token of \"$T/other\""* ]]
	run --separate-stderr rollout --image "$IMG@$V2" --token-file "$T/token"
	[ "$status" -eq 0 ]
	printf 'bad token with blanks\n' >"$T/bad"
	chmod 600 "$T/bad"
	run --separate-stderr rollout --image "$IMG@$V3" --token-file "$T/bad"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"the token must be printable characters without blanks"* ]]
	# a token file others can read, or another user's (issue 13 item 7)
	cp "$T/token" "$T/open" && chmod 644 "$T/open"
	run --separate-stderr rollout --image "$IMG@$V3" --token-file "$T/open"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"token file \"$T/open\" is accessible by others than its owner (mode 0644): run \"chmod 600 $T/open\""* ]]
	cp -p "$T/token" "$T/theirs" && chown 65534 "$T/theirs"
	run --separate-stderr rollout --image "$IMG@$V3" --token-file "$T/theirs"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"token file \"$T/theirs\" belongs to uid 65534"* ]]
	[ "$(digests)" = "$V2" ]
	# per host, as a label
	sed -i "s|\$| token_file=$T/token|" "$FLEET"
	sed -i '1d' "$FLEET"
	run --separate-stderr rollout --image "$IMG@$V3"
	[ "$status" -eq 0 ]
	[ "$(digests)" = "$V3" ]
}

@test "rollout: agents on TLS, checked against --cacert" {
	make_certs
	start_fleet 4 --tls-cert "$T/srv.pem" --tls-key "$T/srv.key"
	run --separate-stderr rollout --image "$IMG@$V2" --request-timeout 500ms
	[ "$status" -eq 2 ] # plain HTTP to a TLS agent: no answer
	[[ "$stderr" == *"h1: unreachable: Empty reply from server"* ]]
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/other.key" -out "$T/other.pem" \
		-days 2 -subj /CN=other 2>/dev/null
	run --separate-stderr rollout --image "$IMG@$V2" --cacert "$T/other.pem"
	[ "$status" -eq 2 ] # a certificate nobody vouches for
	[[ "$stderr" == *"certificate"* ]]
	run --separate-stderr rollout --image "$IMG@$V2" --cacert "$T/ca.pem" --json
	[ "$status" -eq 0 ]
	[ "$(digests)" = "$V2" ]
	[ "$(events start | jq -r .options.cacert)" = "$T/ca.pem" ]
	run --separate-stderr "$RAMP_BIN" fleet status --fleet "$FLEET" --cacert "$T/ca.pem" --json
	[ "$status" -eq 0 ]
	[ "$(jq -r '[.hosts[].digest] | unique | join(" ")' <<<"$output")" = "$V2" ]
}

@test "rollout: SIGTERM stops cleanly; the journal says where, --resume finishes" {
	start_fleet 8
	rollout_bg "$T/a.out" --image "$IMG@$V2" --bake 500ms --json
	wait_for "$T/a.out" '"event":"wave_passed"'
	kill -TERM "$BG"
	wait "$BG" && st=0 || st=$?
	[ "$st" -eq 3 ]
	output=$(cat "$T/a.out")
	id=$(events start | jq -r .rollout)
	[ -n "$(events interrupted)" ]
	[[ "$(cat "$T/a.out.err")" == *"interrupted: rollout $id is unfinished"* ]]
	run --separate-stderr "$RAMP_BIN" rollout --resume "$id" --state-dir "$T/state" --json
	[ "$status" -eq 0 ]
	[ "$(events resume | jq -r .pid)" -gt 0 ]
	[ "$(events end | jq -r .result)" = done ]
	[ "$(digests)" = "$V2" ]
	all_healthy
}

@test "rollout list and show read the journals" {
	start_fleet 4
	behave "h2 crash $V3"
	rollout --image "$IMG@$V2" >/dev/null
	run --separate-stderr rollout --image "$IMG@$V3" --json
	[ "$status" -eq 1 ]
	id=$(events start | jq -r .rollout)
	run --separate-stderr "$RAMP_BIN" rollout list --state-dir "$T/state"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 3 ]
	[[ "${lines[1]}" == *" 3/3 "*done ]]
	[[ "${lines[2]}" == "$id"*" 1/3 "*rolled_back ]]
	run --separate-stderr "$RAMP_BIN" rollout show "$id" --state-dir "$T/state" --json
	[ "$status" -eq 0 ]
	[ "$(jq -r .status <<<"$output")" = rolled_back ]
	[ "$(jq -r .exit <<<"$output")" = 1 ]
	[ "$(jq -r '.hosts[1].state' <<<"$output")" = reverted ]
	[ "$(jq -r '.hosts[1].before' <<<"$output")" = "$V2" ]
	[[ "$(jq -r .failure <<<"$output")" == "h2 (wave 2): phase failed"* ]]
	run --separate-stderr "$RAMP_BIN" rollout show "$id" --state-dir "$T/state"
	[[ "$output" == *"status      rolled_back"* ]]
	[[ "$output" == *"waves       1 of 3 passed"* ]]
	run --separate-stderr "$RAMP_BIN" rollout show nosuch --state-dir "$T/state"
	[ "$status" -eq 1 ]
	# a journal with garbage is refused with its line number
	printf 'garbage\n' >>"$T/state/rollouts/$id.jsonl"
	run --separate-stderr "$RAMP_BIN" rollout show "$id" --state-dir "$T/state"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"$id.jsonl: line "*": invalid JSON"* ]]
}
