#!/usr/bin/env bats
# cli.bats: what every ramp command shares: --help, usage errors, exit codes,
# log levels and journald priority prefixes.

load helpers

setup() { common_setup; }
teardown() { common_teardown; }

@test "cli: --help and --version" {
	run "$RAMP_BIN" --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"usage: ramp"* ]]
	run "$RAMP_BIN" --version
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^ramp\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
	for verb in build inspect; do
		run "$RAMP_BIN" "$verb" --help
		[ "$status" -eq 0 ]
		[[ "$output" == *"usage: ramp $verb"* ]]
	done
	run "$RAMPD_BIN" --version
	[ "$status" -eq 0 ]
}

@test "cli: unknown command or option is a usage error (exit 2)" {
	run "$RAMP_BIN" frobnicate
	[ "$status" -eq 2 ]
	[[ "$output" == *"unknown command \"frobnicate\""* ]]
	run "$RAMP_BIN" --bogus
	[ "$status" -eq 2 ]
	run "$RAMP_BIN"
	[ "$status" -eq 2 ]
}

@test "cli: errors carry the journald priority prefix when stderr is the journal" {
	touch "$T/journal"
	js=$(stat -c '%d:%i' "$T/journal")
	JOURNAL_STREAM=$js "$RAMP_BIN" inspect "$T/missing.tar" 2>>"$T/journal" || true
	grep -q '^<3>image "'"$T"'/missing.tar": No such file or directory$' "$T/journal"
	# anywhere else: the program name and the level
	run "$RAMP_BIN" inspect "$T/missing.tar"
	[ "$status" -eq 1 ]
	[[ "$output" == "ramp: error: image \"$T/missing.tar\": No such file or directory" ]]
}

@test "cli: -q silences warnings, -v shows progress details" {
	mkdir -p "$T/app"
	python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$T/app/sock"
	run "$RAMP_BIN" -q build "$T/app" -o "$T/a.tar"
	[ "$status" -eq 0 ]
	[[ "$output" != *warning* ]]
	run "$RAMP_BIN" -v build "$T/app" -o "$T/a.tar"
	[ "$status" -eq 0 ]
	[[ "$output" == *"warning: skipping socket"* ]]
	[[ "$output" == *"layer 1 from $T/app"* ]]
}
