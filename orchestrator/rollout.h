/* rollout.h: rollouts as the commands see them: their options, the record
 * of one rollout (built by the engine, or replayed from its journal), and the
 * entry points of `ramp rollout` (start, --resume, --abort, --dry-run's plan)
 * and `ramp revert`. Each sets the stage (state directory, lock, journal,
 * image) and hands over to the engine (engine.h: gates and checks before wave
 * 1, waves of hosts deployed in parallel and baked while earlier waves are
 * watched, failure budgets, and the revert of every converted host at the
 * first bad signal).
 *
 * Everything the engine decides is an event (event.h): a JSON line appended
 * to the rollout's journal (journal.h) and handed to the caller's ui for
 * output. Exit codes (ORCH_EXIT_*) are what `ramp rollout` returns. */
#ifndef RAMP_ORCH_ROLLOUT_H
#define RAMP_ORCH_ROLLOUT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image/registry.h"
#include "lib/err.h"
#include "lib/strv.h"
#include "orchestrator/fleet.h"
#include "orchestrator/hoststate.h"
#include "orchestrator/plan.h"

enum { ORCH_EXIT_DONE = 0, ORCH_EXIT_ROLLED_BACK = 1, ORCH_EXIT_REFUSED = 2, ORCH_EXIT_ATTENTION = 3 };

enum orch_on_failure { ORCH_ON_FAILURE_REVERT, ORCH_ON_FAILURE_PAUSE };
/* What an analysis that is still undecided at --bake-max does (docs/ROLLOUT.md). */
enum orch_on_inconclusive { ORCH_INCONCLUSIVE_PAUSE, ORCH_INCONCLUSIVE_FAIL, ORCH_INCONCLUSIVE_PASS };
const char *orch_inconclusive_name(enum orch_on_inconclusive x);
int orch_inconclusive_parse(const char *s, enum orch_on_inconclusive *x);

#define ORCH_MAX_PROBES 16

/* How a rollout behaves; durations in milliseconds. Stored in the journal. */
struct orch_opts {
	int64_t bake_ms;            /* healthy this long to pass (30 s) */
	int64_t deadline_ms;        /* from the deploy request to the end of the bake (5 min) */
	int64_t final_bake_ms;      /* watch the whole fleet after the last wave (0) */
	int64_t poll_ms;            /* status polling and watching interval (1 s) */
	int64_t timeout_ms;         /* one HTTP request (10 s) */
	int64_t unreachable_ms;     /* failing requests this long make a host unreachable (15 s) */
	int64_t revert_deadline_ms; /* a reverted host is healthy again within (2 min) */
	size_t max_unhealthy, max_unreachable; /* failure budgets (0, 0) */
	size_t max_parallel;        /* hosts deploying, and requests in flight, at once (64) */
	enum orch_on_failure on_failure;
	struct strv gates;          /* --gate commands, run before wave 1 */
	struct strv checks;         /* --check commands, run after each wave */
	struct strv probes;         /* --probe URL templates (at most ORCH_MAX_PROBES) */
	char *token_file, *cacert;  /* absolute paths, or NULL */
	bool allow_untested;
	char *trust_file;           /* --trust: absolute path of a trust policy, or NULL */
	char *override_reason;      /* --override REASON: lifts a refusal (release policy, veto, rolled-back digest), or NULL */
	char *override_by;          /* who gave it (img_outcome_who), set with override_reason */
	char *sign_key;             /* --sign-key: absolute path of the key that signs the outcome record, or NULL */
	char *policy_file;          /* --policy: absolute path of a release policy (policy.h), or NULL */
	/* canary analysis (docs/CANARY.md): --analysis FILE (absolute) or
	 * "default", or NULL for none; with it --bake is the least a wave bakes
	 * and bake_max_ms the most (5 min) */
	char *analysis;
	char *metrics_source; /* --metrics-source prometheus=URL: the URL; NULL: rampd's metrics API */
	int64_t bake_max_ms;
	enum orch_on_inconclusive on_inconclusive;
	/* with analysis: draws the hosts each wave's large groups are judged on
	 * (docs/CANARY.md); chosen at the start (0: not yet), kept in the journal
	 * so that a resumed rollout draws the same hosts */
	int64_t analysis_seed;
};
void orch_opts_defaults(struct orch_opts *o);
void orch_opts_free(struct orch_opts *o);
int orch_opts_copy(struct orch_opts *dst, const struct orch_opts *src, struct err *e);

/* One rollout: what it is (the start event), what the precheck found, and
 * how far it got (the later events). Built by the engine or by replaying a
 * journal. */
struct orch_rollout {
	char *id, *app, *image, *digest, *fleet, *takeover, *started;
	char *started_by, *ci_url; /* who started it, the CI job's URL (img_outcome_who); may be NULL */
	struct orch_fleet hosts; /* in plan order */
	size_t *ends;            /* cumulative wave ends, as orch_plan */
	size_t n_waves;
	struct orch_opts o;
	/* precheck */
	bool prechecked;
	int64_t generation;
	char **before;           /* per host: digest to go back to; NULL: new host (app removed on revert) */
	/* progress */
	size_t waves_started, waves_passed;
	bool reverting, paused, ended;
	uint8_t *state;          /* enum orch_hs per host */
	char **reason;           /* per host: why it failed (or NULL) */
	char result[32];         /* end: done, rolled_back, ... */
	int exit_code;
	char *ended_at;
	char *failure;           /* the reason the rollout failed, if it did */
	struct strv analysis;    /* the canary analysis's judgements: "wave 1: pass" then a line per metric */
	/* replay */
	bool torn;               /* the last line was cut short (crash while writing) */
	size_t valid_len;        /* bytes up to the end of the last whole line */
	size_t lines;
};
void orch_rollout_free(struct orch_rollout *r);
size_t orch_rollout_wave_of(const struct orch_rollout *r, size_t host);
/* Allocate state/reason/before arrays for r->hosts.n hosts. */
int orch_rollout_alloc_hosts(struct orch_rollout *r, struct err *e);
int orch_rollout_set_reason(struct orch_rollout *r, size_t host, const char *why);

/* Output of the engine. */
enum orch_level { ORCH_LVL_MAIN, ORCH_LVL_DETAIL, ORCH_LVL_PROBLEM };
struct orch_progress {
	const char *phase;   /* "precheck", "wave", "check", "final bake", "revert" */
	size_t wave, n_waves, wave_size, wave_healthy, wave_baked;
	size_t converted, total, failed, unreachable, reverting;
	int64_t bake_left_ms; /* -1 when nobody is baking */
};
struct orch_event;
struct orch_ui {
	void *ctx;
	/* every event: itself, its JSON line (no newline) and a human text */
	void (*event)(void *ctx, const struct orch_event *ev, const char *json, size_t len, enum orch_level lvl,
		      const char *human);
	/* a few times a second while something runs */
	void (*progress)(void *ctx, const struct orch_progress *p);
};

/* A new rollout (ramp rollout). */
struct orch_new {
	const char *state_dir, *app, *image_ref, *fleet_path;
	const struct img_registry_opts *reg; /* tag resolution and test records (NULL: defaults) */
	struct orch_plan_opts plan;
	struct orch_opts o;
	bool takeover;
};

/* Returns an exit code (ORCH_EXIT_*), or -1 with e set when nothing was
 * deployed because of an error. *stop set (by a signal) ends it cleanly. */
int orch_rollout_start(const struct orch_new *a, const struct orch_ui *ui, volatile sig_atomic_t *stop,
		       struct err *e);
/* Continue (abort=false) or revert (abort=true) an unfinished rollout; reg
 * as for a new one, used when its precheck (test records) is done again. */
int orch_rollout_resume(const char *state_dir, const char *id, bool abort, const struct img_registry_opts *reg,
			const struct orch_ui *ui, volatile sig_atomic_t *stop, struct err *e);
/* The plan of a new rollout (hosts in deployment order, waves, options),
 * contacting nobody: what --dry-run shows, and where a rollout starts. */
int orch_rollout_plan(const struct orch_new *a, struct orch_rollout *r, struct err *e);

/* Fleet-wide revert: every host that has the app goes to `to` (a digest, or
 * NULL for each host's newest kept version), in parallel, with a new
 * generation; r receives the per-host results. */
int orch_fleet_revert(const struct orch_fleet *f, const char *app, const char *to, const struct orch_opts *o,
		      const struct orch_ui *ui, volatile sig_atomic_t *stop, struct orch_rollout *r, struct err *e);

#endif
