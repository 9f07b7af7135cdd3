#!/usr/bin/env bats
# run.bats: `ramp run` and `ramp test` on real images: ramp-built busybox
# images, and Debian root file systems packed by umoci, converted by skopeo
# and built by ramp. Runs as root on the real kernel.
bats_require_minimum_version 1.5.0

load helpers
load ../helpers/container

setup_file() {
	export D=$(mktemp -d /tmp/ramp-run-XXXXXX)
	make_layers "$D"
	"$RAMP_BIN" build "$D/l1" "$D/l2" -o "$D/bb.tar" --tag bb \
		--cmd '["/bin/sh","-c","echo image-cmd $GREETING"]' --env GREETING=hello --env KEEP=1 >/dev/null
	export RAMP_STORE=$D/store
}

teardown_file() {
	rm -rf "$D"
}

setup() { common_setup; }
teardown() { common_teardown; }

@test "run: the image's cmd and env; -- replaces the cmd; exit status propagates" {
	run "$RAMP_BIN" run --rm "$D/bb.tar"
	[ "$status" -eq 0 ]
	[ "$output" = "image-cmd hello" ]
	run "$RAMP_BIN" run --rm --env GREETING=override "$D/bb.tar" -- sh -c 'echo $GREETING $KEEP; exit 7'
	[ "$status" -eq 7 ]
	[ "$output" = "override 1" ]
	# (PID 1 cannot be killed from inside its namespace: the app runs under the init here)
	run "$RAMP_BIN" run --rm --init "$D/bb.tar" -- sh -c 'kill -KILL $$'
	[ "$status" -eq 137 ]
}

@test "run: --init: the init (PID 1) holds CAP_KILL only, the app the default set" {
	run "$RAMP_BIN" run --rm --init "$D/bb.tar" -- sh -c 'grep -E "^(Name|Cap(Prm|Eff|Bnd|Inh|Amb))" /proc/1/status; grep ^CapEff /proc/self/status'
	[ "$status" -eq 0 ]
	# the init is not the app, and keeps bit 5 (CAP_KILL) of every set it has, nothing more
	[ "${lines[0]}" != "Name:	sh" ]
	[ "$(grep -c '^Cap' <<<"$output")" = 6 ]
	for s in Inh Amb; do [[ "$output" == *"Cap$s:	0000000000000000"* ]]; done
	for s in Prm Eff Bnd; do [[ "$output" == *"Cap$s:	0000000000000020"* ]] || { echo "Cap$s: $output"; return 1; }; done
	[ "${lines[-1]}" = "CapEff:	00000000800405fb" ]
}

@test "run: isolated: private pid space and hostname, host processes invisible" {
	run "$RAMP_BIN" run --rm "$D/bb.tar" -- sh -c 'echo $$; hostname; ls /proc | grep -c "^[0-9]"'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 1 ]
	[ "${lines[1]}" != "$(hostname)" ]
	[ "${lines[2]}" -le 3 ]
}

@test "run: --net private has only lo" {
	run "$RAMP_BIN" run --rm --net private "$D/bb.tar" -- sh -c 'ls /sys/class/net'
	[ "$status" -eq 0 ]
	[ "$output" = lo ]
	run "$RAMP_BIN" run --rm --net bogus "$D/bb.tar"
	[ "$status" -eq 2 ]
}

@test "run: SIGTERM stops the container with its stop signal; an app that ignores it is killed after the grace" {
	"$RAMP_BIN" run --rm --init "$D/bb.tar" -- sleep 100 &
	pid=$!
	sleep 1
	kill -TERM "$pid"
	st=0
	wait "$pid" || st=$?
	[ "$st" -eq 143 ]
	# PID 1 without a handler ignores SIGTERM: the grace runs out, then SIGKILL
	"$RAMP_BIN" run --rm --stop-timeout 500ms "$D/bb.tar" -- sleep 100 &
	pid=$!
	sleep 1
	start=$(date +%s%N)
	kill -TERM "$pid"
	st=0
	wait "$pid" || st=$?
	[ "$st" -eq 137 ]
	[ $(( ($(date +%s%N) - start) / 1000000 )) -ge 400 ]
}

@test "run: the writable layer is kept without --rm and removed with it" {
	run "$RAMP_BIN" -v run "$D/bb.tar" -- sh -c 'echo data >/written'
	[ "$status" -eq 0 ]
	dir=$(sed -n 's/.*writable layer is kept in \(.*\) (--rm.*/\1/p' <<<"$output")
	[ -f "$dir/upper/written" ]
	rm -rf "$dir"
	before=$(ls "$RAMP_STORE/apps/cli/run" | wc -l)
	"$RAMP_BIN" run --rm "$D/bb.tar" -- sh -c 'echo data >/written'
	[ "$(ls "$RAMP_STORE/apps/cli/run" | wc -l)" -eq "$before" ]
}

@test "run: --memory on a host without the cgroup v2 memory controller warns and still runs" {
	grep -qw memory /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null && skip "this host has memory on cgroup v2"
	run "$RAMP_BIN" run --rm --memory 64M "$D/bb.tar" -- true
	[ "$status" -eq 0 ]
	[[ "$output" == *memory* ]]
	run "$RAMP_BIN" run --rm --memory lots "$D/bb.tar"
	[ "$status" -eq 2 ]
}

@test "run: usage errors and refusal without root" {
	run "$RAMP_BIN" run
	[ "$status" -eq 2 ]
	run "$RAMP_BIN" run "$D/bb.tar" extra
	[ "$status" -eq 2 ]
	[[ "$output" == *"put the command after --"* ]]
	run "$RAMP_BIN" run "$T/none.tar"
	[ "$status" -eq 1 ]
	[[ "$output" == *"none.tar"* ]]
	run setpriv --reuid=nobody --regid=nogroup --clear-groups "$RAMP_BIN" run "$D/bb.tar"
	[ "$status" -eq 1 ]
	[[ "$output" == *"need root"* ]]
}

@test "test: a passing command attaches a record; a failing one attaches nothing" {
	cp "$D/bb.tar" "$T/img.tar"
	run "$RAMP_BIN" test "$T/img.tar" -- sh -c 'exit 3'
	[ "$status" -eq 3 ]
	[[ "$output" == *"no test record attached"* ]]
	[ "$("$RAMP_BIN" inspect --json "$T/img.tar" | jq '.testRecords | length')" = 0 ]
	digest=$("$RAMP_BIN" inspect --json "$T/img.tar" | jq -r .digest)
	run "$RAMP_BIN" test "$T/img.tar" -- sh -c 'test "$KEEP" = 1 && test -x /bin/ctr_probe'
	[ "$status" -eq 0 ]
	j=$("$RAMP_BIN" inspect --json "$T/img.tar")
	# the image is unchanged, the record is bound to its digest
	[ "$(jq -r .digest <<<"$j")" = "$digest" ]
	[ "$(jq '.testRecords | length' <<<"$j")" = 1 ]
	[ "$(jq -r '.testRecords[0].passed' <<<"$j")" = true ]
	[ "$(jq -r '.testRecords[0].kernel' <<<"$j")" = "$(uname -r)" ]
	[ "$(jq -c '.testRecords[0].command' <<<"$j")" = '["sh","-c","test \"$KEEP\" = 1 && test -x /bin/ctr_probe"]' ]
	"$RAMP_BIN" inspect --verify "$T/img.tar"
	# peers still read the archive as one image; the record is listed in the
	# referrers blob index.json names (docs/IMAGE.md), as an artifact of the image
	skopeo inspect "oci-archive:$T/img.tar" | jq -e --arg d "$digest" '.Digest == $d'
	mkdir "$T/l" && tar -xf "$T/img.tar" -C "$T/l"
	jq -e '.manifests | length == 1' "$T/l/index.json"
	refs=$(jq -r '.annotations["io.ramp.referrers"]' "$T/l/index.json")
	jq -e '[.manifests[] | select(.artifactType == "application/vnd.ramp.test-record.v1+json")] | length == 1' \
		"$T/l/blobs/sha256/${refs#sha256:}"
}

@test "test: on a layout directory; usage errors" {
	"$RAMP_BIN" build "$D/l1" "$D/l2" --layout "$T/lay" >/dev/null
	"$RAMP_BIN" test "$T/lay" -- true
	[ "$("$RAMP_BIN" inspect --json "$T/lay" | jq '.testRecords | length')" = 1 ]
	run "$RAMP_BIN" test "$T/lay"
	[ "$status" -eq 2 ]
	[[ "$output" == *"no test command"* ]]
	run "$RAMP_BIN" test --rm "$T/lay" -- true
	[ "$status" -eq 2 ]
}

debian_image_setup() {
	. "$BATS_TEST_DIRNAME/../lib/rootfs.sh"
	ensure_rootfs
}

@test "real images: Debian packed by umoci, and converted to Docker schema 2 by skopeo" {
	debian_image_setup
	umoci init --layout "$T/u"
	umoci new --image "$T/u:deb"
	umoci unpack --image "$T/u:deb" "$T/bundle" >/dev/null
	rm -rf "$T/bundle/rootfs" && cp -a "$rootfs" "$T/bundle/rootfs"
	umoci repack --image "$T/u:deb" "$T/bundle"
	run "$RAMP_BIN" run --rm "$T/u:deb" -- /bin/sh -c 'cat /etc/debian_version'
	[ "$status" -eq 0 ]
	[ "$output" = "$(cat "$rootfs/etc/debian_version")" ]
	skopeo copy -q --format v2s2 "oci:$T/u:deb" "oci-archive:$T/deb-v2s2.tar"
	[ "$("$RAMP_BIN" inspect --json "$T/deb-v2s2.tar" | jq -r .mediaType)" = \
	  application/vnd.docker.distribution.manifest.v2+json ]
	run "$RAMP_BIN" run --rm "$T/deb-v2s2.tar" -- /bin/sh -c 'cat /etc/debian_version'
	[ "$status" -eq 0 ]
	[ "$output" = "$(cat "$rootfs/etc/debian_version")" ]
}

@test "real images: a Debian image built by ramp runs apt-get and perl" {
	debian_image_setup
	"$RAMP_BIN" build "$rootfs" -o "$T/deb.tar" --compression zstd >/dev/null
	run "$RAMP_BIN" run --rm "$T/deb.tar" -- apt-get --version
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == apt\ * ]]
	run "$RAMP_BIN" run --rm "$T/deb.tar" -- perl -e 'print "perl ", $] >= 5.036 ? "ok" : "old", "\n"'
	[ "$status" -eq 0 ]
	[ "$output" = "perl ok" ]
	run "$RAMP_BIN" test "$T/deb.tar" -- sh -c 'dpkg -l | grep -q "^ii  perl-base"'
	[ "$status" -eq 0 ]
	[ "$("$RAMP_BIN" inspect --json "$T/deb.tar" | jq '.testRecords | length')" = 1 ]
}

@test "run: a registry reference is pulled into the store first; ramp test refuses it" {
	load registry_helpers
	saved_T=$T
	reg_setup
	start_registry reg
	"$RAMP_BIN" push "$D/bb.tar:bb" "$REG/bb:v1" >/dev/null
	run "$RAMP_BIN" run --rm "$REG/bb:v1" -- sh -c 'echo from the registry'
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "from the registry" ]
	[ -f "$RAMP_STORE/pulls/index.json" ]
	run "$RAMP_BIN" test "$REG/bb:v1" -- true
	[ "$status" -eq 1 ]
	[[ "$output" == *"pull the image first"* ]]
	run "$RAMP_BIN" run "$REG/missing:v1"
	[ "$status" -eq 1 ]
	run "$RAMP_BIN" run "Not A Reference!"
	[ "$status" -eq 1 ]
	[[ "$output" == *"neither a local image nor a registry reference"* ]]
	reg_teardown || true
	T=$saved_T
}
