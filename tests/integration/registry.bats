#!/usr/bin/env bats
# registry.bats: ramp push / ramp pull against a real registry (docker-registry,
# no auth), interop with skopeo both ways, chunked upload, mounts, test records.

load registry_helpers

setup() {
	reg_setup
	start_registry reg
	IMG=$("$MKIMAGE" "$T/img" -n 3 -s 200000 -S 7 -t v1 -r -a "$T/img.tar" | head -1)
}

teardown() {
	reg_teardown
}

@test "push prints the digest skopeo sees; a re-push sends no blob" {
	run "$RAMP_BIN" push "$T/img.tar" "$REG/app:v1"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "$IMG" ]
	[ "$(skopeo_digest "$REG/app:v1")" = "$IMG" ]
	run "$RAMP_BIN" push --json "$T/img.tar" "$REG/app:v1"
	[ "$status" -eq 0 ]
	! grep -q '"state":"uploaded"' <<<"$output" || false
	grep -q '"state":"skipped"' <<<"$output"
	grep -q "{\"event\":\"done\",\"digest\":\"$IMG\"}" <<<"$output"
}

@test "push from a layout directory, by digest" {
	run "$RAMP_BIN" push "$T/img" "$REG/app@$IMG"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "$IMG" ]
	[ "$(skopeo_digest "$REG/app@$IMG")" = "$IMG" ]
}

@test "pulled archive and layout open and verify, same digest" {
	"$RAMP_BIN" push "$T/img.tar" "$REG/app:v1"
	run "$RAMP_BIN" pull "$REG/app:v1" -o "$T/out.tar"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "$IMG" ]
	run "$IMGCHECK" "$T/out.tar"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "$IMG" ]
	[ "${lines[1]}" = "records 1" ]
	"$RAMP_BIN" inspect --verify "$T/out.tar"
	run "$RAMP_BIN" pull "$REG/app:v1" --layout "$T/lay"
	[ "$status" -eq 0 ]
	run "$IMGCHECK" "$T/lay"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "$IMG" ]
	# nothing half-done is left behind
	[ ! -e "$T/lay/ingest" ]
	[ -z "$(ls -A "$T" | grep ramp-partial)" ]
}

@test "a pulled archive is what img_archive_write makes of its layout, the same every time" {
	"$RAMP_BIN" push "$T/img.tar" "$REG/app:v1"
	"$RAMP_BIN" pull "$REG/app:v1" -o "$T/a.tar"
	"$RAMP_BIN" pull "$REG/app:v1" -o "$T/b.tar"
	cmp "$T/a.tar" "$T/b.tar"
	# re-archived from its own extracted layout, and from a layout pull
	"$IMGCHECK" -w "$T/re.tar" "$T/a.tar"
	cmp "$T/a.tar" "$T/re.tar"
	"$RAMP_BIN" pull "$REG/app:v1" --layout "$T/lay"
	"$IMGCHECK" -w "$T/lay.tar" "$T/lay"
	cmp "$T/a.tar" "$T/lay.tar"
	# overwriting an existing file; a bare file name in the current directory
	cd "$T" && "$RAMP_BIN" pull "$REG/app:v1" -o a.tar
	cmp "$T/a.tar" "$T/b.tar"
	# skopeo reads it
	skopeo inspect "oci-archive:$T/a.tar:v1" >/dev/null
	# the image's index.json entry names where it came from; the manifest is untouched
	tar -xOf "$T/a.tar" index.json | grep -qF "\"io.ramp.source.repository\":\"$REG/app\""
}

@test "pushed by skopeo, pulled by ramp: identical digests" {
	skopeo copy -q "oci-archive:$T/img.tar:v1" "docker://$REG/sk:1" --dest-tls-verify=false
	want=$(skopeo_digest "$REG/sk:1")
	run "$RAMP_BIN" pull "$REG/sk:1" -o "$T/out.tar"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "$want" ]
	run "$IMGCHECK" "$T/out.tar"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "$want" ]
}

@test "pushed by ramp, copied back by skopeo: identical digests" {
	"$RAMP_BIN" push "$T/img.tar" "$REG/app:v1"
	skopeo copy -q "docker://$REG/app:v1" "oci:$T/back:v1" --src-tls-verify=false
	run "$IMGCHECK" "$T/back"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "$IMG" ]
}

@test "chunked upload with --chunk-size" {
	run "$RAMP_BIN" push --chunk-size 65536 "$T/img.tar" "$REG/chunk:1"
	[ "$status" -eq 0 ]
	run "$RAMP_BIN" pull "$REG/chunk:1" -o "$T/c.tar"
	[ "$status" -eq 0 ]
	"$IMGCHECK" "$T/c.tar"
}

@test "cross-repository mount with --from-repo, upload when it cannot" {
	"$RAMP_BIN" push "$T/img.tar" "$REG/a:1"
	run "$RAMP_BIN" push --json --from-repo a "$T/img.tar" "$REG/b:1"
	[ "$status" -eq 0 ]
	[ "$(grep -c '"state":"mounted"' <<<"$output")" -ge 4 ]
	run "$RAMP_BIN" push --json --from-repo nothing/here "$T/img.tar" "$REG/c:1"
	[ "$status" -eq 0 ]
	grep -q '"state":"uploaded"' <<<"$output"
}

@test "a pulled image pushed to another repository of the same registry: its blobs are mounted" {
	"$RAMP_BIN" push "$T/img.tar" "$REG/a:1"
	"$RAMP_BIN" pull "$REG/a:1" -o "$T/p.tar"
	run "$RAMP_BIN" push --json "$T/p.tar" "$REG/b:1"
	[ "$status" -eq 0 ]
	# config, 3 layers, and the test record's config and layer
	[ "$(grep -c '"state":"mounted"' <<<"$output")" -eq 6 ]
	! grep -q '"state":"uploaded"' <<<"$output" || false
	[ "$(skopeo_digest "$REG/b:1")" = "$IMG" ]
	# from a pulled layout too
	"$RAMP_BIN" pull "$REG/a:1" --layout "$T/lay"
	run "$RAMP_BIN" push --json "$T/lay:1" "$REG/c:1"
	[ "$status" -eq 0 ]
	[ "$(grep -c '"state":"mounted"' <<<"$output")" -eq 6 ]
	[ "$(skopeo_digest "$REG/c:1")" = "$IMG" ]
	# a source repository the registry cannot mount from: uploaded instead
	python3 - "$T/lay/index.json" "$REG" <<'PY'
import json, sys
x = json.load(open(sys.argv[1]))
for m in x["manifests"]:
    if "io.ramp.source.repository" in m.get("annotations", {}):
        m["annotations"]["io.ramp.source.repository"] = sys.argv[2] + "/nothing/here"
json.dump(x, open(sys.argv[1], "w"))
PY
	run "$RAMP_BIN" push --json "$T/lay:1" "$REG/d:1"
	[ "$status" -eq 0 ]
	! grep -q '"state":"mounted"' <<<"$output" || false
	[ "$(grep -c '"state":"uploaded"' <<<"$output")" -eq 6 ]
	[ "$(skopeo_digest "$REG/d:1")" = "$IMG" ]
}

@test "a pulled image pushed to another registry: no mount is tried" {
	"$RAMP_BIN" push "$T/img.tar" "$REG/a:1"
	"$RAMP_BIN" pull "$REG/a:1" -o "$T/p.tar"
	start_fixture fake
	run "$RAMP_BIN" push --json "$T/p.tar" "$FIX/a:1"
	[ "$status" -eq 0 ]
	[ "$(grep -c '"state":"uploaded"' <<<"$output")" -eq 6 ]
	! grep -q "mount=" "$T/fake.log" || false
}

@test "test records travel with the image through the sha256-<hex> tag" {
	"$RAMP_BIN" push "$T/img.tar" "$REG/app:v1"
	# docker-registry 2.8 has no referrers API: the fallback tag lists the record
	run skopeo inspect --raw --tls-verify=false "docker://$REG/app:sha256-${IMG#sha256:}"
	[ "$status" -eq 0 ]
	grep -q 'application/vnd.ramp.test-record.v1+json' <<<"$output"
	run "$RAMP_BIN" pull --no-test-records "$REG/app:v1" -o "$T/n.tar"
	run "$IMGCHECK" "$T/n.tar"
	[ "${lines[1]}" = "records 0" ]
}

@test "errors: unknown tag and repository, unreachable registry, usage" {
	"$RAMP_BIN" push "$T/img.tar" "$REG/app:v1"
	run "$RAMP_BIN" pull "$REG/app:nope" -o "$T/x.tar"
	[ "$status" -eq 1 ]
	grep -q "not found" <<<"$output"
	run "$RAMP_BIN" pull "$REG/nothing:1" -o "$T/x.tar"
	[ "$status" -eq 1 ]
	grep -qi "not found" <<<"$output"
	[ ! -e "$T/x.tar" ]
	run "$RAMP_BIN" pull --timeout 2 "127.0.0.1:1/app:v1" -o "$T/x.tar"
	[ "$status" -eq 1 ]
	grep -q "127.0.0.1:1" <<<"$output"
	run "$RAMP_BIN" pull "$REG/App:1" -o "$T/x.tar"
	[ "$status" -eq 2 ]
	run "$RAMP_BIN" pull "$REG/app:v1"
	[ "$status" -eq 2 ]
	run "$RAMP_BIN" push "$T/img.tar"
	[ "$status" -eq 2 ]
	for c in push pull login logout; do
		run "$RAMP_BIN" $c --help
		[ "$status" -eq 0 ]
		grep -q "usage: ramp $c" <<<"$output"
	done
}

@test "a loopback registry with TLS: verified with --cacert, refused without, never plain" {
	start_tls_registry
	run "$RAMP_BIN" push --cacert "$T/tls.pem" "$T/img.tar" "$REG/app:v1"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "$IMG" ]
	run "$RAMP_BIN" pull --cacert "$T/tls.pem" "$REG/app:v1" -o "$T/out.tar"
	[ "$status" -eq 0 ]
	"$IMGCHECK" "$T/out.tar"
	run "$RAMP_BIN" pull --timeout 5 "$REG/app:v1" -o "$T/x.tar"
	[ "$status" -eq 1 ]
	grep -q "over HTTPS: .*certificate" <<<"$output"
	[ ! -e "$T/x.tar" ]
	run "$RAMP_BIN" pull --tls-verify=false "$REG/app:v1" -o "$T/x.tar"
	[ "$status" -eq 0 ]
}

@test "plain HTTP is refused for a registry that is not loopback" {
	run "$RAMP_BIN" pull --timeout 2 "localhost.invalid:5/app" -o "$T/x.tar"
	[ "$status" -eq 1 ]
}
