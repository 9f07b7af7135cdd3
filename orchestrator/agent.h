/* agent.h: the HTTP client of the orchestrator: requests to rampd agents and
 * orchestrator-side health probes, many in flight at once.
 *
 * Built on libcurl's multi interface (this is the only file pair in
 * orchestrator/ that includes curl). Requests beyond max_parallel wait in a
 * queue (holding no curl handle); connections are kept for reuse (HTTP/1.1
 * keep-alive), up to max_idle of them, so that polling a host again does not
 * connect again. libcurl (7.88) walks every connection of a multi handle's
 * cache each time a transfer is removed from it or a new connection pushes
 * an old one out, so one cache holding a connection per host of a
 * 10,000-host fleet would make every request cost 10,000 steps. The agent
 * therefore spreads them over several multi handles of at most
 * ORCH_AGENT_SHARD connections each; a request's key (the host's index)
 * picks its handle, so a host always finds its own connection again.
 * Requests marked `once` do not enter the cache at all. (One epoll set and
 * one loop serve all the handles.)
 * Completion callbacks run from orch_agent_step(), never from inside curl. */
#ifndef RAMP_ORCH_AGENT_H
#define RAMP_ORCH_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

/* connections cached per libcurl multi handle */
#define ORCH_AGENT_SHARD 64

struct orch_agent_opts {
	size_t max_parallel;    /* transfers in flight (default 64) */
	size_t max_idle;        /* connections kept open for reuse (default 2 x max_parallel);
				 * up to one per host of a fleet is fine (see above) */
	long timeout_ms;        /* whole request (default 10 s) */
	long connect_timeout_ms; /* default: timeout_ms */
	const char *cacert;     /* CA bundle for https, or NULL for the system's */
};

struct orch_resp {
	long status;        /* HTTP status; 0 when the request failed (error says why) */
	const char *error;
	const char *body;   /* NUL-terminated; at most max_body bytes */
	size_t len;
	bool truncated;     /* the body was longer than max_body (only when allowed) */
	int64_t ms;         /* time from start to completion */
};

/* tag: the caller's own number (host index, request kind, ...). */
typedef void (*orch_agent_cb)(void *ctx, uint64_t tag, const struct orch_resp *r);

struct orch_req {
	const char *method;    /* GET, PUT, POST, DELETE */
	const char *url;
	const char *unix_path; /* connect to this unix socket instead, or NULL */
	const char *token;     /* bearer token, or NULL */
	const char *body;      /* JSON request body, or NULL */
	size_t max_body;       /* response bytes kept (default 1 MiB) */
	bool truncate_ok;      /* a longer body is cut, not an error (probes) */
	bool once;             /* close the connection after: no reuse expected */
	size_t key;            /* the same key for the same host (e.g. its index): see above */
	orch_agent_cb cb;
	void *ctx;
	uint64_t tag;
};

struct orch_agent;

struct orch_agent *orch_agent_new(const struct orch_agent_opts *o, struct err *e);
void orch_agent_free(struct orch_agent *a);
/* Queue a request (strings are copied). The callback runs exactly once. */
int orch_agent_submit(struct orch_agent *a, const struct orch_req *r, struct err *e);
/* Move transfers along, waiting at most timeout_ms for activity, then run the
 * callbacks of what completed. */
int orch_agent_step(struct orch_agent *a, int timeout_ms, struct err *e);
/* Requests queued or in flight. */
size_t orch_agent_busy(const struct orch_agent *a);

#endif
