/* api.h: the names of rampd's control API, written down once (the contract is
 * docs/API.md). rampd (runtime/) serves them, the orchestrator and `ramp host`
 * (orchestrator/, cmd/) speak them; neither includes the other. */
#ifndef RAMP_API_H
#define RAMP_API_H

#define API_VERSION "v1"
#define API_SOCKET_DEFAULT "/run/ramp/rampd.sock"
#define API_PORT_DEFAULT 7300

/* paths */
#define API_PATH_HEALTHZ "/healthz"
#define API_PATH_METRICS "/metrics"
#define API_PATH_INFO "/v1/info"
#define API_PATH_APPS "/v1/apps"         /* GET: all apps */
#define API_PATH_APP_PREFIX "/v1/apps/"  /* + NAME: GET, PUT, DELETE */
#define API_PATH_REVERT_SUFFIX "/revert" /* POST /v1/apps/NAME/revert */
#define API_PATH_LOGS_SUFFIX "/logs"     /* GET /v1/apps/NAME/logs?tail=N */
#define API_PATH_APP_METRICS_SUFFIX "/metrics"     /* GET /v1/apps/NAME/metrics?since=T */
#define API_PATH_WATCH_SUFFIX "/metrics/watch"     /* PUT, DELETE /v1/apps/NAME/metrics/watch */
#define API_Q_SINCE "since" /* RFC 3339 or unix ms: samples scraped after it */

/* request fields */
#define API_F_IMAGE "image"           /* "registry/repo@sha256:…" (digest-pinned) */
#define API_F_ROLLOUT "rollout"       /* rollout id, free text up to 128 bytes */
#define API_F_GENERATION "generation" /* integer >= 1; lower than seen → 409 */
#define API_F_TO "to"                 /* revert target: "previous" or a digest */

/* app status fields */
#define API_F_NAME "name"
#define API_F_PHASE "phase"
#define API_F_PHASE_SINCE "phaseSince"
#define API_F_DESIRED "desired"
#define API_F_CURRENT "current"
#define API_F_PREVIOUS "previous"
#define API_F_PINNED "pinned"
#define API_F_DIGEST "digest"
#define API_F_SINCE "since"
#define API_F_HEALTH "health"
#define API_F_HEALTHY "healthy"
#define API_F_HEALTHY_SINCE "healthySince"
#define API_F_PROBES "probes"
/* the running version's check: probed every intervalMs, unhealthy after retries failures */
#define API_F_INTERVAL_MS "intervalMs"
#define API_F_RETRIES "retries"
#define API_F_HISTORY "history"
#define API_F_MESSAGE "message"
#define API_F_RESTARTS "restarts"
#define API_F_REFUSED "refused" /* the desired version, refused by the host's trust policy */
#define API_F_REASON "reason"

/* an app's metrics: the watch (PUT body, and in replies) */
#define API_F_SERIES "series"         /* [{"name": N, "labels": {K: V}}] */
#define API_F_LABELS "labels"
/* GET /v1/apps/NAME/metrics */
#define API_F_APP "app"
#define API_F_RAMPD "rampd"           /* {"bootId", "startedMs"}: tells a restarted rampd */
#define API_F_BOOT_ID "bootId"
#define API_F_STARTED_MS "startedMs"
#define API_F_NOW_MS "nowMs"
#define API_F_MAX_SERIES "maxSeries"
#define API_F_MAX_SAMPLES "maxSamples"
#define API_F_ENDPOINT "endpoint"     /* {"port", "path", "address"} or null */
#define API_F_PORT "port"
#define API_F_PATH "path"
#define API_F_ADDRESS "address"
#define API_F_ENDPOINT_ERROR "endpointError"
#define API_F_WATCH "watch"
#define API_F_VERSIONS "versions"     /* one window per version, newest first */
#define API_F_UNWATCHED "unwatched"
/* a version's window */
#define API_F_CURRENT_FLAG "current"
#define API_F_SCRAPES "scrapes"
#define API_F_FAILURES "failures"
#define API_F_CONSECUTIVE_FAILURES "consecutiveFailures"
#define API_F_LAST_ERROR "lastError"
#define API_F_LAST_ERROR_MS "lastErrorMs"
#define API_F_LAST_SCRAPE_MS "lastScrapeMs"
#define API_F_UNTRUSTED "untrusted"   /* null, or {"timeMs", "reason"}: the first lie seen */
#define API_F_TIME_MS "timeMs"
#define API_F_REASON "reason"
#define API_F_DROPPED_SERIES "droppedSeries"
#define API_F_TIMES "times"           /* scrape times, unix ms */
/* a series of a window */
#define API_F_FAMILY "family"
#define API_F_TYPE "type"
#define API_F_CUMULATIVE "cumulative"
#define API_F_RESETS "resets"
#define API_F_VALUES "values"         /* one per time: a number, null (absent), "NaN", "+Inf", "-Inf" */

/* phases */
#define API_PHASE_PULLING "pulling"
#define API_PHASE_UNPACKING "unpacking"
#define API_PHASE_STARTING "starting"
#define API_PHASE_HEALTHY "healthy"
#define API_PHASE_UNHEALTHY "unhealthy"
#define API_PHASE_FAILED "failed"
#define API_PHASE_REVERTING "reverting"
#define API_PHASE_STOPPED "stopped"

/* error codes: {"error": CODE, "message": "…"} */
#define API_E_BAD_REQUEST "bad_request"            /* 400 */
#define API_E_UNAUTHORIZED "unauthorized"          /* 401 */
#define API_E_NOT_FOUND "not_found"                /* 404 */
#define API_E_METHOD "method_not_allowed"          /* 405 */
#define API_E_STALE "stale_generation"             /* 409 */
#define API_E_CONFLICT "conflict"                  /* 409 */
#define API_E_TOO_LARGE "too_large"                /* 413 */
#define API_E_NOTHING_TO_REVERT "nothing_to_revert" /* 422 */
#define API_E_RATE_LIMITED "rate_limited"          /* 429 */
#define API_E_INTERNAL "internal"                  /* 500 */

#define API_MAX_BODY 65536
#define API_MAX_NAME 63 /* app names: [a-z0-9][a-z0-9_.-]{0,62} */

#endif
