/* test_container_cgroup.c: cgroup v2 leaves (runtime/cgroup) on this host's real v2
 * hierarchy. Limits can only be checked where the v2 mount has the controllers; on a
 * hybrid host the test checks that they are skipped (see docs/RUNTIME.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/fs.h"
#include "runtime/cgroup.h"

static char *v2;

static int setup(void **state)
{
	(void)state;
	struct err e;
	if (rt_cgroup_v2_mount(&v2, &e) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (v2) {
		char p[4096];
		snprintf(p, sizeof p, "%s/ramp-unit/sub", v2);
		rmdir(p);
		snprintf(p, sizeof p, "%s/ramp-unit", v2);
		rmdir(p);
	}
	free(v2);
	return 0;
}

static bool has_controller(const char *c)
{
	char p[4096], *list = NULL;
	struct err e;
	snprintf(p, sizeof p, "%s/cgroup.controllers", v2);
	if (fs_read_file(p, 4096, &list, NULL, &e) < 0)
		return false;
	bool r = strstr(list, c) != NULL;
	free(list);
	return r;
}

static void test_mount_found(void **state)
{
	(void)state;
	if (!v2)
		skip();
	char p[4096];
	snprintf(p, sizeof p, "%s/cgroup.controllers", v2);
	assert_true(fs_exists(p));
}

static void test_bad_names(void **state)
{
	(void)state;
	struct err e;
	struct rt_cgroup cg;
	struct rt_cgroup_limits l = {0};
	static const char *const parents[] = {"../x", "/abs", "a//b", "a/./b", "", "a/.."};
	for (size_t i = 0; i < sizeof parents / sizeof *parents; i++) {
		assert_int_equal(rt_cgroup_create("/sys/fs/cgroup", parents[i], true, "n", &l, &cg, &e), -1);
		assert_non_null(strstr(e.msg, "cgroup parent"));
	}
	assert_int_equal(rt_cgroup_create("/sys/fs/cgroup", "ok", true, "a/b", &l, &cg, &e), -1);
	assert_int_equal(rt_cgroup_create("/sys/fs/cgroup", "ok", true, "..", &l, &cg, &e), -1);
}

static void test_no_v2(void **state)
{
	(void)state;
	struct err e;
	struct rt_cgroup cg;
	struct rt_cgroup_limits l = {.pids_max = 5};
	assert_int_equal(rt_cgroup_create(NULL, "ramp", true, "n", &l, &cg, &e), 0);
	assert_null(cg.path);
	assert_int_equal(cg.fd, -1);
}

static void test_limits_or_skip(void **state)
{
	(void)state;
	struct err e;
	struct rt_cgroup cg;
	struct rt_cgroup_limits l = {.pids_max = 5, .memory_max = 64 << 20};
	if (!v2)
		skip();
	assert_int_equal(rt_cgroup_create(v2, "ramp-unit", false, "lim", &l, &cg, &e), 0);
	if (!has_controller("pids") && !has_controller("memory")) {
		/* nothing can apply: no cgroup is made */
		assert_null(cg.path);
		return;
	}
	assert_non_null(cg.path);
	char p[4096], *v = NULL;
	if (has_controller("pids")) {
		snprintf(p, sizeof p, "%s/pids.max", cg.path);
		assert_int_equal(fs_read_file(p, 64, &v, NULL, &e), 0);
		assert_string_equal(v, "5\n");
		free(v);
	}
	assert_int_equal(rt_cgroup_destroy(&cg, &e), 0);
}

static void test_explicit_leaf_and_kill(void **state)
{
	(void)state;
	struct err e;
	struct rt_cgroup cg;
	struct rt_cgroup_limits l = {0};
	if (!v2)
		skip();
	assert_int_equal(rt_cgroup_create(v2, "ramp-unit/sub", true, "leaf", &l, &cg, &e), 0);
	assert_non_null(cg.path);
	assert_true(cg.fd >= 0);
	char path[4096];
	snprintf(path, sizeof path, "%s", cg.path);
	/* a process still inside: destroy kills it and removes the leaf */
	pid_t p = fork();
	if (p == 0) {
		pause();
		_exit(0);
	}
	char procs[4096], pid[32];
	snprintf(procs, sizeof procs, "%s/cgroup.procs", cg.path);
	snprintf(pid, sizeof pid, "%d", (int)p);
	FILE *f = fopen(procs, "we");
	assert_non_null(f);
	fputs(pid, f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(rt_cgroup_destroy(&cg, &e), 0);
	int st;
	assert_int_equal(waitpid(p, &st, 0), p);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	assert_false(fs_exists(path));
	assert_null(cg.path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mount_found),
		cmocka_unit_test(test_bad_names),
		cmocka_unit_test(test_no_v2),
		cmocka_unit_test(test_limits_or_skip),
		cmocka_unit_test(test_explicit_leaf_and_kill),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
