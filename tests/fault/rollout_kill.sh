#!/usr/bin/env bash
# tests/fault/rollout_kill.sh: kill -9 of `ramp rollout` at random points,
# then `ramp rollout --resume ID` or `--abort ID` (chosen at random).
#   Part 1, FAULT_ROUNDS rounds (default 50): a simulated fleet of 8 hosts
#   (tests/helpers/fakefleet; one host new, without the app; every 4th round
#   one host crashes on the new version, so the rollout reverts).
#   Part 2, FAULT_REAL_ROUNDS rounds (default 6): 3 real rampd hosts (unix
#   sockets) running the demo app, a new image each round.
# After each round the fleet is consistent: every host healthy on one version,
# the new one after a resume that succeeded (or a rollout that had ended
# "done"), the old one after an abort or a revert; the journal replays and is
# finished; real hosts' ports answer as that version.
. "$(dirname "$0")/lib.sh"
ROUNDS=${FAULT_ROUNDS:-50}
REAL_ROUNDS=${FAULT_REAL_ROUNDS:-6}
load rollout_helpers
load rampd_helpers
BATS_TEST_COMPLETED=1
CLEANUPS+=(rampd_stop stop_fleet)
t0=$SECONDS
declare -A actions=()

# round_digest R: sha256:RR eeee…
round_digest() { printf 'sha256:%02d%s' "$(($1 % 100))" "$(printf 'e%.0s' {1..62})"; }

# after_kill ID: the action and what the fleet must then run (sets action, want)
# before: the version before this round, new: this round's, bad: it fails
after_kill() {
	local out=$1 id ended started
	id=$(ls -t "$T/state/rollouts" 2>/dev/null | grep -v tmp | head -1 | sed 's/\.jsonl$//')
	started=$(grep -c '"event":"start"' "$out" 2>/dev/null)
	ended=$(jq -r 'select(.event == "end") | .result' "$T/state/rollouts/$id.jsonl" 2>/dev/null)
	action=resume
	[ $((RANDOM % 2)) = 0 ] && action=abort
	if [ "${started:-0}" = 0 ] || [ "$id" = "$last_id" ]; then
		action=none # killed before its journal existed: nothing was deployed
		want=$before
		return 0
	fi
	last_id=$id
	if [ -n "$ended" ]; then
		action=ended
		[ "$ended" = done ] && want=$new || want=$before
		return 0
	fi
	"$RAMP_BIN" rollout "--$action" "$id" --state-dir "$T/state" --json >"$T/act.out" 2>"$T/act.err"
	rc=$?
	if [ "$action" = abort ]; then
		want=$before
		[ "$rc" = 0 ] || fail "--abort exited $rc: $(tail -3 "$T/act.err")"
	elif [ "$bad" = 1 ]; then
		want=$before
		[ "$rc" = 1 ] || fail "--resume of a failing rollout exited $rc, not 1: $(tail -3 "$T/act.err")"
	else
		want=$new
		[ "$rc" = 0 ] || fail "--resume exited $rc: $(tail -3 "$T/act.err")"
	fi
	"$RAMP_BIN" rollout show "$id" --state-dir "$T/state" --json >"$T/show.out" 2>&1 || fail "the journal of $id does not replay: $(cat "$T/show.out")"
	[ "$(jq -r .status "$T/show.out")" != unfinished ] || fail "$id is still unfinished after --$action"
	action="$action (exit $rc)"
}

# ---- part 1: the simulated fleet ----
start_fleet 8 --new h8 || fail "fakefleet did not start"
before=$V1 last_id=
for ((round = 1; round <= ROUNDS; round++)); do
	new=$(round_digest "$round")
	bad=0
	if [ $((round % 4)) = 0 ]; then
		behave "h6 crash $new" # fails in wave 3 and reverts
		bad=1
	fi
	rollout_bg "$T/out" --image "$IMG@$new" --bake 100ms --json
	ms=$((RANDOM % 1000))
	sleep "$(printf '0.%03d' "$ms")"
	kill -9 "$BG" 2>/dev/null
	wait "$BG" 2>/dev/null
	after_kill "$T/out"
	got=$(fake_state | jq -r '[.hosts[] | select(.name != "h8") | .apps.web.current.digest] | unique | join(" ")')
	fake_state | jq -e '[.hosts[] | select(.name != "h8") | .apps.web.health.healthy] | all' >/dev/null ||
		fail "($action after $ms ms): a host is not healthy"
	[ "$got" = "$want" ] || fail "($action after $ms ms): the fleet runs $got, expected $want"
	# h8, new at first, has the app once a rollout went through, then the same version
	[ "$want" = "$new" ] && h8_had=1
	h8=$(digest_of h8)
	if [ "${h8_had:-0}" = 1 ]; then [ "$h8" = "$want" ]; else [ "$h8" = none ]; fi || fail "h8 runs $h8, expected $want"
	[ "$bad" = 1 ] && behave "h6 ok"
	say "round $round: fake fleet, killed after $ms ms, ${action}: all on ${want:7:6}"
	actions[${action%% *}]=$((${actions[${action%% *}]:-0} + 1))
	before=$want
done
"$RAMP_BIN" rollout list --state-dir "$T/state" >"$T/list" 2>&1 || fail "rollout list: $(cat "$T/list")"
grep -q unfinished "$T/list" && fail "unfinished rollouts remain: $(grep unfinished "$T/list")"
stop_fleet
fake_summary=$(for a in "${!actions[@]}"; do printf ' %s %s' "$a" "${actions[$a]}"; done)

# ---- part 2: real rampd hosts ----
actions=()
rm -rf "$T/state"
declare -A VER
three_hosts r "$REAL_ROUNDS"
before=${IMGS[0]#*@} last_id=
for ((round = ROUNDS + 1; round <= ROUNDS + REAL_ROUNDS; round++)); do
	r=$((round - ROUNDS))
	new=${IMGS[$r]#*@} bad=0
	"$RAMP_BIN" rollout --app web --fleet "$T/fleet.txt" --state-dir "$T/state" --allow-untested --image "${IMGS[$r]}" \
		--bake 300ms --poll 50ms --json >"$T/out" 2>"$T/out.err" &
	BG=$!
	ms=$((RANDOM % 1600))
	sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
	kill -9 "$BG" 2>/dev/null
	wait "$BG" 2>/dev/null
	after_kill "$T/out"
	msg=$(hosts_on 3 "$want" "${VER[$want]}") || fail "($action after $ms ms): $msg"
	say "round $round: 3 rampd hosts, killed after $ms ms, ${action}: all on ${VER[$want]}"
	actions[${action%% *}]=$((${actions[${action%% *}]:-0} + 1))
	before=$want
done
real_summary=$(for a in "${!actions[@]}"; do printf ' %s %s' "$a" "${actions[$a]}"; done)
pass "$((ROUNDS + REAL_ROUNDS)) rounds in $((SECONDS - t0)) s: $ROUNDS on a simulated fleet of 8 ($fake_summary ), $REAL_ROUNDS on 3 rampd hosts ($real_summary ); every round consistent"
