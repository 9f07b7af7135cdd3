#!/usr/bin/env bats
# registry_auth.bats: Basic (htpasswd) and Bearer token auth against a real
# registry; ramp login / logout; the credential files and helpers.

load registry_helpers

setup() {
	reg_setup
	IMG=$("$MKIMAGE" "$T/img" -n 2 -s 50000 -t v1 -r -a "$T/img.tar" | head -1)
	AUTH="$XDG_RUNTIME_DIR/containers/auth.json"
}

teardown() {
	reg_teardown
}

@test "basic: without credentials the message says how to log in" {
	start_basic_registry
	run "$RAMP_BIN" push "$T/img.tar" "$REG/app:v1"
	[ "$status" -eq 1 ]
	grep -qF "authentication required: run 'ramp login $REG'" <<<"$output"
}

@test "basic: login checks the password, writes auth.json 0600; push, pull, logout" {
	start_basic_registry
	run "$RAMP_BIN" login -u ramp --password-stdin "$REG" <<<"wrong"
	[ "$status" -eq 1 ]
	grep -q "authentication failed" <<<"$output"
	[ ! -e "$AUTH" ]
	run "$RAMP_BIN" login -u ramp --password-stdin "$REG" <<<"s3cret"
	[ "$status" -eq 0 ]
	[ "$(stat -c %a "$AUTH")" = 600 ]
	grep -q "\"$REG\"" "$AUTH"
	run "$RAMP_BIN" push "$T/img.tar" "$REG/app:v1"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "$IMG" ]
	run "$RAMP_BIN" pull "$REG/app:v1" -o "$T/out.tar"
	[ "$status" -eq 0 ]
	"$IMGCHECK" "$T/out.tar"
	run "$RAMP_BIN" logout "$REG"
	[ "$status" -eq 0 ]
	! grep -q "\"$REG\"" "$AUTH" || false
	run "$RAMP_BIN" logout "$REG"
	[ "$status" -eq 1 ]
	run "$RAMP_BIN" pull "$REG/app:v1" -o "$T/out2.tar"
	[ "$status" -eq 1 ]
}

@test "basic: --creds, REGISTRY_AUTH_FILE, ~/.docker/config.json and a credential helper" {
	start_basic_registry
	run "$RAMP_BIN" push --creds ramp:s3cret "$T/img.tar" "$REG/app:v1"
	[ "$status" -eq 0 ]
	run "$RAMP_BIN" push --creds ramp:bad "$T/img.tar" "$REG/app:v1"
	[ "$status" -eq 1 ]
	grep -q "authentication failed" <<<"$output"
	b64=$(printf 'ramp:s3cret' | base64)
	printf '{"auths":{"%s":{"auth":"%s"}}}' "$REG" "$b64" >"$T/other.json"
	REGISTRY_AUTH_FILE="$T/other.json" run "$RAMP_BIN" pull "$REG/app:v1" -o "$T/a.tar"
	[ "$status" -eq 0 ]
	mkdir -p "$HOME/.docker"
	printf '{"auths":{"http://%s/v1/":{"auth":"%s"}}}' "$REG" "$b64" >"$HOME/.docker/config.json"
	run "$RAMP_BIN" pull "$REG/app:v1" -o "$T/b.tar"
	[ "$status" -eq 0 ]
	# a credential helper named for the registry
	mkdir -p "$T/bin"
	cat >"$T/bin/docker-credential-ramptest" <<'EOS'
#!/bin/sh
read -r server
echo "$server" >>"$HELPER_LOG"
printf '{"ServerURL":"%s","Username":"ramp","Secret":"s3cret"}\n' "$server"
EOS
	chmod +x "$T/bin/docker-credential-ramptest"
	printf '{"credHelpers":{"%s":"ramptest"}}' "$REG" >"$HOME/.docker/config.json"
	HELPER_LOG="$T/helper.log" PATH="$T/bin:$PATH" run "$RAMP_BIN" pull "$REG/app:v1" -o "$T/c.tar"
	[ "$status" -eq 0 ]
	grep -qx "$REG" "$T/helper.log"
	# a broken auth file is an error naming the file, not a silent anonymous pull
	printf '{"auths":{"%s":{"auth":"!!!"}}}' "$REG" >"$HOME/.docker/config.json"
	run "$RAMP_BIN" pull "$REG/app:v1" -o "$T/d.tar"
	[ "$status" -eq 1 ]
	grep -q "config.json" <<<"$output"
}

@test "token: login, push and pull with one token per scope; skopeo with the same credentials" {
	start_token_registry
	run "$RAMP_BIN" push "$T/img.tar" "$REG/app:v1"
	[ "$status" -eq 1 ]
	grep -qF "authentication required: run 'ramp login $REG'" <<<"$output"
	run "$RAMP_BIN" login -u ramp --password-stdin "$REG" <<<"nope"
	[ "$status" -eq 1 ]
	grep -q "authentication failed" <<<"$output"
	run "$RAMP_BIN" login -u ramp --password-stdin "$REG" <<<"s3cret"
	[ "$status" -eq 0 ]
	: >"$T/token.log"
	run "$RAMP_BIN" push "$T/img.tar" "$REG/app:v1"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "$IMG" ]
	# 6 blobs, 2 manifests, the referrers tag: one token for the push scope
	[ "$(grep -c 'scope=repository:app:pull,push$' "$T/token.log")" -eq 1 ]
	[ "$(skopeo inspect --tls-verify=false --creds ramp:s3cret "docker://$REG/app:v1" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["Digest"])')" = "$IMG" ]
	: >"$T/token.log"
	run "$RAMP_BIN" pull "$REG/app:v1" -o "$T/out.tar"
	[ "$status" -eq 0 ]
	[ "$(grep -c 'scope=repository:app:pull$' "$T/token.log")" -eq 1 ]
	run "$IMGCHECK" "$T/out.tar"
	[ "${lines[0]}" = "$IMG" ]
	[ "${lines[1]}" = "records 1" ]
}

@test "token: an expired token is refreshed on 401" {
	start_token_registry --expired-first 1
	run "$RAMP_BIN" push --creds ramp:s3cret "$T/img.tar" "$REG/app:v1"
	[ "$status" -eq 0 ]
	[ "$(grep -c 'scope=repository:app:pull,push$' "$T/token.log")" -eq 2 ]
}

@test "token: mount from another repository asks for both scopes" {
	start_token_registry
	"$RAMP_BIN" push --creds ramp:s3cret "$T/img.tar" "$REG/a:v1"
	run "$RAMP_BIN" push --json --creds ramp:s3cret --from-repo a "$T/img.tar" "$REG/b:v1"
	[ "$status" -eq 0 ]
	grep -q '"state":"mounted"' <<<"$output"
	grep -q 'scope=repository:b:pull,push repository:a:pull' "$T/token.log"
}
