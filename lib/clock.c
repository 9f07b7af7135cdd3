/* clock.c: monotonic and wall-clock time, RFC 3339 (see clock.h). */
#include "lib/clock.h"

#include <stdio.h>
#include <time.h>

int64_t clk_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t clk_mono_ms(void)
{
	return clk_mono_ns() / 1000000;
}

int64_t clk_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int clk_rfc3339(int64_t unix_ms, bool millis, char *buf, size_t cap)
{
	/* floor division: a time before 1970 keeps its millis positive */
	int64_t s = unix_ms / 1000, ms = unix_ms % 1000;
	if (ms < 0) {
		s--;
		ms += 1000;
	}
	time_t t = (time_t)s;
	struct tm tm;
	char sec[24];
	if (cap)
		buf[0] = '\0';
	if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0 ||
	    !strftime(sec, sizeof sec, "%Y-%m-%dT%H:%M:%S", &tm))
		return -1;
	int n = millis ? snprintf(buf, cap, "%s.%03dZ", sec, (int)ms) : snprintf(buf, cap, "%sZ", sec);
	if (n < 0 || (size_t)n >= cap) {
		if (cap)
			buf[0] = '\0';
		return -1;
	}
	return 0;
}
