#!/usr/bin/env bats
# store_umoci.bats: layers made by umoci from a real tree come out of the store
# exactly as `umoci unpack` makes them: the overlay of our layer dirs and our
# flattened copy are compared with umoci's rootfs (paths, types, modes,
# owners, sizes, content hashes, link targets, hard links, mtimes, xattrs).

setup() {
	T=$(mktemp -d /var/tmp/ramp-store-umoci-XXXXXX)
	TOOL=$RAMP_HELPERS/store_tool
}

teardown() {
	if mountpoint -q "$T/merged" 2>/dev/null; then umount "$T/merged"; fi
	rm -rf "$T"
}

# A tree with what images really hold.
make_tree() {
	local r=$1 long
	mkdir -p "$r/etc" "$r/bin" "$r/home/user" "$r/empty" "$r/deep/a/b/c" "$r/dev" "$r/var/mail"
	echo "127.0.0.1 localhost" >"$r/etc/hosts"
	setfattr -n user.comment -v hello "$r/etc/hosts"
	printf '#!/bin/sh\n' >"$r/bin/su" && chmod 4755 "$r/bin/su"
	echo wall >"$r/bin/wall" && chgrp 5 "$r/bin/wall" && chmod 2755 "$r/bin/wall"
	mkdir -m 1777 "$r/tmp"
	chmod 2775 "$r/var/mail" && chgrp 8 "$r/var/mail"
	echo mine >"$r/home/user/file" && chown -R 1000:1000 "$r/home/user" && chmod 700 "$r/home/user"
	chown 4242:4343 "$r/empty"
	ln -s ../etc/hosts "$r/bin/hosts-link"
	ln -s /nonexistent/target "$r/dangling"
	echo shared >"$r/bin/a" && ln "$r/bin/a" "$r/bin/b" && ln "$r/bin/a" "$r/etc/c"
	mkfifo "$r/fifo"
	mknod "$r/dev/null" c 1 3 && chmod 666 "$r/dev/null"
	echo raw >"$r/$(printf 'bin\xff\xfe-name')"
	long=$(printf 'x%.0s' {1..200})
	mkdir -p "$r/$long/$long" && echo deep >"$r/$long/$long/f"
	head -c 3000000 /dev/urandom >"$r/big"
	echo old >"$r/deep/a/b/c/old"
	touch -h -d @1600000000.123456789 "$r/etc/hosts" "$r/bin/hosts-link"
	touch -d @1500000000 "$r/deep/a"
}

# One line per entry: what must survive a round trip. Directory sizes and
# link counts of directories depend on the file system's history: left out.
listing() {
	(cd "$1" && find . -printf '%p|%y|%m|%U|%G|%T@|%l|' -exec sh -c '
		for p; do
			if [ -f "$p" ] && [ ! -L "$p" ]; then
				printf "%s|%s|" "$(stat -c %s "$p")" "$(stat -c %h "$p")"
				sha256sum <"$p" | cut -c1-16
			elif [ -b "$p" ] || [ -c "$p" ]; then stat -c "%t:%T" "$p"
			else echo; fi
		done' sh {} \; | LC_ALL=C sort)
	(cd "$1" && getfattr -R -h -d -m - --absolute-names . 2>/dev/null | grep -v '^trusted\.overlay\.' |
		awk 'BEGIN{RS=""} {print}' | LC_ALL=C sort)
}

build_image() {
	umoci init --layout "$T/L"
	umoci new --image "$T/L:t"
	umoci unpack --image "$T/L:t" "$T/B" >/dev/null
	make_tree "$T/B/rootfs"
	umoci repack --image "$T/L:t" "$T/B"
	# a second layer (repack builds on the image the bundle was unpacked
	# from): deletions (whiteouts), a directory becoming a file and a file
	# becoming a directory, changed metadata, new content
	umoci unpack --image "$T/L:t" "$T/B2" >/dev/null
	local r=$T/B2/rootfs
	rm "$r/etc/hosts" "$r/bin/b" "$r/dangling"
	rm -rf "$r/deep/a/b"
	echo "now a file" >"$r/deep/a/b"
	rm "$r/fifo" && mkdir "$r/fifo" && echo in >"$r/fifo/f"
	chmod 750 "$r/home/user" && chown 1001 "$r/home/user/file"
	echo new >"$r/etc/new"
	umoci repack --image "$T/L:t" "$T/B2"
	umoci unpack --image "$T/L:t" "$T/ref" >/dev/null
}

@test "store: umoci's layers, overlaid and flattened, equal umoci unpack" {
	build_image
	run "$TOOL" import "$T/store" "$T/L:t"
	echo "$output"
	[ "$status" -eq 0 ]
	digest=$(echo "$output" | sed -n 's/^image //p')
	l1=$(echo "$output" | sed -n 2p)
	l2=$(echo "$output" | sed -n 3p)
	[ -d "$l1" ] && [ -d "$l2" ]
	# the top layer holds whiteouts, not deletions
	[ -c "$l2/etc/hosts" ] && [ "$(stat -c %t:%T "$l2/etc/hosts")" = 0:0 ]
	[ "$(cat "$l1/etc/hosts")" = "127.0.0.1 localhost" ]

	listing "$T/ref/rootfs" >"$T/want"
	[ "$(grep -c . "$T/want")" -gt 25 ]

	mkdir "$T/flat"
	"$TOOL" flatten "$T/store" "$digest" "$T/flat"
	listing "$T/flat" >"$T/flat.list"
	diff -u "$T/want" "$T/flat.list"

	mkdir "$T/merged"
	mount -t overlay overlay -o "ro,lowerdir=$l2:$l1" "$T/merged"
	listing "$T/merged" >"$T/merged.list"
	umount "$T/merged"
	diff -u "$T/want" "$T/merged.list"
}

@test "store: a layer with devices is flagged, one without is not" {
	build_image
	"$TOOL" import "$T/store" "$T/L:t" >/dev/null
	# the first layer has dev/null: its metadata says so
	grep -l '"devices": true' "$T"/store/layers/*/layer.json
	[ "$(grep -l '"devices": false' "$T"/store/layers/*/layer.json | wc -l)" -eq 1 ]
}
