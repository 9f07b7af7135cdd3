/* supervisor.c: an app's state, its requests and its status (see supervisor.h). */
#include "runtime/supervisor.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/api.h"
#include "lib/cleanup.h"
#include "lib/fs.h"

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

int64_t rt_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t rt_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void rt_format_time(int64_t ms, char *buf, size_t cap)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int rt_version_copy(struct rt_version *dst, const struct rt_version *src, struct err *e)
{
	memset(dst, 0, sizeof *dst);
	dst->digest = src->digest;
	dst->since = src->since;
	if (!(dst->image = strdup(src->image)) || (src->rollout && !(dst->rollout = strdup(src->rollout)))) {
		rt_version_free(dst);
		return err_errno(e, ENOMEM, "version");
	}
	return 0;
}

void rt_version_free(struct rt_version *v)
{
	free(v->image);
	free(v->rollout);
	memset(v, 0, sizeof *v);
}

struct rt_app *rt_app_new(struct rt_daemon *d, const char *state_dir, const char *name, struct err *e)
{
	struct rt_app *a = calloc(1, sizeof *a);
	if (!a || !(a->name = strdup(name)) || asprintf(&a->dir, "%s/apps/%s", state_dir, name) < 0) {
		if (a)
			free(a->name);
		free(a);
		err_errno(e, ENOMEM, "app \"%s\"", name);
		return NULL;
	}
	a->d = d;
	pthread_mutex_init(&a->mu, NULL);
	a->phase = RT_PHASE_STOPPED;
	a->phase_since = rt_now_ms();
	return a;
}

static void versions_free(struct rt_version *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		rt_version_free(&v[i]);
	free(v);
}

void rt_app_free(struct rt_app *a)
{
	if (!a)
		return;
	rt_version_free(&a->desired);
	rt_version_free(&a->current);
	versions_free(a->previous, a->n_previous);
	versions_free(a->pinned, a->n_pinned);
	free(a->rollout);
	free(a->name);
	free(a->dir);
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
	int64_t now = rt_now_ms();
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
	rt_format_time(ms, t, sizeof t);
	jgen_str(g, t);
}

static void ktime(struct jgen *g, const char *k, int64_t ms)
{
	jgen_key(g, k);
	jtime(g, ms);
}

static void version_json(struct jgen *g, const struct rt_version *v, bool since)
{
	jgen_obj_open(g);
	jgen_kstr(g, API_F_IMAGE, v->image);
	jgen_kstr(g, API_F_DIGEST, v->digest.s);
	if (since && v->since)
		ktime(g, API_F_SINCE, v->since);
	jgen_obj_close(g);
}

void rt_app_status_json(const struct rt_app *a, struct jgen *g)
{
	jgen_obj_open(g);
	jgen_kstr(g, API_F_NAME, a->name);
	jgen_kint(g, API_F_GENERATION, a->generation);
	jgen_kstr(g, API_F_ROLLOUT, a->rollout ? a->rollout : "");
	jgen_kstr(g, API_F_PHASE, rt_phase_name(a->phase));
	ktime(g, API_F_PHASE_SINCE, a->phase_since);
	jgen_key(g, API_F_DESIRED);
	if (a->has_desired)
		version_json(g, &a->desired, false);
	else
		jgen_null(g);
	jgen_key(g, API_F_CURRENT);
	if (a->has_current)
		version_json(g, &a->current, true);
	else
		jgen_null(g);
	jgen_key(g, API_F_PREVIOUS);
	jgen_arr_open(g);
	for (size_t i = 0; i < a->n_previous; i++)
		version_json(g, &a->previous[i], false);
	jgen_arr_close(g);
	jgen_key(g, API_F_PINNED);
	jgen_arr_open(g);
	for (size_t i = 0; i < a->n_pinned; i++)
		version_json(g, &a->pinned[i], false);
	jgen_arr_close(g);

	jgen_key(g, API_F_HEALTH);
	jgen_obj_open(g);
	jgen_kbool(g, API_F_HEALTHY, a->healthy);
	jgen_key(g, API_F_HEALTHY_SINCE);
	if (a->healthy)
		jtime(g, a->healthy_since);
	else
		jgen_null(g);
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

/* ---- persistence ---- */

#define DESIRED_MAX (64u << 10)

static void version_save(struct jgen *g, const struct rt_version *v)
{
	jgen_obj_open(g);
	jgen_kstr(g, "image", v->image);
	jgen_kstr(g, "digest", v->digest.s);
	if (v->rollout)
		jgen_kstr(g, "rollout", v->rollout);
	if (v->since)
		jgen_kint(g, "since", v->since);
	jgen_obj_close(g);
}

static int version_load(const struct json *j, struct rt_version *v, struct err *e)
{
	static const char *const keys[] = {"image", "digest", "rollout", "since", NULL};
	const char *image = NULL, *digest = NULL, *rollout = NULL;
	memset(v, 0, sizeof *v);
	if (json_only_keys(j, keys, "version", e) < 0 || json_field_str(j, "image", true, &image, e) < 0 ||
	    json_field_str(j, "digest", true, &digest, e) < 0 || json_field_str(j, "rollout", false, &rollout, e) < 0 ||
	    json_field_int(j, "since", false, &v->since, e) < 0 || img_digest_parse(digest, &v->digest, e) < 0)
		return -1;
	if (!(v->image = strdup(image)) || (rollout && !(v->rollout = strdup(rollout)))) {
		rt_version_free(v);
		return err_errno(e, ENOMEM, "version");
	}
	return 0;
}

int rt_app_save_desired(struct rt_app *a, struct err *e)
{
	_cleanup_free_ char *run = fs_join(a->dir, "run"), *path = fs_join(a->dir, "run/desired.json");
	struct jgen *g = jgen_new(true);
	const char *buf;
	size_t len;
	int rc = -1;
	if (!run || !path || !g) {
		err_errno(e, ENOMEM, "save app \"%s\"", a->name);
		goto out;
	}
	jgen_obj_open(g);
	jgen_kint(g, "generation", a->generation);
	if (a->rollout)
		jgen_kstr(g, "rollout", a->rollout);
	if (a->has_desired) {
		jgen_key(g, "desired");
		version_save(g, &a->desired);
	}
	jgen_obj_close(g);
	if (jgen_result(g, &buf, &len, e) < 0 || fs_mkdir_p(run, 0700, e) < 0 || fs_write_atomic(path, buf, len, 0600, e) < 0)
		goto out;
	rc = 0;
out:
	jgen_free(g);
	return rc < 0 ? err_ctx(e, "save app \"%s\"", a->name) : 0;
}

int rt_app_load(struct rt_app *a, struct err *e)
{
	static const char *const keys[] = {"generation", "rollout", "desired", NULL};
	_cleanup_free_ char *path = fs_join(a->dir, "run/desired.json"), *buf = NULL;
	const struct json *v;
	const char *rollout = NULL;
	size_t len;
	if (!path)
		return err_errno(e, ENOMEM, "load app");
	if (fs_read_file(path, DESIRED_MAX, &buf, &len, e) < 0)
		return e->errnum == ENOENT ? 0 : -1;
	struct json *j = json_parse(buf, len, e);
	int rc = -1;
	if (!j || json_only_keys(j, keys, "desired state", e) < 0 ||
	    json_field_int(j, "generation", true, &a->generation, e) < 0 ||
	    json_field_str(j, "rollout", false, &rollout, e) < 0 || json_field(j, "desired", JSON_OBJECT, false, &v, e) < 0)
		goto out;
	if (rollout && !(a->rollout = strdup(rollout))) {
		err_errno(e, ENOMEM, "load app");
		goto out;
	}
	if (v) {
		if (version_load(v, &a->desired, e) < 0)
			goto out;
		a->has_desired = true;
	}
	rc = 0;
out:
	json_free(j);
	return rc < 0 ? err_ctx(e, "app state \"%s\"", path) : 0;
}

/* ---- requests ---- */

static struct rt_outcome outcome(int status, const char *code)
{
	return (struct rt_outcome){status, code};
}

/* Fencing (docs/API.md "Generations"). */
static bool stale(const struct rt_app *a, int64_t generation, struct err *e)
{
	if (generation >= a->generation)
		return false;
	err_set(e, "generation %" PRId64 " is lower than %" PRId64 ", which app \"%s\" has accepted (rollout \"%s\")",
		generation, a->generation, a->name, a->rollout ? a->rollout : "");
	return true;
}

/* Record and persist a new desired version (rolled back if it cannot be
 * saved). A revert keeps the app's rollout id; the version keeps the one that
 * deployed it. */
static int set_desired(struct rt_app *a, const struct rt_version *v, int64_t generation, bool keep_rollout,
		       struct err *e)
{
	struct rt_version n, old = a->desired;
	const char *ro = keep_rollout ? a->rollout : v->rollout;
	char *rollout = NULL, *old_rollout = a->rollout;
	bool old_has = a->has_desired;
	int64_t old_gen = a->generation;
	if (rt_version_copy(&n, v, e) < 0)
		return -1;
	if (ro && !(rollout = strdup(ro))) {
		rt_version_free(&n);
		return err_errno(e, ENOMEM, "rollout");
	}
	a->desired = n;
	a->has_desired = true;
	a->rollout = rollout;
	a->generation = generation;
	if (rt_app_save_desired(a, e) < 0) {
		rt_version_free(&a->desired);
		free(a->rollout);
		a->desired = old;
		a->has_desired = old_has;
		a->rollout = old_rollout;
		a->generation = old_gen;
		return -1;
	}
	rt_version_free(&old);
	free(old_rollout);
	return 0;
}

struct rt_outcome rt_app_put(struct rt_app *a, const struct rt_put_req *r, struct err *e)
{
	if (stale(a, r->generation, e))
		return outcome(409, API_E_STALE);
	if (r->generation == a->generation && a->has_desired) {
		if (!img_digest_eq(&a->desired.digest, &r->digest)) {
			err_set(e, "generation %" PRId64 " of app \"%s\" was accepted for %s, not %s", r->generation, a->name,
				a->desired.digest.s, r->digest.s);
			return outcome(409, API_E_CONFLICT);
		}
		return outcome(202, NULL); /* the same request again */
	}
	struct rt_version v = {.image = (char *)r->image, .digest = r->digest, .rollout = r->rollout[0] ? (char *)r->rollout : NULL};
	if (set_desired(a, &v, r->generation, false, e) < 0)
		return outcome(500, API_E_INTERNAL);
	if (!a->has_current || !img_digest_eq(&a->current.digest, &r->digest))
		rt_app_set_phase(a, RT_PHASE_PULLING, "deploying %s", r->digest.s);
	return outcome(202, NULL);
}

/* The kept version a revert goes to, or NULL. */
static const struct rt_version *revert_target(const struct rt_app *a, const struct rt_revert_req *r)
{
	if (r->previous)
		return a->n_previous ? &a->previous[0] : NULL;
	if (a->has_current && img_digest_eq(&a->current.digest, &r->to))
		return &a->current;
	for (size_t i = 0; i < a->n_previous; i++)
		if (img_digest_eq(&a->previous[i].digest, &r->to))
			return &a->previous[i];
	for (size_t i = 0; i < a->n_pinned; i++)
		if (img_digest_eq(&a->pinned[i].digest, &r->to))
			return &a->pinned[i];
	return NULL;
}

struct rt_outcome rt_app_revert(struct rt_app *a, const struct rt_revert_req *r, struct err *e)
{
	if (stale(a, r->generation, e))
		return outcome(409, API_E_STALE);
	const struct rt_version *t = revert_target(a, r);
	if (!t) {
		if (r->previous)
			err_set(e, "app \"%s\" has no kept version to revert to", a->name);
		else
			err_set(e, "app \"%s\" keeps no version %s", a->name, r->to.s);
		return outcome(422, API_E_NOTHING_TO_REVERT);
	}
	struct rt_version v;
	if (rt_version_copy(&v, t, e) < 0)
		return outcome(500, API_E_INTERNAL);
	int rc = set_desired(a, &v, r->generation, true, e);
	rt_version_free(&v);
	if (rc < 0)
		return outcome(500, API_E_INTERNAL);
	if (!img_digest_eq(&a->current.digest, &a->desired.digest))
		rt_app_set_phase(a, RT_PHASE_REVERTING, "reverting to %s", a->desired.digest.s);
	return outcome(202, NULL);
}

struct rt_outcome rt_app_delete(struct rt_app *a, const struct rt_delete_req *r, struct err *e)
{
	if (r->has_generation && stale(a, r->generation, e))
		return outcome(409, API_E_STALE);
	a->deleting = true;
	rt_app_set_phase(a, RT_PHASE_STOPPED, "deleted");
	return outcome(200, NULL);
}
