#!/usr/bin/env bats
bats_require_minimum_version 1.5.0
# image_limits.bats: what one image may cost a host (issue 13, item 4), with
# ramp run and rampd against a registry that lies (tests/helpers/fakeregistry.py):
# the limits hold per image, what the manifest declares is refused before a
# byte is downloaded, the free-space reserve is kept before and during
# downloads and unpacks (on a small tmpfs), a layer listed many times is
# downloaded and unpacked once, and a refused or failed import leaves nothing.
# And images of many layers (issue 14): 128 layers run, in layer order, as
# umoci and runc see them.

load rampd_helpers

MKLAYERS="$BATS_TEST_DIRNAME/../helpers/mklayers.py"
BUSY='copy:/bin/busybox=/bin/busybox,sym:/bin/sh=busybox,sym:/bin/cat=busybox,sym:/bin/ls=busybox,sym:/bin/wc=busybox,sym:/bin/sleep=busybox'

setup_file() {
	local d=$BATS_FILE_TMPDIR args i spec
	python3 "$MKLAYERS" "$d/two" --tag v1 -l "$BUSY" -l 'file:/app=1' >/dev/null
	# a 48 MiB file of zeros: a blob of some 50 KB
	python3 "$MKLAYERS" "$d/zeros" --archive "$d/zeros.tar" -l "$BUSY" -l 'zeros:/z=50331648' >/dev/null
	# the issue's shape: one blob of zeros listed twelve times
	args=(-l "$BUSY" -l 'zeros:/z=67108864,file:/who=zeros')
	for i in $(seq 11); do args+=(-l again:1); done
	python3 "$MKLAYERS" "$d/rep" --tag v1 "${args[@]}" -l 'file:/top=x' >/dev/null
	python3 "$MKLAYERS" "$d/many" --archive "$d/many.tar" -l "$BUSY" -l 'many:/d=30000' >/dev/null
	# 128 layers: each adds a file and overwrites /top; layer 100 writes
	# /f100, layer 110 hides a lower file and makes a directory opaque
	args=(-l "$BUSY,file:/etc/gone=lower,dir:/d,file:/d/lowfile=low,file:/f100=lower")
	for i in $(seq 127); do
		spec="file:/layers/$i=$i,file:/top=$i"
		[ "$i" = 100 ] && spec+=",file:/f100=from100"
		[ "$i" = 110 ] && spec+=",wh:/etc/gone,opq:/d,file:/d/new=110"
		args+=(-l "$spec")
	done
	python3 "$MKLAYERS" "$d/l128" --tag t --archive "$d/l128.tar" \
		--cmd=sh --cmd=-c --cmd='cat /top /f100; echo; ls /layers | wc -l; ls /etc /d; exec sleep 3600' "${args[@]}" >/dev/null
	"$MKIMAGE" "$d/rand" -n 1 -s 24000000 -t v1 >/dev/null
}

setup() {
	rampd_setup
	export HOME=$T/home RAMP_REGISTRY_BACKOFF_MS=50
	mkdir -p "$HOME"
	PIDS=()
}

teardown() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	mountpoint -q "$T/small" && umount "$T/small"
	rampd_teardown
}

MKIMAGE="$RAMP_HELPERS/mkimage"

# fake SEED ARGS...: the fixture registry serving SEED as repository app; sets FIX and LOG
fake() {
	local port seed=$1
	shift
	port=$(free_port)
	LOG=$T/fake.log
	python3 "$BATS_TEST_DIRNAME/../helpers/fakeregistry.py" --port "$port" --log "$LOG" --seed "$seed" \
		--repo app "$@" >"$T/fake.out" 2>&1 3>&- &
	PIDS+=($!)
	FIX=127.0.0.1:$port
	for _ in $(seq 100); do curl -sf "http://$FIX/v2/" >/dev/null && return 0; sleep 0.05; done
	return 1
}

# the digest the fixture serves for TAG
fake_digest() {
	curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$FIX/v2/app/manifests/$1" |
		sha256sum | sed 's/ .*//;s/^/sha256:/'
}

no_blob_asked() {
	! grep "GET /v2/app/blobs/" "$LOG" || false
}

# the store at $1 holds no layer, blob, image or partial layer download (a
# complete config may wait in the pull cache's ingest/ for the next pull)
store_empty() {
	local d
	for d in layers blobs/sha256 images ingest; do
		[ ! -d "$1/$d" ] || [ -z "$(ls -A "$1/$d")" ] || { ls -la "$1/$d" >&2; return 1; }
	done
	[ -z "$(find "$1/pulls/ingest" -type f -size +16k 2>/dev/null)" ]
}

# small SIZE: a tmpfs of SIZE at $T/small
small() {
	mkdir -p "$T/small"
	mount -t tmpfs -o "size=$1" ramp-test "$T/small"
}

rampd_fake_config() {
	write_config "\"apps\": {\"web\": {\"stop_grace\": \"1s\"}}${1:+, $1}"
}

@test "limits: a layer declared larger than blob_size is refused before any blob is asked for (ramp pull, run, rampd)" {
	fake "$BATS_FILE_TMPDIR/two" --declare-size 1099511627776
	run -1 "$RAMP_BIN" pull "$FIX/app:v1" --layout "$T/lay"
	[[ $output == *"is declared as 1099511627776 bytes, more than the limit of 8589934592 (limit blob_size=SIZE raises it)"* ]]
	run -1 "$RAMP_BIN" run --store "$T/store" "$FIX/app:v1" -- true
	[[ $output == *"more than the limit of 8589934592"* ]]
	store_empty "$T/store"
	rampd_fake_config
	start_rampd
	deploy "$FIX/app@$(fake_digest v1)" 1
	wait_app .phase failed 20
	[[ $body == *"more than the limit of 8589934592"* ]]
	no_blob_asked
	[ -z "$(find "$T/state/pull" -type f -path '*/blobs/*' 2>/dev/null)" ]
}

@test "limits: rampd.json's limits reach the pull helper; a refused image is refused before its download" {
	fake "$BATS_FILE_TMPDIR/two"
	rampd_fake_config '"limits": {"layers": 1, "reserve": "1%"}'
	start_rampd
	deploy "$FIX/app@$(fake_digest v1)" 1
	wait_app .phase failed 20
	[[ $body == *"the image has 2 layers, more than the limit of 1 (limit layers=N raises it)"* ]]
	no_blob_asked
	# a bad limit is refused with the file
	rampd_fake_config '"limits": {"layers": 0}'
	run -1 "$RAMPD_BIN" --config "$T/rampd.json" --check-config
	[[ $output == *"limits: limit layers=0: expected a number from 1 to 1000"* ]]
}

@test "limits: a registry streaming without end is cut off at the declared size; nothing stays (ramp run, rampd)" {
	"$MKIMAGE" "$T/img" -n 1 -s 2000000 -t v1 >/dev/null
	fake "$T/img" --mode endless
	run -1 "$RAMP_BIN" run --store "$T/store" --retries 0 "$FIX/app:v1" -- true
	[[ $output == *"sent more than the "*" bytes the manifest names; nothing was stored"* ]]
	store_empty "$T/store"
	# rampd: a fresh fixture; its retries get headers and no byte, so that
	# what the first attempt left (nothing) is what the pull dir shows
	kill "${PIDS[@]}"
	fake "$T/img" --mode endless
	rampd_fake_config
	start_rampd
	deploy "$FIX/app@$(fake_digest v1)" 1
	wait_app .phase failed 20
	[[ $body == *"sent more than the "* ]]
	# rampd stopped before its next try (2 s later; under load it could be
	# downloading the config then), so the pull dir shows what the first left
	kill -TERM "$RAMPD_PID"
	wait_exit "$RAMPD_PID" 15
	# nothing of the endless blob; what stays is complete and verified (a
	# config that came first waits there for the next try, by design:
	# image/pull_store.c)
	bad=$(sed -n 's/.*blob sha256:\([0-9a-f]\{64\}\): the registry sent more.*/\1/p' <<<"$body" | head -1)
	[ -n "$bad" ]
	[ -z "$(find "$T/state/pull" -type f -size +0 -path "*/ingest/$bad*" 2>/dev/null)" ]
	for f in $(find "$T/state/pull" -type f -size +0 -path '*/ingest/*' 2>/dev/null); do
		[ "$(sha256sum <"$f" | cut -d' ' -f1)" = "$(basename "$f")" ] || { ls -l "$f"; false; }
	done
	# the fixture saw both transfers end early: its stream was cut within a few MB
	for _ in $(seq 100); do [ "$(grep -c 'endless sent=' "$LOG")" -ge 2 ] && break; sleep 0.05; done
	[ "$(grep -c 'endless sent=' "$LOG")" = 2 ]
	while read -r n; do [ "$n" -lt 100000000 ]; done < <(sed -n 's/.*endless sent=//p' "$LOG")
}

@test "limits: what the manifest declares over layers or image_size is refused before the download; the unpacked size counts for the image" {
	fake "$BATS_FILE_TMPDIR/two"
	run -2 "$RAMP_BIN" run --store "$T/store" --limit layers=x "$FIX/app:v1"
	[[ $output == *"--limit: limit layers=x: expected a number from 1 to 1000"* ]]
	run -1 "$RAMP_BIN" run --store "$T/store" --limit layers=1 "$FIX/app:v1" -- true
	[[ $output == *"the image has 2 layers, more than the limit of 1"* ]]
	RAMP_LIMITS=image_size=1000 run -1 "$RAMP_BIN" run --store "$T/store" "$FIX/app:v1" -- true
	[[ $output == *"declared as more than 1000 bytes together"* ]]
	no_blob_asked
	store_empty "$T/store"
	# a small blob that expands beyond the image's size: refused while unpacking, nothing stays
	run -1 "$RAMP_BIN" run --store "$T/store" --limit image_size=16M "$BATS_FILE_TMPDIR/zeros.tar" -- true
	[[ $output == *"over the image's limits"*"layer entry \"z\": 50331648 bytes would make the layer larger than the limit of"* ]]
	store_empty "$T/store"
	# a layer of 30,000 entries against an image limit of 10,000 (RAMP_LIMITS, overridden by --limit)
	RAMP_LIMITS=entries=100000 run -1 "$RAMP_BIN" run --store "$T/store" --limit entries=10000 \
		"$BATS_FILE_TMPDIR/many.tar" -- true
	[[ $output == *"the layer has more than the limit of "*" entries"* ]]
	store_empty "$T/store"
}

@test "limits: the reserve is kept before a download, during it and during an unpack (ramp run on a 64 MB file system)" {
	small 64M
	# before: the declared 40 MB do not fit beside a reserve of 32 MB; no blob is asked for
	fake "$BATS_FILE_TMPDIR/two" --declare-size 40000000
	run -1 "$RAMP_BIN" run --store "$T/small/store" --limit reserve=32M "$FIX/app:v1" -- true
	[[ $output == *"has no room for the pull, nothing was downloaded"*"the reserve keeps 32.0 MiB free"* ]]
	no_blob_asked
	kill "${PIDS[@]}"
	# during: the disk fills (36 MB written by someone else) while 24 MB arrive
	fake "$BATS_FILE_TMPDIR/rand" --mode hold --hold "$T/go"
	"$RAMP_BIN" run --store "$T/small/store" --limit reserve=16M "$FIX/app:v1" -- true >"$T/out" 2>&1 3>&- &
	local pid=$!
	for _ in $(seq 200); do grep -q hold-after "$LOG" && break; sleep 0.05; done
	fallocate -l 36M "$T/small/filler"
	touch "$T/go"
	local rc=0
	wait "$pid" || rc=$?
	cat "$T/out"
	[ "$rc" = 1 ]
	grep -q "is full, the partial download is removed: .*the reserve keeps 16.0 MiB free" "$T/out"
	store_empty "$T/small/store"
	rm "$T/small/filler"
	# unpacking: 48 MiB of zeros from a blob of some 50 KB, with a reserve of 32 MB
	run -1 "$RAMP_BIN" run --store "$T/small/store" --limit reserve=32M "$BATS_FILE_TMPDIR/zeros.tar" -- true
	[[ $output == *"the reserve keeps 32.0 MiB free"* ]]
	store_empty "$T/small/store"
	[ "$(df --output=used -k "$T/small" | tail -1)" -lt 2048 ]
}

@test "limits: a blob listed twelve times is downloaded and unpacked once, and the image is what its layers say" {
	small 160M
	fake "$BATS_FILE_TMPDIR/rep"
	run -0 --separate-stderr "$RAMP_BIN" run --rm --store "$T/small/store" --limit reserve=0 "$FIX/app:v1" -- \
		sh -c 'wc -c </z; cat /who /top'
	[ "$output" = $'67108864\nzerosx' ]
	# one request for the blob of zeros, one tree of it in the store
	zeros=$(jq -r '.layers[1].digest' "$BATS_FILE_TMPDIR/rep/blobs/sha256/$(jq -r '.manifests[0].digest' "$BATS_FILE_TMPDIR/rep/index.json" | cut -d: -f2)")
	[ "$(grep -c "GET /v2/app/blobs/$zeros 200" "$LOG")" = 1 ]
	[ "$(ls "$T/small/store/layers" | wc -l)" = 3 ]
	[ "$(du -sm "$T/small/store/layers" | cut -f1)" -lt 100 ]
}

# the 128-layer image's view, as the container prints it
L128_VIEW=$'127from100\n127\n/d:\nnew\n\n/etc:'

@test "many layers: 128 layers run under ramp run in layer order (whiteouts, opaque directories), as umoci and runc see them" {
	run -0 "$RAMP_BIN" run --rm --store "$T/store" "$BATS_FILE_TMPDIR/l128.tar" -- \
		sh -c 'cat /top /f100; echo; ls /layers | wc -l; ls /etc /d'
	[ "$output" = "$L128_VIEW" ]
	# the peers: umoci unpacks the same image, runc runs it
	umoci unpack --image "$BATS_FILE_TMPDIR/l128:t" "$T/bundle" >/dev/null
	jq '.process.terminal = false | .process.args = ["sh", "-c", "cat /top /f100; echo; ls /layers | wc -l; ls /etc /d"]' \
		"$T/bundle/config.json" >"$T/config.json"
	mv "$T/config.json" "$T/bundle/config.json"
	run -0 runc run -b "$T/bundle" "ramp-l128-$$"
	[ "$output" = "$L128_VIEW" ]
}

@test "many layers: rampd runs a 128-layer image" {
	local reg
	reg=$(start_registry "$T/registry")
	skopeo copy -q "oci:$BATS_FILE_TMPDIR/l128:t" "docker://$reg/l128:t" --dest-tls-verify=false
	rampd_fake_config
	start_rampd
	deploy "$reg/l128@$(skopeo inspect --tls-verify=false "docker://$reg/l128:t" | jq -r .Digest)" 1
	wait_app .phase healthy 60
	# app.log's lines are "TIME [CONTAINER] LINE" (rampd's own "TIME rampd: …")
	app_lines() { grep -v '^[0-9TZ:-]* rampd: ' "$T/state/apps/web/run/app.log" | sed -E 's/^[0-9TZ:-]+ \[[^]]*\] ?//'; }
	for _ in $(seq 100); do app_lines | grep -q "^new" && break; sleep 0.05; done
	diff <(printf '%s\n' "$L128_VIEW") <(app_lines)
}
