/* test_container.c: the runtime/container.h API used directly (needs root and
 * busybox-static): argument checks, status, stop, exec, release, and starts from
 * several threads at once. The behaviour inside containers is covered by
 * tests/integration/container_*.bats. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fs.h"
#include "runtime/container.h"

static char *root; /* a flat busybox root */

static int setup(void **state)
{
	(void)state;
	struct err e;
	char cmd[8192];
	if (!(root = fs_mkdtemp("ramp-ctr-unit-", &e)))
		return -1;
	snprintf(cmd, sizeof cmd,
		 "set -e; cd %s; mkdir bin etc; cp /bin/busybox bin/; for a in sh sleep true cat echo; do ln -s busybox bin/$a; done;"
		 "echo 'root:x:0:0::/root:/bin/sh' > etc/passwd",
		 root);
	return system(cmd) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	struct err e;
	if (root)
		fs_rm_rf(root, &e);
	free(root);
	return 0;
}

static void spec(struct rt_spec *s, const char *const *argv)
{
	rt_spec_init(s);
	s->rootfs = root;
	s->argv = argv;
}

static int run(const char *const *argv, bool init, int *status, struct err *e)
{
	struct rt_spec s;
	struct rt_container c;
	spec(&s, argv);
	s.init = init;
	if (rt_start(&s, &c, e) < 0)
		return -1;
	int r = rt_wait(&c, status, e);
	rt_container_release(&c);
	return r;
}

static void test_bad_specs(void **state)
{
	(void)state;
	struct err e;
	struct rt_container c;
	struct rt_spec s;
	const char *argv[] = {"true", NULL}, *noargv[] = {NULL};
	const char *badenv[] = {"NOEQUALS", NULL}, *colon[] = {"/a:b"}, *root[] = {"/"}, *names[] = {"a:b"};
	int fds[] = {0};

	spec(&s, noargv);
	assert_int_equal(rt_start(&s, &c, &e), -1);
	assert_non_null(strstr(e.msg, "no command to run"));
	spec(&s, argv);
	s.cwd = "relative";
	assert_int_equal(rt_start(&s, &c, &e), -1);
	assert_non_null(strstr(e.msg, "expected an absolute path"));
	spec(&s, argv);
	s.env = badenv;
	assert_int_equal(rt_start(&s, &c, &e), -1);
	assert_non_null(strstr(e.msg, "expected NAME=value"));
	spec(&s, argv);
	s.lower = colon;
	s.n_lower = 1;
	assert_int_equal(rt_start(&s, &c, &e), -1);
	assert_non_null(strstr(e.msg, "not both"));
	/* layers are named by descriptor, upper and work dirs by path in the mount options */
	s.rootfs = NULL;
	s.lower = root;
	s.upper = "/a:b";
	s.work = "/tmp";
	assert_int_equal(rt_start(&s, &c, &e), -1);
	assert_non_null(strstr(e.msg, "cannot be used in overlay paths"));
	spec(&s, argv);
	s.fds = fds;
	s.fd_names = names;
	s.n_fds = 1;
	assert_int_equal(rt_start(&s, &c, &e), -1);
	assert_non_null(strstr(e.msg, "no ':'"));
	/* nothing is left to release after a failed start */
	assert_int_equal(c.pidfd, -1);
	assert_null(c.cgroup);
}

static void test_status(void **state)
{
	(void)state;
	struct err e;
	int st;
	const char *exit5[] = {"sh", "-c", "exit 5", NULL}, *term[] = {"sh", "-c", "kill -TERM $$; sleep 1", NULL};
	assert_int_equal(run(exit5, false, &st, &e), 0);
	assert_int_equal(st, 5);
	assert_int_equal(run(exit5, true, &st, &e), 0);
	assert_int_equal(st, 5);
	/* PID 1 ignores its own SIGTERM without a handler; under the init it dies of it */
	assert_int_equal(run(term, true, &st, &e), 0);
	assert_int_equal(st, 128 + SIGTERM);
}

static void test_stop_exec_release(void **state)
{
	(void)state;
	struct err e;
	struct rt_spec s;
	struct rt_container c;
	const char *sleep10[] = {"sleep", "10", NULL}, *hello[] = {"sh", "-c", "echo hello; exit 4", NULL};
	int st, pipefd[2];
	spec(&s, sleep10);
	s.init = true;
	assert_int_equal(rt_start(&s, &c, &e), 0);

	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
	struct rt_exec_spec x = {.argv = hello, .stdin_fd = -1, .stdout_fd = pipefd[1], .stderr_fd = -1};
	assert_int_equal(rt_exec(&c, &x, &st, &e), 0);
	assert_int_equal(st, 4);
	close(pipefd[1]);
	char buf[16] = {0};
	assert_int_equal(read(pipefd[0], buf, sizeof buf - 1), 6);
	assert_string_equal(buf, "hello\n");
	close(pipefd[0]);

	assert_int_equal(rt_stop(&c, SIGTERM, 5000, &e), 0);
	assert_int_equal(rt_wait(&c, &st, &e), 0);
	assert_int_equal(st, 128 + SIGTERM);
	/* entering a container that has exited is an error, not a hang */
	assert_int_equal(rt_exec(&c, &x, &st, &e), -1);
	assert_non_null(strstr(e.msg, "not running"));
	rt_container_release(&c);

	/* release kills a container that is still running */
	assert_int_equal(rt_start(&s, &c, &e), 0);
	pid_t pid = c.pid;
	rt_container_release(&c);
	assert_int_equal(kill(pid, 0), -1);
	assert_int_equal(errno, ESRCH);
}

static void *starter(void *arg)
{
	(void)arg;
	struct err e;
	const char *argv[] = {"true", NULL};
	for (int i = 0; i < 5; i++) {
		int st = -1;
		if (run(argv, i % 2, &st, &e) < 0 || st != 0)
			return (void *)1;
	}
	return NULL;
}

static void test_threads(void **state)
{
	(void)state;
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, starter, NULL), 0);
	for (int i = 0; i < 4; i++) {
		void *r;
		assert_int_equal(pthread_join(t[i], &r), 0);
		assert_null(r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_specs),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_stop_exec_release),
		cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
