#!/usr/bin/env bash
# tests/fault/host_restart.sh: a host restarted in the middle of a rollout,
# FAULT_ROUNDS rounds (default 8) over 3 real rampd hosts (unix sockets), a
# new version each round, bake 1 s. At a random moment of the rollout a
# random host's rampd is killed (-9) and started again on its state dir after
# a random pause of up to 1.5 s; on even rounds its apps die with it (a
# reboot: the host comes back and starts its current version itself).
# Whatever the moment, the rollout must end "done" (exit 0: every host on
# the new version) or "rolled back" (exit 1: every host on the old one), or,
# when the host was down during the precheck, "refused" (exit 2, its refused
# connection named, nothing deployed), never leave the fleet mixed; every host healthy, its port answering as
# that version, its store verifying.
. "$(dirname "$0")/lib.sh"
ROUNDS=${FAULT_ROUNDS:-8}
load rampd_helpers
BATS_TEST_COMPLETED=1
CLEANUPS+=(rampd_stop)
t0=$SECONDS
declare -A VER
three_hosts h "$ROUNDS"
before=${IMGS[0]#*@}
declare -A results=()
for ((round = 1; round <= ROUNDS; round++)); do
	new=${IMGS[$round]#*@}
	"$RAMP_BIN" rollout --app web --fleet "$T/fleet.txt" --state-dir "$T/state" --allow-untested --image "${IMGS[$round]}" \
		--bake 1s --poll 50ms --json >"$T/out" 2>"$T/out.err" &
	p=$!
	h=$((1 + RANDOM % 3))
	rand_sleep 3000
	what="rampd restarted"
	if ((round % 2 == 0)); then
		what="rebooted"
		crash "${HPID[$h]}" "$T/h$h"
	else
		crash "${HPID[$h]}"
	fi
	wait_exit "${HPID[$h]}" 5 || fail "h$h survived kill -9"
	rand_sleep 1500
	host_start "$h" || fail "h$h did not start again"
	rc=0
	wait "$p" || rc=$?
	case $rc in
	0) want=$new result=done ;;
	1) want=$before result="rolled back" ;;
	2)
		# killed during the precheck: a host whose connection is refused
		# refuses the rollout at once, before anything is deployed
		grep -q 'connection refused' "$T/out.err" && ! jq -e 'select(.event == "wave")' "$T/out" >/dev/null ||
			fail "h$h $what: the rollout exited 2: $(tail -3 "$T/out.err")"
		want=$before result="refused at the precheck"
		;;
	*) fail "h$h $what: the rollout exited $rc: $(tail -3 "$T/out.err")" ;;
	esac
	msg=$(hosts_on 3 "$want" "${VER[$want]}") || fail "h$h $what, rollout $result: $msg"
	for i in 1 2 3; do
		msg=$(store_verify "$T/h$i/state" web) || fail "h$i's store: $msg"
	done
	why=
	[ "$rc" = 1 ] && why=" ($(jq -r 'select(.event == "host" and (.state == "failed" or .state == "unhealthy" or .state == "unreachable")) | .host + ": " + (.reason // .message // "")' "$T/out" | head -1 | cut -c1-100))"
	say "round $round: h$h $what mid-rollout: $result$why; all on ${VER[$want]}, stores verify"
	results[$result]=$((${results[$result]:-0} + 1))
	before=$want
done
summary=$(for k in "${!results[@]}"; do printf ' %s %s' "$k" "${results[$k]}"; done)
pass "$ROUNDS rounds in $((SECONDS - t0)) s:$summary; the fleet never mixed"
