/* promquery.c: Prometheus as a metrics source (see promquery.h). */
#include "orchestrator/promquery.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/http.h"

/* ---- templates ---- */

enum ph { PH_SERIES, PH_NAME, PH_ADDRESS, PH_LABEL };

/* The placeholder at p ("{{...}}"): its kind, the label key, its length. */
static int placeholder(const char *p, enum ph *k, char *key, size_t cap, size_t *len, struct err *e)
{
	const char *end = strstr(p + 2, "}}");
	size_t n = end ? (size_t)(end - p - 2) : 0;
	if (!end || n >= cap)
		return err_set(e, "an unfinished or too long placeholder");
	memcpy(key, p + 2, n);
	key[n] = '\0';
	*len = n + 4;
	if (!strcmp(key, "series"))
		*k = PH_SERIES;
	else if (!strcmp(key, "name"))
		*k = PH_NAME;
	else if (!strcmp(key, "address"))
		*k = PH_ADDRESS;
	else if (!strncmp(key, "label:", 6) && key[6]) {
		*k = PH_LABEL;
		memmove(key, key + 6, n - 5);
		for (const char *c = key; *c; c++)
			if (!isalnum((unsigned char)*c) && *c != '_' && *c != '.' && *c != '-')
				return err_set(e, "placeholder {{label:%.64s}}: a label key is letters, digits, '_', '.', '-'",
					       key);
	} else
		return err_set(e, "unknown placeholder {{%.64s}} (series, name, address, label:KEY)", key);
	return 0;
}

/* Append a host's value to a PromQL double-quoted string; in a regular
 * expression its special characters first get a backslash. */
static void put_value(const char *v, bool regex, char *buf, size_t cap, size_t *o)
{
	for (; *v; v++) {
		unsigned char c = (unsigned char)*v;
		char tmp[8];
		size_t n = 0;
		if (regex && strchr("\\.+*?()|[]{}^$", c))
			tmp[n++] = '\\', tmp[n++] = '\\';
		if (c == '\\' || c == '"')
			tmp[n++] = '\\', tmp[n++] = (char)c;
		else if (c == '\n')
			tmp[n++] = '\\', tmp[n++] = 'n';
		else if (c < 0x20 || c >= 0x7f)
			n += (size_t)snprintf(tmp + n, sizeof tmp - n, "\\x%02x", c);
		else
			tmp[n++] = (char)c;
		for (size_t i = 0; i < n; i++, (*o)++)
			if (*o < cap)
				buf[*o] = tmp[i];
	}
}

/* Walk template t; with h, write the query of `series` into buf. */
static int walk(const char *t, const char *series, const struct orch_host *h, char *buf, size_t cap, struct err *e)
{
	bool in_str = false, regex = false, has_series = false;
	char last = 0; /* the last byte outside blanks before a string opened */
	size_t o = 0;
	if (strlen(t) > ORCH_PROM_MAX_TEMPLATE)
		return err_set(e, "longer than %d bytes", ORCH_PROM_MAX_TEMPLATE);
	for (const char *p = t; *p;) {
		size_t pos = (size_t)(p - t) + 1;
		if (p[0] == '{' && p[1] == '{') {
			enum ph k;
			char key[80];
			size_t len = 0;
			const char *v = NULL;
			if (placeholder(p, &k, key, sizeof key, &len, e) < 0)
				return err_ctx(e, "byte %zu", pos);
			if ((k == PH_SERIES) == in_str)
				return err_set(e, "byte %zu: {{%s}} %s", pos, k == PH_SERIES ? "series" : key,
					       k == PH_SERIES ? "goes outside quotes"
							      : "goes inside double quotes (a host's value is a string)");
			has_series |= k == PH_SERIES;
			if (h) {
				if (k == PH_SERIES)
					v = series;
				else if (k == PH_NAME)
					v = h->name;
				else if (k == PH_ADDRESS && h->hostpart)
					v = h->hostpart;
				else if (k == PH_LABEL)
					v = orch_host_label(h, key);
				if (!v)
					return err_set(e, k == PH_ADDRESS ? "no network address for {{address}}"
									  : "no label \"%s\" in the fleet file", key);
				if (k == PH_SERIES) {
					for (; *v; v++, o++)
						if (o < cap)
							buf[o] = *v;
				} else if (k == PH_ADDRESS && strchr(v, ':')) {
					put_value("[", regex, buf, cap, &o);
					put_value(v, regex, buf, cap, &o);
					put_value("]", regex, buf, cap, &o);
				} else
					put_value(v, regex, buf, cap, &o);
			}
			p += len;
			continue;
		}
		char c = *p++;
		if (h && o < cap)
			buf[o] = c;
		o++;
		if (in_str) {
			if (c == '\\') {
				if (!*p)
					return err_set(e, "byte %zu: a backslash ends the template", pos);
				if (h && o < cap)
					buf[o] = *p;
				o++, p++;
			} else if (c == '"')
				in_str = false;
		} else if (c == '"') {
			in_str = true;
			regex = last == '~';
		} else if (c == '\'' || c == '`') {
			return err_set(e, "byte %zu: write strings in double quotes", pos);
		} else if (c != ' ' && c != '\t') {
			last = c;
		}
	}
	if (in_str)
		return err_set(e, "a string is not closed");
	if (!has_series)
		return err_set(e, "no {{series}}: every series the metric reads needs its own query");
	if (h) {
		if (o >= cap)
			return err_set(e, "the query is longer than %zu bytes", cap - 1);
		buf[o] = '\0';
	}
	return 0;
}

int orch_prom_template_check(const char *t, struct err *e)
{
	return walk(t, NULL, NULL, NULL, 0, e) < 0 ? err_ctx(e, "query template") : 0;
}

int orch_prom_render(const char *t, const char *series, const struct orch_host *h, char *buf, size_t cap,
		     struct err *e)
{
	return walk(t, series, h, buf, cap, e) < 0 ? err_ctx(e, "query template") : 0;
}

static void put_time(char *buf, size_t cap, int64_t ms)
{
	snprintf(buf, cap, "%" PRId64 ".%03" PRId64, ms / 1000, ms % 1000);
}

char *orch_prom_url(const char *base, const char *query, int64_t start_ms, int64_t end_ms, int64_t step_ms)
{
	char s[32], t[32], st[32];
	char *q = http_escape(query), *url = NULL;
	size_t blen = strlen(base);
	while (blen && base[blen - 1] == '/')
		blen--;
	put_time(s, sizeof s, start_ms);
	put_time(t, sizeof t, end_ms);
	put_time(st, sizeof st, step_ms);
	if (q && asprintf(&url, "%.*s/api/v1/query_range?query=%s&start=%s&end=%s&step=%s", (int)blen, base, q, s, t,
			  st) < 0)
		url = NULL;
	free(q);
	return url;
}

/* ---- answers ---- */

static int parse_point(const struct json *p, int64_t *t, double *v, struct err *e)
{
	const struct json *jt, *jv;
	char *end;
	if (p->type != JSON_ARRAY || p->arr.n != 2)
		return err_set(e, "a point is not [time, \"value\"]");
	jt = p->arr.v[0];
	jv = p->arr.v[1];
	double d = jt->type == JSON_INT ? (double)jt->i : jt->type == JSON_REAL ? jt->d : NAN;
	if (!isfinite(d) || d <= 0 || d > 1e11)
		return err_set(e, "a point's time is not a time in seconds");
	*t = llround(d * 1000);
	if (jv->type != JSON_STRING || !jv->str.len || jv->str.len > 64 || strpbrk(jv->str.s, "xX") ||
	    isspace((unsigned char)jv->str.s[0]))
		return err_set(e, "a point's value is not a number in a string");
	*v = strtod(jv->str.s, &end);
	if (*end)
		return err_set(e, "a point's value \"%.64s\" is not a number", jv->str.s);
	return 0;
}

static int parse_series(const struct json *j, struct orch_prom_answer *a, int64_t start_ms, int64_t end_ms,
			int64_t step_ms, struct orch_prom_series *s, struct err *e)
{
	const struct json *metric, *values;
	if (j->type != JSON_OBJECT || json_field(j, "metric", JSON_OBJECT, true, &metric, e) < 0 ||
	    json_field(j, "values", JSON_ARRAY, true, &values, e) < 0)
		return j->type != JSON_OBJECT ? err_set(e, "a result is not an object") : -1;
	(void)a;
	if (metric->obj.n > ORCH_METRICS_MAX_LABELS)
		return err_set(e, "a series has more than %d labels", ORCH_METRICS_MAX_LABELS);
	if (values->arr.n > ORCH_PROM_MAX_POINTS)
		return err_set(e, "a series has more than %d points", ORCH_PROM_MAX_POINTS);
	if (!(s->keys = calloc(metric->obj.n + 1, sizeof *s->keys)) ||
	    !(s->values = calloc(metric->obj.n + 1, sizeof *s->values)) ||
	    !(s->t_ms = calloc(values->arr.n + 1, sizeof *s->t_ms)) || !(s->v = calloc(values->arr.n + 1, sizeof *s->v)))
		return err_errno(e, ENOMEM, "answer");
	for (size_t i = 0; i < metric->obj.n; i++) {
		if (metric->obj.v[i]->type != JSON_STRING)
			return err_set(e, "label %.64s is not a string", metric->obj.k[i]);
		if (strcmp(metric->obj.k[i], "__name__")) {
			s->keys[s->n_labels] = metric->obj.k[i];
			s->values[s->n_labels++] = metric->obj.v[i]->str.s;
		}
	}
	for (size_t i = 0; i < values->arr.n; i++) {
		if (parse_point(values->arr.v[i], &s->t_ms[i], &s->v[i], e) < 0)
			return -1;
		int64_t t = s->t_ms[i];
		if (t < start_ms || t > end_ms || (t - start_ms) % step_ms || (i && t <= s->t_ms[i - 1]))
			return err_set(e, "a point at %" PRId64 " ms: not a time asked for (from %" PRId64 " every %" PRId64
					  " ms to %" PRId64 "), or not after the one before",
				       t, start_ms, step_ms, end_ms);
	}
	s->n = values->arr.n;
	return 0;
}

int orch_prom_parse(const char *buf, size_t len, const char *series, int64_t start_ms, int64_t end_ms, int64_t step_ms,
		    struct orch_prom_answer *a, struct err *e)
{
	const struct json *data, *result;
	const char *status, *type;
	*a = (struct orch_prom_answer){.series = series};
	if (step_ms <= 0 || end_ms < start_ms || (end_ms - start_ms) / step_ms >= ORCH_PROM_MAX_POINTS)
		return err_set(e, "Prometheus: a range of more than %d points asked", ORCH_PROM_MAX_POINTS);
	if (len > ORCH_PROM_MAX_BODY) {
		err_set(e, "an answer larger than %u bytes", ORCH_PROM_MAX_BODY);
		goto fail;
	}
	if (!(a->j = json_parse(buf, len, e)))
		goto fail;
	if (a->j->type != JSON_OBJECT) {
		err_set(e, "not a JSON object");
		goto fail;
	}
	if (json_field_str(a->j, "status", true, &status, e) < 0)
		goto fail;
	if (strcmp(status, "success")) {
		const char *why = json_get_str(a->j, "error");
		err_set(e, "status \"%.32s\": %.200s", status, why ? why : "(no error given)");
		goto fail;
	}
	if (json_field(a->j, "data", JSON_OBJECT, true, &data, e) < 0 || json_field_str(data, "resultType", true, &type, e) < 0 ||
	    json_field(data, "result", JSON_ARRAY, true, &result, e) < 0)
		goto fail;
	if (strcmp(type, "matrix")) {
		err_set(e, "resultType \"%.32s\", not matrix", type);
		goto fail;
	}
	if (result->arr.n > ORCH_PROM_MAX_SERIES) {
		err_set(e, "%zu series (at most %d)", result->arr.n, ORCH_PROM_MAX_SERIES);
		goto fail;
	}
	if (!(a->s = calloc(result->arr.n + 1, sizeof *a->s))) {
		err_errno(e, ENOMEM, "answer");
		goto fail;
	}
	for (size_t i = 0; i < result->arr.n; i++, a->n++)
		if (parse_series(result->arr.v[i], a, start_ms, end_ms, step_ms, &a->s[i], e) < 0) {
			a->n++;
			goto fail;
		}
	return 0;
fail:
	orch_prom_answer_free(a);
	return err_ctx(e, "Prometheus' answer for %.100s", series);
}

void orch_prom_answer_free(struct orch_prom_answer *a)
{
	for (size_t i = 0; i < a->n; i++) {
		free(a->s[i].keys);
		free(a->s[i].values);
		free(a->s[i].t_ms);
		free(a->s[i].v);
	}
	free(a->s);
	json_free(a->j);
	*a = (struct orch_prom_answer){0};
}

/* Index of time t among the sorted times[0..n), which hold it. */
static size_t find_time(const int64_t *times, size_t n, int64_t t)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (times[mid] < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int cmp_time(const void *x, const void *y)
{
	int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
	return (a > b) - (a < b);
}

int orch_prom_version(const struct orch_prom_answer *a, size_t n, struct orch_mversion *v, struct err *e)
{
	size_t total = 0, n_series = 0, k = 0;
	*v = (struct orch_mversion){.digest = "", .current = true};
	for (size_t i = 0; i < n; i++) {
		n_series += a[i].n;
		for (size_t s = 0; s < a[i].n; s++)
			total += a[i].s[s].n;
	}
	if (!(v->t_ms = calloc(total + 1, sizeof *v->t_ms)) || !(v->s = calloc(n_series + 1, sizeof *v->s)))
		goto nomem;
	for (size_t i = 0; i < n; i++)
		for (size_t s = 0; s < a[i].n; s++)
			for (size_t p = 0; p < a[i].s[s].n; p++)
				v->t_ms[v->n++] = a[i].s[s].t_ms[p];
	qsort(v->t_ms, v->n, sizeof *v->t_ms, cmp_time);
	for (size_t i = 0; i < v->n; i++)
		if (!k || v->t_ms[i] != v->t_ms[k - 1])
			v->t_ms[k++] = v->t_ms[i];
	v->n = k;
	for (size_t i = 0; i < n; i++)
		for (size_t s = 0; s < a[i].n; s++) {
			const struct orch_prom_series *ps = &a[i].s[s];
			struct orch_mseries *ms = &v->s[v->n_series++];
			*ms = (struct orch_mseries){.name = a[i].series, .keys = ps->keys, .values = ps->values,
						    .n_labels = ps->n_labels};
			if (!(ms->v = calloc(v->n + 1, sizeof *ms->v)) || !(ms->absent = calloc(v->n + 1, sizeof *ms->absent)))
				goto nomem;
			for (size_t p = 0; p < v->n; p++)
				ms->absent[p] = true;
			for (size_t p = 0; p < ps->n; p++) {
				size_t at = find_time(v->t_ms, v->n, ps->t_ms[p]);
				ms->v[at] = ps->v[p];
				ms->absent[at] = false;
			}
		}
	return 0;
nomem:
	orch_prom_version_free(v);
	return err_errno(e, ENOMEM, "Prometheus' answer");
}

void orch_prom_version_free(struct orch_mversion *v)
{
	for (size_t k = 0; k < v->n_series; k++) {
		free(v->s[k].v);
		free(v->s[k].absent);
	}
	free(v->s);
	free(v->t_ms);
	*v = (struct orch_mversion){0};
}

void orch_prom_resets(const struct orch_mversion *v, unsigned char *reset)
{
	memset(reset, 0, v->n);
	for (size_t k = 0; k < v->n_series; k++) {
		const struct orch_mseries *s = &v->s[k];
		size_t prev = SIZE_MAX;
		for (size_t i = 0; i < v->n; i++) {
			if (s->absent[i])
				continue;
			if (prev != SIZE_MAX && s->v[i] < s->v[prev])
				reset[i] = 1;
			prev = i;
		}
	}
}
