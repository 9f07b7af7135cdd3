/* registry.c: registry transport, auth, retries and error messages (see registry.h). */
#include "image/registry.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "image/reference.h"
#include "image/registry_auth.h"
#include "lib/base64.h"
#include "lib/cleanup.h"
#include "lib/clock.h"
#include "lib/json.h"
#include "lib/log.h"

#define ERROR_BODY_MAX (64u << 10)
#define TOKEN_BODY_MAX (64u << 10)
#define MAX_WARNINGS 16

struct token {
	char *scope, *token;
	uint64_t expires_ms;
};

struct img_registry {
	char *name; /* as in references */
	char *host; /* where the API is */
	char *base; /* "https://host" */
	bool insecure;
	struct img_registry_opts o;
	struct http_client *http;
	/* auth */
	enum img_auth_scheme scheme;
	char *realm, *service;
	bool creds_loaded;
	bool have_creds;
	char *creds_source;
	struct img_creds creds;
	struct token *tokens;
	size_t n_tokens;
	char *warnings[MAX_WARNINGS];
	size_t n_warnings;
};

static unsigned env_uint(const char *name, unsigned def, unsigned max)
{
	const char *s = getenv(name);
	char *end;
	if (!s || !*s)
		return def;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (*end || errno || v > max) {
		log_warn("ignoring %s=\"%.40s\": not a number up to %u", name, s, max);
		return def;
	}
	return (unsigned)v;
}

void img_registry_opts_init(struct img_registry_opts *o)
{
	*o = (struct img_registry_opts){.tls_verify = true};
	o->timeout_s = env_uint("RAMP_REGISTRY_TIMEOUT", 30, 3600);
	o->retries = env_uint("RAMP_REGISTRY_RETRIES", 4, 100);
	o->backoff_ms = env_uint("RAMP_REGISTRY_BACKOFF_MS", 500, 600000);
	o->max_wait_s = 60;
	o->jobs = 4;
}

const char *img_xfer_state_name(enum img_xfer_state s)
{
	static const char *const names[] = {"progress", "skipped", "mounted", "uploaded", "downloaded"};
	return names[s];
}

void img_reg_clean_text(const char *in, size_t len, char *out, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; i < len && in[i] && n + 4 < cap; i++) {
		unsigned char c = (unsigned char)in[i];
		out[n++] = c >= 0x20 && c < 0x7f ? (char)c : (c == '\n' || c == '\t' ? ' ' : '?');
	}
	if (n + 4 >= cap && len > n) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
}

/* ---- names ---- */

static char *host_of(const char *name)
{
	if (name[0] == '[') {
		const char *close = strchr(name, ']');
		return close ? strndup(name + 1, (size_t)(close - name - 1)) : strdup(name);
	}
	const char *colon = strchr(name, ':');
	return colon ? strndup(name, (size_t)(colon - name)) : strdup(name);
}

static bool is_loopback(const char *name)
{
	_cleanup_free_ char *h = host_of(name);
	struct in_addr a4;
	struct in6_addr a6;
	if (!h)
		return false;
	if (!strcasecmp(h, "localhost"))
		return true;
	if (inet_pton(AF_INET, h, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, h, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return false;
}

static bool is_listed(const char *const *list, const char *name)
{
	_cleanup_free_ char *h = host_of(name);
	for (size_t i = 0; list && list[i]; i++)
		if (!strcasecmp(list[i], name) || (h && !strcasecmp(list[i], h)))
			return true;
	return false;
}

/* "repository:team/app:pull" -> "team/app" in buf. */
static const char *scope_repo(const char *scope, char *buf, size_t cap)
{
	if (!scope || strncmp(scope, "repository:", 11))
		return "";
	const char *s = scope + 11, *end = strchr(s, ':');
	size_t n = end ? (size_t)(end - s) : strlen(s);
	snprintf(buf, cap, "%.*s", (int)n, s);
	return buf;
}

/* ---- warnings and errors ---- */

static void show_warnings(struct img_registry *r, const struct http_xfer *x)
{
	size_t i = 0;
	const char *w;
	while ((w = http_header_next(x, "Warning", &i))) {
		/* 299 - "text": show the text */
		const char *q = strchr(w, '"'), *qe = q ? strrchr(w, '"') : NULL;
		char clean[300];
		if (q && qe > q)
			img_reg_clean_text(q + 1, (size_t)(qe - q - 1), clean, sizeof clean);
		else
			img_reg_clean_text(w, strlen(w), clean, sizeof clean);
		bool seen = false;
		for (size_t k = 0; k < r->n_warnings && !seen; k++)
			seen = !strcmp(r->warnings[k], clean);
		if (seen)
			continue;
		log_warn("registry %s: %s", r->name, clean);
		if (r->n_warnings < MAX_WARNINGS)
			r->warnings[r->n_warnings++] = strdup(clean);
	}
}

/* "CODE: message; CODE: message" from an error body, "" when it has none. */
static void error_json(const struct http_xfer *x, char *out, size_t cap, char *code, size_t code_cap)
{
	struct err ignore;
	out[0] = '\0';
	if (code)
		code[0] = '\0';
	if (!x->resp_body || !x->resp_len)
		return;
	struct json *j = json_parse(x->resp_body, x->resp_len, &ignore);
	const struct json *errs = j ? json_get(j, "errors") : NULL;
	size_t n = 0;
	for (size_t i = 0; errs && errs->type == JSON_ARRAY && i < errs->arr.n && i < 3; i++) {
		const char *c = json_get_str(errs->arr.v[i], "code"), *m = json_get_str(errs->arr.v[i], "message");
		char cc[64], cm[300];
		img_reg_clean_text(c ? c : "", c ? strlen(c) : 0, cc, sizeof cc);
		img_reg_clean_text(m ? m : "", m ? strlen(m) : 0, cm, sizeof cm);
		if (code && i == 0)
			snprintf(code, code_cap, "%s", cc);
		int w = snprintf(out + n, cap - n, "%s%s%s%s", n ? "; " : "", cc, *cc && *cm ? ": " : "", cm);
		if (w < 0 || (size_t)w >= cap - n)
			break;
		n += (size_t)w;
	}
	json_free(j);
}

int img_reg_error(struct img_registry *r, const struct http_xfer *x, const char *what, const char *repo,
		  struct err *e)
{
	char detail[1024], code[64];
	const char *reg = r->name;
	switch (x->fail) {
	case HTTP_FAIL_NONE:
		break;
	case HTTP_FAIL_CONNECT:
		return err_set(e, "%s: cannot connect to registry %s: %s", what, reg, x->errmsg);
	case HTTP_FAIL_TLS:
		return err_set(e, "%s: TLS with registry %s failed: %s (use --cacert FILE for a private CA)", what, reg,
			       x->errmsg);
	case HTTP_FAIL_TIMEOUT:
		return err_set(e, "%s: registry %s timed out (no progress for %u s; see --timeout): %s", what, reg,
			       r->o.timeout_s, x->errmsg);
	case HTTP_FAIL_BROKEN:
		return err_set(e, "%s: the connection to registry %s broke: %s", what, reg, x->errmsg);
	case HTTP_FAIL_REDIRECTS:
		return err_set(e, "%s: registry %s redirects too often (a redirect loop?): %s", what, reg, x->errmsg);
	case HTTP_FAIL_TOO_BIG:
		return err_set(e, "%s: registry %s sent too much: %s", what, reg, x->errmsg);
	default:
		return err_set(e, "%s: registry %s: %s", what, reg, x->errmsg);
	}
	error_json(x, detail, sizeof detail, code, sizeof code);
	const char *sep = *detail ? " (" : "", *end = *detail ? ")" : "";
	long st = x->status;
	if (st == 401) {
		if (r->have_creds)
			return err_set(e, "%s: authentication failed for %s with the credentials from %s%s%s%s; check them "
					  "with 'ramp login %s'",
				       what, reg, r->creds_source ? r->creds_source : "--creds", sep, detail, end, reg);
		return err_set(e, "%s: authentication required: run 'ramp login %s'%s%s%s", what, reg, sep, detail, end);
	}
	if (st == 403)
		return err_set(e, "%s: access denied to %s on %s%s%s%s: the account lacks the permission", what,
			       repo && *repo ? repo : "the repository", reg, sep, detail, end);
	if (st == 404) {
		if (!strcmp(code, "NAME_UNKNOWN"))
			return err_set(e, "%s: repository not found: %s on %s%s%s%s", what, repo, reg, sep, detail, end);
		if (!strcmp(code, "MANIFEST_UNKNOWN"))
			return err_set(e, "%s: not found on %s (no such tag or digest)%s%s%s", what, reg, sep, detail, end);
		return err_set(e, "%s: not found on %s%s%s%s", what, reg, sep, detail, end);
	}
	if (st == 429) {
		const char *ra = http_header_get(x, "Retry-After");
		char cra[40];
		img_reg_clean_text(ra ? ra : "", ra ? strlen(ra) : 0, cra, sizeof cra);
		return err_set(e, "%s: registry %s is rate limiting requests (429 Too Many Requests)%s%s%s%s", what, reg,
			       ra ? "; retry after " : "; retry later", cra, sep, detail);
	}
	if (st >= 500)
		return err_set(e, "%s: registry %s failed: %ld %s%s%s%s; try again later", what, reg, st, http_reason(st),
			       *detail ? ": " : "", detail, "");
	return err_set(e, "%s: registry %s answered %ld %s%s%s", what, reg, st, http_reason(st), *detail ? ": " : "",
		       detail);
}

/* ---- auth ---- */

static int load_creds(struct img_registry *r, const char *repo, struct err *e)
{
	if (r->creds_loaded)
		return 0;
	r->creds_loaded = true;
	if (r->o.creds) {
		if (img_creds_from_string(r->o.creds, &r->creds, e) < 0)
			return err_ctx(e, "--creds");
		r->have_creds = true;
		return 0;
	}
	int rc = img_creds_lookup(r->name, repo && *repo ? repo : NULL, &r->creds, &r->creds_source, e);
	if (rc < 0)
		return err_ctx(e, "credentials for %s", r->name);
	r->have_creds = rc == 1;
	if (r->have_creds)
		log_debug("using credentials for %s from %s", r->name, r->creds_source ? r->creds_source : "?");
	return 0;
}

int img_registry_set_creds(struct img_registry *r, const struct img_creds *c, struct err *e)
{
	img_creds_free(&r->creds);
	free(r->creds_source);
	r->creds_source = strdup("the command line");
	for (size_t i = 0; i < r->n_tokens; i++) {
		free(r->tokens[i].scope);
		free(r->tokens[i].token);
	}
	r->n_tokens = 0;
	if (img_creds_copy(&r->creds, c, e) < 0)
		return -1;
	r->creds_loaded = r->have_creds = true;
	return 0;
}

static int set_challenge(struct img_registry *r, const struct http_xfer *x, struct err *e)
{
	size_t i = 0;
	const char *h;
	struct err first = {0};
	bool any = false;
	while ((h = http_header_next(x, "WWW-Authenticate", &i))) {
		struct img_challenge c;
		struct err pe;
		any = true;
		if (img_challenge_parse(h, &c, &pe) < 0) {
			if (!first.msg[0])
				first = pe;
			continue;
		}
		/* a realm over plain HTTP would carry the password in clear text */
		if (c.scheme == IMG_AUTH_BEARER && !strncasecmp(c.realm, "http://", 7)) {
			char *rs, *rh;
			unsigned rp;
			bool ok = false;
			if (http_url_origin(c.realm, &rs, &rh, &rp) == 0) {
				char hp[300];
				/* curl gives an IPv6 host with its brackets */
				snprintf(hp, sizeof hp, strchr(rh, ':') && rh[0] != '[' ? "[%s]:%u" : "%s:%u", rh, rp);
				ok = is_loopback(hp) || is_listed(r->o.insecure, hp) || !r->o.tls_verify;
				free(rs);
				free(rh);
			}
			if (!ok) {
				err_set(e, "registry %s names a token server over plain HTTP (%.100s); refusing to send "
					   "credentials there (--insecure-registry to allow)",
					r->name, c.realm);
				img_challenge_free(&c);
				return -1;
			}
		}
		free(r->realm);
		free(r->service);
		r->scheme = c.scheme;
		r->realm = c.realm;
		r->service = c.service;
		c.realm = c.service = NULL;
		img_challenge_free(&c);
		return 0;
	}
	if (!any)
		return err_set(e, "registry %s answered 401 without a WWW-Authenticate challenge", r->name);
	*e = first;
	return err_ctx(e, "registry %s sent a malformed challenge", r->name);
}

static void drop_token(struct img_registry *r, const char *scope)
{
	for (size_t i = 0; i < r->n_tokens; i++)
		if (!strcmp(r->tokens[i].scope, scope)) {
			free(r->tokens[i].scope);
			free(r->tokens[i].token);
			r->tokens[i] = r->tokens[--r->n_tokens];
			return;
		}
}

/* Ask the token server for a token covering scope ("" for none: login). */
static int fetch_token(struct img_registry *r, const char *scope, const char **out, struct err *e)
{
	struct http_xfer x;
	_cleanup_free_ char *url = NULL, *query = NULL, *form = NULL;
	char repo[256];
	int rc = -1;
	if (load_creds(r, scope_repo(scope, repo, sizeof repo), e) < 0)
		return -1;
	/* service and each scope as query parameters */
	size_t qcap = 64 + strlen(scope) * 3 + (r->service ? strlen(r->service) * 3 : 0);
	if (!(query = calloc(1, qcap)))
		return err_errno(e, ENOMEM, "token");
	size_t qn = 0;
	if (r->service) {
		_cleanup_free_ char *s = http_escape(r->service);
		qn += (size_t)snprintf(query + qn, qcap - qn, "service=%s", s ? s : "");
	}
	_cleanup_free_ char *sc = strdup(scope);
	for (char *save = NULL, *tok = sc ? strtok_r(sc, " ", &save) : NULL; tok; tok = strtok_r(NULL, " ", &save)) {
		_cleanup_free_ char *s = http_escape(tok);
		qn += (size_t)snprintf(query + qn, qcap - qn, "%sscope=%s", qn ? "&" : "", s ? s : "");
	}
	http_xfer_init(&x);
	x.max_body = TOKEN_BODY_MAX;
	x.timeout_ms = (long)r->o.timeout_s * 2000;
	x.insecure = r->insecure || !r->o.tls_verify;
	x.follow = true;
	if (r->have_creds && r->creds.identity_token) {
		/* OAuth2 refresh token grant, as docker does for identity tokens */
		_cleanup_free_ char *t = http_escape(r->creds.identity_token);
		if (asprintf(&form, "grant_type=refresh_token&client_id=ramp&refresh_token=%s%s%s", t ? t : "",
			     qn ? "&" : "", query) < 0)
			form = NULL;
		x.method = "POST";
		x.body = form;
		x.body_len = form ? strlen(form) : 0;
		x.has_body = true;
		if (!form || http_xfer_url(&x, r->realm, e) < 0 ||
		    http_xfer_header(&x, e, "Content-Type: application/x-www-form-urlencoded") < 0)
			goto out;
	} else {
		if (asprintf(&url, "%s%s%s", r->realm, strchr(r->realm, '?') ? "&" : "?", query) < 0 ||
		    http_xfer_url(&x, url, e) < 0)
			goto out;
		if (r->have_creds && r->creds.username) {
			_cleanup_free_ char *up = NULL, *b64 = NULL;
			if (asprintf(&up, "%s:%s", r->creds.username, r->creds.password ? r->creds.password : "") < 0 ||
			    !(b64 = b64_encode(up, strlen(up))) || http_xfer_header(&x, e, "Authorization: Basic %s", b64) < 0)
				goto out;
		}
	}
	if (http_perform(r->http, &x, e) < 0) {
		img_reg_error(r, &x, "token", NULL, e);
		err_ctx(e, "token server %.100s", r->realm);
		goto out;
	}
	if (x.status != 200) {
		char detail[600];
		img_reg_clean_text(x.resp_body ? x.resp_body : "", x.resp_len, detail, 200);
		if (x.status == 401 || x.status == 403) {
			if (r->have_creds)
				err_set(e, "authentication failed for %s: the token server refused the credentials from %s "
					   "(%ld); check them with 'ramp login %s'",
					r->name, r->creds_source ? r->creds_source : "--creds", x.status, r->name);
			else
				err_set(e, "authentication required: run 'ramp login %s'", r->name);
		} else {
			err_set(e, "token server %.100s answered %ld %s: %s", r->realm, x.status, http_reason(x.status), detail);
		}
		goto out;
	}
	char *token;
	int64_t exp;
	if (img_token_parse(x.resp_body, x.resp_len, &token, &exp, e) < 0) {
		err_ctx(e, "token server %.100s", r->realm);
		goto out;
	}
	drop_token(r, scope);
	struct token *nt = realloc(r->tokens, (r->n_tokens + 1) * sizeof *nt);
	char *s = strdup(scope);
	if (!nt || !s) {
		if (nt)
			r->tokens = nt;
		free(token);
		free(s);
		err_errno(e, ENOMEM, "token");
		goto out;
	}
	r->tokens = nt;
	/* renew a little early so a token does not expire in flight */
	r->tokens[r->n_tokens++] = (struct token){s, token, (uint64_t)clk_mono_ms() + (uint64_t)exp * 1000 - 5000};
	*out = token;
	log_debug("%s: new token for \"%s\", valid %lld s", r->name, scope, (long long)exp);
	rc = 0;
out:
	http_xfer_free(&x);
	return rc;
}

/* Put the Authorization header the request needs (none for another host). */
static int authorize(struct img_registry *r, struct http_xfer *x, const char *scope, struct err *e)
{
	for (size_t i = 0; i < x->n_headers; i++)
		if (!strncasecmp(x->headers[i], "Authorization:", 14)) {
			free(x->headers[i]);
			x->headers[i--] = x->headers[--x->n_headers];
		}
	bool same = http_same_origin(x->url, r->base);
	/* TLS verification is only relaxed for the registry itself, never for a host it redirects to */
	x->insecure = same && r->insecure;
	if (r->scheme == IMG_AUTH_NONE || !same)
		return 0;
	char repo[256];
	if (load_creds(r, scope_repo(scope, repo, sizeof repo), e) < 0)
		return -1;
	if (r->scheme == IMG_AUTH_BASIC) {
		if (!r->have_creds || !r->creds.username)
			return 0;
		_cleanup_free_ char *up = NULL, *b64 = NULL;
		if (asprintf(&up, "%s:%s", r->creds.username, r->creds.password ? r->creds.password : "") < 0 ||
		    !(b64 = b64_encode(up, strlen(up))))
			return err_errno(e, ENOMEM, "credentials");
		return http_xfer_header(x, e, "Authorization: Basic %s", b64);
	}
	const char *tok = NULL;
	uint64_t now = (uint64_t)clk_mono_ms();
	for (size_t i = 0; i < r->n_tokens && !tok; i++)
		if (!strcmp(r->tokens[i].scope, scope ? scope : "") && r->tokens[i].expires_ms > now)
			tok = r->tokens[i].token;
	if (!tok && fetch_token(r, scope ? scope : "", &tok, e) < 0)
		return -1;
	return http_xfer_header(x, e, "Authorization: Bearer %s", tok);
}

/* ---- retries ---- */

/* Seconds from a Retry-After value (delta-seconds or an HTTP date); -1 when unusable. */
static long retry_after(const char *v)
{
	char *end;
	if (!v)
		return -1;
	errno = 0;
	long s = strtol(v, &end, 10);
	if (end != v && !*end && !errno && s >= 0)
		return s;
	struct tm tm = {0};
	const char *p = strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (!p || *p)
		return -1;
	time_t t = timegm(&tm), now = time(NULL);
	return t > now ? (long)(t - now) : 0;
}

enum img_reg_verdict img_reg_check(struct img_registry *r, struct http_xfer *x, const char *scope,
				   unsigned *attempts, bool *reauthed, uint64_t *not_before_ms, const char *what,
				   const char *repo, struct err *e)
{
	char rbuf[256];
	if (!repo)
		repo = scope_repo(scope, rbuf, sizeof rbuf);
	if (x->fail == HTTP_FAIL_NONE)
		show_warnings(r, x);
	bool transient = x->fail == HTTP_FAIL_CONNECT || x->fail == HTTP_FAIL_TIMEOUT || x->fail == HTTP_FAIL_BROKEN ||
			 (x->fail == HTTP_FAIL_NONE && (x->status == 429 || x->status == 500 || x->status == 502 ||
							x->status == 503 || x->status == 504));
	if (x->fail != HTTP_FAIL_NONE && !transient) {
		img_reg_error(r, x, what, repo, e);
		return IMG_REG_FAILED;
	}
	if (transient) {
		uint64_t wait = (uint64_t)r->o.backoff_ms << (*attempts < 10 ? *attempts : 10);
		if (x->status == 429) {
			long ra = retry_after(http_header_get(x, "Retry-After"));
			if (ra > (long)r->o.max_wait_s) {
				img_reg_error(r, x, what, repo, e);
				return IMG_REG_FAILED;
			}
			if (ra >= 0)
				wait = (uint64_t)ra * 1000;
		}
		if (*attempts >= r->o.retries) {
			img_reg_error(r, x, what, repo, e);
			if (*attempts)
				err_ctx(e, "gave up after %u attempts", *attempts + 1);
			return IMG_REG_FAILED;
		}
		(*attempts)++;
		if (x->fail != HTTP_FAIL_NONE)
			log_info("%s: %s; retrying in %llu ms", what, x->errmsg, (unsigned long long)wait);
		else
			log_info("%s: %ld %s; retrying in %llu ms", what, x->status, http_reason(x->status),
				 (unsigned long long)wait);
		*not_before_ms = (uint64_t)clk_mono_ms() + wait;
		return IMG_REG_RETRY;
	}
	if (x->status != 401) {
		*reauthed = false;
		return IMG_REG_OK;
	}
	/* 401: learn the challenge, then one more try with fresh credentials */
	enum img_auth_scheme before = r->scheme;
	if (set_challenge(r, x, e) < 0)
		return IMG_REG_FAILED;
	if (*reauthed) {
		img_reg_error(r, x, what, repo, e);
		return IMG_REG_FAILED;
	}
	*reauthed = true;
	if (r->scheme == IMG_AUTH_BEARER) {
		const char *tok;
		/* parallel requests all fail with the same stale token: the first
		 * one to get here fetches a new one, the others reuse it */
		const char *sent = NULL;
		for (size_t i = 0; i < x->n_headers; i++)
			if (!strncasecmp(x->headers[i], "Authorization: Bearer ", 22))
				sent = x->headers[i] + 22;
		for (size_t i = 0; sent && i < r->n_tokens; i++)
			if (!strcmp(r->tokens[i].scope, scope ? scope : "") && strcmp(r->tokens[i].token, sent) &&
			    r->tokens[i].expires_ms > (uint64_t)clk_mono_ms())
				return IMG_REG_AGAIN;
		drop_token(r, scope ? scope : "");
		if (fetch_token(r, scope ? scope : "", &tok, e) < 0)
			return IMG_REG_FAILED;
		return IMG_REG_AGAIN;
	}
	if (load_creds(r, repo, e) < 0)
		return IMG_REG_FAILED;
	if (before == IMG_AUTH_BASIC || !r->have_creds) {
		img_reg_error(r, x, what, repo, e);
		return IMG_REG_FAILED;
	}
	return IMG_REG_AGAIN;
}

int img_reg_do(struct img_registry *r, struct http_xfer *x, const char *scope, struct err *e)
{
	unsigned attempts = 0;
	bool reauthed = false;
	uint64_t nb = 0;
	char what[300];
	snprintf(what, sizeof what, "%s %s", x->method ? x->method : "GET", x->url);
	for (;;) {
		if (authorize(r, x, scope, e) < 0)
			return -1;
		struct err pe;
		http_perform(r->http, x, &pe);
		switch (img_reg_check(r, x, scope, &attempts, &reauthed, &nb, what, NULL, e)) {
		case IMG_REG_OK:
			return 0;
		case IMG_REG_AGAIN:
			continue;
		case IMG_REG_RETRY: {
			uint64_t now = (uint64_t)clk_mono_ms();
			if (nb > now)
				usleep((useconds_t)(nb - now) * 1000);
			continue;
		}
		case IMG_REG_FAILED:
			return -1;
		}
	}
}

/* ---- jobs ---- */

enum { J_NEW, J_RUNNING, J_WAITING, J_DONE };

int img_reg_run(struct img_registry *r, struct img_job **jobs, size_t n, struct err *e)
{
	unsigned char *st = calloc(n ? n : 1, 1);
	size_t next = 0, active = 0, done = 0;
	unsigned limit = r->o.jobs ? r->o.jobs : 1;
	int rc = -1;
	if (!st)
		return err_errno(e, ENOMEM, "jobs");
	for (;;) {
		/* start what may start */
		uint64_t now = (uint64_t)clk_mono_ms(), wake = UINT64_MAX;
		for (size_t i = 0; i < next; i++) {
			if (st[i] != J_WAITING)
				continue;
			if (jobs[i]->not_before_ms > now || active >= limit) {
				if (jobs[i]->not_before_ms < wake)
					wake = jobs[i]->not_before_ms;
				continue;
			}
			if (authorize(r, &jobs[i]->x, jobs[i]->scope, e) < 0 || http_start(r->http, &jobs[i]->x, e) < 0)
				goto out;
			st[i] = J_RUNNING;
			active++;
		}
		while (next < n && active < limit) {
			struct img_job *j = jobs[next];
			size_t i = next++;
			http_xfer_init(&j->x);
			j->x.user = j;
			switch (j->step(j, NULL, e)) {
			case IMG_JOB_START:
				if (authorize(r, &j->x, j->scope, e) < 0 || http_start(r->http, &j->x, e) < 0)
					goto out;
				st[i] = J_RUNNING;
				active++;
				break;
			case IMG_JOB_WAIT:
				st[i] = J_WAITING;
				if (j->not_before_ms < wake)
					wake = j->not_before_ms;
				break;
			case IMG_JOB_DONE:
				st[i] = J_DONE;
				done++;
				break;
			case IMG_JOB_FAIL:
				goto out;
			}
		}
		if (done == n) {
			rc = 0;
			goto out;
		}
		long timeout = -1;
		if (wake != UINT64_MAX) {
			now = (uint64_t)clk_mono_ms();
			timeout = wake > now ? (long)(wake - now) : 0;
		}
		if (!active) {
			if (timeout > 0)
				usleep((useconds_t)timeout * 1000);
			continue;
		}
		struct http_xfer *x = http_wait(r->http, timeout);
		if (!x)
			continue;
		struct img_job *j = x->user;
		size_t i = 0;
		while (i < n && jobs[i] != j)
			i++;
		active--;
		switch (j->step(j, x, e)) {
		case IMG_JOB_START:
			if (authorize(r, &j->x, j->scope, e) < 0 || http_start(r->http, &j->x, e) < 0)
				goto out;
			active++;
			break;
		case IMG_JOB_WAIT:
			st[i] = J_WAITING;
			break;
		case IMG_JOB_DONE:
			st[i] = J_DONE;
			done++;
			break;
		case IMG_JOB_FAIL:
			st[i] = J_DONE;
			goto out;
		}
	}
out:
	for (size_t i = 0; i < n; i++) {
		if (st[i] == J_RUNNING)
			http_cancel(r->http, &jobs[i]->x);
		if (i < next && jobs[i]->cleanup)
			jobs[i]->cleanup(jobs[i]);
		if (i < next)
			http_xfer_free(&jobs[i]->x);
	}
	free(st);
	return rc;
}

/* ---- the registry ---- */

int img_reg_url(struct img_registry *r, struct http_xfer *x, struct err *e, const char *fmt, ...)
{
	char *path, *url;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&path, fmt, ap);
	va_end(ap);
	if (n < 0)
		return err_errno(e, ENOMEM, "URL");
	n = asprintf(&url, "%s/v2/%s", r->base, path);
	free(path);
	if (n < 0)
		return err_errno(e, ENOMEM, "URL");
	free(x->url);
	x->url = url;
	return 0;
}

const char *img_registry_name(const struct img_registry *r)
{
	return r->name;
}

struct http_client *img_registry_http(struct img_registry *r)
{
	return r->http;
}

const struct img_registry_opts *img_registry_opts(const struct img_registry *r)
{
	return &r->o;
}

/* GET /v2/ on one scheme: learns the auth scheme. 0 ok, 1 transport failure worth
 * another scheme, -1 error. A probe (another scheme follows) takes a connection
 * that breaks as the wrong scheme too, rather than retrying it. */
static int ping(struct img_registry *r, const char *scheme, bool probe, struct err *e)
{
	struct http_xfer x;
	int rc = -1;
	free(r->base);
	if (asprintf(&r->base, "%s://%s", scheme, r->host) < 0) {
		r->base = NULL;
		return err_errno(e, ENOMEM, "registry");
	}
	http_xfer_init(&x);
	x.max_body = ERROR_BODY_MAX;
	x.timeout_ms = (long)r->o.timeout_s * 2000;
	x.insecure = r->insecure;
	if (img_reg_url(r, &x, e, "%s", "") < 0)
		goto out;
	unsigned attempts = 0;
	uint64_t nb;
	for (;;) {
		struct err pe;
		if (http_perform(r->http, &x, &pe) < 0 &&
		    (x.fail == HTTP_FAIL_TLS || x.fail == HTTP_FAIL_CONNECT || (probe && x.fail == HTTP_FAIL_BROKEN))) {
			*e = pe;
			rc = 1;
			goto out;
		}
		bool reauthed = true; /* only learn the challenge here */
		if (x.fail == HTTP_FAIL_NONE && x.status == 401) {
			if (set_challenge(r, &x, e) < 0)
				goto out;
			rc = 0;
			goto out;
		}
		enum img_reg_verdict v = img_reg_check(r, &x, NULL, &attempts, &reauthed, &nb, "GET /v2/", NULL, e);
		if (v == IMG_REG_RETRY) {
			uint64_t now = (uint64_t)clk_mono_ms();
			if (nb > now)
				usleep((useconds_t)(nb - now) * 1000);
			continue;
		}
		if (v == IMG_REG_FAILED)
			goto out;
		break;
	}
	if (x.status != 200) {
		img_reg_error(r, &x, "GET /v2/", NULL, e);
		err_ctx(e, "%s does not answer as an OCI registry", r->name);
		goto out;
	}
	rc = 0;
out:
	http_xfer_free(&x);
	return rc;
}

struct img_registry *img_registry_open(const char *registry, const struct img_registry_opts *o, struct err *e)
{
	struct img_registry *r = calloc(1, sizeof *r);
	if (!r || !(r->name = strdup(registry)) || !(r->host = strdup(img_ref_api_host(registry)))) {
		img_registry_close(r);
		err_errno(e, ENOMEM, "registry");
		return NULL;
	}
	r->o = *o;
	if (!r->o.jobs)
		r->o.jobs = 4;
	bool listed = is_listed(o->insecure, registry);
	bool plain_ok = listed || is_loopback(registry) || !o->tls_verify;
	r->insecure = listed || !o->tls_verify;
	struct http_client_opts ho = {.cacert = o->cacert, .timeout_s = o->timeout_s, .max_host_conns = r->o.jobs + 2};
	char ua[64];
	snprintf(ua, sizeof ua, "ramp/%s", RAMP_VERSION);
	ho.user_agent = ua;
	if (!(r->http = http_client_new(&ho, e))) {
		img_registry_close(r);
		return NULL;
	}
	int rc;
	if (is_loopback(registry)) {
		/* plain HTTP first: nothing leaves the machine, and a plain test
		 * registry costs no TLS set-up (loading the CA bundle is most of a
		 * small push's time); a TLS port answers it with an error */
		struct err pe, se;
		if ((rc = ping(r, "http", true, &pe)) != 0 && (rc = ping(r, "https", false, &se)) != 0) {
			err_set(e, "registry %s: over plain HTTP: %s; over HTTPS: %s", registry, pe.msg, se.msg);
			rc = -1;
		}
	} else if ((rc = ping(r, "https", plain_ok, e)) == 1 && plain_ok) {
		log_debug("%s: HTTPS failed (%s), trying plain HTTP", registry, e->msg);
		rc = ping(r, "http", false, e);
	} else if (rc == 1 && r->base) {
		err_ctx(e, "registry %s (plain HTTP is only used for loopback and --insecure-registry)", registry);
		rc = -1;
	}
	if (rc != 0) {
		if (rc == 1)
			err_ctx(e, "registry %s", registry);
		img_registry_close(r);
		return NULL;
	}
	log_debug("registry %s: %s, auth %s", registry, r->base,
		  r->scheme == IMG_AUTH_BEARER ? "bearer" : r->scheme == IMG_AUTH_BASIC ? "basic" : "none");
	return r;
}

int img_registry_check_login(struct img_registry *r, struct err *e)
{
	struct http_xfer x;
	int rc = -1;
	if (r->scheme == IMG_AUTH_NONE)
		return 0; /* nothing to check: the registry asks for no credentials */
	if (r->scheme == IMG_AUTH_BEARER) {
		const char *tok;
		return fetch_token(r, "", &tok, e);
	}
	http_xfer_init(&x);
	x.max_body = ERROR_BODY_MAX;
	x.insecure = r->insecure;
	if (img_reg_url(r, &x, e, "%s", "") < 0 || authorize(r, &x, NULL, e) < 0)
		goto out;
	if (http_perform(r->http, &x, e) < 0)
		goto out;
	if (x.status != 200) {
		img_reg_error(r, &x, "login", NULL, e);
		goto out;
	}
	rc = 0;
out:
	http_xfer_free(&x);
	return rc;
}

void img_registry_close(struct img_registry *r)
{
	if (!r)
		return;
	http_client_free(r->http);
	free(r->name);
	free(r->host);
	free(r->base);
	free(r->realm);
	free(r->service);
	free(r->creds_source);
	img_creds_free(&r->creds);
	for (size_t i = 0; i < r->n_tokens; i++) {
		free(r->tokens[i].scope);
		explicit_bzero(r->tokens[i].token, strlen(r->tokens[i].token));
		free(r->tokens[i].token);
	}
	free(r->tokens);
	for (size_t i = 0; i < r->n_warnings; i++)
		free(r->warnings[i]);
	free(r);
}
