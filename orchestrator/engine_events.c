/* engine_events.c: the events the engine's decisions make: each filled from
 * the engine's state (event.h), written to the journal (synced when the
 * engine acts on it next) and handed to the ui with a line in words. The
 * decisions themselves are in engine.c and engine_host.c. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "image/record.h"
#include "orchestrator/canary_series.h"
#include "orchestrator/engine_int.h"

/* Write ev to the journal and the ui; it is freed. */
static void emit(struct eng *g, struct orch_event *ev, bool sync, enum orch_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static void emit(struct eng *g, struct orch_event *ev, bool sync, enum orch_level lvl, const char *fmt, ...)
{
	char t[CLK_RFC3339_MAX], human[2048];
	const char *line;
	size_t len;
	struct err e;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(human, sizeof human, fmt, ap);
	va_end(ap);
	clk_rfc3339(clk_wall_ms(), true, t, sizeof t);
	ev->time = t;
	ev->rollout = g->r->id;
	struct jgen *jg = jgen_new(false);
	if (!jg || orch_event_write(jg, ev, &e) < 0 || jgen_result(jg, &line, &len, &e) < 0) {
		log_err("event %s: %s", orch_ev_name(ev->kind), jg ? e.msg : "out of memory");
		goto out;
	}
	if (g->run->j && !g->fatal && orch_journal_write(g->run->j, line, len, sync, &e) < 0) {
		g->fatal = true;
		g->ferr = e;
	}
	if (g->run->ui && g->run->ui->event)
		g->run->ui->event(g->run->ui->ctx, ev, line, len, lvl, human);
out:
	jgen_free(jg);
	orch_event_free(ev);
}

/* " a b c" and " and N more" (or " …") past `shown` names */
static void names(char *buf, size_t cap, const char *const *v, size_t n, size_t shown, bool count_more)
{
	buf[0] = '\0';
	for (size_t k = 0; k < n; k++) {
		size_t l = strlen(buf);
		if (k < shown)
			snprintf(buf + l, cap - l, " %s", v[k]);
		else if (k == shown) {
			if (count_more)
				snprintf(buf + l, cap - l, " and %zu more", n - shown);
			else
				snprintf(buf + l, cap - l, " …");
		}
	}
}

/* ---- the start: it creates the journal ---- */

int eng_ev_start(struct eng *g, struct err *e)
{
	struct orch_rollout *r = g->r;
	struct orch_event ev = {0};
	char t[CLK_RFC3339_MAX], sizes[200] = "", human[600];
	const char *line;
	size_t len;
	struct jgen *jg = jgen_new(false);
	int rc = -1;
	clk_rfc3339(clk_wall_ms(), true, t, sizeof t);
	if (!jg) {
		err_errno(e, ENOMEM, "journal");
		goto out;
	}
	if (orch_start_event(r, &ev, e) < 0)
		goto out;
	ev.time = r->started;
	if (orch_event_write(jg, &ev, e) < 0 || jgen_result(jg, &line, &len, e) < 0 ||
	    orch_journal_create(g->run->journal_path, line, len, g->run->j, e) < 0)
		goto out;
	for (size_t w = 0; w < r->n_waves; w++) {
		size_t l = strlen(sizes);
		if (w < 12)
			snprintf(sizes + l, sizeof sizes - l, "%s%zu", w ? ", " : "", r->ends[w] - (w ? r->ends[w - 1] : 0));
		else if (w == 12)
			snprintf(sizes + l, sizeof sizes - l, ", …");
	}
	snprintf(human, sizeof human, "rollout %s: %s %s on %zu host%s in %zu wave%s (%s)", r->id, r->app, r->image,
		 r->hosts.n, r->hosts.n == 1 ? "" : "s", r->n_waves, r->n_waves == 1 ? "" : "s", sizes);
	if (g->run->ui && g->run->ui->event)
		g->run->ui->event(g->run->ui->ctx, &ev, line, len, ORCH_LVL_MAIN, human);
	rc = 0;
out:
	jgen_free(jg);
	orch_event_free(&ev);
	return rc;
}

/* ---- hosts ---- */

void eng_ev_host(struct eng *g, size_t i, enum orch_hs s, const char *phase, const char *digest, const char *msg,
		 bool sync, enum orch_level lvl)
{
	struct orch_event ev = {.kind = ORCH_EV_HOST};
	ev.u.host = (struct orch_ev_host){.host = eng_name(g, i), .wave = (int64_t)eng_wave_of(g, i) + 1,
					  .state = orch_hs_name(s), .phase = phase, .digest = digest, .message = msg};
	emit(g, &ev, sync, lvl, "%s: %s%s%s", eng_name(g, i), orch_hs_name(s), msg && *msg ? ": " : "", msg ? msg : "");
}

/* ---- before wave 1 ---- */

void eng_ev_override(struct eng *g, const char *lifted)
{
	const struct orch_opts *o = &g->r->o;
	struct orch_event ev = {.kind = ORCH_EV_OVERRIDE};
	ev.u.override = (struct orch_ev_override){.lifted = lifted, .reason = o->override_reason,
						  .by = o->override_by ? o->override_by : ""};
	emit(g, &ev, true, ORCH_LVL_PROBLEM, "override by %s (%s) lifts: %s", ev.u.override.by, o->override_reason,
	     lifted);
}

void eng_ev_gate(struct eng *g, const char *cmd, int rc, int status, const char *why)
{
	bool ok = rc == 0 && status == 0;
	struct orch_event ev = {.kind = ORCH_EV_GATE};
	ev.u.gate = (struct orch_ev_gate){.command = cmd, .exit = rc < 0 ? -1 : status, .ok = ok};
	emit(g, &ev, !ok, ok ? ORCH_LVL_DETAIL : ORCH_LVL_PROBLEM, "gate `%s`: %s", cmd,
	     ok ? "ok" : rc < 0 ? why : "refused");
}

void eng_ev_precheck_refused(struct eng *g, const char *why)
{
	struct orch_event ev = {.kind = ORCH_EV_PRECHECK};
	struct orch_ev_reason problem = {.reason = why};
	ev.u.precheck = (struct orch_ev_precheck){.problems = &problem, .n_problems = 1};
	emit(g, &ev, true, ORCH_LVL_PROBLEM, "refused: %s", why);
}

void eng_ev_precheck_problems(struct eng *g)
{
	struct orch_rollout *r = g->r;
	struct orch_event ev = {.kind = ORCH_EV_PRECHECK};
	struct err e;
	char human[1200] = "";
	struct orch_ev_reason *v = orch_event_alloc(&ev, g->n, sizeof *v, &e);
	size_t n = 0;
	if (!v) {
		log_err("%s", e.msg);
		return;
	}
	for (size_t i = 0; i < g->n; i++) {
		if (!r->reason[i] || eng_state(g, i) == ORCH_HS_SKIPPED)
			continue;
		v[n] = (struct orch_ev_reason){eng_name(g, i), r->reason[i]};
		size_t l = strlen(human);
		if (n++ < 5)
			snprintf(human + l, sizeof human - l, "\n  %s: %s", eng_name(g, i), r->reason[i]);
	}
	ev.u.precheck = (struct orch_ev_precheck){.problems = v, .n_problems = n};
	emit(g, &ev, true, ORCH_LVL_PROBLEM, "precheck: %zu host%s not ready:%s", g->pre.problems,
	     g->pre.problems == 1 ? "" : "s", human);
}

void eng_ev_precheck_ok(struct eng *g)
{
	struct orch_rollout *r = g->r;
	struct orch_event ev = {.kind = ORCH_EV_PRECHECK};
	struct orch_ev_precheck *p = &ev.u.precheck;
	struct err e;
	size_t fresh = 0, skipped = g->count.unreachable;
	const char **shown = orch_event_alloc(&ev, g->n, sizeof *shown, &e);
	char list[300];
	*p = (struct orch_ev_precheck){.ok = true, .has_generation = true, .generation = r->generation};
	p->before = (struct orch_strs){orch_event_alloc(&ev, g->n, sizeof *p->before.v, &e), g->n};
	p->skipped = orch_event_alloc(&ev, skipped, sizeof *p->skipped, &e);
	const struct orch_resolved *img = g->run->img && g->run->img->records_known ? g->run->img : NULL;
	p->n_records = img ? img->n_records : 0;
	p->records = orch_event_alloc(&ev, p->n_records, sizeof *p->records, &e);
	if (!shown || !p->before.v || !p->skipped || !p->records) {
		log_err("%s", e.msg);
		orch_event_free(&ev);
		return;
	}
	for (size_t k = 0; k < p->n_records; k++)
		p->records[k] = (struct orch_ev_record){
			.platform = img->records[k].platform,
			.result = img->records[k].passed ? "passed" : "failed",
			.artifact = img->records[k].artifact.s,
			.is_signed = img->records[k].media_type && !strcmp(img->records[k].media_type, IMG_MT_TEST_RECORD_DSSE)};
	for (size_t i = 0; i < g->n; i++) {
		p->before.v[i] = r->before[i];
		fresh += !r->before[i];
		if (eng_state(g, i) == ORCH_HS_SKIPPED && p->n_skipped < skipped) {
			shown[p->n_skipped] = eng_name(g, i);
			p->skipped[p->n_skipped++] = (struct orch_ev_reason){eng_name(g, i), r->reason[i]};
		}
	}
	names(list, sizeof list, shown, p->n_skipped, 8, false);
	emit(g, &ev, true, ORCH_LVL_MAIN, "precheck: %zu host%s ready (%zu new), generation %" PRId64 "%s%s",
	     g->n - skipped, g->n - skipped == 1 ? "" : "s", fresh - skipped, r->generation,
	     skipped ? "; unreachable, skipped (within --max-unreachable):" : "", list);
}

/* ---- waves ---- */

void eng_ev_wave(struct eng *g, size_t w)
{
	struct orch_event ev = {.kind = ORCH_EV_WAVE};
	struct err e;
	size_t from, to;
	char list[400];
	eng_wave_range(g, w, &from, &to);
	const char **v = orch_event_alloc(&ev, to - from, sizeof *v, &e);
	if (!v) {
		g->fatal = true;
		g->ferr = e;
		return;
	}
	for (size_t i = from; i < to; i++)
		v[i - from] = eng_name(g, i);
	ev.u.wave = (struct orch_ev_wave){.wave = (int64_t)w + 1, .hosts = {v, to - from}};
	names(list, sizeof list, v, to - from, 8, true);
	/* journaled before any host hears of it */
	emit(g, &ev, true, ORCH_LVL_MAIN, "wave %zu/%zu (%zu host%s):%s", w + 1, g->r->n_waves, to - from,
	     to - from == 1 ? "" : "s", list);
}

void eng_ev_check(struct eng *g, const char *cmd, int rc, int status)
{
	bool ok = rc == 1 && status == 0;
	struct orch_event ev = {.kind = ORCH_EV_CHECK};
	ev.u.check = (struct orch_ev_check){.wave = (int64_t)g->wave + 1, .command = cmd, .exit = rc < 0 ? -1 : status,
					    .ok = ok};
	emit(g, &ev, false, ok ? ORCH_LVL_DETAIL : ORCH_LVL_PROBLEM, "check `%s` after wave %zu: %s", cmd, g->wave + 1,
	     ok ? "ok" : "failed");
}

void eng_ev_wave_passed(struct eng *g, int64_t ms)
{
	struct orch_event ev = {.kind = ORCH_EV_WAVE_PASSED};
	ev.u.wave_passed = (struct orch_ev_wave_passed){.wave = (int64_t)g->wave + 1, .ms = ms};
	emit(g, &ev, false, ORCH_LVL_MAIN, "wave %zu/%zu passed in %.1f s", g->wave + 1, g->r->n_waves,
	     (double)ms / 1000.0);
}

/* ---- failure, fencing ---- */

void eng_ev_failure(struct eng *g, size_t host, const char *reason, const struct orch_status *s, const char *probe)
{
	struct orch_event ev = {.kind = ORCH_EV_FAILURE};
	struct orch_ev_failure *f = &ev.u.failure;
	struct orch_ev_hist hist[ORCH_MAX_HISTORY];
	char words[1500] = "";
	*f = (struct orch_ev_failure){.reason = reason, .probe = probe,
				      .wave = (int64_t)(host != SIZE_MAX ? eng_wave_of(g, host) : g->wave) + 1};
	if (host != SIZE_MAX)
		f->host = eng_name(g, host);
	if (s) {
		f->phase = s->phase;
		f->has_history = true;
		f->history = hist;
		f->n_history = s->n_history;
		for (size_t k = 0; k < s->n_history; k++)
			hist[k] = (struct orch_ev_hist){s->history[k].time, s->history[k].phase, s->history[k].message};
		/* in words, the newest few (the JSON has them all) */
		for (size_t k = s->n_history > 6 ? s->n_history - 6 : 0; k < s->n_history; k++) {
			size_t l = strlen(words);
			snprintf(words + l, sizeof words - l, "\n    %s %s%s%.120s", s->history[k].time, s->history[k].phase,
				 s->history[k].message[0] ? ": " : "", s->history[k].message);
		}
	}
	if (host == SIZE_MAX)
		emit(g, &ev, true, ORCH_LVL_PROBLEM, "FAILED: wave %zu: %s", g->wave + 1, reason);
	else
		emit(g, &ev, true, ORCH_LVL_PROBLEM, "FAILED: host %s (wave %zu): %s%s%s%s%s", eng_name(g, host),
		     eng_wave_of(g, host) + 1, reason, probe && *probe ? "\n  probe: " : "", probe ? probe : "",
		     *words ? "\n  phase history:" : "", words);
}

void eng_ev_policy(struct eng *g, struct orch_event *ev)
{
	const struct orch_ev_policy *p = &ev->u.policy;
	bool over = p->override_by != NULL;
	emit(g, ev, !p->ok, p->ok ? ORCH_LVL_DETAIL : ORCH_LVL_PROBLEM, "%s \"%s\": %s%s%s%s%s%s%s", p->check, p->name,
	     p->ok ? "clear" : !strcmp(p->check, "freeze") ? "in force" : "blocked", p->reason ? ": " : "",
	     p->reason ? p->reason : "", p->until ? "; until " : "", p->until ? p->until : "",
	     over ? "; overridden by " : "", over ? p->override_by : "");
}

void eng_ev_paused(struct eng *g, const char *reason)
{
	struct orch_event ev = {.kind = ORCH_EV_PAUSED};
	ev.u.paused.reason = reason;
	emit(g, &ev, true, ORCH_LVL_PROBLEM,
	     "paused: converted hosts keep the new version; 'ramp rollout --resume %s' retries the wave, "
	     "'ramp rollout --abort %s' reverts", g->r->id, g->r->id);
}

void eng_ev_superseded(struct eng *g, size_t i, int64_t gen, const char *by)
{
	struct orch_event ev = {.kind = ORCH_EV_SUPERSEDED};
	char seen[64] = "a newer generation";
	if (gen > 0)
		snprintf(seen, sizeof seen, "generation %" PRId64, gen);
	ev.u.superseded = (struct orch_ev_superseded){.has_generation = gen > 0, .generation = gen, .by = by,
						      .host = eng_name(g, i)};
	emit(g, &ev, true, ORCH_LVL_PROBLEM,
	     "superseded: host %s has %s%s%s (ours is %" PRId64 "): a newer rollout owns the fleet; stopping "
	     "without reverting", eng_name(g, i), seen, by && *by ? " of rollout " : "", by ? by : "", g->r->generation);
}

/* ---- revert, end ---- */

void eng_ev_revert(struct eng *g, const char *const *hosts, size_t n, const char *why)
{
	struct orch_event ev = {.kind = ORCH_EV_REVERT};
	char list[400];
	ev.u.revert = (struct orch_ev_revert){.hosts = {(const char **)hosts, n}, .reason = why};
	names(list, sizeof list, hosts, n, 8, false);
	emit(g, &ev, true, ORCH_LVL_MAIN, "reverting %zu host%s:%s", n, n == 1 ? "" : "s", list);
}

void eng_ev_takeover(struct eng *g, bool abort)
{
	struct orch_rollout *r = g->r;
	struct orch_event ev = {.kind = abort ? ORCH_EV_ABORT : ORCH_EV_RESUME};
	ev.u.resume.pid = getpid();
	emit(g, &ev, true, ORCH_LVL_MAIN, "%s rollout %s: %s %s, %zu of %zu waves passed%s", abort ? "abort" : "resume",
	     r->id, r->app, r->image, r->waves_passed, r->n_waves, r->reverting ? ", revert in progress" : "");
}

void eng_ev_interrupted(struct eng *g)
{
	struct orch_event ev = {.kind = ORCH_EV_INTERRUPTED};
	emit(g, &ev, true, ORCH_LVL_PROBLEM,
	     "interrupted: rollout %s is unfinished; 'ramp rollout --resume %s' continues it, "
	     "'ramp rollout --abort %s' reverts it", g->r->id, g->r->id, g->r->id);
}

void eng_ev_end(struct eng *g, const char *result, int code, const char *human)
{
	struct orch_rollout *r = g->r;
	struct orch_event ev = {.kind = ORCH_EV_END};
	struct orch_ev_end *x = &ev.u.end;
	struct err e;
	int64_t ms = eng_now(g) - g->t0;
	*x = (struct orch_ev_end){.result = result, .exit = code, .has_ms = true, .ms = ms, .has_counts = true};
	if (!(x->hosts = orch_event_alloc(&ev, g->n, sizeof *x->hosts, &e))) {
		log_err("%s", e.msg);
		return;
	}
	x->n_hosts = g->n;
	x->counts.hosts = (int64_t)g->n;
	for (size_t i = 0; i < g->n; i++) {
		x->counts.state[eng_state(g, i)]++;
		x->counts.converted += g->h[i].touched;
		x->hosts[i] = (struct orch_ev_end_host){eng_name(g, i), (int64_t)eng_wave_of(g, i) + 1,
							orch_hs_name(eng_state(g, i)), r->reason[i]};
	}
	const char *ov = r->o.override_reason, *by = r->o.override_by;
	emit(g, &ev, true, code ? ORCH_LVL_PROBLEM : ORCH_LVL_MAIN, "%s (%.1f s)%s%s%s%s", human, (double)ms / 1000.0,
	     ov ? "; --override by " : "", ov ? (by ? by : "?") : "", ov ? ": " : "", ov ? ov : "");
}

/* Built by engine_canary.c, which has the numbers. */
void eng_ev_analysis(struct eng *g, struct orch_event *ev, enum orch_level lvl, const char *human)
{
	emit(g, ev, true, lvl, "%s", human);
}

/* Each metric's series of the wave, just before its analysis event (which
 * syncs them to disk with it). */
void eng_ev_series(struct eng *g, const struct orch_series *s)
{
	for (size_t k = 0; k < orch_series_metrics(s); k++) {
		struct orch_event ev = {.kind = ORCH_EV_SERIES};
		struct orch_ev_series *x = &ev.u.series;
		size_t n;
		const struct orch_ev_point *p = orch_series_points(s, k, &n);
		if (!n)
			continue;
		*x = (struct orch_ev_series){.wave = (int64_t)g->wave + 1, .metric = orch_series_name(s, k),
					     .points = (struct orch_ev_point *)p, .n_points = n};
		emit(g, &ev, false, ORCH_LVL_DETAIL, "series of %s in wave %zu: %zu judgements, the last at %.1f s",
		     x->metric, g->wave + 1, n, (double)p[n - 1].ms / 1000.0);
	}
}
