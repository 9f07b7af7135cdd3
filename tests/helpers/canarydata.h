/* canarydata.h: the generated traffic of the canary simulation
 * (tests/helpers/canarysim.c, the benchmark, and the short A/A check in
 * tests/unit/test_analysis.c): header-only so both draw the same data.
 *
 * Every host serves Poisson traffic with its version's error ratio and
 * latency distribution (a log-normal body and an optional slow tail), counted
 * as a request counter, an error counter and a histogram with the client
 * libraries' default buckets, one slot of CD_SLOT seconds at a time. Realism
 * that a test of counts must survive:
 *   - hosts differ: a host's traffic share is log-normal (sigma 0.3), its
 *     error ratio is the version's times a log-normal factor (sigma 0.15) and
 *     its latency median the version's times one (sigma 0.05), fixed for the
 *     run (a host is a little worse or better than another, whatever runs);
 *   - traffic moves: every slot's rate is scaled, on all hosts together, by
 *     a slow wave (+-30% over 30 minutes) and a log-normal jitter (sigma 0.1).
 * What host h serves on version v in slot s comes from a PRNG seeded by
 * (seed, run, h, v, s), so methods that move on at different times read the
 * same numbers. */
#ifndef RAMP_TESTS_CANARYDATA_H
#define RAMP_TESTS_CANARYDATA_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define CD_HOSTS 64        /* the default fleet */
#define CD_MAX_HOSTS 1024  /* the largest */
#define CD_SLOT 5.0  /* seconds between scrapes */
#define CD_RATE 20.0 /* requests per second of an average host */
#define CD_NB 11     /* finite buckets */

static const double CD_LE[CD_NB] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

struct cd_version {
	double err;                  /* error ratio */
	double median, sigma;        /* log-normal latency body, seconds */
	double tail_frac, tail_mult; /* a share of requests that many times slower */
};

/* one slot of one host on one version */
struct cd_slot {
	unsigned req, err, b[CD_NB + 1]; /* b: requests per bucket (not cumulative), the last above 10 s */
	bool made;
};

struct cd_run {
	uint64_t seed; /* the seed of this run: mixes the scenario and the run number */
	struct cd_version v[2]; /* old, new */
	int hosts;                        /* at most CD_MAX_HOSTS */
	double share[CD_MAX_HOSTS], errf[CD_MAX_HOSTS];
	double q[CD_MAX_HOSTS][2][CD_NB + 1]; /* bucket probabilities per host and version */
	struct cd_slot *data;             /* [hosts][2][max_slots], made on demand */
	size_t max_slots;
};

static inline uint64_t cd_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static inline double cd_unif(uint64_t *s)
{
	*s += 0x9e3779b97f4a7c15ull;
	return (double)((cd_mix(*s) >> 11) + 1) * 0x1.0p-53; /* in (0, 1] */
}

static inline double cd_normal(uint64_t *s)
{
	return sqrt(-2 * log(cd_unif(s))) * cos(2 * M_PI * cd_unif(s));
}

/* Poisson: multiplication for small means, Hoermann's PTRS otherwise */
static inline unsigned cd_poisson(uint64_t *s, double lam)
{
	if (lam < 10) {
		double l = exp(-lam), p = 1;
		unsigned k = 0;
		while ((p *= cd_unif(s)) > l)
			k++;
		return k;
	}
	double slam = sqrt(lam), loglam = log(lam), b = 0.931 + 2.53 * slam, a = -0.059 + 0.02483 * b;
	double inva = 1.1239 + 1.1328 / (b - 3.4), vr = 0.9277 - 3.6224 / (b - 2);
	for (;;) {
		double u = cd_unif(s) - 0.5, v = cd_unif(s), us = 0.5 - fabs(u);
		double k = floor((2 * a / us + b) * u + lam + 0.43);
		if (us >= 0.07 && v <= vr)
			return (unsigned)k;
		if (k < 0 || (us < 0.013 && v > us))
			continue;
		if (log(v) + log(inva) - log(a / (us * us) + b) <= -lam + k * loglam - lgamma(k + 1))
			return (unsigned)k;
	}
}

/* binomial by inversion (n is a slot's requests, a few hundred at most) */
static inline unsigned cd_binomial(uint64_t *s, unsigned n, double p)
{
	if (p <= 0 || n == 0)
		return 0;
	if (p >= 1)
		return n;
	if (p > 0.5)
		return n - cd_binomial(s, n, 1 - p);
	double q = 1 - p, r = p / q, f = pow(q, n), u = cd_unif(s), c = f;
	unsigned k = 0;
	while (u > c && k < n) {
		f *= r * (n - k) / (k + 1);
		k++;
		c += f;
	}
	return k;
}

static inline double cd_lognormal_cdf(double x, double median, double sigma)
{
	return 0.5 * erfc(-(log(x) - log(median)) / (sigma * M_SQRT2));
}

/* Start run `run` of the scenario with versions old and new on `hosts`
 * hosts: the hosts' differences. data must hold hosts * 2 * max_slots slots. */
static inline void cd_start(struct cd_run *r, uint64_t seed, uint64_t run, const struct cd_version *old,
			    const struct cd_version *new, int hosts, struct cd_slot *data, size_t max_slots)
{
	r->seed = cd_mix(seed ^ cd_mix(run));
	r->hosts = hosts;
	r->v[0] = *old;
	r->v[1] = *new;
	r->data = data;
	r->max_slots = max_slots;
	memset(data, 0, (size_t)hosts * 2 * max_slots * sizeof *data);
	uint64_t st = r->seed;
	double total = 0;
	for (int h = 0; h < hosts; h++) {
		r->share[h] = exp(0.3 * cd_normal(&st));
		total += r->share[h];
		r->errf[h] = exp(0.15 * cd_normal(&st));
		double lat = exp(0.05 * cd_normal(&st));
		for (int v = 0; v < 2; v++) {
			const struct cd_version *ve = &r->v[v];
			double prev = 0;
			for (int b = 0; b <= CD_NB; b++) {
				double F = 1;
				if (b < CD_NB)
					F = (1 - ve->tail_frac) * cd_lognormal_cdf(CD_LE[b], ve->median * lat, ve->sigma) +
					    ve->tail_frac *
						    cd_lognormal_cdf(CD_LE[b], ve->median * lat * ve->tail_mult, ve->sigma);
				r->q[h][v][b] = F - prev;
				prev = F;
			}
		}
	}
	for (int h = 0; h < hosts; h++)
		r->share[h] *= hosts / total;
}

/* what host h serves on version v in slot s */
static inline const struct cd_slot *cd_slot_of(struct cd_run *r, int h, int v, size_t s)
{
	struct cd_slot *d = &r->data[((size_t)h * 2 + v) * r->max_slots + s];
	if (d->made)
		return d;
	uint64_t g = r->seed ^ cd_mix(~(uint64_t)s); /* the traffic of slot s, on every host */
	double load = (1 + 0.3 * sin(2 * M_PI * (double)s * CD_SLOT / 1800)) * exp(0.1 * cd_normal(&g));
	uint64_t st = cd_mix(r->seed ^ cd_mix((uint64_t)h << 1 ^ (uint64_t)v ^ cd_mix(s)));
	d->req = cd_poisson(&st, CD_RATE * CD_SLOT * r->share[h] * load);
	d->err = cd_binomial(&st, d->req, fmin(1, r->v[v].err * r->errf[h]));
	unsigned left = d->req;
	double pleft = 1;
	for (int b = 0; b < CD_NB; b++) {
		double q = r->q[h][v][b];
		d->b[b] = pleft > 0 ? cd_binomial(&st, left, fmin(1, q / pleft)) : 0;
		left -= d->b[b];
		pleft -= q;
	}
	d->b[CD_NB] = left;
	d->made = true;
	return d;
}

/* Cumulative counters of one host as a scraper reads them. */
struct cd_counters {
	double err, req, per[CD_NB + 1];
};

/* Add slot d (NULL: nothing) and write the values of a ratio metric (errors,
 * total) and of a latency metric (cumulative buckets, then the count). */
static inline void cd_count(struct cd_counters *c, const struct cd_slot *d, double ratio[2], double lat[CD_NB + 1])
{
	if (d) {
		c->err += d->err;
		c->req += d->req;
		for (int b = 0; b <= CD_NB; b++)
			c->per[b] += d->b[b];
	}
	ratio[0] = c->err;
	ratio[1] = c->req;
	double run = 0;
	for (int b = 0; b <= CD_NB; b++)
		lat[b] = run += c->per[b];
}

#endif
