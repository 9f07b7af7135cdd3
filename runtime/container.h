/* container.h: run a process as an isolated container on an already unpacked root.
 *
 * The root is either an overlay of read-only layer directories with a per-container
 * upper dir, or one flat directory. The process gets its own mount, pid, uts, ipc and
 * cgroup namespaces (network: the host's, or a private one with only lo), a fresh /proc,
 * read-only /sys, a minimal /dev, podman's masked and read-only paths, the user and
 * groups named in the image's own /etc/passwd and /etc/group, podman's default
 * capabilities, no_new_privs and a default seccomp filter. Limits go to a cgroup v2
 * leaf where the host's v2 hierarchy has the controller; elsewhere a one-time warning.
 * docs/RUNTIME.md explains each choice.
 *
 * Threads: rt_start and rt_exec may be called from a multithreaded process. The
 * caller must not reap with waitpid(-1) nor set SIGCHLD to SIG_IGN: the container's
 * processes are reaped by rt_wait and rt_exec. Needs root and Linux 5.8 or later. */
#ifndef RAMP_RUNTIME_CONTAINER_H
#define RAMP_RUNTIME_CONTAINER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/err.h"

struct rt_rlimit {
	int resource; /* RLIMIT_NOFILE, ... */
	uint64_t soft, hard;
};

struct rt_spec {
	/* Root, overlay mode (n_lower > 0): read-only layer dirs, lowest first as OCI orders
	   layers, and a writable upper and work dir on one file system. upper and work may
	   both be NULL when readonly_root is set. */
	const char *const *lower;
	size_t n_lower;
	const char *upper, *work;
	/* The upper dir is this container's scratch space, mounted once: overlayfs then
	   skips syncing it, which spares a syncfs of the upper's whole file system when
	   the container ends. The kernel marks such a work dir and refuses to mount it
	   again, so give every start a fresh upper and work dir. */
	bool volatile_upper;
	/* Root, flat mode (n_lower == 0): one directory, used in place. */
	const char *rootfs;
	bool readonly_root;
	bool allow_devices; /* otherwise the root is mounted nodev */

	const char *const *argv; /* argv[0] without a slash is searched in the env's PATH */
	const char *const *env;  /* NULL-terminated "K=V" list, NULL for none */
	const char *cwd;         /* NULL: "/"; must exist in the root */
	const char *user;        /* "uid", "uid:gid", "name", "name:group"...; NULL: "0" */
	const char *hostname;    /* NULL: keep the copy of the host's name */
	const char *name;        /* cgroup leaf name; NULL: generated */

	bool private_net; /* new network namespace with only lo up */
	bool init;        /* tiny init as PID 1 (forwards signals, reaps orphans) */

	/* Sockets handed to the app as fds 3.., announced in LISTEN_FDS, LISTEN_PID and
	   LISTEN_FDNAMES (fd_names may be NULL). */
	const int *fds;
	const char *const *fd_names;
	size_t n_fds;

	/* cgroup v2 limits, 0 = unset; cpu period defaults to 100000 us */
	uint64_t memory_max, cpu_max_quota_us, cpu_max_period_us, pids_max;
	const char *cgroup_parent; /* relative to the v2 mount; NULL: "ramp" */

	const struct rt_rlimit *rlimits;
	size_t n_rlimits;

	/* -1: inherit the caller's (then they are host files the container can reach through
	   /proc/self/fd: give pipes, RT_FD_NULL or RT_FD_PTY instead unless the caller's are
	   its own), or RT_FD_NULL, RT_FD_PTY */
	int stdin_fd, stdout_fd, stderr_fd;
	unsigned short tty_rows, tty_cols; /* window size of the RT_FD_PTY terminal */

	/* A descriptor the init keeps open as RT_INIT_HELD_FD for the container's life
	   (needs init; -1: none), for the caller to take back with pidfd_getfd after a
	   restart: rampd parks the read end of the app's output pipe there, so that the
	   app's writes have a reader even while rampd restarts. */
	int hold_fd;
};

/* The container's own /dev/null (a node in its /dev), never a descriptor of the host's. */
#define RT_FD_NULL (-2)
/* The slave of a pseudo-terminal made in the container's own devpts instance, the app's
   controlling terminal; its master comes back in rt_container.pty. Chmod, chown or
   anything else through it changes no host device. */
#define RT_FD_PTY (-3)
/* Where the init keeps spec->hold_fd. */
#define RT_INIT_HELD_FD 3

/* A started container. Fields are read-only for callers. */
struct rt_container {
	pid_t pid;     /* PID 1 of the container, in the caller's pid namespace */
	int pidfd;
	char *cgroup;  /* cgroup v2 directory, NULL when none was made */
	int cgroup_fd; /* -1 when none */
	char *user;    /* copy of spec->user, the default user of rt_exec */
	struct rt_rlimit *rlimits; /* copy of the spec's, applied to rt_exec's commands too */
	size_t n_rlimits;
	bool reaped;
	int status;    /* after rt_wait: exit status, or 128+signal */
	int pty;       /* master of the RT_FD_PTY terminal, -1 when none; the caller may take it */
};

/* Zero a spec and set the stdio fields and hold_fd to -1 (inherit, none). */
void rt_spec_init(struct rt_spec *s);

/* Start the container; returns once the app's execve succeeded, or fails with the
   reason the set-up stopped (nothing is left behind on failure). */
int rt_start(const struct rt_spec *s, struct rt_container *c, struct err *e);

/* Wait for PID 1 to exit; *status is its exit status or 128+signal. Removes the cgroup. */
int rt_wait(struct rt_container *c, int *status, struct err *e);

/* Send sig to PID 1, wait up to grace_ms for it to exit, then SIGKILL. Does not reap:
   call rt_wait for the status. Without an init, an app that has no handler for sig
   ignores it (the kernel protects a namespace's PID 1), so the grace runs out. */
int rt_stop(struct rt_container *c, int sig, unsigned grace_ms, struct err *e);

struct rt_exec_spec {
	const char *const *argv;
	const char *const *env; /* NULL-terminated, NULL for none */
	const char *cwd;        /* NULL: "/" */
	const char *user;       /* NULL: the container's user */
	int stdin_fd, stdout_fd, stderr_fd; /* -1: inherit the caller's, or RT_FD_NULL */
	unsigned timeout_ms;    /* 0: none; on expiry the process is killed, ETIMEDOUT */
};

/* Run a command inside the running container (same namespaces, cgroup, user lookup,
   rlimits, capabilities, seccomp, no_new_privs) and wait for it; *status as for rt_wait. */
int rt_exec(const struct rt_container *c, const struct rt_exec_spec *x, int *status, struct err *e);

/* Release descriptors and memory; kills and reaps a container still running. */
void rt_container_release(struct rt_container *c);

#endif
