#!/usr/bin/env bats
bats_require_minimum_version 1.5.0
# rampd_metrics.bats: real rampd processes scraping the demo app
# (images/hello built with --metrics-http) for a rollout's canary analysis:
# the watch, real traffic read back through the API, counter resets across
# restarts of the app, a window per version, endpoints that fail, serve
# garbage or lie, and the limits.

load rampd_helpers

setup_file() {
	export REGDIR=$BATS_FILE_TMPDIR/registry
	export REG M1 M2 MLIE MBAD
	REG=$(start_registry "$REGDIR")
	M1=$(hello_image "$REG" m1 m1 --metrics-http 8080/metrics)
	M2=$(hello_image "$REG" m2 m2 --metrics-http 8080/metrics)
	MLIE=$(hello_image "$REG" lie lie --metrics-http 8080/metrics --env HELLO_METRICS=backwards)
	MBAD=$(hello_image "$REG" bad bad --metrics-http 8080/metrics --env HELLO_ERROR_RATE=0.5 --env HELLO_DELAY_MS=30)
}

teardown_file() { stop_registry "$REGDIR"; }

setup() { rampd_setup; }

teardown() { rampd_teardown; }

# rampd.json with app web on $PORT, scraped every 200 ms; $1: more of web's "metrics"
metrics_config() {
	app_config "$PORT" "\"metrics\": {\"interval\": \"200ms\", \"timeout\": \"1s\"${1:+, $1}}"
}

# watch APP [SELECTORS_JSON]: PUT the watch (default: requests and durations)
watch() {
	local sel='[{"name": "http_requests_total"}, {"name": "http_request_duration_seconds"}]'
	api PUT "/v1/apps/$1/metrics/watch" "{\"series\": ${2:-$sel}}"
}

# traffic N PATH: N requests to the app on $PORT, one connection
traffic() {
	local i
	for i in $(seq "$1"); do printf 'url = "http://127.0.0.1:%s%s"\noutput = /dev/null\n' "$PORT" "$2"; done |
		curl -s -K -
}

# the newest value of a series of the current version: latest NAME LABELS_JQ
latest() {
	jq -r --arg n "$1" "[.versions[] | select(.current) | .series[] | select(.name == \$n and ($2)) | .values[-1]] | .[0]" <<<"$body"
}

# wait_latest APP NAME LABELS_JQ VALUE: until the served value is VALUE
wait_latest() {
	local v
	for _ in $(seq 200); do
		api GET "/v1/apps/$1/metrics"
		v=$(latest "$2" "$3")
		[ "$v" = "$4" ] && return 0
		sleep 0.05
	done
	echo "$2 {$3} never reached $4 (last $v): $body" >&2
	return 1
}

@test "rampd metrics: a watch, real requests, the cumulative values served back; since; refused queries" {
	metrics_config
	start_rampd
	deploy "$M1" 1
	wait_app .phase healthy
	watch web
	[ "$code" = 200 ] || { echo "$body"; false; }
	[ "$(jq -r '.watch | map(.name) | join(",")' <<<"$body")" = http_requests_total,http_request_duration_seconds ]
	[ "$(jq -r '.endpoint.port + " " + .endpoint.path' <<<"$body")" = "8080/tcp /metrics" ]
	[ "$(jq -r .endpoint.address <<<"$body")" = "127.0.0.1:$PORT" ]
	[[ "$(jq -r .rampd.bootId <<<"$body")" =~ ^[0-9a-f]{32}$ ]]
	[ "$(jq -r '.intervalMs, .maxSeries, .maxSamples' <<<"$body" | paste -sd' ')" = "200 64 720" ]
	boot=$(jq -r .rampd.bootId <<<"$body")

	traffic 30 /
	traffic 4 /nothing-here
	wait_latest web http_requests_total '.labels.code == "200"' 30
	wait_latest web http_requests_total '.labels.code == "404"' 4
	[ "$(latest http_requests_total '.labels.code == "500"')" = 0 ]
	# the histogram by its base name: 12 buckets, _sum and _count
	[ "$(latest http_request_duration_seconds_count '.labels.method == "get"')" = 34 ]
	[ "$(latest http_request_duration_seconds_bucket '.labels.le == "+Inf"')" = 34 ]
	[ "$(jq '[.versions[0].series[] | select(.family == "http_request_duration_seconds")] | length' <<<"$body")" = 14 ]
	v=$(jq -c '.versions[0]' <<<"$body")
	[ "$(jq -r '.digest, .current, .failures, .untrusted, .droppedSeries' <<<"$v" | paste -sd' ')" = "${M1#*@} true 0 null 0" ]
	# times increase, one value per time, counters never go down
	[ "$(jq '.times | . == (sort | unique)' <<<"$v")" = true ]
	[ "$(jq '(.times | length) as $n | [.series[].values | length] | unique == [$n]' <<<"$v")" = true ]
	[ "$(jq '[.series[] | select(.cumulative) | .values | map(select(. != null)) | . == sort] | all' <<<"$v")" = true ]
	[ "$(jq '.scrapes >= (.times | length) and (.times | length) >= 2' <<<"$v")" = true ]

	# since: only what was scraped after it, as unix ms or RFC 3339
	last=$(jq '.times[-1]' <<<"$v")
	api GET "/v1/apps/web/metrics?since=$last"
	[ "$code" = 200 ]
	[ "$(jq --argjson t "$last" '[.versions[0].times[] | select(. <= $t)] | length' <<<"$body")" = 0 ]
	api GET "/v1/apps/web/metrics?since=$(date -u -d "@$((last / 1000 + 3600))" +%Y-%m-%dT%H:%M:%SZ)"
	[ "$(jq '.versions[0].times | length' <<<"$body")" = 0 ]
	[ "$(jq '.versions[0].series | length' <<<"$body")" = 17 ]
	[ "$(jq -r .rampd.bootId <<<"$body")" = "$boot" ]
	api GET "/v1/apps/web/metrics?since=yesterday"
	[ "$code" = 400 ] && [[ "$body" == *"since=yesterday: expected an RFC 3339 time"* ]]
	api GET "/v1/apps/web/metrics?since=1&since=2"
	[ "$code" = 400 ] && [[ "$body" == *"since= given 2 times"* ]]
	api GET "/v1/apps/web/metrics?tail=5"
	[ "$code" = 400 ] && [[ "$body" == *'unknown query parameter \"tail\"'* ]]
	api POST /v1/apps/web/metrics
	[ "$code" = 405 ]
	api GET /v1/apps/nope/metrics
	[ "$code" = 404 ]

	# the page itself is what Prometheus' own tool accepts
	curl -s "http://127.0.0.1:$PORT/metrics" | promtool check metrics
}

@test "rampd metrics: a restart of the app keeps counters monotonic; a switch opens a window per version and keeps the old one" {
	metrics_config
	start_rampd
	deploy "$M1" 1
	wait_app .phase healthy
	watch web
	traffic 20 /
	wait_latest web http_requests_total '.labels.code == "200"' 20
	# the app dies (its counters with it); rampd restarts it
	pid=$(app_pids "$T")
	kill -KILL "$pid"
	wait_app .restarts 1
	wait_app .phase healthy
	traffic 5 /
	wait_latest web http_requests_total '.labels.code == "200"' 25
	v=$(jq -c '.versions[0]' <<<"$body")
	[ "$(jq -r '.restarts, .untrusted' <<<"$v" | paste -sd' ')" = "1 null" ] || { echo "$v"; false; }
	[ "$(jq '.series[] | select(.name == "http_requests_total" and .labels.code == "200") | .resets' <<<"$v")" = 1 ]
	[ "$(jq '[.series[] | select(.cumulative) | .values | map(select(. != null)) | . == sort] | all' <<<"$v")" = true ]
	# the app itself now says 5: rampd serves what it counted since the window began
	[[ "$(curl -s "http://127.0.0.1:$PORT/metrics")" == *'http_requests_total{code="200",method="get"} 5'* ]]

	# v2: a window of its own; v1's stays with its samples from before the switch
	deploy "$M2" 2
	wait_app .current.digest "${M2#*@}"
	wait_app .phase healthy
	traffic 7 /
	wait_latest web http_requests_total '.labels.code == "200"' 7
	[ "$(jq -r '[.versions[] | "\(.digest) \(.current)"] | join(",")' <<<"$body")" = "${M2#*@} true,${M1#*@} false" ]
	[ "$(jq '.versions[1].series[] | select(.name == "http_requests_total" and .labels.code == "200") | .values[-1]' <<<"$body")" = 25 ]
	[ "$(jq '.versions[1].times[-1] < .versions[0].times[0]' <<<"$body")" = true ]
	# back to v1: its window goes on, counting from where it was
	api POST /v1/apps/web/revert '{"to": "previous", "generation": 3}'
	wait_app .current.digest "${M1#*@}"
	wait_app .phase healthy
	traffic 3 /
	wait_latest web http_requests_total '.labels.code == "200"' 28
	[ "$(jq -r '[.versions[] | .digest] | join(",")' <<<"$body")" = "${M1#*@},${M2#*@}" ]
	[ "$(jq -r '.versions[0].untrusted' <<<"$body")" = null ]
}

@test "rampd metrics: an endpoint that fails, serves garbage or lies is reported, never turned into numbers" {
	p2=$(free_port) p3=$(free_port)
	write_config "\"apps\": {
	  \"web\": {\"ports\": {\"8080\": \"127.0.0.1:$PORT\"}, \"metrics\": {\"interval\": \"200ms\", \"http\": \"8080/nothing\"}},
	  \"garb\": {\"ports\": {\"8080\": \"127.0.0.1:$p2\"}, \"metrics\": {\"interval\": \"200ms\", \"http\": \"8080/version\"}},
	  \"liar\": {\"ports\": {\"8080\": \"127.0.0.1:$p3\"}, \"metrics\": {\"interval\": \"200ms\"}}}"
	start_rampd
	for app in web garb; do
		api PUT "/v1/apps/$app" "{\"image\": \"$M1\", \"generation\": 1}"
	done
	api PUT /v1/apps/liar "{\"image\": \"$MLIE\", \"generation\": 1}"
	for app in web garb liar; do
		for _ in $(seq 400); do
			api GET "/v1/apps/$app"
			[ "$(jq -r .phase <<<"$body")" = healthy ] && break
			sleep 0.05
		done
		watch "$app"
		[ "$code" = 200 ]
	done
	# 404: failures counted, with the answer; no sample
	for _ in $(seq 200); do
		api GET /v1/apps/web/metrics
		[ "$(jq '.versions[0].consecutiveFailures // 0' <<<"$body")" -ge 3 ] && break
		sleep 0.05
	done
	[ "$(jq -r '.versions[0].lastError' <<<"$body")" = "GET /nothing on 127.0.0.1:$PORT: 404 Not Found" ]
	[ "$(jq '.versions[0] | (.times | length), (.series | length), .failures == .scrapes' <<<"$body" | paste -sd' ')" = "0 0 true" ]
	# garbage ("m1", the version): refused with the line and why
	for _ in $(seq 200); do
		api GET /v1/apps/garb/metrics
		[ "$(jq '.versions[0].failures // 0' <<<"$body")" -ge 2 ] && break
		sleep 0.05
	done
	[ "$(jq -r '.versions[0].lastError' <<<"$body")" = "GET /version: line 1: m1: expected a blank and a value after the name" ]
	[ "$(jq '.versions[0].times | length' <<<"$body")" = 0 ]
	# a counter going down while the same container runs: kept monotonic, the version untrusted
	PORT=$p3 traffic 10 /
	for _ in $(seq 200); do
		api GET /v1/apps/liar/metrics
		[ "$(jq -r '.versions[0].untrusted.reason // empty' <<<"$body")" != "" ] && break
		sleep 0.05
	done
	# (the liar halves every cumulative series: whichever the scrape records first is named)
	reason=$(jq -r '.versions[0].untrusted.reason' <<<"$body")
	echo "untrusted: $reason"
	[[ "$reason" == 'http_request'*'{'*'method="get"} went down from '*' while the same container ran' ]]
	[ "$(jq '.versions[0].restarts' <<<"$body")" = 0 ]
	[ "$(jq '[.versions[0].series[] | select(.cumulative) | .values | map(select(. != null)) | . == sort] | all' <<<"$body")" = true ]
	# the other apps' scrapes went on meanwhile: a failing app disturbs no other
	api GET /v1/apps/web/metrics
	[ "$(jq '.versions[0].scrapes' <<<"$body")" -ge 5 ]
}

@test "rampd metrics: limits and bad watches refused with a clear 4xx; the series cap; DELETE; the token on TCP" {
	tcp=$(free_port)
	head -c 32 /dev/urandom | base64 | tr -d '\n=/+' >"$T/token"
	chmod 600 "$T/token" # token files others can read are refused
	metrics_config '"max_series": 4'
	sed -i "s|^{|{\"listen\": [\"127.0.0.1:$tcp\"], \"token_file\": \"$T/token\", |" "$T/rampd.json"
	start_rampd
	deploy "$M1" 1
	wait_app .phase healthy
	five=$(for i in 1 2 3 4 5; do printf '{"name": "m%d"}' "$i"; done | jq -sc .)
	watch web "$five"
	[ "$code" = 400 ]
	[ "$(jq -r .message <<<"$body")" = "watch: 5 series, more than the limit of 4 (max_series)" ]
	bad=('{}' '{"series": []}' '{"series": [{"name": "9x"}]}' '{"series": [{"name": "a", "labels": {"le": 1}}]}'
		'{"series": [{"name": "a", "labels": {"a-b": "1"}}]}' '{"series": [{"name": "a"}], "extra": 1}'
		'{"series": [{"name": "a"}, {"name": "a"}]}' '{"series": [{"name": "a", "label": {}}]}' 'not json'
		'{"series": [{"name": "a"}]} {}')
	for b in "${bad[@]}"; do
		api PUT /v1/apps/web/metrics/watch "$b"
		[ "$code" = 400 ] || { echo "accepted: $b"; false; }
		[ "$(jq -r .error <<<"$body")" = bad_request ]
	done
	api GET /v1/apps/web/metrics
	[ "$(jq -c .watch <<<"$body")" = '[]' ]
	api PUT /v1/apps/nope/metrics/watch '{"series": [{"name": "a"}]}'
	[ "$code" = 404 ]
	api POST /v1/apps/web/metrics/watch '{"series": [{"name": "a"}]}'
	[ "$code" = 405 ]
	# a selector matching 14 series, 4 kept: the rest counted, not kept
	watch web '[{"name": "http_request_duration_seconds", "labels": {"method": "get"}}]'
	[ "$code" = 200 ]
	for _ in $(seq 200); do
		api GET /v1/apps/web/metrics
		[ "$(jq '.versions[0].times | length' <<<"$body")" -ge 1 ] && break
		sleep 0.05
	done
	[ "$(jq '.versions[0] | (.series | length), .droppedSeries' <<<"$body" | paste -sd' ')" = "4 10" ]
	# over TCP, the token as for the rest of the API
	code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$tcp/v1/apps/web/metrics")
	[ "$code" = 401 ]
	code=$(curl -s -o "$T/tcp.json" -w '%{http_code}' -H "Authorization: Bearer $(cat "$T/token")" \
		"http://127.0.0.1:$tcp/v1/apps/web/metrics")
	[ "$code" = 200 ] && [ "$(jq -r .app "$T/tcp.json")" = web ]
	# DELETE: nothing watched, nothing kept, nothing scraped
	api DELETE /v1/apps/web/metrics/watch
	[ "$code" = 200 ] && [ "$(jq -r .unwatched <<<"$body")" = web ]
	api GET /v1/apps/web/metrics
	[ "$(jq -c '[.watch, .versions]' <<<"$body")" = '[[],[]]' ]
	sleep 0.5
	api GET /v1/apps/web/metrics
	[ "$(jq -c .versions <<<"$body")" = '[]' ]
}

@test "rampd metrics: a bad release variant (half the requests fail, 30 ms added) shows in what rampd serves" {
	metrics_config
	start_rampd
	deploy "$MBAD" 1
	wait_app .phase healthy
	watch web
	traffic 200 /
	wait_latest web http_request_duration_seconds_count '.labels.method == "get"' 200
	ok=$(latest http_requests_total '.labels.code == "200"')
	bad=$(latest http_requests_total '.labels.code == "500"')
	[ $((ok + bad)) = 200 ]
	# binomial(200, 0.5): outside 60..140 has a probability below 1e-8
	[ "$bad" -ge 60 ] && [ "$bad" -le 140 ] || { echo "500s: $bad of 200"; false; }
	# every request took at least the 30 ms added: none in the buckets up to 25 ms
	[ "$(latest http_request_duration_seconds_bucket '.labels.le == "0.025"')" = 0 ]
	[ "$(latest http_request_duration_seconds_bucket '.labels.le == "+Inf"')" = 200 ]
	# the health check and the self-test do not see the faults: the app stayed healthy
	api GET /v1/apps/web
	[ "$(jq -r .phase <<<"$body")" = healthy ]
}
