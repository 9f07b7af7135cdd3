#!/usr/bin/env bats
bats_require_minimum_version 1.5.0
# rollout_prometheus.bats: `ramp rollout --metrics-source prometheus=URL`:
# the canary analysis reads its series from a real Prometheus (Debian's)
# scraping the demo app of 4 real rampd hosts every second, under curl
# traffic to every host, through range queries templated per host (the
# fleet's label app=ADDR:PORT is the scrape target, Prometheus' instance).
# A release that stays healthy but fails 5% of its requests is reverted in
# wave 1 or 2; a good one passes every wave (the last against the final
# wave's hosts before it, from Prometheus); a Prometheus that does not answer
# leaves every host out, named, and never passes a wave.

REAL_HOSTS=4
load rollout_real_helpers

setup_file() {
	real_setup_file
	export V1 V2 VBAD PROM
	# Prometheus first: teardown_file stops it whatever fails after
	local port i a targets=
	port=$(free_port)
	mkdir -p "$R/prom"
	for a in $APP_PORTS; do targets="$targets${targets:+, }'$a'"; done
	cat >"$R/prom/prometheus.yml" <<YML
global: {scrape_interval: 1s, scrape_timeout: 900ms}
scrape_configs:
  - job_name: web
    static_configs: [{targets: [$targets]}]
YML
	prometheus --config.file="$R/prom/prometheus.yml" --storage.tsdb.path="$R/prom/data" \
		--web.listen-address="127.0.0.1:$port" >"$R/prom/log" 2>&1 </dev/null 3>&- &
	echo $! >"$R/prom/pid"
	PROM=http://127.0.0.1:$port
	for i in $(seq 200); do curl -sf "$PROM/-/ready" >/dev/null && break; sleep 0.1; done
	curl -sf "$PROM/-/ready" >/dev/null || { cat "$R/prom/log" >&2; return 1; }
	local m=(--env HELLO_ERROR_RATE=0.005)
	V1=$(real_image p1 p1 --tested "${m[@]}")
	V2=$(real_image p2 p2 --tested "${m[@]}")
	VBAD=$(real_image pbad pbad --tested --env HELLO_ERROR_RATE=0.05)
	rollout_real --image "$V1" --bake 0 >/dev/null
	real_traffic_start
	# every app scraped (up == 1) before the first rollout
	for i in $(seq 100); do
		[ "$(curl -s "$PROM/api/v1/query?query=sum(up)" | jq -r '.data.result[0].value[1]')" = 4 ] && break
		sleep 0.2
	done
	# the analysis of images/hello, read from Prometheus by the app label
	jq '. + {query: "{{series}}{instance=\"{{label:app}}\"}"}' "$BATS_TEST_DIRNAME/../../images/hello/analysis.json" \
		>"$R/analysis.json"
}

teardown_file() {
	local p
	p=$(cat "$R/prom/pid" 2>/dev/null) && kill -TERM "$p" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$p" 2>/dev/null || true
	real_traffic_stop
	real_teardown_file
}

canary() {
	rollout_real --analysis "$R/analysis.json" --metrics-source "prometheus=$PROM" --bake 1s --bake-max 60s \
		--on-inconclusive fail "$@"
}

@test "prometheus: 5% of requests failing, every health check green: caught in wave 1 or 2, reverted" {
	run --separate-stderr canary --image "$VBAD"
	[ "$status" -eq 1 ] || { echo "$output $stderr"; false; }
	[ "$(events start | jq -r .options.metricsSource)" = "$PROM" ]
	a=$(events analysis | tail -1)
	[ "$(jq -r .verdict <<<"$a")" = fail ] || { echo "$a"; false; }
	[ "$(jq -r .wave <<<"$a")" -le 2 ]
	[ "$(jq -r '.metrics[] | select(.name == "errors") | .verdict' <<<"$a")" = fail ]
	[ "$(jq -r '.metrics[] | select(.name == "errors") | .converted > .baseline' <<<"$a")" = true ]
	[ "$(jq -r '.excluded | length' <<<"$a")" = 0 ] || { echo "$a"; false; }
	[[ "$(events failure | jq -r .reason)" == "canary analysis: errors: "* ]]
	[ "$(events end | jq -r .result)" = rolled_back ]
	fleet_on "$V1" p1
}

@test "prometheus: a release as good as the old one passes every wave" {
	run --separate-stderr canary --image "$V2"
	[ "$status" -eq 0 ] || { echo "$output $stderr"; false; }
	[ "$(events analysis | jq -r .verdict | tr '\n' ' ')" = "pass pass pass " ]
	[ "$(events analysis | jq -r .baseline | tail -1)" = historical ]
	[ "$(events analysis | jq -r '.excluded | length' | sort -u)" = 0 ]
	# the latency histogram was read too (buckets, then the count)
	[ "$(events analysis | jq -r '.metrics[] | select(.name == "latency") | .verdict' | sort -u)" = pass ]
	fleet_on "$V2" p2
}

@test "prometheus: a source that does not answer leaves every host out, named; the wave never passes" {
	local dead before
	dead=$(free_port)
	before=$(host_digests)
	run --separate-stderr rollout_real --analysis "$R/analysis.json" --metrics-source "prometheus=http://127.0.0.1:$dead" \
		--bake 1s --bake-max 6s --on-inconclusive fail --image "$V1"
	[ "$status" -eq 1 ] || { echo "$output $stderr"; false; }
	a=$(events analysis | tail -1)
	[ "$(jq -r .verdict <<<"$a")" = inconclusive ] || { echo "$a"; false; }
	[ "$(jq -r '.excluded | length' <<<"$a")" = 4 ] || { echo "$a"; false; }
	[[ "$(jq -r '.excluded[] | select(.host == "h1") | .reason' <<<"$a")" == "Prometheus could not answer for it: "*"connect"* ]]
	[[ "$stderr" == *"left out: h1 (converted): Prometheus could not answer"* ]]
	[ "$(host_digests)" = "$before" ] # the wave's host put back
}
