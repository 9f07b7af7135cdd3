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
#include "runtime/app_state.h"
#include "runtime/rampd/locks.h"
#include "runtime/rampd/trust_gate.h"

struct rt_daemon;
struct rt_worker;
struct rt_samples;

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
	pthread_mutex_t mu; /* rt_lock_app: guards everything below but `w` and `samples` */

	/* What the store keeps (apps/NAME/state.json): desired, current,
	   previous, pinned; the generation and rollout of the last accepted
	   request. Written before a request is answered. */
	struct rt_app_state st RT_GUARDED_BY(rt_lock_app);

	enum rt_phase phase RT_GUARDED_BY(rt_lock_app);
	int64_t phase_since RT_GUARDED_BY(rt_lock_app); /* unix ms */
	char message[512] RT_GUARDED_BY(rt_lock_app);
	bool healthy RT_GUARDED_BY(rt_lock_app);
	int64_t healthy_since RT_GUARDED_BY(rt_lock_app);
	/* the running version's health check; 0 without one */
	int64_t check_interval_ms RT_GUARDED_BY(rt_lock_app);
	int64_t check_retries RT_GUARDED_BY(rt_lock_app);
	struct rt_probe probes[RT_PROBES_KEPT] RT_GUARDED_BY(rt_lock_app); /* ring, oldest at probe_head when full */
	size_t n_probes RT_GUARDED_BY(rt_lock_app);
	size_t probe_head RT_GUARDED_BY(rt_lock_app);
	struct rt_event history[RT_HISTORY_KEPT] RT_GUARDED_BY(rt_lock_app);
	size_t n_history RT_GUARDED_BY(rt_lock_app);
	size_t history_head RT_GUARDED_BY(rt_lock_app);
	uint64_t restarts RT_GUARDED_BY(rt_lock_app);
	uint64_t switches RT_GUARDED_BY(rt_lock_app);
	uint64_t reverts RT_GUARDED_BY(rt_lock_app);
	double probe_seconds RT_GUARDED_BY(rt_lock_app); /* latency of the last probe */
	bool deleting RT_GUARDED_BY(rt_lock_app);
	bool switched RT_GUARDED_BY(rt_lock_app); /* a revert made another version current: the thread starts it */
	struct rt_gate gate RT_GUARDED_BY(rt_lock_app); /* what the host's trust policy said of the versions asked for */

	/* the app's thread (supervisor_run.c) */
	/* asked to end, and whether to stop the containers */
	bool quit RT_GUARDED_BY(rt_lock_app);
	bool leave_running RT_GUARDED_BY(rt_lock_app);
	bool gone RT_GUARDED_BY(rt_lock_app); /* deleted: the thread has ended, the files are removed */
	bool pull_done RT_GUARDED_BY(rt_lock_app); /* a pull ended: pull_rc, pull_err */
	/* the pull helper while it downloads (0: none); stopping the app stops
	   it, the next pull resumes the download */
	int pull_pid RT_GUARDED_BY(rt_lock_app);
	int pull_rc RT_GUARDED_BY(rt_lock_app);
	char pull_err[1024] RT_GUARDED_BY(rt_lock_app);
	struct rt_worker *w; /* the thread's own */
	struct rt_samples *samples; /* its metrics (runtime/samples.h), under their own lock */
};

/* A new app with an empty state (no thread yet); its files go under
 * state_dir/apps/NAME. */
struct rt_app *rt_app_new(struct rt_daemon *d, const char *state_dir, const char *name, struct err *e);
void rt_app_free(struct rt_app *a);

/* Read the app's state.json; a missing file is an empty state. */
int rt_app_load(struct rt_app *a, struct err *e);

/* The app's thread: start it (it adopts containers an earlier rampd left
 * running); wake it after a request; ask it to end (stopping the containers
 * unless leave_running: every app stops in parallel), then join it. */
int rt_app_start(struct rt_app *a, struct err *e);
void rt_app_wake(struct rt_app *a);
void rt_app_stop(struct rt_app *a, bool leave_running);
void rt_app_join(struct rt_app *a);
/* Add the app's image digests that must stay in the store (desired, running,
 * current, previous) to the list. Caller holds a->mu. */
int rt_app_in_use(const struct rt_app *a, struct img_digest **v, size_t *n, struct err *e)
	RT_REQUIRES(rt_lock_app);

/* Set the phase (caller holds a->mu); also appends to the history. */
void rt_app_set_phase(struct rt_app *a, enum rt_phase p, const char *fmt, ...) __attribute__((format(printf, 3, 4)))
RT_REQUIRES(rt_lock_app);

/* The status document of docs/API.md (caller holds a->mu). */
void rt_app_status_json(const struct rt_app *a, struct jgen *g) RT_REQUIRES(rt_lock_app);

/* The requests; each returns what to answer (202, or 409 and the like with e
 * set). Caller holds a->mu. */
struct rt_outcome rt_app_put(struct rt_app *a, const struct rt_put_req *r, struct err *e) RT_REQUIRES(rt_lock_app);
struct rt_outcome rt_app_revert(struct rt_app *a, const struct rt_revert_req *r, struct err *e)
	RT_REQUIRES(rt_lock_app);
struct rt_outcome rt_app_delete(struct rt_app *a, const struct rt_delete_req *r, struct err *e)
	RT_REQUIRES(rt_lock_app);
/* Record and persist a change (caller holds a->mu): v becomes the desired
 * version with this generation (and the rollout id v carries, unless
 * keep_rollout); with switch_now the current one too, the old current
 * becoming previous[0] and, when keep > 0, the previous list cut to keep-1.
 * Nothing changes if it cannot be saved. */
int rt_app_commit(struct rt_app *a, const struct rt_app_version *v, int64_t generation, bool keep_rollout,
		  bool switch_now, unsigned keep, struct err *e) RT_REQUIRES(rt_lock_app);
/* The app's own revert (auto_revert): previous[0] becomes desired and
 * current, with the generation the app has. Caller holds a->mu. */
int rt_app_auto_revert(struct rt_app *a, struct err *e) RT_REQUIRES(rt_lock_app);

#endif
