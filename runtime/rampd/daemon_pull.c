/* daemon_pull.c: rampd's side of a pull. The work is done by the pull helper
 * rampd-pull (cmd/rampd-pull.c, runtime/host_pull.c), one process per pull,
 * so that rampd never maps libcurl, OpenSSL or libarchive: this file hands
 * it the registry settings and the store's lock, takes the store mutex for
 * its import (no GC or other import meanwhile) and reports the phases. It runs
 * in the app's pull thread; the API never waits for it. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "image/reference.h"
#include "lib/cleanup.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "runtime/rampd/daemon.h"
#include "runtime/rampd/metrics.h"

#define LINE_MAX_ 2048

struct args {
	char **v; /* NULL-terminated */
	size_t n;
};

static int arg(struct args *a, const char *s, struct err *e)
{
	char **v = realloc(a->v, (a->n + 2) * sizeof *v);
	if (!v)
		return err_errno(e, ENOMEM, "pull");
	a->v = v;
	if (!(v[a->n] = strdup(s)))
		return err_errno(e, ENOMEM, "pull");
	v[++a->n] = NULL;
	return 0;
}

static int arg2(struct args *a, const char *flag, const char *v, struct err *e)
{
	return arg(a, flag, e) < 0 || arg(a, v, e) < 0 ? -1 : 0;
}

static void args_free(struct args *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
}

/* The helper's command line, from the config (read under the daemon's lock). */
static int make_args(struct rt_daemon *d, struct rt_app *a, const struct rt_app_version *v, const char *registry,
		     struct args *out, struct err *e)
{
	char dir[PATH_MAX], level[16];
	rt_daemon_lock(&d->mu);
	snprintf(dir, sizeof dir, "%s/pull/%s", d->cfg.state_dir, img_digest_hex(&v->manifest));
	rt_daemon_unlock(&d->mu);
	snprintf(level, sizeof level, "%d", (int)log_get_level());
	int rc = arg(out, d->pull_helper, e);
	if (rc == 0)
		rc = arg2(out, "--store", d->store.root, e) < 0 || arg2(out, "--lock-fd", "3", e) < 0 ||
				     arg2(out, "--dir", dir, e) < 0 || arg2(out, "--app", a->name, e) < 0 ||
				     arg2(out, "--log-level", level, e) < 0 || arg2(out, "--rampd-version", RAMP_VERSION, e) < 0
			     ? -1
			     : 0;
	rt_daemon_lock(&d->mu);
	const struct rt_config *c = &d->cfg;
	const struct rt_registry_config *r = rt_config_registry(c, registry);
	for (size_t i = 0; rc == 0 && i < c->n_registries; i++)
		if (c->registries[i].insecure)
			rc = arg2(out, "--insecure", c->registries[i].name, e);
	for (size_t i = 0; rc == 0 && r && i < r->mirrors.n; i++)
		rc = arg2(out, "--mirror", r->mirrors.v[i], e);
	if (rc == 0 && r && r->cacert)
		rc = arg2(out, "--cacert", r->cacert, e);
	if (rc == 0 && c->auth_file)
		rc = arg2(out, "--auth-file", c->auth_file, e);
	if (rc == 0 && c->trust_policy) /* for the trust gate (trust_gate.c) */
		rc = arg(out, "--records", e);
	for (size_t i = 0; rc == 0 && i < c->limits.n; i++)
		rc = arg2(out, "--limit", c->limits.v[i], e);
	rt_daemon_unlock(&d->mu);
	if (rc == 0)
		rc = arg(out, v->image, e);
	return rc;
}

/* fork + exec from a threaded process: the child only makes system calls. */
static pid_t spawn(char *const *argv, int in, int out, int lock, struct err *e)
{
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0)
		return err_sys(e, "start the pull helper");
	if (pid > 0)
		return pid;
	/* it dies with rampd: a new rampd then finds the lock free and repairs
	   whatever an import was doing (its nice value is the pull thread's) */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	int fin = fcntl(in, F_DUPFD, 10), fout = fcntl(out, F_DUPFD, 10), flock_ = fcntl(lock, F_DUPFD, 10);
	if (fin < 0 || fout < 0 || flock_ < 0 || dup2(fin, 0) < 0 || dup2(fout, 1) < 0 || dup2(flock_, 3) < 0)
		_exit(127);
	close_range(4, ~0U, 0);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execv(argv[0], argv);
	_exit(127);
}

/* The helper the app's stop may signal while it downloads (pull_pid is
 * cleared before it is reaped: no other process gets the signal). A stop
 * that came first finds no pid: the download is stopped here. */
static void set_pid(struct rt_app *a, pid_t pid)
{
	rt_app_lock(&a->mu);
	a->pull_pid = pid;
	if (pid > 0 && (a->quit || a->deleting))
		kill(pid, SIGTERM);
	rt_app_unlock(&a->mu);
}

/* The helper's verdict: its "error" line, or how it ended. */
static int ended(struct rt_app *a, pid_t pid, const char *helper, const char *err_line, struct err *e)
{
	int st;
	siginfo_t si;
	/* not reaped before nobody can signal it any more */
	while (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) < 0 && errno == EINTR)
		;
	set_pid(a, 0);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return err_sys(e, "wait for the pull helper");
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (err_line[0])
		return err_set(e, "%s", err_line);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
		return err_set(e, "the pull helper %s could not be started (it is installed next to rampd)", helper);
	if (WIFEXITED(st))
		return err_set(e, "the pull helper exited with status %d", WEXITSTATUS(st));
	return err_set(e, "the pull helper was killed by signal %d", WTERMSIG(st));
}

/* Left out of the lock analysis: the store's lock is held from the helper's
 * "downloaded" line to its "imported" line, across iterations of the loop
 * (the flag `locked`), which clang's analysis cannot follow. */
int rt_daemon_pull(struct rt_daemon *d, struct rt_app *a, const struct rt_app_version *v, struct err *e)
	RT_NO_LOCK_ANALYSIS
{
	struct img_ref ref = {0};
	struct args args = {0};
	int64_t t0 = clk_mono_ms();
	uint64_t bytes = 0;
	int to[2] = {-1, -1}, from[2] = {-1, -1};
	bool locked = false, importing = false;
	FILE *f = NULL;
	pid_t pid = -1;
	int rc = -1;
	char err_line[LINE_MAX_] = "";
	if (img_ref_parse(v->image, &ref, e) < 0)
		goto out;
	if (!ref.has_digest || !img_digest_eq(&ref.digest, &v->manifest)) {
		err_set(e, "the reference is not pinned to %s", v->manifest.s);
		goto out;
	}
	if (make_args(d, a, v, ref.registry, &args, e) < 0)
		goto out;
	if (pipe2(to, O_CLOEXEC) < 0 || pipe2(from, O_CLOEXEC) < 0) {
		err_sys(e, "pipe");
		goto out;
	}
	if ((pid = spawn(args.v, to[0], from[1], d->store.lock_fd, e)) < 0)
		goto out;
	set_pid(a, pid);
	close(to[0]);
	close(from[1]);
	to[0] = from[1] = -1;
	if (!(f = fdopen(from[0], "r"))) {
		err_sys(e, "pull helper");
		goto wait;
	}
	from[0] = -1;
	char line[LINE_MAX_];
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "downloaded ", 11) && !locked) {
			bytes = strtoull(line + 11, NULL, 10);
			set_pid(a, 0); /* an import is not interrupted: it is local and short */
			/* a pull called off (a revert, another PUT) still ends in the
			   store, but the phase is the running version's by now */
			rt_app_lock(&a->mu);
			if (a->st.has_desired && img_digest_eq(&a->st.desired.manifest, &v->manifest))
				rt_app_set_phase(a, RT_PHASE_UNPACKING, "unpacking %s", v->manifest.s);
			rt_app_unlock(&a->mu);
			rt_store_lock(&d->store_mu);
			locked = importing = true;
			if (write(to[1], "import\n", 7) != 7)
				break; /* it is gone: its exit says why */
		} else if (!strcmp(line, "imported") && locked) {
			importing = false;
			rt_store_unlock(&d->store_mu);
			locked = false;
		} else if (!strncmp(line, "bytes ", 6)) {
			bytes = strtoull(line + 6, NULL, 10);
		} else if (!strncmp(line, "error ", 6)) {
			snprintf(err_line, sizeof err_line, "%s", line + 6);
		}
	}
wait:
	close(to[1]);
	to[1] = -1;
	rc = ended(a, pid, d->pull_helper, err_line, e); /* its "error" line names the pull */
	if (importing) {
		/* it ended inside its import (killed, out of memory): remove what
		   it left, as the next start of rampd would */
		struct err re;
		if (rt_store_repair_imports(&d->store, &re) < 0)
			log_warn("app %s: %s", a->name, re.msg);
	}
	if (locked)
		rt_store_unlock(&d->store_mu);
	rt_metrics_pull(bytes, clk_mono_ms() - t0);
	if (rc == 0)
		log_info("app %s: %s in the store (%llu bytes downloaded in %lld ms)", a->name, v->manifest.s,
			 (unsigned long long)bytes, (long long)(clk_mono_ms() - t0));
out:
	if (rc < 0 && !err_line[0])
		err_ctx(e, "pull %s", v->image);
	if (f)
		fclose(f);
	for (int i = 0; i < 2; i++) {
		if (to[i] >= 0)
			close(to[i]);
		if (from[i] >= 0)
			close(from[i]);
	}
	args_free(&args);
	img_ref_free(&ref);
	return rc;
}
