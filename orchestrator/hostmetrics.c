/* hostmetrics.c: rampd's metrics API for the canary analysis (see
 * hostmetrics.h). */
#include "orchestrator/hostmetrics.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"

/* ---- the watch ---- */

static void add_name(struct jgen *g, const char **seen, size_t *n, const char *name)
{
	for (size_t i = 0; i < *n; i++)
		if (!strcmp(seen[i], name))
			return;
	seen[(*n)++] = name;
	jgen_obj_open(g);
	jgen_kstr(g, "name", name);
	jgen_obj_close(g);
}

char *orch_body_watch(const struct orch_an_config *c)
{
	const char *seen[2 * ORCH_AN_MAX_METRICS];
	size_t n = 0, len;
	const char *out;
	struct err e;
	struct jgen *g = jgen_new(false);
	if (!g)
		return NULL;
	jgen_obj_open(g);
	jgen_key(g, "series");
	jgen_arr_open(g);
	for (size_t k = 0; k < c->n && k < ORCH_AN_MAX_METRICS; k++) {
		add_name(g, seen, &n, c->metrics[k].series.name);
		if (c->metrics[k].kind == ORCH_AN_RATIO)
			add_name(g, seen, &n, c->metrics[k].total.name);
	}
	jgen_arr_close(g);
	jgen_obj_close(g);
	char *body = jgen_result(g, &out, &len, &e) == 0 ? strndup(out, len) : NULL;
	jgen_free(g);
	return body;
}

/* ---- the answer ---- */

static void *alloc_n(size_t n, size_t size, struct err *e)
{
	void *p = calloc(n ? n : 1, size);
	if (!p)
		err_errno(e, ENOMEM, "metrics");
	return p;
}

static int parse_value(const struct json *j, double *v, bool *absent, struct err *e)
{
	*absent = false;
	switch (j->type) {
	case JSON_NULL:
		*absent = true;
		*v = NAN;
		return 0;
	case JSON_INT:
		*v = (double)j->i;
		return 0;
	case JSON_REAL:
		*v = j->d;
		return 0;
	case JSON_STRING:
		if (!strcmp(j->str.s, "NaN"))
			*v = NAN;
		else if (!strcmp(j->str.s, "+Inf"))
			*v = INFINITY;
		else if (!strcmp(j->str.s, "-Inf"))
			*v = -INFINITY;
		else
			break;
		return 0;
	default:
		break;
	}
	return err_set(e, "a value is %s, not a number, null, \"NaN\" or \"±Inf\"", json_type_name(j->type));
}

static int parse_series(const struct json *j, size_t n_times, struct orch_mseries *s, struct err *e)
{
	const struct json *labels, *values;
	if (j->type != JSON_OBJECT)
		return err_set(e, "a series is not an object");
	if (json_field_str(j, "name", true, &s->name, e) < 0 || json_field(j, "labels", JSON_OBJECT, false, &labels, e) < 0 ||
	    json_field(j, "values", JSON_ARRAY, true, &values, e) < 0)
		return -1;
	if (labels) {
		if (labels->obj.n > ORCH_METRICS_MAX_LABELS)
			return err_set(e, "series %.100s: more than %d labels", s->name, ORCH_METRICS_MAX_LABELS);
		if (!(s->keys = alloc_n(labels->obj.n, sizeof *s->keys, e)) ||
		    !(s->values = alloc_n(labels->obj.n, sizeof *s->values, e)))
			return -1;
		for (size_t i = 0; i < labels->obj.n; i++) {
			if (labels->obj.v[i]->type != JSON_STRING)
				return err_set(e, "series %.100s: label %.100s is not a string", s->name, labels->obj.k[i]);
			s->keys[i] = labels->obj.k[i];
			s->values[i] = labels->obj.v[i]->str.s;
		}
		s->n_labels = labels->obj.n;
	}
	if (values->arr.n != n_times)
		return err_set(e, "series %.100s: %zu values for %zu times", s->name, values->arr.n, n_times);
	if (!(s->v = alloc_n(n_times, sizeof *s->v, e)) || !(s->absent = alloc_n(n_times, sizeof *s->absent, e)))
		return -1;
	for (size_t i = 0; i < n_times; i++)
		if (parse_value(values->arr.v[i], &s->v[i], &s->absent[i], e) < 0)
			return err_ctx(e, "series %.100s", s->name);
	return 0;
}

static int parse_version(const struct json *j, struct orch_mversion *v, struct err *e)
{
	const struct json *times, *series, *untrusted;
	if (j->type != JSON_OBJECT)
		return err_set(e, "a version is not an object");
	if (json_field_str(j, "digest", true, &v->digest, e) < 0 || json_field_bool(j, "current", true, &v->current, e) < 0 ||
	    json_field(j, "times", JSON_ARRAY, true, &times, e) < 0 ||
	    json_field(j, "series", JSON_ARRAY, true, &series, e) < 0)
		return -1;
	untrusted = json_get(j, "untrusted");
	if (untrusted && untrusted->type != JSON_NULL) {
		if (untrusted->type != JSON_OBJECT || !(v->untrusted = json_get_str(untrusted, "reason")))
			return err_set(e, "untrusted: not an object with a reason");
	}
	if (times->arr.n > ORCH_METRICS_MAX_TIMES || series->arr.n > ORCH_METRICS_MAX_SERIES)
		return err_set(e, "%zu times and %zu series: more than the limits (%d, %d)", times->arr.n, series->arr.n,
			       ORCH_METRICS_MAX_TIMES, ORCH_METRICS_MAX_SERIES);
	if (!(v->t_ms = alloc_n(times->arr.n, sizeof *v->t_ms, e)))
		return -1;
	for (size_t i = 0; i < times->arr.n; i++) {
		const struct json *t = times->arr.v[i];
		if (t->type != JSON_INT || t->i <= 0 || (i && t->i <= v->t_ms[i - 1]))
			return err_set(e, "times: entry %zu is not a time after the one before", i + 1);
		v->t_ms[i] = t->i;
	}
	v->n = times->arr.n;
	if (!(v->s = alloc_n(series->arr.n, sizeof *v->s, e)))
		return -1;
	v->n_series = series->arr.n;
	for (size_t i = 0; i < series->arr.n; i++)
		if (parse_series(series->arr.v[i], v->n, &v->s[i], e) < 0)
			return -1;
	return 0;
}

int orch_metrics_parse(const char *buf, size_t len, const char *app, struct orch_metrics *m, struct err *e)
{
	*m = (struct orch_metrics){0};
	const struct json *rampd, *versions, *eerr;
	const char *name;
	if (!(m->j = json_parse(buf, len, e)))
		goto fail;
	if (m->j->type != JSON_OBJECT) {
		err_set(e, "not a JSON object");
		goto fail;
	}
	if (json_field_str(m->j, "app", true, &name, e) < 0 || json_field(m->j, "rampd", JSON_OBJECT, true, &rampd, e) < 0 ||
	    json_field_str(rampd, "bootId", true, &m->boot_id, e) < 0 ||
	    json_field_int(m->j, "nowMs", true, &m->now_ms, e) < 0 ||
	    json_field(m->j, "versions", JSON_ARRAY, true, &versions, e) < 0)
		goto fail;
	if (strcmp(name, app)) {
		err_set(e, "the metrics of app \"%.100s\", not of \"%.100s\"", name, app);
		goto fail;
	}
	if ((eerr = json_get(m->j, "endpointError")) && eerr->type == JSON_STRING)
		m->endpoint_error = eerr->str.s;
	if (versions->arr.n > ORCH_METRICS_MAX_VERSIONS) {
		err_set(e, "%zu versions (at most %d)", versions->arr.n, ORCH_METRICS_MAX_VERSIONS);
		goto fail;
	}
	for (size_t i = 0; i < versions->arr.n; i++, m->n++)
		if (parse_version(versions->arr.v[i], &m->v[i], e) < 0) {
			m->n++;
			goto fail;
		}
	return 0;
fail:
	orch_metrics_free(m);
	return err_ctx(e, "metrics of %s", app);
}

void orch_metrics_free(struct orch_metrics *m)
{
	for (size_t i = 0; i < m->n; i++) {
		struct orch_mversion *v = &m->v[i];
		for (size_t k = 0; k < v->n_series; k++) {
			free(v->s[k].keys);
			free(v->s[k].values);
			free(v->s[k].v);
			free(v->s[k].absent);
		}
		free(v->s);
		free(v->t_ms);
	}
	json_free(m->j);
	*m = (struct orch_metrics){0};
}

const struct orch_mversion *orch_metrics_version(const struct orch_metrics *m, const char *digest, bool same)
{
	const struct orch_mversion *found = NULL;
	for (size_t i = 0; i < m->n; i++) {
		bool eq = !strcmp(m->v[i].digest, digest);
		if (eq != same)
			continue;
		if (!found || m->v[i].current)
			found = &m->v[i];
	}
	return found;
}

uint64_t orch_metrics_instance(const struct orch_metrics *m)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (const char *p = m->boot_id; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	return h ? h : 1;
}

/* ---- the samples of one metric ---- */

/* Do s's labels match sel's matchers (its name aside)? */
static bool match(const struct orch_an_selector *sel, const struct orch_mseries *s)
{
	return orch_an_selector_match(sel, sel->name, s->keys, s->values, s->n_labels);
}

static const char *label(const struct orch_mseries *s, const char *key)
{
	for (size_t i = 0; i < s->n_labels; i++)
		if (!strcmp(s->keys[i], key))
			return s->values[i];
	return NULL;
}

/* Add the series named `name` (NULL: sel's) whose labels match sel into
 * column col of v; le: only the bucket of that bound. */
static void sum_into(const struct orch_mversion *ver, const struct orch_an_selector *sel, const char *name,
		     size_t first, size_t n, double *v, size_t w, size_t col, const double *le)
{
	for (size_t k = 0; k < ver->n_series; k++) {
		const struct orch_mseries *s = &ver->s[k];
		if (strcmp(s->name, name ? name : sel->name) || !match(sel, s))
			continue;
		if (le) {
			const char *b = label(s, "le");
			if (!b || strtod(b, NULL) != *le)
				continue;
		}
		for (size_t i = 0; i < n; i++)
			if (!s->absent[first + i])
				v[i * w + col] += s->v[first + i];
	}
}

static int bucket_bounds(const struct orch_mversion *ver, const struct orch_an_selector *sel, const char *bucket,
			 double *le, size_t *nb, struct err *e)
{
	*nb = 0;
	for (size_t k = 0; k < ver->n_series; k++) {
		const struct orch_mseries *s = &ver->s[k];
		const char *b = label(s, "le");
		char *end;
		if (strcmp(s->name, bucket) || !b || !match(sel, s))
			continue;
		double x = strtod(b, &end);
		if (end == b || *end || !isfinite(x))
			continue; /* +Inf is the count */
		size_t i = 0;
		while (i < *nb && le[i] < x)
			i++;
		if (i < *nb && le[i] == x)
			continue;
		if (*nb == ORCH_AN_MAX_BOUNDS)
			return err_set(e, "histogram %.100s: more than %d buckets", sel->name, ORCH_AN_MAX_BOUNDS);
		memmove(le + i + 1, le + i, (*nb - i) * sizeof *le);
		le[i] = x;
		(*nb)++;
	}
	return 0;
}

int orch_metrics_series(const struct orch_mversion *v, const struct orch_an_metric *m, int64_t after_ms,
			struct orch_an_series *x, double **buf, struct err *e)
{
	double le[ORCH_AN_MAX_BOUNDS];
	size_t nb = 0, first = 0;
	char bucket[300], count[300];
	*x = (struct orch_an_series){0};
	*buf = NULL;
	while (first < v->n && v->t_ms[first] <= after_ms)
		first++;
	size_t n = v->n - first;
	if (m->kind == ORCH_AN_LATENCY) {
		snprintf(bucket, sizeof bucket, "%s_bucket", m->series.name);
		snprintf(count, sizeof count, "%s_count", m->series.name);
		if (bucket_bounds(v, &m->series, bucket, le, &nb, e) < 0)
			return -1;
		if (!nb)
			return 0;
	}
	size_t w = orch_an_width(m, nb);
	if (!n)
		return 0;
	double *b = calloc(n + n * w + nb, sizeof *b);
	if (!b)
		return err_errno(e, ENOMEM, "metrics");
	*buf = b;
	double *t = b, *val = b + n, *bounds = b + n + n * w;
	for (size_t i = 0; i < n; i++)
		t[i] = (double)v->t_ms[first + i] / 1000.0;
	switch (m->kind) {
	case ORCH_AN_RATIO:
		sum_into(v, &m->series, NULL, first, n, val, w, 0, NULL);
		sum_into(v, &m->total, NULL, first, n, val, w, 1, NULL);
		break;
	case ORCH_AN_LATENCY:
		memcpy(bounds, le, nb * sizeof *le);
		for (size_t k = 0; k < nb; k++)
			sum_into(v, &m->series, bucket, first, n, val, w, k, &le[k]);
		sum_into(v, &m->series, count, first, n, val, w, nb, NULL);
		x->le = bounds;
		break;
	default:
		sum_into(v, &m->series, NULL, first, n, val, w, 0, NULL);
		break;
	}
	x->n = n;
	x->t = t;
	x->v = val;
	x->width = w;
	return 0;
}
