#!/usr/bin/env bash
# tests/bench/registry.sh: ramp push / pull against skopeo copy, same image,
# same local registry (docker-registry on loopback), in the same run.
#
# The image: a Debian minbase root (debootstrap, cached in
# /var/tmp/ramp-bench-rootfs) split into 4 layers with umoci, cached in
# /var/tmp/ramp-bench-registry. Each measured push goes to a fresh registry
# (a new image every time); each pull starts from an empty cache. The median
# of RUNS (3) runs is reported, with peak RSS from /usr/bin/time.
#
# usage: RAMP_BIN=bin/ramp tests/bench/registry.sh
set -euo pipefail
RAMP=${RAMP_BIN:-$(dirname "$0")/../../bin/ramp}
RAMP=$(realpath "$RAMP")
RUNS=${RUNS:-3}
ROOTFS=${RAMP_BENCH_ROOTFS:-/var/tmp/ramp-bench-rootfs}
CACHE=/var/tmp/ramp-bench-registry
W=$(mktemp -d /var/tmp/ramp-bench-XXXXXX)
REGPID=
cleanup() {
	[ -n "$REGPID" ] && kill "$REGPID" 2>/dev/null && wait "$REGPID" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT

if [ ! -x "$ROOTFS/bin/sh" ]; then
	echo "building $ROOTFS with debootstrap (once)" >&2
	debootstrap --variant=minbase bookworm "$ROOTFS" >/dev/null
fi
if [ ! -f "$CACHE/img.tar" ]; then
	echo "building the 4-layer image with umoci (once)" >&2
	rm -rf "$CACHE" && mkdir -p "$CACHE"
	umoci init --layout "$CACHE/L" && umoci new --image "$CACHE/L:bench"
	umoci unpack --image "$CACHE/L:bench" "$CACHE/B" >/dev/null
	for part in usr/lib usr/share var; do
		mkdir -p "$CACHE/B/rootfs/$(dirname $part)"
		cp -a "$ROOTFS/$part" "$CACHE/B/rootfs/$part"
		umoci repack --image "$CACHE/L:bench" "$CACHE/B" >/dev/null
	done
	cp -an "$ROOTFS/." "$CACHE/B/rootfs/"
	umoci repack --image "$CACHE/L:bench" "$CACHE/B" >/dev/null
	umoci gc --layout "$CACHE/L"
	tar -C "$CACHE/L" -cf "$CACHE/img.tar" oci-layout index.json blobs
	rm -rf "$CACHE/B"
fi
IMG=$CACHE/img.tar
SIZE=$(du -m "$IMG" | cut -f1)

start_registry() {
	local port d=$W/reg-$RANDOM
	[ -n "$REGPID" ] && kill "$REGPID" 2>/dev/null && wait "$REGPID" 2>/dev/null || true
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	mkdir -p "$d"
	cat >"$d/config.yml" <<EOC
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $d/data}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$port}
EOC
	docker-registry serve "$d/config.yml" >"$d/log" 2>&1 &
	REGPID=$!
	REG=127.0.0.1:$port
	for _ in $(seq 100); do curl -sf "http://$REG/v2/" >/dev/null && return 0; sleep 0.05; done
	echo "registry did not start" >&2
	exit 1
}

# time_cmd OUTVAR CMD...: wall seconds and peak RSS (kB) of one command
time_cmd() {
	local var=$1
	shift
	sync
	/usr/bin/time -f '%e %M' -o "$W/time" "$@" >"$W/cmd.out" 2>"$W/cmd.err" || {
		cat "$W/cmd.err" >&2
		exit 1
	}
	printf -v "$var" '%s' "$(cat "$W/time")"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -a rp sp rpl spl rrs
for i in $(seq "$RUNS"); do
	start_registry
	time_cmd t "$RAMP" -q push "$IMG" "$REG/bench:1"
	rp+=("${t% *}"); rss_push=${t#* }
	time_cmd t "$RAMP" -q push --json "$IMG" "$REG/bench:1"
	rrs+=("${t% *}")
	if grep -q '"state":"uploaded"' "$W/cmd.out"; then echo "re-push uploaded a blob" >&2; exit 1; fi
	rm -rf "$HOME/.cache/ramp" "$W/out.tar"
	time_cmd t "$RAMP" -q pull "$REG/bench:1" -o "$W/out.tar"
	rpl+=("${t% *}"); rss_pull=${t#* }
	rm -f "$W/out.tar"
	time_cmd t skopeo copy -q "docker://$REG/bench:1" "oci-archive:$W/out.tar" --src-tls-verify=false
	spl+=("${t% *}")
	rm -f "$W/out.tar"
	start_registry
	time_cmd t skopeo copy -q "oci-archive:$IMG" "docker://$REG/bench:1" --dest-tls-verify=false
	sp+=("${t% *}")
done
# re-push in milliseconds (median of 5), from a fast clock: time(1) has 10 ms resolution
start_registry
"$RAMP" -q push "$IMG" "$REG/bench:1" >/dev/null
repush_ms=$(for i in 1 2 3 4 5; do
	sync
	s=$(date +%s%N)
	"$RAMP" -q push "$IMG" "$REG/bench:1" >/dev/null
	e=$(date +%s%N)
	echo $(((e - s) / 1000000))
done | median)

m_rp=$(printf '%s\n' "${rp[@]}" | median)
m_sp=$(printf '%s\n' "${sp[@]}" | median)
m_rpl=$(printf '%s\n' "${rpl[@]}" | median)
m_spl=$(printf '%s\n' "${spl[@]}" | median)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

echo
echo "### registry: ramp vs skopeo ($SIZE MB image, 4 layers, local docker-registry, median of $RUNS)"
echo
echo "| operation | ramp | skopeo | ratio (target) |"
echo "| --- | --- | --- | --- |"
echo "| push, new image (oci-archive) | ${m_rp} s | ${m_sp} s | $(ratio "$m_rp" "$m_sp") (<= 0.8) |"
echo "| pull to oci-archive | ${m_rpl} s | ${m_spl} s | $(ratio "$m_rpl" "$m_spl") (<= 0.8) |"
echo "| re-push, unchanged | ${repush_ms} ms, no blob bytes | | (< 100 ms) |"
echo "| peak RSS push / pull | $((rss_push / 1024)) / $((rss_pull / 1024)) MB | | (< 64 MB) |"
