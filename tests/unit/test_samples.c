/* test_samples.c: what rampd keeps of an app's metrics (runtime/samples):
 * hostile watches and since= values refused, counters kept monotonic across
 * restarts of the container and a decrease within one marking the version
 * untrusted, the window bounded by max_samples and max_series, a window per
 * version with at most two kept. Pages go through the real parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/rampd/samples.h"

#define DIG1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define DIG2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define DIG3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"

struct ctx {
	struct rt_samples *m;
	struct rt_batch *b;
};

static int keep(void *c, const struct rt_prom_sample *s, struct err *e)
{
	struct ctx *x = c;
	return rt_watch_match(&x->m->watch, s) ? rt_batch_add(x->b, s, e) : 0;
}

/* one good scrape of page by container `instance` of version dig at time t */
static void scrape(struct rt_samples *m, const char *dig, uint64_t instance, int64_t t, const char *page,
		   size_t max_series, size_t max_samples)
{
	struct err e = {0};
	struct ctx x = {m, rt_batch_new(max_series)};
	assert_non_null(x.b);
	assert_int_equal(rt_prom_parse(page, strlen(page), NULL, keep, &x, &e), 0);
	struct rt_scrape_result r = {.gen = m->watch_gen, .instance = instance, .time = t, .b = x.b};
	assert_int_equal(img_digest_parse(dig, &r.digest, &e), 0);
	m->target.running = true;
	m->target.digest = r.digest;
	m->target.instance = instance;
	rt_samples_record(m, &r, max_series, max_samples, 3600000);
	rt_batch_free(x.b);
}

static void set_watch(struct rt_samples *m, const char *body)
{
	struct err e = {0};
	struct rt_watch w;
	assert_int_equal(rt_watch_parse(body, strlen(body), 64, &w, &e), 0);
	rt_samples_set_watch(m, &w);
	rt_watch_free(&w);
}

/* the "versions" document after since */
static struct json *doc(const struct rt_samples *m, int64_t since)
{
	struct err e = {0};
	struct jgen *g = jgen_new(false);
	const char *buf;
	size_t len;
	rt_samples_json(m, since, g);
	assert_int_equal(jgen_result(g, &buf, &len, &e), 0);
	struct json *j = json_parse(buf, len, &e);
	assert_non_null(j);
	jgen_free(g);
	return j;
}

/* the series of window i named name with label k=v */
static const struct json *series(const struct json *d, size_t i, const char *name, const char *k, const char *v)
{
	assert_true(d->type == JSON_ARRAY && i < d->arr.n);
	const struct json *s = json_get(d->arr.v[i], "series");
	for (size_t j = 0; j < s->arr.n; j++) {
		const struct json *x = s->arr.v[j];
		const char *lv = k ? json_get_str(json_get(x, "labels"), k) : NULL;
		if (!strcmp(json_get_str(x, "name"), name) && (!k || (lv && !strcmp(lv, v))))
			return x;
	}
	fail_msg("no series %s{%s=%s} in window %zu", name, k ? k : "", v ? v : "", i);
	return NULL;
}

static double value(const struct json *s, size_t i)
{
	const struct json *v = json_get(s, "values");
	assert_true(i < v->arr.n);
	return v->arr.v[i]->type == JSON_INT ? (double)v->arr.v[i]->i : v->arr.v[i]->d;
}

static void test_since(void **state)
{
	(void)state;
	struct err e = {0};
	int64_t ms;
	assert_int_equal(rt_samples_parse_since("1795688104250", &ms, &e), 0);
	assert_int_equal(ms, 1795688104250);
	assert_int_equal(rt_samples_parse_since("2026-11-26T10:15:04Z", &ms, &e), 0);
	assert_int_equal(ms, 1795688104000);
	assert_int_equal(rt_samples_parse_since("2026-11-26T11:15:04.25+01:00", &ms, &e), 0);
	assert_int_equal(ms, 1795688104250);
	static const char *const bad[] = {"", "yesterday", "-1", "1e3", "0x10", "99999999999999999999999",
					  "2026-11-26", "2026-11-26T10:15:04", "2026-02-29T00:00:00Z",
					  "2026-13-01T00:00:00Z", "2026-11-26T24:00:00Z", "2026-11-26T10:15:04+1:00",
					  "2026-11-26T10:15:04.Z", "1969-12-31T23:59:59Z", "2026-11-26T10:15:04Z "};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		assert_int_equal(rt_samples_parse_since(bad[i], &ms, &e), -1);
		assert_non_null(strstr(e.msg, "expected an RFC 3339 time"));
	}
}

static void test_watch_hostile(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"", "{}", "[]", "{\"series\": []}", "{\"series\": {}}", "{\"series\": [{}]}",
		"{\"series\": [{\"name\": \"9x\"}]}", "{\"series\": [{\"name\": \"a b\"}]}",
		"{\"series\": [{\"name\": \"a\", \"labels\": {\"a-b\": \"1\"}}]}",
		"{\"series\": [{\"name\": \"a\", \"labels\": {\"le\": 1}}]}",
		"{\"series\": [{\"name\": \"a\"}], \"x\": 1}", "{\"series\": [{\"name\": \"a\", \"y\": 1}]}",
		"{\"series\": [{\"name\": \"a\"}, {\"name\": \"a\"}]}", "{\"series\": [{\"name\": \"a\"}]} {}",
		"{\"series\": [{\"name\": \"a\", \"labels\": {\"k\": \"1\", \"k\": \"2\"}}]}",
	};
	struct err e = {0};
	struct rt_watch w;
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		if (rt_watch_parse(bad[i], strlen(bad[i]), 64, &w, &e) == 0) {
			rt_watch_free(&w);
			fail_msg("accepted: %s", bad[i]);
		}
		assert_true(e.msg[0]);
	}
	/* a name over the limit, more selectors than allowed */
	char big[600];
	snprintf(big, sizeof big, "{\"series\": [{\"name\": \"%0300d\"}]}", 0);
	big[strlen("{\"series\": [{\"name\": \"")] = 'a';
	assert_int_equal(rt_watch_parse(big, strlen(big), 64, &w, &e), -1);
	const char *three = "{\"series\": [{\"name\": \"a\"}, {\"name\": \"b\"}, {\"name\": \"c\"}]}";
	assert_int_equal(rt_watch_parse(three, strlen(three), 2, &w, &e), -1);
	assert_non_null(strstr(e.msg, "limit of 2"));
	assert_int_equal(rt_watch_parse(three, strlen(three), 3, &w, &e), 0);
	assert_int_equal(w.n, 3);
	rt_watch_free(&w);
}

static const char page_fmt[] = "# TYPE req counter\n"
			       "req{code=\"200\"} %d\n"
			       "req{code=\"500\"} %d\n"
			       "# TYPE temp gauge\n"
			       "temp %d\n"
			       "other 7\n";

static void page(char *buf, size_t cap, int ok, int bad, int temp)
{
	snprintf(buf, cap, page_fmt, ok, bad, temp);
}

static void test_resets_and_lies(void **state)
{
	(void)state;
	struct rt_samples *m = rt_samples_new();
	char p[256];
	set_watch(m, "{\"series\": [{\"name\": \"req\"}, {\"name\": \"temp\"}]}");
	page(p, sizeof p, 10, 1, 30);
	scrape(m, DIG1, 1, 1000, p, 64, 100);
	page(p, sizeof p, 20, 2, 20);
	scrape(m, DIG1, 1, 2000, p, 64, 100);
	/* the container restarted: counters from 0 again, the gauge as it is */
	page(p, sizeof p, 5, 0, 25);
	scrape(m, DIG1, 2, 3000, p, 64, 100);
	struct json *d = doc(m, -1);
	const struct json *ok = series(d, 0, "req", "code", "200");
	assert_true(value(ok, 0) == 10 && value(ok, 1) == 20 && value(ok, 2) == 25);
	assert_int_equal(json_get(ok, "resets")->i, 1);
	assert_true(json_get(ok, "cumulative")->b);
	const struct json *t = series(d, 0, "temp", NULL, NULL);
	assert_true(value(t, 1) == 20 && value(t, 2) == 25);
	assert_false(json_get(t, "cumulative")->b);
	assert_int_equal(json_get(d->arr.v[0], "restarts")->i, 1);
	assert_int_equal(json_get(d->arr.v[0], "untrusted")->type, JSON_NULL);
	/* not watched: not kept */
	assert_int_equal(json_get(d->arr.v[0], "series")->arr.n, 3);
	json_free(d);
	/* down while the same container runs: still monotonic, but a lie */
	page(p, sizeof p, 2, 0, 25);
	scrape(m, DIG1, 2, 4000, p, 64, 100);
	d = doc(m, 3000);
	assert_int_equal(json_get(d->arr.v[0], "times")->arr.n, 1);
	ok = series(d, 0, "req", "code", "200");
	assert_true(value(ok, 0) == 27);
	const char *why = json_get_str(json_get(d->arr.v[0], "untrusted"), "reason");
	assert_non_null(why);
	assert_non_null(strstr(why, "went down from 5 to 2 while the same container ran"));
	json_free(d);
	rt_samples_free(m);
}

static void test_bounds(void **state)
{
	(void)state;
	struct rt_samples *m = rt_samples_new();
	char p[256];
	set_watch(m, "{\"series\": [{\"name\": \"req\"}, {\"name\": \"temp\"}]}");
	/* 2 series kept of 3: the third counted; 50 samples kept of 1000 */
	for (int i = 0; i < 1000; i++) {
		page(p, sizeof p, i, 0, i);
		scrape(m, DIG1, 1, 1000 + i, p, 2, 50);
	}
	struct json *d = doc(m, -1);
	const struct json *w = d->arr.v[0];
	assert_int_equal(json_get(w, "times")->arr.n, 50);
	assert_int_equal(json_get(w, "times")->arr.v[0]->i, 1950);
	assert_int_equal(json_get(w, "series")->arr.n, 2);
	assert_int_equal(json_get(w, "droppedSeries")->i, 1);
	assert_true(value(series(d, 0, "req", "code", "200"), 49) == 999);
	json_free(d);
	/* a failed scrape records no sample */
	struct rt_scrape_result r = {.gen = m->watch_gen, .instance = 1, .time = 5000, .error = "boom"};
	r.digest = m->target.digest;
	rt_samples_record(m, &r, 2, 50, 3600000);
	d = doc(m, 1998);
	w = d->arr.v[0];
	assert_int_equal(json_get(w, "times")->arr.n, 1);
	assert_string_equal(json_get_str(w, "lastError"), "boom");
	assert_int_equal(json_get(w, "consecutiveFailures")->i, 1);
	json_free(d);
	/* a result of an older watch is not recorded */
	r.gen--;
	r.error = "stale";
	rt_samples_record(m, &r, 2, 50, 3600000);
	d = doc(m, -1);
	assert_string_equal(json_get_str(d->arr.v[0], "lastError"), "boom");
	json_free(d);
	rt_samples_free(m);
}

static void test_versions(void **state)
{
	(void)state;
	struct rt_samples *m = rt_samples_new();
	char p[256];
	set_watch(m, "{\"series\": [{\"name\": \"req\", \"labels\": {\"code\": \"500\"}}]}");
	page(p, sizeof p, 1, 4, 0);
	scrape(m, DIG1, 1, 1000, p, 64, 100);
	page(p, sizeof p, 1, 9, 0);
	scrape(m, DIG2, 2, 2000, p, 64, 100);
	scrape(m, DIG3, 3, 3000, p, 64, 100);
	struct json *d = doc(m, -1);
	assert_int_equal(d->arr.n, 2); /* at most two versions, newest first */
	assert_string_equal(json_get_str(d->arr.v[0], "digest"), DIG3);
	assert_true(json_get(d->arr.v[0], "current")->b);
	assert_string_equal(json_get_str(d->arr.v[1], "digest"), DIG2);
	assert_false(json_get(d->arr.v[1], "current")->b);
	assert_int_equal(json_get(d->arr.v[0], "series")->arr.n, 1);
	json_free(d);
	/* no watch: nothing kept */
	struct rt_watch none = {0};
	rt_samples_set_watch(m, &none);
	d = doc(m, -1);
	assert_int_equal(d->arr.n, 0);
	json_free(d);
	rt_samples_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_since),
		cmocka_unit_test(test_watch_hostile),
		cmocka_unit_test(test_resets_and_lies),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_versions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
