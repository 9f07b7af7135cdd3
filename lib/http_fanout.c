/* http_fanout.c: many small HTTP requests at once on libcurl's multi
 * interface, sharded connection caches, one epoll set (see http.h). */
#include "lib/http.h"

#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <sys/epoll.h>
#include <unistd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/clock.h"
#include "lib/http_int.h"

struct xfer {
	struct xfer *prev, *next; /* the active list, or (next only) the queue or the pool */
	CURL *h;
	struct curl_slist *hdrs;
	char *url, *unix_path, *body, *method;
	char *buf;
	size_t len, cap, max;
	bool truncate_ok, truncated, overflow, once;
	size_t key;
	struct shard *sh; /* whose multi handle it is added to */
	http_req_cb cb;
	void *ctx;
	uint64_t tag;
	int64_t start_ms;
	char errbuf[CURL_ERROR_SIZE];
};

/* One libcurl multi handle and its connection cache (see http.h). */
struct shard {
	CURLM *m;
	struct http_fanout *a;
	int64_t timer_at; /* when curl wants to be called, or -1 */
};

struct http_fanout {
	struct shard *sh;
	size_t n_sh;
	struct http_fanout_opts o;
	char *cacert;
	struct xfer *qhead, *qtail; /* waiting for a free slot */
	struct xfer *active;        /* added to the multi handle */
	struct xfer *pool;          /* finished, for reuse (at most max_parallel, with their buffers) */
	size_t n_pool;
	CURL **handles;             /* easy handles not in use (at most max_parallel) */
	size_t n_handles;
	size_t n_active, n_queued;
	int ep;                     /* epoll: the sockets curl wants watched (all shards) */
};

/* curl's socket interface: it says which sockets to watch for what, we tell
 * it what happened. Unlike curl_multi_poll(), the cost of a wake-up does not
 * grow with the number of connections. */
static int on_socket(CURL *h, curl_socket_t s, int what, void *arg, void *known)
{
	struct shard *sh = arg;
	struct http_fanout *a = sh->a;
	(void)h;
	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(a->ep, EPOLL_CTL_DEL, s, NULL); /* may be closed already */
		curl_multi_assign(sh->m, s, NULL);
		return 0;
	}
	/* the event says which shard's socket it is */
	struct epoll_event ev = {.data.u64 = (uint64_t)(sh - a->sh) << 32 | (uint32_t)s};
	ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0u) | (what & CURL_POLL_OUT ? EPOLLOUT : 0u);
	if (epoll_ctl(a->ep, known ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s, &ev) < 0 &&
	    epoll_ctl(a->ep, known ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, s, &ev) < 0)
		return -1;
	curl_multi_assign(sh->m, s, sh);
	return 0;
}

static int on_timer(CURLM *m, long ms, void *arg)
{
	struct shard *sh = arg;
	(void)m;
	sh->timer_at = ms < 0 ? -1 : clk_mono_ms() + ms;
	return 0;
}

struct http_fanout *http_fanout_new(const struct http_fanout_opts *o, struct err *e)
{
	if (http_curl_init(e) < 0)
		return NULL;
	struct http_fanout *a = calloc(1, sizeof *a);
	if (!a) {
		err_errno(e, ENOMEM, "HTTP client");
		return NULL;
	}
	a->o = *o;
	if (!a->o.max_parallel)
		a->o.max_parallel = 64;
	if (!a->o.max_idle)
		a->o.max_idle = a->o.max_parallel * 2;
	if (!a->o.timeout_ms)
		a->o.timeout_ms = 10000;
	if (!a->o.connect_timeout_ms)
		a->o.connect_timeout_ms = a->o.timeout_ms;
	a->n_sh = (a->o.max_idle + HTTP_FANOUT_SHARD - 1) / HTTP_FANOUT_SHARD;
	a->ep = -1;
	if ((o->cacert && !(a->cacert = strdup(o->cacert))) ||
	    !(a->handles = calloc(a->o.max_parallel, sizeof *a->handles)) || !(a->sh = calloc(a->n_sh, sizeof *a->sh))) {
		err_errno(e, ENOMEM, "HTTP client");
		goto fail;
	}
	a->o.cacert = a->cacert;
	if ((a->ep = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		err_sys(e, "epoll");
		goto fail;
	}
	/* room for the idle connections and those in use (spread by key too) */
	long per = (long)((a->o.max_idle + a->o.max_parallel) / a->n_sh + 1);
	for (size_t i = 0; i < a->n_sh; i++) {
		struct shard *sh = &a->sh[i];
		if (!(sh->m = curl_multi_init())) {
			err_errno(e, ENOMEM, "HTTP client");
			goto fail;
		}
		sh->a = a;
		sh->timer_at = -1;
		curl_multi_setopt(sh->m, CURLMOPT_MAXCONNECTS, per);
		curl_multi_setopt(sh->m, CURLMOPT_SOCKETFUNCTION, on_socket);
		curl_multi_setopt(sh->m, CURLMOPT_SOCKETDATA, sh);
		curl_multi_setopt(sh->m, CURLMOPT_TIMERFUNCTION, on_timer);
		curl_multi_setopt(sh->m, CURLMOPT_TIMERDATA, sh);
	}
	return a;
fail:
	http_fanout_free(a);
	return NULL;
}

static void xfer_clear(struct xfer *x)
{
	curl_slist_free_all(x->hdrs);
	free(x->url);
	free(x->unix_path);
	free(x->body);
	free(x->method);
	x->hdrs = NULL;
	x->url = x->unix_path = x->body = x->method = NULL;
	x->len = 0;
	x->truncated = x->overflow = false;
	x->errbuf[0] = '\0';
}

static void xfer_free(struct xfer *x)
{
	xfer_clear(x);
	if (x->h)
		curl_easy_cleanup(x->h);
	free(x->buf);
	free(x);
}

static void free_list(struct xfer *x)
{
	while (x) {
		struct xfer *n = x->next;
		xfer_free(x);
		x = n;
	}
}

void http_fanout_free(struct http_fanout *a)
{
	if (!a)
		return;
	for (struct xfer *x = a->active; x; x = x->next)
		curl_multi_remove_handle(x->sh->m, x->h);
	free_list(a->active);
	free_list(a->qhead);
	free_list(a->pool);
	for (size_t i = 0; i < a->n_handles; i++)
		curl_easy_cleanup(a->handles[i]);
	free(a->handles);
	for (size_t i = 0; a->sh && i < a->n_sh; i++)
		if (a->sh[i].m)
			curl_multi_cleanup(a->sh[i].m);
	free(a->sh);
	if (a->ep >= 0)
		close(a->ep);
	free(a->cacert);
	free(a);
}

size_t http_fanout_busy(const struct http_fanout *a)
{
	return a->n_active + a->n_queued;
}

static size_t on_data(char *p, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t n = size * nmemb, room = x->max - x->len;
	if (n > room) {
		if (!x->truncate_ok) {
			x->overflow = true;
			return 0; /* aborts the transfer */
		}
		x->truncated = true;
	}
	size_t take = n < room ? n : room;
	if (buf_grow(&x->buf, &x->cap, x->len + take + 1, 1024, SIZE_MAX) < 0)
		return 0;
	memcpy(x->buf + x->len, p, take);
	x->len += take;
	return n;
}

static int start(struct http_fanout *a, struct xfer *x, struct err *e)
{
	/* queued requests hold no easy handle: only those in flight do */
	CURL *h = a->n_handles ? a->handles[--a->n_handles] : curl_easy_init();
	if (!h)
		return err_errno(e, ENOMEM, "HTTP request");
	x->h = h;
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_PRIVATE, x);
	curl_easy_setopt(h, CURLOPT_URL, x->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, a->o.timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, a->o.connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "ramp/" RAMP_VERSION);
	/* libcurl scans its whole DNS cache on every lookup: with thousands of
	 * hosts that is quadratic, so keep no entries (addresses are mostly IPs) */
	curl_easy_setopt(h, CURLOPT_DNS_CACHE_TIMEOUT, 0L);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, x->hdrs);
	if (x->unix_path)
		curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, x->unix_path);
	if (x->once)
		curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
	if (a->cacert)
		curl_easy_setopt(h, CURLOPT_CAINFO, a->cacert);
	if (x->body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, x->body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(x->body));
	}
	if (strcmp(x->method, "GET") && strcmp(x->method, "POST"))
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, x->method);
	else if (!strcmp(x->method, "POST") && !x->body)
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
	x->start_ms = clk_mono_ms();
	x->sh = &a->sh[x->key % a->n_sh];
	CURLMcode mc = curl_multi_add_handle(x->sh->m, h);
	if (mc != CURLM_OK)
		return err_set(e, "%s %s: %s", x->method, x->url, curl_multi_strerror(mc));
	x->prev = NULL;
	x->next = a->active;
	if (a->active)
		a->active->prev = x;
	a->active = x;
	a->n_active++;
	return 0;
}

static void release(struct http_fanout *a, struct xfer *x)
{
	xfer_clear(x);
	if (x->h) {
		if (a->n_handles < a->o.max_parallel)
			a->handles[a->n_handles++] = x->h;
		else
			curl_easy_cleanup(x->h);
		x->h = NULL;
	}
	/* a burst of thousands of queued requests must not keep a body buffer each */
	if (a->n_pool >= a->o.max_parallel) {
		xfer_free(x);
		return;
	}
	x->next = a->pool;
	a->pool = x;
	a->n_pool++;
}

/* A request that could not even start completes at once with the error. */
static void fail_now(struct http_fanout *a, struct xfer *x, const char *why)
{
	struct http_resp r = {.error = why, .body = "", .ms = 0};
	x->cb(x->ctx, x->tag, &r);
	release(a, x);
}

static void start_queued(struct http_fanout *a)
{
	while (a->qhead && a->n_active < a->o.max_parallel) {
		struct xfer *x = a->qhead;
		a->qhead = x->next;
		if (!a->qhead)
			a->qtail = NULL;
		a->n_queued--;
		struct err e;
		if (start(a, x, &e) < 0)
			fail_now(a, x, e.msg);
	}
}

int http_fanout_submit(struct http_fanout *a, const struct http_req *r, struct err *e)
{
	struct xfer *x = a->pool;
	if (x) {
		a->pool = x->next;
		a->n_pool--;
	} else if (!(x = calloc(1, sizeof *x)))
		return err_errno(e, ENOMEM, "HTTP request");
	x->next = x->prev = NULL;
	x->cb = r->cb;
	x->ctx = r->ctx;
	x->tag = r->tag;
	x->max = r->max_body ? r->max_body : (1u << 20);
	x->truncate_ok = r->truncate_ok;
	x->once = r->once;
	x->key = r->key;
	if (!(x->url = strdup(r->url)) || !(x->method = strdup(r->method)) ||
	    (r->unix_path && !(x->unix_path = strdup(r->unix_path))) || (r->body && !(x->body = strdup(r->body))))
		goto nomem;
	struct curl_slist *l = curl_slist_append(NULL, "Expect:");
	if (!l)
		goto nomem;
	x->hdrs = l;
	if (r->body && !(l = curl_slist_append(x->hdrs, "Content-Type: application/json")))
		goto nomem;
	if (r->token) {
		char *auth;
		if (asprintf(&auth, "Authorization: Bearer %s", r->token) < 0)
			goto nomem;
		l = curl_slist_append(x->hdrs, auth);
		free(auth);
		if (!l)
			goto nomem;
	}
	if (a->qtail)
		a->qtail->next = x;
	else
		a->qhead = x;
	a->qtail = x;
	a->n_queued++;
	start_queued(a);
	return 0;
nomem:
	release(a, x);
	return err_errno(e, ENOMEM, "HTTP request");
}

static void finish(struct http_fanout *a, struct xfer *x, CURLcode code)
{
	struct http_resp r = {.body = "", .truncated = x->truncated, .ms = clk_mono_ms() - x->start_ms};
	char why[CURL_ERROR_SIZE + 64];

	curl_multi_remove_handle(x->sh->m, x->h);
	if (x->prev)
		x->prev->next = x->next;
	else
		a->active = x->next;
	if (x->next)
		x->next->prev = x->prev;
	a->n_active--;
	if (code == CURLE_OK) {
		curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &r.status);
		if (x->buf) {
			x->buf[x->len] = '\0';
			r.body = x->buf;
			r.len = x->len;
		}
	} else if (x->overflow) {
		snprintf(why, sizeof why, "response larger than %zu bytes", x->max);
		r.error = why;
	} else {
		long os_errno = 0;
		snprintf(why, sizeof why, "%s", x->errbuf[0] ? x->errbuf : curl_easy_strerror(code));
		r.error = why;
		if (code == CURLE_COULDNT_CONNECT && curl_easy_getinfo(x->h, CURLINFO_OS_ERRNO, &os_errno) == CURLE_OK)
			r.refused = os_errno == ECONNREFUSED;
	}
	x->cb(x->ctx, x->tag, &r);
	release(a, x);
}

/* Hand the finished transfers to their callbacks, start what waits. */
static void collect(struct http_fanout *a)
{
	int left;
	CURLMsg *msg;
	for (size_t i = 0; i < a->n_sh; i++)
		while ((msg = curl_multi_info_read(a->sh[i].m, &left))) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			struct xfer *x;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
			finish(a, x, msg->data.result);
		}
	start_queued(a);
}

int http_fanout_step(struct http_fanout *a, int timeout_ms, struct err *e)
{
	struct epoll_event ev[256];
	int running;
	CURLMcode mc = CURLM_OK;
	start_queued(a);
	if (!a->n_active) {
		if (timeout_ms > 0)
			poll(NULL, 0, timeout_ms);
		return 0;
	}
	int64_t now = clk_mono_ms();
	int wait = timeout_ms;
	for (size_t i = 0; i < a->n_sh; i++) {
		int64_t t = a->sh[i].timer_at;
		if (t >= 0 && t - now < wait)
			wait = t > now ? (int)(t - now) : 0;
	}
	int n = epoll_wait(a->ep, ev, (int)ARRAY_SIZE(ev), wait);
	if (n < 0 && errno != EINTR)
		return err_sys(e, "HTTP client: epoll");
	for (int i = 0; i < n && mc == CURLM_OK; i++) {
		int mask = (ev[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) | (ev[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
			   (ev[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
		struct shard *sh = &a->sh[ev[i].data.u64 >> 32];
		mc = curl_multi_socket_action(sh->m, (curl_socket_t)(uint32_t)ev[i].data.u64, mask, &running);
	}
	now = clk_mono_ms();
	for (size_t i = 0; i < a->n_sh && mc == CURLM_OK; i++) {
		struct shard *sh = &a->sh[i];
		if (sh->timer_at >= 0 && now >= sh->timer_at) {
			sh->timer_at = -1;
			mc = curl_multi_socket_action(sh->m, CURL_SOCKET_TIMEOUT, 0, &running);
		}
	}
	if (mc != CURLM_OK)
		return err_set(e, "HTTP client: %s", curl_multi_strerror(mc));
	collect(a);
	return 0;
}
