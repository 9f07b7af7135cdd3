/* fuzz.h: what the fuzz targets share.
 *
 * Each tests/fuzz/fuzz_NAME.c defines LLVMFuzzerTestOneInput and is built
 * twice: with libFuzzer (`make fuzz`, clang, ASan+UBSan) to search for
 * crashes, and with replay.c (`make check`) to run its committed corpus
 * tests/fuzz/corpus/NAME as a regression test. A target checks the
 * invariants of what it feeds (round trips, nothing outside a scratch
 * directory changed) with FUZZ_CHECK, which aborts: a finding either way. */
#ifndef RAMP_FUZZ_H
#define RAMP_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond, ...)                                                                                        \
	do {                                                                                                         \
		if (!(cond)) {                                                                                       \
			fprintf(stderr, "%s:%d: invariant broken: %s: ", __FILE__, __LINE__, #cond);                \
			fprintf(stderr, __VA_ARGS__);                                                                \
			fputc('\n', stderr);                                                                         \
			abort();                                                                                     \
		}                                                                                                    \
	} while (0)

/* Parsers may warn about what they refuse; a fuzzer would print millions of lines. */
static inline void fuzz_quiet(void)
{
	log_set_level((enum log_level)0);
}

/* The input as a NUL-terminated string (cut at an embedded NUL, as C callers see it). */
static inline char *fuzz_str(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#endif
