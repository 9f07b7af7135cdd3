/* http.c: libcurl transfers over one multi handle (see http.h). */
#include "lib/http.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/clock.h"
#include "lib/http_int.h"

#define MAX_HEADERS 200
#define MAX_HEADER_BYTES (64u << 10)
#define MAX_ERROR_BODY (64u << 10)
#define MAX_REDIRECTS 10

struct http_client {
	CURLM *multi;
	struct http_client_opts o;
	char *cacert, *ua;
	size_t running;
	struct xpriv *done; /* finished, not yet returned by http_wait */
};

/* per-transfer state */
struct xpriv {
	CURL *h;
	struct curl_slist *hdrs;
	struct http_xfer *x;
	size_t hdr_bytes;
	uint64_t sent;    /* request body bytes read so far */
	size_t body_cap;  /* bytes allocated for x->resp_body */
	bool status_seen; /* the final status was checked for the sink */
	bool to_sink;
	bool too_big;
	bool sink_failed;
	bool done;
	struct xpriv *next;
	char errbuf[CURL_ERROR_SIZE];
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

static void global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int http_curl_init(struct err *e)
{
	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK)
		return err_set(e, "libcurl: %s", curl_easy_strerror(global_rc));
	return 0;
}

struct http_client *http_client_new(const struct http_client_opts *o, struct err *e)
{
	if (http_curl_init(e) < 0)
		return NULL;
	struct http_client *c = calloc(1, sizeof *c);
	if (!c || !(c->multi = curl_multi_init())) {
		free(c);
		err_errno(e, ENOMEM, "HTTP client");
		return NULL;
	}
	c->o = *o;
	if (!c->o.timeout_s)
		c->o.timeout_s = 30;
	if (!c->o.max_host_conns)
		c->o.max_host_conns = 8;
	if ((o->cacert && !(c->cacert = strdup(o->cacert))) ||
	    !(c->ua = strdup(o->user_agent ? o->user_agent : "ramp"))) {
		http_client_free(c);
		err_errno(e, ENOMEM, "HTTP client");
		return NULL;
	}
	curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)c->o.max_host_conns);
	return c;
}

static void xpriv_free(struct http_client *c, struct xpriv *p)
{
	if (!p)
		return;
	if (p->h) {
		if (c && !p->done)
			curl_multi_remove_handle(c->multi, p->h);
		curl_easy_cleanup(p->h);
	}
	curl_slist_free_all(p->hdrs);
	free(p);
}

void http_client_free(struct http_client *c)
{
	if (!c)
		return;
	while (c->done) {
		struct xpriv *p = c->done;
		c->done = p->next;
		p->x->priv = NULL;
		xpriv_free(c, p);
	}
	if (c->multi)
		curl_multi_cleanup(c->multi);
	free(c->cacert);
	free(c->ua);
	free(c);
}

/* ---- transfers ---- */

void http_xfer_init(struct http_xfer *x)
{
	*x = (struct http_xfer){.body_fd = -1};
}

int http_xfer_url(struct http_xfer *x, const char *url, struct err *e)
{
	char *u = strdup(url);
	if (!u)
		return err_errno(e, ENOMEM, "URL");
	free(x->url);
	x->url = u;
	return 0;
}

int http_xfer_header(struct http_xfer *x, struct err *e, const char *fmt, ...)
{
	char *h, **nh;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&h, fmt, ap);
	va_end(ap);
	if (n < 0)
		return err_errno(e, ENOMEM, "HTTP header");
	/* a header value is ours or validated; a line break would smuggle another */
	if (strpbrk(h, "\r\n")) {
		free(h);
		return err_set(e, "HTTP header with a line break refused");
	}
	if (!(nh = realloc(x->headers, (x->n_headers + 1) * sizeof *nh))) {
		free(h);
		return err_errno(e, ENOMEM, "HTTP header");
	}
	x->headers = nh;
	x->headers[x->n_headers++] = h;
	return 0;
}

void http_xfer_reset_response(struct http_xfer *x)
{
	for (size_t i = 0; i < x->n_resp_headers; i++) {
		free(x->resp_headers[i].name);
		free(x->resp_headers[i].value);
	}
	free(x->resp_headers);
	free(x->resp_body);
	free(x->effective_url);
	x->resp_headers = NULL;
	x->n_resp_headers = 0;
	x->resp_body = NULL;
	x->resp_len = 0;
	x->effective_url = NULL;
	x->status = 0;
	x->fail = HTTP_FAIL_NONE;
	x->errmsg[0] = '\0';
}

void http_xfer_free(struct http_xfer *x)
{
	http_xfer_reset_response(x);
	free(x->url);
	for (size_t i = 0; i < x->n_headers; i++)
		free(x->headers[i]);
	free(x->headers);
	x->url = NULL;
	x->headers = NULL;
	x->n_headers = 0;
}

const char *http_header_next(const struct http_xfer *x, const char *name, size_t *i)
{
	for (; *i < x->n_resp_headers; (*i)++)
		if (!strcasecmp(x->resp_headers[*i].name, name))
			return x->resp_headers[(*i)++].value;
	return NULL;
}

const char *http_header_get(const struct http_xfer *x, const char *name)
{
	size_t i = 0;
	return http_header_next(x, name, &i);
}

static size_t on_header(char *buf, size_t size, size_t n, void *ud)
{
	struct xpriv *p = ud;
	struct http_xfer *x = p->x;
	size_t len = size * n;
	p->hdr_bytes += len;
	/* each response (redirect, 100 Continue, final) starts a new block */
	if (len >= 5 && !memcmp(buf, "HTTP/", 5)) {
		for (size_t i = 0; i < x->n_resp_headers; i++) {
			free(x->resp_headers[i].name);
			free(x->resp_headers[i].value);
		}
		x->n_resp_headers = 0;
		return len;
	}
	if (p->hdr_bytes > MAX_HEADER_BYTES) {
		p->too_big = true;
		return 0;
	}
	const char *colon = memchr(buf, ':', len);
	if (!colon)
		return len; /* the blank line ending the block, or junk */
	const char *v = colon + 1, *end = buf + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (x->n_resp_headers >= MAX_HEADERS) {
		p->too_big = true;
		return 0;
	}
	size_t n_h = x->n_resp_headers;
	if (n_h == 0 || (n_h & (n_h - 1)) == 0) { /* grow at powers of two */
		struct http_header *nh = realloc(x->resp_headers, (n_h < 2 ? 4 : n_h * 2) * sizeof *nh);
		if (!nh)
			return 0;
		x->resp_headers = nh;
	}
	char *name = strndup(buf, (size_t)(colon - buf)), *val = strndup(v, (size_t)(end - v));
	if (!name || !val) {
		free(name);
		free(val);
		return 0;
	}
	x->resp_headers[x->n_resp_headers++] = (struct http_header){name, val};
	return len;
}

static size_t on_body(char *buf, size_t size, size_t n, void *ud)
{
	struct xpriv *p = ud;
	struct http_xfer *x = p->x;
	size_t len = size * n;
	if (!p->status_seen) {
		long st = 0;
		curl_easy_getinfo(p->h, CURLINFO_RESPONSE_CODE, &st);
		p->status_seen = true;
		x->status = st; /* for the sink: 200 or 206 */
		p->to_sink = x->sink && st >= 200 && st < 300;
	}
	if (p->to_sink) {
		if (x->sink(x->sink_ctx, buf, len) < 0) {
			p->sink_failed = true;
			return 0;
		}
		return len;
	}
	size_t max = x->sink ? MAX_ERROR_BODY : x->max_body;
	if (!max)
		return len;
	if (x->resp_len + len > max) {
		/* an error body is only for the message: keep its start */
		if (x->sink)
			len = max - x->resp_len;
		else {
			p->too_big = true;
			return 0;
		}
	}
	if (buf_grow(&x->resp_body, &p->body_cap, x->resp_len + len + 1, 4096, max + 1) < 0)
		return 0;
	memcpy(x->resp_body + x->resp_len, buf, len);
	x->resp_len += len;
	x->resp_body[x->resp_len] = '\0';
	return size * n;
}

static size_t on_read(char *buf, size_t size, size_t n, void *ud)
{
	struct xpriv *p = ud;
	struct http_xfer *x = p->x;
	size_t want = size * n;
	uint64_t total = x->body_fd >= 0 ? x->body_size : x->body_len;
	if (p->sent >= total)
		return 0;
	if (want > total - p->sent)
		want = (size_t)(total - p->sent);
	if (x->body_fd < 0) {
		memcpy(buf, (const char *)x->body + p->sent, want);
	} else {
		ssize_t r;
		do
			r = pread(x->body_fd, buf, want, (off_t)(x->body_off + p->sent));
		while (r < 0 && errno == EINTR);
		if (r <= 0) {
			snprintf(x->errmsg, sizeof x->errmsg, "reading the request body: %s",
				 r < 0 ? strerror(errno) : "file shrank");
			return CURL_READFUNC_ABORT;
		}
		want = (size_t)r;
	}
	p->sent += want;
	return want;
}

static int on_seek(void *ud, curl_off_t off, int origin)
{
	struct xpriv *p = ud;
	if (origin != SEEK_SET || off < 0)
		return CURL_SEEKFUNC_CANTSEEK;
	p->sent = (uint64_t)off;
	return CURL_SEEKFUNC_OK;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	struct xpriv *p = ud;
	struct http_xfer *x = p->x;
	if (x->has_body)
		x->progress(x->progress_ctx, (uint64_t)ulnow, (uint64_t)ultotal);
	else
		x->progress(x->progress_ctx, (uint64_t)dlnow, (uint64_t)dltotal);
	return 0;
}

static int setup(struct http_client *c, struct http_xfer *x, struct err *e)
{
	struct xpriv *p = calloc(1, sizeof *p);
	if (!p)
		return err_errno(e, ENOMEM, "HTTP transfer");
	http_xfer_reset_response(x);
	p->x = x;
	x->priv = p;
	if (!(p->h = curl_easy_init())) {
		xpriv_free(NULL, p);
		x->priv = NULL;
		return err_errno(e, ENOMEM, "HTTP transfer");
	}
	CURL *h = p->h;
	bool https = x->url && !strncasecmp(x->url, "https:", 6);
	curl_easy_setopt(h, CURLOPT_URL, x->url);
	curl_easy_setopt(h, CURLOPT_PRIVATE, p);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, p->errbuf);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	/* never downgrade from https on a redirect */
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, https ? "https" : "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, x->follow ? 1L : 0L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, (long)MAX_REDIRECTS);
	curl_easy_setopt(h, CURLOPT_UNRESTRICTED_AUTH, 0L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, c->ua);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)c->o.timeout_s);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long)c->o.timeout_s);
	if (x->timeout_ms)
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, x->timeout_ms);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, x->insecure ? 0L : 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, x->insecure ? 0L : 2L);
	if (c->cacert)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->cacert);
	curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 256L << 10);
	curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, 512L << 10);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, p);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, p);
	if (x->progress) {
		curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(h, CURLOPT_XFERINFODATA, p);
	}
	const char *m = x->method ? x->method : "GET";
	if (!strcmp(m, "HEAD")) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (x->has_body) {
		uint64_t size = x->body_fd >= 0 ? x->body_size : x->body_len;
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)size);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(h, CURLOPT_READDATA, p);
		curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
		curl_easy_setopt(h, CURLOPT_SEEKDATA, p);
		if (strcmp(m, "PUT"))
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
	} else if (!strcmp(m, "POST")) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
	} else if (strcmp(m, "GET")) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
	}
	if (x->range_from) {
		char r[32];
		snprintf(r, sizeof r, "%llu-", (unsigned long long)x->range_from);
		curl_easy_setopt(h, CURLOPT_RANGE, r);
	}
	/* no Expect: 100-continue round trip; auth is settled before bodies go out */
	struct curl_slist *l = curl_slist_append(NULL, "Expect:");
	for (size_t i = 0; l && i < x->n_headers; i++) {
		struct curl_slist *nl = curl_slist_append(l, x->headers[i]);
		if (!nl) {
			curl_slist_free_all(l);
			l = NULL;
		}
		l = nl;
	}
	if (!l) {
		xpriv_free(NULL, p);
		x->priv = NULL;
		return err_errno(e, ENOMEM, "HTTP headers");
	}
	p->hdrs = l;
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, l);
	return 0;
}

static enum http_fail classify(CURLcode rc)
{
	switch (rc) {
	case CURLE_OK:
		return HTTP_FAIL_NONE;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
		return HTTP_FAIL_CONNECT;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
		return HTTP_FAIL_TLS;
	case CURLE_OPERATION_TIMEDOUT:
		return HTTP_FAIL_TIMEOUT;
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_HTTP3:
		return HTTP_FAIL_BROKEN;
	case CURLE_TOO_MANY_REDIRECTS:
		return HTTP_FAIL_REDIRECTS;
	case CURLE_ABORTED_BY_CALLBACK:
	case CURLE_READ_ERROR:
		return HTTP_FAIL_ABORTED;
	default:
		return HTTP_FAIL_OTHER;
	}
}

/* Fill the response fields of a finished transfer. */
static void finish(struct xpriv *p, CURLcode rc)
{
	struct http_xfer *x = p->x;
	char *eff = NULL;
	p->done = true;
	curl_easy_getinfo(p->h, CURLINFO_RESPONSE_CODE, &x->status);
	if (curl_easy_getinfo(p->h, CURLINFO_EFFECTIVE_URL, &eff) == CURLE_OK && eff)
		x->effective_url = strdup(eff);
	x->fail = classify(rc);
	if (rc == CURLE_WRITE_ERROR || rc == CURLE_ABORTED_BY_CALLBACK)
		x->fail = p->too_big ? HTTP_FAIL_TOO_BIG : HTTP_FAIL_ABORTED;
	if (p->too_big)
		x->fail = HTTP_FAIL_TOO_BIG;
	if (x->fail == HTTP_FAIL_NONE)
		return;
	if (x->fail == HTTP_FAIL_TOO_BIG)
		snprintf(x->errmsg, sizeof x->errmsg, "the response is larger than the limit of %zu bytes",
			 p->hdr_bytes > MAX_HEADER_BYTES || x->n_resp_headers >= MAX_HEADERS ? (size_t)MAX_HEADER_BYTES
											       : x->max_body);
	else if (x->fail == HTTP_FAIL_ABORTED && p->sink_failed)
		snprintf(x->errmsg, sizeof x->errmsg, "the transfer was stopped");
	else if (!x->errmsg[0])
		snprintf(x->errmsg, sizeof x->errmsg, "%s", p->errbuf[0] ? p->errbuf : curl_easy_strerror(rc));
	x->status = 0;
}

int http_start(struct http_client *c, struct http_xfer *x, struct err *e)
{
	if (!x->url)
		return err_set(e, "HTTP transfer without a URL");
	if (setup(c, x, e) < 0)
		return -1;
	struct xpriv *p = x->priv;
	CURLMcode mc = curl_multi_add_handle(c->multi, p->h);
	if (mc != CURLM_OK) {
		xpriv_free(NULL, p);
		x->priv = NULL;
		return err_set(e, "start %s: %s", x->url, curl_multi_strerror(mc));
	}
	c->running++;
	return 0;
}

size_t http_running(const struct http_client *c)
{
	return c->running;
}

/* Move every finished transfer to the done list. */
static void collect(struct http_client *c)
{
	CURLMsg *m;
	int left;
	while ((m = curl_multi_info_read(c->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		struct xpriv *p = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&p);
		CURLcode rc = m->data.result;
		curl_multi_remove_handle(c->multi, m->easy_handle);
		finish(p, rc);
		struct xpriv **tail = &c->done;
		while (*tail)
			tail = &(*tail)->next;
		p->next = NULL;
		*tail = p;
	}
}

static void release(struct http_client *c, struct xpriv *p)
{
	p->x->priv = NULL;
	c->running--;
	xpriv_free(c, p);
}

struct http_xfer *http_wait(struct http_client *c, long timeout_ms)
{
	int64_t start = clk_mono_ms();
	for (;;) {
		if (c->done) {
			struct xpriv *p = c->done;
			struct http_xfer *x = p->x;
			c->done = p->next;
			release(c, p);
			return x;
		}
		if (!c->running)
			return NULL;
		int still;
		curl_multi_perform(c->multi, &still);
		collect(c);
		if (c->done)
			continue;
		long spent = (long)(clk_mono_ms() - start);
		if (timeout_ms >= 0 && spent >= timeout_ms)
			return NULL;
		long wait = timeout_ms >= 0 && timeout_ms - spent < 1000 ? timeout_ms - spent : 1000;
		curl_multi_poll(c->multi, NULL, 0, (int)wait, NULL);
	}
}

int http_perform(struct http_client *c, struct http_xfer *x, struct err *e)
{
	if (http_start(c, x, e) < 0)
		return -1;
	struct xpriv *mine = x->priv;
	/* others keep running; their completions wait in the done list */
	for (;;) {
		for (struct xpriv **pp = &c->done; *pp; pp = &(*pp)->next)
			if (*pp == mine) {
				*pp = mine->next;
				release(c, mine);
				goto done;
			}
		int still;
		curl_multi_perform(c->multi, &still);
		collect(c);
		bool found = false;
		for (struct xpriv *p = c->done; p; p = p->next)
			found |= p == mine;
		if (!found)
			curl_multi_poll(c->multi, NULL, 0, 1000, NULL);
	}
done:
	if (x->fail != HTTP_FAIL_NONE)
		return err_set(e, "%s %s: %s", x->method ? x->method : "GET", x->url, x->errmsg);
	return 0;
}

void http_cancel(struct http_client *c, struct http_xfer *x)
{
	struct xpriv *p = x->priv;
	if (!p)
		return;
	for (struct xpriv **pp = &c->done; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	if (!p->done)
		curl_multi_remove_handle(c->multi, p->h);
	p->done = true;
	release(c, p);
}

/* ---- URLs ---- */

/* Does a rel parameter value (a space-separated list) hold "next"? */
static bool rel_has_next(const char *v, size_t n)
{
	for (size_t i = 0; i < n;) {
		while (i < n && v[i] == ' ')
			i++;
		size_t k = i;
		while (k < n && v[k] != ' ')
			k++;
		if (k - i == 4 && !strncasecmp(v + i, "next", 4))
			return true;
		i = k;
	}
	return false;
}

/* The target of the first link-value of one Link header with rel="next":
 * `<target>; param=value; param="quoted, value", <target2>; ...` */
static char *link_next_in(const char *v)
{
	const char *p = v;
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p != '<')
			return NULL;
		const char *target = p + 1, *end = strchr(target, '>');
		if (!end || end == target)
			return NULL;
		bool next = false;
		p = end + 1;
		/* parameters, up to the comma that ends this link-value */
		for (;;) {
			while (*p == ' ' || *p == '\t')
				p++;
			if (*p != ';')
				break;
			p++;
			while (*p == ' ' || *p == '\t')
				p++;
			const char *name = p;
			while (*p && *p != '=' && *p != ';' && *p != ',' && *p != ' ' && *p != '\t')
				p++;
			size_t nlen = (size_t)(p - name);
			while (*p == ' ' || *p == '\t')
				p++;
			const char *val = p;
			size_t vlen = 0;
			if (*p == '=') {
				p++;
				while (*p == ' ' || *p == '\t')
					p++;
				if (*p == '"') {
					val = ++p;
					while (*p && *p != '"')
						p += p[0] == '\\' && p[1] ? 2 : 1;
					if (!*p)
						return NULL;
					vlen = (size_t)(p++ - val);
				} else {
					val = p;
					while (*p && *p != ';' && *p != ',' && *p != ' ' && *p != '\t')
						p++;
					vlen = (size_t)(p - val);
				}
			}
			if (nlen == 3 && !strncasecmp(name, "rel", 3) && rel_has_next(val, vlen))
				next = true;
		}
		if (*p && *p != ',')
			return NULL;
		if (next)
			return strndup(target, (size_t)(end - target));
	}
}

char *http_link_next(const struct http_xfer *x)
{
	const char *v;
	size_t i = 0;
	while ((v = http_header_next(x, "Link", &i))) {
		char *target = link_next_in(v);
		if (target) {
			char *abs = http_url_resolve(x->effective_url ? x->effective_url : x->url, target);
			free(target);
			return abs;
		}
	}
	return NULL;
}

char *http_url_resolve(const char *base, const char *ref)
{
	CURLU *u = curl_url();
	char *out = NULL;
	if (!u)
		return NULL;
	if (curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_URL, ref, 0) == CURLUE_OK)
		curl_url_get(u, CURLUPART_URL, &out, 0);
	curl_url_cleanup(u);
	if (!out)
		return NULL;
	char *r = strdup(out);
	curl_free(out);
	return r;
}

int http_url_origin(const char *url, char **scheme, char **host, unsigned *port)
{
	CURLU *u = curl_url();
	char *s = NULL, *h = NULL, *p = NULL;
	int rc = -1;
	if (!u)
		return -1;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK && curl_url_get(u, CURLUPART_SCHEME, &s, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT) == CURLUE_OK) {
		*scheme = strdup(s);
		*host = strdup(h);
		*port = (unsigned)atoi(p);
		if (*scheme && *host)
			rc = 0;
		else {
			free(*scheme);
			free(*host);
		}
	}
	curl_free(s);
	curl_free(h);
	curl_free(p);
	curl_url_cleanup(u);
	return rc;
}

bool http_same_origin(const char *a, const char *b)
{
	char *sa, *ha, *sb, *hb;
	unsigned pa, pb;
	if (http_url_origin(a, &sa, &ha, &pa) < 0)
		return false;
	if (http_url_origin(b, &sb, &hb, &pb) < 0) {
		free(sa);
		free(ha);
		return false;
	}
	bool same = !strcasecmp(sa, sb) && !strcasecmp(ha, hb) && pa == pb;
	free(sa);
	free(ha);
	free(sb);
	free(hb);
	return same;
}

char *http_escape(const char *s)
{
	char *c = curl_easy_escape(NULL, s, 0);
	if (!c)
		return NULL;
	char *r = strdup(c);
	curl_free(c);
	return r;
}

const char *http_reason(long status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 206: return "Partial Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 416: return "Range Not Satisfiable";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "";
	}
}
