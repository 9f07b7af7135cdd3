#!/usr/bin/env bash
# tests/bench/compress.sh: throughput of the layer compressors (image/compress)
# on the tar of a real Debian root file system, against umoci repack measured
# in the same run; checks on the way that the output is the same for every
# thread count and that umoci and skopeo (Go's gzip) read our gzip layer.
# Prints markdown tables. Best of $REPS runs (default 3) per row.
#
# env: RAMP_HELPERS (compress_bench), RAMP_BENCH_ROOTFS (a debootstrap'ed tree;
# made with debootstrap --variant=minbase bookworm when missing), REPS.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
helpers=${RAMP_HELPERS:-$here/../../build/release/tests/helpers}
bench=$helpers/compress_bench
. "$here/lib.sh"
[ -x "$bench" ] || { echo "compress.sh: $bench missing (make bench builds it)" >&2; exit 1; }
ensure_rootfs

work=$(mktemp -d /var/tmp/ramp-bench-compress-XXXXXX)
trap 'rm -rf "$work"' EXIT
tar -cf "$work/root.tar" -C "$rootfs" .
in_bytes=$(stat -c %s "$work/root.tar")
in_mb=$(awk -v b="$in_bytes" 'BEGIN{printf "%.0f", b/1e6}')

# best INPUT CMD...: runs CMD <INPUT $reps times, prints the fastest run's compress_bench line
best() {
	local in=$1 line best_line='' t best_t=''
	shift
	for ((i = 0; i < reps; i++)); do
		line=$("$@" <"$in")
		t=$(awk '{print $3}' <<<"$line")
		if [ -z "$best_t" ] || awk -v a="$t" -v b="$best_t" 'BEGIN{exit !(a < b)}'; then
			best_t=$t best_line=$line
		fi
	done
	echo "$best_line"
}

# best_time CMD [PREP]: seconds of the fastest of $reps runs of a shell command,
# each after an untimed PREP
best_time() {
	local t best_t=''
	for ((i = 0; i < reps; i++)); do
		[ -n "${2:-}" ] && eval "$2"
		t=$(/usr/bin/time -f %e bash -c "{ $1; } >/dev/null 2>&1" 2>&1 | tail -1)
		if [ -z "$best_t" ] || awk -v a="$t" -v b="$best_t" 'BEGIN{exit !(a < b)}'; then
			best_t=$t
		fi
	done
	echo "$best_t"
}

echo "### Layer compressors on a ${in_mb} MB Debian tar (tar in page cache, both SHA-256s included)"
echo
echo "| compressor | threads | MB/s | seconds | output MB | output/input |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
declare -A digest
row() { # spec threads
	local l
	l=$(best "$work/root.tar" "$bench" "$1" "$2")
	read -r _ out secs mbs dg <<<"$l"
	awk -v s="$1" -v t="$2" -v m="$mbs" -v sec="$secs" -v o="$out" -v i="$in_bytes" \
		'BEGIN{printf "| %s | %s | %.0f | %.2f | %.1f | %.3f |\n", s, t, m, sec, o/1e6, o/i}'
	if [ -n "${digest[$1]:-}" ] && [ "${digest[$1]}" != "$dg" ]; then
		echo "compress.sh: $1 gave different bytes with $2 threads" >&2
		exit 1
	fi
	digest[$1]=$dg
}
for spec in gzip:1 gzip:2 gzip:3 gzip:6; do
	row "$spec" 1
	row "$spec" 2
done
row zstd:1 1
row zstd:1 2
row zstd:3 1
row zstd:3 2
row none 1
echo
echo "Output identical for 1 and 2 threads in every row (checked)."
echo

# umoci repack of the same tree: a fresh image each time, or it would only diff
umoci_prep='rm -rf "$work/L" "$work/B"; umoci init --layout "$work/L" && umoci new --image "$work/L:t" &&
	umoci unpack --image "$work/L:t" "$work/B" >/dev/null 2>&1 && cp -a "$rootfs/." "$work/B/rootfs/" && sync'
export work rootfs
t_umoci=$(best_time 'umoci repack --image "$work/L:t" "$work/B"' "$umoci_prep")
t_gz=$(best_time "tar -cf - -C '$rootfs' . | '$bench' gzip 2")
t_zs=$(best_time "tar -cf - -C '$rootfs' . | '$bench' zstd 2")
t_gnu=$(best_time "tar -cf - -C '$rootfs' . | gzip -6")
t_zcli=$(best_time "tar -cf - -C '$rootfs' . | zstd -3 -T2")

echo "### Whole tree to compressed layer, tar reading included (2 cores)"
echo
echo "| pipeline | seconds | speed-up vs umoci repack |"
echo "| --- | ---: | ---: |"
pr() { awk -v n="$1" -v t="$2" -v u="$t_umoci" 'BEGIN{printf "| %s | %.2f | %.2fx |\n", n, t, u/t}'; }
pr "umoci repack (Go parallel gzip)" "$t_umoci"
pr "GNU tar \\| ramp gzip (default level), 2 threads" "$t_gz"
pr "GNU tar \\| ramp zstd:3, 2 workers" "$t_zs"
pr "GNU tar \\| gzip -6" "$t_gnu"
pr "GNU tar \\| zstd -3 -T2" "$t_zcli"
echo

# interop: our gzip layer in an OCI layout, read by umoci (unpack) and skopeo (decompress)
L=$work/O
mkdir -p "$L/blobs/sha256"
echo '{"imageLayoutVersion":"1.0.0"}' >"$L/oci-layout"
"$bench" gzip 2 "$work/layer" <"$work/root.tar" >/dev/null
put() { local d; d=$(sha256sum <"$1" | cut -d' ' -f1); cp "$1" "$L/blobs/sha256/$d"; echo "$d $(stat -c %s "$1")"; }
read -r ld ls <<<"$(put "$work/layer")"
diff_id=$(sha256sum <"$work/root.tar" | cut -d' ' -f1)
printf '{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
	"$diff_id" >"$work/config"
read -r cd cs <<<"$(put "$work/config")"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' \
	"$cd" "$cs" "$ld" "$ls" >"$work/manifest"
read -r md ms <<<"$(put "$work/manifest")"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"t"}}]}' \
	"$md" "$ms" >"$L/index.json"
umoci unpack --image "$L:t" "$work/U" >/dev/null 2>&1
[ "$(cat "$work/U/rootfs/etc/debian_version")" = "$(cat "$rootfs/etc/debian_version")" ]
[ "$(find "$work/U/rootfs" | wc -l)" = "$(find "$rootfs" | wc -l)" ]
skopeo copy -q --dest-decompress "oci:$L:t" "dir:$work/D" >/dev/null
cmp "$work/D/$diff_id" "$work/root.tar"
echo "Interop: umoci unpack of our gzip layer gives the same tree; skopeo (Go) decompresses it to the same tar."
