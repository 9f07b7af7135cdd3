/* analysis_file.c: the analysis file (`--analysis FILE`) and the default set
 * (see analysis.h). The file is untrusted-ish input: strict JSON through
 * lib/json.h, every field checked, every message naming the metric and the
 * field (and, in a selector, the byte). */
#include "orchestrator/analysis.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fs.h"
#include "lib/json.h"
#include "orchestrator/fleet.h"
#include "orchestrator/promquery.h"

static const char *const kind_names[] = {"ratio", "events", "latency", "rate", "gauge"};

const char *orch_an_kind_name(enum orch_an_kind k)
{
	return (size_t)k < sizeof kind_names / sizeof *kind_names ? kind_names[k] : "?";
}

const char *orch_an_verdict_name(enum orch_an_verdict v)
{
	return v == ORCH_AN_PASS ? "pass" : v == ORCH_AN_FAIL ? "fail" : "continue";
}

size_t orch_an_width(const struct orch_an_metric *m, size_t n_bounds)
{
	return m->kind == ORCH_AN_RATIO ? 2 : m->kind == ORCH_AN_LATENCY ? n_bounds + 1 : 1;
}

static void selector_free(struct orch_an_selector *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->m[i].label);
		free(s->m[i].value);
		pcre2_code_free(s->m[i].rx);
		pcre2_match_data_free(s->m[i].md);
	}
	free(s->m);
	free(s->name);
	*s = (struct orch_an_selector){0};
}

void orch_an_config_free(struct orch_an_config *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->metrics[i].name);
		free(c->metrics[i].query);
		selector_free(&c->metrics[i].series);
		selector_free(&c->metrics[i].total);
	}
	free(c->metrics);
	*c = (struct orch_an_config){0};
}

/* ---- selectors: name{label="value", label=~"re", ...} ---- */

static bool name_start(int c, bool colon)
{
	return isalpha(c) || c == '_' || (colon && c == ':');
}

static bool name_char(int c, bool colon)
{
	return isalnum(c) || c == '_' || (colon && c == ':');
}

static const char *skip_blank(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* A quoted value with the escapes \\ \" \n; printable ASCII. */
static int parse_value(const char **pp, const char *s, char **out, struct err *e)
{
	const char *p = *pp;
	char buf[ORCH_AN_MAX_SELECTOR];
	size_t n = 0;
	if (*p != '"')
		return err_set(e, "byte %zu: expected a value in double quotes", (size_t)(p - s) + 1);
	for (p++; *p != '"'; p++) {
		unsigned char c = (unsigned char)*p;
		if (!c)
			return err_set(e, "byte %zu: the value's closing quote is missing", (size_t)(p - s) + 1);
		if (c < 0x20 || c >= 0x7f)
			return err_set(e, "byte %zu: byte 0x%02x in a value (printable ASCII only)", (size_t)(p - s) + 1, c);
		if (c == '\\') {
			p++;
			if (*p == 'n')
				c = '\n';
			else if (*p == '\\' || *p == '"')
				c = (unsigned char)*p;
			else
				return err_set(e, "byte %zu: unknown escape (\\\\, \\\" and \\n only)", (size_t)(p - s));
		}
		buf[n++] = (char)c;
	}
	buf[n] = '\0';
	*pp = p + 1;
	if (!(*out = strdup(buf)))
		return err_errno(e, ENOMEM, "selector");
	return 0;
}

/* A label matcher's regular expression, compiled once with PCRE2: anchored at
 * both ends, as in PromQL; Perl's syntax, which covers what Prometheus' RE2
 * accepts in practice (classes like \d, (?i), non-greedy repetitions). What RE2
 * refuses because it cannot be matched in linear time is refused here too:
 * back-references. PCRE2 bounds the compiled size (a pattern too large is
 * refused when the file is read) and each match (RX_MATCH_STEPS steps,
 * RX_HEAP_KIB of memory): a value that would take longer does not match.
 * (glibc's regcomp, used before, copies what a repetition applies to: "5..+++"
 * with 70 '+' asked for more than 2 GB, found by make fuzz.) */
#define RX_MATCH_STEPS 100000
#define RX_HEAP_KIB 1024

static pcre2_match_context *rx_limits(void)
{
	static pcre2_match_context *mc;
	if (!mc && (mc = pcre2_match_context_create(NULL))) {
		pcre2_set_match_limit(mc, RX_MATCH_STEPS);
		pcre2_set_heap_limit(mc, RX_HEAP_KIB);
	}
	return mc;
}

static int check_regex(const char *re, struct orch_an_matcher *m, struct err *e)
{
	int rc;
	PCRE2_SIZE at;
	uint32_t backrefs = 0;
	if (!(m->rx = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED,
				    PCRE2_ANCHORED | PCRE2_ENDANCHORED | PCRE2_NEVER_BACKSLASH_C, &rc, &at, NULL))) {
		PCRE2_UCHAR msg[128];
		pcre2_get_error_message(rc, msg, sizeof msg);
		return err_set(e, "regular expression \"%.100s\": byte %zu: %s", re, (size_t)at + 1, (char *)msg);
	}
	pcre2_pattern_info(m->rx, PCRE2_INFO_BACKREFMAX, &backrefs);
	if (backrefs)
		return err_set(e, "regular expression \"%.100s\": back-references are not supported (nor by Prometheus)", re);
	if (!(m->md = pcre2_match_data_create(1, NULL)) || !rx_limits())
		return err_errno(e, ENOMEM, "selector");
	return 0;
}

static int parse_matcher(const char **pp, const char *s, struct orch_an_matcher *m, struct err *e)
{
	const char *p = *pp, *start = p;
	if (!name_start((unsigned char)*p, false))
		return err_set(e, "byte %zu: expected a label name", (size_t)(p - s) + 1);
	while (name_char((unsigned char)*p, false))
		p++;
	if (!(m->label = strndup(start, (size_t)(p - start))))
		return err_errno(e, ENOMEM, "selector");
	if (!strcmp(m->label, "__name__"))
		return err_set(e, "byte %zu: give the metric's name before '{', not as __name__", (size_t)(start - s) + 1);
	p = skip_blank(p);
	size_t oplen = (p[0] == '=' && p[1] != '~') ? 1 : ((p[0] == '!' || p[0] == '=') && (p[1] == '=' || p[1] == '~'))
									? 2
									: 0;
	if (!oplen || (p[0] == '=' && p[1] == '='))
		return err_set(e, "byte %zu: expected '=', '!=', '=~' or '!~'", (size_t)(p - s) + 1);
	memcpy(m->op, p, oplen);
	m->op[oplen] = '\0';
	p = skip_blank(p + oplen);
	const char *vstart = p;
	if (parse_value(&p, s, &m->value, e) < 0)
		return -1;
	if (m->op[1] == '~' && check_regex(m->value, m, e) < 0)
		return err_ctx(e, "byte %zu", (size_t)(vstart - s) + 1);
	*pp = p;
	return 0;
}

static int parse_selector(const char *s, struct orch_an_selector *sel, struct err *e)
{
	const char *p = skip_blank(s), *start = p;
	if (strlen(s) > ORCH_AN_MAX_SELECTOR)
		return err_set(e, "longer than %u bytes", ORCH_AN_MAX_SELECTOR);
	if (!name_start((unsigned char)*p, true))
		return err_set(e, "byte %zu: expected a metric name (letters, digits, '_', ':')", (size_t)(p - s) + 1);
	while (name_char((unsigned char)*p, true))
		p++;
	if (!(sel->name = strndup(start, (size_t)(p - start))))
		return err_errno(e, ENOMEM, "selector");
	p = skip_blank(p);
	if (*p == '{') {
		p = skip_blank(p + 1);
		while (*p != '}') {
			if (sel->n == ORCH_AN_MAX_MATCHERS)
				return err_set(e, "more than %d label matchers", ORCH_AN_MAX_MATCHERS);
			struct orch_an_matcher *nm = realloc(sel->m, (sel->n + 1) * sizeof *nm);
			if (!nm)
				return err_errno(e, ENOMEM, "selector");
			sel->m = nm;
			sel->m[sel->n] = (struct orch_an_matcher){0};
			if (parse_matcher(&p, s, &sel->m[sel->n++], e) < 0)
				return -1;
			p = skip_blank(p);
			if (*p == ',')
				p = skip_blank(p + 1);
			else if (*p != '}')
				return err_set(e, "byte %zu: expected ',' or '}'", (size_t)(p - s) + 1);
		}
		p = skip_blank(p + 1);
	}
	if (*p)
		return err_set(e, "byte %zu: unexpected '%c' after the selector", (size_t)(p - s) + 1,
			       isprint((unsigned char)*p) ? *p : '?');
	return 0;
}

bool orch_an_selector_match(const struct orch_an_selector *sel, const char *name, const char *const *keys,
			    const char *const *values, size_t n)
{
	if (strcmp(sel->name, name))
		return false;
	for (size_t k = 0; k < sel->n; k++) {
		const struct orch_an_matcher *m = &sel->m[k];
		const char *v = ""; /* Prometheus: a missing label is the empty value */
		for (size_t i = 0; i < n; i++)
			if (!strcmp(keys[i], m->label))
				v = values[i];
		bool hit = m->rx ? pcre2_match(m->rx, (PCRE2_SPTR)v, strlen(v), 0, 0, m->md, rx_limits()) >= 0
				 : !strcmp(v, m->value);
		if (hit == (m->op[0] == '!'))
			return false;
	}
	return true;
}

/* ---- metrics ---- */

static int field_number(const struct json *j, const char *key, double *out, struct err *e)
{
	const struct json *v;
	if (json_field(j, key, JSON_REAL, false, &v, e) < 0)
		return -1;
	if (!v)
		return 0;
	double d = v->type == JSON_INT ? (double)v->i : v->d;
	if (!isfinite(d) || d < 0)
		return err_set(e, "field \"%s\": expected a number >= 0", key);
	*out = d;
	return 1;
}

static int field_selector(const struct json *j, const char *key, struct orch_an_selector *sel, struct err *e)
{
	const char *s;
	if (json_field_str(j, key, true, &s, e) < 0)
		return -1;
	if (parse_selector(s, sel, e) < 0)
		return err_ctx(e, "field \"%s\"", key);
	return 0;
}

static int parse_kind(const char *s, enum orch_an_kind *k, struct err *e)
{
	for (size_t i = 0; i < sizeof kind_names / sizeof *kind_names; i++)
		if (!strcmp(s, kind_names[i])) {
			*k = (enum orch_an_kind)i;
			return 0;
		}
	return err_set(e, "field \"kind\": \"%.64s\" is none of ratio, events, latency, rate, gauge", s);
}

/* The query template: the metric's, else the file's (query), else the default. */
static int field_query(const struct json *j, const char *query, struct orch_an_metric *m, struct err *e)
{
	if (json_field_str(j, "query", false, &query, e) < 0)
		return -1;
	if (!query)
		query = ORCH_PROM_DEFAULT_QUERY;
	if (orch_prom_template_check(query, e) < 0)
		return err_ctx(e, "field \"query\"");
	if (!(m->query = strdup(query)))
		return err_errno(e, ENOMEM, "metric");
	return 0;
}

static int parse_metric(const struct json *j, const char *query, struct orch_an_metric *m, struct err *e)
{
	static const char *const ratio_keys[] = {"name", "kind", "errors", "total", "direction",
						 "tolerance_abs", "tolerance_rel", "query", NULL};
	static const char *const other_keys[] = {"name", "kind", "series", "direction", "tolerance_abs",
						 "tolerance_rel", "query", NULL};
	const char *name, *kind, *dir = NULL;
	if (j->type != JSON_OBJECT)
		return err_set(e, "expected an object");
	if (json_field_str(j, "name", true, &name, e) < 0)
		return -1;
	if (!orch_name_valid(name))
		return err_set(e, "name \"%.64s\": 1 to 63 letters, digits, '_', '.' or '-'", name);
	if (!(m->name = strdup(name)))
		return err_errno(e, ENOMEM, "metric");
	if (json_field_str(j, "kind", true, &kind, e) < 0 || parse_kind(kind, &m->kind, e) < 0 ||
	    json_only_keys(j, m->kind == ORCH_AN_RATIO ? ratio_keys : other_keys, "metric", e) < 0 ||
	    json_field_str(j, "direction", false, &dir, e) < 0 || field_query(j, query, m, e) < 0)
		return -1;
	if (m->kind == ORCH_AN_RATIO) {
		if (field_selector(j, "errors", &m->series, e) < 0 || field_selector(j, "total", &m->total, e) < 0)
			return -1;
	} else if (field_selector(j, "series", &m->series, e) < 0) {
		return -1;
	}
	if (m->kind == ORCH_AN_LATENCY) {
		size_t n = strlen(m->series.name);
		if (n > 7 && !strcmp(m->series.name + n - 7, "_bucket"))
			return err_set(e, "field \"series\": give the histogram's name without _bucket (\"%.*s\")",
				       (int)(n - 7), m->series.name);
		for (size_t i = 0; i < m->series.n; i++)
			if (!strcmp(m->series.m[i].label, "le"))
				return err_set(e, "field \"series\": le is the bucket label; every bucket is judged");
	}
	m->dir = ORCH_AN_HIGHER_WORSE;
	if (dir && !strcmp(dir, "lower_is_worse") && m->kind != ORCH_AN_LATENCY)
		m->dir = ORCH_AN_LOWER_WORSE;
	else if (dir && strcmp(dir, "higher_is_worse"))
		return err_set(e, "field \"direction\": \"%.64s\" is not %s", dir,
			       m->kind == ORCH_AN_LATENCY ? "higher_is_worse (latency)"
							  : "higher_is_worse or lower_is_worse");
	/* the defaults when neither tolerance is given (docs/CANARY.md "Tuning") */
	int has_abs, has_rel;
	m->tol_rel = 0.5;
	m->tol_abs = m->kind == ORCH_AN_RATIO ? 0.001 : m->kind == ORCH_AN_LATENCY ? 0.002 : 1.0 / 3600;
	double abs = 0, rel = 0;
	if ((has_abs = field_number(j, "tolerance_abs", &abs, e)) < 0 ||
	    (has_rel = field_number(j, "tolerance_rel", &rel, e)) < 0)
		return -1;
	if (has_abs || has_rel) {
		m->tol_abs = abs;
		m->tol_rel = rel;
	} else if (m->kind == ORCH_AN_RATE || m->kind == ORCH_AN_GAUGE) {
		return err_set(e, "a %s metric needs tolerance_abs or tolerance_rel (in its own units)",
			       orch_an_kind_name(m->kind));
	}
	if (m->tol_abs <= 0 && m->tol_rel <= 0)
		return err_set(e, "tolerance_abs and tolerance_rel are both 0: a release as good as the old one "
				  "could never pass");
	if ((m->kind == ORCH_AN_RATIO || m->kind == ORCH_AN_LATENCY) && m->tol_abs >= 1)
		return err_set(e, "field \"tolerance_abs\": a share, below 1 (0.001 is 0.1 percentage point)");
	if (m->dir == ORCH_AN_LOWER_WORSE && m->tol_rel >= 1)
		return err_set(e, "field \"tolerance_rel\": below 1 when lower is worse (0.2: may drop by 20%%)");
	if (m->tol_rel > 1000 || m->tol_abs > 1e15)
		return err_set(e, "a tolerance that large judges nothing");
	return 0;
}

int orch_an_config_parse(const char *buf, size_t len, const char *what, struct orch_an_config *c, struct err *e)
{
	static const char *const keys[] = {"metrics", "query", NULL};
	const struct json *arr;
	const char *query = NULL;
	struct json *j;
	int rc = -1;
	*c = (struct orch_an_config){0};
	if (len > ORCH_AN_MAX_FILE)
		return err_set(e, "%s: larger than %u bytes", what, ORCH_AN_MAX_FILE);
	if (!(j = json_parse(buf, len, e)))
		return err_ctx(e, "%s", what);
	if (json_only_keys(j, keys, what, e) < 0 || json_field(j, "metrics", JSON_ARRAY, true, &arr, e) < 0 ||
	    json_field_str(j, "query", false, &query, e) < 0) {
		err_ctx(e, "%s", what);
		goto out;
	}
	if (arr->arr.n == 0 || arr->arr.n > ORCH_AN_MAX_METRICS) {
		err_set(e, "%s: \"metrics\" lists %zu metrics (1 to %d)", what, arr->arr.n, ORCH_AN_MAX_METRICS);
		goto out;
	}
	if (!(c->metrics = calloc(arr->arr.n, sizeof *c->metrics))) {
		err_errno(e, ENOMEM, "%s", what);
		goto out;
	}
	for (size_t i = 0; i < arr->arr.n; i++) {
		struct orch_an_metric *m = &c->metrics[c->n++];
		if (parse_metric(arr->arr.v[i], query, m, e) < 0) {
			if (m->name)
				err_ctx(e, "%s: metric #%zu (\"%s\")", what, i + 1, m->name);
			else
				err_ctx(e, "%s: metric #%zu", what, i + 1);
			goto out;
		}
		for (size_t k = 0; k < i; k++)
			if (!strcmp(c->metrics[k].name, m->name)) {
				err_set(e, "%s: metrics #%zu and #%zu are both named \"%s\"", what, k + 1, i + 1, m->name);
				goto out;
			}
	}
	rc = 0;
out:
	json_free(j);
	if (rc < 0)
		orch_an_config_free(c);
	return rc;
}

/* Go's promhttp and most client libraries' HTTP middleware count requests in
 * http_requests_total with the status in `code` and time them in the
 * http_request_duration_seconds histogram (docs/CANARY.md lists who uses
 * `status` instead, and the file to give then). */
static const char default_set[] =
	"{\"metrics\": ["
	"{\"name\": \"errors\", \"kind\": \"ratio\", \"errors\": \"http_requests_total{code=~\\\"5..\\\"}\","
	" \"total\": \"http_requests_total\", \"tolerance_abs\": 0.001, \"tolerance_rel\": 0.5},"
	"{\"name\": \"latency\", \"kind\": \"latency\", \"series\": \"http_request_duration_seconds\","
	" \"tolerance_abs\": 0.002, \"tolerance_rel\": 0.5}]}";

int orch_an_config_default(struct orch_an_config *c, struct err *e)
{
	return orch_an_config_parse(default_set, sizeof default_set - 1, "the default analysis", c, e);
}

int orch_an_tolerance_parse(const char *s, double *abs, double *rel, struct err *e)
{
	bool has_abs = false, has_rel = false;
	const char *p = s;
	*abs = *rel = 0;
	if (strpbrk(s, "xX"))
		p = "?";
	do {
		char *end;
		bool r = *p == '+';
		double d = strtod(p + r, &end);
		if (end == p + r || !isfinite(d) || d < 0 || (r && *end++ != '%') || (*end && *end != ',') ||
		    (r ? has_rel : has_abs) || isspace((unsigned char)p[r]) || p[r] == '+' || p[r] == '-')
			return err_set(e, "\"%.64s\": expected a share (0.01), a relative increase (+50%%), or both "
					  "(0.01,+50%%)", s);
		if (r)
			*rel = d / 100, has_rel = true;
		else
			*abs = d, has_abs = true;
		p = *end ? end + 1 : end;
		if (*end && !*p)
			p = "?";
	} while (*p);
	if (*abs >= 1)
		return err_set(e, "\"%.64s\": a share is below 1 (0.01 is one percentage point)", s);
	if (*abs <= 0 && *rel <= 0)
		return err_set(e, "\"%.64s\": 0 lets no release pass", s);
	if (*rel > 1000)
		return err_set(e, "\"%.64s\": at most +100000%%", s);
	return 0;
}

static int flag_metric(struct jgen *g, const char *opt, const char *val, const char *name, struct err *e)
{
	double abs, rel;
	if (!val)
		return 0;
	if (orch_an_tolerance_parse(val, &abs, &rel, e) < 0)
		return err_ctx(e, "%s", opt);
	jgen_obj_open(g);
	jgen_kstr(g, "name", name);
	if (!strcmp(name, "errors")) {
		jgen_kstr(g, "kind", "ratio");
		jgen_kstr(g, "errors", "http_requests_total{code=~\"5..\"}");
		jgen_kstr(g, "total", "http_requests_total");
	} else {
		jgen_kstr(g, "kind", "latency");
		jgen_kstr(g, "series", "http_request_duration_seconds");
	}
	jgen_key(g, "tolerance_abs");
	jgen_real(g, abs);
	jgen_key(g, "tolerance_rel");
	jgen_real(g, rel);
	jgen_obj_close(g);
	return 0;
}

char *orch_an_config_flags(const char *max_error_ratio, const char *max_slow_ratio, struct err *e)
{
	const char *out;
	size_t len;
	char *r = NULL;
	struct jgen *g = jgen_new(false);
	if (!g) {
		err_errno(e, ENOMEM, "analysis");
		return NULL;
	}
	jgen_obj_open(g);
	jgen_key(g, "metrics");
	jgen_arr_open(g);
	if (flag_metric(g, "--max-error-ratio", max_error_ratio, "errors", e) == 0 &&
	    flag_metric(g, "--max-slow-ratio", max_slow_ratio, "latency", e) == 0) {
		jgen_arr_close(g);
		jgen_obj_close(g);
		if (jgen_result(g, &out, &len, e) == 0 && !(r = strndup(out, len)))
			err_errno(e, ENOMEM, "analysis");
	}
	jgen_free(g);
	return r;
}

int orch_an_config_load(const char *arg, struct orch_an_config *c, struct err *e)
{
	if (!strcmp(arg, "default"))
		return orch_an_config_default(c, e);
	if (arg[0] == '{')
		return orch_an_config_parse(arg, strlen(arg), "the analysis of --max-error-ratio/--max-slow-ratio", c, e);
	char *buf = NULL;
	size_t len;
	int rc = fs_read_file(arg, ORCH_AN_MAX_FILE, &buf, &len, e) < 0 ? -1 : orch_an_config_parse(buf, len, arg, c, e);
	free(buf);
	return rc;
}
