/* test_engine.c: the rollout engine (orchestrator/engine) driven through its
 * transport interface (orchestrator/transport.h), without a network or a
 * fleet process: each host is a small model of rampd's API in this file (a
 * generation that fences older requests, the desired and current version, a
 * new version that turns healthy after a while or never), and the clock is
 * the test's, moved by each step. What is checked: waves go in order and a
 * wave starts only once the one before it baked, a failure beyond the budget
 * reverts every touched host and deploys nothing more, failures within the
 * budget are reverted alone and the rollout goes on, a newer generation on a
 * host stops the rollout without undoing anything, hosts unreachable at the
 * precheck refuse the rollout or are skipped (by the budget), and a rollout
 * stopped after a wave resumes from its journal without touching the hosts of
 * the waves that passed. Every state change goes through the table of legal
 * transitions: an illegal one fails the test. With --analysis the hosts also
 * serve rampd's metrics API (a watch, then samples scraped every second: 1000
 * requests a scrape, a share of them errors set per version): a release
 * with ten times the errors fails in wave 1 and is reverted, a release as
 * good as the old one passes every wave (the last against the hosts' own
 * window on the old version), a host whose rampd restarts is left out and
 * named, and one without data makes the wave inconclusive, which pauses.
 * With --metrics-source prometheus=URL the fake also answers Prometheus'
 * range queries from each app's scrapes (a scrape answered only once it is
 * in, a little after its time), on the engine's wall clock, which is the
 * fake's (the test is linked with -Wl,--wrap=clk_wall_ms): a release with 3%
 * errors against 0.5% fails wave 1 on the error ratio, a good one passes
 * every wave after its bake with no host left out, a host Prometheus has
 * no series of, or whose error counter reads NaN, is left out and named,
 * and a host read on both versions at its switch (the new one with fewer
 * good requests but more failed than the old one's last) is a restart, not
 * a host to leave out.
 * On 160 hosts each group is judged on 64 hosts drawn at random (the rest
 * are never asked), a host of the sample left out is replaced, the events
 * count the hosts judged, and a resumed rollout draws the same hosts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fs.h"
#include "lib/json.h"
#include "orchestrator/engine.h"
#include "orchestrator/event.h"
#include "orchestrator/canary_series.h"
#include "orchestrator/html.h"
#include "orchestrator/journal.h"
#include "tests/helpers/promfixtures.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define ID "20260101T000000Z-web-abcd"
#define MAX_HOSTS 160
#define MAX_QUEUE 512
#define MAX_SAMPLES 400
#define WALL0 INT64_C(1790000000000) /* rampd's clock: unix ms at the fake's 0 */
#define MAX_PLOG 1000
/* Prometheus answers from a scrape once it is in, some time after the
 * scrape's time: every other scrape of a host 18 ms after it (the engine's
 * queries of a poll go out 5 ms apart) */
#define PROM_IN(t) ((t) + ((t) / 1000 % 2 ? 18 : 0))

static const size_t ends[] = {1, 3, 5}; /* waves of 1, 2 and 2 hosts */

/* ---- the hosts: a model of rampd's API for one app ---- */

struct fhost {
	bool has_app;
	int64_t gen;
	char desired[80], current[80];
	int64_t switch_at;      /* when current becomes desired (-1: never) */
	bool bad;               /* D2 never turns healthy there */
	bool down;              /* answers nothing */
	int64_t fence_at;       /* from then on, a newer rollout owns it (0: never) */
	unsigned deploys, reverts;
	int64_t deployed_at;    /* the first deploy */
	uint32_t asked;         /* bit w: asked for metrics in wave w */
	/* metrics: a window per version, scraped every second once watched */
	int64_t watched_at, scraped_to; /* 0: not watched */
	int64_t reboot_at;      /* rampd restarts then (a new bootId; 0: never) */
	char boot[16];
	bool no_metrics;        /* the app exports nothing */
	/* Prometheus' view of the app: every scrape, of the process running then */
	bool prom_absent;       /* Prometheus has no series of it (a wrong target, a typo) */
	int64_t prom_nan_at;    /* from then on its error counter reads NaN (0: never) */
	bool prom_switch;       /* at its switch both versions answer for a while (prom_body) */
	double mix_total, mix_errors;
	size_t np;
	struct pscrape {
		int64_t t;
		double total, errors;
	} plog[MAX_PLOG];
	struct window {
		char digest[80];
		size_t n;
		int64_t t[MAX_SAMPLES];
		double total[MAX_SAMPLES], errors[MAX_SAMPLES];
	} win[2];
};

/* the share of requests failing on each version (D1 and D2) */
static double err_rate[2] = {0.005, 0.005};

struct answer {
	http_req_cb cb;
	void *ctx;
	uint64_t tag;
	long status;
	char *body;
};

struct fake {
	struct orch_transport t;
	int64_t now;
	struct fhost h[MAX_HOSTS];
	struct answer q[MAX_QUEUE];
	size_t nq;
	size_t order[MAX_HOSTS]; /* hosts in the order of their first deploy */
	bool prom;               /* Prometheus scrapes the apps from the start */
	size_t n_order;
	int wave; /* the wave running */
};

static int64_t body_int(const char *body, const char *key)
{
	struct err e;
	int64_t v = -1;
	struct json *j = json_parse(body, strlen(body), &e);
	assert_non_null(j);
	assert_int_equal(json_field_int(j, key, true, &v, &e), 0);
	json_free(j);
	return v;
}

static void body_str(const char *body, const char *key, char *out, size_t n)
{
	struct err e;
	struct json *j = json_parse(body, strlen(body), &e);
	assert_non_null(j);
	const char *s = json_get_str(j, key);
	assert_non_null(s);
	const char *at = strchr(s, '@');
	snprintf(out, n, "%s", at ? at + 1 : s);
	json_free(j);
}

static char *status_body(struct fake *f, struct fhost *h)
{
	char *b = NULL;
	bool switched = h->switch_at >= 0 && f->now >= h->switch_at;
	if (switched)
		memcpy(h->current, h->desired, sizeof h->current);
	bool healthy = switched && !(h->bad && !strcmp(h->current, D2));
	const char *phase = !switched ? "starting" : healthy ? "healthy" : "unhealthy";
	int rc = asprintf(&b,
			  "{\"name\":\"web\",\"generation\":%" PRId64 ",\"phase\":\"%s\","
			  "\"desired\":{\"image\":\"reg/web@%s\",\"digest\":\"%s\"},"
			  "\"current\":{\"image\":\"reg/web@%s\",\"digest\":\"%s\"},"
			  "\"previous\":[{\"image\":\"reg/web@" D1 "\",\"digest\":\"" D1 "\"}],"
			  "\"health\":{\"healthy\":%s,\"healthySince\":\"t%" PRId64 "\"}}",
			  h->gen, phase, h->desired, h->desired, h->current, h->current, healthy ? "true" : "false",
			  h->switch_at);
	assert_true(rc > 0);
	return b;
}

/* Scrapes up to now, each of the version running then. */
static void scrape(struct fake *f, struct fhost *h)
{
	for (int64_t t = h->scraped_to + 1000; t <= f->now; t += 1000) {
		h->scraped_to = t;
		if (h->no_metrics)
			continue;
		const char *d = h->switch_at >= 0 && t >= h->switch_at ? h->desired : h->current;
		struct window *w = !strcmp(h->win[0].digest, d) || !h->win[0].digest[0] ? &h->win[0] : &h->win[1];
		snprintf(w->digest, sizeof w->digest, "%s", d);
		if (w->n == MAX_SAMPLES)
			continue;
		double total = (w->n ? w->total[w->n - 1] : 0) + 1000;
		w->t[w->n] = WALL0 + t;
		w->total[w->n] = total;
		w->errors[w->n] = (double)(int64_t)(total * err_rate[!strcmp(d, D2)]);
		struct pscrape ps = {WALL0 + t, w->total[w->n], w->errors[w->n]};
		if (h->prom_switch && w == &h->win[1]) {
			/* Prometheus still reads the old version for 2 s, then the new one
			 * with 6 requests fewer answered well and 9 more failed than the
			 * old one's last (it had served for as long): hello at a switch */
			const struct pscrape *old = &h->plog[h->np - 1];
			if (t < h->switch_at + 2000)
				ps = (struct pscrape){WALL0 + t, old->total, old->errors};
			else if (!h->mix_total && !h->mix_errors) {
				h->mix_total = old->total + 3 - ps.total;
				h->mix_errors = old->errors + 9 - ps.errors;
			}
			ps.total += t < h->switch_at + 2000 ? 0 : h->mix_total;
			ps.errors += t < h->switch_at + 2000 ? 0 : h->mix_errors;
		}
		if (h->np < MAX_PLOG)
			h->plog[h->np++] = ps;
		w->n++;
	}
}

static void put_values(FILE *m, const struct window *w, int64_t since, const double *v, double scale)
{
	bool first = true;
	fputs("\"values\":[", m);
	for (size_t i = 0; i < w->n; i++)
		if (w->t[i] > since) {
			fprintf(m, "%s%.0f", first ? "" : ",", v[i] * scale);
			first = false;
		}
	fputs("]", m);
}

/* GET /v1/apps/web/metrics?since=: counters by code and a histogram (95% of
 * the requests under 0.1 s on both versions). */
static char *metrics_body(struct fake *f, struct fhost *h, int64_t since)
{
	char *b = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&b, &len);
	assert_non_null(m);
	scrape(f, h);
	if (h->reboot_at && f->now >= h->reboot_at)
		strcpy(h->boot, "boot2");
	fprintf(m, "{\"app\":\"web\",\"rampd\":{\"bootId\":\"%s\",\"startedMs\":1},\"nowMs\":%" PRId64 ",\"versions\":[",
		h->boot, WALL0 + f->now);
	for (size_t k = 0; k < 2 && h->win[k].digest[0]; k++) {
		const struct window *w = &h->win[k];
		double ok[MAX_SAMPLES];
		for (size_t i = 0; i < w->n; i++)
			ok[i] = w->total[i] - w->errors[i];
		fprintf(m, "%s{\"digest\":\"%s\",\"current\":%s,\"times\":[", k ? "," : "", w->digest,
			!strcmp(w->digest, h->current) ? "true" : "false");
		bool first = true;
		for (size_t i = 0; i < w->n; i++)
			if (w->t[i] > since) {
				fprintf(m, "%s%" PRId64, first ? "" : ",", w->t[i]);
				first = false;
			}
		fputs("],\"series\":[{\"name\":\"http_requests_total\",\"labels\":{\"code\":\"200\"},", m);
		put_values(m, w, since, ok, 1);
		fputs("},{\"name\":\"http_requests_total\",\"labels\":{\"code\":\"500\"},", m);
		put_values(m, w, since, w->errors, 1);
		fputs("},{\"name\":\"http_request_duration_seconds_bucket\",\"labels\":{\"le\":\"0.1\"},", m);
		put_values(m, w, since, w->total, 0.95);
		fputs("},{\"name\":\"http_request_duration_seconds_bucket\",\"labels\":{\"le\":\"+Inf\"},", m);
		put_values(m, w, since, w->total, 1);
		fputs("},{\"name\":\"http_request_duration_seconds_count\",\"labels\":{},", m);
		put_values(m, w, since, w->total, 1);
		fputs("}]}", m);
	}
	fputs("]}", m);
	fclose(m);
	return b;
}

/* The value of URL parameter key, percent-decoded, into out. */
static void url_param(const char *url, const char *key, char *out, size_t n)
{
	char pat[32];
	snprintf(pat, sizeof pat, "%s=", key);
	const char *p = strstr(url, pat);
	size_t o = 0;
	assert_non_null(p);
	for (p += strlen(pat); *p && *p != '&' && o + 1 < n; p++) {
		unsigned x;
		if (*p == '%' && sscanf(p + 1, "%2x", &x) == 1) {
			out[o++] = (char)x;
			p += 2;
		} else
			out[o++] = *p;
	}
	out[o] = '\0';
}

static int64_t url_ms(const char *url, const char *key)
{
	char v[32];
	url_param(url, key, v, sizeof v);
	return llround(strtod(v, NULL) * 1000);
}

/* GET /api/v1/query_range as Prometheus answers it: per time of the grid,
 * each series' last scrape at or before it that Prometheus holds by now
 * (PROM_IN: a scrape is in some time after its time). The app's counters by
 * code, its histogram's buckets (95% of requests under 0.1 s) and count. */
static char *prom_body(struct fake *f, struct fhost *h, size_t host, const char *url)
{
	char query[512], inst[64], *b = NULL;
	size_t len = 0;
	int64_t start = url_ms(url, "start"), end = url_ms(url, "end"), step = url_ms(url, "step");
	url_param(url, "query", query, sizeof query);
	snprintf(inst, sizeof inst, "{instance=\"10.0.0.%zu:8080\"}", host + 1);
	assert_non_null(strstr(query, inst)); /* the default template, filled for this host */
	*strchr(query, '{') = '\0';
	assert_true(step > 0 && start <= end && start % step == 0);
	scrape(f, h);
	static const struct {
		const char *name, *labels;
		double ok, errors, all; /* the value: ok × (total - errors) + errors × errors + all × total */
	} series[] = {
		{"http_requests_total", "\"code\":\"200\"", 1, 0, 0},
		{"http_requests_total", "\"code\":\"500\"", 0, 1, 0},
		{"http_request_duration_seconds_bucket", "\"le\":\"0.1\"", 0, 0, 0.95},
		{"http_request_duration_seconds_bucket", "\"le\":\"+Inf\"", 0, 0, 1},
		{"http_request_duration_seconds_count", "", 0, 0, 1},
	};
	FILE *m = open_memstream(&b, &len);
	assert_non_null(m);
	fputs(PROM_OK_HEAD, m);
	bool first_s = true;
	for (size_t k = 0; k < sizeof series / sizeof *series && !h->prom_absent; k++) {
		if (strcmp(series[k].name, query))
			continue;
		fprintf(m, "%s{\"metric\":{\"__name__\":\"%s\",\"instance\":\"10.0.0.%zu:8080\"%s%s},\"values\":[",
			first_s ? "" : ",", query, host + 1, series[k].labels[0] ? "," : "", series[k].labels);
		first_s = false;
		bool first = true;
		for (int64_t t = start; t <= end; t += step) {
			const struct pscrape *p = NULL;
			for (size_t i = 0; i < h->np && h->plog[i].t <= t && PROM_IN(h->plog[i].t) <= WALL0 + f->now; i++)
				p = &h->plog[i];
			if (!p || t - p->t > 300000)
				continue;
			double errors = h->prom_nan_at && p->t >= WALL0 + h->prom_nan_at ? NAN : p->errors;
			double v = series[k].ok * (p->total - errors) + series[k].errors * errors + series[k].all * p->total;
			char num[32] = "NaN"; /* as Prometheus writes it */
			if (!isnan(v))
				snprintf(num, sizeof num, "%.17g", v);
			fprintf(m, "%s[%" PRId64 ".%03" PRId64 ",\"%s\"]", first ? "" : ",", t / 1000, t % 1000, num);
			first = false;
		}
		fputs("]}", m);
	}
	fputs(PROM_OK_TAIL, m);
	fclose(m);
	return b;
}

/* What host c->host answers to c, now. */
static long serve(struct fake *f, const struct orch_call *c, char **body)
{
	struct fhost *h = &f->h[c->host];
	*body = NULL;
	if (h->down)
		return 0;
	if (h->fence_at && f->now >= h->fence_at && h->gen < 100)
		h->gen = 100; /* a newer rollout took the host over */
	switch (c->op) {
	case ORCH_OP_STATUS:
		if (!h->has_app)
			return 404;
		*body = status_body(f, h);
		return 200;
	case ORCH_OP_DEPLOY:
	case ORCH_OP_REVERT: {
		int64_t gen = body_int(c->body, "generation");
		if (gen < h->gen) {
			*body = strdup("{\"error\":\"stale_generation\",\"message\":\"older generation\"}");
			return 409;
		}
		h->gen = gen;
		h->has_app = true;
		if (f->prom)
			scrape(f, h); /* Prometheus scraped the version before, up to now */
		body_str(c->body, c->op == ORCH_OP_DEPLOY ? "image" : "to", h->desired, sizeof h->desired);
		h->switch_at = f->now + 30;
		if (c->op == ORCH_OP_DEPLOY && !h->deploys++) {
			h->deployed_at = f->now;
			f->order[f->n_order++] = c->host;
		}
		h->reverts += c->op == ORCH_OP_REVERT;
		*body = strdup("{}");
		return 202;
	}
	case ORCH_OP_REMOVE:
		h->has_app = false;
		return 204;
	case ORCH_OP_WATCH:
		assert_non_null(strstr(c->body, "http_requests_total"));
		h->asked |= UINT32_C(1) << f->wave;
		if (!h->watched_at)
			h->watched_at = h->scraped_to = f->now;
		*body = metrics_body(f, h, INT64_MAX);
		return 200;
	case ORCH_OP_QUERY:
		*body = prom_body(f, h, c->host, c->url);
		return 200;
	case ORCH_OP_METRICS:
		h->asked |= UINT32_C(1) << f->wave;
		if (!h->watched_at)
			return 404;
		*body = metrics_body(f, h, c->since_ms);
		return 200;
	default:
		fail_msg("unexpected operation %d", (int)c->op);
		return 500;
	}
}

static int fake_call(struct orch_transport *t, const struct orch_call *c, struct err *e)
{
	struct fake *f = (struct fake *)t;
	(void)e;
	assert_true(c->host < MAX_HOSTS);
	assert_true(f->nq < MAX_QUEUE);
	struct answer *a = &f->q[f->nq++];
	*a = (struct answer){.cb = c->cb, .ctx = c->ctx, .tag = c->tag};
	a->status = serve(f, c, &a->body);
	return 0;
}

/* Time passes (the answers take that long), then every answer arrives. */
static int fake_step(struct orch_transport *t, int timeout_ms, struct err *e)
{
	struct fake *f = (struct fake *)t;
	(void)e;
	f->now += timeout_ms;
	struct answer q[MAX_QUEUE];
	size_t n = f->nq;
	memcpy(q, f->q, n * sizeof *q);
	f->nq = 0;
	for (size_t k = 0; k < n; k++) {
		struct http_resp r = {.status = q[k].status, .body = q[k].body ? q[k].body : "",
				      .len = q[k].body ? strlen(q[k].body) : 0, .ms = timeout_ms,
				      .error = q[k].status ? NULL : "Connection refused"};
		q[k].cb(q[k].ctx, q[k].tag, &r);
		free(q[k].body);
	}
	assert_true(f->now < 600000); /* ten minutes of its time: the engine is stuck */
	return 0;
}

static size_t fake_busy(const struct orch_transport *t)
{
	return ((const struct fake *)t)->nq;
}

static int64_t fake_now(struct orch_transport *t)
{
	return ((struct fake *)t)->now;
}

/* The engine's wall clock (Prometheus' times) is the fake's: the build links
 * this test with -Wl,--wrap=clk_wall_ms (GNUmakefile, UNIT_LDFLAGS_test_engine). */
static struct fake *clock_of;
int64_t __real_clk_wall_ms(void);
int64_t __wrap_clk_wall_ms(void);
int64_t __wrap_clk_wall_ms(void)
{
	return clock_of ? WALL0 + clock_of->now : __real_clk_wall_ms();
}

/* n hosts, all running D1 at generation 3. */
static void fake_init(struct fake *f, size_t n)
{
	memset(f, 0, sizeof *f); /* megabytes: never a temporary on the stack */
	f->t = (struct orch_transport){fake_call, fake_step, fake_busy, fake_now};
	f->now = 1000;
	clock_of = f;
	for (size_t i = 0; i < n; i++) {
		f->h[i] = (struct fhost){.has_app = true, .gen = 3, .switch_at = 0, .boot = "boot1"};
		strcpy(f->h[i].desired, D1);
		strcpy(f->h[i].current, D1);
	}
}

/* ---- the rollout ---- */

/* A rollout of web@D2 over h1..hn in waves ending at ends[]. */
static void plan(struct orch_rollout *r, size_t n, const size_t *w_ends, size_t n_waves)
{
	struct err e;
	*r = (struct orch_rollout){0};
	orch_opts_defaults(&r->o);
	r->o.bake_ms = 500;
	r->o.final_bake_ms = 200;
	r->o.deadline_ms = 5000;
	r->o.poll_ms = 50;
	r->o.unreachable_ms = 300;
	r->o.revert_deadline_ms = 5000;
	r->id = strdup(ID);
	r->app = strdup("web");
	r->image = strdup("reg/web@" D2);
	r->digest = strdup(D2);
	r->fleet = strdup("/srv/fleet.txt");
	r->started = strdup("2026-01-01T00:00:00.000Z");
	r->hosts.hosts = calloc(n, sizeof *r->hosts.hosts);
	r->hosts.n = n;
	for (size_t i = 0; i < n; i++) {
		char name[8], addr[32];
		snprintf(name, sizeof name, "h%zu", i + 1);
		snprintf(addr, sizeof addr, "10.0.0.%zu:7300", i + 1);
		r->hosts.hosts[i].name = strdup(name);
		assert_int_equal(orch_host_set_address(&r->hosts.hosts[i], addr, &e), 0);
	}
	r->ends = calloc(n_waves, sizeof *r->ends);
	memcpy(r->ends, w_ends, n_waves * sizeof *w_ends);
	r->n_waves = n_waves;
	assert_int_equal(orch_rollout_alloc_hosts(r, &e), 0);
}

struct seen {
	int64_t wave_start[16];  /* the fake's time each wave started */
	int64_t wave_passed[16];
	size_t reverts, superseded;
	char verdict[16][16];    /* the analysis event of each wave */
	char baseline[16][16];
	char excluded[400];      /* "host: reason" of every host left out */
	char failed_metric[400]; /* the explanation of a failed metric */
	int stop_after_wave;     /* set *stop once this wave passed (0: never) */
	int fence_on_wave;       /* a newer rollout takes fence_host over when this wave starts (0: never) */
	size_t fence_host;
	volatile sig_atomic_t *stop;
	struct fake *f;
	/* the hosts judged, per wave: converted, of the group, baseline, of the group */
	int64_t judged[16][4];
	size_t n_excluded[16];
	char judged_line[16][120];
};

static void on_event(void *ctx, const struct orch_event *ev, const char *json, size_t len, enum orch_level lvl,
		     const char *human)
{
	struct seen *s = ctx;
	(void)json, (void)len, (void)lvl, (void)human;
	switch (ev->kind) {
	case ORCH_EV_WAVE:
		s->wave_start[ev->u.wave.wave] = s->f->now;
		s->f->wave = (int)ev->u.wave.wave;
		if (ev->u.wave.wave == s->fence_on_wave)
			s->f->h[s->fence_host].fence_at = s->f->now;
		break;
	case ORCH_EV_WAVE_PASSED:
		s->wave_passed[ev->u.wave_passed.wave] = s->f->now;
		if (ev->u.wave_passed.wave == s->stop_after_wave)
			*s->stop = 1;
		break;
	case ORCH_EV_REVERT:
		s->reverts++;
		break;
	case ORCH_EV_SUPERSEDED:
		s->superseded++;
		break;
	case ORCH_EV_ANALYSIS: {
		const struct orch_ev_analysis *a = &ev->u.analysis;
		snprintf(s->verdict[a->wave], sizeof s->verdict[a->wave], "%s", a->verdict);
		snprintf(s->baseline[a->wave], sizeof s->baseline[a->wave], "%s", a->baseline);
		for (size_t k = 0; k < a->n_excluded; k++) {
			size_t l = strlen(s->excluded);
			snprintf(s->excluded + l, sizeof s->excluded - l, "%s: %s;", a->excluded[k].host,
				 a->excluded[k].reason);
		}
		for (size_t k = 0; k < a->n_metrics; k++)
			if (!strcmp(a->metrics[k].verdict, "fail"))
				snprintf(s->failed_metric, sizeof s->failed_metric, "%s", a->metrics[k].explain);
		assert_non_null(strstr(human, "METRIC"));
		assert_true(a->has_judged);
		s->n_excluded[a->wave] = a->n_excluded;
		s->judged[a->wave][0] = a->conv_judged;
		s->judged[a->wave][1] = a->conv_group;
		s->judged[a->wave][2] = a->base_judged;
		s->judged[a->wave][3] = a->base_group;
		const char *l = strstr(human, "judged: ");
		assert_non_null(l);
		snprintf(s->judged_line[a->wave], sizeof s->judged_line[a->wave], "%.*s", (int)strcspn(l, "\n"), l);
		break;
	}
	default:
		break;
	}
}

struct run {
	char *dir, *path;
	struct orch_journal j;
	volatile sig_atomic_t stop;
	struct seen seen;
	struct orch_ui ui;
};

static void start(struct run *x, struct fake *f)
{
	struct err e;
	*x = (struct run){.j = {.fd = -1}};
	x->dir = fs_mkdtemp("ramp-test-engine", &e);
	assert_non_null(x->dir);
	x->path = fs_join(x->dir, ID ".jsonl");
	x->seen.stop = &x->stop;
	x->seen.f = f;
	x->ui = (struct orch_ui){.ctx = &x->seen, .event = on_event};
}

/* n hosts in waves ending at ends[], a journal in a new directory */
static void prepare(struct run *x, struct fake *f, struct orch_rollout *r, size_t n, const size_t *w_ends,
		    size_t n_waves)
{
	fake_init(f, n);
	plan(r, n, w_ends, n_waves);
	start(x, f);
}

static int go(struct run *x, struct fake *f, struct orch_rollout *r)
{
	struct err e;
	struct orch_run run = {.mode = ORCH_MODE_START, .r = r, .j = &x->j, .journal_path = x->path, .t = &f->t,
			       .ui = &x->ui, .stop = &x->stop};
	int rc = orch_engine_run(&run, &e);
	if (rc < 0)
		fail_msg("%s", e.msg);
	orch_journal_close(&x->j);
	for (size_t k = 0; k < f->nq; k++) /* answers the engine no longer waited for */
		free(f->q[k].body);
	f->nq = 0;
	return rc;
}

static void done(struct run *x, struct orch_rollout *r)
{
	struct err e;
	orch_rollout_free(r);
	assert_int_equal(fs_rm_rf(x->dir, &e), 0);
	free(x->dir);
	free(x->path);
}

static void illegal(const char *name, enum orch_hs from, enum orch_hs to)
{
	fail_msg("host %s: illegal transition %s -> %s", name, orch_hs_name(from), orch_hs_name(to));
}

static int setup(void **state)
{
	(void)state;
	orch_hs_on_illegal(illegal);
	return 0;
}

/* ---- the tests ---- */

static void test_waves_in_order(void **state)
{
	(void)state;
	static struct fake f;
	struct orch_rollout r;
	struct run x;
	prepare(&x, &f, &r, 5, ends, 3);
	assert_int_equal(go(&x, &f, &r), ORCH_EXIT_DONE);
	assert_string_equal(r.result, "done");
	assert_int_equal(r.generation, 4); /* one more than any host had */
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(r.state[i], ORCH_HS_BAKED);
		assert_int_equal(f.h[i].deploys, 1);
		assert_int_equal(f.h[i].gen, 4);
		assert_string_equal(f.h[i].current, D2);
		/* no host of a wave was told before the wave before it baked */
		size_t w = orch_rollout_wave_of(&r, i) + 1;
		assert_true(f.h[i].deployed_at >= x.seen.wave_start[w]);
		if (w > 1)
			assert_true(f.h[i].deployed_at >= x.seen.wave_passed[w - 1]);
	}
	/* and a wave passes only after its bake */
	for (size_t w = 1; w <= 3; w++)
		assert_true(x.seen.wave_passed[w] - x.seen.wave_start[w] >= r.o.bake_ms);
	assert_int_equal(x.seen.reverts, 0);
	done(&x, &r);
}

/* h3 (wave 2) never turns healthy: every touched host goes back, wave 3 is
 * never started. */
static void test_failure_reverts(void **state)
{
	(void)state;
	static struct fake f;
	struct orch_rollout r;
	struct run x;
	prepare(&x, &f, &r, 5, ends, 3);
	f.h[2].bad = true;
	assert_int_equal(go(&x, &f, &r), ORCH_EXIT_ROLLED_BACK);
	assert_string_equal(r.result, "rolled_back");
	assert_non_null(strstr(r.failure, "h3 (wave 2)"));
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(r.state[i], ORCH_HS_REVERTED);
		assert_int_equal(f.h[i].reverts, 1);
		assert_string_equal(f.h[i].current, D1);
	}
	for (size_t i = 3; i < 5; i++) {
		assert_int_equal(r.state[i], ORCH_HS_PENDING);
		assert_int_equal(f.h[i].deploys, 0);
		assert_int_equal(f.h[i].reverts, 0);
	}
	assert_int_equal(x.seen.reverts, 1);
	done(&x, &r);
}

/* --max-unhealthy 1: one bad host is put back alone and the rollout goes
 * on; a second one fails it. */
static void test_failure_budget(void **state)
{
	(void)state;
	static struct fake f;
	struct orch_rollout r;
	struct run x;
	prepare(&x, &f, &r, 5, ends, 3);
	f.h[1].bad = true;
	r.o.max_unhealthy = 1;
	assert_int_equal(go(&x, &f, &r), ORCH_EXIT_DONE);
	assert_int_equal(r.state[1], ORCH_HS_REVERTED);
	assert_string_equal(f.h[1].current, D1);
	for (size_t i = 0; i < 5; i++)
		if (i != 1)
			assert_int_equal(r.state[i], ORCH_HS_BAKED);
	assert_int_equal(x.seen.reverts, 0); /* no rollout-wide revert */
	done(&x, &r);

	prepare(&x, &f, &r, 5, ends, 3);
	f.h[1].bad = f.h[3].bad = true;
	r.o.max_unhealthy = 1;
	assert_int_equal(go(&x, &f, &r), ORCH_EXIT_ROLLED_BACK);
	assert_non_null(strstr(r.failure, "h4 (wave 3)"));
	for (size_t i = 0; i < 5; i++)
		assert_string_equal(f.h[i].current, D1);
	done(&x, &r);
}

/* A newer rollout takes h2 over while wave 2 runs: ours stops as it is
 * (nothing is reverted: the fleet is the newer one's now). */
static void test_fencing(void **state)
{
	(void)state;
	static struct fake f;
	struct orch_rollout r;
	struct run x;
	prepare(&x, &f, &r, 5, ends, 3);
	x.seen.fence_on_wave = 2; /* h2's deploy is refused as stale */
	x.seen.fence_host = 1;
	assert_int_equal(go(&x, &f, &r), ORCH_EXIT_ATTENTION);
	assert_string_equal(r.result, "superseded");
	assert_int_equal(x.seen.superseded, 1);
	assert_int_equal(x.seen.reverts, 0);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(f.h[i].reverts, 0);
	assert_int_equal(f.h[0].deploys, 1); /* wave 1 stays as it is */
	assert_int_equal(f.h[3].deploys, 0);
	done(&x, &r);

	/* the same seen in a status: h1 (wave 1, baked, watched) */
	prepare(&x, &f, &r, 5, ends, 3);
	x.seen.fence_on_wave = 2;
	x.seen.fence_host = 0;
	assert_int_equal(go(&x, &f, &r), ORCH_EXIT_ATTENTION);
	assert_string_equal(r.result, "superseded");
	assert_int_equal(x.seen.reverts, 0);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(f.h[i].reverts, 0);
	done(&x, &r);
}

/* A host that does not answer the precheck refuses the rollout, unless
 * --max-unreachable allows it: then it is skipped. */
static void test_unreachable_precheck(void **state)
{
	(void)state;
	static struct fake f;
	struct orch_rollout r;
	struct run x;
	const size_t two[] = {1, 3};
	prepare(&x, &f, &r, 3, two, 2);
	f.h[2].down = true;
	assert_int_equal(go(&x, &f, &r), ORCH_EXIT_REFUSED);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(f.h[i].deploys, 0);
	assert_non_null(strstr(r.reason[2], "unreachable"));
	done(&x, &r);

	prepare(&x, &f, &r, 3, two, 2);
	f.h[2].down = true;
	r.o.max_unreachable = 1;
	assert_int_equal(go(&x, &f, &r), ORCH_EXIT_DONE);
	assert_int_equal(r.state[2], ORCH_HS_SKIPPED);
	assert_int_equal(r.state[0], ORCH_HS_BAKED);
	assert_int_equal(r.state[1], ORCH_HS_BAKED);
	done(&x, &r);
}

/* Stopped (a signal) after wave 1 passed; resumed from the journal alone:
 * wave 1's host is watched, not deployed again; the rest follow. */
static void test_resume(void **state)
{
	(void)state;
	static struct fake f;
	struct orch_rollout r, back;
	struct run x;
	struct err e;
	prepare(&x, &f, &r, 5, ends, 3);
	x.seen.stop_after_wave = 1;
	assert_int_equal(go(&x, &f, &r), ORCH_EXIT_ATTENTION);
	assert_false(r.ended);

	if (orch_journal_load(x.path, &back, &e) < 0)
		fail_msg("%s", e.msg);
	assert_false(back.ended);
	assert_int_equal(back.waves_passed, 1);
	assert_int_equal(back.generation, 4);
	assert_int_equal(orch_journal_reopen(x.path, back.valid_len, &x.j, &e), 0);
	x.stop = 0;
	x.seen.stop_after_wave = 0;
	struct orch_run run = {.mode = ORCH_MODE_RESUME, .r = &back, .j = &x.j, .t = &f.t, .ui = &x.ui,
			       .stop = &x.stop};
	assert_int_equal(orch_engine_run(&run, &e), ORCH_EXIT_DONE);
	orch_journal_close(&x.j);
	assert_string_equal(back.result, "done");
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(back.state[i], ORCH_HS_BAKED);
		assert_int_equal(f.h[i].deploys, 1);
		assert_string_equal(f.h[i].current, D2);
	}
	/* the journal says the same */
	orch_rollout_free(&back);
	assert_int_equal(orch_journal_load(x.path, &back, &e), 0);
	assert_true(back.ended);
	assert_int_equal(back.exit_code, ORCH_EXIT_DONE);
	assert_int_equal(back.waves_passed, 3);
	orch_rollout_free(&back);
	done(&x, &r);
}

static size_t illegal_seen;
static void count_illegal(const char *name, enum orch_hs from, enum orch_hs to)
{
	(void)name, (void)from, (void)to;
	illegal_seen++;
}

/* The table itself: a few changes the engine must never make are refused
 * (and reported), legal ones and staying put are not. */
/* --analysis default on 5 hosts in waves of 1, 2, 2 */
static void prepare_canary(struct run *x, struct fake *f, struct orch_rollout *r, double old, double new)
{
	prepare(x, f, r, 5, ends, 3);
	r->o.analysis = strdup("default");
	r->o.bake_max_ms = 60000;
	err_rate[0] = old;
	err_rate[1] = new;
}

/* the report's model from the run's journal */
static void charts(struct run *x, struct orch_html *m)
{
	char *buf;
	size_t len;
	struct err e;
	assert_int_equal(fs_read_file(x->path, 1 << 20, &buf, &len, &e), 0);
	assert_int_equal(orch_html_from_events(buf, len, m, &e), 0);
	free(buf);
}

/* 5% of requests fail on the new version, 0.5% on the old: wave 1 fails on
 * the error ratio and is reverted; nothing else is touched. */
static void test_canary_bad(void **state)
{
	(void)state;
	static struct fake f;
	struct orch_rollout r;
	struct run x;
	prepare_canary(&x, &f, &r, 0.005, 0.05);
	assert_int_equal(go(&x, &f, &r), ORCH_EXIT_ROLLED_BACK);
	assert_string_equal(x.seen.verdict[1], "fail");
	assert_string_equal(x.seen.baseline[1], "concurrent");
	assert_non_null(strstr(r.failure, "canary analysis: errors"));
	assert_non_null(strstr(x.seen.failed_metric, "errors"));
	assert_int_equal(r.state[0], ORCH_HS_REVERTED);
	for (size_t i = 1; i < 5; i++)
		assert_int_equal(f.h[i].deploys, 0);
	/* decided well before --bake-max */
	assert_true(f.now - x.seen.wave_start[1] < 30000);
	/* the report's errors chart of wave 1: worse than allowed at the decision, its last point */
	struct orch_html m;
	charts(&x, &m);
	assert_int_equal(m.n_metrics, 2);
	const struct orch_html_metric *mt = &m.metrics[0];
	assert_string_equal(mt->name, "errors");
	assert_string_equal(mt->decision, "fail");
	assert_true(mt->n >= 1);
	assert_int_equal(mt->p[mt->n - 1].ms, mt->decided);
	assert_true(mt->p[mt->n - 1].converted > mt->p[mt->n - 1].allowed);
	orch_html_free(&m);
	done(&x, &r);
}

/* As good as the old version: every wave passes, the last against the
 * hosts' own window on the old version; h5's rampd restarts during wave 1
 * and is left out, named, and the analysis goes on without it. The journal
 * keeps the judgements for `ramp rollout show`. */
static void test_canary_good(void **state)
{
	(void)state;
	static struct fake f;
	struct orch_rollout r, back;
	struct run x;
	struct err e;
	prepare_canary(&x, &f, &r, 0.005, 0.005);
	f.h[4].reboot_at = 4000;
	assert_int_equal(go(&x, &f, &r), ORCH_EXIT_DONE);
	for (size_t w = 1; w <= 3; w++)
		assert_string_equal(x.seen.verdict[w], "pass");
	assert_string_equal(x.seen.baseline[2], "concurrent");
	assert_string_equal(x.seen.baseline[3], "historical");
	assert_non_null(strstr(x.seen.excluded, "h5: rampd restarted"));
	assert_int_equal(orch_journal_load(x.path, &back, &e), 0);
	assert_true(back.analysis.n >= 3);
	assert_non_null(strstr(back.analysis.v[0], "wave 1: pass"));
	assert_non_null(back.o.analysis);
	assert_string_equal(back.o.analysis, "default");
	assert_int_equal(back.o.bake_max_ms, 60000);
	orch_rollout_free(&back);
	/* the HTML report's charts: per wave and metric its judgements, the
	 * deciding one last */
	struct orch_html m;
	charts(&x, &m);
	assert_int_equal(m.n_metrics, 6);
	for (size_t k = 0; k < 6; k++) {
		const struct orch_html_metric *mt = &m.metrics[k];
		assert_int_equal(mt->wave, k / 2);
		assert_string_equal(mt->name, k % 2 ? "latency" : "errors");
		assert_string_equal(mt->wave_verdict, "pass");
		assert_string_equal(mt->decision, "pass");
		assert_true(mt->n >= 2 && mt->n <= ORCH_SERIES_MAX);
		assert_int_equal(mt->p[mt->n - 1].ms, mt->decided);
		if (k % 2)
			continue;
		assert_true(mt->p[mt->n - 1].converted > 0.004 && mt->p[mt->n - 1].converted < 0.006);
		assert_true(mt->p[mt->n - 1].allowed > mt->p[mt->n - 1].baseline + 0.002);
	}
	orch_html_free(&m);
	done(&x, &r);
}

/* No metrics at all: the wave cannot be judged; at --bake-max it is
 * inconclusive, and the rollout pauses (exit 3), never passing silently. */
static void test_canary_inconclusive(void **state)
{
	(void)state;
	static struct fake f;
	struct orch_rollout r;
	struct run x;
	prepare_canary(&x, &f, &r, 0.005, 0.005);
	r.o.bake_max_ms = 8000;
	for (size_t i = 0; i < 5; i++)
		f.h[i].no_metrics = true;
	assert_int_equal(go(&x, &f, &r), ORCH_EXIT_ATTENTION);
	assert_string_equal(x.seen.verdict[1], "inconclusive");
	assert_true(r.paused);
	assert_true(f.now - x.seen.wave_start[1] >= 8000);
	for (size_t i = 1; i < 5; i++)
		assert_int_equal(f.h[i].deploys, 0);
	done(&x, &r);
}

/* ---- the same analysis from Prometheus (--metrics-source prometheus=URL) ---- */

/* --analysis default read from a Prometheus at a made-up URL, which the
 * fake transport answers (prom_body): the default query template, a range
 * query per host and series, on the engine's wall clock (the fake's). */
static void prepare_prom(struct run *x, struct fake *f, struct orch_rollout *r, double old, double new)
{
	prepare_canary(x, f, r, old, new);
	r->o.metrics_source = strdup("http://prom.test:9090");
	f->prom = true;
	r->o.bake_ms = 5000;
	r->o.deadline_ms = 30000;
}

/* go(), which must end the rollout done; else what went wrong */
static void go_done(struct run *x, struct fake *f, struct orch_rollout *r)
{
	int rc = go(x, f, r);
	if (rc != ORCH_EXIT_DONE)
		fail_msg("exit %d: %s; verdicts %s %s %s; left out: %s; failed: %s", rc, r->failure ? r->failure : "",
			 x->seen.verdict[1], x->seen.verdict[2], x->seen.verdict[3], x->seen.excluded,
			 x->seen.failed_metric);
}

/* 3% of requests fail on the new version, 0.5% on the old: wave 1 fails on
 * the error ratio, named, its host reverted, no other host touched. */
static void test_prom_bad(void **state)
{
	(void)state;
	struct fake f;
	struct orch_rollout r;
	struct run x;
	prepare_prom(&x, &f, &r, 0.005, 0.03);
	assert_int_equal(go(&x, &f, &r), ORCH_EXIT_ROLLED_BACK);
	assert_string_equal(x.seen.verdict[1], "fail");
	assert_non_null(strstr(r.failure, "canary analysis: errors"));
	assert_non_null(strstr(x.seen.failed_metric, "errors"));
	assert_string_equal(x.seen.excluded, "");
	assert_int_equal(r.state[0], ORCH_HS_REVERTED);
	for (size_t i = 1; i < 5; i++)
		assert_int_equal(f.h[i].deploys, 0);
	assert_true(f.now - x.seen.wave_start[1] < 30000);
	done(&x, &r);
}

/* As good as the old version: every wave passes, none before --bake, the
 * last against the final wave's hosts before it (from Prometheus), no host
 * left out: the two queries of the histogram (_bucket, then _count) read
 * the same scrapes though Prometheus takes a scrape in after its time. */
static void test_prom_good(void **state)
{
	(void)state;
	struct fake f;
	struct orch_rollout r;
	struct run x;
	prepare_prom(&x, &f, &r, 0.005, 0.005);
	go_done(&x, &f, &r);
	for (size_t w = 1; w <= 3; w++) {
		assert_string_equal(x.seen.verdict[w], "pass");
		assert_true(x.seen.wave_passed[w] - x.seen.wave_start[w] >= r.o.bake_ms);
	}
	assert_string_equal(x.seen.baseline[2], "concurrent");
	assert_string_equal(x.seen.baseline[3], "historical");
	if (x.seen.excluded[0])
		fail_msg("left out: %s", x.seen.excluded);
	for (size_t i = 0; i < 5; i++)
		assert_string_equal(f.h[i].current, D2);
	done(&x, &r);
}

/* A host Prometheus has no series of, and one whose error counter reads
 * NaN: each is left out, named with the reason, and the others decide (a
 * good release passes). */
static void test_prom_untrusted(void **state)
{
	(void)state;
	struct fake f;
	struct orch_rollout r;
	struct run x;
	prepare_prom(&x, &f, &r, 0.005, 0.005);
	f.h[1].prom_absent = true;
	f.h[2].prom_nan_at = 4000;
	go_done(&x, &f, &r);
	assert_string_equal(x.seen.verdict[1], "pass");
	assert_non_null(strstr(x.seen.excluded, "h2: Prometheus has no sample of its series for 10 polls"));
	assert_non_null(strstr(x.seen.excluded, "h3: errors: value nan"));
	done(&x, &r);
}

/* At h1's switch Prometheus reads the old version for a while (both serve
 * the app's socket), then the new one, which has answered fewer requests
 * well but failed more than the old one's last: the sums do not fall, one
 * series does. A restart, as rate() reads it: h1 is not left out (read as
 * one sample it had 9 more errors than its 3 more requests). */
static void test_prom_switch(void **state)
{
	(void)state;
	struct fake f;
	struct orch_rollout r;
	struct run x;
	prepare_prom(&x, &f, &r, 0.005, 0.005);
	f.h[0].prom_switch = true;
	go_done(&x, &f, &r);
	assert_true(f.h[0].mix_total != 0);
	if (x.seen.excluded[0])
		fail_msg("left out: %s", x.seen.excluded);
	done(&x, &r);
}

/* 160 hosts in waves of 1, 99 and 60, good releases: each group of more
 * than 64 hosts is judged on 64 of them */
static const size_t big_ends[] = {1, 100, 160};
#define BIG 160

static void prepare_sampled(struct run *x, struct fake *f, struct orch_rollout *r, int64_t seed)
{
	prepare(x, f, r, BIG, big_ends, 3);
	r->o.analysis = strdup("default");
	r->o.bake_max_ms = 120000;
	r->o.analysis_seed = seed;
	err_rate[0] = err_rate[1] = 0.005;
}

/* The hosts asked in wave w: of the converted group (waves up to w) and of the baseline. */
static void asked_in(const struct fake *f, const struct orch_rollout *r, int w, size_t *conv, size_t *base)
{
	*conv = *base = 0;
	for (size_t i = 0; i < BIG; i++)
		if (f->h[i].asked & (UINT32_C(1) << w))
			*(orch_rollout_wave_of(r, i) + 1 <= (size_t)w ? conv : base) += 1;
}

/* Only the sample is asked: at most 64 hosts of each group per wave, all
 * of a smaller group; the events count them. Hosts of the sample whose
 * rampd restarts are left out and replaced by others of their group. */
static void test_canary_sampled(void **state)
{
	(void)state;
	static struct fake f;
	struct orch_rollout r;
	struct run x;
	size_t conv, base;
	prepare_sampled(&x, &f, &r, 0); /* a seed drawn at the start */
	for (size_t i = 100; i < BIG; i++)
		f.h[i].reboot_at = 5000; /* wave 3's hosts, baseline in wave 1: those watched before are left out */
	assert_int_equal(go(&x, &f, &r), ORCH_EXIT_DONE);
	for (size_t w = 1; w <= 3; w++)
		assert_string_equal(x.seen.verdict[w], "pass");
	/* wave 1: its 1 host, 64 of 159 (and the replacements of those that restarted) */
	asked_in(&f, &r, 1, &conv, &base);
	assert_int_equal(conv, 1);
	assert_true(x.seen.n_excluded[1] > 0);
	assert_int_equal(base, 64 + x.seen.n_excluded[1]);
	assert_int_equal(x.seen.judged[1][0], 1);
	assert_int_equal(x.seen.judged[1][1], 1);
	assert_int_equal(x.seen.judged[1][2], 64);
	assert_int_equal(x.seen.judged[1][3], 159);
	assert_string_equal(x.seen.judged_line[1], "judged: 1 of 1 converted, 64 of 159 baseline hosts");
	/* wave 2: 64 of its 100 converted, all 60 later ones */
	asked_in(&f, &r, 2, &conv, &base);
	assert_int_equal(conv, 64);
	assert_int_equal(base, 60);
	assert_int_equal(x.seen.judged[2][0], 64);
	assert_int_equal(x.seen.judged[2][1], 100);
	assert_int_equal(x.seen.judged[2][3], 60);
	/* wave 3 (historical): 64 hosts, each judged on both versions */
	asked_in(&f, &r, 3, &conv, &base);
	assert_int_equal(conv, 64);
	assert_int_equal(x.seen.judged[3][0], 64);
	assert_int_equal(x.seen.judged[3][1], BIG);
	assert_int_equal(x.seen.judged[3][2], 64);
	assert_int_equal(x.seen.judged[3][3], BIG);
	/* the seed is in the journal */
	struct orch_rollout back;
	struct err e;
	assert_int_equal(orch_journal_load(x.path, &back, &e), 0);
	assert_true(back.o.analysis_seed > 0);
	orch_rollout_free(&back);
	done(&x, &r);
}

/* Stopped after wave 1 and resumed from the journal: waves 2 and 3 ask the
 * same hosts as the rollout that was never stopped (the same seed). */
static void test_canary_sample_resume(void **state)
{
	(void)state;
	static struct fake f;
	static uint32_t asked[BIG];
	struct orch_rollout r, back;
	struct run x;
	struct err e;
	prepare_sampled(&x, &f, &r, 424242);
	assert_int_equal(go(&x, &f, &r), ORCH_EXIT_DONE);
	for (size_t i = 0; i < BIG; i++)
		asked[i] = f.h[i].asked;
	done(&x, &r);

	prepare_sampled(&x, &f, &r, 424242);
	x.seen.stop_after_wave = 1;
	assert_int_equal(go(&x, &f, &r), ORCH_EXIT_ATTENTION);
	assert_int_equal(orch_journal_load(x.path, &back, &e), 0);
	assert_int_equal(back.o.analysis_seed, 424242);
	assert_int_equal(orch_journal_reopen(x.path, back.valid_len, &x.j, &e), 0);
	x.stop = 0;
	x.seen.stop_after_wave = 0;
	struct orch_run run = {.mode = ORCH_MODE_RESUME, .r = &back, .j = &x.j, .t = &f.t, .ui = &x.ui,
			       .stop = &x.stop};
	assert_int_equal(orch_engine_run(&run, &e), ORCH_EXIT_DONE);
	orch_journal_close(&x.j);
	size_t n2 = 0;
	for (size_t i = 0; i < BIG; i++) {
		assert_int_equal(f.h[i].asked & ~UINT32_C(3), asked[i] & ~UINT32_C(3));
		n2 += (asked[i] & 4) != 0;
	}
	assert_int_equal(n2, 64 + 60); /* a sample, not everyone */
	orch_rollout_free(&back);
	done(&x, &r);
}

static void test_transitions(void **state)
{
	(void)state;
	assert_false(orch_hs_legal(ORCH_HS_PENDING, ORCH_HS_BAKED));
	assert_false(orch_hs_legal(ORCH_HS_REVERTED, ORCH_HS_DEPLOYING));
	assert_false(orch_hs_legal(ORCH_HS_FAILED, ORCH_HS_HEALTHY));
	assert_false(orch_hs_legal(ORCH_HS_SKIPPED, ORCH_HS_DEPLOYING));
	assert_true(orch_hs_legal(ORCH_HS_DEPLOYING, ORCH_HS_HEALTHY));
	assert_true(orch_hs_legal(ORCH_HS_BAKED, ORCH_HS_BAKED));
	uint8_t st[2] = {ORCH_HS_PENDING, ORCH_HS_REVERTED};
	orch_hs_on_illegal(count_illegal);
	orch_hs_set(st, 0, "h1", ORCH_HS_DEPLOYING);
	assert_int_equal(illegal_seen, 0);
	orch_hs_set(st, 1, "h2", ORCH_HS_HEALTHY);
	assert_int_equal(illegal_seen, 1);
	orch_hs_on_illegal(illegal);
	for (int s = 0; s < ORCH_HS_COUNT; s++)
		assert_int_equal(orch_hs_parse(orch_hs_name((enum orch_hs)s)), s);
	assert_int_equal(orch_hs_parse("happy"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_transitions),
		cmocka_unit_test(test_waves_in_order),
		cmocka_unit_test(test_failure_reverts),
		cmocka_unit_test(test_failure_budget),
		cmocka_unit_test(test_fencing),
		cmocka_unit_test(test_unreachable_precheck),
		cmocka_unit_test(test_resume),
		cmocka_unit_test(test_canary_bad),
		cmocka_unit_test(test_canary_good),
		cmocka_unit_test(test_canary_inconclusive),
		cmocka_unit_test(test_prom_bad),
		cmocka_unit_test(test_prom_good),
		cmocka_unit_test(test_prom_untrusted),
		cmocka_unit_test(test_prom_switch),
		cmocka_unit_test(test_canary_sampled),
		cmocka_unit_test(test_canary_sample_resume),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
