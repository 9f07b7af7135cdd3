/* transport.h: how the rollout engine reaches its hosts and reads the time.
 *
 * The engine sends calls (an operation of rampd's API on one host of the
 * rollout, or a probe URL) and learns the answers through the calls'
 * callbacks, which run from step(). It never sleeps on its own: step() is
 * where it waits, at most timeout_ms. Its clock is now_ms().
 *
 * In production the transport is orch_client_transport() (orchestrator/
 * client: rampd's API over lib/http's fan-out, the monotonic clock). Unit
 * tests drive the engine with a scripted transport and a clock they move
 * (tests/unit/test_engine.c). */
#ifndef RAMP_ORCH_TRANSPORT_H
#define RAMP_ORCH_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "lib/http.h"
#include "orchestrator/hostapi.h"

/* One request of the API to one host (or a probe). */
struct orch_call {
	enum orch_op op;
	size_t host;       /* the host's index (the client's, the rollout's) */
	const char *app;   /* every op but APPS, INFO and PROBE */
	const char *body;  /* DEPLOY, REVERT, REMOVE (may be NULL): from orch_body_*() */
	unsigned tail;     /* LOGS: lines */
	int64_t since_ms;  /* METRICS: samples after this (unix ms; 0: all) */
	const char *url;   /* PROBE, QUERY: the URL, asked without the agent's token */
	bool keep;         /* the host will be asked again soon: keep its connection */
	http_req_cb cb;    /* runs exactly once, from step() */
	void *ctx;
	uint64_t tag;
};

/* The number in the call's path: LOGS' tail, METRICS' since. */
static inline uint64_t orch_call_arg(const struct orch_call *c)
{
	return c->op == ORCH_OP_METRICS ? (uint64_t)(c->since_ms > 0 ? c->since_ms : 0) : c->tail;
}

struct orch_transport {
	int (*call)(struct orch_transport *t, const struct orch_call *c, struct err *e);
	int (*step)(struct orch_transport *t, int timeout_ms, struct err *e);
	size_t (*busy)(const struct orch_transport *t); /* calls queued or in flight */
	int64_t (*now_ms)(struct orch_transport *t);    /* monotonic ms */
};

#endif
