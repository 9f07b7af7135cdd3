/* seccomp.c: the default filter, compiled once with libseccomp, exported as BPF and
 * loaded with seccomp(2) in the child (see seccomp.h). */
#include "runtime/seccomp.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "runtime/container_int.h"

/* Allowed without conditions. Names unknown on an architecture are skipped. */
static const char *const allowed[] = {
	"_llseek", "_newselect", "accept", "accept4", "access", "alarm", "arch_prctl", "bind", "brk",
	"cachestat", "capget", "capset", "chdir", "chmod", "chown", "chown32", "chroot", "clock_getres",
	"clock_getres_time64", "clock_gettime", "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64",
	"close", "close_range", "connect", "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create",
	"epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait",
	"epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat", "exit", "exit_group", "faccessat",
	"faccessat2", "fadvise64", "fadvise64_64", "fallocate", "fanotify_mark", "fchdir", "fchmod",
	"fchmodat", "fchmodat2", "fchown", "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync",
	"fgetxattr", "flistxattr", "flock", "fork", "fremovexattr", "fsetxattr", "fstat", "fstat64",
	"fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate", "ftruncate64", "futex", "futex_requeue",
	"futex_time64", "futex_wait", "futex_waitv", "futex_wake", "futimesat", "get_robust_list",
	"get_thread_area", "getcpu", "getcwd", "getdents", "getdents64", "getegid", "getegid32", "geteuid",
	"geteuid32", "getgid", "getgid32", "getgroups", "getgroups32", "getitimer", "getpeername", "getpgid",
	"getpgrp", "getpid", "getppid", "getpriority", "getrandom", "getresgid", "getresgid32", "getresuid",
	"getresuid32", "getrlimit", "getrusage", "getsid", "getsockname", "getsockopt", "gettid",
	"gettimeofday", "getuid", "getuid32", "getxattr", "inotify_add_watch", "inotify_init",
	"inotify_init1", "inotify_rm_watch", "io_cancel", "io_destroy", "io_getevents", "io_pgetevents",
	"io_pgetevents_time64", "io_setup", "io_submit", "ioctl", "ioprio_get", "ioprio_set", "ipc", "kill",
	"landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "lchown", "lchown32",
	"lgetxattr", "link", "linkat", "listen", "listxattr", "llistxattr", "lremovexattr", "lseek",
	"lsetxattr", "lstat", "lstat64", "madvise", "membarrier", "memfd_create", "mincore", "mkdir",
	"mkdirat", "mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap", "mmap2", "mprotect",
	"mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend",
	"mq_timedsend_time64", "mq_unlink", "mremap", "msgctl", "msgget", "msgrcv", "msgsnd", "msync",
	"munlock", "munlockall", "munmap", "name_to_handle_at", "nanosleep", "newfstatat", "open", "openat",
	"openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc", "pkey_free",
	"pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl", "pread64", "preadv", "preadv2",
	"prlimit64", "process_mrelease", "pselect6", "pselect6_time64", "pwrite64", "pwritev", "pwritev2",
	"read", "readahead", "readlink", "readlinkat", "readv", "recv", "recvfrom", "recvmmsg",
	"recvmmsg_time64", "recvmsg", "remap_file_pages", "removexattr", "rename", "renameat", "renameat2",
	"restart_syscall", "rmdir", "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask",
	"rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64",
	"rt_tgsigqueueinfo", "sched_get_priority_max", "sched_get_priority_min", "sched_getaffinity",
	"sched_getattr", "sched_getparam", "sched_getscheduler", "sched_rr_get_interval",
	"sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr", "sched_setparam",
	"sched_setscheduler", "sched_yield", "seccomp", "select", "semctl", "semget", "semop", "semtimedop",
	"semtimedop_time64", "send", "sendfile", "sendfile64", "sendmmsg", "sendmsg", "sendto",
	"set_robust_list", "set_thread_area", "set_tid_address", "setfsgid", "setfsgid32", "setfsuid",
	"setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32", "setitimer", "setpgid",
	"setpriority", "setregid", "setregid32", "setresgid", "setresgid32", "setresuid", "setresuid32",
	"setreuid", "setreuid32", "setrlimit", "setsid", "setsockopt", "setuid", "setuid32", "setxattr",
	"shmat", "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd", "signalfd4",
	"sigprocmask", "sigreturn", "socketcall", "socketpair", "splice", "stat", "stat64",
	"statfs", "statfs64", "statx", "symlink", "symlinkat", "sync", "sync_file_range", "syncfs",
	"sysinfo", "tee", "tgkill", "time", "timer_create", "timer_delete", "timer_getoverrun",
	"timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64", "timerfd_create",
	"timerfd_gettime", "timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "times", "tkill",
	"truncate", "truncate64", "ugetrlimit", "umask", "uname", "unlink", "unlinkat", "utime",
	"utimensat", "utimensat_time64", "utimes", "vfork", "vmsplice", "wait4", "waitid", "waitpid",
	"write", "writev",
};

/* Refused with EPERM: these change the host (clock, modules, mounts, reboot, swap,
   accounting), widen the kernel's attack surface (bpf, perf, userfaultfd, keyrings,
   new namespaces) or inspect other processes (ptrace, process_vm_*, kcmp). */
static const char *const refused[] = {
	"acct", "add_key", "adjtimex", "bpf", "clock_adjtime", "clock_adjtime64", "clock_settime",
	"clock_settime64", "create_module", "delete_module", "finit_module", "fsconfig", "fsmount",
	"fsopen", "fspick", "get_kernel_syms", "init_module", "ioperm", "iopl", "kcmp",
	"kexec_file_load", "kexec_load", "keyctl", "lookup_dcookie", "mount", "mount_setattr",
	"move_mount", "nfsservctl", "open_by_handle_at", "open_tree", "perf_event_open", "pidfd_getfd",
	"pivot_root", "process_vm_readv", "process_vm_writev", "ptrace", "query_module", "quotactl",
	"quotactl_fd", "reboot", "request_key", "setdomainname", "sethostname", "setns", "settimeofday",
	"stime", "swapoff", "swapon", "_sysctl", "syslog", "umount", "umount2", "unshare", "uselib",
	"userfaultfd", "ustat", "vhangup", "vm86", "vm86old",
};

/* personality(2) values podman allows: PER_LINUX, PER_LINUX32, UNAME26 variants, query. */
static const unsigned long personalities[] = {0x0, 0x8, 0x20000, 0x20008, 0xffffffff};

#define NS_FLAGS                                                                                   \
	(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | \
	 CLONE_NEWCGROUP)

/* A condition on the first argument (the SCMP_A0 macro leaves fields unset for clang) */
static struct scmp_arg_cmp a0(enum scmp_compare op, uint64_t a, uint64_t b)
{
	return (struct scmp_arg_cmp){.arg = 0, .op = op, .datum_a = a, .datum_b = b};
}

static int add(scmp_filter_ctx ctx, uint32_t action, const char *name, unsigned n, const struct scmp_arg_cmp *cmp,
	       struct err *e)
{
	int nr = seccomp_syscall_resolve_name(name);
	if (nr == __NR_SCMP_ERROR)
		return 0; /* not a system call of this architecture or libseccomp version */
	int r = seccomp_rule_add_array(ctx, action, nr, n, cmp);
	if (r < 0)
		return err_errno(e, -r, "seccomp rule for %s", name);
	return 0;
}

static int build(scmp_filter_ctx ctx, struct err *e)
{
	int r;
	/* Only the native architecture: compat entry points (int 0x80, x32) are extra
	   kernel surface, and with them compiling takes 5 times longer. A process that
	   tries one is killed. */
	if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS)) < 0)
		return err_errno(e, -r, "seccomp: bad-architecture action");
	/* libseccomp's default linear layout: it compiles fastest, and the kernel (5.11+)
	   caches the allowed calls that take no argument checks, so the app does not run
	   the filter for them at all */
	for (size_t i = 0; i < sizeof allowed / sizeof *allowed; i++)
		if (add(ctx, SCMP_ACT_ALLOW, allowed[i], 0, NULL, e) < 0)
			return -1;
	for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
		if (add(ctx, SCMP_ACT_ERRNO(EPERM), refused[i], 0, NULL, e) < 0)
			return -1;
	for (size_t i = 0; i < sizeof personalities / sizeof *personalities; i++) {
		struct scmp_arg_cmp c = a0(SCMP_CMP_EQ, personalities[i], 0);
		if (add(ctx, SCMP_ACT_ALLOW, "personality", 1, &c, e) < 0)
			return -1;
	}
	/* socket, except AF_VSOCK (as Docker's default profile): vsock is not per network
	   namespace, so it would reach the hypervisor's or other VMs' services even from a
	   private network. The kernel reads the family as an int, so only its low 32 bits
	   are compared (a plain "!= AF_VSOCK" would let 1 << 32 | AF_VSOCK through): allowed
	   when any of them differs from AF_VSOCK's. */
	struct scmp_arg_cmp vsock = a0(SCMP_CMP_MASKED_EQ, 0xffffffffu, AF_VSOCK);
	if (add(ctx, SCMP_ACT_ERRNO(EPERM), "socket", 1, &vsock, e) < 0)
		return -1;
	for (unsigned bit = 0; bit < 32; bit++) {
		uint64_t m = UINT64_C(1) << bit;
		struct scmp_arg_cmp differs = a0(SCMP_CMP_MASKED_EQ, m, ~(uint64_t)AF_VSOCK & m);
		if (add(ctx, SCMP_ACT_ALLOW, "socket", 1, &differs, e) < 0)
			return -1;
	}
	/* clone without namespace flags is fork or a thread; with them it is refused. clone3
	   passes its flags in memory, which BPF cannot read: it is left to the default
	   ENOSYS, on which libc falls back to clone. */
	struct scmp_arg_cmp no_ns = a0(SCMP_CMP_MASKED_EQ, NS_FLAGS, 0);
	if (add(ctx, SCMP_ACT_ALLOW, "clone", 1, &no_ns, e) < 0)
		return -1;
	for (unsigned bit = 0; bit < 64; bit++) {
		uint64_t f = UINT64_C(1) << bit;
		if (!(NS_FLAGS & f))
			continue;
		struct scmp_arg_cmp ns = a0(SCMP_CMP_MASKED_EQ, f, f);
		if (add(ctx, SCMP_ACT_ERRNO(EPERM), "clone", 1, &ns, e) < 0)
			return -1;
	}
	return 0;
}

/* Export the compiled filter to memory (libseccomp 2.5 only writes BPF to an fd). */
static int export(scmp_filter_ctx ctx, struct sock_fprog *out, struct err *e)
{
	_cleanup_close_ int fd = memfd_create("ramp-seccomp", MFD_CLOEXEC);
	if (fd < 0)
		return err_sys(e, "memfd_create");
	int r = seccomp_export_bpf(ctx, fd);
	if (r < 0)
		return err_errno(e, -r, "seccomp_export_bpf");
	off_t size = lseek(fd, 0, SEEK_END);
	if (size <= 0 || size % (off_t)sizeof(struct sock_filter) || size / (off_t)sizeof(struct sock_filter) > BPF_MAXINSNS)
		return err_set(e, "seccomp: exported filter has a bad size (%lld bytes)", (long long)size);
	struct sock_filter *insns = malloc((size_t)size);
	if (!insns)
		return err_errno(e, ENOMEM, "seccomp filter");
	if (pread(fd, insns, (size_t)size, 0) != size) {
		free(insns);
		return err_sys(e, "read back the seccomp filter");
	}
	out->len = (unsigned short)(size / (off_t)sizeof(struct sock_filter));
	out->filter = insns;
	return 0;
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct sock_fprog compiled;

int rt_seccomp_default(const struct sock_fprog **prog, struct err *e)
{
	int r = 0;
	pthread_mutex_lock(&lock);
	if (!compiled.filter) {
		scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(ENOSYS));
		if (!ctx)
			r = err_set(e, "seccomp_init failed");
		else if (build(ctx, e) < 0 || export(ctx, &compiled, e) < 0)
			r = err_ctx(e, "compile the default seccomp filter");
		if (ctx)
			seccomp_release(ctx);
	}
	pthread_mutex_unlock(&lock);
	*prog = &compiled;
	return r;
}

int rt_seccomp_load(const struct sock_fprog *prog, struct err *e)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return rt_cerr(e, errno, "set no_new_privs");
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, prog) < 0)
		return rt_cerr(e, errno, "load the seccomp filter");
	return 0;
}
