#!/usr/bin/env bats
bats_require_minimum_version 1.5.0
# rampd_crash.bats: rampd dies or restarts, the apps do not: containers
# outlive a kill -9 and are adopted (with their sockets) by the next rampd;
# SIGQUIT leaves them running, SIGTERM stops them; after a "reboot" every app
# comes back at its current version with the registry gone; and 20 rounds of
# kill -9 at random points of pulls and switches always leave a runnable
# current version and a store that verifies.

load rampd_helpers

setup_file() { hello_registry_start; }

teardown_file() { hello_registry_stop; }

setup() { rampd_setup; }

teardown() { rampd_teardown; }

# every blob hashes to its name, every image record's layers are there, the state parses
store_verifies() {
	local f
	for f in "$T"/state/blobs/sha256/*; do
		[ -e "$f" ] || continue
		[ "$(sha256sum <"$f" | cut -c1-64)" = "$(basename "$f")" ] || { echo "blob $f is corrupt" >&2; return 1; }
	done
	for f in "$T"/state/images/*.json; do
		[ -e "$f" ] || continue
		for c in $(jq -r '.layers[].chainID' "$f"); do
			[ -d "$T/state/layers/${c#sha256:}/fs" ] || { echo "$f: layer $c is missing" >&2; return 1; }
		done
	done
	jq -e .current "$T/state/apps/web/state.json" >/dev/null
}

@test "rampd crash: after kill -9 the container keeps serving and the next rampd adopts it and its sockets" {
	app_config "$PORT"
	start_rampd
	deploy "$V1" 1
	wait_app .phase healthy
	before=$(app_pids "$T")
	kill -KILL "$RAMPD_PID"
	wait_exit "$RAMPD_PID" 5 || true
	served_by "$PORT" v1
	start_rampd
	wait_app .phase healthy
	[ "$(app_pids "$T")" = "$before" ]
	grep -q "adopted ${V1#*@}" "$T/rampd.log"
	# the sockets came back: a switch on them works, and the adopted one is stopped
	deploy "$V2" 2
	wait_app .current.digest "${V2#*@}"
	wait_app .phase healthy
	served_by "$PORT" v2
	for _ in $(seq 100); do [ "$(app_pids "$T" | wc -l)" -eq 1 ] && break; sleep 0.05; done
	[ "$(app_pids "$T" | wc -l)" -eq 1 ]
	[ "$(app_pids "$T")" != "$before" ]
}

@test "rampd crash: SIGQUIT leaves the apps running, SIGTERM stops them" {
	app_config "$PORT"
	start_rampd
	deploy "$V1" 1
	wait_app .phase healthy
	before=$(app_pids "$T")
	kill -QUIT "$RAMPD_PID"
	wait_exit "$RAMPD_PID" 10
	[ "$rc" -eq 0 ]
	[ "$(app_pids "$T")" = "$before" ]
	served_by "$PORT" v1
	start_rampd
	wait_app .phase healthy
	[ "$(app_pids "$T")" = "$before" ]
	kill -TERM "$RAMPD_PID"
	wait_exit "$RAMPD_PID" 10
	[ "$rc" -eq 0 ]
	[ -z "$(app_pids "$T")" ]
	run curl -s -m 2 "http://127.0.0.1:$PORT/"
	[ "$status" -ne 0 ]
	# cleanly: the app got its stop signal and finished (no SIGKILL)
	grep -q 'hello v1: stopped' "$T/state/apps/web/run/app.log"
	# --leave-running makes SIGTERM leave them too
	start_rampd --leave-running
	wait_app .phase healthy
	kill -TERM "$RAMPD_PID"
	wait_exit "$RAMPD_PID" 10
	[ -n "$(app_pids "$T")" ]
	before=$(app_pids "$T")
	# and so does "leave_running" in the config
	app_config "$PORT"
	sed -i 's/^{/{"leave_running": true, /' "$T/rampd.json"
	start_rampd
	wait_app .phase healthy
	kill -TERM "$RAMPD_PID"
	wait_exit "$RAMPD_PID" 10
	grep -q 'leaving the apps running' "$T/rampd.log"
	[ "$(app_pids "$T")" = "$before" ]
}

@test "rampd crash: after a reboot every app comes back at its current version, with no registry" {
	app_config "$PORT"
	start_rampd
	deploy "$V1" 1
	wait_app .phase healthy
	deploy "$V2" 2
	wait_app .current.digest "${V2#*@}"
	wait_app .phase healthy
	kill -TERM "$RAMPD_PID"
	wait_exit "$RAMPD_PID" 10
	[ -z "$(app_pids "$T")" ]
	stop_registry "$REGDIR"
	start_rampd
	wait_app .phase healthy
	served_by "$PORT" v2
	# and a revert needs no network either
	api POST /v1/apps/web/revert '{"generation":2}'
	wait_app .current.digest "${V1#*@}"
	wait_app .phase healthy
	served_by "$PORT" v1
	start_registry "$REGDIR" >/dev/null
}

@test "rampd crash: a start interrupted before its pid was recorded leaves no stray process" {
	app_config "$PORT"
	start_rampd
	deploy "$V1" 1
	wait_app .phase healthy
	kill -TERM "$RAMPD_PID"
	wait_exit "$RAMPD_PID" 10
	# what a kill -9 between writing the pending entry and recording the pid leaves
	env RAMP_INSTANCE=web/ilost-1 sleep 300 &
	lost=$!
	cat >"$T/state/apps/web/run/containers.json" <<'JSON'
{"containers": [{"id": "ilost-1", "digest": "sha256:0000000000000000000000000000000000000000000000000000000000000000", "pid": 0, "start": 0}]}
JSON
	mkdir -p "$T/state/apps/web/run/ilost-1/upper"
	start_rampd
	wait_app .phase healthy
	wait_exit "$lost" 5
	[ ! -e "$T/state/apps/web/run/ilost-1" ]
	served_by "$PORT" v1
}

@test "rampd crash: 20 rounds of kill -9 during pulls and switches" {
	# a fresh image for most rounds (a pull, an unpack and a switch to interrupt),
	# each with a 2 MiB layer of its own; every 4th round reverts (a switch only)
	for i in $(seq 16); do
		mkdir -p "$T/big$i"
		cp "$RAMP_HELLO" "$T/big$i/hello"
		head -c $((2 << 20)) /dev/urandom >"$T/big$i/payload"
		"$RAMP_BIN" -q build "$T/big$i" -o "$T/big$i.tar" --entrypoint /hello --port 8080 \
			--health-http 8080/health --health-interval 200ms --env HELLO_VERSION=big$i >/dev/null
		skopeo copy -q "oci-archive:$T/big$i.tar" "docker://$REG/big:$i" --dest-tls-verify=false
		IMG[$i]="$REG/big@$(skopeo inspect --tls-verify=false "docker://$REG/big:$i" | jq -r .Digest)"
		rm -rf "$T/big$i" "$T/big$i.tar"
	done
	write_config "\"apps\": {\"web\": {\"ports\": {\"8080\": \"127.0.0.1:$PORT\"}, \"stop_grace\": \"3s\", \"keep\": 2}}"
	start_rampd
	deploy "${IMG[1]}" 1
	wait_app .phase healthy
	gen=1 next=2
	for round in $(seq 20); do
		gen=$((gen + 1))
		if [ $((round % 4)) -eq 0 ]; then
			api POST /v1/apps/web/revert "{\"generation\":$gen}"
		else
			deploy "${IMG[$next]}" "$gen"
			next=$((next + 1))
		fi
		[ "$code" = 202 ] || { echo "round $round: $code $body"; false; }
		sleep "0.$(printf '%03d' $((RANDOM % 250)))"
		kill -KILL "$RAMPD_PID"
		wait_exit "$RAMPD_PID" 5 || true
		start_rampd
		# the next rampd finishes what was going on
		api GET /v1/apps/web
		want=$(jq -r .desired.digest <<<"$body")
		wait_app .current.digest "$want" 30
		n=$(jq -r '.current.image' <<<"$body")
		for i in $(seq 16); do [ "${IMG[$i]}" = "$n" ] && served_by "$PORT" "big$i"; done
		store_verifies
		for _ in $(seq 100); do [ "$(app_pids "$T" | wc -l)" -eq 1 ] && break; sleep 0.05; done
		[ "$(app_pids "$T" | wc -l)" -eq 1 ] || { echo "round $round: $(app_pids "$T" | wc -l) app processes"; false; }
	done
	echo "pulls started $(grep -c "pulling sha256" "$T/rampd.log"), finished $(grep -c "in the store" "$T/rampd.log"); containers adopted $(grep -c adopted "$T/rampd.log")" >&3
}

@test "rampd crash: an app whose state cannot be read does not keep the others down" {
	p2=$(free_port)
	write_config "\"apps\": {\"web\": {\"ports\": {\"8080\": \"127.0.0.1:$PORT\"}}, \"api\": {\"ports\": {\"8080\": \"127.0.0.1:$p2\"}}}"
	start_rampd
	deploy "$V1" 1
	api PUT /v1/apps/api "{\"image\":\"$V1\",\"generation\":1}"
	wait_app .phase healthy
	kill -TERM "$RAMPD_PID"
	wait_exit "$RAMPD_PID" 10
	echo '{"schemaVersion": 1, "name": "api", "generation": "x"}' >"$T/state/apps/api/state.json"
	start_rampd
	wait_app .phase healthy
	served_by "$PORT" v1
	api GET /v1/apps/api
	[ "$code" = 404 ]
	grep -q 'app "api".*the app is left alone until its state is repaired' "$T/rampd.log"
}
