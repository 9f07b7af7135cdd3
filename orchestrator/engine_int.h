/* engine_int.h: what the engine's modules (engine.c, engine_host.c,
 * engine_events.c) share; nobody else includes it. See engine.h. */
#ifndef RAMP_ORCH_ENGINE_INT_H
#define RAMP_ORCH_ENGINE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/strv.h"
#include "orchestrator/client.h"
#include "orchestrator/engine.h"
#include "orchestrator/event.h"
#include "orchestrator/exec.h"
#include "orchestrator/hostapi.h"
#include "orchestrator/policy.h"

/* Watching the hosts of earlier waves: at most this many requests a second
 * (big fleets look at each baked host less often than --poll says). */
#define ENG_WATCH_RATE 500

/* After a deploy or revert request the first look comes this soon, then
 * twice as late each time, up to --poll: quick apps are seen quickly, slow
 * ones do not cost many requests. */
#define ENG_FIRST_POLL_MS 10

/* What a request was for; K_PROBE + i is the i-th --probe. */
enum eng_kind { K_GET, K_WATCH, K_INFO, K_PUT, K_REVERT, K_DELETE, K_PROBE };

enum eng_phase { PH_PRECHECK, PH_WAVE, PH_CHECK, PH_FINAL, PH_REVERT, PH_END };

/* One host while the engine runs. The scan visits every host a few hundred
 * times a second and should touch one cache line of each: what is read
 * rarely is in struct eng_note. */
struct eng_host {
	uint32_t epoch;        /* answers to requests of an older epoch are ignored */
	bool busy;             /* an API request in flight */
	uint8_t probes;        /* probes in flight */
	bool probe_bad;
	uint16_t probe_rounds; /* passing probe rounds since healthy */
	bool touched;          /* a deploy request may have reached it */
	bool sent;             /* the deploy or revert request was accepted */
	bool slot;             /* holds one of max_parallel deploy slots */
	bool pre_done, info_done, resync;
	bool pre_unreachable;  /* did not answer the precheck */
	bool budget;           /* failed within the budget */
	uint8_t fails;         /* transport failures in a row */
	int64_t next_ms, backoff_ms, deadline_ms, healthy_ms, fail_since_ms;
	struct eng_note *note;
};

struct eng_note {
	char healthy_since[40];
	char last[160]; /* the last thing we heard, for messages */
};

struct eng {
	/* what runs */
	const struct orch_run *run;
	enum orch_mode mode;
	struct orch_rollout *r;
	size_t n;
	struct orch_transport *t;
	struct orch_client *client; /* ours, when run->t was NULL */
	struct eng_host *h;
	struct eng_note *notes;

	/* where it is */
	enum eng_phase phase;
	size_t wave;
	int64_t t0, wave_t0, final_until;
	bool failing, interrupted;
	int exit_code;

	/* hosts deploying, failure budgets, watches in flight */
	struct {
		size_t deploying, unhealthy, unreachable, watching;
	} count;

	/* the precheck */
	struct {
		size_t problems, unreachable;
		int64_t max_gen;
		struct strv platforms;
	} pre;

	/* --check commands after a wave */
	struct {
		struct orch_proc proc;
		size_t i;
		bool running;
	} check;

	/* the scan's pace */
	struct {
		int64_t watch_ms; /* how often a baked host is looked at again */
		int64_t next, next_progress;
		size_t from;      /* the scan starts at a rotating host, for fairness */
	} scan;

	char *put_body, *gen_body; /* carry the generation: made once it is known */
	bool warned_bake;          /* the bake was found too short for the image's health check */

	/* the release policy (--policy), for rollouts */
	struct orch_policy policy;
	bool has_policy;
	struct eng_canary *canary; /* --analysis: engine_canary.c; NULL without */

	/* an error that stops everything (the journal cannot be written, out of memory) */
	bool fatal;
	struct err ferr;
};

/* A rollout (new or resumed): the mode with waves, budgets and checks. */
static inline bool eng_is_rollout(const struct eng *g)
{
	return g->mode == ORCH_MODE_START || g->mode == ORCH_MODE_RESUME;
}

static inline int64_t eng_now(struct eng *g)
{
	return g->t->now_ms(g->t);
}

static inline const char *eng_name(const struct eng *g, size_t i)
{
	return g->r->hosts.hosts[i].name;
}

static inline enum orch_hs eng_state(const struct eng *g, size_t i)
{
	return (enum orch_hs)g->r->state[i];
}

static inline void eng_set_state(struct eng *g, size_t i, enum orch_hs s)
{
	orch_hs_set(g->r->state, i, eng_name(g, i), s);
}

static inline size_t eng_wave_of(const struct eng *g, size_t i)
{
	return orch_rollout_wave_of(g->r, i);
}

/* The hosts of wave w: [*from, *to). */
static inline void eng_wave_range(const struct eng *g, size_t w, size_t *from, size_t *to)
{
	*from = w ? g->r->ends[w - 1] : 0;
	*to = g->r->ends[w];
}

/* engine.c: the phases */
void eng_start_revert(struct eng *g, const char *why);
void eng_finish(struct eng *g, const char *result, int code, const char *human);
void eng_fail_rollout(struct eng *g, size_t host, const char *reason, const struct orch_status *s, const char *probe);
void eng_pause(struct eng *g, const char *reason);

/* engine_canary.c: the canary analysis of each wave (--analysis) */
int eng_canary_init(struct eng *g, struct err *e);
void eng_canary_free(struct eng *g);
void eng_canary_wave(struct eng *g, int64_t now);   /* a wave starts (or starts over on resume) */
void eng_canary_tick(struct eng *g, int64_t now);   /* polls due, judgement; fails the rollout when worse */
bool eng_canary_passed(struct eng *g, int64_t now); /* the baked wave may pass (pauses or fails at --bake-max) */

/* engine_host.c: one host */
void eng_on_answer(void *ctx, uint64_t tag, const struct http_resp *r);
void eng_scan_host(struct eng *g, size_t i, int64_t now);
void eng_scan_precheck(struct eng *g, size_t i, int64_t now);
void eng_new_epoch(struct eng *g, size_t i);
void eng_begin_host_revert(struct eng *g, size_t i, int64_t now);

/* engine_policy.c: the release policy */
int eng_policy_load(struct eng *g, struct err *e);
/* Freezes and blockers before wave `wave` (0-based): true to go on (clear,
 * or --override); else why says what refused. */
bool eng_policy_check(struct eng *g, size_t wave, char *why, size_t cap);
void eng_policy_free(struct eng *g);

/* engine_events.c: the events, journaled and shown */
int eng_ev_start(struct eng *g, struct err *e);
void eng_ev_host(struct eng *g, size_t i, enum orch_hs s, const char *phase, const char *digest, const char *msg,
		 bool sync, enum orch_level lvl);
void eng_ev_gate(struct eng *g, const char *cmd, int rc, int status, const char *why);
void eng_ev_precheck_refused(struct eng *g, const char *why);
void eng_ev_override(struct eng *g, const char *lifted);
void eng_ev_precheck_problems(struct eng *g);
void eng_ev_precheck_ok(struct eng *g);
void eng_ev_wave(struct eng *g, size_t w);
void eng_ev_check(struct eng *g, const char *cmd, int rc, int status);
void eng_ev_wave_passed(struct eng *g, int64_t ms);
void eng_ev_failure(struct eng *g, size_t host, const char *reason, const struct orch_status *s, const char *probe);
void eng_ev_paused(struct eng *g, const char *reason);
void eng_ev_policy(struct eng *g, struct orch_event *ev);
void eng_ev_superseded(struct eng *g, size_t i, int64_t gen, const char *by);
void eng_ev_revert(struct eng *g, const char *const *hosts, size_t n, const char *why);
void eng_ev_takeover(struct eng *g, bool abort);
void eng_ev_interrupted(struct eng *g);
void eng_ev_end(struct eng *g, const char *result, int code, const char *human);
void eng_ev_analysis(struct eng *g, struct orch_event *ev, enum orch_level lvl, const char *human);
struct orch_series;
void eng_ev_series(struct eng *g, const struct orch_series *s);

#endif
