/* fuzz_applog.c: the line assembly of an app's output (runtime/rampd/applog.h),
 * which reads whatever an app writes. The first byte picks how the rest is cut
 * into reads (as a pipe may deliver it); every line comes out whole, without a
 * newline, at most RT_APPLOG_LINE_MAX long, and the lines joined are the input
 * without its newlines. */
#include "runtime/rampd/applog.h"
#include "tests/fuzz/fuzz.h"

struct seen {
	char *joined;
	size_t len, lines;
};

static void emit(void *ctx, const char *line, size_t len)
{
	struct seen *s = ctx;
	FUZZ_CHECK(len <= RT_APPLOG_LINE_MAX, "a line of %zu bytes", len);
	FUZZ_CHECK(!memchr(line, '\n', len), "a newline inside a line");
	memcpy(s->joined + s->len, line, len);
	s->len += len;
	s->lines++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t step = 1 + data[0] * 67u; /* 1 to 17086: around RT_APPLOG_LINE_MAX */
	const char *in = (const char *)data + 1;
	size_t len = size - 1;
	struct rt_applog_lines *lines = calloc(1, sizeof *lines);
	struct seen s = {.joined = malloc(len + 1)};
	if (!lines || !s.joined)
		abort();
	for (size_t i = 0; i < len; i += step)
		rt_applog_split(lines, in + i, len - i < step ? len - i : step, emit, &s);
	rt_applog_split_flush(lines, emit, &s);
	size_t nl = 0, k = 0;
	for (size_t i = 0; i < len; i++) {
		if (in[i] == '\n') {
			nl++;
			continue;
		}
		FUZZ_CHECK(k < s.len && s.joined[k] == in[i], "byte %zu of the input is not where it belongs", i);
		k++;
	}
	FUZZ_CHECK(k == s.len, "%zu bytes out for %zu in", s.len, k);
	FUZZ_CHECK(s.lines >= nl, "%zu lines for %zu newlines", s.lines, nl);
	free(s.joined);
	free(lines);
	return 0;
}
