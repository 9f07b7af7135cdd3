/* api.c: the HTTP side of rampd's control API on libmicrohttpd (see api.h):
 * listeners, authentication, body limits, routing, JSON errors. What the
 * requests do is in daemon.c and supervisor.c. */
#include "runtime/api.h"

#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "image/digest.h"
#include "image/reference.h"
#include "lib/api.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/log.h"
#include "runtime/config.h"
#include "runtime/daemon.h"
#include "runtime/samples.h"
#include "runtime/sockets.h"

#define BAD_SLOTS 64
/* open connections per listener: room for a few hundred clients (issue 8's
 * load test runs 200) well within the service's 65536 descriptors */
#define API_MAX_CONNECTIONS 1024
/* A body a little over the limit is read and dropped so that the client sees
 * the 413 (refusing mid-upload makes most clients report a broken pipe);
 * beyond this the connection is refused or cut at once. */
#define DRAIN_MAX (1u << 20)
#define LOGS_TAIL_DEFAULT 100
#define LOGS_TAIL_MAX 10000

struct listener {
	struct rt_api *api;
	bool tcp;
	struct MHD_Daemon *mhd;
};

struct bad_addr {
	unsigned char addr[16];
	int family;
	unsigned count;
	int64_t since; /* monotonic ms of the first bad token of the window */
};

struct rt_api {
	struct rt_daemon *d;
	struct listener *ls;
	size_t n_ls;
	char *socket_path;
	char *tls_cert, *tls_key; /* PEM, alive as long as the daemons */
	pthread_mutex_t mu;       /* token and bad-token table */
	bool has_token;
	struct img_digest token_hash;
	struct bad_addr bad[BAD_SLOTS];
};

/* One request in progress. */
struct req {
	char *body;
	size_t len;
	bool too_large;
	size_t dropped; /* bytes over the limit read and dropped */
};

/* ---- request bodies ---- */

/* The registry client's own reference grammar (image/reference.h), so what
 * the API accepts is what rampd can pull, plus the pin. */
int rt_api_check_image(const char *image, struct img_digest *d, struct err *e)
{
	struct img_ref r;
	if (strlen(image) > RT_IMAGE_MAX)
		return err_set(e, "image: longer than %d bytes", RT_IMAGE_MAX);
	if (img_ref_parse(image, &r, e) < 0)
		return -1;
	bool pinned = r.has_digest;
	*d = r.digest;
	img_ref_free(&r);
	if (!pinned)
		return err_set(e, "image \"%.200s\" is not pinned by digest (NAME@sha256:...)", image);
	return 0;
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

int rt_api_read_token(const char *path, char **token, struct err *e)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	struct stat st;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || fstat(fd, &st) < 0)
		return err_sys(e, "token file \"%s\"", path);
	if (st.st_mode & 0077)
		log_warn("token file \"%s\" is readable by others than its owner (mode %04o)", path,
			 (unsigned)(st.st_mode & 07777));
	if (fs_read_fd(fd, path, 4096, &buf, &len, e) < 0)
		return -1;
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	for (size_t i = 0; i < len; i++)
		if (buf[i] <= 0x20 || buf[i] == 0x7f)
			return err_set(e, "token file \"%s\": the token must be one line of printable characters", path);
	if (len < RT_API_TOKEN_MIN)
		return err_set(e, "token file \"%s\": the token is shorter than %d characters", path, RT_API_TOKEN_MIN);
	*token = steal_ptr(buf);
	return 0;
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

/* ---- authentication ---- */

static bool same_addr(const struct bad_addr *b, int family, const unsigned char *addr)
{
	return b->family == family && !memcmp(b->addr, addr, family == AF_INET ? 4 : 16);
}

/* The address of a TCP client as bytes; false for anything else. */
static bool client_addr(struct MHD_Connection *c, int *family, unsigned char addr[16])
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (!ci || !ci->client_addr)
		return false;
	memset(addr, 0, 16);
	*family = ci->client_addr->sa_family;
	if (*family == AF_INET)
		memcpy(addr, &((const struct sockaddr_in *)ci->client_addr)->sin_addr, 4);
	else if (*family == AF_INET6)
		memcpy(addr, &((const struct sockaddr_in6 *)ci->client_addr)->sin6_addr, 16);
	else
		return false;
	return true;
}

/* 0: authorized; else the HTTP status to refuse with (401, 429). */
static unsigned check_auth(struct rt_api *api, struct MHD_Connection *c)
{
	int family = 0;
	unsigned char addr[16];
	bool known = client_addr(c, &family, addr);
	int64_t now = rt_mono_ms();
	unsigned verdict = 0;
	pthread_mutex_lock(&api->mu);
	struct bad_addr *slot = NULL, *victim = NULL; /* victim: a free slot, else the oldest */
	for (size_t i = 0; known && i < BAD_SLOTS; i++) {
		struct bad_addr *b = &api->bad[i];
		if (b->count && now - b->since >= RT_API_BAD_WINDOW_MS)
			b->count = 0;
		if (b->count && same_addr(b, family, addr))
			slot = b;
		if (!victim || (victim->count && (!b->count || b->since < victim->since)))
			victim = b;
	}
	if (slot && slot->count >= RT_API_BAD_TOKENS) {
		verdict = 429;
		goto out;
	}
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	bool ok = false;
	if (api->has_token && h && !strncasecmp(h, "Bearer ", 7)) {
		struct img_digest got;
		const char *t = h + 7;
		while (*t == ' ')
			t++;
		/* comparing digests keeps the time independent of the token's length and bytes */
		img_sha256_buf(t, strlen(t), &got);
		unsigned char diff = 0;
		for (size_t i = 0; i < sizeof got.s; i++)
			diff |= (unsigned char)(got.s[i] ^ api->token_hash.s[i]);
		ok = diff == 0;
	}
	if (ok)
		goto out;
	verdict = 401;
	if (known) {
		if (!slot) {
			slot = victim;
			memcpy(slot->addr, addr, 16);
			slot->family = family;
			slot->count = 0;
			slot->since = now;
		}
		slot->count++;
	}
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
				return send_error(c, 429, API_E_RATE_LIMITED, "too many bad tokens from this address; wait a minute");
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
		char *nb = realloc(rq->body, rq->len + n + 1);
		if (!nb)
			return MHD_NO;
		memcpy(nb + rq->len, upload, n);
		rq->body = nb;
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
	if (tls)
		flags |= MHD_USE_TLS;
	struct MHD_OptionItem tls_opts[] = {
		{MHD_OPTION_HTTPS_MEM_KEY, 0, api->tls_key},
		{MHD_OPTION_HTTPS_MEM_CERT, 0, api->tls_cert},
		{MHD_OPTION_END, 0, NULL},
	};
	l->mhd = MHD_start_daemon(flags, 0, NULL, NULL, handler, l, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
				  MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
				  MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, NULL,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned)API_MAX_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
				  MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)(tcp ? 32 : 0), MHD_OPTION_ARRAY,
				  tls ? tls_opts : tls_opts + 2, MHD_OPTION_END);
	if (!l->mhd) {
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
	if (rt_api_read_token(c->token_file, &token, e) < 0)
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
	for (size_t i = 0; i < api->n_ls; i++)
		MHD_stop_daemon(api->ls[i].mhd);
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
