#!/usr/bin/env bats
bats_require_minimum_version 1.5.0
# attest.bats: signed test records end to end: `ramp key generate`, `ramp test
# --sign-key`, a signature checked by openssl over a PAE rebuilt here in shell,
# `ramp inspect --trust`, `ramp rollout --trust` against a real registry and
# real rampd hosts, and rampd's own trust gate refusing what no trusted key
# vouched for (docs/SECURITY.md "Signed test records").

load rampd_helpers

# sign_image NAME VERSION KEY [ramp build flags...]: the demo app built, tested
# with `ramp test --sign-key KEY` (or unsigned when KEY is -) and pushed as
# $REG/hello:NAME with its record; prints the digest-pinned reference
sign_image() {
	local name=$1 version=$2 key=$3 d=$BATS_FILE_TMPDIR/img-$1 sign=()
	shift 3
	[ "$key" = - ] || sign=(--sign-key "$key")
	mkdir -p "$d/tree"
	cp "$RAMP_HELLO" "$d/tree/hello"
	"$RAMP_BIN" -q build "$d/tree" -o "$d/image.tar" --entrypoint /hello --port 8080 \
		--health-http 8080/health --health-interval 200ms --env "HELLO_VERSION=$version" "$@" >/dev/null
	RAMP_STORE=$BATS_FILE_TMPDIR/store "$RAMP_BIN" -q test "${sign[@]}" "$d/image.tar" -- /hello --self-test \
		>/dev/null 2>&1 || true
	echo "$REG/hello@$("$RAMP_BIN" -q push "$d/image.tar" "$REG/hello:$name" | tail -1)"
}

# policy FILE KEY_DIR... [--revoke ID]: a trust policy for $REG/hello trusting those keys
policy() {
	local f=$1 keys= k revoked=
	shift
	while [ $# -gt 0 ]; do
		if [ "$1" = --revoke ]; then revoked="\"$2\""; shift 2; continue; fi
		k=$(grep -v -- ----- "$1/ramp.pub" | tr -d '\n')
		keys="$keys${keys:+,}{\"name\": \"$(basename "$1")\", \"publicKey\": \"$k\"}"
		shift
	done
	cat >"$f" <<JSON
{"version": "1",
 "trustPolicies": [{"name": "hello", "registryScopes": ["$REG/hello"], "trustedKeys": [$keys]}],
 "revokedKeys": [$revoked]}
JSON
}

setup_file() {
	export REGDIR=$BATS_FILE_TMPDIR/registry K=$BATS_FILE_TMPDIR/keys
	export REG S1 S2 S3 UNTRUSTED UNSIGNED FAILED
	REG=$(start_registry "$REGDIR")
	"$RAMP_BIN" -q key generate "$K/ci" >/dev/null
	"$RAMP_BIN" -q key generate "$K/other" >/dev/null
	S1=$(sign_image s1 s1 "$K/ci/ramp.key")
	S2=$(sign_image s2 s2 "$K/ci/ramp.key")
	S3=$(sign_image s3 s3 "$K/ci/ramp.key")
	UNTRUSTED=$(sign_image untrusted untrusted "$K/other/ramp.key")
	UNSIGNED=$(sign_image unsigned unsigned -)
	FAILED=$(sign_image failed failed "$K/ci/ramp.key" --env HELLO_MODE=crash)
	policy "$BATS_FILE_TMPDIR/trust.json" "$K/ci"
}

teardown_file() { stop_registry "$REGDIR"; }

setup() {
	common_setup
	PORT=$(free_port)
}

teardown() { rampd_teardown; }

@test "attest: ramp key generate writes PEM keys openssl reads, the private one 0600, and never replaces them" {
	run -0 --separate-stderr "$RAMP_BIN" key generate "$T/k"
	id=$output
	[[ "$stderr" == *'{"name": "NAME", "publicKey": "MCowBQYDK2VwAyEA'* ]]
	[[ "$id" =~ ^sha256:[0-9a-f]{64}$ ]]
	[ "$(stat -c %a "$T/k/ramp.key")" = 600 ]
	run -0 openssl pkey -in "$T/k/ramp.key" -noout -text
	[[ "$output" == "ED25519 Private-Key:"* ]]
	# the key id is the sha256 of the public key's DER, and the private key holds that public key
	[ "sha256:$(openssl pkey -pubin -in "$T/k/ramp.pub" -outform DER | sha256sum | cut -d' ' -f1)" = "$id" ]
	[ "$(openssl pkey -in "$T/k/ramp.key" -pubout)" = "$(cat "$T/k/ramp.pub")" ]
	before=$(sha256sum "$T/k/ramp.key")
	run -2 "$RAMP_BIN" key generate "$T/k"
	[[ "$output" == *"already holds a key"*"not replaced"* ]]
	[ "$(sha256sum "$T/k/ramp.key")" = "$before" ]
	# a key openssl made signs too; one others can read is refused before the test runs
	openssl genpkey -algorithm ed25519 -out "$T/o.key"
	chmod 644 "$T/o.key"
	run -2 "$RAMP_BIN" test --sign-key "$T/o.key" "$BATS_FILE_TMPDIR/img-s1/image.tar" -- /hello --self-test
	[[ "$output" == *"can be read by others (mode 0644): chmod 600 it"* ]]
}

@test "attest: openssl verifies a record's signature over the PAE rebuilt in shell with the key's PEM" {
	x=$T/x
	mkdir -p "$x"
	tar -xf "$BATS_FILE_TMPDIR/img-s1/image.tar" -C "$x"
	# the artifact whose layer is the DSSE envelope
	env=
	# the records are listed in the index blob that index.json's annotation names (docs/IMAGE.md)
	refs=$(jq -r '.annotations["io.ramp.referrers"]' "$x/index.json")
	[ "$refs" != null ]
	for m in $(jq -r '.manifests[] | select(.artifactType == "application/vnd.ramp.test-record.v1+json") | .digest' "$x/blobs/sha256/${refs#sha256:}"); do
		l=$(jq -r 'select(.layers[0].mediaType == "application/vnd.in-toto.test-result+dsse") | .layers[0].digest' \
			"$x/blobs/sha256/${m#sha256:}")
		[ -n "$l" ] && env=$x/blobs/sha256/${l#sha256:}
	done
	[ -n "$env" ]
	type=$(jq -r .payloadType "$env")
	[ "$type" = application/vnd.in-toto+json ]
	jq -r .payload "$env" | base64 -d >"$T/payload"
	jq -r '.signatures[0].sig' "$env" | base64 -d >"$T/sig"
	[ "$(jq -r '.signatures[0].keyid' "$env")" = "sha256:$(openssl pkey -pubin -in "$K/ci/ramp.pub" -outform DER | sha256sum | cut -d' ' -f1)" ]
	# PAE = "DSSEv1" SP len(type) SP type SP len(body) SP body
	{ printf 'DSSEv1 %d %s %d ' "${#type}" "$type" "$(stat -c %s "$T/payload")"; cat "$T/payload"; } >"$T/pae"
	run -0 openssl pkeyutl -verify -pubin -inkey "$K/ci/ramp.pub" -rawin -in "$T/pae" -sigfile "$T/sig"
	[[ "$output" == *"Signature Verified Successfully"* ]]
	# the statement is about the image, PASSED, with the test's command, platform and kernel
	[ "$(jq -r '.subject[0].digest.sha256' "$T/payload")" = "${S1#*@sha256:}" ]
	[ "$(jq -r .predicateType "$T/payload")" = https://in-toto.io/attestation/test-result/v0.1 ]
	[ "$(jq -r .predicate.result "$T/payload")" = PASSED ]
	[ "$(jq -c '.predicate.configuration[0].annotations | [.command, .platform.os, .kernel == "'"$(uname -r)"'"]' "$T/payload")" = \
		'[["/hello","--self-test"],"linux",true]' ]
	# one changed byte of the payload and openssl says no
	sed -i 's/PASSED/FAILED/' "$T/payload"
	{ printf 'DSSEv1 %d %s %d ' "${#type}" "$type" "$(stat -c %s "$T/payload")"; cat "$T/payload"; } >"$T/pae"
	run openssl pkeyutl -verify -pubin -inkey "$K/ci/ramp.pub" -rawin -in "$T/pae" -sigfile "$T/sig"
	[ "$status" -ne 0 ]
}

@test "attest: ramp test --sign-key signs PASSED and FAILED statements; ramp inspect --trust tells trusted from not" {
	run -1 "$RAMP_BIN" inspect --trust "$BATS_FILE_TMPDIR/trust.json" --scope "$REG/hello" "$BATS_FILE_TMPDIR/img-failed/image.tar"
	[[ "$output" == *"FAILED, exit 1"*"NOT trusted by policy \"hello\": result FAILED"* ]]
	[[ "$output" == *"no test record is trusted by policy \"hello\""* ]]
	run -0 "$RAMP_BIN" inspect --trust "$BATS_FILE_TMPDIR/trust.json" --scope "$REG/hello" "$BATS_FILE_TMPDIR/img-s1/image.tar"
	[[ "$output" == *"PASSED, exit 0"*"signed by key \"ci\" ("*"): trusted by policy \"hello\""* ]]
	run -1 "$RAMP_BIN" inspect --trust "$BATS_FILE_TMPDIR/trust.json" --scope "$REG/hello" "$BATS_FILE_TMPDIR/img-untrusted/image.tar"
	[[ "$output" == *"is not trusted by policy \"hello\""* ]]
	run -0 "$RAMP_BIN" inspect --json "$BATS_FILE_TMPDIR/img-unsigned/image.tar"
	[ "$(jq -c '.testRecords[] | [.signed, .result]' <<<"$output")" = '[false,"PASSED"]' ]
	run -0 "$RAMP_BIN" inspect "$BATS_FILE_TMPDIR/img-untrusted/image.tar"
	[[ "$output" == *"unverified (no --trust)"* ]]
	run -2 "$RAMP_BIN" inspect --trust "$BATS_FILE_TMPDIR/trust.json" "$BATS_FILE_TMPDIR/img-s1/image.tar"
	[[ "$output" == *"no global scope"* ]]
}

# two rampd hosts, each with the trust policy; prints nothing, sets FLEET, TOKEN
fleet_up() {
	head -c 24 /dev/urandom | base64 | tr -d '\n/+=' >"$T/token"
	chmod 600 "$T/token"
	TOKEN=$T/token FLEET=$T/fleet.txt
	: >"$FLEET"
	for i in 1 2; do
		local d=$T/h$i api app
		mkdir -p "$d"
		api=$(free_port)
		app=$(free_port)
		echo "$app" >"$d/app"
		cat >"$d/rampd.json" <<JSON
{"state_dir": "$d/state", "socket": "$d/rampd.sock", "listen": ["127.0.0.1:$api"], "token_file": "$TOKEN",
 "trust_policy": "$BATS_FILE_TMPDIR/trust.json",
 "apps": {"web": {"ports": {"8080": "127.0.0.1:$app"}, "stop_grace": "1s"}}}
JSON
		echo "h$i 127.0.0.1:$api" >>"$FLEET"
		"$RAMPD_BIN" --config "$d/rampd.json" 2>>"$T/rampd.log" </dev/null 3>&- &
		echo $! >>"$T/rampd.pids"
		for _ in $(seq 200); do
			curl -sf --unix-socket "$d/rampd.sock" http://rampd/healthz >/dev/null 2>&1 && break
			sleep 0.05
		done
	done
}

rollout() {
	"$RAMP_BIN" rollout --app web --fleet "$FLEET" --token-file "$TOKEN" --state-dir "$T/state" --bake 200ms \
		--poll 50ms --health-deadline 20s --trust "$BATS_FILE_TMPDIR/trust.json" "$@"
}

@test "attest: ramp rollout --trust rolls out a signed image; untrusted, unsigned and FAILED records are refused (exit 2, the reason)" {
	fleet_up
	run --separate-stderr rollout --image "$S1" --json
	[ "$status" -eq 0 ] || { echo "$stderr"; false; }
	# the records that vouched are in the journal and on the rollout's page
	rec=$(jq -r 'select(.event == "precheck") | .records[] | "\(.platform) \(.result) \(.signed) \(.artifact)"' <<<"$output")
	[[ "$rec" =~ ^linux/[a-z0-9]+\ passed\ true\ sha256:[0-9a-f]{64}$ ]] || { echo "$rec"; false; }
	id=$(jq -r 'select(.event == "start") | .rollout' <<<"$output")
	"$RAMP_BIN" rollout show "$id" --state-dir "$T/state" --html "$T/s1.html"
	grep -qF "accepted by the trust policy: ${rec%% *} passed, signed (record ${rec##* })" "$T/s1.html"
	served_by "$(cat "$T/h1/app")" s1
	served_by "$(cat "$T/h2/app")" s1
	run --separate-stderr rollout --image "$UNTRUSTED"
	echo "$stderr"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"no test record of ${UNTRUSTED#*@} passes trust policy \"hello\" for linux/"*": signatures[0]: key sha256:"*" is not trusted by policy \"hello\""* ]]
	[[ "$stderr" == *"refused: no test record that the trust policy accepts; nothing was deployed"* ]]
	run --separate-stderr rollout --image "$UNSIGNED"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"not signed (a plain test record)"* ]]
	run --separate-stderr rollout --image "$FAILED"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"result FAILED"* ]]
	# nothing moved: both hosts still serve s1
	served_by "$(cat "$T/h1/app")" s1
	served_by "$(cat "$T/h2/app")" s1
	# a policy that does not parse is a usage error
	echo '{"version": "1"}' >"$T/bad.json"
	run -2 "$RAMP_BIN" rollout --app web --fleet "$FLEET" --image "$S1" --trust "$T/bad.json"
	[[ "$output" == *"--trust: \"$T/bad.json\": trust policy: missing field \"trustPolicies\""* ]]
	run -2 "$RAMP_BIN" rollout --app web --fleet "$FLEET" --image "$S1" --trust "$BATS_FILE_TMPDIR/trust.json" --allow-untested
}

# reload: rampd re-reads its config (SIGHUP); waits for the Nth "reloaded"
reload() {
	kill -HUP "$RAMPD_PID"
	for _ in $(seq 100); do [ "$(grep -c 'reloaded' "$T/rampd.log")" -ge "$1" ] && return 0; sleep 0.05; done
	return 1
}

@test "attest: rampd's trust policy refuses images deployed around the orchestrator; the app stays; a revert to a kept version needs no record" {
	side=$(free_port)
	apps="\"apps\": {\"web\": {\"ports\": {\"8080\": \"127.0.0.1:$PORT\"}, \"stop_grace\": \"1s\"},
		\"side\": {\"ports\": {\"8080\": \"127.0.0.1:$side\"}, \"stop_grace\": \"1s\"}}"
	write_config "$apps"
	start_rampd
	h() { "$RAMP_BIN" host --socket "$T/rampd.sock" "$@"; }
	run -0 h deploy web "$S1" --wait --timeout 30s
	# before the policy: the unsigned image runs in another app, so the store has it
	run -0 h deploy side "$UNSIGNED" --wait --timeout 30s
	policy "$T/trust.json" "$K/ci"
	write_config "\"trust_policy\": \"$T/trust.json\", $apps"
	reload 1
	run -0 h deploy web "$S2" --wait --timeout 30s
	served_by "$PORT" s2
	# the unsigned image, as a stolen token would send it: refused on the host, though in its store
	run h deploy web "$UNSIGNED" --wait --timeout 30s
	[ "$status" -eq 1 ]
	wait_app .phase failed
	api GET /v1/apps/web
	[ "$(jq -r .refused.digest <<<"$body")" = "${UNSIGNED#*@}" ]
	[[ "$(jq -r .refused.reason <<<"$body")" == *"not signed (a plain test record)"* ]]
	[[ "$(jq -r .message <<<"$body")" == "refused by the trust policy, staying on ${S2#*@}: "* ]]
	[ "$(jq -r .current.digest <<<"$body")" = "${S2#*@}" ]
	served_by "$PORT" s2
	# signed, but by a key the host does not trust
	run h deploy web "$UNTRUSTED" --wait --timeout 30s
	[ "$status" -eq 1 ]
	wait_app .refused.digest "${UNTRUSTED#*@}"
	[[ "$(jq -r .refused.reason <<<"$body")" == *"is not trusted by policy \"hello\""* ]]
	served_by "$PORT" s2
	# the key is revoked: a new version signed with it is refused ...
	policy "$T/trust.json" "$K/ci" --revoke "$("$RAMP_BIN" -q inspect --json "$BATS_FILE_TMPDIR/img-s3/image.tar" | jq -r '.testRecords[0].keyids[0]')"
	reload 2
	run h deploy web "$S3" --wait --timeout 30s
	[ "$status" -eq 1 ]
	wait_app .refused.digest "${S3#*@}"
	[[ "$(jq -r .refused.reason <<<"$body")" == *"is revoked"* ]]
	# ... but going back to a version the host keeps needs no record
	run -0 h revert web --to "${S1#*@}" --wait --timeout 30s
	served_by "$PORT" s1
	api GET /v1/apps/web
	[ "$(jq -r .refused <<<"$body")" = null ]
	# rampd refuses a config whose policy does not parse, naming the place
	echo '{"version": "1", "trustPolicies": [{"name": "x"}]}' >"$T/bad.json"
	write_config "\"trust_policy\": \"$T/bad.json\""
	run -1 "$RAMPD_BIN" --check-config --config "$T/rampd.json"
	[[ "$output" == *"trust policy: trustPolicies[0]: missing field \"registryScopes\""* ]]
}
