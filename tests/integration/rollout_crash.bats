#!/usr/bin/env bats
bats_require_minimum_version 1.5.0
# rollout_crash.bats: the orchestrator killed (kill -9) at random points of a
# rollout, 20 times; each time --resume or --abort (at random) must leave the
# fleet consistent: every host healthy on one version, the new one after a
# resume that succeeded, the old one after an abort or a rollback.

load rollout_helpers

setup() {
	fleet_setup
}

teardown() {
	fleet_teardown
}

# digest of round r: sha256:RR eeee…
round_digest() { printf 'sha256:%02d%s' "$1" "$(printf 'e%.0s' {1..62})"; }

@test "crash: kill -9 at random points, then --resume or --abort, 20 rounds" {
	start_fleet 8 --new h8
	seed=${RAMP_CRASH_SEED:-$RANDOM}
	RANDOM=$seed
	echo "# seed $seed (RAMP_CRASH_SEED=$seed reproduces the kill points)" >&3
	before=$V1
	# h8 starts without the app: a new host, removed again on revert
	for r in $(seq 1 20); do
		d=$(round_digest "$r")
		bad=0
		if [ $((r % 4)) = 0 ]; then
			behave "h6 crash $d" # this round's rollout fails in wave 3 and reverts
			bad=1
		fi
		rm -f "$T/out" "$T/out.err"
		rollout_bg "$T/out" --image "$IMG@$d" --bake 100ms --json
		ms=$((RANDOM % 900))
		sleep "$(printf '0.%03d' "$ms")"
		kill -9 "$BG" 2>/dev/null || true
		wait "$BG" 2>/dev/null || true
		id=$(ls -t "$T/state/rollouts" 2>/dev/null | grep -v tmp | head -1 | sed 's/\.jsonl$//')
		ended=$(jq -r 'select(.event == "end") | .result' "$T/state/rollouts/$id.jsonl" 2>/dev/null || true)
		new_round=$(grep -c '"event":"start"' "$T/out" 2>/dev/null || true)
		action=resume
		[ $((RANDOM % 2)) = 0 ] && action=abort
		if [ "${new_round:-0}" = 0 ]; then
			action=none # killed before its journal existed: nothing was deployed
			want=$before
		elif [ -n "$ended" ]; then
			action=ended # the end came before the kill
			[ "$ended" = done ] && want=$d || want=$before
		fi
		if [ "$action" = none ] || [ "$action" = ended ]; then
			echo "# round $r: killed after ${ms} ms: $action" >&3
		else
			run --separate-stderr "$RAMP_BIN" rollout "--$action" "$id" --state-dir "$T/state" --json
			echo "# round $r: killed after ${ms} ms, $action: exit $status" >&3
			if [ "$action" = abort ]; then
				[ "$status" -eq 0 ] || { echo "$stderr" >&3; false; }
				want=$before
			elif [ "$bad" = 1 ]; then
				[ "$status" -eq 1 ] || { echo "$stderr" >&3; false; }
				want=$before
			else
				[ "$status" -eq 0 ] || { echo "$stderr" >&3; false; }
				want=$d
			fi
			# the journal replays, and it is finished
			run "$RAMP_BIN" rollout show "$id" --state-dir "$T/state" --json
			[ "$status" -eq 0 ]
			[ "$(jq -r .status <<<"$output")" != unfinished ]
		fi
		got=$(fake_state | jq -r '[.hosts[] | select(.name != "h8") | .apps.web.current.digest] | unique | join(" ")')
		if [ "$got" != "$want" ] || ! fake_state | jq -e '[.hosts[] | select(.name != "h8") | .apps.web.health.healthy] | all' >/dev/null; then
			echo "# round $r ($action after ${ms} ms): fleet runs $got, expected $want" >&3
			fake_state | jq -c '.hosts[] | [.name, .apps.web.current.digest[7:13], .apps.web.phase]' >&3
			false
		fi
		# h8, new at first, has the app once a rollout went through, and then
		# the same version as everybody
		[ "$want" = "$d" ] && h8_had=1
		h8=$(digest_of h8)
		if [ "${h8_had:-0}" = 1 ]; then [ "$h8" = "$want" ]; else [ "$h8" = none ]; fi
		before=$want
		[ "$bad" = 1 ] && behave "h6 ok"
	done
	# nothing is left unfinished
	run "$RAMP_BIN" rollout list --state-dir "$T/state"
	[ "$status" -eq 0 ]
	! grep -q unfinished <<<"$output" || false
}
