/* metrics.h: rampd's Prometheus metrics (text exposition format 0.0.4), the
 * names listed in docs/API.md. Counters that are not per app live here. */
#ifndef RAMP_RT_METRICS_H
#define RAMP_RT_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

struct rt_daemon;

/* Add a finished (or failed) pull's bytes and duration. Thread-safe. */
void rt_metrics_pull(uint64_t bytes, int64_t ms);

/* The whole page; *out is malloc'd. */
int rt_metrics_text(struct rt_daemon *d, char **out, size_t *len, struct err *e);

#endif
