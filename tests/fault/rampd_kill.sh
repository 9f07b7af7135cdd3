#!/usr/bin/env bash
# tests/fault/rampd_kill.sh: kill -9 of rampd at random points of a pull, an
# unpack, a switch (the new version starting) and a revert, FAULT_ROUNDS
# rounds (default 100) taking the four in turn. Each round asks for the
# change, waits until rampd reports the phase to hit (pulling, unpacking,
# starting, reverting), sleeps a random few milliseconds and kills rampd;
# every 10th round the app's processes die with it (a power cut). Then:
#   - no mount of the store shows in the host's mount table;
#   - a new rampd on the same state dir converges: current = desired, healthy,
#     and the app answers as that version on its port, one app process;
#   - the store verifies (lib.sh store_verify): blobs hash to their names,
#     layers to their diff_ids, every kept version is an image of the store.
. "$(dirname "$0")/lib.sh"
ROUNDS=${FAULT_ROUNDS:-100}
N_IMAGES=${FAULT_IMAGES:-6}
MIB=${FAULT_MIB:-8}
load rampd_helpers
BATS_TEST_COMPLETED=1 # rampd_teardown: no log dump
CLEANUPS+=(rampd_stop)
FAIL_LOG=$T/rampd.log

reg=$(start_registry "$T/registry")
[ -n "$reg" ] || fail "the registry did not start"
declare -A VER
for i in $(seq "$N_IMAGES"); do
	IMG[$i]=$(build_image "$reg" big "v$i" "$MIB") || fail "building image $i"
	VER[${IMG[$i]#*@}]=v$i
done
PORT=$(free_port)
# keep 2: with 6 images in turn, each deploy pulls and unpacks afresh
write_config "\"apps\": {\"web\": {\"ports\": {\"8080\": \"127.0.0.1:$PORT\"}, \"stop_grace\": \"2s\", \"keep\": 2}}"
start_rampd || fail "rampd did not start"
api PUT /v1/apps/web "{\"image\":\"${IMG[1]}\",\"generation\":1}"
wait_app .phase healthy 30 >/dev/null 2>&1 || fail "first deploy: $body"

# phase_now: the app's phase, "" when rampd does not answer
phase_now() {
	curl -s -m 1 --unix-socket "$T/rampd.sock" http://rampd/v1/apps/web | jq -r .phase 2>/dev/null
}

# absent_next: moves next to an image the store does not have, if any
absent_next() {
	local k
	for ((k = 0; k < N_IMAGES; k++)); do
		[ -e "$T/state/images/${IMG[$next]#*@sha256:}.json" ] || return 0
		next=$((next % N_IMAGES + 1))
	done
	return 1
}

declare -A hit=() missed=()
next=2 t0=$SECONDS
for ((round = 1; round <= ROUNDS; round++)); do
	api GET /v1/apps/web
	gen=$(($(jq -r .generation <<<"$body") + 1))
	case $((round % 4)) in
	1) what=pull want=pulling window=40 ;;
	2) what=unpack want=unpacking window=60 ;;
	3) what=switch want=starting window=20 ;;
	0) what=revert want=reverting window=15 ;;
	esac
	if [ "$what" = revert ]; then
		api POST /v1/apps/web/revert "{\"to\":\"previous\",\"generation\":$gen}"
	else
		# the next image in turn that is not in the store (so it is pulled); when
		# all are, until rampd's garbage collection (5 s after a switch, and
		# each restart starts that delay again) has removed some
		wait_until 15 absent_next || true
		api PUT /v1/apps/web "{\"image\":\"${IMG[$next]}\",\"generation\":$gen}"
		next=$((next % N_IMAGES + 1))
	fi
	[ "$code" = 202 ] || fail "$what request: $code $body"
	# wait for the phase to hit (at most 10 s), then a random moment in it; a
	# revert (a kept version, no pull) is over in milliseconds: no waiting
	seen=
	[ "$what" = revert ] && seen=at
	for ((k = 0; k < 1000 && !${#seen}; k++)); do
		p=$(phase_now)
		[ "$p" = "$want" ] && { seen=in; break; }
		case $p in healthy | failed | unhealthy) [ $k -gt 5 ] && break ;; esac
		sleep 0.005
	done
	rand_sleep "$window"
	[ -n "$seen" ] && hit[$what]=$((${hit[$what]:-0} + 1)) || missed[$what]=$((${missed[$what]:-0} + 1))
	power=
	if [ $((round % 10)) = 0 ]; then
		power=" + power cut"
		crash "$RAMPD_PID" "$T"
	else
		crash "$RAMPD_PID"
	fi
	wait_exit "$RAMPD_PID" 5 || fail "rampd survived kill -9"
	n=$(mounts_in "$T")
	[ "$n" = 0 ] || fail "after the kill ($what): $n mounts of the store in the host's table"
	start_rampd 2>/dev/null || fail "rampd did not restart after a kill during $what"
	api GET /v1/apps/web
	desired=$(jq -r .desired.digest <<<"$body")
	wait_app .current.digest "$desired" 60 2>/dev/null || fail "after a kill during $what: never reached $desired: $body"
	wait_app .phase healthy 30 2>/dev/null || fail "after a kill during $what: not healthy: $body"
	served_by "$PORT" "${VER[$desired]}" 2>/dev/null || fail "after a kill during $what: port $PORT does not serve ${VER[$desired]}"
	wait_until 5 test "$(app_pids "$T" | wc -l)" = 1 || fail "after a kill during $what: $(app_pids "$T" | wc -l) app processes"
	msg=$(store_verify "$T/state" web) || fail "after a kill during $what: store: $msg"
	say "round $round: kill -9 during $what (${seen:-missed} $want)$power: back on ${VER[$desired]}, store verifies, no mount leaked"
done
summary=
for w in pull unpack switch revert; do summary+=" $w ${hit[$w]:-0}/$((${hit[$w]:-0} + ${missed[$w]:-0}))"; done
pass "$ROUNDS rounds in $((SECONDS - t0)) s; kills inside the phase:$summary; pulls started $(grep -c 'pulling sha256' "$T/rampd.log"), containers adopted $(grep -c adopted "$T/rampd.log")"
