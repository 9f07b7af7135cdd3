#!/usr/bin/env bash
# tests/bench/scrape.sh: what scraping the apps' metrics costs rampd in
# memory (issue 16). One rampd, three apps of the demo app serving 1024 extra
# counters (HELLO_METRICS_SERIES), kept up to max_series 64, 256 and 1024,
# SAMPLES samples each (default 360, scraped every 100 ms). rampd's VmRSS is
# read with the apps running and nothing watched, then after each app's
# window has filled: the growth against the bound docs/API.md states
# (series x samples x 8 bytes, plus the times) and the ratio to the RSS
# without scraping. Then issue 16's cost as it states it: two more rampd,
# each with three apps of the plain demo app at the default metrics settings
# (every 5 s, 64 series, 720 samples); one gets the watch of `ramp rollout
# --analysis default` on each app, the other none; both idle IDLE seconds
# (default 60) after a few requests to each app; their VmRSS against the
# 8 MB target. Prints a markdown section.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
ramp=${RAMP_BIN:?} rampd=${RAMPD_BIN:?} hello=${RAMP_HELLO:?}
SAMPLES=${SAMPLES:-360}
SERIES=(64 256 1024)
IDLE=${IDLE:-60}
for t in docker-registry skopeo jq curl; do
	command -v "$t" >/dev/null || { echo "scrape bench: $t is missing (make deps)" >&2; exit 1; }
done

w=$(mktemp -d /var/tmp/ramp-bench-scrape-XXXXXX)
load0=$(cut -d' ' -f1 /proc/loadavg)
pids=()
cleanup() {
	local f
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for f in "$w"/*rampd.pid; do
		if [ -f "$f" ] && kill -TERM "$(cat "$f")" 2>/dev/null; then
			for _ in $(seq 100); do kill -0 "$(cat "$f")" 2>/dev/null || break; sleep 0.1; done
		fi
	done
	rm -rf "$w"
}
trap cleanup EXIT

start_registry "$w/reg"
pids+=("$REG_PID")
mkdir -p "$w/app"
cp "$hello" "$w/app/hello"
"$ramp" -q build "$w/app" -o "$w/app.tar" --entrypoint /hello --port 8080 --health-http 8080/health \
	--metrics-http 8080/metrics --env HELLO_METRICS_SERIES=1024 >/dev/null
skopeo copy -q "oci-archive:$w/app.tar" "docker://$REG/hello:m" --dest-tls-verify=false
img=$REG/hello@$(skopeo inspect --tls-verify=false "docker://$REG/hello:m" | jq -r .Digest)

apps=""
for n in "${SERIES[@]}"; do
	apps+="${apps:+, }\"s$n\": {\"ports\": {\"8080\": \"127.0.0.1:$(free_port)\"},
	  \"metrics\": {\"interval\": \"100ms\", \"max_series\": $n, \"max_samples\": $SAMPLES}}"
done
cat >"$w/rampd.json" <<JSON
{"state_dir": "$w/state", "socket": "$w/rampd.sock", "log_level": "notice",
 "defaults": {"stop_grace": "5s"}, "apps": {$apps}}
JSON
"$rampd" --config "$w/rampd.json" 2>"$w/rampd.log" &
echo $! >"$w/rampd.pid"
rpid=$(cat "$w/rampd.pid")
for _ in $(seq 100); do [ -S "$w/rampd.sock" ] && break; sleep 0.05; done
api() { curl -sf --unix-socket "$w/rampd.sock" -X "$1" "http://rampd$2" ${3:+-d "$3"}; }
for n in "${SERIES[@]}"; do
	"$ramp" -q host --socket "$w/rampd.sock" deploy "s$n" "$img" --wait >/dev/null
done
rss_kb() { awk '/VmRSS/{print $2}' "/proc/$rpid/status"; }
sleep 2
base=$(rss_kb)

rows="" bound=0
future=99999999999999
for n in "${SERIES[@]}"; do
	api PUT "/v1/apps/s$n/metrics/watch" '{"series": [{"name": "hello_extra_total"}]}' >/dev/null
	t0=$(date +%s)
	# asked with a since= in the future: the counts, not the values (a whole window is a
	# document of megabytes, whose buffers would be counted too; the last row shows them)
	until [ "$(api GET "/v1/apps/s$n/metrics?since=$future" | jq '.versions[0] | .scrapes - .failures')" -ge "$SAMPLES" ]; do
		[ $(($(date +%s) - t0)) -lt $((SAMPLES / 2 + 120)) ] || { echo "scrape bench: s$n's window never filled" >&2; exit 1; }
		sleep 1
	done
	doc=$(api GET "/v1/apps/s$n/metrics?since=$future")
	kept=$(jq '.versions[0].series | length' <<<"$doc")
	dropped=$(jq '.versions[0].droppedSeries' <<<"$doc")
	[ "$kept" = "$n" ] || { echo "scrape bench: s$n keeps $kept series" >&2; exit 1; }
	rss=$(rss_kb)
	bound=$((bound + (n + 1) * SAMPLES * 8 / 1024))
	rows+="| + app s$n: $n series kept ($dropped more dropped) × $SAMPLES samples | $(awk -v k="$rss" 'BEGIN{printf "%.1f", k/1024}') | $(awk -v a="$rss" -v b="$base" 'BEGIN{printf "%.1f", (a-b)/1024}') | $(awk -v k="$bound" 'BEGIN{printf "%.1f", k/1024}') | $(ratio "$rss" "$base") |
"
done
# the API's cost: each app's whole window asked for once
for n in "${SERIES[@]}"; do api GET "/v1/apps/s$n/metrics" | wc -c; done >"$w/doc.sizes"
rss=$(rss_kb)
rows+="| + each app's whole window read once through the API ($(awk '{t += $1} END{printf "%.1f", t/1048576}' "$w/doc.sizes") MB of JSON) | $(awk -v k="$rss" 'BEGIN{printf "%.1f", k/1024}') | $(awk -v a="$rss" -v b="$base" 'BEGIN{printf "%.1f", (a-b)/1024}') | | $(ratio "$rss" "$base") |
"

# --- issue 16's cost: three apps at the defaults, the default analysis's watch, idle ---
mkdir -p "$w/plain"
cp "$hello" "$w/plain/hello"
"$ramp" -q build "$w/plain" -o "$w/plain.tar" --entrypoint /hello --port 8080 --health-http 8080/health \
	--metrics-http 8080/metrics >/dev/null
skopeo copy -q "oci-archive:$w/plain.tar" "docker://$REG/hello:plain" --dest-tls-verify=false
plain=$REG/hello@$(skopeo inspect --tls-verify=false "docker://$REG/hello:plain" | jq -r .Digest)
# what `ramp rollout --analysis default` sets (orchestrator/hostmetrics.c, orch_body_watch)
watch='{"series":[{"name":"http_requests_total"},{"name":"http_request_duration_seconds"}]}'
declare -A dpid
for d in idle watched; do
	mkdir -p "$w/$d"
	apps=""
	for a in a b c; do
		p=$(free_port)
		echo "$p" >"$w/$d/$a.port"
		apps+="${apps:+, }\"$a\": {\"ports\": {\"8080\": \"127.0.0.1:$p\"}}"
	done
	printf '{"state_dir": "%s/state", "socket": "%s/rampd.sock", "log_level": "notice", "defaults": {"stop_grace": "5s"}, "apps": {%s}}\n' \
		"$w/$d" "$w/$d" "$apps" >"$w/$d/rampd.json"
	"$rampd" --config "$w/$d/rampd.json" 2>"$w/$d/rampd.log" &
	echo $! >"$w/$d-rampd.pid"
	dpid[$d]=$!
	for _ in $(seq 100); do [ -S "$w/$d/rampd.sock" ] && break; sleep 0.05; done
	for a in a b c; do
		"$ramp" -q host --socket "$w/$d/rampd.sock" deploy "$a" "$plain" --wait >/dev/null
		# some traffic, so that the counted series exist (/health and /metrics are not counted)
		for _ in $(seq 20); do curl -sf -o /dev/null "http://127.0.0.1:$(cat "$w/$d/$a.port")/"; done
	done
done
for a in a b c; do
	curl -sf --unix-socket "$w/watched/rampd.sock" -X PUT "http://rampd/v1/apps/$a/metrics/watch" -d "$watch" >/dev/null
done
sleep "$IDLE"
drss() { awk '/VmRSS/{print $2}' "/proc/${dpid[$1]}/status"; }
rss_idle=$(drss idle) rss_watched=$(drss watched)
doc=$(curl -sf --unix-socket "$w/watched/rampd.sock" "http://rampd/v1/apps/a/metrics?since=$future")
d_series=$(jq '.versions[0].series | length' <<<"$doc")
d_scrapes=$(jq '.versions[0].scrapes' <<<"$doc")
d_failures=$(jq ".versions[0].failures" <<<"$doc")
d_interval=$(jq '.intervalMs' <<<"$doc")
d_samples=$(jq '.maxSamples' <<<"$doc")
[ "$d_series" -gt 0 ] && [ "$d_scrapes" -gt 1 ] || { echo "scrape bench: app a of the watched rampd has $d_series series, $d_scrapes scrapes" >&2; exit 1; }
mb() { awk -v k="$1" 'BEGIN{printf "%.1f", k/1024}'; }
# a full window (maxSamples) of these series, per app: (series + the times) x samples x 8 bytes
full_kb=$((3 * (d_series + 1) * d_samples * 8 / 1024))
d_met=$(awk -v k="$rss_watched" 'BEGIN{if (k <= 8192) printf "met: %.1f MB, %.1f MB under the 8 MB", k/1024, 8 - k/1024; else printf "NOT met: %.1f MB, %.1f MB over the 8 MB", k/1024, k/1024 - 8}')

cat <<EOF
## rampd scraping the apps' metrics: memory (issue 16)

Command: \`make bench\` (tests/bench/scrape.sh; \`SAMPLES=N\` changes the window). One rampd with
three apps (the demo app serving 1024 extra counters, \`HELLO_METRICS_SERIES=1024\`), kept up to
\`max_series\` 64, 256 and 1024 with \`max_samples\` $SAMPLES, scraped every 100 ms; each app's watch
is set once the one before has filled its window, so each row adds one app's full window. The
peer is rampd itself with the same apps and nothing watched (nothing scraped).

| rampd | VmRSS, MB | growth over nothing watched, MB | values and times kept so far (series × samples × 8 bytes), MB | ratio to nothing watched |
| --- | ---: | ---: | ---: | ---: |
| three apps, nothing watched | $(awk -v k="$base" 'BEGIN{printf "%.1f", k/1024}') | | | 1.00 |
$rows
The growth includes the series' names and labels, the page parser's line buffer, the scraper's
thread stack and what the allocator keeps after parsing. The windows are read with a \`since=\` in
the future (counts, no values) until the last row, which reads each whole once; reading every
whole window once a second while they filled (a first version of this script) ended 5 MB
higher, the allocator keeping the answers' buffers: a client should ask with \`since=\` (only
what is new). The bound in docs/API.md
("Metrics of an app") is per app 2 versions × (samples × 8 bytes + series × (samples × 8 bytes
+ names)), here for one version each.

Issue 16's cost, "rampd scraping three apps every 5 s stays within 8 MB idle RSS", measured as stated,
$(date -u +%Y-%m-%d): two more rampd, each with three apps (a, b, c) of the plain demo app (no extra
counters) at the default metrics settings (every ${d_interval} ms, \`max_series\` 64, \`max_samples\` $d_samples);
20 requests to each app, then one rampd gets on each app the watch \`ramp rollout --analysis default\`
sets (\`http_requests_total\`, \`http_request_duration_seconds\`: $d_series series of the demo app),
the other none; both then idle ${IDLE} s (\`IDLE=N\`).

| rampd, three apps | VmRSS, MB | ratio | target |
| --- | ---: | ---: | --- |
| no watch | $(mb "$rss_idle") | 1.00 | |
| the default analysis's watch, $d_series series per app, $d_scrapes scrapes so far ($d_failures failed) | $(mb "$rss_watched") | $(ratio "$rss_watched" "$rss_idle") | <= 8 MB |

Reading: $d_met after ${IDLE} s. A full window (an hour at 5 s) adds at most
$(mb "$full_kb") MB of values and times for the three apps ((series + 1) × $d_samples × 8 bytes each), not reached in this run.
Load average (1 min) at the start and at the end of the run: $load0, $(cut -d' ' -f1 /proc/loadavg)
(2 cores).
EOF
