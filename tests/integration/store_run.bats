#!/usr/bin/env bats
# store_run.bats: an image imported into the store runs with the container
# runtime, both on the overlay of its layer directories (the normal case) and
# on its flattened copy (where overlayfs is missing): the second layer's
# changes (a whiteout, a replaced directory, new content) are what the
# container sees.

setup() {
	T=$(mktemp -d /var/tmp/ramp-store-run-XXXXXX)
	TOOL=$RAMP_HELPERS/store_tool
	RT_RUN=$RAMP_HELPERS/rt_run
}

teardown() {
	rm -rf "$T"
}

# two layers by umoci: busybox and a first version, then changes
build_image() {
	local r a
	umoci init --layout "$T/L"
	umoci new --image "$T/L:t"
	umoci unpack --image "$T/L:t" "$T/B1" >/dev/null
	r=$T/B1/rootfs
	mkdir -p "$r/bin" "$r/etc" "$r/data"
	cp /bin/busybox "$r/bin/busybox"
	for a in sh cat ls; do ln -s busybox "$r/bin/$a"; done
	echo v1 >"$r/etc/msg" && echo old >"$r/etc/old"
	echo a >"$r/data/a" && echo b >"$r/data/b"
	umoci repack --image "$T/L:t" "$T/B1"
	umoci unpack --image "$T/L:t" "$T/B2" >/dev/null
	r=$T/B2/rootfs
	echo v2 >"$r/etc/msg" && rm "$r/etc/old"
	rm -rf "$r/data" && mkdir "$r/data" && echo c >"$r/data/c"
	umoci repack --image "$T/L:t" "$T/B2"
}

@test "store: an imported image runs on its layers and on its flattened copy" {
	build_image
	run "$TOOL" import "$T/store" "$T/L:t"
	[ "$status" -eq 0 ]
	digest=$(echo "$output" | sed -n 's/^image //p')
	l1=$(echo "$output" | sed -n 2p)
	l2=$(echo "$output" | sed -n 3p)
	want=$'v2\nmsg\nc'
	mkdir "$T/up" "$T/wk"
	run "$RT_RUN" --lower "$l1" --lower "$l2" --upper "$T/up" --work "$T/wk" -- sh -c 'cat /etc/msg; ls /etc; ls /data'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "$want" ]
	# the container's writes stay in its upper dir, never in the store's layers
	run "$RT_RUN" --lower "$l1" --lower "$l2" --upper "$T/up" --work "$T/wk" -- sh -c 'echo x >/etc/msg'
	[ "$status" -eq 0 ]
	[ "$(cat "$l2/etc/msg")" = v2 ] && [ "$(cat "$l1/etc/msg")" = v1 ]

	mkdir "$T/flat"
	"$TOOL" flatten "$T/store" "$digest" "$T/flat"
	run "$RT_RUN" --rootfs "$T/flat" -- sh -c 'cat /etc/msg; ls /etc; ls /data'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "$want" ]
}
