# tests/bench/lib.sh: shared by the benchmark scripts (sourced).
#
# RAMP_BENCH_ROOTFS: a real Debian root file system (debootstrap minbase),
# made once per machine and reused; REPS: runs per measurement (default 3).

rootfs=${RAMP_BENCH_ROOTFS:-/var/tmp/ramp-debian-rootfs}
reps=${REPS:-3}

# Make the Debian tree if it is missing; one debootstrap at a time per
# machine, and the tree appears only once complete.
ensure_rootfs() {
	[ -d "$rootfs" ] && return 0
	exec 9>"$rootfs.lock"
	flock 9
	if [ ! -d "$rootfs" ]; then
		rm -rf "$rootfs.tmp"
		echo "bench: debootstrap --variant=minbase bookworm $rootfs (once, about 30 s)" >&2
		debootstrap --variant=minbase bookworm "$rootfs.tmp" >/dev/null
		mv "$rootfs.tmp" "$rootfs"
	fi
	flock -u 9
}

rootfs_summary() {
	printf '%s MB in %s entries' "$(du -sm "$rootfs" | cut -f1)" "$(find "$rootfs" | wc -l)"
}

# measure PREP CMD: runs PREP (untimed) then CMD $reps times; prints
# "median_seconds max_rss_mb" of the runs.
measure() {
	local prep=$1 cmd=$2 out ts=() rss=0 line
	out=$(mktemp)
	for ((i = 0; i < reps; i++)); do
		bash -c "$prep" >/dev/null 2>&1
		/usr/bin/time -o "$out" -f '%e %M' bash -c "$cmd" >/dev/null 2>&1 || { echo "bench: failed: $cmd" >&2; rm -f "$out"; return 1; }
		line=$(tail -1 "$out")
		ts+=("${line% *}")
		[ "${line#* }" -gt "$rss" ] && rss=${line#* }
	done
	rm -f "$out"
	printf '%s %s\n' "$(printf '%s\n' "${ts[@]}" | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')" \
		"$(awk -v k="$rss" 'BEGIN{printf "%.1f", k/1024}')"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }
