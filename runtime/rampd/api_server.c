/* api_server.c: the HTTP side of rampd's control API on libmicrohttpd (see api_server.h):
 * listeners, connection budgets, authentication, body limits, routing, JSON
 * errors. What the requests do is in daemon.c and supervisor.c. */
#include "runtime/rampd/api_server.h"

#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "image/digest.h"
#include "image/reference.h"
#include "lib/api.h"
#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/clock.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/token.h"
#include "runtime/rampd/config.h"
#include "runtime/rampd/daemon.h"
#include "runtime/rampd/samples.h"
#include "runtime/rampd/sockets.h"

/* Addresses whose bad tokens are counted one by one; the others share one
 * count (IPv6 addresses by their /64). */
#define BAD_SLOTS 64
/* Addresses that showed the valid token within the window: a full table of
 * locked-out addresses does not lock them out too. */
#define GOOD_SLOTS 16
/* Open connections per listener: room for a few hundred clients (issue 8's
 * load test runs 200) well within the service's 65536 descriptors; fewer
 * where the descriptor limit is lower (half of it for the API). */
#define API_MAX_CONNECTIONS 1024
#define API_MIN_CONNECTIONS 16
#define API_PER_ADDRESS 32
/* A body a little over the limit is read and dropped so that the client sees
 * the 413 (refusing mid-upload makes most clients report a broken pipe);
 * beyond this the connection is refused or cut at once. */
#define DRAIN_MAX (1u << 20)
#define LOGS_TAIL_DEFAULT 100
#define LOGS_TAIL_MAX 10000

/* IPv4 as an IPv4-mapped IPv6 address, IPv6 cut to its /64. */
struct addr_key {
	unsigned char b[16];
};

/* A TCP connection (libmicrohttpd's socket context). Until it shows the
 * token it is on its listener's list, oldest first, and on its address's:
 * cut at its deadline, or earlier when the listener has too many such
 * connections and this is the oldest of the address that has the most. */
struct conn {
	struct listener *l;
	int fd;
	int64_t since; /* accepted, monotonic ms */
	struct src *src; /* while listed */
	struct conn *prev, *next, *sprev, *snext;
};

/* An address with connections without the token. */
struct src {
	struct addr_key k;
	unsigned n;
	struct conn *head, *tail;
};

struct listener {
	struct rt_api *api;
	bool tcp;
	struct MHD_Daemon *mhd;
	/* under api->mu: connections without a valid token yet, and their
	   addresses (max_unproven + 1 entries, those with n == 0 free) */
	struct conn *head, *tail;
	unsigned n_unproven;
	struct src *srcs;
};

struct bad_addr {
	struct addr_key k;
	unsigned count;
	int64_t since; /* monotonic ms of the first bad token of the window */
};

struct rt_api {
	struct rt_daemon *d;
	struct listener *ls;
	size_t n_ls;
	char *socket_path;
	char *tls_cert, *tls_key; /* PEM, alive as long as the daemons */
	unsigned max_conns;       /* per listener */
	unsigned max_unproven;    /* per TCP listener: connections without a valid token yet */
	pthread_mutex_t mu;       /* token, bad-token table, connection lists */
	bool has_token;
	struct img_digest token_hash;
	struct bad_addr bad[BAD_SLOTS];
	struct bad_addr others; /* addresses the table has no room for, and evicted counts */
	struct {
		struct addr_key k;
		int64_t at;
	} good[GOOD_SLOTS];
};

/* One request in progress. */
struct req {
	char *body;
	size_t len, cap;
	bool too_large;
	size_t dropped; /* bytes over the limit read and dropped */
};

/* ---- request bodies ---- */

/* The registry client's own reference grammar (image/reference.h), so what
 * the API accepts is what rampd can pull, plus the pin. */
int rt_api_check_image(const char *image, struct img_digest *d, struct err *e)
{
	if (strlen(image) > RT_IMAGE_MAX)
		return err_set(e, "image: longer than %d bytes", RT_IMAGE_MAX);
	return img_ref_pinned(image, d, e);
}

static struct json *parse_body(const char *body, size_t len, const char *const *keys, const char *what, struct err *e)
{
	if (len > API_MAX_BODY) {
		err_set(e, "%s: body larger than %d bytes", what, API_MAX_BODY);
		return NULL;
	}
	struct json *j = json_parse(body, len, e);
	if (!j) {
		err_ctx(e, "%s", what);
		return NULL;
	}
	if (json_only_keys(j, keys, what, e) < 0) {
		json_free(j);
		return NULL;
	}
	return j;
}

static int generation(const struct json *j, bool required, int64_t *out, struct err *e)
{
	*out = 0;
	if (json_field_int(j, API_F_GENERATION, required, out, e) < 0)
		return -1;
	if (!required && !json_get(j, API_F_GENERATION))
		return 0;
	if (*out < 1)
		return err_set(e, "field \"generation\": %lld is not a positive integer", (long long)*out);
	return 0;
}

int rt_api_parse_put(const char *body, size_t len, struct rt_put_req *r, struct err *e)
{
	static const char *const keys[] = {API_F_IMAGE, API_F_ROLLOUT, API_F_GENERATION, NULL};
	const char *image = NULL, *rollout = NULL;
	memset(r, 0, sizeof *r);
	struct json *j = parse_body(body, len, keys, "request", e);
	if (!j)
		return -1;
	int rc = -1;
	if (json_field_str(j, API_F_IMAGE, true, &image, e) < 0 || json_field_str(j, API_F_ROLLOUT, false, &rollout, e) < 0 ||
	    generation(j, true, &r->generation, e) < 0 || rt_api_check_image(image, &r->digest, e) < 0)
		goto out;
	if (rollout && strlen(rollout) > RT_ROLLOUT_MAX) {
		err_set(e, "field \"rollout\": longer than %d bytes", RT_ROLLOUT_MAX);
		goto out;
	}
	for (const char *p = rollout; p && *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			err_set(e, "field \"rollout\": control characters are not allowed");
			goto out;
		}
	strcpy(r->image, image);
	strcpy(r->rollout, rollout ? rollout : "");
	rc = 0;
out:
	json_free(j);
	return rc;
}

int rt_api_parse_revert(const char *body, size_t len, struct rt_revert_req *r, struct err *e)
{
	static const char *const keys[] = {API_F_TO, API_F_GENERATION, NULL};
	const char *to = NULL;
	memset(r, 0, sizeof *r);
	struct json *j = parse_body(body, len, keys, "request", e);
	if (!j)
		return -1;
	int rc = -1;
	if (json_field_str(j, API_F_TO, false, &to, e) < 0 || generation(j, true, &r->generation, e) < 0)
		goto out;
	r->previous = !to || !strcmp(to, "previous");
	if (!r->previous && img_digest_parse(to, &r->to, e) < 0) {
		err_ctx(e, "field \"to\": expected \"previous\" or a digest");
		goto out;
	}
	rc = 0;
out:
	json_free(j);
	return rc;
}

int rt_api_parse_delete(const char *body, size_t len, struct rt_delete_req *r, struct err *e)
{
	static const char *const keys[] = {API_F_GENERATION, NULL};
	memset(r, 0, sizeof *r);
	if (len == 0)
		return 0;
	struct json *j = parse_body(body, len, keys, "request", e);
	if (!j)
		return -1;
	int rc = generation(j, false, &r->generation, e);
	r->has_generation = json_get(j, API_F_GENERATION) != NULL;
	json_free(j);
	return rc;
}

/* ---- responses ---- */

static enum MHD_Result send_buf(struct MHD_Connection *c, unsigned status, const char *ctype, const void *buf,
				size_t len)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)buf, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (status == 401)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
	/* a client without the token keeps no connection */
	if (status == 401 || status == 429)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	enum MHD_Result rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, struct jgen *g)
{
	const char *buf;
	size_t len;
	struct err e;
	if (jgen_result(g, &buf, &len, &e) < 0) {
		static const char fail[] = "{\"error\":\"internal\",\"message\":\"writing the response failed\"}\n";
		return send_buf(c, 500, "application/json", fail, sizeof fail - 1);
	}
	return send_buf(c, status, "application/json", buf, len);
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *code, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	struct jgen *g = jgen_new(false);
	if (!g)
		return MHD_NO;
	jgen_obj_open(g);
	jgen_kstr(g, "error", code);
	/* messages quote request bytes: never let invalid UTF-8 break the document */
	for (char *p = msg; *p; p++)
		if ((unsigned char)*p >= 0x80 || (unsigned char)*p < 0x20)
			*p = '?';
	jgen_kstr(g, API_F_MESSAGE, msg);
	jgen_obj_close(g);
	enum MHD_Result rc = send_json(c, status, g);
	jgen_free(g);
	return rc;
}

static enum MHD_Result send_outcome(struct MHD_Connection *c, struct rt_outcome o, struct jgen *g,
				    const struct err *e)
{
	if (o.status >= 400)
		return send_error(c, (unsigned)o.status, o.code, "%s", e->msg);
	return send_json(c, (unsigned)o.status, g);
}

/* ---- connections without the token ---- */

static bool client_key(struct MHD_Connection *c, struct addr_key *k);

static bool key_eq(const struct addr_key *a, const struct addr_key *b)
{
	return !memcmp(a->b, b->b, sizeof a->b);
}

static void unlist(struct conn *k)
{
	struct listener *l = k->l;
	struct src *s = k->src;
	*(k->prev ? &k->prev->next : &l->head) = k->next;
	*(k->next ? &k->next->prev : &l->tail) = k->prev;
	*(k->sprev ? &k->sprev->snext : &s->head) = k->snext;
	*(k->snext ? &k->snext->sprev : &s->tail) = k->sprev;
	k->prev = k->next = k->sprev = k->snext = NULL;
	k->src = NULL;
	s->n--;
	l->n_unproven--;
}

/* Under api->mu, so that libmicrohttpd has not closed the descriptor yet
 * (it tells us before it does). It sees the end of the stream and closes. */
static void cut(struct conn *k, const char *why)
{
	log_debug("api: closing a connection: %s", why);
	shutdown(k->fd, SHUT_RDWR);
	unlist(k);
}

/* Cut the connections past their deadline; the next deadline, or 0. */
static int64_t expire(struct listener *l, int64_t now)
{
	while (l->head && now - l->head->since >= RT_API_AUTH_DEADLINE_MS)
		cut(l->head, "no valid token within the deadline");
	return l->head ? l->head->since + RT_API_AUTH_DEADLINE_MS : 0;
}

/* The oldest connection of the address with the most: a client that opens
 * one connection and sends its request is not cut for others' many. */
static struct conn *victim(struct listener *l, unsigned n_srcs)
{
	struct src *worst = NULL;
	for (unsigned i = 0; i < n_srcs; i++) {
		struct src *s = &l->srcs[i];
		if (s->n && (!worst || s->n > worst->n || (s->n == worst->n && s->head->since < worst->head->since)))
			worst = s;
	}
	return worst->head;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **ctx, enum MHD_ConnectionNotificationCode code)
{
	struct listener *l = cls;
	struct rt_api *api = l->api;
	struct conn *k = *ctx;
	struct addr_key key;
	if (!l->tcp)
		return;
	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		pthread_mutex_lock(&api->mu);
		if (k && k->src)
			unlist(k);
		pthread_mutex_unlock(&api->mu);
		free(k);
		*ctx = NULL;
		return;
	}
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (!ci)
		return;
	if (!client_key(c, &key) || !(k = calloc(1, sizeof *k))) {
		shutdown(ci->connect_fd, SHUT_RDWR);
		return;
	}
	*k = (struct conn){.l = l, .fd = ci->connect_fd, .since = clk_mono_ms(), .prev = l->tail};
	unsigned n_srcs = api->max_unproven + 1;
	pthread_mutex_lock(&api->mu);
	expire(l, k->since);
	struct src *s = NULL;
	for (unsigned i = 0; i < n_srcs; i++) {
		struct src *t = &l->srcs[i];
		if (t->n && key_eq(&t->k, &key)) {
			s = t;
			break;
		}
		if (!t->n && !s)
			s = t;
	}
	if (!s->n)
		*s = (struct src){.k = key};
	k->src = s;
	k->sprev = s->tail;
	*(s->tail ? &s->tail->snext : &s->head) = k;
	s->tail = k;
	s->n++;
	bool first = !l->head;
	*(l->tail ? &l->tail->next : &l->head) = k;
	l->tail = k;
	l->n_unproven++;
	while (l->n_unproven > api->max_unproven)
		cut(victim(l, n_srcs), "too many connections without a valid token");
	pthread_mutex_unlock(&api->mu);
	*ctx = k;
	/* the main loop sleeps until the first deadline it knows of */
	if (first)
		rt_daemon_wake(api->d);
}

int64_t rt_api_sweep(struct rt_api *api)
{
	int64_t now = clk_mono_ms(), next = 0;
	if (!api)
		return 0;
	pthread_mutex_lock(&api->mu);
	for (size_t i = 0; i < api->n_ls; i++) {
		int64_t t = api->ls[i].tcp ? expire(&api->ls[i], now) : 0;
		if (t && (!next || t < next))
			next = t;
	}
	pthread_mutex_unlock(&api->mu);
	return next;
}

/* ---- authentication ---- */

/* The key of a TCP client's address; false for anything else. */
static bool client_key(struct MHD_Connection *c, struct addr_key *k)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	memset(k, 0, sizeof *k);
	if (!ci || !ci->client_addr)
		return false;
	if (ci->client_addr->sa_family == AF_INET) {
		k->b[10] = k->b[11] = 0xff;
		memcpy(k->b + 12, &((const struct sockaddr_in *)ci->client_addr)->sin_addr, 4);
		return true;
	}
	if (ci->client_addr->sa_family != AF_INET6)
		return false;
	memcpy(k->b, &((const struct sockaddr_in6 *)ci->client_addr)->sin6_addr, 16);
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (memcmp(k->b, mapped, 12))
		memset(k->b + 8, 0, 8); /* one /64 is one client */
	return true;
}

static bool locked(const struct bad_addr *b)
{
	return b->count >= RT_API_BAD_TOKENS;
}

static bool token_ok(struct rt_api *api, struct MHD_Connection *c)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (!api->has_token || !h || strncasecmp(h, "Bearer ", 7))
		return false;
	struct img_digest got;
	const char *t = h + 7;
	while (*t == ' ')
		t++;
	/* comparing digests keeps the time independent of the token's length and bytes */
	img_sha256_buf(t, strlen(t), &got);
	unsigned char diff = 0;
	for (size_t i = 0; i < sizeof got.s; i++)
		diff |= (unsigned char)(got.s[i] ^ api->token_hash.s[i]);
	return diff == 0;
}

/* Count a bad token of k. A locked-out address keeps its slot until its
 * window ends: a new address takes a free slot, else the oldest that is not
 * locked out, whose count goes to the shared one; with every slot locked
 * out, the new address counts in the shared one. So evicting never lifts a
 * lockout, and a window sees fewer than (BAD_SLOTS + 2) x RT_API_BAD_TOKENS bad
 * tokens checked (the shared count's own and fewer than 10 it took over
 * from evicted slots included), however many addresses send them. */
static void count_bad(struct rt_api *api, struct bad_addr *slot, const struct addr_key *k, int64_t now)
{
	if (!slot) {
		for (size_t i = 0; i < BAD_SLOTS; i++) {
			struct bad_addr *b = &api->bad[i];
			if (!b->count) {
				slot = b;
				break;
			}
			if (!locked(b) && (!slot || b->since < slot->since))
				slot = b;
		}
		if (slot && slot->count) {
			if (!api->others.count)
				api->others.since = now;
			api->others.count += slot->count;
		}
		if (slot)
			*slot = (struct bad_addr){.k = *k, .since = now};
		else
			slot = &api->others;
	}
	if (slot == &api->others && !slot->count)
		slot->since = now;
	slot->count++;
}

static bool good_addr(struct rt_api *api, const struct addr_key *k, int64_t now)
{
	for (size_t i = 0; i < GOOD_SLOTS; i++)
		if (api->good[i].at && now - api->good[i].at < RT_API_BAD_WINDOW_MS && key_eq(&api->good[i].k, k))
			return true;
	return false;
}

static void remember_good(struct rt_api *api, const struct addr_key *k, int64_t now)
{
	size_t oldest = 0;
	for (size_t i = 0; i < GOOD_SLOTS; i++) {
		if (key_eq(&api->good[i].k, k)) {
			oldest = i;
			break;
		}
		if (api->good[i].at < api->good[oldest].at)
			oldest = i;
	}
	api->good[oldest].k = *k;
	api->good[oldest].at = now;
}

/* 0: authorized (and the connection no longer on the list of those without
 * a token); else the HTTP status to refuse with (401, 429). */
static unsigned check_auth(struct rt_api *api, struct MHD_Connection *c)
{
	struct addr_key k;
	bool known = client_key(c, &k);
	int64_t now = clk_mono_ms();
	unsigned verdict = 0;
	pthread_mutex_lock(&api->mu);
	struct bad_addr *slot = NULL;
	for (size_t i = 0; i < BAD_SLOTS + 1; i++) {
		struct bad_addr *b = i < BAD_SLOTS ? &api->bad[i] : &api->others;
		if (b->count && now - b->since >= RT_API_BAD_WINDOW_MS)
			b->count = 0;
		if (known && i < BAD_SLOTS && b->count && key_eq(&b->k, &k))
			slot = b;
	}
	if ((slot && locked(slot)) || (!slot && locked(&api->others) && !(known && good_addr(api, &k, now)))) {
		verdict = 429;
		goto out;
	}
	if (token_ok(api, c)) {
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
		struct conn *kc = ci ? ci->socket_context : NULL;
		if (kc && kc->src)
			unlist(kc);
		if (known)
			remember_good(api, &k, now);
		goto out;
	}
	verdict = 401;
	if (known)
		count_bad(api, slot, &k, now);
out:
	pthread_mutex_unlock(&api->mu);
	return verdict;
}

/* ---- routing ---- */

/* The query of GET /v1/apps/NAME/metrics: at most one "since", nothing else. */
struct query {
	const char *since;
	unsigned n_since, other;
	char unknown[64];
};

static enum MHD_Result query_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct query *q = cls;
	(void)kind;
	if (!strcmp(key, API_Q_SINCE)) {
		q->n_since++;
		q->since = value ? value : "";
	} else if (q->other++ == 0) {
		snprintf(q->unknown, sizeof q->unknown, "%.60s", key);
	}
	return MHD_YES;
}

static enum MHD_Result app_metrics(struct rt_api *api, struct MHD_Connection *c, const char *name, struct jgen *g)
{
	struct query q = {0};
	struct err e = {0};
	int64_t since = -1;
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, query_arg, &q);
	if (q.other)
		return send_error(c, 400, API_E_BAD_REQUEST, "unknown query parameter \"%s\" (only since=TIME)", q.unknown);
	if (q.n_since > 1)
		return send_error(c, 400, API_E_BAD_REQUEST, "since= given %u times", q.n_since);
	if (q.since && rt_samples_parse_since(q.since, &since, &e) < 0)
		return send_error(c, 400, API_E_BAD_REQUEST, "%s", e.msg);
	return send_outcome(c, rt_daemon_app_metrics(api->d, name, since, g, &e), g, &e);
}

static enum MHD_Result method_not_allowed(struct MHD_Connection *c, const char *method, const char *url)
{
	return send_error(c, 405, API_E_METHOD, "%.10s is not allowed on %.200s", method, url);
}

static enum MHD_Result app_request(struct rt_api *api, struct MHD_Connection *c, const char *url, const char *method,
				   struct req *rq)
{
	const char *name_start = url + strlen(API_PATH_APP_PREFIX);
	const char *slash = strchr(name_start, '/');
	char name[API_MAX_NAME + 2];
	size_t nl = slash ? (size_t)(slash - name_start) : strlen(name_start);
	const char *rest = slash ? slash : "";
	struct err e = {0};
	if (nl == 0 && !*rest)
		return send_error(c, 404, API_E_NOT_FOUND, "no such path %.200s", url);
	snprintf(name, sizeof name, "%.*s", (int)(nl < sizeof name - 1 ? nl : sizeof name - 1), name_start);
	if (nl > API_MAX_NAME || !rt_app_name_valid(name))
		return send_error(c, 400, API_E_BAD_REQUEST,
				  "\"%.80s\" is not an app name ([a-z0-9][a-z0-9_.-]*, at most %d characters)", name_start,
				  API_MAX_NAME);
	struct jgen *g = jgen_new(false);
	if (!g)
		return MHD_NO;
	enum MHD_Result rc;
	if (!*rest) {
		if (!strcmp(method, "GET")) {
			rc = send_outcome(c, rt_daemon_get_app(api->d, name, g, &e), g, &e);
		} else if (!strcmp(method, "PUT")) {
			struct rt_put_req r;
			if (rt_api_parse_put(rq->body, rq->len, &r, &e) < 0)
				rc = send_error(c, 400, API_E_BAD_REQUEST, "%s", e.msg);
			else
				rc = send_outcome(c, rt_daemon_put(api->d, name, &r, g, &e), g, &e);
		} else if (!strcmp(method, "DELETE")) {
			struct rt_delete_req r;
			if (rt_api_parse_delete(rq->body, rq->len, &r, &e) < 0)
				rc = send_error(c, 400, API_E_BAD_REQUEST, "%s", e.msg);
			else
				rc = send_outcome(c, rt_daemon_delete(api->d, name, &r, g, &e), g, &e);
		} else {
			rc = method_not_allowed(c, method, url);
		}
	} else if (!strcmp(rest, API_PATH_REVERT_SUFFIX)) {
		struct rt_revert_req r;
		if (strcmp(method, "POST"))
			rc = method_not_allowed(c, method, url);
		else if (rt_api_parse_revert(rq->body, rq->len, &r, &e) < 0)
			rc = send_error(c, 400, API_E_BAD_REQUEST, "%s", e.msg);
		else
			rc = send_outcome(c, rt_daemon_revert(api->d, name, &r, g, &e), g, &e);
	} else if (!strcmp(rest, API_PATH_APP_METRICS_SUFFIX)) {
		rc = strcmp(method, "GET") ? method_not_allowed(c, method, url) : app_metrics(api, c, name, g);
	} else if (!strcmp(rest, API_PATH_WATCH_SUFFIX)) {
		if (!strcmp(method, "PUT"))
			rc = send_outcome(c, rt_daemon_watch(api->d, name, rq->body, rq->len, g, &e), g, &e);
		else if (!strcmp(method, "DELETE"))
			rc = send_outcome(c, rt_daemon_unwatch(api->d, name, g, &e), g, &e);
		else
			rc = method_not_allowed(c, method, url);
	} else if (!strcmp(rest, API_PATH_LOGS_SUFFIX)) {
		const char *t = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "tail");
		unsigned long tail = LOGS_TAIL_DEFAULT;
		bool bad_tail = false;
		if (t) {
			char *end;
			errno = 0;
			tail = strtoul(t, &end, 10);
			bad_tail = *t < '0' || *t > '9' || *end || errno || tail < 1 || tail > LOGS_TAIL_MAX;
		}
		if (strcmp(method, "GET")) {
			rc = method_not_allowed(c, method, url);
		} else if (bad_tail) {
			rc = send_error(c, 400, API_E_BAD_REQUEST, "tail=%.40s: expected a number from 1 to %d", t,
					LOGS_TAIL_MAX);
		} else {
			char *out = NULL;
			size_t len = 0;
			struct rt_outcome o = rt_daemon_logs(api->d, name, (unsigned)tail, &out, &len, &e);
			rc = o.status >= 400 ? send_error(c, (unsigned)o.status, o.code, "%s", e.msg)
					     : send_buf(c, 200, "text/plain; charset=utf-8", out, len);
			free(out);
		}
	} else {
		rc = send_error(c, 404, API_E_NOT_FOUND, "no such path %.200s", url);
	}
	jgen_free(g);
	return rc;
}

static enum MHD_Result route(struct rt_api *api, struct MHD_Connection *c, const char *url, const char *method,
			     struct req *rq)
{
	bool get = !strcmp(method, "GET");
	if (!strncmp(url, API_PATH_APP_PREFIX, strlen(API_PATH_APP_PREFIX)))
		return app_request(api, c, url, method, rq);
	if (!strcmp(url, API_PATH_HEALTHZ)) {
		static const char ok[] = "{\"status\":\"ok\"}\n";
		return get ? send_buf(c, 200, "application/json", ok, sizeof ok - 1) : method_not_allowed(c, method, url);
	}
	if (!strcmp(url, API_PATH_METRICS)) {
		if (!get)
			return method_not_allowed(c, method, url);
		char *out = NULL;
		size_t len = 0;
		struct err e;
		if (rt_daemon_metrics(api->d, &out, &len, &e) < 0)
			return send_error(c, 500, API_E_INTERNAL, "%s", e.msg);
		enum MHD_Result rc = send_buf(c, 200, "text/plain; version=0.0.4; charset=utf-8", out, len);
		free(out);
		return rc;
	}
	if (!strcmp(url, API_PATH_INFO) || !strcmp(url, API_PATH_APPS)) {
		if (!get)
			return method_not_allowed(c, method, url);
		struct jgen *g = jgen_new(false);
		if (!g)
			return MHD_NO;
		if (!strcmp(url, API_PATH_INFO))
			rt_daemon_info(api->d, g);
		else
			rt_daemon_list_apps(api->d, g);
		enum MHD_Result rc = send_json(c, 200, g);
		jgen_free(g);
		return rc;
	}
	return send_error(c, 404, API_E_NOT_FOUND, "no such path %.200s", url);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			       const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct listener *l = cls;
	struct req *rq = *con_cls;
	(void)version;
	if (!rq) {
		/* first call: headers only. Refuse early what needs no body to refuse. */
		if (!(rq = calloc(1, sizeof *rq)))
			return MHD_NO;
		*con_cls = rq;
		log_debug("api: %s %.200s%s", method, url, l->tcp ? " (TCP)" : "");
		if (l->tcp) {
			unsigned v = check_auth(l->api, c);
			if (v == 429)
				return send_error(c, 429, API_E_RATE_LIMITED, "too many bad tokens; wait a minute");
			if (v)
				return send_error(c, 401, API_E_UNAUTHORIZED, "a valid \"Authorization: Bearer TOKEN\" is required");
		}
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && strtoull(cl, NULL, 10) > DRAIN_MAX)
			return send_error(c, 413, API_E_TOO_LARGE, "request body larger than %d bytes", API_MAX_BODY);
		return MHD_YES;
	}
	if (*upload_size) {
		size_t n = *upload_size;
		*upload_size = 0;
		if (rq->too_large || rq->len + n > API_MAX_BODY) {
			rq->too_large = true;
			rq->dropped += n;
			return rq->dropped > DRAIN_MAX ? MHD_NO : MHD_YES;
		}
		if (buf_grow(&rq->body, &rq->cap, rq->len + n + 1, 4096, API_MAX_BODY + 1) < 0)
			return MHD_NO;
		memcpy(rq->body + rq->len, upload, n);
		rq->len += n;
		rq->body[rq->len] = '\0';
		return MHD_YES;
	}
	if (rq->too_large)
		return send_error(c, 413, API_E_TOO_LARGE, "request body larger than %d bytes", API_MAX_BODY);
	return route(l->api, c, url, method, rq);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	struct req *rq = *con_cls;
	if (rq) {
		free(rq->body);
		free(rq);
	}
	*con_cls = NULL;
}

/* No percent-decoding: an app name never needs it, and a decoded "%00" or
 * "%2F" would cut or split the path behind our back. Such names are refused
 * as they are, with their '%'. */
static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	return strlen(s);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	(void)cls;
	vsnprintf(msg, sizeof msg, fmt, ap);
	size_t n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	log_debug("api: %s", msg);
}

/* ---- listeners ---- */

static int unix_listener(const char *path, struct err *e)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof sa.sun_path)
		return err_set(e, "socket path \"%s\" is too long", path);
	strcpy(sa.sun_path, path);
	_cleanup_free_ char *dir = strdup(path);
	if (!dir)
		return err_errno(e, ENOMEM, "socket");
	*strrchr(dir, '/') = '\0';
	if (*dir && fs_mkdir_p(dir, 0755, e) < 0)
		return -1;
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_sys(e, "socket");
	struct stat st;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return err_set(e, "\"%s\" exists and is not a socket", path);
		/* a socket file left by a rampd that died; a live one still answers */
		if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
			return err_set(e, "another rampd is listening on \"%s\"", path);
		close(fd);
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
			return err_sys(e, "socket");
		if (unlink(path) < 0)
			return err_sys(e, "remove the stale socket \"%s\"", path);
	}
	mode_t old = umask(0177); /* created 0600: no window with a wider mode */
	int r = bind(fd, (struct sockaddr *)&sa, sizeof sa);
	umask(old);
	if (r < 0)
		return err_sys(e, "bind \"%s\"", path);
	if (chmod(path, 0600) < 0 || listen(fd, SOMAXCONN) < 0)
		return err_sys(e, "listen on \"%s\"", path);
	return steal_fd(fd);
}

static int tcp_listener(const char *addr, struct err *e)
{
	struct rt_addr a;
	int one = 1;
	if (rt_addr_parse(addr, true, &a, e) < 0)
		return -1;
	_cleanup_close_ int fd = socket(a.ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_sys(e, "socket for %s", addr);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (a.ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&a.ss, a.len) < 0 || listen(fd, SOMAXCONN) < 0)
		return err_sys(e, "listen on %s", addr);
	return steal_fd(fd);
}

static int start_listener(struct rt_api *api, int fd, bool tcp, struct err *e)
{
	struct listener *l = &api->ls[api->n_ls];
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
	bool tls = tcp && api->tls_cert;
	l->api = api;
	l->tcp = tcp;
	if (tcp && !(l->srcs = calloc(api->max_unproven + 1, sizeof *l->srcs))) {
		close(fd);
		return err_errno(e, ENOMEM, "api");
	}
	if (tls)
		flags |= MHD_USE_TLS;
	struct MHD_OptionItem tls_opts[] = {
		{MHD_OPTION_HTTPS_MEM_KEY, 0, api->tls_key},
		{MHD_OPTION_HTTPS_MEM_CERT, 0, api->tls_cert},
		{MHD_OPTION_END, 0, NULL},
	};
	l->mhd = MHD_start_daemon(flags, 0, NULL, NULL, handler, l, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
				  MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
				  MHD_OPTION_NOTIFY_CONNECTION, on_connection, l, MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, NULL,
				  MHD_OPTION_CONNECTION_LIMIT, api->max_conns, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
				  MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)(tcp ? API_PER_ADDRESS : 0), MHD_OPTION_ARRAY,
				  tls ? tls_opts : tls_opts + 2, MHD_OPTION_END);
	if (!l->mhd) {
		free(l->srcs);
		l->srcs = NULL;
		close(fd);
		return err_set(e, "starting the HTTP server%s failed (libmicrohttpd gives no reason; see the debug log)",
			       tls ? " with TLS" : "");
	}
	api->n_ls++;
	return 0;
}

static int load_token(struct rt_api *api, const struct rt_config *c, struct err *e)
{
	_cleanup_free_ char *token = NULL;
	if (!c->token_file)
		return 0;
	if (token_read_file(c->token_file, &token, e) < 0)
		return -1;
	pthread_mutex_lock(&api->mu);
	img_sha256_buf(token, strlen(token), &api->token_hash);
	api->has_token = true;
	pthread_mutex_unlock(&api->mu);
	explicit_bzero(token, strlen(token));
	return 0;
}

int rt_api_start(struct rt_daemon *d, const struct rt_config *c, struct rt_api **out, struct err *e)
{
	struct rt_api *api = calloc(1, sizeof *api);
	if (!api)
		return err_errno(e, ENOMEM, "api");
	api->d = d;
	pthread_mutex_init(&api->mu, NULL);
	/* half of the descriptors for the API's connections, shared by its
	   listeners; a quarter of a TCP listener's for clients without the token */
	struct rlimit rl;
	rlim_t fds = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? rl.rlim_cur : 1024;
	rlim_t per = fds / 2 / (c->listen.n + 1);
	api->max_conns = per > API_MAX_CONNECTIONS ? API_MAX_CONNECTIONS : per < API_MIN_CONNECTIONS ? API_MIN_CONNECTIONS : (unsigned)per;
	api->max_unproven = api->max_conns / 4;
	if (!(api->ls = calloc(c->listen.n + 1, sizeof *api->ls)) || !(api->socket_path = strdup(c->socket))) {
		err_errno(e, ENOMEM, "api");
		goto fail;
	}
	if (load_token(api, c, e) < 0)
		goto fail;
	if (c->tls_cert) {
		if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
			err_set(e, "TLS is configured but this libmicrohttpd was built without HTTPS support");
			goto fail;
		}
		if (fs_read_file(c->tls_cert, 1u << 20, &api->tls_cert, NULL, e) < 0 ||
		    fs_read_file(c->tls_key, 1u << 20, &api->tls_key, NULL, e) < 0)
			goto fail;
	}
	int fd = unix_listener(c->socket, e);
	if (fd < 0 || start_listener(api, fd, false, e) < 0)
		goto fail;
	for (size_t i = 0; i < c->listen.n; i++) {
		if ((fd = tcp_listener(c->listen.v[i], e)) < 0 || start_listener(api, fd, true, e) < 0) {
			err_ctx(e, "API listener %s", c->listen.v[i]);
			goto fail;
		}
	}
	*out = api;
	return 0;
fail:
	rt_api_stop(api);
	return -1;
}

int rt_api_reload(struct rt_api *api, const struct rt_config *c, struct err *e)
{
	return load_token(api, c, e);
}

void rt_api_stop(struct rt_api *api)
{
	if (!api)
		return;
	for (size_t i = 0; i < api->n_ls; i++) {
		MHD_stop_daemon(api->ls[i].mhd);
		free(api->ls[i].srcs);
	}
	if (api->n_ls > 0)
		unlink(api->socket_path);
	free(api->ls);
	free(api->socket_path);
	if (api->tls_key)
		explicit_bzero(api->tls_key, strlen(api->tls_key));
	free(api->tls_key);
	free(api->tls_cert);
	pthread_mutex_destroy(&api->mu);
	free(api);
}
