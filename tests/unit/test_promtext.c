/* test_promtext.c: the Prometheus text format parser (runtime/promtext):
 * every kind of line it accepts, the same page fed in any pieces, and
 * hostile pages: each refusal names the line and, for a limit, the limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/rampd/promtext.h"

/* what the callback saw, one sample a line: "family type role name{k=v,...} value [time]" */
struct seen {
	char text[64][256];
	size_t n;
	bool cumulative[64];
};

static const char *role_name(enum rt_prom_role r)
{
	static const char *const n[] = {"value", "bucket", "sum", "count", "quantile", "created"};
	return n[r];
}

static int collect(void *ctx, const struct rt_prom_sample *s, struct err *e)
{
	struct seen *w = ctx;
	(void)e;
	if (w->n == 64)
		return 0;
	char *t = w->text[w->n];
	int k = snprintf(t, 256, "%s %s %s %s{", s->family, rt_prom_type_name(s->type), role_name(s->role), s->name);
	for (size_t i = 0; i < s->n_labels; i++)
		k += snprintf(t + k, 256 - (size_t)k, "%s%s=%s", i ? "," : "", s->labels[i].name, s->labels[i].value);
	k += snprintf(t + k, 256 - (size_t)k, "} %g", s->value);
	if (s->has_time)
		snprintf(t + k, 256 - (size_t)k, " %g", s->time);
	w->cumulative[w->n] = rt_prom_cumulative(s);
	w->n++;
	return 0;
}

static const char page[] =
	"# HELP http_requests_total Requests by code.\n"
	"# TYPE http_requests_total counter\n"
	"http_requests_total{code=\"200\",method=\"get\"} 1027 1395066363000\n"
	"http_requests_total{code=\"500\",method=\"get\",} 3\n"
	"\n"
	"# A comment, then a gauge with escapes in a label value\n"
	"# TYPE temperature gauge\n"
	"temperature{path=\"C:\\\\dir\\\\\",quote=\"say \\\"hi\\\"\",nl=\"a\\nb\"} -3.5e1\n"
	"# TYPE http_request_duration_seconds histogram\n"
	"http_request_duration_seconds_bucket{le=\"0.05\"} 24054\n"
	"http_request_duration_seconds_bucket{le=\"+Inf\"} 144320\n"
	"http_request_duration_seconds_sum 53423\n"
	"http_request_duration_seconds_count 144320\n"
	"# TYPE rpc_duration_seconds summary\n"
	"rpc_duration_seconds{quantile=\"0.99\"} NaN\n"
	"rpc_duration_seconds_sum 1.7560473e+07\n"
	"rpc_duration_seconds_count 2693\n"
	"untyped_thing  +Inf\n"
	"  \t   \n"
	"minus_inf{ a = \"1\" , b=\"2\" } -Inf\n";

static const char *const expected[] = {
	"http_requests_total counter value http_requests_total{code=200,method=get} 1027 1.39507e+12",
	"http_requests_total counter value http_requests_total{code=500,method=get} 3",
	"temperature gauge value temperature{path=C:\\dir\\,quote=say \"hi\",nl=a\nb} -35",
	"http_request_duration_seconds histogram bucket http_request_duration_seconds_bucket{le=0.05} 24054",
	"http_request_duration_seconds histogram bucket http_request_duration_seconds_bucket{le=+Inf} 144320",
	"http_request_duration_seconds histogram sum http_request_duration_seconds_sum{} 53423",
	"http_request_duration_seconds histogram count http_request_duration_seconds_count{} 144320",
	"rpc_duration_seconds summary quantile rpc_duration_seconds{quantile=0.99} nan",
	"rpc_duration_seconds summary sum rpc_duration_seconds_sum{} 1.75605e+07",
	"rpc_duration_seconds summary count rpc_duration_seconds_count{} 2693",
	"untyped_thing untyped value untyped_thing{} inf",
	"minus_inf untyped value minus_inf{a=1,b=2} -inf",
};

static void test_page(void **state)
{
	(void)state;
	struct seen w = {0};
	struct err e;
	assert_int_equal(rt_prom_parse(page, sizeof page - 1, NULL, collect, &w, &e), 0);
	assert_int_equal(w.n, sizeof expected / sizeof *expected);
	for (size_t i = 0; i < w.n; i++)
		assert_string_equal(w.text[i], expected[i]);
	/* counters and a histogram's or summary's buckets, sums and counts only grow */
	bool cum[] = {true, true, false, true, true, true, true, false, true, true, false, false};
	for (size_t i = 0; i < w.n; i++)
		assert_int_equal(w.cumulative[i], cum[i]);
}

/* The same page in pieces of every size gives the same samples. */
static void test_pieces(void **state)
{
	(void)state;
	struct seen whole = {0};
	struct err e;
	assert_int_equal(rt_prom_parse(page, sizeof page - 1, NULL, collect, &whole, &e), 0);
	for (size_t step = 1; step < 40; step++) {
		struct seen w = {0};
		struct rt_prom *p = rt_prom_new(NULL, collect, &w);
		assert_non_null(p);
		for (size_t off = 0; off < sizeof page - 1; off += step) {
			size_t n = sizeof page - 1 - off < step ? sizeof page - 1 - off : step;
			assert_int_equal(rt_prom_feed(p, page + off, n, &e), 0);
		}
		assert_int_equal(rt_prom_finish(p, &e), 0);
		assert_int_equal(rt_prom_series(p), whole.n);
		rt_prom_free(p);
		assert_int_equal(w.n, whole.n);
		for (size_t i = 0; i < w.n; i++)
			assert_string_equal(w.text[i], whole.text[i]);
	}
}

static void test_openmetrics(void **state)
{
	(void)state;
	static const char om[] = "# TYPE foo counter\n"
				 "# UNIT foo seconds\n"
				 "# HELP foo Some text \\ with a lone backslash.\n"
				 "foo_total 17.0 1520879607.789 # {trace_id=\"KOO5S4vxi0o\"} 0.67 1520879602.1\n"
				 "foo_created 1520430000.123\n"
				 "# TYPE build info\n"
				 "build_info{version=\"1.2\"} 1\n"
				 "# TYPE q gaugehistogram\n"
				 "q_bucket{le=\"1\"} 3\n"
				 "q_gcount 3\n"
				 "q_gsum 2\n"
				 "# EOF\n";
	struct seen w = {0};
	struct err e;
	assert_int_equal(rt_prom_parse(om, sizeof om - 1, NULL, collect, &w, &e), 0);
	assert_int_equal(w.n, 6);
	assert_string_equal(w.text[0], "foo counter value foo_total{} 17 1.52088e+09");
	assert_true(w.cumulative[0]);
	assert_string_equal(w.text[1], "foo counter created foo_created{} 1.52043e+09");
	assert_false(w.cumulative[1]);
	assert_string_equal(w.text[2], "build info value build_info{version=1.2} 1");
	assert_string_equal(w.text[3], "q gaugehistogram bucket q_bucket{le=1} 3");
	assert_string_equal(w.text[4], "q gaugehistogram count q_gcount{} 3");
	assert_false(w.cumulative[4]); /* a gauge histogram goes down too */

	/* without a final newline, the last line still counts */
	memset(&w, 0, sizeof w);
	assert_int_equal(rt_prom_parse("a 1\nb 2", 7, NULL, collect, &w, &e), 0);
	assert_int_equal(w.n, 2);
	/* nothing at all is an empty page */
	assert_int_equal(rt_prom_parse("", 0, NULL, collect, &w, &e), 0);
}

struct bad {
	const char *page;
	const char *msg; /* a part of the error */
};

/* Malformed pages: each refused with a message naming the line. */
static void test_malformed(void **state)
{
	(void)state;
	static const struct bad bad[] = {
		{"a 1\nb\n", "line 2: b: expected a blank and a value"},
		{"a 1\nb \n", "line 2: b: no value"},
		{"a one\n", "line 1: a: \"one\" is not a number"},
		{"a 0x1p3\n", "is not a number"},
		{"a 1e999\n", "is not a number"},
		{"a 1 2 3\n", "line 1: a: unexpected text"},
		{"a 1 now\n", "\"now\" is not a timestamp"},
		{"a 1 NaN\n", "is not a timestamp"},
		{"1a 1\n", "line 1: expected a metric name"},
		{"a.b 1\n", "unexpected '.'"},
		{"a{b=\"1\" 1\n", "expected ',' or '}'"},
		{"a{b=1} 1\n", "expected '\"' to start the value of label b"},
		{"a{b=\"1} 1\n", "has no closing '\"'"},
		{"a{b=\"\\t\"} 1\n", "invalid escape '\\t'"},
		{"a{b=\"\\", "invalid escape"},
		{"a{1b=\"x\"} 1\n", "expected a label name"},
		{"a{b=\"1\",b=\"2\"} 1\n", "label b appears twice"},
		{"a{b\"1\"} 1\n", "expected '=' after the label name b"},
		{"a{,} 1\n", "expected a label name"},
		{"a{b=\"1\"}1\n", "expected a blank and a value after the labels"},
		{"# TYPE\n", "# TYPE without a metric name"},
		{"# TYPE a\n", "type \"\" of a is not counter"},
		{"# TYPE a countr\n", "type \"countr\" of a is not counter"},
		{"# TYPE a counter extra\n", "unexpected text after # TYPE a counter"},
		{"# TYPE a counter\n# TYPE a gauge\n", "line 2: a second # TYPE line for a"},
		{"# HELP a x\n# HELP a y\n", "line 2: a second # HELP line for a"},
		{"# TYPE a counter\na 1\n# TYPE a counter\n", "line 3: # TYPE for a after its samples"},
		{"# UNIT a 1.5\n", "unit \"1.5\" of a is not"},
		{"# TYPE h histogram\nh_bucket 1\n", "line 2: h_bucket: a histogram bucket needs a numeric le label"},
		{"# TYPE h histogram\nh_bucket{le=\"x\"} 1\n", "needs a numeric le label"},
		{"# TYPE s summary\ns 1\n", "a summary sample needs a quantile label"},
		{"# TYPE s summary\ns{quantile=\"2\"} 1\n", "quantile label from 0 to 1"},
		{"# EOF\na 1\n", "line 2: content after \"# EOF\""},
		{"# EOF trailing\n", "\"# EOF\" takes nothing after it"},
		{"a 1\r\n", "line 1: a carriage return"},
		{"a{b=\"\x01\"} 1\n", "a control character"},
		{"a{b=\"\xff\"} 1\n", "invalid UTF-8"},
		{"a{b=\"\xc0\xaf\"} 1\n", "invalid UTF-8"},
		{"a{b=\"\xed\xa0\x80\"} 1\n", "invalid UTF-8"},
		{"a{b=\"\xe2\x82\"} 1\n", "invalid UTF-8"},
		{"{\"json\": true}\n", "line 1: expected a metric name"},
		{"<html><body>oops</body></html>\n", "line 1: expected a metric name"},
		{"a 1 # trace\n", "expected an exemplar's '{'"},
		{"a 1 # {x=\"y\"}\n", "expected a value after the exemplar's labels"},
		{"a 1 # {x=\"y\"} z\n", "exemplar value \"z\" is not a number"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct seen w = {0};
		struct err e = {0};
		int rc = rt_prom_parse(bad[i].page, strlen(bad[i].page), NULL, collect, &w, &e);
		if (rc == 0 || !strstr(e.msg, bad[i].msg))
			fail_msg("page %zu \"%s\": rc %d, message \"%s\", wanted \"%s\"", i, bad[i].page, rc, e.msg, bad[i].msg);
	}
}

/* Each limit refuses one past it, names itself and the line, and allows
 * what is at the limit. */
static void test_limits(void **state)
{
	(void)state;
	struct rt_prom_limits l;
	struct seen w;
	struct err e;
	char buf[512];
	rt_prom_limits_default(&l);
	assert_int_equal(l.max_line, 65536);
	assert_int_equal(l.max_series, 50000);
	l.max_line = 20;
	l.max_name = 8;
	l.max_label_name = 4;
	l.max_label_value = 5;
	l.max_labels = 2;
	l.max_series = 3;
	static const struct bad over[] = {
		{"a 1\nabcdefg{x=\"1\"} 1234567\n", "line 2: longer than 20 bytes (limit max_line)"},
		{"abcdefghi 1\n", "line 1: metric name longer than 8 bytes (limit max_name)"},
		{"# TYPE abcdefghi c\n", "line 1: metric name longer than 8 bytes (limit max_name)"},
		{"a{abcde=\"1\"} 1\n", "line 1: label name longer than 4 bytes (limit max_label_name)"},
		{"a{b=\"123456\"} 1\n", "line 1: the value of label b is longer than 5 bytes (limit max_label_value)"},
		{"a{b=\"\\\\\\\\\\\\\"} 1\n", NULL}, /* six bytes written, three after unescaping: fine */
		{"a{b=\"\",c=\"\",d=\"\"} 1\n", "line 1: more than 2 labels (limit max_labels)"},
		{"a 1\nb 1\nc 1\nd 1\n", "line 4: more than 3 samples (limit max_series)"},
		{"a 1\nb 1\nc 1\n", NULL},
		{"abcdefgh{b=\"12345\"} 1\n", "longer than 20 bytes (limit max_line)"},
	};
	for (size_t i = 0; i < sizeof over / sizeof *over; i++) {
		memset(&w, 0, sizeof w);
		e.msg[0] = '\0';
		int rc = rt_prom_parse(over[i].page, strlen(over[i].page), &l, collect, &w, &e);
		if (!over[i].msg ? rc != 0 : rc == 0 || !strstr(e.msg, over[i].msg))
			fail_msg("page %zu: rc %d \"%s\", wanted %s", i, rc, e.msg, over[i].msg ? over[i].msg : "success");
	}
	/* a line past the limit is refused as it comes, however it is fed */
	l.max_line = 100;
	struct rt_prom *p = rt_prom_new(&l, collect, &w);
	memset(buf, 'a', sizeof buf);
	assert_int_equal(rt_prom_feed(p, buf, 60, &e), 0);
	assert_int_equal(rt_prom_feed(p, buf, 60, &e), -1);
	assert_non_null(strstr(e.msg, "limit max_line"));
	/* and the parser stays refused */
	assert_int_equal(rt_prom_feed(p, "\n", 1, &e), -1);
	assert_int_equal(rt_prom_finish(p, &e), -1);
	rt_prom_free(p);
}

static int refuse_second(void *ctx, const struct rt_prom_sample *s, struct err *e)
{
	int *n = ctx;
	if (++*n == 2)
		return err_set(e, "line %zu: %s: not wanted", s->line, s->name);
	return 0;
}

static void test_callback_stops(void **state)
{
	(void)state;
	int n = 0;
	struct err e;
	assert_int_equal(rt_prom_parse("a 1\nb 2\nc 3\n", 12, NULL, refuse_second, &n, &e), -1);
	assert_int_equal(n, 2);
	assert_string_equal(e.msg, "line 2: b: not wanted");
}

static void test_values(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		double v;
	} ok[] = {{"0", 0},       {"-0.5", -0.5},  {"1e3", 1000}, {"1.", 1},      {".5", 0.5},
		  {"+2E-2", 0.02}, {"123456789012", 123456789012.0}, {"1e-400", 0}};
	static const char *const bad[] = {"", "e3", ".", "1e", "1e+", "--1", "0x10", "nan(1)", "1 ", " 1", "1,5",
					  "+NaN", "Infx", "1_000"};
	double v;
	for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
		assert_int_equal(rt_prom_parse_value(ok[i].s, strlen(ok[i].s), &v), 0);
		assert_true(v == ok[i].v);
	}
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		if (rt_prom_parse_value(bad[i], strlen(bad[i]), &v) == 0)
			fail_msg("\"%s\" accepted as %g", bad[i], v);
	assert_int_equal(rt_prom_parse_value("NaN", 3, &v), 0);
	assert_true(isnan(v));
	assert_int_equal(rt_prom_parse_value("-Inf", 4, &v), 0);
	assert_true(isinf(v) && v < 0);
	assert_int_equal(rt_prom_parse_value("+infinity", 9, &v), 0);
	assert_true(isinf(v) && v > 0);
	assert_true(rt_prom_metric_name_ok("a:b_c9", 6));
	assert_false(rt_prom_metric_name_ok("9a", 2));
	assert_false(rt_prom_label_name_ok("a:b", 3));
	assert_false(rt_prom_label_name_ok("", 0));
}

/* Random bytes and random mutations of a real page: refused or accepted,
 * never a crash (the sanitizer build checks memory). */
static void test_random(void **state)
{
	(void)state;
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	char buf[sizeof page];
	struct err e;
	for (int round = 0; round < 20000; round++) {
		memcpy(buf, page, sizeof page);
		for (int k = 0; k < 1 + round % 8; k++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			buf[x % (sizeof page - 1)] = (char)(x >> 32);
		}
		struct seen w = {0};
		size_t len = (x >> 20) % sizeof page;
		int rc = rt_prom_parse(buf, len, NULL, collect, &w, &e);
		assert_true(rc == 0 || (rc == -1 && strncmp(e.msg, "line ", 5) == 0));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_page),     cmocka_unit_test(test_pieces),  cmocka_unit_test(test_openmetrics),
		cmocka_unit_test(test_malformed), cmocka_unit_test(test_limits), cmocka_unit_test(test_callback_stops),
		cmocka_unit_test(test_values),   cmocka_unit_test(test_random),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
