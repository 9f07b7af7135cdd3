/* http.h: the HTTP client of the code base, on libcurl: lib/http.c and
 * lib/http_fanout.c are the only files that include curl.
 *
 * Two ways to use it:
 * - transfers (http.c), for registries: a client owns one connection pool (a
 *   curl multi handle); transfers run one at a time (http_perform) or many in
 *   parallel (http_start + http_wait) over the same pool, with streaming
 *   bodies, redirects, ranges and every response header;
 * - the fan-out (http_fanout.c), for rampd's API: many small requests at
 *   once (one per host of a fleet of thousands), answered through callbacks,
 *   over unix sockets too (see "Fan-out" below).
 * Responses are untrusted: bodies kept in memory are bounded, header blocks
 * are bounded, and the body of an error response never reaches a streaming
 * sink (it is kept, bounded, for the error message instead). */
#ifndef RAMP_HTTP_H
#define RAMP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

struct http_client_opts {
	const char *cacert;       /* CA bundle instead of the system's, NULL: system */
	unsigned timeout_s;       /* connect timeout, and a transfer under 1 KiB/s for this long is aborted; 0: 30 */
	unsigned max_host_conns;  /* connections per host; 0: 8 */
	const char *user_agent;
};

struct http_client;
struct http_client *http_client_new(const struct http_client_opts *o, struct err *e);
void http_client_free(struct http_client *c);

/* Why a transfer ended without a response. */
enum http_fail {
	HTTP_FAIL_NONE,      /* a response arrived (any status) */
	HTTP_FAIL_CONNECT,   /* name resolution or connection refused */
	HTTP_FAIL_TLS,       /* TLS handshake or certificate verification */
	HTTP_FAIL_TIMEOUT,   /* connect timeout, stall, or total timeout */
	HTTP_FAIL_BROKEN,    /* the connection broke mid-transfer */
	HTTP_FAIL_REDIRECTS, /* too many redirects */
	HTTP_FAIL_TOO_BIG,   /* body or headers over their limit */
	HTTP_FAIL_ABORTED,   /* the sink or the read side gave up */
	HTTP_FAIL_OTHER,
};

struct http_header {
	char *name, *value;
};

/* Streamed response body; return 0 to go on, -1 to abort the transfer. */
typedef int (*http_sink_fn)(void *ctx, const void *buf, size_t len);
/* Bytes so far and the total when known (0 otherwise), of the upload when
 * there is a request body, else of the download. */
typedef void (*http_progress_fn)(void *ctx, uint64_t now, uint64_t total);

struct http_xfer {
	/* the request; http_xfer_free releases url and headers */
	const char *method; /* NULL: GET; "HEAD" has no body */
	char *url;
	char **headers;     /* "Name: value" */
	size_t n_headers;
	bool insecure;      /* no TLS verification */
	bool follow;        /* follow up to 10 redirects; Authorization is never sent to another host */
	const void *body;   /* request body from memory ... */
	size_t body_len;
	int body_fd;        /* ... or from a file range, when body_fd >= 0 */
	uint64_t body_off, body_size;
	bool has_body;      /* send a body (possibly empty) */
	uint64_t range_from; /* > 0: ask for bytes from this offset on */
	size_t max_body;    /* response kept in memory up to this; more is an error; 0: discarded */
	http_sink_fn sink;  /* or streamed here when the status is 2xx */
	void *sink_ctx;
	http_progress_fn progress;
	void *progress_ctx;
	long timeout_ms;    /* whole transfer; 0: none */
	void *user;         /* the caller's */

	/* the response */
	long status;
	struct http_header *resp_headers; /* of the final response only */
	size_t n_resp_headers;
	char *resp_body;    /* NUL-terminated */
	size_t resp_len;
	char *effective_url; /* after redirects */
	enum http_fail fail;
	char errmsg[256];

	void *priv;
};

void http_xfer_init(struct http_xfer *x);
/* Set the URL (copied). */
int http_xfer_url(struct http_xfer *x, const char *url, struct err *e);
int http_xfer_header(struct http_xfer *x, struct err *e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Forget the previous response so the transfer can run again. */
void http_xfer_reset_response(struct http_xfer *x);
void http_xfer_free(struct http_xfer *x);

/* First response header of that name (case-insensitive), or NULL; *i walks all. */
const char *http_header_get(const struct http_xfer *x, const char *name);
const char *http_header_next(const struct http_xfer *x, const char *name, size_t *i);

/* Run one transfer to its end. 0: a response arrived (see x->status);
 * -1: it failed (x->fail says why, e the message). */
int http_perform(struct http_client *c, struct http_xfer *x, struct err *e);
/* Start a transfer in the background. */
int http_start(struct http_client *c, struct http_xfer *x, struct err *e);
/* Drive background transfers until one ends and return it (its status or
 * fail/errmsg set), or NULL when none ends within timeout_ms or none runs. */
struct http_xfer *http_wait(struct http_client *c, long timeout_ms);
/* Stop a background transfer that has not been returned by http_wait yet. */
void http_cancel(struct http_client *c, struct http_xfer *x);
/* Transfers started and not yet returned. */
size_t http_running(const struct http_client *c);

/* The target of the response's Link header with rel="next" (RFC 8288; paged
 * lists), resolved against the URL the response came from; NULL when there is
 * none or the header does not parse. Caller frees. */
char *http_link_next(const struct http_xfer *x);
/* Resolve a possibly relative reference against base; NULL when invalid. */
char *http_url_resolve(const char *base, const char *ref);
/* Scheme, host and port of an absolute URL (port defaulted from the scheme). */
int http_url_origin(const char *url, char **scheme, char **host, unsigned *port);
/* Same scheme, host and port. */
bool http_same_origin(const char *a, const char *b);
/* Percent-encode for a query parameter; caller frees. */
char *http_escape(const char *s);
/* Human text for a status code ("Not Found"), "" when unknown. */
const char *http_reason(long status);

/* ---- Fan-out ----
 * Requests beyond max_parallel wait in a queue (holding no curl handle);
 * connections are kept for reuse (HTTP/1.1 keep-alive), up to max_idle of
 * them, so that asking a host again does not connect again. libcurl (7.88)
 * walks every connection of a multi handle's cache each time a transfer is
 * removed from it or a new connection pushes an old one out, so one cache
 * holding a connection per host of a 10,000-host fleet would make every
 * request cost 10,000 steps. The fan-out therefore spreads them over several
 * multi handles of at most HTTP_FANOUT_SHARD connections each; a request's key
 * (say, the host's index) picks its handle, so a host always finds its own
 * connection again. Requests marked `once` do not enter the cache at all. One
 * epoll set and one loop serve all the handles. Callbacks run from
 * http_fanout_step(), never from inside curl. */

/* connections cached per libcurl multi handle */
#define HTTP_FANOUT_SHARD 64

struct http_fanout_opts {
	size_t max_parallel;     /* transfers in flight (default 64) */
	size_t max_idle;         /* connections kept open for reuse (default 2 x max_parallel);
				  * up to one per host of a fleet is fine (see above) */
	long timeout_ms;         /* whole request (default 10 s) */
	long connect_timeout_ms; /* default: timeout_ms */
	const char *cacert;      /* CA bundle for https, or NULL for the system's */
};

struct http_resp {
	long status;       /* HTTP status; 0 when the request failed (error says why) */
	const char *error;
	const char *body;  /* NUL-terminated; at most max_body bytes */
	size_t len;
	bool truncated;    /* the body was longer than max_body (only when allowed) */
	bool refused;      /* the connection was refused: nothing listens at the address */
	int64_t ms;        /* time from start to completion */
};

/* tag: the caller's own number (host index, request kind, ...). */
typedef void (*http_req_cb)(void *ctx, uint64_t tag, const struct http_resp *r);

struct http_req {
	const char *method;    /* GET, PUT, POST, DELETE */
	const char *url;
	const char *unix_path; /* connect to this unix socket instead, or NULL */
	const char *token;     /* bearer token, or NULL */
	const char *body;      /* JSON request body, or NULL */
	size_t max_body;       /* response bytes kept (default 1 MiB) */
	bool truncate_ok;      /* a longer body is cut, not an error (probes) */
	bool once;             /* close the connection after: no reuse expected */
	size_t key;            /* the same key for the same host (e.g. its index): see above */
	http_req_cb cb;
	void *ctx;
	uint64_t tag;
};

struct http_fanout;
struct http_fanout *http_fanout_new(const struct http_fanout_opts *o, struct err *e);
void http_fanout_free(struct http_fanout *f);
/* Queue a request (strings are copied). The callback runs exactly once. */
int http_fanout_submit(struct http_fanout *f, const struct http_req *r, struct err *e);
/* Move transfers along, waiting at most timeout_ms for activity, then run the
 * callbacks of what completed. */
int http_fanout_step(struct http_fanout *f, int timeout_ms, struct err *e);
/* Requests queued or in flight. */
size_t http_fanout_busy(const struct http_fanout *f);

#endif
