/* client.c: rampd's API over lib/http's fan-out (see client.h). */
#include "orchestrator/client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "lib/clock.h"
#include "lib/http.h"
#include "orchestrator/hostapi.h"
#include "orchestrator/hostmetrics.h"
#include "orchestrator/promquery.h"

/* LOGS answers may be long; everything else of rampd's is small */
#define LOGS_MAX_BODY (16u << 20)
/* the orchestrator's probes keep only the start of what they read */
#define PROBE_MAX_BODY 4096

struct chost {
	char *base;      /* "http://10.0.0.1:7300" */
	char *unix_path; /* or NULL */
	const char *token;
};

struct orch_client {
	struct orch_transport t; /* first: orch_client_transport() hands out &c->t */
	struct orch_client_opts o;
	struct http_fanout *f;
	struct chost *h;
	size_t n;
	bool keep_all; /* every host keeps its connection (the fd limit allows it) */
	struct orch_tokens tokens;
};

static int t_call(struct orch_transport *t, const struct orch_call *c, struct err *e)
{
	return orch_client_call((struct orch_client *)t, c, e);
}

static int t_step(struct orch_transport *t, int timeout_ms, struct err *e)
{
	return orch_client_step((struct orch_client *)t, timeout_ms, e);
}

static size_t t_busy(const struct orch_transport *t)
{
	return orch_client_busy((const struct orch_client *)t);
}

static int64_t t_now(struct orch_transport *t)
{
	(void)t;
	return clk_mono_ms();
}

struct orch_transport *orch_client_transport(struct orch_client *c)
{
	return &c->t;
}

/* A connection per host (and per probed app) saves a connect (and a TLS
 * handshake) for every request after the first: 10,000 hosts need about
 * 10,000 fds. A kept TLS connection costs about 100 KB (libcurl 7.88 gives
 * each its own OpenSSL context), so only so many of them. */
static bool can_keep_all(const struct orch_client *c)
{
	struct rlimit rl;
	size_t conns = c->n * (c->o.probes ? 2 : 1), n_tls = 0;
	for (size_t i = 0; i < c->n; i++)
		n_tls += !strncmp(c->h[i].base, "https:", 6);
	return c->o.reuse && getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur >= conns + c->o.max_parallel + 256 &&
	       n_tls <= ORCH_KEEP_TLS;
}

struct orch_client *orch_client_new(const struct orch_client_opts *o, const struct orch_host *hosts, size_t n,
				    struct err *e)
{
	struct orch_client *c = calloc(1, sizeof *c);
	if (!c || !(c->h = calloc(n ? n : 1, sizeof *c->h))) {
		free(c);
		err_errno(e, ENOMEM, "client");
		return NULL;
	}
	c->t = (struct orch_transport){.call = t_call, .step = t_step, .busy = t_busy, .now_ms = t_now};
	c->o = *o;
	if (!c->o.max_parallel)
		c->o.max_parallel = 64;
	if (!c->o.timeout_ms)
		c->o.timeout_ms = 10000;
	c->o.cacert = c->o.token_file = NULL; /* not kept: the fan-out copies the CA, tokens are read now */
	for (size_t i = 0; i < n; i++, c->n++) {
		const char *tf = orch_host_label(&hosts[i], ORCH_LABEL_TOKEN_FILE);
		if (!tf)
			tf = o->token_file;
		if (tf && !(c->h[i].token = orch_token(&c->tokens, tf, e))) {
			err_ctx(e, "host %s", hosts[i].name);
			goto fail;
		}
		if (!(c->h[i].base = orch_host_base_url(&hosts[i], o->cacert != NULL)) ||
		    (hosts[i].unix_path && !(c->h[i].unix_path = strdup(hosts[i].unix_path)))) {
			err_errno(e, ENOMEM, "client");
			c->n++;
			goto fail;
		}
	}
	c->keep_all = can_keep_all(c);
	struct http_fanout_opts fo = {
		.max_parallel = c->o.max_parallel,
		.max_idle = c->keep_all ? c->n * (c->o.probes ? 2 : 1) : 0,
		.timeout_ms = c->o.timeout_ms,
		.connect_timeout_ms = c->o.connect_timeout_ms ? c->o.connect_timeout_ms : c->o.timeout_ms,
		.cacert = o->cacert,
	};
	if (!(c->f = http_fanout_new(&fo, e)))
		goto fail;
	return c;
fail:
	orch_client_free(c);
	return NULL;
}

void orch_client_free(struct orch_client *c)
{
	if (!c)
		return;
	http_fanout_free(c->f);
	for (size_t i = 0; i < c->n; i++) {
		free(c->h[i].base);
		free(c->h[i].unix_path);
	}
	free(c->h);
	orch_tokens_free(&c->tokens);
	free(c);
}

int orch_client_call(struct orch_client *c, const struct orch_call *call, struct err *e)
{
	const struct chost *h = &c->h[call->host];
	bool probe = call->op == ORCH_OP_PROBE, url_op = probe || call->op == ORCH_OP_QUERY;
	char path[512], url[1024];
	if (!url_op) {
		if (!orch_op_path(call->op, call->app, orch_call_arg(call), path, sizeof path) ||
		    snprintf(url, sizeof url, "%s%s", h->base, path) >= (int)sizeof url)
			return err_set(e, "request to %s: the URL is too long", h->base);
	}
	struct http_req q = {
		.method = orch_op_method(call->op),
		.url = url_op ? call->url : url,
		.unix_path = url_op ? NULL : h->unix_path,
		.token = url_op ? NULL : h->token,
		.body = call->body,
		.max_body = probe ? PROBE_MAX_BODY
			    : call->op == ORCH_OP_LOGS ? LOGS_MAX_BODY
			    : call->op == ORCH_OP_METRICS ? ORCH_METRICS_MAX_BODY
			    : call->op == ORCH_OP_QUERY	  ? ORCH_PROM_MAX_BODY
							  : 0,
		.truncate_ok = probe,
		.once = !c->keep_all && (!c->o.reuse || (c->n > 2 * c->o.max_parallel && !call->keep)),
		.key = call->host,
		.cb = call->cb,
		.ctx = call->ctx,
		.tag = call->tag,
	};
	return http_fanout_submit(c->f, &q, e);
}

int orch_client_step(struct orch_client *c, int timeout_ms, struct err *e)
{
	return http_fanout_step(c->f, timeout_ms, e);
}

size_t orch_client_busy(const struct orch_client *c)
{
	return http_fanout_busy(c->f);
}

struct answer {
	bool done, oom;
	long status;
	char *error, *body;
	size_t len;
};

static void on_answer(void *ctx, uint64_t tag, const struct http_resp *r)
{
	struct answer *a = ctx;
	(void)tag;
	a->done = true;
	a->status = r->status;
	if (r->status) {
		a->len = r->len;
		a->oom = !(a->body = malloc(r->len + 1));
		if (a->body) {
			memcpy(a->body, r->body, r->len);
			a->body[r->len] = '\0';
		}
	} else {
		a->oom = !(a->error = strdup(r->error ? r->error : "no answer"));
	}
}

int orch_client_run(struct orch_client *c, const struct orch_call *call, long *status, char **body, size_t *len,
		    struct err *e)
{
	struct answer a = {0};
	struct orch_call q = *call;
	q.cb = on_answer;
	q.ctx = &a;
	if (orch_client_call(c, &q, e) < 0)
		return -1;
	while (!a.done)
		if (orch_client_step(c, 100, e) < 0)
			return -1;
	if (a.oom) {
		free(a.body);
		free(a.error);
		return err_errno(e, ENOMEM, "answer");
	}
	if (!a.status) {
		char path[512];
		const char *p = orch_op_path(call->op, call->app, orch_call_arg(call), path, sizeof path);
		err_set(e, "%s %s at %s: %s", orch_op_method(call->op), p ? p : call->url,
			c->h[call->host].unix_path ? c->h[call->host].unix_path : c->h[call->host].base, a.error);
		free(a.error);
		return -1;
	}
	*status = a.status;
	*body = a.body;
	*len = a.len;
	return 0;
}
