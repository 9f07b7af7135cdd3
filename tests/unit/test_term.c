/* test_term.c: untrusted text made harmless for a terminal (lib/term). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/term.h"

static const char *esc(const char *s, size_t len, unsigned flags)
{
	static char out[1024];
	term_escape(s, len, flags, out, sizeof out, NULL);
	return out;
}
#define ESC(lit, flags) esc(lit, sizeof lit - 1, flags)

static void test_hostile(void **state)
{
	(void)state;
	/* window title, screen clear, cursor moves, a line rewritten by CR, BEL, DEL, NUL */
	assert_string_equal(ESC("\x1b]0;pwned\a", 0), "\\x1b]0;pwned\\x07");
	assert_string_equal(ESC("\x1b[2J\x1b[H", 0), "\\x1b[2J\\x1b[H");
	assert_string_equal(ESC("ok\rrampd: forged", 0), "ok\\rrampd: forged");
	assert_string_equal(ESC("a\nb", 0), "a\\nb");
	assert_string_equal(ESC("a\x7f\x00z", 0), "a\\x7f\\x00z");
	/* C1 controls, raw (0x9b is CSI to an 8-bit terminal) and UTF-8 encoded (U+009B) */
	assert_string_equal(ESC("\x9b" "31m", 0), "\\x9b31m");
	assert_string_equal(ESC("\xc2\x9b" "2J", 0), "\\xc2\\x9b2J");
	/* not UTF-8: overlong, surrogate, beyond U+10FFFF, cut short */
	assert_string_equal(ESC("\xc0\x8a", 0), "\\xc0\\x8a");
	assert_string_equal(ESC("\xed\xa0\x80", 0), "\\xed\\xa0\\x80");
	assert_string_equal(ESC("\xf4\x90\x80\x80", 0), "\\xf4\\x90\\x80\\x80");
	assert_string_equal(ESC("x\xe6\x97", 0), "x\\xe6\\x97");
	/* what is harmless stays */
	assert_string_equal(ESC("caf\xc3\xa9 \xe6\x97\xa5\xf0\x9f\x98\x80\tC:\\x", 0),
			    "caf\xc3\xa9 \xe6\x97\xa5\xf0\x9f\x98\x80\tC:\\x");
	assert_string_equal(ESC("\xc2\xa0nbsp", 0), "\xc2\xa0nbsp");
}

static void test_lines(void **state)
{
	(void)state;
	assert_string_equal(ESC("one\r\ntwo\n", TERM_LINES), "one\ntwo\n");
	assert_string_equal(ESC("one\rrampd: x\n", TERM_LINES), "one\\rrampd: x\n");
	assert_string_equal(ESC("a\r\r\n", TERM_LINES), "a\\r\n");
	assert_string_equal(ESC("end\r", TERM_LINES), "end\\r");
	assert_string_equal(ESC("\x1b[1A\x1b[2Krampd: forged\n", TERM_LINES), "\\x1b[1A\\x1b[2Krampd: forged\n");
}

static void test_bounds(void **state)
{
	(void)state;
	char out[8];
	size_t used;
	/* an escape is never cut in half; the rest is for the next call */
	size_t n = term_escape("ab\x1b\x1b", 4, 0, out, sizeof out, &used);
	assert_int_equal(n, 6);
	assert_string_equal(out, "ab\\x1b");
	assert_int_equal(used, 3);
	n = term_escape("\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5", 9, 0, out, sizeof out, &used);
	assert_int_equal(n, 6);
	assert_int_equal(used, 6);
	n = term_escape("abc", 3, 0, out, 1, &used);
	assert_int_equal(n, 0);
	assert_string_equal(out, "");
	assert_int_equal(used, 0);
}

static void test_printf(void **state)
{
	(void)state;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	/* fields are escaped, the line's own end stays */
	term_printf(f, "user %s\n", "\x1b]2;t\a\nramp: error: forged");
	/* longer than term_printf's stack buffer */
	char big[3000];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	big[10] = '\x1b';
	term_printf(f, "%s\n", big);
	/* whole streams, in chunks larger than the escape buffer */
	char *raw = malloc(20000);
	for (size_t i = 0; i < 20000; i++)
		raw[i] = i % 100 == 99 ? '\n' : i % 7 == 0 ? '\x1b' : 'y';
	assert_int_equal(term_fwrite(f, raw, 20000, TERM_LINES), 0);
	fclose(f);
	assert_memory_equal(buf, "user \\x1b]2;t\\x07\\nramp: error: forged\n", 39);
	const char *second = buf + 39;
	assert_int_equal(second[10], '\\');
	assert_int_equal(strchr(second, '\n') - second, 2999 + 3);
	size_t esc_count = 0, nl = 0;
	for (const char *p = strchr(second, '\n') + 1; *p; p++) {
		assert_true((unsigned char)*p >= 0x20 || *p == '\n');
		esc_count += !strncmp(p, "\\x1b", 4);
		nl += *p == '\n';
	}
	/* every ESC of the 20000 bytes, and every newline */
	size_t want = 0;
	for (size_t i = 0; i < 20000; i++)
		want += raw[i] == '\x1b';
	assert_int_equal(esc_count, want);
	assert_int_equal(nl, 200);
	free(raw);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_printf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
