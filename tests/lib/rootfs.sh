# tests/lib/rootfs.sh: a real Debian root file system for tests and benchmarks
# (sourced). Made once per machine with debootstrap (about 30 s) and reused.

rootfs=${RAMP_BENCH_ROOTFS:-/var/tmp/ramp-debian-rootfs}

# Make the tree if it is missing; one debootstrap at a time per machine, and
# the tree appears only once complete.
ensure_rootfs() {
	[ -d "$rootfs" ] && return 0
	exec 9>"$rootfs.lock"
	flock 9
	if [ ! -d "$rootfs" ]; then
		rm -rf "$rootfs.tmp"
		echo "debootstrap --variant=minbase bookworm $rootfs (once, about 30 s)" >&2
		debootstrap --variant=minbase bookworm "$rootfs.tmp" >/dev/null
		mv "$rootfs.tmp" "$rootfs"
	fi
	flock -u 9
}
