/* rollout.c: the rollout engine (see rollout.h).
 *
 * One thread, one loop: every host is a small state machine driven by the
 * answers of its agent (callbacks of orch_client) and by timers checked in a
 * scan of all hosts a few hundred times a second. Phases: precheck (every
 * host's current version and generation), waves (deploy, bake, checks; the
 * hosts of earlier waves are watched), final bake, and on failure the revert
 * of every host that may have been touched. Decisions that must survive a
 * crash are journaled (fsync'd) before they are acted on. */
#include "orchestrator/rollout.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "lib/api.h"
#include "lib/cleanup.h"
#include "lib/clock.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/log.h"
#include "orchestrator/client.h"
#include "orchestrator/exec.h"
#include "orchestrator/hostapi.h"
#include "orchestrator/journal.h"
#include "orchestrator/resolve.h"
#include "orchestrator/state.h"

/* ---- options and the rollout record ---- */

void orch_opts_defaults(struct orch_opts *o)
{
	*o = (struct orch_opts){
		.bake_ms = 30000,
		.deadline_ms = 300000,
		.poll_ms = 1000,
		.timeout_ms = 10000,
		.unreachable_ms = 15000,
		.revert_deadline_ms = 120000,
		.max_parallel = 64,
	};
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void orch_opts_free(struct orch_opts *o)
{
	free_strv(o->gates, o->n_gates);
	free_strv(o->checks, o->n_checks);
	free_strv(o->probes, o->n_probes);
	free(o->token_file);
	free(o->cacert);
	o->gates = o->checks = o->probes = NULL;
	o->n_gates = o->n_checks = o->n_probes = 0;
	o->token_file = o->cacert = NULL;
}

static int copy_strv(char ***dst, char *const *src, size_t n)
{
	*dst = calloc(n + 1, sizeof **dst);
	if (!*dst)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!((*dst)[i] = strdup(src[i])))
			return -1;
	return 0;
}

int orch_opts_copy(struct orch_opts *dst, const struct orch_opts *src, struct err *e)
{
	*dst = *src;
	dst->gates = dst->checks = dst->probes = NULL;
	dst->token_file = dst->cacert = NULL;
	if (copy_strv(&dst->gates, src->gates, src->n_gates) < 0 ||
	    copy_strv(&dst->checks, src->checks, src->n_checks) < 0 ||
	    copy_strv(&dst->probes, src->probes, src->n_probes) < 0 ||
	    (src->token_file && !(dst->token_file = strdup(src->token_file))) ||
	    (src->cacert && !(dst->cacert = strdup(src->cacert)))) {
		orch_opts_free(dst);
		return err_errno(e, ENOMEM, "options");
	}
	return 0;
}

static const char *const hs_names[ORCH_HS_COUNT] = {
	"pending", "deploying", "healthy", "baked", "failed", "unreachable", "reverting", "reverted", "revert_failed",
	"skipped",
};

const char *orch_hs_name(enum orch_hs s)
{
	return s < ORCH_HS_COUNT ? hs_names[s] : "?";
}

int orch_hs_parse(const char *s)
{
	for (int i = 0; i < ORCH_HS_COUNT; i++)
		if (!strcmp(s, hs_names[i]))
			return i;
	return -1;
}

void orch_rollout_free(struct orch_rollout *r)
{
	free(r->id);
	free(r->app);
	free(r->image);
	free(r->digest);
	free(r->fleet);
	free(r->takeover);
	free(r->started);
	free(r->ended_at);
	free(r->failure);
	for (size_t i = 0; r->before && i < r->hosts.n; i++)
		free(r->before[i]);
	for (size_t i = 0; r->reason && i < r->hosts.n; i++)
		free(r->reason[i]);
	free(r->before);
	free(r->reason);
	free(r->state);
	free(r->ends);
	orch_fleet_free(&r->hosts);
	orch_opts_free(&r->o);
	*r = (struct orch_rollout){0};
}

size_t orch_rollout_wave_of(const struct orch_rollout *r, size_t host)
{
	/* binary search over the cumulative ends */
	size_t lo = 0, hi = r->n_waves;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (host < r->ends[mid])
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

int orch_rollout_alloc_hosts(struct orch_rollout *r, struct err *e)
{
	size_t n = r->hosts.n;
	if (!(r->state = calloc(n, 1)) || !(r->reason = calloc(n, sizeof *r->reason)) ||
	    !(r->before = calloc(n, sizeof *r->before)))
		return err_errno(e, ENOMEM, "rollout");
	return 0;
}

int orch_rollout_set_reason(struct orch_rollout *r, size_t host, const char *why)
{
	char *s = strdup(why);
	if (!s)
		return -1;
	free(r->reason[host]);
	r->reason[host] = s;
	return 0;
}

int orch_rollout_plan(const struct orch_new *a, struct orch_rollout *r, struct err *e)
{
	struct orch_fleet f = {0};
	struct orch_plan p = {0};
	_cleanup_free_ char *abs = NULL;
	int rc = -1;
	*r = (struct orch_rollout){0};
	if (orch_fleet_load(a->fleet_path, &f, e) < 0)
		return -1;
	if (orch_plan_make(&f, &a->plan, &p, e) < 0)
		goto out;
	if (!(r->hosts.hosts = calloc(f.n, sizeof *r->hosts.hosts)) || !(r->ends = calloc(p.n_waves, sizeof *r->ends))) {
		err_errno(e, ENOMEM, "plan");
		goto out;
	}
	for (size_t i = 0; i < f.n; i++) {
		if (orch_host_copy(&r->hosts.hosts[i], &f.hosts[p.order[i]], e) < 0)
			goto out;
		r->hosts.n = i + 1;
	}
	memcpy(r->ends, p.ends, p.n_waves * sizeof *r->ends);
	r->n_waves = p.n_waves;
	if (orch_opts_copy(&r->o, &a->o, e) < 0 || orch_rollout_alloc_hosts(r, e) < 0)
		goto out;
	abs = realpath(a->fleet_path, NULL);
	if (!(r->app = strdup(a->app)) || !(r->fleet = strdup(abs ? abs : a->fleet_path))) {
		err_errno(e, ENOMEM, "plan");
		goto out;
	}
	rc = 0;
out:
	orch_plan_free(&p);
	orch_fleet_free(&f);
	if (rc < 0)
		orch_rollout_free(r);
	return rc;
}

/* ---- the engine ---- */

/* What a request was for; K_PROBE + i is the i-th --probe. */
enum kind { K_GET, K_WATCH, K_INFO, K_PUT, K_REVERT, K_DELETE, K_PROBE };
enum phase { PH_PRECHECK, PH_WAVE, PH_CHECK, PH_FINAL, PH_REVERT, PH_END };
enum mode { M_ROLLOUT, M_ABORT, M_FLEET_REVERT };

/* Watching the hosts of earlier waves: at most this many requests a second
 * (big fleets look at each baked host less often than --poll says). */
#define ORCH_WATCH_RATE 500

/* After a deploy or revert request the first look comes this soon, then
 * twice as late each time, up to --poll: quick apps are seen quickly, slow
 * ones do not cost many requests. */
#define FIRST_POLL_MS 10

#define TAG(i, kind, epoch) (((uint64_t)(i) << 32) | ((uint64_t)((epoch)&0xffffffu) << 8) | (uint64_t)(kind))

struct hrt {
	uint32_t epoch;     /* answers to requests of an older epoch are ignored */
	bool busy;          /* an API request in flight */
	uint8_t probes;     /* probes in flight */
	bool probe_bad;
	uint16_t probe_rounds; /* passing probe rounds since healthy */
	bool touched;       /* a deploy request may have reached it */
	bool sent;          /* the deploy or revert request was accepted */
	bool slot;          /* holds one of max_parallel deploy slots */
	bool pre_done, info_done, resync;
	bool pre_unreachable; /* did not answer the precheck */
	bool budget;        /* failed within the budget */
	uint8_t fails;      /* transport failures in a row */
	int64_t next_ms, backoff_ms, deadline_ms, healthy_ms, fail_since_ms;
	struct hnote *note;
};

/* What a host said, kept apart: the scan visits every host a few hundred
 * times a second and should touch one cache line of each. */
struct hnote {
	char healthy_since[40];
	char last[160]; /* the last thing we heard, for messages */
};

struct eng {
	enum mode mode;
	struct orch_rollout *r;
	struct orch_journal *j;
	const struct orch_ui *ui;
	volatile sig_atomic_t *stop;
	const struct orch_resolved *img;
	const char *revert_to; /* fleet revert: the digest, or NULL for "previous" */
	struct orch_client *client;
	struct orch_transport *t;
	struct hrt *h;
	struct hnote *notes;
	size_t n;
	enum phase phase;
	size_t wave;
	size_t deploying, n_unhealthy, n_unreachable, problems, pre_unreachable;
	size_t watching;   /* watch requests in flight (capped: deploys go first) */
	int64_t watch_ms;  /* how often a baked host is looked at again */
	size_t scan_from;  /* the scan starts at a rotating host, for fairness */
	bool failing, fatal, interrupted;
	struct err ferr;
	int exit_code;
	int64_t t0, wave_t0, final_until, next_scan, next_progress;
	char *put_body, *gen_body;
	int64_t max_gen;
	char **platforms;
	size_t n_platforms;
	struct orch_proc proc;
	size_t check_i;
	bool check_running;
	bool warned_bake; /* the bake was found too short for the image's health check */
};

static void finish(struct eng *g, const char *result, int code, const char *human);

/* Write an event to the journal (sync: before acting on it) and the ui. */
static void emit(struct eng *g, struct jgen *jg, bool sync, enum orch_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static void emit(struct eng *g, struct jgen *jg, bool sync, enum orch_level lvl, const char *fmt, ...)
{
	const char *line;
	size_t len;
	struct err e;
	char human[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(human, sizeof human, fmt, ap);
	va_end(ap);
	if (orch_ev_end(jg, &line, &len, &e) < 0) {
		jgen_free(jg);
		log_err("event: %s", e.msg);
		return;
	}
	if (g->j && !g->fatal && orch_journal_write(g->j, line, len, sync, &e) < 0) {
		g->fatal = true;
		g->ferr = e;
	}
	if (g->ui && g->ui->event)
		g->ui->event(g->ui->ctx, line, len, lvl, human);
	jgen_free(jg);
}

static const char *hname(struct eng *g, size_t i)
{
	return g->r->hosts.hosts[i].name;
}

static size_t wave_of(struct eng *g, size_t i)
{
	return orch_rollout_wave_of(g->r, i);
}

static void set_state(struct eng *g, size_t i, enum orch_hs s)
{
	g->r->state[i] = (uint8_t)s;
}

static enum orch_hs st(struct eng *g, size_t i)
{
	return (enum orch_hs)g->r->state[i];
}

static void host_event(struct eng *g, size_t i, enum orch_hs s, const char *phase, const char *digest,
		       const char *msg, bool sync, enum orch_level lvl)
{
	struct jgen *jg = orch_ev_begin("host", g->r->id);
	if (!jg)
		return;
	jgen_kstr(jg, "host", hname(g, i));
	jgen_kint(jg, "wave", (int64_t)wave_of(g, i) + 1);
	jgen_kstr(jg, "state", orch_hs_name(s));
	if (phase && *phase)
		jgen_kstr(jg, "phase", phase);
	if (digest && *digest)
		jgen_kstr(jg, "digest", digest);
	if (msg && *msg)
		jgen_kstr(jg, "message", msg);
	emit(g, jg, sync, lvl, "%s: %s%s%s", hname(g, i), orch_hs_name(s), msg && *msg ? ": " : "", msg ? msg : "");
}

/* ---- requests ---- */

static void on_resp(void *ctx, uint64_t tag, const struct http_resp *r);

/* Whether this status poll will likely be the host's last for a while: it
 * bakes no longer than this (or not at all) if it answers healthy. */
static bool last_look(struct eng *g, size_t i)
{
	const struct hrt *h = &g->h[i];
	const struct orch_opts *o = &g->r->o;
	int64_t now = clk_mono_ms();
	if (o->n_probes)
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
	struct hrt *h = &g->h[i];
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
		.cb = on_resp,
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
static void new_epoch(struct eng *g, size_t i)
{
	struct hrt *h = &g->h[i];
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
	struct hrt *h = &g->h[i];
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

static void answered(struct hrt *h)
{
	h->fails = 0;
	h->fail_since_ms = 0;
}

static void describe_http(char *buf, size_t n, const struct http_resp *r)
{
	orch_describe_http(buf, n, r->status, r->body, r->len);
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

static void start_revert(struct eng *g, const char *why);

static void status_history(struct jgen *jg, const struct orch_status *s)
{
	jgen_key(jg, "history");
	jgen_arr_open(jg);
	for (size_t k = 0; s && k < s->n_history; k++) {
		jgen_obj_open(jg);
		jgen_kstr(jg, "time", s->history[k].time);
		jgen_kstr(jg, "phase", s->history[k].phase);
		jgen_kstr(jg, "message", s->history[k].message);
		jgen_obj_close(jg);
	}
	jgen_arr_close(jg);
}

/* The rollout failed: journal why, then revert (or pause). host may be SIZE_MAX. */
static void fail_rollout(struct eng *g, size_t host, const char *reason, const struct orch_status *s,
			 const char *probe)
{
	if (g->failing)
		return;
	g->failing = true;
	free(g->r->failure);
	if (host == SIZE_MAX || asprintf(&g->r->failure, "%s (wave %zu): %s", hname(g, host), wave_of(g, host) + 1,
					 reason) < 0)
		g->r->failure = strdup(reason);
	struct jgen *jg = orch_ev_begin("failure", g->r->id);
	if (jg) {
		char hist[1500] = "";
		if (host != SIZE_MAX) {
			jgen_kstr(jg, "host", hname(g, host));
			jgen_kint(jg, "wave", (int64_t)wave_of(g, host) + 1);
		} else {
			jgen_kint(jg, "wave", (int64_t)g->wave + 1);
		}
		jgen_kstr(jg, "reason", reason);
		if (s) {
			jgen_kstr(jg, "phase", s->phase);
			status_history(jg, s);
			/* in words, the newest few (the JSON has them all) */
			for (size_t k = s->n_history > 6 ? s->n_history - 6 : 0; k < s->n_history; k++) {
				size_t l = strlen(hist);
				snprintf(hist + l, sizeof hist - l, "\n    %s %s%s%.120s", s->history[k].time,
					 s->history[k].phase, s->history[k].message[0] ? ": " : "",
					 s->history[k].message);
			}
		}
		if (probe && *probe)
			jgen_kstr(jg, "probe", probe);
		if (host != SIZE_MAX)
			emit(g, jg, true, ORCH_LVL_PROBLEM, "FAILED: host %s (wave %zu): %s%s%s%s%s", hname(g, host),
			     wave_of(g, host) + 1, reason, probe && *probe ? "\n  probe: " : "", probe ? probe : "",
			     *hist ? "\n  phase history:" : "", hist);
		else
			emit(g, jg, true, ORCH_LVL_PROBLEM, "FAILED: wave %zu: %s", g->wave + 1, reason);
	}
	if (g->check_running) {
		orch_proc_kill(&g->proc);
		g->check_running = false;
	}
	if (g->r->o.on_failure == ORCH_ON_FAILURE_PAUSE) {
		struct jgen *p = orch_ev_begin("paused", g->r->id);
		if (p) {
			jgen_kstr(p, "reason", reason);
			emit(g, p, true, ORCH_LVL_PROBLEM,
			     "paused: converted hosts keep the new version; 'ramp rollout --resume %s' retries the wave, "
			     "'ramp rollout --abort %s' reverts", g->r->id, g->r->id);
		}
		g->r->paused = true;
		g->exit_code = ORCH_EXIT_ATTENTION;
		g->phase = PH_END;
		return;
	}
	start_revert(g, reason);
}

static void release_slot(struct eng *g, size_t i)
{
	if (g->h[i].slot) {
		g->h[i].slot = false;
		g->deploying--;
	}
}

static void begin_host_revert(struct eng *g, size_t i, int64_t now)
{
	struct hrt *h = &g->h[i];
	new_epoch(g, i);
	release_slot(g, i);
	set_state(g, i, ORCH_HS_REVERTING);
	h->sent = false;
	h->next_ms = now;
	h->backoff_ms = FIRST_POLL_MS;
	h->deadline_ms = now + g->r->o.revert_deadline_ms;
}

/* A host failed (unhealthy, crashed, late, probe) or became unreachable. */
static void host_failed(struct eng *g, size_t i, bool unreachable, const char *reason, const struct orch_status *s,
			const char *probe)
{
	struct hrt *h = &g->h[i];
	const struct orch_opts *o = &g->r->o;
	int64_t now = clk_mono_ms();
	if (g->mode != M_ROLLOUT || g->phase == PH_REVERT || g->phase == PH_END)
		return;
	new_epoch(g, i);
	release_slot(g, i);
	set_state(g, i, unreachable ? ORCH_HS_UNREACHABLE : ORCH_HS_FAILED);
	orch_rollout_set_reason(g->r, i, reason);
	size_t *count = unreachable ? &g->n_unreachable : &g->n_unhealthy;
	size_t budget = unreachable ? o->max_unreachable : o->max_unhealthy;
	(*count)++;
	bool within = *count <= budget && !g->failing;
	/* a host reverted on its own is journaled first; one that fails the
	 * rollout is told about by the failure event */
	host_event(g, i, st(g, i), s ? s->phase : NULL, s ? s->current : NULL, reason, within,
		   within ? ORCH_LVL_PROBLEM : ORCH_LVL_DETAIL);
	if (!within) {
		fail_rollout(g, i, reason, s, probe);
		return;
	}
	h->budget = true;
	if (!unreachable && o->on_failure == ORCH_ON_FAILURE_REVERT)
		begin_host_revert(g, i, now);
}

static void superseded(struct eng *g, size_t i, int64_t gen, const char *by)
{
	if (g->phase == PH_END)
		return;
	struct jgen *jg = orch_ev_begin("superseded", g->r->id);
	char seen[64] = "a newer generation";
	if (gen > 0)
		snprintf(seen, sizeof seen, "generation %" PRId64, gen);
	if (jg) {
		if (gen > 0)
			jgen_kint(jg, "generation", gen);
		if (by && *by)
			jgen_kstr(jg, "by", by);
		jgen_kstr(jg, "host", hname(g, i));
		emit(g, jg, true, ORCH_LVL_PROBLEM,
		     "superseded: host %s has %s%s%s (ours is %" PRId64 "): a newer rollout owns the fleet; stopping "
		     "without reverting", hname(g, i), seen, by && *by ? " of rollout " : "", by ? by : "", g->r->generation);
	}
	char msg[256];
	snprintf(msg, sizeof msg, "superseded by %s (host %s)", seen, hname(g, i));
	finish(g, "superseded", ORCH_EXIT_ATTENTION, msg);
}

static void revert_failed(struct eng *g, size_t i, const char *why)
{
	new_epoch(g, i);
	set_state(g, i, ORCH_HS_REVERT_FAILED);
	orch_rollout_set_reason(g->r, i, why);
	host_event(g, i, ORCH_HS_REVERT_FAILED, NULL, NULL, why, false, ORCH_LVL_PROBLEM);
}

static void reverted(struct eng *g, size_t i, const struct orch_status *s)
{
	new_epoch(g, i);
	set_state(g, i, ORCH_HS_REVERTED);
	host_event(g, i, ORCH_HS_REVERTED, s ? s->phase : NULL, g->r->before[i], g->h[i].budget ? g->r->reason[i] : NULL,
		   false, ORCH_LVL_DETAIL);
}

/* ---- answers ---- */

static void poll_later(struct eng *g, struct hrt *h, int64_t now)
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
	struct hrt *h = &g->h[i];
	if (st(g, i) != ORCH_HS_HEALTHY || now - h->healthy_ms < g->r->o.bake_ms)
		return;
	if (g->r->o.n_probes && (h->probe_rounds == 0 || h->probes))
		return;
	set_state(g, i, ORCH_HS_BAKED);
	host_event(g, i, ORCH_HS_BAKED, NULL, g->r->digest, NULL, false, ORCH_LVL_DETAIL);
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
		 bake, hname(g, i), s->check_interval_ms, s->check_retries, sees, sees);
}

/* A status answer while deploying, baking or watching. */
static void on_status(struct eng *g, size_t i, const struct http_resp *r, int64_t now)
{
	struct hrt *h = &g->h[i];
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
	enum orch_hs cur = st(g, i);
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
			set_state(g, i, ORCH_HS_HEALTHY);
			release_slot(g, i);
			h->healthy_ms = now;
			h->probe_rounds = 0;
			host_event(g, i, ORCH_HS_HEALTHY, s.phase, s.current, NULL, false, ORCH_LVL_DETAIL);
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
	if (st(g, i) == ORCH_HS_HEALTHY) {
		if (g->r->o.n_probes && !h->probes)
			send_probes(g, i);
		maybe_baked(g, i, now);
		/* wake up when the bake is over rather than a poll later */
		int64_t bake_end = h->healthy_ms + g->r->o.bake_ms;
		h->next_ms = now + g->r->o.poll_ms;
		if (bake_end > now && bake_end < h->next_ms)
			h->next_ms = bake_end;
		if (g->r->o.n_probes && h->next_ms > now + g->r->o.poll_ms / 4 && bake_end <= now)
			h->next_ms = now + g->r->o.poll_ms / 4;
	} else {
		h->next_ms = now + g->watch_ms;
	}
}

static void on_put(struct eng *g, size_t i, const struct http_resp *r, int64_t now)
{
	struct hrt *h = &g->h[i];
	char why[400], code[64], msg[300];
	if (r->status >= 200 && r->status < 300) {
		h->sent = true;
		h->backoff_ms = g->r->o.poll_ms < FIRST_POLL_MS ? g->r->o.poll_ms : FIRST_POLL_MS;
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
	struct hrt *h = &g->h[i];
	char why[500], code[64], msg[300];
	if (k == K_DELETE && r->status == 404) {
		reverted(g, i, NULL);
		return;
	}
	if (r->status >= 200 && r->status < 300) {
		h->sent = true;
		h->backoff_ms = FIRST_POLL_MS;
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
	struct hrt *h = &g->h[i];
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

static void add_platform(struct eng *g, const char *p)
{
	for (size_t k = 0; k < g->n_platforms; k++)
		if (!strcmp(g->platforms[k], p))
			return;
	char **np = realloc(g->platforms, (g->n_platforms + 1) * sizeof *np);
	if (!np)
		return;
	g->platforms = np;
	if ((np[g->n_platforms] = strdup(p)))
		g->n_platforms++;
}

/* A host that is not ready: it refuses a rollout; a fleet revert goes on
 * without it (and reports it). */
static void problem(struct eng *g, size_t i, const char *why)
{
	orch_rollout_set_reason(g->r, i, why);
	if (g->mode == M_FLEET_REVERT)
		set_state(g, i, ORCH_HS_REVERT_FAILED);
	else
		g->problems++;
	g->h[i].pre_done = true;
}

static void on_precheck(struct eng *g, size_t i, unsigned k, const struct http_resp *r)
{
	struct hrt *h = &g->h[i];
	char why[700];
	struct err e;
	if (k == K_INFO) {
		char plat[128];
		if (r->status != 200) {
			describe_http(why, sizeof why, r);
			problem(g, i, why);
		} else if (orch_info_platform(r->body, r->len, plat, sizeof plat, &e) < 0) {
			snprintf(why, sizeof why, "unreadable %s: %.600s", API_PATH_INFO, e.msg);
			problem(g, i, why);
		} else {
			add_platform(g, plat);
			h->info_done = h->pre_done = true;
		}
		return;
	}
	if (r->status == 404) {
		/* a new host: nothing to return to; a revert removes the app */
		if (g->mode == M_FLEET_REVERT) {
			set_state(g, i, ORCH_HS_SKIPPED);
			orch_rollout_set_reason(g->r, i, "the app is not on this host");
		}
	} else if (r->status != 200) {
		describe_http(why, sizeof why, r);
		problem(g, i, why);
		return;
	} else {
		struct orch_status s;
		if (orch_status_parse(r->body, r->len, g->r->app, &s, &e) < 0) {
			snprintf(why, sizeof why, "unreadable status: %.600s", e.msg);
			problem(g, i, why);
			return;
		}
		if (s.generation > g->max_gen)
			g->max_gen = s.generation;
		const char *back = s.current;
		if (g->mode == M_FLEET_REVERT)
			back = g->revert_to ? g->revert_to : (s.n_previous ? s.previous[0] : "");
		if (!*back) {
			snprintf(why, sizeof why, g->mode == M_FLEET_REVERT ? "keeps no earlier version of %s to revert to"
									  : "runs no version of %s to return to (phase %s)",
				 g->r->app, s.phase);
			problem(g, i, why);
			return;
		}
		if (!(g->r->before[i] = strdup(back))) {
			problem(g, i, "out of memory");
			return;
		}
	}
	if (g->img && !g->r->o.allow_untested && !h->info_done) {
		send_req(g, i, K_INFO, NULL, NULL);
		return;
	}
	h->pre_done = true;
}

static void on_probe(struct eng *g, size_t i, const struct http_resp *r, const char *url)
{
	struct hrt *h = &g->h[i];
	char why[900];
	if (r->status >= 200 && r->status < 300) {
		if (!h->probes && !h->probe_bad && h->probe_rounds < UINT16_MAX) {
			h->probe_rounds++;
			maybe_baked(g, i, clk_mono_ms());
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
	for (size_t k = 0; k < g->r->o.n_probes; k++) {
		_cleanup_free_ char *url = probe_url(&g->r->hosts.hosts[i], g->r->o.probes[k]);
		if (url)
			send_req(g, i, K_PROBE + k, NULL, url);
	}
}

static void on_resp(void *ctx, uint64_t tag, const struct http_resp *r)
{
	struct eng *g = ctx;
	size_t i = (size_t)(tag >> 32);
	unsigned k = (unsigned)(tag & 0xff);
	struct hrt *h = &g->h[i];
	int64_t now = clk_mono_ms();
	if (k == K_WATCH) {
		g->watching--;
		k = K_GET;
	}
	if (((tag >> 8) & 0xffffff) != (h->epoch & 0xffffff) || g->phase == PH_END)
		return; /* an answer nobody waits for any more */
	if (k >= K_PROBE) {
		/* the kind carries which probe it was */
		_cleanup_free_ char *url = probe_url(&g->r->hosts.hosts[i], g->r->o.probes[k - K_PROBE]);
		h->probes--;
		if (st(g, i) == ORCH_HS_HEALTHY)
			on_probe(g, i, r, url ? url : "?");
		return;
	}
	h->busy = false;
	enum orch_hs s = st(g, i);
	if (g->phase == PH_PRECHECK) {
		if (transient(r)) {
			if (give_up(g, i, r, now)) {
				char why[300];
				snprintf(why, sizeof why, "unreachable: %s", h->note->last);
				problem(g, i, why);
				if (g->mode == M_ROLLOUT) {
					/* within --max-unreachable, the rollout goes on without it */
					h->pre_unreachable = true;
					g->problems--;
					g->pre_unreachable++;
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

static void scan_host(struct eng *g, size_t i, int64_t now)
{
	struct hrt *h = &g->h[i];
	const struct orch_opts *o = &g->r->o;
	char why[400];
	switch (st(g, i)) {
	case ORCH_HS_DEPLOYING:
	case ORCH_HS_HEALTHY:
		if (!h->slot && !h->sent && st(g, i) == ORCH_HS_DEPLOYING) {
			if (g->deploying >= o->max_parallel)
				return;
			h->slot = true;
			g->deploying++;
			h->touched = true;
			h->deadline_ms = now + o->deadline_ms;
			h->next_ms = now;
		}
		if (now > h->deadline_ms) {
			if (st(g, i) == ORCH_HS_DEPLOYING)
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
		if (st(g, i) == ORCH_HS_BAKED) {
			/* watching earlier waves must not starve the wave being deployed */
			if (g->watching >= (o->max_parallel + 3) / 4)
				return;
			g->watching++;
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

static void scan_precheck(struct eng *g, size_t i, int64_t now)
{
	struct hrt *h = &g->h[i];
	if (h->pre_done || h->busy || now < h->next_ms || !can_send(g))
		return;
	send_req(g, i, K_GET, NULL, NULL);
}

/* ---- phases ---- */

static void start_wave(struct eng *g, size_t w, int64_t now)
{
	struct orch_rollout *r = g->r;
	size_t from = w ? r->ends[w - 1] : 0, to = r->ends[w];
	struct jgen *jg = orch_ev_begin("wave", r->id);
	char names[400] = "";
	if (jg) {
		jgen_kint(jg, "wave", (int64_t)w + 1);
		jgen_key(jg, "hosts");
		jgen_arr_open(jg);
		for (size_t i = from; i < to; i++) {
			jgen_str(jg, hname(g, i));
			size_t l = strlen(names);
			if (i - from < 8)
				snprintf(names + l, sizeof names - l, " %s", hname(g, i));
			else if (i - from == 8)
				snprintf(names + l, sizeof names - l, " and %zu more", to - from - 8);
		}
		jgen_arr_close(jg);
		/* journaled before any host hears of it */
		emit(g, jg, true, ORCH_LVL_MAIN, "wave %zu/%zu (%zu host%s):%s", w + 1, r->n_waves, to - from,
		     to - from == 1 ? "" : "s", names);
	}
	if (g->fatal)
		return;
	for (size_t i = from; i < to; i++) {
		struct hrt *h = &g->h[i];
		if (st(g, i) == ORCH_HS_SKIPPED)
			continue;
		new_epoch(g, i);
		set_state(g, i, ORCH_HS_DEPLOYING);
		h->touched = true;
		h->sent = h->slot = false;
		h->healthy_ms = 0;
		h->next_ms = now;
		h->backoff_ms = FIRST_POLL_MS;
	}
	r->waves_started = w + 1;
	g->wave = w;
	g->wave_t0 = now;
	g->phase = PH_WAVE;
}

static bool wave_settled(struct eng *g)
{
	size_t from = g->wave ? g->r->ends[g->wave - 1] : 0, to = g->r->ends[g->wave];
	for (size_t i = from; i < to; i++) {
		enum orch_hs s = st(g, i);
		if (s == ORCH_HS_DEPLOYING || s == ORCH_HS_HEALTHY || s == ORCH_HS_REVERTING)
			return false;
	}
	return true;
}

static char *wave_env_list(struct eng *g, const char *var, bool addr)
{
	size_t from = g->wave ? g->r->ends[g->wave - 1] : 0, to = g->r->ends[g->wave];
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	if (!f)
		return NULL;
	fprintf(f, "%s=", var);
	bool first = true;
	for (size_t i = from; i < to; i++) {
		if (st(g, i) != ORCH_HS_BAKED)
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
		fail_rollout(g, SIZE_MAX, "out of memory starting a check", NULL, NULL);
		return;
	}
	char *env[] = {wave, waves, gen, hosts, addrs, app, image, id, NULL};
	struct err e;
	if (orch_proc_start(&g->proc, r->o.checks[g->check_i], env, r->o.deadline_ms, &e) < 0) {
		fail_rollout(g, SIZE_MAX, e.msg, NULL, NULL);
		return;
	}
	g->check_running = true;
	g->phase = PH_CHECK;
}

static void wave_passed(struct eng *g, int64_t now)
{
	struct orch_rollout *r = g->r;
	struct jgen *jg = orch_ev_begin("wave_passed", r->id);
	if (jg) {
		jgen_kint(jg, "wave", (int64_t)g->wave + 1);
		jgen_kint(jg, "ms", now - g->wave_t0);
		emit(g, jg, false, ORCH_LVL_MAIN, "wave %zu/%zu passed in %.1f s", g->wave + 1, r->n_waves,
		     (double)(now - g->wave_t0) / 1000.0);
	}
	r->waves_passed = g->wave + 1;
	if (r->waves_passed < r->n_waves) {
		start_wave(g, r->waves_passed, now);
		return;
	}
	g->phase = PH_FINAL;
	g->final_until = now + r->o.final_bake_ms;
}

static void start_revert(struct eng *g, const char *why)
{
	struct orch_rollout *r = g->r;
	int64_t now = clk_mono_ms();
	struct jgen *jg = orch_ev_begin("revert", r->id);
	size_t count = 0;
	char names[400] = "";
	if (!jg)
		return;
	jgen_key(jg, "hosts");
	jgen_arr_open(jg);
	for (size_t i = 0; i < g->n; i++) {
		enum orch_hs s = st(g, i);
		bool want = g->mode == M_FLEET_REVERT ? s != ORCH_HS_SKIPPED && r->before[i]
						      : g->h[i].touched && s != ORCH_HS_REVERTED;
		if (!want)
			continue;
		jgen_str(jg, hname(g, i));
		size_t l = strlen(names);
		if (count < 8)
			snprintf(names + l, sizeof names - l, " %s", hname(g, i));
		else if (count == 8)
			snprintf(names + l, sizeof names - l, " …");
		count++;
		g->h[i].touched = true;
	}
	jgen_arr_close(jg);
	jgen_kstr(jg, "reason", why);
	emit(g, jg, true, ORCH_LVL_MAIN, "reverting %zu host%s:%s", count, count == 1 ? "" : "s", names);
	if (g->fatal)
		return;
	for (size_t i = 0; i < g->n; i++) {
		enum orch_hs s = st(g, i);
		if (g->h[i].touched && s != ORCH_HS_REVERTED && s != ORCH_HS_SKIPPED)
			begin_host_revert(g, i, now);
	}
	r->reverting = true;
	g->phase = PH_REVERT;
}

static bool revert_settled(struct eng *g)
{
	for (size_t i = 0; i < g->n; i++)
		if (st(g, i) == ORCH_HS_REVERTING)
			return false;
	return true;
}

static void end_event(struct eng *g, const char *result, int code, const char *human)
{
	struct orch_rollout *r = g->r;
	size_t counts[ORCH_HS_COUNT] = {0}, converted = 0;
	int64_t now = clk_mono_ms();
	for (size_t i = 0; i < g->n; i++) {
		counts[st(g, i)]++;
		converted += g->h[i].touched;
	}
	struct jgen *jg = orch_ev_begin("end", r->id);
	if (!jg)
		return;
	jgen_kstr(jg, "result", result);
	jgen_kint(jg, "exit", code);
	jgen_kint(jg, "ms", now - g->t0);
	jgen_key(jg, "counts");
	jgen_obj_open(jg);
	jgen_kint(jg, "hosts", (int64_t)g->n);
	jgen_kint(jg, "converted", (int64_t)converted);
	for (int s = 0; s < ORCH_HS_COUNT; s++)
		if (counts[s])
			jgen_kint(jg, orch_hs_name((enum orch_hs)s), (int64_t)counts[s]);
	jgen_obj_close(jg);
	jgen_key(jg, "hosts");
	jgen_arr_open(jg);
	for (size_t i = 0; i < g->n; i++) {
		jgen_obj_open(jg);
		jgen_kstr(jg, "host", hname(g, i));
		jgen_kint(jg, "wave", (int64_t)wave_of(g, i) + 1);
		jgen_kstr(jg, "state", orch_hs_name(st(g, i)));
		if (r->reason[i])
			jgen_kstr(jg, "reason", r->reason[i]);
		jgen_obj_close(jg);
	}
	jgen_arr_close(jg);
	emit(g, jg, true, code ? ORCH_LVL_PROBLEM : ORCH_LVL_MAIN, "%s (%.1f s)", human, (double)(now - g->t0) / 1000.0);
}

static void finish(struct eng *g, const char *result, int code, const char *human)
{
	if (g->phase == PH_END)
		return;
	if (g->check_running) {
		orch_proc_kill(&g->proc);
		g->check_running = false;
	}
	end_event(g, result, code, human);
	snprintf(g->r->result, sizeof g->r->result, "%s", result);
	g->r->exit_code = code;
	g->r->ended = true;
	g->exit_code = code;
	g->phase = PH_END;
}

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
			snprintf(list + l, sizeof list - l, "\n  %s: %s", hname(g, i), d);
	}
	if (!differ)
		return true;
	char msg[1000];
	snprintf(msg, sizeof msg,
		 "refused: the hosts keep different previous versions of %s (%zu keep %s as their newest, %zu do not:%s); "
		 "say which with --to DIGEST", g->r->app, agree, first, differ, list);
	finish(g, "refused", ORCH_EXIT_REFUSED, msg);
	return false;
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

static void finish_precheck(struct eng *g)
{
	struct orch_rollout *r = g->r;
	struct err e;
	struct jgen *jg;
	char human[1200] = "";
	if (g->problems == 0 && g->img && !r->o.allow_untested &&
	    orch_records_check(g->img, g->platforms, g->n_platforms, &e) < 0) {
		jg = orch_ev_begin("precheck", r->id);
		if (jg) {
			jgen_kbool(jg, "ok", false);
			jgen_key(jg, "problems");
			jgen_arr_open(jg);
			jgen_obj_open(jg);
			jgen_kstr(jg, "reason", e.msg);
			jgen_obj_close(jg);
			jgen_arr_close(jg);
			emit(g, jg, true, ORCH_LVL_PROBLEM, "refused: %s", e.msg);
		}
		finish(g, "refused", ORCH_EXIT_REFUSED, "refused: no passing test record; nothing was deployed");
		return;
	}
	if (g->pre_unreachable > r->o.max_unreachable)
		g->problems += g->pre_unreachable; /* over the budget: they refuse the rollout too */
	else
		for (size_t i = 0; i < g->n; i++)
			if (g->h[i].pre_unreachable) {
				set_state(g, i, ORCH_HS_SKIPPED);
				g->h[i].pre_unreachable = false;
				g->n_unreachable++;
			}
	if (g->problems) {
		jg = orch_ev_begin("precheck", r->id);
		size_t shown = 0;
		if (!jg)
			return;
		jgen_kbool(jg, "ok", false);
		jgen_key(jg, "problems");
		jgen_arr_open(jg);
		for (size_t i = 0; i < g->n; i++) {
			if (!r->reason[i] || st(g, i) == ORCH_HS_SKIPPED)
				continue;
			jgen_obj_open(jg);
			jgen_kstr(jg, "host", hname(g, i));
			jgen_kstr(jg, "reason", r->reason[i]);
			jgen_obj_close(jg);
			size_t l = strlen(human);
			if (shown++ < 5)
				snprintf(human + l, sizeof human - l, "\n  %s: %s", hname(g, i), r->reason[i]);
		}
		jgen_arr_close(jg);
		emit(g, jg, true, ORCH_LVL_PROBLEM, "precheck: %zu host%s not ready:%s", g->problems,
		     g->problems == 1 ? "" : "s", human);
		finish(g, "refused", ORCH_EXIT_REFUSED, "refused: the precheck failed; nothing was deployed");
		return;
	}
	r->generation = g->max_gen + 1;
	if (!set_bodies(g))
		return;
	if (g->mode == M_FLEET_REVERT) {
		if (!g->revert_to && !same_previous(g))
			return;
		start_revert(g, "fleet-wide revert");
		return;
	}
	size_t fresh = 0;
	jg = orch_ev_begin("precheck", r->id);
	if (!jg)
		return;
	jgen_kbool(jg, "ok", true);
	jgen_kint(jg, "generation", r->generation);
	jgen_key(jg, "before");
	jgen_arr_open(jg);
	for (size_t i = 0; i < g->n; i++) {
		if (r->before[i])
			jgen_str(jg, r->before[i]);
		else
			jgen_null(jg);
		fresh += !r->before[i];
	}
	jgen_arr_close(jg);
	if (g->n_unreachable) {
		jgen_key(jg, "skipped");
		jgen_arr_open(jg);
		for (size_t i = 0; i < g->n; i++)
			if (st(g, i) == ORCH_HS_SKIPPED) {
				jgen_obj_open(jg);
				jgen_kstr(jg, "host", hname(g, i));
				jgen_kstr(jg, "reason", r->reason[i]);
				jgen_obj_close(jg);
			}
		jgen_arr_close(jg);
	}
	char skipped[300] = "";
	for (size_t i = 0, k = 0; i < g->n && g->n_unreachable; i++) {
		size_t l = strlen(skipped);
		if (st(g, i) != ORCH_HS_SKIPPED)
			continue;
		if (k++ < 8)
			snprintf(skipped + l, sizeof skipped - l, " %s", hname(g, i));
		else if (k == 9)
			snprintf(skipped + l, sizeof skipped - l, " …");
	}
	emit(g, jg, true, ORCH_LVL_MAIN, "precheck: %zu host%s ready (%zu new), generation %" PRId64 "%s%s",
	     g->n - g->n_unreachable, g->n - g->n_unreachable == 1 ? "" : "s", fresh - g->n_unreachable, r->generation,
	     g->n_unreachable ? "; unreachable, skipped (within --max-unreachable):" : "", skipped);

	r->prechecked = true;
	if (!g->fatal)
		start_wave(g, 0, clk_mono_ms());
}

static void advance(struct eng *g, int64_t now)
{
	struct orch_rollout *r = g->r;
	struct err e;
	switch (g->phase) {
	case PH_PRECHECK: {
		for (size_t i = 0; i < g->n; i++)
			if (!g->h[i].pre_done)
				return;
		finish_precheck(g);
		break;
	}
	case PH_WAVE:
		if (!wave_settled(g))
			return;
		g->check_i = 0;
		if (r->o.n_checks)
			start_check(g);
		else
			wave_passed(g, now);
		break;
	case PH_CHECK: {
		int status;
		int rc = orch_proc_poll(&g->proc, &status, &e);
		if (rc == 0)
			return;
		g->check_running = false;
		const char *cmd = r->o.checks[g->check_i];
		struct jgen *jg = orch_ev_begin("check", r->id);
		if (jg) {
			jgen_kint(jg, "wave", (int64_t)g->wave + 1);
			jgen_kstr(jg, "command", cmd);
			jgen_kint(jg, "exit", rc < 0 ? -1 : status);
			jgen_kbool(jg, "ok", rc == 1 && status == 0);
			emit(g, jg, false, rc == 1 && status == 0 ? ORCH_LVL_DETAIL : ORCH_LVL_PROBLEM,
			     "check `%s` after wave %zu: %s", cmd, g->wave + 1,
			     rc == 1 && status == 0 ? "ok" : "failed");
		}
		if (rc < 0 || status != 0) {
			char why[600];
			if (rc < 0)
				snprintf(why, sizeof why, "check `%.300s`: %.200s", cmd, e.msg);
			else if (status == 124)
				snprintf(why, sizeof why, "check `%.300s` did not finish within %" PRId64 " s", cmd,
					 r->o.deadline_ms / 1000);
			else
				snprintf(why, sizeof why, "check `%.300s` exited with status %d", cmd, status);
			fail_rollout(g, SIZE_MAX, why, NULL, NULL);
			return;
		}
		if (++g->check_i < r->o.n_checks) {
			start_check(g);
			return;
		}
		g->phase = PH_WAVE; /* hosts may have failed meanwhile: settled again, then passed */
		if (wave_settled(g) && !g->failing)
			wave_passed(g, now);
		break;
	}
	case PH_FINAL:
		if (now < g->final_until)
			return;
		{
			char msg[300];
			size_t bad = g->n_unhealthy + g->n_unreachable;
			snprintf(msg, sizeof msg, "done: %s runs %s on %zu of %zu hosts (%zu wave%s)%s", r->app, r->digest,
				 g->n - bad, g->n, r->n_waves, r->n_waves == 1 ? "" : "s",
				 bad ? ", failures within budget" : "");
			finish(g, "done", ORCH_EXIT_DONE, msg);
		}
		break;
	case PH_REVERT:
		if (!revert_settled(g))
			return;
		{
			size_t bad = 0, ok = 0;
			char msg[600] = "", list[300] = "";
			for (size_t i = 0; i < g->n; i++) {
				if (st(g, i) == ORCH_HS_REVERT_FAILED) {
					size_t l = strlen(list);
					if (bad++ < 10)
						snprintf(list + l, sizeof list - l, " %s", hname(g, i));
				} else if (st(g, i) == ORCH_HS_REVERTED) {
					ok++;
				}
			}
			if (bad) {
				snprintf(msg, sizeof msg, "revert incomplete: %zu host%s could not be put back:%s", bad,
					 bad == 1 ? "" : "s", list);
				finish(g, "revert_incomplete", ORCH_EXIT_ATTENTION, msg);
			} else if (g->mode == M_ROLLOUT) {
				snprintf(msg, sizeof msg, "rolled back: %zu host%s reverted; %s", ok, ok == 1 ? "" : "s",
					 r->failure ? r->failure : "");
				finish(g, "rolled_back", ORCH_EXIT_ROLLED_BACK, msg);
			} else {
				snprintf(msg, sizeof msg, "%s: %zu host%s reverted",
					 g->mode == M_ABORT ? "aborted" : "reverted", ok, ok == 1 ? "" : "s");
				finish(g, g->mode == M_ABORT ? "aborted" : "reverted", ORCH_EXIT_DONE, msg);
			}
		}
		break;
	case PH_END:
		break;
	}
}

static void progress(struct eng *g, int64_t now)
{
	if (!g->ui || !g->ui->progress || now < g->next_progress)
		return;
	g->next_progress = now + 200;
	struct orch_progress p = {.n_waves = g->r->n_waves, .total = g->n, .bake_left_ms = -1, .wave = g->wave + 1};
	static const char *names[] = {"precheck", "wave", "check", "final bake", "revert", "end"};
	p.phase = names[g->phase];
	size_t from = g->wave ? g->r->ends[g->wave - 1] : 0, to = g->r->ends[g->wave];
	p.wave_size = to - from;
	for (size_t i = 0; i < g->n; i++) {
		enum orch_hs s = st(g, i);
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
	g->ui->progress(g->ui->ctx, &p);
}

static void drive(struct eng *g)
{
	struct err e;
	while (g->phase != PH_END && !g->fatal) {
		int64_t now = clk_mono_ms();
		if (*g->stop) {
			g->interrupted = true;
			break;
		}
		if (now >= g->next_scan) {
			size_t baked = 0;
			for (size_t k = 0, i = g->scan_from; k < g->n && g->phase != PH_END && !g->fatal; k++, i++) {
				if (i == g->n)
					i = 0;
				if (g->phase == PH_PRECHECK)
					scan_precheck(g, i, now);
				else
					scan_host(g, i, now);
				baked += st(g, i) == ORCH_HS_BAKED;
			}
			/* watching costs at most ORCH_WATCH_RATE requests a second */
			g->watch_ms = (int64_t)baked * 1000 / ORCH_WATCH_RATE;
			if (g->watch_ms < g->r->o.poll_ms)
				g->watch_ms = g->r->o.poll_ms;
			g->scan_from = (g->scan_from + 1) % g->n;
			g->next_scan = now + 2 + (int64_t)g->n / 5000; /* 10,000 hosts: every 4 ms */
			advance(g, now);
		}
		if (g->phase == PH_END || g->fatal)
			break;
		if (g->t->step(g->t, 5, &e) < 0) {
			g->fatal = true;
			g->ferr = e;
			break;
		}
		if (g->j && g->j->dirty && now - g->j->synced_ms >= ORCH_JOURNAL_LAG_MS &&
		    orch_journal_sync(g->j, &e) < 0) {
			g->fatal = true;
			g->ferr = e;
		}
		progress(g, now);
	}
	if (g->check_running) {
		orch_proc_kill(&g->proc);
		g->check_running = false;
	}
	if (g->interrupted) {
		struct jgen *jg = orch_ev_begin("interrupted", g->r->id);
		if (jg)
			emit(g, jg, true, ORCH_LVL_PROBLEM,
			     "interrupted: rollout %s is unfinished; 'ramp rollout --resume %s' continues it, "
			     "'ramp rollout --abort %s' reverts it", g->r->id, g->r->id, g->r->id);
		g->exit_code = ORCH_EXIT_ATTENTION;
	}
	if (g->fatal) {
		log_err("%s", g->ferr.msg);
		log_err("rollout %s stopped; the fleet needs attention ('ramp rollout --resume %s' or --abort)",
			g->r->id, g->r->id);
		g->exit_code = ORCH_EXIT_ATTENTION;
	}
}

static int eng_init(struct eng *g, enum mode mode, struct orch_rollout *r, struct orch_journal *j,
		    const struct orch_ui *ui, volatile sig_atomic_t *stop, struct err *e)
{
	*g = (struct eng){.mode = mode, .r = r, .j = j, .ui = ui, .stop = stop, .n = r->hosts.n, .t0 = clk_mono_ms(),
			  .watch_ms = r->o.poll_ms};
	struct orch_client_opts co = {
		.max_parallel = r->o.max_parallel,
		.timeout_ms = r->o.timeout_ms,
		.cacert = r->o.cacert,
		.token_file = r->o.token_file,
		.reuse = true,
		.probes = r->o.n_probes > 0,
	};
	if (!(g->h = calloc(g->n, sizeof *g->h)) || !(g->notes = calloc(g->n, sizeof *g->notes)))
		return err_errno(e, ENOMEM, "rollout");
	for (size_t i = 0; i < g->n; i++) {
		g->h[i].backoff_ms = FIRST_POLL_MS;
		g->h[i].note = &g->notes[i];
	}
	if (!(g->client = orch_client_new(&co, r->hosts.hosts, r->hosts.n, e)))
		return -1;
	g->t = orch_client_transport(g->client);
	return 0;
}

static void eng_free(struct eng *g)
{
	orch_client_free(g->client);
	free(g->h);
	free(g->notes);
	free(g->put_body);
	free(g->gen_body);
	free_strv(g->platforms, g->n_platforms);
}

/* Gate commands, in order; false when one refused (the rollout is then over). */
static bool run_gates(struct eng *g)
{
	struct orch_rollout *r = g->r;
	for (size_t k = 0; k < r->o.n_gates; k++) {
		int status = -1;
		struct err e;
		char env_app[128], env_id[200];
		snprintf(env_app, sizeof env_app, "RAMP_APP=%s", r->app);
		snprintf(env_id, sizeof env_id, "RAMP_ROLLOUT=%s", r->id);
		_cleanup_free_ char *env_image = NULL;
		if (asprintf(&env_image, "RAMP_IMAGE=%s", r->image) < 0)
			env_image = NULL;
		char *env[] = {env_app, env_id, env_image, NULL};
		int rc = orch_proc_run(r->o.gates[k], env, r->o.deadline_ms, &status, &e);
		bool ok = rc == 0 && status == 0;
		struct jgen *jg = orch_ev_begin("gate", r->id);
		if (jg) {
			jgen_kstr(jg, "command", r->o.gates[k]);
			jgen_kint(jg, "exit", rc < 0 ? -1 : status);
			jgen_kbool(jg, "ok", ok);
			emit(g, jg, !ok, ok ? ORCH_LVL_DETAIL : ORCH_LVL_PROBLEM, "gate `%s`: %s", r->o.gates[k],
			     ok ? "ok" : rc < 0 ? e.msg : "refused");
		}
		if (!ok) {
			char msg[600];
			if (rc < 0)
				snprintf(msg, sizeof msg, "refused: gate `%.300s`: %.200s; nothing was deployed", r->o.gates[k],
					 e.msg);
			else
				snprintf(msg, sizeof msg, "refused: gate `%.300s` exited with status %d; nothing was deployed",
					 r->o.gates[k], status);
			finish(g, "refused", ORCH_EXIT_REFUSED, msg);
			return false;
		}
	}
	return true;
}

/* Set the engine up to continue r from where its journal left off. */
static void resume_state(struct eng *g, int64_t now)
{
	struct orch_rollout *r = g->r;
	for (size_t i = 0; i < g->n; i++) {
		enum orch_hs s = st(g, i);
		struct hrt *h = &g->h[i];
		if (s == ORCH_HS_SKIPPED)
			g->n_unreachable++; /* unreachable at the precheck, never touched */
		if (s == ORCH_HS_PENDING || s == ORCH_HS_SKIPPED)
			continue;
		h->touched = true;
		h->next_ms = now;
		if (s == ORCH_HS_FAILED || s == ORCH_HS_REVERTED || s == ORCH_HS_REVERT_FAILED)
			g->n_unhealthy++, h->budget = true;
		if (s == ORCH_HS_UNREACHABLE)
			g->n_unreachable++, h->budget = true;
	}
	if (r->reverting) {
		for (size_t i = 0; i < g->n; i++)
			if (st(g, i) == ORCH_HS_REVERTING || st(g, i) == ORCH_HS_REVERT_FAILED)
				begin_host_revert(g, i, now);
		g->failing = true;
		g->phase = PH_REVERT;
		return;
	}
	for (size_t i = 0; i < g->n; i++) {
		enum orch_hs s = st(g, i);
		size_t w = wave_of(g, i);
		if (s == ORCH_HS_PENDING || s == ORCH_HS_SKIPPED)
			continue;
		if (s == ORCH_HS_FAILED || s == ORCH_HS_REVERTING || s == ORCH_HS_REVERT_FAILED) {
			/* failed within the budget: make sure it is back on its old version */
			if (r->o.on_failure == ORCH_ON_FAILURE_REVERT)
				begin_host_revert(g, i, now);
			continue;
		}
		if (s == ORCH_HS_UNREACHABLE || s == ORCH_HS_REVERTED)
			continue;
		if (w < r->waves_passed) {
			set_state(g, i, ORCH_HS_BAKED); /* watched; its healthySince is learnt afresh */
			g->h[i].resync = true;
		} else {
			set_state(g, i, ORCH_HS_DEPLOYING); /* the wave in progress starts over */
			g->h[i].backoff_ms = FIRST_POLL_MS;
		}
	}
	if (r->waves_started > r->waves_passed) {
		g->wave = r->waves_passed;
		g->wave_t0 = now;
		g->phase = PH_WAVE;
	} else if (r->waves_passed < r->n_waves) {
		start_wave(g, r->waves_passed, now);
	} else {
		g->wave = r->n_waves - 1;
		g->phase = PH_FINAL;
		g->final_until = now + r->o.final_bake_ms;
	}
}

static int run_engine(struct eng *g, bool resume, bool abort)
{
	struct orch_rollout *r = g->r;
	if (!r->prechecked && !abort) {
		if (!run_gates(g))
			return g->exit_code;
		g->phase = PH_PRECHECK;
	} else if (!set_bodies(g)) {
		return ORCH_EXIT_ATTENTION;
	} else if (abort) {
		for (size_t i = 0; i < g->n; i++)
			if (st(g, i) != ORCH_HS_PENDING && st(g, i) != ORCH_HS_SKIPPED)
				g->h[i].touched = true;
		start_revert(g, "aborted by the operator");
	} else if (resume) {
		resume_state(g, clk_mono_ms());
	}
	drive(g);
	return g->exit_code;
}

/* ---- entry points ---- */

/* The start event creates the journal. */
static int emit_start(struct eng *g, const char *path, struct orch_journal *j, struct err *e)
{
	struct orch_rollout *r = g->r;
	struct jgen *jg = orch_ev_start(r);
	const char *line;
	size_t len;
	char sizes[200] = "", human[600];
	if (orch_ev_end(jg, &line, &len, e) < 0 || orch_journal_create(path, line, len, j, e) < 0) {
		jgen_free(jg);
		return -1;
	}
	g->j = j;
	for (size_t w = 0; w < r->n_waves; w++) {
		size_t l = strlen(sizes);
		if (w < 12)
			snprintf(sizes + l, sizeof sizes - l, "%s%zu", w ? ", " : "", r->ends[w] - (w ? r->ends[w - 1] : 0));
		else if (w == 12)
			snprintf(sizes + l, sizeof sizes - l, ", …");
	}
	snprintf(human, sizeof human, "rollout %s: %s %s on %zu host%s in %zu wave%s (%s)", r->id, r->app, r->image,
		 r->hosts.n, r->hosts.n == 1 ? "" : "s", r->n_waves, r->n_waves == 1 ? "" : "s", sizes);
	if (g->ui && g->ui->event)
		g->ui->event(g->ui->ctx, line, len, ORCH_LVL_MAIN, human);
	jgen_free(jg);
	return 0;
}

/* The holder of a lock, when its journal says it is unfinished. */
static bool unfinished(const char *dir, const char *id)
{
	struct orch_rollout o;
	struct err e;
	_cleanup_free_ char *p = orch_journal_path(dir, id, &e);
	if (!p || orch_journal_load(p, &o, &e) < 0)
		return false;
	bool open = !o.ended;
	orch_rollout_free(&o);
	return open;
}

/* Close a rollout we took over (its process is gone): it can never act again. */
static void close_superseded(const char *dir, const char *old, const char *by)
{
	struct err e;
	struct orch_rollout o;
	struct orch_journal j;
	_cleanup_free_ char *p = orch_journal_path(dir, old, &e);
	if (!p || orch_journal_load(p, &o, &e) < 0)
		return;
	if (orch_journal_reopen(p, o.valid_len, &j, &e) == 0) {
		const char *line;
		size_t len;
		struct jgen *g = orch_ev_begin("superseded", old);
		if (g) {
			jgen_kstr(g, "by", by);
			if (orch_ev_end(g, &line, &len, &e) == 0)
				orch_journal_write(&j, line, len, false, &e);
			jgen_free(g);
		}
		if ((g = orch_ev_begin("end", old))) {
			jgen_kstr(g, "result", "superseded");
			jgen_kint(g, "exit", ORCH_EXIT_ATTENTION);
			if (orch_ev_end(g, &line, &len, &e) == 0)
				orch_journal_write(&j, line, len, true, &e);
			jgen_free(g);
		}
		orch_journal_close(&j);
	}
	orch_rollout_free(&o);
}

int orch_rollout_start(const struct orch_new *a, const struct orch_ui *ui, volatile sig_atomic_t *stop,
		       struct err *e)
{
	struct orch_rollout r = {0};
	struct orch_resolved img = {0};
	struct orch_lock lock = {.fd = -1};
	struct orch_journal j = {.fd = -1};
	struct eng g = {0};
	_cleanup_free_ char *dir = NULL, *path = NULL;
	char newid[ORCH_ID_MAX + 1];
	int rc = -1;

	if (!orch_app_name_valid(a->app))
		return err_set(e, "app \"%.80s\": 1 to 63 of a-z, 0-9, '_', '.', '-', starting with a letter or digit",
			       a->app);
	if (orch_state_dir(a->state_dir, &dir, e) < 0 || orch_resolve_image(a->image_ref, a->reg, !a->o.allow_untested, &img, e) < 0 ||
	    orch_rollout_plan(a, &r, e) < 0)
		goto out;
	if (!(r.image = strdup(img.pinned)) || !(r.digest = strdup(img.digest.s))) {
		err_errno(e, ENOMEM, "rollout");
		goto out;
	}
	if (orch_lock_open(dir, r.app, r.fleet, &lock, e) < 0)
		goto out;
	bool open = lock.holder[0] && unfinished(dir, lock.holder);
	if (!a->takeover && !lock.held) {
		err_set(e, "a rollout of %s on %s is running%s%s; it must finish first (or --takeover supersedes it)",
			r.app, r.fleet, open ? ": " : "", open ? lock.holder : "");
		goto out;
	}
	if (!a->takeover && open) {
		err_set(e, "rollout %s of %s on %s is unfinished: 'ramp rollout --resume %s' continues it, "
			   "'ramp rollout --abort %s' reverts it, --takeover supersedes it",
			lock.holder, r.app, r.fleet, lock.holder, lock.holder);
		goto out;
	}
	if (orch_new_id(r.app, newid, sizeof newid, e) < 0 || !(r.id = strdup(newid)) ||
	    (open && !(r.takeover = strdup(lock.holder)))) {
		if (!r.id)
			err_errno(e, ENOMEM, "rollout");
		goto out;
	}
	if (eng_init(&g, M_ROLLOUT, &r, NULL, ui, stop, e) < 0)
		goto out;
	g.img = &img;
	char t[40];
	clk_rfc3339(clk_wall_ms(), true, t, sizeof t);
	if (!(r.started = strdup(t)) || !(path = orch_journal_path(dir, r.id, e)) ||
	    orch_lock_set(&lock, r.id, e) < 0 || emit_start(&g, path, &j, e) < 0) {
		if (!r.started)
			err_errno(e, ENOMEM, "rollout");
		orch_lock_clear(&lock, r.id);
		goto out;
	}
	if (open && lock.held)
		close_superseded(dir, r.takeover, r.id);
	rc = run_engine(&g, false, false);
	if (r.ended)
		orch_lock_clear(&lock, r.id);
out:
	eng_free(&g);
	orch_journal_close(&j);
	orch_lock_close(&lock);
	orch_resolved_free(&img);
	orch_rollout_free(&r);
	return rc;
}

int orch_rollout_resume(const char *state_dir, const char *id, bool abort, const struct img_registry_opts *reg,
			const struct orch_ui *ui, volatile sig_atomic_t *stop, struct err *e)
{
	struct orch_rollout r = {0};
	struct orch_resolved img = {0};
	struct orch_lock lock = {.fd = -1};
	struct orch_journal j = {.fd = -1};
	struct eng g = {0};
	_cleanup_free_ char *dir = NULL, *path = NULL;
	int rc = -1;

	if (orch_state_dir(state_dir, &dir, e) < 0 || !(path = orch_journal_path(dir, id, e)))
		return -1;
	if (!fs_exists(path))
		return err_set(e, "no rollout %s in %s", id, dir);
	if (orch_journal_load(path, &r, e) < 0)
		return -1;
	if (r.torn)
		log_warn("journal %s: its last line was cut short (the orchestrator died while writing it); ignored",
			 path);
	if (r.ended) {
		err_set(e, "rollout %s has already ended: %s", id, r.result);
		goto out;
	}
	if (orch_lock_open(dir, r.app, r.fleet, &lock, e) < 0)
		goto out;
	if (!lock.held) {
		err_set(e, "a rollout of %s on %s is running in another process (%s)", r.app, r.fleet,
			lock.holder[0] ? lock.holder : "unknown");
		goto out;
	}
	if (!lock.holder[0] && orch_lock_set(&lock, id, e) < 0)
		goto out;
	/* a precheck that never finished is done again, test records included */
	if (!abort && !r.prechecked && !r.o.allow_untested && orch_resolve_image(r.image, reg, true, &img, e) < 0)
		goto out;
	if (eng_init(&g, abort ? M_ABORT : M_ROLLOUT, &r, NULL, ui, stop, e) < 0 ||
	    orch_journal_reopen(path, r.valid_len, &j, e) < 0)
		goto out;
	g.j = &j;
	if (img.pinned)
		g.img = &img;
	struct jgen *jg = orch_ev_begin(abort ? "abort" : "resume", r.id);
	if (jg) {
		jgen_kint(jg, "pid", getpid());
		emit(&g, jg, true, ORCH_LVL_MAIN, "%s rollout %s: %s %s, %zu of %zu waves passed%s", abort ? "abort" : "resume",
		     r.id, r.app, r.image, r.waves_passed, r.n_waves, r.reverting ? ", revert in progress" : "");
	}
	if (abort && !r.prechecked) {
		finish(&g, "aborted", ORCH_EXIT_DONE, "aborted: nothing had been deployed");
		rc = g.exit_code;
	} else {
		rc = run_engine(&g, !abort, abort);
	}
	if (r.ended)
		orch_lock_clear(&lock, r.id);
out:
	eng_free(&g);
	orch_journal_close(&j);
	orch_lock_close(&lock);
	orch_resolved_free(&img);
	orch_rollout_free(&r);
	return rc;
}

int orch_fleet_revert(const struct orch_fleet *f, const char *app, const char *to, const struct orch_opts *o,
		      const struct orch_ui *ui, volatile sig_atomic_t *stop, struct orch_rollout *r, struct err *e)
{
	struct eng g = {0};
	char id[ORCH_ID_MAX + 1];
	int rc = -1;
	*r = (struct orch_rollout){0};
	if (!orch_app_name_valid(app))
		return err_set(e, "app \"%.80s\": not a valid app name", app);
	if (!(r->hosts.hosts = calloc(f->n, sizeof *r->hosts.hosts)) || !(r->ends = calloc(1, sizeof *r->ends)) ||
	    !(r->app = strdup(app)) || orch_new_id(app, id, sizeof id, e) < 0 || !(r->id = strdup(id)) ||
	    !(r->image = strdup("")) || !(r->digest = strdup("")))
		goto nomem;
	for (size_t i = 0; i < f->n; i++) {
		if (orch_host_copy(&r->hosts.hosts[i], &f->hosts[i], e) < 0)
			goto fail;
		r->hosts.n = i + 1;
	}
	r->ends[0] = f->n;
	r->n_waves = 1;
	if (orch_opts_copy(&r->o, o, e) < 0 || orch_rollout_alloc_hosts(r, e) < 0 ||
	    eng_init(&g, M_FLEET_REVERT, r, NULL, ui, stop, e) < 0)
		goto fail;
	g.revert_to = to;
	g.phase = PH_PRECHECK;
	drive(&g);
	rc = g.exit_code;
	if (g.interrupted || g.fatal)
		rc = ORCH_EXIT_ATTENTION;
	eng_free(&g);
	return rc;
nomem:
	err_errno(e, ENOMEM, "revert");
fail:
	eng_free(&g);
	return -1;
}
