#!/usr/bin/env bash
# tests/bench/build.sh: `ramp build` of a real Debian root file system against
# `umoci repack` of the same tree, measured in the same run (issue 2's targets:
# gzip no slower than umoci, zstd at least 3x faster, peak RSS under 64 MB).
# Prints a markdown section.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
ramp=${RAMP_BIN:?}
ensure_rootfs
w=$(mktemp -d /var/tmp/ramp-bench-build-XXXXXX)
trap 'rm -rf "$w"' EXIT

# umoci repacks a bundle whose rootfs is the tree (copied once, untimed)
umoci init --layout "$w/u" >/dev/null
umoci new --image "$w/u:t" >/dev/null
umoci unpack --image "$w/u:t" "$w/bundle" >/dev/null
rm -rf "$w/bundle/rootfs" && cp -a "$rootfs" "$w/bundle/rootfs"
tar -C "$rootfs" -cf /dev/null . # warm the page cache for everyone alike

read -r t_umoci m_umoci < <(measure "" "umoci repack --image '$w/u:t' '$w/bundle'")
read -r t_gz m_gz < <(measure "rm -f '$w/g.tar'" "'$ramp' build '$rootfs' -o '$w/g.tar'")
read -r t_zs m_zs < <(measure "rm -f '$w/z.tar'" "'$ramp' build '$rootfs' -o '$w/z.tar' --compression zstd")
read -r t_ref m_ref < <(reps=1 measure "" "tar --sort=name -C '$rootfs' -cf - . | gzip -6 | sha256sum")
s_gz=$(stat -c %s "$w/g.tar")
s_zs=$(stat -c %s "$w/z.tar")
d1=$("$ramp" build "$rootfs" -o "$w/g2.tar")
cmp -s "$w/g.tar" "$w/g2.tar" && repro=yes || repro=NO

cat <<MD
## ramp build (issue 2)

Input: \`debootstrap --variant=minbase bookworm\` ($(rootfs_summary)), page cache warm.
Median of $reps runs (the tar|gzip reference: 1 run). Command: \`make bench\` (tests/bench/build.sh).

| what | wall s | peak RSS MB | output MB | vs umoci repack | target |
| --- | ---: | ---: | ---: | ---: | --- |
| umoci repack (parallel gzip) | $t_umoci | $m_umoci | | 1.00 | |
| ramp build, gzip (default level 1) | $t_gz | $m_gz | $(awk -v s="$s_gz" 'BEGIN{printf "%.1f", s/1e6}') | $(ratio "$t_gz" "$t_umoci") | <= 1.00, RSS < 64 MB |
| ramp build, zstd (level 3) | $t_zs | $m_zs | $(awk -v s="$s_zs" 'BEGIN{printf "%.1f", s/1e6}') | $(ratio "$t_zs" "$t_umoci") | <= 0.33, RSS < 64 MB |
| tar --sort=name \| gzip -6 \| sha256sum | $t_ref | $m_ref | | $(ratio "$t_ref" "$t_umoci") | single-threaded reference |

Built twice, byte-identical archives: $repro (manifest $d1).
MD
