#!/usr/bin/env bash
# tests/bench/unpack.sh: importing a real Debian image into the host store
# (runtime/store + runtime/unpack) against `umoci unpack` of the same image,
# measured in the same run. Prints a markdown section.
#
# The image: the debootstrap'ed tree of lib.sh packed by umoci as one gzip
# layer (made once, cached beside the tree). Every measurement runs on a fresh
# ext4 file system (a loop device) holding a copy of the image, in the page
# cache: ext4 makes file creation slow for minutes after mass deletions (it
# skips "recently deleted" inodes), which would otherwise punish whoever runs
# second. "ramp import" is what rampd does: link and hash the blob, unpack
# with both digests checked, syncfs, rename into place; "--no-sync" leaves the
# syncfs out (umoci does not sync either). Target (issue 4): at most 0.7x
# umoci's wall time. Median of $REPS runs (default 3).
#
# env: RAMP_HELPERS (store_tool), RAMP_BENCH_ROOTFS, REPS.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
helpers=${RAMP_HELPERS:-$here/../../build/release/tests/helpers}
tool=$helpers/store_tool
. "$here/lib.sh"
[ -x "$tool" ] || { echo "unpack.sh: $tool missing (make bench builds it)" >&2; exit 1; }
ensure_rootfs
image=$rootfs-umoci-image

work=$(mktemp -d /var/tmp/ramp-bench-unpack-XXXXXX)
mnt=$work/mnt
mkdir -p "$mnt"
trap 'umount "$mnt" 2>/dev/null || true; rm -rf "$work"' EXIT

if [ ! -f "$image/index.json" ]; then
	echo "unpack.sh: packing $rootfs into $image with umoci (once)" >&2
	rm -rf "$image.tmp"
	umoci init --layout "$image.tmp"
	umoci new --image "$image.tmp:bench"
	umoci unpack --image "$image.tmp:bench" "$work/bundle" >/dev/null
	cp -a "$rootfs/." "$work/bundle/rootfs/"
	umoci repack --image "$image.tmp:bench" "$work/bundle"
	rm -rf "$work/bundle"
	mv "$image.tmp" "$image"
fi

declare -A times
# run NAME CMD...: on a fresh file system (MNT in CMD), $reps times
run() {
	local name=$1 t0 t1 i
	shift
	for ((i = 0; i < reps; i++)); do
		rm -f "$work/fs.img"
		truncate -s 4G "$work/fs.img"
		mkfs.ext4 -q -F "$work/fs.img"
		mount -o loop "$work/fs.img" "$mnt"
		cp -a "$image" "$mnt/image" # beside the output, as a pull into the store is
		sync
		t0=$(date +%s%N)
		"${@//MNT/$mnt}" >/dev/null
		t1=$(date +%s%N)
		umount "$mnt"
		times[$name]+="$(((t1 - t0) / 1000000)) "
	done
}
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

manifest=$(jq -r '.manifests[0].digest' "$image/index.json" | cut -d: -f2)
layer=$(jq -r '.layers[0].digest' "$image/blobs/sha256/$manifest" | cut -d: -f2)
layer_mb=$(($(stat -c %s "$image/blobs/sha256/$layer") / 1000000))

run "umoci unpack" umoci unpack --image MNT/image:bench MNT/out
run "ramp import" "$tool" import MNT/store MNT/image:bench
run "ramp import --no-sync" "$tool" import MNT/store MNT/image:bench --no-sync
run "tar -xzf" sh -c "mkdir MNT/out && tar -xzf MNT/image/blobs/sha256/$layer -C MNT/out"

base=$(echo "${times[umoci unpack]}" | median)
echo "## Store import and secure unpack (issue 4)"
echo
echo "Input: the umoci image of \`debootstrap --variant=minbase bookworm\` ($(rootfs_summary), one ${layer_mb} MB gzip layer),"
echo "each run on a fresh ext4 file system with the image in the page cache. Median of $reps runs."
echo "Command: \`make bench\` (tests/bench/unpack.sh)."
echo
echo "| what | wall s | vs umoci unpack | target |"
echo "| --- | ---: | ---: | --- |"
for name in "umoci unpack" "ramp import" "ramp import --no-sync" "tar -xzf"; do
	m=$(echo "${times[$name]}" | median)
	case $name in
	"ramp import") target="<= 0.70 (digests checked, synced)" ;;
	"tar -xzf") target="reference: GNU tar, no digests checked" ;;
	*) target="" ;;
	esac
	awk -v n="$name" -v m="$m" -v b="$base" -v t="$target" \
		'BEGIN{printf "| %s | %.2f | %.2f | %s |\n", n, m / 1000, m / b, t}'
done
