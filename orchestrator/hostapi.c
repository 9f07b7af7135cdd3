/* hostapi.c: request bodies and response parsing for rampd's API (see hostapi.h). */
#include "orchestrator/hostapi.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/api.h"
#include "lib/json.h"
#include "lib/token.h"

bool orch_app_name_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > API_MAX_NAME)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (i > 0 && strchr("_.-", c));
		if (!ok)
			return false;
	}
	return true;
}

static const struct {
	const char *method, *path, *suffix; /* path, or API_PATH_APP_PREFIX APP suffix */
} ops[] = {
	[ORCH_OP_STATUS] = {"GET", NULL, ""},
	[ORCH_OP_APPS] = {"GET", API_PATH_APPS, NULL},
	[ORCH_OP_INFO] = {"GET", API_PATH_INFO, NULL},
	[ORCH_OP_DEPLOY] = {"PUT", NULL, ""},
	[ORCH_OP_REVERT] = {"POST", NULL, API_PATH_REVERT_SUFFIX},
	[ORCH_OP_REMOVE] = {"DELETE", NULL, ""},
	[ORCH_OP_LOGS] = {"GET", NULL, API_PATH_LOGS_SUFFIX},
	[ORCH_OP_PROBE] = {"GET", NULL, NULL},
	[ORCH_OP_METRICS] = {"GET", NULL, API_PATH_APP_METRICS_SUFFIX},
	[ORCH_OP_WATCH] = {"PUT", NULL, API_PATH_WATCH_SUFFIX},
	[ORCH_OP_QUERY] = {"GET", NULL, NULL},
};

const char *orch_op_method(enum orch_op op)
{
	return ops[op].method;
}

const char *orch_op_path(enum orch_op op, const char *app, uint64_t arg, char *buf, size_t cap)
{
	int n;
	if (ops[op].path)
		n = snprintf(buf, cap, "%s", ops[op].path);
	else if (op == ORCH_OP_LOGS || (op == ORCH_OP_METRICS && arg))
		n = snprintf(buf, cap, "%s%s%s?%s=%" PRIu64, API_PATH_APP_PREFIX, app, ops[op].suffix,
			     op == ORCH_OP_LOGS ? "tail" : "since", arg);
	else if (ops[op].suffix)
		n = snprintf(buf, cap, "%s%s%s", API_PATH_APP_PREFIX, app, ops[op].suffix);
	else
		return NULL; /* a probe has no path of rampd's */
	return n >= 0 && (size_t)n < cap ? buf : NULL;
}

void orch_copy_clean(char *dst, size_t n, const char *src)
{
	size_t i = 0;
	for (; src && src[i] && i + 1 < n; i++) {
		unsigned char c = (unsigned char)src[i];
		dst[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	if (n)
		dst[i] = '\0';
}

static char *body_done(struct jgen *g)
{
	const char *buf;
	size_t len;
	struct err e;
	char *out = NULL;
	if (g && jgen_result(g, &buf, &len, &e) == 0)
		out = strndup(buf, len);
	jgen_free(g);
	return out;
}

char *orch_body_put(const char *image, const char *rollout, int64_t generation)
{
	struct jgen *g = jgen_new(false);
	if (!g)
		return NULL;
	jgen_obj_open(g);
	jgen_kstr(g, API_F_IMAGE, image);
	if (rollout)
		jgen_kstr(g, API_F_ROLLOUT, rollout);
	jgen_kint(g, API_F_GENERATION, generation);
	jgen_obj_close(g);
	return body_done(g);
}

char *orch_body_revert(const char *to, int64_t generation)
{
	struct jgen *g = jgen_new(false);
	if (!g)
		return NULL;
	jgen_obj_open(g);
	jgen_kstr(g, API_F_TO, to);
	jgen_kint(g, API_F_GENERATION, generation);
	jgen_obj_close(g);
	return body_done(g);
}

char *orch_body_generation(int64_t generation)
{
	struct jgen *g = jgen_new(false);
	if (!g)
		return NULL;
	jgen_obj_open(g);
	jgen_kint(g, API_F_GENERATION, generation);
	jgen_obj_close(g);
	return body_done(g);
}

static int get_str(const struct json *o, const char *k, char *dst, size_t n, struct err *e)
{
	const char *s = NULL;
	if (json_field_str(o, k, false, &s, e) < 0)
		return -1;
	orch_copy_clean(dst, n, s ? s : "");
	return 0;
}

/* An optional count or duration: 0 when absent; bounded so that products of
 * two of them cannot overflow. */
static int get_bounded(const struct json *o, const char *k, int64_t *out, struct err *e)
{
	*out = 0;
	if (json_field_int(o, k, false, out, e) < 0)
		return -1;
	if (*out < 0 || *out > INT32_MAX)
		return err_set(e, "\"%s\": %" PRId64 " is out of range", k, *out);
	return 0;
}

/* A version object's digest (validated) and image. */
static int get_version(const struct json *o, const char *k, char *dst, char *image, size_t image_len, struct err *e)
{
	const struct json *v;
	const char *d = NULL;
	struct img_digest dg;
	if (json_field(o, k, JSON_OBJECT, false, &v, e) < 0)
		return -1;
	if (!v)
		return 0;
	if (json_field_str(v, API_F_DIGEST, true, &d, e) < 0 || img_digest_parse(d, &dg, e) < 0 ||
	    get_str(v, API_F_IMAGE, image, image_len, e) < 0)
		return err_ctx(e, "\"%s\"", k);
	memcpy(dst, dg.s, sizeof dg.s);
	return 0;
}

/* The newest probes, oldest first: time, ok, ms, output. */
static int get_probes(const struct json *v, struct orch_status *s, struct err *e)
{
	size_t from = v->arr.n > ORCH_MAX_PROBE_ROWS ? v->arr.n - ORCH_MAX_PROBE_ROWS : 0;
	for (size_t i = from; i < v->arr.n; i++) {
		struct orch_probe_row *p = &s->probes[s->n_probes++];
		const struct json *it = v->arr.v[i], *ms;
		if (get_str(it, "time", p->time, sizeof p->time, e) < 0 ||
		    get_str(it, "output", p->output, sizeof p->output, e) < 0 ||
		    json_field_bool(it, "ok", false, &p->ok, e) < 0)
			return err_ctx(e, "[%zu]", i);
		ms = json_get(it, "ms");
		p->ms = ms && ms->type == JSON_REAL ? ms->d : ms && ms->type == JSON_INT ? (double)ms->i : 0.0;
	}
	return 0;
}

/* Empty strings and counts: cheaper than zeroing the whole struct, which a
 * rollout parses once per poll of every host. */
static void status_clear(struct orch_status *s)
{
	s->name[0] = s->phase[0] = s->phase_since[0] = s->rollout[0] = s->message[0] = '\0';
	s->desired[0] = s->desired_image[0] = s->current[0] = s->current_image[0] = s->current_since[0] = '\0';
	s->healthy_since[0] = '\0';
	s->generation = s->restarts = s->check_interval_ms = s->check_retries = 0;
	s->healthy = false;
	s->n_previous = s->n_probes = s->n_history = 0;
}

const char *orch_status_probe(const struct orch_status *s)
{
	return s->n_probes ? s->probes[s->n_probes - 1].output : "";
}

int orch_status_parse(const char *body, size_t len, const char *app, struct orch_status *s, struct err *e)
{
	struct json *j = json_parse(body, len, e);
	status_clear(s);
	if (!j)
		return -1;
	int rc = orch_status_from_json(j, app, s, e);
	json_free(j);
	return rc;
}

int orch_status_from_json(const struct json *j, const char *app, struct orch_status *s, struct err *e)
{
	const struct json *v, *h;
	const char *name = NULL;
	status_clear(s);
	if (j->type != JSON_OBJECT)
		return err_set(e, "expected an app status object");
	if (json_field_str(j, API_F_NAME, true, &name, e) < 0 ||
	    json_field_int(j, API_F_GENERATION, true, &s->generation, e) < 0 ||
	    get_str(j, API_F_PHASE, s->phase, sizeof s->phase, e) < 0 ||
	    get_str(j, API_F_PHASE_SINCE, s->phase_since, sizeof s->phase_since, e) < 0 ||
	    get_str(j, API_F_ROLLOUT, s->rollout, sizeof s->rollout, e) < 0 ||
	    get_str(j, API_F_MESSAGE, s->message, sizeof s->message, e) < 0 ||
	    json_field_int(j, API_F_RESTARTS, false, &s->restarts, e) < 0 ||
	    get_version(j, API_F_DESIRED, s->desired, s->desired_image, sizeof s->desired_image, e) < 0 ||
	    get_version(j, API_F_CURRENT, s->current, s->current_image, sizeof s->current_image, e) < 0)
		goto out;
	if (app && strcmp(name, app)) {
		err_set(e, "answer is about app \"%.64s\", not \"%s\"", name, app);
		goto out;
	}
	orch_copy_clean(s->name, sizeof s->name, name);
	if (!s->phase[0]) {
		err_set(e, "missing field \"%s\"", API_F_PHASE);
		goto out;
	}
	if (s->generation < 0) {
		err_set(e, "negative generation");
		goto out;
	}
	if (json_field(j, API_F_CURRENT, JSON_OBJECT, false, &v, e) < 0)
		goto out;
	if (v && get_str(v, API_F_SINCE, s->current_since, sizeof s->current_since, e) < 0)
		goto out;
	if (json_field(j, API_F_PREVIOUS, JSON_ARRAY, false, &v, e) < 0)
		goto out;
	for (size_t i = 0; v && i < v->arr.n && s->n_previous < ORCH_MAX_PREVIOUS; i++) {
		const char *d = NULL;
		struct img_digest dg;
		if (json_field_str(v->arr.v[i], API_F_DIGEST, true, &d, e) < 0 || img_digest_parse(d, &dg, e) < 0) {
			err_ctx(e, "\"%s\"[%zu]", API_F_PREVIOUS, i);
			goto out;
		}
		memcpy(s->previous[s->n_previous++], dg.s, sizeof dg.s);
	}
	if (json_field(j, API_F_HEALTH, JSON_OBJECT, false, &h, e) < 0)
		goto out;
	if (h) {
		if (json_field_bool(h, API_F_HEALTHY, false, &s->healthy, e) < 0 ||
		    get_str(h, API_F_HEALTHY_SINCE, s->healthy_since, sizeof s->healthy_since, e) < 0 ||
		    get_bounded(h, API_F_INTERVAL_MS, &s->check_interval_ms, e) < 0 ||
		    get_bounded(h, API_F_RETRIES, &s->check_retries, e) < 0 ||
		    json_field(h, API_F_PROBES, JSON_ARRAY, false, &v, e) < 0) {
			err_ctx(e, "\"%s\"", API_F_HEALTH);
			goto out;
		}
		if (v && get_probes(v, s, e) < 0) {
			err_ctx(e, "\"%s\"", API_F_PROBES);
			goto out;
		}
	}
	if (json_field(j, API_F_HISTORY, JSON_ARRAY, false, &v, e) < 0)
		goto out;
	/* keep the newest entries */
	size_t from = v && v->arr.n > ORCH_MAX_HISTORY ? v->arr.n - ORCH_MAX_HISTORY : 0;
	for (size_t i = from; v && i < v->arr.n; i++) {
		struct orch_hist *x = &s->history[s->n_history++];
		const struct json *it = v->arr.v[i];
		if (get_str(it, "time", x->time, sizeof x->time, e) < 0 ||
		    get_str(it, API_F_PHASE, x->phase, sizeof x->phase, e) < 0 ||
		    get_str(it, API_F_MESSAGE, x->message, sizeof x->message, e) < 0) {
			err_ctx(e, "\"%s\"[%zu]", API_F_HISTORY, i);
			goto out;
		}
	}
	return 0;
out:
	return -1;
}

int orch_apps_parse(const char *body, size_t len, struct orch_status **v, size_t *n, struct err *e)
{
	struct json *j = json_parse(body, len, e);
	const struct json *apps;
	int rc = -1;
	*v = NULL;
	*n = 0;
	if (!j)
		return -1;
	if (j->type != JSON_OBJECT) {
		err_set(e, "expected an object with \"apps\"");
		goto out;
	}
	if (json_field(j, "apps", JSON_ARRAY, true, &apps, e) < 0)
		goto out;
	if (apps->arr.n && !(*v = calloc(apps->arr.n, sizeof **v))) {
		err_errno(e, ENOMEM, "app list");
		goto out;
	}
	for (size_t i = 0; i < apps->arr.n; i++)
		if (orch_status_from_json(apps->arr.v[i], NULL, &(*v)[i], e) < 0) {
			err_ctx(e, "apps[%zu]", i);
			free(*v);
			*v = NULL;
			goto out;
		}
	*n = apps->arr.n;
	rc = 0;
out:
	json_free(j);
	return rc;
}

void orch_error_parse(const char *body, size_t len, char *code, size_t code_len, char *msg, size_t msg_len)
{
	struct err e;
	struct json *j = len ? json_parse(body, len, &e) : NULL;
	orch_copy_clean(code, code_len, json_get_str(j, "error"));
	orch_copy_clean(msg, msg_len, json_get_str(j, "message"));
	json_free(j);
}

int orch_info_platform(const char *body, size_t len, char *out, size_t out_len, struct err *e)
{
	struct json *j = json_parse(body, len, e);
	const struct json *p;
	const char *os = NULL, *arch = NULL, *variant = NULL;
	int rc = -1;
	if (!j)
		return -1;
	if (json_field(j, "platform", JSON_OBJECT, true, &p, e) == 0 && json_field_str(p, "os", true, &os, e) == 0 &&
	    json_field_str(p, "architecture", true, &arch, e) == 0 &&
	    json_field_str(p, "variant", false, &variant, e) == 0) {
		char tmp[256];
		snprintf(tmp, sizeof tmp, "%.60s/%.60s%s%.60s", os, arch, variant ? "/" : "", variant ? variant : "");
		orch_copy_clean(out, out_len, tmp);
		rc = 0;
	}
	json_free(j);
	return rc;
}

void orch_describe_http(char *buf, size_t n, long status, const char *body, size_t len)
{
	char code[64], msg[300];
	orch_error_parse(body, len, code, sizeof code, msg, sizeof msg);
	snprintf(buf, n, "HTTP %ld%s%s%s%s", status, *code ? " " : "", code, *msg ? ": " : "", msg);
}

const char *orch_token(struct orch_tokens *t, const char *path, struct err *e)
{
	for (size_t k = 0; k < t->n; k++)
		if (!strcmp(t->v[k].path, path))
			return t->v[k].value;
	char *buf;
	if (token_read_file(path, &buf, e) < 0)
		return NULL;
	struct orch_token *nv = realloc(t->v, (t->n + 1) * sizeof *nv);
	char *p = strdup(path);
	if (nv)
		t->v = nv;
	if (!nv || !p) {
		explicit_bzero(buf, strlen(buf));
		free(buf);
		free(p);
		err_errno(e, ENOMEM, "token");
		return NULL;
	}
	t->v[t->n++] = (struct orch_token){p, buf};
	return buf;
}

void orch_tokens_free(struct orch_tokens *t)
{
	for (size_t k = 0; k < t->n; k++) {
		free(t->v[k].path);
		explicit_bzero(t->v[k].value, strlen(t->v[k].value));
		free(t->v[k].value);
	}
	free(t->v);
	*t = (struct orch_tokens){0};
}
