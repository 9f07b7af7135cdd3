/* client.h: the one client of rampd's API: `ramp rollout`, `ramp revert`,
 * `ramp fleet status` and `ramp host` all talk to rampd through it.
 *
 * A client knows its hosts (orch_host: an address or a unix socket, and the
 * token file of its label token_file=, else the client's), builds each
 * request from orchestrator/hostapi (method, path, body) and sends it over
 * lib/http's fan-out, many at once. Tokens are read with orch_token(), once
 * per file.
 *
 * Connections: with `reuse`, a host keeps its connection from one request to
 * the next when the descriptor limit allows one per host (and at most
 * ORCH_KEEP_TLS hosts are on TLS: a kept TLS connection costs about 100 KB);
 * otherwise, in a fleet of more than 2 x max_parallel hosts, only calls
 * marked `keep` keep theirs. Without `reuse` every connection is closed
 * after its request (one look at every host, as fleet status does). */
#ifndef RAMP_ORCH_CLIENT_H
#define RAMP_ORCH_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "orchestrator/fleet.h"
#include "orchestrator/transport.h"

/* at most this many hosts on TLS keep their connection all along (memory) */
#define ORCH_KEEP_TLS 1024

struct orch_client_opts {
	size_t max_parallel;    /* requests in flight (64) */
	long timeout_ms;        /* one request (10 s) */
	long connect_timeout_ms; /* its connect (default: timeout_ms) */
	const char *cacert;     /* CA for agents on https; also makes https the default scheme */
	const char *token_file; /* for hosts without a token_file label; NULL: none */
	bool reuse;             /* keep connections for later requests (see above) */
	bool probes;            /* probe URLs will be asked too: a second connection per host */
};

struct orch_client;

/* A client for these hosts (copied); their indexes are those of orch_call.host. */
struct orch_client *orch_client_new(const struct orch_client_opts *o, const struct orch_host *hosts, size_t n,
				    struct err *e);
void orch_client_free(struct orch_client *c);
/* The client as the engine's transport (valid as long as c). */
struct orch_transport *orch_client_transport(struct orch_client *c);

/* Send a call; its callback runs from orch_client_step(). */
int orch_client_call(struct orch_client *c, const struct orch_call *call, struct err *e);
int orch_client_step(struct orch_client *c, int timeout_ms, struct err *e);
size_t orch_client_busy(const struct orch_client *c);

/* One call, waited for: an answer arrived (any status: *status, *body
 * NUL-terminated, caller frees), or -1 when the request failed. call->cb is
 * not used. */
int orch_client_run(struct orch_client *c, const struct orch_call *call, long *status, char **body, size_t *len,
		    struct err *e);

#endif
