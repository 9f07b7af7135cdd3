/* test_analysis.c: canary analysis (orchestrator/analysis): the analysis
 * file and its hostile forms, then the statistics on known cases. The
 * expected numbers come from an independent implementation of the formulas
 * in docs/CANARY.md (bisection instead of Newton, the mixtures summed
 * directly), not from the module: e-values, confidence bounds, the exposure
 * at which a sparse counter may pass, the tolerance edges of the final wave,
 * the rank test of gauges. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orchestrator/analysis.h"
#include "tests/helpers/canarydata.h"

#define ALPHA_FAIL (0.01 / 6) /* the default */

static void parse_ok(const char *s, struct orch_an_config *c)
{
	struct err e;
	if (orch_an_config_parse(s, strlen(s), "analysis.json", c, &e) < 0)
		fail_msg("refused: %s", e.msg);
}

static void parse_bad(const char *s, const char *want)
{
	struct orch_an_config c;
	struct err e;
	if (orch_an_config_parse(s, strlen(s), "analysis.json", &c, &e) == 0) {
		orch_an_config_free(&c);
		fail_msg("accepted: %s", s);
	}
	if (!strstr(e.msg, want))
		fail_msg("message \"%s\" does not say \"%s\"", e.msg, want);
	assert_null(c.metrics);
}

static void test_file(void **state)
{
	(void)state;
	struct orch_an_config c;
	parse_ok("{\"metrics\": ["
		 "{\"name\": \"errors\", \"kind\": \"ratio\", \"errors\": \"http_requests_total{status=~\\\"5..\\\", "
		 "job != \\\"a\\\\\\\"b\\\"}\", \"total\": \"http_requests_total\", \"tolerance_rel\": 0.2},"
		 "{\"name\": \"lat\", \"kind\": \"latency\", \"series\": \"http_request_duration_seconds{handler=\\\"/\\\"}\"},"
		 "{\"name\": \"restarts\", \"kind\": \"events\", \"series\": \"ramp_restarts_total\", \"tolerance_abs\": 0.001},"
		 "{\"name\": \"orders\", \"kind\": \"rate\", \"series\": \"orders_total\", \"direction\": \"lower_is_worse\","
		 " \"tolerance_rel\": 0.1},"
		 "{\"name\": \"queue\", \"kind\": \"gauge\", \"series\": \"queue_depth\", \"tolerance_abs\": 5}]}",
		 &c);
	assert_int_equal(c.n, 5);
	const struct orch_an_metric *m = &c.metrics[0];
	assert_string_equal(m->name, "errors");
	assert_int_equal(m->kind, ORCH_AN_RATIO);
	assert_int_equal(m->dir, ORCH_AN_HIGHER_WORSE);
	assert_string_equal(m->series.name, "http_requests_total");
	assert_int_equal(m->series.n, 2);
	assert_string_equal(m->series.m[0].label, "status");
	assert_string_equal(m->series.m[0].op, "=~");
	assert_string_equal(m->series.m[0].value, "5..");
	assert_string_equal(m->series.m[1].op, "!=");
	assert_string_equal(m->series.m[1].value, "a\"b");
	assert_string_equal(m->total.name, "http_requests_total");
	assert_int_equal(m->total.n, 0);
	assert_true(m->tol_rel == 0.2 && m->tol_abs == 0); /* one given: the other is 0 */
	/* neither given: the kind's defaults */
	assert_true(c.metrics[1].tol_rel == 0.5 && c.metrics[1].tol_abs == 0.002);
	assert_int_equal(orch_an_width(&c.metrics[1], 11), 12);
	assert_int_equal(orch_an_width(&c.metrics[0], 0), 2);
	assert_int_equal(c.metrics[3].dir, ORCH_AN_LOWER_WORSE);
	assert_true(c.metrics[4].tol_abs == 5);
	orch_an_config_free(&c);

	struct err e;
	assert_int_equal(orch_an_config_default(&c, &e), 0);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.metrics[0].series.name, "http_requests_total");
	assert_string_equal(c.metrics[0].series.m[0].label, "code");
	assert_string_equal(c.metrics[1].series.name, "http_request_duration_seconds");
	assert_int_equal(c.metrics[1].kind, ORCH_AN_LATENCY);
	orch_an_config_free(&c);
}

/* matchers as Prometheus applies them: anchored, a missing label is "", and a
 * pattern that backtracks without end on a value gives up at PCRE2's limit */
static void test_matchers(void **state)
{
	(void)state;
	const char *f = "{\"metrics\": [{\"name\": \"e\", \"kind\": \"ratio\", \"total\": \"t\", \"errors\": "
			"\"x{code=~\\\"5..\\\", path!~\\\"/health|(a|aa)+(b|)\\\", job!=\\\"b\\\"}\"}]}";
	struct orch_an_config c;
	struct err e;
	assert_int_equal(orch_an_config_parse(f, strlen(f), "analysis.json", &c, &e), 0);
	const struct orch_an_selector *sel = &c.metrics[0].series;
	const char *keys[] = {"code", "path", "job"};
	const char *vals[] = {"503", "/", "a"};
	assert_true(orch_an_selector_match(sel, "x", keys, vals, 3));
	assert_false(orch_an_selector_match(sel, "y", keys, vals, 3));
	assert_true(orch_an_selector_match(sel, "x", keys, vals, 1)); /* path and job missing: "" */
	const char *anchored[] = {"5003", "x503", "50", "200"};
	for (size_t i = 0; i < 4; i++) {
		vals[0] = anchored[i];
		assert_false(orch_an_selector_match(sel, "x", keys, vals, 1));
	}
	vals[0] = "500";
	vals[1] = "/health";
	assert_false(orch_an_selector_match(sel, "x", keys, vals, 2));
	vals[1] = "aab";
	assert_false(orch_an_selector_match(sel, "x", keys, vals, 2));
	vals[2] = "b";
	vals[1] = "/";
	assert_false(orch_an_selector_match(sel, "x", keys, vals, 3));
	/* (a|aa)+(b|) on 4,000 a's and an X: exponential backtracking, cut at
	 * PCRE2's limits, so path!~ holds (the value is not taken as matching) */
	static char many[4002];
	memset(many, 'a', 4000);
	many[4000] = 'X';
	vals[1] = many;
	vals[2] = "a";
	assert_true(orch_an_selector_match(sel, "x", keys, vals, 3));
	orch_an_config_free(&c);
}

static void test_file_hostile(void **state)
{
	(void)state;
	const char *r = "{\"name\": \"e\", \"kind\": \"ratio\", \"total\": \"t\", ";
	char buf[4096];
	parse_bad("", "analysis.json");
	parse_bad("[]", "analysis.json: expected a JSON object");
	parse_bad("{\"metrics\": []}", "lists 0 metrics");
	parse_bad("{\"metrics\": [], \"x\": 1}", "unknown field \"x\"");
	parse_bad("{\"metrics\": [1]}", "metric #1: expected an object");
	parse_bad("{\"metrics\": [{\"kind\": \"ratio\"}]}", "metric #1: missing field \"name\"");
	parse_bad("{\"metrics\": [{\"name\": \"a b\", \"kind\": \"ratio\"}]}", "name \"a b\"");
	parse_bad("{\"metrics\": [{\"name\": \"e\", \"kind\": \"histo\"}]}", "metric #1 (\"e\"): field \"kind\": \"histo\"");
	snprintf(buf, sizeof buf, "{\"metrics\": [%s\"errors\": \"x{a=\\\"1\\\"\", \"series\": \"s\"}]}", r);
	parse_bad(buf, "unknown field \"series\"");
	snprintf(buf, sizeof buf, "{\"metrics\": [%s\"errors\": \"x{a=\\\"1\\\"\"}]}", r);
	parse_bad(buf, "metric #1 (\"e\"): field \"errors\": byte 8: expected ',' or '}'");
	snprintf(buf, sizeof buf, "{\"metrics\": [%s\"errors\": \"x{a=\\\"1\"}]}", r);
	parse_bad(buf, "metric #1 (\"e\"): field \"errors\": byte 7: the value's closing quote is missing");
	snprintf(buf, sizeof buf, "{\"metrics\": [%s\"errors\": \"x{a==\\\"1\\\"}\"}]}", r);
	parse_bad(buf, "field \"errors\": byte 4: expected '=', '!=', '=~' or '!~'");
	snprintf(buf, sizeof buf, "{\"metrics\": [%s\"errors\": \"x{a=~\\\"(\\\"}\"}]}", r);
	parse_bad(buf, "field \"errors\": byte 6: regular expression \"(\"");
	/* glibc's regcomp copied what a repetition applies to: 70 stacked '+' asked for
	 * more than 2 GB (make fuzz). PCRE2 refuses what it cannot build small, and
	 * back-references, which Prometheus' RE2 refuses too; each names the byte. */
	static const struct {
		const char *re, *want;
	} bad_rx[] = {
	    {"5..+++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++", "byte 6: quantifier does not follow"},
	    {"a)|(b", "byte 2: unmatched closing parenthesis"},
	    {"(5)\\\\\\\\1", "back-references are not supported"},
	    {"(?<n>5)\\\\\\\\k<n>", "back-references are not supported"},
	    {"((x{1,3000}){1,3000}){1,3000}", "too large"},
	    {"\\\\\\\\C", "using \\C is disabled"},
	};
	for (size_t i = 0; i < sizeof bad_rx / sizeof *bad_rx; i++) {
		snprintf(buf, sizeof buf, "{\"metrics\": [%s\"errors\": \"x{a=~\\\"%s\\\"}\"}]}", r, bad_rx[i].re);
		parse_bad(buf, bad_rx[i].want);
	}
	static const char *const fine_rx[] = {"5..", "2..|3..", "GET|POST|PUT", "/api/.*", "[[:alpha:]]+", "[a-z]{3,12}",
					      "x{4000}", "(a|b|c){1,64}", "((a+)+)+", "a\\\\\\\\+", "\\\\\\\\d+", "(?i)get",
					      "(((((((((((((((((a*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*"};
	for (size_t i = 0; i < sizeof fine_rx / sizeof *fine_rx; i++) {
		struct orch_an_config c = {0};
		struct err e = {0};
		snprintf(buf, sizeof buf, "{\"metrics\": [%s\"errors\": \"x{a=~\\\"%s\\\"}\"}]}", r, fine_rx[i]);
		if (orch_an_config_parse(buf, strlen(buf), "analysis.json", &c, &e) < 0)
			fail_msg("%s: %s", fine_rx[i], e.msg);
		orch_an_config_free(&c);
	}
	snprintf(buf, sizeof buf, "{\"metrics\": [%s\"errors\": \"x{a=\\\"\\\\q\\\"}\"}]}", r);
	parse_bad(buf, "byte 6: unknown escape");
	snprintf(buf, sizeof buf, "{\"metrics\": [%s\"errors\": \"x{a=\\\"1\\\"} y\"}]}", r);
	parse_bad(buf, "byte 10: unexpected 'y' after the selector");
	snprintf(buf, sizeof buf, "{\"metrics\": [%s\"errors\": \"9x\"}]}", r);
	parse_bad(buf, "byte 1: expected a metric name");
	snprintf(buf, sizeof buf, "{\"metrics\": [%s\"errors\": \"x{__name__=\\\"y\\\"}\"}]}", r);
	parse_bad(buf, "not as __name__");
	snprintf(buf, sizeof buf, "{\"metrics\": [%s\"errors\": \"x{a=\\\"\x01\\\"}\"}]}", r);
	parse_bad(buf, "analysis.json"); /* a control byte: refused by the JSON parser or the selector's */
	snprintf(buf, sizeof buf, "{\"metrics\": [%s\"errors\": \"x{a=\\\"1\\\",b=\\\"1\\\",c=\\\"1\\\",d=\\\"1\\\","
				  "e=\\\"1\\\",f=\\\"1\\\",g=\\\"1\\\",h=\\\"1\\\",i=\\\"1\\\"}\"}]}",
		 r);
	parse_bad(buf, "more than 8 label matchers");
	parse_bad("{\"metrics\": [{\"name\": \"l\", \"kind\": \"latency\", \"series\": \"h_bucket\"}]}",
		  "without _bucket (\"h\")");
	parse_bad("{\"metrics\": [{\"name\": \"l\", \"kind\": \"latency\", \"series\": \"h{le=\\\"1\\\"}\"}]}",
		  "le is the bucket label");
	parse_bad("{\"metrics\": [{\"name\": \"l\", \"kind\": \"latency\", \"series\": \"h\", \"direction\": "
		  "\"lower_is_worse\"}]}",
		  "is not higher_is_worse (latency)");
	parse_bad("{\"metrics\": [{\"name\": \"g\", \"kind\": \"gauge\", \"series\": \"q\", \"direction\": \"up\"}]}",
		  "field \"direction\": \"up\"");
	parse_bad("{\"metrics\": [{\"name\": \"g\", \"kind\": \"gauge\", \"series\": \"q\"}]}",
		  "a gauge metric needs tolerance_abs or tolerance_rel");
	parse_bad("{\"metrics\": [{\"name\": \"g\", \"kind\": \"gauge\", \"series\": \"q\", \"tolerance_abs\": 0}]}",
		  "both 0");
	parse_bad("{\"metrics\": [{\"name\": \"g\", \"kind\": \"gauge\", \"series\": \"q\", \"tolerance_abs\": -1}]}",
		  "field \"tolerance_abs\": expected a number >= 0");
	parse_bad("{\"metrics\": [{\"name\": \"g\", \"kind\": \"gauge\", \"series\": \"q\", \"tolerance_abs\": \"1\"}]}",
		  "field \"tolerance_abs\": expected");
	parse_bad("{\"metrics\": [{\"name\": \"g\", \"kind\": \"rate\", \"series\": \"q\", \"direction\": "
		  "\"lower_is_worse\", \"tolerance_rel\": 1}]}",
		  "below 1 when lower is worse");
	parse_bad("{\"metrics\": [{\"name\": \"l\", \"kind\": \"latency\", \"series\": \"h\", \"tolerance_abs\": 1.5}]}",
		  "a share, below 1");
	parse_bad("{\"metrics\": [{\"name\": \"g\", \"kind\": \"gauge\", \"series\": \"q\", \"tolerance_rel\": 1e9}]}",
		  "judges nothing");
	parse_bad("{\"metrics\": [{\"name\": \"g\", \"kind\": \"gauge\", \"series\": \"q\", \"tolerance_abs\": 1},"
		  "{\"name\": \"g\", \"kind\": \"gauge\", \"series\": \"r\", \"tolerance_abs\": 1}]}",
		  "metrics #1 and #2 are both named \"g\"");
	parse_bad("{\"metrics\": [{\"name\": \"g\", \"name\": \"h\"}]}", "analysis.json"); /* duplicate key */
	parse_bad("{\"metrics\": [{\"name\": \"g\", \"kind\": \"gauge\", \"series\": \"q\", \"tolerance_abs\": 1}]} x",
		  "analysis.json");
	/* 17 metrics */
	size_t l = (size_t)snprintf(buf, sizeof buf, "{\"metrics\": [");
	for (int i = 0; i < 17; i++)
		l += (size_t)snprintf(buf + l, sizeof buf - l, "%s{\"name\": \"g%d\", \"kind\": \"gauge\", \"series\": \"q\","
							       " \"tolerance_abs\": 1}",
				      i ? "," : "", i);
	snprintf(buf + l, sizeof buf - l, "]}");
	parse_bad(buf, "lists 17 metrics (1 to 16)");
	/* a selector over the size limit */
	char *big = malloc(ORCH_AN_MAX_SELECTOR + 200);
	l = (size_t)snprintf(big, 100, "{\"metrics\": [%s\"errors\": \"", r);
	memset(big + l, 'x', ORCH_AN_MAX_SELECTOR + 1);
	strcpy(big + l + ORCH_AN_MAX_SELECTOR + 1, "\"}]}");
	parse_bad(big, "longer than 1024 bytes");
	free(big);
	/* the second metric's mistake is named by its place and its name */
	parse_bad("{\"metrics\": [{\"name\": \"g\", \"kind\": \"gauge\", \"series\": \"q\", \"tolerance_abs\": 1},"
		  "{\"name\": \"lat\", \"kind\": \"latency\", \"series\": \"h{le=~\\\"1\\\"}\"}]}",
		  "analysis.json: metric #2 (\"lat\"): field \"series\": le is the bucket label");
	/* numbers beyond a double, a NUL inside, a file over the size limit */
	parse_bad("{\"metrics\": [{\"name\": \"g\", \"kind\": \"gauge\", \"series\": \"q\", \"tolerance_abs\": 1e999}]}",
		  "analysis.json");
	struct orch_an_config c;
	struct err e;
	static const char nul[] = "{\"metrics\": [{\"name\": \"g\0\", \"kind\": \"gauge\"}]}";
	assert_int_equal(orch_an_config_parse(nul, sizeof nul - 1, "analysis.json", &c, &e), -1);
	assert_non_null(strstr(e.msg, "analysis.json"));
	size_t huge = ORCH_AN_MAX_FILE + 1;
	char *h = malloc(huge);
	memset(h, ' ', huge);
	assert_int_equal(orch_an_config_parse(h, huge, "analysis.json", &c, &e), -1);
	assert_non_null(strstr(e.msg, "analysis.json: larger than 262144 bytes"));
	free(h);
}

/* ---- a wave ---- */

static struct orch_an_config cfg;

static void config(const char *metrics)
{
	char buf[2048];
	snprintf(buf, sizeof buf, "{\"metrics\": [%s]}", metrics);
	parse_ok(buf, &cfg);
}

#define RATIO(tabs, trel)                                                                                            \
	"{\"name\": \"errors\", \"kind\": \"ratio\", \"errors\": \"e\", \"total\": \"t\", \"tolerance_abs\": " #tabs   \
	", \"tolerance_rel\": " #trel "}"

/* conv converted hosts c1.., then base baseline hosts b1.. */
static struct orch_an *wave(size_t conv, size_t base, const struct orch_an_opts *o)
{
	const char *names[64];
	enum orch_an_group g[64];
	static char nm[64][8];
	struct err e;
	for (size_t i = 0; i < conv + base; i++) {
		snprintf(nm[i], sizeof nm[i], "%c%zu", i < conv ? 'c' : 'b', i < conv ? i + 1 : i - conv + 1);
		names[i] = nm[i];
		g[i] = i < conv ? ORCH_AN_CONVERTED : ORCH_AN_BASELINE;
	}
	struct orch_an *a = orch_an_new(&cfg, o, conv + base, names, g, &e);
	if (!a)
		fail_msg("orch_an_new: %s", e.msg);
	return a;
}

static void feed(struct orch_an *a, size_t host, size_t metric, double t, const double *v, size_t width)
{
	struct err e;
	struct orch_an_series s = {.n = 1, .t = &t, .v = v, .width = width};
	if (orch_an_feed(a, host, metric, &s, &e) < 0)
		fail_msg("feed: %s", e.msg);
}

static void ratio(struct orch_an *a, size_t host, double t, double errors, double total)
{
	double v[2] = {errors, total};
	feed(a, host, 0, t, v, 2);
}

static void close_to(double got, double want, const char *what)
{
	if (!(fabs(got - want) <= 1e-6 * fabs(want)))
		fail_msg("%s: %.10g, expected %.10g", what, got, want);
}

/* 1 converted host with 1.5% errors against 9 baseline hosts at 0.5%: one
 * interval, w = 0.1, n = 600, x = 150 */
static void test_worse(void **state)
{
	(void)state;
	config(RATIO(0.001, 0.5));
	struct orch_an *a = wave(1, 9, NULL);
	for (size_t h = 0; h < 10; h++)
		ratio(a, h, 100, 0, 0);
	const struct orch_an_result *r = orch_an_judge(a, 0);
	assert_int_equal(r->verdict, ORCH_AN_CONTINUE);
	assert_string_equal(r->metrics[0].reason, "no_converted"); /* one sample each: no increase yet */
	for (size_t h = 0; h < 10; h++)
		ratio(a, h, 101, 0, 0);
	r = orch_an_judge(a, 1);
	assert_string_equal(r->metrics[0].reason, "too_little_traffic");
	ratio(a, 0, 105, 150, 10000);
	for (size_t h = 1; h < 10; h++)
		ratio(a, h, 105, 50, 10000);
	r = orch_an_judge(a, 5);
	const struct orch_an_metric_result *m = &r->metrics[0];
	const struct orch_an_test *t = &m->tests[0];
	assert_int_equal(r->verdict, ORCH_AN_FAIL);
	assert_string_equal(m->reason, "worse");
	assert_int_equal(m->conv_hosts, 1);
	assert_int_equal(m->base_hosts, 9);
	close_to(t->conv, 0.015, "conv");
	close_to(t->base, 0.005, "base");
	close_to(t->allowed, 0.0075, "allowed");
	close_to(t->ev_fail, 386196936, "E_fail");
	close_to(t->ev_fail_min, 1 / ALPHA_FAIL, "1/alpha");
	close_to(t->ev_pass, 0.0001125249751, "E_pass");
	close_to(t->ev_pass_min, 40, "2/alpha_pass");
	close_to(t->conv_lo, 0.010218496, "conv_lo");
	close_to(t->conv_hi, 0.02006439582, "conv_hi");
	close_to(t->base_lo, 0.004139805855, "base_lo");
	close_to(t->base_hi, 0.006144216778, "base_hi");
	close_to(t->conv_events, 150, "events");
	close_to(t->base_exposure, 90000, "exposure");
	char line[1024];
	orch_an_explain(m, line, sizeof line);
	if (!strstr(line, "errors: 1.5% vs 0.5% baseline (allowed 0.75%): worse; evidence worse 3.86e+08 (needs 600)") ||
	    !strstr(line, "converted 150 in 10000 requests [1.02%, 2.01%] on 1 hosts"))
		fail_msg("explained as: %s", line);
	/* the same data with a tolerance of 200%: the ratio path cannot say worse */
	orch_an_free(a);
	orch_an_config_free(&cfg);
	config(RATIO(0.001, 2));
	a = wave(1, 9, NULL);
	for (size_t h = 0; h < 10; h++)
		ratio(a, h, 100, 0, 0);
	ratio(a, 0, 105, 150, 10000);
	for (size_t h = 1; h < 10; h++)
		ratio(a, h, 105, 50, 10000);
	assert_int_equal(orch_an_judge(a, 5)->verdict, ORCH_AN_CONTINUE);
	orch_an_free(a);
	orch_an_config_free(&cfg);
}

/* as good as the baseline: one interval is not enough evidence (E_pass
 * 35.5 < 40), the second is (2139) */
static void test_no_worse(void **state)
{
	(void)state;
	config(RATIO(0.001, 0.5));
	struct orch_an *a = wave(1, 9, NULL);
	for (int k = 0; k < 3; k++) {
		ratio(a, 0, 100 + k * 5, 50 * k, 10000 * k);
		for (size_t h = 1; h < 10; h++)
			ratio(a, h, 100 + k * 5, 50 * k, 10000 * k);
		const struct orch_an_result *r = orch_an_judge(a, k * 5);
		const struct orch_an_test *t = &r->metrics[0].tests[0];
		if (k == 1) {
			assert_int_equal(r->verdict, ORCH_AN_CONTINUE);
			assert_string_equal(r->metrics[0].reason, "collecting");
			close_to(t->ev_pass, 35.4626129, "E_pass");
			close_to(t->ev_fail, 0.008133897079, "E_fail");
		} else if (k == 2) {
			assert_int_equal(r->verdict, ORCH_AN_PASS);
			assert_string_equal(r->metrics[0].reason, "no_worse");
			close_to(t->ev_pass, 2138.735705, "E_pass");
			close_to(t->ev_fail, 0.0007939233314, "E_fail");
			close_to(t->conv_hi, 0.00708120729, "conv_hi");
			close_to(t->base_lo, 0.004367427997, "base_lo");
		}
	}
	orch_an_free(a);
	orch_an_config_free(&cfg);
}

/* Sparse counters are not evidence of health (kayenta#426): no errors at
 * all pass only once the converted exposure bounds the ratio under the
 * absolute tolerance: conv_hi = 6.380925699 / requests <= 0.001, so at
 * 6381 requests, not at 6300. A few errors where the baseline has none are
 * no pass either. */
static void test_sparse(void **state)
{
	(void)state;
	config(RATIO(0.001, 0.5));
	struct orch_an *a = wave(1, 3, NULL);
	const double steps[] = {0, 1000, 6300, 6390};
	const enum orch_an_verdict want[] = {ORCH_AN_CONTINUE, ORCH_AN_CONTINUE, ORCH_AN_CONTINUE, ORCH_AN_PASS};
	for (int k = 0; k < 4; k++) {
		for (size_t h = 0; h < 4; h++)
			ratio(a, h, 10 + k, 0, steps[k] * (h ? 10 : 1));
		const struct orch_an_result *r = orch_an_judge(a, k);
		if (r->verdict != want[k])
			fail_msg("%g requests: %s", steps[k], orch_an_verdict_name(r->verdict));
		if (k == 3)
			close_to(r->metrics[0].tests[0].conv_hi, 6.380925698871578 / 6390, "conv_hi");
	}
	orch_an_free(a);
	/* zero tolerance_abs: no events, no information, never a pass */
	orch_an_config_free(&cfg);
	config(RATIO(0, 0.5));
	a = wave(1, 3, NULL);
	for (int k = 0; k < 3; k++)
		for (size_t h = 0; h < 4; h++)
			ratio(a, h, 10 + k, 0, 1e6 * k);
	const struct orch_an_result *r = orch_an_judge(a, 2);
	assert_int_equal(r->verdict, ORCH_AN_CONTINUE);
	assert_string_equal(r->metrics[0].reason, "no_events");
	orch_an_free(a);
	orch_an_config_free(&cfg);
	/* kayenta#426's data as counts: errors 0,1,2,1,0,0 against none */
	config(RATIO(0.001, 0.5));
	a = wave(1, 1, NULL);
	const double errs[] = {0, 0, 1, 3, 4, 4, 4};
	for (int k = 0; k < 7; k++) {
		ratio(a, 0, 60.0 * k, errs[k], 1200.0 * k);
		ratio(a, 1, 60.0 * k, 0, 1200.0 * k);
		assert_int_not_equal(orch_an_judge(a, 60.0 * k)->verdict, ORCH_AN_PASS);
	}
	orch_an_free(a);
	orch_an_config_free(&cfg);
}

/* Time-varying traffic: errors jump to 20% on both versions while most
 * traffic goes to the converted host, then fall to 0.1% while it goes to
 * the baseline. The window averages (18.2% against 0.3%) look like a
 * disaster; interval by interval the ratio is 1, and the ratio path says so. */
static void test_time_varying(void **state)
{
	(void)state;
	config(RATIO(0.001, 0.5));
	struct orch_an *a = wave(1, 1, NULL);
	ratio(a, 0, 0, 0, 0);
	ratio(a, 1, 0, 0, 0);
	orch_an_judge(a, 0);
	ratio(a, 0, 5, 2000, 10000);
	ratio(a, 1, 5, 200, 1000);
	orch_an_judge(a, 5);
	ratio(a, 0, 10, 2001, 11000);
	ratio(a, 1, 10, 300, 101000);
	const struct orch_an_result *r = orch_an_judge(a, 10);
	const struct orch_an_test *t = &r->metrics[0].tests[0];
	close_to(t->ev_fail, 0.000115627484, "E_fail");
	close_to(t->ev_pass, 398424.2633, "E_pass");
	close_to(t->conv_lo, 0.1635136525, "conv_lo"); /* the difference path alone would say worse */
	close_to(t->base_hi, 0.003806981552, "base_hi");
	assert_int_equal(r->verdict, ORCH_AN_PASS);
	orch_an_free(a);
	orch_an_config_free(&cfg);
}

/* lower is worse: a counter of events per host-second falls from 0.111/s
 * to 0.01/s */
static void test_lower_is_worse(void **state)
{
	(void)state;
	config("{\"name\": \"orders\", \"kind\": \"events\", \"series\": \"orders_total\", \"direction\": "
	       "\"lower_is_worse\", \"tolerance_abs\": 0.01, \"tolerance_rel\": 0.5}");
	struct orch_an_opts o = {.max_gap = 1000};
	struct orch_an *a = wave(1, 9, &o);
	for (size_t h = 0; h < 10; h++) {
		double v0 = 0, v1 = h ? 1000.0 / 9 : 10;
		feed(a, h, 0, 0, &v0, 1);
		feed(a, h, 0, 1000, &v1, 1);
	}
	const struct orch_an_result *r = orch_an_judge(a, 1000);
	const struct orch_an_test *t = &r->metrics[0].tests[0];
	close_to(t->ev_fail, 1.308913508e+11, "E_fail");
	close_to(t->ev_pass, 0.0009230704712, "E_pass");
	close_to(t->conv_hi, 0.02962601061, "conv_hi");
	close_to(t->base_lo, 0.09568292142, "base_lo");
	close_to(t->allowed, 1.0 / 9 * 0.5, "allowed");
	assert_int_equal(r->verdict, ORCH_AN_FAIL);
	orch_an_free(a);
	orch_an_config_free(&cfg);
}

/* ---- latency ---- */

static const double LE[4] = {0.1, 0.5, 1, 5};

/* host h's histogram: per[b] requests so far in each bucket (the last above 5 s) */
static void feed_hist(struct orch_an *a, size_t h, double t, const double *per)
{
	double v[5], run = 0;
	struct err e;
	for (int b = 0; b < 5; b++)
		v[b] = run += per[b];
	struct orch_an_series s = {.n = 1, .t = &t, .v = v, .le = LE, .width = 5};
	if (orch_an_feed(a, h, 0, &s, &e) < 0)
		fail_msg("feed: %s", e.msg);
}

/* A variance jump must not pass (kayenta#780: 7 of 10 points at 100x
 * passed): the converted host answers most requests as fast as the
 * baseline, but in 7 of 10 intervals 3% of them take over 5 s. */
static void test_variance_jump(void **state)
{
	(void)state;
	config("{\"name\": \"latency\", \"kind\": \"latency\", \"series\": \"h\"}");
	struct orch_an *a = wave(1, 4, NULL);
	double per[5][5] = {{0}};
	const double fast[5] = {950, 50, 0, 0, 0}, jump[5] = {920, 50, 0, 0, 30};
	const struct orch_an_result *r = NULL;
	for (size_t h = 0; h < 5; h++)
		feed_hist(a, h, 0, per[h]);
	for (int k = 1; k <= 10; k++) {
		for (size_t h = 0; h < 5; h++) {
			for (int b = 0; b < 5; b++)
				per[h][b] += (h == 0 && k <= 7 ? jump : fast)[b];
			feed_hist(a, h, 5.0 * k, per[h]);
		}
		r = orch_an_judge(a, 5.0 * k);
		assert_int_not_equal(r->verdict, ORCH_AN_PASS);
		if (r->verdict == ORCH_AN_FAIL)
			break;
	}
	assert_int_equal(r->verdict, ORCH_AN_FAIL);
	const struct orch_an_metric_result *m = &r->metrics[0];
	assert_int_equal(m->n_tests, 4);
	/* the bound shown fails, where the slow tail shows */
	assert_int_equal(m->tests[m->shown].verdict, ORCH_AN_FAIL);
	close_to(m->tests[m->shown].le, 0.5, "le");
	close_to(m->tests[m->shown].conv, 0.03, "share slower than 0.5 s");
	close_to(m->conv_p99, 5, "p99 (in +Inf: the highest bound)");
	close_to(m->base_p99, 0.42, "p99");
	char line[1024];
	orch_an_explain(m, line, sizeof line);
	if (!strstr(line, "latency (share slower than 0.5s): 3% vs 0% baseline (allowed 0.2%); p99 5s vs 0.42s: worse"))
		fail_msg("explained as: %s", line);
	orch_an_free(a);
	orch_an_config_free(&cfg);
}

/* ---- bad data ---- */

static void test_bad_hosts(void **state)
{
	(void)state;
	config(RATIO(0.001, 0.5) ",{\"name\": \"latency\", \"kind\": \"latency\", \"series\": \"h\"}");
	struct orch_an_opts o = {.max_gap = 30};
	struct orch_an *a = wave(3, 6, &o);
	struct err e;
	for (size_t h = 0; h < 9; h++)
		ratio(a, h, 0, 0, 0);
	/* c1 fine; c2 a reset marked (no exclusion); c3 backwards unmarked */
	ratio(a, 0, 5, 1, 100);
	ratio(a, 1, 5, 1, 100);
	double t2[2] = {10, 15}, v2[4] = {2, 200, 0, 50};
	unsigned char rs[2] = {0, 1};
	struct orch_an_series s = {.n = 2, .t = t2, .v = v2, .reset = rs, .width = 2};
	assert_int_equal(orch_an_feed(a, 1, 0, &s, &e), 0);
	ratio(a, 2, 5, 5, 100);
	ratio(a, 2, 10, 4, 200);
	/* b1 NaN, b2 more errors than requests, b3 a gap, b4 a new rampd, b5 via the caller, b6 absurd */
	double nanv[2] = {NAN, 10};
	feed(a, 3, 0, 5, nanv, 2);
	ratio(a, 4, 5, 20, 10);
	ratio(a, 5, 45, 1, 100);
	double one[2] = {0, 1};
	struct orch_an_series i1 = {.instance = 7, .n = 1, .t = (double[]){5}, .v = one, .width = 2};
	struct orch_an_series i2 = {.instance = 8, .n = 1, .t = (double[]){10}, .v = one, .width = 2};
	assert_int_equal(orch_an_feed(a, 6, 0, &i1, &e), 0);
	assert_int_equal(orch_an_feed(a, 6, 0, &i2, &e), 0);
	orch_an_exclude(a, 7, "metrics endpoint answers 500");
	ratio(a, 8, 5, 0, 1e9);
	/* histograms: c1 valid sets the buckets; c2 other buckets; c3 excluded already */
	double z[5] = {0}, ok[5] = {1, 2, 3, 4, 5}, disorder[5] = {3, 2, 3, 4, 5};
	struct orch_an_series h1 = {.n = 1, .t = (double[]){5}, .v = ok, .le = LE, .width = 5};
	assert_int_equal(orch_an_feed(a, 0, 1, &h1, &e), 0);
	struct orch_an_series h2 = {.n = 1, .t = (double[]){5}, .v = z, .le = (double[]){0.1, 0.5, 1, 10}, .width = 5};
	assert_int_equal(orch_an_feed(a, 1, 1, &h2, &e), 0);
	/* a width that does not fit the kind is the caller's mistake, not the host's */
	struct orch_an_series w3 = {.n = 1, .t = (double[]){5}, .v = ok, .width = 3};
	assert_int_equal(orch_an_feed(a, 0, 0, &w3, &e), -1);
	assert_int_equal(orch_an_feed(a, 99, 0, &w3, &e), -1);
	(void)disorder;
	const struct orch_an_result *r = orch_an_judge(a, 15);
	static const char *const want[][2] = {
		{"c3", "errors: counter went backwards (5 to 4) without a reset"},
		{"b1", "errors: value nan"},
		{"b2", "errors: more errors (+20) than requests (+10)"},
		{"b3", "errors: no sample for 45 s"},
		{"b4", "rampd restarted mid-wave (instance 7, then 8)"},
		{"b5", "metrics endpoint answers 500"},
		{"b6", "errors: 1e+09 in 5.0 s is beyond belief"},
		{"c2", "latency: its histogram's buckets differ from the other hosts' (le=10 where they have 5)"},
	};
	assert_int_equal(r->n_excluded, 8);
	for (size_t i = 0; i < 8; i++) {
		assert_string_equal(r->excluded[i].host, want[i][0]);
		assert_string_equal(r->excluded[i].why, want[i][1]);
	}
	/* c1 is the only converted host left; every baseline host is out */
	assert_int_equal(r->metrics[0].conv_hosts, 1);
	assert_int_equal(r->metrics[0].base_hosts, 0);
	assert_string_equal(r->metrics[0].reason, "no_baseline");
	assert_int_equal(r->verdict, ORCH_AN_CONTINUE);
	/* an excluded host's later data is ignored, however good */
	ratio(a, 2, 20, 4, 100000);
	r = orch_an_judge(a, 20);
	assert_int_equal(r->metrics[0].conv_hosts, 1);
	orch_an_free(a);

	/* buckets out of order, and a bucket growing less than a lower one */
	orch_an_config_free(&cfg);
	config("{\"name\": \"latency\", \"kind\": \"latency\", \"series\": \"h\"}");
	a = wave(1, 2, NULL);
	struct orch_an_series d1 = {.n = 1, .t = (double[]){5}, .v = disorder, .le = LE, .width = 5};
	assert_int_equal(orch_an_feed(a, 1, 0, &d1, &e), 0);
	double g0[5] = {1, 1, 1, 1, 2}, g1[5] = {1, 2, 2, 2, 2};
	struct orch_an_series c1 = {.n = 1, .t = (double[]){5}, .v = ok, .le = LE, .width = 5};
	assert_int_equal(orch_an_feed(a, 0, 0, &c1, &e), 0);
	struct orch_an_series e0 = {.n = 1, .t = (double[]){5}, .v = g0, .le = LE, .width = 5};
	struct orch_an_series e1 = {.n = 1, .t = (double[]){10}, .v = g1, .le = LE, .width = 5};
	assert_int_equal(orch_an_feed(a, 2, 0, &e0, &e), 0);
	assert_int_equal(orch_an_feed(a, 2, 0, &e1, &e), 0);
	r = orch_an_judge(a, 10);
	assert_int_equal(r->n_excluded, 2);
	assert_string_equal(r->excluded[0].host, "b1");
	assert_string_equal(r->excluded[0].why, "latency: bucket le=0.5 holds fewer requests than a lower one");
	assert_string_equal(r->excluded[1].host, "b2");
	assert_string_equal(r->excluded[1].why, "latency: bucket le=+Inf grew less than a lower one");
	orch_an_free(a);
	orch_an_config_free(&cfg);
}

/* ---- the final wave: a historical baseline, the groups' bounds only ---- */

/* baseline: 100 errors in 100,000 requests; converted: 100 errors in N.
 * PASS iff conv_hi = 139.1984668 / N <= 1.5 * b_lo = 1.5 * 68.89295615e-5,
 * i.e. N >= 134,700.2; FAIL iff conv_lo = 62.32163680 / N > 1.5 * b_hi =
 * 1.5 * 150.2892548e-5, i.e. N < 27,645.2 */
static enum orch_an_verdict final_wave(double n)
{
	struct orch_an_opts o = {.historical = true, .max_gap = 1000};
	struct orch_an *a = wave(1, 1, &o);
	ratio(a, 1, 0, 0, 0);
	ratio(a, 1, 600, 100, 100000); /* the host's own window on the old version */
	ratio(a, 0, 1000, 0, 0);
	ratio(a, 0, 1010, 100, n);
	const struct orch_an_result *r = orch_an_judge(a, 10);
	enum orch_an_verdict v = r->verdict;
	assert_true(r->metrics[0].tests[0].ev_fail_min == 0); /* no e-values: no concurrent intervals */
	orch_an_free(a);
	return v;
}

static void test_final_wave(void **state)
{
	(void)state;
	config(RATIO(0.0001, 0.5));
	assert_int_equal(final_wave(134000), ORCH_AN_CONTINUE);
	assert_int_equal(final_wave(135500), ORCH_AN_PASS);
	assert_int_equal(final_wave(28500), ORCH_AN_CONTINUE);
	assert_int_equal(final_wave(27000), ORCH_AN_FAIL);
	orch_an_config_free(&cfg);
}

/* ---- gauges: hosts ranked, at looks ---- */

static void test_gauge(void **state)
{
	(void)state;
	config("{\"name\": \"queue\", \"kind\": \"gauge\", \"series\": \"q\", \"tolerance_abs\": 1}");
	/* 3 converted hosts at 20 and 21 and 19, 61 baseline hosts between 10 and 16 */
	struct orch_an_opts o = {.alpha_fail = 0.01, .look_first = 30};
	struct orch_an *a = wave(3, 61, &o);
	for (size_t h = 0; h < 64; h++)
		for (int k = 0; k <= 6; k++) {
			double v = h < 3 ? 19 + (double)((h + 1) % 3) : 10 + (double)(h % 7);
			feed(a, h, 0, 5.0 * k, &v, 1);
		}
	const struct orch_an_result *r = orch_an_judge(a, 20);
	assert_string_equal(r->metrics[0].reason, "waiting_look");
	r = orch_an_judge(a, 30);
	const struct orch_an_test *t = &r->metrics[0].tests[0];
	/* the converted median (2nd highest) and above it 2 of the 64 values:
	 * p = C(3,2) / C(64,2) = 0.001488; look 1 spends 0.01 / 2 */
	close_to(t->ev_fail, 1 / 0.001488095238095238, "1/p");
	close_to(t->ev_fail_min, 1 / 0.005, "1/alpha of look 1");
	close_to(t->conv, 20, "median");
	close_to(t->base, 13, "median");
	close_to(t->allowed, 14, "allowed");
	assert_int_equal(r->verdict, ORCH_AN_FAIL);
	orch_an_free(a);

	/* one converted host cannot be judged worse (p >= 1/64), however high */
	a = wave(1, 63, &o);
	for (size_t h = 0; h < 64; h++)
		for (int k = 0; k <= 6; k++) {
			double v = h ? 10 : 1000;
			feed(a, h, 0, 5.0 * k, &v, 1);
		}
	r = orch_an_judge(a, 30);
	assert_int_equal(r->verdict, ORCH_AN_CONTINUE);
	close_to(r->metrics[0].tests[0].ev_fail, 64, "1/p");
	orch_an_free(a);
	orch_an_config_free(&cfg);
}

/* any FAIL fails the wave, all PASS pass it; a pass is kept */
static void test_overall(void **state)
{
	(void)state;
	config(RATIO(0.001, 0.5) ",{\"name\": \"queue\", \"kind\": \"gauge\", \"series\": \"q\", \"tolerance_abs\": 1}");
	struct orch_an_opts o = {.alpha_fail = 0.01, .look_first = 30};
	struct orch_an *a = wave(3, 61, &o);
	for (int k = 0; k <= 6; k++)
		for (size_t h = 0; h < 64; h++) {
			ratio(a, h, 5.0 * k, 0, 3000.0 * k);
			double v = h < 3 ? 1 : 10 + (double)(h % 7);
			feed(a, h, 1, 5.0 * k, &v, 1);
		}
	const struct orch_an_result *r = orch_an_judge(a, 30);
	assert_int_equal(r->metrics[0].verdict, ORCH_AN_PASS); /* 18,000 requests a host, no errors */
	assert_int_equal(r->metrics[1].verdict, ORCH_AN_PASS); /* all three at the bottom */
	assert_int_equal(r->verdict, ORCH_AN_PASS);
	/* then errors pour in: the metric fails, and so does the wave */
	for (size_t h = 0; h < 64; h++)
		ratio(a, h, 35, h < 3 ? 2000 : 0, 3000.0 * 7);
	r = orch_an_judge(a, 35);
	assert_int_equal(r->metrics[0].verdict, ORCH_AN_FAIL);
	assert_int_equal(r->metrics[1].verdict, ORCH_AN_PASS);
	assert_int_equal(r->verdict, ORCH_AN_FAIL);
	orch_an_free(a);
	orch_an_config_free(&cfg);
}

/* The A/A check, short (the benchmark tests/bench/canary.sh runs it long):
 * equal old and new versions on the simulation's traffic (hosts that differ,
 * load that moves; tests/helpers/canarydata.h), 4 converted hosts against 60,
 * the default set judged at every scrape for 20 minutes. With alpha_fail 0.05
 * at most 5% of these good waves may fail; 100 waves, fixed seed: more than
 * 13 (the 99.9% quantile of Binomial(100, 0.05)) means the test inflates its
 * false alarms, as a fixed-horizon test checked at every poll does. */
static void test_aa_false_alarms(void **state)
{
	(void)state;
	enum { RUNS = 100, CONV = 4, SLOTS = 240 };
	const struct cd_version good = {0.005, 0.05, 0.5, 0, 1};
	struct err e;
	assert_int_equal(orch_an_config_default(&cfg, &e), 0);
	struct orch_an_opts o = {.alpha_fail = 0.05};
	struct cd_slot *data = calloc((size_t)CD_HOSTS * 2 * SLOTS, sizeof *data);
	assert_non_null(data);
	struct cd_run run;
	int failed = 0, passed = 0;
	for (int r = 0; r < RUNS; r++) {
		cd_start(&run, 16, (uint64_t)r, &good, &good, CD_HOSTS, data, SLOTS);
		struct orch_an *a = wave(CONV, CD_HOSTS - CONV, &o);
		struct cd_counters fed[CD_HOSTS] = {0};
		enum orch_an_verdict v = ORCH_AN_CONTINUE;
		for (size_t s = 0; s <= SLOTS && v != ORCH_AN_FAIL; s++) {
			double t = (double)s * CD_SLOT;
			for (int h = 0; h < CD_HOSTS; h++) {
				double vr[2], vl[CD_NB + 1];
				cd_count(&fed[h], s ? cd_slot_of(&run, h, h < CONV, s - 1) : NULL, vr, vl);
				feed(a, (size_t)h, 0, t, vr, 2);
				struct orch_an_series sl = {.n = 1, .t = &t, .v = vl, .le = CD_LE, .width = CD_NB + 1};
				assert_int_equal(orch_an_feed(a, (size_t)h, 1, &sl, &e), 0);
			}
			v = orch_an_judge(a, t)->verdict;
		}
		failed += v == ORCH_AN_FAIL;
		passed += v == ORCH_AN_PASS;
		orch_an_free(a);
	}
	print_message("A/A: %d of %d good waves failed, %d passed\n", failed, RUNS, passed);
	assert_true(failed <= 13);
	assert_true(passed >= RUNS / 2); /* and it is not silent: most good waves pass */
	free(data);
	orch_an_config_free(&cfg);
}

/* --max-error-ratio and --max-slow-ratio: the tolerance forms, the
 * analysis they make (the default set's series, as a file would say), and
 * bad values refused with the option's name. */
static void test_flags(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		double abs, rel;
	} ok[] = {{"0.01", 0.01, 0}, {"+50%", 0, 0.5}, {"0.001,+50%", 0.001, 0.5}, {"+50%,0.001", 0.001, 0.5},
		  {"1e-3", 0.001, 0}, {"+0.5%", 0, 0.005}};
	static const char *const bad[] = {"",      "0",     "+0%",    "1",     "1.5",   "-0.01", "+50",  "50%",
					  "0.01,", ",0.01", "0.01,0.02", "+5%,+6%", "abc",  "nan",  "inf",  "0x0.1",
					  " 0.01", "++5%",  "+-5%",  "+200000%", "0.01 ", "+5%x"};
	double abs, rel;
	struct err e;
	for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
		if (orch_an_tolerance_parse(ok[i].s, &abs, &rel, &e) < 0)
			fail_msg("\"%s\" refused: %s", ok[i].s, e.msg);
		assert_true(fabs(abs - ok[i].abs) < 1e-12 && fabs(rel - ok[i].rel) < 1e-12);
	}
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		if (orch_an_tolerance_parse(bad[i], &abs, &rel, &e) == 0)
			fail_msg("\"%s\" accepted: %g, %g", bad[i], abs, rel);
	struct orch_an_config c;
	char *json = orch_an_config_flags("0.01,+100%", NULL, &e);
	assert_non_null(json);
	assert_int_equal(orch_an_config_load(json, &c, &e), 0);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.metrics[0].name, "errors");
	assert_int_equal(c.metrics[0].kind, ORCH_AN_RATIO);
	assert_string_equal(c.metrics[0].series.name, "http_requests_total");
	assert_string_equal(c.metrics[0].series.m[0].value, "5..");
	assert_true(c.metrics[0].tol_abs == 0.01 && c.metrics[0].tol_rel == 1);
	orch_an_config_free(&c);
	free(json);
	json = orch_an_config_flags(NULL, "+25%", &e);
	assert_int_equal(orch_an_config_load(json, &c, &e), 0);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.metrics[0].kind, ORCH_AN_LATENCY);
	assert_true(c.metrics[0].tol_abs == 0 && c.metrics[0].tol_rel == 0.25);
	orch_an_config_free(&c);
	free(json);
	json = orch_an_config_flags("0.01", "0.02", &e);
	assert_int_equal(orch_an_config_load(json, &c, &e), 0);
	assert_int_equal(c.n, 2);
	orch_an_config_free(&c);
	free(json);
	assert_null(orch_an_config_flags("0.01", "2", &e));
	assert_non_null(strstr(e.msg, "--max-slow-ratio: \"2\": a share is below 1"));
	assert_null(orch_an_config_flags("x", NULL, &e));
	assert_non_null(strstr(e.msg, "--max-error-ratio: \"x\": expected"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file),	     cmocka_unit_test(test_file_hostile), cmocka_unit_test(test_matchers),
		cmocka_unit_test(test_worse),	     cmocka_unit_test(test_no_worse),
		cmocka_unit_test(test_sparse),	     cmocka_unit_test(test_time_varying),
		cmocka_unit_test(test_lower_is_worse), cmocka_unit_test(test_variance_jump),
		cmocka_unit_test(test_bad_hosts),    cmocka_unit_test(test_final_wave),
		cmocka_unit_test(test_gauge),	     cmocka_unit_test(test_overall),
		cmocka_unit_test(test_aa_false_alarms),
		cmocka_unit_test(test_flags),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
