/* supervisor.c: an app's state, its requests, its status and their
 * persistence (see supervisor.h); the app's thread is supervisor_run.c. */
#include "runtime/rampd/supervisor.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/api.h"
#include "lib/cleanup.h"
#include "lib/clock.h"
#include "lib/fs.h"
#include "runtime/rampd/daemon.h"
#include "runtime/rampd/samples.h"

static const char *const phase_names[RT_PHASE_COUNT] = {
	[RT_PHASE_PULLING] = API_PHASE_PULLING,     [RT_PHASE_UNPACKING] = API_PHASE_UNPACKING,
	[RT_PHASE_STARTING] = API_PHASE_STARTING,   [RT_PHASE_HEALTHY] = API_PHASE_HEALTHY,
	[RT_PHASE_UNHEALTHY] = API_PHASE_UNHEALTHY, [RT_PHASE_FAILED] = API_PHASE_FAILED,
	[RT_PHASE_REVERTING] = API_PHASE_REVERTING, [RT_PHASE_STOPPED] = API_PHASE_STOPPED,
};

const char *rt_phase_name(enum rt_phase p)
{
	return p < RT_PHASE_COUNT ? phase_names[p] : "unknown";
}

/* No lock in rt_app_new(), rt_app_free() and rt_app_load(): the app is not
 * in the daemon's table yet, or no longer, and has no thread. */
struct rt_app *rt_app_new(struct rt_daemon *d, const char *state_dir, const char *name, struct err *e)
	RT_NO_LOCK_ANALYSIS
{
	struct rt_app *a = calloc(1, sizeof *a);
	if (!a || !(a->name = strdup(name)) || !(a->st.name = strdup(name)) || !(a->samples = rt_samples_new()) ||
	    asprintf(&a->dir, "%s/apps/%s", state_dir, name) < 0) {
		if (a) {
			free(a->name);
			free(a->st.name);
			rt_samples_free(a->samples);
		}
		free(a);
		err_errno(e, ENOMEM, "app \"%s\"", name);
		return NULL;
	}
	a->d = d;
	pthread_mutex_init(&a->mu, NULL);
	a->phase = RT_PHASE_STOPPED;
	a->phase_since = clk_wall_ms();
	return a;
}

void rt_app_free(struct rt_app *a) RT_NO_LOCK_ANALYSIS
{
	if (!a)
		return;
	rt_app_state_free(&a->st);
	free(a->name);
	free(a->dir);
	rt_samples_free(a->samples);
	pthread_mutex_destroy(&a->mu);
	free(a);
}

void rt_app_set_phase(struct rt_app *a, enum rt_phase p, const char *fmt, ...)
{
	char msg[sizeof a->message];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (a->phase == p && !strcmp(a->message, msg))
		return;
	int64_t now = clk_wall_ms();
	if (a->phase != p)
		a->phase_since = now;
	a->phase = p;
	memcpy(a->message, msg, sizeof msg);
	struct rt_event *ev = &a->history[(a->history_head + a->n_history) % RT_HISTORY_KEPT];
	if (a->n_history < RT_HISTORY_KEPT)
		a->n_history++;
	else
		a->history_head = (a->history_head + 1) % RT_HISTORY_KEPT;
	ev->time = now;
	ev->phase = p;
	size_t l = strnlen(msg, sizeof ev->message - 1);
	memcpy(ev->message, msg, l);
	ev->message[l] = '\0';
}

/* ---- status ---- */

static void jtime(struct jgen *g, int64_t ms)
{
	char t[32];
	clk_rfc3339(ms, false, t, sizeof t);
	jgen_str(g, t);
}

static void ktime(struct jgen *g, const char *k, int64_t ms)
{
	jgen_key(g, k);
	jtime(g, ms);
}

static void version_json(struct jgen *g, const struct rt_app_version *v, bool since)
{
	jgen_obj_open(g);
	jgen_kstr(g, API_F_IMAGE, v->image ? v->image : "");
	jgen_kstr(g, API_F_DIGEST, v->manifest.s);
	if (since && v->since)
		ktime(g, API_F_SINCE, v->since * 1000);
	jgen_obj_close(g);
}

void rt_app_status_json(const struct rt_app *a, struct jgen *g)
{
	jgen_obj_open(g);
	jgen_kstr(g, API_F_NAME, a->name);
	jgen_kint(g, API_F_GENERATION, a->st.generation);
	jgen_kstr(g, API_F_ROLLOUT, a->st.rollout ? a->st.rollout : "");
	jgen_kstr(g, API_F_PHASE, rt_phase_name(a->phase));
	ktime(g, API_F_PHASE_SINCE, a->phase_since);
	jgen_key(g, API_F_DESIRED);
	if (a->st.has_desired)
		version_json(g, &a->st.desired, false);
	else
		jgen_null(g);
	jgen_key(g, API_F_CURRENT);
	if (a->st.has_current)
		version_json(g, &a->st.current, true);
	else
		jgen_null(g);
	jgen_key(g, API_F_PREVIOUS);
	jgen_arr_open(g);
	for (size_t i = 0; i < a->st.n_previous; i++)
		version_json(g, &a->st.previous[i], false);
	jgen_arr_close(g);
	jgen_key(g, API_F_PINNED);
	jgen_arr_open(g);
	for (size_t i = 0; i < a->st.n_pinned; i++)
		version_json(g, &a->st.pinned[i], false);
	jgen_arr_close(g);

	jgen_key(g, API_F_HEALTH);
	jgen_obj_open(g);
	jgen_kbool(g, API_F_HEALTHY, a->healthy);
	jgen_key(g, API_F_HEALTHY_SINCE);
	if (a->healthy)
		jtime(g, a->healthy_since);
	else
		jgen_null(g);
	if (a->check_interval_ms > 0) {
		jgen_kint(g, API_F_INTERVAL_MS, a->check_interval_ms);
		jgen_kint(g, API_F_RETRIES, a->check_retries);
	}
	jgen_key(g, API_F_PROBES);
	jgen_arr_open(g);
	for (size_t i = 0; i < a->n_probes; i++) {
		const struct rt_probe *p = &a->probes[(a->probe_head + i) % RT_PROBES_KEPT];
		/* whole 1/128 ms, so the number prints short and exact */
		struct json ms = {.type = JSON_REAL, .d = (double)(int64_t)(p->ms * 128.0 + 0.5) / 128.0};
		jgen_obj_open(g);
		ktime(g, "time", p->time);
		jgen_kbool(g, "ok", p->ok);
		jgen_key(g, "ms");
		jgen_value(g, &ms);
		jgen_kstr(g, "output", p->output);
		jgen_obj_close(g);
	}
	jgen_arr_close(g);
	jgen_obj_close(g);

	jgen_kint(g, API_F_RESTARTS, (int64_t)a->restarts);
	jgen_kstr(g, API_F_MESSAGE, a->message);
	rt_gate_status_json(a, g);
	jgen_key(g, API_F_HISTORY);
	jgen_arr_open(g);
	for (size_t i = 0; i < a->n_history; i++) {
		const struct rt_event *ev = &a->history[(a->history_head + i) % RT_HISTORY_KEPT];
		jgen_obj_open(g);
		ktime(g, "time", ev->time);
		jgen_kstr(g, API_F_PHASE, rt_phase_name(ev->phase));
		jgen_kstr(g, API_F_MESSAGE, ev->message);
		jgen_obj_close(g);
	}
	jgen_arr_close(g);
	jgen_obj_close(g);
}

static int push_digest(struct img_digest **v, size_t *n, const struct img_digest *d, struct err *e)
{
	struct img_digest *nv = realloc(*v, (*n + 1) * sizeof *nv);
	if (!nv)
		return err_errno(e, ENOMEM, "digests in use");
	nv[(*n)++] = *d;
	*v = nv;
	return 0;
}

int rt_app_in_use(const struct rt_app *a, struct img_digest **v, size_t *n, struct err *e)
{
	if (a->st.has_desired && push_digest(v, n, &a->st.desired.manifest, e) < 0)
		return -1;
	if (a->st.has_current && push_digest(v, n, &a->st.current.manifest, e) < 0)
		return -1;
	for (size_t i = 0; i < a->st.n_previous; i++)
		if (push_digest(v, n, &a->st.previous[i].manifest, e) < 0)
			return -1;
	return 0;
}

/* ---- persistence ---- */

int rt_app_load(struct rt_app *a, struct err *e) RT_NO_LOCK_ANALYSIS
{
	rt_app_state_free(&a->st);
	if (rt_app_state_read(&a->d->store, a->name, &a->st, e) < 0)
		return err_ctx(e, "app \"%s\"", a->name);
	return 0;
}

/* ---- requests ---- */

static struct rt_outcome outcome(int status, const char *code)
{
	return (struct rt_outcome){status, code};
}

/* Fencing (docs/API.md "Generations"). */
static bool stale(const struct rt_app *a, int64_t generation, struct err *e) RT_REQUIRES(rt_lock_app)
{
	if (generation >= a->st.generation)
		return false;
	err_set(e, "generation %" PRId64 " is lower than %" PRId64 ", which app \"%s\" has accepted (rollout \"%s\")",
		generation, a->st.generation, a->name, a->st.rollout ? a->st.rollout : "");
	return true;
}

static int versions_copy(struct rt_app_version **dst, size_t *nd, const struct rt_app_version *src, size_t n,
			 struct err *e)
{
	*nd = 0;
	if (!(*dst = calloc(n ? n : 1, sizeof **dst)))
		return err_errno(e, ENOMEM, "app state");
	for (; *nd < n; (*nd)++)
		if (rt_app_version_copy(&(*dst)[*nd], &src[*nd], e) < 0)
			return -1;
	return 0;
}

/* A deep copy (to roll back a change that could not be saved). */
static int state_copy(struct rt_app_state *dst, const struct rt_app_state *src, struct err *e)
{
	*dst = (struct rt_app_state){
		.generation = src->generation, .has_current = src->has_current, .has_desired = src->has_desired};
	if (!(dst->name = strdup(src->name)) || (src->rollout && !(dst->rollout = strdup(src->rollout))) ||
	    (src->has_current && rt_app_version_copy(&dst->current, &src->current, e) < 0) ||
	    (src->has_desired && rt_app_version_copy(&dst->desired, &src->desired, e) < 0) ||
	    versions_copy(&dst->previous, &dst->n_previous, src->previous, src->n_previous, e) < 0 ||
	    versions_copy(&dst->pinned, &dst->n_pinned, src->pinned, src->n_pinned, e) < 0) {
		rt_app_state_free(dst);
		return err_errno(e, ENOMEM, "app state");
	}
	return 0;
}

int rt_app_commit(struct rt_app *a, const struct rt_app_version *v, int64_t generation, bool keep_rollout,
		  bool switch_now, unsigned keep, struct err *e)
{
	struct rt_app_state saved;
	struct rt_app_version n;
	if (state_copy(&saved, &a->st, e) < 0)
		return -1;
	if (rt_app_version_copy(&n, v, e) < 0)
		goto fail;
	n.since = 0;
	rt_app_version_free(&a->st.desired);
	a->st.desired = n;
	a->st.has_desired = true;
	a->st.generation = generation;
	if (!keep_rollout) {
		free(a->st.rollout);
		if ((a->st.rollout = v->rollout ? strdup(v->rollout) : NULL) == NULL && v->rollout) {
			err_errno(e, ENOMEM, "rollout");
			goto fail;
		}
	}
	if (switch_now) {
		struct rt_app_version cur = *v;
		cur.since = clk_wall_ms() / 1000;
		if (rt_app_state_switch(&a->st, &cur, e) < 0)
			goto fail;
		/* keep-1 previous versions: GC never has to cut the list behind our back */
		while (keep && a->st.n_previous > keep - 1)
			rt_app_version_free(&a->st.previous[--a->st.n_previous]);
	}
	if (rt_app_state_write(&a->d->store, &a->st, e) < 0) {
		err_ctx(e, "save app \"%s\"", a->name);
		goto fail;
	}
	rt_app_state_free(&saved);
	return 0;
fail:
	if (saved.name) {
		rt_app_state_free(&a->st);
		a->st = saved;
	}
	return -1;
}

struct rt_outcome rt_app_put(struct rt_app *a, const struct rt_put_req *r, struct err *e)
{
	if (stale(a, r->generation, e))
		return outcome(409, API_E_STALE);
	if (r->generation == a->st.generation && a->st.has_desired) {
		if (!img_digest_eq(&a->st.desired.manifest, &r->digest)) {
			err_set(e, "generation %" PRId64 " of app \"%s\" was accepted for %s, not %s", r->generation, a->name,
				a->st.desired.manifest.s, r->digest.s);
			return outcome(409, API_E_CONFLICT);
		}
		return outcome(202, NULL); /* the same request again */
	}
	struct rt_app_version v = {.image = (char *)r->image, .manifest = r->digest,
				   .rollout = r->rollout[0] ? (char *)r->rollout : NULL};
	if (rt_app_commit(a, &v, r->generation, false, false, 0, e) < 0)
		return outcome(500, API_E_INTERNAL);
	if (!a->st.has_current || !img_digest_eq(&a->st.current.manifest, &r->digest))
		rt_app_set_phase(a, RT_PHASE_PULLING, "deploying %s", r->digest.s);
	else if (a->phase == RT_PHASE_PULLING || a->phase == RT_PHASE_UNPACKING || a->phase == RT_PHASE_FAILED)
		/* back to the running version, as a revert does it */
		rt_app_set_phase(a, a->healthy ? RT_PHASE_HEALTHY : RT_PHASE_STARTING, "deployment called off");
	rt_app_wake(a);
	return outcome(202, NULL);
}

/* The kept version a revert goes to, or NULL. "previous" while a deployment
 * has not switched yet is the version running now: the deployment is off. */
static const struct rt_app_version *revert_target(const struct rt_app *a, const struct rt_revert_req *r)
	RT_REQUIRES(rt_lock_app)
{
	if (r->previous && a->st.has_current && a->st.has_desired &&
	    !img_digest_eq(&a->st.desired.manifest, &a->st.current.manifest))
		return &a->st.current;
	if (r->previous)
		return a->st.n_previous ? &a->st.previous[0] : NULL;
	if (a->st.has_current && img_digest_eq(&a->st.current.manifest, &r->to))
		return &a->st.current;
	for (size_t i = 0; i < a->st.n_previous; i++)
		if (img_digest_eq(&a->st.previous[i].manifest, &r->to))
			return &a->st.previous[i];
	for (size_t i = 0; i < a->st.n_pinned; i++)
		if (img_digest_eq(&a->st.pinned[i].manifest, &r->to))
			return &a->st.pinned[i];
	return NULL;
}

struct rt_outcome rt_app_revert(struct rt_app *a, const struct rt_revert_req *r, struct err *e)
{
	if (stale(a, r->generation, e))
		return outcome(409, API_E_STALE);
	const struct rt_app_version *t = revert_target(a, r);
	if (!t) {
		if (r->previous)
			err_set(e, "app \"%s\" has no kept version to revert to", a->name);
		else
			err_set(e, "app \"%s\" keeps no version %s", a->name, r->to.s);
		return outcome(422, API_E_NOTHING_TO_REVERT);
	}
	struct rt_app_version v;
	if (rt_app_version_copy(&v, t, e) < 0)
		return outcome(500, API_E_INTERNAL);
	/* A kept version is in the store: it becomes current in the same write
	   as the request (a switch records the new current version first, then
	   starts it), so that a revert costs one durable write, not two. */
	bool to_other = !a->st.has_current || !img_digest_eq(&a->st.current.manifest, &v.manifest);
	int rc = rt_app_commit(a, &v, r->generation, true, to_other, 0, e);
	rt_app_version_free(&v);
	if (rc < 0)
		return outcome(500, API_E_INTERNAL);
	if (to_other) {
		a->reverts++;
		a->switched = true;
		rt_app_set_phase(a, RT_PHASE_REVERTING, "reverting to %s", a->st.current.manifest.s);
	} else if (a->phase == RT_PHASE_PULLING || a->phase == RT_PHASE_UNPACKING || a->phase == RT_PHASE_FAILED) {
		rt_app_set_phase(a, a->healthy ? RT_PHASE_HEALTHY : RT_PHASE_STARTING, "deployment called off");
	}
	rt_app_wake(a);
	return outcome(202, NULL);
}

int rt_app_auto_revert(struct rt_app *a, struct err *e)
{
	if (!a->st.n_previous)
		return err_set(e, "app \"%s\" keeps no previous version", a->name);
	struct rt_app_version v;
	if (rt_app_version_copy(&v, &a->st.previous[0], e) < 0)
		return -1;
	int rc = rt_app_commit(a, &v, a->st.generation, true, true, 0, e);
	rt_app_version_free(&v);
	if (rc == 0) {
		a->reverts++;
		a->switched = true;
	}
	return rc;
}

struct rt_outcome rt_app_delete(struct rt_app *a, const struct rt_delete_req *r, struct err *e)
{
	if (r->has_generation && stale(a, r->generation, e))
		return outcome(409, API_E_STALE);
	a->deleting = true;
	rt_app_set_phase(a, RT_PHASE_STOPPED, "deleted");
	rt_app_wake(a);
	return outcome(200, NULL);
}
