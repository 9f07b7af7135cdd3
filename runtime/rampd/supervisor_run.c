/* supervisor_run.c: the thread of one app. It makes the desired version the
 * current one (pull, unpack, switch), keeps the current one running (restarts
 * with backoff) and probes its health; it adopts the containers an earlier
 * rampd left running.
 *
 * A switch commits the new current version to state.json first, then starts
 * it on the app's sockets, then gives the old container its stop signal and
 * grace period: after a kill -9 at any point the next rampd finds a current
 * version that is in the store (so it can run with no network) and finishes
 * the switch. Containers started are recorded in run/containers.json (not
 * synced: it describes processes, which do not survive a power cut). */
#include "runtime/rampd/supervisor.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/clock.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/log.h"
#include "runtime/rampd/applog.h"
#include "runtime/rampd/config.h"
#include "runtime/container.h"
#include "runtime/rampd/daemon.h"
#include "runtime/rampd/health.h"
#include "runtime/launch.h"
#include "runtime/rampd/scrape.h"
#include "runtime/rampd/sockets.h"
#include "runtime/store.h"

#define MAX_OLD 16                 /* containers stopping at once */
#define BACKOFF_MIN_MS 100         /* first restart after a crash */
#define BACKOFF_MAX_MS 30000
#define STABLE_MS 30000            /* running this long resets the backoff */
#define PULL_RETRY_MIN_MS 2000
#define PULL_RETRY_MAX_MS 300000
#define PULL_NICE 10
#define RUNFILE_MAX (1u << 20)

/* One started container of a version of the app. */
struct inst {
	struct rt_container c;
	struct img_digest digest;
	char id[40];
	char *dir;     /* run/<id>: its upper and work dirs */
	bool adopted;  /* started by an earlier rampd: not our child, no exit status */
	bool stopping;
	int64_t kill_at; /* monotonic ms */
	int64_t started; /* monotonic ms */
	int stop_sig;
	unsigned grace_ms;
	unsigned long long starttime; /* /proc/PID/stat field 22: tells a reused pid apart */
};

struct rt_worker {
	pthread_t thread;
	int event_fd;
	struct rt_applog_file *log; /* run/app.log: the containers' output and rampd's lines */
	struct inst *cur; /* the running container (of the current version, or of the
			     one before while the current one cannot start) */
	struct inst *old[MAX_OLD];
	size_t n_old;
	struct rt_socket *socks;
	size_t n_socks;
	unsigned seq;

	/* the current container's health */
	struct rt_health health;
	bool has_probe_addr;
	struct rt_addr probe_addr;
	int64_t next_probe, start_period_end, fails;
	bool ever_healthy;
	/* restarts, and retries of a switch that could not be recorded */
	int64_t restart_at, switch_retry_at;
	int64_t retry_at; /* of a pull or a switch still to do (0: none) */
	unsigned crashes;
	/* a switch must become healthy before this (0: none pending) */
	int64_t deadline;
	bool failed; /* it did not: the phase stays "failed" until it is healthy */
	/* pulls */
	bool pulling;
	pthread_t pull_thread;
	struct img_digest pull_digest;
	int64_t pull_retry_at;
	unsigned pull_failures;
};

static void wlog(struct rt_app *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A line of rampd's own in the app's log, so the log tells what happened when. */
static void wlog(struct rt_app *a, const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	rt_applog_note(a->w->log, "%s", msg);
}

/* The app's phase, unless it is about a version (of) that is no longer the
 * current one: a revert may have made another current while that version's
 * container was exiting, and the phase is then the revert's. */
static void vphase(struct rt_app *a, const struct img_digest *of, enum rt_phase p, const char *fmt, va_list ap)
{
	char msg[512];
	vsnprintf(msg, sizeof msg, fmt, ap);
	rt_app_lock(&a->mu);
	bool current = !of || (a->st.has_current && img_digest_eq(&a->st.current.manifest, of));
	if (current)
		rt_app_set_phase(a, p, "%s", msg);
	rt_app_unlock(&a->mu);
	if (!current)
		log_info("app %s: %s: %s (no longer current)", a->name, rt_phase_name(p), msg);
	else if (p == RT_PHASE_FAILED || p == RT_PHASE_UNHEALTHY)
		log_warn("app %s: %s: %s", a->name, rt_phase_name(p), msg);
	else
		log_info("app %s: %s%s%s", a->name, rt_phase_name(p), *msg ? ": " : "", msg);
}

static void phase(struct rt_app *a, enum rt_phase p, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void phase(struct rt_app *a, enum rt_phase p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vphase(a, NULL, p, fmt, ap);
	va_end(ap);
}

static void phase_of(struct rt_app *a, const struct img_digest *of, enum rt_phase p, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void phase_of(struct rt_app *a, const struct img_digest *of, enum rt_phase p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vphase(a, of, p, fmt, ap);
	va_end(ap);
}

/* ---- the run file: which containers run ---- */

static unsigned long long proc_starttime(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* after the command, which may hold spaces and parentheses */
	char *p = strrchr(buf, ')');
	unsigned long long v = 0;
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu", &v) != 1)
		return 0;
	return v;
}

/* pending: an instance about to start (no pid yet), so that a crash before
 * its pid is written leaves a trace to clean up */
static void write_runfile(struct rt_app *a, const struct inst *pending)
{
	struct rt_worker *w = a->w;
	struct jgen *g = jgen_new(true);
	const char *buf;
	size_t len;
	struct err e;
	_cleanup_free_ char *path = fs_join(a->dir, "run/containers.json");
	if (!g || !path)
		goto out;
	jgen_obj_open(g);
	jgen_key(g, "containers");
	jgen_arr_open(g);
	const struct inst *all[MAX_OLD + 2];
	size_t n = 0;
	if (w->cur)
		all[n++] = w->cur;
	for (size_t i = 0; i < w->n_old; i++)
		all[n++] = w->old[i];
	if (pending)
		all[n++] = pending;
	for (size_t i = 0; i < n; i++) {
		jgen_obj_open(g);
		jgen_kstr(g, "id", all[i]->id);
		jgen_kstr(g, "digest", all[i]->digest.s);
		jgen_kint(g, "pid", all[i] == pending ? 0 : all[i]->c.pid);
		jgen_kint(g, "start", (int64_t)all[i]->starttime);
		jgen_obj_close(g);
	}
	jgen_arr_close(g);
	jgen_obj_close(g);
	struct fs_atomic f;
	if (jgen_result(g, &buf, &len, &e) < 0 || fs_atomic_open(&f, path, 0600, &e) < 0)
		goto out;
	f.nosync = true;
	if (fs_write_all(f.fd, buf, len, f.tmp, &e) < 0) {
		fs_atomic_abort(&f);
		goto out;
	}
	if (fs_atomic_commit(&f, &e) < 0)
		goto out;
	jgen_free(g);
	return;
out:
	log_warn("app %s: recording its containers failed: %s", a->name, g && path ? e.msg : "out of memory");
	jgen_free(g);
}

/* ---- containers ---- */

static void inst_free(struct inst *in)
{
	struct err e;
	if (!in)
		return;
	rt_container_release(&in->c);
	if (in->dir && fs_rm_rf(in->dir, &e) < 0)
		log_warn("%s", e.msg);
	free(in->dir);
	free(in);
}

/* Let the container run on without us (rampd exits, leaving the apps running). */
static void inst_detach(struct inst *in)
{
	if (in->c.pidfd >= 0)
		close(in->c.pidfd);
	if (in->c.cgroup_fd >= 0)
		close(in->c.cgroup_fd);
	free(in->c.cgroup);
	free(in->c.user);
	free(in->dir);
	free(in);
}

/* Send the stop signal; SIGKILL follows at kill_at. */
static void inst_stop(struct rt_app *a, struct inst *in)
{
	if (in->stopping)
		return;
	in->stopping = true;
	in->kill_at = clk_mono_ms() + in->grace_ms;
	if (syscall(SYS_pidfd_send_signal, in->c.pidfd, in->stop_sig, NULL, 0) < 0 && errno != ESRCH)
		log_warn("app %s: signal container %d: %s", a->name, (int)in->c.pid, strerror(errno));
	wlog(a, "stopping %s (pid %d, signal %d, grace %u ms)", in->digest.s, (int)in->c.pid, in->stop_sig, in->grace_ms);
}

static bool inst_exited(const struct inst *in)
{
	struct pollfd p = {.fd = in->c.pidfd, .events = POLLIN};
	return in->c.reaped || (poll(&p, 1, 0) == 1 && (p.revents & (POLLIN | POLLHUP)));
}

/* The exit status of an exited container (-1: adopted, not known); its output read
   to the end first, so that what rampd says of its exit comes after it. */
static int inst_reap(struct inst *in, struct rt_applog_file *log)
{
	int status = -1;
	struct err e;
	rt_applog_wait_end(log, in->id, 500);
	if (in->adopted) {
		in->c.reaped = true; /* its parent (init) reaps it; we only watched */
		in->c.status = -1;
		return -1;
	}
	if (rt_wait(&in->c, &status, &e) < 0)
		log_warn("%s", e.msg);
	return status;
}

/* The sockets of a version: each exposed port on its configured addresses
 * (or the default address, same port). Opens what is not open yet. */
static int plan_sockets(struct rt_app *a, const struct rt_app_config *ac, const struct img_config *c, size_t *idx,
			size_t *n_idx, struct err *e)
{
	struct rt_worker *w = a->w;
	*n_idx = 0;
	for (size_t i = 0; i < c->exposed_ports.n; i++) {
		struct rt_socket want = {.fd = -1};
		unsigned port;
		if (rt_port_parse(c->exposed_ports.v[i], &port, &want.type, &want.proto, want.name, sizeof want.name, e) < 0)
			return err_ctx(e, "image");
		const struct rt_port_bind *b = NULL;
		for (size_t j = 0; j < ac->n_ports; j++)
			if (!strcmp(ac->ports[j].port, want.name))
				b = &ac->ports[j];
		size_t n_addr = b ? b->addrs.n : 1;
		for (size_t k = 0; k < n_addr; k++) {
			if (b) {
				if (rt_addr_parse(b->addrs.v[k], true, &want.addr, e) < 0)
					return -1;
			} else {
				if (rt_addr_parse(ac->address ? ac->address : "0.0.0.0", false, &want.addr, e) < 0)
					return -1;
				rt_addr_set_port(&want.addr, port);
			}
			size_t s;
			for (s = 0; s < w->n_socks; s++)
				if (!strcmp(w->socks[s].name, want.name) && w->socks[s].addr.len == want.addr.len &&
				    !memcmp(&w->socks[s].addr.ss, &want.addr.ss, want.addr.len))
					break;
			if (s == w->n_socks) {
				struct rt_socket *ns = realloc(w->socks, (w->n_socks + 1) * sizeof *ns);
				if (!ns)
					return err_errno(e, ENOMEM, "sockets");
				w->socks = ns;
				w->socks[w->n_socks++] = want;
			}
			if (*n_idx >= 64)
				return err_set(e, "more than 64 sockets for one app");
			idx[(*n_idx)++] = s;
		}
	}
	return 0;
}

/* Close the sockets no running container was given. */
static void close_unused_sockets(struct rt_worker *w, const size_t *idx, size_t n_idx)
{
	if (w->n_old)
		return;
	for (size_t s = 0; s < w->n_socks; s++) {
		bool used = false;
		for (size_t i = 0; i < n_idx; i++)
			used |= idx[i] == s;
		if (!used && w->socks[s].fd >= 0) {
			close(w->socks[s].fd);
			w->socks[s].fd = -1;
		}
	}
}

/* What starting or adopting a version needs to know. */
struct version {
	struct rt_store_image im;
	struct img_config c;
	struct rt_app_config ac;
	struct rt_health health;
	size_t idx[64], n_idx; /* its sockets in w->socks */
};

static void version_free(struct version *v)
{
	rt_store_image_free(&v->im);
	img_config_free(&v->c);
	rt_app_config_free(&v->ac);
	rt_health_free(&v->health);
}

static int version_load(struct rt_app *a, const struct img_digest *digest, struct version *v, struct err *e)
{
	memset(v, 0, sizeof *v);
	if (rt_daemon_app_config(a->d, a->name, &v->ac, e) < 0 ||
	    rt_store_image_get(&a->d->store, digest, &v->im, e) < 0 ||
	    rt_store_image_config(&a->d->store, &v->im, &v->c, e) < 0 || rt_health_from_config(&v->c, &v->health, e) < 0 ||
	    plan_sockets(a, &v->ac, &v->c, v->idx, &v->n_idx, e) < 0) {
		version_free(v);
		return -1;
	}
	return 0;
}

/* The container `in` of version v becomes the one probed. */
static void use_version(struct rt_app *a, struct version *v, struct inst *in)
{
	struct rt_worker *w = a->w;
	rt_health_free(&w->health);
	w->health = v->health;
	memset(&v->health, 0, sizeof v->health);
	rt_app_lock(&a->mu);
	bool checked = w->health.type != RT_HEALTH_NONE;
	a->check_interval_ms = checked ? w->health.interval / 1000000 : 0;
	a->check_retries = checked ? w->health.retries : 0;
	rt_app_unlock(&a->mu);
	w->has_probe_addr = false;
	for (size_t i = 0; i < v->n_idx; i++)
		if (!strcmp(w->socks[v->idx[i]].name, w->health.port)) {
			rt_addr_connectable(&w->socks[v->idx[i]].addr, &w->probe_addr);
			w->has_probe_addr = true;
			break;
		}
	struct err ignored;
	if (rt_signal_parse(v->c.stop_signal, &in->stop_sig, &ignored) < 0)
		in->stop_sig = SIGTERM;
	in->grace_ms = (unsigned)(v->ac.stop_grace / 1000000);
}

/* Start a container of version `digest` on the app's sockets. */
static int inst_start(struct rt_app *a, const struct img_digest *digest, struct inst **out, struct err *e)
{
	struct rt_worker *w = a->w;
	struct version v;
	struct rt_launch l;
	bool launched = false;
	char **env = NULL;
	int fds[64];
	const char *names[64];
	int rc = -1, out_pipe[2] = {-1, -1};
	struct inst *in = calloc(1, sizeof *in);
	if (!in)
		return err_errno(e, ENOMEM, "container");
	in->c.pidfd = -1;
	in->c.cgroup_fd = -1;
	in->c.pty = -1;
	in->digest = *digest;
	snprintf(in->id, sizeof in->id, "i%" PRIx64 "-%u", (uint64_t)clk_wall_ms(), ++w->seq);
	if (version_load(a, digest, &v, e) < 0) {
		free(in);
		return -1;
	}
	const struct rt_app_config *ac = &v.ac;
	const struct img_config *c = &v.c;
	char port_env[32] = "";
	if (ac->handoff) {
		for (size_t i = 0; i < v.n_idx; i++) {
			struct rt_socket *so = &w->socks[v.idx[i]];
			if (so->fd < 0 && rt_socket_open(so, e) < 0)
				goto out;
			fds[i] = so->fd;
			names[i] = so->name;
		}
	} else if (v.n_idx) {
		/* the app binds its first port itself, told by $PORT */
		snprintf(port_env, sizeof port_env, "PORT=%u", rt_addr_port(&w->socks[v.idx[0]].addr));
	}
	/* the host config's env over the image's, then ours: the marker finds a
	   container whose start was interrupted before its pid was recorded */
	size_t n_env = ac->env.n;
	if (!(env = calloc(n_env + 3, sizeof *env)))
		goto nomem;
	for (size_t i = 0; i < ac->env.n; i++)
		if (asprintf(&env[i], "%s=%s", ac->env.v[i].k, ac->env.v[i].v) < 0)
			goto nomem;
	if (asprintf(&env[n_env++], "RAMP_INSTANCE=%s/%s", a->name, in->id) < 0 ||
	    (port_env[0] && !(env[n_env++] = strdup(port_env))))
		goto nomem;
	if (rt_launch_prepare(&l, c, NULL, 0, false, (const char *const *)env, n_env, e) < 0)
		goto out;
	launched = true;
	if (v.im.n_layers == 0) {
		err_set(e, "image %s has no layers", digest->s);
		goto out;
	}
	if (asprintf(&in->dir, "%s/run/%s", a->dir, in->id) < 0) {
		in->dir = NULL;
		goto nomem;
	}
	char upper[PATH_MAX], work[PATH_MAX], cg[128];
	snprintf(upper, sizeof upper, "%s/upper", in->dir);
	snprintf(work, sizeof work, "%s/work", in->dir);
	snprintf(cg, sizeof cg, "%s-%s", a->name, in->id);
	if (fs_mkdir_p(upper, 0755, e) < 0 || fs_mkdir_p(work, 0700, e) < 0)
		goto out;
	struct rt_rlimit rl = {RLIMIT_NOFILE, ac->nofile, ac->nofile};
	struct rt_spec s = l.spec;
	s.lower = (const char *const *)v.im.layer_dirs;
	s.n_lower = v.im.n_layer_dirs;
	s.upper = upper;
	s.work = work;
	s.volatile_upper = true;
	s.allow_devices = false;
	s.name = cg;
	s.private_net = ac->private_network;
	s.init = true;
	s.fds = ac->handoff ? fds : NULL;
	s.fd_names = ac->handoff ? names : NULL;
	s.n_fds = ac->handoff ? v.n_idx : 0;
	s.memory_max = ac->memory_max;
	s.cpu_max_quota_us = ac->cpu_quota_us;
	s.pids_max = ac->pids_max;
	s.rlimits = ac->nofile ? &rl : NULL;
	s.n_rlimits = ac->nofile ? 1 : 0;
	/* stdin the container's own /dev/null, stdout and stderr a pipe: no host file is
	   reachable through them; the init holds the pipe's read end too, so the app
	   always has a reader, even while rampd restarts */
	if (pipe2(out_pipe, O_CLOEXEC) < 0) {
		err_sys(e, "pipe for the output of %s", in->id);
		goto out;
	}
	if (fcntl(out_pipe[0], F_SETPIPE_SZ, RT_APPLOG_PIPE_SIZE) < 0)
		log_debug("app %s: pipe size: %s", a->name, strerror(errno));
	s.stdin_fd = RT_FD_NULL;
	s.stdout_fd = s.stderr_fd = out_pipe[1];
	s.hold_fd = out_pipe[0];
	rt_applog_limits(w->log, ac->log_max, ac->log_files);
	write_runfile(a, in);
	wlog(a, "starting %s (%s)", digest->s, in->id);
	if (rt_start(&s, &in->c, e) < 0)
		goto out;
	close(steal_fd(out_pipe[1]));
	if (rt_applog_attach(w->log, steal_fd(out_pipe[0]), in->id, e) < 0) {
		log_warn("app %s: %s (its output waits in the pipe)", a->name, e->msg);
		err_clear(e);
	}
	in->started = clk_mono_ms();
	in->starttime = proc_starttime(in->c.pid);
	use_version(a, &v, in);
	rt_scrape_follow(a, digest, &v.c, &v.ac, w->socks, v.idx, v.n_idx, w->cur || w->n_old);
	*out = in;
	in = NULL;
	rc = 0;
	goto out;
nomem:
	err_errno(e, ENOMEM, "start app \"%s\"", a->name);
out:
	for (int i = 0; i < 2; i++)
		if (out_pipe[i] >= 0)
			close(out_pipe[i]);
	if (in) {
		struct err ignored;
		if (in->dir)
			fs_rm_rf(in->dir, &ignored);
		free(in->dir);
		free(in);
	}
	if (rc == 0)
		close_unused_sockets(w, v.idx, v.n_idx);
	for (size_t i = 0; env && env[i]; i++)
		free(env[i]);
	free(env);
	if (launched)
		rt_launch_free(&l);
	version_free(&v);
	return rc;
}

/* ---- health ---- */

static void record_probe(struct rt_app *a, const struct rt_probe *p)
{
	rt_app_lock(&a->mu);
	a->probes[(a->probe_head + a->n_probes) % RT_PROBES_KEPT] = *p;
	if (a->n_probes < RT_PROBES_KEPT)
		a->n_probes++;
	else
		a->probe_head = (a->probe_head + 1) % RT_PROBES_KEPT;
	a->probe_seconds = p->ms / 1000.0;
	rt_app_unlock(&a->mu);
}

static void probe_exec(struct rt_app *a, struct rt_probe *p)
{
	struct rt_worker *w = a->w;
	int64_t t0 = clk_mono_ns();
	int status = 0;
	struct err e;
	char out[sizeof p->output] = "";
	_cleanup_close_ int mfd = memfd_create("rampd-probe", MFD_CLOEXEC);
	const char **argv = calloc(w->health.argv.n + 1, sizeof *argv);
	if (!argv || mfd < 0) {
		snprintf(p->output, sizeof p->output, "out of resources");
		p->ok = false;
		free(argv);
		return;
	}
	for (size_t i = 0; i < w->health.argv.n; i++)
		argv[i] = w->health.argv.v[i];
	struct rt_exec_spec x = {.argv = argv, .stdin_fd = RT_FD_NULL, .stdout_fd = mfd, .stderr_fd = mfd,
				 .timeout_ms = (unsigned)(w->health.timeout / 1000000)};
	int r = rt_exec(&w->cur->c, &x, &status, &e);
	int64_t t1 = clk_mono_ns();
	free(argv);
	ssize_t n = pread(mfd, out, sizeof out - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	for (char *c = out; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
			*c = ' ';
	p->time = clk_wall_ms();
	p->ms = (double)(t1 - t0) / 1e6;
	p->ok = r == 0 && status == 0;
	if (r < 0)
		snprintf(p->output, sizeof p->output, "%.120s", e.msg);
	else
		snprintf(p->output, sizeof p->output, "exit %d%s%.100s", status, *out ? ": " : "", out);
}

static void became_healthy(struct rt_app *a)
{
	struct rt_worker *w = a->w;
	w->ever_healthy = true;
	w->deadline = 0;
	w->failed = false;
	w->crashes = 0;
	rt_app_lock(&a->mu);
	bool was = a->healthy;
	a->healthy = true;
	if (!was)
		a->healthy_since = clk_wall_ms();
	bool current = a->st.has_current && img_digest_eq(&a->st.current.manifest, &w->cur->digest);
	rt_app_unlock(&a->mu);
	if (!was)
		phase(a, current ? RT_PHASE_HEALTHY : RT_PHASE_UNHEALTHY, "%s%s", current ? "" : "still on ",
		      current ? "" : w->cur->digest.s);
}

static void probe(struct rt_app *a, int64_t now)
{
	struct rt_worker *w = a->w;
	struct rt_probe p = {0};
	int64_t interval_ms = w->health.interval / 1000000;
	if (w->health.type == RT_HEALTH_NONE) {
		/* nothing to ask: running for a while is all there is */
		w->next_probe = 0;
		became_healthy(a);
		return;
	}
	if (w->health.type == RT_HEALTH_EXEC)
		probe_exec(a, &p);
	else if (!w->has_probe_addr)
		snprintf(p.output, sizeof p.output, "the image exposes no port %s to probe", w->health.port);
	else if (w->health.type == RT_HEALTH_HTTP)
		rt_probe_http(&w->probe_addr, w->health.path, w->health.timeout, &p);
	else
		rt_probe_tcp(&w->probe_addr, w->health.timeout, &p);
	if (!p.time)
		p.time = clk_wall_ms();
	record_probe(a, &p);
	now = clk_mono_ms();
	if (p.ok) {
		w->fails = 0;
		became_healthy(a);
	} else if (w->ever_healthy || now >= w->start_period_end) {
		/* failures in the start period do not count (Docker's rule) */
		if (++w->fails >= w->health.retries) {
			rt_app_lock(&a->mu);
			bool was = a->healthy;
			a->healthy = false;
			rt_app_unlock(&a->mu);
			if (was || w->fails == w->health.retries)
				phase(a, RT_PHASE_UNHEALTHY, "%" PRId64 " probes failed in a row: %s", w->fails, p.output);
		}
	}
	if (!w->ever_healthy && interval_ms > RT_HEALTH_START_PROBE_MS)
		interval_ms = RT_HEALTH_START_PROBE_MS;
	w->next_probe = now + interval_ms;
}

static void reset_health(struct rt_app *a, int64_t now)
{
	struct rt_worker *w = a->w;
	w->fails = 0;
	w->ever_healthy = false;
	w->start_period_end = now + w->health.start_period / 1000000;
	w->next_probe = now + (w->health.type == RT_HEALTH_NONE ? RT_HEALTH_NONE_SETTLE_MS : RT_HEALTH_START_PROBE_MS);
	rt_app_lock(&a->mu);
	a->healthy = false;
	rt_app_unlock(&a->mu);
}

/* ---- switching ---- */

static int64_t backoff_ms(unsigned n)
{
	int64_t ms = BACKOFF_MIN_MS;
	while (n-- > 1 && ms < BACKOFF_MAX_MS)
		ms *= 2;
	return ms > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : ms;
}

/* Start the current version (after a switch, a crash, or at boot). With
 * handed sockets the old container stops only once the new one runs. */
static void start_current(struct rt_app *a, const struct img_digest *digest)
{
	struct rt_worker *w = a->w;
	struct inst *in = NULL;
	struct err e;
	int64_t now = clk_mono_ms();
	struct rt_app_config ac;
	int crc = rt_daemon_app_config(a->d, a->name, &ac, &e);
	bool handoff = crc == 0 ? ac.handoff : true;
	if (crc == 0)
		rt_app_config_free(&ac);
	if (!handoff && w->cur) {
		/* the app binds its port itself: the old one must be gone first */
		inst_stop(a, w->cur);
		struct pollfd p = {.fd = w->cur->c.pidfd, .events = POLLIN};
		int64_t left = w->cur->kill_at - clk_mono_ms();
		if (poll(&p, 1, left > 0 ? (int)left : 0) == 0)
			syscall(SYS_pidfd_send_signal, w->cur->c.pidfd, SIGKILL, NULL, 0);
		poll(&p, 1, -1);
		int st = inst_reap(w->cur, w->log);
		wlog(a, "%s exited with status %d", w->cur->digest.s, st);
		inst_free(w->cur);
		w->cur = NULL;
	}
	if (inst_start(a, digest, &in, &e) < 0) {
		w->crashes++;
		int64_t b = backoff_ms(w->crashes);
		w->restart_at = now + b;
		wlog(a, "start of %s failed: %s", digest->s, e.msg);
		phase(a, w->cur ? RT_PHASE_UNHEALTHY : RT_PHASE_FAILED, "start %s: %s; again in %" PRId64 " ms", digest->s,
		      e.msg, b);
		write_runfile(a, NULL);
		return;
	}
	if (w->cur) {
		if (w->n_old < MAX_OLD) {
			inst_stop(a, w->cur);
			w->old[w->n_old++] = w->cur;
		} else {
			inst_free(w->cur); /* kills it */
		}
	}
	w->cur = in;
	w->restart_at = 0;
	reset_health(a, in->started);
	phase(a, w->failed ? RT_PHASE_FAILED : RT_PHASE_STARTING, "%s%s started (pid %d)",
	      w->failed ? "not healthy in time: " : "", digest->s, (int)in->c.pid);
	/* after the status: the pending entry written before the start already
	   lets the next rampd find the container after a crash */
	write_runfile(a, NULL);
}

/* Make the desired version current: commit it to state.json, then start it. */
static void switch_to(struct rt_app *a, const struct rt_app_version *v, bool revert)
{
	struct rt_worker *w = a->w;
	struct err e;
	unsigned keep = 3;
	int64_t deadline_ms = 60000;
	struct rt_app_config ac;
	if (rt_daemon_app_config(a->d, a->name, &ac, &e) == 0) {
		keep = ac.keep;
		deadline_ms = ac.health_deadline / 1000000;
		rt_app_config_free(&ac);
	}
	rt_app_lock(&a->mu);
	if (!a->st.has_desired || !img_digest_eq(&a->st.desired.manifest, &v->manifest)) {
		rt_app_unlock(&a->mu); /* a request changed it meanwhile: the next pass */
		return;
	}
	/* the desired version becomes current, under the rollout that asked for it */
	if (rt_app_commit(a, v, a->st.generation, true, true, keep ? keep : 1, &e) < 0) {
		rt_app_set_phase(a, RT_PHASE_FAILED, "recording the switch to %s failed: %s", v->manifest.s, e.msg);
		rt_app_unlock(&a->mu);
		log_err("app %s: %s", a->name, e.msg);
		w->switch_retry_at = clk_mono_ms() + BACKOFF_MAX_MS;
		return;
	}
	if (revert)
		a->reverts++;
	else
		a->switches++;
	rt_app_set_phase(a, revert ? RT_PHASE_REVERTING : RT_PHASE_STARTING, "switching to %s", v->manifest.s);
	rt_app_unlock(&a->mu);
	log_notice("app %s: %s to %s", a->name, revert ? "reverting" : "switching", v->manifest.s);
	w->crashes = 0;
	w->failed = false;
	w->deadline = clk_mono_ms() + deadline_ms;
	start_current(a, &v->manifest);
	rt_daemon_want_gc(a->d);
}

/* A revert recorded the new current version itself (supervisor.c): start it
 * now, whatever backoff the version before was in, and watch its health. */
static void switched_by_request(struct rt_app *a, const struct rt_app_version *cur)
{
	struct rt_worker *w = a->w;
	struct rt_app_config ac;
	struct err e;
	int64_t deadline_ms = 60000;
	if (rt_daemon_app_config(a->d, a->name, &ac, &e) == 0) {
		deadline_ms = ac.health_deadline / 1000000;
		rt_app_config_free(&ac);
	}
	log_notice("app %s: reverting to %s", a->name, cur->manifest.s);
	w->crashes = 0;
	w->failed = false;
	w->restart_at = 0;
	w->switch_retry_at = 0;
	w->deadline = clk_mono_ms() + deadline_ms;
	rt_daemon_want_gc(a->d);
}

/* ---- pulls ---- */

struct pull_job {
	struct rt_app *a;
	struct rt_app_version v;
};

static void *pull_main(void *arg)
{
	struct pull_job *j = arg;
	struct rt_app *a = j->a;
	struct err e = {0};
	/* pulls and unpacks are background work: the API and the apps' threads
	   come first (a thread's nice value; the unpack's helper thread inherits it) */
	if (setpriority(PRIO_PROCESS, (id_t)gettid(), PULL_NICE) < 0)
		log_debug("app %s: nice for the pull: %s", a->name, strerror(errno));
	int rc = rt_daemon_pull(a->d, a, &j->v, &e);
	rt_app_lock(&a->mu);
	a->pull_done = true;
	a->pull_rc = rc;
	snprintf(a->pull_err, sizeof a->pull_err, "%.1000s", rc < 0 ? e.msg : "");
	rt_app_unlock(&a->mu);
	rt_app_version_free(&j->v);
	free(j);
	/* a pull's buffers are freed now: give their pages back, rampd idles next */
	malloc_trim(0);
	rt_app_wake(a);
	return NULL;
}

static void start_pull(struct rt_app *a, const struct rt_app_version *v)
{
	struct rt_worker *w = a->w;
	struct err e;
	struct pull_job *j = calloc(1, sizeof *j);
	if (!j || rt_app_version_copy(&j->v, v, &e) < 0) {
		free(j);
		w->pull_retry_at = clk_mono_ms() + PULL_RETRY_MIN_MS;
		return;
	}
	j->a = a;
	rt_app_lock(&a->mu);
	a->pull_done = false;
	rt_app_set_phase(a, RT_PHASE_PULLING, "pulling %s", v->image);
	rt_app_unlock(&a->mu);
	if (pthread_create(&w->pull_thread, NULL, pull_main, j) != 0) {
		rt_app_version_free(&j->v);
		free(j);
		w->pull_retry_at = clk_mono_ms() + PULL_RETRY_MIN_MS;
		return;
	}
	char tn[16];
	snprintf(tn, sizeof tn, "pull %s", a->name);
	pthread_setname_np(w->pull_thread, tn);
	w->pulling = true;
	w->pull_digest = v->manifest;
}

static void pull_finished(struct rt_app *a)
{
	struct rt_worker *w = a->w;
	pthread_join(w->pull_thread, NULL);
	w->pulling = false;
	rt_app_lock(&a->mu);
	int rc = a->pull_rc;
	char msg[sizeof a->pull_err];
	memcpy(msg, a->pull_err, sizeof msg);
	a->pull_done = false;
	bool wanted = a->st.has_desired && img_digest_eq(&a->st.desired.manifest, &w->pull_digest);
	rt_app_unlock(&a->mu);
	if (rc == 0 || !wanted) {
		w->pull_failures = 0;
		w->pull_retry_at = 0;
		if (rc == 0)
			rt_gate_after_pull(a, &w->pull_digest);
		return;
	}
	int64_t b = PULL_RETRY_MIN_MS;
	w->pull_failures++;
	for (unsigned i = 1; i < w->pull_failures && b < PULL_RETRY_MAX_MS; i++)
		b *= 2;
	if (b > PULL_RETRY_MAX_MS)
		b = PULL_RETRY_MAX_MS;
	w->pull_retry_at = clk_mono_ms() + b;
	phase(a, RT_PHASE_FAILED, "%s; retrying in %" PRId64 " s", msg, b / 1000);
}

/* ---- the loop ---- */

static void container_exited(struct rt_app *a, int64_t now)
{
	struct rt_worker *w = a->w;
	struct inst *in = w->cur;
	int st = inst_reap(in, w->log);
	bool stable = now - in->started >= STABLE_MS;
	w->crashes = stable ? 1 : w->crashes + 1;
	int64_t b = backoff_ms(w->crashes);
	w->restart_at = now + b;
	char how[64];
	if (st < 0)
		snprintf(how, sizeof how, "exited");
	else if (st > 128)
		snprintf(how, sizeof how, "was killed by signal %d", st - 128);
	else
		snprintf(how, sizeof how, "exited with status %d", st);
	wlog(a, "%s %s; restarting in %" PRId64 " ms", in->digest.s, how, b);
	rt_app_lock(&a->mu);
	a->healthy = false;
	rt_app_unlock(&a->mu);
	phase_of(a, &in->digest, w->failed ? RT_PHASE_FAILED : RT_PHASE_UNHEALTHY, "%s%s %s; restarting in %" PRId64 " ms",
		 w->failed ? "not healthy in time: " : "", in->digest.s, how, b);
	rt_scrape_unfollow(a);
	inst_free(in);
	w->cur = NULL;
	write_runfile(a, NULL);
}

static void reap_old(struct rt_app *a, int64_t now)
{
	struct rt_worker *w = a->w;
	bool changed = false;
	for (size_t i = 0; i < w->n_old;) {
		struct inst *in = w->old[i];
		if (!inst_exited(in)) {
			if (now >= in->kill_at) {
				syscall(SYS_pidfd_send_signal, in->c.pidfd, SIGKILL, NULL, 0);
				in->kill_at = INT64_MAX;
			}
			i++;
			continue;
		}
		int st = inst_reap(in, w->log);
		wlog(a, "%s (%s) stopped, status %d", in->digest.s, in->id, st);
		inst_free(in);
		w->old[i] = w->old[--w->n_old];
		changed = true;
	}
	if (changed)
		write_runfile(a, NULL);
	if (changed && !w->n_old)
		rt_scrape_release(a);
}

/* A switched version that is not healthy in time: revert locally when the
 * host config says so, else say it failed (it keeps being restarted). */
static void check_deadline(struct rt_app *a, int64_t now)
{
	struct rt_worker *w = a->w;
	struct err e;
	if (!w->deadline || now < w->deadline)
		return;
	w->deadline = 0;
	bool auto_revert = false;
	struct rt_app_config ac;
	if (rt_daemon_app_config(a->d, a->name, &ac, &e) == 0) {
		auto_revert = ac.auto_revert;
		rt_app_config_free(&ac);
	}
	rt_app_lock(&a->mu);
	char cur[IMG_DIGEST_LEN + 1];
	snprintf(cur, sizeof cur, "%s", a->st.has_current ? a->st.current.manifest.s : "?");
	if (auto_revert && a->st.n_previous) {
		if (rt_app_auto_revert(a, &e) == 0)
			rt_app_set_phase(a, RT_PHASE_REVERTING, "auto-revert: %s was not healthy in time", cur);
		else
			log_err("app %s: auto-revert: %s", a->name, e.msg);
		rt_app_unlock(&a->mu);
		rt_app_wake(a); /* the next pass starts it */
		log_warn("app %s: %s not healthy in time, reverting to the previous version", a->name, cur);
		return;
	}
	rt_app_set_phase(a, RT_PHASE_FAILED, "not healthy in time: %.400s", a->message);
	rt_app_unlock(&a->mu);
	w->failed = true;
}

/* One pass: what the app should run, against what runs. */
static void step(struct rt_app *a)
{
	struct rt_worker *w = a->w;
	struct err e;
	int64_t now = clk_mono_ms();
	reap_old(a, now);
	if (w->cur && inst_exited(w->cur))
		container_exited(a, now);
	rt_app_lock(&a->mu);
	bool pull_done = a->pull_done;
	rt_app_unlock(&a->mu);
	if (w->pulling && pull_done)
		pull_finished(a);

	struct rt_app_version want = {0}, cur = {0};
	bool has_want, has_cur, revert = false, switched;
	rt_app_lock(&a->mu);
	switched = a->switched;
	a->switched = false;
	has_want = a->st.has_desired && rt_app_version_copy(&want, &a->st.desired, &e) == 0;
	has_cur = a->st.has_current && rt_app_version_copy(&cur, &a->st.current, &e) == 0;
	/* going back to a kept version is a revert, whoever asked */
	for (size_t i = 0; has_want && i < a->st.n_previous; i++)
		revert |= img_digest_eq(&a->st.previous[i].manifest, &want.manifest);
	rt_app_unlock(&a->mu);

	if (switched)
		switched_by_request(a, &cur);
	/* a version the app has not run waits for the host's trust policy */
	bool pending = has_want && (!has_cur || !img_digest_eq(&want.manifest, &cur.manifest));
	enum rt_gate_state gate = pending && !revert ? rt_gate_state(a, &want) : RT_GATE_OPEN;
	if (gate == RT_GATE_REFUSED) {
		w->retry_at = 0;
	} else if (pending) {
		/* a kept version cannot be collected, so a revert never waits for the
		   GC; any other image could go while we look, unless under the lock */
		bool present = rt_daemon_has_image(a->d, &want.manifest, !revert);
		present &= gate == RT_GATE_OPEN; /* else a pull fetches its records, then the gate looks */
		if (present && now >= w->switch_retry_at) {
			switch_to(a, &want, revert);
			goto out;
		}
		/* the backoff is the failing version's: another one is pulled at once */
		if (!present && !w->pulling && w->pull_failures && !img_digest_eq(&w->pull_digest, &want.manifest)) {
			w->pull_failures = 0;
			w->pull_retry_at = 0;
		}
		if (!present && !w->pulling && now >= w->pull_retry_at)
			start_pull(a, &want);
		/* when to come back for it */
		w->retry_at = present ? w->switch_retry_at : w->pulling ? 0 : w->pull_retry_at;
	} else {
		w->retry_at = 0;
	}
	if (has_cur && (!w->cur || !img_digest_eq(&w->cur->digest, &cur.manifest)) && now >= w->restart_at) {
		if (w->cur == NULL && w->crashes) {
			rt_app_lock(&a->mu);
			a->restarts++;
			rt_app_unlock(&a->mu);
		}
		start_current(a, &cur.manifest);
	}
	if (w->cur && w->next_probe && now >= w->next_probe)
		probe(a, now);
	if (w->cur)
		check_deadline(a, clk_mono_ms());
out:
	rt_app_version_free(&want);
	rt_app_version_free(&cur);
}

/* Sleep until something happens: a request, a container exit, a timer. */
static void wait_events(struct rt_app *a)
{
	struct rt_worker *w = a->w;
	struct pollfd p[2 + MAX_OLD];
	size_t n = 0;
	int64_t now = clk_mono_ms(), next = now + 60000;
	p[n++] = (struct pollfd){.fd = w->event_fd, .events = POLLIN};
	if (w->cur)
		p[n++] = (struct pollfd){.fd = w->cur->c.pidfd, .events = POLLIN};
	for (size_t i = 0; i < w->n_old; i++) {
		p[n++] = (struct pollfd){.fd = w->old[i]->c.pidfd, .events = POLLIN};
		if (w->old[i]->kill_at < next)
			next = w->old[i]->kill_at;
	}
	if (w->cur && w->next_probe && w->next_probe < next)
		next = w->next_probe;
	if (w->cur && w->deadline && w->deadline < next)
		next = w->deadline;
	rt_app_lock(&a->mu);
	bool has_cur = a->st.has_current;
	rt_app_unlock(&a->mu);
	/* a restart is due when nothing runs, or the old version runs while the
	   current one failed to start */
	if (has_cur && w->restart_at && w->restart_at < next)
		next = w->restart_at;
	if (w->retry_at && w->retry_at < next)
		next = w->retry_at;
	int timeout = next <= now ? 0 : (int)(next - now);
	if (poll(p, n, timeout) > 0 && (p[0].revents & POLLIN)) {
		uint64_t v;
		if (read(w->event_fd, &v, sizeof v) < 0 && errno != EAGAIN)
			log_debug("app %s: event: %s", a->name, strerror(errno));
	}
}

/* ---- adoption of the containers an earlier rampd left ---- */

/* Kill the processes of an instance whose start was interrupted before its
 * pid was recorded: they carry RAMP_INSTANCE=<app>/<id> in their environment. */
static void kill_orphans(struct rt_app *a, const char *id)
{
	char marker[160];
	size_t ml = (size_t)snprintf(marker, sizeof marker, "RAMP_INSTANCE=%s/%s", a->name, id);
	_cleanup_closedir_ DIR *d = opendir("/proc");
	struct dirent *de;
	while (d && (de = readdir(d))) {
		char path[300], buf[65536];
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof path, "/proc/%s/environ", de->d_name);
		_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf) : -1;
		if (n > 0 && (size_t)n > ml && memmem(buf, (size_t)n, marker, ml + 1)) {
			log_warn("app %s: killing pid %s, left from an interrupted start", a->name, de->d_name);
			kill(atoi(de->d_name), SIGKILL);
		}
	}
}

static void rm_stray_dirs(struct rt_app *a)
{
	_cleanup_free_ char *run = fs_join(a->dir, "run");
	_cleanup_closedir_ DIR *d = run ? opendir(run) : NULL;
	struct dirent *de;
	struct rt_worker *w = a->w;
	while (d && (de = readdir(d))) {
		bool mine = de->d_name[0] == 'i' && strchr(de->d_name, '-');
		if (!mine || (w->cur && !strcmp(w->cur->id, de->d_name)))
			continue;
		for (size_t i = 0; i < w->n_old; i++)
			mine &= strcmp(w->old[i]->id, de->d_name) != 0;
		char *p;
		struct err e;
		if (mine && asprintf(&p, "%s/%s", run, de->d_name) >= 0) {
			if (fs_rm_rf(p, &e) < 0)
				log_warn("%s", e.msg);
			free(p);
		}
	}
}

/* Wait (up to its grace, then SIGKILL) for a container to end, and free it. */
static void stop_now(struct rt_app *a, struct inst *in)
{
	inst_stop(a, in);
	struct pollfd p = {.fd = in->c.pidfd, .events = POLLIN};
	if (poll(&p, 1, (int)in->grace_ms) == 0)
		syscall(SYS_pidfd_send_signal, in->c.pidfd, SIGKILL, NULL, 0);
	poll(&p, 1, 10000);
	inst_reap(in, a->w->log);
	inst_free(in);
}

/* The read end of an adopted container's output pipe, from its init (which holds it
   for this), back to the log. */
static void take_output(struct rt_app *a, struct inst *in)
{
	struct stat st;
	struct err e;
	int fd = pidfd_getfd(in->c.pidfd, RT_INIT_HELD_FD, 0);
	int fl = fd >= 0 ? fcntl(fd, F_GETFL) : -1;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode) || fl < 0 || (fl & O_ACCMODE) != O_RDONLY) {
		/* started by a rampd that gave its apps app.log itself */
		log_notice("app %s: container %d has no output pipe to take back; its output shows again "
			   "after its next start", a->name, (int)in->c.pid);
		if (fd >= 0)
			close(fd);
		return;
	}
	if (rt_applog_attach(a->w->log, fd, in->id, &e) < 0)
		log_warn("app %s: %s", a->name, e.msg);
}

static void adopt_one(struct rt_app *a, const struct json *c, const struct img_digest *current)
{
	struct rt_worker *w = a->w;
	const char *id = NULL, *digest = NULL;
	int64_t pid = 0, start = 0;
	struct err e;
	struct img_digest dg;
	if (json_field_str(c, "id", true, &id, &e) < 0 || json_field_str(c, "digest", true, &digest, &e) < 0 ||
	    json_field_int(c, "pid", true, &pid, &e) < 0 || json_field_int(c, "start", false, &start, &e) < 0 ||
	    img_digest_parse(digest, &dg, &e) < 0 || strchr(id, '/') || id[0] == '.' || pid < 0 || pid > INT32_MAX) {
		log_warn("app %s: a bad entry in containers.json", a->name);
		return;
	}
	if (pid == 0) {
		kill_orphans(a, id);
		return;
	}
	int pfd = pidfd_open((pid_t)pid, 0);
	/* the pid may belong to another process by now: the start time tells */
	if (pfd < 0 || proc_starttime((pid_t)pid) != (unsigned long long)start) {
		if (pfd >= 0)
			close(pfd);
		return;
	}
	struct inst *in = calloc(1, sizeof *in);
	struct version v;
	if (!in || asprintf(&in->dir, "%s/run/%s", a->dir, id) < 0) {
		free(in);
		close(pfd);
		return;
	}
	in->adopted = true;
	in->c.pid = (pid_t)pid;
	in->c.pidfd = pfd;
	in->c.cgroup_fd = -1;
	in->c.pty = -1;
	in->digest = dg;
	in->starttime = (unsigned long long)start;
	in->started = clk_mono_ms();
	in->stop_sig = SIGTERM;
	in->grace_ms = 10000;
	snprintf(in->id, sizeof in->id, "%s", id);
	if (version_load(a, &dg, &v, &e) < 0) {
		log_warn("app %s: container %d runs %s, which the store cannot describe: %s", a->name, (int)pid, dg.s, e.msg);
		stop_now(a, in);
		return;
	}
	in->c.user = v.c.user ? strdup(v.c.user) : NULL;
	take_output(a, in);
	bool is_current = current && img_digest_eq(current, &dg) && !w->cur;
	if (is_current && v.ac.handoff) {
		/* its sockets: rampd's own copies died with the old rampd; take them back */
		struct rt_socket mine[64];
		for (size_t i = 0; i < v.n_idx; i++)
			mine[i] = w->socks[v.idx[i]];
		size_t got = rt_sockets_recover((pid_t)pid, mine, v.n_idx);
		for (size_t i = 0; i < v.n_idx; i++)
			w->socks[v.idx[i]].fd = mine[i].fd;
		if (got < v.n_idx) {
			log_warn("app %s: took back %zu of %zu sockets from pid %d; restarting it", a->name, got, v.n_idx,
				 (int)pid);
			is_current = false;
		}
	}
	use_version(a, &v, in);
	if (is_current)
		rt_scrape_follow(a, &dg, &v.c, &v.ac, w->socks, v.idx, v.n_idx, w->n_old);
	version_free(&v);
	if (is_current) {
		w->cur = in;
		reset_health(a, clk_mono_ms());
		wlog(a, "adopted %s (pid %d)", dg.s, (int)pid);
		phase(a, RT_PHASE_STARTING, "adopted %s (pid %d)", dg.s, (int)pid);
	} else if (current && img_digest_eq(current, &dg)) {
		/* the current version, but without its sockets: it must go before a new one binds */
		stop_now(a, in);
	} else if (w->n_old < MAX_OLD) {
		inst_stop(a, in);
		w->old[w->n_old++] = in;
	} else {
		stop_now(a, in);
	}
}

static void adopt(struct rt_app *a)
{
	_cleanup_free_ char *path = fs_join(a->dir, "run/containers.json"), *buf = NULL;
	size_t len;
	struct err e;
	const struct json *list;
	if (!path || fs_read_file(path, RUNFILE_MAX, &buf, &len, &e) < 0) {
		rm_stray_dirs(a);
		return;
	}
	struct json *j = json_parse(buf, len, &e);
	rt_app_lock(&a->mu);
	struct img_digest cur = a->st.current.manifest;
	bool has_cur = a->st.has_current;
	rt_app_unlock(&a->mu);
	if (j && json_field(j, "containers", JSON_ARRAY, true, &list, &e) == 0)
		for (size_t i = 0; i < list->arr.n && i < 64; i++)
			adopt_one(a, list->arr.v[i], has_cur ? &cur : NULL);
	else
		log_warn("app %s: \"%s\": %s", a->name, path, e.msg);
	json_free(j);
	rm_stray_dirs(a);
	write_runfile(a, NULL);
}

/* ---- the thread ---- */

static void shutdown_all(struct rt_app *a, bool leave)
{
	struct rt_worker *w = a->w;
	if (leave) {
		if (w->cur)
			inst_detach(w->cur);
		for (size_t i = 0; i < w->n_old; i++)
			inst_detach(w->old[i]);
	} else {
		/* all get their stop signal at once, then each its grace */
		if (w->cur)
			inst_stop(a, w->cur);
		for (size_t i = 0; i < w->n_old; i++)
			inst_stop(a, w->old[i]);
		if (w->cur)
			stop_now(a, w->cur);
		for (size_t i = 0; i < w->n_old; i++)
			stop_now(a, w->old[i]);
		phase(a, RT_PHASE_STOPPED, "rampd stopped it");
	}
	w->cur = NULL;
	w->n_old = 0;
	if (!leave)
		write_runfile(a, NULL);
	rt_sockets_close(w->socks, w->n_socks);
	if (w->pulling) {
		rt_app_lock(&a->mu);
		if (a->pull_pid > 0 && kill(a->pull_pid, SIGTERM) == 0)
			log_info("app %s: its download is stopped (the next pull resumes it)", a->name);
		rt_app_unlock(&a->mu);
		log_info("app %s: waiting for its pull to end", a->name);
		pthread_join(w->pull_thread, NULL);
		w->pulling = false;
	}
}

static void *app_main(void *arg)
{
	struct rt_app *a = arg;
	struct rt_worker *w = a->w;
	struct err e;
	adopt(a);
	for (;;) {
		rt_app_lock(&a->mu);
		bool quit = a->quit, leave = a->leave_running, deleting = a->deleting;
		rt_app_unlock(&a->mu);
		if (deleting) {
			shutdown_all(a, false);
			rt_applog_close(w->log);
			w->log = NULL;
			if (fs_rm_rf(a->dir, &e) < 0)
				log_warn("delete app %s: %s", a->name, e.msg);
			log_notice("app %s: deleted", a->name);
			rt_app_lock(&a->mu);
			a->gone = true;
			rt_app_unlock(&a->mu);
			rt_daemon_app_gone(a->d);
			break;
		}
		if (quit) {
			shutdown_all(a, leave);
			break;
		}
		step(a);
		wait_events(a);
	}
	return NULL;
}

int rt_app_start(struct rt_app *a, struct err *e)
{
	struct rt_worker *w = calloc(1, sizeof *w);
	_cleanup_free_ char *run = fs_join(a->dir, "run");
	if (!w || !run) {
		free(w);
		return err_errno(e, ENOMEM, "app \"%s\"", a->name);
	}
	if ((w->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		err_sys(e, "app \"%s\"", a->name);
		goto fail;
	}
	if (fs_mkdir_p(run, 0700, e) < 0 || !(w->log = rt_applog_open(a->d->applog, run, a->name, e)))
		goto fail;
	a->w = w;
	if (pthread_create(&w->thread, NULL, app_main, a) != 0) {
		a->w = NULL;
		err_set(e, "app \"%s\": cannot start its thread", a->name);
		goto fail;
	}
	char tn[16];
	snprintf(tn, sizeof tn, "app %s", a->name); /* shows in ps -L and /proc: which app a thread serves */
	pthread_setname_np(w->thread, tn);
	return 0;
fail:
	if (w->event_fd >= 0)
		close(w->event_fd);
	rt_applog_close(w->log);
	free(w);
	return -1;
}

void rt_app_wake(struct rt_app *a)
{
	uint64_t one = 1;
	if (a->w && write(a->w->event_fd, &one, sizeof one) < 0 && errno != EAGAIN)
		log_debug("app %s: wake: %s", a->name, strerror(errno));
}

void rt_app_stop(struct rt_app *a, bool leave_running)
{
	struct rt_worker *w = a->w;
	if (!w)
		return;
	rt_app_lock(&a->mu);
	a->quit = true;
	a->leave_running = leave_running;
	rt_app_unlock(&a->mu);
	rt_app_wake(a);
}

void rt_app_join(struct rt_app *a)
{
	struct rt_worker *w = a->w;
	if (!w)
		return;
	pthread_join(w->thread, NULL);
	for (size_t s = 0; s < w->n_socks; s++)
		if (w->socks[s].fd >= 0)
			close(w->socks[s].fd);
	free(w->socks);
	rt_health_free(&w->health);
	close(w->event_fd);
	rt_applog_close(w->log);
	free(w);
	a->w = NULL;
}
