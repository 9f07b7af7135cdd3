#!/usr/bin/env bats
# registry_hostile.bats: ramp against a registry that misbehaves
# (tests/helpers/fakeregistry.py): tampered and oversized content, redirect
# loops, trickles, resets, bad JSON and headers, rate limits, 5xx; and the
# protocol corners a real registry here does not exercise: the referrers API,
# OCI-Chunk-Min-Length, 416 recovery, redirects to another host.

load registry_helpers

setup() {
	reg_setup
	IMG=$("$MKIMAGE" "$T/img" -n 2 -s 200000 -t v1 -r -a "$T/img.tar" | head -1)
}

teardown() {
	reg_teardown
}

fix() {
	start_fixture fake --seed "$T/img" --repo app "$@"
	LOG="$T/fake.log"
}

# no blob of the image was stored anywhere
nothing_stored() {
	[ ! -e "$T/out.tar" ]
	for l in $(python3 -c 'import json,sys; [print(x["digest"][7:]) for x in json.load(open(sys.argv[1]))["layers"]]' \
		"$T/img/blobs/sha256/${IMG#sha256:}"); do
		[ ! -e "$T/lay/blobs/sha256/$l" ]
	done
}

@test "a tampered blob (digest mismatch) stores nothing and says so" {
	fix --mode tamper
	# one transfer at a time: no other blob's partial is kept for a resume
	run "$RAMP_BIN" pull --jobs 1 "$FIX/app:v1" --layout "$T/lay"
	[ "$status" -eq 1 ]
	grep -q "hashes to sha256:" <<<"$output"
	grep -q "nothing was stored" <<<"$output"
	nothing_stored
	[ -z "$(ls -A "$T/lay/ingest" 2>/dev/null)" ]
	run "$RAMP_BIN" pull "$FIX/app:v1" -o "$T/out.tar"
	[ "$status" -eq 1 ]
	nothing_stored
}

@test "a blob longer than its descriptor is refused" {
	fix --mode wrong-size
	run "$RAMP_BIN" pull "$FIX/app:v1" --layout "$T/lay"
	[ "$status" -eq 1 ]
	grep -q "sent more than the 2" <<<"$output"
	nothing_stored
}

@test "a manifest over 4 MiB is refused" {
	fix --mode big-manifest
	run "$RAMP_BIN" pull "$FIX/app:v1" -o "$T/out.tar"
	[ "$status" -eq 1 ]
	grep -q "larger than the limit of 4194304" <<<"$output"
}

@test "a redirect loop ends with a clear error" {
	fix --mode redirect-loop
	run "$RAMP_BIN" pull "$FIX/app:v1" -o "$T/out.tar"
	[ "$status" -eq 1 ]
	grep -q "redirect" <<<"$output"
	nothing_stored
}

@test "a trickle hits the stall timeout" {
	fix --mode trickle
	SECONDS=0
	run "$RAMP_BIN" pull --timeout 1 --retries 1 "$FIX/app:v1" -o "$T/out.tar"
	[ "$status" -eq 1 ]
	grep -q "timed out" <<<"$output"
	[ "$SECONDS" -lt 15 ]
}

@test "a connection reset mid-blob is resumed with a Range request" {
	fix --mode reset
	run "$RAMP_BIN" pull "$FIX/app:v1" -o "$T/out.tar"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "$IMG" ]
	grep -q "reset-after" "$LOG"
	grep -q "/blobs/sha256:.* 206 " "$LOG"
	"$IMGCHECK" "$T/out.tar"
}

# asked_from_partial HEXES: some blob kept by a failed pull was asked for
# from where it stopped (a Range request, answered 206)
asked_from_partial() {
	local h
	for h in $1; do
		grep -q "GET /v2/app/blobs/sha256:$h 206 " "$LOG" && return 0
	done
	echo "no Range request for any of: $1" >&2
	return 1
}

@test "a pull that died resumes from its partial blob in the next process" {
	fix --mode reset
	run "$RAMP_BIN" pull --retries 0 "$FIX/app:v1" --layout "$T/lay"
	[ "$status" -eq 1 ]
	kept=$(find "$T/lay/ingest" -type f -size +0 -printf '%f\n')
	[ -n "$kept" ]
	# retries now: a blob the first pull never asked for is reset on its first request too
	run "$RAMP_BIN" pull "$FIX/app:v1" --layout "$T/lay"
	[ "$status" -eq 0 ]
	asked_from_partial "$kept"
	run "$IMGCHECK" "$T/lay"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "$IMG" ]
	[ ! -e "$T/lay/ingest" ]
	# the same for an archive: the partial archive and its state wait beside the output
	pkill -f "fakeregistry.py --port ${FIX#*:} " || true
	: >"$LOG"
	fix --mode reset
	run "$RAMP_BIN" pull --retries 0 "$FIX/app:v1" -o "$T/out.tar"
	[ "$status" -eq 1 ]
	[ ! -e "$T/out.tar" ]
	[ -s "$T/.out.tar.ramp-partial" ]
	kept=$(awk '$3 > 0 {print $1}' "$T/.out.tar.ramp-partial.state")
	[ -n "$kept" ]
	run "$RAMP_BIN" pull "$FIX/app:v1" -o "$T/out.tar"
	[ "$status" -eq 0 ]
	asked_from_partial "$kept"
	"$IMGCHECK" "$T/out.tar"
	[ ! -e "$T/.out.tar.ramp-partial" ]
	[ ! -e "$T/.out.tar.ramp-partial.state" ]
	# byte for byte the archive of an uninterrupted pull
	"$RAMP_BIN" pull "$FIX/app:v1" -o "$T/again.tar"
	cmp "$T/out.tar" "$T/again.tar"
}

@test "a pull killed with SIGKILL resumes from the state its partial archive last saved" {
	# one 12 MB layer: the state is saved as writeback starts, every 8 MiB
	"$MKIMAGE" "$T/big" -n 1 -s 12000000 -S 3 -t v1 >/dev/null
	start_fixture fake --seed "$T/big" --repo app --mode stall
	LOG="$T/fake.log"
	"$RAMP_BIN" pull "$FIX/app:v1" -o "$T/out.tar" 2>/dev/null &
	pid=$!
	for _ in $(seq 100); do
		grep -q "stall-after" "$LOG" && grep -q " [0-9]\{7,\}\$" "$T/.out.tar.ramp-partial.state" 2>/dev/null && break
		sleep 0.1
	done
	kill -9 "$pid"
	wait "$pid" || true
	[ ! -e "$T/out.tar" ]
	grep -q " [0-9]\{7,\}\$" "$T/.out.tar.ramp-partial.state"
	run "$RAMP_BIN" pull "$FIX/app:v1" -o "$T/out.tar"
	[ "$status" -eq 0 ]
	grep -q "/blobs/sha256:.* 206 " "$LOG"
	"$IMGCHECK" "$T/out.tar"
	[ ! -e "$T/.out.tar.ramp-partial" ]
	"$RAMP_BIN" pull "$FIX/app:v1" -o "$T/again.tar"
	cmp "$T/out.tar" "$T/again.tar"
}

@test "a damaged partial archive or state file is not trusted" {
	fix --mode reset
	run "$RAMP_BIN" pull --retries 0 "$FIX/app:v1" -o "$T/out.tar"
	[ "$status" -eq 1 ]
	grep -q " [1-9][0-9]*\$" "$T/.out.tar.ramp-partial.state"
	# the kept bytes of every blob overwritten: they hash wrong, and are fetched again
	while read -r hex off have; do
		head -c "$have" /dev/urandom | dd of="$T/.out.tar.ramp-partial" bs=1 seek="$off" conv=notrunc status=none
	done <"$T/.out.tar.ramp-partial.state"
	run "$RAMP_BIN" -v pull "$FIX/app:v1" -o "$T/out.tar"
	[ "$status" -eq 0 ]
	grep -q "does not verify; downloading it again" <<<"$output"
	"$RAMP_BIN" pull "$FIX/app:v1" -o "$T/again.tar"
	cmp "$T/out.tar" "$T/again.tar"
	# a state file that is not one, over a partial of garbage
	head -c 300000 /dev/urandom >"$T/.x.tar.ramp-partial"
	printf 'not a state\n%s 0 99999999999\n' "$(printf '%064d' 0)" >"$T/.x.tar.ramp-partial.state"
	run "$RAMP_BIN" pull "$FIX/app:v1" -o "$T/x.tar"
	[ "$status" -eq 0 ]
	cmp "$T/x.tar" "$T/again.tar"
}

@test "a partial archive another pull holds is left alone" {
	fix
	touch "$T/.out.tar.ramp-partial"
	run flock "$T/.out.tar.ramp-partial" "$RAMP_BIN" pull "$FIX/app:v1" -o "$T/out.tar"
	[ "$status" -eq 0 ]
	"$IMGCHECK" "$T/out.tar"
	[ ! -s "$T/.out.tar.ramp-partial" ]
	[ "$(ls -A "$T" | grep -c ramp-partial)" -eq 1 ]
}

@test "invalid JSON in a manifest is refused" {
	fix --mode invalid-json
	run "$RAMP_BIN" pull "$FIX/app:v1" -o "$T/out.tar"
	[ "$status" -eq 1 ]
	grep -qi "json" <<<"$output"
}

@test "a digest with path characters never becomes a path" {
	fix --mode path-digest
	run "$RAMP_BIN" pull "$FIX/app:v1" --layout "$T/lay"
	[ "$status" -eq 1 ]
	grep -q "invalid digest" <<<"$output"
	[ ! -e /tmp/ramp-escape ]
}

@test "a malformed WWW-Authenticate header is an error naming it" {
	fix --mode bad-auth
	run "$RAMP_BIN" pull "$FIX/app:v1" -o "$T/out.tar"
	[ "$status" -eq 1 ]
	grep -q "WWW-Authenticate" <<<"$output"
}

@test "429 with Retry-After is honoured" {
	fix --mode ratelimit
	SECONDS=0
	run "$RAMP_BIN" pull "$FIX/app:v1" -o "$T/out.tar"
	[ "$status" -eq 0 ]
	[ "$SECONDS" -ge 2 ]
	[ "$(grep -c ' 429 ' "$LOG")" -eq 2 ]
	run "$RAMP_BIN" pull --retries 1 "$FIX/app:v1" -o "$T/out2.tar"
	[ "$status" -eq 0 ]
}

@test "a 5xx shows the registry's error JSON" {
	fix --mode error5xx
	run "$RAMP_BIN" pull --retries 1 "$FIX/app:v1" -o "$T/out.tar"
	[ "$status" -eq 1 ]
	grep -q "503 Service Unavailable" <<<"$output"
	grep -q "UNAVAILABLE: backend on fire" <<<"$output"
}

@test "Docker schema 1 is refused clearly; warnings are shown once" {
	fix --mode schema1
	run "$RAMP_BIN" pull "$FIX/app:v1" -o "$T/out.tar"
	[ "$status" -eq 1 ]
	grep -q "schema 1" <<<"$output"
	pkill -f "fakeregistry.py --port ${FIX#*:} " || true
	fix --mode warning
	run "$RAMP_BIN" pull "$FIX/app:v1" -o "$T/out.tar"
	[ "$status" -eq 0 ]
	[ "$(grep -c "this registry is deprecated" <<<"$output")" -eq 1 ]
}

@test "redirects to another host get no Authorization header" {
	fix --mode basic,redirect-other --other-port "$(free_port)"
	run "$RAMP_BIN" pull "$FIX/app:v1" -o "$T/out.tar"
	[ "$status" -eq 1 ]
	grep -qF "authentication required: run 'ramp login $FIX'" <<<"$output"
	run "$RAMP_BIN" pull --creds ramp:s3cret "$FIX/app:v1" -o "$T/out.tar"
	[ "$status" -eq 0 ]
	grep -q "^OTHER .* auth=no" "$LOG"
	! grep -q "^OTHER .* auth=yes" "$LOG" || false
	"$IMGCHECK" "$T/out.tar"
}

@test "referrers API: used when the registry answers it" {
	fix --mode referrers
	run "$RAMP_BIN" push "$T/img.tar" "$FIX/new:v1"
	[ "$status" -eq 0 ]
	# the registry took the subject: no fallback tag
	! grep -q "manifests/sha256-" "$LOG" || false
	run "$RAMP_BIN" pull "$FIX/new:v1" -o "$T/out.tar"
	[ "$status" -eq 0 ]
	grep -q "GET /v2/new/referrers/$IMG" "$LOG"
	run "$IMGCHECK" "$T/out.tar"
	[ "${lines[1]}" = "records 1" ]
}

@test "referrers API: a paged list is followed to its end, within bounds" {
	fix --mode referrers-paged
	"$RAMP_BIN" push "$T/img.tar" "$FIX/new:v1"
	run "$RAMP_BIN" pull "$FIX/new:v1" -o "$T/out.tar"
	[ "$status" -eq 0 ]
	# page 0 holds another artifact; the test record is on page 1
	grep -q "GET /v2/new/referrers/$IMG?page=1 200" "$LOG"
	! grep -q "GET /v2/new/referrers/$IMG?page=2" "$LOG" || false
	run "$IMGCHECK" "$T/out.tar"
	[ "${lines[1]}" = "records 1" ]
	# a list whose pages never end
	pkill -f "fakeregistry.py --port ${FIX#*:} " || true
	: >"$LOG"
	fix --mode referrers-loop
	"$RAMP_BIN" push "$T/img.tar" "$FIX/new:v1"
	run "$RAMP_BIN" pull "$FIX/new:v1" -o "$T/out2.tar"
	[ "$status" -eq 1 ]
	grep -q "more than 100 pages" <<<"$output"
	[ "$(grep -c "GET /v2/new/referrers/" "$LOG")" -eq 100 ]
	[ ! -e "$T/out2.tar" ]
	# a next page on another host
	pkill -f "fakeregistry.py --port ${FIX#*:} " || true
	fix --mode referrers-offsite --other-port "$(free_port)"
	"$RAMP_BIN" push "$T/img.tar" "$FIX/new:v1"
	run "$RAMP_BIN" pull "$FIX/new:v1" -o "$T/out3.tar"
	[ "$status" -eq 1 ]
	grep -q "next page is on another host" <<<"$output"
}

@test "chunked upload honours OCI-Chunk-Min-Length and recovers from 416" {
	fix --chunk-min 65536 --mode chunk-416
	"$MKIMAGE" "$T/img2" -n 2 -s 200000 -S 2 -a "$T/img2.tar"
	run "$RAMP_BIN" push --chunk-size 1000 "$T/img2.tar" "$FIX/new:v1"
	[ "$status" -eq 0 ]
	grep -q "PATCH len=65536" "$LOG"
	! grep -q "short chunk" "$LOG" || false
	grep -q "PATCH .* 416 " "$LOG"
	grep -q "GET /v2/new/blobs/uploads/.* 204 " "$LOG"
	run "$RAMP_BIN" pull "$FIX/new:v1" -o "$T/out.tar"
	[ "$status" -eq 0 ]
	"$IMGCHECK" "$T/out.tar"
}
