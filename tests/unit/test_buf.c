/* test_buf.c: geometric growth of byte buffers (lib/buf): the first
 * allocation, doubling that keeps the bytes, a need met exactly, the limit,
 * and sizes that would overflow a size_t refused with the buffer unchanged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/buf.h"

static void test_first(void **state)
{
	(void)state;
	char *b = NULL;
	size_t cap = 0;
	assert_int_equal(buf_grow(&b, &cap, 1, 16, SIZE_MAX), 0);
	assert_non_null(b);
	assert_int_equal(cap, 16);
	memset(b, 'x', cap); /* all of it is ours (ASan would say otherwise) */
	free(b);
	/* a first need over first doubles from it */
	b = NULL, cap = 0;
	assert_int_equal(buf_grow(&b, &cap, 40, 16, SIZE_MAX), 0);
	assert_int_equal(cap, 64);
	free(b);
}

static void test_doubling(void **state)
{
	(void)state;
	char *b = NULL;
	size_t cap = 0;
	assert_int_equal(buf_grow(&b, &cap, 16, 16, SIZE_MAX), 0);
	for (size_t i = 0; i < 16; i++)
		b[i] = (char)('a' + i);
	assert_int_equal(buf_grow(&b, &cap, 17, 16, SIZE_MAX), 0);
	assert_int_equal(cap, 32);
	/* several doublings at once, from the capacity, not from first */
	assert_int_equal(buf_grow(&b, &cap, 100, 3, SIZE_MAX), 0);
	assert_int_equal(cap, 128);
	for (size_t i = 0; i < 16; i++)
		assert_int_equal(b[i], 'a' + i);
	free(b);
}

static void test_exact(void **state)
{
	(void)state;
	char *b = NULL;
	size_t cap = 0;
	assert_int_equal(buf_grow(&b, &cap, 32, 32, SIZE_MAX), 0);
	assert_int_equal(cap, 32);
	/* a need the buffer meets already changes nothing */
	char *was = b;
	assert_int_equal(buf_grow(&b, &cap, 32, 32, SIZE_MAX), 0);
	assert_ptr_equal(b, was);
	assert_int_equal(cap, 32);
	assert_int_equal(buf_grow(&b, &cap, 0, 32, SIZE_MAX), 0);
	assert_int_equal(cap, 32);
	/* a need that a doubling meets exactly gets that much, no more */
	assert_int_equal(buf_grow(&b, &cap, 64, 32, SIZE_MAX), 0);
	assert_int_equal(cap, 64);
	free(b);
}

static void test_limit(void **state)
{
	(void)state;
	char *b = NULL;
	size_t cap = 0;
	/* first over the limit: the limit */
	assert_int_equal(buf_grow(&b, &cap, 5, 16, 10), 0);
	assert_int_equal(cap, 10);
	/* a doubling past the limit stops at it, exactly */
	assert_int_equal(buf_grow(&b, &cap, 11, 16, 25), 0);
	assert_int_equal(cap, 20);
	assert_int_equal(buf_grow(&b, &cap, 21, 16, 25), 0);
	assert_int_equal(cap, 25);
	memset(b, 'x', cap);
	/* a need over the limit is refused, the buffer unchanged */
	char *was = b;
	assert_int_equal(buf_grow(&b, &cap, 26, 16, 25), -1);
	assert_ptr_equal(b, was);
	assert_int_equal(cap, 25);
	free(b);
}

static void test_overflow(void **state)
{
	(void)state;
	char *b = NULL;
	size_t cap = 0;
	alarm(10); /* a doubling that wrapped to 0 would loop for ever */
	assert_int_equal(buf_grow(&b, &cap, 3, 16, SIZE_MAX), 0);
	memcpy(b, "abc", 3);
	char *was = b;
	/* 16 doubled reaches SIZE_MAX / 2 + 1 and then would wrap */
	const size_t needs[] = {SIZE_MAX / 2 + 2, SIZE_MAX};
	for (size_t i = 0; i < sizeof needs / sizeof *needs; i++) {
		assert_int_equal(buf_grow(&b, &cap, needs[i], 16, SIZE_MAX), -1);
		assert_ptr_equal(b, was);
		assert_int_equal(cap, 16);
		assert_memory_equal(b, "abc", 3);
	}
	/* the same from nothing */
	char *none = NULL;
	size_t ncap = 0;
	assert_int_equal(buf_grow(&none, &ncap, SIZE_MAX, 4096, SIZE_MAX), -1);
	assert_null(none);
	assert_int_equal(ncap, 0);
	alarm(0);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first),
		cmocka_unit_test(test_doubling),
		cmocka_unit_test(test_exact),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_overflow),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
