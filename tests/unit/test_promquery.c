/* test_promquery.c: Prometheus as the canary analysis's metrics source
 * (orchestrator/promquery.h): query templates and the escaping of the
 * fleet's values into them (a label must not be able to change the query),
 * the URL, the answers and their hostile forms, and the samples of a metric
 * taken from them as the analysis reads them. */
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
#include "orchestrator/promquery.h"
#include "tests/helpers/promfixtures.h"

static void host(struct orch_host *h, const char *name, const char *addr)
{
	struct err e;
	*h = (struct orch_host){0};
	assert_non_null(h->name = strdup(name));
	if (orch_host_set_address(h, addr, &e) < 0)
		fail_msg("%s", e.msg);
}

static void render_ok(const char *t, const struct orch_host *h, const char *want)
{
	char buf[ORCH_PROM_MAX_QUERY];
	struct err e;
	if (orch_prom_template_check(t, &e) < 0 || orch_prom_render(t, "up", h, buf, sizeof buf, &e) < 0)
		fail_msg("%s: %s", t, e.msg);
	assert_string_equal(buf, want);
}

static void template_bad(const char *t, const char *want)
{
	struct err e;
	if (orch_prom_template_check(t, &e) == 0)
		fail_msg("accepted: %s", t);
	if (!strstr(e.msg, want))
		fail_msg("message \"%s\" does not say \"%s\"", e.msg, want);
}

static void test_templates(void **state)
{
	(void)state;
	struct orch_host h, h6;
	struct err e;
	host(&h, "web-1", "10.0.0.7:7300");
	host(&h6, "web-6", "[::1]:7300");
	assert_int_equal(orch_host_add_label(&h, "zone", "eu-1", &e), 0);
	render_ok(ORCH_PROM_DEFAULT_QUERY, &h, "up{instance=\"10.0.0.7:8080\"}");
	render_ok(ORCH_PROM_DEFAULT_QUERY, &h6, "up{instance=\"[::1]:8080\"}");
	render_ok("sum without (pod) ({{series}}{job=\"web\", host=\"{{name}}\", zone=\"{{label:zone}}\"})", &h,
		  "sum without (pod) (up{job=\"web\", host=\"web-1\", zone=\"eu-1\"})");
	/* a regular expression: the value is matched literally */
	render_ok("{{series}}{instance=~\"{{address}}:[0-9]+\"}", &h, "up{instance=~\"10\\\\.0\\\\.0\\\\.7:[0-9]+\"}");
	render_ok("{{series}}{instance !~ \"{{address}}\"}", &h6, "up{instance !~ \"\\\\[::1\\\\]\"}");
	/* escapes of the template itself are kept */
	render_ok("{{series}}{a=\"x\\\"{{name}}\"}", &h, "up{a=\"x\\\"web-1\"}");
	template_bad("{{series}}{a=\"{{nope}}\"}", "unknown placeholder {{nope}}");
	template_bad("{{series}}{a={{name}}}", "{{name}} goes inside double quotes");
	template_bad("up{a=\"{{series}}\"}", "{{series}} goes outside quotes");
	template_bad("up{a=\"{{name}}\"}", "no {{series}}");
	template_bad("{{series}}{a=\"x}", "not closed");
	template_bad("{{series}}{a='{{name}}'}", "double quotes");
	template_bad("{{series}}{a=`x`}", "double quotes");
	template_bad("{{series}}{a=\"\\", "backslash ends");
	template_bad("{{series}}{a=\"{{name", "unfinished");
	template_bad("{{series}}{a=\"{{label:a b}}\"}", "label key");
	template_bad("{{series}}{a=\"{{label:}}\"}", "unknown placeholder");
	char long_t[ORCH_PROM_MAX_TEMPLATE + 20];
	memset(long_t, 'a', sizeof long_t - 1);
	long_t[sizeof long_t - 1] = '\0';
	memcpy(long_t, "{{series}}", 10);
	template_bad(long_t, "longer than");
	/* a host without the label, or without a network address, cannot be asked */
	char buf[256];
	struct orch_host hu;
	host(&hu, "u", "unix:/run/rampd.sock");
	assert_int_equal(orch_prom_render("{{series}}{z=\"{{label:rack}}\"}", "up", &h, buf, sizeof buf, &e), -1);
	assert_non_null(strstr(e.msg, "no label \"rack\""));
	assert_int_equal(orch_prom_render(ORCH_PROM_DEFAULT_QUERY, "up", &hu, buf, sizeof buf, &e), -1);
	assert_non_null(strstr(e.msg, "no network address"));
	assert_int_equal(orch_prom_render(ORCH_PROM_DEFAULT_QUERY, "up", &h, buf, 10, &e), -1);
	assert_non_null(strstr(e.msg, "longer than 9 bytes"));
	orch_host_free(&h);
	orch_host_free(&h6);
	orch_host_free(&hu);
}

/* Does q hold exactly the strings of the template, every byte of a value
 * inside one of them? Walk it as PromQL's lexer does. */
static size_t strings_of(const char *q)
{
	size_t n = 0;
	for (const char *p = q; *p; p++) {
		if (*p != '"')
			continue;
		n++;
		for (p++; *p && *p != '"'; p++)
			if (*p == '\\')
				p++;
		assert_int_equal(*p, '"');
	}
	return n;
}

/* A fleet label holding PromQL (quotes, braces, backslashes, control
 * bytes) stays one string of the query: it cannot close the matcher. */
static void test_injection(void **state)
{
	(void)state;
	static const char *const hostile[] = {
		"x\"} or vector(1) or up{a=\"",
		"x\\\"}or(vector(1))#",
		"\\",
		"a\"b\\\"c",
		"x\n\"}\x01\x7f\xff",
	};
	struct orch_host h;
	char buf[ORCH_PROM_MAX_QUERY], want[ORCH_PROM_MAX_QUERY];
	struct err e;
	host(&h, "web-1", "10.0.0.7");
	for (size_t i = 0; i < sizeof hostile / sizeof *hostile; i++) {
		/* the fleet parser refuses control bytes; set the label by hand */
		struct orch_label l = {strdup("app"), strdup(hostile[i])};
		h.labels = &l;
		h.n_labels = 1;
		assert_int_equal(orch_prom_render("{{series}}{app=\"{{label:app}}\", job=\"j\"}", "up", &h, buf, sizeof buf, &e), 0);
		assert_int_equal(strings_of(buf), 2);
		assert_true(strstr(buf, "\", job=\"j\"}") == buf + strlen(buf) - 11);
		assert_int_equal(orch_prom_render("{{series}}{app=~\"{{label:app}}\"}", "up", &h, buf, sizeof buf, &e), 0);
		assert_int_equal(strings_of(buf), 1);
		h.labels = NULL;
		h.n_labels = 0;
		free(l.key);
		free(l.value);
	}
	/* the escapes themselves, as PromQL reads double-quoted strings */
	struct orch_label l = {strdup("app"), strdup("a\"b\\c\nd\x01")};
	h.labels = &l;
	h.n_labels = 1;
	assert_int_equal(orch_prom_render("{{series}}{app=\"{{label:app}}\"}", "up", &h, buf, sizeof buf, &e), 0);
	snprintf(want, sizeof want, "up{app=\"a\\\"b\\\\c\\nd\\x01\"}");
	assert_string_equal(buf, want);
	assert_int_equal(orch_prom_render("{{series}}{app=~\"{{label:app}}\"}", "up", &h, buf, sizeof buf, &e), 0);
	snprintf(want, sizeof want, "up{app=~\"a\\\"b\\\\\\\\c\\nd\\x01\"}");
	assert_string_equal(buf, want);
	h.labels = NULL;
	h.n_labels = 0;
	free(l.key);
	free(l.value);
	orch_host_free(&h);
}

static void test_url(void **state)
{
	(void)state;
	char *u = orch_prom_url("http://prom:9090/base/", "up{a=\"b c\"}", 1700000000123, 1700000010123, 1000);
	assert_string_equal(u, "http://prom:9090/base/api/v1/query_range?query=up%7Ba%3D%22b%20c%22%7D"
			       "&start=1700000000.123&end=1700000010.123&step=1.000");
	free(u);
}

#define T0 1700000000000LL

static int parse(const char *body, const char *series, struct orch_prom_answer *a, struct err *e)
{
	return orch_prom_parse(body, strlen(body), series, T0, T0 + 4000, 1000, a, e);
}

static void parse_bad(const char *body, const char *want)
{
	struct orch_prom_answer a;
	struct err e;
	if (parse(body, "up", &a, &e) == 0) {
		orch_prom_answer_free(&a);
		fail_msg("accepted: %.200s", body);
	}
	if (!strstr(e.msg, want))
		fail_msg("message \"%s\" does not say \"%s\"", e.msg, want);
	assert_null(a.j);
	assert_null(a.s);
}


static void test_answers_hostile(void **state)
{
	(void)state;
	parse_bad("", "Prometheus' answer for up");
	parse_bad("[1]", "not a JSON object");
	parse_bad("{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"parse error at char 3\"}",
		  "status \"error\": parse error at char 3");
	parse_bad("{\"status\":\"success\"}", "data");
	parse_bad("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[]}}", "not matrix");
	parse_bad("{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":{}}}", "result");
	parse_bad(PROM_OK_HEAD "1" PROM_OK_TAIL, "not an object");
	parse_bad(PROM_OK_HEAD "{\"values\":[]}" PROM_OK_TAIL, "metric");
	parse_bad(PROM_OK_HEAD "{\"metric\":{\"a\":1},\"values\":[]}" PROM_OK_TAIL, "label a is not a string");
	parse_bad(PROM_OK_HEAD "{\"metric\":{},\"values\":{}}" PROM_OK_TAIL, "values");
	parse_bad(PROM_OK_HEAD "{\"metric\":{},\"values\":[[1700000000]]}" PROM_OK_TAIL, "[time, \"value\"]");
	parse_bad(PROM_OK_HEAD "{\"metric\":{},\"values\":[[\"1700000000\",\"1\"]]}" PROM_OK_TAIL, "time in seconds");
	parse_bad(PROM_OK_HEAD "{\"metric\":{},\"values\":[[-5,\"1\"]]}" PROM_OK_TAIL, "time in seconds");
	parse_bad(PROM_OK_HEAD "{\"metric\":{},\"values\":[[1e300,\"1\"]]}" PROM_OK_TAIL, "time in seconds");
	parse_bad(PROM_OK_HEAD "{\"metric\":{},\"values\":[[1700000000.5,\"1\"]]}" PROM_OK_TAIL, "not a time asked for");
	parse_bad(PROM_OK_HEAD "{\"metric\":{},\"values\":[[1699999999,\"1\"]]}" PROM_OK_TAIL, "not a time asked for");
	parse_bad(PROM_OK_HEAD "{\"metric\":{},\"values\":[[1700000005,\"1\"]]}" PROM_OK_TAIL, "not a time asked for");
	parse_bad(PROM_OK_HEAD "{\"metric\":{},\"values\":[[1700000002,\"1\"],[1700000001,\"2\"]]}" PROM_OK_TAIL,
		  "not after the one before");
	parse_bad(PROM_OK_HEAD "{\"metric\":{},\"values\":[[1700000002,\"1\"],[1700000002,\"2\"]]}" PROM_OK_TAIL,
		  "not after the one before");
	parse_bad(PROM_OK_HEAD "{\"metric\":{},\"values\":[[1700000000,1]]}" PROM_OK_TAIL, "not a number in a string");
	parse_bad(PROM_OK_HEAD "{\"metric\":{},\"values\":[[1700000000,\"\"]]}" PROM_OK_TAIL, "not a number in a string");
	parse_bad(PROM_OK_HEAD "{\"metric\":{},\"values\":[[1700000000,\"0x10\"]]}" PROM_OK_TAIL, "not a number in a string");
	parse_bad(PROM_OK_HEAD "{\"metric\":{},\"values\":[[1700000000,\" 1\"]]}" PROM_OK_TAIL, "not a number in a string");
	parse_bad(PROM_OK_HEAD "{\"metric\":{},\"values\":[[1700000000,\"1abc\"]]}" PROM_OK_TAIL, "is not a number");
	parse_bad(PROM_OK_HEAD "{\"metric\":{},\"values\":[]},{\"metric\":{},\"values\":[]}" "]}} x", "");
	parse_bad(PROM_OK_HEAD "{\"metric\":{\"a\":\"1\",\"a\":\"2\"},\"values\":[]}" PROM_OK_TAIL, "");
	/* limits: series, labels, points, nesting, size, a grid too long */
	char *big = malloc(64u << 20), *p;
	assert_non_null(big);
	p = big + sprintf(big, PROM_OK_HEAD);
	for (int i = 0; i <= ORCH_PROM_MAX_SERIES; i++)
		p += sprintf(p, "%s{\"metric\":{},\"values\":[]}", i ? "," : "");
	strcpy(p, PROM_OK_TAIL);
	parse_bad(big, "1025 series (at most 1024)");
	p = big + sprintf(big, PROM_OK_HEAD "{\"metric\":{");
	for (int i = 0; i <= ORCH_METRICS_MAX_LABELS; i++)
		p += sprintf(p, "%s\"l%d\":\"v\"", i ? "," : "", i);
	strcpy(p, "},\"values\":[]}" PROM_OK_TAIL);
	parse_bad(big, "more than 64 labels");
	p = big + sprintf(big, PROM_OK_HEAD "{\"metric\":{},\"values\":[");
	for (int i = 0; i <= ORCH_PROM_MAX_POINTS; i++)
		p += sprintf(p, "%s[1700000000,\"1\"]", i ? "," : "");
	strcpy(p, "]}" PROM_OK_TAIL);
	parse_bad(big, "more than 11000 points");
	p = big;
	for (int i = 0; i < 100; i++)
		*p++ = '[';
	*p = '\0';
	parse_bad(big, "Prometheus' answer for up");
	struct orch_prom_answer a;
	struct err e;
	assert_int_equal(orch_prom_parse(big, ORCH_PROM_MAX_BODY + 1, "up", T0, T0, 1000, &a, &e), -1);
	assert_non_null(strstr(e.msg, "larger than"));
	assert_int_equal(orch_prom_parse("{}", 2, "up", T0, T0 + 11000 * 1000LL, 1000, &a, &e), -1);
	assert_non_null(strstr(e.msg, "more than 11000 points"));
	free(big);
}

/* The answers of a metric's queries (a ratio's errors and total are one
 * query when they are one series; another series here): one window, the
 * union of their times, the errors summed over the 5xx codes by the
 * selector, a series absent where it has no point. */
static void test_answers_to_samples(void **state)
{
	(void)state;
	static const char errs[] = PROM_OK_HEAD
		"{\"metric\":{\"__name__\":\"http_requests_total\",\"code\":\"500\"},"
		"\"values\":[[1700000002,\"1\"],[1700000003,\"2\"]]},"
		"{\"metric\":{\"code\":\"503\"},\"values\":[[1700000003,\"4\"]]},"
		"{\"metric\":{\"code\":\"200\"},\"values\":[[1700000001,\"90\"],[1700000002,\"95\"],[1700000003,\"99\"]]}"
		PROM_OK_TAIL;
	static const char other[] = PROM_OK_HEAD
		"{\"metric\":{},\"values\":[[1700000000,\"1\"],[1700000002,\"+Inf\"]]}" PROM_OK_TAIL;
	struct orch_prom_answer a[2];
	struct orch_mversion v;
	struct orch_an_config c;
	struct orch_an_series x;
	double *buf;
	struct err e;
	assert_int_equal(parse(errs, "http_requests_total", &a[0], &e), 0);
	assert_int_equal(parse(other, "x_total", &a[1], &e), 0);
	assert_int_equal(a[0].n, 3);
	assert_int_equal(a[0].s[0].n_labels, 1); /* __name__ is not a label */
	assert_int_equal(orch_prom_version(a, 2, &v, &e), 0);
	assert_int_equal(v.n, 4);
	assert_int_equal(v.t_ms[0], T0);
	assert_int_equal(v.t_ms[3], T0 + 3000);
	assert_int_equal(v.n_series, 4);
	assert_true(v.s[0].absent[1] && !v.s[0].absent[2]);
	assert_true(isinf(v.s[3].v[2]) && v.s[3].absent[1]);
	assert_int_equal(orch_an_config_default(&c, &e), 0);
	assert_int_equal(orch_metrics_series(&v, &c.metrics[0], T0 + 1000, &x, &buf, &e), 0);
	/* the times up to T0 + 1 s were fed before: two samples, [errors, total] */
	assert_int_equal(x.n, 2);
	assert_int_equal(x.width, 2);
	assert_true(x.t[0] == 1700000002.0);
	assert_true(x.v[0] == 1 && x.v[2] == 6);     /* 500 + 503 */
	assert_true(x.v[1] == 96 && x.v[3] == 105); /* every code */
	free(buf);
	orch_prom_version_free(&v);
	orch_prom_answer_free(&a[0]);
	orch_prom_answer_free(&a[1]);
	/* nothing at all: no time */
	assert_int_equal(parse(PROM_OK_HEAD PROM_OK_TAIL, "up", &a[0], &e), 0);
	assert_int_equal(orch_prom_version(a, 1, &v, &e), 0);
	assert_int_equal(v.n, 0);
	orch_prom_version_free(&v);
	orch_prom_answer_free(&a[0]);
	orch_an_config_free(&c);
}

/* A restart: any series below its value at the time before it had one
 * (its own, across times it is absent), whatever the others and the sums
 * do; a series standing still is none. */
static void test_resets(void **state)
{
	(void)state;
	static const char body[] = PROM_OK_HEAD
		"{\"metric\":{\"code\":\"200\"},\"values\":[[1700000000,\"100\"],[1700000001,\"120\"],"
		"[1700000003,\"5\"],[1700000004,\"9\"]]},"
		"{\"metric\":{\"code\":\"500\"},\"values\":[[1700000000,\"1\"],[1700000001,\"1\"],"
		"[1700000002,\"300\"],[1700000003,\"400\"],[1700000004,\"401\"]]}" PROM_OK_TAIL;
	struct orch_prom_answer a;
	struct orch_mversion v;
	struct err e;
	unsigned char reset[5];
	assert_int_equal(parse(body, "http_requests_total", &a, &e), 0);
	assert_int_equal(orch_prom_version(&a, 1, &v, &e), 0);
	assert_int_equal(v.n, 5);
	orch_prom_resets(&v, reset);
	/* T0 + 3 s: 200's 120 (before its gap) to 5, though 500 went up by more
	 * (the sums rose: 300, then 405) */
	static const unsigned char want[5] = {0, 0, 0, 1, 0};
	assert_memory_equal(reset, want, 5);
	orch_prom_version_free(&v);
	orch_prom_answer_free(&a);
}

/* The analysis file's query templates: the file's for every metric, a
 * metric's own, the default; checked when the file is read. */
static void test_file_queries(void **state)
{
	(void)state;
	static const char f[] = "{\"query\": \"{{series}}{instance=\\\"{{label:app}}\\\"}\", \"metrics\": ["
				"{\"name\": \"errors\", \"kind\": \"ratio\", \"errors\": \"a{code=~\\\"5..\\\"}\", \"total\": \"a\"},"
				"{\"name\": \"q\", \"kind\": \"gauge\", \"series\": \"q\", \"tolerance_abs\": 1,"
				" \"query\": \"max without (pod) ({{series}}{host=\\\"{{name}}\\\"})\"}]}";
	struct orch_an_config c;
	struct err e;
	assert_int_equal(orch_an_config_parse(f, strlen(f), "a.json", &c, &e), 0);
	assert_string_equal(c.metrics[0].query, "{{series}}{instance=\"{{label:app}}\"}");
	assert_string_equal(c.metrics[1].query, "max without (pod) ({{series}}{host=\"{{name}}\"})");
	orch_an_config_free(&c);
	assert_int_equal(orch_an_config_default(&c, &e), 0);
	assert_string_equal(c.metrics[1].query, ORCH_PROM_DEFAULT_QUERY);
	orch_an_config_free(&c);
	static const char bad[] = "{\"metrics\": [{\"name\": \"g\", \"kind\": \"gauge\", \"series\": \"q\","
				  " \"tolerance_abs\": 1, \"query\": \"q{host=\\\"{{name}}\\\"}\"}]}";
	assert_int_equal(orch_an_config_parse(bad, strlen(bad), "a.json", &c, &e), -1);
	assert_non_null(strstr(e.msg, "a.json: metric #1 (\"g\"): field \"query\": query template: no {{series}}"));
	static const char bad_top[] = "{\"query\": 3, \"metrics\": []}";
	assert_int_equal(orch_an_config_parse(bad_top, strlen(bad_top), "a.json", &c, &e), -1);
	assert_non_null(strstr(e.msg, "query"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_templates),	    cmocka_unit_test(test_injection),
		cmocka_unit_test(test_url),		    cmocka_unit_test(test_answers_hostile),
		cmocka_unit_test(test_answers_to_samples), cmocka_unit_test(test_resets),
		cmocka_unit_test(test_file_queries),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
