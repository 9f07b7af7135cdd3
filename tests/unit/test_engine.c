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
 * named, and one without data makes the wave inconclusive, which pauses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <inttypes.h>
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

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define ID "20260101T000000Z-web-abcd"
#define MAX_HOSTS 8
#define MAX_QUEUE 64
#define MAX_SAMPLES 400
#define WALL0 INT64_C(1790000000000) /* rampd's clock: unix ms at the fake's 0 */

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
	/* metrics: a window per version, scraped every second once watched */
	int64_t watched_at, scraped_to; /* 0: not watched */
	int64_t reboot_at;      /* rampd restarts then (a new bootId; 0: never) */
	char boot[16];
	bool no_metrics;        /* the app exports nothing */
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
	size_t n_order;
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
		if (!h->watched_at)
			h->watched_at = h->scraped_to = f->now;
		*body = metrics_body(f, h, INT64_MAX);
		return 200;
	case ORCH_OP_METRICS:
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

/* n hosts, all running D1 at generation 3. */
static void fake_init(struct fake *f, size_t n)
{
	*f = (struct fake){.t = {fake_call, fake_step, fake_busy, fake_now}, .now = 1000};
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
	int64_t wave_start[8];   /* the fake's time each wave started */
	int64_t wave_passed[8];
	size_t reverts, superseded;
	char verdict[8][16];     /* the analysis event of each wave */
	char baseline[8][16];
	char excluded[400];      /* "host: reason" of every host left out */
	char failed_metric[400]; /* the explanation of a failed metric */
	int stop_after_wave;     /* set *stop once this wave passed (0: never) */
	int fence_on_wave;       /* a newer rollout takes fence_host over when this wave starts (0: never) */
	size_t fence_host;
	volatile sig_atomic_t *stop;
	struct fake *f;
};

static void on_event(void *ctx, const struct orch_event *ev, const char *json, size_t len, enum orch_level lvl,
		     const char *human)
{
	struct seen *s = ctx;
	(void)json, (void)len, (void)lvl, (void)human;
	switch (ev->kind) {
	case ORCH_EV_WAVE:
		s->wave_start[ev->u.wave.wave] = s->f->now;
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
	struct fake f;
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
	struct fake f;
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
	struct fake f;
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
	struct fake f;
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
	struct fake f;
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
	struct fake f;
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
	struct fake f;
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
	struct fake f;
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
	struct fake f;
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
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
