/* canary_series.c: the canary analysis' series of a wave (see
 * canary_series.h). */
#include "orchestrator/canary_series.h"

#include <stdlib.h>

/* A metric's points: those of the judgements i with i % stride == 0 (at
 * most ORCH_SERIES_MAX - 1 of them), then the latest judgement when it is
 * not one of them (the tail: replaced by the next). */
struct line {
	size_t n, seen, stride;
	bool tail;
};

struct orch_series {
	const struct orch_an_config *c;
	struct orch_ev_point *p; /* ORCH_SERIES_MAX per metric */
	struct line *l;
};

struct orch_series *orch_series_new(const struct orch_an_config *c)
{
	struct orch_series *s = calloc(1, sizeof *s);
	if (!s || !(s->p = calloc(c->n ? c->n : 1, ORCH_SERIES_MAX * sizeof *s->p)) ||
	    !(s->l = calloc(c->n ? c->n : 1, sizeof *s->l))) {
		orch_series_free(s);
		return NULL;
	}
	s->c = c;
	orch_series_reset(s);
	return s;
}

void orch_series_free(struct orch_series *s)
{
	if (!s)
		return;
	free(s->p);
	free(s->l);
	free(s);
}

void orch_series_reset(struct orch_series *s)
{
	for (size_t k = 0; k < s->c->n; k++)
		s->l[k] = (struct line){.stride = 1};
}

void orch_series_add(struct orch_series *s, int64_t ms, const struct orch_an_result *res)
{
	for (size_t k = 0; k < res->n && k < s->c->n; k++) {
		const struct orch_an_metric_result *mr = &res->metrics[k];
		struct orch_ev_point *p = s->p + k * ORCH_SERIES_MAX;
		struct line *l = &s->l[k];
		if (!mr->n_tests)
			continue;
		const struct orch_an_test *t = &mr->tests[mr->shown];
		struct orch_ev_point pt = {ms, t->conv, t->base, t->allowed};
		if (l->n && p[l->n - 1].ms >= ms) { /* judged again at the same moment: the decision */
			p[l->n - 1] = pt;
			continue;
		}
		if (l->tail)
			l->n--;
		size_t i = l->seen++;
		if (i % l->stride == 0 && l->n == ORCH_SERIES_MAX - 1) { /* full: every other point */
			for (size_t j = 1; 2 * j < l->n; j++)
				p[j] = p[2 * j];
			l->n = (l->n + 1) / 2;
			l->stride *= 2;
		}
		p[l->n++] = pt;
		l->tail = i % l->stride != 0;
	}
}

const struct orch_ev_point *orch_series_points(const struct orch_series *s, size_t k, size_t *n)
{
	*n = k < s->c->n ? s->l[k].n : 0;
	return s->p + k * ORCH_SERIES_MAX;
}

const char *orch_series_name(const struct orch_series *s, size_t k)
{
	return s->c->metrics[k].name;
}

size_t orch_series_metrics(const struct orch_series *s)
{
	return s->c->n;
}
