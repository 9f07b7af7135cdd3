#!/usr/bin/env bats
bats_require_minimum_version 1.5.0
# container_run.bats: running apps in containers (runtime/container.c via rt_run): exit
# status and signals, the init, overlay and flat roots, user lookup, handed sockets,
# working directory, environment, limits, entering a running container.

load ../helpers/container

setup_file() {
	export L=$BATS_FILE_TMPDIR
	make_layers "$L"
}

setup() {
	new_root "$L" "t$BATS_TEST_NUMBER"
}

@test "run: the exit status propagates" {
	run "$RT_RUN" "${ROOT_ARGS[@]}" -- sh -c 'exit 7'
	[ "$status" -eq 7 ]
	run "$RT_RUN" "${ROOT_ARGS[@]}" --init -- sh -c 'exit 7'
	[ "$status" -eq 7 ]
}

@test "run: death by a signal is 128+signal, with and without init" {
	run "$RT_RUN" "${ROOT_ARGS[@]}" --stop 9:100:0 -- sleep 10
	[ "$status" -eq 137 ]
	run "$RT_RUN" "${ROOT_ARGS[@]}" --init -- sh -c 'kill -9 $$'
	[ "$status" -eq 137 ]
}

@test "run: the init forwards SIGTERM; without it PID 1 ignores it until the grace ends" {
	SECONDS=0
	run "$RT_RUN" "${ROOT_ARGS[@]}" --init --stop 15:200:5000 -- sleep 10
	[ "$status" -eq 143 ]
	[ "$SECONDS" -lt 4 ]
	run "$RT_RUN" "${ROOT_ARGS[@]}" --stop 15:100:300 -- sleep 10
	[ "$status" -eq 137 ]
}

@test "run: the init reaps orphans; without it they stay zombies" {
	run "$RT_RUN" "${ROOT_ARGS[@]}" --init -- ctr_probe orphan
	[ "$status" -eq 0 ]
	[ "$output" = "zombies 0" ]
	run "$RT_RUN" "${ROOT_ARGS[@]}" -- ctr_probe orphan
	[ "$output" = "zombies 1" ]
}

@test "run: writes go to the upper dir, layers stay untouched" {
	s1=$(tree_sum "$L/l1") s2=$(tree_sum "$L/l2")
	run "$RT_RUN" "${ROOT_ARGS[@]}" -- sh -c 'echo new > /srv/new; echo changed > /etc/passwd; rm /bin/vi; mkdir /var'
	[ "$status" -eq 0 ]
	[ "$(cat "$L/t$BATS_TEST_NUMBER.up/srv/new")" = new ]
	[ "$(cat "$L/t$BATS_TEST_NUMBER.up/etc/passwd")" = changed ]
	[ -c "$L/t$BATS_TEST_NUMBER.up/bin/vi" ] # the whiteout
	[ "$(tree_sum "$L/l1")" = "$s1" ]
	[ "$(tree_sum "$L/l2")" = "$s2" ]
	# the next container on the same upper dir sees the changes
	run "$RT_RUN" "${ROOT_ARGS[@]}" -- sh -c 'cat /srv/new; ls /bin/vi'
	[ "${lines[0]}" = new ]
	[[ "$output" == *"No such file"* ]]
}

@test "run: a volatile upper dir takes writes once; mounting it again is a clear error" {
	run "$RT_RUN" "${ROOT_ARGS[@]}" --volatile -- sh -c 'echo v > /srv/v'
	[ "$status" -eq 0 ]
	[ "$(cat "$L/t$BATS_TEST_NUMBER.up/srv/v")" = v ]
	run "$RT_RUN" "${ROOT_ARGS[@]}" -- true
	[ "$status" -eq 125 ]
	[[ "$output" == *"was used with volatile_upper before"*"give a fresh upper and work dir"* ]]
}

@test "run: a read-only root refuses writes" {
	run "$RT_RUN" "${ROOT_ARGS[@]}" --ro -- touch /srv/x
	[ "$status" -ne 0 ]
	[[ "$output" == *"Read-only file system"* ]]
	# without an upper dir the image must have its mount points
	run "$RT_RUN" --lower "$L/l1" --lower "$L/l2" --ro -- true
	[ "$status" -eq 125 ]
	[[ "$output" == *'create mount point "/proc": Read-only file system'* ]]
	mp="$L/mp$BATS_TEST_NUMBER"
	mkdir -p "$mp/proc" "$mp/sys" "$mp/dev"
	run "$RT_RUN" --lower "$L/l1" --lower "$L/l2" --lower "$mp" --ro -- sh -c 'cat /etc/group | wc -l; touch /x'
	[ "${lines[0]}" = 3 ]
	[[ "$output" == *"Read-only file system"* ]]
	# a read-only single layer is a bind mount
	cp -a "$L/l1/." "$mp/"
	run "$RT_RUN" --lower "$mp" --ro -- busybox true
	[ "$status" -eq 0 ]
}

@test "run: flat root directory (no overlay)" {
	f="$L/flat$BATS_TEST_NUMBER"
	mkdir "$f" && cp -a "$L/l1/." "$L/l2/." "$f/"
	run "$RT_RUN" --rootfs "$f" -- sh -c 'echo flat > /srv/f; id -un'
	[ "$status" -eq 0 ]
	[ "$output" = root ]
	[ "$(cat "$f/srv/f")" = flat ]
	[ ! -e "$f/proc/1" ] # proc was mounted only inside
	run "$RT_RUN" --rootfs "$f" --ro -- touch /srv/g
	[ "$status" -ne 0 ]
}

@test "run: bad roots are clear errors" {
	run "$RT_RUN" --lower "$L/nope" --upper "$L/t$BATS_TEST_NUMBER.up" --work "$L/t$BATS_TEST_NUMBER.wk" -- true
	[ "$status" -eq 125 ]
	[[ "$output" == *"layer \"$L/nope\": No such file or directory"* ]]
	run "$RT_RUN" --lower "$L/l1" -- true
	[ "$status" -eq 125 ]
	[[ "$output" == *"a writable root needs upper and work dirs"* ]]
	run "$RT_RUN" -- true
	[[ "$output" == *"no root"* ]]
}

@test "run: user and groups come from the image's /etc/passwd and /etc/group" {
	run "$RT_RUN" "${ROOT_ARGS[@]}" --user app -- ctr_probe ids
	[ "$output" = "uid=1000 euid=1000 gid=1000 egid=1000 groups=1000,2000" ]
	run "$RT_RUN" "${ROOT_ARGS[@]}" --user app:extra -- ctr_probe ids
	[ "$output" = "uid=1000 euid=1000 gid=2000 egid=2000 groups=2000" ]
	run "$RT_RUN" "${ROOT_ARGS[@]}" --user 1234:55 -- ctr_probe ids
	[ "$output" = "uid=1234 euid=1234 gid=55 egid=55 groups=55" ]
	run "$RT_RUN" "${ROOT_ARGS[@]}" --user 1000 -- sh -c 'echo $HOME'
	[ "$output" = /home/app ]
	run "$RT_RUN" "${ROOT_ARGS[@]}" -- ctr_probe ids
	[ "$output" = "uid=0 euid=0 gid=0 egid=0 groups=0" ]
	# the host's users do not count
	run "$RT_RUN" "${ROOT_ARGS[@]}" --user daemon -- true
	[ "$status" -eq 125 ]
	[[ "$output" == *'user "daemon" not found in the image'"'"'s /etc/passwd'* ]]
	run "$RT_RUN" "${ROOT_ARGS[@]}" --user app:nogroup -- true
	[ "$status" -eq 125 ]
	[[ "$output" == *'group "nogroup" not found'* ]]
}

@test "run: hostile /etc/passwd lines are rejected cleanly" {
	up="$L/t$BATS_TEST_NUMBER.up"
	mkdir -p "$up/etc"
	printf 'root:x:0:0::/:/bin/sh\nevil:x:99999999999:0::/:/bin/sh\nfine:x:7:7::/:/bin/sh\n' >"$up/etc/passwd"
	run "$RT_RUN" "${ROOT_ARGS[@]}" --user evil -- true
	[ "$status" -eq 125 ]
	[[ "$output" == *"/etc/passwd line 2: malformed entry"* ]]
	# other users are not affected by a broken line
	run "$RT_RUN" "${ROOT_ARGS[@]}" --user fine -- ctr_probe ids
	[[ "$output" == "uid=7 euid=7 gid=7 "* ]]
	head -c 2000000 /dev/zero | tr '\0' a >"$up/etc/passwd"
	run "$RT_RUN" "${ROOT_ARGS[@]}" --user fine -- true
	[ "$status" -eq 125 ]
	[[ "$output" == *"larger than"* ]]
	rm "$up/etc/passwd" && mkfifo "$up/etc/passwd"
	run timeout 5 "$RT_RUN" "${ROOT_ARGS[@]}" --user fine -- true
	[ "$status" -eq 125 ]
	[[ "$output" == *"not a regular file"* ]]
}

@test "run: handed sockets arrive as fds 3.. with LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES" {
	run "$RT_RUN" "${ROOT_ARGS[@]}" --listen web --listen admin -- ctr_probe listen
	[ "$status" -eq 0 ]
	web=$(awk '/^listen web/{print $3}' <<<"$output")
	admin=$(awk '/^listen admin/{print $3}' <<<"$output")
	[[ "$output" == *"LISTEN_FDS=2 LISTEN_PID=1 self=1 LISTEN_FDNAMES=web:admin"* ]]
	[[ "$output" == *"fd3 listening=1 port=$web"* ]]
	[[ "$output" == *"fd4 listening=1 port=$admin"* ]]
	# with an init the app is PID 2, and LISTEN_PID says so
	run "$RT_RUN" "${ROOT_ARGS[@]}" --init --listen web -- ctr_probe listen
	[[ "$output" == *"LISTEN_FDS=1 LISTEN_PID=2 self=2 LISTEN_FDNAMES=web"* ]]
	run "$RT_RUN" "${ROOT_ARGS[@]}" --listen web -- ctr_probe fds
	[[ "$output" == *"0 1 2 3 " ]]
}

@test "run: the working directory is checked, a missing one is a clear error" {
	run "$RT_RUN" "${ROOT_ARGS[@]}" --cwd /srv -- pwd
	[ "$output" = /srv ]
	run "$RT_RUN" "${ROOT_ARGS[@]}" --cwd /nope -- pwd
	[ "$status" -eq 125 ]
	[[ "$output" == *'working directory "/nope": No such file or directory'* ]]
	run "$RT_RUN" "${ROOT_ARGS[@]}" --cwd /etc/passwd -- pwd
	[ "$status" -eq 125 ]
	[[ "$output" == *"Not a directory"* ]]
}

@test "run: environment, PATH search, rlimits" {
	run "$RT_RUN" "${ROOT_ARGS[@]}" --env FOO=bar --env PATH=/bin -- sh -c 'echo $FOO $PATH $HOME'
	[ "$output" = "bar /bin /root" ]
	run "$RT_RUN" "${ROOT_ARGS[@]}" --nofile 64 -- sh -c 'ulimit -n'
	[ "$output" = 64 ]
	run "$RT_RUN" "${ROOT_ARGS[@]}" -- no-such-command
	[ "$status" -eq 125 ]
	[[ "$output" == *'exec "no-such-command"'*"No such file or directory"* ]]
}

@test "run: exec enters the running container (namespaces, user, cgroup) and waits" {
	run "$RT_RUN" "${ROOT_ARGS[@]}" --init --hostname box --user app \
		--exec 'echo in $(hostname) $(id -u) $$; exit 3' -- sleep 1
	[ "$status" -eq 0 ]
	[[ "$output" == *"in box 1000 "* ]]
	[[ "$output" == *"exec status 3"* ]]
	# a pid of the container's namespace (the app is 1 or 2)
	pid=$(awk '/^in box/{print $4}' <<<"$output")
	[ "$pid" -lt 100 ]
	run "$RT_RUN" "${ROOT_ARGS[@]}" --init --nofile 77 --exec 'echo nofile $(ulimit -n)' -- sleep 1
	[[ "$output" == *"nofile 77"* ]]
	run "$RT_RUN" "${ROOT_ARGS[@]}" --init --exec 'sleep 5' --exec-timeout 200 -- sleep 1
	[[ "$output" == *"did not finish within 200 ms"* ]]
	run "$RT_RUN" "${ROOT_ARGS[@]}" --exec 'true' --exec-delay 500 -- true
	[[ "$output" == *"exec error: exec in container"* ]]
}

@test "run: cgroup v2 limits apply where the controller is in the v2 hierarchy, else a warning" {
	v2=$(awk '$9 == "cgroup2" {print $5; exit}' /proc/self/mountinfo)
	[ -n "$v2" ] || skip "no cgroup v2 mount on this host"
	run "$RT_RUN" "${ROOT_ARGS[@]}" --pids 8 --memory 100000000 --cgroup-parent ramp-test \
		--name "c$$" -- sh -c 'cat /proc/self/cgroup; cat /sys/fs/cgroup/pids.max 2>/dev/null; true'
	[ "$status" -eq 0 ]
	[[ "$output" == *"0::/"* ]] # a cgroup namespace rooted at the container's leaf
	if grep -qw pids "$v2/cgroup.controllers"; then
		[ ! -e "$v2/ramp-test/c$$" ] # removed after the run
		run "$RT_RUN" "${ROOT_ARGS[@]}" --pids 8 -- sh -c 'for i in 1 2 3 4 5 6 7 8 9 10; do sleep 1 & done; wait'
		[[ "$output" == *"Resource temporarily unavailable"* || "$output" == *"can't fork"* ]]
	else
		[[ "$output" == *'controller "pids" is not available'* ]]
		[ ! -e "$v2/ramp-test/c$$" ]
	fi
	rmdir "$v2/ramp-test" 2>/dev/null || true
}
