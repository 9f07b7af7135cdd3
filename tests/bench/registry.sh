#!/usr/bin/env bash
# tests/bench/registry.sh: `ramp push` / `ramp pull` against `skopeo copy` of
# the same image to and from the same local registry (Debian's
# docker-registry on loopback), measured in the same run, ramp and skopeo
# taking turns in every round so both see the same machine load. Prints a
# markdown section. Targets (issue 3): push and pull at most 0.8x skopeo's
# wall time, a re-push of an unchanged image under 100 ms with no blob bytes,
# peak RSS under 64 MB.
#
# The image: the debootstrap'ed tree of lib.sh split into 4 gzip layers by
# umoci (usr/lib, usr/share, var, the rest), made once and cached beside the
# tree. Every push goes to a fresh registry (all blobs new); every pull goes
# to a new file or directory. ramp's pulls are durable (fsync), skopeo's are
# not. Median of $REPS rounds (default 5).
#
# env: RAMP_BIN, RAMP_BENCH_ROOTFS, REPS.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
reps=${REPS:-5}
ramp=$(realpath "${RAMP_BIN:-$here/../../bin/ramp}")
ensure_rootfs
image=$rootfs-registry-image.tar

w=$(mktemp -d /var/tmp/ramp-bench-registry-XXXXXX)
regpid=
cleanup() {
	if [ -n "$regpid" ]; then kill "$regpid" 2>/dev/null || true; wait "$regpid" 2>/dev/null || true; fi
	rm -rf "$w"
}
trap cleanup EXIT
export XDG_CACHE_HOME=$w/cache HOME=$w/home
mkdir -p "$HOME"

if [ ! -f "$image" ]; then
	echo "registry.sh: packing $rootfs into 4 layers with umoci (once)" >&2
	u=$w/umoci
	umoci init --layout "$u/L" && umoci new --image "$u/L:bench"
	umoci unpack --image "$u/L:bench" "$u/B" >/dev/null
	for part in usr/lib usr/share var; do
		mkdir -p "$u/B/rootfs/$(dirname $part)"
		cp -a "$rootfs/$part" "$u/B/rootfs/$part"
		umoci repack --refresh-bundle --image "$u/L:bench" "$u/B" >/dev/null
	done
	cp -an "$rootfs/." "$u/B/rootfs/"
	umoci repack --image "$u/L:bench" "$u/B" >/dev/null
	umoci gc --layout "$u/L"
	tar -C "$u/L" -cf "$image.tmp" oci-layout index.json blobs
	layers=$(tar -xOf "$image.tmp" index.json | python3 -c 'import json,sys; print(json.load(sys.stdin)["manifests"][0]["digest"][7:])' |
		xargs -I{} tar -xOf "$image.tmp" blobs/sha256/{} | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["layers"]))')
	[ "$layers" = 4 ] || { echo "registry.sh: umoci made $layers layers, not 4" >&2; exit 1; }
	mv "$image.tmp" "$image"
	rm -rf "$u"
fi
size_mb=$(awk -v s="$(stat -c %s "$image")" 'BEGIN{printf "%.0f", s/1e6}')
cat "$image" >/dev/null # in the page cache for both
load0=$(cut -d' ' -f1 /proc/loadavg)

# fresh_registry: a new, empty registry in place of the one before; sets reg and regpid
fresh_registry() {
	if [ -n "$regpid" ]; then kill "$regpid" 2>/dev/null || true; wait "$regpid" 2>/dev/null || true; fi
	start_registry "$w/reg-$RANDOM" || exit 1
	regpid=$REG_PID
	reg=$REG
}

# run NAME CMD...: one timed run; appends its seconds to $w/NAME.t and its
# peak RSS (kB) to $w/NAME.m. Dirty pages of earlier runs are written first.
run() {
	local name=$1
	shift
	sync
	/usr/bin/time -f '%e %M' -o "$w/time" "$@" >"$w/out" 2>"$w/err" || {
		echo "registry.sh: failed: $*" >&2
		cat "$w/err" >&2
		exit 1
	}
	read -r t m <"$w/time"
	echo "$t" >>"$w/$name.t"
	echo "$m" >>"$w/$name.m"
}
median() { sort -g "$w/$1.t" | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
rss() { sort -n "$w/$1.m" | tail -1 | awk '{printf "%.0f", $1/1024}'; }

for ((i = 0; i < reps; i++)); do
	fresh_registry
	run push "$ramp" -q push "$image" "$reg/bench:1"
	run pull "$ramp" -q pull "$reg/bench:1" -o "$w/r.tar"
	run sk_pull skopeo copy -q "docker://$reg/bench:1" "oci-archive:$w/s.tar:bench" --src-tls-verify=false
	run lay "$ramp" -q pull "$reg/bench:1" --layout "$w/rl"
	run sk_lay skopeo copy -q "docker://$reg/bench:1" "oci:$w/sl:bench" --src-tls-verify=false
	# a pulled image pushed to another repository of the same registry: its blobs are mounted
	run mount "$ramp" push --json "$w/r.tar" "$reg/other:1"
	grep -q '"state":"uploaded"' "$w/out" && { echo "registry.sh: the push of a pulled image uploaded a blob" >&2; exit 1; }
	rm -rf "$w/r.tar" "$w/s.tar" "$w/rl" "$w/sl"
	fresh_registry
	run sk_push skopeo copy -q "oci-archive:$image" "docker://$reg/bench:1" --dest-tls-verify=false
done

# re-push of an unchanged image, in milliseconds from a fast clock (time(1) has 10 ms steps)
"$ramp" -q push "$image" "$reg/bench:1" >/dev/null
for ((i = 0; i < reps; i++)); do
	s=$(date +%s%N)
	"$ramp" push --json "$image" "$reg/bench:1" >"$w/out"
	e=$(date +%s%N)
	echo $(((e - s) / 1000000)) >>"$w/repush.t"
	if grep -q '"state":"uploaded"\|"state":"mounted"' "$w/out"; then
		echo "registry.sh: the re-push sent a blob" >&2
		exit 1
	fi
done
skipped=$(grep -c '"state":"skipped"' "$w/out")
load1=$(cut -d' ' -f1 /proc/loadavg)

cat <<MD
## ramp push / pull vs skopeo (issue 3)

Image: $(rootfs_summary) (\`debootstrap --variant=minbase bookworm\`) in 4 gzip layers by umoci,
$size_mb MB; a local docker-registry on loopback. ramp and skopeo take turns in each of $reps rounds;
medians. ramp's pulls are fsync'd, skopeo's are not. Command: \`make bench\` (tests/bench/registry.sh).

| what | ramp s | skopeo s | ramp / skopeo | target | ramp peak RSS MB |
| --- | ---: | ---: | ---: | --- | ---: |
| push, new image (oci-archive to an empty registry) | $(median push) | $(median sk_push) | $(ratio "$(median push)" "$(median sk_push)") | <= 0.80 | $(rss push) |
| pull to an oci-archive | $(median pull) | $(median sk_pull) | $(ratio "$(median pull)" "$(median sk_pull)") | <= 0.80 | $(rss pull) |
| pull to an OCI layout | $(median lay) | $(median sk_lay) | $(ratio "$(median lay)" "$(median sk_lay)") | <= 0.80 | $(rss lay) |
| push of the pulled archive to another repository (blobs mounted) | $(median mount) | | | | $(rss mount) |

Re-push of the unchanged image: $(median repush) ms (median of $reps; target < 100 ms), $skipped blobs skipped, none sent.
Load average (1 min) at the start and the end: $load0, $load1 (other work on the machine slows both tools).
MD
