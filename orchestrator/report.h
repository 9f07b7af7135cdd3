/* report.h: what a person (or CI) sees of a rollout: the events as JSON
 * lines (--json), or as human lines with a progress line on a terminal and a
 * summary table at the end (built from the end event, like any consumer of
 * the JSON would). */
#ifndef RAMP_ORCH_REPORT_H
#define RAMP_ORCH_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "orchestrator/rollout.h"

struct orch_report {
	bool json;     /* JSON lines on out, nothing else there (problems in words on err) */
	bool verbose;  /* per-host details too */
	bool quiet;    /* -q: no per-wave lines, only problems and the result (words only) */
	bool progress; /* a live progress line on err (a terminal) */
	FILE *out, *err;
	bool line_shown; /* a progress line is on the terminal */
};

/* Connect rep's printers to ui. */
void orch_report_ui(struct orch_report *rep, struct orch_ui *ui);
/* The table of a rollout's hosts: HOST WAVE STATE REASON, collapsed to counts
 * and the hosts worth naming when there are many. */
void orch_report_table(FILE *f, const struct orch_rollout *r);
/* "1h02m", "3m20s", "12.5s" */
void orch_fmt_duration(char *buf, size_t n, int64_t ms);

#endif
