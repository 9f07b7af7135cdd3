#!/usr/bin/env bash
# tests/fault/disk_full.sh: the disk fills up, on a small tmpfs (40 MiB,
# FAULT_DISK_MIB) mounted for the test, FAULT_ROUNDS rounds (default 3) of each:
#   rampd pull:   rampd's store on the tmpfs; a new version with an
#                 incompressible layer 1.6 times the tmpfs (64 MiB; the
#                 download does not fit);
#   rampd unpack: a version whose 64 MiB layer of zeros is a 64 KiB blob
#                 (the download fits, the unpacked layer does not);
#   ramp pull:    `ramp pull -o` of the 64 MiB image onto the tmpfs;
#   ramp build:   `ramp build -o` of the 64 MiB tree onto the tmpfs.
# Each must fail with an error saying "No space left on device", leave
# nothing corrupt (rampd: the old version keeps running, the store verifies,
# and a small version deploys afterwards; ramp: no output file) and give the
# space back (the tmpfs's use afterwards is what it was before, within 1 MiB).
. "$(dirname "$0")/lib.sh"
ROUNDS=${FAULT_ROUNDS:-3}
DISK=${FAULT_DISK_MIB:-40}
BIG=$((DISK * 8 / 5))
load rampd_helpers
BATS_TEST_COMPLETED=1
SMALL=$T/small
mkdir -p "$SMALL"
mount -t tmpfs -o "size=${DISK}m" tmpfs "$SMALL" || fail "cannot mount a tmpfs"
CLEANUPS+=("umount -l $SMALL" rampd_stop)
t0=$SECONDS
used() { df -k --output=used "$SMALL" | tail -1 | tr -d ' '; }
# gave_back KB_BEFORE: the tmpfs uses at most 1 MiB more than before
gave_back() {
	local now
	now=$(used)
	[ "$now" -le $(($1 + 1024)) ] || { echo "the tmpfs uses $now KiB, $1 KiB before"; return 1; }
}

reg=$(start_registry "$T/registry")
[ -n "$reg" ] || fail "the registry did not start"
PORT=$(free_port)
cat >"$T/rampd.json" <<JSON
{"state_dir": "$SMALL/state", "socket": "$T/rampd.sock",
 "apps": {"web": {"ports": {"8080": "127.0.0.1:$PORT"}, "stop_grace": "2s", "keep": 2}}}
JSON
SMALL_IMG=$(build_image "$reg" app small 0) || fail "building the small image"
start_rampd || fail "rampd did not start"
api PUT /v1/apps/web "{\"image\":\"$SMALL_IMG\",\"generation\":1}"
wait_app .phase healthy 30 || fail "first deploy: $body"
gen=1

# deploy_fails IMAGE WHAT: rampd refuses IMAGE for want of space; the small
# version keeps serving, the store verifies, the space is given back
deploy_fails() {
	local before msg
	before=$(used)
	gen=$((gen + 1))
	api PUT /v1/apps/web "{\"image\":\"$1\",\"generation\":$gen}"
	[ "$code" = 202 ] || fail "$2: $code $body"
	wait_app .phase failed 60 || fail "$2: never failed: $body"
	why=$(jq -r .message <<<"$body")
	[[ $why == *"No space left on device"* ]] || fail "$2: the message does not say why: $why"
	[ "$(jq -r .current.digest <<<"$body")" = "${SMALL_IMG#*@}" ] || fail "$2: current changed: $body"
	served_by "$PORT" small || fail "$2: the running version stopped serving"
	msg=$(store_verify "$SMALL/state" web) || fail "$2: store: $msg"
	msg=$(gave_back "$before") || fail "$2: $msg"
	# and the host still deploys what fits (the same small version again, newer generation)
	gen=$((gen + 1))
	api PUT /v1/apps/web "{\"image\":\"$SMALL_IMG\",\"generation\":$gen}"
	wait_app .phase healthy 30 || fail "$2: the small version after the failure: $body"
	say "round $round: $2: \"…${why: -80}\"; small version still serves, store verifies, space given back"
}

# images: 64 MiB random (does not download), 64 MiB of zeros (downloads, does not unpack)
for ((i = 1; i <= ROUNDS; i++)); do
	BIG[$i]=$(build_image "$reg" big "r$i" "$BIG") || fail "building big image $i"
	mkdir -p "$T/zero$i"
	cp "$RAMP_HELLO" "$T/zero$i/hello"
	head -c $((BIG << 20)) /dev/zero >"$T/zero$i/zeros"
	echo "$i" >"$T/zero$i/round"
	"$RAMP_BIN" -q build "$T/zero$i" -o "$T/zero$i.tar" --entrypoint /hello --port 8080 --health-http 8080/health >/dev/null ||
		fail "build zeros"
	skopeo copy -q "oci-archive:$T/zero$i.tar" "docker://$reg/zero:r$i" --dest-tls-verify=false || fail "push zeros"
	ZERO[$i]="$reg/zero@$(skopeo inspect --tls-verify=false "docker://$reg/zero:r$i" | jq -r .Digest)"
	rm -rf "$T/zero$i" "$T/zero$i.tar"
done

for ((r = 1; r <= ROUNDS; r++)); do
	round=$r
	deploy_fails "${BIG[$r]}" "rampd pull of a $BIG MiB layer"
	round=$((ROUNDS + r))
	deploy_fails "${ZERO[$r]}" "rampd unpack of a $BIG MiB layer of zeros"
done
kill -TERM "$RAMPD_PID"
wait_exit "$RAMPD_PID" 15 || fail "rampd did not stop"
rm -rf "${SMALL:?}/state"

# ---- ramp pull and ramp build onto the full disk ----
mkdir -p "$T/src"
cp "$RAMP_HELLO" "$T/src/hello"
for ((r = 1; r <= ROUNDS; r++)); do
	round=$((2 * ROUNDS + r))
	before=$(used)
	"$RAMP_BIN" -q pull --tls-verify=false "${BIG[$r]}" -o "$SMALL/pulled.tar" >"$T/out" 2>"$T/err" && fail "ramp pull succeeded on a full disk"
	grep -q "No space left on device" "$T/err" || fail "ramp pull: the error does not say why: $(cat "$T/err")"
	[ -e "$SMALL/pulled.tar" ] && fail "ramp pull left its output file"
	msg=$(gave_back "$before") || fail "ramp pull: $msg; left: $(ls -A "$SMALL")"
	say "round $round: ramp pull -o: \"$(cut -c1-110 "$T/err")\"; no output, space given back"

	round=$((3 * ROUNDS + r))
	head -c $((BIG << 20)) /dev/urandom >"$T/src/payload"
	before=$(used)
	"$RAMP_BIN" -q build "$T/src" -o "$SMALL/built.tar" --entrypoint /hello >"$T/out" 2>"$T/err" && fail "ramp build succeeded on a full disk"
	grep -q "No space left on device" "$T/err" || fail "ramp build: the error does not say why: $(cat "$T/err")"
	[ -n "$(ls -A "$SMALL")" ] && fail "ramp build left files: $(ls -A "$SMALL")"
	msg=$(gave_back "$before") || fail "ramp build: $msg"
	say "round $round: ramp build -o: \"$(cut -c1-110 "$T/err")\"; no output, space given back"
done
pass "$((4 * ROUNDS)) rounds in $((SECONDS - t0)) s: rampd pull $ROUNDS, rampd unpack $ROUNDS, ramp pull $ROUNDS, ramp build $ROUNDS; clear errors, nothing corrupt, space given back"
