#!/usr/bin/env bats
bats_require_minimum_version 1.5.0
# container_isolation.bats: what a process inside a container can see and do, checked
# from inside with busybox and the static probe (runtime/container.c via rt_run).

load ../helpers/container

setup_file() {
	export L=$BATS_FILE_TMPDIR
	make_layers "$L"
	export BIN_ID=$(stat -c %d:%i "$RT_RUN")
}

setup() {
	new_root "$L" "t$BATS_TEST_NUMBER"
}

@test "isolation: host processes are invisible, the command is PID 1" {
	run "$RT_RUN" "${ROOT_ARGS[@]}" -- sh -c 'echo $$; ls /proc | grep -c "^[0-9]"'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 1 ]
	# sh, and the ls and grep of the pipe
	[ "${lines[1]}" -le 3 ]
}

@test "isolation: the hostname is the container's own" {
	host=$(hostname)
	run "$RT_RUN" "${ROOT_ARGS[@]}" --hostname box -- hostname
	[ "$status" -eq 0 ]
	[ "$output" = box ]
	[ "$(hostname)" = "$host" ]
}

@test "isolation: mount, modules, clock, reboot, bpf, ptrace, namespaces are refused; unknown calls get ENOSYS" {
	run "$RT_RUN" "${ROOT_ARGS[@]}" -- ctr_probe syscalls
	[ "$status" -eq 0 ]
	for c in mount umount2 reboot init_module finit_module delete_module settimeofday clock_settime \
		adjtimex kexec_load bpf perf_event_open ptrace unshare clone_newns keyctl open_by_handle_at; do
		[[ "$output" == *"$c=EPERM"* ]] || { echo "$c not refused: $output"; return 1; }
	done
	[[ "$output" == *"io_uring_setup=ENOSYS"* ]]
	[[ "$output" == *"getpid=ok"* ]]
}

@test "isolation: AF_VSOCK sockets are refused (not per network namespace), also with bits above the int set" {
	for net in "" --net-private; do
		run "$RT_RUN" "${ROOT_ARGS[@]}" $net -- ctr_probe vsock
		[ "$status" -eq 0 ]
		[ "$output" = "vsock=EPERM vsock_hi=EPERM inet=ok" ]
	done
}

@test "isolation: unshare, clone and clone3 are refused for every namespace flag" {
	run "$RT_RUN" "${ROOT_ARGS[@]}" -- ctr_probe namespaces
	[ "$status" -eq 0 ]
	for ns in newns newuts newipc newuser newpid newnet newcgroup newtime; do
		[[ "$output" == *"unshare_$ns=EPERM"* ]] || { echo "unshare $ns not refused: $output"; return 1; }
		# clone3's flags are in memory, out of seccomp's reach: all of clone3 gets ENOSYS
		[[ "$output" == *"clone3_$ns=ENOSYS"* ]] || { echo "clone3 $ns not refused: $output"; return 1; }
		[ "$ns" = newtime ] || [[ "$output" == *"clone_$ns=EPERM"* ]] || { echo "clone $ns not refused: $output"; return 1; }
	done
	[ "$(grep -c '=' <<<"$output")" = 23 ]
}

@test "isolation: capabilities are podman's default set, no_new_privs and seccomp are on" {
	run "$RT_RUN" "${ROOT_ARGS[@]}" -- grep -E '^(Cap|NoNewPrivs|Seccomp:)' /proc/self/status
	[ "$status" -eq 0 ]
	# CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE SYS_CHROOT SETFCAP
	[[ "$output" == *"CapBnd:	00000000800405fb"* ]]
	[[ "$output" == *"CapEff:	00000000800405fb"* ]]
	[[ "$output" == *"CapInh:	0000000000000000"* ]]
	[[ "$output" == *"CapAmb:	0000000000000000"* ]]
	[[ "$output" == *"NoNewPrivs:	1"* ]]
	[[ "$output" == *"Seccomp:	2"* ]]
	# the init keeps CAP_KILL only (to signal an app of any uid), from before the app
	# starts: the app reads the init's set at once, several times (it once raced the drop)
	for i in 1 2 3 4 5 6 7 8; do
		new_root "$L" "t${BATS_TEST_NUMBER}i$i"
		run "$RT_RUN" "${ROOT_ARGS[@]}" --init -- grep -E '^Cap(Prm|Eff|Bnd|Inh|Amb)' /proc/1/status
		[ "$status" -eq 0 ]
		[ "$output" = "$(printf 'CapInh:\t%016x\nCapPrm:\t%016x\nCapEff:\t%016x\nCapBnd:\t%016x\nCapAmb:\t%016x' 0 32 32 32 0)" ] ||
			{ echo "run $i, the init's capabilities: $output"; return 1; }
	done
	new_root "$L" "t$BATS_TEST_NUMBER"
	run "$RT_RUN" "${ROOT_ARGS[@]}" --user app -- grep -E '^Cap' /proc/self/status
	[[ "$output" == *"CapEff:	0000000000000000"* ]]
	[[ "$output" == *"CapPrm:	0000000000000000"* ]]
	[[ "$output" == *"CapBnd:	00000000800405fb"* ]]
}

@test "isolation: /proc/sys and /sys are read-only, kernel files are masked" {
	run "$RT_RUN" "${ROOT_ARGS[@]}" -- sh -c 'echo 1 > /proc/sys/vm/drop_caches'
	[ "$status" -ne 0 ]
	[[ "$output" == *"Read-only file system"* ]]
	run "$RT_RUN" "${ROOT_ARGS[@]}" -- sh -c 'echo x > /sys/kernel/uevent_helper'
	[ "$status" -ne 0 ]
	[[ "$output" == *"Read-only file system"* ]]
	run "$RT_RUN" "${ROOT_ARGS[@]}" -- sh -c 'cat /proc/keys | wc -c; ls /sys/firmware | wc -l; cat /proc/timer_list | wc -c'
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '0\n0\n0')" ]
	# the root user in the container cannot undo a mask
	run "$RT_RUN" "${ROOT_ARGS[@]}" -- umount /proc/keys
	[ "$status" -ne 0 ]
}

@test "isolation: /dev has the standard nodes and links only" {
	run "$RT_RUN" "${ROOT_ARGS[@]}" -- sh -c 'ls /dev | tr "\n" " "; echo; echo x > /dev/null && head -c 4 /dev/zero | wc -c; readlink /dev/fd; readlink /dev/ptmx'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "fd full mqueue null ptmx pts random shm stderr stdin stdout tty urandom zero " ]
	[ "${lines[1]}" = 4 ]
	[ "${lines[2]}" = /proc/self/fd ]
	[ "${lines[3]}" = pts/ptmx ]
}

@test "isolation: the runtime's binary is not reachable nor writable from inside (CVE-2019-5736 shape)" {
	for init in "" --init; do
		run "$RT_RUN" "${ROOT_ARGS[@]}" $init -- ctr_probe exe "$BIN_ID"
		[ "$status" -eq 0 ]
		[[ "$output" != *reachable* ]]
		[[ "$output" != *"write-self=ok"* ]]
		[[ "$output" != *"write-parent=ok"* ]]
	done
	# nor while a command is being entered into the running container
	run "$RT_RUN" "${ROOT_ARGS[@]}" --init --exec "ctr_probe exe $BIN_ID" -- sleep 2
	[ "$status" -eq 0 ]
	[[ "$output" == *"exec status 0"* ]]
	[[ "$output" != *reachable* ]]
	[[ "$output" != *"=ok"* ]]
}

@test "isolation: only stdio and handed sockets are open, cwd is inside the root (CVE-2024-21626 shape)" {
	# rt_run itself holds extra fds (3 and 4, not close-on-exec) and a host cwd
	cd "$L"
	run "$RT_RUN" "${ROOT_ARGS[@]}" -- ctr_probe fds 3</etc/hostname 4<"$L"
	[ "$status" -eq 0 ]
	[ "$output" = "0 1 2 " ]
	run "$RT_RUN" "${ROOT_ARGS[@]}" -- ctr_probe cwd 4<"$L"
	[ "$output" = / ]
	# a leaked directory fd cannot serve as the working directory
	run "$RT_RUN" "${ROOT_ARGS[@]}" --cwd /proc/self/fd/4 -- ctr_probe cwd 4<"$L"
	[ "$status" -eq 125 ]
	[[ "$output" == *'working directory "/proc/self/fd/4"'* ]]
	run "$RT_RUN" "${ROOT_ARGS[@]}" --cwd /etc -- ctr_probe cwd
	[ "$output" = /etc ]
	# the same for a command entered into the running container
	run "$RT_RUN" "${ROOT_ARGS[@]}" --init --exec 'ctr_probe fds; ctr_probe cwd' -- sleep 1 3</etc/hostname 4<"$L"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "0 1 2 " ]
	[ "${lines[1]}" = / ]
	[ "${lines[2]}" = "exec status 0" ]
}

@test "isolation: an image's /etc/passwd linking to /proc/self/fd/N cannot read a host file" {
	up="$L/t$BATS_TEST_NUMBER.up"
	mkdir -p "$up/etc"
	ln -s /proc/self/fd/7 "$up/etc/passwd"
	printf 'root:x:0:0::/HOST-SECRET:/bin/sh\n' >"$L/secret"
	run "$RT_RUN" "${ROOT_ARGS[@]}" -- sh -c 'echo $HOME' 7<"$L/secret"
	[ "$status" -eq 125 ]
	[[ "$output" != *HOST-SECRET* ]]
	[[ "$output" == *'open "/etc/passwd": Too many levels of symbolic links'* ]]
}

@test "isolation: a setuid-root binary gains nothing under no_new_privs" {
	run "$RT_RUN" "${ROOT_ARGS[@]}" --user app -- ctr_probe_suid ids
	[ "$status" -eq 0 ]
	[[ "$output" == "uid=1000 euid=1000 "* ]]
}

@test "isolation: the root is nodev unless devices are allowed" {
	run "$RT_RUN" "${ROOT_ARGS[@]}" -- sh -c 'echo x > /devnull'
	[ "$status" -ne 0 ]
	[[ "$output" == *"Permission denied"* ]]
	run "$RT_RUN" "${ROOT_ARGS[@]}" --dev -- sh -c 'echo x > /devnull'
	[ "$status" -eq 0 ]
}

@test "isolation: a private network has only lo, and it is up" {
	run "$RT_RUN" "${ROOT_ARGS[@]}" --net-private -- sh -c 'ls /sys/class/net; ip -o link show lo'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = lo ]
	[ "${#lines[@]}" -eq 2 ]
	[[ "${lines[1]}" == *"UP"* ]]
	# the default is the host's network
	run "$RT_RUN" "${ROOT_ARGS[@]}" -- ls /sys/class/net
	[ "$output" = "$(ls /sys/class/net)" ]
}

@test "isolation: nothing is left on the host after a run (mounts, fds, children, processes)" {
	before=$(grep -c "$L" /proc/self/mountinfo || true)
	# a sleep of this test's own length: other test files run at the same time
	local secs=$((3000 + $$ % 1000))
	run "$RT_RUN" "${ROOT_ARGS[@]}" --check-leaks --init -- sh -c "sleep $secs & sleep $secs & exit 3"
	[ "$status" -eq 3 ]
	[ "$(grep -c "$L" /proc/self/mountinfo || true)" = "$before" ]
	[ -z "$(pgrep -x -f "sleep $secs")" ]
	run "$RT_RUN" "${ROOT_ARGS[@]}" --check-leaks --listen web --exec 'true' -- sleep 0.3
	[ "$status" -eq 0 ]
	run "$RT_RUN" "${ROOT_ARGS[@]}" --check-leaks --cwd /nope -- true
	[ "$status" -eq 125 ]
	[[ "$output" != *leak* ]]
}
