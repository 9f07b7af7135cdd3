#!/usr/bin/env bats
bats_require_minimum_version 1.5.0
# state_dirs.bats: state directories another user prepared (issue 13 items 3
# and 5). An unprivileged user (nobody, through setpriv) sets traps in a
# shared directory; root's `ramp rollout` and rampd must refuse the directory
# and touch nothing the traps point at.

load rollout_helpers
load rampd_helpers

setup() {
	fleet_setup
	# a shared directory like /tmp, where nobody may create things
	chmod 755 "$T"
	mkdir "$T/shared"
	chmod 1777 "$T/shared"
	printf 'precious\n' >"$T/victim"
	chmod 644 "$T/victim"
}

teardown() {
	fleet_teardown_keep
	rampd_teardown
}

fleet_teardown_keep() {
	for p in ${BG_PIDS:-}; do kill -9 "$p" 2>/dev/null || true; done
	stop_fleet
}

as_nobody() { setpriv --reuid 65534 --regid 65534 --clear-groups "$@"; }

@test "state dirs: ramp rollout refuses a state directory another user made, and follows none of its links" {
	start_fleet 2
	# the lock's name is predictable: the app and the fleet file, hashed
	key=$(printf 'web\n%s' "$FLEET" | sha256sum | cut -c1-16)
	as_nobody mkdir -p "$T/shared/.ramp/locks" "$T/shared/.ramp/rollouts"
	as_nobody ln -s "$T/victim" "$T/shared/.ramp/locks/web-$key.lock"
	run --separate-stderr "$RAMP_BIN" rollout --app web --fleet "$FLEET" --state-dir "$T/shared/.ramp" \
		--allow-untested --image "$IMG@$V2" --bake 150ms --poll 20ms
	cat "$T/victim"
	[ "$(cat "$T/victim")" = precious ]
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"state directory \"$T/shared/.ramp\" belongs to uid 65534, neither to you (uid 0) nor to root"* ]]
	[ "$(digests)" = "$V1" ]
	# the same from inside it, with the default ./.ramp
	run --separate-stderr bash -c "cd '$T/shared' && '$RAMP_BIN' rollout list"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"belongs to uid 65534"* ]]
	# root's own directory, but others may write its locks/
	mkdir -p "$T/mine/locks" "$T/mine/rollouts"
	chmod 777 "$T/mine/locks"
	run --separate-stderr "$RAMP_BIN" rollout list --state-dir "$T/mine"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"state directory \"$T/mine/locks\" is writable by others than its owner (mode 0777): run \"chmod go-w $T/mine/locks\""* ]]
	# a state directory that is a symbolic link to one of nobody's
	as_nobody mkdir "$T/shared/theirs"
	ln -s "$T/shared/theirs" "$T/link"
	run --separate-stderr "$RAMP_BIN" rollout list --state-dir "$T/link"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"is a symbolic link"* ]]
	[ "$(cat "$T/victim")" = precious ]
	# root's own state directory in the shared one works
	chmod go-w "$T/mine/locks"
	run --separate-stderr "$RAMP_BIN" rollout --app web --fleet "$FLEET" --state-dir "$T/mine" \
		--allow-untested --image "$IMG@$V2" --bake 150ms --poll 20ms
	[ "$status" -eq 0 ]
	[ "$(digests)" = "$V2" ]
	run "$RAMP_BIN" rollout list --state-dir "$T/mine"
	[ "$status" -eq 0 ]
	[[ "$output" == *done* ]]
}

@test "state dirs: rampd refuses a state directory another user made; its repair touches nothing outside" {
	# issue 13 item 5: nobody's state directory whose blobs/ leads elsewhere;
	# the start-up repair used to delete what it found there
	mkdir -p "$T/outside/sha256"
	printf 'root file\n' >"$T/outside/sha256/.tmp-junk"
	printf 'root file\n' >"$T/outside/sha256/not-a-digest"
	as_nobody mkdir -p "$T/shared/state"
	as_nobody ln -s "$T/outside" "$T/shared/state/blobs"
	cat >"$T/rampd.json" <<JSON
{"state_dir": "$T/shared/state", "socket": "$T/rampd.sock"}
JSON
	run timeout 10 "$RAMPD_BIN" --config "$T/rampd.json"  # (a rampd that starts is stopped)
	[ -f "$T/outside/sha256/.tmp-junk" ]
	[ -f "$T/outside/sha256/not-a-digest" ]
	[ "$status" -eq 1 ]
	[[ "$output" == *"state directory \"$T/shared/state\" belongs to uid 65534"* ]]
	# root's own state directory with blobs/ a link: refused too, nothing removed
	mkdir -m 700 "$T/mine"
	ln -s "$T/outside" "$T/mine/blobs"
	sed -i "s|$T/shared/state|$T/mine|" "$T/rampd.json"
	run timeout 10 "$RAMPD_BIN" --config "$T/rampd.json"
	[ "$status" -eq 1 ]
	[[ "$output" == *"store directory \"$T/mine/blobs\" is reached through a symbolic link"* ]]
	[ -f "$T/outside/sha256/.tmp-junk" ]
	[ -f "$T/outside/sha256/not-a-digest" ]
	# one others may write, or under a directory others may write
	rm "$T/mine/blobs"
	chmod 777 "$T/mine"
	run timeout 10 "$RAMPD_BIN" --config "$T/rampd.json"
	[ "$status" -eq 1 ]
	[[ "$output" == *"state directory \"$T/mine\" is writable by others than its owner (mode 0777): run \"chmod go-w $T/mine\""* ]]
	chmod 700 "$T/mine"
	mkdir -m 777 "$T/open" && mkdir -m 700 "$T/open/state"
	sed -i "s|$T/mine|$T/open/state|" "$T/rampd.json"
	run timeout 10 "$RAMPD_BIN" --config "$T/rampd.json"
	[ "$status" -eq 1 ]
	[[ "$output" == *"directory \"$T/open\" is writable by others"* ]]
	# root's private one in the shared (sticky) directory works
	mkdir -m 700 "$T/shared/rootstate"
	sed -i "s|$T/open/state|$T/shared/rootstate|" "$T/rampd.json"
	start_rampd
	api GET /healthz
	[ "$code" = 200 ]
}
