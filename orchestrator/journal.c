/* journal.c: rollout events, the journal file and its replay (see journal.h). */
#include "orchestrator/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/digest.h"
#include "image/reference.h"
#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/clock.h"
#include "lib/fs.h"
#include "orchestrator/hostapi.h"
#include "orchestrator/state.h"

/* ---- the file ---- */

int orch_journal_create(const char *path, const char *first, size_t len, struct orch_journal *j, struct err *e)
{
	const char *base;
	_cleanup_free_ char *tmp = NULL;
	*j = (struct orch_journal){.fd = -1};
	_cleanup_close_ int dfd = orch_state_dir_of(path, &base, e);
	if (dfd < 0 || (j->fd = fs_tmpfile_at(dfd, path, base, 0644, &tmp, e)) < 0)
		return err_ctx(e, "create journal \"%s\"", path);
	if (!(j->path = strdup(path))) {
		err_errno(e, ENOMEM, "journal");
		goto fail;
	}
	if (orch_journal_write(j, first, len, true, e) < 0)
		goto fail;
	if (renameat2(dfd, tmp, dfd, base, RENAME_NOREPLACE) < 0) {
		err_sys(e, "create journal \"%s\"", path);
		goto fail;
	}
	/* the name must survive a crash too */
	if (fsync(dfd) < 0) {
		err_sys(e, "fsync the directory of \"%s\"", path);
		orch_journal_close(j);
		return -1;
	}
	return 0;
fail:
	unlinkat(dfd, tmp, 0);
	close(j->fd);
	free(j->path);
	free(j->buf);
	*j = (struct orch_journal){.fd = -1};
	return -1;
}

int orch_journal_reopen(const char *path, size_t valid_len, struct orch_journal *j, struct err *e)
{
	*j = (struct orch_journal){.fd = -1};
	j->fd = orch_state_open(path, O_WRONLY | O_APPEND, 0, e);
	if (j->fd < 0)
		return err_ctx(e, "open journal");
	struct stat st;
	if (fstat(j->fd, &st) < 0) {
		err_sys(e, "stat \"%s\"", path);
		goto fail;
	}
	if ((size_t)st.st_size > valid_len && (ftruncate(j->fd, (off_t)valid_len) < 0 || fsync(j->fd) < 0)) {
		err_sys(e, "cut the torn last line of \"%s\"", path);
		goto fail;
	}
	if (!(j->path = strdup(path))) {
		err_errno(e, ENOMEM, "journal");
		goto fail;
	}
	j->synced_ms = clk_mono_ms();
	return 0;
fail:
	close(j->fd);
	j->fd = -1;
	return -1;
}

int orch_journal_sync(struct orch_journal *j, struct err *e)
{
	if (!j->dirty)
		return 0;
	if (j->len && fs_write_all(j->fd, j->buf, j->len, j->path, e) < 0)
		return -1;
	j->len = 0;
	if (fdatasync(j->fd) < 0)
		return err_sys(e, "fsync journal \"%s\"", j->path);
	j->dirty = false;
	j->synced_ms = clk_mono_ms();
	return 0;
}

int orch_journal_write(struct orch_journal *j, const char *line, size_t len, bool sync, struct err *e)
{
	if (buf_grow(&j->buf, &j->cap, j->len + len + 1, 65536, SIZE_MAX) < 0)
		return err_errno(e, ENOMEM, "journal");
	memcpy(j->buf + j->len, line, len);
	j->buf[j->len + len] = '\n';
	j->len += len + 1;
	j->dirty = true;
	if (sync || clk_mono_ms() - j->synced_ms >= ORCH_JOURNAL_LAG_MS)
		return orch_journal_sync(j, e);
	return 0;
}

int orch_journal_tick(struct orch_journal *j, struct err *e)
{
	if (!j->dirty || clk_mono_ms() - j->synced_ms < ORCH_JOURNAL_LAG_MS)
		return 0;
	return orch_journal_sync(j, e);
}

int orch_journal_event(struct orch_journal *j, struct orch_event *ev, bool sync, struct err *e)
{
	char t[CLK_RFC3339_MAX];
	const char *line;
	size_t len;
	struct jgen *g = jgen_new(false);
	int rc = -1;
	clk_rfc3339(clk_wall_ms(), true, t, sizeof t);
	ev->time = t;
	if (!g)
		rc = err_errno(e, ENOMEM, "journal");
	else if (orch_event_write(g, ev, e) == 0 && jgen_result(g, &line, &len, e) == 0)
		rc = orch_journal_write(j, line, len, sync, e);
	jgen_free(g);
	return rc;
}

void orch_journal_close(struct orch_journal *j)
{
	if (j->fd >= 0) {
		struct err e;
		if (orch_journal_sync(j, &e) < 0)
			fprintf(stderr, "ramp: %s\n", e.msg);
		close(j->fd);
	}
	free(j->path);
	free(j->buf);
	*j = (struct orch_journal){.fd = -1};
}

/* ---- the start event and its replay ---- */

int orch_start_event(const struct orch_rollout *r, struct orch_event *ev, struct err *e)
{
	const struct orch_opts *o = &r->o;
	struct orch_ev_start *x = &ev->u.start;
	*ev = (struct orch_event){.kind = ORCH_EV_START, .rollout = r->id};
	*x = (struct orch_ev_start){.app = r->app, .image = r->image, .digest = r->digest, .fleet = r->fleet,
				    .takeover = r->takeover, .started_by = r->started_by, .ci_url = r->ci_url,
				    .n_waves = r->n_waves, .n_hosts = r->hosts.n};
	x->options = (struct orch_ev_options){
		.bake_ms = o->bake_ms,
		.deadline_ms = o->deadline_ms,
		.final_bake_ms = o->final_bake_ms,
		.poll_ms = o->poll_ms,
		.timeout_ms = o->timeout_ms,
		.unreachable_ms = o->unreachable_ms,
		.revert_deadline_ms = o->revert_deadline_ms,
		.max_unhealthy = (int64_t)o->max_unhealthy,
		.max_unreachable = (int64_t)o->max_unreachable,
		.max_parallel = (int64_t)o->max_parallel,
		.on_failure = o->on_failure == ORCH_ON_FAILURE_PAUSE ? "pause" : "revert",
		.gates = {(const char **)o->gates.v, o->gates.n},
		.checks = {(const char **)o->checks.v, o->checks.n},
		.probes = {(const char **)o->probes.v, o->probes.n},
		.token_file = o->token_file,
		.cacert = o->cacert,
		.allow_untested = o->allow_untested,
		.trust_file = o->trust_file,
		.override_reason = o->override_reason,
		.override_by = o->override_by,
		.sign_key = o->sign_key,
		.policy_file = o->policy_file,
		.analysis = o->analysis,
		.metrics_source = o->metrics_source,
		.has_bake_max = o->analysis != NULL,
		.bake_max_ms = o->bake_max_ms,
		.on_inconclusive = o->analysis ? orch_inconclusive_name(o->on_inconclusive) : NULL,
		.has_analysis_seed = o->analysis && o->analysis_seed > 0,
		.analysis_seed = o->analysis_seed,
	};
	if (!(x->waves = orch_event_alloc(ev, r->n_waves, sizeof *x->waves, e)) ||
	    !(x->hosts = orch_event_alloc(ev, r->hosts.n, sizeof *x->hosts, e)))
		return -1;
	for (size_t w = 0; w < r->n_waves; w++)
		x->waves[w] = (int64_t)(r->ends[w] - (w ? r->ends[w - 1] : 0));
	for (size_t i = 0; i < r->hosts.n; i++) {
		const struct orch_host *h = &r->hosts.hosts[i];
		struct orch_ev_hostdef *d = &x->hosts[i];
		*d = (struct orch_ev_hostdef){.name = h->name, .address = h->address,
					      .wave = (int64_t)orch_rollout_wave_of(r, i) + 1, .n_labels = h->n_labels};
		if (!(d->labels = orch_event_alloc(ev, h->n_labels, sizeof *d->labels, e)))
			return -1;
		for (size_t k = 0; k < h->n_labels; k++)
			d->labels[k] = (struct orch_ev_label){h->labels[k].key, h->labels[k].value};
	}
	return 0;
}

struct byname {
	const char *name;
	size_t idx;
};

struct replay {
	struct orch_rollout *r;
	struct byname *byname;
	bool started;
};

static int cmp_byname(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int host_index(struct replay *p, const char *name, size_t *idx, struct err *e)
{
	const char *key = name;
	void *hit = bsearch(&key, p->byname, p->r->hosts.n, sizeof *p->byname, cmp_byname);
	if (!hit)
		return err_set(e, "unknown host \"%.64s\"", name);
	*idx = ((struct byname *)hit)->idx;
	return 0;
}

static int dup_str(const char *s, char **out, struct err *e)
{
	if (s && !(*out = strdup(s)))
		return err_errno(e, ENOMEM, "journal");
	return 0;
}

static int replay_options(const struct orch_ev_options *x, struct orch_opts *o, struct err *e)
{
	struct strv *lists[] = {&o->gates, &o->checks, &o->probes};
	const struct orch_strs *from[] = {&x->gates, &x->checks, &x->probes};
	*o = (struct orch_opts){
		.bake_ms = x->bake_ms,
		.deadline_ms = x->deadline_ms,
		.final_bake_ms = x->final_bake_ms,
		.poll_ms = x->poll_ms,
		.timeout_ms = x->timeout_ms,
		.unreachable_ms = x->unreachable_ms,
		.revert_deadline_ms = x->revert_deadline_ms,
		.max_unhealthy = (size_t)x->max_unhealthy,
		.max_unreachable = (size_t)x->max_unreachable,
		.max_parallel = (size_t)x->max_parallel,
		.allow_untested = x->allow_untested,
		.bake_max_ms = x->bake_max_ms,
		.analysis_seed = x->analysis_seed,
	};
	for (size_t k = 0; k < ARRAY_SIZE(lists); k++)
		for (size_t i = 0; i < from[k]->n; i++)
			if (strv_push(lists[k], from[k]->v[i], e) < 0)
				return -1;
	if (dup_str(x->token_file, &o->token_file, e) < 0 || dup_str(x->cacert, &o->cacert, e) < 0 ||
	    dup_str(x->trust_file, &o->trust_file, e) < 0 || dup_str(x->override_reason, &o->override_reason, e) < 0 ||
	    dup_str(x->override_by, &o->override_by, e) < 0 || dup_str(x->sign_key, &o->sign_key, e) < 0 ||
	    dup_str(x->policy_file, &o->policy_file, e) < 0 ||
	    dup_str(x->analysis, &o->analysis, e) < 0 || dup_str(x->metrics_source, &o->metrics_source, e) < 0)
		return -1;
	if (x->on_inconclusive && orch_inconclusive_parse(x->on_inconclusive, &o->on_inconclusive) < 0)
		return err_set(e, "options: onInconclusive \"%.20s\": expected pause, fail or pass", x->on_inconclusive);
	if (!strcmp(x->on_failure, "pause"))
		o->on_failure = ORCH_ON_FAILURE_PAUSE;
	else if (strcmp(x->on_failure, "revert"))
		return err_set(e, "options: onFailure \"%.20s\": expected revert or pause", x->on_failure);
	if (o->probes.n > ORCH_MAX_PROBES)
		return err_set(e, "options: more than %d probes", ORCH_MAX_PROBES);
	if (!o->max_parallel || o->poll_ms < 1 || o->timeout_ms < 1)
		return err_set(e, "options: maxParallel, pollMs and requestTimeoutMs must be positive");
	return 0;
}

static int replay_hosts(struct replay *p, const struct orch_ev_start *x, struct err *e)
{
	struct orch_rollout *r = p->r;
	size_t n = x->n_hosts, sum = 0;
	if (n == 0 || n > ORCH_FLEET_MAX_HOSTS)
		return err_set(e, "hosts: 1 to %d expected", ORCH_FLEET_MAX_HOSTS);
	if (x->n_waves == 0 || x->n_waves > n)
		return err_set(e, "waves: 1 to %zu expected", n);
	if (!(r->ends = calloc(x->n_waves, sizeof *r->ends)) || !(r->hosts.hosts = calloc(n, sizeof *r->hosts.hosts)))
		return err_errno(e, ENOMEM, "journal");
	for (size_t w = 0; w < x->n_waves; w++) {
		if ((uint64_t)x->waves[w] > n - sum)
			return err_set(e, "waves[%zu]: bad wave size", w);
		r->ends[r->n_waves++] = sum += (size_t)x->waves[w];
	}
	if (sum != n)
		return err_set(e, "waves add up to %zu hosts, not %zu", sum, n);
	for (size_t i = 0; i < n; i++) {
		const struct orch_ev_hostdef *d = &x->hosts[i];
		struct orch_host *h = &r->hosts.hosts[i];
		r->hosts.n = i + 1;
		if (!orch_name_valid(d->name))
			return err_set(e, "hosts[%zu]: bad host name", i);
		if (!(h->name = strdup(d->name)))
			return err_errno(e, ENOMEM, "journal");
		if (orch_host_set_address(h, d->address, e) < 0)
			return err_ctx(e, "hosts[%zu]", i);
		if (d->wave != (int64_t)orch_rollout_wave_of(r, i) + 1)
			return err_set(e, "hosts[%zu]: wave %lld does not match the wave sizes", i, (long long)d->wave);
		for (size_t k = 0; k < d->n_labels; k++)
			if (orch_host_add_label(h, d->labels[k].key, d->labels[k].value, e) < 0)
				return err_ctx(e, "hosts[%zu]", i);
	}
	if (orch_rollout_alloc_hosts(r, e) < 0)
		return -1;
	if (!(p->byname = calloc(n, sizeof *p->byname)))
		return err_errno(e, ENOMEM, "journal");
	for (size_t i = 0; i < n; i++)
		p->byname[i] = (struct byname){r->hosts.hosts[i].name, i};
	qsort(p->byname, n, sizeof *p->byname, cmp_byname);
	for (size_t i = 1; i < n; i++)
		if (!strcmp(p->byname[i].name, p->byname[i - 1].name))
			return err_set(e, "host \"%s\" twice", p->byname[i].name);
	return 0;
}

static int replay_start(struct replay *p, const struct orch_event *ev, struct err *e)
{
	const struct orch_ev_start *x = &ev->u.start;
	struct orch_rollout *r = p->r;
	struct img_digest dg;
	struct img_ref ref;
	if (p->started)
		return err_set(e, "a second start event");
	p->started = true;
	if (dup_str(ev->rollout, &r->id, e) < 0 || dup_str(x->app, &r->app, e) < 0 || dup_str(x->image, &r->image, e) < 0 ||
	    dup_str(x->digest, &r->digest, e) < 0 || dup_str(x->fleet, &r->fleet, e) < 0 ||
	    dup_str(x->takeover, &r->takeover, e) < 0 || dup_str(ev->time, &r->started, e) < 0 ||
	    dup_str(x->started_by, &r->started_by, e) < 0 || dup_str(x->ci_url, &r->ci_url, e) < 0)
		return -1;
	if (!orch_app_name_valid(r->app))
		return err_set(e, "app \"%.64s\": not a valid app name", r->app);
	if (img_digest_parse(r->digest, &dg, e) < 0 || img_ref_parse(r->image, &ref, e) < 0)
		return -1;
	bool same = ref.has_digest && img_digest_eq(&ref.digest, &dg);
	img_ref_free(&ref);
	if (!same)
		return err_set(e, "image and digest disagree");
	if (replay_options(&x->options, &r->o, e) < 0)
		return -1;
	return replay_hosts(p, x, e);
}

static int replay_precheck(struct replay *p, const struct orch_ev_precheck *x, struct err *e)
{
	struct orch_rollout *r = p->r;
	if (r->prechecked)
		return err_set(e, "a second precheck");
	if (!x->ok)
		return 0;
	if (!x->has_generation)
		return err_set(e, "missing field \"generation\"");
	if (x->generation < 1)
		return err_set(e, "generation must be at least 1");
	r->generation = x->generation;
	if (x->before.n != r->hosts.n)
		return err_set(e, "before: %zu entries for %zu hosts", x->before.n, r->hosts.n);
	for (size_t i = 0; i < r->hosts.n; i++) {
		struct img_digest dg;
		if (!x->before.v[i])
			continue;
		if (img_digest_parse(x->before.v[i], &dg, e) < 0)
			return err_ctx(e, "before[%zu]", i);
		if (!(r->before[i] = strdup(dg.s)))
			return err_errno(e, ENOMEM, "journal");
	}
	for (size_t k = 0; k < x->n_skipped; k++) {
		size_t idx;
		if (!x->skipped[k].host)
			return err_set(e, "skipped[%zu]: missing field \"host\"", k);
		if (host_index(p, x->skipped[k].host, &idx, e) < 0)
			return err_ctx(e, "skipped[%zu]", k);
		r->state[idx] = ORCH_HS_SKIPPED;
		if (orch_rollout_set_reason(r, idx, x->skipped[k].reason) < 0)
			return err_errno(e, ENOMEM, "journal");
	}
	r->prechecked = true;
	return 0;
}

static int check_wave(const struct orch_rollout *r, int64_t w, struct err *e)
{
	if (w < 1 || (uint64_t)w > r->n_waves)
		return err_set(e, "wave %lld: out of range", (long long)w);
	return 0;
}

static int replay_wave(struct replay *p, const struct orch_ev_wave *x, struct err *e)
{
	struct orch_rollout *r = p->r;
	if (check_wave(r, x->wave, e) < 0)
		return -1;
	size_t w = (size_t)x->wave;
	if (!r->prechecked || w != r->waves_started + 1 || r->waves_passed != r->waves_started || r->reverting)
		return err_set(e, "wave %zu out of order", w);
	size_t from = w > 1 ? r->ends[w - 2] : 0;
	if (x->hosts.n != r->ends[w - 1] - from)
		return err_set(e, "wave %zu: %zu hosts, the plan says %zu", w, x->hosts.n, r->ends[w - 1] - from);
	for (size_t i = 0; i < x->hosts.n; i++) {
		if (strcmp(x->hosts.v[i], r->hosts.hosts[from + i].name))
			return err_set(e, "wave %zu: hosts differ from the plan", w);
		if (r->state[from + i] == ORCH_HS_PENDING)
			r->state[from + i] = ORCH_HS_DEPLOYING;
	}
	r->waves_started = w;
	return 0;
}

static int replay_host(struct replay *p, const struct orch_ev_host *x, struct err *e)
{
	struct orch_rollout *r = p->r;
	size_t idx;
	if (check_wave(r, x->wave, e) < 0 || host_index(p, x->host, &idx, e) < 0)
		return -1;
	int s = orch_hs_parse(x->state);
	if (s < 0 || s == ORCH_HS_PENDING)
		return err_set(e, "host %s: unknown state \"%.32s\"", x->host, x->state);
	if (orch_rollout_wave_of(r, idx) + 1 != (size_t)x->wave || (size_t)x->wave > r->waves_started)
		return err_set(e, "host %s: not in wave %lld, or its wave has not started", x->host, (long long)x->wave);
	/* the state as the journal recorded it (the engine's transitions are
	   checked where they are made) */
	r->state[idx] = (uint8_t)s;
	if (x->message && *x->message && orch_rollout_set_reason(r, idx, x->message) < 0)
		return err_errno(e, ENOMEM, "journal");
	return 0;
}

static int replay_revert(struct replay *p, const struct orch_ev_revert *x, struct err *e)
{
	struct orch_rollout *r = p->r;
	for (size_t i = 0; i < x->hosts.n; i++) {
		size_t idx;
		if (host_index(p, x->hosts.v[i], &idx, e) < 0)
			return err_ctx(e, "revert: hosts[%zu]", i);
		if (r->state[idx] == ORCH_HS_PENDING)
			return err_set(e, "revert: host %s was never deployed", x->hosts.v[i]);
		if (r->state[idx] != ORCH_HS_REVERTED)
			r->state[idx] = ORCH_HS_REVERTING;
	}
	r->reverting = true;
	return 0;
}

static int replay_end(struct orch_rollout *r, const struct orch_event *ev, struct err *e)
{
	const struct orch_ev_end *x = &ev->u.end;
	if (x->exit > 3 || strlen(x->result) >= sizeof r->result)
		return err_set(e, "bad result");
	if (dup_str(ev->time, &r->ended_at, e) < 0)
		return -1;
	snprintf(r->result, sizeof r->result, "%s", x->result);
	r->exit_code = (int)x->exit;
	r->ended = true;
	return 0;
}

/* The judgement, for `ramp rollout show`. */
static int replay_analysis(struct orch_rollout *r, const struct orch_ev_analysis *x, struct err *e)
{
	char line[700];
	if (check_wave(r, x->wave, e) < 0)
		return -1;
	snprintf(line, sizeof line, "wave %lld: %s after %.1f s (%s baseline)", (long long)x->wave, x->verdict,
		 (double)x->ms / 1000.0, x->baseline);
	if (strv_push(&r->analysis, line, e) < 0)
		return -1;
	for (size_t k = 0; k < x->n_metrics; k++) {
		snprintf(line, sizeof line, "  %s", x->metrics[k].explain);
		if (strv_push(&r->analysis, line, e) < 0)
			return -1;
	}
	for (size_t k = 0; k < x->n_excluded; k++) {
		snprintf(line, sizeof line, "  left out: %s (%s): %s", x->excluded[k].host, x->excluded[k].group,
			 x->excluded[k].reason);
		if (strv_push(&r->analysis, line, e) < 0)
			return -1;
	}
	return 0;
}

/* What an event says about the rollout. */
static int replay_event(struct replay *p, const struct orch_event *ev, struct err *e)
{
	struct orch_rollout *r = p->r;
	switch (ev->kind) {
	case ORCH_EV_START:
		return replay_start(p, ev, e);
	case ORCH_EV_PRECHECK:
		return replay_precheck(p, &ev->u.precheck, e);
	case ORCH_EV_WAVE:
		return replay_wave(p, &ev->u.wave, e);
	case ORCH_EV_HOST:
		return replay_host(p, &ev->u.host, e);
	case ORCH_EV_CHECK:
		return check_wave(r, ev->u.check.wave, e);
	case ORCH_EV_WAVE_PASSED: {
		int64_t w = ev->u.wave_passed.wave;
		if (check_wave(r, w, e) < 0)
			return -1;
		if ((size_t)w != r->waves_passed + 1 || (size_t)w > r->waves_started)
			return err_set(e, "wave %lld passed out of order", (long long)w);
		r->waves_passed = (size_t)w;
		return 0;
	}
	case ORCH_EV_FAILURE: {
		const struct orch_ev_failure *x = &ev->u.failure;
		if (check_wave(r, x->wave, e) < 0)
			return -1;
		free(r->failure);
		r->failure = NULL;
		/* as the engine words it: "h3 (wave 2): why" */
		if (x->host ? asprintf(&r->failure, "%s (wave %lld): %s", x->host, (long long)x->wave, x->reason) < 0
			    : !(r->failure = strdup(x->reason)))
			return err_errno(e, ENOMEM, "journal");
		return 0;
	}
	case ORCH_EV_REVERT:
		return replay_revert(p, &ev->u.revert, e);
	case ORCH_EV_PAUSED:
	case ORCH_EV_RESUME:
	case ORCH_EV_ABORT:
	case ORCH_EV_INTERRUPTED:
		r->paused = ev->kind == ORCH_EV_PAUSED;
		return 0;
	case ORCH_EV_ANALYSIS:
		return replay_analysis(r, &ev->u.analysis, e);
	case ORCH_EV_SERIES: /* for the report (html_events.c) */
		return check_wave(r, ev->u.series.wave, e);
	case ORCH_EV_GATE:
	case ORCH_EV_POLICY:
	case ORCH_EV_SUPERSEDED:
	case ORCH_EV_OVERRIDE:
		return 0;
	case ORCH_EV_END:
		return replay_end(r, ev, e);
	case ORCH_EV_PLAN:
	case ORCH_EV_COUNT:
		break;
	}
	return err_set(e, "event \"%s\" has no place in a journal", orch_ev_name(ev->kind));
}

static int replay_line(struct replay *p, const char *line, size_t len, struct err *e)
{
	struct json *j = json_parse(line, len, e);
	struct orch_event ev;
	int rc = -1;
	if (!j)
		return -1;
	if (orch_event_read(j, &ev, e) < 0)
		goto out;
	if (!ev.rollout)
		err_set(e, "missing field \"rollout\"");
	else if (!p->started && ev.kind != ORCH_EV_START)
		err_set(e, "the first event must be \"start\", not \"%s\"", orch_ev_name(ev.kind));
	else if (p->started && strcmp(ev.rollout, p->r->id))
		err_set(e, "event of another rollout (\"%.64s\")", ev.rollout);
	else if (p->r->ended)
		err_set(e, "event after the end");
	else
		rc = replay_event(p, &ev, e);
	orch_event_free(&ev);
out:
	json_free(j);
	return rc;
}

int orch_journal_replay(const char *buf, size_t len, const char *what, struct orch_rollout *r, struct err *e)
{
	struct replay p = {.r = r};
	size_t lineno = 0, off = 0;
	int rc = 0;
	*r = (struct orch_rollout){0};
	while (off < len) {
		const char *nl = memchr(buf + off, '\n', len - off);
		lineno++;
		if (!nl) {
			/* every line is written in one write() ending in '\n': a line
			 * without one was cut short by a crash */
			r->torn = true;
			break;
		}
		size_t n = (size_t)(nl - (buf + off));
		if (memchr(buf + off, '\0', n)) {
			rc = err_set(e, "%s: line %zu: NUL byte", what, lineno);
			break;
		}
		if (replay_line(&p, buf + off, n, e) < 0) {
			rc = err_ctx(e, "%s: line %zu", what, lineno);
			break;
		}
		off += n + 1;
		r->lines = lineno;
	}
	free(p.byname);
	if (rc == 0 && !p.started)
		rc = err_set(e, "%s: no start event", what);
	r->valid_len = off;
	if (rc < 0)
		orch_rollout_free(r);
	return rc;
}

int orch_journal_load(const char *path, struct orch_rollout *r, struct err *e)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	_cleanup_close_ int fd = orch_state_open(path, O_RDONLY, 0, e);
	if (fd < 0 || fs_read_fd(fd, path, ORCH_JOURNAL_MAX_BYTES, &buf, &len, e) < 0)
		return -1;
	return orch_journal_replay(buf, len, path, r, e);
}

void orch_journal_supersede(const char *path, const char *id, const char *by)
{
	struct err e;
	struct orch_rollout o;
	struct orch_journal j;
	if (orch_journal_load(path, &o, &e) < 0)
		return;
	if (orch_journal_reopen(path, o.valid_len, &j, &e) == 0) {
		struct orch_event ev = {.kind = ORCH_EV_SUPERSEDED, .rollout = id};
		ev.u.superseded.by = by;
		orch_journal_event(&j, &ev, false, &e);
		ev = (struct orch_event){.kind = ORCH_EV_END, .rollout = id};
		ev.u.end = (struct orch_ev_end){.result = "superseded", .exit = ORCH_EXIT_ATTENTION};
		orch_journal_event(&j, &ev, true, &e);
		orch_journal_close(&j);
	}
	orch_rollout_free(&o);
}
