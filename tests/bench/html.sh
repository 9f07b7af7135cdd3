#!/usr/bin/env bash
# tests/bench/html.sh: the HTML report of a 10,000-host rollout (issue 19):
# its size, the time to draw it from the journal, and the time Chromium takes
# to open it (the page's own Navigation Timing: navigation start to the end of
# the load event, through chromedriver, tests/lib/browser.py), against the
# same browser opening a one-line page in the same run; and the size of the
# largest page with canary charts, as tests/unit/test_html prints it.
#
# Targets: the page under 5 MB, opened in under 2 s.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
ramp=${RAMP_BIN:?}
fake=${RAMP_HELPERS:?}/fakefleet
N=${BENCH_HOSTS:-10000}
ulimit -n "$(ulimit -Hn)"
load=$(cut -d' ' -f1 /proc/loadavg)
w=$(mktemp -d /var/tmp/ramp-bench-html-XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$w"
}
trap cleanup EXIT

V0=sha256:$(printf '0%.0s' {1..64})
V1=sha256:$(printf '1%.0s' {1..64})
IMG=127.0.0.1:5000/web
"$fake" --hosts "$N" --fleet-out "$w/fleet.txt" --ready "$w/ready" --app "web=$IMG@$V0" --start-ms 0 --revert-ms 0 \
	2>"$w/fake.log" &
pid=$!
for _ in $(seq 500); do [ -s "$w/ready" ] && break; sleep 0.02; done
[ -s "$w/ready" ] || { echo "bench: fakefleet did not start" >&2; exit 1; }

# the rollout, its page written live; then back without a page (the cost of --html)
rollout() {
	/usr/bin/time -o "$w/time" -f '%e %U %S' "$ramp" rollout --app web --fleet "$w/fleet.txt" --state-dir "$w/state" \
		--allow-untested --bake 0 --poll 20ms --max-parallel 256 "$@" >/dev/null 2>"$w/rollout.err" ||
		{ echo "bench: rollout failed" >&2; tail -5 "$w/rollout.err" >&2; exit 1; }
	awk '{printf "%s %.2f\n", $1, $2 + $3}' "$w/time"
}
read -r t_live c_live < <(rollout --image "$IMG@$V1" --html "$w/live.html")
journal=$(ls "$w"/state/rollouts/*.jsonl)
read -r t_plain c_plain < <(rollout --image "$IMG@$V0")
[ -n "$c_live" ] && [ -n "$c_plain" ] || exit 1
id=$(basename "$journal" .jsonl)
journal_kb=$(($(stat -c %s "$journal") / 1024))

# drawn again from the journal
read -r t_show _ < <(measure true "'$ramp' rollout show '$id' --state-dir '$w/state' --html '$w/show.html'")
size_kb=$(($(stat -c %s "$w/show.html") / 1024))

# the most canary charts a page can have, drawn by the unit test from a model
charts=$("${RAMP_UNIT:?}/test_html" 2>&1 >/dev/null |
	sed -n 's/^# 10,000 hosts, 14 waves x 16 metrics x 64 judgements: \([0-9]*\) bytes$/\1/p')
[ -n "$charts" ] || { echo "bench: test_html printed no page size" >&2; exit 1; }

# opened in Chromium, $reps times each, against a one-line page
printf '<!DOCTYPE html><title>peer</title><p>peer</p>\n' >"$w/peer.html"
cp "$w/peer.html" "$w/warm.html"
opens=() peers=()
for ((i = 0; i < reps; i++)); do
	# the first page of a session pays for the browser's warming up: a third page takes it
	python3 "$here/../lib/browser.py" "$w/warm.html" "$w/show.html" "$w/peer.html" >"$w/browser.json"
	[ "$(jq '[.[] | .console | length] | add' "$w/browser.json")" = 0 ] || { echo "bench: console messages" >&2; exit 1; }
	opens+=("$(jq '.["show.html"].loadMs' "$w/browser.json")")
	peers+=("$(jq '.["peer.html"].loadMs' "$w/browser.json")")
done
median() { sort -g | awk '{a[NR]=$1} END{printf "%.0f", a[int((NR+1)/2)]}'; }
t_open=$(printf '%s\n' "${opens[@]}" | median)
t_peer=$(printf '%s\n' "${peers[@]}" | median)
ratio=$(awk -v a="$t_open" -v b="$t_peer" 'BEGIN{printf "%.1f", a / (b > 0 ? b : 1)}')

cat <<MD
## HTML report of a rollout (issue 19)

A $N-host rollout on the simulated fleet (tests/helpers/fakefleet, bake 0, --max-parallel 256)
with \`--html\`: the page is rewritten after each event (per-host events batched, see
docs/ROLLOUT.md), then drawn again from the journal with \`ramp rollout show ID --html\`.
Opening time: Chromium $(chromium --version 2>/dev/null | awk '{print $2}') headless through chromedriver
(tests/lib/browser.py), the page's Navigation Timing from navigation start to the end of the
load event, median of $reps loads; the peer is the same browser opening a one-line page in the
same session, after a warm-up page. Load average when this started: $load. Command: \`make bench\` (tests/bench/html.sh).

| what | value | vs peer | target |
| --- | ---: | ---: | --- |
| page size, $N hosts (summarised per wave) | ${size_kb} KB | | < 5 MB |
| page size, 10000 hosts with the most canary charts (14 waves × 16 metrics × 64 judgements) | $((charts / 1024)) KB | | < 5 MB |
| the journal it is drawn from | ${journal_kb} KB | | |
| \`ramp rollout show ID --html\` | ${t_show} s | | |
| rollout with \`--html\` (wall, CPU of ramp) | ${t_live} s, ${c_live} s CPU | $(awk -v a="$c_live" -v b="$c_plain" 'BEGIN{printf "%.2f", a / b}') (CPU) | |
| peer: the same rollout without \`--html\` | ${t_plain} s, ${c_plain} s CPU | 1.00 | |
| Chromium opens the page | ${t_open} ms | ${ratio} | < 2 s |
| peer: Chromium opens a one-line page | ${t_peer} ms | 1.0 | |

The wall times follow the machine's load (the same rollout takes about 4 s on a quiet machine,
see the rollout section). The CPU \`--html\` adds is the redrawing: each redraw reads all
events so far (the 10,000-host start event alone is 1 MB), and the page is redrawn for per-host
events up to every 500 ms, so a rollout slowed down by load is redrawn more often. Chromium's first
page in a fresh session took about 1 s in an earlier run whatever the page (its own warming
up), hence the warm-up page before the timed ones. The page with the most charts is drawn from
a model by tests/unit/test_html.c (\`test_charts_size\`, printed by
\`RAMP_TEST_FILTER=test_html make check\`): $charts bytes.
MD
