/* fuzz_registry.c: what a registry (or whoever answers in its name) sends
 * back: header lines, WWW-Authenticate challenges, Warning and Retry-After
 * headers, upload Locations, JSON error bodies and token responses.
 *
 * The input is a response as on the wire: "HTTP/1.1 STATUS ..." and header
 * lines, an empty line, then the body. The header lines go through the HTTP
 * client's own header callback, and the response through the registry
 * client's handling of it. Those functions are private to lib/http.c and
 * image/registry.c, so this file includes both: it then links instead of
 * their objects in libramp.a. */
#include "lib/http.c"
#include "image/registry.c"

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

static void check_location(const struct http_xfer *x)
{
	const char *loc = http_header_get(x, "Location");
	if (!loc)
		return;
	char *abs = http_url_resolve(BASE_URL, loc);
	if (abs) {
		char *scheme, *host;
		unsigned port;
		if (http_url_origin(abs, &scheme, &host, &port) == 0) {
			free(scheme);
			free(host);
		}
		(void)http_same_origin(BASE_URL, abs);
		free(abs);
	}
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
	if (set_challenge(&r, &x, &e) == 0) {
		FUZZ_CHECK(r.scheme != IMG_AUTH_BEARER || (r.realm && !strncasecmp(r.realm, "http", 4)),
			   "Bearer challenge without an http(s) realm");
	} else {
		FUZZ_CHECK(e.msg[0], "challenge refused without a message");
	}
	show_warnings(&r, &x);
	(void)retry_after(http_header_get(&x, "Retry-After"));
	check_location(&x);
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
