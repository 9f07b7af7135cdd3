#!/usr/bin/env bats
bats_require_minimum_version 1.5.0
# demo.bats: `make demo` (tests/demo.sh with the built binaries), run
# non-interactively: its story checked from the JSON events it writes
# (DEMO_JSON), and that it leaves nothing behind, also when interrupted;
# and the demo service's release variants (images/hello).

load helpers

DEMO=$BATS_TEST_DIRNAME/../demo.sh
BUILD=$BATS_TEST_DIRNAME/../../images/hello/build.sh

setup() {
	common_setup
	# the demo makes its temp dir under $TMPDIR: everything it creates is under $T
	export TMPDIR=$T
}

teardown() {
	local p
	[ -n "${DEMO_PID:-}" ] && kill -KILL -- "-$DEMO_PID" 2>/dev/null
	for p in $(leftovers); do kill -KILL "$p" 2>/dev/null || true; done
	common_teardown
}

# processes that mention $T in their command line or mount table (rampd, the
# registry, the apps, whose overlay upper dirs are under $T), but not bats'
# (one grep over /proc: the regex does not match its own command line)
leftovers() {
	local f p
	for f in $(grep -lsaE "$T/ramp-(demo|tour)-" /proc/[0-9]*/cmdline
		grep -lsE "upperdir=$T/ramp-(demo|tour)-" /proc/[0-9]*/mountinfo); do
		p=${f#/proc/}
		p=${p%%/*}
		[ "$p" = $$ ] || echo "$p"
	done | sort -u
	return 0
}

nothing_left() {
	[ -z "$(leftovers)" ] || { ps -o pid,args -p "$(leftovers | paste -sd,)" >&2; return 1; }
	! grep -q " $T/" /proc/self/mounts || { grep " $T/" /proc/self/mounts >&2; return 1; }
	# (the demo makes no network namespaces: its hosts share loopback; a
	# namespace held by a leftover process would show up as that process)
	[ -z "$(ls -A "$T" | grep -v '^demo' || true)" ] || { ls -la "$T" >&2; return 1; }
}

ev() { jq -c "$@" "$T/demo.jsonl"; }

@test "demo: v1 reaches every host in waves 1, 2, 4, 1; an untested release is refused; the bad v2 is reverted after wave 1; 2.1 failing 5% of requests is caught by the analysis, 2.2 passes; nothing is left" {
	run --separate-stderr env DEMO_JSON="$T/demo.jsonl" "$DEMO"
	[ "$status" -eq 0 ] || { echo "$output" "$stderr" | tail -60; false; }
	# a narration line before each step, the commands shown as typed
	[[ "$output" == *" 1. A registry: docker-registry on 127.0.0.1:"* ]]
	[[ "$stderr" == *'$ ramp rollout --app web'* ]]
	[ "$(grep -c '^ *[0-9]*\. ' <<<"$output")" -ge 10 ]

	# five rollouts: v1, 2.0-rc1 (crashes on start: no test record), v2, 2.1 and 2.2 (canary)
	[ "$(ev -s '[.[] | select(.event == "start")] | length')" = 5 ]
	v1=$(ev -rs '[.[] | select(.event == "start")][0].digest')
	v2=$(ev -rs '[.[] | select(.event == "start")][2].digest')
	[[ "$v1" == sha256:* ]] && [[ "$v2" == sha256:* ]] && [ "$v1" != "$v2" ]
	# the events of the Nth rollout (0-based)
	nth() { ev -s --argjson n "$1" '. as $a | [range(length) | select($a[.].event == "start")] as $s |
		$a[$s[$n]:($s[$n + 1] // length)][]'; }

	# before: nothing on the hosts
	[ "$(ev -r 'select(.event == "fleet" and .when == "before-v1") | [.status.hosts[] | .digest // "none"] | unique | join(" ")')" = none ]

	# v1: waves of 1, 2, 4, 1; done with every host baked; then v1 on all 8, healthy
	[ "$(ev -rs '[.[] | select(.event == "start")][0].waves | map(tostring) | join(",")')" = 1,2,4,1 ]
	[ "$(nth 0 | jq -s '[.[] | select(.event == "wave_passed")] | length')" = 4 ]
	[ "$(ev -rs '[.[] | select(.event == "end")][0] | "\(.result) \(.exit) \(.counts.converted)"')" = "done 0 8" ]
	[ "$(ev -rs '[.[] | select(.event == "end")][0].hosts | map(.state) | unique | join(" ")')" = baked ]
	after1=$(ev -r 'select(.event == "fleet" and .when == "after-v1") | .status.hosts[] | "\(.digest) \(.healthy)"')
	[ "$(wc -l <<<"$after1")" = 8 ]
	[ "$(sort -u <<<"$after1")" = "$v1 true" ]

	# 2.0-rc1: refused for want of a passing test record, before any wave
	rc1=$(nth 1)
	[ "$(jq -rs '[.[] | select(.event == "end")][0] | "\(.result) \(.exit)"' <<<"$rc1")" = "refused 2" ]
	[ "$(jq -s '[.[] | select(.event == "wave" or .event == "host")] | length' <<<"$rc1")" = 0 ]

	# v2: wave 1 (one host) fails, that host is reverted, no wave 2; rolled back
	v2ev=$(nth 2 | grep -v '"event":"fleet"')
	[ "$(jq -rs '[.[] | select(.event == "wave")] | map(.wave) | join(",")' <<<"$v2ev")" = 1 ]
	[ "$(jq -rs '[.[] | select(.event == "failure")][0].wave' <<<"$v2ev")" = 1 ]
	[ "$(jq -rs '[.[] | select(.event == "revert")][0].hosts | join(" ")' <<<"$v2ev")" = h1 ]
	[ "$(jq -rs '[.[] | select(.event == "end")][0] | "\(.result) \(.exit)"' <<<"$v2ev")" = "rolled_back 1" ]
	[ "$(jq -rs '[.[] | select(.event == "end")][0].hosts[] | select(.host == "h1") | .state' <<<"$v2ev")" = reverted ]
	# and the fleet after it: every host back on v1, healthy
	after2=$(ev -r 'select(.event == "fleet" and .when == "after-v2") | .status.hosts[] | "\(.digest) \(.healthy)"')
	[ "$(wc -l <<<"$after2")" = 8 ]
	[ "$(sort -u <<<"$after2")" = "$v1 true" ]

	# 2.1 fails 5% of its requests, healthy: the analysis fails wave 1 or 2 on errors, rolled back
	v21=$(nth 3 | grep -v '"event":"fleet"')
	[ "$(jq -rs '[.[] | select(.event == "analysis")][-1] | "\(.verdict) \(.wave <= 2)"' <<<"$v21")" = "fail true" ]
	[[ "$(jq -rs '[.[] | select(.event == "failure")][0].reason' <<<"$v21")" == "canary analysis: errors: "* ]]
	[ "$(jq -rs '[.[] | select(.event == "end")][0] | "\(.result) \(.exit)"' <<<"$v21")" = "rolled_back 1" ]
	[[ "$stderr" == *"METRIC"*"CONVERTED"*"BASELINE"*"errors"* ]]
	# 2.2, as good as 1.0: every wave passes the analysis, done
	v22=$(nth 4 | grep -v '"event":"fleet"')
	[ "$(jq -rs '[.[] | select(.event == "analysis")] | map(.verdict) | join(",")' <<<"$v22")" = pass,pass,pass,pass ]
	[ "$(jq -rs '[.[] | select(.event == "end")][0] | "\(.result) \(.exit)"' <<<"$v22")" = "done 0" ]

	nothing_left
}

@test "demo: interrupted (Ctrl-C to its process group) in the middle of a rollout, it stops everything" {
	# wave 1 bakes for 100 s (under the 2 min health deadline): once it has
	# begun, the rollout is in its middle until the Ctrl-C, whatever the load
	# (with a 3 s bake the last wave could end before the signal came, which
	# then hit what follows the rollout: no "interrupted")
	DEMO_HOSTS=2 DEMO_BAKE=100s setsid "$DEMO" >"$T/demo.out" 2>&1 </dev/null 3>&- &
	DEMO_PID=$!
	for _ in $(seq 1200); do
		grep -q "wave 1/2 (" "$T/demo.out" && break
		sleep 0.05
	done
	grep -q "wave 1/2 (" "$T/demo.out" || { cat "$T/demo.out"; false; }
	[ -n "$(leftovers)" ]
	kill -INT -- "-$DEMO_PID"
	rc=0
	wait "$DEMO_PID" || rc=$?
	DEMO_PID=
	[ "$rc" -ne 0 ]
	grep -q 'interrupted: rollout .* is unfinished' "$T/demo.out" || { cat "$T/demo.out"; false; }
	grep -q 'demo: stopped' "$T/demo.out"
	nothing_left
}

@test "tour: make tour's fleet stays up for the README's commands, and its stop command leaves nothing behind" {
	# (fd 3 closed: the daemons it leaves running must not hold bats' output)
	run --separate-stderr "$DEMO" --tour 3>&-
	[ "$status" -eq 0 ] || { echo "$output" "$stderr" | tail -30; false; }
	w=$(ls -d "$T"/ramp-tour-*)
	[ -d "$w" ]
	# what to try, with the real paths, and the one command that stops it all
	[[ "$output" == *". $w/tour.env"* ]]
	[[ "$output" == *"ramp rollout --app web --image \$REGISTRY/hello:1.0 --fleet fleet.txt --token-file token"* ]]
	[[ "$output" == *"man -l "*"/man/ramp.1"* ]]
	stop=$(grep -- "demo.sh --stop " <<<"$output" | sed 's/^ *//')
	[ "$stop" = "$DEMO --stop $w" ] || [ "$stop" = "$(cd "$(dirname "$DEMO")" && pwd)/demo.sh --stop $w" ]
	# the daemons outlived the command that started them
	[ -n "$(leftovers)" ]
	# a tour command, as the user types it after sourcing the env file
	run bash -c ". $w/tour.env && command -v ramp && ramp fleet status --fleet fleet.txt --token-file token --json"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[ "${lines[0]}" = "$(dirname "$RAMP_BIN")/ramp" ]
	[ "$(jq -r '[.hosts[] | "\(.host) \(.reachable)"] | join(",")' <<<"${lines[1]}")" = "h1 true,h2 true,h3 true,h4 true" ]
	run bash -c ". $w/tour.env && curl -sf http://\$REGISTRY/v2/ && test -x app/hello"
	[ "$status" -eq 0 ]
	# --stop takes only a tour's directory
	run "$DEMO" --stop "$T"
	[ "$status" -eq 2 ]
	run $stop
	[ "$status" -eq 0 ]
	[[ "$output" == *"stopped 5 daemons"* ]]
	[ ! -e "$w" ]
	nothing_left
}

@test "demo: refused plainly without root, before anything is made" {
	run su nobody -s /bin/bash -c "TMPDIR=$T $DEMO"
	[ "$status" -eq 2 ]
	[[ "$output" == *"needs root"* ]]
	[ -z "$(ls -A "$T")" ]
}

@test "demo image: hello's variants from one binary: good, crash, fail-after=N; its self-test" {
	[ -x "${RAMP_HELLO:-}" ]
	export RAMP_BIN RAMP_HELLO
	for v in good crash fail-after=1; do
		run "$BUILD" "$T/$v.tar" 3.1 "$v"
		[ "$status" -eq 0 ]
		[[ "$output" =~ ^sha256:[0-9a-f]{64}$ ]]
		run "$RAMP_BIN" inspect --json "$T/$v.tar"
		[ "$(jq -r '.config.labels["io.ramp.example.variant"]' <<<"$output")" = "$v" ]
	done
	# the same inputs give the same image
	SOURCE_DATE_EPOCH=1700000000 "$BUILD" "$T/a.tar" 1.0 >"$T/a.digest"
	SOURCE_DATE_EPOCH=1700000000 "$BUILD" "$T/b.tar" 1.0 >"$T/b.digest"
	cmp "$T/a.digest" "$T/b.digest"
	run "$BUILD" "$T/x.tar" 1.0 sometimes
	[ "$status" -eq 2 ]

	# the binary itself, as the variants' environments make it behave
	run env HELLO_VERSION=3.1 "$RAMP_HELLO" --self-test
	[ "$status" -eq 0 ]
	[[ "$output" == *"GET /: 200 hello from 3.1 on "* ]]
	[[ "$output" == *"self-test: passed"* ]]
	run env HELLO_MODE=crash "$RAMP_HELLO" --self-test
	[ "$status" -eq 1 ]
	[[ "$output" == *"crashing on start"* ]]
	run env HELLO_MODE=crash "$RAMP_HELLO"
	[ "$status" -eq 1 ]
	run "$RAMP_HELLO" --bogus
	[ "$status" -eq 2 ]

	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	PORT=$port HELLO_VERSION=4.2 HELLO_FAIL_AFTER=1 "$RAMP_HELLO" 2>"$T/hello.log" 3>&- &
	pid=$!
	for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/version" >/dev/null && break; sleep 0.02; done
	[ "$(curl -s "http://127.0.0.1:$port/version")" = 4.2 ]
	[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health")" = 200 ]
	[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/nope")" = 404 ]
	sleep 1.1
	[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health")" = 503 ]
	[[ "$(curl -s "http://127.0.0.1:$port/")" == "hello from 4.2 on "* ]]
	kill -TERM "$pid"
	rc=0
	wait "$pid" || rc=$?
	[ "$rc" -eq 0 ]
	grep -q 'hello 4.2: stopped' "$T/hello.log"
}

@test "docs: make install puts ramp, rampd, rampd-pull, ramp(1), rampd(8), the completion and the unit in place; the pages render cleanly" {
	top=$BATS_TEST_DIRNAME/../..
	d=$T/inst
	run "$top/docs/mkman.sh" "$RAMP_BIN" "$RAMPD_BIN" "$T/man"
	[ "$status" -eq 0 ]
	for p in "$T/man/ramp.1" "$T/man/rampd.8"; do
		run groff -man -Tutf8 -ww -z "$p"
		[ "$status" -eq 0 ] && [ -z "$output" ] || { echo "$p: $output"; false; }
	done
	# a section for every verb, with its --help text in it
	for verb in $("$RAMP_BIN" --help | awk '/^commands:/{f=1; next} /^$/{f=0} f{print $1}'); do
		grep -q "^\.SH \"ramp $verb\"" "$T/man/ramp.1"
		first=$("$RAMP_BIN" "$verb" --help | head -1 | sed 's/\\/\\e/g')
		grep -qF -- "$first" "$T/man/ramp.1"
	done
	grep -q -- '--check-config' "$T/man/rampd.8"
	grep -q '^\.SH FILES' "$T/man/rampd.8"
	grep -q '^\.SH EXIT STATUS' "$T/man/ramp.1"

	# make install itself (its build is up to date: make check built it)
	san=
	[ "${RAMP_SANITIZE:-0}" = 1 ] && san=SANITIZE=1
	run make -s -C "$top" install DESTDIR="$d" PREFIX=/usr $san
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	for f in bin/ramp bin/rampd bin/rampd-pull share/man/man1/ramp.1 share/man/man8/rampd.8 \
		share/bash-completion/completions/ramp share/bash-completion/completions/rampd lib/systemd/system/rampd.service; do
		[ -e "$d/usr/$f" ] || { echo "missing $f"; false; }
	done
	# the installed unit starts the installed rampd, and systemd accepts it
	grep -qx 'ExecStart=/usr/bin/rampd --config /etc/ramp/rampd.json' "$d/usr/lib/systemd/system/rampd.service"
	sed "s|/usr/bin/rampd|$RAMPD_BIN|" "$d/usr/lib/systemd/system/rampd.service" >"$T/installed.service"
	run systemd-analyze verify "$T/installed.service"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	run man -l "$d/usr/share/man/man8/rampd.8"
	[[ "$output" == *"the ramp host daemon"* ]]
}

@test "docs: bash completion offers every verb, every sub-command and every option of each verb's --help" {
	ln -sf "$RAMP_BIN" "$T/ramp"
	ln -sf "$RAMPD_BIN" "$T/rampd"
	PATH=$T:$PATH
	source "$BATS_TEST_DIRNAME/../../cmd/ramp.bash"
	comp() {
		COMP_WORDS=("$@")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMPREPLY=()
		if [ "$1" = rampd ]; then _rampd; else _ramp; fi
		printf '%s\n' "${COMPREPLY[@]}"
	}
	verbs=$(ramp --help | awk '/^commands:/{f=1; next} /^$/{f=0} f{print $1}')
	[ "$(wc -w <<<"$verbs")" -ge 12 ]
	all=$(comp ramp '')
	for v in $verbs; do
		[[ $'\n'$all$'\n' == *$'\n'$v$'\n'* ]] || { echo "verb $v not offered"; false; }
		opts=$(comp ramp "$v" --)
		# every --option the help names is offered
		for o in $(ramp "$v" --help | grep -oE -- '(^|[ ,[(|])--[a-z][a-z0-9-]*([] ,|)=]|$)' | grep -oE -- '--[a-z][a-z0-9-]*'); do
			[[ $'\n'$opts == *$'\n'$o* ]] || { echo "ramp $v: $o not offered"; false; }
		done
	done
	[ "$(comp ramp host '' | sort | paste -sd' ')" = "deploy logs revert rm status" ]
	[ "$(comp ramp rollout '' | sort | paste -sd' ')" = "list show" ]
	[ "$(comp ramp fleet '' | paste -sd' ')" = status ]
	[ "$(comp ramp rollout --on-failure '' | paste -sd' ')" = "revert pause" ]
	[ "$(comp ramp run --net '' | paste -sd' ')" = "host private" ]
	[ "$(comp ramp -v ro | paste -sd' ')" = rollout ]
	[ "$(comp rampd --c | paste -sd' ')" = "--check-config --config" ]
	# no stray words (from "sh -c;" and the like)
	! comp ramp rollout - | grep -qx -- -c || false
}

@test "demo image: each /metrics page is one moment's counts: between two pages under load no bucket grows more than a wider one" {
	# (a page read while a request was counted showed a lower bucket before
	# the increment and a wider one after it: the canary analysis rightly
	# leaves such a host out, and the demo's 2.2 ended inconclusive)
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	PORT=$port "$RAMP_HELLO" 2>"$T/hello.log" 3>&- &
	pid=$!
	for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/version" >/dev/null && break; sleep 0.02; done
	wrk -t2 -c8 -d4s "http://127.0.0.1:$port/" >"$T/wrk.out" 2>&1 &
	wp=$!
	sleep 0.5
	# the GET buckets of each page, one line a page
	for _ in $(seq 400); do
		curl -s "http://127.0.0.1:$port/metrics" |
			awk '/^http_request_duration_seconds_bucket\{method="get"/ { printf "%s ", $2 } END { print "" }'
	done >"$T/pages"
	wait "$wp"
	kill -TERM "$pid"
	wait "$pid" || true
	grep -q 'Requests/sec' "$T/wrk.out"
	[ "$(awk 'NF' "$T/pages" | wc -l)" -ge 300 ]
	# each bucket's growth from the page before is at most the next wider one's
	run awk 'NF && p { for (i = 2; i <= NF; i++) if ($(i-1) - q[i-1] > $i - q[i]) { print NR ": bucket " i-1 " grew by " $(i-1) - q[i-1] ", the wider by " $i - q[i]; bad++ } }
		NF { p = 1; for (i = 1; i <= NF; i++) q[i] = $i } END { exit bad > 0 }' "$T/pages"
	[ "$status" -eq 0 ] || { echo "$output" | head; false; }
	# and it counted: the last page has more than the first
	[ "$(awk 'NF { l = $NF; if (!f) f = $NF } END { print (l > f) }' "$T/pages")" = 1 ]
}
