#!/usr/bin/env bats
# docker_archive.bats: `docker save` / `podman save` archives (docker-archive)
# wherever an OCI archive is accepted: inspect, run, test, push, build --from.
# The archives are made by the real podman (own storage in a temp dir); the
# records ramp test attaches keep the archive loadable by podman and skopeo.
bats_require_minimum_version 1.5.0

load helpers

podman_() {
	podman --root "$D/proot" --runroot "$D/prun" --tmpdir "$D/ptmp" --storage-driver vfs \
		--events-backend none "$@"
}

setup_file() {
	export D=$(mktemp -d /tmp/ramp-dar-XXXXXX)
	mkdir -p "$D/l1/bin" "$D/l2/srv" "$D/ptmp"
	cp /bin/busybox "$D/l1/bin/busybox"
	for a in sh echo cat true ls; do ln -s busybox "$D/l1/bin/$a"; done
	printf 'from layer two\n' >"$D/l2/srv/msg"
	"$RAMP_BIN" build "$D/l1" "$D/l2" -o "$D/oci.tar" --tag dar:v1 \
		--cmd '["/bin/sh","-c","cat /srv/msg"]' >"$D/oci.digest"
	podman_ load -q -i "$D/oci.tar" >/dev/null
	podman_ save -q -o "$D/saved.tar" localhost/dar:v1
	export RAMP_STORE=$D/store
}

teardown_file() {
	rm -rf "$D"
}

setup() {
	common_setup
	PIDS=()
}
teardown() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null || true; done
	common_teardown
}

@test "docker archive: podman's save inspects with the layers of the image it came from" {
	# what podman wrote: manifest.json, legacy <id>/layer.tar symbolic links
	tar -tvf "$D/saved.tar" | grep -q '^l.*/layer.tar -> \.\./'
	tar -xOf "$D/saved.tar" manifest.json | jq -e '.[0].RepoTags == ["localhost/dar:v1"]'
	run "$RAMP_BIN" inspect --json "$D/saved.tar"
	[ "$status" -eq 0 ]
	jq -e '.name == "localhost/dar:v1"' <<<"$output"
	jq -r '.layers[].diffId' <<<"$output" >"$T/got"
	"$RAMP_BIN" inspect --json "$D/oci.tar" | jq -r '.layers[].diffId' >"$T/want"
	[ "$(wc -l <"$T/want")" = 2 ]
	diff "$T/want" "$T/got"
	# IMAGE:NAME with a RepoTags entry, whose own colon does not confuse it
	run "$RAMP_BIN" inspect --json "$D/saved.tar:localhost/dar:v1"
	[ "$status" -eq 0 ]
	jq -e '.name == "localhost/dar:v1"' <<<"$output"
	run "$RAMP_BIN" inspect "$D/saved.tar:localhost/dar:v2"
	[ "$status" -ne 0 ]
	[[ "$output" == *"localhost/dar:v2"* ]]
	# the archive is read, not changed
	! tar -tf "$D/saved.tar" | grep -qx 'oci-layout' || false
}

@test "docker archive: run gives the image's cmd; build --from stacks on it" {
	run "$RAMP_BIN" run --rm "$D/saved.tar"
	[ "$status" -eq 0 ]
	[ "$output" = "from layer two" ]
	run "$RAMP_BIN" run --rm "$D/saved.tar:localhost/dar:v1"
	[ "$status" -eq 0 ]
	[ "$output" = "from layer two" ]
	mkdir -p "$T/l3/srv" && printf 'from layer three\n' >"$T/l3/srv/msg"
	run "$RAMP_BIN" build --from "$D/saved.tar" "$T/l3" -o "$T/child.tar"
	[ "$status" -eq 0 ]
	run "$RAMP_BIN" run --rm "$T/child.tar"
	[ "$status" -eq 0 ]
	[ "$output" = "from layer three" ]
	[ "$("$RAMP_BIN" inspect --json "$T/child.tar" | jq '.layers | length')" = 3 ]
}

@test "docker archive: a test record travels with it; podman and skopeo still load it as one image" {
	cp "$D/saved.tar" "$T/t.tar"
	run "$RAMP_BIN" test "$T/t.tar" -- true
	[ "$status" -eq 0 ]
	run "$RAMP_BIN" inspect --json "$T/t.tar"
	[ "$status" -eq 0 ]
	[ "$(jq '.testRecords | length' <<<"$output")" = 1 ]
	# skopeo: one image, not "more than one image"
	run skopeo inspect "oci-archive:$T/t.tar"
	[ "$status" -eq 0 ]
	jq -e '.Layers | length == 2' <<<"$output"
	# podman loads it (its docker-archive reader, through manifest.json)
	mkdir "$T/p"
	run podman --root "$T/p/root" --runroot "$T/p/run" --tmpdir "$D/ptmp" --storage-driver vfs \
		--events-backend none load -i "$T/t.tar"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Loaded image"*"localhost/dar:v1"* ]]
	# the record's subject names the image by digest only, no local name
	mkdir "$T/x" && tar -xf "$T/t.tar" -C "$T/x"
	[ "$(jq '.manifests | length' "$T/x/index.json")" = 1 ]
	refs=$(jq -r '.annotations["io.ramp.referrers"]' "$T/x/index.json")
	rec=$(jq -r '.manifests[0].digest' "$T/x/blobs/sha256/${refs#sha256:}")
	jq -e '.subject | has("annotations") | not' "$T/x/blobs/sha256/${rec#sha256:}"
	jq -e --arg d "$(jq -r '.manifests[0].digest' "$T/x/index.json")" '.subject.digest == $d' \
		"$T/x/blobs/sha256/${rec#sha256:}"
}

@test "docker archive: push sends the image and its record to a real registry" {
	load registry_helpers
	PIDS=()
	start_registry reg
	cp "$D/saved.tar" "$T/t.tar"
	"$RAMP_BIN" test "$T/t.tar" -- true
	d=$("$RAMP_BIN" inspect --json "$T/t.tar" | jq -r .digest)
	run "$RAMP_BIN" push "$T/t.tar" "$REG/dar:v1"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "$d" ]
	[ "$(skopeo_digest "$REG/dar:v1")" = "$d" ]
	# docker-registry 2.8 has no referrers API: the fallback tag lists the record
	run skopeo inspect --raw --tls-verify=false "docker://$REG/dar:sha256-${d#sha256:}"
	[ "$status" -eq 0 ]
	grep -q 'application/vnd.ramp.test-record.v1+json' <<<"$output"
	# pulled back, it is the same image with its record, and it runs
	"$RAMP_BIN" pull "$REG/dar:v1" -o "$T/back.tar"
	run "$RAMP_BIN" inspect --json "$T/back.tar"
	[ "$(jq -r .digest <<<"$output")" = "$d" ]
	[ "$(jq '.testRecords | length' <<<"$output")" = 1 ]
}

# hostile docker archives: each refused with a clear error, nothing written
dar() { # dar NAME: a docker archive from the files in $T/$1
	tar -C "$T/$1" -cf "$T/$1.tar" .
}

refused() { # refused ARCHIVE WORDS: inspect fails naming the problem
	run "$RAMP_BIN" inspect "$1"
	[ "$status" -ne 0 ]
	[[ "$output" == *"$2"* ]]
}

hostile_base() { # a valid docker archive's files in $T/$1
	mkdir -p "$T/$1"
	tar -xf "$D/saved.tar" -C "$T/$1"
}

@test "docker archive hostile: names outside the archive, links out, wrong digests, bad JSON" {
	hostile_base a
	m=$(cat "$T/a/manifest.json")
	jq '.[0].Layers[0] = "../../etc/passwd"' <<<"$m" >"$T/a/manifest.json" && dar a
	refused "$T/a.tar" 'is not a name inside the archive'
	jq '.[0].Layers[0] = "/etc/passwd"' <<<"$m" >"$T/a/manifest.json" && dar a
	refused "$T/a.tar" 'is not a name inside the archive'
	jq '.[0].Config = "nope.json"' <<<"$m" >"$T/a/manifest.json" && dar a
	refused "$T/a.tar" 'is missing'
	jq '.[0].Layers |= reverse' <<<"$m" >"$T/a/manifest.json" && dar a
	refused "$T/a.tar" "but the config's diff_id is"
	jq '.[0].Layers |= .[:1]' <<<"$m" >"$T/a/manifest.json" && dar a
	refused "$T/a.tar" 'diff_ids'
	jq '.[0].RepoTags = ["bad name"]' <<<"$m" >"$T/a/manifest.json" && dar a
	refused "$T/a.tar" 'RepoTags[0]'
	jq '.[0].Extra = 1' <<<"$m" >"$T/a/manifest.json" && dar a
	refused "$T/a.tar" 'Extra'
	printf '{"not":"an array"}' >"$T/a/manifest.json" && dar a
	refused "$T/a.tar" 'expected an array'
	printf '[' >"$T/a/manifest.json" && dar a
	refused "$T/a.tar" 'manifest.json'
	# a config whose name is not its digest
	printf '%s' "$m" >"$T/a/manifest.json"
	cfg=$(jq -r '.[0].Config' <<<"$m")
	jq -c '.author = "x"' "$T/a/$cfg" >"$T/a/c.tmp" && mv "$T/a/c.tmp" "$T/a/$cfg"
	dar a
	refused "$T/a.tar" 'not to its name'
	# a symbolic link that leaves the archive
	hostile_base b
	ln -s ../../../etc/passwd "$T/b/evil.tar"
	dar b
	refused "$T/b.tar" 'links out of the archive'
	rm "$T/b/evil.tar" && ln -s /etc/passwd "$T/b/evil.tar" && dar b
	refused "$T/b.tar" 'absolute path'
	# nothing was written next to the archives
	[ "$(ls "$T")" = "$(printf 'a\na.tar\nb\nb.tar')" ]
}

@test "first step: a file that is no image says what ramp reads" {
	printf 'hello\n' >"$T/notes.txt"
	run "$RAMP_BIN" inspect "$T/notes.txt"
	[ "$status" -ne 0 ]
	[[ "$output" == *"not an OCI archive, layout or docker archive"* ]]
	mkdir -p "$T/t" && printf 'x' >"$T/t/readme" && tar -C "$T/t" -cf "$T/other.tar" .
	run "$RAMP_BIN" inspect "$T/other.tar"
	[ "$status" -ne 0 ]
	[[ "$output" == *"not an OCI archive, layout or docker archive"* ]]
	mkdir "$T/emptydir"
	run "$RAMP_BIN" run "$T/emptydir"
	[ "$status" -ne 0 ]
	[[ "$output" == *"not an OCI archive, layout or docker archive"* ]]
	# a relative directory is a directory, not a Docker Hub name
	cd "$T"
	run "$RAMP_BIN" run emptydir
	[ "$status" -ne 0 ]
	[[ "$output" == *"\"emptydir\" is not an OCI archive, layout or docker archive"* ]]
	[[ "$output" != *docker.io* ]]
}

@test "first step: a mistyped archive name says there is no such file, not a Docker Hub pull" {
	cd "$T"
	run "$RAMP_BIN" run nope.oci.tar
	[ "$status" -ne 0 ]
	[[ "$output" == *'no such file "nope.oci.tar"'*'REGISTRY/REPOSITORY:TAG'* ]]
	[[ "$output" != *docker.io* ]]
	run "$RAMP_BIN" test build/app.tar.gz -- true
	[ "$status" -ne 0 ]
	[[ "$output" == *'no such file "build/app.tar.gz"'* ]]
	printf 'h1 127.0.0.1:1\n' >"$T/f.fleet"
	run "$RAMP_BIN" rollout --app web --image app.tar --fleet "$T/f.fleet" --state-dir "$T/state"
	[ "$status" -eq 2 ]
	[[ "$output" == *'no such file "app.tar"'*'REGISTRY/REPOSITORY:TAG'* ]]
	# an archive that exists is no registry reference either: push it first
	cp "$D/saved.tar" "$T/app.tar"
	run "$RAMP_BIN" rollout --app web --image app.tar --fleet "$T/f.fleet" --state-dir "$T/state"
	[ "$status" -eq 2 ]
	[[ "$output" == *'"app.tar" is a file on this machine, not a registry reference'*'ramp push'* ]]
	[ ! -e "$T/state" ]
}

@test "hard link to a file of a lower layer: what umoci and podman take, ramp runs" {
	# a layer whose only entry is a hard link to /srv/msg of the layer below
	python3 - "$T/link.tar" <<'PY'
import sys, tarfile
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
    i = tarfile.TarInfo("srv/copy"); i.type = tarfile.LNKTYPE; i.linkname = "srv/msg"; i.mode = 0o644
    t.addfile(i)
PY
	skopeo copy -q "oci-archive:$D/oci.tar" "oci:$T/lay:t"
	umoci raw add-layer --image "$T/lay:t" "$T/link.tar"
	umoci unpack --image "$T/lay:t" "$T/u" >/dev/null
	[ "$(cat "$T/u/rootfs/srv/copy")" = "from layer two" ]
	run "$RAMP_BIN" run --rm "$T/lay:t" -- cat /srv/copy /srv/msg
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'from layer two\nfrom layer two')" ]
	# podman loads it too; its docker archive runs in ramp the same way
	(cd "$T/lay" && tar -cf "$T/lay.tar" .)
	name=$(podman_ load -i "$T/lay.tar" | sed -n 's/^Loaded image: //p')
	[ -n "$name" ]
	podman_ save -q -o "$T/hl.tar" "$name"
	tar -xOf "$T/hl.tar" manifest.json | jq -e '.[0].Layers | length == 3'
	run "$RAMP_BIN" run --rm "$T/hl.tar" -- cat /srv/copy
	[ "$status" -eq 0 ]
	[ "$output" = "from layer two" ]
}
