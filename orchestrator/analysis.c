/* analysis.c: the sequential tests of canary analysis (see analysis.h; the
 * statistics are explained in docs/CANARY.md, whose names the comments use).
 *
 * Count tests (ratio, events, each bucket bound of a histogram): events of
 * the converted group (c) and of the baseline (b) over their exposure.
 * With tolerance t_abs, t_rel and the bad direction s (+1 higher is worse):
 *   worse  <=>  theta = c/b beyond rho = 1 + s*t_rel  and  s*(c - b) > t_abs
 * - ratio path: conditional on the events of a poll interval, the converted
 *   share is binomial with pi = w*theta/(w*theta + 1 - w), w the converted
 *   share of the interval's exposure (two Poisson processes). The mixture
 *   likelihood ratios over a fixed grid of theta against rho are e-processes:
 *   E_fail (alternatives on the bad side) and E_pass (the good side).
 * - difference path: one confidence sequence per group (Poisson, a gamma
 *   mixture scale-free in the null's mean), giving c_lo, c_hi, b_lo, b_hi.
 * FAIL when both paths say worse (an intersection-union test, so alpha_fail
 * is not split between them); PASS when either says no worse (alpha_pass
 * split). A historical baseline has no concurrent intervals: only the groups'
 * bounds are compared then.
 *
 * Rate and gauge metrics: each host's mean over the window; the converted
 * hosts' median against the baseline hosts' values with the tolerance
 * applied, an exact rank (hypergeometric) test under exchangeability, at
 * looks spaced by doubling times with alpha spent as alpha/(j(j+1)). */
#include "orchestrator/analysis.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* The mixture grids of theta (factors of rho towards each side). The bad
 * side spreads its weight evenly over 1.1x to 100x; the good side puts half
 * on theta = 1 (a release as good as the old one, the usual case) and
 * spreads the rest over 1.1x to 10x. */
#define N_BAD 12
#define N_GOOD 8
#define BAD_MIN 1.1
#define BAD_MAX 100.0
#define GOOD_MAX 10.0
/* shape of the gamma prior of the groups' confidence sequences (docs/CANARY.md) */
#define PRIOR_SHAPE 1.0

struct ctest {
	double le;
	double ce, cx, be, bx;     /* window totals: events and exposure per group */
	double ice, icx, ibe, ibx; /* this poll interval's */
	double xc;                 /* converted events of the intervals with both exposures */
	double a0, abad[N_BAD], agood[N_GOOD]; /* sum over intervals of n*log(1 + w*(theta - 1)) */
	bool failed, passed;
};

struct hstate {
	double t, first_t;
	double *last; /* width values */
	uint64_t instance;
	double acc, span; /* rate: increase; gauge: integral over time; span: seconds */
	bool contributed;
};

struct mstate {
	const struct orch_an_metric *m;
	double sgn;          /* +1 higher is worse, -1 lower is worse */
	double rho;          /* the tolerated ratio */
	double tbad[N_BAD], tgood[N_GOOD], lwgood[N_GOOD];
	size_t width;        /* 0 until known (latency: the first valid host's buckets) */
	double *le;          /* latency bounds */
	struct ctest *ct;    /* count tests: 1, or one per bound */
	struct orch_an_test *out;
	size_t n_tests;
	struct hstate *hs;   /* per host */
	size_t n_conv, n_base;
	int look;            /* rate, gauge: looks done */
	bool failed, passed;
	double *vx, *vy;     /* rate, gauge: scratch for the looks */
};

struct host {
	char *name;
	enum orch_an_group g;
	bool excluded;
};

struct orch_an {
	const struct orch_an_config *c;
	struct orch_an_opts o;
	struct host *hosts;
	size_t n_hosts;
	struct mstate *ms;
	struct orch_an_metric_result *mr;
	struct orch_an_excluded *ex;
	size_t n_ex;
	struct orch_an_result r;
};

/* ---- numbers ---- */

static double logsumexp(const double *x, size_t n)
{
	double mx = -INFINITY, s = 0;
	for (size_t i = 0; i < n; i++)
		if (x[i] > mx)
			mx = x[i];
	if (mx == -INFINITY)
		return mx;
	for (size_t i = 0; i < n; i++)
		s += exp(x[i] - mx);
	return mx + log(s);
}

/* log of the mixture martingale of a Poisson count k against the null mean m:
 * the integral over theta ~ Gamma(shape a, rate a) of the likelihood ratio
 * theta^k exp(-(theta - 1) m) */
static double pois_logm(double k, double m)
{
	const double a = PRIOR_SHAPE;
	return a * log(a) - lgamma(a) + lgamma(k + a) - (k + a) * log(m + a) + m;
}

/* The confidence sequence's ends for the mean of a count k: the means m
 * whose mixture stays under 1/alpha. log M is convex in m with its minimum
 * at k, so Newton's method from outside the interval (m = 0 for the lower
 * end, a doubling for the upper one) approaches each end monotonically. */
static double pois_bound(double k, double alpha, bool upper)
{
	const double a = PRIOR_SHAPE, L = -log(alpha);
	double m;
	if (pois_logm(k, k) >= L)
		return k;
	if (upper) {
		m = k + 1;
		while (pois_logm(k, m) < L)
			m *= 2;
	} else {
		if (k <= 0 || pois_logm(k, 0) < L)
			return 0;
		m = 0;
	}
	for (int i = 0; i < 100; i++) {
		double f = pois_logm(k, m) - L, d = 1 - (k + a) / (m + a), step = f / d;
		m -= step;
		if (fabs(step) <= 1e-10 * (1 + m))
			break;
	}
	return m;
}

/* the rate bound: events over exposure */
static double rate_bound(double k, double x, double alpha, bool upper)
{
	if (x <= 0)
		return upper ? INFINITY : 0;
	return pois_bound(k, alpha, upper) / x;
}

static double lchoose(double n, double k)
{
	return lgamma(n + 1) - lgamma(k + 1) - lgamma(n - k + 1);
}

/* P(X >= k), X hypergeometric: s draws from N values of which m are converted */
static double hyper_tail(size_t N, size_t m, size_t s, size_t k)
{
	double p = 0, den = lchoose((double)N, (double)s);
	for (size_t j = k; j <= m && j <= s; j++)
		if (s - j <= N - m)
			p += exp(lchoose((double)m, (double)j) + lchoose((double)(N - m), (double)(s - j)) - den);
	return p > 1 ? 1 : p;
}

/* the tolerance applied to a baseline value */
static double allowed(const struct mstate *s, double b)
{
	double d = fmax(s->m->tol_abs, s->m->tol_rel * fabs(b));
	return b + s->sgn * d;
}

/* ---- set-up ---- */

static void grids(struct mstate *s)
{
	const struct orch_an_metric *m = s->m;
	s->sgn = m->dir == ORCH_AN_LOWER_WORSE ? -1 : 1;
	s->rho = 1 + s->sgn * m->tol_rel;
	for (int j = 0; j < N_BAD; j++) {
		double g = exp(log(BAD_MIN) + j * (log(BAD_MAX) - log(BAD_MIN)) / (N_BAD - 1));
		s->tbad[j] = s->rho * pow(g, s->sgn);
	}
	/* good side: theta = 1 with half the weight when it is on that side */
	bool one = m->tol_rel > 0;
	int k = 0;
	if (one) {
		s->tgood[k] = 1;
		s->lwgood[k++] = log(0.5);
	}
	int rest = N_GOOD - k;
	for (int j = 0; j < rest; j++) {
		double g = exp(log(BAD_MIN) + j * (log(GOOD_MAX) - log(BAD_MIN)) / (rest - 1));
		s->tgood[k] = s->rho * pow(g, -s->sgn);
		s->lwgood[k++] = log((one ? 0.5 : 1.0) / rest);
	}
}

static int alloc_tests(struct mstate *s, size_t n, struct err *e)
{
	if (!(s->ct = calloc(n, sizeof *s->ct)) || !(s->out = calloc(n, sizeof *s->out)))
		return err_errno(e, ENOMEM, "analysis");
	s->n_tests = n;
	return 0;
}

struct orch_an *orch_an_new(const struct orch_an_config *c, const struct orch_an_opts *o, size_t n_hosts,
			    const char *const *names, const enum orch_an_group *groups, struct err *e)
{
	struct orch_an *a = calloc(1, sizeof *a);
	if (!a)
		goto nomem;
	a->c = c;
	a->o = o ? *o : (struct orch_an_opts){0};
	if (!a->o.alpha_fail)
		a->o.alpha_fail = 0.01 / 6;
	if (!a->o.alpha_pass)
		a->o.alpha_pass = 0.05;
	if (!a->o.max_gap)
		a->o.max_gap = 30;
	if (!a->o.look_first)
		a->o.look_first = 30;
	if (!(a->o.alpha_fail > 0 && a->o.alpha_fail <= 0.5 && a->o.alpha_pass > 0 && a->o.alpha_pass <= 0.5)) {
		err_set(e, "analysis: alpha must be above 0 and at most 0.5");
		goto fail;
	}
	if (!(a->o.max_gap > 0 && a->o.look_first > 0)) {
		err_set(e, "analysis: max_gap and look_first must be positive");
		goto fail;
	}
	if (c->n == 0 || c->n > ORCH_AN_MAX_METRICS) {
		err_set(e, "analysis: %zu metrics (1 to %d)", c->n, ORCH_AN_MAX_METRICS);
		goto fail;
	}
	a->n_hosts = n_hosts;
	if (!(a->hosts = calloc(n_hosts ? n_hosts : 1, sizeof *a->hosts)) ||
	    !(a->ex = calloc(n_hosts ? n_hosts : 1, sizeof *a->ex)) || !(a->ms = calloc(c->n, sizeof *a->ms)) ||
	    !(a->mr = calloc(c->n, sizeof *a->mr)))
		goto nomem;
	for (size_t i = 0; i < n_hosts; i++) {
		if (!(a->hosts[i].name = strdup(names[i])))
			goto nomem;
		a->hosts[i].g = groups[i];
	}
	for (size_t k = 0; k < c->n; k++) {
		struct mstate *s = &a->ms[k];
		s->m = &c->metrics[k];
		grids(s);
		if (!(s->hs = calloc(n_hosts ? n_hosts : 1, sizeof *s->hs)))
			goto nomem;
		switch (s->m->kind) {
		case ORCH_AN_RATIO:
		case ORCH_AN_EVENTS:
			s->width = s->m->kind == ORCH_AN_RATIO ? 2 : 1;
			if (alloc_tests(s, 1, e) < 0)
				goto fail;
			break;
		case ORCH_AN_RATE:
		case ORCH_AN_GAUGE:
			s->width = 1;
			if (alloc_tests(s, 1, e) < 0 || !(s->vx = calloc(n_hosts + 1, sizeof *s->vx)) ||
			    !(s->vy = calloc(n_hosts + 1, sizeof *s->vy)))
				goto nomem;
			break;
		case ORCH_AN_LATENCY:
			break; /* tests once the buckets are known */
		}
	}
	return a;
nomem:
	err_errno(e, ENOMEM, "analysis");
fail:
	orch_an_free(a);
	return NULL;
}

void orch_an_free(struct orch_an *a)
{
	if (!a)
		return;
	for (size_t k = 0; a->ms && k < a->c->n; k++) {
		struct mstate *s = &a->ms[k];
		for (size_t i = 0; s->hs && i < a->n_hosts; i++)
			free(s->hs[i].last);
		free(s->hs);
		free(s->ct);
		free(s->out);
		free(s->le);
		free(s->vx);
		free(s->vy);
	}
	for (size_t i = 0; a->hosts && i < a->n_hosts; i++)
		free(a->hosts[i].name);
	free(a->hosts);
	free(a->ms);
	free(a->mr);
	free(a->ex);
	free(a);
}

/* ---- feeding ---- */

static void exclude(struct orch_an *a, size_t h, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void exclude(struct orch_an *a, size_t h, const char *fmt, ...)
{
	struct host *ho = &a->hosts[h];
	if (ho->excluded)
		return;
	ho->excluded = true;
	struct orch_an_excluded *x = &a->ex[a->n_ex++];
	x->host = ho->name;
	x->group = ho->g;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(x->why, sizeof x->why, fmt, ap);
	va_end(ap);
	for (size_t k = 0; k < a->c->n; k++)
		if (a->ms[k].hs[h].contributed)
			*(ho->g == ORCH_AN_CONVERTED ? &a->ms[k].n_conv : &a->ms[k].n_base) -= 1;
}

void orch_an_exclude(struct orch_an *a, size_t host, const char *why)
{
	if (host < a->n_hosts)
		exclude(a, host, "%s", why);
}

/* The histogram's bounds: the first host with valid ones sets them; a host
 * with others is left out. Returns 0 to go on, -1 when the host was left out. */
static int latency_bounds(struct orch_an *a, struct mstate *s, size_t h, const struct orch_an_series *x,
			  struct err *e)
{
	size_t nb = x->width - 1;
	if (!x->le) {
		exclude(a, h, "%s: no bucket bounds", s->m->name);
		return -1;
	}
	for (size_t b = 0; b < nb; b++)
		if (!isfinite(x->le[b]) || (b && x->le[b] <= x->le[b - 1])) {
			exclude(a, h, "%s: bucket bounds not finite and increasing (le=%g)", s->m->name, x->le[b]);
			return -1;
		}
	if (!s->width) {
		if (!(s->le = malloc(nb * sizeof *s->le)) || alloc_tests(s, nb, e) < 0)
			return err_errno(e, ENOMEM, "analysis"), -2;
		memcpy(s->le, x->le, nb * sizeof *s->le);
		for (size_t b = 0; b < nb; b++)
			s->ct[b].le = s->le[b];
		s->width = x->width;
		return 0;
	}
	if (x->width != s->width) {
		exclude(a, h, "%s: its histogram has %zu buckets where the other hosts' have %zu", s->m->name, nb,
			s->width - 1);
		return -1;
	}
	for (size_t b = 0; b < nb; b++)
		if (x->le[b] != s->le[b]) {
			exclude(a, h, "%s: its histogram's buckets differ from the other hosts' (le=%g where they have %g)",
				s->m->name, x->le[b], s->le[b]);
			return -1;
		}
	return 0;
}

struct le_str {
	char s[32];
};

/* a bucket's bound as Prometheus writes it */
static struct le_str le_name(const struct mstate *s, size_t b)
{
	struct le_str r;
	if (b + 1 < s->width)
		snprintf(r.s, sizeof r.s, "%g", s->le[b]);
	else
		snprintf(r.s, sizeof r.s, "+Inf");
	return r;
}

/* One sample's increments checked and added; false when the host was left out. */
static bool add_sample(struct orch_an *a, struct mstate *s, size_t h, double t, const double *v, bool reset)
{
	struct hstate *hs = &s->hs[h];
	const struct orch_an_metric *m = s->m;
	size_t w = s->width;
	double inc[ORCH_AN_MAX_BOUNDS + 1];
	for (size_t b = 0; b < w; b++) {
		if (!isfinite(v[b]) || (m->kind != ORCH_AN_GAUGE && v[b] < 0)) {
			exclude(a, h, "%s: value %g", m->name, v[b]);
			return false;
		}
		if (m->kind == ORCH_AN_LATENCY && b && v[b] < v[b - 1]) {
			exclude(a, h, "%s: bucket le=%s holds fewer requests than a lower one", m->name, le_name(s, b).s);
			return false;
		}
	}
	if (!hs->last) {
		if (!(hs->last = malloc(w * sizeof *hs->last)))
			return exclude(a, h, "out of memory"), false;
		memcpy(hs->last, v, w * sizeof *v);
		hs->t = hs->first_t = t;
		return true;
	}
	double dt = t - hs->t;
	if (dt > a->o.max_gap) {
		exclude(a, h, "%s: no sample for %.0f s", m->name, dt);
		return false;
	}
	for (size_t b = 0; b < w && m->kind != ORCH_AN_GAUGE; b++) {
		inc[b] = reset ? v[b] : v[b] - hs->last[b];
		if (inc[b] < 0) {
			exclude(a, h, "%s: counter went backwards (%g to %g) without a reset", m->name, hs->last[b], v[b]);
			return false;
		}
	}
	double count = m->kind == ORCH_AN_RATIO ? inc[1] : inc[w - 1];
	if (m->kind != ORCH_AN_GAUGE && m->kind != ORCH_AN_RATE && count > ORCH_AN_MAX_RATE * dt) {
		exclude(a, h, "%s: %g in %.1f s is beyond belief", m->name, count, dt);
		return false;
	}
	bool conv = a->hosts[h].g == ORCH_AN_CONVERTED;
	switch (m->kind) {
	case ORCH_AN_RATIO:
		if (inc[0] > inc[1]) {
			exclude(a, h, "%s: more errors (+%g) than requests (+%g)", m->name, inc[0], inc[1]);
			return false;
		}
		*(conv ? &s->ct[0].ice : &s->ct[0].ibe) += inc[0];
		*(conv ? &s->ct[0].icx : &s->ct[0].ibx) += inc[1];
		break;
	case ORCH_AN_EVENTS:
		*(conv ? &s->ct[0].ice : &s->ct[0].ibe) += inc[0];
		*(conv ? &s->ct[0].icx : &s->ct[0].ibx) += dt;
		break;
	case ORCH_AN_LATENCY:
		for (size_t b = 1; b < w; b++)
			if (inc[b] < inc[b - 1]) {
				exclude(a, h, "%s: bucket le=%s grew less than a lower one", m->name, le_name(s, b).s);
				return false;
			}
		for (size_t b = 0; b + 1 < w; b++) {
			*(conv ? &s->ct[b].ice : &s->ct[b].ibe) += inc[w - 1] - inc[b];
			*(conv ? &s->ct[b].icx : &s->ct[b].ibx) += inc[w - 1];
		}
		break;
	case ORCH_AN_RATE:
		hs->acc += inc[0];
		hs->span += dt;
		break;
	case ORCH_AN_GAUGE:
		hs->acc += 0.5 * (v[0] + hs->last[0]) * dt;
		hs->span += dt;
		break;
	}
	if (!hs->contributed) {
		hs->contributed = true;
		*(conv ? &s->n_conv : &s->n_base) += 1;
	}
	memcpy(hs->last, v, w * sizeof *v);
	hs->t = t;
	return true;
}

int orch_an_feed(struct orch_an *a, size_t host, size_t metric, const struct orch_an_series *x, struct err *e)
{
	if (host >= a->n_hosts || metric >= a->c->n)
		return err_set(e, "analysis: host %zu or metric %zu out of range", host, metric);
	struct mstate *s = &a->ms[metric];
	const struct orch_an_metric *m = s->m;
	bool lat = m->kind == ORCH_AN_LATENCY;
	if (lat ? x->width < 2 || x->width > ORCH_AN_MAX_BOUNDS + 1 : x->width != orch_an_width(m, 0))
		return err_set(e, "analysis: %zu values a sample for %s metric \"%s\"", x->width, orch_an_kind_name(m->kind),
			       m->name);
	if (a->hosts[host].excluded || x->n == 0)
		return 0;
	if (lat) {
		int rc = latency_bounds(a, s, host, x, e);
		if (rc < -1)
			return -1;
		if (rc < 0)
			return 0;
	}
	struct hstate *hs = &s->hs[host];
	if (x->instance) {
		if (hs->instance && hs->instance != x->instance) {
			exclude(a, host, "rampd restarted mid-wave (instance %llu, then %llu)",
				(unsigned long long)hs->instance, (unsigned long long)x->instance);
			return 0;
		}
		hs->instance = x->instance;
	}
	for (size_t i = 0; i < x->n; i++) {
		double t = x->t[i];
		if (!isfinite(t) || (i && t <= x->t[i - 1])) {
			exclude(a, host, "%s: sample times not increasing (%g after %g)", m->name, t, i ? x->t[i - 1] : NAN);
			return 0;
		}
		if (hs->last && t <= hs->t)
			continue; /* fed before */
		if (!add_sample(a, s, host, t, x->v + i * x->width, x->reset && x->reset[i]))
			return 0;
	}
	return 0;
}

/* ---- judging ---- */

static double mix_log(const struct ctest *t, const double *theta, const double *lw, const double *acc, size_t n,
		      double rho)
{
	double x[N_BAD > N_GOOD ? N_BAD : N_GOOD];
	for (size_t j = 0; j < n; j++)
		x[j] = lw[j] + t->xc * log(theta[j] / rho) - (acc[j] - t->a0);
	return logsumexp(x, n);
}

/* the poll interval closes: the ratio path's sums, then the window totals */
static void close_interval(const struct orch_an *a, const struct mstate *s, struct ctest *t)
{
	double n = t->ice + t->ibe;
	if (!a->o.historical && t->icx > 0 && t->ibx > 0 && n > 0) {
		double w = t->icx / (t->icx + t->ibx);
		t->xc += t->ice;
		t->a0 += n * log1p(w * (s->rho - 1));
		for (int j = 0; j < N_BAD; j++)
			t->abad[j] += n * log1p(w * (s->tbad[j] - 1));
		for (int j = 0; j < N_GOOD; j++)
			t->agood[j] += n * log1p(w * (s->tgood[j] - 1));
	}
	t->ce += t->ice;
	t->cx += t->icx;
	t->be += t->ibe;
	t->bx += t->ibx;
	t->ice = t->icx = t->ibe = t->ibx = 0;
}

static void judge_count(const struct orch_an *a, const struct mstate *s, struct ctest *t, struct orch_an_test *o,
			double af, bool can_decide)
{
	const struct orch_an_metric *m = s->m;
	double ap = a->o.alpha_pass, sg = s->sgn;
	bool hist = a->o.historical;
	/* the bounds each decision uses (higher is worse: FAIL the converted
	 * lower and baseline upper bounds, PASS the other two) */
	double fa = af / 2, pa = hist ? ap / 2 : ap / 4;
	bool up = sg > 0;
	*o = (struct orch_an_test){.le = t->le, .conv_events = t->ce, .conv_exposure = t->cx, .base_events = t->be,
				   .base_exposure = t->bx};
	o->conv = t->cx > 0 ? t->ce / t->cx : NAN;
	o->base = t->bx > 0 ? t->be / t->bx : NAN;
	o->allowed = allowed(s, o->base);
	o->conv_lo = rate_bound(t->ce, t->cx, up ? fa : pa, false);
	o->conv_hi = rate_bound(t->ce, t->cx, up ? pa : fa, true);
	o->base_lo = rate_bound(t->be, t->bx, up ? pa : fa, false);
	o->base_hi = rate_bound(t->be, t->bx, up ? fa : pa, true);
	bool fail, pass;
	if (hist) {
		/* FAIL: every (c, b) within the bounds is worse; PASS: none is */
		fail = up ? o->conv_lo > allowed(s, o->base_hi) : o->conv_hi < allowed(s, o->base_lo);
		pass = up ? o->conv_hi <= allowed(s, o->base_lo) : o->conv_lo >= allowed(s, o->base_hi);
	} else {
		double lw_bad[N_BAD];
		for (int j = 0; j < N_BAD; j++)
			lw_bad[j] = -log((double)N_BAD);
		double lef = mix_log(t, s->tbad, lw_bad, t->abad, N_BAD, s->rho);
		double lep = mix_log(t, s->tgood, s->lwgood, t->agood, N_GOOD, s->rho);
		o->ev_fail = exp(fmin(lef, 700));
		o->ev_pass = exp(fmin(lep, 700));
		o->ev_fail_min = 1 / af;
		o->ev_pass_min = 2 / ap;
		bool diff_fail = up ? o->conv_lo - o->base_hi > m->tol_abs : o->base_lo - o->conv_hi > m->tol_abs;
		bool diff_pass = up ? o->conv_hi - o->base_lo <= m->tol_abs : o->base_hi - o->conv_lo <= m->tol_abs;
		fail = lef >= log(o->ev_fail_min) && diff_fail;
		pass = lep >= log(o->ev_pass_min) || diff_pass;
	}
	if (can_decide) {
		t->failed |= fail;
		t->passed |= pass;
	}
	o->verdict = t->failed ? ORCH_AN_FAIL : t->passed ? ORCH_AN_PASS : ORCH_AN_CONTINUE;
}

static int cmp_double(const void *x, const void *y)
{
	double p = *(const double *)x, q = *(const double *)y;
	return p < q ? -1 : p > q;
}

static double median(const double *v, size_t n)
{
	return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* The rank test of a look: p of "more than half of the converted values lie
 * this far to the bad side (bad = true) or the good side of the tolerated
 * baseline values". Ties count against the decision. */
static double rank_p(const double *x, size_t m, const double *y, size_t n, bool high)
{
	size_t k = m / 2 + 1, s = 0;
	double z = high ? x[m - k] : x[k - 1]; /* x sorted increasing */
	for (size_t i = 0; i < m; i++)
		s += high ? x[i] >= z : x[i] <= z;
	for (size_t j = 0; j < n; j++)
		s += high ? y[j] >= z : y[j] <= z;
	return hyper_tail(m + n, m, s, k);
}

static void judge_hosts(struct orch_an *a, struct mstate *s, double af, double elapsed)
{
	struct orch_an_test *o = &s->out[0];
	if (elapsed < a->o.look_first * ldexp(1, s->look))
		return;
	size_t m = 0, n = 0;
	for (size_t h = 0; h < a->n_hosts; h++) {
		const struct hstate *hs = &s->hs[h];
		if (a->hosts[h].excluded || hs->span <= 0)
			continue;
		if (a->hosts[h].g == ORCH_AN_CONVERTED)
			s->vx[m++] = hs->acc / hs->span;
		else
			s->vy[n++] = hs->acc / hs->span;
	}
	if (!m || !n)
		return; /* not a look: nothing to compare yet */
	int j = ++s->look;
	double spend = 1.0 / ((double)j * (j + 1));
	qsort(s->vx, m, sizeof *s->vx, cmp_double);
	qsort(s->vy, n, sizeof *s->vy, cmp_double);
	*o = (struct orch_an_test){.conv = median(s->vx, m), .base = median(s->vy, n)};
	o->allowed = allowed(s, o->base);
	o->conv_lo = o->conv_hi = o->base_lo = o->base_hi = NAN;
	o->conv_exposure = (double)m;
	o->base_exposure = (double)n;
	for (size_t i = 0; i < n; i++)
		s->vy[i] = allowed(s, s->vy[i]); /* monotone: stays sorted */
	bool up = s->sgn > 0;
	double pf = rank_p(s->vx, m, s->vy, n, up), pp = rank_p(s->vx, m, s->vy, n, !up);
	o->ev_fail = 1 / pf;
	o->ev_pass = 1 / pp;
	o->ev_fail_min = 1 / (af * spend);
	o->ev_pass_min = 1 / (a->o.alpha_pass * spend);
	s->failed |= pf <= af * spend;
	s->passed |= pp <= a->o.alpha_pass * spend;
}

/* Prometheus' histogram_quantile: linear within the bucket, the highest
 * finite bound when the quantile lies in +Inf */
static double quantile(const struct mstate *s, bool conv, double q)
{
	double total = conv ? s->ct[0].cx : s->ct[0].bx, rank = q * total, prev = 0;
	if (total <= 0)
		return NAN;
	for (size_t b = 0; b < s->n_tests; b++) {
		const struct ctest *t = &s->ct[b];
		double cum = total - (conv ? t->ce : t->be);
		if (cum >= rank) {
			double lo = b ? s->le[b - 1] : fmin(0, s->le[0]);
			return cum > prev ? lo + (s->le[b] - lo) * (rank - prev) / (cum - prev) : s->le[b];
		}
		prev = cum;
	}
	return s->le[s->n_tests - 1];
}

/* how far from passing: the converted value over the allowed one, towards the bad side */
static double badness(const struct mstate *s, const struct orch_an_test *o)
{
	if (!isfinite(o->conv) || !isfinite(o->allowed))
		return -INFINITY;
	return s->sgn > 0 ? o->conv - o->allowed : o->allowed - o->conv;
}

static void judge_metric(struct orch_an *a, size_t k, double elapsed)
{
	struct mstate *s = &a->ms[k];
	struct orch_an_metric_result *r = &a->mr[k];
	const struct orch_an_metric *m = s->m;
	bool counts = m->kind != ORCH_AN_RATE && m->kind != ORCH_AN_GAUGE;
	bool can = s->n_conv > 0 && s->n_base > 0;
	double af = a->o.alpha_fail / (double)a->c->n / (double)(s->n_tests ? s->n_tests : 1);
	*r = (struct orch_an_metric_result){.m = m, .conv_hosts = s->n_conv, .base_hosts = s->n_base,
					    .tests = s->out, .n_tests = s->n_tests};
	r->conv_p50 = r->conv_p99 = r->base_p50 = r->base_p99 = NAN;
	bool any_fail = false, all_pass = s->n_tests > 0, events = false, exposure = false;
	if (counts) {
		for (size_t b = 0; b < s->n_tests; b++) {
			close_interval(a, s, &s->ct[b]);
			judge_count(a, s, &s->ct[b], &s->out[b], af, can);
			any_fail |= s->out[b].verdict == ORCH_AN_FAIL;
			all_pass &= s->out[b].verdict == ORCH_AN_PASS;
			events |= s->ct[b].ce + s->ct[b].be > 0;
			exposure |= s->ct[b].cx > 0;
		}
		if (m->kind == ORCH_AN_LATENCY && s->n_tests) {
			r->conv_p50 = quantile(s, true, 0.5);
			r->conv_p99 = quantile(s, true, 0.99);
			r->base_p50 = quantile(s, false, 0.5);
			r->base_p99 = quantile(s, false, 0.99);
		}
	} else {
		if (can)
			judge_hosts(a, s, af, elapsed);
		any_fail = s->failed;
		all_pass = s->passed;
		s->out[0].verdict = any_fail ? ORCH_AN_FAIL : all_pass ? ORCH_AN_PASS : ORCH_AN_CONTINUE;
	}
	r->verdict = any_fail ? ORCH_AN_FAIL : all_pass ? ORCH_AN_PASS : ORCH_AN_CONTINUE;
	/* the test to show: a failing one, else the one furthest from passing */
	double worst = -INFINITY;
	bool found = false;
	for (size_t b = 0; b < s->n_tests; b++) {
		const struct orch_an_test *o = &s->out[b];
		if (any_fail ? o->verdict != ORCH_AN_FAIL : !all_pass && o->verdict == ORCH_AN_PASS)
			continue;
		double v = badness(s, o);
		if (!found || v > worst) {
			found = true;
			worst = v;
			r->shown = b;
		}
	}
	if (r->verdict == ORCH_AN_FAIL)
		r->reason = "worse";
	else if (r->verdict == ORCH_AN_PASS)
		r->reason = "no_worse";
	else if (!s->n_conv)
		r->reason = "no_converted";
	else if (!s->n_base)
		r->reason = "no_baseline";
	else if (counts && !exposure)
		r->reason = "too_little_traffic";
	else if (counts && !events && m->tol_abs <= 0)
		r->reason = "no_events";
	else if (!counts && !s->look)
		r->reason = "waiting_look";
	else
		r->reason = "collecting";
}

const struct orch_an_result *orch_an_judge(struct orch_an *a, double elapsed)
{
	bool any_fail = false, all_pass = true;
	for (size_t k = 0; k < a->c->n; k++) {
		judge_metric(a, k, elapsed);
		any_fail |= a->mr[k].verdict == ORCH_AN_FAIL;
		all_pass &= a->mr[k].verdict == ORCH_AN_PASS;
	}
	a->r = (struct orch_an_result){.verdict = any_fail ? ORCH_AN_FAIL : all_pass ? ORCH_AN_PASS : ORCH_AN_CONTINUE,
				       .metrics = a->mr, .n = a->c->n, .excluded = a->ex, .n_excluded = a->n_ex};
	return &a->r;
}

/* ---- explaining ---- */

static void fmt_value(const struct orch_an_metric *m, double v, char *buf, size_t n)
{
	if (!isfinite(v))
		snprintf(buf, n, "%s", isnan(v) ? "-" : v > 0 ? "inf" : "-inf");
	else if (m->kind == ORCH_AN_RATIO || m->kind == ORCH_AN_LATENCY)
		snprintf(buf, n, "%.3g%%", v * 100);
	else if (m->kind == ORCH_AN_GAUGE)
		snprintf(buf, n, "%.4g", v);
	else
		snprintf(buf, n, "%.3g/s", v);
}

void orch_an_explain(const struct orch_an_metric_result *r, char *buf, size_t n)
{
	const struct orch_an_metric *m = r->m;
	char c[32], b[32], al[32], cl[32], ch[32], bl[32], bh[32], what[64] = "", p99[96] = "", state[64];
	size_t l = 0;
#define OUT(...)                                                                                                     \
	do {                                                                                                         \
		int k_ = snprintf(buf + l, l < n ? n - l : 0, __VA_ARGS__);                                          \
		l += k_ > 0 ? (size_t)k_ : 0;                                                                        \
	} while (0)
	if (!n)
		return;
	buf[0] = '\0';
	if (r->verdict == ORCH_AN_CONTINUE)
		snprintf(state, sizeof state, "continue (%s)", r->reason);
	else
		snprintf(state, sizeof state, "%s", r->verdict == ORCH_AN_FAIL ? "worse" : "no worse");
	if (!r->n_tests) {
		OUT("%s: %s, %zu converted and %zu baseline hosts", m->name, state, r->conv_hosts, r->base_hosts);
		return;
	}
	const struct orch_an_test *o = &r->tests[r->shown];
	fmt_value(m, o->conv, c, sizeof c);
	fmt_value(m, o->base, b, sizeof b);
	fmt_value(m, o->allowed, al, sizeof al);
	bool hosts = m->kind == ORCH_AN_RATE || m->kind == ORCH_AN_GAUGE;
	if (m->kind == ORCH_AN_LATENCY) {
		snprintf(what, sizeof what, " (share slower than %gs)", o->le);
		if (isfinite(r->conv_p99) && isfinite(r->base_p99))
			snprintf(p99, sizeof p99, "; p99 %.3gs vs %.3gs", r->conv_p99, r->base_p99);
	}
	OUT("%s%s: %s%s vs %s baseline (allowed %s)%s: %s", m->name, what, hosts ? "median " : "", c, b, al, p99,
	    state);
	if (hosts) {
		if (o->ev_fail_min > 0)
			OUT("; 1/p worse %.3g (needs %.3g), no worse %.3g (needs %.3g)", o->ev_fail, o->ev_fail_min,
			    o->ev_pass, o->ev_pass_min);
		OUT("; %zu converted and %zu baseline hosts", r->conv_hosts, r->base_hosts);
		return;
	}
	if (o->ev_fail_min > 0)
		OUT("; evidence worse %.3g (needs %.3g), no worse %.3g (needs %.3g)", o->ev_fail, o->ev_fail_min,
		    o->ev_pass, o->ev_pass_min);
	fmt_value(m, o->conv_lo, cl, sizeof cl);
	fmt_value(m, o->conv_hi, ch, sizeof ch);
	fmt_value(m, o->base_lo, bl, sizeof bl);
	fmt_value(m, o->base_hi, bh, sizeof bh);
	const char *unit = m->kind == ORCH_AN_EVENTS ? "host-s" : "requests";
	OUT("; converted %.0f in %.0f %s [%s, %s] on %zu hosts, baseline %.0f in %.0f %s [%s, %s] on %zu hosts",
	    o->conv_events, o->conv_exposure, unit, cl, ch, r->conv_hosts, o->base_events, o->base_exposure, unit, bl,
	    bh, r->base_hosts);
#undef OUT
}
