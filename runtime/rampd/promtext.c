/* promtext.c: a strict, streaming parser of the Prometheus text exposition
 * format (see promtext.h). One line is kept at a time; it is parsed in place
 * (names and label values are cut and unescaped inside the line buffer). */
#include "runtime/rampd/promtext.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"

#define VALUE_MAX 128 /* bytes of a number as written */

void rt_prom_limits_default(struct rt_prom_limits *l)
{
	l->max_line = 64 * 1024;
	l->max_name = 256;
	l->max_label_name = 256;
	l->max_label_value = 4096;
	l->max_labels = 64;
	l->max_series = 50000;
}

const char *rt_prom_type_name(enum rt_prom_type t)
{
	static const char *const n[] = {"untyped", "counter", "gauge", "histogram", "summary", "gaugehistogram", "info",
					"stateset"};
	return (size_t)t < sizeof n / sizeof *n ? n[t] : "?";
}

bool rt_prom_cumulative(const struct rt_prom_sample *s)
{
	switch (s->type) {
	case RT_PROM_COUNTER:
		return s->role == RT_PROM_VALUE;
	case RT_PROM_HISTOGRAM:
	case RT_PROM_SUMMARY:
		return s->role == RT_PROM_BUCKET || s->role == RT_PROM_SUM || s->role == RT_PROM_COUNT;
	default:
		return false;
	}
}

struct rt_prom {
	struct rt_prom_limits lim;
	rt_prom_cb cb;
	void *ctx;
	char *line; /* the line being collected, max_line + 1 bytes at most */
	size_t len, cap;
	size_t lineno; /* of the line being collected */
	size_t series;
	bool eof, failed;
	/* the current family: the last HELP/TYPE/UNIT line's name, or the last
	   sample's that belonged to none */
	char *fam; /* max_name + 1 */
	bool has_fam, typed, helped, unit, sampled;
	enum rt_prom_type type;
	struct rt_prom_label *labels; /* max_labels */
};

struct rt_prom *rt_prom_new(const struct rt_prom_limits *l, rt_prom_cb cb, void *ctx)
{
	struct rt_prom *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	if (l)
		p->lim = *l;
	else
		rt_prom_limits_default(&p->lim);
	p->cb = cb;
	p->ctx = ctx;
	p->lineno = 1;
	p->fam = malloc(p->lim.max_name + 1);
	p->labels = calloc(p->lim.max_labels ? p->lim.max_labels : 1, sizeof *p->labels);
	if (!p->fam || !p->labels) {
		rt_prom_free(p);
		return NULL;
	}
	return p;
}

void rt_prom_free(struct rt_prom *p)
{
	if (!p)
		return;
	free(p->line);
	free(p->fam);
	free(p->labels);
	free(p);
}

size_t rt_prom_series(const struct rt_prom *p)
{
	return p->series;
}

/* ---- tokens ---- */

static bool name_start(char c, bool colon)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
}

static bool name_char(char c, bool colon)
{
	return name_start(c, colon) || (c >= '0' && c <= '9');
}

static bool name_ok(const char *s, size_t n, bool colon)
{
	if (n == 0 || !name_start(s[0], colon))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!name_char(s[i], colon))
			return false;
	return true;
}

bool rt_prom_metric_name_ok(const char *s, size_t n)
{
	return name_ok(s, n, true);
}

bool rt_prom_label_name_ok(const char *s, size_t n)
{
	return name_ok(s, n, false);
}

static bool ci_eq(const char *s, size_t n, const char *word)
{
	return strlen(word) == n && !strncasecmp(s, word, n);
}

int rt_prom_parse_value(const char *s, size_t n, double *out)
{
	char buf[VALUE_MAX + 1];
	size_t i = 0;
	bool neg = false;
	if (n == 0 || n > VALUE_MAX)
		return -1;
	if (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-';
		i = 1;
	}
	if (ci_eq(s + i, n - i, "inf") || ci_eq(s + i, n - i, "infinity")) {
		*out = neg ? -INFINITY : INFINITY;
		return 0;
	}
	if (i == 0 && ci_eq(s, n, "nan")) {
		*out = NAN;
		return 0;
	}
	/* digits [. digits] | . digits, then an optional exponent: nothing
	   strtod would take beyond that (hex, "nan(...)", spaces) */
	size_t d = 0;
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++, d++;
	if (i < n && s[i] == '.') {
		i++;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++, d++;
	}
	if (d == 0)
		return -1;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		size_t e = 0;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++, e++;
		if (e == 0)
			return -1;
	}
	if (i != n)
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	errno = 0;
	double v = strtod(buf, NULL);
	if (errno == ERANGE && fabs(v) > 1.0)
		return -1; /* beyond a double: Go's ParseFloat refuses it too */
	*out = v;
	return 0;
}

/* Valid UTF-8 (no overlongs, no surrogates) without control bytes but tab. */
static const char *bad_bytes(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned c = s[i];
		if (c < 0x80) {
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				return c == '\r' ? "a carriage return (lines end with \\n only)" : "a control character";
			i++;
			continue;
		}
		size_t k = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc2 ? 1 : 0;
		if (k == 0 || c > 0xf4 || i + k >= n)
			return "invalid UTF-8";
		for (size_t j = 1; j <= k; j++)
			if ((s[i + j] & 0xc0) != 0x80)
				return "invalid UTF-8";
		unsigned c1 = s[i + 1];
		if ((c == 0xe0 && c1 < 0xa0) || (c == 0xed && c1 > 0x9f) || (c == 0xf0 && c1 < 0x90) || (c == 0xf4 && c1 > 0x8f))
			return "invalid UTF-8";
		i += k + 1;
	}
	return NULL;
}

static bool ws(char c)
{
	return c == ' ' || c == '\t';
}

/* ---- lines ---- */

/* The parse of one line: its text (NUL-terminated copy in p->line) and the
 * read position. */
struct cur {
	struct rt_prom *p;
	char *s;
	size_t n, i;
};

static int fail(struct cur *c, struct err *e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct cur *c, struct err *e, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return err_set(e, "line %zu: %s", c->p->lineno, msg);
}

static void skip_ws(struct cur *c)
{
	while (c->i < c->n && ws(c->s[c->i]))
		c->i++;
}

/* A run of non-blank bytes; its start and length. */
static size_t token(struct cur *c, char **start)
{
	*start = c->s + c->i;
	size_t b = c->i;
	while (c->i < c->n && !ws(c->s[c->i]))
		c->i++;
	return c->i - b;
}

/* A metric name at the position (not terminated: the byte after it is the
 * caller's to look at). */
static int metric_name(struct cur *c, const char *what, char **name, size_t *len, struct err *e)
{
	size_t b = c->i;
	while (c->i < c->n && name_char(c->s[c->i], true))
		c->i++;
	*name = c->s + b;
	*len = c->i - b;
	if (*len > c->p->lim.max_name)
		return fail(c, e, "metric name longer than %zu bytes (limit max_name)", c->p->lim.max_name);
	if (!rt_prom_metric_name_ok(*name, *len))
		return fail(c, e, "expected %s ([a-zA-Z_:][a-zA-Z0-9_:]*) at column %zu", what, b + 1);
	return 0;
}

static void new_family(struct rt_prom *p, const char *name, size_t len, enum rt_prom_type t)
{
	memcpy(p->fam, name, len);
	p->fam[len] = '\0';
	p->has_fam = true;
	p->type = t;
	p->typed = p->helped = p->unit = p->sampled = false;
}

static bool is_fam(const struct rt_prom *p, const char *name, size_t len)
{
	return p->has_fam && strlen(p->fam) == len && !memcmp(p->fam, name, len);
}

/* # HELP, # TYPE, # UNIT, # EOF, or a comment. */
static int comment(struct cur *c, struct err *e)
{
	struct rt_prom *p = c->p;
	char *word, *name;
	size_t nl;
	c->i++; /* '#' */
	skip_ws(c);
	size_t wl = token(c, &word);
	bool help = wl == 4 && !memcmp(word, "HELP", 4), type = wl == 4 && !memcmp(word, "TYPE", 4);
	bool unit = wl == 4 && !memcmp(word, "UNIT", 4), eof = wl == 3 && !memcmp(word, "EOF", 3);
	if (!help && !type && !unit && !eof)
		return 0; /* a comment */
	if (eof) {
		skip_ws(c);
		if (c->i != c->n)
			return fail(c, e, "\"# EOF\" takes nothing after it");
		p->eof = true;
		return 0;
	}
	if (c->i == c->n || !ws(c->s[c->i]))
		return fail(c, e, "# %.4s without a metric name", word);
	skip_ws(c);
	if (metric_name(c, "the metric name", &name, &nl, e) < 0)
		return -1;
	if (c->i < c->n && !ws(c->s[c->i]))
		return fail(c, e, "unexpected '%c' after the metric name at column %zu", c->s[c->i], c->i + 1);
	skip_ws(c);
	char shown[80];
	snprintf(shown, sizeof shown, "%.*s%s", (int)(nl < 64 ? nl : 64), name, nl > 64 ? "..." : "");
	bool same = is_fam(p, name, nl);
	if (same && p->sampled)
		return fail(c, e, "# %.4s for %s after its samples", word, shown);
	if (!same)
		new_family(p, name, nl, RT_PROM_UNTYPED);
	if (help) {
		if (p->helped)
			return fail(c, e, "a second # HELP line for %s", shown);
		p->helped = true;
		return 0; /* the text is not used: any bytes (checked above) */
	}
	char *t;
	size_t tl = token(c, &t);
	skip_ws(c);
	if (c->i != c->n)
		return fail(c, e, "unexpected text after # %.4s %s %.*s", word, shown, (int)(tl < 40 ? tl : 40), t);
	if (unit) {
		if (p->unit)
			return fail(c, e, "a second # UNIT line for %s", shown);
		for (size_t i = 0; i < tl; i++)
			if (!name_char(t[i], true))
				return fail(c, e, "unit \"%.*s\" of %s is not [a-zA-Z0-9_:]*", (int)(tl < 40 ? tl : 40), t,
					    shown);
		p->unit = true;
		return 0;
	}
	static const struct {
		const char *name;
		enum rt_prom_type t;
	} types[] = {{"counter", RT_PROM_COUNTER},     {"gauge", RT_PROM_GAUGE},
		     {"histogram", RT_PROM_HISTOGRAM}, {"summary", RT_PROM_SUMMARY},
		     {"untyped", RT_PROM_UNTYPED},     {"unknown", RT_PROM_UNTYPED},
		     {"gaugehistogram", RT_PROM_GAUGEHISTOGRAM}, {"info", RT_PROM_INFO},
		     {"stateset", RT_PROM_STATESET}};
	if (p->typed)
		return fail(c, e, "a second # TYPE line for %s", shown);
	for (size_t i = 0; i < sizeof types / sizeof *types; i++)
		if (tl == strlen(types[i].name) && !memcmp(t, types[i].name, tl)) {
			p->type = types[i].t;
			p->typed = true;
			return 0;
		}
	return fail(c, e, "type \"%.*s\" of %s is not counter, gauge, histogram, summary or untyped",
		    (int)(tl < 40 ? tl : 40), t, shown);
}

/* '{' labels '}' at the position. With store, the labels go to p->labels
 * (names and values cut and unescaped in place); an exemplar's are only
 * checked. */
static int labels(struct cur *c, bool store, size_t *n_out, struct err *e)
{
	struct rt_prom *p = c->p;
	size_t n = 0;
	c->i++; /* '{' */
	for (;;) {
		skip_ws(c);
		if (c->i < c->n && c->s[c->i] == '}') {
			c->i++;
			*n_out = n;
			return 0;
		}
		size_t b = c->i;
		while (c->i < c->n && name_char(c->s[c->i], false))
			c->i++;
		char *name = c->s + b;
		size_t nl = c->i - b;
		if (nl > p->lim.max_label_name)
			return fail(c, e, "label name longer than %zu bytes (limit max_label_name)", p->lim.max_label_name);
		if (!rt_prom_label_name_ok(name, nl))
			return fail(c, e, "expected a label name ([a-zA-Z_][a-zA-Z0-9_]*) or '}' at column %zu", b + 1);
		skip_ws(c);
		if (c->i >= c->n || c->s[c->i] != '=')
			return fail(c, e, "expected '=' after the label name %.*s", (int)(nl < 64 ? nl : 64), name);
		c->i++;
		skip_ws(c);
		if (c->i >= c->n || c->s[c->i] != '"')
			return fail(c, e, "expected '\"' to start the value of label %.*s", (int)(nl < 64 ? nl : 64), name);
		size_t r = ++c->i, w = r;
		char *value = c->s + r;
		for (;;) {
			if (r >= c->n)
				return fail(c, e, "the value of label %.*s has no closing '\"'", (int)(nl < 64 ? nl : 64), name);
			char ch = c->s[r];
			if (ch == '"')
				break;
			if (ch == '\\') {
				char x = r + 1 < c->n ? c->s[r + 1] : '\0';
				if (x != '\\' && x != '"' && x != 'n')
					return fail(c, e, "label %.*s: invalid escape '\\%c' (only \\\\, \\\" and \\n)",
						    (int)(nl < 64 ? nl : 64), name, x ? x : ' ');
				ch = x == 'n' ? '\n' : x;
				r++;
			}
			r++;
			if (w - (size_t)(value - c->s) >= p->lim.max_label_value)
				return fail(c, e, "the value of label %.*s is longer than %zu bytes (limit max_label_value)",
					    (int)(nl < 64 ? nl : 64), name, p->lim.max_label_value);
			if (store)
				c->s[w] = ch;
			w++;
		}
		c->i = r + 1; /* past the closing quote */
		if (store) {
			if (n >= p->lim.max_labels)
				return fail(c, e, "more than %zu labels (limit max_labels)", p->lim.max_labels);
			name[nl] = '\0'; /* the '=' or a blank, read already */
			c->s[w] = '\0';  /* at most the closing quote, read already */
			for (size_t j = 0; j < n; j++)
				if (!strcmp(p->labels[j].name, name))
					return fail(c, e, "label %s appears twice", name);
			p->labels[n].name = name;
			p->labels[n].value = value;
		}
		n++;
		skip_ws(c);
		if (c->i < c->n && c->s[c->i] == ',') {
			c->i++;
			continue;
		}
		skip_ws(c);
		if (c->i >= c->n || c->s[c->i] != '}')
			return fail(c, e, "expected ',' or '}' after the value of label %s at column %zu",
				    store ? name : "", c->i + 1);
	}
}

static const char *label(const struct rt_prom *p, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(p->labels[i].name, name))
			return p->labels[i].value;
	return NULL;
}

/* The sample's family and role: the current family when the name is one of
 * its samples, else an untyped family of its own. */
static void classify(struct rt_prom *p, const char *name, size_t nl, struct rt_prom_sample *s)
{
	static const struct {
		enum rt_prom_type t;
		const char *suffix;
		enum rt_prom_role role;
	} m[] = {
		{RT_PROM_COUNTER, "", RT_PROM_VALUE},          {RT_PROM_COUNTER, "_total", RT_PROM_VALUE},
		{RT_PROM_COUNTER, "_created", RT_PROM_CREATED}, {RT_PROM_GAUGE, "", RT_PROM_VALUE},
		{RT_PROM_UNTYPED, "", RT_PROM_VALUE},          {RT_PROM_STATESET, "", RT_PROM_VALUE},
		{RT_PROM_INFO, "", RT_PROM_VALUE},             {RT_PROM_INFO, "_info", RT_PROM_VALUE},
		{RT_PROM_HISTOGRAM, "_bucket", RT_PROM_BUCKET}, {RT_PROM_HISTOGRAM, "_sum", RT_PROM_SUM},
		{RT_PROM_HISTOGRAM, "_count", RT_PROM_COUNT},  {RT_PROM_HISTOGRAM, "_created", RT_PROM_CREATED},
		{RT_PROM_GAUGEHISTOGRAM, "_bucket", RT_PROM_BUCKET}, {RT_PROM_GAUGEHISTOGRAM, "_gsum", RT_PROM_SUM},
		{RT_PROM_GAUGEHISTOGRAM, "_gcount", RT_PROM_COUNT}, {RT_PROM_SUMMARY, "", RT_PROM_QUANTILE},
		{RT_PROM_SUMMARY, "_sum", RT_PROM_SUM},        {RT_PROM_SUMMARY, "_count", RT_PROM_COUNT},
		{RT_PROM_SUMMARY, "_created", RT_PROM_CREATED},
	};
	size_t fl = p->has_fam ? strlen(p->fam) : 0;
	if (p->has_fam && nl >= fl && !memcmp(name, p->fam, fl))
		for (size_t i = 0; i < sizeof m / sizeof *m; i++)
			if (m[i].t == p->type && !strcmp(name + fl, m[i].suffix)) {
				s->type = p->type;
				s->role = m[i].role;
				s->family = p->fam;
				return;
			}
	new_family(p, name, nl, RT_PROM_UNTYPED);
	s->type = RT_PROM_UNTYPED;
	s->role = RT_PROM_VALUE;
	s->family = p->fam;
}

/* name[{labels}] value [timestamp] [# exemplar] */
static int sample(struct cur *c, struct err *e)
{
	struct rt_prom *p = c->p;
	struct rt_prom_sample s = {.line = p->lineno};
	char *name, *tok;
	size_t nl, n_labels = 0, ex;
	if (metric_name(c, "a metric name, '#' or an empty line", &name, &nl, e) < 0)
		return -1;
	if (c->i < c->n && c->s[c->i] == '{') {
		if (labels(c, true, &n_labels, e) < 0)
			return -1;
	} else if (c->i < c->n && !ws(c->s[c->i])) {
		return fail(c, e, "unexpected '%c' after the metric name at column %zu", c->s[c->i], c->i + 1);
	}
	if (c->i >= c->n || !ws(c->s[c->i])) {
		name[nl] = '\0';
		return fail(c, e, "%s: expected a blank and a value after %s", name, n_labels ? "the labels" : "the name");
	}
	skip_ws(c);
	size_t tl = token(c, &tok);
	name[nl] = '\0';
	if (tl == 0)
		return fail(c, e, "%s: no value", name);
	if (rt_prom_parse_value(tok, tl, &s.value) < 0)
		return fail(c, e, "%s: \"%.*s\" is not a number", name, (int)(tl < 40 ? tl : 40), tok);
	skip_ws(c);
	if (c->i < c->n && c->s[c->i] != '#') {
		tl = token(c, &tok);
		if (rt_prom_parse_value(tok, tl, &s.time) < 0 || !isfinite(s.time))
			return fail(c, e, "%s: \"%.*s\" is not a timestamp", name, (int)(tl < 40 ? tl : 40), tok);
		s.has_time = true;
		skip_ws(c);
	}
	if (c->i < c->n && c->s[c->i] == '#') {
		/* an OpenMetrics exemplar: checked, not kept */
		double v;
		c->i++;
		skip_ws(c);
		if (c->i >= c->n || c->s[c->i] != '{')
			return fail(c, e, "%s: expected an exemplar's '{' after '#'", name);
		if (labels(c, false, &ex, e) < 0) {
			char why[sizeof e->msg];
			const char *colon = strchr(e->msg, ':');
			snprintf(why, sizeof why, "%s", colon ? colon + 2 : e->msg);
			return fail(c, e, "exemplar of %s: %s", name, why);
		}
		if (c->i >= c->n || !ws(c->s[c->i]))
			return fail(c, e, "%s: expected a value after the exemplar's labels", name);
		skip_ws(c);
		tl = token(c, &tok);
		if (rt_prom_parse_value(tok, tl, &v) < 0)
			return fail(c, e, "%s: exemplar value \"%.*s\" is not a number", name, (int)(tl < 40 ? tl : 40), tok);
		skip_ws(c);
		if (c->i < c->n) {
			tl = token(c, &tok);
			if (rt_prom_parse_value(tok, tl, &v) < 0 || !isfinite(v))
				return fail(c, e, "%s: exemplar timestamp \"%.*s\" is not a number", name,
					    (int)(tl < 40 ? tl : 40), tok);
			skip_ws(c);
		}
	}
	if (c->i != c->n)
		return fail(c, e, "%s: unexpected text at column %zu", name, c->i + 1);
	if (++p->series > p->lim.max_series)
		return fail(c, e, "more than %zu samples (limit max_series)", p->lim.max_series);
	s.name = name;
	s.labels = p->labels;
	s.n_labels = n_labels;
	classify(p, name, nl, &s);
	p->sampled = true;
	double x;
	if (s.role == RT_PROM_BUCKET) {
		const char *le = label(p, n_labels, "le");
		if (!le || rt_prom_parse_value(le, strlen(le), &x) < 0 || isnan(x))
			return fail(c, e, "%s: a histogram bucket needs a numeric le label", name);
	} else if (s.role == RT_PROM_QUANTILE) {
		const char *q = label(p, n_labels, "quantile");
		if (!q || rt_prom_parse_value(q, strlen(q), &x) < 0 || !(x >= 0.0 && x <= 1.0))
			return fail(c, e, "%s: a summary sample needs a quantile label from 0 to 1", name);
	}
	return p->cb ? p->cb(p->ctx, &s, e) : 0;
}

static int line(struct rt_prom *p, struct err *e)
{
	struct cur c = {.p = p, .s = p->line, .n = p->len};
	const char *bad;
	if (p->eof)
		return fail(&c, e, "content after \"# EOF\"");
	if ((bad = bad_bytes((const unsigned char *)p->line, p->len)))
		return fail(&c, e, "%s", bad);
	skip_ws(&c);
	if (c.i == c.n)
		return 0; /* blank */
	/* blanks around tokens are ignored, at the start of a line too */
	return c.s[c.i] == '#' ? comment(&c, e) : sample(&c, e);
}

static int append(struct rt_prom *p, const char *buf, size_t n, struct err *e)
{
	if (p->len + n > p->lim.max_line)
		return err_set(e, "line %zu: longer than %zu bytes (limit max_line)", p->lineno, p->lim.max_line);
	if (buf_grow(&p->line, &p->cap, p->len + n + 1, 1024, p->lim.max_line + 1) < 0)
		return err_errno(e, ENOMEM, "line %zu", p->lineno);
	memcpy(p->line + p->len, buf, n);
	p->len += n;
	p->line[p->len] = '\0';
	return 0;
}

static int end_line(struct rt_prom *p, struct err *e)
{
	if (!p->line && append(p, "", 0, e) < 0)
		return -1;
	int rc = line(p, e);
	p->len = 0;
	p->lineno++;
	return rc;
}

int rt_prom_feed(struct rt_prom *p, const char *buf, size_t len, struct err *e)
{
	if (p->failed)
		return err_set(e, "the page was refused already");
	while (len) {
		const char *nl = memchr(buf, '\n', len);
		size_t n = nl ? (size_t)(nl - buf) : len;
		if (append(p, buf, n, e) < 0 || (nl && end_line(p, e) < 0)) {
			p->failed = true;
			return -1;
		}
		n += nl ? 1 : 0;
		buf += n;
		len -= n;
	}
	return 0;
}

int rt_prom_finish(struct rt_prom *p, struct err *e)
{
	if (p->failed)
		return err_set(e, "the page was refused already");
	if (p->len && end_line(p, e) < 0) {
		p->failed = true;
		return -1;
	}
	return 0;
}

int rt_prom_parse(const char *buf, size_t len, const struct rt_prom_limits *l, rt_prom_cb cb, void *ctx,
		  struct err *e)
{
	struct rt_prom *p = rt_prom_new(l, cb, ctx);
	if (!p)
		return err_errno(e, ENOMEM, "metrics page");
	int rc = rt_prom_feed(p, buf, len, e) < 0 || rt_prom_finish(p, e) < 0 ? -1 : 0;
	rt_prom_free(p);
	return rc;
}
