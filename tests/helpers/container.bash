# container.bash: shared set-up of the container integration tests (bats `load`).
#
# make_layers DIR builds a small image as two layers from busybox-static:
#   DIR/l1   /bin/busybox and its applet links
#   DIR/l2   /etc/passwd and /etc/group (root, a user "app" 1000:1000 in the extra group
#            2000), /bin/ctr_probe (tests/helpers/static/ctr_probe.c, static) and a
#            setuid-root copy /bin/ctr_probe_suid, /devnull (a char device 1:3), /srv
# new_root DIR NAME makes empty upper and work dirs DIR/NAME.up, DIR/NAME.wk and sets
# ROOT_ARGS to the overlay flags of rt_run.

RT_RUN="$RAMP_HELPERS/rt_run"

make_layers() {
	local d=$1 a
	mkdir -p "$d/l1/bin" "$d/l2/etc" "$d/l2/bin" "$d/l2/srv"
	cp /bin/busybox "$d/l1/bin/busybox"
	for a in $(/bin/busybox --list); do
		[ "$a" = busybox ] || ln -s busybox "$d/l1/bin/$a"
	done
	printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n' >"$d/l2/etc/passwd"
	printf 'root:x:0:\napp:x:1000:\nextra:x:2000:app,other\n' >"$d/l2/etc/group"
	# static, and without sanitizers: nothing of the host's libraries is in the root
	${CC_STATIC:-cc} -static -O1 -D_GNU_SOURCE -o "$d/l2/bin/ctr_probe" \
		"$BATS_TEST_DIRNAME/../helpers/static/ctr_probe.c"
	cp "$d/l2/bin/ctr_probe" "$d/l2/bin/ctr_probe_suid"
	chmod 4755 "$d/l2/bin/ctr_probe_suid"
	mknod "$d/l2/devnull" c 1 3
	chmod 666 "$d/l2/devnull"
}

new_root() {
	local d=$1 n=$2
	mkdir -p "$d/$n.up" "$d/$n.wk"
	ROOT_ARGS=(--lower "$d/l1" --lower "$d/l2" --upper "$d/$n.up" --work "$d/$n.wk")
}

# a digest of a tree (names, modes, sizes, contents) to tell whether it changed
tree_sum() {
	(cd "$1" && find . -printf '%p %m %s %l\n' | sort && find . -type f -exec cat {} + 2>/dev/null) | md5sum
}
