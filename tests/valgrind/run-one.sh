#!/bin/sh
# run-one.sh: how `make valgrind` runs one unit program (as RAMP_TEST_WRAPPER
# of tests/run.sh): under memcheck, with full leak checking, failing on any
# error, and with openat2_shim.so (RAMP_VALGRIND_SHIM) standing in for the
# openat2 system call that valgrind 3.19 lacks.
#
# The container tests are skipped: they start containers with clone3 and
# load seccomp filters, neither of which valgrind 3.19 can run; `make check
# SANITIZE=1` covers them with ASan and UBSan instead.
prog=$1
name=$(basename "$prog")
case "$name" in
test_container | test_container_security)
	echo "1..1"
	echo "ok 1 # skip $name: clone3 and seccomp, which valgrind 3.19 cannot run"
	exit 0
	;;
esac
LD_PRELOAD=${RAMP_VALGRIND_SHIM:?} exec valgrind -q --error-exitcode=1 --leak-check=full "$prog"
