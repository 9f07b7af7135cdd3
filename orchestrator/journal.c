/* journal.c: rollout events, the journal file and its replay (see journal.h). */
#include "orchestrator/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/digest.h"
#include "image/reference.h"
#include "lib/cleanup.h"
#include "lib/clock.h"
#include "lib/fs.h"
#include "orchestrator/exec.h"
#include "orchestrator/hostapi.h"

/* ---- the file ---- */

int orch_journal_create(const char *path, const char *first, size_t len, struct orch_journal *j, struct err *e)
{
	_cleanup_free_ char *tmp = NULL, *dir = strdup(path);
	char *slash = dir ? strrchr(dir, '/') : NULL;
	*j = (struct orch_journal){.fd = -1};
	if (!slash || asprintf(&tmp, "%s.tmp-%d", path, (int)getpid()) < 0)
		return err_errno(e, ENOMEM, "journal");
	*slash = '\0';
	j->fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	if (j->fd < 0)
		return err_sys(e, "create journal \"%s\"", tmp);
	if (!(j->path = strdup(path))) {
		err_errno(e, ENOMEM, "journal");
		goto fail;
	}
	if (orch_journal_write(j, first, len, true, e) < 0)
		goto fail;
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) < 0) {
		err_sys(e, "create journal \"%s\"", path);
		goto fail;
	}
	/* the name must survive a crash too */
	if (fs_fsync_dir(dir, e) < 0) {
		orch_journal_close(j);
		return -1;
	}
	return 0;
fail:
	unlink(tmp);
	close(j->fd);
	free(j->path);
	free(j->buf);
	*j = (struct orch_journal){.fd = -1};
	return -1;
}

int orch_journal_reopen(const char *path, size_t valid_len, struct orch_journal *j, struct err *e)
{
	*j = (struct orch_journal){.fd = -1};
	j->fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (j->fd < 0)
		return err_sys(e, "open journal \"%s\"", path);
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
	if (j->len + len + 1 > j->cap) {
		size_t nc = j->cap ? j->cap : 65536;
		while (nc < j->len + len + 1)
			nc *= 2;
		char *nb = realloc(j->buf, nc);
		if (!nb)
			return err_errno(e, ENOMEM, "journal");
		j->buf = nb;
		j->cap = nc;
	}
	memcpy(j->buf + j->len, line, len);
	j->buf[j->len + len] = '\n';
	j->len += len + 1;
	j->dirty = true;
	if (sync || clk_mono_ms() - j->synced_ms >= ORCH_JOURNAL_LAG_MS)
		return orch_journal_sync(j, e);
	return 0;
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

/* ---- events ---- */

struct jgen *orch_ev_begin(const char *event, const char *rollout)
{
	char t[40];
	struct jgen *g = jgen_new(false);
	if (!g)
		return NULL;
	clk_rfc3339(clk_wall_ms(), true, t, sizeof t);
	jgen_obj_open(g);
	jgen_kstr(g, "time", t);
	jgen_kstr(g, "event", event);
	if (rollout)
		jgen_kstr(g, "rollout", rollout);
	return g;
}

int orch_ev_end(struct jgen *g, const char **line, size_t *len, struct err *e)
{
	if (!g)
		return err_errno(e, ENOMEM, "event");
	jgen_obj_close(g);
	return jgen_result(g, line, len, e);
}

static void kstrv(struct jgen *g, const char *k, char *const *v, size_t n)
{
	jgen_key(g, k);
	jgen_arr_open(g);
	for (size_t i = 0; i < n; i++)
		jgen_str(g, v[i]);
	jgen_arr_close(g);
}

struct jgen *orch_ev_start(const struct orch_rollout *r)
{
	struct jgen *g = orch_ev_begin("start", r->id);
	const struct orch_opts *o = &r->o;
	if (!g)
		return NULL;
	jgen_kstr(g, "app", r->app);
	jgen_kstr(g, "image", r->image);
	jgen_kstr(g, "digest", r->digest);
	jgen_kstr(g, "fleet", r->fleet);
	if (r->takeover)
		jgen_kstr(g, "takeover", r->takeover);
	jgen_key(g, "waves");
	jgen_arr_open(g);
	for (size_t w = 0; w < r->n_waves; w++)
		jgen_int(g, (int64_t)(r->ends[w] - (w ? r->ends[w - 1] : 0)));
	jgen_arr_close(g);
	jgen_key(g, "hosts");
	jgen_arr_open(g);
	for (size_t i = 0; i < r->hosts.n; i++) {
		const struct orch_host *h = &r->hosts.hosts[i];
		jgen_obj_open(g);
		jgen_kstr(g, "name", h->name);
		jgen_kstr(g, "address", h->address);
		jgen_kint(g, "wave", (int64_t)orch_rollout_wave_of(r, i) + 1);
		if (h->n_labels) {
			jgen_key(g, "labels");
			jgen_obj_open(g);
			for (size_t k = 0; k < h->n_labels; k++)
				jgen_kstr(g, h->labels[k].key, h->labels[k].value);
			jgen_obj_close(g);
		}
		jgen_obj_close(g);
	}
	jgen_arr_close(g);
	jgen_key(g, "options");
	jgen_obj_open(g);
	jgen_kint(g, "bakeMs", o->bake_ms);
	jgen_kint(g, "healthDeadlineMs", o->deadline_ms);
	jgen_kint(g, "finalBakeMs", o->final_bake_ms);
	jgen_kint(g, "pollMs", o->poll_ms);
	jgen_kint(g, "requestTimeoutMs", o->timeout_ms);
	jgen_kint(g, "unreachableAfterMs", o->unreachable_ms);
	jgen_kint(g, "revertDeadlineMs", o->revert_deadline_ms);
	jgen_kint(g, "maxUnhealthy", (int64_t)o->max_unhealthy);
	jgen_kint(g, "maxUnreachable", (int64_t)o->max_unreachable);
	jgen_kint(g, "maxParallel", (int64_t)o->max_parallel);
	jgen_kstr(g, "onFailure", o->on_failure == ORCH_ON_FAILURE_PAUSE ? "pause" : "revert");
	kstrv(g, "gates", o->gates, o->n_gates);
	kstrv(g, "checks", o->checks, o->n_checks);
	kstrv(g, "probes", o->probes, o->n_probes);
	if (o->token_file)
		jgen_kstr(g, "tokenFile", o->token_file);
	if (o->cacert)
		jgen_kstr(g, "cacert", o->cacert);
	jgen_kbool(g, "allowUntested", o->allow_untested);
	jgen_obj_close(g);
	return g;
}

/* ---- replay ---- */

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

static int get_ms(const struct json *o, const char *k, int64_t *out, struct err *e)
{
	if (json_field_int(o, k, true, out, e) < 0)
		return -1;
	if (*out < 0 || *out > 7LL * 24 * 3600 * 1000)
		return err_set(e, "field \"%s\": out of range", k);
	return 0;
}

static int get_count(const struct json *o, const char *k, size_t max, size_t *out, struct err *e)
{
	int64_t v;
	if (json_field_int(o, k, true, &v, e) < 0)
		return -1;
	if (v < 0 || (uint64_t)v > max)
		return err_set(e, "field \"%s\": out of range", k);
	*out = (size_t)v;
	return 0;
}

static int get_strv(const struct json *o, const char *k, char ***out, size_t *n, struct err *e)
{
	const struct json *a;
	if (json_field(o, k, JSON_ARRAY, true, &a, e) < 0)
		return -1;
	if (a->arr.n > 64)
		return err_set(e, "field \"%s\": more than 64 entries", k);
	char **v = calloc(a->arr.n + 1, sizeof *v);
	if (!v)
		return err_errno(e, ENOMEM, "journal");
	*out = v;
	for (size_t i = 0; i < a->arr.n; i++) {
		const struct json *s = a->arr.v[i];
		if (s->type != JSON_STRING || strlen(s->str.s) != s->str.len || s->str.len > 4096)
			return err_set(e, "field \"%s\": expected strings", k);
		if (!(v[i] = strdup(s->str.s)))
			return err_errno(e, ENOMEM, "journal");
		*n = i + 1;
	}
	return 0;
}

static int dup_field(const struct json *o, const char *k, bool required, char **out, struct err *e)
{
	const char *s = NULL;
	if (json_field_str(o, k, required, &s, e) < 0)
		return -1;
	if (s && !(*out = strdup(s)))
		return err_errno(e, ENOMEM, "journal");
	return 0;
}

static int replay_options(const struct json *o, struct orch_opts *x, struct err *e)
{
	static const char *const keys[] = {"bakeMs", "healthDeadlineMs", "finalBakeMs", "pollMs", "requestTimeoutMs",
					   "unreachableAfterMs", "revertDeadlineMs", "maxUnhealthy", "maxUnreachable",
					   "maxParallel", "onFailure", "gates", "checks", "probes", "tokenFile", "cacert",
					   "allowUntested", NULL};
	const char *onf = NULL;
	if (json_only_keys(o, keys, "options", e) < 0 || get_ms(o, "bakeMs", &x->bake_ms, e) < 0 ||
	    get_ms(o, "healthDeadlineMs", &x->deadline_ms, e) < 0 || get_ms(o, "finalBakeMs", &x->final_bake_ms, e) < 0 ||
	    get_ms(o, "pollMs", &x->poll_ms, e) < 0 || get_ms(o, "requestTimeoutMs", &x->timeout_ms, e) < 0 ||
	    get_ms(o, "unreachableAfterMs", &x->unreachable_ms, e) < 0 ||
	    get_ms(o, "revertDeadlineMs", &x->revert_deadline_ms, e) < 0 ||
	    get_count(o, "maxUnhealthy", ORCH_FLEET_MAX_HOSTS, &x->max_unhealthy, e) < 0 ||
	    get_count(o, "maxUnreachable", ORCH_FLEET_MAX_HOSTS, &x->max_unreachable, e) < 0 ||
	    get_count(o, "maxParallel", 100000, &x->max_parallel, e) < 0 ||
	    json_field_str(o, "onFailure", true, &onf, e) < 0 || get_strv(o, "gates", &x->gates, &x->n_gates, e) < 0 ||
	    get_strv(o, "checks", &x->checks, &x->n_checks, e) < 0 ||
	    get_strv(o, "probes", &x->probes, &x->n_probes, e) < 0 || dup_field(o, "tokenFile", false, &x->token_file, e) < 0 ||
	    dup_field(o, "cacert", false, &x->cacert, e) < 0 ||
	    json_field_bool(o, "allowUntested", true, &x->allow_untested, e) < 0)
		return err_ctx(e, "options");
	if (!strcmp(onf, "pause"))
		x->on_failure = ORCH_ON_FAILURE_PAUSE;
	else if (strcmp(onf, "revert"))
		return err_set(e, "options: onFailure \"%.20s\": expected revert or pause", onf);
	if (x->n_probes > ORCH_MAX_PROBES)
		return err_set(e, "options: more than %d probes", ORCH_MAX_PROBES);
	if (!x->max_parallel || x->poll_ms < 1 || x->timeout_ms < 1)
		return err_set(e, "options: maxParallel, pollMs and requestTimeoutMs must be positive");
	return 0;
}

static int replay_start(struct replay *p, const struct json *j, struct err *e)
{
	static const char *const keys[] = {"time", "event", "rollout", "app", "image", "digest", "fleet", "takeover",
					   "waves", "hosts", "options", NULL};
	struct orch_rollout *r = p->r;
	const struct json *waves, *hosts, *opts;
	struct img_digest dg;
	if (p->started)
		return err_set(e, "a second start event");
	p->started = true;
	if (json_only_keys(j, keys, "start", e) < 0 || dup_field(j, "rollout", true, &r->id, e) < 0 ||
	    dup_field(j, "app", true, &r->app, e) < 0 || dup_field(j, "image", true, &r->image, e) < 0 ||
	    dup_field(j, "digest", true, &r->digest, e) < 0 || dup_field(j, "fleet", true, &r->fleet, e) < 0 ||
	    dup_field(j, "takeover", false, &r->takeover, e) < 0 || dup_field(j, "time", true, &r->started, e) < 0 ||
	    json_field(j, "waves", JSON_ARRAY, true, &waves, e) < 0 ||
	    json_field(j, "hosts", JSON_ARRAY, true, &hosts, e) < 0 ||
	    json_field(j, "options", JSON_OBJECT, true, &opts, e) < 0)
		return -1;
	if (!orch_app_name_valid(r->app))
		return err_set(e, "app \"%.64s\": not a valid app name", r->app);
	if (img_digest_parse(r->digest, &dg, e) < 0)
		return -1;
	struct img_ref ref;
	if (img_ref_parse(r->image, &ref, e) < 0)
		return -1;
	bool same = ref.has_digest && img_digest_eq(&ref.digest, &dg);
	img_ref_free(&ref);
	if (!same)
		return err_set(e, "image and digest disagree");
	if (replay_options(opts, &r->o, e) < 0)
		return -1;
	size_t n = hosts->arr.n;
	if (n == 0 || n > ORCH_FLEET_MAX_HOSTS)
		return err_set(e, "hosts: 1 to %d expected", ORCH_FLEET_MAX_HOSTS);
	if (waves->arr.n == 0 || waves->arr.n > n)
		return err_set(e, "waves: 1 to %zu expected", n);
	if (!(r->ends = calloc(waves->arr.n, sizeof *r->ends)) || !(r->hosts.hosts = calloc(n, sizeof *r->hosts.hosts)))
		return err_errno(e, ENOMEM, "journal");
	size_t sum = 0;
	for (size_t w = 0; w < waves->arr.n; w++) {
		const struct json *v = waves->arr.v[w];
		if (v->type != JSON_INT || v->i < 1 || (uint64_t)v->i > n - sum)
			return err_set(e, "waves[%zu]: bad wave size", w);
		r->ends[r->n_waves++] = sum += (size_t)v->i;
	}
	if (sum != n)
		return err_set(e, "waves add up to %zu hosts, not %zu", sum, n);
	for (size_t i = 0; i < n; i++) {
		static const char *const hkeys[] = {"name", "address", "wave", "labels", NULL};
		const struct json *h = hosts->arr.v[i], *labels;
		struct orch_host *x = &r->hosts.hosts[i];
		const char *name = NULL, *addr = NULL;
		int64_t wave;
		r->hosts.n = i + 1;
		if (json_only_keys(h, hkeys, "host", e) < 0 || json_field_str(h, "name", true, &name, e) < 0 ||
		    json_field_str(h, "address", true, &addr, e) < 0 || json_field_int(h, "wave", true, &wave, e) < 0 ||
		    json_field(h, "labels", JSON_OBJECT, false, &labels, e) < 0)
			return err_ctx(e, "hosts[%zu]", i);
		if (!orch_name_valid(name))
			return err_set(e, "hosts[%zu]: bad host name", i);
		if (!(x->name = strdup(name)))
			return err_errno(e, ENOMEM, "journal");
		if (orch_host_set_address(x, addr, e) < 0)
			return err_ctx(e, "hosts[%zu]", i);
		if (wave != (int64_t)orch_rollout_wave_of(r, i) + 1)
			return err_set(e, "hosts[%zu]: wave %lld does not match the wave sizes", i, (long long)wave);
		for (size_t k = 0; labels && k < labels->obj.n; k++) {
			const struct json *v = labels->obj.v[k];
			if (v->type != JSON_STRING || strlen(v->str.s) != v->str.len)
				return err_set(e, "hosts[%zu]: label values are strings", i);
			if (orch_host_add_label(x, labels->obj.k[k], v->str.s, e) < 0)
				return err_ctx(e, "hosts[%zu]", i);
		}
	}
	if (orch_rollout_alloc_hosts(r, e) < 0)
		return -1;
	if (!(p->byname = calloc(n, sizeof *p->byname)))
		return err_errno(e, ENOMEM, "journal");
	for (size_t i = 0; i < n; i++) {
		p->byname[i].name = r->hosts.hosts[i].name;
		p->byname[i].idx = i;
	}
	qsort(p->byname, n, sizeof *p->byname, cmp_byname);
	for (size_t i = 1; i < n; i++)
		if (!strcmp(p->byname[i].name, p->byname[i - 1].name))
			return err_set(e, "host \"%s\" twice", p->byname[i].name);
	return 0;
}

static int replay_precheck(struct replay *p, const struct json *j, struct err *e)
{
	static const char *const keys[] = {"time",   "event",    "rollout", "ok", "generation",
					   "before", "problems", "skipped", NULL};
	struct orch_rollout *r = p->r;
	const struct json *before, *skipped;
	bool ok;
	if (r->prechecked)
		return err_set(e, "a second precheck");
	if (json_only_keys(j, keys, "precheck", e) < 0 || json_field_bool(j, "ok", true, &ok, e) < 0)
		return -1;
	if (!ok)
		return 0;
	if (json_field_int(j, "generation", true, &r->generation, e) < 0 ||
	    json_field(j, "before", JSON_ARRAY, true, &before, e) < 0)
		return -1;
	if (r->generation < 1)
		return err_set(e, "generation must be at least 1");
	if (before->arr.n != r->hosts.n)
		return err_set(e, "before: %zu entries for %zu hosts", before->arr.n, r->hosts.n);
	for (size_t i = 0; i < r->hosts.n; i++) {
		const struct json *v = before->arr.v[i];
		struct img_digest dg;
		if (v->type == JSON_NULL)
			continue;
		if (v->type != JSON_STRING || img_digest_parse(v->str.s, &dg, e) < 0)
			return err_ctx(e, "before[%zu]", i);
		if (!(r->before[i] = strdup(dg.s)))
			return err_errno(e, ENOMEM, "journal");
	}
	if (json_field(j, "skipped", JSON_ARRAY, false, &skipped, e) < 0)
		return -1;
	for (size_t k = 0; skipped && k < skipped->arr.n; k++) {
		const char *name = NULL, *why = NULL;
		size_t idx;
		if (json_field_str(skipped->arr.v[k], "host", true, &name, e) < 0 ||
		    json_field_str(skipped->arr.v[k], "reason", true, &why, e) < 0 || host_index(p, name, &idx, e) < 0)
			return err_ctx(e, "skipped[%zu]", k);
		r->state[idx] = ORCH_HS_SKIPPED;
		if (orch_rollout_set_reason(r, idx, why) < 0)
			return err_errno(e, ENOMEM, "journal");
	}
	r->prechecked = true;
	return 0;
}

static int get_wave(const struct json *j, const struct orch_rollout *r, size_t *w, struct err *e)
{
	int64_t v;
	if (json_field_int(j, "wave", true, &v, e) < 0)
		return -1;
	if (v < 1 || (uint64_t)v > r->n_waves)
		return err_set(e, "wave %lld: out of range", (long long)v);
	*w = (size_t)v;
	return 0;
}

static int replay_wave(struct replay *p, const struct json *j, struct err *e)
{
	static const char *const keys[] = {"time", "event", "rollout", "wave", "hosts", NULL};
	struct orch_rollout *r = p->r;
	const struct json *hosts;
	size_t w = 0;
	if (json_only_keys(j, keys, "wave", e) < 0 || get_wave(j, r, &w, e) < 0 ||
	    json_field(j, "hosts", JSON_ARRAY, true, &hosts, e) < 0)
		return -1;
	if (!r->prechecked || w != r->waves_started + 1 || r->waves_passed != r->waves_started || r->reverting)
		return err_set(e, "wave %zu out of order", w);
	size_t from = w > 1 ? r->ends[w - 2] : 0;
	if (hosts->arr.n != r->ends[w - 1] - from)
		return err_set(e, "wave %zu: %zu hosts, the plan says %zu", w, hosts->arr.n, r->ends[w - 1] - from);
	for (size_t i = 0; i < hosts->arr.n; i++) {
		const struct json *v = hosts->arr.v[i];
		if (v->type != JSON_STRING || strcmp(v->str.s, r->hosts.hosts[from + i].name))
			return err_set(e, "wave %zu: hosts differ from the plan", w);
		if (r->state[from + i] == ORCH_HS_PENDING)
			r->state[from + i] = ORCH_HS_DEPLOYING;
	}
	r->waves_started = w;
	return 0;
}

static int replay_host(struct replay *p, const struct json *j, struct err *e)
{
	static const char *const keys[] = {"time", "event", "rollout", "host", "wave", "state", "phase", "digest",
					   "message", NULL};
	struct orch_rollout *r = p->r;
	const char *name = NULL, *state = NULL, *msg = NULL;
	size_t idx = 0, w = 0;
	if (json_only_keys(j, keys, "host", e) < 0 || json_field_str(j, "host", true, &name, e) < 0 ||
	    json_field_str(j, "state", true, &state, e) < 0 || json_field_str(j, "message", false, &msg, e) < 0 ||
	    get_wave(j, r, &w, e) < 0 || host_index(p, name, &idx, e) < 0)
		return -1;
	int s = orch_hs_parse(state);
	if (s < 0 || s == ORCH_HS_PENDING)
		return err_set(e, "host %s: unknown state \"%.32s\"", name, state);
	if (orch_rollout_wave_of(r, idx) + 1 != w || w > r->waves_started)
		return err_set(e, "host %s: not in wave %zu, or its wave has not started", name, w);
	r->state[idx] = (uint8_t)s;
	if (msg && *msg && orch_rollout_set_reason(r, idx, msg) < 0)
		return err_errno(e, ENOMEM, "journal");
	return 0;
}

static int replay_simple(struct replay *p, const char *ev, const struct json *j, struct err *e)
{
	static const char *const gate[] = {"time", "event", "rollout", "command", "exit", "ok", NULL};
	static const char *const check[] = {"time", "event", "rollout", "wave", "command", "exit", "ok", NULL};
	static const char *const passed[] = {"time", "event", "rollout", "wave", "ms", NULL};
	static const char *const failure[] = {"time", "event", "rollout", "host", "wave", "reason", "phase",
					      "history", "probe", NULL};
	static const char *const revert[] = {"time", "event", "rollout", "hosts", "reason", NULL};
	static const char *const plain[] = {"time", "event", "rollout", "pid", "reason", NULL};
	static const char *const super[] = {"time", "event", "rollout", "generation", "by", "host", NULL};
	struct orch_rollout *r = p->r;
	size_t w = 0;
	if (!strcmp(ev, "gate"))
		return json_only_keys(j, gate, ev, e);
	if (!strcmp(ev, "check"))
		return json_only_keys(j, check, ev, e) < 0 ? -1 : get_wave(j, r, &w, e);
	if (!strcmp(ev, "wave_passed")) {
		if (json_only_keys(j, passed, ev, e) < 0 || get_wave(j, r, &w, e) < 0)
			return -1;
		if (w != r->waves_passed + 1 || w > r->waves_started)
			return err_set(e, "wave %zu passed out of order", w);
		r->waves_passed = w;
		return 0;
	}
	if (!strcmp(ev, "failure")) {
		const char *why = NULL, *host = NULL;
		if (json_only_keys(j, failure, ev, e) < 0 || json_field_str(j, "reason", true, &why, e) < 0 ||
		    json_field_str(j, "host", false, &host, e) < 0 || get_wave(j, r, &w, e) < 0)
			return -1;
		free(r->failure);
		r->failure = NULL;
		/* as the engine words it: "h3 (wave 2): why" */
		if (host ? asprintf(&r->failure, "%s (wave %zu): %s", host, w, why) < 0 : !(r->failure = strdup(why)))
			return err_errno(e, ENOMEM, "journal");
		return 0;
	}
	if (!strcmp(ev, "revert")) {
		const struct json *hosts;
		if (json_only_keys(j, revert, ev, e) < 0 || json_field(j, "hosts", JSON_ARRAY, true, &hosts, e) < 0)
			return -1;
		for (size_t i = 0; i < hosts->arr.n; i++) {
			size_t idx;
			const struct json *v = hosts->arr.v[i];
			if (v->type != JSON_STRING || host_index(p, v->str.s, &idx, e) < 0)
				return err_ctx(e, "revert: hosts[%zu]", i);
			if (r->state[idx] == ORCH_HS_PENDING)
				return err_set(e, "revert: host %s was never deployed", v->str.s);
			if (r->state[idx] != ORCH_HS_REVERTED)
				r->state[idx] = ORCH_HS_REVERTING;
		}
		r->reverting = true;
		return 0;
	}
	if (!strcmp(ev, "paused") || !strcmp(ev, "resume") || !strcmp(ev, "abort") || !strcmp(ev, "interrupted")) {
		if (json_only_keys(j, plain, ev, e) < 0)
			return -1;
		r->paused = !strcmp(ev, "paused");
		return 0;
	}
	if (!strcmp(ev, "superseded"))
		return json_only_keys(j, super, ev, e);
	return err_set(e, "unknown event \"%.32s\"", ev);
}

static int replay_end(struct replay *p, const struct json *j, struct err *e)
{
	static const char *const keys[] = {"time", "event", "rollout", "result", "exit", "ms", "counts",
					   "hosts", NULL};
	struct orch_rollout *r = p->r;
	const char *result = NULL;
	int64_t code;
	if (json_only_keys(j, keys, "end", e) < 0 || json_field_str(j, "result", true, &result, e) < 0 ||
	    json_field_int(j, "exit", true, &code, e) < 0 || dup_field(j, "time", true, &r->ended_at, e) < 0)
		return -1;
	if (code < 0 || code > 3 || strlen(result) >= sizeof r->result)
		return err_set(e, "bad result");
	snprintf(r->result, sizeof r->result, "%s", result);
	r->exit_code = (int)code;
	r->ended = true;
	return 0;
}

static int replay_line(struct replay *p, const char *line, size_t len, struct err *e)
{
	struct json *j = json_parse(line, len, e);
	const char *ev = NULL, *id = NULL;
	int rc = -1;
	if (!j)
		return -1;
	if (j->type != JSON_OBJECT) {
		err_set(e, "expected an event object");
		goto out;
	}
	if (json_field_str(j, "event", true, &ev, e) < 0 || json_field_str(j, "rollout", true, &id, e) < 0)
		goto out;
	if (!p->started && strcmp(ev, "start")) {
		err_set(e, "the first event must be \"start\", not \"%.32s\"", ev);
		goto out;
	}
	if (p->started && strcmp(id, p->r->id)) {
		err_set(e, "event of another rollout (\"%.64s\")", id);
		goto out;
	}
	if (p->r->ended) {
		err_set(e, "event after the end");
		goto out;
	}
	if (!strcmp(ev, "start"))
		rc = replay_start(p, j, e);
	else if (!strcmp(ev, "precheck"))
		rc = replay_precheck(p, j, e);
	else if (!strcmp(ev, "wave"))
		rc = replay_wave(p, j, e);
	else if (!strcmp(ev, "host"))
		rc = replay_host(p, j, e);
	else if (!strcmp(ev, "end"))
		rc = replay_end(p, j, e);
	else
		rc = replay_simple(p, ev, j, e);
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
	if (fs_read_file(path, ORCH_JOURNAL_MAX_BYTES, &buf, &len, e) < 0)
		return -1;
	return orch_journal_replay(buf, len, path, r, e);
}
