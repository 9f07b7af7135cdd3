/* analysis.h: canary analysis of one wave. Do the converted hosts (new
 * version) serve their users worse than the baseline hosts (old version) over
 * the same window? Pure computation, no I/O (docs/CANARY.md has the tests,
 * their assumptions and their error rates).
 *
 * What is judged comes from an analysis file (`--analysis FILE`, JSON) or the
 * default set (`--analysis default`): metrics of five kinds, each with a
 * direction and a tolerance (absolute and relative):
 *   ratio    an error counter over a total counter (5xx over all requests)
 *   events   a counter of events with host-time as exposure (restarts)
 *   latency  a Prometheus histogram: the share of requests slower than each
 *            bucket bound
 *   rate     any other counter's rate per second, judged across hosts
 *   gauge    a gauge's mean over the window, judged across hosts
 *
 * Use, per wave: orch_an_new() with the wave's hosts and their groups; at every
 * poll orch_an_feed() each host's new samples (cumulative values for counters
 * and buckets, as rampd's metrics API and PromQL range queries give them;
 * samples already fed are skipped), then orch_an_judge(). Feeding is O(width)
 * per sample and judging O(metrics × buckets) besides the looks of rate and
 * gauge metrics (O(hosts log hosts) at doubling times), so a poll costs
 * O(hosts) however long the wave bakes.
 *
 * A host whose data cannot be trusted (a counter going backwards without a
 * reset, NaN, negative or absurd values, more errors than requests, buckets
 * out of order, a gap longer than max_gap, a new rampd instance mid-wave) is
 * left out of its group from then on and named in the result with the reason.
 * Its samples up to the bad one are kept: they were consistent when read. */
#ifndef RAMP_ORCH_ANALYSIS_H
#define RAMP_ORCH_ANALYSIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#define ORCH_AN_MAX_METRICS 16
#define ORCH_AN_MAX_BOUNDS 64     /* finite buckets of a histogram */
#define ORCH_AN_MAX_MATCHERS 8    /* label matchers of a selector */
#define ORCH_AN_MAX_SELECTOR 1024 /* bytes of a selector */
#define ORCH_AN_MAX_FILE (256u << 10)
#define ORCH_AN_MAX_RATE 1e6      /* events (or requests) per second of one host beyond which it lies */

enum orch_an_kind { ORCH_AN_RATIO, ORCH_AN_EVENTS, ORCH_AN_LATENCY, ORCH_AN_RATE, ORCH_AN_GAUGE };
enum orch_an_dir { ORCH_AN_HIGHER_WORSE, ORCH_AN_LOWER_WORSE };
enum orch_an_verdict { ORCH_AN_CONTINUE, ORCH_AN_PASS, ORCH_AN_FAIL };
enum orch_an_group { ORCH_AN_CONVERTED, ORCH_AN_BASELINE };

/* A Prometheus series selector: name{label="v", label=~"re", ...}. */
struct orch_an_matcher {
	char *label;
	char op[3]; /* "=", "!=", "=~", "!~" (regular expressions are PCRE2's, anchored) */
	char *value;
	pcre2_code *rx; /* =~, !~: the value compiled (analysis_file.c) */
	pcre2_match_data *md;
};
struct orch_an_selector {
	char *name;
	struct orch_an_matcher *m;
	size_t n;
};

struct orch_an_metric {
	char *name; /* 1 to 63 letters, digits, '_', '.', '-' */
	enum orch_an_kind kind;
	enum orch_an_dir dir;                 /* latency: always higher is worse */
	struct orch_an_selector series;       /* ratio: the errors; latency: the histogram's name */
	struct orch_an_selector total;        /* ratio: all requests; otherwise unused */
	/* The new version is no worse while, for the higher-is-worse direction,
	 *   converted <= baseline + max(tol_abs, tol_rel * baseline)
	 * (lower is worse: converted >= baseline - max(...)). Units: ratio and
	 * latency a share (0.001 = 0.1 percentage point); events and rate per
	 * second; gauge the gauge's. At least one of the two is above 0. */
	double tol_abs, tol_rel;
	/* --metrics-source prometheus=URL: the query template of its series
	 * (orchestrator/promquery.h); the file's, else ORCH_PROM_DEFAULT_QUERY */
	char *query;
};

struct orch_an_config {
	struct orch_an_metric *metrics;
	size_t n;
};

/* Parse an analysis file's bytes ({"metrics": [...]}, docs/CANARY.md);
 * `what` names it in messages, which say where the problem is. */
int orch_an_config_parse(const char *buf, size_t len, const char *what, struct orch_an_config *c, struct err *e);
/* The default set: the names the common client libraries' HTTP
 * instrumentation exports (http_requests_total by code, the
 * http_request_duration_seconds histogram). */
int orch_an_config_default(struct orch_an_config *c, struct err *e);
/* `--analysis ARG`: the file ARG, the default set for "default", or the
 * analysis the --max-* options made (orch_an_config_flags: ARG is JSON). */
int orch_an_config_load(const char *arg, struct orch_an_config *c, struct err *e);
void orch_an_config_free(struct orch_an_config *c);
/* A tolerance option's value: "0.01" (tolerance_abs, a share), "+50%"
 * (tolerance_rel) or "0.01,+50%" (both). */
int orch_an_tolerance_parse(const char *s, double *abs, double *rel, struct err *e);
/* The analysis of --max-error-ratio and --max-slow-ratio (either may be
 * NULL): the default set's metrics with these tolerances, as the JSON of an
 * analysis file (for orch_an_config_load and the journal); NULL with e set
 * for a bad value, naming the option. Caller frees. */
char *orch_an_config_flags(const char *max_error_ratio, const char *max_slow_ratio, struct err *e);
/* Does the series name{keys[i]=values[i]...} match sel? */
bool orch_an_selector_match(const struct orch_an_selector *sel, const char *name, const char *const *keys,
			    const char *const *values, size_t n);
/* Values per sample of a metric: ratio 2 (errors, total); latency the finite
 * bounds plus one (cumulative bucket counts, then the count); else 1. */
size_t orch_an_width(const struct orch_an_metric *m, size_t n_bounds);
const char *orch_an_kind_name(enum orch_an_kind k);
const char *orch_an_verdict_name(enum orch_an_verdict v);

struct orch_an_opts {
	/* Chance of failing a good wave, over all its metrics (split equally
	 * among them, and among a histogram's buckets); default 0.01 / 6 (a
	 * 0.01 budget spread over the six waves of a 64-host rollout: the
	 * engine passes its budget divided by its number of waves). */
	double alpha_fail;
	/* Chance of passing a metric that is worse than its tolerance; default
	 * 0.05 (no split needed: a wave passes only when every metric does). */
	double alpha_pass;
	double max_gap;    /* seconds between two samples of a host; default 30 */
	double look_first; /* rate and gauge metrics are judged at this, then doubling times; default 30 s */
	/* The baseline is an earlier window, not concurrent (the final wave:
	 * docs/CANARY.md). Only the groups' rates are compared then. */
	bool historical;
};

/* New samples of one host for one metric. */
struct orch_an_series {
	uint64_t instance;          /* the source's instance (rampd's start); a change means a restart; 0: unknown */
	size_t n;                   /* samples */
	const double *t;            /* n scrape times in seconds, increasing */
	const double *v;            /* n × width values, sample after sample */
	const unsigned char *reset; /* NULL, or n flags: the counters restarted from 0 just before sample i */
	const double *le;           /* latency: the width - 1 finite bucket bounds, increasing */
	size_t width;
};

/* One comparison: a count, or one bucket bound of a histogram. Rates are per
 * unit of exposure: errors per request, events per second, the share of
 * requests slower than `le`; rate and gauge metrics compare the hosts' values
 * (conv and base are then the groups' medians). */
struct orch_an_test {
	double le; /* latency: the bound in seconds; else 0 */
	enum orch_an_verdict verdict;
	double conv, base, allowed;                /* estimates; allowed = the tolerance applied to base */
	double conv_lo, conv_hi, base_lo, base_hi; /* confidence bounds (count tests) */
	double conv_events, conv_exposure, base_events, base_exposure;
	/* Evidence for each decision and the value it must reach: count tests an
	 * e-value (a mixture likelihood ratio; historical: 0, bounds only), rate
	 * and gauge 1/p of the look. */
	double ev_fail, ev_fail_min, ev_pass, ev_pass_min;
};

struct orch_an_metric_result {
	const struct orch_an_metric *m;
	enum orch_an_verdict verdict;
	/* worse, no_worse; or why not decided yet: collecting, no_converted,
	 * no_baseline, too_little_traffic, no_events (nothing happened and no
	 * absolute tolerance to pass on exposure alone), waiting_look */
	const char *reason;
	size_t conv_hosts, base_hosts; /* hosts that contributed */
	const struct orch_an_test *tests;
	size_t n_tests;
	size_t shown;                                  /* the test that decides, or is furthest from passing */
	double conv_p50, conv_p99, base_p50, base_p99; /* latency: from the buckets, seconds */
};

struct orch_an_excluded {
	const char *host;
	enum orch_an_group group;
	char why[200];
};

struct orch_an_result {
	/* FAIL if any metric fails, PASS if all pass, else CONTINUE. */
	enum orch_an_verdict verdict;
	const struct orch_an_metric_result *metrics;
	size_t n;
	const struct orch_an_excluded *excluded;
	size_t n_excluded;
};

struct orch_an;

/* names[i] and groups[i] for each of the wave's n_hosts hosts (a historical
 * baseline host may carry the name of a converted one). The config must
 * outlive the analysis. NULL opts: the defaults. */
struct orch_an *orch_an_new(const struct orch_an_config *c, const struct orch_an_opts *o, size_t n_hosts,
			    const char *const *names, const enum orch_an_group *groups, struct err *e);
void orch_an_free(struct orch_an *a);
/* Feed new samples. Returns -1 only for a caller's mistake (indices, a width
 * that does not fit the metric's kind); bad data leaves the host out. */
int orch_an_feed(struct orch_an *a, size_t host, size_t metric, const struct orch_an_series *s, struct err *e);
/* Leave a host out for a reason the caller knows (its metrics endpoint fails). */
void orch_an_exclude(struct orch_an *a, size_t host, const char *why);
/* Close the poll: update the sequential tests with what was fed since the
 * last call and judge. elapsed: seconds since the wave began (the engine's
 * clock; it times the looks of rate and gauge metrics). The result stays
 * valid until the next call on a. Decisions are kept: a metric that passed
 * stays passed unless it later fails. */
const struct orch_an_result *orch_an_judge(struct orch_an *a, double elapsed);

/* One line for a person: the values, the tolerance and the evidence
 * ("errors: 1.52% vs 0.49% baseline (allowed 0.74%): worse, ..."). */
void orch_an_explain(const struct orch_an_metric_result *r, char *buf, size_t n);

#endif
