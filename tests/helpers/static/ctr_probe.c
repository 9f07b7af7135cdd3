/* ctr_probe.c: a static program the container tests run inside a container to look at
 * it from within. Built with `cc -static` by the tests (tests/integration/container_*.bats);
 * it lives in its own directory because the programs directly in tests/helpers are
 * built for the host.
 *
 *   ctr_probe syscalls   one "name=ERRNO" (or "name=ok") per line for calls that must be refused
 *   ctr_probe namespaces "CALL_FLAG=ERRNO" (or "=ok") for unshare, clone and clone3 with
 *                        each namespace flag on its own
 *   ctr_probe fds        the open fds, space separated
 *   ctr_probe cwd        the kernel's getcwd (starts with "(unreachable)" outside the root)
 *   ctr_probe exe DEV:INO  "reachable PID" for each /proc/PID/exe that opens to that file,
 *                        then "write-self=ERRNO" and "write-parent=ERRNO"
 *   ctr_probe ids        "uid=U euid=E gid=G egid=H groups=A,B"
 *   ctr_probe orphan     leaves an orphan that exits after 100 ms, waits, prints "zombies N"
 *   ctr_probe listen     what the LISTEN_* variables and fds 3.. say
 *   ctr_probe sleep MS   sleep, then exit 0
 *   ctr_probe stdio      attacks the host files behind fds 0-2 through /proc/self/fd/N: chmod
 *                        to a setuid 06777, chown, truncate, reopen for writing, write a copy
 *                        of itself there, F_SETFL without O_APPEND and a write at offset 0,
 *                        F_SETOWN, ftruncate; then "stdio NAME=RESULT ..." on stderr
 *   ctr_probe vsock      "vsock=RESULT vsock_hi=RESULT inet=RESULT": socket(AF_VSOCK), the
 *                        same with bits above the int's 32 set, and socket(AF_INET)
 *   ctr_probe connect ADDR...  "connect ADDR=RESULT" for tcp:IP:PORT and unix:@ABSTRACT
 *   ctr_probe serve      answers HTTP "200 ok" on the handed socket (fd 3) forever */
#include <dirent.h>
#include <signal.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/sched.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <linux/vm_sockets.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/timex.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

static void report(const char *name, long r)
{
	if (r < 0)
		printf("%s=%s\n", name, strerrorname_np(errno));
	else
		printf("%s=ok\n", name);
}

static int syscalls(void)
{
	struct timespec bad = {.tv_sec = 0, .tv_nsec = -1};
	struct timex tx = {.modes = 0};
	union bpf_attr attr;
	struct perf_event_attr pe;
	memset(&attr, 0, sizeof attr);
	memset(&pe, 0, sizeof pe);
	pe.size = sizeof pe;
	pe.type = PERF_TYPE_SOFTWARE;
	pe.config = PERF_COUNT_SW_CPU_CLOCK;
	char params[120] = {0};
	/* each call is harmless when it is allowed: invalid arguments or a read-only mode */
	report("mount", mount("none", "/tmp", "tmpfs", 0, NULL));
	report("umount2", syscall(SYS_umount2, "/proc", MNT_DETACH));
	report("reboot", syscall(SYS_reboot, 0, 0, 0, NULL));
	report("init_module", syscall(SYS_init_module, NULL, 0, ""));
	report("finit_module", syscall(SYS_finit_module, -1, "", 0));
	report("delete_module", syscall(SYS_delete_module, "ramp_no_such_module", 0));
	report("settimeofday", syscall(SYS_settimeofday, NULL, NULL));
	report("clock_settime", syscall(SYS_clock_settime, CLOCK_REALTIME, &bad));
	report("adjtimex", syscall(SYS_adjtimex, &tx));
	report("kexec_load", syscall(SYS_kexec_load, 0, 0, NULL, 0));
	report("bpf", syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr));
	report("perf_event_open", syscall(SYS_perf_event_open, &pe, 0, -1, -1, 0));
	report("ptrace", syscall(SYS_ptrace, PTRACE_PEEKDATA, 1, NULL, NULL));
	report("unshare", syscall(SYS_unshare, CLONE_NEWUSER));
	report("clone_newns", syscall(SYS_clone, CLONE_NEWNS | SIGCHLD, NULL, NULL, NULL, 0));
	report("keyctl", syscall(SYS_keyctl, 0, 0, 0, 0, 0));
	report("open_by_handle_at", syscall(SYS_open_by_handle_at, -1, NULL, 0));
	report("io_uring_setup", syscall(SYS_io_uring_setup, 1, params));
	report("getpid", syscall(SYS_getpid));
	return 0;
}

enum ns_call { NS_UNSHARE, NS_CLONE, NS_CLONE3 };

/* One call in a child of its own, so that a call that gets through changes nothing for
 * the next; a process it created exits at once. */
static void ns_try(const char *name, enum ns_call call, unsigned long flag)
{
	pid_t p = fork();
	if (p == 0) {
		struct clone_args ca = {.flags = flag, .exit_signal = SIGCHLD};
		long r = call == NS_UNSHARE ? syscall(SYS_unshare, flag)
			 : call == NS_CLONE ? syscall(SYS_clone, flag | SIGCHLD, NULL, NULL, NULL, 0)
					    : syscall(SYS_clone3, &ca, sizeof ca);
		if (r == 0 && call != NS_UNSHARE)
			_exit(0);
		int saved = errno;
		if (r > 0)
			waitpid((pid_t)r, NULL, 0);
		errno = saved;
		report(name, r);
		_exit(0);
	}
	if (p > 0)
		waitpid(p, NULL, 0);
}

static int namespaces(void)
{
	static const struct {
		const char *name;
		unsigned long flag;
	} ns[] = {
		{"newns", CLONE_NEWNS},	  {"newuts", CLONE_NEWUTS},	{"newipc", CLONE_NEWIPC},
		{"newuser", CLONE_NEWUSER}, {"newpid", CLONE_NEWPID},	{"newnet", CLONE_NEWNET},
		{"newcgroup", CLONE_NEWCGROUP}, {"newtime", CLONE_NEWTIME},
	};
	char name[64];
	for (size_t i = 0; i < sizeof ns / sizeof *ns; i++) {
		snprintf(name, sizeof name, "unshare_%s", ns[i].name);
		ns_try(name, NS_UNSHARE, ns[i].flag);
		/* clone's low byte is the exit signal: CLONE_NEWTIME exists for unshare and clone3 only */
		if (ns[i].flag != CLONE_NEWTIME) {
			snprintf(name, sizeof name, "clone_%s", ns[i].name);
			ns_try(name, NS_CLONE, ns[i].flag);
		}
		snprintf(name, sizeof name, "clone3_%s", ns[i].name);
		ns_try(name, NS_CLONE3, ns[i].flag);
	}
	return 0;
}

static int fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return perror("opendir"), 1;
	for (struct dirent *de; (de = readdir(d));)
		if (de->d_name[0] != '.' && atoi(de->d_name) != dirfd(d))
			printf("%s ", de->d_name);
	printf("\n");
	closedir(d);
	return 0;
}

static int cwd(void)
{
	char buf[4096];
	if (syscall(SYS_getcwd, buf, sizeof buf) < 0)
		return perror("getcwd"), 1;
	printf("%s\n", buf);
	return 0;
}

static int exe(const char *devino)
{
	unsigned long long dev, ino;
	if (sscanf(devino, "%llu:%llu", &dev, &ino) != 2)
		return fprintf(stderr, "exe DEV:INO\n"), 2;
	DIR *d = opendir("/proc");
	for (struct dirent *de; d && (de = readdir(d));) {
		char p[300];
		struct stat st;
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(p, sizeof p, "/proc/%s/exe", de->d_name);
		int fd = open(p, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == dev && st.st_ino == ino)
			printf("reachable %s\n", de->d_name);
		if (fd >= 0)
			close(fd);
	}
	if (d)
		closedir(d);
	char p[64];
	report("write-self", open("/proc/self/exe", O_WRONLY | O_CLOEXEC));
	snprintf(p, sizeof p, "/proc/%d/exe", (int)getppid());
	report("write-parent", open(p, O_WRONLY | O_CLOEXEC));
	return 0;
}

static int ids(void)
{
	gid_t g[64];
	int n = getgroups(64, g);
	printf("uid=%d euid=%d gid=%d egid=%d groups=", (int)getuid(), (int)geteuid(), (int)getgid(), (int)getegid());
	for (int i = 0; i < n; i++)
		printf("%s%d", i ? "," : "", (int)g[i]);
	printf("\n");
	return 0;
}

static int count_zombies(void)
{
	int n = 0;
	DIR *d = opendir("/proc");
	for (struct dirent *de; d && (de = readdir(d));) {
		char p[300], buf[512];
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(p, sizeof p, "/proc/%s/stat", de->d_name);
		FILE *f = fopen(p, "re");
		if (f && fgets(buf, sizeof buf, f)) {
			char *rp = strrchr(buf, ')');
			n += rp && rp[1] == ' ' && rp[2] == 'Z';
		}
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
	return n;
}

static int orphan(void)
{
	pid_t c = fork();
	if (c == 0) {
		if (fork() == 0) {
			usleep(100000);
			_exit(0);
		}
		_exit(0); /* the grandchild is re-parented to PID 1 */
	}
	waitpid(c, NULL, 0);
	usleep(400000);
	printf("zombies %d\n", count_zombies());
	return 0;
}

static int listen_fds(void)
{
	const char *n = getenv("LISTEN_FDS"), *p = getenv("LISTEN_PID"), *names = getenv("LISTEN_FDNAMES");
	printf("LISTEN_FDS=%s LISTEN_PID=%s self=%d LISTEN_FDNAMES=%s\n", n ? n : "", p ? p : "", (int)getpid(),
	       names ? names : "");
	for (int fd = 3; n && fd < 3 + atoi(n); fd++) {
		int acc = 0;
		socklen_t len = sizeof acc;
		struct sockaddr_in a;
		socklen_t alen = sizeof a;
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) < 0 ||
		    getsockname(fd, (struct sockaddr *)&a, &alen) < 0) {
			printf("fd%d error %s\n", fd, strerrorname_np(errno));
			continue;
		}
		printf("fd%d listening=%d port=%d\n", fd, acc, ntohs(a.sin_port));
	}
	return 0;
}

/* one result word per attempt, appended to out */
static void note(char *out, size_t cap, const char *name, long r)
{
	size_t n = strlen(out);
	snprintf(out + n, cap - n, " %s=%s", name, r < 0 ? strerrorname_np(errno) : "ok");
}

static int stdio_attack(void)
{
	static char out[8192];
	char self[1 << 16];
	int sfd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	ssize_t self_len = sfd >= 0 ? read(sfd, self, sizeof self) : -1;
	for (int fd = 0; fd < 3; fd++) {
		char p[32], name[32];
		snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
#define TRY(what, call) (snprintf(name, sizeof name, "%s%d", what, fd), note(out, sizeof out, name, (long)(call)))
		TRY("chmod", chmod(p, 06777));
		TRY("chown", chown(p, 4242, 4242));
		TRY("truncate", truncate(p, 0));
		/* non-blocking: into a pipe nobody drains (its own stdin) the copy must not hang */
		int w = open(p, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NONBLOCK);
		TRY("reopen", w);
		if (w >= 0) {
			/* a copy of a binary, made setuid root: the shape of the review's finding */
			TRY("copy", self_len > 0 ? write(w, self, (size_t)self_len) : -1);
			TRY("setuid", fchmod(w, 04755));
			close(w);
		}
		int fl = fcntl(fd, F_GETFL);
		TRY("noappend", fl >= 0 ? fcntl(fd, F_SETFL, fl & ~O_APPEND) : -1);
		static const char forged[] = "1970-01-01T00:00:00Z rampd: forged\n";
		if (lseek(fd, 0, SEEK_SET) == 0)
			TRY("forge", write(fd, forged, sizeof forged - 1));
		TRY("setown", fcntl(fd, F_SETOWN, getpid()));
		TRY("ftruncate", ftruncate(fd, 0));
#undef TRY
	}
	fprintf(stderr, "stdio%s\n", out);
	return 0;
}

static int vsock(void)
{
	char out[256] = "";
	int s = socket(AF_VSOCK, SOCK_STREAM, 0);
	note(out, sizeof out, "vsock", s);
	/* the kernel takes the family as an int: bits above it must not get past the filter */
	s = (int)syscall(SYS_socket, (1UL << 32) | AF_VSOCK, SOCK_STREAM, 0);
	note(out, sizeof out, "vsock_hi", s);
	s = socket(AF_INET, SOCK_STREAM, 0);
	note(out, sizeof out, "inet", s);
	printf("%s\n", out + 1);
	return 0;
}

static int connect_to(int n, char **addrs)
{
	for (int i = 0; i < n; i++) {
		const char *a = addrs[i];
		int s = -1, r = -1;
		if (!strncmp(a, "tcp:", 4)) {
			struct sockaddr_in in = {.sin_family = AF_INET};
			char ip[64];
			int port;
			if (sscanf(a + 4, "%63[^:]:%d", ip, &port) == 2 && inet_pton(AF_INET, ip, &in.sin_addr) == 1) {
				in.sin_port = htons((unsigned short)port);
				s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
				r = s < 0 ? -1 : connect(s, (struct sockaddr *)&in, sizeof in);
			} else {
				errno = EINVAL;
			}
		} else if (!strncmp(a, "unix:@", 6)) {
			struct sockaddr_un un = {.sun_family = AF_UNIX};
			size_t l = strlen(a + 6);
			memcpy(un.sun_path + 1, a + 6, l < sizeof un.sun_path - 1 ? l : sizeof un.sun_path - 2);
			s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
			r = s < 0 ? -1 : connect(s, (struct sockaddr *)&un, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + l));
		} else {
			errno = EINVAL;
		}
		printf("connect %s=%s\n", a, r < 0 ? strerrorname_np(errno) : "ok");
		if (s >= 0)
			close(s);
	}
	return 0;
}

static int serve(void)
{
	static const char reply[] = "HTTP/1.0 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n";
	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		int c = accept4(3, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return perror("accept on fd 3"), 1;
		}
		char buf[4096];
		if (read(c, buf, sizeof buf) > 0 && write(c, reply, sizeof reply - 1) < 0)
			perror("write");
		close(c);
	}
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	const char *cmd = argc > 1 ? argv[1] : "";
	if (!strcmp(cmd, "syscalls"))
		return syscalls();
	if (!strcmp(cmd, "namespaces"))
		return namespaces();
	if (!strcmp(cmd, "fds"))
		return fds();
	if (!strcmp(cmd, "cwd"))
		return cwd();
	if (!strcmp(cmd, "exe") && argc > 2)
		return exe(argv[2]);
	if (!strcmp(cmd, "ids"))
		return ids();
	if (!strcmp(cmd, "orphan"))
		return orphan();
	if (!strcmp(cmd, "listen"))
		return listen_fds();
	if (!strcmp(cmd, "sleep") && argc > 2)
		return usleep((useconds_t)atoi(argv[2]) * 1000), 0;
	if (!strcmp(cmd, "stdio"))
		return stdio_attack();
	if (!strcmp(cmd, "vsock"))
		return vsock();
	if (!strcmp(cmd, "connect"))
		return connect_to(argc - 2, argv + 2);
	if (!strcmp(cmd, "serve"))
		return serve();
	fprintf(stderr, "usage: ctr_probe syscalls|namespaces|fds|cwd|exe DEV:INO|ids|orphan|listen|sleep MS|stdio|vsock|"
			"connect ADDR...|serve\n");
	return 2;
}
