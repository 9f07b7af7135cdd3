/* registry.h: client of one OCI distribution registry: transport (HTTPS, or
 * plain HTTP only for loopback and registries the user names), auth
 * (anonymous, Basic, Bearer tokens per repository scope, cached until they
 * expire), retries (transport failures, 429 with Retry-After, 5xx) and error
 * messages a user can act on. Push and pull (push.h, pull.h) are built on the
 * request and job functions here. */
#ifndef RAMP_IMG_REGISTRY_H
#define RAMP_IMG_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>

#include "image/creds.h"
#include "image/digest.h"
#include "lib/err.h"
#include "lib/http.h"

/* Accept header for manifests: OCI and Docker schema 2 (never schema 1). */
#define IMG_REG_ACCEPT                                                                                               \
	"application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, "                      \
	"application/vnd.docker.distribution.manifest.v2+json, "                                                     \
	"application/vnd.docker.distribution.manifest.list.v2+json"

struct img_registry_opts {
	const char *creds;           /* "user:password" (--creds), instead of the credential files */
	const char *cacert;          /* CA bundle (--cacert) */
	bool tls_verify;             /* false: --tls-verify=false for every registry */
	const char *const *insecure; /* NULL-terminated HOST[:PORT] list: no TLS verification, HTTP allowed */
	unsigned timeout_s;          /* connect and stall timeout; env RAMP_REGISTRY_TIMEOUT; 30 */
	unsigned retries;            /* retries of a failed request; env RAMP_REGISTRY_RETRIES; 4 */
	unsigned backoff_ms;         /* first retry delay, doubled each time; env RAMP_REGISTRY_BACKOFF_MS; 500 */
	unsigned max_wait_s;         /* longest Retry-After honoured; 60 */
	unsigned jobs;               /* parallel blob transfers per registry; 4 */
};
/* Defaults, then the environment. */
void img_registry_opts_init(struct img_registry_opts *o);

struct img_registry;
/* Connect to a registry ("127.0.0.1:5000", "docker.io"): pick the scheme and
 * learn how it authenticates (GET /v2/). */
struct img_registry *img_registry_open(const char *registry, const struct img_registry_opts *o, struct err *e);
void img_registry_close(struct img_registry *r);
/* The registry name as in references. */
const char *img_registry_name(const struct img_registry *r);
struct http_client *img_registry_http(struct img_registry *r);
const struct img_registry_opts *img_registry_opts(const struct img_registry *r);
/* Use these credentials from now on (login checks them with img_registry_check_login). */
int img_registry_set_creds(struct img_registry *r, const struct img_creds *c, struct err *e);
/* Verify the credentials set: 0 accepted, -1 refused or unreachable. */
int img_registry_check_login(struct img_registry *r, struct err *e);

/* Set x's URL to the registry's base + "/v2/" + the formatted path. */
int img_reg_url(struct img_registry *r, struct http_xfer *x, struct err *e, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Sync request with auth and retries. `scope` is the token scope it needs
 * ("repository:team/app:pull", several separated by spaces). 0: a response
 * arrived (any status; see img_reg_error); -1: it could not be done. */
int img_reg_do(struct img_registry *r, struct http_xfer *x, const char *scope, struct err *e);
/* Message for an unexpected response or a failed transfer of `what`
 * ("manifest team/app:1"), naming the cause and what to do. Returns -1. */
int img_reg_error(struct img_registry *r, const struct http_xfer *x, const char *what, const char *repo,
		  struct err *e);

/* Parallel jobs (blob transfers): each is a small state machine driven by
 * img_reg_run with at most `jobs` transfers in flight. */
enum img_job_rc {
	IMG_JOB_START, /* x is set up: start it now */
	IMG_JOB_WAIT,  /* x is set up: start it at not_before_ms */
	IMG_JOB_DONE,
	IMG_JOB_FAIL, /* e is set */
};
struct img_job {
	/* done: NULL the first time, then the transfer that ended */
	enum img_job_rc (*step)(struct img_job *j, struct http_xfer *done, struct err *e);
	void (*cleanup)(struct img_job *j); /* also after a failure elsewhere */
	struct http_xfer x;
	const char *scope;
	uint64_t not_before_ms;
	unsigned attempts; /* failed attempts so far (img_reg_check counts them) */
	bool reauthed;     /* one fresh token per 401 */
};
int img_reg_run(struct img_registry *r, struct img_job **jobs, size_t n, struct err *e);

/* What to do with a finished transfer, for job steps and img_reg_do. */
enum img_reg_verdict {
	IMG_REG_OK,    /* a response for the caller to look at */
	IMG_REG_RETRY, /* transient: try again at not_before_ms (attempts counted) */
	IMG_REG_AGAIN, /* new credentials: try again now */
	IMG_REG_FAILED,
};
enum img_reg_verdict img_reg_check(struct img_registry *r, struct http_xfer *x, const char *scope,
				   unsigned *attempts, bool *reauthed, uint64_t *not_before_ms, const char *what,
				   const char *repo, struct err *e);

/* Progress of blob transfers, for bars and --json events. */
enum img_xfer_state {
	IMG_XFER_PROGRESS, /* bytes so far */
	IMG_XFER_SKIPPED,  /* already there */
	IMG_XFER_MOUNTED,  /* mounted from another repository */
	IMG_XFER_UPLOADED,
	IMG_XFER_DOWNLOADED,
};
struct img_xfer_event {
	enum img_xfer_state state;
	const struct img_digest *digest;
	const char *media_type;
	uint64_t bytes, total;
};
typedef void (*img_progress_fn)(void *ctx, const struct img_xfer_event *ev);
const char *img_xfer_state_name(enum img_xfer_state s);

/* Sanitized registry text (error messages, warnings): printable, bounded. */
void img_reg_clean_text(const char *in, size_t len, char *out, size_t cap);

#endif
