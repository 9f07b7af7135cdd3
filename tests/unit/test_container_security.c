/* test_container_security.c: the capability drop (runtime/caps) and the default
 * seccomp filter (runtime/seccomp), applied for real in forked children (needs root). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <grp.h>
#include <linux/filter.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/caps.h"
#include "runtime/seccomp.h"

/* Run fn in a forked child; returns its exit status (fn's return value). */
static int in_child(int (*fn)(void))
{
	pid_t p = fork();
	if (p == 0)
		_exit(fn());
	int st;
	assert_int_equal(waitpid(p, &st, 0), p);
	if (!WIFEXITED(st))
		fail_msg("child died by signal %d", WTERMSIG(st));
	return WEXITSTATUS(st);
}

static unsigned long long status_field(const char *name)
{
	char line[256];
	unsigned long long v = ~0ULL;
	FILE *f = fopen("/proc/self/status", "re");
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, name, strlen(name)))
			v = strtoull(line + strlen(name), NULL, 16);
	if (f)
		fclose(f);
	return v;
}

static void test_caps_mask(void **state)
{
	(void)state;
	struct err e;
	uint64_t m;
	const char *names[] = {"CAP_CHOWN", "kill"};
	assert_int_equal(rt_caps_mask(names, 2, &m, &e), 0);
	assert_int_equal(m, (1u << 0) | (1u << 5));
	const char *bad[] = {"CAP_NOPE"};
	assert_int_equal(rt_caps_mask(bad, 1, &m, &e), -1);
	assert_non_null(strstr(e.msg, "unknown capability \"CAP_NOPE\""));
	assert_int_equal(rt_caps_default(&m, &e), 0);
	assert_int_equal(m, 0x800405fbULL);
}

static int become_user(void)
{
	struct err e;
	uint64_t m;
	struct rt_ids ids = {.uid = 1000, .gid = 1000, .n_groups = 2, .groups = {1000, 2000}};
	gid_t g[8];
	if (rt_caps_default(&m, &e) < 0 || rt_caps_become(m, &ids, &e) < 0)
		return 1;
	if (getuid() != 1000 || geteuid() != 1000 || getgid() != 1000 || getgroups(8, g) != 2 || g[1] != 2000)
		return 2;
	if (status_field("CapEff:") != 0 || status_field("CapPrm:") != 0 || status_field("CapInh:") != 0)
		return 3;
	if (status_field("CapBnd:") != m || status_field("CapAmb:") != 0)
		return 4;
	return 0;
}

static int become_root(void)
{
	struct err e;
	uint64_t m;
	struct rt_ids ids = {.uid = 0, .gid = 0, .n_groups = 0};
	if (rt_caps_default(&m, &e) < 0 || rt_caps_become(m, &ids, &e) < 0)
		return 1;
	if (status_field("CapEff:") != m || status_field("CapPrm:") != m || status_field("CapBnd:") != m)
		return 2;
	/* CAP_SYS_ADMIN is gone: mounting fails even without seccomp */
	if (mount("none", "/mnt", "tmpfs", 0, NULL) == 0 || errno != EPERM)
		return 3;
	return 0;
}

static void test_caps_become(void **state)
{
	(void)state;
	assert_int_equal(in_child(become_user), 0);
	assert_int_equal(in_child(become_root), 0);
}

static int filtered(void)
{
	struct err e;
	const struct sock_fprog *p;
	char params[120] = {0};
	if (rt_seccomp_default(&p, &e) < 0 || rt_seccomp_load(p, &e) < 0)
		return 1;
	/* as root with every capability: only the filter refuses these */
	if (syscall(SYS_mount, "none", "/mnt", "tmpfs", 0, NULL) == 0 || errno != EPERM)
		return 2;
	if (syscall(SYS_unshare, CLONE_NEWNS) == 0 || errno != EPERM)
		return 3;
	if (syscall(SYS_clone, CLONE_NEWUTS | SIGCHLD, NULL, NULL, NULL, 0) >= 0 || errno != EPERM)
		return 4;
	if (syscall(SYS_io_uring_setup, 1, params) >= 0 || errno != ENOSYS)
		return 5;
	if (syscall(SYS_clone3, NULL, 0) >= 0 || errno != ENOSYS)
		return 6;
	if (syscall(SYS_getpid) != getpid() || status_field("Seccomp:") != 2 || status_field("NoNewPrivs:") != 1)
		return 7;
	/* plain fork (clone without namespace flags) still works */
	pid_t c = fork();
	if (c == 0)
		_exit(0);
	if (c < 0 || waitpid(c, NULL, 0) != c)
		return 8;
	return 0;
}

static void test_seccomp(void **state)
{
	(void)state;
	struct err e;
	const struct sock_fprog *p1, *p2;
	assert_int_equal(rt_seccomp_default(&p1, &e), 0);
	assert_int_equal(rt_seccomp_default(&p2, &e), 0);
	assert_ptr_equal(p1, p2); /* compiled once */
	assert_true(p1->len > 100 && p1->len < BPF_MAXINSNS);
	assert_int_equal(in_child(filtered), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_caps_mask),
		cmocka_unit_test(test_caps_become),
		cmocka_unit_test(test_seccomp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
