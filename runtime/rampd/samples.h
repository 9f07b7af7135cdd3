/* samples.h: what rampd keeps of an app's own metrics for a rollout to judge
 * (docs/API.md, "Metrics of an app").
 *
 * A watch (PUT /v1/apps/NAME/metrics/watch) names the series wanted: a
 * metric name and exact label values; a histogram's or summary's base name
 * means all its buckets (or quantiles), _sum and _count. While a watch is
 * set, rampd scrapes the app (runtime/scrape.h) and keeps the matching
 * series in one window per version (image digest) of the app: the scrape
 * times and, per series, the value at each. A switch to another version
 * starts (or resumes) that version's window and keeps the one before, so a
 * rollout's last wave still has the host's own samples from before it
 * switched; at most RT_SAMPLES_WINDOWS windows, a window of a version that
 * no longer runs is dropped once it is as old as a full window.
 *
 * Counters (and histogram and summary buckets, sums and counts) are served
 * cumulative and monotonic: when one goes down, the app restarted (a new
 * container: the counter starts again from 0), and rampd adds what it had
 * reached before. A decrease while the same container runs, or a count that
 * is negative or not a number, is a lie: the value is kept monotonic as
 * after a restart, and the version is marked untrusted with the reason.
 * A scrape that fails or is garbage records nothing: it is counted, with
 * its error; values are never made up.
 *
 * Memory: per app, at most RT_SAMPLES_WINDOWS x (max_samples x 8 bytes of
 * times + max_series x (max_samples x 8 bytes + the series' names)); arrays
 * grow with the samples, they are not reserved up front. */
#ifndef RAMP_RT_SAMPLES_H
#define RAMP_RT_SAMPLES_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image/digest.h"
#include "image/oci.h"
#include "lib/err.h"
#include "lib/json.h"
#include "runtime/rampd/promtext.h"
#include "runtime/rampd/sockets.h"

#define RT_SAMPLES_WINDOWS 2       /* versions kept per app: the current one and the one before */
#define RT_WATCH_MATCHERS_MAX 16   /* label matchers of one selector */
#define RT_WATCH_NAME_MAX 256      /* bytes of a metric or label name in a selector */
#define RT_WATCH_VALUE_MAX 1024    /* bytes of a matcher's value */

/* One selector: a metric name and exact label values. */
struct rt_selector {
	char *name;
	struct img_kvs match;
};

struct rt_watch {
	struct rt_selector *sel;
	size_t n;
};

/* The body of PUT /v1/apps/NAME/metrics/watch: {"series": [{"name": N,
 * "labels": {K: V}}, ...]}, strict; at most max selectors. */
int rt_watch_parse(const char *body, size_t len, size_t max, struct rt_watch *w, struct err *e);
void rt_watch_free(struct rt_watch *w);
int rt_watch_copy(struct rt_watch *dst, const struct rt_watch *src, struct err *e);
/* The selectors as the body lists them: [{"name": N, "labels": {...}}, ...]. */
void rt_watch_json(const struct rt_watch *w, struct jgen *g);
/* Whether a sample is one of the watched series. */
bool rt_watch_match(const struct rt_watch *w, const struct rt_prom_sample *s);

/* ?since=: RFC 3339 ("2026-11-26T10:15:04Z", "2026-11-26T11:15:04.250+01:00")
 * or unix milliseconds; the result in unix ms. */
int rt_samples_parse_since(const char *s, int64_t *ms, struct err *e);

/* The watched samples of one scrape, collected while the page is parsed and
 * recorded only when the whole page was good. */
struct rt_batch;
struct rt_batch *rt_batch_new(size_t max_series);
/* Add a watched sample; a second sample of the same series in one page is
 * an error; beyond max_series, samples are counted, not kept. */
int rt_batch_add(struct rt_batch *b, const struct rt_prom_sample *s, struct err *e);
void rt_batch_free(struct rt_batch *b);

struct rt_window;

/* Where the app's metrics are, as the app's thread last started it. */
struct rt_scrape_target {
	bool running;           /* a container of the app was started (or adopted) */
	struct img_digest digest;
	uint64_t instance;      /* one more at every start of a container */
	bool held;              /* not scraped while a replaced container drains (scrape.h) */
	bool has_endpoint;      /* else `why` says why not */
	char port[16];          /* "8080/tcp" */
	char path[1025];
	struct rt_addr addr;    /* where to connect */
	char why[256];
};

/* An app's watch, target and windows; its own lock. */
struct rt_samples {
	pthread_mutex_t mu;
	struct rt_watch watch; /* n == 0: nothing watched, nothing scraped */
	uint64_t watch_gen;    /* changes at every change of the watch */
	struct rt_scrape_target target;
	struct rt_window *win[RT_SAMPLES_WINDOWS]; /* newest first */
	size_t n_win;
	/* the scraper's */
	int64_t next_due; /* monotonic ms */
	uint64_t busy;    /* the scrape in flight, 0: none */
};

struct rt_samples *rt_samples_new(void);
void rt_samples_free(struct rt_samples *m);

/* Replace the watch (n == 0: stop watching and forget every window);
 * windows keep the series the new watch still matches. Caller holds m->mu. */
void rt_samples_set_watch(struct rt_samples *m, struct rt_watch *w);

/* The outcome of one scrape, recorded under m->mu. */
struct rt_scrape_result {
	uint64_t gen, instance; /* the watch and the container it scraped */
	struct img_digest digest;
	int64_t time;           /* unix ms when it started */
	const char *error;      /* NULL: the page was good, and b holds its samples */
	struct rt_batch *b;
};
/* Record it (nothing when the watch or the container changed meanwhile).
 * span_ms: how long a window of a version that no longer runs is kept. */
void rt_samples_record(struct rt_samples *m, const struct rt_scrape_result *r, size_t max_series,
		       size_t max_samples, int64_t span_ms);

/* The versions, newest first, with their samples after `since` (unix ms):
 * the "versions" array of GET /v1/apps/NAME/metrics. Caller holds m->mu. */
void rt_samples_json(const struct rt_samples *m, int64_t since, struct jgen *g);

/* rampd's boot id (random, 32 hex digits): a client tells by it that rampd
 * restarted and kept nothing. */
const char *rt_boot_id(void);

#endif
