/* daemon_metrics.c: the API's entry points for an app's own metrics: the
 * watch (PUT, DELETE /v1/apps/NAME/metrics/watch) and the samples (GET
 * /v1/apps/NAME/metrics); docs/API.md. */
#include <stdint.h>
#include <string.h>

#include "lib/clock.h"
#include "lib/api.h"
#include "runtime/rampd/daemon.h"
#include "runtime/rampd/samples.h"
#include "runtime/rampd/scrape.h"

#define NS_PER_MS 1000000

/* The app's settings (rampd.json), or the built-in ones. */
static void app_config(struct rt_daemon *d, const char *name, struct rt_app_config *ac)
{
	struct err e;
	rt_daemon_lock(&d->mu);
	if (rt_config_app(&d->cfg, name, ac, &e) < 0)
		memset(ac, 0, sizeof *ac);
	rt_daemon_unlock(&d->mu);
}

/* The document of GET /v1/apps/NAME/metrics (a and m locked). */
static void metrics_doc(struct rt_daemon *d, struct rt_app *a, const struct rt_app_config *ac, int64_t since,
			struct jgen *g)
{
	const struct rt_samples *m = a->samples;
	int64_t now = clk_wall_ms();
	jgen_obj_open(g);
	jgen_kstr(g, API_F_APP, a->name);
	jgen_key(g, API_F_RAMPD);
	jgen_obj_open(g);
	jgen_kstr(g, API_F_BOOT_ID, rt_boot_id());
	jgen_kint(g, API_F_STARTED_MS, now - (clk_mono_ms() - d->started_mono));
	jgen_obj_close(g);
	jgen_kint(g, API_F_NOW_MS, now);
	jgen_kint(g, API_F_INTERVAL_MS, ac->metrics_interval / NS_PER_MS);
	jgen_kint(g, API_F_MAX_SERIES, ac->metrics_max_series);
	jgen_kint(g, API_F_MAX_SAMPLES, ac->metrics_max_samples);
	jgen_key(g, API_F_ENDPOINT);
	if (m->target.running && m->target.has_endpoint) {
		char where[80];
		rt_addr_format(&m->target.addr, where, sizeof where);
		jgen_obj_open(g);
		jgen_kstr(g, API_F_PORT, m->target.port);
		jgen_kstr(g, API_F_PATH, m->target.path);
		jgen_kstr(g, API_F_ADDRESS, where);
		jgen_obj_close(g);
	} else {
		jgen_null(g);
	}
	jgen_key(g, API_F_ENDPOINT_ERROR);
	if (!m->target.running)
		jgen_str(g, "no container of the app is running");
	else if (!m->target.has_endpoint)
		jgen_str(g, m->target.why);
	else
		jgen_null(g);
	jgen_key(g, API_F_WATCH);
	rt_watch_json(&m->watch, g);
	jgen_key(g, API_F_VERSIONS);
	rt_samples_json(m, since, g);
	jgen_obj_close(g);
}

struct rt_outcome rt_daemon_watch(struct rt_daemon *d, const char *name, const char *body, size_t len,
				  struct jgen *g, struct err *e)
{
	struct rt_app_config ac;
	struct rt_watch w;
	struct rt_outcome o = {200, NULL};
	app_config(d, name, &ac);
	if (len > API_MAX_BODY || rt_watch_parse(body, len, ac.metrics_max_series, &w, e) < 0) {
		if (len > API_MAX_BODY)
			err_set(e, "watch: body larger than %d bytes", API_MAX_BODY);
		rt_app_config_free(&ac);
		return (struct rt_outcome){400, API_E_BAD_REQUEST};
	}
	struct rt_app *a = rt_daemon_lock_app(d, name, &o, e);
	if (a) {
		pthread_mutex_lock(&a->samples->mu);
		rt_samples_set_watch(a->samples, &w);
		metrics_doc(d, a, &ac, INT64_MAX, g);
		pthread_mutex_unlock(&a->samples->mu);
		rt_app_unlock(&a->mu);
		rt_scraper_wake(d->scraper);
	}
	rt_watch_free(&w);
	rt_app_config_free(&ac);
	return o;
}

struct rt_outcome rt_daemon_unwatch(struct rt_daemon *d, const char *name, struct jgen *g, struct err *e)
{
	struct rt_outcome o = {200, NULL};
	struct rt_watch none = {0};
	struct rt_app *a = rt_daemon_lock_app(d, name, &o, e);
	if (!a)
		return o;
	pthread_mutex_lock(&a->samples->mu);
	rt_samples_set_watch(a->samples, &none);
	pthread_mutex_unlock(&a->samples->mu);
	rt_app_unlock(&a->mu);
	jgen_obj_open(g);
	jgen_kstr(g, API_F_UNWATCHED, name);
	jgen_obj_close(g);
	return o;
}

struct rt_outcome rt_daemon_app_metrics(struct rt_daemon *d, const char *name, int64_t since, struct jgen *g,
					struct err *e)
{
	struct rt_app_config ac;
	struct rt_outcome o = {200, NULL};
	app_config(d, name, &ac);
	struct rt_app *a = rt_daemon_lock_app(d, name, &o, e);
	if (a) {
		pthread_mutex_lock(&a->samples->mu);
		metrics_doc(d, a, &ac, since, g);
		pthread_mutex_unlock(&a->samples->mu);
		rt_app_unlock(&a->mu);
	}
	rt_app_config_free(&ac);
	return o;
}
