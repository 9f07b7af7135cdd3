/* hostapi.h: rampd's control API seen from the client side: the requests
 * (method and path of each operation, request bodies) and the parsing of app
 * status, app lists and error responses (docs/API.md; the names come from
 * lib/api.h). orchestrator/client sends them.
 *
 * Responses come from the network and are untrusted: sizes are bounded,
 * types checked, digests validated, and strings that end up on a terminal
 * have control characters replaced. Unknown fields are ignored so that a
 * newer rampd still talks to an older orchestrator. */
#ifndef RAMP_ORCH_HOSTAPI_H
#define RAMP_ORCH_HOSTAPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image/digest.h"
#include "lib/api.h"
#include "lib/err.h"

#define ORCH_MAX_PREVIOUS 16
#define ORCH_MAX_HISTORY 20

struct orch_hist {
	char time[40];
	char phase[16];
	char message[200];
};

#define ORCH_MAX_PROBE_ROWS 10

struct orch_probe_row {
	char time[40];
	bool ok;
	double ms;
	char output[200];
};

struct orch_status {
	char name[API_MAX_NAME + 1];
	int64_t generation;
	char phase[16];
	char phase_since[40];
	char rollout[129];
	char desired[IMG_DIGEST_LEN + 1]; /* "" when absent */
	char desired_image[512];
	char current[IMG_DIGEST_LEN + 1];
	char current_image[512];
	char current_since[40];
	char previous[ORCH_MAX_PREVIOUS][IMG_DIGEST_LEN + 1];
	size_t n_previous;
	bool healthy;
	char healthy_since[40];
	int64_t check_interval_ms, check_retries; /* the running version's health check; 0 when not said */
	struct orch_probe_row probes[ORCH_MAX_PROBE_ROWS]; /* the newest ones, oldest first */
	size_t n_probes;
	int64_t restarts;
	char message[512];
	struct orch_hist history[ORCH_MAX_HISTORY];
	size_t n_history;
};

struct json;
/* GET /v1/apps/NAME's answer (app, when not NULL, must match its name). */
int orch_status_parse(const char *body, size_t len, const char *app, struct orch_status *s, struct err *e);
int orch_status_from_json(const struct json *j, const char *app, struct orch_status *s, struct err *e);
/* The newest probe's output, "" when there is none. */
const char *orch_status_probe(const struct orch_status *s);
/* GET /v1/apps's answer: every app's status (*v allocated, caller frees). */
int orch_apps_parse(const char *body, size_t len, struct orch_status **v, size_t *n, struct err *e);
/* {"error": CODE, "message": ...}: fills code and msg (empty when the body is
 * not such an object). */
void orch_error_parse(const char *body, size_t len, char *code, size_t code_len, char *msg, size_t msg_len);
/* platform of GET /v1/info: "os/arch[/variant]". */
int orch_info_platform(const char *body, size_t len, char *out, size_t out_len, struct err *e);

/* The operations of docs/API.md, as sent by orchestrator/client. */
enum orch_op {
	ORCH_OP_STATUS, /* GET /v1/apps/APP */
	ORCH_OP_APPS,   /* GET /v1/apps */
	ORCH_OP_INFO,   /* GET /v1/info */
	ORCH_OP_DEPLOY, /* PUT /v1/apps/APP, body orch_body_put() */
	ORCH_OP_REVERT, /* POST /v1/apps/APP/revert, body orch_body_revert() */
	ORCH_OP_REMOVE, /* DELETE /v1/apps/APP, body orch_body_generation() or none */
	ORCH_OP_LOGS,   /* GET /v1/apps/APP/logs?tail=N */
	ORCH_OP_PROBE,  /* GET any URL, not rampd's (the orchestrator's own probes) */
	ORCH_OP_METRICS, /* GET /v1/apps/APP/metrics?since=MS (orchestrator/hostmetrics.h) */
	ORCH_OP_WATCH,  /* PUT /v1/apps/APP/metrics/watch, body orch_body_watch() */
	ORCH_OP_QUERY,  /* GET a URL of the metrics source (Prometheus, orchestrator/promquery.h) */
};
/* The method of op, and its path (for APP and arg: LOGS its tail, METRICS
 * since, unix ms; 0 none) in buf; NULL when buf is too small. */
const char *orch_op_method(enum orch_op op);
const char *orch_op_path(enum orch_op op, const char *app, uint64_t arg, char *buf, size_t cap);

/* Request bodies; caller frees. rollout may be NULL (none said). */
char *orch_body_put(const char *image, const char *rollout, int64_t generation);
char *orch_body_revert(const char *to, int64_t generation);
char *orch_body_generation(int64_t generation);

bool orch_app_name_valid(const char *s);

/* Copy at most n-1 bytes, replacing control characters (terminal safety). */
void orch_copy_clean(char *dst, size_t n, const char *src);
/* "HTTP 409 stale_generation: message" from an answer. */
void orch_describe_http(char *buf, size_t n, long status, const char *body, size_t len);

/* Bearer tokens, read once per token file (lib/token.h says which files
 * are accepted). */
struct orch_tokens {
	struct orch_token {
		char *path, *value;
	} *v;
	size_t n;
};
const char *orch_token(struct orch_tokens *t, const char *path, struct err *e);
void orch_tokens_free(struct orch_tokens *t);

#endif
