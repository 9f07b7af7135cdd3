/* samples.c: watches, the windows of samples per version, counter resets
 * and the JSON of GET /v1/apps/NAME/metrics (see samples.h). */
#include "runtime/rampd/samples.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "lib/api.h"
#include "lib/cleanup.h"
#include "lib/log.h"

/* ---- watches ---- */

void rt_watch_free(struct rt_watch *w)
{
	for (size_t i = 0; i < w->n; i++) {
		free(w->sel[i].name);
		img_kvs_free(&w->sel[i].match);
	}
	free(w->sel);
	w->sel = NULL;
	w->n = 0;
}

static bool same_kvs(const struct img_kvs *a, const struct img_kvs *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) /* both sorted by key */
		if (strcmp(a->v[i].k, b->v[i].k) || strcmp(a->v[i].v, b->v[i].v))
			return false;
	return true;
}

static int selector(const struct json *o, size_t i, struct rt_selector *s, struct err *e)
{
	static const char *const keys[] = {API_F_NAME, API_F_LABELS, NULL};
	const char *name;
	const struct json *l;
	if (o->type != JSON_OBJECT)
		return err_set(e, "series %zu: expected an object {\"name\": ..., \"labels\": {...}}", i);
	if (json_only_keys(o, keys, "a series", e) < 0 || json_field_str(o, API_F_NAME, true, &name, e) < 0 ||
	    json_field(o, API_F_LABELS, JSON_OBJECT, false, &l, e) < 0)
		return err_ctx(e, "series %zu", i);
	size_t nl = strlen(name);
	if (nl > RT_WATCH_NAME_MAX || !rt_prom_metric_name_ok(name, nl))
		return err_set(e, "series %zu: \"%.80s\" is not a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*, at most %d bytes)",
			       i, name, RT_WATCH_NAME_MAX);
	if (!(s->name = strdup(name)))
		return err_errno(e, ENOMEM, "watch");
	if (l && l->obj.n > RT_WATCH_MATCHERS_MAX)
		return err_set(e, "series %zu (%s): more than %d labels", i, name, RT_WATCH_MATCHERS_MAX);
	for (size_t k = 0; l && k < l->obj.n; k++) {
		const char *ln = l->obj.k[k];
		const struct json *v = l->obj.v[k];
		if (strlen(ln) > RT_WATCH_NAME_MAX || !rt_prom_label_name_ok(ln, strlen(ln)))
			return err_set(e, "series %zu (%s): \"%.80s\" is not a label name ([a-zA-Z_][a-zA-Z0-9_]*)", i, name, ln);
		if (v->type != JSON_STRING || strlen(v->str.s) != v->str.len || v->str.len > RT_WATCH_VALUE_MAX)
			return err_set(e, "series %zu (%s): label %s: expected a string of at most %d bytes", i, name, ln,
				       RT_WATCH_VALUE_MAX);
		if (img_kvs_set(&s->match, ln, v->str.s, e) < 0)
			return -1;
	}
	return 0;
}

int rt_watch_parse(const char *body, size_t len, size_t max, struct rt_watch *w, struct err *e)
{
	static const char *const keys[] = {API_F_SERIES, NULL};
	const struct json *list;
	memset(w, 0, sizeof *w);
	struct json *j = json_parse(body, len, e);
	if (!j)
		return err_ctx(e, "watch");
	int rc = -1;
	if (json_only_keys(j, keys, "watch", e) < 0 || json_field(j, API_F_SERIES, JSON_ARRAY, true, &list, e) < 0)
		goto out;
	if (list->arr.n == 0) {
		err_set(e, "watch: no series (DELETE the watch to stop watching)");
		goto out;
	}
	if (list->arr.n > max) {
		err_set(e, "watch: %zu series, more than the limit of %zu (max_series)", list->arr.n, max);
		goto out;
	}
	if (!(w->sel = calloc(list->arr.n, sizeof *w->sel))) {
		err_errno(e, ENOMEM, "watch");
		goto out;
	}
	for (size_t i = 0; i < list->arr.n; i++) {
		w->n++;
		if (selector(list->arr.v[i], i, &w->sel[i], e) < 0)
			goto out;
		for (size_t k = 0; k < i; k++)
			if (!strcmp(w->sel[k].name, w->sel[i].name) && same_kvs(&w->sel[k].match, &w->sel[i].match)) {
				err_set(e, "watch: series %zu repeats series %zu (%s)", i, k, w->sel[i].name);
				goto out;
			}
	}
	rc = 0;
out:
	json_free(j);
	if (rc < 0)
		rt_watch_free(w);
	return rc;
}

int rt_watch_copy(struct rt_watch *dst, const struct rt_watch *src, struct err *e)
{
	memset(dst, 0, sizeof *dst);
	if (!src->n)
		return 0;
	if (!(dst->sel = calloc(src->n, sizeof *dst->sel)))
		return err_errno(e, ENOMEM, "watch");
	for (size_t i = 0; i < src->n; i++) {
		dst->n++;
		if (!(dst->sel[i].name = strdup(src->sel[i].name)) || img_kvs_copy(&dst->sel[i].match, &src->sel[i].match, e) < 0) {
			rt_watch_free(dst);
			return err_errno(e, ENOMEM, "watch");
		}
	}
	return 0;
}

static void kvs_json(struct jgen *g, const struct img_kvs *kv)
{
	jgen_obj_open(g);
	for (size_t i = 0; i < kv->n; i++)
		jgen_kstr(g, kv->v[i].k, kv->v[i].v);
	jgen_obj_close(g);
}

void rt_watch_json(const struct rt_watch *w, struct jgen *g)
{
	jgen_arr_open(g);
	for (size_t i = 0; i < w->n; i++) {
		jgen_obj_open(g);
		jgen_kstr(g, API_F_NAME, w->sel[i].name);
		jgen_key(g, API_F_LABELS);
		kvs_json(g, &w->sel[i].match);
		jgen_obj_close(g);
	}
	jgen_arr_close(g);
}

/* What a series is: its name, family, kind and labels (sorted by name), and
 * the key that tells it apart: name{k="v",...} with the values escaped. */
struct ident {
	char *key, *name, *family;
	enum rt_prom_type type;
	enum rt_prom_role role;
	bool cumulative;
	struct img_kvs labels;
};

static void ident_free(struct ident *id)
{
	free(id->key);
	free(id->name);
	free(id->family);
	img_kvs_free(&id->labels);
	memset(id, 0, sizeof *id);
}

/* The name matches (the sample's own, or its family's: a histogram's base
 * name means its buckets, _sum and _count) and so does every label asked. */
static bool matches(const struct rt_selector *s, const char *name, const char *family, enum rt_prom_role role,
		    const char *(*get)(const void *, const char *), const void *labels)
{
	if (strcmp(s->name, name) && (strcmp(s->name, family) || role == RT_PROM_CREATED))
		return false;
	for (size_t i = 0; i < s->match.n; i++) {
		const char *v = get(labels, s->match.v[i].k);
		if (!v || strcmp(v, s->match.v[i].v))
			return false;
	}
	return true;
}

static const char *sample_label(const void *p, const char *k)
{
	const struct rt_prom_sample *s = p;
	for (size_t i = 0; i < s->n_labels; i++)
		if (!strcmp(s->labels[i].name, k))
			return s->labels[i].value;
	return NULL;
}

static const char *kvs_label(const void *p, const char *k)
{
	return img_kvs_get(p, k);
}

bool rt_watch_match(const struct rt_watch *w, const struct rt_prom_sample *s)
{
	for (size_t i = 0; i < w->n; i++)
		if (matches(&w->sel[i], s->name, s->family, s->role, sample_label, s))
			return true;
	return false;
}

static bool watch_keeps(const struct rt_watch *w, const struct ident *id)
{
	for (size_t i = 0; i < w->n; i++)
		if (matches(&w->sel[i], id->name, id->family, id->role, kvs_label, &id->labels))
			return true;
	return false;
}

/* ---- since ---- */

static bool digits(const char *s, size_t n, int *out)
{
	int v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

int rt_samples_parse_since(const char *s, int64_t *ms, struct err *e)
{
	size_t n = strlen(s);
	if (n == 0)
		goto bad;
	if (strspn(s, "0123456789") == n) {
		if (n > 15) /* beyond the year 33000 */
			goto bad;
		*ms = strtoll(s, NULL, 10);
		return 0;
	}
	/* YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM) */
	struct tm tm = {0};
	int Y, M, D, h, m, sec, oh = 0, om = 0, frac_ms = 0;
	if (n < 20 || !digits(s, 4, &Y) || s[4] != '-' || !digits(s + 5, 2, &M) || s[7] != '-' || !digits(s + 8, 2, &D) ||
	    (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &m) ||
	    s[16] != ':' || !digits(s + 17, 2, &sec))
		goto bad;
	size_t i = 19;
	if (s[i] == '.') {
		size_t f = ++i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == f || i - f > 9)
			goto bad;
		for (size_t k = f; k < f + 3; k++)
			frac_ms = frac_ms * 10 + (k < i ? s[k] - '0' : 0);
	}
	int sign = 0;
	if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == n)
		sign = 0;
	else if ((s[i] == '+' || s[i] == '-') && i + 6 == n && digits(s + i + 1, 2, &oh) && s[i + 3] == ':' &&
		 digits(s + i + 4, 2, &om) && oh <= 23 && om <= 59)
		sign = s[i] == '+' ? 1 : -1;
	else
		goto bad;
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0;
	if (Y < 1970 || M < 1 || M > 12 || D < 1 || D > mdays[M - 1] || (M == 2 && D == 29 && !leap) || h > 23 ||
	    m > 59 || sec > 60)
		goto bad;
	tm.tm_year = Y - 1900;
	tm.tm_mon = M - 1;
	tm.tm_mday = D;
	tm.tm_hour = h;
	tm.tm_min = m;
	tm.tm_sec = sec == 60 ? 59 : sec; /* a leap second: its last representable instant */
	time_t t = timegm(&tm);
	*ms = ((int64_t)t - sign * (oh * 3600 + om * 60)) * 1000 + frac_ms;
	if (*ms < 0)
		goto bad;
	return 0;
bad:
	return err_set(e, "since=%.60s: expected an RFC 3339 time (2026-11-26T10:15:04Z) or unix milliseconds", s);
}

/* ---- batches ---- */

struct entry {
	struct ident id;
	double v;
};

struct rt_batch {
	struct entry *e;
	size_t n, max;
	size_t dropped; /* watched samples beyond max */
};

struct rt_batch *rt_batch_new(size_t max)
{
	struct rt_batch *b = calloc(1, sizeof *b);
	if (b)
		b->max = max;
	return b;
}

void rt_batch_free(struct rt_batch *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n; i++)
		ident_free(&b->e[i].id);
	free(b->e);
	free(b);
}

/* name{k="v",...}, labels sorted, values escaped as in the text format */
static char *make_key(const char *name, const struct img_kvs *l)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	fprintf(f, "%s{", name);
	for (size_t i = 0; i < l->n; i++) {
		fprintf(f, "%s%s=\"", i ? "," : "", l->v[i].k);
		for (const char *c = l->v[i].v; *c; c++)
			if (*c == '\\' || *c == '"')
				fprintf(f, "\\%c", *c);
			else if (*c == '\n')
				fputs("\\n", f);
			else
				fputc(*c, f);
		fputc('"', f);
	}
	fputc('}', f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

int rt_batch_add(struct rt_batch *b, const struct rt_prom_sample *s, struct err *e)
{
	struct ident id = {.type = s->type, .role = s->role, .cumulative = rt_prom_cumulative(s)};
	for (size_t i = 0; i < s->n_labels; i++)
		if (img_kvs_set(&id.labels, s->labels[i].name, s->labels[i].value, e) < 0)
			goto nomem;
	if (!(id.key = make_key(s->name, &id.labels)))
		goto nomem;
	for (size_t i = 0; i < b->n; i++)
		if (!strcmp(b->e[i].id.key, id.key)) {
			err_set(e, "line %zu: %.300s appears twice in the page", s->line, id.key);
			ident_free(&id);
			return -1;
		}
	if (b->n == b->max) {
		b->dropped++;
		ident_free(&id);
		return 0;
	}
	if (!(id.name = strdup(s->name)) || !(id.family = strdup(s->family)))
		goto nomem;
	if (!b->e && !(b->e = calloc(b->max ? b->max : 1, sizeof *b->e)))
		goto nomem;
	b->e[b->n].id = id;
	b->e[b->n].v = s->value;
	b->n++;
	return 0;
nomem:
	ident_free(&id);
	return err_errno(e, ENOMEM, "line %zu", s->line);
}

/* ---- windows ---- */

/* A slot of a series with no sample at that time: a NaN with a payload of
 * its own, never produced by arithmetic or by the parser (which gives the
 * plain NaN). */
#define ABSENT_BITS 0x7ff80000000a1b5eULL

static double absent(void)
{
	uint64_t b = ABSENT_BITS;
	double d;
	memcpy(&d, &b, sizeof d);
	return d;
}

static bool is_absent(double d)
{
	uint64_t b;
	memcpy(&b, &d, sizeof b);
	return b == ABSENT_BITS;
}

struct series {
	struct ident id;
	double *v;        /* the window's capacity, in the window's ring order */
	double last_raw;  /* cumulative ones: the last value the app served ... */
	double offset;    /* ... and what it had reached before its restarts */
	bool has_raw;
	uint64_t resets;
};

struct rt_window {
	struct img_digest digest;
	int64_t *t;           /* scrape times, unix ms; a ring of cap */
	size_t n, cap, head;  /* head: the oldest */
	struct series **s;
	size_t n_s;
	uint64_t scrapes, failures, consecutive, restarts;
	size_t dropped;       /* series over max_series at the last scrape */
	bool has_instance;
	uint64_t instance;
	int64_t last;         /* the last scrape, good or not (unix ms) */
	int64_t last_ok, last_error_time, untrusted_time;
	char last_error[512], untrusted[512];
};

static void series_free(struct series *s)
{
	if (!s)
		return;
	ident_free(&s->id);
	free(s->v);
	free(s);
}

static void window_free(struct rt_window *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->n_s; i++)
		series_free(w->s[i]);
	free(w->s);
	free(w->t);
	free(w);
}

struct rt_samples *rt_samples_new(void)
{
	struct rt_samples *m = calloc(1, sizeof *m);
	if (m)
		pthread_mutex_init(&m->mu, NULL);
	return m;
}

void rt_samples_free(struct rt_samples *m)
{
	if (!m)
		return;
	rt_watch_free(&m->watch);
	for (size_t i = 0; i < m->n_win; i++)
		window_free(m->win[i]);
	pthread_mutex_destroy(&m->mu);
	free(m);
}

static void drop_window(struct rt_samples *m, size_t i)
{
	window_free(m->win[i]);
	memmove(&m->win[i], &m->win[i + 1], (m->n_win - i - 1) * sizeof *m->win);
	m->n_win--;
}

void rt_samples_set_watch(struct rt_samples *m, struct rt_watch *w)
{
	static uint64_t gen;
	rt_watch_free(&m->watch);
	m->watch = *w;
	memset(w, 0, sizeof *w);
	m->watch_gen = __atomic_add_fetch(&gen, 1, __ATOMIC_RELAXED); /* unique across apps */
	m->next_due = 0;                                              /* scrape at once */
	if (!m->watch.n) {
		while (m->n_win)
			drop_window(m, m->n_win - 1);
		return;
	}
	for (size_t i = 0; i < m->n_win; i++) {
		struct rt_window *win = m->win[i];
		size_t k = 0;
		for (size_t j = 0; j < win->n_s; j++) {
			if (watch_keeps(&m->watch, &win->s[j]->id))
				win->s[k++] = win->s[j];
			else
				series_free(win->s[j]);
		}
		win->n_s = k;
	}
}

/* The window of digest, made the newest (created when there is none, the
 * oldest dropped to make room); windows of versions that no longer run
 * are dropped once older than span_ms. */
static struct rt_window *window_for(struct rt_samples *m, const struct img_digest *d, int64_t now, int64_t span_ms)
{
	for (size_t i = m->n_win; i-- > 0;)
		if (!img_digest_eq(&m->win[i]->digest, d) && m->win[i]->last < now - span_ms)
			drop_window(m, i);
	struct rt_window *w = NULL;
	size_t i;
	for (i = 0; i < m->n_win && !w; i++)
		if (img_digest_eq(&m->win[i]->digest, d))
			w = m->win[i];
	if (w) {
		memmove(&m->win[1], &m->win[0], (i - 1) * sizeof *m->win);
		m->win[0] = w;
		return w;
	}
	if (!(w = calloc(1, sizeof *w)))
		return NULL;
	w->digest = *d;
	if (m->n_win == RT_SAMPLES_WINDOWS)
		drop_window(m, m->n_win - 1);
	memmove(&m->win[1], &m->win[0], m->n_win * sizeof *m->win);
	m->win[0] = w;
	m->n_win++;
	return w;
}

/* A new slot at time t for every series (absent until set); the ring grows
 * up to max, then the oldest slot is reused. -1 on ENOMEM. */
static int append_slot(struct rt_window *w, int64_t t, size_t max, size_t *slot)
{
	if (w->n == w->cap && w->cap < max) {
		size_t cap = w->cap ? w->cap * 2 : 16;
		if (cap > max)
			cap = max;
		int64_t *nt = malloc(cap * sizeof *nt);
		double **nv = calloc(w->n_s ? w->n_s : 1, sizeof *nv);
		bool ok = nt && nv;
		for (size_t j = 0; ok && j < w->n_s; j++)
			ok = (nv[j] = malloc(cap * sizeof **nv)) != NULL;
		if (!ok) {
			for (size_t j = 0; nv && j < w->n_s; j++)
				free(nv[j]);
			free(nv);
			free(nt);
			return -1;
		}
		/* in order, oldest first */
		for (size_t i = 0; i < w->n; i++) {
			size_t from = (w->head + i) % w->cap;
			nt[i] = w->t[from];
			for (size_t j = 0; j < w->n_s; j++)
				nv[j][i] = w->s[j]->v[from];
		}
		free(w->t);
		w->t = nt;
		for (size_t j = 0; j < w->n_s; j++) {
			free(w->s[j]->v);
			w->s[j]->v = nv[j];
		}
		free(nv);
		w->cap = cap;
		w->head = 0;
	}
	if (w->n < w->cap) {
		*slot = (w->head + w->n) % w->cap;
		w->n++;
	} else {
		*slot = w->head;
		w->head = (w->head + 1) % w->cap;
	}
	w->t[*slot] = t;
	for (size_t j = 0; j < w->n_s; j++)
		w->s[j]->v[*slot] = absent();
	return 0;
}

static struct series *find_series(const struct rt_window *w, const char *key)
{
	for (size_t j = 0; j < w->n_s; j++)
		if (!strcmp(w->s[j]->id.key, key))
			return w->s[j];
	return NULL;
}

static struct series *add_series(struct rt_window *w, struct ident *id)
{
	struct series *s = calloc(1, sizeof *s);
	struct series **ns = s ? realloc(w->s, (w->n_s + 1) * sizeof *ns) : NULL;
	if (ns)
		w->s = ns;
	if (!ns || !(s->v = malloc(w->cap * sizeof *s->v))) {
		free(s);
		return NULL;
	}
	for (size_t i = 0; i < w->cap; i++)
		s->v[i] = absent();
	s->id = *id;
	memset(id, 0, sizeof *id);
	w->s[w->n_s++] = s;
	return s;
}

static void untrusted(struct rt_window *w, int64_t t, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void untrusted(struct rt_window *w, int64_t t, const char *fmt, ...)
{
	va_list ap;
	if (w->untrusted[0])
		return; /* the first reason stays */
	va_start(ap, fmt);
	vsnprintf(w->untrusted, sizeof w->untrusted, fmt, ap);
	va_end(ap);
	w->untrusted_time = t;
}

static bool same_but_le(const struct ident *a, const struct ident *b)
{
	size_t i = 0, j = 0;
	if (strcmp(a->family, b->family))
		return false;
	for (;;) {
		while (i < a->labels.n && !strcmp(a->labels.v[i].k, "le"))
			i++;
		while (j < b->labels.n && !strcmp(b->labels.v[j].k, "le"))
			j++;
		if (i == a->labels.n || j == b->labels.n)
			return i == a->labels.n && j == b->labels.n;
		if (strcmp(a->labels.v[i].k, b->labels.v[j].k) || strcmp(a->labels.v[i].v, b->labels.v[j].v))
			return false;
		i++, j++;
	}
}

/* A histogram's buckets only grow with le, and its +Inf bucket is its count. */
static void check_histograms(struct rt_window *w, const struct rt_batch *b, int64_t t)
{
	for (size_t i = 0; i < b->n; i++) {
		const struct entry *x = &b->e[i];
		if (x->id.type != RT_PROM_HISTOGRAM || x->id.role != RT_PROM_BUCKET)
			continue;
		double lx, ly;
		const char *le = img_kvs_get(&x->id.labels, "le");
		if (!le || rt_prom_parse_value(le, strlen(le), &lx) < 0)
			continue;
		for (size_t j = 0; j < b->n; j++) {
			const struct entry *y = &b->e[j];
			if (i == j || y->id.type != RT_PROM_HISTOGRAM || !same_but_le(&x->id, &y->id))
				continue;
			if (y->id.role == RT_PROM_COUNT && isinf(lx) && x->v != y->v)
				untrusted(w, t, "%.200s is %g but %.200s is %g", x->id.key, x->v, y->id.key, y->v);
			const char *le2 = y->id.role == RT_PROM_BUCKET ? img_kvs_get(&y->id.labels, "le") : NULL;
			if (le2 && rt_prom_parse_value(le2, strlen(le2), &ly) == 0 && lx < ly && x->v > y->v)
				untrusted(w, t, "%.200s is %g, more than the wider bucket %.200s (%g)", x->id.key, x->v, y->id.key,
					  y->v);
		}
	}
}

static void record_value(struct rt_window *w, struct series *s, size_t slot, double raw, bool restarted, int64_t t)
{
	if (!s->id.cumulative) {
		s->v[slot] = isnan(raw) ? NAN : raw; /* a plain NaN, never the absent mark */
		return;
	}
	if (!isfinite(raw) || raw < 0) {
		untrusted(w, t, "%.300s is %g: not a count", s->id.key, raw);
		return; /* absent, not made up */
	}
	if (s->has_raw && raw < s->last_raw) {
		/* it started again from 0: what it had reached before still counts */
		s->offset += s->last_raw;
		s->resets++;
		if (!restarted)
			untrusted(w, t, "%.300s went down from %g to %g while the same container ran", s->id.key, s->last_raw, raw);
	}
	s->last_raw = raw;
	s->has_raw = true;
	s->v[slot] = s->offset + raw;
}

void rt_samples_record(struct rt_samples *m, const struct rt_scrape_result *r, size_t max_series,
		       size_t max_samples, int64_t span_ms)
{
	if (r->gen != m->watch_gen || !m->watch.n || !m->target.running || r->instance != m->target.instance)
		return; /* the watch or the container changed while it ran */
	struct rt_window *w = window_for(m, &r->digest, r->time, span_ms);
	if (!w) {
		log_warn("metrics: out of memory for a window of samples");
		return;
	}
	w->scrapes++;
	w->last = r->time;
	if (r->error) {
		w->failures++;
		w->consecutive++;
		snprintf(w->last_error, sizeof w->last_error, "%s", r->error);
		w->last_error_time = r->time;
		return;
	}
	bool restarted = w->has_instance && w->instance != r->instance;
	w->restarts += restarted;
	w->instance = r->instance;
	w->has_instance = true;
	int64_t t = r->time;
	if (w->n) {
		int64_t prev = w->t[(w->head + w->n - 1) % w->cap];
		if (t <= prev)
			t = prev + 1; /* the clock went back: times stay increasing */
	}
	size_t slot;
	if (append_slot(w, t, max_samples, &slot) < 0) {
		w->failures++;
		snprintf(w->last_error, sizeof w->last_error, "out of memory for the samples");
		w->last_error_time = t;
		return;
	}
	w->consecutive = 0;
	w->last_ok = t;
	w->dropped = r->b->dropped;
	for (size_t i = 0; i < r->b->n; i++) {
		struct entry *x = &r->b->e[i];
		struct series *s = find_series(w, x->id.key);
		if (!s && w->n_s >= max_series) {
			w->dropped++;
			continue;
		}
		if (!s) {
			struct ident id = {0};
			/* the batch is the caller's: copy what the series keeps */
			id.type = x->id.type;
			id.role = x->id.role;
			id.cumulative = x->id.cumulative;
			struct err e;
			if (!(id.key = strdup(x->id.key)) || !(id.name = strdup(x->id.name)) ||
			    !(id.family = strdup(x->id.family)) || img_kvs_copy(&id.labels, &x->id.labels, &e) < 0 ||
			    !(s = add_series(w, &id))) {
				ident_free(&id);
				w->dropped++;
				continue;
			}
		}
		record_value(w, s, slot, x->v, restarted, t);
	}
	check_histograms(w, r->b, t);
}

/* ---- JSON ---- */

static void number(struct jgen *g, double v)
{
	if (is_absent(v)) {
		jgen_null(g);
	} else if (isnan(v)) {
		jgen_str(g, "NaN");
	} else if (isinf(v)) {
		jgen_str(g, v > 0 ? "+Inf" : "-Inf");
	} else {
		struct json j = {.type = JSON_REAL, .d = v};
		jgen_value(g, &j);
	}
}

static void kint_or_null(struct jgen *g, const char *k, int64_t v)
{
	jgen_key(g, k);
	if (v)
		jgen_int(g, v);
	else
		jgen_null(g);
}

static void window_json(const struct rt_samples *m, const struct rt_window *w, int64_t since, struct jgen *g)
{
	jgen_obj_open(g);
	jgen_kstr(g, API_F_DIGEST, w->digest.s);
	jgen_kbool(g, API_F_CURRENT_FLAG, m->target.running && img_digest_eq(&m->target.digest, &w->digest));
	jgen_kint(g, API_F_SCRAPES, (int64_t)w->scrapes);
	jgen_kint(g, API_F_FAILURES, (int64_t)w->failures);
	jgen_kint(g, API_F_CONSECUTIVE_FAILURES, (int64_t)w->consecutive);
	jgen_key(g, API_F_LAST_ERROR);
	if (w->last_error[0])
		jgen_str(g, w->last_error);
	else
		jgen_null(g);
	kint_or_null(g, API_F_LAST_ERROR_MS, w->last_error_time);
	kint_or_null(g, API_F_LAST_SCRAPE_MS, w->last_ok);
	jgen_kint(g, API_F_RESTARTS, (int64_t)w->restarts);
	jgen_key(g, API_F_UNTRUSTED);
	if (w->untrusted[0]) {
		jgen_obj_open(g);
		jgen_kint(g, API_F_TIME_MS, w->untrusted_time);
		jgen_kstr(g, API_F_REASON, w->untrusted);
		jgen_obj_close(g);
	} else {
		jgen_null(g);
	}
	jgen_kint(g, API_F_DROPPED_SERIES, (int64_t)w->dropped);
	size_t first = 0; /* the first sample after since, in ring order */
	while (first < w->n && w->t[(w->head + first) % w->cap] <= since)
		first++;
	jgen_key(g, API_F_TIMES);
	jgen_arr_open(g);
	for (size_t i = first; i < w->n; i++)
		jgen_int(g, w->t[(w->head + i) % w->cap]);
	jgen_arr_close(g);
	jgen_key(g, API_F_SERIES);
	jgen_arr_open(g);
	for (size_t j = 0; j < w->n_s; j++) {
		const struct series *s = w->s[j];
		jgen_obj_open(g);
		jgen_kstr(g, API_F_NAME, s->id.name);
		jgen_kstr(g, API_F_FAMILY, s->id.family);
		jgen_kstr(g, API_F_TYPE, rt_prom_type_name(s->id.type));
		jgen_key(g, API_F_LABELS);
		kvs_json(g, &s->id.labels);
		jgen_kbool(g, API_F_CUMULATIVE, s->id.cumulative);
		jgen_kint(g, API_F_RESETS, (int64_t)s->resets);
		jgen_key(g, API_F_VALUES);
		jgen_arr_open(g);
		for (size_t i = first; i < w->n; i++)
			number(g, s->v[(w->head + i) % w->cap]);
		jgen_arr_close(g);
		jgen_obj_close(g);
	}
	jgen_arr_close(g);
	jgen_obj_close(g);
}

void rt_samples_json(const struct rt_samples *m, int64_t since, struct jgen *g)
{
	jgen_arr_open(g);
	for (size_t i = 0; i < m->n_win; i++)
		window_json(m, m->win[i], since, g);
	jgen_arr_close(g);
}

/* ---- boot id ---- */

static char boot_id[33];

static void make_boot_id(void)
{
	unsigned char r[16];
	if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
		/* no entropy yet (early boot): the time and pid still tell restarts apart */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		uint64_t a = (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 32), b = (uint64_t)ts.tv_nsec;
		memcpy(r, &a, 8);
		memcpy(r + 8, &b, 8);
	}
	for (size_t i = 0; i < sizeof r; i++)
		snprintf(boot_id + 2 * i, 3, "%02x", r[i]);
}

const char *rt_boot_id(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, make_boot_id);
	return boot_id;
}
