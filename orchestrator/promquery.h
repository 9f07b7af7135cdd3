/* promquery.h: a Prometheus server as the canary analysis's metrics source
 * (`ramp rollout --metrics-source prometheus=URL`, docs/CANARY.md).
 *
 * Each metric of the analysis has a query template (the analysis file's
 * "query", per metric or for all; ORCH_PROM_DEFAULT_QUERY otherwise) that
 * names one host's series. The engine asks, per host and per series a metric
 * reads (a ratio's errors and total, a histogram's _bucket and _count), a
 * range query (/api/v1/query_range) over the time since it last asked, and
 * hands the answers to orch_metrics_series() as if rampd had sent them: the
 * same selectors, matched by the orchestrator, the same sums.
 *
 * Templates: PromQL with placeholders {{series}} (the series name the query
 * is for; outside quotes), {{name}}, {{address}} and {{label:KEY}} (the
 * host's name, the host part of its fleet address, a fleet label; inside
 * double quotes only). A host's value is escaped for a PromQL string (\\, \",
 * \n, \xHH for other control bytes) and, inside the value of a =~ or !~
 * matcher, its regular expression characters get a backslash first: a label
 * from the fleet file stays one string, matched literally.
 *
 * The answers are untrusted: at most ORCH_PROM_MAX_BODY bytes (the client's
 * limit), ORCH_PROM_MAX_SERIES series, the asked grid of times only, values
 * numbers in strings; anything else is an error (the host is left out). */
#ifndef RAMP_ORCH_PROMQUERY_H
#define RAMP_ORCH_PROMQUERY_H

#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "lib/json.h"
#include "orchestrator/fleet.h"
#include "orchestrator/hostmetrics.h"

#define ORCH_PROM_MAX_BODY (8u << 20)
#define ORCH_PROM_MAX_SERIES 1024
#define ORCH_PROM_MAX_POINTS 11000 /* Prometheus' own limit per series of a range query */
#define ORCH_PROM_MAX_TEMPLATE 1024
#define ORCH_PROM_MAX_QUERY 4096
#define ORCH_PROM_DEFAULT_QUERY "{{series}}{instance=\"{{address}}:8080\"}"

/* Is t a template (placeholders known and where they may be)? */
int orch_prom_template_check(const char *t, struct err *e);
/* The query of series `series` for host h; -1 (the host cannot be asked:
 * no such label, no network address) with e set. */
int orch_prom_render(const char *t, const char *series, const struct orch_host *h, char *buf, size_t cap,
		     struct err *e);
/* base "http://prom:9090" (a path prefix allowed) and a query over
 * [start_ms, end_ms] every step_ms; caller frees, NULL when out of memory. */
char *orch_prom_url(const char *base, const char *query, int64_t start_ms, int64_t end_ms, int64_t step_ms);

/* One answer: a matrix, its series named `series` whatever its labels say. */
struct orch_prom_answer {
	struct json *j;
	const char *series;
	size_t n;
	struct orch_prom_series {
		const char **keys, **values; /* the labels but __name__ */
		size_t n_labels;
		int64_t *t_ms;
		double *v;
		size_t n;
	} *s;
};

/* Parse the answer to orch_prom_url(..., start_ms, end_ms, step_ms): every
 * time on that grid, increasing per series. */
int orch_prom_parse(const char *buf, size_t len, const char *series, int64_t start_ms, int64_t end_ms, int64_t step_ms,
		    struct orch_prom_answer *a, struct err *e);
void orch_prom_answer_free(struct orch_prom_answer *a);
/* The answers of one metric as one window: the times any series has, each
 * series absent where it has no value. Points into the answers, which must
 * outlive it. */
int orch_prom_version(const struct orch_prom_answer *a, size_t n, struct orch_mversion *v, struct err *e);
void orch_prom_version_free(struct orch_mversion *v);
/* Per time of v (v->n flags): did the counters restart just before it? Yes
 * when any series is below its value at the time before it had one (as
 * Prometheus' rate() reads a fall; each series, not their sums: while both
 * versions answer at a switch, the new one can have fewer requests and more
 * errors than the old, and its sums need not fall). */
void orch_prom_resets(const struct orch_mversion *v, unsigned char *reset);

#endif
