/* container.c: start, wait for, stop and enter containers (see container.h).
 *
 * rt_start clones one child straight into new namespaces (and into its cgroup); that
 * child builds the tree, pivots into it, resolves the user in the image, and then
 * either execs the app or, with an init, forks the app and becomes the init. Set-up
 * errors come back over a close-on-exec pipe: end of file without a message means the
 * app's execve succeeded. The child never execs the runtime itself: the app's binary
 * comes from the image, and the runtime's memory image that runs the set-up (and the
 * init) is not dumpable, so processes of the container cannot open it through /proc
 * (the CVE-2019-5736 shape). */
#include "runtime/container.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/sched.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/pidfd.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "runtime/caps.h"
#include "runtime/cgroup.h"
#include "runtime/container_int.h"
#include "runtime/container_root.h"
#include "runtime/container_user.h"
#include "runtime/init.h"
#include "runtime/seccomp.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

#define MAX_FDS 1024 /* handed sockets */
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define NS_FLAGS (CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP)

int rt_cerr(struct err *e, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	e->errnum = errnum;
	return -1;
}

pid_t rt_clone(uint64_t flags, int *pidfd, int cgroup_fd)
{
	struct clone_args a = {
		.flags = flags | (pidfd ? CLONE_PIDFD : 0) | (cgroup_fd >= 0 ? CLONE_INTO_CGROUP : 0),
		.pidfd = (uintptr_t)pidfd,
		/* with CLONE_PARENT the child's exit signal is the caller's own */
		.exit_signal = flags & CLONE_PARENT ? 0 : SIGCHLD,
		.cgroup = cgroup_fd >= 0 ? (uint64_t)cgroup_fd : 0,
	};
	return (pid_t)syscall(SYS_clone3, &a, sizeof a);
}

/* Messages from the child side; each fits in PIPE_BUF, so one write is atomic. */
enum { MSG_ERR = 1, MSG_PID = 2 };
struct msg {
	int kind, errnum, pid;
	char text[1024];
};

static void send_msg(int fd, int kind, int pid, const struct err *e)
{
	struct msg m = {.kind = kind, .pid = pid};
	if (e) {
		m.errnum = e->errnum;
		size_t n = strnlen(e->msg, sizeof m.text - 1);
		memcpy(m.text, e->msg, n); /* a long message is cut, not lost */
	}
	while (write(fd, &m, sizeof m) < 0 && errno == EINTR)
		;
}

/* Read messages until every writer is gone. Returns -1 with e set when the child side
   reported an error; *pid receives a MSG_PID. */
static int read_msgs(int fd, pid_t *pid, struct err *e)
{
	int r = 0;
	for (;;) {
		struct msg m;
		ssize_t n = read(fd, &m, sizeof m);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_sys(e, "read from the container's set-up");
		if (n == 0)
			return r;
		if (n != (ssize_t)sizeof m)
			return err_set(e, "short message from the container's set-up");
		m.text[sizeof m.text - 1] = '\0';
		if (m.kind == MSG_PID && pid)
			*pid = m.pid;
		else if (m.kind == MSG_ERR && r == 0)
			r = m.errnum ? err_errno(e, m.errnum, "%s", m.text) : err_set(e, "%s", m.text);
	}
}

/* What the child needs to become the app process, prepared by the parent. */
struct proc {
	const char *const *argv;
	char **envp;       /* [LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES,] env..., HOME slot, NULL */
	size_t n_env;      /* entries before the HOME slot */
	bool add_home;     /* env has no HOME: set it from the user's passwd entry */
	bool listen;       /* envp[1] is the LISTEN_PID slot */
	char listen_pid[32];
	char home[RT_USER_LINE_MAX + 8];
	const char *path;  /* PATH to search argv[0] in */
	const char *cwd;
	const char *user;
	int stdio[3];      /* caller's fds, or RT_FD_NULL, RT_FD_PTY */
	int pty;           /* the slave of an RT_FD_PTY terminal, made in the child */
	const int *fds;
	size_t n_fds;
	const struct rt_rlimit *rlimits;
	size_t n_rlimits;
	uint64_t caps;
	const struct sock_fprog *seccomp;
	int msgfd;
	char *owned[2];    /* LISTEN_FDS and LISTEN_FDNAMES strings */
};

static void proc_free(struct proc *p)
{
	free(p->envp);
	free(p->owned[0]);
	free(p->owned[1]);
}

static int proc_prepare(struct proc *p, const char *const *argv, const char *const *env, const char *cwd,
			const char *user, const int stdio[3], const int *fds, const char *const *fd_names,
			size_t n_fds, struct err *e)
{
	memset(p, 0, sizeof *p);
	p->msgfd = -1;
	p->pty = -1;
	if (!argv || !argv[0] || !argv[0][0])
		return err_set(e, "no command to run");
	if (cwd && cwd[0] != '/')
		return err_set(e, "working directory \"%s\": expected an absolute path", cwd);
	if (n_fds > MAX_FDS)
		return err_set(e, "%zu sockets to hand over, more than %d", n_fds, MAX_FDS);
	for (int t = 0; t < 3; t++)
		if (stdio[t] < RT_FD_PTY)
			return err_set(e, "fd %d: %d is not a descriptor", t, stdio[t]);
	size_t n = 0;
	for (; env && env[n]; n++)
		if (!strchr(env[n], '=') || env[n][0] == '=')
			return err_set(e, "environment entry \"%s\": expected NAME=value", env[n]);
	if (!(p->envp = calloc(n + 5, sizeof *p->envp)))
		return err_errno(e, ENOMEM, "environment");
	size_t k = 0;
	if (n_fds > 0) {
		/* first, so that getenv finds these rather than stale ones from the image */
		size_t len = strlen("LISTEN_FDNAMES=") + 1;
		for (size_t i = 0; i < n_fds; i++) {
			const char *nm = fd_names && fd_names[i] ? fd_names[i] : "unknown";
			if (!*nm || strchr(nm, ':') || strlen(nm) > 255)
				return err_set(e, "socket name \"%s\": 1 to 255 characters, no ':'", nm);
			len += strlen(nm) + 1;
		}
		if (asprintf(&p->owned[0], "LISTEN_FDS=%zu", n_fds) < 0) {
			p->owned[0] = NULL;
			return err_errno(e, ENOMEM, "environment");
		}
		if (!(p->owned[1] = malloc(len)))
			return err_errno(e, ENOMEM, "environment");
		char *w = p->owned[1] + sprintf(p->owned[1], "LISTEN_FDNAMES=");
		for (size_t i = 0; i < n_fds; i++)
			w += sprintf(w, "%s%s", i ? ":" : "", fd_names && fd_names[i] ? fd_names[i] : "unknown");
		p->envp[k++] = p->owned[0];
		p->envp[k++] = p->listen_pid; /* filled in the child */
		p->envp[k++] = p->owned[1];
		p->listen = true;
	}
	p->add_home = true;
	p->path = DEFAULT_PATH;
	for (size_t i = 0; i < n; i++) {
		if (!strncmp(env[i], "HOME=", 5))
			p->add_home = false;
		if (!strncmp(env[i], "PATH=", 5))
			p->path = env[i] + 5;
		p->envp[k++] = (char *)env[i];
	}
	p->n_env = k;
	p->argv = argv;
	p->cwd = cwd ? cwd : "/";
	p->user = user;
	memcpy(p->stdio, stdio, sizeof p->stdio);
	p->fds = fds;
	p->n_fds = n_fds;
	if (rt_caps_default(&p->caps, e) < 0 || rt_seccomp_default(&p->seccomp, e) < 0)
		return -1;
	return 0;
}

/* Child side: stdio on 0-2, the handed sockets on 3.., the message pipe right after them
   (close-on-exec), everything else closed. Sources are first copied above every target
   so that no placement overwrites a source still needed. Runs inside the container's
   root, so RT_FD_NULL opens its own /dev/null. */
static int setup_fds(struct proc *p, struct err *e)
{
	int top = 3 + (int)p->n_fds;
	int src[3 + MAX_FDS];
	for (int t = 0; t < top; t++)
		src[t] = t < 3 ? p->stdio[t] : p->fds[t - 3];
	bool own[3] = {false, false, false};
	for (int t = 0; t < 3; t++) {
		if (src[t] == RT_FD_PTY)
			src[t] = p->pty;
		else if (src[t] == RT_FD_NULL && (own[t] = true) && (src[t] = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
			return rt_cerr(e, errno, "open the container's /dev/null as fd %d", t);
	}
	int hi = top;
	for (int t = 0; t < top; t++)
		if (src[t] >= hi)
			hi = src[t] + 1;
	if (p->msgfd >= hi)
		hi = p->msgfd + 1;
	for (int t = 0; t < top; t++) {
		int orig = src[t];
		if (src[t] >= 0 && (src[t] = fcntl(src[t], F_DUPFD_CLOEXEC, hi)) < 0)
			return rt_cerr(e, errno, "duplicate fd for %d", t);
		if (t < 3 && own[t])
			close(orig); /* its number may be one the caller left to inherit */
	}
	int msg = fcntl(p->msgfd, F_DUPFD_CLOEXEC, hi);
	if (msg < 0)
		return rt_cerr(e, errno, "duplicate the message fd");
	for (int t = 0; t < top; t++)
		if (src[t] >= 0 && dup2(src[t], t) < 0)
			return rt_cerr(e, errno, "dup2 to fd %d", t);
	/* a caller with closed stdio must not hand the app a random file as fd 0-2 */
	for (int t = 0; t < 3; t++) {
		if (fcntl(t, F_GETFD) >= 0)
			continue;
		int fd = open("/dev/null", O_RDWR);
		if (fd < 0 || (fd != t && (dup2(fd, t) < 0 || close(fd) < 0)))
			return rt_cerr(e, errno, "open /dev/null as fd %d", t);
	}
	if (dup3(msg, top, O_CLOEXEC) < 0)
		return rt_cerr(e, errno, "move the message fd");
	p->msgfd = top;
	if (close_range((unsigned)top + 1, ~0U, 0) < 0)
		return rt_cerr(e, errno, "close inherited fds");
	/* the terminal becomes the controlling one of a session of the app's own (under an
	   init the app is not the session's leader yet) */
	for (int t = 0; t < 3; t++) {
		if (p->stdio[t] != RT_FD_PTY)
			continue;
		if (getsid(0) != getpid() && setsid() < 0)
			return rt_cerr(e, errno, "setsid for the terminal");
		if (ioctl(t, TIOCSCTTY, 0) < 0)
			return rt_cerr(e, errno, "make the terminal the controlling one");
		break;
	}
	return 0;
}

/* The kernel's getcwd prefixes "(unreachable)" when the directory is outside the root. */
static int check_cwd(const char *cwd, struct err *e)
{
	char buf[PATH_MAX];
	if (chdir(cwd) < 0)
		return rt_cerr(e, errno, "working directory \"%s\"", cwd);
	long n = syscall(SYS_getcwd, buf, sizeof buf);
	if (n < 0)
		return rt_cerr(e, errno, "getcwd in \"%s\"", cwd);
	if (buf[0] != '/')
		return rt_cerr(e, 0, "working directory \"%s\" is outside the container's root", cwd);
	return 0;
}

static int exec_search(struct proc *p, struct err *e)
{
	const char *file = p->argv[0];
	char *const *argv = (char *const *)p->argv;
	if (strchr(file, '/')) {
		execve(file, argv, p->envp);
		return rt_cerr(e, errno, "exec \"%s\"", file);
	}
	int err = ENOENT;
	size_t flen = strlen(file);
	for (const char *d = p->path; d;) {
		const char *colon = strchr(d, ':');
		size_t dlen = colon ? (size_t)(colon - d) : strlen(d);
		char buf[PATH_MAX];
		if (dlen + flen + 2 <= sizeof buf) {
			/* an empty PATH element means the working directory */
			memcpy(buf, dlen ? d : ".", dlen ? dlen : 1);
			size_t o = dlen ? dlen : 1;
			buf[o] = '/';
			memcpy(buf + o + 1, file, flen + 1);
			execve(buf, argv, p->envp);
			if (errno == EACCES)
				err = EACCES;
			else if (errno != ENOENT && errno != ENOTDIR)
				return rt_cerr(e, errno, "exec \"%s\"", buf);
		}
		d = colon ? colon + 1 : NULL;
	}
	return rt_cerr(e, err, "exec \"%s\" (searched PATH=%s)", file, p->path);
}

/* Child side, as root with every capability, in the container's namespaces: become the
   app process. Never returns; on failure the error goes to the message pipe. */
static void __attribute__((noreturn)) proc_exec(struct proc *p, const struct rt_ids *ids)
{
	struct err e;
	if (setup_fds(p, &e) < 0)
		goto fail;
	for (size_t i = 0; i < p->n_rlimits; i++) {
		const struct rt_rlimit *l = &p->rlimits[i];
		struct rlimit rl = {.rlim_cur = l->soft, .rlim_max = l->hard};
		if (setrlimit(l->resource, &rl) < 0) {
			rt_cerr(&e, errno, "setrlimit %d to %llu/%llu", l->resource, (unsigned long long)l->soft,
				(unsigned long long)l->hard);
			goto fail;
		}
	}
	/* after the fds are closed, so that no inherited directory can be the cwd */
	if (check_cwd(p->cwd, &e) < 0)
		goto fail;
	size_t k = p->n_env;
	if (p->listen)
		snprintf(p->listen_pid, sizeof p->listen_pid, "LISTEN_PID=%d", (int)getpid());
	if (p->add_home) {
		snprintf(p->home, sizeof p->home, "HOME=%s", ids->home);
		p->envp[k++] = p->home;
	}
	p->envp[k] = NULL;
	umask(022);
	if (rt_caps_become(p->caps, ids, &e) < 0)
		goto fail;
	/* default actions and an empty mask for the app; handled signals reset on execve */
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (rt_seccomp_load(p->seccomp, &e) < 0)
		goto fail;
	exec_search(p, &e);
fail:
	send_msg(p->msgfd, MSG_ERR, 0, &e);
	_exit(127);
}

static int lo_up(struct err *e)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return rt_cerr(e, errno, "socket for lo");
	struct ifreq ifr = {0};
	strcpy(ifr.ifr_name, "lo");
	int r = ioctl(s, SIOCGIFFLAGS, &ifr);
	if (r == 0) {
		ifr.ifr_flags |= IFF_UP;
		r = ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	if (r < 0)
		rt_cerr(e, errno, "bring lo up");
	close(s);
	return r;
}

/* Child side: a terminal in the container's own devpts instance (mounted by
   rt_root_setup); its master goes to the caller over sock, its slave to p->pty. */
static int make_pty(const struct rt_spec *s, const struct rt_ids *ids, int sock, struct proc *p, struct err *e)
{
	int m = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC), unlock = 0, r = -1;
	if (m < 0)
		return rt_cerr(e, errno, "open the container's /dev/pts/ptmx");
	struct winsize ws = {.ws_row = s->tty_rows, .ws_col = s->tty_cols};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	char byte = 0;
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &m, sizeof m);
	/* TIOCGPTPEER opens the slave of this very master, whatever /dev/pts/N names */
	if (ioctl(m, TIOCSPTLCK, &unlock) < 0 || (p->pty = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0)
		rt_cerr(e, errno, "make a terminal in the container's /dev/pts");
	else if ((ws.ws_row || ws.ws_col) && ioctl(p->pty, TIOCSWINSZ, &ws) < 0)
		rt_cerr(e, errno, "set the terminal's size");
	else if (fchown(p->pty, ids->uid, (gid_t)-1) < 0)
		rt_cerr(e, errno, "give the terminal to uid %u", (unsigned)ids->uid);
	else if (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0)
		rt_cerr(e, errno, "hand the terminal to the caller");
	else
		r = 0;
	close(m);
	return r;
}

/* The master the child sent, or -1. */
static int recv_pty(int sock)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	char byte;
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
	int fd = -1;
	if (recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) < 0)
		return -1;
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(&fd, CMSG_DATA(c), sizeof fd);
	return fd;
}

struct start {
	const struct rt_spec *s;
	const struct rt_root_plan *plan;
	struct proc *proc;
	int pty_sock; /* the child's end, when a terminal is wanted */
};

/* Child side of rt_start: PID 1 of the new namespaces. */
static void __attribute__((noreturn)) start_child(struct start *st)
{
	const struct rt_spec *s = st->s;
	struct err e;
	struct rt_ids ids;
	sigset_t all;
	/* not dumpable: container processes cannot ptrace us or open our /proc entries */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	/* blocked until the app's exec; the init keeps them blocked and waits for them */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	/* a session of its own: the caller's terminal is not the container's controlling
	   one, so TIOCSTI cannot push input into it */
	if (setsid() < 0) {
		rt_cerr(&e, errno, "setsid");
		goto fail;
	}
	if (rt_root_setup(st->plan, &e) < 0)
		goto fail;
	if (s->hostname && sethostname(s->hostname, strlen(s->hostname)) < 0) {
		rt_cerr(&e, errno, "sethostname \"%s\"", s->hostname);
		goto fail;
	}
	if (s->private_net && lo_up(&e) < 0)
		goto fail;
	if (rt_user_resolve(s->user, &ids, &e) < 0)
		goto fail;
	if (st->pty_sock >= 0 && make_pty(s, &ids, st->pty_sock, st->proc, &e) < 0)
		goto fail;
	if (!s->init)
		proc_exec(st->proc, &ids);
	/* the app waits for one byte on go: it starts only once the init holds no more
	   than it keeps, so no app ever runs beside a fully privileged PID 1 (go[0] goes
	   at the app's exec, go[1] with the init's other descriptors below) */
	int go[2];
	if (pipe2(go, O_CLOEXEC) < 0) {
		rt_cerr(&e, errno, "pipe");
		goto fail;
	}
	pid_t app = rt_clone(0, NULL, -1);
	if (app < 0) {
		rt_cerr(&e, errno, "fork the app under the init");
		goto fail;
	}
	if (app == 0) {
		char c;
		ssize_t n;
		close(go[1]);
		while ((n = read(go[0], &c, 1)) < 0 && errno == EINTR)
			;
		if (n != 1) /* the init failed and reports it */
			_exit(126);
		proc_exec(st->proc, &ids);
	}
	close(go[0]);
	/* the init keeps only CAP_KILL (to forward signals to an app of any uid) */
	struct rt_ids root = {.uid = 0, .gid = 0, .n_groups = 0};
	if (rt_caps_become(UINT64_C(1) << CAP_KILL, &root, &e) < 0 || rt_seccomp_load(st->proc->seccomp, &e) < 0)
		goto fail;
	if (write(go[1], "", 1) != 1) {
		rt_cerr(&e, errno, "start the app");
		goto fail;
	}
	/* nothing of the caller's stays open in the init, including the message pipe, but
	   what it holds for the caller */
	if (s->hold_fd >= 0 && dup2(s->hold_fd, RT_INIT_HELD_FD) < 0) {
		rt_cerr(&e, errno, "hold fd %d", s->hold_fd);
		goto fail;
	}
	if (s->hold_fd >= 0) {
		close_range(0, RT_INIT_HELD_FD - 1, 0);
		close_range(RT_INIT_HELD_FD + 1, ~0U, 0);
	} else {
		close_range(0, ~0U, 0);
	}
	rt_init_run(app);
fail:
	send_msg(st->proc->msgfd, MSG_ERR, 0, &e);
	_exit(126);
}

static void kill_and_reap(pid_t pid, int pidfd)
{
	siginfo_t si;
	syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
	while (waitid(P_PID, (id_t)pid, &si, WEXITED) < 0 && errno == EINTR)
		;
}

void rt_spec_init(struct rt_spec *s)
{
	memset(s, 0, sizeof *s);
	s->stdin_fd = s->stdout_fd = s->stderr_fd = -1;
	s->hold_fd = -1;
}

int rt_start(const struct rt_spec *s, struct rt_container *c, struct err *e)
{
	static unsigned seq;
	memset(c, 0, sizeof *c);
	c->pid = -1;
	c->pidfd = -1;
	c->cgroup_fd = -1;
	c->pty = -1;

	struct proc proc;
	struct rt_root_plan plan = {0};
	struct rt_cgroup cg = {.path = NULL, .fd = -1};
	int pipefd[2] = {-1, -1}, ptysock[2] = {-1, -1};
	int r = -1;
	int stdio[3] = {s->stdin_fd, s->stdout_fd, s->stderr_fd};
	bool pty = stdio[0] == RT_FD_PTY || stdio[1] == RT_FD_PTY || stdio[2] == RT_FD_PTY;
	if (proc_prepare(&proc, s->argv, s->env, s->cwd, s->user, stdio, s->fds, s->fd_names, s->n_fds, e) < 0)
		goto out;
	if (s->hold_fd >= 0 && !s->init) {
		err_set(e, "holding a descriptor needs the init");
		goto out;
	}
	if (pty && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ptysock) < 0) {
		err_sys(e, "socketpair for the terminal");
		goto out;
	}
	proc.rlimits = s->rlimits;
	proc.n_rlimits = s->n_rlimits;
	if (rt_root_plan(s, &plan, e) < 0)
		goto out;
	if ((s->user && !(c->user = strdup(s->user))) ||
	    (s->n_rlimits && !(c->rlimits = malloc(s->n_rlimits * sizeof *s->rlimits)))) {
		err_errno(e, ENOMEM, "container");
		goto out;
	}
	if (s->n_rlimits)
		memcpy(c->rlimits, s->rlimits, s->n_rlimits * sizeof *s->rlimits);
	c->n_rlimits = s->n_rlimits;

	struct rt_cgroup_limits lim = {s->memory_max, s->cpu_max_quota_us, s->cpu_max_period_us, s->pids_max};
	if (s->memory_max || s->cpu_max_quota_us || s->pids_max || s->cgroup_parent) {
		_cleanup_free_ char *v2 = NULL;
		char name[64];
		if (rt_cgroup_v2_mount(&v2, e) < 0)
			goto out;
		snprintf(name, sizeof name, "ramp-%d-%u", (int)getpid(), __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED));
		if (rt_cgroup_create(v2, s->cgroup_parent ? s->cgroup_parent : "ramp", s->cgroup_parent != NULL,
					  s->name ? s->name : name, &lim, &cg, e) < 0)
			goto out;
	}

	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		err_sys(e, "pipe");
		goto out;
	}
	proc.msgfd = pipefd[1];
	struct start st = {s, &plan, &proc, ptysock[1]};
	pid_t pid = rt_clone(NS_FLAGS | (s->private_net ? CLONE_NEWNET : 0), &c->pidfd, cg.fd);
	if (pid < 0) {
		err_sys(e, "clone3 into new namespaces");
		goto out;
	}
	if (pid == 0)
		start_child(&st);
	c->pid = pid;
	close(pipefd[1]);
	pipefd[1] = -1;
	if (ptysock[1] >= 0)
		close(steal_fd(ptysock[1]));
	int rm = read_msgs(pipefd[0], NULL, e);
	if (rm == 0 && pty && (c->pty = recv_pty(ptysock[0])) < 0)
		rm = err_set(e, "no terminal came back from the container's set-up");
	if (rm < 0) {
		kill_and_reap(pid, c->pidfd);
		c->reaped = true;
		goto out;
	}
	c->cgroup = steal_ptr(cg.path);
	c->cgroup_fd = steal_fd(cg.fd);
	r = 0;
out:
	for (int i = 0; i < 2; i++) {
		if (pipefd[i] >= 0)
			close(pipefd[i]);
		if (ptysock[i] >= 0)
			close(ptysock[i]);
	}
	proc_free(&proc);
	rt_root_plan_free(&plan);
	if (r < 0) {
		struct err ignored;
		rt_cgroup_destroy(&cg, &ignored);
		rt_container_release(c);
		err_ctx(e, "start container");
	}
	return r;
}

int rt_wait(struct rt_container *c, int *status, struct err *e)
{
	if (!c->reaped) {
		siginfo_t si;
		while (waitid((idtype_t)P_PIDFD, (id_t)c->pidfd, &si, WEXITED) < 0)
			if (errno != EINTR)
				return err_sys(e, "wait for container pid %d", (int)c->pid);
		c->reaped = true;
		c->status = si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
	}
	*status = c->status;
	struct rt_cgroup cg = {.path = steal_ptr(c->cgroup), .fd = steal_fd(c->cgroup_fd)};
	return rt_cgroup_destroy(&cg, e);
}

/* Wait until the process of pidfd exits (without reaping it); 0 on exit, 1 on timeout. */
static int wait_exit(int pidfd, int timeout_ms, struct err *e)
{
	struct pollfd p = {.fd = pidfd, .events = POLLIN};
	for (;;) {
		int n = poll(&p, 1, timeout_ms);
		if (n > 0)
			return 0;
		if (n == 0)
			return 1;
		if (errno != EINTR)
			return err_sys(e, "poll pidfd");
	}
}

int rt_stop(struct rt_container *c, int sig, unsigned grace_ms, struct err *e)
{
	if (c->reaped)
		return 0;
	if (syscall(SYS_pidfd_send_signal, c->pidfd, sig, NULL, 0) < 0 && errno != ESRCH)
		return err_sys(e, "send signal %d to container pid %d", sig, (int)c->pid);
	int r = wait_exit(c->pidfd, grace_ms > INT_MAX ? INT_MAX : (int)grace_ms, e);
	if (r <= 0)
		return r;
	if (syscall(SYS_pidfd_send_signal, c->pidfd, SIGKILL, NULL, 0) < 0 && errno != ESRCH)
		return err_sys(e, "kill container pid %d", (int)c->pid);
	return wait_exit(c->pidfd, -1, e);
}

/* Child side of rt_exec (process A): join the container's namespaces, fork the command
   into its pid namespace as a child of rt_exec's caller (CLONE_PARENT), report its pid. */
static void __attribute__((noreturn)) exec_child(const struct rt_container *c, struct proc *p)
{
	struct err e;
	struct rt_ids ids;
	sigset_t all;
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	if (setns(c->pidfd, NS_FLAGS | CLONE_NEWNET) < 0) {
		rt_cerr(&e, errno, "join the namespaces of container pid %d", (int)c->pid);
		goto fail;
	}
	pid_t pid = rt_clone(CLONE_PARENT, NULL, -1);
	if (pid < 0) {
		rt_cerr(&e, errno, "fork into the container");
		goto fail;
	}
	if (pid == 0) {
		if (setsid() < 0)
			rt_cerr(&e, errno, "setsid");
		else if (rt_user_resolve(p->user, &ids, &e) == 0)
			proc_exec(p, &ids);
		send_msg(p->msgfd, MSG_ERR, 0, &e);
		_exit(127);
	}
	send_msg(p->msgfd, MSG_PID, pid, NULL);
	_exit(0);
fail:
	send_msg(p->msgfd, MSG_ERR, 0, &e);
	_exit(126);
}

int rt_exec(const struct rt_container *c, const struct rt_exec_spec *x, int *status, struct err *e)
{
	struct proc proc;
	int pipefd[2] = {-1, -1};
	int stdio[3] = {x->stdin_fd, x->stdout_fd, x->stderr_fd};
	int r = -1;
	pid_t cmd = -1;
	_cleanup_close_ int cmdfd = -1;
	if (proc_prepare(&proc, x->argv, x->env, x->cwd, x->user ? x->user : c->user, stdio, NULL, NULL, 0, e) < 0)
		goto out;
	if (stdio[0] == RT_FD_PTY || stdio[1] == RT_FD_PTY || stdio[2] == RT_FD_PTY) {
		err_set(e, "a terminal is only made at the container's start");
		goto out;
	}
	proc.rlimits = c->rlimits;
	proc.n_rlimits = c->n_rlimits;
	if (c->reaped || c->pidfd < 0) {
		err_set(e, "the container is not running");
		goto out;
	}
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		err_sys(e, "pipe");
		goto out;
	}
	proc.msgfd = pipefd[1];
	pid_t helper = rt_clone(0, NULL, c->cgroup_fd);
	if (helper < 0) {
		err_sys(e, "clone3");
		goto out;
	}
	if (helper == 0)
		exec_child(c, &proc);
	close(pipefd[1]);
	pipefd[1] = -1;
	siginfo_t si;
	while (waitid(P_PID, (id_t)helper, &si, WEXITED) < 0 && errno == EINTR)
		;
	int rm = read_msgs(pipefd[0], &cmd, e);
	if (cmd > 0 && (cmdfd = pidfd_open(cmd, 0)) < 0) {
		/* cannot happen for our own unreaped child; reap it rather than leak it */
		kill(cmd, SIGKILL);
		while (waitid(P_PID, (id_t)cmd, &si, WEXITED) < 0 && errno == EINTR)
			;
		err_sys(e, "pidfd_open %d", (int)cmd);
		goto out;
	}
	if (rm < 0) {
		if (cmdfd >= 0)
			kill_and_reap(cmd, cmdfd);
		goto out;
	}
	if (cmdfd < 0) {
		err_set(e, "no command process was started");
		goto out;
	}
	int w = wait_exit(cmdfd, x->timeout_ms ? (int)(x->timeout_ms > INT_MAX ? INT_MAX : x->timeout_ms) : -1, e);
	if (w != 0) {
		kill_and_reap(cmd, cmdfd);
		if (w == 1)
			err_errno(e, ETIMEDOUT, "command did not finish within %u ms", x->timeout_ms);
		goto out;
	}
	while (waitid(P_PID, (id_t)cmd, &si, WEXITED) < 0 && errno == EINTR)
		;
	*status = si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
	r = 0;
out:
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	proc_free(&proc);
	if (r < 0)
		err_ctx(e, "exec in container pid %d", (int)c->pid);
	return r;
}

void rt_container_release(struct rt_container *c)
{
	if (c->pidfd >= 0) {
		if (!c->reaped)
			kill_and_reap(c->pid, c->pidfd);
		close(c->pidfd);
	}
	c->pidfd = -1;
	c->reaped = true;
	if (c->pty >= 0)
		close(c->pty);
	c->pty = -1;
	struct err ignored;
	struct rt_cgroup cg = {.path = steal_ptr(c->cgroup), .fd = steal_fd(c->cgroup_fd)};
	rt_cgroup_destroy(&cg, &ignored);
	free(c->user);
	free(c->rlimits);
	c->user = NULL;
	c->rlimits = NULL;
}
