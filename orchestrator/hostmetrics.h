/* hostmetrics.h: the orchestrator's side of rampd's metrics API (docs/API.md,
 * "Metrics of an app"): the watch a rollout's canary analysis sets on every
 * host, the parser of the samples a host answers (untrusted input: bounded,
 * strict on types and shapes; tests/fuzz/fuzz_host_reply.c), and the samples
 * of one analysis metric taken from them in the form orch_an_feed() takes. */
#ifndef RAMP_ORCH_HOSTMETRICS_H
#define RAMP_ORCH_HOSTMETRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "lib/json.h"
#include "orchestrator/analysis.h"

#define ORCH_METRICS_MAX_BODY (8u << 20)
#define ORCH_METRICS_MAX_VERSIONS 2
#define ORCH_METRICS_MAX_TIMES 100000
#define ORCH_METRICS_MAX_SERIES 1024
#define ORCH_METRICS_MAX_LABELS 64

struct orch_mseries {
	const char *name;
	const char **keys, **values; /* n_labels each */
	size_t n_labels;
	double *v; /* one per time: the value, NAN where the series was absent (null) */
	bool *absent;
};

struct orch_mversion {
	const char *digest;
	bool current;
	size_t n;
	int64_t *t_ms; /* n scrape times, strictly increasing */
	struct orch_mseries *s;
	size_t n_series;
	const char *untrusted; /* rampd saw the app lie: why, or NULL */
};

struct orch_metrics {
	struct json *j; /* the strings point into it */
	const char *boot_id;
	int64_t now_ms;
	const char *endpoint_error; /* or NULL */
	struct orch_mversion v[ORCH_METRICS_MAX_VERSIONS];
	size_t n;
};

/* The watch of an analysis: every series name its metrics read (a
 * histogram's base name). Caller frees; NULL when out of memory. */
char *orch_body_watch(const struct orch_an_config *c);

/* Parse rampd's answer to GET /v1/apps/APP/metrics (of that app). */
int orch_metrics_parse(const char *buf, size_t len, const char *app, struct orch_metrics *m, struct err *e);
void orch_metrics_free(struct orch_metrics *m);

/* The window of version `digest` (same = true), or of any other version,
 * the current one first (same = false); NULL when there is none. */
const struct orch_mversion *orch_metrics_version(const struct orch_metrics *m, const char *digest, bool same);

/* rampd's instance as a number for orch_an_series.instance (its bootId). */
uint64_t orch_metrics_instance(const struct orch_metrics *m);

/* The samples of metric `m` in window v taken after after_ms, summed over
 * the series its selectors match (a series absent from a scrape counts 0: a
 * counter is created at its first event). x points into *buf (caller frees,
 * also on error); x->n is 0 when nothing matched. */
int orch_metrics_series(const struct orch_mversion *v, const struct orch_an_metric *m, int64_t after_ms,
			struct orch_an_series *x, double **buf, struct err *e);

#endif
