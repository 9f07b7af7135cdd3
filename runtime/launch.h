/* launch.h: from an image's config to a container spec: the process (the
 * entrypoint and cmd, or a command given instead), its environment, user,
 * working directory and stop signal, as `ramp run`, `ramp test` and rampd all
 * start it. One place decides these, so the tested process is the shipped one. */
#ifndef RAMP_RT_LAUNCH_H
#define RAMP_RT_LAUNCH_H

#include "image/oci.h"
#include "runtime/container.h"

struct rt_launch {
	struct rt_spec spec;
	struct strv argv, env; /* the storage spec.argv and spec.env point into */
	int stop_signal;
};

/* Fill l->spec's process part from config c. `command` (may be NULL/empty)
 * replaces the cmd and, when `replace_entrypoint`, the entrypoint too (ramp
 * test runs its command as it is). `env` entries ("K=V") override the
 * image's by key. The root part of the spec is the caller's. */
int rt_launch_prepare(struct rt_launch *l, const struct img_config *c, const char *const *command, size_t n_command,
		      bool replace_entrypoint, const char *const *env, size_t n_env, struct err *e);
void rt_launch_free(struct rt_launch *l);

/* "SIGTERM", "TERM" or "15"; NULL or "" gives SIGTERM. */
int rt_signal_parse(const char *s, int *sig, struct err *e);

#endif
