/* plan.h: the wave plan: which hosts go in which wave.
 *
 * Waves grow geometrically (first, first*factor, ...; 1, 2, 4, ... by
 * default) or follow explicit cumulative steps ("1,2,10%,100%": after each
 * wave that many hosts, or that share of the fleet, run the new version).
 * Whatever the steps leave over forms a last wave. With a spread label the
 * host order interleaves the label's values, so that early waves touch
 * different failure domains. */
#ifndef RAMP_ORCH_PLAN_H
#define RAMP_ORCH_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/err.h"
#include "orchestrator/fleet.h"

#define ORCH_MAX_STEPS 64

struct orch_step {
	double value;
	bool percent;
};

struct orch_plan_opts {
	size_t first;   /* default 1 */
	double factor;  /* default 2; > 1 */
	const struct orch_step *steps; /* overrides first and factor */
	size_t n_steps;
	const char *spread; /* label name, or NULL */
};

struct orch_plan {
	size_t *order; /* host indices, in deployment order */
	size_t n;
	size_t *ends;  /* ends[w]: hosts converted once wave w (0-based) is done */
	size_t n_waves;
};

/* "1,2,10%,100%": positive numbers or percentages (up to 100%), increasing. */
int orch_steps_parse(const char *s, struct orch_step **steps, size_t *n, struct err *e);
int orch_plan_make(const struct orch_fleet *f, const struct orch_plan_opts *o, struct orch_plan *p, struct err *e);
void orch_plan_free(struct orch_plan *p);

#endif
