/* html.h: the HTML reports: a rollout (waves on a timeline, hosts and their
 * state changes, canary metrics, policy decisions) and the fleet (hosts by
 * app, versions coloured, unhealthy first). One self-contained page each:
 * inline CSS and SVG, no script, no fonts, images or links to fetch; every
 * text HTML-escaped; states written out as well as coloured; readable
 * printed and in dark mode.
 *
 * A rollout report is rendered from its own small model (struct orch_html),
 * filled from the rollout's events by orch_html_from_events (html_events.c,
 * the one place that knows the event format), so `ramp rollout show --html`
 * (the journal) and `ramp rollout --html` (the live events) draw the same
 * page. */
#ifndef RAMP_ORCH_HTML_H
#define RAMP_ORCH_HTML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/err.h"
#include "orchestrator/rollout.h"
#include "orchestrator/status.h"

/* Above this many hosts the page summarises each wave and names only the
 * hosts that did not end well (at most ORCH_HTML_NAMED). */
#define ORCH_HTML_HOST_ROWS 200
#define ORCH_HTML_NAMED 200

/* Times are milliseconds since the epoch; -1 when it has not happened. */
struct orch_html_wave {
	size_t first, n;              /* hosts [first, first + n) in plan order */
	int64_t started, healthy;     /* deploy requested; every host healthy (the bake starts) */
	int64_t decided;              /* the verdict */
	char verdict[16];             /* "passed", "failed", "running", "not started" */
};

struct orch_html_change {
	int64_t t;
	uint8_t state; /* enum orch_hs */
};

struct orch_html_host {
	char *name;
	size_t wave;    /* 0-based */
	uint8_t state;  /* enum orch_hs, the last one */
	char *reason;   /* or NULL */
	struct orch_html_change *changes;
	size_t n_changes;
};

/* One judgement of a canary metric: the converted hosts' value, the
 * baseline's and the bound the converted value was held to (the baseline
 * plus its tolerance, or minus where lower is worse); NAN: not known. */
struct orch_html_point {
	int64_t ms; /* since the wave started */
	double converted, baseline, allowed;
};

/* A canary metric in one wave: its judgements (the `series` event; from a
 * journal without one, the deciding judgement of the `analysis` event) and
 * the decision. */
struct orch_html_metric {
	char *name;
	size_t wave;        /* 0-based */
	bool share;         /* a ratio or latency metric: drawn as percentages */
	struct orch_html_point *p;
	size_t n;
	int64_t decided;    /* ms since the wave started; -1: not yet */
	char *decision;     /* the metric's verdict ("pass", "fail", "continue") or NULL */
	char *wave_verdict; /* the wave's ("pass", "fail", "inconclusive") or NULL */
};

/* A gate, check, precheck, override or pause: what policy decided, and when. */
struct orch_html_decision {
	int64_t t;
	bool ok;
	bool lifted; /* a release-policy check that said no, lifted by --override */
	char *what; /* "gate", "check wave 2", "override", ... */
	char *text;
};

struct orch_html {
	char *id, *app, *image, *digest, *fleet;
	char *started_by; /* NULL: not recorded */
	char *ci_url;     /* the CI job that started it; NULL: none */
	char *records;    /* the test records, in words; NULL: not checked */
	int64_t started, ended;
	char status[32];  /* done, rolled_back, ..., "running", "paused" */
	char *failure;
	struct orch_html_wave *waves;
	size_t n_waves;
	struct orch_html_host *hosts;
	size_t n_hosts;
	struct orch_html_metric *metrics;
	size_t n_metrics;
	struct orch_html_decision *decisions;
	size_t n_decisions;
};

void orch_html_free(struct orch_html *m);
/* Append a decision (strings copied). */
int orch_html_decide(struct orch_html *m, int64_t t, bool ok, const char *what, const char *text, struct err *e);

/* The model from a rollout's event lines (a journal, or the events as they
 * come; a torn last line is ignored). The lines are checked as a journal is
 * (orch_journal_replay) before anything is read from them. */
int orch_html_from_events(const char *buf, size_t len, struct orch_html *m, struct err *e);

/* The page. */
int orch_html_rollout(FILE *f, const struct orch_html *m);
/* The fleet page from `ramp fleet status`'s rows. */
int orch_html_fleet(FILE *f, const struct orch_fleet *fl, const struct orch_view *rows, size_t n);
/* Render into a buffer and write it to path atomically (fs_write_atomic). */
int orch_html_write(const char *path, int (*render)(FILE *, const void *), const void *ctx, struct err *e);

/* `ramp rollout --html FILE`: wraps ui so that the page is rewritten after
 * each event (per-host events: at most every ORCH_HTML_LIVE_MS, and at most
 * a tenth of the time spent drawing). On a resumed
 * rollout, the earlier events are read from the journal in state_dir first. */
#define ORCH_HTML_LIVE_MS 500
struct orch_html_live {
	const char *path, *state_dir;
	struct orch_ui inner;
	char *buf; /* the events so far, one a line */
	size_t len, cap;
	int64_t written_ms, cost_ms; /* the last page: when, and how long it took */
	bool dirty;  /* events not yet drawn */
	bool failed; /* a write failed: said once */
};
void orch_html_live(struct orch_html_live *l, const char *path, const char *state_dir, struct orch_ui *ui);
void orch_html_live_free(struct orch_html_live *l);

#endif
