/* supervisor.h: one app on this host: what it was told to run (desired), what
 * runs (current), the versions kept for a revert, and the thread that makes
 * the first the second and keeps it running and healthy.
 *
 * Requests (PUT, revert, DELETE) only record the new desired version under
 * the app's lock, persist the generation and wake the app's thread; the
 * thread does the slow parts (pull, unpack, start, stop, probes). So the API
 * never waits for a pull, and status reads only take the lock for a copy. */
#ifndef RAMP_RT_SUPERVISOR_H
#define RAMP_RT_SUPERVISOR_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image/digest.h"
#include "lib/err.h"
#include "lib/json.h"

struct rt_daemon;

enum rt_phase {
	RT_PHASE_PULLING,
	RT_PHASE_UNPACKING,
	RT_PHASE_STARTING,
	RT_PHASE_HEALTHY,
	RT_PHASE_UNHEALTHY,
	RT_PHASE_FAILED,
	RT_PHASE_REVERTING,
	RT_PHASE_STOPPED,
	RT_PHASE_COUNT,
};
const char *rt_phase_name(enum rt_phase p);

#define RT_PROBES_KEPT 10
#define RT_HISTORY_KEPT 20
#define RT_ROLLOUT_MAX 128
#define RT_IMAGE_MAX 1024

/* A version of the app: an image pinned by digest. */
struct rt_version {
	char *image; /* "registry/repo@sha256:…" as deployed */
	struct img_digest digest;
	char *rollout; /* NULL when none */
	int64_t since; /* unix ms it became current; 0 when unknown */
};
int rt_version_copy(struct rt_version *dst, const struct rt_version *src, struct err *e);
void rt_version_free(struct rt_version *v);

struct rt_probe {
	int64_t time; /* unix ms */
	bool ok;
	double ms;
	char output[128];
};

struct rt_event {
	int64_t time; /* unix ms */
	enum rt_phase phase;
	char message[160];
};

/* Requests, parsed and validated by the API (docs/API.md). */
struct rt_put_req {
	char image[RT_IMAGE_MAX + 1];
	struct img_digest digest;
	char rollout[RT_ROLLOUT_MAX + 1];
	int64_t generation;
};
struct rt_revert_req {
	bool previous; /* "to": "previous"; otherwise `to` */
	struct img_digest to;
	int64_t generation;
};
struct rt_delete_req {
	bool has_generation;
	int64_t generation;
};

/* An outcome for the API: an HTTP status and, for errors, the code of
 * docs/API.md; the message is in the struct err. */
struct rt_outcome {
	int status;
	const char *code;
};

struct rt_app {
	struct rt_daemon *d;
	char *name;
	char *dir; /* state_dir/apps/NAME */
	pthread_mutex_t mu; /* guards everything below */

	int64_t generation; /* highest accepted; persisted */
	char *rollout;
	bool has_desired;
	struct rt_version desired;
	bool has_current;
	struct rt_version current;
	struct rt_version *previous; /* newest first: the revert targets */
	size_t n_previous;
	struct rt_version *pinned;
	size_t n_pinned;

	enum rt_phase phase;
	int64_t phase_since; /* unix ms */
	char message[512];
	bool healthy;
	int64_t healthy_since;
	struct rt_probe probes[RT_PROBES_KEPT]; /* ring, oldest at probe_head when full */
	size_t n_probes, probe_head;
	struct rt_event history[RT_HISTORY_KEPT];
	size_t n_history, history_head;
	uint64_t restarts, switches, reverts;
	double probe_seconds; /* latency of the last probe */
	bool deleting;
};

/* A new app with an empty state (no thread yet); its files go under
 * state_dir/apps/NAME. */
struct rt_app *rt_app_new(struct rt_daemon *d, const char *state_dir, const char *name, struct err *e);
void rt_app_free(struct rt_app *a);

/* What was asked of the app (generation, rollout, desired version) lives in
 * apps/NAME/run/desired.json, written before a request is answered. */
int rt_app_save_desired(struct rt_app *a, struct err *e);
/* Read it back at start; a missing file is an empty state. */
int rt_app_load(struct rt_app *a, struct err *e);

/* Set the phase (caller holds a->mu); also appends to the history. */
void rt_app_set_phase(struct rt_app *a, enum rt_phase p, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The status document of docs/API.md (caller holds a->mu). */
void rt_app_status_json(const struct rt_app *a, struct jgen *g);

/* The requests; each returns what to answer (202, or 409 and the like with e
 * set). Caller holds a->mu. */
struct rt_outcome rt_app_put(struct rt_app *a, const struct rt_put_req *r, struct err *e);
struct rt_outcome rt_app_revert(struct rt_app *a, const struct rt_revert_req *r, struct err *e);
struct rt_outcome rt_app_delete(struct rt_app *a, const struct rt_delete_req *r, struct err *e);

/* RFC 3339 UTC ("2026-11-26T10:15:04Z") of unix ms; buf of at least 32 bytes. */
void rt_format_time(int64_t ms, char *buf, size_t cap);
int64_t rt_now_ms(void);      /* CLOCK_REALTIME */
int64_t rt_mono_ms(void);     /* CLOCK_MONOTONIC */

#endif
