/* fuzz_registry.c: what a registry (or whoever answers in its name) sends
 * back: header lines, WWW-Authenticate challenges, Warning and Retry-After
 * headers, upload Locations, JSON error bodies and token responses.
 *
 * The input is a response as on the wire: "HTTP/1.1 STATUS ..." and header
 * lines, an empty line, then the body. The header lines go through the HTTP
 * client's own header callback, and the response through the registry
 * client's handling of it, as after a request to https://registry.fuzz.
 * Those functions are private to lib/http.c, image/registry.c and
 * image/push.c, so this file includes them: it then links instead of their
 * objects in libramp.a.
 *
 * Security properties checked on every input: a Bearer token server over
 * plain HTTP is accepted exactly when it is on loopback (credentials never
 * cross the network in clear); an upload Location never leaves HTTPS; the upload
 * offset from a Range header stays within the blob; error messages carry no
 * control characters; a token is printable. */
#include "lib/http.c"
#include "image/registry.c"
#include "image/push.c"

#include <sys/param.h>

#include "tests/fuzz/fuzz.h"

#define BASE_URL "https://registry.fuzz/v2/team/app/blobs/uploads/"

/* Feed the header block to on_header one line at a time, as curl does. */
static const char *read_headers(const char *buf, size_t len, struct http_xfer *x, struct xpriv *p)
{
	const char *s = buf, *end = buf + len;
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t n = nl ? (size_t)(nl - s) + 1 : (size_t)(end - s);
		char *line = malloc(n);
		if (!line)
			abort();
		memcpy(line, s, n);
		const char *sp = memchr(line, ' ', n);
		if (n > 5 && !memcmp(line, "HTTP/", 5) && sp) {
			char st[8] = "";
			memcpy(st, sp + 1, MIN(sizeof st - 1, n - (size_t)(sp + 1 - line)));
			x->status = strtol(st, NULL, 10);
		}
		bool blank = (n == 1 && line[0] == '\n') || (n == 2 && line[0] == '\r' && line[1] == '\n');
		size_t taken = on_header(line, 1, n, p);
		free(line);
		s += n;
		if (taken != n)
			return NULL; /* refused (too many or too big): curl stops there */
		if (blank)
			break; /* the body follows */
	}
	return s;
}

static void check_token(const char *body, size_t len)
{
	char *token;
	int64_t expires;
	struct err e;
	if (img_token_parse(body, len, &token, &expires, &e) < 0)
		return;
	FUZZ_CHECK(expires >= 60, "token lifetime %lld", (long long)expires);
	for (const char *c = token; *c; c++)
		FUZZ_CHECK(*c > ' ' && *c < 0x7f, "token with byte 0x%02x", (unsigned char)*c);
	free(token);
}

/* As after an upload request: Location and Range of a blob of 100 bytes. */
static void check_upload(const struct http_xfer *x)
{
	struct img_descriptor d = {.size = 100};
	struct push_job p = {.d = &d, .what = "blob sha256:…"};
	struct err e;
	if (http_header_get(x, "Location") && take_location(&p, x, &e) == 0) {
		FUZZ_CHECK(!strncasecmp(p.location, "https://", 8), "upload Location leaves HTTPS: %s", p.location);
		free(p.location);
	}
	if (take_range(&p, x, &e) == 0)
		FUZZ_CHECK(p.offset <= (uint64_t)d.size, "upload offset %llu of a %lld-byte blob",
			   (unsigned long long)p.offset, (long long)d.size);
	start_upload_state(&p, x);
}

/* "host:port" of an http(s) URL, IPv6 in brackets; false when it has none. */
static bool url_hostport(const char *url, char *hp, size_t cap)
{
	char *scheme, *host;
	unsigned port;
	if (http_url_origin(url, &scheme, &host, &port) < 0)
		return false;
	snprintf(hp, cap, strchr(host, ':') && host[0] != '[' ? "[%s]:%u" : "%s:%u", host, port);
	free(scheme);
	free(host);
	return true;
}

/* A Bearer realm over plain HTTP is accepted exactly when it is on loopback
 * (the fuzzed registry is neither --insecure-registry nor --tls-verify=false). */
static void check_realm(const struct img_registry *r, const struct http_xfer *x, int rc)
{
	struct img_challenge c;
	struct err e;
	const char *h;
	size_t i = 0;
	char hp[300];
	while ((h = http_header_next(x, "WWW-Authenticate", &i)) && img_challenge_parse(h, &c, &e) < 0)
		;
	if (!h)
		return; /* no usable challenge: refused, rightly */
	bool clear = c.scheme == IMG_AUTH_BEARER && !strncasecmp(c.realm, "http://", 7);
	bool loopback = clear && url_hostport(c.realm, hp, sizeof hp) && is_loopback(hp);
	if (!clear)
		FUZZ_CHECK(rc == 0, "a challenge over https refused: %s", h);
	else
		FUZZ_CHECK((rc == 0) == loopback, "a plain-HTTP token server %s was %s", c.realm,
			   rc == 0 ? "accepted off loopback" : "refused on loopback");
	if (rc == 0 && r->scheme == IMG_AUTH_BEARER)
		FUZZ_CHECK(r->realm && !strcmp(r->realm, c.realm), "another realm taken");
	img_challenge_free(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_xfer x;
	struct xpriv p = {0};
	struct img_registry r = {.name = "registry.fuzz"};
	struct err e;
	fuzz_quiet();
	r.o.tls_verify = true;
	r.o.timeout_s = 30;
	http_xfer_init(&x);
	p.x = &x;
	if (http_xfer_url(&x, BASE_URL, &e) < 0)
		abort();
	const char *body = read_headers((const char *)data, size, &x, &p);
	if (body) {
		size_t blen = size - (size_t)(body - (const char *)data);
		if (!(x.resp_body = malloc(blen + 1)))
			abort();
		memcpy(x.resp_body, body, blen);
		x.resp_body[blen] = '\0';
		x.resp_len = blen;
	}

	/* as img_reg_check would on a 401 */
	int rc = set_challenge(&r, &x, &e);
	FUZZ_CHECK(rc == 0 || e.msg[0], "challenge refused without a message");
	check_realm(&r, &x, rc);
	show_warnings(&r, &x);
	(void)retry_after(http_header_get(&x, "Retry-After"));
	check_upload(&x);
	FUZZ_CHECK(img_reg_error(&r, &x, "manifest team/app:1", "team/app", &e) < 0 && e.msg[0], "no error message");
	for (const char *c = e.msg; *c; c++)
		FUZZ_CHECK((unsigned char)*c >= ' ' && *c != 0x7f, "registry text reaches the terminal: byte 0x%02x",
			   (unsigned char)*c);
	if (x.resp_body)
		check_token(x.resp_body, x.resp_len);

	for (size_t i = 0; i < r.n_warnings; i++)
		free(r.warnings[i]);
	free(r.realm);
	free(r.service);
	http_xfer_free(&x);
	return 0;
}
