/* daemon.c: rampd's life cycle, its table of apps and the request entry
 * points of the API (see daemon.h). */
#include "runtime/rampd/daemon.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "image/oci.h"
#include "lib/api.h"
#include "lib/cleanup.h"
#include "lib/clock.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "runtime/rampd/api_server.h"
#include "runtime/rampd/applog.h"
#include "runtime/gc.h"
#include "runtime/rampd/metrics.h"
#include "runtime/rampd/scrape.h"

#define LOG_TAIL_BYTES (4u << 20) /* at most this much of a log is read for a tail */

/* The main thread, the only writer of cfg (rt_daemon_reload(), under mu),
 * reads it without the lock: through this, for the lock analysis. */
static const struct rt_config *main_cfg(struct rt_daemon *d) RT_NO_LOCK_ANALYSIS
{
	return &d->cfg;
}

static void apply_log_level(struct rt_daemon *d)
{
	log_set_level(d->log_level_override ? (enum log_level)d->log_level_override : main_cfg(d)->log_level);
}

/* Apps the host knows: every valid name under state_dir/apps. At the
 * start, before any other thread: no lock. */
static int load_apps(struct rt_daemon *d, struct err *e) RT_NO_LOCK_ANALYSIS
{
	_cleanup_free_ char *dir = fs_join(d->cfg.state_dir, "apps");
	if (!dir)
		return err_errno(e, ENOMEM, "apps");
	if (fs_mkdir_p(dir, 0700, e) < 0)
		return -1;
	_cleanup_closedir_ DIR *dh = opendir(dir);
	if (!dh)
		return err_sys(e, "open \"%s\"", dir);
	struct dirent *de;
	while ((errno = 0, de = readdir(dh))) {
		if (de->d_name[0] == '.')
			continue;
		if (!rt_app_name_valid(de->d_name)) {
			log_warn("\"%s/%.100s\" is not an app name; ignored", dir, de->d_name);
			continue;
		}
		struct rt_app *a = rt_app_new(d, d->cfg.state_dir, de->d_name, e);
		if (!a)
			return -1;
		if (rt_app_load(a, e) < 0) {
			/* one broken state must not keep the other apps down */
			log_err("%s; the app is left alone until its state is repaired", e->msg);
			rt_app_free(a);
			continue;
		}
		if (!a->st.has_current && !a->st.has_desired) {
			rt_app_free(a); /* nothing was ever asked of it */
			continue;
		}
		struct rt_app **n = realloc(d->apps, (d->n_apps + 1) * sizeof *n);
		if (!n) {
			rt_app_free(a);
			return err_errno(e, ENOMEM, "apps");
		}
		d->apps = n;
		d->apps[d->n_apps++] = a;
		if (a->st.has_desired && a->st.has_current &&
		    !img_digest_eq(&a->st.desired.manifest, &a->st.current.manifest))
			rt_app_set_phase(a, RT_PHASE_PULLING, "deploying %s", a->st.desired.manifest.s);
	}
	if (errno)
		return err_sys(e, "read \"%s\"", dir);
	return 0;
}

/* rampd-pull lives next to rampd (bin/, build/release/, $(PREFIX)/bin):
 * found once, so that replacing the files during an upgrade does not
 * mislead a running rampd. Apps already in the store run without it. */
static void find_pull_helper(struct rt_daemon *d)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0 || (size_t)n >= sizeof self - 1) {
		snprintf(d->pull_helper, sizeof d->pull_helper, "rampd-pull");
		log_warn("cannot tell where rampd's executable is: pulls will fail");
		return;
	}
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	snprintf(d->pull_helper, sizeof d->pull_helper, "%.*s/rampd-pull", (int)(slash ? slash - self : 0), self);
	if (access(d->pull_helper, X_OK) < 0)
		log_warn("the pull helper %s: %s: pulls will fail until it is installed", d->pull_helper, strerror(errno));
}

/* rt_daemon_open() and rt_daemon_close() run alone (no other thread): no lock */
int rt_daemon_open(struct rt_daemon *d, const struct rt_daemon_opts *o, struct err *e) RT_NO_LOCK_ANALYSIS
{
	struct utsname u;
	memset(d, 0, sizeof *d);
	pthread_mutex_init(&d->mu, NULL);
	pthread_mutex_init(&d->store_mu, NULL);
	d->store.fd = d->store.lock_fd = -1;
	if ((d->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		return err_sys(e, "eventfd");
	d->leave_running = o->leave_running;
	d->log_level_override = o->log_level;
	d->started_mono = clk_mono_ms();
	if (!(d->config_path = strdup(o->config_path)))
		return err_errno(e, ENOMEM, "config");
	if (rt_config_load(&d->cfg, d->config_path, e) < 0)
		return -1;
	apply_log_level(d);
	if (gethostname(d->host, sizeof d->host - 1) < 0)
		strcpy(d->host, "unknown");
	if (uname(&u) == 0)
		snprintf(d->kernel, sizeof d->kernel, "%s", u.release);
	find_pull_helper(d);
	/* the store's lock keeps a second rampd off the same state */
	if (rt_store_open(&d->store, d->cfg.state_dir, e) < 0 || load_apps(d, e) < 0)
		return err_ctx(e, "state \"%s\"", d->cfg.state_dir);
	return 0;
}

void rt_daemon_close(struct rt_daemon *d) RT_NO_LOCK_ANALYSIS
{
	rt_api_stop(d->api);
	d->api = NULL;
	for (size_t i = 0; i < d->n_apps; i++)
		rt_app_free(d->apps[i]);
	free(d->apps);
	if (d->store.root)
		rt_store_close(&d->store);
	rt_config_free(&d->cfg);
	free(d->config_path);
	if (d->wake_fd >= 0)
		close(d->wake_fd);
	pthread_mutex_destroy(&d->mu);
	pthread_mutex_destroy(&d->store_mu);
	memset(d, 0, sizeof *d);
}

int rt_daemon_reload(struct rt_daemon *d, struct err *e)
{
	struct rt_config n = {0};
	if (rt_config_load(&n, d->config_path, e) < 0)
		return -1;
	/* these are bound at start: changing them needs a restart */
	const struct rt_config *c = main_cfg(d);
	if (strcmp(n.state_dir, c->state_dir) || strcmp(n.socket, c->socket) || n.listen.n != c->listen.n ||
	    !n.tls_cert != !c->tls_cert)
		log_warn("reload: state_dir, socket, listen and TLS changes take effect at the next start of rampd");
	for (size_t i = 0; i < n.listen.n && i < c->listen.n; i++)
		if (strcmp(n.listen.v[i], c->listen.v[i]))
			log_warn("reload: listener %s takes effect at the next start of rampd", n.listen.v[i]);
	if (d->api && n.token_file && rt_api_reload(d->api, &n, e) < 0) {
		rt_config_free(&n);
		return -1;
	}
	rt_daemon_lock(&d->mu);
	/* keep what is bound, take the rest */
	char *keep[] = {d->cfg.state_dir, d->cfg.socket};
	d->cfg.state_dir = d->cfg.socket = NULL;
	struct strv listen = d->cfg.listen;
	d->cfg.listen = (struct strv){0};
	rt_config_free(&d->cfg);
	free(n.state_dir);
	free(n.socket);
	strv_free(&n.listen);
	n.state_dir = keep[0];
	n.socket = keep[1];
	n.listen = listen;
	d->cfg = n;
	apply_log_level(d);
	rt_daemon_unlock(&d->mu);
	log_notice("reloaded \"%s\"", d->config_path);
	return 0;
}

/* ---- garbage, deleted apps ---- */

#define GC_DELAY_MS 5000 /* after a switch: a burst of switches makes one collection */

int rt_daemon_app_config(struct rt_daemon *d, const char *name, struct rt_app_config *out, struct err *e)
{
	rt_daemon_lock(&d->mu);
	int rc = rt_config_app(&d->cfg, name, out, e);
	rt_daemon_unlock(&d->mu);
	return rc;
}

/* Left out of the lock analysis: the store's lock is taken only when asked
 * (`locked`), which clang's analysis cannot follow. */
bool rt_daemon_has_image(struct rt_daemon *d, const struct img_digest *manifest, bool locked) RT_NO_LOCK_ANALYSIS
{
	struct rt_store_image im;
	struct err e;
	if (locked)
		rt_store_lock(&d->store_mu);
	bool present = rt_store_image_get(&d->store, manifest, &im, &e) == 0;
	if (present)
		rt_store_image_free(&im);
	if (locked)
		rt_store_unlock(&d->store_mu);
	return present;
}

void rt_daemon_want_gc(struct rt_daemon *d)
{
	uint64_t one = 1;
	rt_daemon_lock(&d->mu);
	d->gc_wanted = true;
	rt_daemon_unlock(&d->mu);
	if (write(d->wake_fd, &one, sizeof one) < 0 && errno != EAGAIN)
		log_debug("wake: %s", strerror(errno));
}

void rt_daemon_wake(struct rt_daemon *d)
{
	uint64_t one = 1;
	if (write(d->wake_fd, &one, sizeof one) < 0 && errno != EAGAIN)
		log_debug("wake: %s", strerror(errno));
}

void rt_daemon_app_gone(struct rt_daemon *d)
{
	rt_daemon_wake(d);
}

/* Interrupted pulls of images no app wants any more (state_dir/pull/HEX). */
static void drop_pulls(struct rt_daemon *d, const struct img_digest *keep, size_t n)
{
	_cleanup_free_ char *dir = fs_join(main_cfg(d)->state_dir, "pull");
	_cleanup_closedir_ DIR *dh = dir ? opendir(dir) : NULL;
	struct dirent *de;
	while (dh && (de = readdir(dh))) {
		bool wanted = de->d_name[0] == '.';
		for (size_t i = 0; i < n && !wanted; i++)
			wanted = !strcmp(img_digest_hex(&keep[i]), de->d_name);
		char *p;
		struct err e;
		if (!wanted && asprintf(&p, "%s/%s", dir, de->d_name) >= 0) {
			if (fs_rm_rf(p, &e) < 0)
				log_warn("%s", e.msg);
			free(p);
		}
	}
}

int rt_daemon_gc(struct rt_daemon *d, struct err *e)
{
	struct rt_gc_opts o;
	struct rt_gc_stats st;
	struct img_digest *in_use = NULL;
	size_t n = 0;
	int rc = 0;
	rt_gc_opts_init(&o);
	o.keep = 1;
	/* under the store lock: an import cannot finish between listing what is
	   in use and removing the rest */
	rt_store_lock(&d->store_mu);
	rt_daemon_lock(&d->mu);
	for (size_t i = 0; rc == 0 && i < d->n_apps; i++) {
		struct rt_app *a = d->apps[i];
		struct rt_app_config ac;
		if (rt_config_app(&d->cfg, a->name, &ac, e) == 0) {
			/* each app's previous list is cut to its own keep at every switch */
			if (ac.keep > o.keep)
				o.keep = ac.keep;
			rt_app_config_free(&ac);
		}
		rt_app_lock(&a->mu);
		/* and never shorter than a list: GC then never rewrites a state.json
		   behind the back of the app's thread (the list shrinks at a switch) */
		if (a->st.n_previous + 1 > o.keep)
			o.keep = (unsigned)a->st.n_previous + 1;
		rc = rt_app_in_use(a, &in_use, &n, e);
		rt_app_unlock(&a->mu);
	}
	d->gc_wanted = false;
	rt_daemon_unlock(&d->mu);
	o.in_use = in_use;
	o.n_in_use = n;
	if (rc == 0)
		rc = rt_gc(&d->store, &o, &st, e);
	if (rc == 0)
		drop_pulls(d, in_use, n);
	rt_store_unlock(&d->store_mu);
	free(in_use);
	return rc;
}

/* Join and forget the apps whose thread ended after a DELETE. */
static void forget_gone(struct rt_daemon *d)
{
	for (;;) {
		struct rt_app *gone = NULL;
		rt_daemon_lock(&d->mu);
		for (size_t i = 0; i < d->n_apps && !gone; i++) {
			struct rt_app *a = d->apps[i];
			rt_app_lock(&a->mu);
			if (a->gone) {
				gone = a;
				d->apps[i] = d->apps[--d->n_apps];
			}
			rt_app_unlock(&a->mu);
		}
		rt_daemon_unlock(&d->mu);
		if (!gone)
			return;
		/* no request can reach it now: lock and unlock once to let the last one out */
		rt_app_lock(&gone->mu);
		rt_app_unlock(&gone->mu);
		rt_app_join(gone);
		rt_app_free(gone);
	}
}

/* ---- the main loop ---- */

static void start_apps(struct rt_daemon *d)
{
	struct err e;
	rt_daemon_lock(&d->mu);
	d->running = true;
	for (size_t i = 0; i < d->n_apps; i++)
		if (rt_app_start(d->apps[i], &e) < 0)
			log_err("%s", e.msg);
	rt_daemon_unlock(&d->mu);
}

static void stop_apps(struct rt_daemon *d, bool leave)
{
	rt_daemon_lock(&d->mu);
	d->running = false;
	struct rt_app **apps = d->apps;
	size_t n = d->n_apps;
	rt_daemon_unlock(&d->mu);
	/* every app stops at once; the table no longer changes (the API is down) */
	for (size_t i = 0; i < n; i++)
		rt_app_stop(apps[i], leave);
	for (size_t i = 0; i < n; i++)
		rt_app_join(apps[i]);
}

int rt_daemon_run(struct rt_daemon *d, struct err *e)
{
	sigset_t mask;
	struct err ne;
	/* one malloc arena, not one per thread (glibc's default): an idle arena
	   keeps its pages, and rampd's few threads seldom allocate at once */
	mallopt(M_ARENA_MAX, 1);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGQUIT);
	/* blocked before any thread starts, so every thread inherits the mask */
	if (pthread_sigmask(SIG_BLOCK, &mask, NULL) != 0)
		return err_set(e, "block signals");
	signal(SIGPIPE, SIG_IGN);
	_cleanup_close_ int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0)
		return err_sys(e, "signalfd");
	if (rt_api_start(d, main_cfg(d), &d->api, e) < 0)
		return -1;
	/* READY early: the API answers; apps come up (or are adopted) after this */
	if (rt_notify("READY=1\nSTATUS=serving the API", &ne) < 0)
		log_warn("%s", ne.msg);
	const struct rt_config *c = main_cfg(d);
	log_notice("rampd %s serving on %s%s%s", RAMP_VERSION, c->socket, c->listen.n ? " and TCP " : "",
		   c->listen.n ? c->listen.v[0] : "");
	if (rt_applog_new(&d->applog, e) < 0) {
		rt_api_stop(d->api);
		d->api = NULL;
		return -1;
	}
	start_apps(d);
	if (rt_scraper_start(d, &d->scraper, &ne) < 0)
		log_err("%s: the apps' metrics are not scraped", ne.msg);

	int64_t wd = rt_watchdog_interval_ms();
	int64_t next_wd = wd ? clk_mono_ms() + wd : 0;
	int64_t gc_every = c->gc_interval / 1000000;
	int64_t next_gc = clk_mono_ms() + (gc_every < GC_DELAY_MS ? gc_every : GC_DELAY_MS), gc_at = 0;
	bool leave = false;
	for (;;) {
		struct pollfd p[2] = {{.fd = sfd, .events = POLLIN}, {.fd = d->wake_fd, .events = POLLIN}};
		int64_t api_at = rt_api_sweep(d->api), now = clk_mono_ms(), next = next_gc;
		if (wd && next_wd < next)
			next = next_wd;
		if (api_at && api_at < next)
			next = api_at;
		if (gc_at && gc_at < next)
			next = gc_at;
		int n = poll(p, 2, next <= now ? 0 : (int)(next - now));
		if (n < 0 && errno != EINTR)
			return err_sys(e, "poll");
		now = clk_mono_ms();
		if (wd && now >= next_wd) {
			if (rt_notify("WATCHDOG=1", &ne) < 0)
				log_warn("%s", ne.msg);
			next_wd = now + wd;
		}
		if (n > 0 && (p[1].revents & POLLIN)) {
			uint64_t v;
			if (read(d->wake_fd, &v, sizeof v) < 0 && errno != EAGAIN)
				log_debug("wake: %s", strerror(errno));
			forget_gone(d);
			rt_daemon_lock(&d->mu);
			if (d->gc_wanted && !gc_at)
				gc_at = now + GC_DELAY_MS;
			rt_daemon_unlock(&d->mu);
		}
		if ((gc_at && now >= gc_at) || now >= next_gc) {
			if (rt_daemon_gc(d, &ne) < 0)
				log_err("%s", ne.msg);
			gc_at = 0;
			rt_daemon_lock(&d->mu);
			next_gc = clk_mono_ms() + d->cfg.gc_interval / 1000000;
			rt_daemon_unlock(&d->mu);
		}
		if (n <= 0 || !(p[0].revents & POLLIN))
			continue;
		struct signalfd_siginfo si;
		if (read(sfd, &si, sizeof si) != sizeof si)
			continue;
		if (si.ssi_signo == SIGHUP) {
			rt_notify("RELOADING=1", &ne);
			if (rt_daemon_reload(d, &ne) < 0)
				log_err("reload failed, keeping the running configuration: %s", ne.msg);
			rt_notify("READY=1", &ne);
			continue;
		}
		/* the flag, the config as reloaded last, or SIGQUIT */
		rt_daemon_lock(&d->mu);
		leave = d->leave_running || d->cfg.leave_running || si.ssi_signo == SIGQUIT;
		rt_daemon_unlock(&d->mu);
		log_notice("%s: stopping%s", strsignal((int)si.ssi_signo), leave ? ", leaving the apps running" : "");
		break;
	}
	rt_notify("STOPPING=1", &ne);
	/* the API first, so that nothing changes the apps while they stop */
	rt_api_stop(d->api);
	d->api = NULL;
	rt_scraper_stop(d->scraper);
	d->scraper = NULL;
	stop_apps(d, leave);
	rt_applog_free(d->applog);
	d->applog = NULL;
	return 0;
}

/* ---- requests ---- */

static struct rt_app *find_app(struct rt_daemon *d, const char *name) RT_REQUIRES(rt_lock_daemon)
{
	for (size_t i = 0; i < d->n_apps; i++)
		if (!strcmp(d->apps[i]->name, name))
			return d->apps[i];
	return NULL;
}

/* the lock is taken on some paths only: the declaration says so instead */
struct rt_app *rt_daemon_lock_app(struct rt_daemon *d, const char *name, struct rt_outcome *o, struct err *e)
	RT_NO_LOCK_ANALYSIS
{
	rt_daemon_lock(&d->mu);
	struct rt_app *a = find_app(d, name);
	if (a)
		rt_app_lock(&a->mu);
	rt_daemon_unlock(&d->mu);
	if (a && a->deleting) {
		rt_app_unlock(&a->mu);
		a = NULL;
	}
	if (!a) {
		*o = (struct rt_outcome){404, API_E_NOT_FOUND};
		err_set(e, "no app \"%s\" on this host", name);
	}
	return a;
}

void rt_daemon_info(struct rt_daemon *d, struct jgen *g)
{
	struct img_platform p;
	img_platform_host(&p);
	jgen_obj_open(g);
	jgen_kstr(g, "version", RAMP_VERSION);
	jgen_kstr(g, "host", d->host);
	jgen_key(g, "platform");
	jgen_obj_open(g);
	jgen_kstr(g, "os", p.os);
	jgen_kstr(g, "architecture", p.architecture);
	if (p.variant)
		jgen_kstr(g, "variant", p.variant);
	jgen_obj_close(g);
	jgen_kstr(g, "kernel", d->kernel);
	jgen_kint(g, "uptimeSeconds", (clk_mono_ms() - d->started_mono) / 1000);
	jgen_key(g, "apps");
	jgen_arr_open(g);
	rt_daemon_lock(&d->mu);
	for (size_t i = 0; i < d->n_apps; i++) {
		struct rt_app *a = d->apps[i];
		rt_app_lock(&a->mu);
		if (!a->deleting)
			jgen_str(g, a->name);
		rt_app_unlock(&a->mu);
	}
	rt_daemon_unlock(&d->mu);
	jgen_arr_close(g);
	jgen_obj_close(g);
	img_platform_free(&p);
}

void rt_daemon_list_apps(struct rt_daemon *d, struct jgen *g)
{
	jgen_obj_open(g);
	jgen_key(g, "apps");
	jgen_arr_open(g);
	rt_daemon_lock(&d->mu);
	for (size_t i = 0; i < d->n_apps; i++) {
		struct rt_app *a = d->apps[i];
		rt_app_lock(&a->mu);
		if (!a->deleting)
			rt_app_status_json(a, g);
		rt_app_unlock(&a->mu);
	}
	rt_daemon_unlock(&d->mu);
	jgen_arr_close(g);
	jgen_obj_close(g);
}

struct rt_outcome rt_daemon_get_app(struct rt_daemon *d, const char *name, struct jgen *g, struct err *e)
{
	struct rt_outcome o = {200, NULL};
	struct rt_app *a = rt_daemon_lock_app(d, name, &o, e);
	if (!a)
		return o;
	rt_app_status_json(a, g);
	rt_app_unlock(&a->mu);
	return o;
}

struct rt_outcome rt_daemon_put(struct rt_daemon *d, const char *name, const struct rt_put_req *r, struct jgen *g,
				struct err *e)
{
	rt_daemon_lock(&d->mu);
	struct rt_app *a = find_app(d, name);
	if (!a) {
		struct rt_app **n = realloc(d->apps, (d->n_apps + 1) * sizeof *n);
		if (!n || !(a = rt_app_new(d, d->cfg.state_dir, name, e))) {
			if (n)
				d->apps = n;
			rt_daemon_unlock(&d->mu);
			if (!n)
				err_errno(e, ENOMEM, "app \"%s\"", name);
			return (struct rt_outcome){500, API_E_INTERNAL};
		}
		d->apps = n;
		d->apps[d->n_apps++] = a;
		if (d->running && rt_app_start(a, e) < 0) {
			d->apps[--d->n_apps] = NULL;
			rt_daemon_unlock(&d->mu);
			rt_app_free(a);
			return (struct rt_outcome){500, API_E_INTERNAL};
		}
	}
	rt_app_lock(&a->mu);
	rt_daemon_unlock(&d->mu);
	struct rt_outcome o;
	if (a->deleting) {
		err_set(e, "app \"%s\" is being deleted; try again in a moment", name);
		o = (struct rt_outcome){409, API_E_CONFLICT};
	} else {
		o = rt_app_put(a, r, e);
	}
	if (o.status < 400)
		rt_app_status_json(a, g);
	rt_app_unlock(&a->mu);
	return o;
}

struct rt_outcome rt_daemon_revert(struct rt_daemon *d, const char *name, const struct rt_revert_req *r,
				   struct jgen *g, struct err *e)
{
	struct rt_outcome o;
	struct rt_app *a = rt_daemon_lock_app(d, name, &o, e);
	if (!a)
		return o;
	o = rt_app_revert(a, r, e);
	if (o.status < 400)
		rt_app_status_json(a, g);
	rt_app_unlock(&a->mu);
	return o;
}

struct rt_outcome rt_daemon_delete(struct rt_daemon *d, const char *name, const struct rt_delete_req *r,
				   struct jgen *g, struct err *e)
{
	struct rt_outcome o;
	struct rt_app *a = rt_daemon_lock_app(d, name, &o, e);
	if (!a)
		return o;
	o = rt_app_delete(a, r, e);
	rt_app_unlock(&a->mu);
	if (o.status >= 400)
		return o;
	/* not running under a daemon (tests of the API alone): forget it now */
	rt_daemon_lock(&d->mu);
	bool threads = d->running;
	rt_daemon_unlock(&d->mu);
	if (!threads) {
		rt_app_lock(&a->mu);
		a->gone = true;
		rt_app_unlock(&a->mu);
		if (fs_rm_rf(a->dir, e) < 0)
			log_warn("%s", e->msg);
		forget_gone(d);
	}
	jgen_obj_open(g);
	jgen_kstr(g, "deleted", name);
	jgen_obj_close(g);
	return o;
}

/* The last bytes of a file, at most cap: their number, 0 for no file, -1 on error. */
static ssize_t tail_of(const char *path, char *buf, size_t cap, struct err *e)
{
	struct stat st;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : err_sys(e, "open \"%s\"", path);
	if (fstat(fd, &st) < 0)
		return err_sys(e, "stat \"%s\"", path);
	size_t want = (size_t)st.st_size < cap ? (size_t)st.st_size : cap;
	ssize_t n = pread(fd, buf, want, st.st_size - (off_t)want);
	return n < 0 ? err_sys(e, "read \"%s\"", path) : n;
}

struct rt_outcome rt_daemon_logs(struct rt_daemon *d, const char *name, unsigned tail, char **out, size_t *len,
				 struct err *e)
{
	struct rt_outcome o = {200, NULL};
	struct rt_app *a = rt_daemon_lock_app(d, name, &o, e);
	if (!a)
		return o;
	_cleanup_free_ char *cur = fs_join(a->dir, "run/app.log"), *prev = fs_join(a->dir, "run/app.log.1");
	rt_app_unlock(&a->mu);
	_cleanup_free_ char *older = NULL;
	char *buf = malloc(LOG_TAIL_BYTES + 1);
	*out = NULL;
	*len = 0;
	if (!cur || !prev || !buf) {
		free(buf);
		err_errno(e, ENOMEM, "logs of \"%s\"", name);
		return (struct rt_outcome){500, API_E_INTERNAL};
	}
	/* app.log, and the end of the file it was rotated from when it has too few lines */
	ssize_t n = tail_of(cur, buf, LOG_TAIL_BYTES, e), m = 0;
	size_t lines = 0;
	for (ssize_t i = 0; i < n; i++)
		lines += buf[i] == '\n';
	if (n >= 0 && lines <= tail && (size_t)n < LOG_TAIL_BYTES) {
		older = malloc(LOG_TAIL_BYTES - (size_t)n);
		m = older ? tail_of(prev, older, LOG_TAIL_BYTES - (size_t)n, e) : 0;
		if (m > 0) {
			memmove(buf + m, buf, (size_t)n);
			memcpy(buf, older, (size_t)m);
			n += m;
		}
	}
	if (n < 0 || m < 0) {
		free(buf);
		err_ctx(e, "logs of \"%s\"", name);
		return (struct rt_outcome){500, API_E_INTERNAL};
	}
	/* the last `tail` lines: walk back over that many newlines (a last line without one counts) */
	size_t start = (size_t)n;
	lines = 0;
	if (start && buf[start - 1] == '\n')
		start--;
	while (start > 0 && lines < tail) {
		if (buf[start - 1] == '\n' && ++lines == tail)
			break;
		start--;
	}
	memmove(buf, buf + start, (size_t)n - start);
	*len = (size_t)n - start;
	*out = buf;
	return o;
}

int rt_daemon_metrics(struct rt_daemon *d, char **out, size_t *len, struct err *e)
{
	return rt_metrics_text(d, out, len, e);
}
