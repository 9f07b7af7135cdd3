# helpers.bash: common set-up for the bats integration tests.
# RAMP_BIN, RAMPD_BIN and RAMP_HELPERS come from the test runner (make check).

: "${RAMP_BIN:?run the tests through make check}"

common_setup() {
	T=$(mktemp -d /tmp/ramp-bats-XXXXXX)
}

common_teardown() {
	[ -n "${T:-}" ] && rm -rf "$T"
}

# A small tree with every kind of entry a tested environment can hold.
# flip_byte FILE OFFSET: inverts one byte in place (writing a fixed byte
# would change nothing where the file already holds it: 1 in 256 for
# random content)
flip_byte() {
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "\\$(printf %o $((255 - b)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

make_tree() {
	local d=$1
	mkdir -p "$d/dir/sub" "$d/empty" "$d/sticky"
	printf 'hello\n' >"$d/dir/hello"
	head -c 300000 /dev/urandom >"$d/dir/random.bin"
	ln -s hello "$d/dir/link"
	ln -s /nonexistent/target "$d/dangling"
	ln "$d/dir/hello" "$d/dir/hardlink"
	mkfifo "$d/fifo"
	mknod "$d/null" c 1 3
	printf '#!/bin/sh\n' >"$d/setuid"
	chmod 4755 "$d/setuid"
	chmod 2750 "$d/dir/sub"
	chmod 1777 "$d/sticky"
	printf 'x' >"$d/owned"
	chown 1234:5678 "$d/owned"
	setfattr -n user.note -v "a value" "$d/dir/hello"
	printf 'cap' >"$d/capped"
	setcap cap_net_bind_service+ep "$d/capped"
	local long
	long=$(printf 'n%.0s' $(seq 1 180))
	printf 'long' >"$d/dir/$long"
	touch -h -d '2001-02-03 04:05:06' "$d/dir/link"
	touch -d '1999-12-31 23:59:59' "$d/dir"
}

# One line per entry: see tests/lib/tree_manifest.py.
tree_manifest() {
	python3 "$BATS_TEST_DIRNAME/../lib/tree_manifest.py" "$1"
}
