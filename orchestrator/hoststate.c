/* hoststate.c: host states and their legal transitions (see hoststate.h). */
#include "orchestrator/hoststate.h"

#include <stdlib.h>
#include <string.h>

#include "lib/log.h"

static const char *const names[ORCH_HS_COUNT] = {
	"pending", "deploying", "healthy", "baked", "failed", "unreachable", "reverting", "reverted", "revert_failed",
	"skipped",
};

#define B(s) (1u << (s))

/* legal[from]: the states a host may go to from there, and why */
static const unsigned legal[ORCH_HS_COUNT] = {
	/* its wave starts; unreachable at the precheck within --max-unreachable, or
	   (fleet revert) the app is absent, not ready, or put back at once */
	[ORCH_HS_PENDING] = B(ORCH_HS_DEPLOYING) | B(ORCH_HS_SKIPPED) | B(ORCH_HS_REVERTING) | B(ORCH_HS_REVERT_FAILED),
	/* healthy; failed or silent; the rollout reverts; (resume) its wave passed meanwhile */
	[ORCH_HS_DEPLOYING] = B(ORCH_HS_HEALTHY) | B(ORCH_HS_FAILED) | B(ORCH_HS_UNREACHABLE) | B(ORCH_HS_REVERTING) |
			      B(ORCH_HS_BAKED),
	/* baked; failed during its bake; the rollout reverts; (resume) the wave starts over */
	[ORCH_HS_HEALTHY] = B(ORCH_HS_BAKED) | B(ORCH_HS_FAILED) | B(ORCH_HS_UNREACHABLE) | B(ORCH_HS_REVERTING) |
			    B(ORCH_HS_DEPLOYING),
	/* watched until the end: it may still fail; the rollout reverts; (resume) its wave starts over */
	[ORCH_HS_BAKED] = B(ORCH_HS_FAILED) | B(ORCH_HS_UNREACHABLE) | B(ORCH_HS_REVERTING) | B(ORCH_HS_DEPLOYING),
	/* put back on its own (within the budget) or with the others */
	[ORCH_HS_FAILED] = B(ORCH_HS_REVERTING),
	[ORCH_HS_UNREACHABLE] = B(ORCH_HS_REVERTING),
	[ORCH_HS_REVERTING] = B(ORCH_HS_REVERTED) | B(ORCH_HS_REVERT_FAILED),
	/* (resume, abort) tried again */
	[ORCH_HS_REVERT_FAILED] = B(ORCH_HS_REVERTING),
	[ORCH_HS_REVERTED] = 0,
	[ORCH_HS_SKIPPED] = 0,
};

const char *orch_hs_name(enum orch_hs s)
{
	return s < ORCH_HS_COUNT ? names[s] : "?";
}

int orch_hs_parse(const char *s)
{
	for (int i = 0; i < ORCH_HS_COUNT; i++)
		if (!strcmp(s, names[i]))
			return i;
	return -1;
}

bool orch_hs_legal(enum orch_hs from, enum orch_hs to)
{
	return from < ORCH_HS_COUNT && to < ORCH_HS_COUNT && (from == to || (legal[from] & B(to)));
}

static void illegal_default(const char *name, enum orch_hs from, enum orch_hs to)
{
	log_err("bug: host %s went from %s to %s, which the engine must not do", name, orch_hs_name(from),
		orch_hs_name(to));
#ifdef RAMP_DEBUG
	abort();
#endif
}

static orch_hs_illegal_fn on_illegal = illegal_default;

void orch_hs_on_illegal(orch_hs_illegal_fn fn)
{
	on_illegal = fn ? fn : illegal_default;
}

void orch_hs_set(uint8_t *states, size_t i, const char *name, enum orch_hs to)
{
	enum orch_hs from = (enum orch_hs)states[i];
	if (from == to)
		return;
	if (!orch_hs_legal(from, to))
		on_illegal(name, from, to);
	log_debug("host %s: %s -> %s", name, orch_hs_name(from), orch_hs_name(to));
	states[i] = (uint8_t)to;
}
