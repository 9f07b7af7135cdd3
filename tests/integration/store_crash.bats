#!/usr/bin/env bats
# store_crash.bats: kill -9 at random points of an import (blob copy, unpack,
# sync, rename, record), then reopen the store: no half-made layer, blob or
# image is visible, and importing again gives exactly the tree a clean
# import gives. The stores live on tmpfs: ext4 slows file creation down for
# minutes after mass deletions, which this test would otherwise cause.

setup() {
	T=$(mktemp -d /var/tmp/ramp-store-crash-XXXXXX)
	S=$(mktemp -d /dev/shm/ramp-store-crash-XXXXXX)
	TOOL=$RAMP_HELPERS/store_tool
}

teardown() {
	if [ -n "${PID:-}" ]; then kill -9 "$PID" 2>/dev/null || true; fi
	rm -rf "$T" "$S"
}

# An OCI layout at $1 with one gzip layer of many small files and a few
# large ones (tens of MB), written directly (no other tool needed).
make_layout() {
	python3 - "$1" <<'EOF'
import gzip, hashlib, io, json, os, random, sys, tarfile
out = sys.argv[1]
os.makedirs(out + "/blobs/sha256")
rnd = random.Random(42)
words = [bytes(rnd.choices(b"abcdefghijklmnopqrstuvwxyz", k=rnd.randint(2, 9))) for _ in range(2000)]
raw = io.BytesIO()
with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
    for d in range(40):
        ti = tarfile.TarInfo("d%02d" % d); ti.type = tarfile.DIRTYPE; ti.mode = 0o755; ti.mtime = 1700000000
        t.addfile(ti)
        for f in range(300):
            data = b" ".join(rnd.choices(words, k=rnd.randint(10, 400)))
            ti = tarfile.TarInfo("d%02d/f%03d" % (d, f)); ti.size = len(data); ti.mtime = 1700000000
            t.addfile(ti, io.BytesIO(data))
    for b in range(4):
        data = b" ".join(rnd.choices(words, k=1500000))
        ti = tarfile.TarInfo("big%d" % b); ti.size = len(data); ti.mtime = 1700000000
        t.addfile(ti, io.BytesIO(data))
tar = raw.getvalue()
layer = gzip.compress(tar, 1, mtime=0)
def put(b):
    h = hashlib.sha256(b).hexdigest()
    open(out + "/blobs/sha256/" + h, "wb").write(b)
    return {"digest": "sha256:" + h, "size": len(b)}
config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                     "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(tar).hexdigest()]}}).encode()
manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "config": dict(put(config), mediaType="application/vnd.oci.image.config.v1+json"),
                       "layers": [dict(put(layer), mediaType="application/vnd.oci.image.layer.v1.tar+gzip")]}).encode()
index = {"schemaVersion": 2, "manifests": [dict(put(manifest), mediaType="application/vnd.oci.image.manifest.v1+json")]}
open(out + "/index.json", "w").write(json.dumps(index))
open(out + "/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
EOF
}

listing() {
	# (the root of a layer without a "./" entry has the time of its unpack)
	(cd "$1" && find . -mindepth 1 -printf '%p %y %m %U %G %s %T@ %l\n' | LC_ALL=C sort &&
		find . -type f -exec md5sum {} + | LC_ALL=C sort)
}

# After the crash, and after the repair of the next open: only complete things
check_store() {
	local store=$1 ref=$2 l
	run "$TOOL" open "$store"
	[ "$status" -eq 0 ]
	! ls -a "$store/layers" "$store/blobs/sha256" "$store/images" | grep -E '^\.[^.]' || false
	for l in "$store"/layers/*; do
		[ -e "$l" ] || continue
		[ -f "$l/layer.json" ]
		# a visible layer is whole
		diff <(listing "$l/fs") <(listing "$ref/layers/$(basename "$l")/fs")
	done
}

crash_test() {
	local layout=$1 start end total
	make_layout "$layout"
	start=$(date +%s%N)
	"$TOOL" import "$S/ref" "$layout" >/dev/null
	end=$(date +%s%N)
	total=$(( (end - start) / 1000000 ))
	echo "a clean import takes ${total} ms"
	for frac in 5 25 45 65 85 98; do
		rm -rf "$S/store"
		local at=$(( total * frac / 100 + RANDOM % 50 ))
		"$TOOL" import "$S/store" "$layout" >/dev/null 2>&1 &
		PID=$!
		sleep "$((at / 1000)).$(printf '%03d' $((at % 1000)))"
		kill -9 "$PID" 2>/dev/null || true
		wait "$PID" 2>/dev/null || true
		PID=
		echo "killed at ${at} ms: $(ls "$S/store/layers" 2>/dev/null | tr '\n' ' ')"
		check_store "$S/store" "$S/ref"
		run "$TOOL" import "$S/store" "$layout"
		[ "$status" -eq 0 ]
		[ "$(ls "$S/store/layers")" = "$(ls "$S/ref/layers")" ]
		for l in "$S"/ref/layers/*; do
			diff <(listing "$l/fs") <(listing "$S/store/layers/$(basename "$l")/fs")
			cmp "$l/layer.json" "$S/store/layers/$(basename "$l")/layer.json"
		done
		[ "$(ls "$S/store/images")" = "$(ls "$S/ref/images")" ]
	done
}

@test "store: kill -9 during an import that links the blob, then reopen and import again" {
	crash_test "$S/layout"
}

@test "store: kill -9 during an import that copies the blob (another file system)" {
	crash_test "$T/layout"
}
