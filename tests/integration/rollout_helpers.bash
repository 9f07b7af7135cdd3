# rollout_helpers.bash: a simulated fleet (tests/helpers/fakefleet) and short
# ways to roll out to it, for the rollout*.bats tests.

load helpers

V1=sha256:$(printf '1%.0s' {1..64})
V2=sha256:$(printf '2%.0s' {1..64})
V3=sha256:$(printf '3%.0s' {1..64})
IMG=127.0.0.1:5000/web

# start_fleet N [fakefleet options]: hosts h1..hN running web@V1 (unless told
# otherwise), zones a and b; sets FLEET, FAKE_PORT, FAKE_PID.
start_fleet() {
	local n=$1
	shift
	rm -f "$T/ready"
	"$RAMP_HELPERS/fakefleet" --hosts "$n" --fleet-out "$T/fleet.txt" --ready "$T/ready" --zones a,b \
		--app "web=$IMG@$V1" --start-ms 30 --revert-ms 10 "$@" 2>"$T/fakefleet.log" &
	FAKE_PID=$!
	for _ in $(seq 200); do
		[ -s "$T/ready" ] && break
		sleep 0.02
	done
	[ -s "$T/ready" ] || { cat "$T/fakefleet.log" >&2; return 1; }
	FAKE_PORT=$(cat "$T/ready")
	FLEET=$T/fleet.txt
	FAKE_CTL=(-sf "http://127.0.0.1:$FAKE_PORT")
	if [[ " $* " == *" --tls-cert "* ]]; then FAKE_CTL=(-sf --cacert "$T/ca.pem" "https://127.0.0.1:$FAKE_PORT"); fi
}

# make_certs: a CA ($T/ca.pem) and a certificate for the first hosts'
# addresses ($T/srv.pem, $T/srv.key), EC keys (quick to make)
make_certs() {
	local ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
	openssl req -x509 "${ec[@]}" -keyout "$T/ca.key" -out "$T/ca.pem" -days 2 -subj /CN=ramp-test-ca 2>/dev/null
	openssl req "${ec[@]}" -keyout "$T/srv.key" -out "$T/srv.csr" -subj /CN=fakefleet 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1,IP:127.1.0.1,IP:127.1.0.2,IP:127.1.0.3,IP:127.1.0.4\n' >"$T/ext"
	openssl x509 -req -in "$T/srv.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial -out "$T/srv.pem" \
		-days 2 -extfile "$T/ext" 2>/dev/null
}

stop_fleet() {
	if [ -n "${FAKE_PID:-}" ]; then
		kill "$FAKE_PID" 2>/dev/null || true
		wait "$FAKE_PID" 2>/dev/null || true
		FAKE_PID=
	fi
}

fleet_setup() {
	common_setup
	FAKE_PID=
}

fleet_teardown() {
	# rollouts a test left running in the background
	for p in ${BG_PIDS:-}; do kill -9 "$p" 2>/dev/null || true; done
	stop_fleet
	[ -z "${REG_PID:-}" ] || { kill "$REG_PID" 2>/dev/null; wait "$REG_PID" 2>/dev/null || true; }
	common_teardown
}

# start_fleet_registry: a real registry (docker-registry) on a free port, its data in
# $T; sets REG (host:port) and REG_PID, fleet_teardown stops it
start_fleet_registry() {
	local port
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	printf 'version: 0.1\nlog: {level: error}\nstorage: {filesystem: {rootdirectory: %s}}\nhttp: {addr: 127.0.0.1:%s}\n' \
		"$T/registry" "$port" >"$T/registry.yml"
	docker-registry serve "$T/registry.yml" >"$T/registry.log" 2>&1 </dev/null 3>&- &
	REG_PID=$!
	REG=127.0.0.1:$port
	for _ in $(seq 200); do curl -sf "http://$REG/v2/" >/dev/null && return 0; sleep 0.05; done
	cat "$T/registry.log" >&2
	return 1
}

behave() { curl -XPOST --data "$1" "${FAKE_CTL[@]:0:${#FAKE_CTL[@]}-1}" "${FAKE_CTL[-1]}/_fake/behave" >/dev/null; }
fake_state() { curl "${FAKE_CTL[@]:0:${#FAKE_CTL[@]}-1}" "${FAKE_CTL[-1]}/_fake/state"; }

# the distinct digests web runs on the fleet ("none" for a host without it)
digests() { fake_state | jq -r '[.hosts[] | (.apps.web.current.digest // "none")] | unique | join(" ")'; }
digest_of() { fake_state | jq -r --arg h "$1" '.hosts[] | select(.name == $h) | (.apps.web.current.digest // "none")'; }
# every host's app healthy (and no host without it unless said)
all_healthy() { [ "$(fake_state | jq '[.hosts[] | .apps.web.health.healthy // false] | all')" = true ]; }
puts_to() { fake_state | jq -r --arg h "$1" '.hosts[] | select(.name == $h) | .counts.put'; }

# rollout [options]: the quick settings of these tests; --json events on stdout
rollout() {
	"$RAMP_BIN" rollout --app web --fleet "$FLEET" --state-dir "$T/state" --allow-untested \
		--bake 150ms --poll 20ms --request-timeout 1s --unreachable-after 400ms --revert-deadline 5s "$@"
}

# rollout_bg OUT [options]: the same in the background, its events in OUT;
# BG is its pid (ramp's own, so kill -9 hits the orchestrator)
rollout_bg() {
	local out=$1
	shift
	"$RAMP_BIN" rollout --app web --fleet "$FLEET" --state-dir "$T/state" --allow-untested \
		--bake 150ms --poll 20ms --request-timeout 1s --unreachable-after 400ms --revert-deadline 5s "$@" \
		>"$out" 2>"$out.err" &
	BG=$!
	BG_PIDS="${BG_PIDS:-} $BG"
}

# wait_for FILE PATTERN: until the pattern shows up (5 s at most)
wait_for() {
	for _ in $(seq 250); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.02
	done
	return 1
}

# events of a kind from JSON lines in $output
events() { jq -c --arg e "$1" 'select(.event == $e)' <<<"$output"; }
