#!/usr/bin/env bash
# tests/fault/clock.sh: the wall clock jumps (libfaketime from Debian's
# faketime package, its offset re-read from a file on every call; CLOCK_MONOTONIC
# left alone, as an NTP step or an operator's `date -s` leaves it) under
# `ramp rollout` and under one of the two rampd hosts it rolls out to,
# FAULT_ROUNDS rounds (default 6). Each round rolls a new version out in two
# waves with a bake of 1.5 s and, at a random moment of it, jumps the clocks:
# forwards a day, back a day, forwards a year, back an hour, ... (the
# orchestrator's one way, h2's the other; each round from the last). Timers are
# CLOCK_MONOTONIC, so:
#   - the rollout ends "done" (exit 0), no sooner than its two bakes (3 s of
#     real time) and within 15 s;
#   - both hosts run the new version, healthy, their ports answer as it;
#   - the jumped rampd's app kept being probed (at its 100 ms interval) and
#     never turned unhealthy.
. "$(dirname "$0")/lib.sh"
ROUNDS=${FAULT_ROUNDS:-6}
load rampd_helpers
BATS_TEST_COMPLETED=1
CLEANUPS+=(rampd_stop)
LIBFT=$(ls /usr/lib/*/faketime/libfaketimeMT.so.1 2>/dev/null | head -1)
[ -n "$LIBFT" ] || fail "libfaketime is missing (apt-get install faketime)"
t0=$SECONDS
echo "+0" >"$T/clock.h2"
echo "+0" >"$T/clock.ramp"
# an ASan build accepts libfaketime loaded before its runtime
FT_ASAN=ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
# faked PROGRAM...: with the wall clock of file $CLOCK
faked() {
	env "$FT_ASAN" LD_PRELOAD="$LIBFT" FAKETIME_TIMESTAMP_FILE="$CLOCK" FAKETIME_NO_CACHE=1 FAKETIME_DONT_FAKE_MONOTONIC=1 "$@"
}

reg=$(start_registry "$T/registry")
for ((i = 0; i <= ROUNDS; i++)); do
	IMGS[$i]=$(build_image "$reg" app "c$i" 0) || fail "building image $i"
done
host_start 1 || fail "h1 did not start"
HOST_WRAP="env $FT_ASAN LD_PRELOAD=$LIBFT FAKETIME_TIMESTAMP_FILE=$T/clock.h2 FAKETIME_NO_CACHE=1 FAKETIME_DONT_FAKE_MONOTONIC=1"
host_start 2 || fail "h2 (faked clock) did not start"
HOST_WRAP=
hosts_fleet 2
for i in 1 2; do
	curl -sf -o /dev/null -X PUT --unix-socket "$T/h$i/rampd.sock" --data "{\"image\":\"${IMGS[0]}\",\"generation\":1}" \
		http://rampd/v1/apps/web || fail "deploying c0 on h$i"
done
msg=$(hosts_on 2 "${IMGS[0]#*@}" c0) || fail "the first deploy: $msg"

JUMPS=("+1d" "-1d" "+365d" "-1h" "+30m" "-7d")
for ((round = 1; round <= ROUNDS; round++)); do
	jump=${JUMPS[$(((round - 1) % ${#JUMPS[@]}))]}
	unhealthy0=$(grep -c 'unhealthy' "$T/h2/rampd.log")
	probes0=$(grep -c . "$T/h2/rampd.log")
	start=$EPOCHREALTIME
	CLOCK=$T/clock.ramp faked "$RAMP_BIN" rollout --app web --fleet "$T/fleet.txt" --state-dir "$T/state" --allow-untested \
		--image "${IMGS[$round]}" --bake 1500ms --poll 50ms --json >"$T/out" 2>"$T/out.err" &
	p=$!
	rand_sleep 2500
	# the jump: the orchestrator's clock one way, h2's the other
	echo "$jump" >"$T/clock.ramp"
	echo "$jump" | tr '+-' '-+' >"$T/clock.h2"
	rc=0
	wait "$p" || rc=$?
	ms=$(((${EPOCHREALTIME/./} - ${start/./}) / 1000))
	[ "$rc" = 0 ] || fail "jump $jump: the rollout exited $rc: $(tail -3 "$T/out.err")"
	[ "$ms" -ge 3000 ] || fail "jump $jump: the rollout took $ms ms, less than its two bakes of 1.5 s"
	[ "$ms" -le 15000 ] || fail "jump $jump: the rollout took $ms ms"
	msg=$(hosts_on 2 "${IMGS[$round]#*@}" "c$round") || fail "jump $jump: $msg"
	[ "$(grep -c 'unhealthy' "$T/h2/rampd.log")" = "$unhealthy0" ] || fail "jump $jump: h2's app turned unhealthy: $(grep unhealthy "$T/h2/rampd.log" | tail -2)"
	# probes go on at their interval: the last 10 span about a second (100 ms apart), whatever the clock says
	host_get 2
	n=$(jq '.health.probes | length' <<<"$hbody")
	[ "$n" -ge 5 ] || fail "jump $jump: h2 has $n probe results"
	a=$(jq -r '.health.probes[-1].time' <<<"$hbody")
	sleep 1
	host_get 2
	b=$(jq -r '.health.probes[-1].time' <<<"$hbody")
	[ "$a" != "$b" ] || fail "jump $jump: h2's probes stopped (last at $a)"
	[ "$(jq -r .health.healthy <<<"$hbody")" = true ] || fail "jump $jump: h2 is not healthy: $hbody"
	say "round $round: clocks jumped $jump (ramp rollout) and $(cat "$T/clock.h2") (h2) mid-rollout: done in $ms ms (bakes 2 x 1.5 s), both hosts on c$round, h2's probes go on (last at $b by its clock)"
done
pass "$ROUNDS rounds in $((SECONDS - t0)) s: every rollout done, after its bakes and in bounded time, through jumps of ${JUMPS[*]:0:ROUNDS}"
