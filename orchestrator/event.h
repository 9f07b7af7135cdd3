/* event.h: the events of a rollout, written once and read back: the lines of
 * its journal (orchestrator/journal.h) and of `ramp rollout --json`
 * (docs/ROLLOUT.md, a stable format).
 *
 * Each kind of event is a struct below and a table of its fields in
 * event.c: key, type, where it lives in the struct, whether it is required,
 * the range of a number. orch_event_write() and orch_event_read() both walk
 * that table, so a key is named in one place and a field added there is
 * written and read alike: a writer and a reader cannot disagree on it
 * (tests/unit/test_event.c round-trips every kind). The reader is strict, for
 * a journal is untrusted input: unknown keys, missing required ones, wrong
 * types, numbers out of range and strings with NUL bytes are refused.
 *
 * The structs are views: their strings point elsewhere (into the engine's
 * state when writing, into the parsed JSON when reading), so an event read
 * lives as long as its struct json; the arrays of an event (those the reader
 * makes, and those a writer gets from orch_event_alloc()) are freed by
 * orch_event_free().
 *
 * A new kind of event: a struct here, an entry in enum orch_ev_kind, a table
 * in event.c, what the journal's replay does with it (journal.c: an old
 * ramp refuses a journal with a kind it does not know, so --resume stays
 * exact), and its line in docs/ROLLOUT.md. */
#ifndef RAMP_ORCH_EVENT_H
#define RAMP_ORCH_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "lib/json.h"
#include "orchestrator/hoststate.h"

enum orch_ev_kind {
	ORCH_EV_START,       /* the rollout: what, where, waves, options (the journal's first line) */
	ORCH_EV_GATE,        /* a --gate command ran */
	ORCH_EV_PRECHECK,    /* every host asked: generation and versions to go back to, or why not */
	ORCH_EV_WAVE,        /* a wave starts (journaled before any of its hosts hears of it) */
	ORCH_EV_HOST,        /* a host changed state */
	ORCH_EV_CHECK,       /* a --check command ran after a wave */
	ORCH_EV_WAVE_PASSED, /* every host of the wave baked, checks passed */
	ORCH_EV_FAILURE,     /* why the rollout failed */
	ORCH_EV_PAUSED,      /* stopped as it is (--on-failure pause, a freeze began) */
	ORCH_EV_POLICY,      /* the release policy asked: a freeze or a blocker, clear or not, overridden */
	ORCH_EV_REVERT,      /* the hosts being put back */
	ORCH_EV_RESUME,      /* ramp rollout --resume took over */
	ORCH_EV_ABORT,       /* ramp rollout --abort took over */
	ORCH_EV_INTERRUPTED, /* a signal stopped the orchestrator */
	ORCH_EV_SUPERSEDED,  /* a newer rollout (generation) owns the fleet */
	ORCH_EV_END,         /* the result, every host's state */
	ORCH_EV_OVERRIDE,    /* --override lifted a refusal (a veto, a rolled-back digest) */
	ORCH_EV_PLAN,        /* --dry-run --json: the waves (never journaled) */
	ORCH_EV_ANALYSIS,    /* the canary analysis's judgement of a wave, with its numbers */
	ORCH_EV_SERIES,      /* a metric's values at each judgement of a wave, before its analysis event */
	ORCH_EV_COUNT
};
const char *orch_ev_name(enum orch_ev_kind k);

/* strings, a view (entries may be NULL where the field allows null) */
struct orch_strs {
	const char **v;
	size_t n;
};

struct orch_ev_label {
	const char *key, *value;
};

struct orch_ev_hostdef {
	const char *name, *address;
	int64_t wave; /* 1-based, as every wave in events */
	struct orch_ev_label *labels;
	size_t n_labels;
};

struct orch_ev_options {
	int64_t bake_ms, deadline_ms, final_bake_ms, poll_ms, timeout_ms, unreachable_ms, revert_deadline_ms;
	int64_t max_unhealthy, max_unreachable, max_parallel;
	const char *on_failure; /* "revert", "pause" */
	struct orch_strs gates, checks, probes;
	const char *token_file, *cacert; /* optional */
	bool allow_untested;
	const char *trust_file; /* optional: --trust */
	const char *override_reason, *override_by; /* optional: --override and who gave it */
	const char *sign_key;                      /* optional: --sign-key, for the outcome record */
	const char *policy_file;                   /* optional: --policy, or the fleet's default policy */
	const char *analysis;   /* optional: --analysis FILE (absolute), "default", or the JSON the --max-* options made */
	const char *metrics_source; /* optional: the Prometheus URL of --metrics-source */
	bool has_bake_max;
	int64_t bake_max_ms;    /* with analysis */
	const char *on_inconclusive; /* optional: "pause", "fail", "pass" */
	bool has_analysis_seed;
	int64_t analysis_seed;  /* with analysis: the seed of the sampled hosts */
};

struct orch_ev_start {
	const char *app, *image, *digest, *fleet;
	const char *takeover; /* optional: the unfinished rollout this one superseded */
	const char *started_by, *ci_url; /* optional: who started it, the CI job's URL */
	int64_t *waves;       /* sizes */
	size_t n_waves;
	struct orch_ev_hostdef *hosts;
	size_t n_hosts;
	struct orch_ev_options options;
};

struct orch_ev_gate {
	const char *command;
	int64_t exit; /* -1: it could not run */
	bool ok;
};

struct orch_ev_reason {
	const char *host; /* optional in problems */
	const char *reason;
};

/* A test record the precheck read (resolve.h's orch_record). */
struct orch_ev_record {
	const char *platform, *result, *artifact; /* result: "passed", "failed" */
	bool is_signed;
};

struct orch_ev_precheck {
	bool ok;
	bool has_generation;
	int64_t generation;            /* ok */
	struct orch_strs before;       /* ok: per host, a digest or NULL (a new host) */
	struct orch_ev_reason *problems; /* not ok */
	size_t n_problems;
	struct orch_ev_reason *skipped;  /* ok: unreachable hosts within --max-unreachable */
	size_t n_skipped;
	struct orch_ev_record *records;  /* ok: the image's test records (none with --allow-untested) */
	size_t n_records;
};

struct orch_ev_wave {
	int64_t wave;
	struct orch_strs hosts;
};

struct orch_ev_host {
	const char *host;
	int64_t wave;
	const char *state;                   /* orch_hs_name() */
	const char *phase, *digest, *message; /* optional */
};

struct orch_ev_check {
	int64_t wave;
	const char *command;
	int64_t exit;
	bool ok;
};

struct orch_ev_wave_passed {
	int64_t wave, ms;
};

struct orch_ev_hist {
	const char *time, *phase, *message;
};

struct orch_ev_failure {
	const char *host; /* optional: a check or the like failed the wave */
	int64_t wave;
	const char *reason;
	const char *phase;    /* optional: the host's phase */
	bool has_history;
	struct orch_ev_hist *history; /* the host's phase history, when it answered */
	size_t n_history;
	const char *probe;    /* optional: what a failed --probe read */
};

struct orch_ev_policy {
	const char *check;   /* "freeze", "blocker" */
	const char *name;
	bool ok;             /* clear */
	const char *reason;  /* optional: the freeze's reason; the blocker's output or error */
	const char *until;   /* optional: when the freeze ends (RFC 3339) */
	const char *override_by; /* optional: not clear, but lifted by --override, given by */
};

struct orch_ev_paused {
	const char *reason;
};

struct orch_ev_revert {
	struct orch_strs hosts;
	const char *reason;
};

struct orch_ev_pid {
	int64_t pid;
};

struct orch_ev_superseded {
	bool has_generation;
	int64_t generation; /* the newer one, when a host said */
	const char *by;     /* optional: its rollout */
	const char *host;   /* optional: who said */
};

struct orch_ev_counts {
	int64_t hosts, converted;
	int64_t state[ORCH_HS_COUNT]; /* written when not 0 */
};

struct orch_ev_end_host {
	const char *host;
	int64_t wave;
	const char *state;
	const char *reason; /* optional */
};

struct orch_ev_end {
	const char *result; /* done, rolled_back, refused, revert_incomplete, aborted, reverted, superseded */
	int64_t exit;
	bool has_ms; /* ms, counts and hosts: absent when another rollout closed this one */
	int64_t ms;
	bool has_counts;
	struct orch_ev_counts counts;
	struct orch_ev_end_host *hosts;
	size_t n_hosts;
};

struct orch_ev_override {
	const char *lifted; /* what would have refused the rollout */
	const char *reason, *by;
};

struct orch_ev_plan_wave {
	int64_t wave;
	struct orch_strs hosts;
};

struct orch_ev_plan {
	const char *app, *fleet;
	struct orch_ev_plan_wave *waves;
	size_t n_waves;
	int64_t min_seconds, max_seconds;
};

/* One metric of an analysis event: orch_an_metric_result's numbers (of
 * its deciding test); NAN (null in JSON) where a number does not apply. */
struct orch_ev_an_metric {
	const char *name, *kind, *verdict, *reason, *explain;
	int64_t conv_hosts, base_hosts;
	double tol_abs, tol_rel, le, conv, base, allowed, conv_lo, conv_hi, base_lo, base_hi;
	double conv_events, conv_exposure, base_events, base_exposure;
	double ev_fail, ev_fail_min, ev_pass, ev_pass_min;
	double conv_p50, conv_p99, base_p50, base_p99;
};

struct orch_ev_an_excluded {
	const char *host, *group, *reason;
};

struct orch_ev_analysis {
	int64_t wave, ms;    /* ms: since the wave started */
	const char *verdict; /* pass, fail, inconclusive */
	const char *baseline; /* "concurrent" (later waves' hosts) or "historical" (the final wave) */
	struct orch_ev_an_metric *metrics;
	size_t n_metrics;
	struct orch_ev_an_excluded *excluded;
	size_t n_excluded;
	/* the hosts judged (asked for samples) of each group's (absent in older journals) */
	bool has_judged;
	int64_t conv_judged, conv_group, base_judged, base_group;
};

/* One judgement of a metric (orchestrator/canary_series.h): in JSON
 * [ms, converted, baseline, allowed], the numbers null when not finite. */
struct orch_ev_point {
	int64_t ms; /* since the wave started */
	double conv, base, allowed;
};

struct orch_ev_series {
	int64_t wave;
	const char *metric;
	struct orch_ev_point *points; /* ms increasing */
	size_t n_points;
};

struct orch_event {
	enum orch_ev_kind kind;
	const char *time;    /* "2026-11-26T10:15:04.123Z" */
	const char *rollout; /* every journaled event; not the plan */
	union {
		struct orch_ev_start start;
		struct orch_ev_gate gate;
		struct orch_ev_precheck precheck;
		struct orch_ev_wave wave;
		struct orch_ev_host host;
		struct orch_ev_check check;
		struct orch_ev_wave_passed wave_passed;
		struct orch_ev_failure failure;
		struct orch_ev_paused paused;
		struct orch_ev_policy policy;
		struct orch_ev_revert revert;
		struct orch_ev_pid resume, abort;
		struct orch_ev_superseded superseded;
		struct orch_ev_end end;
		struct orch_ev_override override;
		struct orch_ev_plan plan;
		struct orch_ev_analysis analysis;
		struct orch_ev_series series;
	} u;
	/* what orch_event_read() allocated */
	void **allocs;
	size_t n_allocs;
};

/* Write the event as one JSON object into g (jgen_result() then gives the
 * line). */
int orch_event_write(struct jgen *g, const struct orch_event *ev, struct err *e);
/* Read an event (its strings point into j). */
int orch_event_read(const struct json *j, struct orch_event *ev, struct err *e);
/* An array of n zeroed elements that lives as long as ev (until
 * orch_event_free()): for the arrays of an event being built. */
void *orch_event_alloc(struct orch_event *ev, size_t n, size_t size, struct err *e);
void orch_event_free(struct orch_event *ev);

#endif
