/* status.c: `ramp fleet status`: every host asked at once what it runs (see status.h). */
#include "orchestrator/status.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/api.h"
#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/token.h"
#include "orchestrator/client.h"
#include "orchestrator/hostapi.h"

struct status_ctx {
	const struct orch_fleet *f;
	const char *app;
	const char *token_file; /* --token-file, for hosts without the label */
	struct orch_view *rows;
	size_t n, cap;
	bool oom;
};

static struct orch_view *add_row(struct status_ctx *c, size_t host)
{
	if (c->n == c->cap) {
		size_t nc = c->cap ? c->cap * 2 : 64;
		struct orch_view *nr = realloc(c->rows, nc * sizeof *nr);
		if (!nr) {
			c->oom = true;
			return NULL;
		}
		c->rows = nr;
		c->cap = nc;
	}
	struct orch_view *v = &c->rows[c->n++];
	*v = (struct orch_view){.host = host, .reachable = true};
	return v;
}

static void view_of(struct orch_view *v, const struct orch_status *s)
{
	snprintf(v->app, sizeof v->app, "%s", s->name);
	snprintf(v->current, sizeof v->current, "%s", s->current);
	snprintf(v->phase, sizeof v->phase, "%s", s->phase);
	snprintf(v->since, sizeof v->since, "%s", s->phase_since);
	snprintf(v->rollout, sizeof v->rollout, "%s", s->rollout);
	snprintf(v->message, sizeof v->message, "%.255s", s->message);
	v->healthy = s->healthy;
	v->generation = s->generation;
}

static void on_status_view(void *ctx, uint64_t tag, const struct http_resp *r)
{
	struct status_ctx *c = ctx;
	size_t host = (size_t)tag;
	struct orch_view *v;
	struct err e;
	if (r->status == 0 || (r->status != 200 && r->status != 404)) {
		if (!(v = add_row(c, host)))
			return;
		v->reachable = r->status != 0;
		const struct orch_host *h = &c->f->hosts[host];
		const char *tf = orch_host_label(h, ORCH_LABEL_TOKEN_FILE);
		if (r->status == 401)
			token_describe_401(v->error, sizeof v->error, h->address, tf ? tf : c->token_file);
		else if (r->status)
			orch_describe_http(v->error, sizeof v->error, r->status, r->body, r->len);
		else
			orch_copy_clean(v->error, sizeof v->error, r->error);
		return;
	}
	if (r->status == 404) {
		if ((v = add_row(c, host)))
			snprintf(v->error, sizeof v->error, "%s is not on this host", c->app ? c->app : "no app");
		return;
	}
	struct orch_status *apps = NULL;
	size_t n = 0;
	int rc = -1;
	if (c->app) {
		if (!(apps = malloc(sizeof *apps))) {
			c->oom = true;
			return;
		}
		rc = orch_status_parse(r->body, r->len, c->app, apps, &e);
		n = 1;
	} else {
		rc = orch_apps_parse(r->body, r->len, &apps, &n, &e);
	}
	if (rc < 0) {
		if ((v = add_row(c, host)))
			snprintf(v->error, sizeof v->error, "unreadable %s: %.200s", c->app ? "status" : "answer", e.msg);
	} else if (n == 0) {
		if ((v = add_row(c, host)))
			snprintf(v->error, sizeof v->error, "no apps");
	}
	for (size_t k = 0; rc == 0 && k < n; k++)
		if ((v = add_row(c, host)))
			view_of(v, &apps[k]);
	free(apps);
}

static int cmp_view(const void *a, const void *b)
{
	const struct orch_view *x = a, *y = b;
	if (x->host != y->host)
		return x->host < y->host ? -1 : 1;
	return strcmp(x->app, y->app);
}

int orch_fleet_status(const struct orch_fleet *f, const char *app, const struct orch_opts *o, struct orch_view **rows,
		      size_t *n_rows, struct err *e)
{
	struct status_ctx c = {.f = f, .app = app, .token_file = o->token_file};
	struct orch_client_opts co = {.max_parallel = o->max_parallel, .timeout_ms = o->timeout_ms, .cacert = o->cacert,
				      .token_file = o->token_file};
	struct orch_client *cl = orch_client_new(&co, f->hosts, f->n, e);
	int rc = -1;
	if (!cl)
		return -1;
	for (size_t i = 0; i < f->n; i++) {
		struct orch_call q = {.op = app ? ORCH_OP_STATUS : ORCH_OP_APPS, .host = i, .app = app,
				      .cb = on_status_view, .ctx = &c, .tag = i};
		if (orch_client_call(cl, &q, e) < 0)
			goto out;
	}
	while (orch_client_busy(cl))
		if (orch_client_step(cl, 50, e) < 0)
			goto out;
	if (c.oom) {
		err_errno(e, ENOMEM, "status");
		goto out;
	}
	qsort(c.rows, c.n, sizeof *c.rows, cmp_view);
	*rows = steal_ptr(c.rows);
	*n_rows = c.n;
	rc = 0;
out:
	free(c.rows);
	orch_client_free(cl);
	return rc;
}
