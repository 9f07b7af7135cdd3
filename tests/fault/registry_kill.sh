#!/usr/bin/env bash
# tests/fault/registry_kill.sh: the registry (Debian's docker-registry, real)
# killed with -9 in the middle of a transfer and started again on the same
# port and data after a random outage, FAULT_ROUNDS rounds (default 6) of each:
#   push:  `ramp push` of a 64 MiB image;
#   pull:  `ramp pull -o` of it;
#   rampd: rampd pulling a new 64 MiB image for its app (killed as soon as
#          rampd reports the pull).
# FAULT_MIB (64) sets the sizes, FAULT_OUTAGE_MS (2000) the longest outage.
# Odd rounds run ramp with --retries 0, so the command fails and is run
# again (the rerun resumes: pull from its .ramp-partial, push skipping the
# blobs the registry has); even rounds keep the default retries, so the same
# process rides out the outage. After each round the image's digest is the
# expected one and `ramp inspect --verify` of a fresh pull passes; rampd
# converges to the new version, healthy, and its store verifies.
. "$(dirname "$0")/lib.sh"
ROUNDS=${FAULT_ROUNDS:-6}
MIB=${FAULT_MIB:-64}
OUTAGE_MS=${FAULT_OUTAGE_MS:-2000}
load rampd_helpers
BATS_TEST_COMPLETED=1
CLEANUPS+=(rampd_stop)
export RAMP_REGISTRY_BACKOFF_MS=300
t0=$SECONDS
R=$T/registry
reg=$(start_registry "$R")
[ -n "$reg" ] || fail "the registry did not start"

# registry_outage: kill -9 the registry now, start it again after 0.2 s and
# a random part of OUTAGE_MS
registry_outage() {
	local pid
	pid=$(cat "$R/pid")
	kill -KILL "$pid"
	while kill -0 "$pid" 2>/dev/null; do sleep 0.01; done
	rand_sleep "$OUTAGE_MS"
	sleep 0.2
	start_registry "$R" >/dev/null
	curl -sf -o /dev/null "http://$reg/v2/" || fail "the registry did not come back"
}

# timed CMD...: runs CMD, prints its wall time in ms
timed() {
	local t=$EPOCHREALTIME
	"$@" >/dev/null 2>&1 || return 1
	echo $(((${EPOCHREALTIME/./} - ${t/./}) / 1000))
}

# kill_during PID MS: at a random moment within the first 90% of MS (how long
# the transfer takes undisturbed), if PID still runs, an outage; prints "mid"
# when it hit the transfer, "late" when that had ended
kill_during() {
	sleep "$(awk -v m="$(($2 * (5 + RANDOM % 85) / 100))" 'BEGIN{printf "%.3f", m / 1000}')"
	if kill -0 "$1" 2>/dev/null; then
		registry_outage
		echo mid
	else
		echo late
	fi
}

# killed_run MS OUT ERR CMD...: CMD in the background (stdout to OUT, stderr
# to ERR) with the registry killed within MS; sets $hit (kill_during's) and
# $rc (CMD's status)
killed_run() {
	local ms=$1 out=$2 err=$3 p
	shift 3
	"$@" >"$out" 2>"$err" &
	p=$!
	hit=$(kill_during "$p" "$ms")
	rc=0
	wait "$p" || rc=$?
}

# verify_pulled REF DIGEST: a fresh pull of REF verifies and has DIGEST
verify_pulled() {
	local o=$T/check.tar d
	rm -f "$o" "$T/.check.tar.ramp-partial"
	d=$("$RAMP_BIN" -q pull --tls-verify=false "$1" -o "$o" 2>"$T/check.err") || { cat "$T/check.err"; return 1; }
	[ "$d" = "$2" ] || { echo "pulled $d, expected $2"; return 1; }
	"$RAMP_BIN" -q inspect --verify "$o" >"$T/check.err" 2>&1 || { cat "$T/check.err"; return 1; }
}

declare -A count=()
# ---- push ----
mkdir -p "$T/src"
cp "$RAMP_HELLO" "$T/src/hello"
head -c $((MIB << 20)) /dev/urandom >"$T/src/payload"
"$RAMP_BIN" -q build "$T/src" -o "$T/push.tar" --entrypoint /hello >/dev/null || fail "build"
push_ms=$(timed "$RAMP_BIN" -q push --tls-verify=false "$T/push.tar" "$reg/calibrate:1") || fail "calibration push"
pull_ms=$(timed "$RAMP_BIN" -q pull --tls-verify=false "$reg/calibrate:1" -o "$T/calibrate.tar") || fail "calibration pull"
say "undisturbed: push of $MIB MiB $push_ms ms, pull $pull_ms ms"
for ((round = 1; round <= ROUNDS; round++)); do
	head -c $((MIB << 20)) /dev/urandom >"$T/src/payload"
	"$RAMP_BIN" -q build "$T/src" -o "$T/push.tar" --entrypoint /hello >/dev/null || fail "build"
	want=$("$RAMP_BIN" inspect --json "$T/push.tar" | jq -r .digest)
	retries=()
	[ $((round % 2)) = 1 ] && retries=(--retries 0)
	killed_run "$push_ms" "$T/push.out" "$T/push.err" "$RAMP_BIN" -q push --tls-verify=false "${retries[@]}" "$T/push.tar" "$reg/pushed:r$round"
	how="same process"
	if [ "$rc" != 0 ]; then
		how="rerun after: $(tail -1 "$T/push.err" | sed 's/.*: //' | cut -c1-60)"
		"$RAMP_BIN" -q push --tls-verify=false "$T/push.tar" "$reg/pushed:r$round" >"$T/push.out" 2>"$T/push.err" ||
			fail "push again: $(tail -3 "$T/push.err")"
	fi
	[ "$(cat "$T/push.out")" = "$want" ] || fail "push printed $(cat "$T/push.out"), expected $want"
	msg=$(verify_pulled "$reg/pushed:r$round" "$want") || fail "after the push: $msg"
	say "round $round: registry killed $hit-push (retries ${retries[1]:-default}): $how; digest and content verify"
	count[push-$hit]=$((${count[push-$hit]:-0} + 1))
done

# ---- pull ----
want=$("$RAMP_BIN" -q push --tls-verify=false "$T/push.tar" "$reg/big:1") || fail "push for the pulls"
for ((round = ROUNDS + 1; round <= 2 * ROUNDS; round++)); do
	o=$T/pulled.tar
	rm -f "$o" "$T/.pulled.tar.ramp-partial"
	retries=()
	[ $((round % 2)) = 1 ] && retries=(--retries 0)
	killed_run "$pull_ms" "$T/pull.out" "$T/pull.err" "$RAMP_BIN" -q pull --tls-verify=false "${retries[@]}" "$reg/big:1" -o "$o"
	how="same process"
	if [ "$rc" != 0 ]; then
		[ -e "$o" ] && fail "a failed pull left $o"
		partial=$(du -k "$T/.pulled.tar.ramp-partial" 2>/dev/null | cut -f1)
		how="rerun from a $((${partial:-0} >> 10)) MiB partial after: $(tail -1 "$T/pull.err" | sed 's/.*: //' | cut -c1-60)"
		"$RAMP_BIN" -q pull --tls-verify=false "$reg/big:1" -o "$o" >"$T/pull.out" 2>"$T/pull.err" ||
			fail "pull again: $(tail -3 "$T/pull.err")"
	fi
	[ "$(cat "$T/pull.out")" = "$want" ] || fail "pull printed $(cat "$T/pull.out"), expected $want"
	"$RAMP_BIN" -q inspect --verify "$o" >"$T/v.out" 2>&1 || fail "inspect --verify: $(cat "$T/v.out")"
	[ -e "$T/.pulled.tar.ramp-partial" ] && fail "the partial file is left after a complete pull"
	say "round $round: registry killed $hit-pull (retries ${retries[1]:-default}): $how; verifies"
	count[pull-$hit]=$((${count[pull-$hit]:-0} + 1))
done

# ---- rampd pulling ----
PORT=$(free_port)
write_config "\"apps\": {\"web\": {\"ports\": {\"8080\": \"127.0.0.1:$PORT\"}, \"stop_grace\": \"2s\", \"keep\": 2}}"
for ((i = 0; i <= ROUNDS; i++)); do
	IMG[$i]=$(build_image "$reg" app "v$i" "$MIB") || fail "building image $i"
done
start_rampd || fail "rampd did not start"
api PUT /v1/apps/web "{\"image\":\"${IMG[0]}\",\"generation\":1}"
wait_app .phase healthy 30 || fail "first deploy: $body"
for ((i = 1; i <= ROUNDS; i++)); do
	round=$((2 * ROUNDS + i))
	api PUT /v1/apps/web "{\"image\":\"${IMG[$i]}\",\"generation\":$((i + 1))}"
	[ "$code" = 202 ] || fail "deploy: $code $body"
	# the moment rampd says it is pulling (polled without pause)
	phase=
	for ((k = 0; k < 2000; k++)); do
		phase=$(curl -s -m 1 --unix-socket "$T/rampd.sock" http://rampd/v1/apps/web | jq -r .phase)
		[ "$phase" = pulling ] && break
	done
	retries0=$(grep -c 'retrying in' "$T/rampd.log")
	registry_outage
	wait_app .current.digest "${IMG[$i]#*@}" 60 || fail "rampd did not get v$i after the outage: $body"
	wait_app .phase healthy 30 || fail "v$i is not healthy: $body"
	served_by "$PORT" "v$i" || fail "port $PORT does not serve v$i"
	msg=$(store_verify "$T/state" web) || fail "store: $msg"
	[ "$(grep -c 'retrying in' "$T/rampd.log")" -gt "$retries0" ] && phase="$phase (the pull failed and was retried)"
	say "round $round: registry killed while rampd was $phase: v$i runs, store verifies"
	count[rampd-${phase%% *}]=$((${count[rampd-${phase%% *}]:-0} + 1))
	[[ $phase == *retried* ]] && count[rampd-retried]=$((${count[rampd-retried]:-0} + 1))
done
summary=$(for k in $(printf '%s\n' "${!count[@]}" | sort); do printf ' %s %s' "$k" "${count[$k]}"; done)
pass "$((3 * ROUNDS)) rounds in $((SECONDS - t0)) s:$summary; every transfer completed and verified"
