/* test_clock_strv.c: the clock (lib/clock: RFC 3339 timestamps, monotonic
 * time) and the string list (lib/strv). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "lib/clock.h"
#include "lib/strv.h"

static void test_rfc3339(void **state)
{
	(void)state;
	char b[CLK_RFC3339_MAX];
	assert_int_equal(clk_rfc3339(0, false, b, sizeof b), 0);
	assert_string_equal(b, "1970-01-01T00:00:00Z");
	assert_int_equal(clk_rfc3339(1795688104123, true, b, sizeof b), 0);
	assert_string_equal(b, "2026-11-26T10:15:04.123Z");
	assert_int_equal(clk_rfc3339(1795688104123, false, b, sizeof b), 0);
	assert_string_equal(b, "2026-11-26T10:15:04Z");
	/* before the epoch the millis stay positive: -1 ms is the last ms of 1969 */
	assert_int_equal(clk_rfc3339(-1, true, b, sizeof b), 0);
	assert_string_equal(b, "1969-12-31T23:59:59.999Z");
	/* the last second RFC 3339 can write, and one after it */
	assert_int_equal(clk_rfc3339(253402300799000LL, false, b, sizeof b), 0);
	assert_string_equal(b, "9999-12-31T23:59:59Z");
	assert_int_equal(clk_rfc3339(253402300800000LL, false, b, sizeof b), -1);
	assert_string_equal(b, "");
	/* a buffer too small is an error, not a cut timestamp */
	char small[20];
	assert_int_equal(clk_rfc3339(0, false, small, sizeof small), -1);
	assert_string_equal(small, "");
}

static void test_mono(void **state)
{
	(void)state;
	int64_t a = clk_mono_ms(), n = clk_mono_ns(), b = clk_mono_ms();
	assert_true(a <= b);
	assert_true(n / 1000000 >= a && n / 1000000 <= b);
	assert_true(clk_wall_ms() > 1700000000000LL); /* after 2023 */
}

static void test_strv(void **state)
{
	(void)state;
	struct err e;
	struct strv l = {0}, c;
	assert_int_equal(strv_push(&l, "a", &e), 0);
	assert_int_equal(strv_add_unique(&l, "b", &e), 0);
	assert_int_equal(strv_add_unique(&l, "a", &e), 0);
	assert_int_equal(l.n, 2);
	assert_null(l.v[2]); /* NULL-terminated, for execv */
	assert_true(strv_contains(&l, "b"));
	assert_false(strv_contains(&l, "c"));
	assert_int_equal(strv_copy(&c, &l, &e), 0);
	assert_int_equal(c.n, 2);
	assert_ptr_not_equal(c.v[0], l.v[0]);
	assert_string_equal(c.v[1], "b");
	assert_null(c.v[2]);
	strv_free(&l);
	assert_null(l.v);
	assert_int_equal(l.n, 0);
	strv_free(&c);
	strv_free(&c); /* freeing twice is harmless */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc3339),
		cmocka_unit_test(test_mono),
		cmocka_unit_test(test_strv),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
