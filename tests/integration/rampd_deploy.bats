#!/usr/bin/env bats
bats_require_minimum_version 1.5.0
# rampd_deploy.bats: real rampd processes deploying the demo app from a real
# registry (docker-registry on loopback): deploy, switch, revert without a
# refused connection, crashes and restarts, health, auto-revert, apps that
# bind their own port, mirrors, exec health checks, DELETE, metrics.

load rampd_helpers

setup_file() {
	hello_registry_start
	export VCRASH VSICK
	VCRASH=$(hello_image "$REG" crash v3 --env HELLO_MODE=crash)
	VSICK=$(hello_image "$REG" sick v4 --env HELLO_FAIL_AFTER=2 --health-retries 2)
}

teardown_file() { hello_registry_stop; }

setup() {
	rampd_setup
}

teardown() { rampd_teardown; }

@test "rampd deploy: v1, v2, revert; status, logs and metrics tell what happened" {
	app_config "$PORT"
	start_rampd
	deploy "$V1" 1 first
	[ "$code" = 202 ]
	[ "$(jq -r .phase <<<"$body")" = pulling ]
	wait_app .phase healthy
	served_by "$PORT" v1
	api GET /v1/apps/web
	[ "$(jq -r .current.digest <<<"$body")" = "${V1#*@}" ]
	[ "$(jq -r .rollout <<<"$body")" = first ]
	[ "$(jq -r .health.healthy <<<"$body")" = true ]
	[ "$(jq -r '.health.probes[-1].output' <<<"$body")" = "200 OK" ]
	[ "$(jq -r '[.history[].phase] | index("unpacking") != null' <<<"$body")" = true ]
	deploy "$V2" 2 second
	wait_app .current.digest "${V2#*@}"
	wait_app .phase healthy
	served_by "$PORT" v2
	api GET /v1/apps/web
	[ "$(jq -r '.previous[0].digest' <<<"$body")" = "${V1#*@}" ]
	api POST /v1/apps/web/revert '{"to":"previous","generation":2}'
	[ "$code" = 202 ]
	wait_app .current.digest "${V1#*@}"
	wait_app .phase healthy
	served_by "$PORT" v1
	api GET /v1/apps/web
	[ "$(jq -r '.previous[0].digest' <<<"$body")" = "${V2#*@}" ]
	[ "$(jq -r .desired.digest <<<"$body")" = "${V1#*@}" ]
	# revert by digest, forward again
	api POST /v1/apps/web/revert "{\"to\":\"${V2#*@}\",\"generation\":3}"
	[ "$code" = 202 ]
	wait_app .current.digest "${V2#*@}"
	wait_app .phase healthy
	served_by "$PORT" v2
	api GET /metrics
	[[ "$body" == *'ramp_switches_total{app="web"} 2'* ]]
	[[ "$body" == *'ramp_reverts_total{app="web"} 2'* ]]
	[[ "$body" == *'ramp_app_phase{app="web",phase="healthy"} 1'* ]]
	[[ "$body" =~ ramp_pull_bytes_total\ [1-9][0-9]* ]]
	api GET '/v1/apps/web/logs?tail=200'
	[ "$code" = 200 ]
	[[ "$body" == *"hello v1: serving on 1 socket"* ]]
	[[ "$body" == *"rampd: starting ${V2#*@}"* ]]
	api GET '/v1/apps/web/logs?tail=1'
	[ "$(wc -l <<<"$body")" -eq 1 ]
	# only the current version runs, on the socket rampd hands it
	[ "$(app_pids "$T" | wc -l)" -eq 1 ]
	env=$(tr '\0' '\n' <"/proc/$(app_pids "$T")/environ")
	grep -qx 'LISTEN_FDS=1' <<<"$env"
	grep -qx 'LISTEN_FDNAMES=8080/tcp' <<<"$env"
	grep -q '^LISTEN_PID=[0-9]' <<<"$env"
	# its parent is the container's init (PID 1 inside), which holds CAP_KILL only
	init=$(awk '/^PPid:/ {print $2}' "/proc/$(app_pids "$T")/status")
	[ "$(awk '/^NSpid:/ {print $NF}' "/proc/$init/status")" = 1 ]
	[ "$(grep -E '^Cap(Prm|Eff|Bnd|Inh|Amb)' "/proc/$init/status" | awk '{print $2}' | tr '\n' ' ')" = \
		"0000000000000000 0000000000000020 0000000000000020 0000000000000020 0000000000000000 " ]
}

@test "rampd deploy: switches and reverts never refuse a connection" {
	app_config "$PORT"
	start_rampd
	deploy "$V1" 1
	wait_app .phase healthy
	# new connections, one after another, all through the switches
	python3 - "$PORT" "$T/client.out" <<'PY' &
import socket, sys, time
port, out = int(sys.argv[1]), sys.argv[2]
ok = fail = 0
end = time.time() + 60
while time.time() < end:
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            b = s.recv(4096)
            if not b:
                break
            data += b
        s.close()
        if data.startswith(b"HTTP/1.1 200"):
            ok += 1
        else:
            fail += 1
    except OSError as e:
        fail += 1
    try:
        open(out + ".stop").close()
        break
    except OSError:
        pass
open(out, "w").write("%d %d\n" % (ok, fail))
PY
	client=$!
	gen=1
	for i in $(seq 5); do
		gen=$((gen + 1))
		deploy "$V2" "$gen"
		wait_app .phase healthy
		served_by "$PORT" v2
		gen=$((gen + 1))
		api POST /v1/apps/web/revert "{\"to\":\"previous\",\"generation\":$gen}"
		wait_app .current.digest "${V1#*@}"
		wait_app .phase healthy
		served_by "$PORT" v1
	done
	touch "$T/client.out.stop"
	wait "$client"
	read -r ok fail <"$T/client.out"
	echo "ok=$ok fail=$fail"
	[ "$fail" -eq 0 ]
	[ "$ok" -gt 100 ]
}

@test "rampd deploy: a crashing version is restarted with backoff and reported" {
	app_config "$PORT" '"health_deadline": "2s"'
	start_rampd
	deploy "$V1" 1
	wait_app .phase healthy
	deploy "$VCRASH" 2
	wait_app .current.digest "${VCRASH#*@}"
	sleep 1.5
	api GET /v1/apps/web
	[ "$(jq -r .restarts <<<"$body")" -ge 2 ]
	[ "$(jq -r .health.healthy <<<"$body")" = false ]
	# past the deadline without auto_revert: failed, and still being restarted
	wait_app .phase failed 10
	[[ "$(jq -r .message <<<"$body")" == *"not healthy in time"* ]]
	api GET '/v1/apps/web/logs?tail=50'
	[[ "$body" == *"crashing on start"* ]]
	[[ "$body" == *"exited with status 1; restarting in"* ]]
	# the operator reverts: the kept version runs again at once
	api POST /v1/apps/web/revert '{"generation":2}'
	[ "$code" = 202 ]
	wait_app .phase healthy
	served_by "$PORT" v1
}

@test "rampd deploy: auto-revert when a new version is not healthy in time" {
	app_config "$PORT" '"health_deadline": "1500ms", "auto_revert": true'
	start_rampd
	deploy "$V1" 1
	wait_app .phase healthy
	deploy "$VCRASH" 2
	wait_app .current.digest "${VCRASH#*@}"
	wait_app .current.digest "${V1#*@}" 15
	wait_app .phase healthy
	served_by "$PORT" v1
	api GET /v1/apps/web
	[ "$(jq -r .desired.digest <<<"$body")" = "${V1#*@}" ]
	[ "$(jq -r '[.history[].message] | map(select(test("auto-revert"))) | length' <<<"$body")" -ge 1 ]
	api GET /metrics
	[[ "$body" == *'ramp_reverts_total{app="web"} 1'* ]]
	# the rollout's generation still holds: a stale request is refused
	deploy "$V2" 1
	[ "$code" = 409 ]
}

@test "rampd deploy: a version that turns sick is reported unhealthy with its probes" {
	app_config "$PORT"
	start_rampd
	deploy "$VSICK" 1
	wait_app .phase healthy
	wait_app .phase unhealthy 15
	api GET /v1/apps/web
	[ "$(jq -r .health.healthy <<<"$body")" = false ]
	[ "$(jq -r '.health.probes[-1].ok' <<<"$body")" = false ]
	[ "$(jq -r '.health.probes[-1].output' <<<"$body")" = "503 Service Unavailable" ]
	[ "$(jq -r '.health.probes | length' <<<"$body")" -le 10 ]
	[[ "$(jq -r .message <<<"$body")" == *"probes failed in a row"* ]]
}

@test "rampd deploy: an app that binds its own port (no handed sockets) is stopped, then started" {
	app_config "$PORT" '"handoff": false'
	start_rampd
	deploy "$V1" 1
	wait_app .phase healthy
	served_by "$PORT" v1
	deploy "$V2" 2
	wait_app .current.digest "${V2#*@}"
	wait_app .phase healthy
	served_by "$PORT" v2
	[ "$(app_pids "$T" | wc -l)" -eq 1 ]
}

@test "rampd deploy: a private network namespace still serves on handed sockets" {
	app_config "$PORT" '"network": "private"'
	start_rampd
	deploy "$V1" 1
	wait_app .phase healthy
	served_by "$PORT" v1
	pid=$(app_pids "$T" | head -1)
	[ "$(readlink "/proc/$pid/ns/net")" != "$(readlink /proc/self/ns/net)" ]
}

@test "rampd deploy: mirrors are tried first; a dead mirror falls back to the registry" {
	mreg=$(start_registry "$T/mirror")
	skopeo copy -q "docker://$REG/hello:v1" "docker://$mreg/hello:v1" --src-tls-verify=false --dest-tls-verify=false
	dead=127.0.0.1:$(free_port)
	# the image's registry is down: only the mirror has it
	write_config "\"registries\": {\"$dead\": {\"mirrors\": [\"$mreg\"]}}, \"apps\": {\"web\": {\"ports\": {\"8080\": \"127.0.0.1:$PORT\"}}}"
	start_rampd
	deploy "$dead/hello@${V1#*@}" 1
	wait_app .phase healthy
	served_by "$PORT" v1
	stop_registry "$T/mirror"
	# the mirror is down: the registry itself serves
	write_config "\"registries\": {\"$REG\": {\"mirrors\": [\"$dead\"]}}, \"apps\": {\"web\": {\"ports\": {\"8080\": \"127.0.0.1:$PORT\"}}}"
	kill -HUP "$RAMPD_PID"
	sleep 0.3
	deploy "$V2" 2
	wait_app .phase healthy
	served_by "$PORT" v2
	grep -q "mirror $dead" "$T/rampd.log"
}

@test "rampd deploy: a pull that cannot succeed is reported as failed; the old version keeps serving" {
	app_config "$PORT"
	start_rampd
	deploy "$V1" 1
	wait_app .phase healthy
	missing="$REG/hello@sha256:$(printf '0%.0s' $(seq 64))"
	deploy "$missing" 2
	wait_app .phase failed
	[[ "$(jq -r .message <<<"$body")" == *"retrying in"* ]]
	served_by "$PORT" v1
	# calling the deployment off keeps what runs
	api POST /v1/apps/web/revert '{"to":"previous","generation":2}'
	[ "$code" = 202 ]
	wait_app .phase healthy
	[ "$(jq -r .desired.digest <<<"$body")" = "${V1#*@}" ]
	# failing again and again (retry in 4 s, then 8 s) delays no other version
	deploy "$missing" 3
	for _ in $(seq 300); do
		api GET /v1/apps/web
		[[ "$(jq -r .message <<<"$body")" == *"retrying in 4 s" ]] && break
		sleep 0.05
	done
	[[ "$(jq -r .message <<<"$body")" == *"retrying in 4 s" ]]
	t0=$(date +%s%N)
	deploy "$V2" 4
	# its pull starts at once, not after the missing one's 4 s (the pull
	# itself may take longer than that on a loaded machine)
	for _ in $(seq 300); do
		grep -q "pulling ${V2#*@}" "$T/rampd.log" && break
		sleep 0.01
	done
	(($(date +%s%N) - t0 < 3000000000))
	wait_app .current.digest "${V2#*@}" 30
	served_by "$PORT" v2
}

@test "rampd deploy: an exec health check (Docker's Healthcheck) runs inside the container" {
	d=$T/busy
	mkdir -p "$d/tree/bin"
	cp "$RAMP_HELLO" "$d/tree/hello"
	cp /bin/busybox "$d/tree/bin/busybox"
	ln -s busybox "$d/tree/bin/sh"
	ln -s busybox "$d/tree/bin/test"
	for h in 'test -e /hello' 'test -e /nothing'; do
		n=$([ "$h" = 'test -e /hello' ] && echo good || echo bad)
		"$RAMP_BIN" -q build "$d/tree" -o "$d/$n.tar" --entrypoint /hello --port 8080 --env HELLO_VERSION=$n \
			--health-cmd "$h" --health-interval 200ms --health-retries 2 >/dev/null
		skopeo copy -q "oci-archive:$d/$n.tar" "docker://$REG/busy:$n" --dest-tls-verify=false
	done
	good="$REG/busy@$(skopeo inspect --tls-verify=false "docker://$REG/busy:good" | jq -r .Digest)"
	bad="$REG/busy@$(skopeo inspect --tls-verify=false "docker://$REG/busy:bad" | jq -r .Digest)"
	app_config "$PORT"
	start_rampd
	deploy "$good" 1
	wait_app .phase healthy
	api GET /v1/apps/web
	[ "$(jq -r '.health.probes[-1].output' <<<"$body")" = "exit 0" ]
	deploy "$bad" 2
	wait_app .phase unhealthy 15
	api GET /v1/apps/web
	[ "$(jq -r '.health.probes[-1].output' <<<"$body")" = "exit 1" ]
}

@test "rampd deploy: health timeout and start period: slow probes fail, failures in the start period do not count" {
	d=$T/slow
	mkdir -p "$d/tree/bin"
	cp "$RAMP_HELLO" "$d/tree/hello"
	cp /bin/busybox "$d/tree/bin/busybox"
	ln -s busybox "$d/tree/bin/sh"
	ln -s busybox "$d/tree/bin/sleep"
	"$RAMP_BIN" -q build "$d/tree" -o "$d/slow.tar" --entrypoint /hello --port 8080 --env HELLO_VERSION=slow \
		--health-cmd 'sleep 3' --health-timeout 300ms --health-interval 200ms --health-retries 1 \
		--health-start-period 2500ms >/dev/null
	skopeo copy -q "oci-archive:$d/slow.tar" "docker://$REG/slow:1" --dest-tls-verify=false
	slow="$REG/slow@$(skopeo inspect --tls-verify=false "docker://$REG/slow:1" | jq -r .Digest)"
	app_config "$PORT"
	start_rampd
	deploy "$slow" 1
	wait_app '.health.probes | length > 0' true
	# within the start period: failed probes, each cut at the timeout, and still "starting"
	api GET /v1/apps/web
	[ "$(jq -r .phase <<<"$body")" = starting ]
	[ "$(jq -r '.health.probes[0].ok' <<<"$body")" = false ]
	[ "$(jq -r '.health.probes[0].ms < 1500' <<<"$body")" = true ]
	# after it: one failure (retries 1) makes the app unhealthy
	wait_app .phase unhealthy 15
	served_by "$PORT" slow
}

@test "rampd deploy: DELETE stops the app, closes its port and forgets it" {
	app_config "$PORT"
	start_rampd
	deploy "$V1" 3
	wait_app .phase healthy
	api DELETE /v1/apps/web '{"generation":2}'
	[ "$code" = 409 ]
	api DELETE /v1/apps/web '{"generation":3}'
	[ "$code" = 200 ]
	for _ in $(seq 100); do [ -z "$(app_pids "$T")" ] && [ ! -e "$T/state/apps/web" ] && break; sleep 0.05; done
	[ -z "$(app_pids "$T")" ]
	[ ! -e "$T/state/apps/web" ]
	run curl -s -m 2 "http://127.0.0.1:$PORT/"
	[ "$status" -ne 0 ]
	api GET /v1/apps/web
	[ "$code" = 404 ]
	# and it can come back, with any generation
	deploy "$V1" 1
	wait_app .phase healthy
	served_by "$PORT" v1
}

@test "rampd deploy: status, health and metrics are answered at once while a pull runs" {
	# the registry's mirror is a slow link that holds the pull after its first
	# 64 KiB (the proxy stops itself): the pull runs until the test lets it go,
	# so no load can end it before the rounds are done
	proxy=$(slow_proxy "$REG" 65536 65536)
	write_config "\"registries\": {\"$REG\": {\"mirrors\": [\"$proxy\"]}}, \"apps\": {\"web\": {\"ports\": {\"8080\": \"127.0.0.1:$PORT\"}}}"
	start_rampd
	deploy "$V1" 1
	[ "$code" = 202 ]
	proxy_held
	# every answer comes while the pull is held: one that waited for the pull
	# would never come (curl gives up after a generous 5 s, the stall timeout
	# is 30 s); how fast they come is measured by tests/bench/rampd.sh
	n=0
	: >"$T/times"
	for _ in $(seq 10); do
		for p in /v1/apps/web /healthz /metrics /v1/apps; do
			curl -sf -m 5 -o "$T/resp" -w '%{time_total}\n' --unix-socket "$T/rampd.sock" "http://rampd$p" >>"$T/times"
		done
		[ "$(jq -r .apps[0].phase "$T/resp")" = pulling ] || break
		n=$((n + 1))
	done
	echo "rounds while pulling: $n, $(wc -l <"$T/times") requests, slowest $(sort -n "$T/times" | tail -1) s"
	[ "$n" = 10 ]
	# the mirror goes away mid-download: the registry itself finishes the pull
	stop_registry "$T/proxy"
	wait_app .phase healthy 30
	served_by "$PORT" v1
	api GET /metrics
	[[ "$body" =~ ramp_pull_seconds_total\ [0-9.]*[1-9] ]]
	[[ "$body" =~ ramp_probe_seconds\{app=\"web\"\}\ 0\.[0-9]*[1-9] ]]
}

@test "rampd deploy: a deployment called off during its pull stays off when the pull ends" {
	app_config "$PORT"
	start_rampd
	deploy "$V1" 1
	wait_app .phase healthy
	# from now on the registry is reached through a slow mirror that holds
	# the pull before its first answer (the proxy stops itself) until the
	# deployment has been called off: the pull cannot end before, whatever the load
	proxy=$(slow_proxy "$REG" 65536 0)
	write_config "\"registries\": {\"$REG\": {\"mirrors\": [\"$proxy\"]}}, \"apps\": {\"web\": {\"ports\": {\"8080\": \"127.0.0.1:$PORT\"}}}"
	kill -HUP "$RAMPD_PID"
	for _ in $(seq 100); do grep -q 'reloaded' "$T/rampd.log" && break; sleep 0.05; done
	deploy "$V2" 2
	proxy_held
	wait_app .phase pulling
	deploy "$V1" 3 # back to what runs: called off
	wait_app .phase healthy
	# the pull goes on and ends (a pull no longer wanted may also end
	# quietly): v2 lands in the store only
	kill -CONT "$(cat "$T/proxy/pid")"
	for _ in $(seq 600); do grep -q "${V2#*@} in the store" "$T/rampd.log" && break; sleep 0.05; done
	sleep 0.3 # a wrong switch to v2 would start now
	api GET /v1/apps/web
	[ "$(jq -r .phase <<<"$body")" = healthy ]
	[ "$(jq -r '.history | map(.phase) | join(" ")' <<<"$body" | grep -o 'unpacking' | wc -l)" = 1 ] # v1's own
	served_by "$PORT" v1
}

@test "rampd deploy: SIGHUP reloads app settings, the next start uses them" {
	app_config "$PORT"
	start_rampd
	deploy "$V1" 1
	wait_app .phase healthy
	served_by "$PORT" v1
	app_config "$PORT" '"env": {"HELLO_VERSION": "from-config"}, "nofile": 4321'
	kill -HUP "$RAMPD_PID"
	for _ in $(seq 100); do grep -q 'reloaded' "$T/rampd.log" && break; sleep 0.05; done
	served_by "$PORT" v1 # what runs is not touched
	deploy "$V2" 2
	wait_app .current.digest "${V2#*@}"
	wait_app .phase healthy
	served_by "$PORT" from-config
	for _ in $(seq 100); do [ "$(app_pids "$T" | wc -l)" -eq 1 ] && break; sleep 0.05; done
	grep -q '^Max open files *4321 *4321' "/proc/$(app_pids "$T")/limits"
}

@test "ramp host: deploy, revert, status, logs and rm of a real app, locally and with --host and --token-file" {
	tport=$(free_port)
	printf 'host-test-token-0123456789\n' >"$T/token"
	chmod 600 "$T/token"
	write_config "\"listen\": [\"127.0.0.1:$tport\"], \"token_file\": \"$T/token\", \"apps\": {\"web\": {\"ports\": {\"8080\": \"127.0.0.1:$PORT\"}}}"
	start_rampd
	h() { "$RAMP_BIN" host --socket "$T/rampd.sock" "$@"; }
	r() { "$RAMP_BIN" host --host "http://127.0.0.1:$tport" --token-file "$T/token" "$@"; }
	run h deploy web "$V1" --rollout r1 --wait --timeout 30s
	echo "$output"
	[ "$status" -eq 0 ]
	served_by "$PORT" v1
	run r deploy web "$V2" --rollout r2 --wait --timeout 30s
	echo "$output"
	[ "$status" -eq 0 ]
	served_by "$PORT" v2
	run r status web
	echo "$output"
	[[ "$output" == *"current      $V2 "* ]]
	[[ "$output" == *"healthy      yes"* ]]
	[[ "$output" == *"rollout r2"* ]]
	run h revert web --wait --timeout 30s
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == "web: reverting to ${V1#*@} (generation 3)"* ]]
	served_by "$PORT" v1
	run r revert web --to "${V2#*@}" --wait --timeout 30s
	[ "$status" -eq 0 ]
	served_by "$PORT" v2
	run r revert web --to "sha256:$(printf '0%.0s' $(seq 64))"
	[ "$status" -eq 1 ]
	[[ "$output" == *nothing_to_revert* ]]
	run r logs web --tail 500
	[ "$status" -eq 0 ]
	[[ "$output" == *"hello v1: serving on 1 socket"* ]]
	[[ "$output" == *"hello v2: serving on 1 socket"* ]]
	run h logs web --tail 1
	[ "${#lines[@]}" -eq 1 ]
	run h status
	[[ "${lines[1]}" == web*healthy*sha256:* ]]
	run r rm web
	[ "$status" -eq 0 ]
	[ "$output" = "web: deleted" ]
	for _ in $(seq 100); do [ -z "$(app_pids "$T")" ] && break; sleep 0.05; done
	[ -z "$(app_pids "$T")" ]
	run h status web
	[ "$status" -eq 1 ]
	[[ "$output" == *not_found* ]]
}
