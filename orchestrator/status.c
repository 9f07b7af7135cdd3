/* status.c: `ramp fleet status`: every host asked at once what it runs (see status.h). */
#include "orchestrator/status.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/api.h"
#include "lib/cleanup.h"
#include "lib/json.h"
#include "orchestrator/agent.h"
#include "orchestrator/hostapi.h"

struct status_ctx {
	const struct orch_fleet *f;
	const char *app;
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

static void on_status_view(void *ctx, uint64_t tag, const struct orch_resp *r)
{
	struct status_ctx *c = ctx;
	size_t host = (size_t)tag;
	struct orch_view *v;
	struct err e;
	if (r->status == 0 || (r->status != 200 && r->status != 404)) {
		if (!(v = add_row(c, host)))
			return;
		v->reachable = r->status != 0;
		if (r->status)
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
	struct json *j = json_parse(r->body, r->len, &e);
	const struct json *apps = NULL;
	if (j && !c->app && json_field(j, "apps", JSON_ARRAY, true, &apps, &e) < 0) {
		json_free(j);
		j = NULL;
	}
	if (!j) {
		if ((v = add_row(c, host)))
			snprintf(v->error, sizeof v->error, "unreadable answer: %.200s", e.msg);
		return;
	}
	size_t n = c->app ? 1 : apps->arr.n;
	if (n == 0 && (v = add_row(c, host)))
		snprintf(v->error, sizeof v->error, "no apps");
	for (size_t k = 0; k < n; k++) {
		struct orch_status s;
		if (!(v = add_row(c, host)))
			break;
		if (orch_status_from_json(c->app ? j : apps->arr.v[k], c->app, &s, &e) < 0)
			snprintf(v->error, sizeof v->error, "unreadable status: %.200s", e.msg);
		else
			view_of(v, &s);
	}
	json_free(j);
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
	struct status_ctx c = {.f = f, .app = app};
	struct orch_agent_opts ao = {.max_parallel = o->max_parallel, .timeout_ms = o->timeout_ms, .cacert = o->cacert};
	struct orch_tokens tok = {0};
	struct orch_agent *a = orch_agent_new(&ao, e);
	_cleanup_free_ char *path = app ? orch_app_path(app, NULL) : strdup(API_PATH_APPS);
	int rc = -1;
	if (!a)
		return -1;
	if (!path) {
		err_errno(e, ENOMEM, "status");
		goto out;
	}
	for (size_t i = 0; i < f->n; i++) {
		const struct orch_host *h = &f->hosts[i];
		const char *tf = orch_host_label(h, ORCH_LABEL_TOKEN_FILE);
		const char *token = NULL;
		if (!tf)
			tf = o->token_file;
		if (tf && !(token = orch_token(&tok, tf, e))) {
			err_ctx(e, "host %s", h->name);
			goto out;
		}
		_cleanup_free_ char *base = orch_host_base_url(h, o->cacert != NULL), *url = NULL;
		if (!base || asprintf(&url, "%s%s", base, path) < 0) {
			err_errno(e, ENOMEM, "status");
			goto out;
		}
		struct orch_req q = {.method = "GET", .url = url, .unix_path = h->unix_path, .token = token,
				     .once = true, .cb = on_status_view, .ctx = &c, .tag = i};
		if (orch_agent_submit(a, &q, e) < 0)
			goto out;
	}
	while (orch_agent_busy(a))
		if (orch_agent_step(a, 50, e) < 0)
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
	orch_tokens_free(&tok);
	orch_agent_free(a);
	return rc;
}
