#!/usr/bin/env bash
# tests/bench/unpack.sh: unpacking a real Debian image into the ramp store vs
# `umoci unpack` of the same image, measured in the same run.
#
# The image: `debootstrap --variant=minbase bookworm` (~200 MB, ~6,800 entries)
# packed by umoci as one gzip layer; both are cached under /var/tmp. Each
# round runs every tool once, each on a fresh file system holding a copy of
# the image (in the page cache: the blob is read from memory by all of them). "ramp import" is what rampd does: link and verify the blob, unpack
# (digest and diff_id checked), syncfs, rename; "--no-sync" leaves out the
# syncfs, which umoci does not do either. Target: ramp at most 0.7x umoci.
#
# usage: tests/bench/unpack.sh [ROUNDS]     (RAMP_HELPERS: where store_tool is)
set -euo pipefail
rounds=${1:-5}
rootfs=${RAMP_BENCH_ROOTFS:-/var/tmp/ramp-bench-rootfs}
image=${RAMP_BENCH_IMAGE:-/var/tmp/ramp-bench-image}
tool=${RAMP_HELPERS:-build/release/tests/helpers}/store_tool
work=$(mktemp -d /var/tmp/ramp-bench-unpack-XXXXXX)
trap 'rm -rf "$work"' EXIT

[ -x "$tool" ] || { echo "missing $tool: run make check (or make bench) first" >&2; exit 1; }
if [ ! -d "$rootfs" ]; then
	echo "creating $rootfs with debootstrap (once)" >&2
	debootstrap --variant=minbase bookworm "$rootfs.tmp" >/dev/null
	mv "$rootfs.tmp" "$rootfs"
fi
if [ ! -f "$image/index.json" ]; then
	echo "packing $rootfs into $image with umoci (once)" >&2
	rm -rf "$image" "$work/bundle"
	umoci init --layout "$image"
	umoci new --image "$image:bench"
	umoci unpack --image "$image:bench" "$work/bundle" >/dev/null
	cp -a "$rootfs/." "$work/bundle/rootfs/"
	umoci repack --image "$image:bench" "$work/bundle"
	rm -rf "$work/bundle"
fi

# Every measurement gets a fresh ext4 file system (a loop device): ext4 makes
# file creation slow for minutes after many deletions ("recently deleted"
# inodes are skipped), which would otherwise punish whoever runs second.
mnt=$work/mnt
mkdir -p "$mnt"
fresh_fs() {
	rm -f "$work/fs.img"
	truncate -s 4G "$work/fs.img"
	mkfs.ext4 -q -F "$work/fs.img"
	mount -o loop "$work/fs.img" "$mnt"
	cp -a "$image" "$mnt/image" # the image beside the output, as a pull into the store would be
	sync
}
done_fs() { umount "$mnt"; }
trap 'umount "$mnt" 2>/dev/null; rm -rf "$work"' EXIT

now() { date +%s%N; }
declare -A times
run() { # name command... (MNT in the command is the fresh file system)
	local name=$1 t0 t1
	shift
	fresh_fs
	t0=$(now)
	"${@//MNT/$mnt}" >/dev/null
	t1=$(now)
	done_fs
	times[$name]+="$(( (t1 - t0) / 1000000 )) "
}

layer=$(jq -r '.manifests[0].digest' "$image/index.json" | cut -d: -f2)
layer=$(jq -r '.layers[0].digest' "$image/blobs/sha256/$layer" | cut -d: -f2)
for ((i = 0; i < rounds; i++)); do
	run "umoci unpack" umoci unpack --image MNT/image:bench MNT/out
	run "ramp import" "$tool" import MNT/store MNT/image:bench
	run "ramp import --no-sync" "$tool" import MNT/store MNT/image:bench --no-sync
	run "tar -xzf (reference)" sh -c "mkdir MNT/out && tar -xzf MNT/image/blobs/sha256/$layer -C MNT/out"
done

median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }
base=$(echo "${times[umoci unpack]}" | median)
size=$(du -sm "$rootfs" | cut -f1)
blob=$(( $(find "$image/blobs/sha256" -size +1M -printf '%s') / 1048576 ))
echo
echo "Unpack of debootstrap minbase bookworm ($size MB tree, $blob MB gzip layer), $rounds rounds, $(nproc) cores"
echo
echo "| tool | median (ms) | min (ms) | max (ms) | vs umoci |"
echo "| --- | ---: | ---: | ---: | ---: |"
for name in "umoci unpack" "ramp import" "ramp import --no-sync" "tar -xzf (reference)"; do
	t=${times[$name]}
	m=$(echo "$t" | median)
	lo=$(echo "$t" | tr ' ' '\n' | grep . | sort -n | head -1)
	hi=$(echo "$t" | tr ' ' '\n' | grep . | sort -n | tail -1)
	printf '| %s | %d | %d | %d | %.2fx |\n' "$name" "$m" "$lo" "$hi" "$(awk "BEGIN {print $m / $base}")"
done
