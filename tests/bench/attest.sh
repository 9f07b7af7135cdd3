#!/usr/bin/env bash
# tests/bench/attest.sh: what signed test records cost (issue 18's targets):
#  - checking one record as rampd and `ramp rollout --trust` do (the DSSE
#    envelope parsed, its PAE built, the Ed25519 signature verified with
#    nettle, the in-toto statement parsed and checked against the policy),
#    against openssl checking the same signature over the same PAE: one
#    `openssl pkeyutl -verify -rawin` per record (a process, as a script would
#    do it) and openssl's own Ed25519 verify speed (`openssl speed`);
#  - rampd's idle memory with three apps whose records it verified itself
#    (trust_policy in rampd.json), and without a policy, in the same run.
# Prints a markdown section.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
ramp=${RAMP_BIN:?} rampd=${RAMPD_BIN:?} hello=${RAMP_HELLO:?} helpers=${RAMP_HELPERS:?}
N=${N_CHECKS:-2000}
N_OPENSSL=${N_OPENSSL:-200}
for t in docker-registry openssl jq curl; do
	command -v "$t" >/dev/null || { echo "attest bench: $t is missing (make deps)" >&2; exit 1; }
done
w=$(mktemp -d /var/tmp/ramp-bench-attest-XXXXXX)
load0=$(cut -d' ' -f1 /proc/loadavg)
pids=()
cleanup() {
	for f in "$w"/rampd-*.pid; do [ -f "$f" ] && kill -TERM "$(cat "$f")" 2>/dev/null; done
	sleep 2
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$w"
}
trap cleanup EXIT

start_registry "$w/reg"
pids+=("$REG_PID")
"$ramp" -q key generate "$w/key" >/dev/null
pub=$(grep -v -- ----- "$w/key/ramp.pub" | tr -d '\n')
cat >"$w/trust.json" <<JSON
{"version": "1", "trustPolicies": [{"name": "bench", "registryScopes": ["$REG/hello"],
  "trustedKeys": [{"name": "ci", "publicKey": "$pub"}]}]}
JSON
image() { # NAME: built, tested with the key, pushed; prints the pinned reference
	mkdir -p "$w/$1"
	cp "$hello" "$w/$1/hello"
	"$ramp" -q build "$w/$1" -o "$w/$1.tar" --entrypoint /hello --port 8080 --health-http 8080/health \
		--env "HELLO_VERSION=$1" >/dev/null
	RAMP_STORE=$w/store "$ramp" -q test --sign-key "$w/key/ramp.key" "$w/$1.tar" -- /hello --self-test >/dev/null 2>&1
	echo "$REG/hello@$("$ramp" -q push "$w/$1.tar" "$REG/hello:$1" | tail -1)"
}
v1=$(image v1)
v2=$(image v2)
v3=$(image v3)

# ---- one record: the envelope as stored, its PAE and signature for openssl ----
mkdir -p "$w/x"
tar -xf "$w/v1.tar" -C "$w/x"
env=
for m in $(jq -r '.manifests[] | select(.artifactType) | .digest' "$w/x/index.json"); do
	l=$(jq -r 'select(.layers[0].mediaType == "application/vnd.in-toto.test-result+dsse") | .layers[0].digest' \
		"$w/x/blobs/sha256/${m#sha256:}")
	[ -n "$l" ] && env=$w/x/blobs/sha256/${l#sha256:}
done
type=$(jq -r .payloadType "$env")
jq -r .payload "$env" | base64 -d >"$w/payload"
jq -r '.signatures[0].sig' "$env" | base64 -d >"$w/sig"
{ printf 'DSSEv1 %d %s %d ' "${#type}" "$type" "$(stat -c %s "$w/payload")"; cat "$w/payload"; } >"$w/pae"
platform=$(uname -m | sed 's/x86_64/amd64/; s/aarch64/arm64/')
read -r rec_us ed_us < <("$helpers/attest_bench" "$w/trust.json" "$env" "${v1#*@}" "$REG/hello" "linux/$platform" "$N")
t0=$(date +%s%N)
for ((i = 0; i < N_OPENSSL; i++)); do
	openssl pkeyutl -verify -pubin -inkey "$w/key/ramp.pub" -rawin -in "$w/pae" -sigfile "$w/sig" >/dev/null
done
t1=$(date +%s%N)
pkeyutl_us=$(awk -v a="$t0" -v b="$t1" -v n="$N_OPENSSL" 'BEGIN{printf "%.1f", (b - a) / n / 1000}')
speed_us=$(openssl speed -seconds 3 ed25519 2>/dev/null | awk '/Ed25519/{printf "%.1f", 1e6 / $NF}')
envelope_bytes=$(stat -c %s "$env")

# ---- rampd: three apps verified by rampd itself, idle; and without a policy ----
rampd_idle() { # NAME POLICY(yes|no): prints "rss anon pss"
	local d=$w/$1 api p1 p2 p3 extra=
	mkdir -p "$d"
	p1=$(free_port) p2=$(free_port) p3=$(free_port)
	[ "$2" = yes ] && extra="\"trust_policy\": \"$w/trust.json\","
	cat >"$d/rampd.json" <<JSON
{"state_dir": "$d/state", "socket": "$d/rampd.sock", $extra
 "apps": {"a": {"ports": {"8080": "127.0.0.1:$p1"}}, "b": {"ports": {"8080": "127.0.0.1:$p2"}},
          "c": {"ports": {"8080": "127.0.0.1:$p3"}}}}
JSON
	"$rampd" --config "$d/rampd.json" 2>"$d/log" </dev/null &
	echo $! >"$w/rampd-$1.pid"
	for _ in $(seq 200); do curl -sf --unix-socket "$d/rampd.sock" http://rampd/healthz >/dev/null 2>&1 && break; sleep 0.05; done
	for a in a b c; do
		"$ramp" host --socket "$d/rampd.sock" deploy "$a" "$v1" --wait --timeout 60s >/dev/null
	done
	"$ramp" host --socket "$d/rampd.sock" deploy b "$v2" --wait --timeout 60s >/dev/null
	"$ramp" host --socket "$d/rampd.sock" deploy c "$v3" --wait --timeout 60s >/dev/null
	if [ "$2" = yes ] && [ "$(grep -c ' trusted: test record ' "$d/log")" -lt 5 ]; then
		echo "attest bench: rampd did not verify the records itself" >&2
		return 1
	fi
	sleep 2
	local pid
	pid=$(cat "$w/rampd-$1.pid")
	printf '%s %s %s\n' "$(awk '/VmRSS/{printf "%.1f", $2/1024}' "/proc/$pid/status")" \
		"$(awk '/RssAnon/{printf "%.1f", $2/1024}' "/proc/$pid/status")" \
		"$(awk '/^Pss:/{printf "%.1f", $2/1024}' "/proc/$pid/smaps_rollup")"
	kill -TERM "$pid"
	for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	rm -f "$w/rampd-$1.pid"
}
read -r rss_t anon_t pss_t < <(rampd_idle trusted yes)
read -r rss_n anon_n pss_n < <(rampd_idle plain no)
load1=$(cut -d' ' -f1 /proc/loadavg)

cat <<MD
## Signed test records: checking one, and rampd's memory (issue 18)

A record made by \`ramp test --sign-key\` ($envelope_bytes-byte DSSE envelope around an in-toto
test-result statement) checked against a one-key trust policy. Command: \`make bench\`
(tests/bench/attest.sh; \`BENCH=attest make bench\` for this section alone). Measured $(date -u +%Y-%m-%d),
kernel $(uname -r).

| what | µs per record | vs ramp's whole check | target |
| --- | ---: | ---: | --- |
| ramp: the whole check (envelope, PAE, Ed25519 verify, statement, policy), median of 9 rounds of $N | $rec_us | 1.00 | < 1000 |
| ... of it the Ed25519 verification (nettle) | $ed_us | $(ratio "$ed_us" "$rec_us") | |
| openssl pkeyutl -verify -rawin over the same PAE, one process per record ($N_OPENSSL) | $pkeyutl_us | $(ratio "$pkeyutl_us" "$rec_us") | |
| openssl's Ed25519 verify alone (\`openssl speed -seconds 3 ed25519\`) | $speed_us | $(ratio "$speed_us" "$rec_us") | |

rampd with three apps (a, b, c), each deployed with \`ramp host deploy\` and the last two switched
once more, idle for 2 s; with \`trust_policy\` rampd verified all five versions' records itself:

| rampd | VmRSS MB | of it anonymous MB | PSS MB | target |
| --- | ---: | ---: | ---: | --- |
| with a trust policy | $rss_t | $anon_t | $pss_t | <= 8 |
| without | $rss_n | $anon_n | $pss_n | |

nettle's Ed25519 verification took $(ratio "$ed_us" "$speed_us") times openssl's here; rampd uses nettle because it maps it
already (through GnuTLS) and must not map libcrypto. A script calling openssl once per record
pays for a process each time, which is the pkeyutl row. Load average (1 min) at the start and at the end of the run:
$load0, $load1 (2 cores).
MD
