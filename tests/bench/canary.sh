#!/usr/bin/env bash
# tests/bench/canary.sh: canary analysis (issue 16) against the peers' methods
# on the same generated data (tests/helpers/canarysim, the data model in
# tests/helpers/canarydata.h): CANARY_RUNS simulated rollouts (default 300)
# of 64 hosts in waves 1, 2, 4, 8, 16, 33 per scenario, checked at every
# scrape (5 s) by ramp's analysis, every minute by a fixed threshold
# (Flagger: 5 failed checks; Argo Rollouts: the first failed check), and once
# at the end of a fixed 10-minute bake by Kayenta's Mann-Whitney judge.
# Issue 16's targets: good releases rolled back at most 1% of the time; bad
# ones caught at least 95% of the time by wave 2; median time to catch at
# most half of the fixed bake (300 s); better than the fixed threshold on
# both. Prints a markdown section; its last line is canarysim's:
#   false_rollbacks=X/N detected=Y/M median_detect_s=S
set -euo pipefail
sim=${RAMP_HELPERS:?}/canarysim
runs=${CANARY_RUNS:-300}
table=$(mktemp)
trap 'rm -f "$table"' EXIT
"$sim" --runs "$runs" >"$table"
last=$(tail -1 "$table")
cat <<MD
## Canary analysis against Flagger, Argo Rollouts and Kayenta (issue 16)

\`CANARY_RUNS=$runs BENCH=canary make bench\` (tests/bench/canary.sh, tests/helpers/canarysim.c), $(date -u +%Y-%m-%d).
$runs simulated rollouts per scenario of 64 hosts in waves of 1, 2, 4, 8, 16, 33 hosts, on the
same generated data for every method: Poisson traffic of 20 requests/s per average host, hosts
that differ (traffic share log-normal sigma 0.3, error ratio x log-normal sigma 0.15, latency
median x log-normal sigma 0.05) and traffic that moves (+-30% over 30 min, 10% jitter per
scrape), scraped every 5 s. The methods:

- **ramp**: orchestrator/analysis.c with the default set (errors, latency), checked at every
  scrape, --bake-min 60 s, --bake-max 1200 s, a 1% budget of false rollbacks per rollout; the
  final wave against its hosts' own window before they switched. A wave still undecided at
  bake-max is *paused* (inconclusive), never passed.
- **flagger**: success rate >= 99% and p99 <= 500 ms over the last minute, checked every minute
  for a 10-minute bake, rolled back at the 5th failed check (Flagger's threshold method).
- **argo**: the same checks, rolled back at the first failed check (Argo Rollouts' default
  failureLimit 0).
- **kayenta**: at the end of the 10-minute bake, Mann-Whitney (98%) on per-minute error ratio
  and p99 of both groups with IQR outlier removal (NetflixACAJudge's classifier).

"rolled back" on a good scenario is a false rollback; "caught by wave 2" counts rollbacks in
wave 1 or 2; times are from the rollout's start.

MD
sed '$d' "$table"
cat <<MD

Ratios, ramp against the peers in this run (from the table: good = the three good scenarios,
bad = the six bad ones):

MD
# per method: false rollbacks over good runs, caught-by-wave-2 over bad runs
awk -F'|' 'NR > 2 && NF > 8 {
	gsub(/ /, "", $2); gsub(/ /, "", $3)
	if ($2 != "") sc = $2
	good = sc ~ /^good/
	m = $3; if (!(m in seen)) { seen[m] = 1; order[++k] = m }
	if (good) { fr[m] += $5; g[m] += $4 } else { c2[m] += $6; b[m] += $4 }
} END {
	print "| method | false rollbacks (good) | caught by wave 2 (bad) |"
	print "| --- | ---: | ---: |"
	for (i = 1; i <= k; i++) { m = order[i]
		printf "| %s | %d/%d = %.2f%% | %d/%d = %.1f%% |\n", m, fr[m], g[m], 100 * fr[m] / g[m], c2[m], b[m], 100 * c2[m] / b[m] }
}' "$table"
echo
echo "ramp's analysis, all scenarios (good runs rolled back; bad runs caught by wave 2; median seconds to catch):"
echo
echo "$last"
