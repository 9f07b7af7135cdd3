/* exec.c: gate and check commands (see exec.h). */
#include "orchestrator/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/clock.h"

extern char **environ;

static bool overridden(const char *var, char *const *env)
{
	size_t k = strcspn(var, "=");
	for (size_t i = 0; env && env[i]; i++)
		if (!strncmp(env[i], var, k) && env[i][k] == '=')
			return true;
	return false;
}

/* out_fd: the command's stdout, or -1 for our stderr */
static int proc_start(struct orch_proc *p, const char *cmd, char *const *env, int64_t timeout_ms, int out_fd,
		      struct err *e)
{
	size_t n = 0, m = 0;
	while (environ[n])
		n++;
	while (env && env[m])
		m++;
	/* built before spawning: nothing between fork and exec may allocate */
	_cleanup_free_ char **envp = calloc(n + m + 1, sizeof *envp);
	if (!envp)
		return err_errno(e, ENOMEM, "command environment");
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (!overridden(environ[i], env))
			envp[k++] = environ[i];
	for (size_t i = 0; i < m; i++)
		envp[k++] = env[i];
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out_fd >= 0 ? out_fd : 2, 1);
	sigset_t none;
	sigemptyset(&none);
	posix_spawnattr_setsigmask(&at, &none);
	sigset_t dfl;
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	sigaddset(&dfl, SIGINT);
	sigaddset(&dfl, SIGTERM);
	posix_spawnattr_setsigdefault(&at, &dfl);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	char *argv[] = {"sh", "-c", (char *)cmd, NULL};
	int rc = posix_spawn(&p->pid, "/bin/sh", &fa, &at, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (rc)
		return err_errno(e, rc, "run \"%.200s\"", cmd);
	p->deadline_ms = timeout_ms > 0 ? clk_mono_ms() + timeout_ms : INT64_MAX;
	return 0;
}

int orch_proc_start(struct orch_proc *p, const char *cmd, char *const *env, int64_t timeout_ms, struct err *e)
{
	return proc_start(p, cmd, env, timeout_ms, -1, e);
}

int orch_proc_poll(struct orch_proc *p, int *status, struct err *e)
{
	int st;
	pid_t r = waitpid(p->pid, &st, WNOHANG);
	if (r < 0)
		return err_sys(e, "wait for process %d", (int)p->pid);
	if (r == 0) {
		if (clk_mono_ms() < p->deadline_ms)
			return 0;
		orch_proc_kill(p);
		*status = 124;
		return 1;
	}
	/* the shell is gone; whatever it left in its group goes too */
	kill(-p->pid, SIGKILL);
	p->pid = 0;
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return 1;
}

void orch_proc_kill(struct orch_proc *p)
{
	if (p->pid <= 0)
		return;
	kill(-p->pid, SIGKILL);
	while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
		;
	p->pid = 0;
}

static int proc_run(const char *cmd, char *const *env, int64_t timeout_ms, int out_fd, int *status, struct err *e)
{
	struct orch_proc p;
	if (proc_start(&p, cmd, env, timeout_ms, out_fd, e) < 0)
		return -1;
	for (;;) {
		int r = orch_proc_poll(&p, status, e);
		if (r != 0)
			return r < 0 ? -1 : 0;
		poll(NULL, 0, 10);
	}
}

int orch_proc_run(const char *cmd, char *const *env, int64_t timeout_ms, int *status, struct err *e)
{
	return proc_run(cmd, env, timeout_ms, -1, status, e);
}

int orch_proc_run_output(const char *cmd, char *const *env, int64_t timeout_ms, size_t max, int *status, char **out,
			 struct err *e)
{
	*out = NULL;
	_cleanup_close_ int fd = memfd_create("ramp-command-output", MFD_CLOEXEC);
	if (fd < 0)
		return err_sys(e, "run \"%.200s\"", cmd);
	if (proc_run(cmd, env, timeout_ms, fd, status, e) < 0)
		return -1;
	char *buf = malloc(max + 1);
	if (!buf)
		return err_errno(e, ENOMEM, "run \"%.200s\"", cmd);
	ssize_t n = pread(fd, buf, max, 0);
	if (n < 0) {
		free(buf);
		return err_sys(e, "read the output of \"%.200s\"", cmd);
	}
	buf[n] = 0;
	*out = buf;
	return 0;
}
