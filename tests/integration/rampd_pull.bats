#!/usr/bin/env bats
bats_require_minimum_version 1.5.0
# rampd_pull.bats: rampd's pull helper (rampd-pull, one process per pull):
# rampd itself maps no registry, TLS or archive library; the helper is
# started next to rampd's executable, dies with rampd, and a helper that is
# killed or missing makes a clear failure that the next attempt recovers from.

load rampd_helpers

setup_file() { hello_registry_start; }

teardown_file() { hello_registry_stop; }

setup() {
	rampd_setup
	HELPER=$(dirname "$RAMPD_BIN")/rampd-pull
}

teardown() { rampd_teardown; }

# the pull helpers working on this test's store, with their parent pids
helpers() {
	local p
	# one pgrep, not a process per /proc entry: the loop must stay fast on a loaded machine
	for p in $(pgrep -f -- "rampd-pull .*--store $T/state( |\$)"); do
		echo "$p $(awk '/^PPid:/{print $2}' "/proc/$p/status" 2>/dev/null)"
	done
	return 0
}

# slow_config [HOLD_AFTER]: the registry is reached through a slow mirror (a
# pull takes seconds), which holds the pull after HOLD_AFTER bytes if given
slow_config() {
	local proxy
	proxy=$(slow_proxy "$REG" 65536 ${1:+"$1"})
	write_config "\"registries\": {\"$REG\": {\"mirrors\": [\"$proxy\"]}}, \"apps\": {\"web\": {\"ports\": {\"8080\": \"127.0.0.1:$PORT\"}, \"stop_grace\": \"3s\"}}"
}

wait_helper() {
	for _ in $(seq 200); do [ -n "$(helpers)" ] && return 0; sleep 0.05; done
	echo "no pull helper started" >&2
	return 1
}

@test "rampd pull helper: rampd maps no libcurl, OpenSSL or libarchive; a helper child does the pull and is gone after it" {
	run -0 ldd "$RAMPD_BIN"
	! grep -E 'libcurl|libssl|libcrypto\.so|libarchive|libxml2|libicu' <<<"$output" || false
	run -0 ldd "$HELPER"
	grep -q libcurl <<<"$output"
	slow_config
	start_rampd
	deploy "$V1" 1
	wait_helper
	read -r hp ppid <<<"$(helpers)"
	[ "$ppid" = "$RAMPD_PID" ]
	# the store's lock is its fd 3, close-on-exec (a credential helper it starts gets none)
	[ "$(stat -L -c %i "/proc/$hp/fd/3")" = "$(stat -c %i "$T/state/lock")" ]
	cloexec() { (((8#$(awk '/^flags:/{print $2}' "/proc/$hp/fdinfo/3")) & 8#2000000)); }
	for _ in $(seq 20); do cloexec && break; sleep 0.05; done
	cloexec
	# rampd itself never maps them, not even during the pull
	! grep -E 'libcurl|libarchive|libcrypto\.so' "/proc/$RAMPD_PID/maps" || false
	grep -q libcurl "/proc/$hp/maps"
	stop_registry "$T/proxy" # the registry itself finishes
	wait_app .phase healthy 30
	served_by "$PORT" v1
	[ -z "$(helpers)" ]
	! grep -E 'libcurl|libarchive|libcrypto\.so' "/proc/$RAMPD_PID/maps" || false
}

@test "rampd pull helper: killed mid-download, the pull fails plainly, is retried and resumes" {
	slow_config 65536 # the helper is held after 64 KiB, mid-download
	start_rampd
	deploy "$V1" 1
	wait_helper
	read -r hp _ <<<"$(helpers)"
	proxy_held
	kill -KILL "$hp"
	wait_app .phase failed 10
	[[ "$(jq -r .message <<<"$body")" == *"the pull helper was killed by signal 9; retrying in "* ]]
	# the partial download stays for the next attempt, which finishes it
	[ -d "$T/state/pull/${V1#*@sha256:}" ]
	stop_registry "$T/proxy"
	wait_app .phase healthy 30
	served_by "$PORT" v1
	[ ! -e "$T/state/pull/${V1#*@sha256:}" ]
}

@test "rampd pull helper: killed inside its import, nothing half-made stays in the store; the retry imports" {
	# the first helper is held inside its import, a condition no load can
	# make the test miss: strace stops it for good at its first syncfs (a
	# layer unpacked in layers/.tmp-*, not yet renamed into place; no sleep,
	# no race with a fast disk); the retry's helper runs freely
	mkdir "$T/bin"
	cp "$RAMPD_BIN" "$T/bin/rampd"
	cat >"$T/bin/rampd-pull" <<-EOF
		#!/bin/sh
		[ -e "$T/held" ] && exec "$HELPER" "\$@"
		: >"$T/held"
		exec strace -f -qq -o /dev/null -e trace=syncfs -e inject=syncfs:signal=SIGSTOP "$HELPER" "\$@"
	EOF
	chmod +x "$T/bin/rampd-pull"
	app_config "$PORT"
	RAMPD_BIN=$T/bin/rampd start_rampd
	deploy "$V1" 1
	local hp=
	for _ in $(seq 600); do
		hp=$(pgrep -f "^$HELPER .*--store $T/state ") && grep -q '^State:.*[tT]' "/proc/$hp/status" &&
			[ -n "$(find "$T/state/layers" -maxdepth 1 -name '.tmp-*')" ] && break
		hp=
		sleep 0.05
	done
	[ -n "$hp" ] # held at its syncfs, inside the import
	kill -KILL "$hp"
	wait_app .phase failed 10
	[[ "$(jq -r .message <<<"$body")" == *"killed by signal 9"* ]]
	[ -z "$(find "$T/state/layers" -maxdepth 1 -name '.*')" ]
	[ -z "$(find "$T/state/blobs/sha256" "$T/state/images" -maxdepth 1 -name '.*')" ]
	wait_app .phase healthy 30
	served_by "$PORT" v1
}

@test "rampd pull helper: kill -9 of rampd ends its helper too; the next rampd finishes the pull" {
	slow_config
	start_rampd
	deploy "$V1" 1
	wait_helper
	read -r hp _ <<<"$(helpers)"
	kill -KILL "$RAMPD_PID"
	wait_exit "$RAMPD_PID" 5
	for _ in $(seq 40); do [ -d "/proc/$hp" ] || break; sleep 0.05; done
	[ ! -d "/proc/$hp" ]
	stop_registry "$T/proxy"
	start_rampd
	wait_app .phase healthy 30
	served_by "$PORT" v1
}

@test "rampd pull helper: SIGTERM to rampd stops a slow download at once; the next rampd resumes it" {
	slow_config 65536 # held after 64 KiB: the download would never end by itself
	start_rampd
	deploy "$V1" 1
	wait_helper
	read -r hp _ <<<"$(helpers)"
	proxy_held
	kill -TERM "$RAMPD_PID"
	wait_exit "$RAMPD_PID" 3
	[ "$rc" = 0 ]
	[ ! -d "/proc/$hp" ]
	grep -q "app web: its download is stopped (the next pull resumes it)" "$T/rampd.log"
	[ -n "$(find "$T/state/pull/${V1#*@sha256:}" -type f -size +1k)" ] # what came stays
	stop_registry "$T/proxy"
	start_rampd
	wait_app .phase healthy 30
	served_by "$PORT" v1
}

@test "rampd pull helper: missing next to rampd, a pull fails naming it; apps in the store keep running" {
	app_config "$PORT"
	start_rampd
	deploy "$V1" 1
	wait_app .phase healthy
	kill -TERM "$RAMPD_PID"
	wait_exit "$RAMPD_PID" 15
	mkdir "$T/bin"
	cp "$RAMPD_BIN" "$T/bin/rampd"
	RAMPD_BIN=$T/bin/rampd start_rampd
	grep -q "the pull helper $T/bin/rampd-pull: No such file or directory" "$T/rampd.log"
	wait_app .phase healthy
	served_by "$PORT" v1
	deploy "$V2" 2
	wait_app .phase failed
	[[ "$(jq -r .message <<<"$body")" == *"the pull helper $T/bin/rampd-pull could not be started"* ]]
	served_by "$PORT" v1
}

@test "rampd-pull: --help, misuse, and a version other than rampd's are refused plainly" {
	run -0 "$HELPER" --help
	[[ "$output" == *"rampd's pull helper"* ]]
	run -2 "$HELPER"
	[[ "$output" == *"--store, --lock-fd"* ]]
	run -2 "$HELPER" --store "$T/state" --bogus x
	[[ "$output" == *'bad or missing argument at "--bogus"'* ]]
	run -2 "$HELPER" --store
	: >"$T/lock"
	run -1 "$HELPER" --store "$T/state" --lock-fd 3 --dir "$T/pull" --rampd-version 0.0.0-other "$V1" 3<"$T/lock"
	[[ "$output" == *"error rampd-pull is version "*" but rampd is 0.0.0-other: restart rampd after an upgrade"* ]]
	[ ! -e "$T/pull" ]
	# fd 3 must be the store's own lock file
	mkdir "$T/store"
	: >"$T/store/lock"
	run -1 "$HELPER" --store "$T/store" --lock-fd 3 --dir "$T/pull" --rampd-version "$("$HELPER" --version | cut -d' ' -f2)" "$V1" 3<"$T/lock"
	[[ "$output" == *"error store \"$T/store\": descriptor 3 is not its lock file"* ]]
	[ ! -e "$T/pull" ]
}
