/* fuzz_term.c: text escaped for a terminal (lib/term.h), as images', hosts'
 * and apps' text is before ramp prints it. The first byte picks the flags and
 * the output buffer's size; the rest is the text. */
#include "lib/term.h"
#include "tests/fuzz/fuzz.h"

/* The length of the well-formed UTF-8 sequence at s, 0 if none (a second,
   independent reading of RFC 3629). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t k = s[0] < 0x80 ? 1 : (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3 : (s[0] & 0xf8) == 0xf0 ? 4 : 0;
	if (!k || k > n)
		return 0;
	unsigned long cp = k == 1 ? s[0] : s[0] & (0x7f >> k);
	for (size_t i = 1; i < k; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	static const unsigned long min[] = {0, 0, 0x80, 0x800, 0x10000};
	if (cp < min[k] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned flags = data[0] & 1 ? TERM_LINES : 0;
	size_t cap = 1 + (size_t)(data[0] >> 1) * 8; /* 1 to 1017: escapes meet the edge */
	const char *text = (const char *)data + 1;
	size_t len = size - 1;
	char *out = malloc(cap);
	if (!out)
		abort();
	size_t done = 0;
	while (done < len) {
		size_t used;
		size_t n = term_escape(text + done, len - done, flags, out, cap, &used);
		FUZZ_CHECK(n < cap && out[n] == '\0' && strlen(out) == n, "length %zu in a buffer of %zu", n, cap);
		if (cap < 5)
			break; /* too small for an escape: it may make no progress, which is allowed */
		FUZZ_CHECK(used > 0, "no progress with a buffer of %zu", cap);
		/* nothing a terminal would act on: C0 (but a tab, and a newline with TERM_LINES),
		   DEL, C1, bytes that are not UTF-8 */
		const unsigned char *u = (const unsigned char *)out;
		for (size_t i = 0; i < n;) {
			size_t k = utf8_len(u + i, n - i);
			FUZZ_CHECK(k > 0, "byte 0x%02x at %zu is not UTF-8", u[i], i);
			FUZZ_CHECK(k > 1 || u[i] >= 0x20 || u[i] == '\t' || (u[i] == '\n' && flags), "control 0x%02x", u[i]);
			FUZZ_CHECK(u[i] != 0x7f && !(k == 2 && u[i] == 0xc2 && u[i + 1] < 0xa0), "DEL or C1 at %zu", i);
			i += k;
		}
		done += used;
	}
	free(out);
	return 0;
}
