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

# a free TCP port on 127.0.0.1
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_registry DIR: a docker-registry on a free loopback port, its data in
# DIR; sets REG (127.0.0.1:PORT) and REG_PID once it answers (the caller stops it)
start_registry() {
	local d=$1 p
	p=$(free_port)
	mkdir -p "$d"
	printf 'version: 0.1\nlog: {level: error}\nstorage: {filesystem: {rootdirectory: %s}, delete: {enabled: true}}\nhttp: {addr: 127.0.0.1:%s}\n' \
		"$d/data" "$p" >"$d/config.yml"
	docker-registry serve "$d/config.yml" >"$d/log" 2>&1 </dev/null &
	REG_PID=$!
	REG=127.0.0.1:$p
	for _ in $(seq 100); do curl -sf "http://$REG/v2/" >/dev/null && return 0; sleep 0.05; done
	echo "bench: the registry in $d did not start" >&2
	return 1
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }
