/* test_canary_series.c: the canary analysis' series of a wave
 * (orchestrator/canary_series): a point per judgement and metric, the same
 * moment judged again replaces its point, metrics without a test yet have
 * none, a full series is thinned to every other point and the latest
 * judgement (the deciding one) is always the last point, never more than
 * ORCH_SERIES_MAX. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "orchestrator/canary_series.h"

static struct orch_an_metric metrics[2] = {{.name = "errors"}, {.name = "latency"}};
static const struct orch_an_config cfg = {metrics, 2};

/* a judgement: errors at conv, baseline 1, allowed 1.5; latency without a
 * test yet unless `both` */
static const struct orch_an_result *judge(double conv, bool both)
{
	static struct orch_an_test t[2][2];
	static struct orch_an_metric_result mr[2];
	static struct orch_an_result res;
	t[0][0] = (struct orch_an_test){.conv = -1}; /* not the shown one */
	t[0][1] = (struct orch_an_test){.conv = conv, .base = 1, .allowed = 1.5};
	t[1][0] = (struct orch_an_test){.conv = 2, .base = 2, .allowed = NAN};
	mr[0] = (struct orch_an_metric_result){.m = &metrics[0], .tests = t[0], .n_tests = 2, .shown = 1};
	mr[1] = (struct orch_an_metric_result){.m = &metrics[1], .tests = t[1], .n_tests = both, .shown = 0};
	res = (struct orch_an_result){.metrics = mr, .n = 2};
	return &res;
}

static void test_points(void **state)
{
	(void)state;
	struct orch_series *s = orch_series_new(&cfg);
	size_t n;
	assert_non_null(s);
	assert_int_equal(orch_series_metrics(s), 2);
	assert_string_equal(orch_series_name(s, 1), "latency");
	orch_series_add(s, 1000, judge(0.5, false));
	orch_series_add(s, 2000, judge(0.7, true));
	const struct orch_ev_point *p = orch_series_points(s, 0, &n);
	assert_int_equal(n, 2);
	assert_int_equal(p[0].ms, 1000);
	assert_true(p[0].conv == 0.5 && p[0].base == 1 && p[0].allowed == 1.5); /* the shown test's */
	assert_int_equal(p[1].ms, 2000);
	/* latency: only the judgement that had a test */
	p = orch_series_points(s, 1, &n);
	assert_int_equal(n, 1);
	assert_true(p[0].ms == 2000 && p[0].conv == 2 && isnan(p[0].allowed));
	/* the decision at the moment of the last judgement replaces it */
	orch_series_add(s, 2000, judge(0.9, true));
	p = orch_series_points(s, 0, &n);
	assert_int_equal(n, 2);
	assert_true(p[1].conv == 0.9);
	/* a new wave starts empty */
	orch_series_reset(s);
	orch_series_points(s, 0, &n);
	assert_int_equal(n, 0);
	orch_series_points(s, 5, &n); /* no such metric */
	assert_int_equal(n, 0);
	orch_series_free(s);
}

static void test_thinning(void **state)
{
	(void)state;
	struct orch_series *s = orch_series_new(&cfg);
	size_t n;
	/* a long wave: 1000 judgements a second apart, then the decision */
	for (int64_t i = 0; i < 1000; i++) {
		orch_series_add(s, i * 1000, judge((double)i, false));
		const struct orch_ev_point *p = orch_series_points(s, 0, &n);
		assert_true(n >= 1 && n <= ORCH_SERIES_MAX);
		assert_int_equal(p[n - 1].ms, i * 1000); /* the latest is always there, last */
		assert_int_equal(p[0].ms, 0);              /* and the first */
		for (size_t k = 1; k < n; k++)
			assert_true(p[k].ms > p[k - 1].ms);
	}
	orch_series_add(s, 1000500, judge(-7, false));
	const struct orch_ev_point *p = orch_series_points(s, 0, &n);
	assert_true(n <= ORCH_SERIES_MAX);
	assert_true(p[n - 1].ms == 1000500 && p[n - 1].conv == -7);
	/* spread evenly over the whole wave: at least half full, no gap wider than a sixteenth of it */
	assert_true(n >= ORCH_SERIES_MAX / 2);
	for (size_t k = 1; k < n; k++)
		assert_true(p[k].ms - p[k - 1].ms <= 1000500 / 16);
	for (size_t k = 2; k + 1 < n; k++)
		assert_int_equal(p[k].ms - p[k - 1].ms, p[1].ms - p[0].ms);
	/* full, then one more: every other point kept, then the new one */
	orch_series_reset(s);
	for (int64_t i = 0; i < ORCH_SERIES_MAX - 1; i++)
		orch_series_add(s, i, judge((double)i, false));
	orch_series_points(s, 0, &n);
	assert_int_equal(n, ORCH_SERIES_MAX - 1);
	orch_series_add(s, 100, judge(100, false));
	p = orch_series_points(s, 0, &n);
	assert_int_equal(n, ORCH_SERIES_MAX / 2 + 1);
	for (size_t k = 0; k < ORCH_SERIES_MAX / 2; k++)
		assert_int_equal(p[k].ms, (int64_t)(2 * k));
	assert_int_equal(p[n - 1].ms, 100);
	/* the next judgement replaces that one, being every other: kept */
	orch_series_add(s, 101, judge(101, false));
	orch_series_add(s, 102, judge(102, false));
	p = orch_series_points(s, 0, &n);
	assert_int_equal(n, ORCH_SERIES_MAX / 2 + 2);
	assert_int_equal(p[n - 2].ms, 101);
	assert_int_equal(p[n - 1].ms, 102);
	orch_series_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_points),
		cmocka_unit_test(test_thinning),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
