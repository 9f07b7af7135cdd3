/* fuzz_analysis.c: analysis files (`--analysis FILE`, orchestrator/analysis.h).
 * What is accepted keeps the header's promises: 1 to ORCH_AN_MAX_METRICS
 * metrics with distinct valid names, selectors with a metric name and at most
 * ORCH_AN_MAX_MATCHERS matchers of the four operators, a total for ratios, no
 * _bucket or le for latency, tolerances finite, not negative, one above 0;
 * and the config then drives an analysis (a wave of one converted and one
 * baseline host fed two scrapes) that judges every metric and explains it. A refused file has a message naming it and leaves nothing. */
#include <ctype.h>
#include <math.h>

#include "orchestrator/analysis.h"
#include "tests/fuzz/fuzz.h"

static const double LE[3] = {0.1, 0.5, 1};

static void check_selector(const struct orch_an_selector *s)
{
	FUZZ_CHECK(s->name && (isalpha((unsigned char)s->name[0]) || s->name[0] == '_' || s->name[0] == ':'),
		   "selector name \"%s\"", s->name ? s->name : "(null)");
	FUZZ_CHECK(s->n <= ORCH_AN_MAX_MATCHERS, "%zu matchers", s->n);
	for (size_t i = 0; i < s->n; i++) {
		const char *op = s->m[i].op;
		FUZZ_CHECK(!strcmp(op, "=") || !strcmp(op, "!=") || !strcmp(op, "=~") || !strcmp(op, "!~"), "op %s",
			   op);
		FUZZ_CHECK(s->m[i].label && s->m[i].label[0] && s->m[i].value, "matcher without label or value");
	}
}

static void check(const struct orch_an_config *c)
{
	FUZZ_CHECK(c->n >= 1 && c->n <= ORCH_AN_MAX_METRICS, "%zu metrics", c->n);
	for (size_t i = 0; i < c->n; i++) {
		const struct orch_an_metric *m = &c->metrics[i];
		size_t n = strlen(m->name);
		FUZZ_CHECK(n >= 1 && n <= 63, "name length %zu", n);
		for (size_t k = 0; k < n; k++)
			FUZZ_CHECK(isalnum((unsigned char)m->name[k]) || strchr("_.-", m->name[k]), "name \"%s\"", m->name);
		for (size_t k = 0; k < i; k++)
			FUZZ_CHECK(strcmp(m->name, c->metrics[k].name), "two metrics named \"%s\"", m->name);
		check_selector(&m->series);
		if (m->kind == ORCH_AN_RATIO)
			check_selector(&m->total);
		if (m->kind == ORCH_AN_LATENCY) {
			FUZZ_CHECK(m->dir == ORCH_AN_HIGHER_WORSE, "latency where lower is worse");
			size_t sn = strlen(m->series.name);
			FUZZ_CHECK(sn <= 7 || strcmp(m->series.name + sn - 7, "_bucket"), "latency series %s",
				   m->series.name);
			for (size_t k = 0; k < m->series.n; k++)
				FUZZ_CHECK(strcmp(m->series.m[k].label, "le"), "latency selector with le");
		}
		FUZZ_CHECK(isfinite(m->tol_abs) && isfinite(m->tol_rel) && m->tol_abs >= 0 && m->tol_rel >= 0 &&
				   (m->tol_abs > 0 || m->tol_rel > 0),
			   "tolerances %g %g", m->tol_abs, m->tol_rel);
	}
}

/* one converted and one baseline host, two scrapes of a few requests */
static void drive(const struct orch_an_config *c)
{
	const char *names[2] = {"c1", "b1"};
	const enum orch_an_group groups[2] = {ORCH_AN_CONVERTED, ORCH_AN_BASELINE};
	struct err e;
	struct orch_an *a = orch_an_new(c, NULL, 2, names, groups, &e);
	FUZZ_CHECK(a, "an accepted config refused by orch_an_new: %s", e.msg);
	for (size_t h = 0; h < 2; h++)
		for (size_t i = 0; i < c->n; i++) {
			size_t w = orch_an_width(&c->metrics[i], 3);
			double t[2] = {0, 5}, v[2 * 4] = {0};
			for (size_t k = 0; k < w; k++)
				v[w + k] = 10; /* 10 requests, 10 errors, all fast; or a value of 10 */
			struct orch_an_series s = {.n = 2, .t = t, .v = v, .le = LE, .width = w};
			FUZZ_CHECK(orch_an_feed(a, h, i, &s, &e) == 0, "feed: %s", e.msg);
		}
	const struct orch_an_result *r = orch_an_judge(a, 5);
	FUZZ_CHECK(r->n == c->n && r->verdict <= ORCH_AN_FAIL, "%zu results, verdict %d", r->n, (int)r->verdict);
	for (size_t i = 0; i < r->n; i++) {
		char buf[512];
		orch_an_explain(&r->metrics[i], buf, sizeof buf);
		FUZZ_CHECK(buf[0], "nothing explained");
	}
	orch_an_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct orch_an_config c;
	struct err e;
	fuzz_quiet();
	if (orch_an_config_parse((const char *)data, size, "analysis.json", &c, &e) == 0) {
		check(&c);
		drive(&c);
		orch_an_config_free(&c);
	} else {
		FUZZ_CHECK(strstr(e.msg, "analysis.json"), "a message that does not name the file: %s", e.msg);
		FUZZ_CHECK(!c.metrics && !c.n, "a refused file left metrics");
	}
	return 0;
}
