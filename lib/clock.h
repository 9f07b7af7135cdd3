/* clock.h: the one clock of the code base: monotonic time for durations and
 * timers, wall-clock time for what people read, and RFC 3339 timestamps.
 *
 *   clk_mono_ms()   CLOCK_MONOTONIC in ms (timers, deadlines, durations)
 *   clk_mono_ns()   the same in ns (probe latencies)
 *   clk_wall_ms()   CLOCK_REALTIME in ms since the Unix epoch
 *   clk_rfc3339()   "2026-11-26T10:15:04Z", or "…04.123Z" with millis */
#ifndef RAMP_CLOCK_H
#define RAMP_CLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* the longest clk_rfc3339() writes, with its NUL */
#define CLK_RFC3339_MAX 32

int64_t clk_mono_ms(void);
int64_t clk_mono_ns(void);
int64_t clk_wall_ms(void);
/* Unix ms as RFC 3339 UTC, with millis when asked; -1 (buf "") when the year
 * is out of range or buf is too small. */
int clk_rfc3339(int64_t unix_ms, bool millis, char *buf, size_t cap);

#endif
