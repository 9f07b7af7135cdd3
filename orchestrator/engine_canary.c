/* engine_canary.c: the canary analysis of each wave (`ramp rollout
 * --analysis`, docs/CANARY.md). At the start of a wave every host of the
 * fleet gets the analysis's watch (rampd then scrapes its app's metrics);
 * then each host is polled for the samples since the last poll
 * (hostmetrics.h), the converted hosts' samples of the new version and the
 * baseline hosts' of the old one are fed to orchestrator/analysis, and the
 * wave is judged after every poll: it fails as soon as the evidence says the
 * new version is worse, passes once it says no worse and the hosts have
 * baked for --bake, and is inconclusive at --bake-max (--on-inconclusive).
 * The final wave, with no unconverted host left, is compared with the same
 * hosts' window on the old version (a historical baseline).
 *
 * With --metrics-source prometheus=URL the samples come from range queries
 * to Prometheus instead (promquery.h), per host and per series, one query
 * after the other, each poll asking for the times since the last: a
 * converted host's from when it is healthy on the new version (Prometheus
 * does not know versions), a baseline host's from the wave's start (the
 * final wave: the hosts of that wave over --bake-max before it).
 *
 * A group of more than CAN_SAMPLE hosts is judged on CAN_SAMPLE of them, drawn
 * at random per wave (from the rollout's analysis seed, kept in the journal: a
 * resumed rollout draws the same); only those are asked, the rest not at all. A host
 * of the sample that is left out is replaced by the next one drawn from its
 * group while any is left. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "lib/cleanup.h"
#include "orchestrator/engine_int.h"
#include "orchestrator/canary_series.h"
#include "lib/clock.h"
#include "orchestrator/hostmetrics.h"
#include "orchestrator/promquery.h"

/* answers that fail in a row before a host is left out */
#define CAN_MAX_FAILS 3
/* Prometheus: polls in a row without a sample of the host before it is left out */
#define CAN_MAX_EMPTY 10
/* Prometheus: queries of one poll of a host (a ratio and a histogram read two series) */
#define CAN_MAX_QUERIES (2 * ORCH_AN_MAX_METRICS)
/* hosts a group is judged on at most (docs/CANARY.md: the sampled analysis) */
#define CAN_SAMPLE 64

enum { CAN_WATCH = 1, CAN_GET = 2 };

struct can_host {
	int64_t since_ms; /* rampd's clock: samples after this are new; 0: not watched yet */
	int64_t next_ms;  /* the engine's clock: when to ask next */
	bool busy;
	bool asked; /* in the wave's sample */
	uint8_t fails;
	char boot_id[64];
	size_t conv, base; /* its index in the analysis as a converted or baseline host, or SIZE_MAX */
	/* Prometheus (wall clock ms): the next time asked; its samples from
	 * conv_from are the converted host's, before base_until the baseline's */
	int64_t from_ms, conv_from, base_until, r_end;
	uint8_t q, empty; /* the query in flight; polls without a sample */
	bool got;          /* this poll found a sample */
	struct orch_prom_answer pa[2];
};

/* Prometheus: one query of a poll, the series of a metric. */
struct can_query {
	size_t metric;
	char series[300];
	bool last; /* the metric's last query */
};

struct eng_canary {
	struct orch_an_config cfg;
	char *watch_body;
	struct can_host *h;
	struct orch_an *an;
	const char **names;
	enum orch_an_group *groups;
	uint32_t gen; /* the wave's analysis: older answers are ignored */
	size_t busy;  /* requests in flight */
	bool historical, passed, decided;
	bool fed;     /* samples fed since the last judgement */
	int64_t poll_ms;
	const char *prom;            /* --metrics-source prometheus=URL, or NULL */
	struct can_query q[CAN_MAX_QUERIES];
	size_t nq;
	int64_t wall0;               /* the wave's start on the wall clock */
	int64_t step_ms;             /* Prometheus: the grid of the range queries (poll_ms, at most 10 s: max_gap is 30 s) */
	int64_t due_ms; /* the engine's clock: no host is due before this */
	/* the wave's sample: pool holds the converted group's hosts in the
	 * order drawn, then the other baseline hosts' (in the final wave a
	 * converted host is its own baseline); next[g] is the next of group g
	 * to take into the sample, end[g] the end of group g's */
	size_t *pool, next[2], end[2];
	size_t *ask, n_ask; /* the hosts asked, in the order taken */
	size_t group[2];    /* the groups' sizes */
	struct orch_series *series; /* the wave's judgements, for the report */
};

static void add_query(struct eng_canary *c, size_t k, const char *name, const char *suffix, bool last)
{
	struct can_query *q = &c->q[c->nq++];
	q->metric = k;
	q->last = last;
	snprintf(q->series, sizeof q->series, "%s%s", name, suffix);
}

/* The queries of a poll. */
static void prom_init(struct eng_canary *c)
{
	for (size_t k = 0; k < c->cfg.n; k++) {
		const struct orch_an_metric *m = &c->cfg.metrics[k];
		if (m->kind == ORCH_AN_RATIO) { /* one query when errors and total are one series */
			bool one = !strcmp(m->series.name, m->total.name);
			add_query(c, k, m->series.name, "", one);
			if (!one)
				add_query(c, k, m->total.name, "", true);
		} else if (m->kind == ORCH_AN_LATENCY) {
			add_query(c, k, m->series.name, "_bucket", false);
			add_query(c, k, m->series.name, "_count", true);
		} else {
			add_query(c, k, m->series.name, "", true);
		}
	}
}

static void prom_drop(struct can_host *h)
{
	orch_prom_answer_free(&h->pa[0]);
	orch_prom_answer_free(&h->pa[1]);
}

int eng_canary_init(struct eng *g, struct err *e)
{
	const char *file = g->r->o.analysis;
	if (!file || !eng_is_rollout(g))
		return 0;
	struct eng_canary *c = calloc(1, sizeof *c);
	if (!c || !(c->h = calloc(g->n, sizeof *c->h)) || !(c->names = calloc(2 * g->n, sizeof *c->names)) ||
	    !(c->groups = calloc(2 * g->n, sizeof *c->groups)) || !(c->pool = calloc(g->n, sizeof *c->pool)) ||
	    !(c->ask = calloc(g->n, sizeof *c->ask))) {
		g->canary = c;
		return err_errno(e, ENOMEM, "analysis");
	}
	g->canary = c;
	if (orch_an_config_load(file, &c->cfg, e) < 0)
		return err_ctx(e, "--analysis");
	if (!(c->watch_body = orch_body_watch(&c->cfg)) || !(c->series = orch_series_new(&c->cfg)))
		return err_errno(e, ENOMEM, "analysis");
	if ((c->prom = g->r->o.metrics_source))
		prom_init(c);
	/* rampd scrapes every few seconds; asking each host more often than
	 * once a second buys nothing, and big samples are asked less often */
	size_t most = g->n < 2 * CAN_SAMPLE ? g->n : 2 * CAN_SAMPLE;
	c->poll_ms = g->r->o.poll_ms < 1000 ? 1000 : g->r->o.poll_ms;
	if (c->poll_ms < (int64_t)(most * (c->prom ? c->nq : 1)) * 1000 / ENG_WATCH_RATE)
		c->poll_ms = (int64_t)(most * (c->prom ? c->nq : 1)) * 1000 / ENG_WATCH_RATE;
	c->step_ms = c->poll_ms < 10000 ? c->poll_ms : 10000;
	/* a new rollout's seed (53 bits: exact in any JSON reader) */
	uint64_t seed = 0;
	if (!g->r->o.analysis_seed && getrandom(&seed, sizeof seed, 0) != sizeof seed)
		return err_sys(e, "getrandom");
	if (!g->r->o.analysis_seed)
		g->r->o.analysis_seed = (int64_t)((seed >> 11) | 1);
	return 0;
}

void eng_canary_free(struct eng *g)
{
	struct eng_canary *c = g->canary;
	if (!c)
		return;
	orch_an_free(c->an);
	orch_series_free(c->series);
	for (size_t i = 0; i < g->n; i++)
		prom_drop(&c->h[i]);
	orch_an_config_free(&c->cfg);
	free(c->watch_body);
	free(c->h);
	free(c->names);
	free(c->groups);
	free(c->pool);
	free(c->ask);
	free(c);
	g->canary = NULL;
}

/* splitmix64: the sample's random numbers, the same for the same seed */
static uint64_t mix(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* Take the next host of group gr's draw into the sample (false: none left). */
static bool take(struct eng_canary *c, int gr, int64_t now)
{
	if (c->next[gr] >= c->end[gr])
		return false;
	size_t i = c->pool[c->next[gr]++];
	c->h[i].asked = true;
	c->h[i].next_ms = now;
	c->ask[c->n_ask++] = i;
	c->due_ms = now;
	return true;
}

/* The wave's sample: each group's hosts in a random order (Fisher-Yates
 * from the rollout's seed and the wave), the first CAN_SAMPLE asked. */
static void draw(struct eng *g, int64_t now)
{
	struct eng_canary *c = g->canary;
	uint64_t s = (uint64_t)g->r->o.analysis_seed ^ ((uint64_t)(g->wave + 1) * UINT64_C(0xd1342543de82ef95));
	size_t n = 0;
	c->n_ask = 0;
	c->group[0] = c->group[1] = 0;
	for (int gr = 0; gr < 2; gr++) {
		size_t from = n;
		for (size_t i = 0; i < g->n; i++) {
			struct can_host *h = &c->h[i];
			c->group[gr] += gr ? h->base != SIZE_MAX : h->conv != SIZE_MAX;
			if (gr ? h->base != SIZE_MAX && h->conv == SIZE_MAX : h->conv != SIZE_MAX)
				c->pool[n++] = i;
		}
		for (size_t k = n - from; k > 1; k--) {
			size_t j = from + (size_t)(mix(&s) % k), t = c->pool[from + k - 1];
			c->pool[from + k - 1] = c->pool[j];
			c->pool[j] = t;
		}
		c->next[gr] = from;
		c->end[gr] = n;
		for (size_t k = 0; k < CAN_SAMPLE && take(c, gr, now); k++)
			;
	}
}

/* Converted: the hosts of this wave and the earlier ones; baseline: those of
 * the later waves (or, in the final wave, the converted hosts' own window on
 * the old version). */
void eng_canary_wave(struct eng *g, int64_t now)
{
	struct eng_canary *c = g->canary;
	struct err e;
	if (!c)
		return;
	orch_an_free(c->an);
	c->an = NULL;
	c->gen++;
	c->passed = c->decided = c->fed = false;
	c->busy = 0;
	orch_series_reset(c->series);
	c->due_ms = now;
	size_t n = 0, n_base = 0;
	for (size_t i = 0; i < g->n; i++) {
		struct can_host *h = &c->h[i];
		h->conv = h->base = SIZE_MAX;
		h->busy = h->asked = false;
		h->fails = 0;
		h->since_ms = 0;
		h->next_ms = now;
		if (eng_state(g, i) == ORCH_HS_SKIPPED)
			continue;
		if (eng_wave_of(g, i) > g->wave)
			n_base++;
	}
	c->historical = n_base == 0;
	c->wall0 = clk_wall_ms();
	for (size_t i = 0; i < g->n && c->prom; i++) {
		struct can_host *h = &c->h[i];
		bool mine = eng_wave_of(g, i) == g->wave, later = eng_wave_of(g, i) > g->wave;
		prom_drop(h);
		h->q = h->empty = 0;
		/* Prometheus has no window per version: a host of this wave is the
		 * converted group's once it is healthy, and the historical baseline
		 * is the final wave's hosts before it started */
		h->from_ms = c->wall0 - (c->historical && mine ? g->r->o.bake_max_ms : 0);
		h->conv_from = later ? INT64_MAX : mine ? INT64_MAX - 1 : c->wall0;
		h->base_until = later ? INT64_MAX : c->historical && mine ? c->wall0 : INT64_MIN;
	}
	for (size_t i = 0; i < g->n; i++) {
		if (eng_state(g, i) == ORCH_HS_SKIPPED)
			continue;
		bool conv = eng_wave_of(g, i) <= g->wave;
		if (conv) {
			c->h[i].conv = n;
			c->names[n] = eng_name(g, i);
			c->groups[n++] = ORCH_AN_CONVERTED;
		}
		if (!conv || (c->historical && (!c->prom || c->h[i].base_until > INT64_MIN))) {
			c->h[i].base = n;
			c->names[n] = eng_name(g, i);
			c->groups[n++] = ORCH_AN_BASELINE;
		}
	}
	struct orch_an_opts o = {
		.alpha_fail = 0.01 / (double)(g->r->n_waves ? g->r->n_waves : 1),
		.alpha_pass = 0.05,
		.max_gap = 30,
		.look_first = 30,
		.historical = c->historical,
	};
	if (!(c->an = orch_an_new(&c->cfg, &o, n, c->names, c->groups, &e))) {
		g->fatal = true;
		g->ferr = e;
	}
	draw(g, now);
}

/* Host i is left out of the analysis; the next host drawn from its group
 * takes its place in the sample. */
static void exclude(struct eng_canary *c, size_t i, const char *why)
{
	struct can_host *h = &c->h[i];
	int gr = h->conv == SIZE_MAX;
	if (h->conv == SIZE_MAX && h->base == SIZE_MAX)
		return; /* left out before */
	if (h->conv != SIZE_MAX)
		orch_an_exclude(c->an, h->conv, why);
	if (h->base != SIZE_MAX)
		orch_an_exclude(c->an, h->base, why);
	h->conv = h->base = SIZE_MAX;
	h->asked = false;
	take(c, gr, 0);
}

static void feed(struct eng *g, size_t i, size_t idx, const struct orch_metrics *m, bool same)
{
	struct eng_canary *c = g->canary;
	struct can_host *h = &c->h[i];
	struct err e;
	const struct orch_mversion *v = orch_metrics_version(m, g->r->digest, same);
	if (!v)
		return;
	if (v->untrusted) {
		char why[300];
		snprintf(why, sizeof why, "rampd found its metrics untrustworthy: %.200s", v->untrusted);
		exclude(c, i, why);
		return;
	}
	for (size_t k = 0; k < c->cfg.n; k++) {
		struct orch_an_series x;
		_cleanup_free_ double *buf = NULL;
		if (orch_metrics_series(v, &c->cfg.metrics[k], h->since_ms, &x, &buf, &e) < 0) {
			exclude(c, i, e.msg);
			return;
		}
		if (!x.n)
			continue;
		x.instance = orch_metrics_instance(m);
		c->fed = true;
		if (orch_an_feed(c->an, idx, k, &x, &e) < 0) {
			g->fatal = true;
			g->ferr = e;
			return;
		}
	}
}

static void on_metrics(struct eng *g, size_t i, unsigned kind, const struct http_resp *r)
{
	struct eng_canary *c = g->canary;
	struct can_host *h = &c->h[i];
	struct orch_metrics m;
	struct err e;
	char why[400];
	if (r->status != 200) {
		orch_describe_http(why, sizeof why, r->status, r->body, r->len);
		if (r->status == 0 && r->error)
			snprintf(why, sizeof why, "%.300s", r->error);
		if (++h->fails >= CAN_MAX_FAILS || r->status == 404 || r->status == 400) {
			char msg[500];
			snprintf(msg, sizeof msg, "its metrics could not be read: %.400s", why);
			exclude(c, i, msg);
		}
		return;
	}
	if (orch_metrics_parse(r->body, r->len, g->r->app, &m, &e) < 0) {
		exclude(c, i, e.msg);
		return;
	}
	h->fails = 0;
	if (kind == CAN_WATCH) {
		snprintf(h->boot_id, sizeof h->boot_id, "%s", m.boot_id);
		/* the final wave reaches back into the old version's window */
		h->since_ms = m.now_ms - (c->historical ? g->r->o.bake_max_ms : 0);
		if (h->since_ms <= 0)
			h->since_ms = 1;
	} else if (strcmp(h->boot_id, m.boot_id)) {
		exclude(c, i, "rampd restarted during the wave (its bootId changed): its samples are gone");
	} else {
		if (h->conv != SIZE_MAX)
			feed(g, i, h->conv, &m, true);
		if (h->base != SIZE_MAX && !g->fatal)
			feed(g, i, h->base, &m, false);
		for (size_t k = 0; k < m.n; k++)
			if (m.v[k].n && m.v[k].t_ms[m.v[k].n - 1] > h->since_ms)
				h->since_ms = m.v[k].t_ms[m.v[k].n - 1];
		if (m.endpoint_error && h->conv != SIZE_MAX && eng_state(g, i) != ORCH_HS_DEPLOYING) {
			snprintf(why, sizeof why, "no metrics endpoint: %.300s", m.endpoint_error);
			exclude(c, i, why);
		}
	}
	orch_metrics_free(&m);
}

static void on_answer(void *ctx, uint64_t tag, const struct http_resp *r);

/* Send one request of host i's (rampd's or Prometheus'): its answer comes to on_answer. */
static void send_call(struct eng *g, size_t i, struct orch_call *call, unsigned kind)
{
	struct eng_canary *c = g->canary;
	struct err e;
	call->host = i;
	call->keep = true;
	call->cb = on_answer;
	call->ctx = g;
	call->tag = ((uint64_t)(c->gen & 0xffffff) << 40) | ((uint64_t)kind << 32) | (uint64_t)i;
	if (g->t->call(g->t, call, &e) < 0) {
		exclude(c, i, e.msg);
		return;
	}
	c->h[i].busy = true;
	c->busy++;
}

/* Host i's next request to its rampd: the watch, then the samples since the last. */
static void rampd_ask(struct eng *g, size_t i, int64_t now)
{
	struct eng_canary *c = g->canary;
	struct can_host *h = &c->h[i];
	unsigned kind = h->since_ms ? CAN_GET : CAN_WATCH;
	struct orch_call call = {
		.op = kind == CAN_WATCH ? ORCH_OP_WATCH : ORCH_OP_METRICS,
		.app = g->r->app,
		.body = kind == CAN_WATCH ? c->watch_body : NULL,
		.since_ms = h->since_ms,
	};
	h->next_ms = now + c->poll_ms;
	send_call(g, i, &call, kind);
}

/* ---- Prometheus ---- */

/* Feed samples [from, to) of x to the analysis as its host idx,
 * with their reset flags. */
static void prom_feed_part(struct eng *g, size_t idx, size_t k, const struct orch_an_series *x,
			   const unsigned char *reset, size_t from, size_t to)
{
	struct eng_canary *c = g->canary;
	struct err e;
	if (idx == SIZE_MAX || from >= to)
		return;
	struct orch_an_series part = *x;
	part.n = to - from;
	part.t = x->t + from;
	part.v = x->v + from * x->width;
	part.reset = reset ? reset + from : NULL;
	c->fed = true;
	if (orch_an_feed(c->an, idx, k, &part, &e) < 0) {
		g->fatal = true;
		g->ferr = e;
	}
}

/* The answers of metric k's queries (n of them): the baseline's samples
 * before base_until, the converted host's from conv_from. */
static void prom_feed(struct eng *g, size_t i, size_t k, size_t n)
{
	struct eng_canary *c = g->canary;
	struct can_host *h = &c->h[i];
	struct orch_mversion v;
	struct orch_an_series x;
	_cleanup_free_ double *buf = NULL;
	_cleanup_free_ unsigned char *reset = NULL;
	struct err e;
	if (orch_prom_version(h->pa, n, &v, &e) < 0) {
		exclude(c, i, e.msg);
		return;
	}
	if (orch_metrics_series(&v, &c->cfg.metrics[k], h->from_ms - 1, &x, &buf, &e) < 0) {
		exclude(c, i, e.msg);
	} else if (c->cfg.metrics[k].kind != ORCH_AN_GAUGE && !(reset = calloc(v.n + 1, 1))) {
		exclude(c, i, "out of memory");
	} else {
		size_t a = 0, b;
		h->got |= x.n > 0;
		while (a < x.n && llround(x.t[a] * 1000) < h->base_until)
			a++;
		for (b = a; b < x.n && llround(x.t[b] * 1000) < h->conv_from;)
			b++;
		if (reset)
			orch_prom_resets(&v, reset);
		/* x is v's last x.n times */
		const unsigned char *rx = reset ? reset + (v.n - x.n) : NULL;
		prom_feed_part(g, h->base, k, &x, rx, 0, a);
		if (!g->fatal)
			prom_feed_part(g, h->conv, k, &x, rx, b, x.n);
	}
	orch_prom_version_free(&v);
}

static void prom_answer(struct eng *g, size_t i, const struct http_resp *r)
{
	struct eng_canary *c = g->canary;
	struct can_host *h = &c->h[i];
	const struct can_query *q = &c->q[h->q];
	size_t slot = h->q && c->q[h->q - 1].metric == q->metric;
	struct err e;
	char why[400], msg[500];
	if (r->status != 200) {
		orch_describe_http(why, sizeof why, r->status, r->body, r->len);
		if (r->status == 0 && r->error)
			snprintf(why, sizeof why, "%.300s", r->error);
		prom_drop(h);
		h->q = 0;
		if (++h->fails >= CAN_MAX_FAILS || (r->status >= 400 && r->status < 500)) {
			snprintf(msg, sizeof msg, "Prometheus could not answer for it: %.400s", why);
			exclude(c, i, msg);
		}
		return;
	}
	h->fails = 0;
	if (orch_prom_parse(r->body, r->len, q->series, h->from_ms - c->step_ms, h->r_end, c->step_ms, &h->pa[slot],
			    &e) < 0) {
		prom_drop(h);
		h->q = 0;
		exclude(c, i, e.msg);
		return;
	}
	if (q->last) {
		prom_feed(g, i, q->metric, slot + 1);
		prom_drop(h);
	}
	if (++h->q < c->nq)
		return;
	h->q = 0;
	h->from_ms = h->r_end + c->step_ms;
	if (h->got || ++h->empty < CAN_MAX_EMPTY) {
		h->empty = h->got ? 0 : h->empty;
		h->got = false;
		return;
	}
	snprintf(msg, sizeof msg, "Prometheus has no sample of its series for %d polls (query of %.100s: %.250s)",
		 CAN_MAX_EMPTY, c->q[0].series, c->cfg.metrics[c->q[0].metric].query);
	exclude(c, i, msg);
}

/* Host i's next query: the first of a poll (of the times since the last
 * poll, on a grid of --poll steps that all hosts share, and the last time
 * of that poll again: a series' fall from it is a restart too), or the
 * next one. */
static void prom_ask(struct eng *g, size_t i, int64_t now)
{
	struct eng_canary *c = g->canary;
	struct can_host *h = &c->h[i];
	const struct can_query *q = &c->q[h->q];
	int64_t step = c->step_ms, wall = clk_wall_ms();
	char query[ORCH_PROM_MAX_QUERY];
	struct err e;
	if (!h->q) {
		enum orch_hs s = eng_state(g, i);
		h->next_ms = now + c->poll_ms;
		if (h->conv_from == INT64_MAX - 1 && (s == ORCH_HS_HEALTHY || s == ORCH_HS_BAKED))
			h->conv_from = wall;
		if (h->from_ms >= h->base_until && h->from_ms < h->conv_from) /* nothing of use before */
			h->from_ms = h->conv_from < wall ? h->conv_from : wall;
		if (h->from_ms >= h->base_until && h->conv_from == INT64_MAX - 1)
			return; /* not healthy on the new version yet */
		/* the times a step ago at the latest: Prometheus stamps a sample
		 * with its scrape's start and answers from it once the scrape is
		 * in, so a newer time could read another scrape for each query of
		 * a metric (a histogram's _bucket and _count out of step) */
		h->from_ms = (h->from_ms + step - 1) / step * step;
		if (h->from_ms > wall - step)
			return;
		h->r_end = h->from_ms + (wall - step - h->from_ms) / step * step;
		if ((h->r_end - h->from_ms) / step >= ORCH_PROM_MAX_POINTS - 1)
			h->r_end = h->from_ms + (ORCH_PROM_MAX_POINTS - 2) * step;
	}
	_cleanup_free_ char *url = NULL;
	if (orch_prom_render(c->cfg.metrics[q->metric].query, q->series, &g->r->hosts.hosts[i], query, sizeof query, &e) < 0 ||
	    !(url = orch_prom_url(c->prom, query, h->from_ms - step, h->r_end, step))) {
		exclude(c, i, url ? e.msg : "out of memory");
		return;
	}
	struct orch_call call = {.op = ORCH_OP_QUERY, .url = url};
	send_call(g, i, &call, 0);
}

static void on_answer(void *ctx, uint64_t tag, const struct http_resp *r)
{
	struct eng *g = ctx;
	struct eng_canary *c = g->canary;
	size_t i = (size_t)(tag & 0xffffffffu);
	unsigned kind = (unsigned)((tag >> 32) & 0xff);
	if (!c || (uint32_t)(tag >> 40) != (c->gen & 0xffffff) || g->phase == PH_END)
		return;
	c->h[i].busy = false;
	c->busy--;
	if (c->h[i].conv == SIZE_MAX && c->h[i].base == SIZE_MAX)
		return;
	if (c->prom)
		prom_answer(g, i, r);
	else
		on_metrics(g, i, kind, r);
}

/* ---- the judgement ---- */

static const char *group_name(enum orch_an_group gr)
{
	return gr == ORCH_AN_CONVERTED ? "converted" : "baseline";
}

static void fmt_num(const struct orch_an_metric *m, double v, char *buf, size_t n)
{
	if (!isfinite(v))
		snprintf(buf, n, "-");
	else if (m->kind == ORCH_AN_RATIO || m->kind == ORCH_AN_LATENCY)
		snprintf(buf, n, "%.3g%%", v * 100);
	else
		snprintf(buf, n, "%.4g", v);
}

/* n with thousands separated by commas */
static const char *fmt_count(size_t n, char *buf, size_t len)
{
	char d[32];
	int nd = snprintf(d, sizeof d, "%zu", n);
	size_t o = 0;
	for (int k = 0; k < nd && o + 2 < len; k++) {
		if (k && (nd - k) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = d[k];
	}
	buf[o] = 0;
	return buf;
}

/* The analysis event: every number of the deciding test of each metric, the
 * hosts judged of each group, and a table for a person. */
static void emit_result(struct eng *g, const struct orch_an_result *res, const char *verdict, int64_t ms)
{
	struct eng_canary *c = g->canary;
	struct orch_event ev = {.kind = ORCH_EV_ANALYSIS};
	struct orch_ev_analysis *x = &ev.u.analysis;
	struct err e;
	char explain[ORCH_AN_MAX_METRICS][400];
	char human[2000];
	orch_series_add(c->series, ms, res); /* the deciding judgement: the series' last point */
	eng_ev_series(g, c->series);
	*x = (struct orch_ev_analysis){.wave = (int64_t)g->wave + 1, .ms = ms, .verdict = verdict,
				       .baseline = c->historical ? "historical" : "concurrent",
				       .n_metrics = res->n, .n_excluded = res->n_excluded, .has_judged = true,
				       .conv_group = (int64_t)c->group[0], .base_group = (int64_t)c->group[1]};
	for (size_t k = 0; k < c->n_ask; k++) {
		const struct can_host *h = &c->h[c->ask[k]];
		x->conv_judged += h->asked && h->conv != SIZE_MAX;
		x->base_judged += h->asked && h->base != SIZE_MAX;
	}
	if (!(x->metrics = orch_event_alloc(&ev, res->n, sizeof *x->metrics, &e)) ||
	    !(x->excluded = orch_event_alloc(&ev, res->n_excluded, sizeof *x->excluded, &e))) {
		orch_event_free(&ev);
		return;
	}
	int len = snprintf(human, sizeof human, "analysis of wave %zu: %s after %.1f s (%s baseline)\n  %-12s %-10s %-10s %-10s %-22s %s",
			   g->wave + 1, verdict, (double)ms / 1000.0, x->baseline, "METRIC", "CONVERTED", "BASELINE",
			   "ALLOWED", "EVIDENCE", "VERDICT");
	for (size_t k = 0; k < res->n && k < ORCH_AN_MAX_METRICS; k++) {
		const struct orch_an_metric_result *mr = &res->metrics[k];
		const struct orch_an_metric *m = mr->m;
		const struct orch_an_test *t = mr->n_tests ? &mr->tests[mr->shown] : NULL;
		orch_an_explain(mr, explain[k], sizeof explain[k]);
		struct orch_ev_an_metric *o = &x->metrics[k];
		*o = (struct orch_ev_an_metric){
			.name = m->name, .kind = orch_an_kind_name(m->kind), .verdict = orch_an_verdict_name(mr->verdict),
			.reason = mr->reason ? mr->reason : "", .explain = explain[k],
			.conv_hosts = (int64_t)mr->conv_hosts, .base_hosts = (int64_t)mr->base_hosts,
			.tol_abs = m->tol_abs, .tol_rel = m->tol_rel,
			.conv_p50 = mr->conv_p50, .conv_p99 = mr->conv_p99, .base_p50 = mr->base_p50, .base_p99 = mr->base_p99,
			.le = NAN, .conv = NAN, .base = NAN, .allowed = NAN, .conv_lo = NAN, .conv_hi = NAN, .base_lo = NAN,
			.base_hi = NAN, .conv_events = NAN, .conv_exposure = NAN, .base_events = NAN, .base_exposure = NAN,
			.ev_fail = NAN, .ev_fail_min = NAN, .ev_pass = NAN, .ev_pass_min = NAN,
		};
		if (t) {
			o->le = m->kind == ORCH_AN_LATENCY ? t->le : NAN;
			o->conv = t->conv, o->base = t->base, o->allowed = t->allowed;
			o->conv_lo = t->conv_lo, o->conv_hi = t->conv_hi, o->base_lo = t->base_lo, o->base_hi = t->base_hi;
			o->conv_events = t->conv_events, o->conv_exposure = t->conv_exposure;
			o->base_events = t->base_events, o->base_exposure = t->base_exposure;
			o->ev_fail = t->ev_fail, o->ev_fail_min = t->ev_fail_min;
			o->ev_pass = t->ev_pass, o->ev_pass_min = t->ev_pass_min;
		}
		char cv[32], bv[32], al[32], evid[64];
		fmt_num(m, o->conv, cv, sizeof cv);
		fmt_num(m, o->base, bv, sizeof bv);
		fmt_num(m, o->allowed, al, sizeof al);
		if (mr->verdict == ORCH_AN_PASS)
			snprintf(evid, sizeof evid, "no worse %.3g/%.3g", o->ev_pass, o->ev_pass_min);
		else
			snprintf(evid, sizeof evid, "worse %.3g/%.3g", o->ev_fail, o->ev_fail_min);
		if (len >= 0 && (size_t)len < sizeof human)
			len += snprintf(human + len, sizeof human - (size_t)len, "\n  %-12.12s %-10s %-10s %-10s %-22s %s (%s)",
					m->name, cv, bv, al, evid, o->verdict, o->reason);
	}
	char n1[32], n2[32], n3[32], n4[32];
	if (len >= 0 && (size_t)len < sizeof human)
		len += snprintf(human + len, sizeof human - (size_t)len, "\n  judged: %s of %s converted, %s of %s baseline hosts",
				fmt_count((size_t)x->conv_judged, n1, sizeof n1), fmt_count(c->group[0], n2, sizeof n2),
				fmt_count((size_t)x->base_judged, n3, sizeof n3), fmt_count(c->group[1], n4, sizeof n4));
	for (size_t k = 0; k < res->n_excluded; k++) {
		const struct orch_an_excluded *ex = &res->excluded[k];
		x->excluded[k] = (struct orch_ev_an_excluded){ex->host, group_name(ex->group), ex->why};
		if (len >= 0 && (size_t)len < sizeof human)
			len += snprintf(human + len, sizeof human - (size_t)len, "\n  left out: %s (%s): %s", ex->host,
					group_name(ex->group), ex->why);
	}
	eng_ev_analysis(g, &ev, strcmp(verdict, "pass") ? ORCH_LVL_PROBLEM : ORCH_LVL_MAIN, human);
}

/* The first failing metric in words: what the failure says. */
static void failure_text(const struct orch_an_result *res, char *buf, size_t n)
{
	char ex[400] = "";
	for (size_t k = 0; k < res->n; k++)
		if (res->metrics[k].verdict == ORCH_AN_FAIL) {
			orch_an_explain(&res->metrics[k], ex, sizeof ex);
			break;
		}
	snprintf(buf, n, "canary analysis: %s", ex);
}

void eng_canary_tick(struct eng *g, int64_t now)
{
	struct eng_canary *c = g->canary;
	if (!c || !c->an || c->decided || g->phase != PH_WAVE)
		return;
	/* the engine scans every few ms; the sampled hosts are due every
	 * poll_ms (a Prometheus host's further queries go out as its answers
	 * come); the hosts outside the sample are never asked */
	int64_t due = INT64_MAX;
	for (size_t k = 0; k < c->n_ask && !g->fatal && (now >= c->due_ms || c->prom); k++) {
		size_t i = c->ask[k];
		struct can_host *h = &c->h[i];
		if (!h->asked)
			continue;
		if (h->busy || (now < h->next_ms && !(c->prom && h->q))) {
			due = h->next_ms < due ? h->next_ms : due;
			continue;
		}
		enum orch_hs s = eng_state(g, i);
		if (h->conv != SIZE_MAX && (s == ORCH_HS_FAILED || s == ORCH_HS_REVERTING || s == ORCH_HS_REVERTED ||
					    s == ORCH_HS_REVERT_FAILED || s == ORCH_HS_UNREACHABLE)) {
			exclude(c, i, "failed (on its old version again)");
			continue;
		}
		if (c->prom)
			prom_ask(g, i, now);
		else
			rampd_ask(g, i, now);
		due = h->next_ms < due ? h->next_ms : due;
	}
	if (now >= c->due_ms)
		c->due_ms = due;
	/* one judgement per round of polls: an interval of the sequential
	 * tests then holds every host's samples of that time */
	if (!c->fed || c->busy)
		return;
	c->fed = false;
	int64_t ms = now - g->wave_t0;
	const struct orch_an_result *res = orch_an_judge(c->an, (double)ms / 1000.0);
	orch_series_add(c->series, ms, res);
	if (res->verdict == ORCH_AN_FAIL) {
		char why[500];
		c->decided = true;
		emit_result(g, res, "fail", ms);
		failure_text(res, why, sizeof why);
		eng_fail_rollout(g, SIZE_MAX, why, NULL, NULL);
		return;
	}
	c->passed = res->verdict == ORCH_AN_PASS;
}

bool eng_canary_passed(struct eng *g, int64_t now)
{
	struct eng_canary *c = g->canary;
	if (!c || !c->an || (c->decided && c->passed))
		return true;
	if (c->decided)
		return false;
	int64_t ms = now - g->wave_t0;
	if (c->passed) {
		c->decided = true;
		emit_result(g, orch_an_judge(c->an, (double)ms / 1000.0), "pass", ms);
		return true;
	}
	if (ms < g->r->o.bake_max_ms)
		return false;
	c->decided = true;
	emit_result(g, orch_an_judge(c->an, (double)ms / 1000.0), "inconclusive", ms);
	char why[300];
	snprintf(why, sizeof why,
		 "canary analysis: wave %zu inconclusive after --bake-max %.0f s (too little traffic or baseline to decide)",
		 g->wave + 1, (double)g->r->o.bake_max_ms / 1000.0);
	switch (g->r->o.on_inconclusive) {
	case ORCH_INCONCLUSIVE_PASS:
		c->passed = true;
		return true;
	case ORCH_INCONCLUSIVE_FAIL:
		eng_fail_rollout(g, SIZE_MAX, why, NULL, NULL);
		return false;
	case ORCH_INCONCLUSIVE_PAUSE:
		eng_pause(g, why);
		return false;
	}
	return false;
}
