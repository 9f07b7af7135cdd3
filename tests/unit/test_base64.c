/* test_base64.c: lib/base64: both forms, and the spellings each refuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base64.h"

static void ok(const char *in, enum b64_form f, const char *want, size_t want_len)
{
	char *out;
	size_t n;
	struct err e;
	if (b64_decode(in, strlen(in), f, &out, &n, &e) < 0)
		fail_msg("\"%s\" refused: %s", in, e.msg);
	assert_int_equal(n, want_len);
	assert_memory_equal(out, want, n);
	free(out);
}

static void bad(const char *in, enum b64_form f, const char *why)
{
	char *out;
	size_t n;
	struct err e;
	if (b64_decode(in, strlen(in), f, &out, &n, &e) == 0)
		fail_msg("\"%s\" accepted", in);
	if (!strstr(e.msg, why))
		fail_msg("\"%s\": \"%s\" does not say \"%s\"", in, e.msg, why);
}

static void test_forms(void **state)
{
	(void)state;
	/* 0xfb 0xff 0xbf: "+/+/" in the standard alphabet, "-_-_" URL-safe */
	ok("+/+/", B64_STD, "\xfb\xff\xbf", 3);
	ok("+/+/", B64_ANY, "\xfb\xff\xbf", 3);
	ok("-_-_", B64_ANY, "\xfb\xff\xbf", 3);
	ok("YWI=", B64_STD, "ab", 2);
	ok("YWI=", B64_ANY, "ab", 2);
	ok("YWI", B64_ANY, "ab", 2); /* padding optional in DSSE */
	ok("YQ", B64_ANY, "a", 1);
	ok("", B64_ANY, "", 0);
	char *enc = b64_encode("\xfb\xff\xbf" "ab", 5);
	assert_string_equal(enc, "+/+/YWI=");
	free(enc);
}

static void test_refused(void **state)
{
	(void)state;
	bad("-_-_", B64_STD, "mixes"); /* URL-safe where only the standard form is allowed */
	bad("+/-_", B64_ANY, "mixes");
	bad("-_+/", B64_ANY, "mixes");
	bad("YWI", B64_STD, "length");
	bad("YWI==", B64_ANY, "length");
	bad("YQ=", B64_ANY, "length");
	bad("Y", B64_ANY, "quantum");
	bad("YWJj\n", B64_ANY, "0x0a");
	bad("YW I=", B64_ANY, "0x20");
	bad("YW=I", B64_ANY, "0x3d");
	bad("Y===", B64_ANY, "0x3d");
	bad("YR==", B64_ANY, "bits"); /* "a" is YQ==: R leaves a bit set */
	bad("YWJ=", B64_ANY, "bits");
	bad("YWJ", B64_ANY, "bits");
	bad("YW\xc3\xa9", B64_ANY, "0xc3");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
