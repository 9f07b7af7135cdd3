/* fuzz_promtext.c: metrics pages as apps serve them, through the Prometheus
 * text parser (runtime/promtext.h), with small limits so that every limit
 * is reached. An accepted page is written out again in canonical form (a
 * TYPE line where the family changes, label values escaped, values with 17
 * digits) and must be accepted as the same samples; the page fed in two
 * pieces, split where its first byte says, must give the same samples as
 * the whole; every sample's names, label count and value lengths are within
 * the limits. */
#include <math.h>

#include "lib/cleanup.h"
#include "runtime/rampd/promtext.h"
#include "tests/fuzz/fuzz.h"

struct out {
	FILE *f;
	char *buf;
	size_t len;
	const struct rt_prom_limits *l;
	char fam[300]; /* the family of the last sample written */
	enum rt_prom_type type;
	bool has_fam;
};

static void value(FILE *f, double v)
{
	if (isnan(v))
		fputs("NaN", f);
	else if (isinf(v))
		fputs(v > 0 ? "+Inf" : "-Inf", f);
	else
		fprintf(f, "%.17g", v);
}

static int write_sample(void *ctx, const struct rt_prom_sample *s, struct err *e)
{
	struct out *o = ctx;
	(void)e;
	FUZZ_CHECK(rt_prom_metric_name_ok(s->name, strlen(s->name)) && strlen(s->name) <= o->l->max_name,
		   "sample name \"%s\"", s->name);
	FUZZ_CHECK(s->n_labels <= o->l->max_labels, "%zu labels", s->n_labels);
	FUZZ_CHECK(!strncmp(s->name, s->family, strlen(s->family)), "%s is not of family %s", s->name, s->family);
	FUZZ_CHECK(s->type != RT_PROM_UNTYPED || !strcmp(s->name, s->family), "untyped %s in family %s", s->name,
		   s->family);
	if (!o->has_fam || strcmp(o->fam, s->family) || o->type != s->type) {
		if (s->type != RT_PROM_UNTYPED)
			fprintf(o->f, "# TYPE %s %s\n", s->family, rt_prom_type_name(s->type));
		snprintf(o->fam, sizeof o->fam, "%s", s->family);
		o->type = s->type;
		o->has_fam = true;
	}
	fprintf(o->f, "%s{", s->name);
	for (size_t i = 0; i < s->n_labels; i++) {
		const char *v = s->labels[i].value;
		FUZZ_CHECK(rt_prom_label_name_ok(s->labels[i].name, strlen(s->labels[i].name)) &&
				   strlen(s->labels[i].name) <= o->l->max_label_name,
			   "label name \"%s\"", s->labels[i].name);
		FUZZ_CHECK(strlen(v) <= o->l->max_label_value, "label value of %zu bytes", strlen(v));
		fprintf(o->f, "%s%s=\"", i ? "," : "", s->labels[i].name);
		for (; *v; v++)
			if (*v == '\\' || *v == '"')
				fprintf(o->f, "\\%c", *v);
			else if (*v == '\n')
				fputs("\\n", o->f);
			else
				fputc(*v, o->f);
		fputc('"', o->f);
	}
	fputs("} ", o->f);
	value(o->f, s->value);
	if (s->has_time) {
		FUZZ_CHECK(isfinite(s->time), "timestamp %g", s->time);
		fputc(' ', o->f);
		value(o->f, s->time);
	}
	fputc('\n', o->f);
	return 0;
}

/* Parse in (split into two feeds at `split`), writing what it accepts; the
 * canonical text, or NULL when refused. */
static char *canonical(const uint8_t *in, size_t len, size_t split, const struct rt_prom_limits *l)
{
	struct out o = {.l = l};
	struct err e;
	FUZZ_CHECK((o.f = open_memstream(&o.buf, &o.len)), "memstream");
	struct rt_prom *p = rt_prom_new(l, write_sample, &o);
	FUZZ_CHECK(p, "parser");
	int rc = rt_prom_feed(p, (const char *)in, split, &e);
	if (rc == 0)
		rc = rt_prom_feed(p, (const char *)in + split, len - split, &e);
	if (rc == 0)
		rc = rt_prom_finish(p, &e);
	if (rc < 0)
		FUZZ_CHECK(!strncmp(e.msg, "line ", 5), "a refusal that names no line: %s", e.msg);
	else
		FUZZ_CHECK(rt_prom_series(p) <= l->max_series, "%zu series", rt_prom_series(p));
	rt_prom_free(p);
	fclose(o.f);
	if (rc < 0) {
		free(o.buf);
		return NULL;
	}
	return o.buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rt_prom_limits l = {.max_line = 512, .max_name = 64, .max_label_name = 32, .max_label_value = 128,
				   .max_labels = 8, .max_series = 64};
	fuzz_quiet();
	_cleanup_free_ char *whole = canonical(data, size, size, &l);
	_cleanup_free_ char *split = canonical(data, size, size ? data[0] % (size + 1) : 0, &l);
	FUZZ_CHECK(!whole == !split, "split at %d: %s, whole: %s", size ? data[0] % (int)(size + 1) : 0,
		   split ? "accepted" : "refused", whole ? "accepted" : "refused");
	if (!whole)
		return 0;
	FUZZ_CHECK(!strcmp(whole, split), "split parse differs:\n%s\n---\n%s", whole, split);
	/* written again, with room for the longer spelling of values */
	struct rt_prom_limits wide = l;
	wide.max_line = 4 * l.max_line + 256;
	_cleanup_free_ char *again = canonical((const uint8_t *)whole, strlen(whole), 0, &wide);
	FUZZ_CHECK(again, "canonical page refused:\n%s", whole);
	FUZZ_CHECK(!strcmp(whole, again), "canonical page changed:\n%s\n---\n%s", whole, again);
	return 0;
}
