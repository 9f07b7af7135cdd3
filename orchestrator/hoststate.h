/* hoststate.h: a host's state in a rollout, and the one function that
 * changes it.
 *
 * The engine changes a host's state only through orch_hs_set(), which checks
 * the change against the table of legal transitions (hoststate.c) and traces
 * it at debug level (`ramp -vv rollout`). An illegal transition is a bug in
 * the engine: it is logged as one and, in debug builds (SANITIZE=1) and the
 * engine's unit tests, stops the program. The journal's replay restores
 * states as the journal recorded them (it does not re-run transitions).
 *
 *   pending ──► deploying ──► healthy ──► baked
 *      │            │            │          │
 *      │            └──────┬─────┴──────────┘
 *      │                   ▼
 *      │          failed, unreachable ──► reverting ──► reverted
 *      │                                    ▲   │
 *      └─► skipped                          │   └──► revert_failed ─┐
 *                                           └───────────────────────┘
 * (deploying, healthy and baked may also go straight to reverting, when the
 * whole rollout is reverted; a resumed rollout starts its wave over.) */
#ifndef RAMP_ORCH_HOSTSTATE_H
#define RAMP_ORCH_HOSTSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A host's state in a rollout, named in events and summaries. */
enum orch_hs {
	ORCH_HS_PENDING,       /* "pending": its wave has not started */
	ORCH_HS_DEPLOYING,     /* "deploying": told to switch, not healthy yet */
	ORCH_HS_HEALTHY,       /* "healthy": reports healthy, baking */
	ORCH_HS_BAKED,         /* "baked": passed; watched until the end */
	ORCH_HS_FAILED,        /* "failed": unhealthy, crashed, late, or a probe failed */
	ORCH_HS_UNREACHABLE,   /* "unreachable": stopped answering */
	ORCH_HS_REVERTING,     /* "reverting" */
	ORCH_HS_REVERTED,      /* "reverted": back on its previous version (or app removed), healthy */
	ORCH_HS_REVERT_FAILED, /* "revert_failed": could not be put back */
	ORCH_HS_SKIPPED,       /* "skipped": nothing to do there (unreachable at the precheck, or app absent) */
	ORCH_HS_COUNT
};
const char *orch_hs_name(enum orch_hs s);
int orch_hs_parse(const char *s); /* -1 when unknown */

/* Whether the engine may move a host from one state to the other (staying
 * where it is always may). */
bool orch_hs_legal(enum orch_hs from, enum orch_hs to);

/* Move host i (named name, for the trace) of states[] to `to`. */
void orch_hs_set(uint8_t *states, size_t i, const char *name, enum orch_hs to);

/* What an illegal transition does: by default log it (debug builds: abort);
 * the engine's tests make it fail the test. */
typedef void (*orch_hs_illegal_fn)(const char *name, enum orch_hs from, enum orch_hs to);
void orch_hs_on_illegal(orch_hs_illegal_fn fn);

#endif
