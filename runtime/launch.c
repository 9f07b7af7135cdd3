/* launch.c: image config → container process (see launch.h). */
#include "runtime/launch.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

int rt_signal_parse(const char *s, int *sig, struct err *e)
{
	*sig = SIGTERM;
	if (!s || !*s)
		return 0;
	char *end;
	long n = strtol(s, &end, 10);
	if (!*end) {
		if (n <= 0 || n >= _NSIG)
			return err_set(e, "stop signal \"%.40s\" is out of range", s);
		*sig = (int)n;
		return 0;
	}
	const char *name = strncmp(s, "SIG", 3) ? s : s + 3;
	for (int i = 1; i < _NSIG; i++) {
		const char *a = sigabbrev_np(i);
		if (a && !strcmp(a, name)) {
			*sig = i;
			return 0;
		}
	}
	return err_set(e, "stop signal \"%.40s\" is not a signal name", s);
}

static int env_put(struct strv *env, const char *kv, struct err *e)
{
	const char *eq = strchr(kv, '=');
	size_t kl = eq ? (size_t)(eq - kv) : strlen(kv);
	for (size_t i = 0; i < env->n; i++)
		if (!strncmp(env->v[i], kv, kl) && env->v[i][kl] == '=') {
			char *n = strdup(kv);
			if (!n)
				return err_set(e, "environment: out of memory");
			free(env->v[i]);
			env->v[i] = n;
			return 0;
		}
	return strv_push(env, kv, e);
}

int rt_launch_prepare(struct rt_launch *l, const struct img_config *c, const char *const *command, size_t n_command,
		      bool replace_entrypoint, const char *const *env, size_t n_env, struct err *e)
{
	*l = (struct rt_launch){0};
	rt_spec_init(&l->spec);
	if (rt_signal_parse(c->stop_signal, &l->stop_signal, e) < 0)
		goto fail;
	/* as docker and podman: the entrypoint, then the cmd (or the given command) */
	if (!(n_command && replace_entrypoint))
		for (size_t i = 0; i < c->entrypoint.n; i++)
			if (strv_push(&l->argv, c->entrypoint.v[i], e) < 0)
				goto fail;
	if (n_command) {
		for (size_t i = 0; i < n_command; i++)
			if (strv_push(&l->argv, command[i], e) < 0)
				goto fail;
	} else {
		for (size_t i = 0; i < c->cmd.n; i++)
			if (strv_push(&l->argv, c->cmd.v[i], e) < 0)
				goto fail;
	}
	if (!l->argv.n) {
		err_set(e, "the image has no entrypoint or cmd, and no command was given");
		goto fail;
	}
	if (env_put(&l->env, DEFAULT_PATH, e) < 0)
		goto fail;
	for (size_t i = 0; i < c->env.n; i++)
		if (env_put(&l->env, c->env.v[i], e) < 0)
			goto fail;
	for (size_t i = 0; i < n_env; i++)
		if (env_put(&l->env, env[i], e) < 0)
			goto fail;
	l->spec.argv = (const char *const *)l->argv.v;
	l->spec.env = (const char *const *)l->env.v;
	l->spec.cwd = c->workdir && *c->workdir ? c->workdir : NULL;
	l->spec.user = c->user && *c->user ? c->user : NULL;
	return 0;
fail:
	rt_launch_free(l);
	return -1;
}

void rt_launch_free(struct rt_launch *l)
{
	strv_free(&l->argv);
	strv_free(&l->env);
	l->spec.argv = l->spec.env = NULL;
}
