#!/usr/bin/env bash
# tests/bench/rollout.sh: `ramp rollout` against simulated fleets (one
# tests/helpers/fakefleet process; app start and bake set to 0, so the wall
# time is the orchestration overhead), issue 6's targets:
#   10,000 hosts: under 5 s and 100 MB RSS, in ceil(log2(N+1)) = 14 waves;
#   1% of them timing out: reported correctly, in bounded time;
#   8 simulated hosts, bake 0: full rollout under 3 s, fleet-wide revert under 1 s.
# The peer is the plain fan-out: curl --parallel putting one PUT to every
# host (same libcurl, same concurrency; no waves, health or journal),
# measured in the same run.
# Then 8 real hosts (rampd processes on loopback, a docker-registry, the demo
# app): a full rollout of a new small image with bake 0 (pull, unpack, start,
# health on every host; test records checked) under 3 s, and the fleet-wide
# revert under 1 s. No rollout tool to compare with runs here; the floor is
# one host deploying the same kind of image by itself (curl PUT, poll until
# healthy), measured in the same run.
# RAMP_BIN_BASE=ramp: another build of ramp (issue 15: the commit before the
# rollout engine's split) run on the same 10,000 hosts, taking turns with
# RAMP_BIN; its row and the ratios are added.
# Issue 16's cost: the 10,000-host rollout with --analysis default against the
# same rollout without it, the same --bake (ANALYSIS_BAKE, default 20s) and
# the default --poll, taking turns (ANALYSIS_REPS pairs, default 1); the fleet
# serves the metrics API (1,000-2,000 requests/s per host, a good release):
# target under 1.20x ramp's CPU time.
# Prints a markdown section.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
ramp=${RAMP_BIN:?}
base=${RAMP_BIN_BASE:-}
AB=${ANALYSIS_BAKE:-20s}
AREPS=${ANALYSIS_REPS:-1}
fake=${RAMP_HELPERS:?}/fakefleet
N=${BENCH_HOSTS:-10000}
PAR=${BENCH_PARALLEL:-256}
ulimit -n "$(ulimit -Hn)" # both processes hold thousands of sockets
load=$(cut -d' ' -f1 /proc/loadavg)
date=$(date -u +%Y-%m-%d)
w=$(mktemp -d /var/tmp/ramp-bench-rollout-XXXXXX)
pid=
real_pids=()
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	local p
	for p in "${real_pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${real_pids[@]}"; do
		for _ in $(seq 200); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
		kill -9 "$p" 2>/dev/null || true
	done
	rm -rf "$w"
}
trap cleanup EXIT

digest() { printf 'sha256:%s' "$(printf '%s' "$1" | sha256sum | cut -c1-64)"; }
V0=$(digest v0)
IMG=127.0.0.1:5000/web

# start_fleet N [fakefleet options]
start_fleet() {
	local n=$1
	shift
	[ -n "$pid" ] && kill "$pid" && wait "$pid" 2>/dev/null || true
	rm -f "$w/ready"
	"$fake" --hosts "$n" --fleet-out "$w/fleet.txt" --ready "$w/ready" --app "web=$IMG@$V0" "$@" 2>"$w/fake.log" &
	pid=$!
	for _ in $(seq 500); do [ -s "$w/ready" ] && return 0; sleep 0.02; done
	echo "bench: fakefleet did not start" >&2
	return 1
}

# run_ramp OUT ARGS...: one timed ramp command; prints "wall rss_mb cpu_s exit"
run_ramp() {
	local out=$1 rc=0
	shift
	/usr/bin/time -o "$w/time" -f '%e %M %U %S' "$ramp" "$@" >"$out" 2>"$out.err" </dev/null || rc=$?
	awk -v rc="$rc" '{printf "%s %.1f %.2f %d\n", $1, $2 / 1024, $3 + $4, rc}' "$w/time"
}

median() { sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }

# rollout_args [STATE_DIR]
rollout_args() {
	echo rollout --app web --fleet "$w/fleet.txt" --state-dir "${1:-$w/state}" --allow-untested --bake 0 --poll 20ms \
		--max-parallel "$PAR" --json
}

# Every run leaves its 10,000 connections in TIME_WAIT for 60 s, and tens of
# thousands of them on loopback make connect() itself slow (seconds): a
# machine-wide state a real fleet of distinct hosts never builds up. Each
# timed 10,000-host run (ramp's and the peer's) starts below this many.
TW_MAX=15000
quiet_tcp() {
	for _ in $(seq 90); do
		(($(ss -Htan state time-wait | wc -l) < TW_MAX)) && return 0
		sleep 1
	done
}

# --- 10,000 hosts (and, taking turns, the base build) ---
start_fleet "$N" --start-ms 0 --revert-ms 0
# big BIN TAG I STATE: one timed rollout of every host; appends to the TAG_* arrays
big() {
	local bin=$1 tag=$2 i=$3 t m c rc
	quiet_tcp
	read -r t m c rc < <(ramp=$bin run_ramp "$w/big-$tag.json" $(rollout_args "$w/state-$tag") \
		--image "$IMG@$(digest "big-$tag$i")")
	[ "$rc" = 0 ] || { echo "bench: rollout of $N hosts ($bin) exited $rc" >&2; tail -5 "$w/big-$tag.json.err" >&2; exit 1; }
	eval "${tag}_walls+=($t) ${tag}_cpus+=($c) ${tag}_rss+=($m)"
	[ "$(grep -c '"event":"wave"' "$w/big-$tag.json")" = "$want_waves" ] ||
		{ echo "bench: $bin's rollout of $N hosts did not run $want_waves waves" >&2; exit 1; }
}
want_waves=$(awk -v n="$N" 'BEGIN{k=0; while (2^k - 1 < n) k++; print k}')
main_walls=() main_cpus=() main_rss=() base_walls=() base_cpus=() base_rss=()
for ((i = 1; i <= reps; i++)); do
	big "$ramp" main "$i"
	[ -n "$base" ] && big "$base" base "$i"
done
waves=$want_waves
t_big=$(printf '%s\n' "${main_walls[@]}" | median)
range_big=$(printf '%s\n' "${main_walls[@]}" | sort -g | sed -n '1p;$p' | paste -sd- -)
c_big=$(printf '%s\n' "${main_cpus[@]}" | median)
rss=$(printf '%s\n' "${main_rss[@]}" | sort -g | tail -1)
if [ -n "$base" ]; then
	t_base=$(printf '%s\n' "${base_walls[@]}" | median)
	c_base=$(printf '%s\n' "${base_cpus[@]}" | median)
	rss_base=$(printf '%s\n' "${base_rss[@]}" | sort -g | tail -1)
fi

# the peer: curl's own parallel mode (libcurl multi too), one PUT per host
sed -n 's|^h[0-9]* \([0-9.:]*\).*|url = "http://\1/v1/apps/web"\noutput = "/dev/null"|p' "$w/fleet.txt" >"$w/urls"
peer() {
	local body="{\"image\":\"$IMG@$(digest "peer$1")\",\"rollout\":\"peer\",\"generation\":$((1000 + $1))}"
	/usr/bin/time -o "$w/time" -f '%e' curl -s -Z --parallel-max "$PAR" -X PUT -H 'Content-Type: application/json' \
		--data "$body" -K "$w/urls" 2>/dev/null
	cat "$w/time"
}
peers=()
for ((i = 1; i <= reps; i++)); do
	quiet_tcp
	peers+=("$(peer "$i")")
done
t_peer=$(printf '%s\n' "${peers[@]}" | median)

# --- issue 16: the same 10,000 hosts with --analysis default, and without ---
start_fleet "$N" --start-ms 0 --revert-ms 0 --rps 1000
# canary NAME [ARGS]: one rollout with --bake $AB; appends "wall cpu rss" to NAME_runs
canary() {
	local tag=$1 t m c rc
	shift
	quiet_tcp
	read -r t m c rc < <(run_ramp "$w/an-$tag.json" rollout --app web --fleet "$w/fleet.txt" --state-dir "$w/state-an" \
		--allow-untested --bake "$AB" --max-parallel "$PAR" --json --image "$IMG@$(digest "an-$tag$i")" "$@")
	[ "$rc" = 0 ] || { echo "bench: rollout of $N hosts ($tag) exited $rc" >&2; tail -5 "$w/an-$tag.json.err" >&2; exit 1; }
	eval "${tag}_runs+=(\"$t $c $m\")"
}
plain_runs=() analysis_runs=()
for ((i = 1; i <= AREPS; i++)); do
	canary plain
	canary analysis --analysis default --bake-max 120s --on-inconclusive fail
	# every wave judged and passed by the analysis, not let through
	passed=$(jq -s '[.[] | select(.event == "analysis" and .verdict == "pass")] | length' "$w/an-analysis.json")
	[ "$passed" = "$want_waves" ] || { echo "bench: $passed of $want_waves waves passed by the analysis" >&2; exit 1; }
done
# col K RUNS...: the median of column K of the runs
col() { printf '%s\n' "${@:2}" | awk -v k="$1" '{print $k}' | median; }
t_plain=$(col 1 "${plain_runs[@]}") c_plain=$(col 2 "${plain_runs[@]}") m_plain=$(col 3 "${plain_runs[@]}")
t_an=$(col 1 "${analysis_runs[@]}") c_an=$(col 2 "${analysis_runs[@]}") m_an=$(col 3 "${analysis_runs[@]}")
an_cpus=$(printf '%s\n' "${analysis_runs[@]}" | awk '{print $2}' | paste -sd/ -)
plain_cpus=$(printf '%s\n' "${plain_runs[@]}" | awk '{print $2}' | paste -sd/ -)
an_ratio=$(ratio "$c_an" "$c_plain")
an_met=$(awk -v r="$an_ratio" 'BEGIN{if (r < 1.20) printf "met: %.0f%% more CPU, under the 20%% allowed", (r - 1) * 100; else printf "NOT met: %.0f%% more CPU, over the 20%% allowed", (r - 1) * 100}')
an_ms=$(jq -s '[.[] | select(.event == "analysis") | .ms / 1000] | sort | .[length / 2 | floor]' "$w/an-analysis.json")

# --- 1% of the hosts time out: half before the rollout, half when told to deploy ---
D1=$(digest slow)
bad=$((N / 100))
rules=()
for ((k = 0; k < bad; k++)); do
	h=$(((k * 9973 + 17) % N + 1))
	if ((k % 2)); then rules+=(--behave "h$h hang"); else rules+=(--behave "h$h hang-on $D1"); fi
done
start_fleet "$N" --start-ms 0 --revert-ms 0 "${rules[@]}"
read -r t_slow m_slow c_slow rc_slow < <(run_ramp "$w/slow.json" $(rollout_args) --image "$IMG@$D1" \
	--max-unreachable "$bad" --request-timeout 1s --unreachable-after 2s)
got=$(jq -r 'select(.event == "end") | [.hosts[] | select(.state == "unreachable" or .state == "skipped") | .host] | sort | join(" ")' "$w/slow.json")
want=$(printf '%s\n' "${rules[@]}" | grep -o '^h[0-9]*' | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')
[ "$got" = "$want" ] && slow_ok=yes || slow_ok=NO
n_bad=$(wc -w <<<"$got")
result_slow=$(jq -r 'select(.event == "end") | .result' "$w/slow.json")

# --- 8 hosts: rollout with bake 0, then the fleet-wide revert ---
start_fleet 8 --start-ms 100 --revert-ms 0
small=() reverts=()
for ((i = 1; i <= reps; i++)); do
	read -r t _ _ rc < <(run_ramp "$w/small.json" rollout --app web --fleet "$w/fleet.txt" --state-dir "$w/state8" \
		--allow-untested --bake 0 --poll 20ms --json --image "$IMG@$(digest "small$i")")
	[ "$rc" = 0 ] || { echo "bench: 8-host rollout exited $rc" >&2; exit 1; }
	small+=("$t")
	read -r t _ _ rc < <(run_ramp "$w/revert.json" revert --app web --fleet "$w/fleet.txt" --json)
	[ "$rc" = 0 ] || { echo "bench: fleet revert exited $rc" >&2; exit 1; }
	reverts+=("$t")
done
t_small=$(printf '%s\n' "${small[@]}" | median)
t_revert=$(printf '%s\n' "${reverts[@]}" | median)

# --- 8 real hosts: rampd on loopback, a real registry, the demo app ---
[ -n "$pid" ] && kill "$pid" && wait "$pid" 2>/dev/null || true
pid=
wait_url() { for _ in $(seq 200); do curl -sf "$@" >/dev/null 2>&1 && return 0; sleep 0.05; done; return 1; }
start_registry "$w/reg" || exit 1
real_pids+=("$REG_PID")
head -c 24 /dev/urandom | base64 | tr -d '\n/+=' >"$w/token"
chmod 600 "$w/token"
: >"$w/real.txt"
for i in $(seq 1 9); do
	d=$w/h$i api=$(free_port) app=$(free_port)
	mkdir -p "$d"
	printf '{"state_dir": "%s/state", "socket": "%s/rampd.sock", "listen": ["127.0.0.1:%s"], "token_file": "%s",
 "apps": {"web": {"ports": {"8080": "127.0.0.1:%s"}, "stop_grace": "1s"}}}\n' "$d" "$d" "$api" "$w/token" "$app" >"$d/rampd.json"
	"${RAMPD_BIN:?}" --config "$d/rampd.json" 2>"$d/log" </dev/null &
	real_pids+=($!)
	# host 9 is the floor: one host deploying by itself
	[ "$i" -le 8 ] && echo "h$i 127.0.0.1:$api" >>"$w/real.txt"
	echo "$api" >"$d/api"
done
for i in $(seq 1 9); do
	wait_url --unix-socket "$w/h$i/rampd.sock" http://rampd/healthz || { echo "bench: rampd h$i did not start" >&2; exit 1; }
done
# image NAME: the demo app (and busybox, for its test) as version NAME,
# tested (a test record) and pushed; prints the pinned reference
image() {
	local d=$w/img-$1
	mkdir -p "$d/tree/bin"
	cp "${RAMP_HELLO:?}" "$d/tree/hello"
	cp /bin/busybox "$d/tree/bin/busybox"
	"$ramp" -q build "$d/tree" -o "$d/image.tar" --entrypoint /hello --port 8080 --health-http 8080/health \
		--health-interval 100ms --env "HELLO_VERSION=$1" >/dev/null
	"$ramp" -q test "$d/image.tar" -- /bin/busybox true >/dev/null
	echo "$REG/hello@$("$ramp" -q push "$d/image.tar" "$REG/hello:$1" | tail -1)"
}
real_rollout() {
	run_ramp "$w/real.json" rollout --app web --fleet "$w/real.txt" --token-file "$w/token" --state-dir "$w/state-real" \
		--bake 0 --poll 20ms --json --image "$1"
}
read -r _ _ _ rc < <(real_rollout "$(image r0)")
[ "$rc" = 0 ] || { echo "bench: first real rollout exited $rc" >&2; tail -5 "$w/real.json.err" >&2; exit 1; }
# the floor: host 9 told directly, polled until healthy on the new version
floor() {
	local ref=$1 gen=$2 dg=${1#*@} t0 t1 tok
	tok=$(cat "$w/token")
	t0=$(date +%s.%N)
	curl -sf -o /dev/null -X PUT -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
		--data "{\"image\":\"$ref\",\"rollout\":\"floor\",\"generation\":$gen}" \
		"http://127.0.0.1:$(cat "$w/h9/api")/v1/apps/web"
	until curl -sf -H "Authorization: Bearer $tok" "http://127.0.0.1:$(cat "$w/h9/api")/v1/apps/web" |
		jq -e --arg d "$dg" '.current.digest == $d and .phase == "healthy"' >/dev/null; do sleep 0.02; done
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f\n", b - a}'
}
real_t=() real_rev=() floors=()
for ((i = 1; i <= reps; i++)); do
	ref=$(image "r$i")
	read -r t _ _ rc < <(real_rollout "$ref")
	[ "$rc" = 0 ] || { echo "bench: real rollout exited $rc" >&2; tail -5 "$w/real.json.err" >&2; exit 1; }
	real_t+=("$t")
	real_waves=$(grep -c '"event":"wave"' "$w/real.json")
	read -r t _ _ rc < <(run_ramp "$w/real-revert.json" revert --app web --fleet "$w/real.txt" --token-file "$w/token" --json)
	[ "$rc" = 0 ] || { echo "bench: real fleet revert exited $rc" >&2; tail -5 "$w/real-revert.json.err" >&2; exit 1; }
	real_rev+=("$t")
	floors+=("$(floor "$ref" "$i")")
done
t_real=$(printf '%s\n' "${real_t[@]}" | median)
t_real_rev=$(printf '%s\n' "${real_rev[@]}" | median)
t_floor=$(printf '%s\n' "${floors[@]}" | median)
range_real=$(printf '%s\n' "${real_t[@]}" | sort -g | sed -n '1p;$p' | paste -sd- -)
img_kb=$(($(stat -c %s "$w/img-r1/image.tar") / 1024))

cat <<MD
## ramp rollout (issue 6)

A simulated fleet: one \`tests/helpers/fakefleet\` process serving the agent API for every host
(host i on 127.1.0.1+i, one shared port), app start and bake 0, so the wall time is what the
orchestrator itself costs: a precheck GET per host, a PUT, status polls until healthy, the
watching of earlier waves, the journal (fsync'd) and the JSON events. Median of $reps runs;
the fleet simulator runs on the same $(nproc) cores; load average when this started: $load, when it ended: $(cut -d' ' -f1 /proc/loadavg).
Command: \`make bench\` (tests/bench/rollout.sh)$([ -n "$base" ] && echo " with RAMP_BIN_BASE (below)"), $date.

| what | wall s | peak RSS MB | CPU s (ramp) | vs peer | target |
| --- | ---: | ---: | ---: | ---: | --- |
| ramp rollout, $N hosts, $waves waves, --max-parallel $PAR | $t_big | $rss | $c_big | $(ratio "$t_big" "$t_peer") | < 5 s, < 100 MB, $want_waves waves |
| peer: curl --parallel --parallel-max $PAR, one PUT per host (no waves, health or journal) | $t_peer | | | 1.00 | |
$([ -n "$base" ] && echo "| the same rollout by the base build (RAMP_BIN_BASE, below), turns taken with the row above | $t_base | $rss_base | $c_base | | |")
| ramp rollout, $N hosts, --bake $AB, default --poll (1 s), no analysis | $t_plain | $m_plain | $c_plain | 1.00 (CPU) | |
| the same with \`--analysis default\` (--bake-max 120s), fleet serving the metrics API | $t_an | $m_an | $c_an | $an_ratio (CPU) | < 1.20 (CPU) |
| ramp rollout, $N hosts, $bad time out (--max-unreachable $bad) | $t_slow | $m_slow | $c_slow | | bounded; all $bad named |
| ramp rollout, 8 simulated hosts (app start 100 ms), bake 0 | $t_small | | | | < 3 s |
| ramp revert, 8 simulated hosts, fleet-wide | $t_revert | | | | < 1 s |
| ramp rollout, 8 real hosts, new image (${img_kb} KB), bake 0, $real_waves waves | $t_real | | | $(ratio "$t_real" "$t_floor") | < 3 s |
| ramp revert, 8 real hosts, fleet-wide | $t_real_rev | | | | < 1 s |
| floor: 1 real host deploying the same kind of image by itself (curl PUT, poll) | $t_floor | | | 1.00 | |

Runs of the $N-host rollout took $range_big s (machine shared with other work; the wall time
follows the machine's load far more than ramp's own CPU time does). Each host keeps one connection
from its precheck to the end (keep-alive; see docs/ROLLOUT.md), so the $N hosts cost $N connects.
Each timed $N-host run (ramp's and the peer's) starts with fewer than $TW_MAX loopback sockets in
TIME_WAIT: the runs before leave $N each for 60 s, and some 50,000 of them make connect() on
loopback take seconds (a run then took 13 s with the same 3 s of CPU). Waves: $waves
(expected ceil(log2($N+1)) = $want_waves). Timeouts: $n_bad hosts reported unreachable
(half already at the precheck, half once told to deploy), exactly the ones that hang: $slow_ok;
result \`$result_slow\` (exit $rc_slow) with request timeout 1 s and --unreachable-after 2 s.

$(if [ -n "$base" ]; then cat <<BASE
Issue 15 ("no benchmark gets worse"): this build against the base build ($base, commit $(git -C "$(dirname "$base")" log -1 --format=%h 2>/dev/null)),
the same $N-host rollout taking turns, $reps runs each, medians (RSS: the highest):
this build / base: CPU $(ratio "$c_big" "$c_base") ($c_big s / $c_base s), wall $(ratio "$t_big" "$t_base") ($t_big s / $t_base s),
max RSS $(ratio "$rss" "$rss_base") ($rss MB / $rss_base MB). CPU per run, this build: $(printf '%s\n' "${main_cpus[@]}" | paste -sd/ -) s;
base: $(printf '%s\n' "${base_cpus[@]}" | paste -sd/ -) s.

BASE
fi)
Issue 16's cost (\`ANALYSIS_BAKE=$AB ANALYSIS_REPS=$AREPS\`): the same $N hosts, now each serving the metrics API
(tests/helpers/fakefleet: samples as if scraped every 5 s, http_requests_total by code with 0.5% errors and the
http_request_duration_seconds histogram, the same on both versions, 1,000-2,000 requests/s per host so that
every wave has its evidence within the bake). Both rollouts bake $AB per wave and poll at the default 1 s;
with the analysis 64 hosts drawn from each group (converted, baseline) get the watch at each wave's
start and are asked for their samples every second (the rest are not asked), and the $waves waves passed on the analysis's verdict (median $an_ms s into
the wave). $AREPS run(s) each, taking turns; ramp's CPU s per run without: $plain_cpus, with: $an_cpus.
Reading: $an_met (ratio $an_ratio).

Real hosts: 8 rampd processes on loopback (TCP with a bearer token), a docker-registry, the
demo app (static, with busybox for its \`ramp test\`): every rollout pushes a new version, so each
host pulls, verifies, unpacks and starts it and reports healthy (health checked every 100 ms),
and the orchestrator resolves the image's test records first. The 4 waves run one after the
other, so the rollout costs about 4 single-host deploys (the floor row) plus the orchestration.
The revert switches every host back to the kept version at once (no pull, no unpack). No rollout
tool to compare with runs here (no Kubernetes, Nomad or the like on this machine); the floor is
the reference. Rollout runs took $range_real s.
MD
