#!/usr/bin/env bats
bats_require_minimum_version 1.5.0
# crash_states.bats: power cuts that lose unsynced writes. A recorder of the
# program's writes, fsyncs and renames (tests/helpers/preload/crashrec.c, an
# LD_PRELOAD library) and a replay of every state a crash could leave
# (tests/helpers/crashstates.py), each checked: the store, the rollout journal,
# rampd's state. First, that the replay catches writers that are not crash safe.

load rollout_helpers

setup_file() {
	export CRASHREC="$BATS_FILE_TMPDIR/crashrec.so"
	cc -shared -fPIC -O1 -o "$CRASHREC" "$BATS_TEST_DIRNAME/../helpers/preload/crashrec.c" -ldl
	export CRASHSTATES="$BATS_TEST_DIRNAME/../helpers/crashstates.py"
}

setup() {
	fleet_setup
	mkdir -p "$T/root"
}

teardown() {
	fleet_teardown
}

# recorded CMD...: CMD run with the recorder on $T/root, a copy of it before in $T/before
# (REC: the environment for a command started otherwise, after snapshot)
snapshot() {
	rm -rf "$T/before" "$T/log"
	cp -a "$T/root" "$T/before"
	# the sanitizers' runtime must come first; the recorder does not allocate through it
	REC=(env CRASHREC_ROOT="$T/root" CRASHREC_LOG="$T/log" LD_PRELOAD="$CRASHREC"
		ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0")
}
recorded() {
	snapshot
	"${REC[@]}" "$@"
}

states() { python3 "$CRASHSTATES" --root "$T/root" --before "$T/before" --log "$T/log" "$@"; }

# a writer in python (its os calls are libc's), recorded: MODE is safe, nosync or inplace
writer() {
	snapshot
	"${REC[@]}" python3 - "$1" "$T/root/f" "$2" <<'PY'
import os, sys
mode, path, data = sys.argv[1], sys.argv[2], sys.argv[3].encode()
if mode == "inplace":
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, data[:3]); os.write(fd, data[3:]); os.fsync(fd); os.close(fd)
else:
    fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, data)
    if mode == "safe":
        os.fsync(fd)
    os.close(fd)
    os.rename(path + ".tmp", path)
    if mode == "safe":
        d = os.open(os.path.dirname(path), os.O_RDONLY); os.fsync(d); os.close(d)
PY
}

@test "crash states: a writer without fsync, or writing in place, is caught; tmp + fsync + rename + fsync(dir) passes" {
	for mode in safe nosync inplace; do
		printf 'old contents' >"$T/root/f"
		writer "$mode" "new contents"
		[ "$(cat "$T/root/f")" = "new contents" ]
		if [ "$mode" = safe ]; then
			run states --exact '^f$'
			[ "$status" -eq 0 ] || { echo "$output"; false; }
		else
			run states --exact '^f$' --expect-torn
			[ "$status" -eq 0 ] || { echo "$mode not caught: $output"; false; }
			[[ "$output" == *"f holds "*"never held whole"* ]]
		fi
		[[ "$output" == *" crash states, "* ]]
		# the tree is left as the program left it
		[ "$(cat "$T/root/f")" = "new contents" ]
	done
}

@test "crash states: the store, importing a second image: every state opens, every file old or new" {
	for n in a b; do
		mkdir -p "$T/$n"
		echo "$n" >"$T/$n/f"
		"$RAMP_BIN" -q build "$T/$n" -o "$T/$n.tar" >/dev/null
	done
	"$RAMP_HELPERS/store_tool" import "$T/root" "$T/a.tar" >/dev/null
	recorded "$RAMP_HELPERS/store_tool" import "$T/root" "$T/b.tar" >/dev/null
	# temporary names (a dot first) may be left behind; everything else is whole
	run states --exact '^(images|blobs/sha256|layers/[0-9a-f]+)/[^.]' --check "'$RAMP_HELPERS/store_tool' open '$T/root' >/dev/null"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[[ "$output" == *" 0 failing"* ]]
	[ "$(grep -c '^rename ' "$T/log")" -ge 3 ]
}

@test "crash states: the rollout journal and lock: every state lists without a warning, journals are prefixes of the final ones" {
	start_fleet 2
	recorded "$RAMP_BIN" rollout --app web --fleet "$FLEET" --state-dir "$T/root" --allow-untested --bake 0 \
		--poll 20ms --image "$IMG@$V2" --json >/dev/null
	[ "$(digests)" = "$V2" ]
	grep -q '^w .*/rollouts/.*\.jsonl ' "$T/log"
	# every journal that has its name has its start event: listed without a warning
	# (a journal named before its start was synced lists as "no start event")
	run states --prefix '^rollouts/[^.].*\.jsonl$' \
		--check "w=\$('$RAMP_BIN' rollout list --state-dir '$T/root' 2>&1 >/dev/null) && [ -z \"\$w\" ] || { echo \"\$w\"; false; }"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[[ "$output" == *" 0 failing"* ]]
}

@test "crash states: rampd's app state, over two deployments and a stop: every state file old or new" {
	printf '{"state_dir": "%s", "socket": "%s"}\n' "$T/root" "$T/rampd.sock" >"$T/rampd.json"
	snapshot
	"${REC[@]}" "$RAMPD_BIN" --config "$T/rampd.json" 2>"$T/rampd.log" </dev/null 3>&- &
	pid=$!
	BG_PIDS="$pid"
	for _ in $(seq 200); do curl -sf --unix-socket "$T/rampd.sock" http://rampd/healthz >/dev/null && break; sleep 0.05; done
	# nothing answers on port 1: the pulls fail and are retried; the state is written all the same
	for g in 1 2; do
		curl -sf -XPUT --unix-socket "$T/rampd.sock" -H 'Content-Type: application/json' \
			--data-binary "{\"image\":\"127.0.0.1:1/web@sha256:$(printf "$g%.0s" {1..64})\",\"rollout\":\"r$g\",\"generation\":$g}" \
			http://rampd/v1/apps/web >/dev/null
	done
	kill -TERM "$pid"
	wait "$pid"
	grep -q '^rename .*/apps/web/' "$T/log"
	run states --exact '^apps/web/[^.][^/]*$'
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[[ "$output" == *" 0 failing"* ]]
}
