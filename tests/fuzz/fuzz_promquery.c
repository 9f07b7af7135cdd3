/* fuzz_promquery.c: Prometheus as the canary analysis's metrics source
 * (orchestrator/promquery.h). The input is read three ways: as Prometheus'
 * answer to a range query (untrusted: the server, or whoever answers for
 * it), as a query template from an analysis file, and as a fleet label's
 * value put into a template. An accepted answer has at most the limits' series
 * and points, every time on the grid asked, increasing; the window made of it
 * has its times increasing and no restart at its first time, and the
 * default analysis's samples taken from it
 * have the width of their metric. A label's value, whatever its bytes, stays
 * inside the strings of the template (PromQL's lexer sees exactly the
 * template's strings). */
#include "orchestrator/analysis.h"
#include "orchestrator/promquery.h"
#include "tests/fuzz/fuzz.h"

#define T0 1700000000000LL

static void check_answer(const char *buf, size_t len, const struct orch_an_config *c)
{
	struct orch_prom_answer a[2];
	struct orch_mversion v;
	struct err e;
	if (orch_prom_parse(buf, len, "http_requests_total", T0, T0 + 10000, 1000, &a[0], &e) < 0)
		return;
	FUZZ_CHECK(a[0].n <= ORCH_PROM_MAX_SERIES, "%zu series", a[0].n);
	for (size_t i = 0; i < a[0].n; i++) {
		const struct orch_prom_series *s = &a[0].s[i];
		FUZZ_CHECK(s->n <= 11 && s->n_labels <= ORCH_METRICS_MAX_LABELS, "%zu points, %zu labels", s->n,
			   s->n_labels);
		for (size_t p = 0; p < s->n; p++)
			FUZZ_CHECK(s->t_ms[p] >= T0 && s->t_ms[p] <= T0 + 10000 && (s->t_ms[p] - T0) % 1000 == 0 &&
					   (!p || s->t_ms[p] > s->t_ms[p - 1]),
				   "time %lld", (long long)s->t_ms[p]);
		for (size_t l = 0; l < s->n_labels; l++)
			FUZZ_CHECK(strcmp(s->keys[l], "__name__"), "__name__ kept as a label");
	}
	if (orch_prom_parse(buf, len, "http_request_duration_seconds_bucket", T0, T0 + 10000, 1000, &a[1], &e) < 0)
		abort(); /* the same bytes, the same grid */
	if (orch_prom_version(a, 2, &v, &e) == 0) {
		FUZZ_CHECK(v.n <= 11, "%zu times", v.n);
		for (size_t i = 1; i < v.n; i++)
			FUZZ_CHECK(v.t_ms[i] > v.t_ms[i - 1], "times not increasing");
		unsigned char *reset = malloc(v.n + 1);
		if (!reset)
			abort();
		orch_prom_resets(&v, reset);
		FUZZ_CHECK(!v.n || !reset[0], "a restart at the first time");
		free(reset);
		for (size_t k = 0; k < c->n; k++) {
			struct orch_an_series x;
			double *b = NULL;
			if (orch_metrics_series(&v, &c->metrics[k], T0 + 2000, &x, &b, &e) == 0 && x.n) {
				FUZZ_CHECK(x.n <= v.n, "%zu samples of %zu times", x.n, v.n);
				FUZZ_CHECK(x.width == orch_an_width(&c->metrics[k], x.width - 1), "width %zu", x.width);
				FUZZ_CHECK(x.t[0] * 1000 > T0 + 2000, "a sample fed before");
			}
			free(b);
		}
		orch_prom_version_free(&v);
	}
	orch_prom_answer_free(&a[0]);
	orch_prom_answer_free(&a[1]);
}

/* The strings PromQL's lexer finds in q (double-quoted, with escapes). */
static size_t strings_of(const char *q)
{
	size_t n = 0;
	for (const char *p = q; *p; p++) {
		if (*p != '"')
			continue;
		n++;
		for (p++; *p && *p != '"'; p++)
			if (*p == '\\' && p[1])
				p++;
		FUZZ_CHECK(*p == '"', "a string of \"%s\" is not closed", q);
	}
	return n;
}

static void check_template(const char *s)
{
	struct orch_host h = {.name = "web-1", .hostpart = "10.0.0.1"};
	struct orch_label l = {"app", (char *)s};
	char q[ORCH_PROM_MAX_QUERY];
	struct err e;
	h.labels = &l;
	h.n_labels = 1;
	if (orch_prom_template_check(s, &e) == 0 && orch_prom_render(s, "up", &h, q, sizeof q, &e) == 0)
		FUZZ_CHECK(strstr(q, "up"), "{{series}} not in \"%s\"", q);
	if (strlen(s) > 256)
		return;
	static const char t[] = "{{series}}{a=\"{{label:app}}\", b=~\"x{{label:app}}\"}";
	if (orch_prom_render(t, "up", &h, q, sizeof q, &e) < 0)
		abort(); /* 256 bytes escaped fit */
	FUZZ_CHECK(strings_of(q) == 2, "the label's value \"%s\" changed the query: %s", s, q);
	FUZZ_CHECK(!strncmp(q, "up{a=\"", 6) && !strcmp(q + strlen(q) - 2, "\"}"), "query %s", q);
	for (const char *p = q; *p; p++)
		FUZZ_CHECK((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f, "byte 0x%02x in the query",
			   (unsigned char)*p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct orch_an_config c;
	struct err e;
	fuzz_quiet();
	if (!c.n && orch_an_config_default(&c, &e) < 0)
		abort();
	check_answer((const char *)data, size, &c);
	char *s = fuzz_str(data, size);
	check_template(s);
	free(s);
	return 0;
}
