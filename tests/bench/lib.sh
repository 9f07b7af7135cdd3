# tests/bench/lib.sh: shared by the benchmark scripts (sourced).
#
# The Debian tree comes from tests/lib/rootfs.sh; REPS: runs per measurement (default 3).

. "$(dirname "${BASH_SOURCE[0]}")/../lib/rootfs.sh"
reps=${REPS:-3}

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
