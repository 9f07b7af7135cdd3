/* promtext.h: the Prometheus text exposition format (version 0.0.4, what
 * client libraries serve at /metrics), and OpenMetrics 1.0's text where it
 * differs in ways a scraper meets: `# EOF`, `# UNIT`, counters whose TYPE
 * name lacks `_total`, `_created` samples, exemplars, the types unknown,
 * info, stateset and gaugehistogram.
 *
 * The page is written by the app, so it is untrusted input: the parser is
 * strict (a malformed line is an error naming the line and what is wrong,
 * never a guess), streams (feed it the page in pieces; it keeps one line at
 * a time, so the page can be larger than what it holds), and every size it
 * accepts is bounded by struct rt_prom_limits; a refusal names the limit.
 *
 * Each sample line is handed to a callback with its family (the name of the
 * TYPE line it belongs to), the family's type and the sample's role in it
 * (a histogram's _bucket, _sum, _count ...). Samples of a metric without a
 * TYPE line are untyped, as in Prometheus. */
#ifndef RAMP_RT_PROMTEXT_H
#define RAMP_RT_PROMTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

struct rt_prom_limits {
	size_t max_line;        /* bytes of one line, its newline excluded */
	size_t max_name;        /* bytes of a metric name */
	size_t max_label_name;  /* bytes of a label name */
	size_t max_label_value; /* bytes of a label value, after unescaping */
	size_t max_labels;      /* labels of one sample */
	size_t max_series;      /* sample lines in the page */
};
/* The defaults (docs/SECURITY.md): line 64 KiB, name 256, label name 256,
 * label value 4 KiB, 64 labels, 50,000 series. */
void rt_prom_limits_default(struct rt_prom_limits *l);

enum rt_prom_type {
	RT_PROM_UNTYPED, /* also OpenMetrics' unknown */
	RT_PROM_COUNTER,
	RT_PROM_GAUGE,
	RT_PROM_HISTOGRAM,
	RT_PROM_SUMMARY,
	RT_PROM_GAUGEHISTOGRAM,
	RT_PROM_INFO,
	RT_PROM_STATESET,
};
const char *rt_prom_type_name(enum rt_prom_type t);

/* What a sample is within its family. */
enum rt_prom_role {
	RT_PROM_VALUE,    /* the family's own sample: a counter, gauge, untyped... */
	RT_PROM_BUCKET,   /* histogram _bucket{le=...} (gaugehistogram too) */
	RT_PROM_SUM,      /* histogram, summary _sum (gaugehistogram _gsum) */
	RT_PROM_COUNT,    /* histogram, summary _count (gaugehistogram _gcount) */
	RT_PROM_QUANTILE, /* summary {quantile=...} */
	RT_PROM_CREATED,  /* OpenMetrics _created: a time, not a count */
};

struct rt_prom_label {
	const char *name, *value; /* NUL-terminated, value unescaped */
};

/* One sample line; the strings live until the callback returns. */
struct rt_prom_sample {
	const char *name;   /* as written: "http_request_duration_seconds_bucket" */
	const char *family; /* its TYPE line's name, else the name itself */
	enum rt_prom_type type;
	enum rt_prom_role role;
	const struct rt_prom_label *labels; /* in the order written */
	size_t n_labels;
	double value;      /* NaN, +Inf and -Inf as written */
	bool has_time;
	double time;       /* as written: ms (text format) or s (OpenMetrics) */
	size_t line;       /* 1-based */
};

/* True for samples whose value only grows while the process lives: a
 * counter's, a histogram's or summary's _bucket, _sum and _count. */
bool rt_prom_cumulative(const struct rt_prom_sample *s);

/* Called for each sample; returning -1 (with e set) stops the parse with
 * that error. */
typedef int (*rt_prom_cb)(void *ctx, const struct rt_prom_sample *s, struct err *e);

struct rt_prom;
/* A parser for one page; NULL on ENOMEM. l NULL: the defaults. */
struct rt_prom *rt_prom_new(const struct rt_prom_limits *l, rt_prom_cb cb, void *ctx);
/* The next len bytes of the page. */
int rt_prom_feed(struct rt_prom *p, const char *buf, size_t len, struct err *e);
/* The page ended: the last line may lack its newline. */
int rt_prom_finish(struct rt_prom *p, struct err *e);
/* Sample lines seen so far. */
size_t rt_prom_series(const struct rt_prom *p);
void rt_prom_free(struct rt_prom *p);

/* A whole page at once (feed, then finish). */
int rt_prom_parse(const char *buf, size_t len, const struct rt_prom_limits *l, rt_prom_cb cb, void *ctx,
		  struct err *e);

/* Metric and label name grammars: [a-zA-Z_:][a-zA-Z0-9_:]* and
 * [a-zA-Z_][a-zA-Z0-9_]*. */
bool rt_prom_metric_name_ok(const char *s, size_t n);
bool rt_prom_label_name_ok(const char *s, size_t n);
/* A sample value as the format writes it (Go's ParseFloat: decimal or
 * exponent notation, NaN, +Inf, -Inf, Inf); the whole of s[0..n). */
int rt_prom_parse_value(const char *s, size_t n, double *out);

#endif
