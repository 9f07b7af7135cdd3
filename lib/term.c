/* term.c: visible escapes for untrusted text on a terminal (see term.h). */
#include "lib/term.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlong forms,
   no surrogates, nothing above U+10FFFF) that is not a C1 control; 0 when the
   byte at s must be escaped. */
static size_t utf8_ok(const unsigned char *s, size_t len)
{
	unsigned c = s[0];
	size_t n;
	uint32_t cp, min;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f, min = 0xa0; /* below U+00A0: C1 controls */
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07, min = 0x10000;
	else
		return 0;
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

size_t term_escape(const char *s, size_t len, unsigned flags, char *out, size_t cap, size_t *used)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, o = 0;
	while (i < len) {
		unsigned char c = u[i];
		char esc[8];
		const char *add = esc;
		size_t n = 1, k;
		if (c == '\r' && (flags & TERM_LINES) && i + 1 < len && u[i + 1] == '\n') {
			add = "", k = 0;
		} else if ((c >= 0x20 && c < 0x7f) || c == '\t' || (c == '\n' && (flags & TERM_LINES))) {
			add = s + i, k = 1;
		} else if (c >= 0x80 && (n = utf8_ok(u + i, len - i)) > 0) {
			add = s + i, k = n;
		} else {
			n = 1;
			k = c == '\n' ? (size_t)snprintf(esc, sizeof esc, "\\n")
			    : c == '\r' ? (size_t)snprintf(esc, sizeof esc, "\\r")
					: (size_t)snprintf(esc, sizeof esc, "\\x%02x", c);
		}
		if (o + k + 1 > cap)
			break;
		memcpy(out + o, add, k);
		o += k;
		i += n;
	}
	if (cap)
		out[o] = '\0';
	if (used)
		*used = i;
	return o;
}

int term_fwrite(FILE *f, const char *s, size_t len, unsigned flags)
{
	char buf[4096];
	while (len > 0) {
		size_t used;
		size_t n = term_escape(s, len, flags, buf, sizeof buf, &used);
		if (fwrite(buf, 1, n, f) != n)
			return -1;
		s += used;
		len -= used;
	}
	return 0;
}

int term_printf(FILE *f, const char *fmt, ...)
{
	char stack[1024], *p = stack;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(stack, sizeof stack, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n >= sizeof stack) {
		if (!(p = malloc((size_t)n + 1)))
			return -1;
		va_start(ap, fmt);
		vsnprintf(p, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	bool nl = n > 0 && p[n - 1] == '\n';
	int r = term_fwrite(f, p, (size_t)n - nl, 0);
	if (r == 0 && nl && fputc('\n', f) == EOF)
		r = -1;
	if (p != stack)
		free(p);
	return r;
}
