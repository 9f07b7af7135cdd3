/* engine_host.c: one host of a rollout: the requests the engine sends it,
 * what its answers mean (healthy, baked, failed, unreachable, fenced off by a
 * newer generation, reverted), its timers, and the failure budgets (see
 * engine.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/api.h"
#include "lib/cleanup.h"
#include "lib/log.h"
#include "lib/token.h"
#include "orchestrator/engine_int.h"

/* A request's tag: the host, its epoch (answers to an older one are
 * ignored) and the kind of request. */
#define TAG(i, kind, epoch) (((uint64_t)(i) << 32) | ((uint64_t)((epoch)&0xffffffu) << 8) | (uint64_t)(kind))

/* ---- requests ---- */

/* Whether this status poll will likely be the host's last for a while: it
 * bakes no longer than this (or not at all) if it answers healthy. */
static bool last_look(struct eng *g, size_t i)
{
	const struct eng_host *h = &g->h[i];
	const struct orch_opts *o = &g->r->o;
	int64_t now = eng_now(g);
	if (o->probes.n)
		return false;
	if (g->r->state[i] == ORCH_HS_DEPLOYING)
		return o->bake_ms == 0;
	return g->r->state[i] == ORCH_HS_HEALTHY && now >= h->healthy_ms + o->bake_ms;
}

/* What each request kind asks of rampd (probes: their own URL). */
static const enum orch_op kind_op[] = {[K_GET] = ORCH_OP_STATUS, [K_WATCH] = ORCH_OP_STATUS, [K_INFO] = ORCH_OP_INFO,
				       [K_PUT] = ORCH_OP_DEPLOY, [K_REVERT] = ORCH_OP_REVERT, [K_DELETE] = ORCH_OP_REMOVE};

static void send_req(struct eng *g, size_t i, unsigned k, const char *body, const char *probe_url)
{
	struct eng_host *h = &g->h[i];
	struct err e;
	struct orch_call q = {
		.op = k >= K_PROBE ? ORCH_OP_PROBE : kind_op[k],
		.host = i,
		.app = g->r->app,
		.body = body,
		.url = probe_url,
		/* each host keeps its connection from the precheck to the end
		 * when the fd limit allows; else, in a big fleet, only hosts
		 * polled often (deploying, baking, reverting) keep theirs, and
		 * not past the poll that probably ends their bake */
		.keep = !(k == K_WATCH || k == K_INFO || g->phase == PH_PRECHECK || (k == K_GET && last_look(g, i))),
		.cb = eng_on_answer,
		.ctx = g,
		.tag = TAG(i, k, h->epoch),
	};
	if (g->t->call(g->t, &q, &e) < 0) {
		g->fatal = true;
		g->ferr = e;
		return;
	}
	if (k >= K_PROBE)
		h->probes++;
	else
		h->busy = true;
}

/* Invalidate what is in flight for host i. */
void eng_new_epoch(struct eng *g, size_t i)
{
	struct eng_host *h = &g->h[i];
	h->epoch++;
	h->busy = false;
	h->probes = 0;
	h->fails = 0;
	h->fail_since_ms = 0;
}

/* Transport failures, 5xx and 429 are worth retrying. */
static bool transient(const struct http_resp *r)
{
	return r->status == 0 || r->status >= 500 || r->status == 429;
}

/* One more failed request: true when the host has not answered for
 * unreachable_ms (counted from when the first failed request left), at least
 * twice; otherwise the next try is scheduled. */
static bool give_up(struct eng *g, size_t i, const struct http_resp *r, int64_t now)
{
	struct eng_host *h = &g->h[i];
	if (!h->fail_since_ms)
		h->fail_since_ms = now - r->ms;
	if (h->fails < UINT8_MAX)
		h->fails++;
	if (r->status)
		snprintf(h->note->last, sizeof h->note->last, "HTTP %ld", r->status);
	else
		orch_copy_clean(h->note->last, sizeof h->note->last, r->error ? r->error : "no answer");
	if (now - h->fail_since_ms >= g->r->o.unreachable_ms && h->fails >= 2)
		return true;
	h->next_ms = now + (g->r->o.poll_ms < 1000 ? g->r->o.poll_ms : 1000);
	return false;
}

static void answered(struct eng_host *h)
{
	h->fails = 0;
	h->fail_since_ms = 0;
}

static void describe_http(char *buf, size_t n, const struct http_resp *r)
{
	orch_describe_http(buf, n, r->status, r->body, r->len);
}

/* The precheck's first answers: a 401 names --token-file (or the host's
 * token_file label) and the host. */
static void describe_answer(struct eng *g, size_t i, char *buf, size_t n, const struct http_resp *r)
{
	const struct orch_host *h = &g->r->hosts.hosts[i];
	const char *tf = orch_host_label(h, ORCH_LABEL_TOKEN_FILE);
	if (r->status == 401)
		token_describe_401(buf, n, h->address, tf ? tf : g->r->o.token_file);
	else
		describe_http(buf, n, r);
}

static void describe_status(char *buf, size_t n, const struct orch_status *s)
{
	snprintf(buf, n, "phase %s%s%s%s%s", s->phase, s->phase_since[0] ? " since " : "", s->phase_since,
		 s->message[0] ? ": " : "", s->message);
	if (!s->healthy && orch_status_probe(s)[0]) {
		size_t l = strlen(buf);
		snprintf(buf + l, n - l, " (last probe: %s)", orch_status_probe(s));
	}
}

/* ---- failure, budget, revert ---- */

static void release_slot(struct eng *g, size_t i)
{
	if (g->h[i].slot) {
		g->h[i].slot = false;
		g->count.deploying--;
	}
}

void eng_begin_host_revert(struct eng *g, size_t i, int64_t now)
{
	struct eng_host *h = &g->h[i];
	eng_new_epoch(g, i);
	release_slot(g, i);
	eng_set_state(g, i, ORCH_HS_REVERTING);
	h->sent = false;
	h->next_ms = now;
	h->backoff_ms = ENG_FIRST_POLL_MS;
	h->deadline_ms = now + g->r->o.revert_deadline_ms;
}

/* A host failed (unhealthy, crashed, late, probe) or became unreachable. */
static void host_failed(struct eng *g, size_t i, bool unreachable, const char *reason, const struct orch_status *s,
			const char *probe)
{
	struct eng_host *h = &g->h[i];
	const struct orch_opts *o = &g->r->o;
	int64_t now = eng_now(g);
	if (!eng_is_rollout(g) || g->phase == PH_REVERT || g->phase == PH_END)
		return;
	eng_new_epoch(g, i);
	release_slot(g, i);
	eng_set_state(g, i, unreachable ? ORCH_HS_UNREACHABLE : ORCH_HS_FAILED);
	orch_rollout_set_reason(g->r, i, reason);
	size_t *count = unreachable ? &g->count.unreachable : &g->count.unhealthy;
	size_t budget = unreachable ? o->max_unreachable : o->max_unhealthy;
	(*count)++;
	bool within = *count <= budget && !g->failing;
	/* a host reverted on its own is journaled first; one that fails the
	 * rollout is told about by the failure event */
	eng_ev_host(g, i, eng_state(g, i), s ? s->phase : NULL, s ? s->current : NULL, reason, within,
		   within ? ORCH_LVL_PROBLEM : ORCH_LVL_DETAIL);
	if (!within) {
		eng_fail_rollout(g, i, reason, s, probe);
		return;
	}
	h->budget = true;
	if (!unreachable && o->on_failure == ORCH_ON_FAILURE_REVERT)
		eng_begin_host_revert(g, i, now);
}

/* A host has a newer generation than ours: a newer rollout owns the fleet,
 * and this one stops without undoing anything. */
static void superseded(struct eng *g, size_t i, int64_t gen, const char *by)
{
	char msg[256];
	if (g->phase == PH_END)
		return;
	eng_ev_superseded(g, i, gen, by);
	if (gen > 0)
		snprintf(msg, sizeof msg, "superseded by generation %" PRId64 " (host %s)", gen, eng_name(g, i));
	else
		snprintf(msg, sizeof msg, "superseded by a newer generation (host %s)", eng_name(g, i));
	eng_finish(g, "superseded", ORCH_EXIT_ATTENTION, msg);
}

static void revert_failed(struct eng *g, size_t i, const char *why)
{
	eng_new_epoch(g, i);
	eng_set_state(g, i, ORCH_HS_REVERT_FAILED);
	orch_rollout_set_reason(g->r, i, why);
	eng_ev_host(g, i, ORCH_HS_REVERT_FAILED, NULL, NULL, why, false, ORCH_LVL_PROBLEM);
}

static void reverted(struct eng *g, size_t i, const struct orch_status *s)
{
	eng_new_epoch(g, i);
	eng_set_state(g, i, ORCH_HS_REVERTED);
	eng_ev_host(g, i, ORCH_HS_REVERTED, s ? s->phase : NULL, g->r->before[i], g->h[i].budget ? g->r->reason[i] : NULL,
		   false, ORCH_LVL_DETAIL);
}

/* ---- answers ---- */

static void poll_later(struct eng *g, struct eng_host *h, int64_t now)
{
	h->next_ms = now + h->backoff_ms;
	h->backoff_ms = h->backoff_ms * 2 < g->r->o.poll_ms ? h->backoff_ms * 2 : g->r->o.poll_ms;
}

/* On its way to the desired version: a kept version is switched to without
 * a pull, which rampd reports as reverting. */
static bool is_pending_phase(const char *p)
{
	return !strcmp(p, API_PHASE_PULLING) || !strcmp(p, API_PHASE_UNPACKING) || !strcmp(p, API_PHASE_STARTING) ||
	       !strcmp(p, API_PHASE_REVERTING);
}

static void maybe_baked(struct eng *g, size_t i, int64_t now)
{
	struct eng_host *h = &g->h[i];
	if (eng_state(g, i) != ORCH_HS_HEALTHY || now - h->healthy_ms < g->r->o.bake_ms)
		return;
	if (g->r->o.probes.n && (h->probe_rounds == 0 || h->probes))
		return;
	eng_set_state(g, i, ORCH_HS_BAKED);
	eng_ev_host(g, i, ORCH_HS_BAKED, NULL, g->r->digest, NULL, false, ORCH_LVL_DETAIL);
}

static void send_probes(struct eng *g, size_t i);

/* rampd calls a version unhealthy only after `retries` failed probes, one per
 * interval: a shorter bake (but for none at all) passes a version that starts
 * failing during it. Said once a rollout, on the first host that tells. */
static void warn_short_bake(struct eng *g, size_t i, const struct orch_status *s)
{
	int64_t bake = g->r->o.bake_ms, sees = s->check_interval_ms * s->check_retries;
	if (g->warned_bake || bake == 0 || bake >= sees)
		return;
	g->warned_bake = true;
	log_warn("the %" PRId64 " ms bake is shorter than the image's health check needs to see a failure "
		 "(%s probes every %" PRId64 " ms, unhealthy after %" PRId64 " failures: %" PRId64
		 " ms); use --bake %" PRId64 "ms or more, or build the image with a shorter --health-interval",
		 bake, eng_name(g, i), s->check_interval_ms, s->check_retries, sees, sees);
}

/* A status answer while deploying, baking or watching. */
static void on_status(struct eng *g, size_t i, const struct http_resp *r, int64_t now)
{
	struct eng_host *h = &g->h[i];
	struct orch_status s;
	struct err e;
	char why[700];
	if (r->status == 404) {
		host_failed(g, i, false, "the app is gone from the host (404)", NULL, NULL);
		return;
	}
	if (r->status != 200) {
		describe_http(why, sizeof why, r);
		host_failed(g, i, false, why, NULL, NULL);
		return;
	}
	if (orch_status_parse(r->body, r->len, g->r->app, &s, &e) < 0) {
		snprintf(why, sizeof why, "unreadable status: %.600s", e.msg);
		host_failed(g, i, false, why, NULL, NULL);
		return;
	}
	if (s.generation > g->r->generation) {
		superseded(g, i, s.generation, s.rollout);
		return;
	}
	snprintf(h->note->last, sizeof h->note->last, "phase %s", s.phase);
	bool ours = !strcmp(s.desired, g->r->digest);
	bool ok = ours && !strcmp(s.phase, API_PHASE_HEALTHY) && s.healthy && !strcmp(s.current, g->r->digest);
	bool pending = ours && (is_pending_phase(s.phase) || (!strcmp(s.phase, API_PHASE_HEALTHY) &&
							      strcmp(s.current, g->r->digest)));
	enum orch_hs cur = eng_state(g, i);
	if (!ours) {
		snprintf(why, sizeof why, "the host was told to run %s, not %s", s.desired[0] ? s.desired : "nothing",
			 g->r->digest);
		host_failed(g, i, false, why, &s, NULL);
		return;
	}
	if (cur == ORCH_HS_DEPLOYING && pending) {
		poll_later(g, h, now);
		return;
	}
	if (!ok) {
		describe_status(why, sizeof why, &s);
		host_failed(g, i, false, why, &s, NULL);
		return;
	}
	if (cur == ORCH_HS_DEPLOYING || h->resync) {
		if (cur == ORCH_HS_DEPLOYING) {
			eng_set_state(g, i, ORCH_HS_HEALTHY);
			release_slot(g, i);
			h->healthy_ms = now;
			h->probe_rounds = 0;
			eng_ev_host(g, i, ORCH_HS_HEALTHY, s.phase, s.current, NULL, false, ORCH_LVL_DETAIL);
			warn_short_bake(g, i, &s);
		}
		h->resync = false;
		snprintf(h->note->healthy_since, sizeof h->note->healthy_since, "%s", s.healthy_since);
	} else if (strcmp(h->note->healthy_since, s.healthy_since)) {
		snprintf(why, sizeof why, "was unhealthy between two polls (healthy since %s, then since %s)",
			 h->note->healthy_since, s.healthy_since);
		host_failed(g, i, false, why, &s, NULL);
		return;
	}
	if (eng_state(g, i) == ORCH_HS_HEALTHY) {
		if (g->r->o.probes.n && !h->probes)
			send_probes(g, i);
		maybe_baked(g, i, now);
		/* wake up when the bake is over rather than a poll later */
		int64_t bake_end = h->healthy_ms + g->r->o.bake_ms;
		h->next_ms = now + g->r->o.poll_ms;
		if (bake_end > now && bake_end < h->next_ms)
			h->next_ms = bake_end;
		if (g->r->o.probes.n && h->next_ms > now + g->r->o.poll_ms / 4 && bake_end <= now)
			h->next_ms = now + g->r->o.poll_ms / 4;
	} else {
		h->next_ms = now + g->scan.watch_ms;
	}
}

static void on_put(struct eng *g, size_t i, const struct http_resp *r, int64_t now)
{
	struct eng_host *h = &g->h[i];
	char why[400], code[64], msg[300];
	if (r->status >= 200 && r->status < 300) {
		h->sent = true;
		h->backoff_ms = g->r->o.poll_ms < ENG_FIRST_POLL_MS ? g->r->o.poll_ms : ENG_FIRST_POLL_MS;
		poll_later(g, h, now);
		return;
	}
	orch_error_parse(r->body, r->len, code, sizeof code, msg, sizeof msg);
	if (r->status == 409 && !strcmp(code, API_E_STALE)) {
		superseded(g, i, -1, NULL); /* the refusal does not say which generation won */
		return;
	}
	describe_http(why, sizeof why, r);
	char full[480];
	snprintf(full, sizeof full, "deploy refused: %s", why);
	host_failed(g, i, false, full, NULL, NULL);
}

static void on_revert_answer(struct eng *g, size_t i, unsigned k, const struct http_resp *r, int64_t now)
{
	struct eng_host *h = &g->h[i];
	char why[500], code[64], msg[300];
	if (k == K_DELETE && r->status == 404) {
		reverted(g, i, NULL);
		return;
	}
	if (r->status >= 200 && r->status < 300) {
		h->sent = true;
		h->backoff_ms = ENG_FIRST_POLL_MS;
		poll_later(g, h, now);
		return;
	}
	orch_error_parse(r->body, r->len, code, sizeof code, msg, sizeof msg);
	describe_http(why, sizeof why, r);
	char full[600];
	if (r->status == 409 && !strcmp(code, API_E_STALE))
		snprintf(full, sizeof full, "fenced: a newer rollout owns this host (%s)", why);
	else if (r->status == 422)
		snprintf(full, sizeof full, "the host no longer keeps %s (%s)", g->r->before[i], why);
	else
		snprintf(full, sizeof full, "revert refused: %s", why);
	revert_failed(g, i, full);
}

static void on_revert_status(struct eng *g, size_t i, const struct http_resp *r, int64_t now)
{
	struct eng_host *h = &g->h[i];
	const char *want = g->r->before[i];
	struct orch_status s;
	struct err e;
	char why[700];
	if (r->status == 404) {
		if (!want)
			reverted(g, i, NULL);
		else
			revert_failed(g, i, "the app is gone from the host (404)");
		return;
	}
	if (r->status != 200) {
		describe_http(why, sizeof why, r);
		revert_failed(g, i, why);
		return;
	}
	if (orch_status_parse(r->body, r->len, g->r->app, &s, &e) < 0) {
		snprintf(why, sizeof why, "unreadable status: %.600s", e.msg);
		revert_failed(g, i, why);
		return;
	}
	snprintf(h->note->last, sizeof h->note->last, "phase %s on %.19s", s.phase, s.current[0] ? s.current : "nothing");
	if (s.generation > g->r->generation) {
		snprintf(why, sizeof why, "fenced: the host has generation %" PRId64 " (ours %" PRId64 ")%s%s",
			 s.generation, g->r->generation, s.rollout[0] ? " of rollout " : "", s.rollout);
		revert_failed(g, i, why);
		return;
	}
	if (!want) {
		poll_later(g, h, now); /* the app is being removed */
		return;
	}
	if (strcmp(s.desired, want)) {
		h->sent = false; /* our revert did not take: ask again */
		h->next_ms = now;
		return;
	}
	if (!strcmp(s.current, want) && !strcmp(s.phase, API_PHASE_HEALTHY) && s.healthy) {
		reverted(g, i, &s);
		return;
	}
	/* until the host has switched, its phase is about the version being left
	 * (a crashing one reports unhealthy): only the kept version's own failure
	 * counts; a switch that never happens ends at the revert deadline */
	if (!strcmp(s.current, want) && (!strcmp(s.phase, API_PHASE_FAILED) || !strcmp(s.phase, API_PHASE_UNHEALTHY))) {
		describe_status(why, sizeof why, &s);
		revert_failed(g, i, why);
		return;
	}
	poll_later(g, h, now);
}

/* A host that is not ready: it refuses a rollout; a fleet revert goes on
 * without it (and reports it). */
static void problem(struct eng *g, size_t i, const char *why)
{
	orch_rollout_set_reason(g->r, i, why);
	if (g->mode == ORCH_MODE_FLEET_REVERT)
		eng_set_state(g, i, ORCH_HS_REVERT_FAILED);
	else
		g->pre.problems++;
	g->h[i].pre_done = true;
}

static void on_precheck(struct eng *g, size_t i, unsigned k, const struct http_resp *r)
{
	struct eng_host *h = &g->h[i];
	char why[700];
	struct err e;
	if (k == K_INFO) {
		char plat[128];
		if (r->status != 200) {
			describe_answer(g, i, why, sizeof why, r);
			problem(g, i, why);
		} else if (orch_info_platform(r->body, r->len, plat, sizeof plat, &e) < 0) {
			snprintf(why, sizeof why, "unreadable %s: %.600s", API_PATH_INFO, e.msg);
			problem(g, i, why);
		} else {
			if (strv_add_unique(&g->pre.platforms, plat, &e) < 0) {
				g->fatal = true;
				g->ferr = e;
			}
			h->info_done = h->pre_done = true;
		}
		return;
	}
	if (r->status == 404) {
		/* a new host: nothing to return to; a revert removes the app */
		if (g->mode == ORCH_MODE_FLEET_REVERT) {
			eng_set_state(g, i, ORCH_HS_SKIPPED);
			orch_rollout_set_reason(g->r, i, "the app is not on this host");
		}
	} else if (r->status != 200) {
		describe_answer(g, i, why, sizeof why, r);
		problem(g, i, why);
		return;
	} else {
		struct orch_status s;
		if (orch_status_parse(r->body, r->len, g->r->app, &s, &e) < 0) {
			snprintf(why, sizeof why, "unreadable status: %.600s", e.msg);
			problem(g, i, why);
			return;
		}
		if (s.generation > g->pre.max_gen)
			g->pre.max_gen = s.generation;
		const char *back = s.current;
		if (g->mode == ORCH_MODE_FLEET_REVERT)
			back = g->run->revert_to ? g->run->revert_to : (s.n_previous ? s.previous[0] : "");
		if (!*back) {
			snprintf(why, sizeof why, g->mode == ORCH_MODE_FLEET_REVERT ? "keeps no earlier version of %s to revert to"
									  : "runs no version of %s to return to (phase %s)",
				 g->r->app, s.phase);
			if (g->mode == ORCH_MODE_FLEET_REVERT) {
				/* stays pending: revert_failed, or skipped when no host
				 * keeps one (engine.c nothing_to_revert) */
				orch_rollout_set_reason(g->r, i, why);
				h->pre_done = true;
			} else {
				problem(g, i, why);
			}
			return;
		}
		if (!(g->r->before[i] = strdup(back))) {
			problem(g, i, "out of memory");
			return;
		}
	}
	if (g->run->img && !g->r->o.allow_untested && !h->info_done) {
		send_req(g, i, K_INFO, NULL, NULL);
		return;
	}
	h->pre_done = true;
}

static void on_probe(struct eng *g, size_t i, const struct http_resp *r, const char *url)
{
	struct eng_host *h = &g->h[i];
	char why[900];
	if (r->status >= 200 && r->status < 300) {
		if (!h->probes && !h->probe_bad && h->probe_rounds < UINT16_MAX) {
			h->probe_rounds++;
			maybe_baked(g, i, eng_now(g));
		}
		return;
	}
	h->probe_bad = true;
	char out[300];
	if (r->status)
		snprintf(why, sizeof why, "probe %s: HTTP %ld", url, r->status);
	else
		snprintf(why, sizeof why, "probe %s: %s", url, r->error ? r->error : "failed");
	orch_copy_clean(out, sizeof out, r->status ? r->body : "");
	host_failed(g, i, false, why, NULL, out);
}

/* Probe URLs: {name}, {address} (no port), {host} (the agent's host:port). */
static char *probe_url(const struct orch_host *h, const char *tmpl)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	if (!f)
		return NULL;
	for (const char *p = tmpl; *p;) {
		const char *v = NULL;
		size_t skip = 0;
		char hostport[300];
		bool v6 = h->hostpart && strchr(h->hostpart, ':');
		if (!strncmp(p, "{name}", 6)) {
			v = h->name;
			skip = 6;
		} else if (!strncmp(p, "{address}", 9)) {
			snprintf(hostport, sizeof hostport, "%s%s%s", v6 ? "[" : "", h->hostpart ? h->hostpart : "localhost",
				 v6 ? "]" : "");
			v = hostport;
			skip = 9;
		} else if (!strncmp(p, "{host}", 6)) {
			snprintf(hostport, sizeof hostport, "%s%s%s:%d", v6 ? "[" : "",
				 h->hostpart ? h->hostpart : "localhost", v6 ? "]" : "", h->port);
			v = hostport;
			skip = 6;
		}
		if (v) {
			fputs(v, f);
			p += skip;
		} else {
			fputc(*p++, f);
		}
	}
	fclose(f);
	return out;
}

static void send_probes(struct eng *g, size_t i)
{
	g->h[i].probe_bad = false;
	for (size_t k = 0; k < g->r->o.probes.n; k++) {
		_cleanup_free_ char *url = probe_url(&g->r->hosts.hosts[i], g->r->o.probes.v[k]);
		if (url)
			send_req(g, i, K_PROBE + k, NULL, url);
	}
}

void eng_on_answer(void *ctx, uint64_t tag, const struct http_resp *r)
{
	struct eng *g = ctx;
	size_t i = (size_t)(tag >> 32);
	unsigned k = (unsigned)(tag & 0xff);
	struct eng_host *h = &g->h[i];
	int64_t now = eng_now(g);
	if (k == K_WATCH) {
		g->count.watching--;
		k = K_GET;
	}
	if (((tag >> 8) & 0xffffff) != (h->epoch & 0xffffff) || g->phase == PH_END)
		return; /* an answer nobody waits for any more */
	if (k >= K_PROBE) {
		/* the kind carries which probe it was */
		_cleanup_free_ char *url = probe_url(&g->r->hosts.hosts[i], g->r->o.probes.v[k - K_PROBE]);
		h->probes--;
		if (eng_state(g, i) == ORCH_HS_HEALTHY)
			on_probe(g, i, r, url ? url : "?");
		return;
	}
	h->busy = false;
	enum orch_hs s = eng_state(g, i);
	if (g->phase == PH_PRECHECK) {
		if (transient(r)) {
			/* nothing listens there (a mistyped port, rampd not running): said at
			 * once; a host that is slow to answer gets its --unreachable-after */
			if (r->refused || give_up(g, i, r, now)) {
				char why[400];
				if (r->refused)
					snprintf(why, sizeof why,
						 "unreachable: connection refused at %.200s: nothing listens there (is the "
						 "address in the fleet file right, and rampd running?)",
						 g->r->hosts.hosts[i].address);
				else
					snprintf(why, sizeof why, "unreachable: %s", h->note->last);
				problem(g, i, why);
				if (eng_is_rollout(g)) {
					/* within --max-unreachable, the rollout goes on without it */
					h->pre_unreachable = true;
					g->pre.problems--;
					g->pre.unreachable++;
				}
			}
			return;
		}
		answered(h);
		on_precheck(g, i, k, r);
		return;
	}
	if (s == ORCH_HS_REVERTING) {
		if (transient(r)) {
			/* keep trying until the revert deadline (checked in the scan) */
			give_up(g, i, r, now);
			h->next_ms = now + (g->r->o.poll_ms < 250 ? g->r->o.poll_ms : 250);
			return;
		}
		answered(h);
		if (k == K_GET)
			on_revert_status(g, i, r, now);
		else
			on_revert_answer(g, i, k, r, now);
		return;
	}
	if (s != ORCH_HS_DEPLOYING && s != ORCH_HS_HEALTHY && s != ORCH_HS_BAKED)
		return;
	if (transient(r)) {
		if (give_up(g, i, r, now)) {
			char why[300];
			snprintf(why, sizeof why, "no answer for %" PRId64 " s: %s", (now - h->fail_since_ms) / 1000, h->note->last);
			host_failed(g, i, true, why, NULL, NULL);
		}
		return;
	}
	answered(h);
	if (k == K_PUT)
		on_put(g, i, r, now);
	else
		on_status(g, i, r, now);
}

/* ---- the scan: timers and due requests ---- */

/* Requests wait in the agent's queue only a little: new ones are made when
 * there is room, so that they carry fresh state and memory stays flat. */
static bool can_send(struct eng *g)
{
	return g->t->busy(g->t) < 2 * g->r->o.max_parallel;
}

void eng_scan_host(struct eng *g, size_t i, int64_t now)
{
	struct eng_host *h = &g->h[i];
	const struct orch_opts *o = &g->r->o;
	char why[400];
	switch (eng_state(g, i)) {
	case ORCH_HS_DEPLOYING:
	case ORCH_HS_HEALTHY:
		if (!h->slot && !h->sent && eng_state(g, i) == ORCH_HS_DEPLOYING) {
			if (g->count.deploying >= o->max_parallel)
				return;
			h->slot = true;
			g->count.deploying++;
			h->touched = true;
			h->deadline_ms = now + o->deadline_ms;
			h->next_ms = now;
		}
		if (now > h->deadline_ms) {
			if (eng_state(g, i) == ORCH_HS_DEPLOYING)
				snprintf(why, sizeof why, "not healthy within the %" PRId64 " s deadline (last: %s)",
					 o->deadline_ms / 1000, h->note->last[0] ? h->note->last : "no answer yet");
			else
				snprintf(why, sizeof why, "healthy, but not for the %" PRId64 " s bake within the %" PRId64
							  " s deadline", o->bake_ms / 1000, o->deadline_ms / 1000);
			host_failed(g, i, false, why, NULL, NULL);
			return;
		}
		/* fallthrough */
	case ORCH_HS_BAKED:
		if (h->busy || now < h->next_ms || !can_send(g))
			return;
		if (eng_state(g, i) == ORCH_HS_BAKED) {
			/* watching earlier waves must not starve the wave being deployed */
			if (g->count.watching >= (o->max_parallel + 3) / 4)
				return;
			g->count.watching++;
			send_req(g, i, K_WATCH, NULL, NULL);
		} else if (!h->sent) {
			send_req(g, i, K_PUT, g->put_body, NULL);
		} else {
			send_req(g, i, K_GET, NULL, NULL);
		}
		break;
	case ORCH_HS_REVERTING:
		if (now > h->deadline_ms) {
			snprintf(why, sizeof why, "not back on %s within %" PRId64 " s (last: %s)",
				 g->r->before[i] ? g->r->before[i] : "no app", o->revert_deadline_ms / 1000,
				 h->note->last[0] ? h->note->last : "no answer");
			revert_failed(g, i, why);
			return;
		}
		if (h->busy || now < h->next_ms || !can_send(g))
			return;
		if (h->sent) {
			send_req(g, i, K_GET, NULL, NULL);
		} else if (g->r->before[i]) {
			_cleanup_free_ char *body = orch_body_revert(g->r->before[i], g->r->generation);
			if (body)
				send_req(g, i, K_REVERT, body, NULL);
		} else {
			send_req(g, i, K_DELETE, g->gen_body, NULL);
		}
		break;
	default:
		break;
	}
}

void eng_scan_precheck(struct eng *g, size_t i, int64_t now)
{
	struct eng_host *h = &g->h[i];
	if (h->pre_done || h->busy || now < h->next_ms || !can_send(g))
		return;
	send_req(g, i, K_GET, NULL, NULL);
}
