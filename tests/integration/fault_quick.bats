#!/usr/bin/env bats
bats_require_minimum_version 1.5.0
# fault_quick.bats: a few rounds of each `make fault` scenario (tests/fault/,
# docs/FAULTS.md), small images, so that `make check` tries every kind of
# fault: kill -9 of rampd and of ramp rollout, the registry killed, a full
# disk, clock jumps, a host restarted mid-rollout. The scenarios check
# everything themselves and end with a PASS or FAIL line.

FAULT=$BATS_TEST_DIRNAME/../fault

# scenario NAME [VAR=VALUE...]: run tests/fault/NAME.sh with these settings
scenario() {
	local name=$1
	shift
	run env "$@" "$FAULT/$name.sh" 3>&-
	echo "$output" | tail -n 25
	[ "$status" -eq 0 ]
	grep -q "^PASS $name: " <<<"$output"
}

@test "fault: kill -9 of rampd during pull, unpack, switch and revert (4 rounds)" {
	scenario rampd_kill FAULT_ROUNDS=4 FAULT_IMAGES=4 FAULT_MIB=4
}

@test "fault: kill -9 of ramp rollout, then --resume or --abort (4 simulated rounds, 1 on rampd hosts)" {
	scenario rollout_kill FAULT_ROUNDS=4 FAULT_REAL_ROUNDS=1
}

@test "fault: the registry killed mid-push, mid-pull and while rampd pulls (1 round each)" {
	scenario registry_kill FAULT_ROUNDS=1 FAULT_MIB=4 FAULT_OUTAGE_MS=300
}

@test "fault: disk full during rampd's pull and unpack, ramp pull and ramp build (1 round each)" {
	scenario disk_full FAULT_ROUNDS=1 FAULT_DISK_MIB=10
}

@test "fault: the wall clock jumps under ramp rollout and rampd (1 round)" {
	scenario clock FAULT_ROUNDS=1
}

@test "fault: a host restarted in the middle of a rollout (1 round)" {
	scenario host_restart FAULT_ROUNDS=1
}
