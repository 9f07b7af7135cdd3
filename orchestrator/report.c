/* report.c: human and JSON output of rollout events (see report.h). */
#include "orchestrator/report.h"

#include <inttypes.h>
#include <string.h>

#include "lib/log.h"
#include "orchestrator/event.h"
#include "orchestrator/fleet.h"

void orch_fmt_duration(char *buf, size_t n, int64_t ms)
{
	if (ms < 60000)
		snprintf(buf, n, "%.1fs", (double)ms / 1000.0);
	else if (ms < 3600000)
		snprintf(buf, n, "%" PRId64 "m%02" PRId64 "s", ms / 60000, ms / 1000 % 60);
	else
		snprintf(buf, n, "%" PRId64 "h%02" PRId64 "m", ms / 3600000, ms / 60000 % 60);
}

static void clear_line(struct orch_report *rep)
{
	if (rep->line_shown) {
		fputs("\r\033[K", rep->err);
		fflush(rep->err);
		rep->line_shown = false;
	}
}

/* Few hosts: one row each. Many: counts by state, then the hosts that did
 * not end well (up to 50). */
static void table_rows(FILE *f, size_t n, const char *(*name)(const void *, size_t), size_t (*wave)(const void *, size_t),
		       const char *(*state)(const void *, size_t), const char *(*reason)(const void *, size_t),
		       const void *ctx)
{
	size_t w = 4;
	for (size_t i = 0; i < n; i++)
		if (strlen(name(ctx, i)) > w)
			w = strlen(name(ctx, i));
	if (n <= 50) {
		fprintf(f, "%-*s  %4s  %-13s  %s\n", (int)w, "HOST", "WAVE", "STATE", "REASON");
		for (size_t i = 0; i < n; i++) {
			const char *why = reason(ctx, i);
			fprintf(f, "%-*s  %4zu  %-13s  %s\n", (int)w, name(ctx, i), wave(ctx, i), state(ctx, i),
				why ? why : "");
		}
		return;
	}
	const char *seen[ORCH_HS_COUNT + 1] = {0};
	size_t counts[ORCH_HS_COUNT + 1] = {0}, k = 0;
	for (size_t i = 0; i < n; i++) {
		size_t s;
		for (s = 0; s < k && strcmp(seen[s], state(ctx, i)); s++)
			;
		if (s == k && k < ORCH_HS_COUNT)
			seen[k++] = state(ctx, i);
		counts[s < ORCH_HS_COUNT ? s : ORCH_HS_COUNT]++;
	}
	fprintf(f, "%zu hosts:", n);
	for (size_t s = 0; s < k; s++)
		fprintf(f, " %zu %s%s", counts[s], seen[s], s + 1 < k ? "," : "\n");
	size_t shown = 0;
	for (size_t i = 0; i < n; i++) {
		const char *s = state(ctx, i), *why = reason(ctx, i);
		if (!strcmp(s, "baked") || !strcmp(s, "pending") ||
		    ((!strcmp(s, "reverted") || !strcmp(s, "skipped")) && !why))
			continue;
		if (shown == 0)
			fprintf(f, "%-*s  %4s  %-13s  %s\n", (int)w, "HOST", "WAVE", "STATE", "REASON");
		if (shown++ == 50) {
			fprintf(f, "… and more\n");
			break;
		}
		fprintf(f, "%-*s  %4zu  %-13s  %s\n", (int)w, name(ctx, i), wave(ctx, i), s, why ? why : "");
	}
}

/* rows from an end event */
static const struct orch_ev_end_host *row(const void *ctx, size_t i)
{
	return &((const struct orch_ev_end *)ctx)->hosts[i];
}
static const char *e_name(const void *ctx, size_t i)
{
	return row(ctx, i)->host;
}
static size_t e_wave(const void *ctx, size_t i)
{
	return (size_t)row(ctx, i)->wave;
}
static const char *e_state(const void *ctx, size_t i)
{
	return row(ctx, i)->state;
}
static const char *e_reason(const void *ctx, size_t i)
{
	return row(ctx, i)->reason;
}

/* rows from a rollout record */
static const char *r_name(const void *ctx, size_t i)
{
	return ((const struct orch_rollout *)ctx)->hosts.hosts[i].name;
}
static size_t r_wave(const void *ctx, size_t i)
{
	return orch_rollout_wave_of(ctx, i) + 1;
}
static const char *r_state(const void *ctx, size_t i)
{
	return orch_hs_name(((const struct orch_rollout *)ctx)->state[i]);
}
static const char *r_reason(const void *ctx, size_t i)
{
	return ((const struct orch_rollout *)ctx)->reason[i];
}

void orch_report_table(FILE *f, const struct orch_rollout *r)
{
	table_rows(f, r->hosts.n, r_name, r_wave, r_state, r_reason, r);
}

static void on_event(void *ctx, const struct orch_event *ev, const char *json, size_t len, enum orch_level lvl,
		     const char *human)
{
	struct orch_report *rep = ctx;
	if (rep->json) {
		fwrite(json, 1, len, rep->out);
		fputc('\n', rep->out);
		/* per-host details go out with the next flush (at most 200 ms later) */
		if (lvl != ORCH_LVL_DETAIL)
			fflush(rep->out);
		/* problems are also told in words, on stderr, for whoever reads the CI log */
		if (lvl == ORCH_LVL_PROBLEM)
			fprintf(rep->err, "%s: %s\n", log_name(), human);
		return;
	}
	if (lvl == ORCH_LVL_DETAIL && !rep->verbose)
		return;
	if (rep->quiet && lvl == ORCH_LVL_MAIN && ev->kind != ORCH_EV_END)
		return;
	clear_line(rep);
	FILE *f = lvl == ORCH_LVL_PROBLEM ? rep->err : rep->out;
	fprintf(f, "%s\n", human);
	/* the end event carries every host's result: the summary table */
	if (ev->kind == ORCH_EV_END && ev->u.end.n_hosts && !rep->quiet) {
		fputc('\n', rep->out);
		table_rows(rep->out, ev->u.end.n_hosts, e_name, e_wave, e_state, e_reason, &ev->u.end);
	}
	fflush(f);
	fflush(rep->out);
}

static void on_progress(void *ctx, const struct orch_progress *p)
{
	struct orch_report *rep = ctx;
	char bake[64] = "";
	fflush(rep->out);
	if (!rep->progress || rep->json)
		return;
	if (p->bake_left_ms >= 0) {
		char d[24];
		orch_fmt_duration(d, sizeof d, p->bake_left_ms);
		snprintf(bake, sizeof bake, " · bake %s left", d);
	}
	if (!strcmp(p->phase, "precheck"))
		fprintf(rep->err, "\r\033[K  precheck of %zu hosts…", p->total);
	else if (!strcmp(p->phase, "revert"))
		fprintf(rep->err, "\r\033[K  reverting: %zu hosts left", p->reverting);
	else
		fprintf(rep->err, "\r\033[K  %s %zu/%zu: %zu/%zu healthy, %zu baked · converted %zu/%zu%s%s", p->phase,
			p->wave, p->n_waves, p->wave_healthy, p->wave_size, p->wave_baked, p->converted, p->total, bake,
			p->failed + p->unreachable ? " · failures within budget" : "");
	fflush(rep->err);
	rep->line_shown = true;
}

void orch_report_ui(struct orch_report *rep, struct orch_ui *ui)
{
	*ui = (struct orch_ui){.ctx = rep, .event = on_event, .progress = on_progress};
}
