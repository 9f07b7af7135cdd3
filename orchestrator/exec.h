/* exec.h: the commands a rollout runs: gates before wave 1, checks after
 * each wave, the blockers of a release policy (policy.h), all `sh -c COMMAND`.
 *
 * A command gets no stdin, writes its stdout and stderr to our stderr (stdout
 * may be carrying JSON events), runs in its own process group so a timeout
 * kills all of it, and sees our environment plus the variables given. */
#ifndef RAMP_ORCH_EXEC_H
#define RAMP_ORCH_EXEC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/err.h"

struct orch_proc {
	pid_t pid;
	int64_t deadline_ms; /* monotonic */
};

/* env: "K=V" strings, NULL-terminated (or NULL); they override ours. */
int orch_proc_start(struct orch_proc *p, const char *cmd, char *const *env, int64_t timeout_ms, struct err *e);
/* 1 when it ended (*status: exit code, 128+N for signal N, 124 for our
 * timeout), 0 while it runs, -1 on error. */
int orch_proc_poll(struct orch_proc *p, int *status, struct err *e);
/* Kill the whole group and reap it. */
void orch_proc_kill(struct orch_proc *p);
/* Start and wait. */
int orch_proc_run(const char *cmd, char *const *env, int64_t timeout_ms, int *status, struct err *e);
/* The same with the command's stdout kept (its first max bytes, in *out,
 * NUL-terminated, caller frees) rather than sent to our stderr. */
int orch_proc_run_output(const char *cmd, char *const *env, int64_t timeout_ms, size_t max, int *status, char **out,
			 struct err *e);

#endif
