#!/usr/bin/env bash
# tests/bench/container_start.sh: start-to-exit time of /bin/true in a container from an
# already unpacked root, ramp's runtime (runtime/container.c through rt_run) against
# crun and runc measured in the same run. Prints a markdown table.
#
#   RAMP_HELPERS=build/release/tests/helpers tests/bench/container_start.sh [RUNS]
#
# Every runtime runs a busybox root with new mount, pid, ipc and uts namespaces and the
# host's network (runc's default config without its network namespace, so all do the
# same work). Each start is timed by bash's $EPOCHREALTIME around the command, inside
# one loop per runtime (no process of the timing in between); crun runs in a private
# mount namespace without the v2 hierarchy it refuses on hybrid hosts, as its loop.
# ramp is measured four ways, rt_run per start (the seccomp filter compiled in every
# run, as crun and runc do their set-up in every run): an overlay root with a durable
# upper dir (overlayfs syncs the upper's file system when the container ends), an
# overlay root with a fresh volatile upper dir per start, a flat root like crun's and
# runc's bundles; and the in-process start-to-exit time of rt_start+rt_wait with the
# filter compiled once (what rampd pays per start), with either kind of upper dir.
set -euo pipefail
RUNS=${1:-100}
: "${RAMP_HELPERS:?set RAMP_HELPERS (make bench does)}"
RT_RUN=$RAMP_HELPERS/rt_run
for t in crun runc busybox jq; do
	command -v "$t" >/dev/null || { echo "container_start: $t is missing (make deps)" >&2; exit 1; }
done

W=$(mktemp -d /tmp/ramp-bench-ctr-XXXXXX)
trap 'rm -rf "$W"' EXIT

# the image: a busybox layer and an etc layer; the flat root is both merged
mkdir -p "$W/l1/bin" "$W/l2/etc" "$W/up" "$W/wk" "$W/vup" "$W/vwk" "$W/inup" "$W/inwk"
for ((i = 0; i < RUNS; i++)); do mkdir "$W/vup/$i" "$W/vwk/$i"; done
cp "$(command -v busybox)" "$W/l1/bin/busybox"
for a in $(busybox --list); do [ "$a" = busybox ] || ln -s busybox "$W/l1/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$W/l2/etc/passwd"
printf 'root:x:0:\n' >"$W/l2/etc/group"
mkdir -p "$W/bundle/rootfs"
cp -a "$W/l1/." "$W/l2/." "$W/bundle/rootfs/"
cp -a "$W/bundle/rootfs" "$W/flat"

(cd "$W/bundle" && runc spec)
jq '.process.terminal = false | .process.args = ["/bin/true"] | .root.readonly = false
    | .linux.namespaces |= map(select(.type != "network"))' \
	"$W/bundle/config.json" >"$W/bundle/config.new"
mv "$W/bundle/config.new" "$W/bundle/config.json"

# time_loop OUT CMD...: run CMD RUNS times (the string "@" in it becomes the run number),
# one duration in ms a line
cat >"$W/loop.sh" <<'EOF'
out=$1 runs=$2; shift 2
for ((i = 0; i < runs; i++)); do
	args=("${@//@/$i}")
	t0=$EPOCHREALTIME
	"${args[@]}" >/dev/null
	t1=$EPOCHREALTIME
	echo "$(( (${t1/./} - ${t0/./}) ))" >>"$out"
done
EOF

bash "$W/loop.sh" "$W/ramp.us" "$RUNS" "$RT_RUN" --lower "$W/l1" --lower "$W/l2" --upper "$W/up" --work "$W/wk" -- /bin/true
bash "$W/loop.sh" "$W/vol.us" "$RUNS" "$RT_RUN" --volatile --lower "$W/l1" --lower "$W/l2" \
	--upper "$W/vup/@" --work "$W/vwk/@" -- /bin/true
bash "$W/loop.sh" "$W/flat.us" "$RUNS" "$RT_RUN" --rootfs "$W/flat" -- /bin/true
"$RT_RUN" --repeat "$RUNS" --lower "$W/l1" --lower "$W/l2" --upper "$W/up" --work "$W/wk" -- /bin/true |
	awk '{printf "%d\n", $1 * 1000}' >"$W/inproc.us"
"$RT_RUN" --repeat "$RUNS" --volatile --lower "$W/l1" --lower "$W/l2" --upper "$W/inup" --work "$W/inwk" -- /bin/true |
	awk '{printf "%d\n", $1 * 1000}' >"$W/inproc-vol.us"
unshare -m bash -c "umount /sys/fs/cgroup/unified 2>/dev/null; bash '$W/loop.sh' '$W/crun.us' '$RUNS' \
	crun --root '$W/crun-state' --cgroup-manager=disabled run -b '$W/bundle' ramp-bench-@"
bash "$W/loop.sh" "$W/runc.us" "$RUNS" runc --root "$W/runc-state" run -b "$W/bundle" ramp-bench-@

# quantile FILE Q: the Q-quantile (nearest rank) in ms
quantile() { sort -n "$1" | awk -v q="$2" '{v[NR] = $1} END {i = int(q * NR + 0.999999); if (i < 1) i = 1; printf "%.2f", v[i] / 1000}'; }

crun_med=$(quantile "$W/crun.us" 0.5)
runc_med=$(quantile "$W/runc.us" 0.5)
echo "### Container start to exit of /bin/true ($RUNS runs each, $(nproc) cores, $(uname -r))"
echo
echo "| runtime | median ms | p90 ms | median / crun | median / runc |"
echo "| --- | ---: | ---: | ---: | ---: |"
row() {
	local name=$1 f=$2 med
	med=$(quantile "$f" 0.5)
	printf '| %s | %s | %s | %.2fx | %.2fx |\n' "$name" "$med" "$(quantile "$f" 0.9)" \
		"$(echo "$med / $crun_med" | bc -l)" "$(echo "$med / $runc_med" | bc -l)"
}
row "ramp rt_run, overlay root, durable upper (one process per start)" "$W/ramp.us"
row "ramp rt_run, overlay root, volatile upper (one process per start)" "$W/vol.us"
row "ramp rt_run, flat root (one process per start)" "$W/flat.us"
row "ramp rt_start..rt_wait in one process (as rampd), overlay, durable upper" "$W/inproc.us"
row "ramp rt_start..rt_wait in one process (as rampd), overlay, volatile upper" "$W/inproc-vol.us"
row "crun $(crun --version | awk 'NR==1{print $3}') (--cgroup-manager=disabled)" "$W/crun.us"
row "runc $(runc --version | awk 'NR==1{print $3}')" "$W/runc.us"

# The cost a durable upper dir hides in a quiet benchmark: overlayfs syncs the upper's
# whole file system when the container ends, so unsynced writes of anyone on that file
# system are waited for. 3 runs each, with 100 MB written (not synced) just before.
dirty_run() {
	local f=$1; shift
	for ((i = 0; i < 3; i++)); do
		dd if=/dev/zero of="$W/dirty.bin" bs=1M count=100 status=none
		t0=$EPOCHREALTIME
		"$@" >/dev/null
		t1=$EPOCHREALTIME
		echo "$(( (${t1/./} - ${t0/./}) ))" >>"$f"
		rm -f "$W/dirty.bin"
		sync
	done
}
mkdir -p "$W/dvup/0" "$W/dvwk/0" "$W/dvup/1" "$W/dvwk/1" "$W/dvup/2" "$W/dvwk/2"
dirty_run "$W/dirty-durable.us" "$RT_RUN" --lower "$W/l1" --lower "$W/l2" --upper "$W/up" --work "$W/wk" -- /bin/true
n=0
vol_next() { "$RT_RUN" --volatile --lower "$W/l1" --lower "$W/l2" --upper "$W/dvup/$n" --work "$W/dvwk/$n" -- /bin/true; n=$((n + 1)); }
dirty_run "$W/dirty-volatile.us" vol_next
echo
echo "With 100 MB of unsynced writes on the upper dir's file system (median of 3): durable upper" \
	"$(quantile "$W/dirty-durable.us" 0.5) ms, volatile upper $(quantile "$W/dirty-volatile.us" 0.5) ms."
