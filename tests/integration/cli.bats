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
	for verb in build inspect veto; do
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
	[[ "$output" == "ramp inspect: error: image \"$T/missing.tar\": No such file or directory" ]]
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
	# after the command as well
	run "$RAMP_BIN" build -q "$T/app" -o "$T/a.tar"
	[ "$status" -eq 0 ]
	[[ "$output" != *warning* ]]
	run "$RAMP_BIN" build "$T/app" -o "$T/a.tar" --verbose
	[ "$status" -eq 0 ]
	[[ "$output" == *"ramp build: warning: skipping socket"* ]]
	[[ "$output" == *"layer 1 from $T/app"* ]]
}

@test "cli: every error of a command starts with \"ramp COMMAND:\"" {
	run "$RAMP_BIN" build --no-such-option
	[ "$status" -eq 2 ]
	[[ "${lines[0]}" == "ramp build: unrecognized option '--no-such-option'" ]]
	run "$RAMP_BIN" inspect
	[ "$status" -eq 2 ]
	[[ "${lines[0]}" == "ramp inspect: "* ]]
	run "$RAMP_BIN" inspect -q "$T/missing.tar"
	[ "$status" -eq 1 ]
	[[ "$output" == "ramp inspect: error: image \"$T/missing.tar\": No such file or directory" ]]
	run "$RAMP_BIN" nope
	[ "$status" -eq 2 ]
	[[ "${lines[0]}" == 'ramp: unknown command "nope"' ]]
}

@test "cli: make install puts binaries, man pages and completion under DESTDIR/PREFIX" {
	top=$BATS_TEST_DIRNAME/../..
	make -s -C "$top" install DESTDIR="$T/root" PREFIX=/opt/ramp >/dev/null
	[ -x "$T/root/opt/ramp/bin/ramp" ]
	[ -x "$T/root/opt/ramp/bin/rampd" ]
	[ -f "$T/root/opt/ramp/share/bash-completion/completions/ramp" ]
	# the man page documents every command, and renders without warnings
	for verb in $("$RAMP_BIN" --help | awk '/^commands:/{f=1; next} /^$/{f=0} f{print $1}'); do
		grep -q "^.SH \"ramp $verb\"" "$T/root/opt/ramp/share/man/man1/ramp.1"
	done
	man --warnings -l "$T/root/opt/ramp/share/man/man1/ramp.1" >/dev/null 2>"$T/warnings"
	[ ! -s "$T/warnings" ]
	man -l "$T/root/opt/ramp/share/man/man8/rampd.8" | grep -q rampd
}

@test "cli: bash completion offers the commands and a command's options" {
	source "$BATS_TEST_DIRNAME/../../cmd/ramp.bash"
	ramp() { "$RAMP_BIN" "$@"; }
	COMP_WORDS=(ramp bu); COMP_CWORD=1; _ramp
	[ "${COMPREPLY[*]}" = build ]
	COMP_WORDS=(ramp build --compr); COMP_CWORD=2; _ramp
	[ "${COMPREPLY[*]}" = --compression ]
	COMP_WORDS=(ramp vet); COMP_CWORD=1; _ramp
	[ "${COMPREPLY[*]}" = veto ]
	COMP_WORDS=(ramp veto --rem); COMP_CWORD=2; _ramp
	[ "${COMPREPLY[*]}" = --remove ]
	COMP_WORDS=(ramp rollout --overr); COMP_CWORD=2; _ramp
	[ "${COMPREPLY[*]}" = --override ]
}
