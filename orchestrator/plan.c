/* plan.c: wave sizes and host order (see plan.h). */
#include "orchestrator/plan.h"

#include <errno.h>
#include <math.h> /* isfinite, a macro: no libm */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"

/* ceil() for the small non-negative values here, without libm */
static double up(double x)
{
	double t = (double)(uint64_t)x;
	return t < x ? t + 1 : t;
}

int orch_steps_parse(const char *s, struct orch_step **steps, size_t *n, struct err *e)
{
	_cleanup_free_ struct orch_step *v = calloc(ORCH_MAX_STEPS, sizeof *v);
	size_t k = 0;
	const char *p = s;
	if (!v)
		return err_errno(e, ENOMEM, "steps");
	for (;;) {
		char *end;
		if (k == ORCH_MAX_STEPS)
			return err_set(e, "steps: more than %d steps", ORCH_MAX_STEPS);
		if (*p < '0' || *p > '9')
			return err_set(e, "steps: \"%.40s\": expected a number or a percentage", p);
		errno = 0;
		double d = strtod(p, &end);
		if (errno || end == p || !isfinite(d) || d <= 0)
			return err_set(e, "steps: \"%.40s\": expected a positive number or percentage", p);
		v[k].value = d;
		if (*end == '%') {
			v[k].percent = true;
			if (d > 100)
				return err_set(e, "steps: %g%% is more than the whole fleet", d);
			end++;
		} else if (d > 1e9 || d != (double)(uint64_t)d) {
			return err_set(e, "steps: \"%.40s\": a host count is a whole number", p);
		}
		/* steps are cumulative, so they grow; counts and shares can only be
		 * compared once the fleet is known (orch_plan_make skips what does not grow) */
		for (size_t i = 0; i < k; i++)
			if (v[i].percent == v[k].percent && v[i].value >= v[k].value)
				return err_set(e, "steps: %g%s does not come after %g%s: steps are cumulative and grow",
					       v[k].value, v[k].percent ? "%" : "", v[i].value, v[i].percent ? "%" : "");
		k++;
		if (!*end)
			break;
		if (*end != ',')
			return err_set(e, "steps: unexpected \"%.20s\" (use commas: 1,2,10%%,100%%)", end);
		p = end + 1;
	}
	*steps = steal_ptr(v);
	*n = k;
	return 0;
}

struct keyed {
	const char *value;
	size_t idx;
};

static int cmp_keyed(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;
	int c = strcmp(x->value, y->value);
	if (c)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

struct group {
	size_t start, len, pos;
};

static int cmp_group_first(const void *a, const void *b, void *arg)
{
	const struct group *x = a, *y = b;
	const struct keyed *k = arg;
	size_t fx = k[x->start].idx, fy = k[y->start].idx;
	return fx < fy ? -1 : fx > fy;
}

/* Interleave the label's values, groups in order of first appearance and
 * hosts within a group in file order: a1 b1 c1 a2 b2 c2 a3 ... */
static int spread_order(const struct orch_fleet *f, const char *label, size_t *order, struct err *e)
{
	_cleanup_free_ struct keyed *k = calloc(f->n, sizeof *k);
	_cleanup_free_ struct group *g = calloc(f->n, sizeof *g);
	size_t ng = 0, out = 0;
	if (!k || !g)
		return err_errno(e, ENOMEM, "wave plan");
	for (size_t i = 0; i < f->n; i++) {
		const char *v = orch_host_label(&f->hosts[i], label);
		k[i] = (struct keyed){v ? v : "", i};
	}
	qsort(k, f->n, sizeof *k, cmp_keyed);
	for (size_t i = 0; i < f->n; i++) {
		if (i == 0 || strcmp(k[i].value, k[i - 1].value))
			g[ng++] = (struct group){.start = i};
		g[ng - 1].len++;
	}
	qsort_r(g, ng, sizeof *g, cmp_group_first, k);
	while (ng) {
		size_t keep = 0;
		for (size_t i = 0; i < ng; i++) {
			order[out++] = k[g[i].start + g[i].pos++].idx;
			if (g[i].pos < g[i].len)
				g[keep++] = g[i]; /* drop exhausted groups, keeping the order */
		}
		ng = keep;
	}
	return 0;
}

void orch_plan_free(struct orch_plan *p)
{
	free(p->order);
	free(p->ends);
	*p = (struct orch_plan){0};
}

int orch_plan_make(const struct orch_fleet *f, const struct orch_plan_opts *o, struct orch_plan *p, struct err *e)
{
	size_t n = f->n;
	*p = (struct orch_plan){0};
	if (n == 0)
		return err_set(e, "wave plan: the fleet has no hosts");
	if (!(p->order = calloc(n, sizeof *p->order)) || !(p->ends = calloc(n, sizeof *p->ends))) {
		orch_plan_free(p);
		return err_errno(e, ENOMEM, "wave plan");
	}
	p->n = n;
	if (o->spread) {
		if (spread_order(f, o->spread, p->order, e) < 0) {
			orch_plan_free(p);
			return -1;
		}
	} else {
		for (size_t i = 0; i < n; i++)
			p->order[i] = i;
	}
	size_t done = 0;
	if (o->n_steps) {
		for (size_t i = 0; i < o->n_steps && done < n; i++) {
			const struct orch_step *s = &o->steps[i];
			double want = s->percent ? up((double)n * s->value / 100.0 - 1e-9) : s->value;
			size_t t = want >= (double)n ? n : (size_t)want;
			if (t > done)
				p->ends[p->n_waves++] = done = t;
		}
	} else {
		size_t first = o->first ? o->first : 1;
		double factor = o->factor > 1 ? o->factor : 2;
		double size = (double)first;
		while (done < n) {
			size_t s = (size_t)size;
			done = s >= n - done ? n : done + s;
			p->ends[p->n_waves++] = done;
			double next = up(size * factor - 1e-9);
			size = next > size ? next : size + 1;
		}
	}
	if (done < n)
		p->ends[p->n_waves++] = n; /* what the steps leave over */
	return 0;
}
