#!/usr/bin/env bats
bats_require_minimum_version 1.5.0
# html_report.bats: the HTML reports of real rollouts on a simulated fleet (one
# that passed, one rolled back, one paused and then aborted, one of 10,000
# hosts), of two under a release policy (refused by a freeze, and the freeze
# and a blocker lifted by --override) and of the fleet, opened in headless
# Chromium (tests/lib/browser.py, through chromedriver): no console errors,
# every wave, host (or wave summary), verdict and policy decision in the DOM,
# hostile text shown as text, dark and print styles applied; screenshots stay
# in the test's temp dir (or RAMP_SHOTS_DIR, html_helpers.bash).

load rollout_helpers
load html_helpers

setup_file() {
	export T HTML_DIR
	T=$(mktemp -d /tmp/ramp-bats-XXXXXX)
	HTML_DIR=$T
	# who starts a rollout is read from CI variables: none but the test's own
	unset GITHUB_ACTOR GITLAB_USER_LOGIN BUILD_USER_ID BUILDKITE_BUILD_CREATOR CI_USER GITHUB_SERVER_URL \
		GITHUB_REPOSITORY GITHUB_RUN_ID CI_JOB_URL BUILD_URL
	FAKE_PID=
	start_fleet 8
	local hostile='<script>alert("x")</script> & "q"'
	# passed, its page written live and again from the journal; started by a
	# CI job (GitHub's variables), the rest by whoever runs the tests
	GITHUB_ACTOR=ci-bot GITHUB_SERVER_URL=https://github.example GITHUB_REPOSITORY=o/r GITHUB_RUN_ID=42 \
		rollout --image "$IMG@$V2" --json --html "$T/passed.html" --gate "true # $hostile" >"$T/passed.json"
	# rolled back: a check fails after wave 2 (its command is hostile text)
	local rc=0
	rollout --image "$IMG@$V3" --json --html "$T/rolled_back.html" \
		--check "test \"\$RAMP_WAVE\" != 2 # $hostile" >"$T/rolled_back.json" || rc=$?
	[ "$rc" -eq 1 ]
	# a release policy: a freeze in force and a blocker that says no; refused,
	# then both lifted by --override, which names who gave it
	local now pol=$T/policy.json
	now=$(date +%s)
	printf '{"freezes":[{"name":"launch","reason":"big launch day","from":"%s","to":"%s"}],
	  "blockers":[{"name":"bugs","command":"echo BUG-1 is open; exit 1"}]}\n' \
		"$(date -u -d "@$((now - 60))" +%FT%TZ)" "$(date -u -d "@$((now + 3600))" +%FT%TZ)" >"$pol"
	rc=0
	rollout --image "$IMG@$V1" --json --html "$T/frozen.html" --policy "$pol" >"$T/frozen.json" || rc=$?
	[ "$rc" -eq 2 ]
	GITHUB_ACTOR=octocat rollout --image "$IMG@$V1" --json --html "$T/override.html" --policy "$pol" \
		--override "hotfix for INC-42" >"$T/override.json"
	# paused: h4 (wave 3) crashes
	behave "h4 crash $V3"
	rc=0
	rollout --image "$IMG@$V3" --json --html "$T/paused.html" --on-failure pause >"$T/paused.json" || rc=$?
	[ "$rc" -eq 3 ]
	for r in passed rolled_back paused; do
		jq -r 'select(.event == "start") | .rollout' "$T/$r.json" >"$T/$r.id"
		"$RAMP_BIN" rollout show "$(cat "$T/$r.id")" --state-dir "$T/state" --html "$T/$r-show.html"
	done
	# the fleet: h7 stops answering
	behave "h7 hang"
	rc=0
	"$RAMP_BIN" fleet status --fleet "$FLEET" --request-timeout 300ms --html "$T/fleet.html" || rc=$?
	[ "$rc" -eq 1 ]
	# the paused rollout aborted, its page carrying on from the journal
	behave "h7 ok"
	"$RAMP_BIN" rollout --abort "$(cat "$T/paused.id")" --state-dir "$T/state" --html "$T/aborted.html" \
		>/dev/null 2>"$T/aborted.err"
	stop_fleet
	# 10,000 hosts, summarised per wave
	ulimit -n "$(ulimit -Hn)"
	start_fleet 10000 --start-ms 0 --revert-ms 0
	"$RAMP_BIN" rollout --app web --fleet "$FLEET" --state-dir "$T/state-big" --allow-untested --bake 0 \
		--poll 20ms --max-parallel 256 --image "$IMG@$V2" --html "$T/big.html" >/dev/null 2>"$T/big.err"
	stop_fleet
	# a page with a console error and a failed load: the check must see them
	printf '<!DOCTYPE html><title>bad</title><script>console.error("boom")</script><img src="http://127.0.0.1:9/x">' \
		>"$T/bad.html"
	open_pages --count '#waves tr[id^=wave-]' \
		--count 'tr.host' --count 'tr.fleet-host' --count 'svg title' --count 'svg[aria-label]' \
		--text '#status' --text '#waves tr[id^=wave-]' --text '#decisions' --text '#hosts-summary' \
		--text 'section.app h2' --text 'tr.fleet-host td:first-child' --text 'tr.fleet-host' \
		--text '#decisions tbody tr' \
		"$T"/{passed,passed-show,rolled_back,rolled_back-show,frozen,override,paused,paused-show,aborted,fleet,big,bad}.html
	keep_shots
}

teardown_file() {
	stop_fleet
	[ -n "${T:-}" ] && rm -rf "$T"
}

@test "html: the console check sees errors and failed loads" {
	[ "$(page bad '[.console[] | select(.level == "SEVERE")] | length')" = 2 ]
	[[ "$(page bad '.console[].message')" == *'"boom"'* ]]
}

@test "html: a rollout that passed: every wave and host, verdicts, decisions; the same page live and from show" {
	for p in passed passed-show; do
		clean $p
		[ "$(text $p '#status')" = done ]
		[ "$(count $p '#waves tr[id^=wave-]')" = 4 ]
		[ "$(text $p '#waves tr[id^=wave-]' | grep -c 'passed +')" = 4 ]
		[ "$(count $p tr.host)" = 8 ]
		for h in h1 h2 h3 h4 h5 h6 h7 h8; do grep -q "data-host=\"$h\" data-state=\"baked\"" "$T/dom/$p.html.dom"; done
		# hostile text is shown as text, never run
		[[ "$(text $p '#decisions')" == *'true # <script>alert("x")</script> & "q"'* ]]
		[[ "$(text $p '#decisions')" == *'no passing test record required (--allow-untested)'* ]]
		# accessible names on the SVG parts: the timeline, each wave, each host's strip
		[ "$(count $p 'svg[aria-label]')" -ge 8 ]
		[ "$(count $p 'svg title')" -ge 5 ]
		# dark mode and print have their own colours
		[ "$(page $p .bg.light)" = "rgb(255, 255, 255)" ]
		[ "$(page $p .bg.dark)" = "rgb(13, 17, 23)" ]
		[ "$(page $p .bg.print)" = "rgb(255, 255, 255)" ]
	done
	cmp "$T/passed.html" "$T/passed-show.html"
	# who started it, and the CI job: the start event keeps them for show
	grep -qF '<dt>started by</dt><dd>ci-bot (<a href="https://github.example/o/r/actions/runs/42">CI job</a>)</dd>' \
		"$T/passed.html"
	[ "$(jq -r 'select(.event == "start") | "\(.startedBy) \(.ciUrl)"' "$T/passed.json")" = \
		"ci-bot https://github.example/o/r/actions/runs/42" ]
	# nothing to fetch: one file; the one link is the CI job's
	! grep -Eq 'src=|@import|url\(' "$T/passed.html" || false
	[ "$(grep -o 'href="[^"]*"' "$T/passed.html")" = 'href="https://github.example/o/r/actions/runs/42"' ]
	# without CI variables: the user who ran it, no link
	grep -qF "<dt>started by</dt><dd>$(id -un)</dd>" "$T/rolled_back.html"
	! grep -q 'href=' "$T/rolled_back.html" || false
}

@test "html: a rollout rolled back by a failing check" {
	for p in rolled_back rolled_back-show; do
		clean $p
		[ "$(text $p '#status')" = rolled_back ]
		[ "$(count $p '#waves tr[id^=wave-]')" = 4 ]
		verdicts=$(grep -o 'data-verdict="[^"]*"' "$T/dom/$p.html.dom" | cut -d\" -f2 | paste -sd" ")
		[ "$verdicts" = "passed failed not started not started" ]
		[ "$(count $p tr.host)" = 8 ]
		# wave 1 and 2 hosts were reverted, the others never touched
		[ "$(grep -c 'data-state="reverted"' "$T/dom/$p.html.dom")" = 3 ]
		[ "$(grep -c 'data-state="pending"' "$T/dom/$p.html.dom")" = 5 ]
		[[ "$(text $p '#decisions')" == *'check after wave 2'*'test "$RAMP_WAVE" != 2 # <script>alert("x")</script> & "q"'* ]]
		[[ "$(text $p '#decisions')" == *revert* ]]
	done
}

@test "html: a release policy: a freeze and a blocker in force refuse; lifted by --override, naming who" {
	clean frozen
	clean override
	[ "$(text frozen '#status')" = refused ]
	[ "$(text override '#status')" = done ]
	until=$(jq -r 'select(.event == "policy" and .check == "freeze") | .until' "$T/frozen.json")
	# refused: each in force, with its reason (and the freeze's end), nothing deployed
	rows=$(text frozen '#decisions tbody tr')
	grep -qx "+[0-9.]*sfreeze launchnobig launch day until $until" <<<"$rows"
	grep -qx "+[0-9.]*sblocker bugsnoBUG-1 is open" <<<"$rows"
	! grep -q lifted <<<"$rows" || false
	[ "$(count frozen tr.host)" = 8 ]
	[ "$(grep -c 'data-state="pending"' "$T/dom/frozen.html.dom")" = 8 ]
	# overridden: asked before each wave, each time lifted by octocat; every wave passed
	rows=$(text override '#decisions tbody tr')
	[ "$(grep -cx "+[0-9.]*sfreeze launchliftedbig launch day until $until; lifted by --override of octocat" \
		<<<"$rows")" = 4 ]
	[ "$(grep -cx "+[0-9.]*sblocker bugsliftedBUG-1 is open; lifted by --override of octocat" <<<"$rows")" = 4 ]
	[ "$(jq -s '[.[] | select(.event == "policy" and .overriddenBy == "octocat")] | length' "$T/override.json")" = 8 ]
	! grep -q 'sno' <<<"$rows" || false
	verdicts=$(grep -o 'data-verdict="[^"]*"' "$T/dom/override.html.dom" | cut -d\" -f2 | paste -sd" ")
	[ "$verdicts" = "passed passed passed passed" ]
	grep -qF '<dt>started by</dt><dd>octocat</dd>' "$T/dom/override.html.dom"
}

@test "html: a paused rollout names the crashed host" {
	for p in paused paused-show; do
		clean $p
		[ "$(text $p '#status')" = paused ]
		verdicts=$(grep -o 'data-verdict="[^"]*"' "$T/dom/$p.html.dom" | cut -d\" -f2 | paste -sd" ")
		[ "$verdicts" = "passed passed failed not started" ]
		grep -q 'data-host="h4" data-state="failed"' "$T/dom/$p.html.dom"
		[[ "$(text $p '#decisions')" == *paused* ]]
	done
}

@test "html: the paused rollout aborted: the page goes on from the journal" {
	clean aborted
	[ "$(text aborted '#status')" = aborted ]
	verdicts=$(grep -o 'data-verdict="[^"]*"' "$T/dom/aborted.html.dom" | cut -d\" -f2 | paste -sd" ")
	[ "$verdicts" = "passed passed failed not started" ]
	[ "$(grep -c 'data-state="reverted"' "$T/dom/aborted.html.dom")" = 7 ]
	grep -q 'data-host="h8" data-state="pending"' "$T/dom/aborted.html.dom"
	[[ "$(text aborted '#decisions')" == *paused*abort* ]]
}

@test "html: 10,000 hosts: summarised per wave, under 5 MB" {
	clean big
	[ "$(stat -c %s "$T/big.html")" -lt 5000000 ]
	[ "$(text big '#status')" = done ]
	[ "$(count big '#waves tr[id^=wave-]')" = 14 ]
	[ "$(text big '#waves tr[id^=wave-]' | grep -c passed)" = 14 ]
	[ "$(text big '#hosts-summary')" = "0 hosts did not end well." ]
	# every host is counted in its wave's summary
	[ "$(text big '#waves tr[id^=wave-]' | grep -o '[0-9]* baked' | awk '{s += $1} END {print s}')" = 10000 ]
}

@test "html: the fleet: by app, the unreachable host first, versions named" {
	clean fleet
	[ "$(count fleet tr.fleet-host)" = 8 ]
	# h7 could not say: it comes first, in its own section
	[ "$(text fleet 'tr.fleet-host td:first-child' | head -1)" = h7 ]
	[[ "$(text fleet 'section.app h2' | head -1)" == "hosts without an app, or unreachable (1)" ]]
	[[ "$(text fleet 'section.app h2' | sed -n 2p)" == "web (7)" ]]
	# h4 crashed on V3: unhealthy, listed before the healthy ones of web
	[[ "$(text fleet 'tr.fleet-host' | sed -n 2p)" == h4* ]]
	[[ "$(text fleet 'tr.fleet-host' | sed -n 2p)" == *unhealthy* ]]
	[ "$(text fleet 'tr.fleet-host' | grep -c "${V3:0:19}")" -ge 3 ]
	grep -q 'data-host="h7" data-health="unreachable"' "$T/fleet.html"
}

@test "html: usage errors write nothing" {
	id=$(cat "$T/passed.id")
	run --separate-stderr "$RAMP_BIN" rollout show "$id" --state-dir "$T/state" --json --html "$T/x.html"
	[ "$status" -eq 2 ]
	run --separate-stderr "$RAMP_BIN" rollout list --state-dir "$T/state" --html "$T/x.html"
	[ "$status" -eq 2 ]
	run --separate-stderr "$RAMP_BIN" rollout --app web --fleet "$FLEET" --image "$IMG@$V2" --dry-run --html "$T/x.html"
	[ "$status" -eq 2 ]
	run --separate-stderr "$RAMP_BIN" fleet status --fleet "$FLEET" --json --html "$T/x.html"
	[ "$status" -eq 2 ]
	run --separate-stderr "$RAMP_BIN" rollout show nosuch --state-dir "$T/state" --html "$T/x.html"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"no rollout nosuch"* ]]
	# a page that cannot be written: the error names it
	run --separate-stderr "$RAMP_BIN" rollout show "$id" --state-dir "$T/state" --html "$T/no/such/dir/x.html"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"$T/no/such/dir"* ]]
	[ ! -e "$T/x.html" ]
}
