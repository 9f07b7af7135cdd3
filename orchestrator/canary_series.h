/* canary_series.h: the canary analysis' series of a wave (engine_canary.c
 * records, engine_events.c emits): per metric, after each judgement, the
 * converted and baseline values of its shown test (the deciding one, or the
 * one furthest from passing) and the bound they are judged against. Kept
 * small whatever the wave's length: at most ORCH_SERIES_MAX points a
 * metric, spread evenly over the wave's judgements (when full, every other
 * point is dropped, the first kept, and from then on every other judgement
 * is kept), and the latest judgement always the last point: the deciding
 * one, once the decision has added it. The `series` events
 * (docs/ROLLOUT.md) carry them, one per metric, just before the wave's
 * `analysis` event. */
#ifndef RAMP_ORCH_CANARY_SERIES_H
#define RAMP_ORCH_CANARY_SERIES_H

#include <stddef.h>
#include <stdint.h>

#include "orchestrator/analysis.h"
#include "orchestrator/event.h"

#define ORCH_SERIES_MAX 64

struct orch_series;

/* For the metrics of c (which must outlive it); NULL when out of memory. */
struct orch_series *orch_series_new(const struct orch_an_config *c);
void orch_series_free(struct orch_series *s);
/* A wave starts: no points. */
void orch_series_reset(struct orch_series *s);
/* A judgement at ms since the wave started: a point per metric with a test
 * (a judgement at the same ms as the last point replaces it). */
void orch_series_add(struct orch_series *s, int64_t ms, const struct orch_an_result *res);
/* Metric k's points, oldest first (a view until the next add or reset). */
const struct orch_ev_point *orch_series_points(const struct orch_series *s, size_t k, size_t *n);
/* Metric k's name. */
const char *orch_series_name(const struct orch_series *s, size_t k);
size_t orch_series_metrics(const struct orch_series *s);

#endif
