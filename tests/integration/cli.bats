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

@test "cli: every command's options are read from its table the same way (cmd/opts.h)" {
	# a bad value: the option, what it takes, the help hint, exit 2 and nothing done
	run "$RAMP_BIN" rollout --app a --fleet f --bake-min x
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "ramp rollout: --bake-min: \"x\" is not a duration (e.g. 30s, 5m)" ]
	[ "${lines[1]}" = "(see 'ramp rollout --help')" ]
	run "$RAMP_BIN" rollout --poll=0
	[ "${lines[0]}" = 'ramp rollout: --poll: "0": at least 1ms' ]
	run "$RAMP_BIN" rollout --max-parallel 0
	[ "${lines[0]}" = 'ramp rollout: --max-parallel: "0" is not a whole number from 1 to 100000' ]
	run "$RAMP_BIN" push --tls-verify=maybe a b
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = 'ramp push: --tls-verify: "maybe" is not one of false, true' ]
	run "$RAMP_BIN" build --health-http nope -o "$T/x.tar" "$T"
	[ "$status" -eq 2 ]
	[[ "${lines[0]}" == "ramp build: --health-http: "* ]]
	[ ! -e "$T/x.tar" ]
	# a missing argument, a sub-command's own name, an option a verb does not take
	run "$RAMP_BIN" rollout --app
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "ramp rollout: option '--app' requires an argument" ]
	run "$RAMP_BIN" fleet status --bogus
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "ramp fleet status: unrecognized option '--bogus'" ]
	[ "${lines[1]}" = "(see 'ramp fleet status --help')" ]
	run "$RAMP_BIN" test --rm img -- true
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "ramp test: unrecognized option '--rm'" ]
	# --name=VALUE and an unambiguous prefix are the option; an ambiguous one is not
	run "$RAMP_BIN" build --thread=300 -o "$T/x.tar" "$T"
	[ "${lines[0]}" = 'ramp build: --threads: "300" is not a whole number from 0 to 256' ]
	run "$RAMP_BIN" rollout --bake- 1s
	[ "$status" -eq 2 ]
	[[ "${lines[0]}" == "ramp rollout: option '--bake-' is ambiguous"* ]]
	# --help and -h anywhere print the usage and exit 0
	for verb in build inspect run test push pull login logout host rollout revert key veto; do
		run "$RAMP_BIN" "$verb" -h
		[ "$status" -eq 0 ]
		[[ "$output" == "usage: ramp $verb"* ]]
	done
	run "$RAMP_BIN" fleet status --app x --help
	[ "$status" -eq 0 ]
	[[ "$output" == "usage: ramp fleet status"* ]]
}
