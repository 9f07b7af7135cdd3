/* html_events.c: the rollout report's model from the rollout's events, and
 * the live report of `ramp rollout --html` (see html.h). The only part of the
 * report that knows the event lines (docs/ROLLOUT.md "Events"). */
#include "orchestrator/html.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/clock.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/log.h"
#include "orchestrator/exec.h"
#include "orchestrator/journal.h"
#include "orchestrator/state.h"

/* "2026-11-26T10:15:04.123Z" → ms since the epoch; -1 when malformed */
static int64_t parse_time(const char *s)
{
	struct tm tm = {0};
	int ms = 0, used = 0;
	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
			 &tm.tm_min, &tm.tm_sec, &ms, &used) != 7 || s[used])
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	time_t t = timegm(&tm);
	return t < 0 ? -1 : (int64_t)t * 1000 + ms;
}

static int add_change(struct orch_html_host *h, int64_t t, uint8_t state)
{
	if (h->n_changes && h->changes[h->n_changes - 1].state == state)
		return 0;
	struct orch_html_change *v = realloc(h->changes, (h->n_changes + 1) * sizeof *v);
	if (!v)
		return -1;
	h->changes = v;
	v[h->n_changes++] = (struct orch_html_change){t, state};
	return 0;
}

struct fill {
	struct orch_html *m;
	const struct orch_rollout *r;
	size_t *healthy;  /* per wave: hosts that became healthy */
	bool *was_healthy;
	struct orch_html_host **byname; /* sorted by name */
};

static int cmp_host(const void *a, const void *b)
{
	return strcmp((*(struct orch_html_host *const *)a)->name, (*(struct orch_html_host *const *)b)->name);
}

static size_t host_idx(const struct fill *p, const char *name)
{
	struct orch_html_host key = {.name = (char *)name}, *k = &key, **hit;
	if (!name || !(hit = bsearch(&k, p->byname, p->m->n_hosts, sizeof *p->byname, cmp_host)))
		return (size_t)-1;
	return (size_t)(*hit - p->m->hosts);
}

static size_t wave_of(const struct json *j, const struct orch_html *m)
{
	const struct json *w = json_get(j, "wave");
	return w && w->type == JSON_INT && w->i >= 1 && (uint64_t)w->i <= m->n_waves ? (size_t)w->i - 1 : (size_t)-1;
}

static int on_host(struct fill *p, const struct json *j, int64_t t)
{
	size_t i = host_idx(p, json_get_str(j, "host"));
	int s = orch_hs_parse(json_get_str(j, "state"));
	if (i == (size_t)-1 || s < 0)
		return 0; /* the replay has checked the lines: cannot happen */
	struct orch_html_host *h = &p->m->hosts[i];
	if (add_change(h, t, (uint8_t)s) < 0)
		return -1;
	struct orch_html_wave *w = &p->m->waves[h->wave];
	if ((s == ORCH_HS_HEALTHY || s == ORCH_HS_BAKED) && !p->was_healthy[i]) {
		p->was_healthy[i] = true;
		if (++p->healthy[h->wave] == w->n && w->healthy < 0)
			w->healthy = t;
	}
	return 0;
}

static double num_of(const struct json *v)
{
	return !v ? NAN : v->type == JSON_INT ? (double)v->i : v->type == JSON_REAL ? v->d : NAN;
}

static double num(const struct json *j, const char *key)
{
	return num_of(json_get(j, key));
}

/* A metric's chart of wave w, added when new. */
static struct orch_html_metric *metric_of(struct orch_html *m, size_t w, const char *name)
{
	for (size_t k = 0; k < m->n_metrics; k++)
		if (m->metrics[k].wave == w && !strcmp(m->metrics[k].name, name))
			return &m->metrics[k];
	struct orch_html_metric *v = realloc(m->metrics, (m->n_metrics + 1) * sizeof *v);
	if (!v)
		return NULL;
	m->metrics = v;
	v = &m->metrics[m->n_metrics];
	*v = (struct orch_html_metric){.wave = w, .decided = -1};
	if (!(v->name = strdup(name)))
		return NULL;
	m->n_metrics++;
	return v;
}

static int set_str(char **dst, const char *s)
{
	free(*dst);
	*dst = s ? strdup(s) : NULL;
	return s && !*dst ? -1 : 0;
}

/* A series event: the metric's judgements in the wave ([ms, converted,
 * baseline, allowed], checked by the replay). */
static int on_series(struct orch_html *m, const struct json *j, size_t w, struct err *e)
{
	const struct json *pts = json_get(j, "points");
	const char *name = json_get_str(j, "metric");
	struct orch_html_metric *hm;
	if (!name || w == (size_t)-1 || !pts || pts->type != JSON_ARRAY)
		return 0; /* the replay has checked the lines: cannot happen */
	if (!(hm = metric_of(m, w, name)))
		return err_errno(e, ENOMEM, "report");
	struct orch_html_point *p = calloc(pts->arr.n ? pts->arr.n : 1, sizeof *p);
	if (!p)
		return err_errno(e, ENOMEM, "report");
	for (size_t k = 0; k < pts->arr.n; k++) {
		const struct json *x = pts->arr.v[k];
		p[k] = (struct orch_html_point){x->arr.v[0]->i, num_of(x->arr.v[1]), num_of(x->arr.v[2]),
						num_of(x->arr.v[3])};
	}
	free(hm->p);
	hm->p = p;
	hm->n = pts->arr.n;
	return 0;
}

/* An analysis event: per metric its decision in the wave (and, from a
 * journal without series, its deciding judgement as the one point). */
static int on_analysis(struct orch_html *m, const struct json *j, size_t w, int64_t t, struct err *e)
{
	const struct json *ms = json_get(j, "metrics"), *at = json_get(j, "ms");
	const char *verdict = json_get_str(j, "verdict");
	int64_t when = at && at->type == JSON_INT ? at->i : -1;
	char what[64], text[1200] = "";
	for (size_t k = 0; w != (size_t)-1 && ms && ms->type == JSON_ARRAY && k < ms->arr.n; k++) {
		const struct json *x = ms->arr.v[k];
		const char *name = json_get_str(x, "name"), *mv = json_get_str(x, "verdict"), *ex = json_get_str(x, "explain"),
			   *kind = json_get_str(x, "kind");
		struct orch_html_metric *hm;
		if (!name || !(hm = metric_of(m, w, name)) || set_str(&hm->decision, mv) < 0 ||
		    set_str(&hm->wave_verdict, verdict) < 0)
			return err_errno(e, ENOMEM, "report");
		size_t l = strlen(text);
		snprintf(text + l, sizeof text - l, "%s%s", l ? "; " : "", ex ? ex : name);
		hm->share = kind && (!strcmp(kind, "ratio") || !strcmp(kind, "latency"));
		hm->decided = when;
		if (hm->n || when < 0)
			continue;
		if (!(hm->p = calloc(1, sizeof *hm->p)))
			return err_errno(e, ENOMEM, "report");
		hm->p[0] = (struct orch_html_point){when, num(x, "converted"), num(x, "baseline"), num(x, "allowed")};
		hm->n = 1;
	}
	snprintf(what, sizeof what, "analysis of wave %zu: %s", w + 1, verdict ? verdict : "?");
	return orch_html_decide(m, t, verdict && !strcmp(verdict, "pass"), what, text, e);
}

/* The test records a passed precheck read, in words: "a passing test record
 * for every platform of the fleet: linux/amd64 passed, signed (record
 * sha256:...)", or NULL with e set. */
static char *records_text(const struct json *recs, bool trust, struct err *e)
{
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);
	if (!f)
		return err_errno(e, errno, "report"), NULL;
	fprintf(f, "a passing test record for every platform of the fleet%s", trust ? ", accepted by the trust policy" : "");
	size_t n = recs && recs->type == JSON_ARRAY ? recs->arr.n : 0;
	for (size_t i = 0; i < n; i++) {
		const struct json *r = recs->arr.v[i], *sg = json_get(r, "signed");
		const char *pl = json_get_str(r, "platform"), *res = json_get_str(r, "result"),
			   *art = json_get_str(r, "artifact");
		fprintf(f, "%s%s %s%s (record %s)", i ? "; " : ": ", pl ? pl : "?", res ? res : "?",
			sg && sg->type == JSON_BOOL && sg->b ? ", signed" : "", art ? art : "?");
	}
	if (fclose(f) != 0) {
		free(s);
		return err_errno(e, ENOMEM, "report"), NULL;
	}
	return s;
}

static int on_event(struct fill *p, const char *ev, const struct json *j, int64_t t, struct err *e)
{
	struct orch_html *m = p->m;
	size_t w = wave_of(j, m);
	const char *cmd = json_get_str(j, "command"), *why = json_get_str(j, "reason");
	const struct json *ok = json_get(j, "ok");
	bool yes = ok && ok->type == JSON_BOOL && ok->b;
	char what[64], text[1200];
	if (!strcmp(ev, "start")) {
		m->started = t;
		if ((p->r->started_by && !(m->started_by = strdup(p->r->started_by))) ||
		    (p->r->ci_url && !(m->ci_url = strdup(p->r->ci_url))))
			return err_errno(e, ENOMEM, "report");
		if (p->r->o.allow_untested &&
		    (!(m->records = strdup("not required (--allow-untested)")) ||
		     orch_html_decide(m, t, true, "override", "no passing test record required (--allow-untested)", e) < 0))
			return err_errno(e, ENOMEM, "report");
		if (p->r->takeover) {
			snprintf(text, sizeof text, "takes over the unfinished rollout %s (--takeover)", p->r->takeover);
			return orch_html_decide(m, t, true, "override", text, e);
		}
		return 0;
	}
	if (!strcmp(ev, "gate"))
		return orch_html_decide(m, t, yes, "gate", cmd ? cmd : "", e);
	if (!strcmp(ev, "override")) {
		const char *by = json_get_str(j, "by"), *lifted = json_get_str(j, "lifted");
		snprintf(text, sizeof text, "--override by %.100s (%.400s) lifts: %.600s", by ? by : "?", why ? why : "",
			 lifted ? lifted : "");
		return orch_html_decide(m, t, true, "override", text, e);
	}
	if (!strcmp(ev, "check")) {
		snprintf(what, sizeof what, "check after wave %zu", w + 1);
		return orch_html_decide(m, t, yes, what, cmd ? cmd : "", e);
	}
	if (!strcmp(ev, "precheck")) {
		const struct json *probs = json_get(j, "problems");
		size_t n = probs && probs->type == JSON_ARRAY ? probs->arr.n : 0;
		if (yes && !p->r->o.allow_untested) {
			free(m->records);
			if (!(m->records = records_text(json_get(j, "records"), p->r->o.trust_file != NULL, e)))
				return -1;
		}
		if (yes)
			snprintf(text, sizeof text, "every host ready; generation %lld",
				 (long long)p->r->generation);
		else
			snprintf(text, sizeof text, "%zu problem%s: %s", n, n == 1 ? "" : "s",
				 n ? json_get_str(probs->arr.v[0], "reason") ? json_get_str(probs->arr.v[0], "reason") : ""
				   : "");
		return orch_html_decide(m, t, yes, "precheck", text, e);
	}
	if (!strcmp(ev, "wave") && w != (size_t)-1) {
		m->waves[w].started = t;
		for (size_t i = m->waves[w].first; i < m->waves[w].first + m->waves[w].n; i++)
			if (m->hosts[i].state != ORCH_HS_SKIPPED && add_change(&m->hosts[i], t, ORCH_HS_DEPLOYING) < 0)
				return err_errno(e, ENOMEM, "report");
		return 0;
	}
	if (!strcmp(ev, "host"))
		return on_host(p, j, t) < 0 ? err_errno(e, ENOMEM, "report") : 0;
	if (!strcmp(ev, "wave_passed") && w != (size_t)-1) {
		m->waves[w].decided = t;
		snprintf(m->waves[w].verdict, sizeof m->waves[w].verdict, "passed");
		return 0;
	}
	if (!strcmp(ev, "failure")) {
		const char *host = json_get_str(j, "host");
		if (w != (size_t)-1 && m->waves[w].decided < 0) {
			m->waves[w].decided = t;
			snprintf(m->waves[w].verdict, sizeof m->waves[w].verdict, "failed");
		}
		snprintf(what, sizeof what, "failure in wave %zu", w + 1);
		snprintf(text, sizeof text, "%s%s%s", host ? host : "", host ? ": " : "", why ? why : "");
		return orch_html_decide(m, t, false, what, text, e);
	}
	if (!strcmp(ev, "revert")) {
		const struct json *hosts = json_get(j, "hosts");
		size_t n = hosts && hosts->type == JSON_ARRAY ? hosts->arr.n : 0;
		for (size_t k = 0; k < n; k++) {
			size_t i = host_idx(p, hosts->arr.v[k]->type == JSON_STRING ? hosts->arr.v[k]->str.s : NULL);
			if (i != (size_t)-1 && add_change(&m->hosts[i], t, ORCH_HS_REVERTING) < 0)
				return err_errno(e, ENOMEM, "report");
		}
		snprintf(text, sizeof text, "%zu host%s: %s", n, n == 1 ? "" : "s", why ? why : "");
		return orch_html_decide(m, t, false, "revert", text, e);
	}
	if (!strcmp(ev, "end")) {
		m->ended = t;
		return 0;
	}
	if (!strcmp(ev, "analysis"))
		return on_analysis(m, j, w, t, e);
	if (!strcmp(ev, "series"))
		return on_series(m, j, w, e);
	if (!strcmp(ev, "policy")) {
		/* a freeze or blocker: clear, in force, or lifted by --override */
		const char *check = json_get_str(j, "check"), *name = json_get_str(j, "name"),
			   *until = json_get_str(j, "until"), *by = json_get_str(j, "overriddenBy");
		snprintf(what, sizeof what, "%.20s %.40s", check ? check : "policy", name ? name : "");
		if (yes)
			snprintf(text, sizeof text, "clear");
		else
			snprintf(text, sizeof text, "%.400s%s%.40s%s%.100s", why ? why : "in force", until ? " until " : "",
				 until ? until : "", by ? "; lifted by --override of " : "", by ? by : "");
		if (orch_html_decide(m, t, yes || by, what, text, e) < 0)
			return -1;
		m->decisions[m->n_decisions - 1].lifted = !yes && by;
		return 0;
	}
	/* paused, interrupted, resume, abort, superseded */
	snprintf(text, sizeof text, "%s", why ? why : "");
	return orch_html_decide(m, t, !strcmp(ev, "resume"), ev, text, e);
}

static int fill_model(struct orch_html *m, const struct orch_rollout *r, struct err *e)
{
	if (!(m->id = strdup(r->id)) || !(m->app = strdup(r->app)) || !(m->image = strdup(r->image)) ||
	    !(m->digest = strdup(r->digest)) || !(m->fleet = strdup(r->fleet)) ||
	    (r->failure && !(m->failure = strdup(r->failure))) ||
	    !(m->waves = calloc(r->n_waves, sizeof *m->waves)) || !(m->hosts = calloc(r->hosts.n, sizeof *m->hosts)))
		return err_errno(e, ENOMEM, "report");
	snprintf(m->status, sizeof m->status, "%s", r->ended ? r->result : r->paused ? "paused" : "running");
	m->n_waves = r->n_waves;
	for (size_t w = 0; w < r->n_waves; w++) {
		size_t from = w ? r->ends[w - 1] : 0;
		m->waves[w] = (struct orch_html_wave){.first = from, .n = r->ends[w] - from, .started = -1,
						      .healthy = -1, .decided = -1};
	}
	for (size_t i = 0; i < r->hosts.n; i++) {
		struct orch_html_host *h = &m->hosts[i];
		m->n_hosts = i + 1;
		h->wave = orch_rollout_wave_of(r, i);
		h->state = r->state[i];
		if (!(h->name = strdup(r->hosts.hosts[i].name)) || (r->reason[i] && !(h->reason = strdup(r->reason[i]))))
			return err_errno(e, ENOMEM, "report");
	}
	return 0;
}

int orch_html_from_events(const char *buf, size_t len, struct orch_html *m, struct err *e)
{
	struct orch_rollout r;
	*m = (struct orch_html){.started = -1, .ended = -1};
	if (orch_journal_replay(buf, len, "events", &r, e) < 0)
		return -1;
	struct fill p = {.m = m, .r = &r};
	int rc = -1;
	if (fill_model(m, &r, e) < 0)
		goto out;
	if (!(p.healthy = calloc(r.n_waves, sizeof *p.healthy)) || !(p.was_healthy = calloc(r.hosts.n, 1)) ||
	    !(p.byname = calloc(r.hosts.n, sizeof *p.byname))) {
		err_errno(e, ENOMEM, "report");
		goto out;
	}
	for (size_t i = 0; i < m->n_hosts; i++)
		p.byname[i] = &m->hosts[i];
	qsort(p.byname, m->n_hosts, sizeof *p.byname, cmp_host);
	for (size_t off = 0; off < r.valid_len;) {
		const char *nl = memchr(buf + off, '\n', r.valid_len - off);
		size_t n = (size_t)(nl - (buf + off));
		struct json *j = json_parse(buf + off, n, e);
		off += n + 1;
		if (!j)
			goto out;
		int64_t t = parse_time(json_get_str(j, "time"));
		int bad = on_event(&p, json_get_str(j, "event"), j, t, e);
		json_free(j);
		if (bad < 0)
			goto out;
	}
	for (size_t w = 0; w < m->n_waves; w++)
		if (!m->waves[w].verdict[0])
			snprintf(m->waves[w].verdict, sizeof m->waves[w].verdict, "%s",
				 m->waves[w].started < 0 ? "not started" : r.ended ? "stopped" : "running");
	rc = 0;
out:
	free(p.healthy);
	free(p.was_healthy);
	free(p.byname);
	orch_rollout_free(&r);
	if (rc < 0)
		orch_html_free(m);
	return rc;
}

/* ---- live ---- */

static int render_model(FILE *f, const void *ctx)
{
	return orch_html_rollout(f, ctx);
}

static void live_write(struct orch_html_live *l)
{
	struct orch_html m;
	struct err e;
	int64_t t0 = clk_mono_ms();
	if (orch_html_from_events(l->buf, l->len, &m, &e) < 0 || (orch_html_write(l->path, render_model, &m, &e) < 0)) {
		if (!l->failed)
			log_warn("--html %s: %s", l->path, e.msg);
		l->failed = true;
		orch_html_free(&m);
		return;
	}
	orch_html_free(&m);
	l->written_ms = clk_mono_ms();
	l->cost_ms = l->written_ms - t0;
	l->dirty = false;
}

static int live_append(struct orch_html_live *l, const char *s, size_t n)
{
	if (buf_grow(&l->buf, &l->cap, l->len + n + 1, 65536, SIZE_MAX) < 0)
		return -1;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
	return 0;
}

/* a resumed rollout: what happened before is in its journal (with this
 * event already, when it was written at once: 1) */
static int live_history(struct orch_html_live *l, const char *json, size_t len)
{
	struct err e;
	_cleanup_free_ char *dir = NULL, *path = NULL, *old = NULL;
	size_t n;
	struct json *j = json_parse(json, len, &e);
	const char *id = json_get_str(j, "rollout");
	int rc = -1;
	if (id && orch_state_dir(l->state_dir, &dir, &e) == 0 && (path = orch_journal_path(dir, id, &e)) &&
	    fs_read_file(path, ORCH_JOURNAL_MAX_BYTES, &old, &n, &e) == 0 && live_append(l, old, n) == 0)
		rc = n > len && !memcmp(old + n - len - 1, json, len) && old[n - 1] == '\n';
	json_free(j);
	return rc;
}

static void live_event(void *ctx, const struct orch_event *ev, const char *json, size_t len, enum orch_level lvl,
		       const char *human)
{
	struct orch_html_live *l = ctx;
	if (l->inner.event)
		l->inner.event(l->inner.ctx, ev, json, len, lvl, human);
	int had = 0;
	if (l->len == 0 && !strstr(json, "\"event\":\"start\"") && (had = live_history(l, json, len)) < 0) {
		l->len = 0;
		return;
	}
	if (!had && (live_append(l, json, len) < 0 || live_append(l, "\n", 1) < 0)) {
		l->failed = true;
		return;
	}
	l->dirty = true;
	/* per-host events: the page is redrawn from all events, so not more
	 * often than every ORCH_HTML_LIVE_MS nor 10 times its own cost */
	int64_t gap = l->cost_ms * 10 > ORCH_HTML_LIVE_MS ? l->cost_ms * 10 : ORCH_HTML_LIVE_MS;
	if (lvl != ORCH_LVL_DETAIL || clk_mono_ms() - l->written_ms >= gap)
		live_write(l);
}

static void live_progress(void *ctx, const struct orch_progress *pr)
{
	struct orch_html_live *l = ctx;
	if (l->inner.progress)
		l->inner.progress(l->inner.ctx, pr);
}

void orch_html_live(struct orch_html_live *l, const char *path, const char *state_dir, struct orch_ui *ui)
{
	*l = (struct orch_html_live){.path = path, .state_dir = state_dir, .inner = *ui};
	*ui = (struct orch_ui){.ctx = l, .event = live_event, .progress = live_progress};
}

void orch_html_live_free(struct orch_html_live *l)
{
	/* per-host events not yet drawn */
	if (l->dirty)
		live_write(l);
	free(l->buf);
	l->buf = NULL;
}
