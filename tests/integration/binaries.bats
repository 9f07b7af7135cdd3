#!/usr/bin/env bats
# binaries.bats: each program links exactly the libraries it may use (the
# GNUmakefile's RAMP_PKGS, RAMPD_PKGS, PULL_PKGS): rampd above all must not
# map libcurl, OpenSSL or libarchive (its idle memory, docs/ARCHITECTURE.md);
# and rampd's own code stays out of the other programs' sources.

load helpers

setup() { common_setup; }
teardown() { common_teardown; }

top=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
bindir=$(dirname "$RAMP_BIN")

# the NEEDED entries of a binary, sorted, without version suffixes
# (the sanitizers' runtimes, under SANITIZE=1, are not the program's)
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(lib[^.]*\)\..*/\1/p' | grep -Ev '^lib(asan|ubsan)$' | sort | paste -sd' ' -; }

@test "binaries: ramp, rampd and rampd-pull link exactly their libraries" {
	run needed "$bindir/rampd"
	echo "rampd: $output"
	[ "$output" = "libc libcap libhogweed libmicrohttpd libnettle libseccomp libyajl" ]
	run needed "$bindir/rampd-pull"
	echo "rampd-pull: $output"
	[ "$output" = "libarchive libc libcurl libnettle libyajl" ]
	run needed "$bindir/ramp"
	echo "ramp: $output"
	[ "$output" = "libarchive libc libcap libcurl libhogweed libm libnettle libpcre2-8 libseccomp libyajl libz libzstd" ]
}

@test "binaries: rampd maps no libcurl, OpenSSL or libarchive, not even through its libraries" {
	run ldd "$bindir/rampd"
	echo "$output"
	[ "$status" -eq 0 ]
	! grep -Eq 'libcurl|libssl|libcrypto\.|libarchive|libxml2|libicu' <<<"$output" || false
	grep -q libmicrohttpd <<<"$output"
}

@test "binaries: only rampd's main includes runtime/rampd headers; the orchestrator and ramp's verbs do not" {
	cd "$top"
	run grep -l '#include "runtime/rampd/' cmd/*.c orchestrator/*.[ch] lib/*.[ch] image/*.[ch] runtime/*.[ch]
	echo "$output"
	[ "$output" = "cmd/rampd.c" ]
}
