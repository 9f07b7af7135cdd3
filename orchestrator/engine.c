/* engine.c: the rollout engine's loop and phases (see engine.h). One host's
 * requests and answers are in engine_host.c, the events in
 * engine_events.c. */
#include "orchestrator/engine.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/log.h"
#include "orchestrator/engine_int.h"

/* ---- waves ---- */

static void start_wave(struct eng *g, size_t w, int64_t now)
{
	size_t from, to;
	eng_wave_range(g, w, &from, &to);
	eng_ev_wave(g, w);
	if (g->fatal)
		return;
	for (size_t i = from; i < to; i++) {
		struct eng_host *h = &g->h[i];
		if (eng_state(g, i) == ORCH_HS_SKIPPED)
			continue;
		eng_new_epoch(g, i);
		eng_set_state(g, i, ORCH_HS_DEPLOYING);
		h->touched = true;
		h->sent = h->slot = false;
		h->healthy_ms = 0;
		h->next_ms = now;
		h->backoff_ms = ENG_FIRST_POLL_MS;
	}
	g->r->waves_started = w + 1;
	g->wave = w;
	g->wave_t0 = now;
	g->phase = PH_WAVE;
	eng_canary_wave(g, now);
}

/* The verdict on the wave in progress, asked at every pass of the loop. A
 * wave is done when each of its hosts is (baked, or failed within the
 * budget, or back on its old version) and, with --analysis, the canary
 * analysis says no worse (engine_canary.c; it fails the rollout as soon as
 * it says worse, and pauses or fails it when still undecided at --bake-max);
 * a host failing beyond the budget has already failed the rollout
 * (engine_host.c). */
static bool wave_done(struct eng *g)
{
	size_t from, to;
	eng_wave_range(g, g->wave, &from, &to);
	for (size_t i = from; i < to; i++) {
		enum orch_hs s = eng_state(g, i);
		if (s == ORCH_HS_DEPLOYING || s == ORCH_HS_HEALTHY || s == ORCH_HS_REVERTING)
			return false;
	}
	return eng_canary_passed(g, eng_now(g));
}

/* "RAMP_WAVE_HOSTS=h1 h2" (or the addresses) of the wave's baked hosts. */
static char *wave_env_list(struct eng *g, const char *var, bool addr)
{
	size_t from, to, len = 0;
	char *out = NULL;
	FILE *f = open_memstream(&out, &len);
	if (!f)
		return NULL;
	eng_wave_range(g, g->wave, &from, &to);
	fprintf(f, "%s=", var);
	bool first = true;
	for (size_t i = from; i < to; i++) {
		if (eng_state(g, i) != ORCH_HS_BAKED)
			continue;
		const struct orch_host *h = &g->r->hosts.hosts[i];
		fprintf(f, "%s%s", first ? "" : " ", addr ? h->address : h->name);
		first = false;
	}
	fclose(f);
	return out;
}

static void start_check(struct eng *g)
{
	struct orch_rollout *r = g->r;
	char wave[64], waves[64], gen[64];
	snprintf(wave, sizeof wave, "RAMP_WAVE=%zu", g->wave + 1);
	snprintf(waves, sizeof waves, "RAMP_WAVES=%zu", r->n_waves);
	snprintf(gen, sizeof gen, "RAMP_GENERATION=%" PRId64, r->generation);
	_cleanup_free_ char *hosts = wave_env_list(g, "RAMP_WAVE_HOSTS", false);
	_cleanup_free_ char *addrs = wave_env_list(g, "RAMP_WAVE_ADDRS", true);
	_cleanup_free_ char *app = NULL, *image = NULL, *id = NULL;
	if (asprintf(&app, "RAMP_APP=%s", r->app) < 0 || asprintf(&image, "RAMP_IMAGE=%s", r->image) < 0 ||
	    asprintf(&id, "RAMP_ROLLOUT=%s", r->id) < 0 || !hosts || !addrs) {
		eng_fail_rollout(g, SIZE_MAX, "out of memory starting a check", NULL, NULL);
		return;
	}
	char *env[] = {wave, waves, gen, hosts, addrs, app, image, id, NULL};
	struct err e;
	if (orch_proc_start(&g->check.proc, r->o.checks.v[g->check.i], env, r->o.deadline_ms, &e) < 0) {
		eng_fail_rollout(g, SIZE_MAX, e.msg, NULL, NULL);
		return;
	}
	g->check.running = true;
	g->phase = PH_CHECK;
}

static void stop_check(struct eng *g)
{
	if (g->check.running) {
		orch_proc_kill(&g->check.proc);
		g->check.running = false;
	}
}

/* Between two waves: the next one starts at once, unless the release
 * policy holds the rollout here (a freeze began, a blocker), where every
 * host is settled: it pauses, and --resume goes on. */
static void next_wave(struct eng *g, int64_t now)
{
	struct orch_rollout *r = g->r;
	if (r->waves_passed < r->n_waves) {
		char why[1200];
		if (!eng_policy_check(g, r->waves_passed, why, sizeof why)) {
			eng_pause(g, why);
			return;
		}
		start_wave(g, r->waves_passed, now);
		return;
	}
	g->phase = PH_FINAL;
	g->final_until = now + r->o.final_bake_ms;
}

static void wave_passed(struct eng *g, int64_t now)
{
	eng_ev_wave_passed(g, now - g->wave_t0);
	g->r->waves_passed = g->wave + 1;
	next_wave(g, now);
}

/* The wave is done: its checks, then the next wave. */
static void wave_finished(struct eng *g, int64_t now)
{
	g->check.i = 0;
	if (g->r->o.checks.n)
		start_check(g);
	else
		wave_passed(g, now);
}

static void check_finished(struct eng *g, int64_t now)
{
	struct orch_rollout *r = g->r;
	struct err e;
	int status;
	int rc = orch_proc_poll(&g->check.proc, &status, &e);
	if (rc == 0)
		return;
	g->check.running = false;
	const char *cmd = r->o.checks.v[g->check.i];
	eng_ev_check(g, cmd, rc, status);
	if (rc < 0 || status != 0) {
		char why[600];
		if (rc < 0)
			snprintf(why, sizeof why, "check `%.300s`: %.200s", cmd, e.msg);
		else if (status == 124)
			snprintf(why, sizeof why, "check `%.300s` did not finish within %" PRId64 " s", cmd,
				 r->o.deadline_ms / 1000);
		else
			snprintf(why, sizeof why, "check `%.300s` exited with status %d", cmd, status);
		eng_fail_rollout(g, SIZE_MAX, why, NULL, NULL);
		return;
	}
	if (++g->check.i < r->o.checks.n) {
		start_check(g);
		return;
	}
	g->phase = PH_WAVE; /* hosts may have failed meanwhile: done again, then passed */
	if (wave_done(g) && !g->failing)
		wave_passed(g, now);
}

/* ---- failure, pause, revert, end ---- */

/* Stop as it is: converted hosts keep the new version; --resume retries the
 * wave, --abort reverts. */
void eng_pause(struct eng *g, const char *reason)
{
	eng_ev_paused(g, reason);
	g->r->paused = true;
	g->exit_code = ORCH_EXIT_ATTENTION;
	g->phase = PH_END;
}

void eng_fail_rollout(struct eng *g, size_t host, const char *reason, const struct orch_status *s, const char *probe)
{
	if (g->failing)
		return;
	g->failing = true;
	free(g->r->failure);
	if (host == SIZE_MAX ||
	    asprintf(&g->r->failure, "%s (wave %zu): %s", eng_name(g, host), eng_wave_of(g, host) + 1, reason) < 0)
		g->r->failure = strdup(reason);
	eng_ev_failure(g, host, reason, s, probe);
	stop_check(g);
	if (g->r->o.on_failure == ORCH_ON_FAILURE_PAUSE)
		eng_pause(g, reason);
	else
		eng_start_revert(g, reason);
}

/* Every host that may have been touched goes back (a fleet revert: every
 * host that has the app). */
void eng_start_revert(struct eng *g, const char *why)
{
	struct orch_rollout *r = g->r;
	int64_t now = eng_now(g);
	const char **names = calloc(g->n ? g->n : 1, sizeof *names);
	size_t count = 0;
	if (!names) {
		g->fatal = true;
		err_errno(&g->ferr, ENOMEM, "revert");
		return;
	}
	for (size_t i = 0; i < g->n; i++) {
		enum orch_hs s = eng_state(g, i);
		bool want = g->mode == ORCH_MODE_FLEET_REVERT ? s != ORCH_HS_SKIPPED && r->before[i]
							      : g->h[i].touched && s != ORCH_HS_REVERTED;
		if (!want)
			continue;
		names[count++] = eng_name(g, i);
		g->h[i].touched = true;
	}
	eng_ev_revert(g, names, count, why);
	free(names);
	if (g->fatal)
		return;
	for (size_t i = 0; i < g->n; i++) {
		enum orch_hs s = eng_state(g, i);
		if (g->h[i].touched && s != ORCH_HS_REVERTED && s != ORCH_HS_SKIPPED)
			eng_begin_host_revert(g, i, now);
	}
	r->reverting = true;
	g->phase = PH_REVERT;
}

static void revert_finished(struct eng *g)
{
	size_t bad = 0, ok = 0;
	char msg[600] = "", list[300] = "";
	for (size_t i = 0; i < g->n; i++) {
		enum orch_hs s = eng_state(g, i);
		if (s == ORCH_HS_REVERTING)
			return;
		if (s == ORCH_HS_REVERT_FAILED) {
			size_t l = strlen(list);
			if (bad++ < 10)
				snprintf(list + l, sizeof list - l, " %s", eng_name(g, i));
		} else if (s == ORCH_HS_REVERTED) {
			ok++;
		}
	}
	if (bad) {
		snprintf(msg, sizeof msg, "revert incomplete: %zu host%s could not be put back:%s", bad, bad == 1 ? "" : "s",
			 list);
		eng_finish(g, "revert_incomplete", ORCH_EXIT_ATTENTION, msg);
	} else if (eng_is_rollout(g)) {
		snprintf(msg, sizeof msg, "rolled back: %zu host%s reverted; %s", ok, ok == 1 ? "" : "s",
			 g->r->failure ? g->r->failure : "");
		eng_finish(g, "rolled_back", ORCH_EXIT_ROLLED_BACK, msg);
	} else {
		const char *what = g->mode == ORCH_MODE_ABORT ? "aborted" : "reverted";
		snprintf(msg, sizeof msg, "%s: %zu host%s reverted", what, ok, ok == 1 ? "" : "s");
		eng_finish(g, what, ORCH_EXIT_DONE, msg);
	}
}

void eng_finish(struct eng *g, const char *result, int code, const char *human)
{
	if (g->phase == PH_END)
		return;
	stop_check(g);
	eng_ev_end(g, result, code, human);
	snprintf(g->r->result, sizeof g->r->result, "%s", result);
	g->r->exit_code = code;
	g->r->ended = true;
	g->exit_code = code;
	g->phase = PH_END;
}

/* ---- the precheck ---- */

/* A fleet-wide revert to "the previous version" is only safe when the hosts
 * agree on what that is: after a rollout that was rolled back, the hosts it
 * reached keep the failed version as their newest, and going there would
 * spread it. Disagreement refuses, naming the candidates (--to picks one). */
static bool same_previous(struct eng *g)
{
	const char *first = NULL;
	size_t differ = 0, agree = 0;
	char list[600] = "";
	for (size_t i = 0; i < g->n; i++) {
		const char *d = g->r->before[i];
		if (!d)
			continue;
		if (!first)
			first = d;
		if (!strcmp(d, first)) {
			agree++;
			continue;
		}
		size_t l = strlen(list);
		if (differ++ < 5)
			snprintf(list + l, sizeof list - l, "\n  %s: %s", eng_name(g, i), d);
	}
	if (!differ)
		return true;
	char msg[1000];
	snprintf(msg, sizeof msg,
		 "refused: the hosts keep different previous versions of %s (%zu keep %s as their newest, %zu do not:%s); "
		 "say which with --to DIGEST", g->r->app, agree, first, differ, list);
	eng_finish(g, "refused", ORCH_EXIT_REFUSED, msg);
	return false;
}

/* A fleet revert where no host keeps an earlier version of the app (and every
 * other host answered that it does not have it): nothing to do and nothing
 * changed, which is not a fleet that needs attention. */
static bool nothing_to_revert(struct eng *g)
{
	bool nothing = true;
	for (size_t i = 0; i < g->n && nothing; i++)
		nothing = !g->r->before[i] && eng_state(g, i) != ORCH_HS_REVERT_FAILED;
	/* the hosts that keep no earlier version were left pending for this */
	for (size_t i = 0; i < g->n; i++)
		if (eng_state(g, i) == ORCH_HS_PENDING && !g->r->before[i])
			eng_set_state(g, i, nothing ? ORCH_HS_SKIPPED : ORCH_HS_REVERT_FAILED);
	if (!nothing)
		return false;
	char msg[300];
	snprintf(msg, sizeof msg, "nothing to revert: no host keeps an earlier version of %s; nothing was changed",
		 g->r->app);
	eng_finish(g, "nothing_to_revert", ORCH_EXIT_DONE, msg);
	return true;
}

/* Request bodies carry the generation: made once it is known. */
static bool set_bodies(struct eng *g)
{
	free(g->put_body);
	free(g->gen_body);
	g->put_body = orch_body_put(g->r->image, g->r->id, g->r->generation);
	g->gen_body = orch_body_generation(g->r->generation);
	if (g->put_body && g->gen_body)
		return true;
	g->fatal = true;
	err_errno(&g->ferr, ENOMEM, "rollout");
	return false;
}

/* Every host answered (or did not, for long enough): go on, or refuse. */
static void precheck_finished(struct eng *g)
{
	struct orch_rollout *r = g->r;
	struct err e;
	if (g->pre.problems == 0 && g->run->img && !r->o.allow_untested &&
	    orch_records_check(g->run->img, r->o.trust_file, g->pre.platforms.v, g->pre.platforms.n, &e) < 0) {
		eng_ev_precheck_refused(g, e.msg);
		eng_finish(g, "refused", ORCH_EXIT_REFUSED,
			   r->o.trust_file ? "refused: no test record that the trust policy accepts; nothing was deployed"
					   : "refused: no passing test record; nothing was deployed");
		return;
	}
	if (g->pre.unreachable > r->o.max_unreachable)
		g->pre.problems += g->pre.unreachable; /* over the budget: they refuse the rollout too */
	else
		for (size_t i = 0; i < g->n; i++)
			if (g->h[i].pre_unreachable) {
				eng_set_state(g, i, ORCH_HS_SKIPPED);
				g->h[i].pre_unreachable = false;
				g->count.unreachable++;
			}
	if (g->pre.problems) {
		eng_ev_precheck_problems(g);
		eng_finish(g, "refused", ORCH_EXIT_REFUSED, "refused: the precheck failed; nothing was deployed");
		return;
	}
	r->generation = g->pre.max_gen + 1;
	if (!set_bodies(g))
		return;
	if (g->mode == ORCH_MODE_FLEET_REVERT) {
		if (nothing_to_revert(g) || (!g->run->revert_to && !same_previous(g)))
			return;
		eng_start_revert(g, "fleet-wide revert");
		return;
	}
	eng_ev_precheck_ok(g);
	r->prechecked = true;
	if (!g->fatal)
		start_wave(g, 0, eng_now(g));
}

static bool precheck_done(const struct eng *g)
{
	for (size_t i = 0; i < g->n; i++)
		if (!g->h[i].pre_done)
			return false;
	return true;
}

/* ---- the loop ---- */

static void advance(struct eng *g, int64_t now)
{
	struct orch_rollout *r = g->r;
	switch (g->phase) {
	case PH_PRECHECK:
		if (precheck_done(g))
			precheck_finished(g);
		break;
	case PH_WAVE:
		if (wave_done(g))
			wave_finished(g, now);
		break;
	case PH_CHECK:
		check_finished(g, now);
		break;
	case PH_FINAL:
		if (now >= g->final_until) {
			char msg[300];
			size_t bad = g->count.unhealthy + g->count.unreachable;
			snprintf(msg, sizeof msg, "done: %s runs %s on %zu of %zu hosts (%zu wave%s)%s", r->app, r->digest,
				 g->n - bad, g->n, r->n_waves, r->n_waves == 1 ? "" : "s",
				 bad ? ", failures within budget" : "");
			eng_finish(g, "done", ORCH_EXIT_DONE, msg);
		}
		break;
	case PH_REVERT:
		revert_finished(g);
		break;
	case PH_END:
		break;
	}
}

static void progress(struct eng *g, int64_t now)
{
	static const char *const names[] = {"precheck", "wave", "check", "final bake", "revert", "end"};
	const struct orch_ui *ui = g->run->ui;
	size_t from, to;
	if (!ui || !ui->progress || now < g->scan.next_progress)
		return;
	g->scan.next_progress = now + 200;
	struct orch_progress p = {.n_waves = g->r->n_waves, .total = g->n, .bake_left_ms = -1, .wave = g->wave + 1};
	p.phase = names[g->phase];
	eng_wave_range(g, g->wave, &from, &to);
	p.wave_size = to - from;
	for (size_t i = 0; i < g->n; i++) {
		enum orch_hs s = eng_state(g, i);
		p.converted += g->h[i].touched;
		p.failed += s == ORCH_HS_FAILED || s == ORCH_HS_REVERT_FAILED;
		p.unreachable += s == ORCH_HS_UNREACHABLE;
		p.reverting += s == ORCH_HS_REVERTING;
		if (i >= from && i < to) {
			p.wave_healthy += s == ORCH_HS_HEALTHY || s == ORCH_HS_BAKED;
			p.wave_baked += s == ORCH_HS_BAKED;
			if (s == ORCH_HS_HEALTHY) {
				int64_t left = g->h[i].healthy_ms + g->r->o.bake_ms - now;
				if (left > p.bake_left_ms)
					p.bake_left_ms = left < 0 ? 0 : left;
			}
		}
	}
	if (g->phase == PH_FINAL)
		p.bake_left_ms = g->final_until > now ? g->final_until - now : 0;
	ui->progress(ui->ctx, &p);
}

/* One look at every host (timers, due requests), then the phase's decision. */
static void scan(struct eng *g, int64_t now)
{
	size_t baked = 0;
	for (size_t k = 0, i = g->scan.from; k < g->n && g->phase != PH_END && !g->fatal; k++, i++) {
		if (i == g->n)
			i = 0;
		if (g->phase == PH_PRECHECK)
			eng_scan_precheck(g, i, now);
		else
			eng_scan_host(g, i, now);
		baked += eng_state(g, i) == ORCH_HS_BAKED;
	}
	/* watching costs at most ENG_WATCH_RATE requests a second */
	g->scan.watch_ms = (int64_t)baked * 1000 / ENG_WATCH_RATE;
	if (g->scan.watch_ms < g->r->o.poll_ms)
		g->scan.watch_ms = g->r->o.poll_ms;
	if (g->phase == PH_WAVE)
		eng_canary_tick(g, now);
	g->scan.from = (g->scan.from + 1) % g->n;
	g->scan.next = now + 2 + (int64_t)g->n / 5000; /* 10,000 hosts: every 4 ms */
	advance(g, now);
}

static void drive(struct eng *g)
{
	struct err e;
	while (g->phase != PH_END && !g->fatal) {
		int64_t now = eng_now(g);
		if (*g->run->stop) {
			g->interrupted = true;
			break;
		}
		if (now >= g->scan.next)
			scan(g, now);
		if (g->phase == PH_END || g->fatal)
			break;
		if (g->t->step(g->t, 5, &e) < 0 || (g->run->j && orch_journal_tick(g->run->j, &e) < 0)) {
			g->fatal = true;
			g->ferr = e;
			break;
		}
		progress(g, now);
	}
	stop_check(g);
	if (g->interrupted) {
		eng_ev_interrupted(g);
		g->exit_code = ORCH_EXIT_ATTENTION;
	}
	if (g->fatal) {
		log_err("%s", g->ferr.msg);
		log_err("rollout %s stopped; the fleet needs attention ('ramp rollout --resume %s' or --abort)", g->r->id,
			g->r->id);
		g->exit_code = ORCH_EXIT_ATTENTION;
	}
}

/* ---- before the loop ---- */

/* Gate commands, in order; false when one refused (the rollout is then over). */
static bool run_gates(struct eng *g)
{
	struct orch_rollout *r = g->r;
	for (size_t k = 0; k < r->o.gates.n; k++) {
		int status = -1;
		struct err e = {0};
		char env_app[128], env_id[200];
		snprintf(env_app, sizeof env_app, "RAMP_APP=%s", r->app);
		snprintf(env_id, sizeof env_id, "RAMP_ROLLOUT=%s", r->id);
		_cleanup_free_ char *env_image = NULL;
		if (asprintf(&env_image, "RAMP_IMAGE=%s", r->image) < 0)
			env_image = NULL;
		char *env[] = {env_app, env_id, env_image, NULL};
		const char *cmd = r->o.gates.v[k];
		int rc = orch_proc_run(cmd, env, r->o.deadline_ms, &status, &e);
		eng_ev_gate(g, cmd, rc, status, e.msg);
		if (rc < 0 || status != 0) {
			char msg[600];
			if (rc < 0)
				snprintf(msg, sizeof msg, "refused: gate `%.300s`: %.200s; nothing was deployed", cmd, e.msg);
			else
				snprintf(msg, sizeof msg, "refused: gate `%.300s` exited with status %d; nothing was deployed",
					 cmd, status);
			eng_finish(g, "refused", ORCH_EXIT_REFUSED, msg);
			return false;
		}
	}
	return true;
}

/* A digest its outcome records make bad (rolled back, vetoed) is refused
 * unless --override, which is journaled; false when refused. */
static bool known_bad(struct eng *g)
{
	char lifted[1200];
	struct err e;
	if (!g->run->img)
		return true;
	int rc = orch_outcomes_check(g->run->img, g->r->o.override_reason, lifted, sizeof lifted, &e);
	if (rc > 0)
		eng_ev_override(g, lifted);
	if (rc >= 0)
		return true;
	eng_ev_precheck_refused(g, e.msg);
	eng_finish(g, "refused", ORCH_EXIT_REFUSED, "refused: the image is known bad; nothing was deployed");
	return false;
}

/* The outcome record of a rollout that ended having deployed (or tried):
 * attached to its digest; a failure is only a warning. */
static void attach_outcome(struct eng *g)
{
	static const char *const results[] = {"done", "rolled_back", "revert_incomplete", "aborted"};
	struct err e;
	bool ours = false;
	if (!g->run->outcome || !g->r->ended)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(results) && !ours; i++)
		ours = !strcmp(g->r->result, results[i]);
	if (ours && orch_outcome_attach(g->r, g->run->reg, &e) < 0)
		log_warn("rollout %s: its outcome record could not be attached to %s: %s", g->r->id, g->r->image, e.msg);
}

/* Set the engine up to continue r from where its journal left off. */
static void resume_state(struct eng *g, int64_t now)
{
	struct orch_rollout *r = g->r;
	for (size_t i = 0; i < g->n; i++) {
		enum orch_hs s = eng_state(g, i);
		struct eng_host *h = &g->h[i];
		if (s == ORCH_HS_SKIPPED)
			g->count.unreachable++; /* unreachable at the precheck, never touched */
		if (s == ORCH_HS_PENDING || s == ORCH_HS_SKIPPED)
			continue;
		h->touched = true;
		h->next_ms = now;
		if (s == ORCH_HS_FAILED || s == ORCH_HS_REVERTED || s == ORCH_HS_REVERT_FAILED)
			g->count.unhealthy++, h->budget = true;
		if (s == ORCH_HS_UNREACHABLE)
			g->count.unreachable++, h->budget = true;
	}
	if (r->reverting) {
		for (size_t i = 0; i < g->n; i++)
			if (eng_state(g, i) == ORCH_HS_REVERTING || eng_state(g, i) == ORCH_HS_REVERT_FAILED)
				eng_begin_host_revert(g, i, now);
		g->failing = true;
		g->phase = PH_REVERT;
		return;
	}
	for (size_t i = 0; i < g->n; i++) {
		enum orch_hs s = eng_state(g, i);
		if (s == ORCH_HS_PENDING || s == ORCH_HS_SKIPPED)
			continue;
		if (s == ORCH_HS_FAILED || s == ORCH_HS_REVERTING || s == ORCH_HS_REVERT_FAILED) {
			/* failed within the budget: make sure it is back on its old version */
			if (r->o.on_failure == ORCH_ON_FAILURE_REVERT)
				eng_begin_host_revert(g, i, now);
			continue;
		}
		if (s == ORCH_HS_UNREACHABLE || s == ORCH_HS_REVERTED)
			continue;
		if (eng_wave_of(g, i) < r->waves_passed) {
			eng_set_state(g, i, ORCH_HS_BAKED); /* watched; its healthySince is learnt afresh */
			g->h[i].resync = true;
		} else {
			eng_set_state(g, i, ORCH_HS_DEPLOYING); /* the wave in progress starts over */
			g->h[i].backoff_ms = ENG_FIRST_POLL_MS;
		}
	}
	if (r->waves_started > r->waves_passed) {
		g->wave = r->waves_passed;
		g->wave_t0 = now;
		g->phase = PH_WAVE;
		eng_canary_wave(g, now);
	} else if (r->waves_passed < r->n_waves) {
		start_wave(g, r->waves_passed, now);
	} else {
		g->wave = r->n_waves - 1;
		g->phase = PH_FINAL;
		g->final_until = now + r->o.final_bake_ms;
	}
}

struct orch_client *orch_engine_client(const struct orch_rollout *r, struct err *e)
{
	struct orch_client_opts co = {
		.max_parallel = r->o.max_parallel,
		.timeout_ms = r->o.timeout_ms,
		.cacert = r->o.cacert,
		.token_file = r->o.token_file,
		.reuse = true,
		.probes = r->o.probes.n > 0,
	};
	return orch_client_new(&co, r->hosts.hosts, r->hosts.n, e);
}

static int eng_init(struct eng *g, const struct orch_run *run, struct err *e)
{
	struct orch_rollout *r = run->r;
	*g = (struct eng){.run = run, .mode = run->mode, .r = r, .n = r->hosts.n, .t = run->t};
	if (!(g->h = calloc(g->n, sizeof *g->h)) || !(g->notes = calloc(g->n, sizeof *g->notes)))
		return err_errno(e, ENOMEM, "rollout");
	for (size_t i = 0; i < g->n; i++) {
		g->h[i].backoff_ms = ENG_FIRST_POLL_MS;
		g->h[i].note = &g->notes[i];
	}
	if (!g->t) {
		if (!(g->client = orch_engine_client(r, e)))
			return -1;
		g->t = orch_client_transport(g->client);
	}
	g->t0 = eng_now(g);
	g->scan.watch_ms = r->o.poll_ms;
	if (eng_policy_load(g, e) < 0)
		return -1;
	return eng_canary_init(g, e);
}

static void eng_free(struct eng *g)
{
	eng_canary_free(g);
	orch_client_free(g->client);
	free(g->h);
	free(g->notes);
	free(g->put_body);
	free(g->gen_body);
	strv_free(&g->pre.platforms);
	eng_policy_free(g);
}

/* Where the loop starts, by mode: 1 to run it, 0 when it ended before
 * (refused by a gate, an abort with nothing deployed), -1 when it could not
 * start (the journal could not be created: nothing happened). */
static int begin(struct eng *g, struct err *e)
{
	struct orch_rollout *r = g->r;
	bool abort = g->mode == ORCH_MODE_ABORT;
	if (g->mode == ORCH_MODE_FLEET_REVERT) {
		g->phase = PH_PRECHECK;
		return 1;
	}
	char why[1200];
	if (g->mode == ORCH_MODE_START) {
		if (eng_ev_start(g, e) < 0)
			return -1;
		if (g->run->takeover_path)
			orch_journal_supersede(g->run->takeover_path, r->takeover, r->id);
		if (!eng_policy_check(g, 0, why, sizeof why)) {
			char msg[1300];
			snprintf(msg, sizeof msg, "refused: %s; nothing was deployed (--override REASON lifts it)", why);
			eng_finish(g, "refused", ORCH_EXIT_REFUSED, msg);
			return 0;
		}
	} else if (g->mode == ORCH_MODE_RESUME && !r->reverting &&
		   !eng_policy_check(g, r->waves_passed, why, sizeof why)) {
		/* the rollout stays as it is, paused: resumed once the refusal is over (a revert is never held) */
		log_err("refused: %s; rollout %s stays paused: 'ramp rollout --resume %s' once it is over", why, r->id,
			r->id);
		g->exit_code = ORCH_EXIT_REFUSED;
		return 0;
	} else {
		eng_ev_takeover(g, abort);
	}
	if (abort && !r->prechecked) {
		eng_finish(g, "aborted", ORCH_EXIT_DONE, "aborted: nothing had been deployed");
		return 0;
	}
	if (!r->prechecked) {
		/* a new rollout, or one whose precheck never finished: gates and
		   precheck (test records included) from the start */
		if (!known_bad(g) || !run_gates(g))
			return 0;
		g->phase = PH_PRECHECK;
		return 1;
	}
	if (!set_bodies(g))
		return 1; /* fatal: the loop says so */
	if (abort) {
		for (size_t i = 0; i < g->n; i++)
			if (eng_state(g, i) != ORCH_HS_PENDING && eng_state(g, i) != ORCH_HS_SKIPPED)
				g->h[i].touched = true;
		eng_start_revert(g, "aborted by the operator");
	} else {
		resume_state(g, eng_now(g));
	}
	return 1;
}

int orch_engine_run(const struct orch_run *run, struct err *e)
{
	struct eng g;
	int rc = -1;
	if (eng_init(&g, run, e) < 0)
		goto out;
	int b = begin(&g, e);
	if (b < 0)
		goto out;
	if (b > 0)
		drive(&g);
	attach_outcome(&g);
	rc = g.exit_code;
	if (g.interrupted || g.fatal)
		rc = ORCH_EXIT_ATTENTION;
out:
	eng_free(&g);
	return rc;
}
