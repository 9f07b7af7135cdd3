/* status.h: fleet status: one request per host, all in parallel, and what
 * each host says it runs (one row per host and app). */
#ifndef RAMP_ORCH_STATUS_H
#define RAMP_ORCH_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "orchestrator/fleet.h"
#include "orchestrator/rollout.h"

struct orch_view {
	size_t host;      /* index in the fleet */
	bool reachable;
	char error[256];  /* when not reachable, or the app could not be read */
	char app[64];     /* "" when the host runs no app */
	char current[72];
	char phase[16];
	bool healthy;
	char since[40];
	int64_t generation;
	char rollout[129];
	char message[256];
};

/* app NULL: every app of every host. Rows are sorted by host, then app. */
int orch_fleet_status(const struct orch_fleet *f, const char *app, const struct orch_opts *o, struct orch_view **rows,
		      size_t *n_rows, struct err *e);

#endif
