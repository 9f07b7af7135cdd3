/* registry_auth.c: WWW-Authenticate and token response parsing (see registry_auth.h). */
#include "image/registry_auth.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/json.h"

#define HDR_MAX 8192
#define VALUE_MAX 2048
#define TOKEN_MAX (64u << 10)

static bool is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static void skip_ws(const char **p)
{
	while (**p == ' ' || **p == '\t')
		(*p)++;
}

/* token, or quoted-string with backslash escapes, into out. */
static int read_value(const char **pp, char *out, struct err *e)
{
	const char *p = *pp;
	size_t n = 0;
	if (*p == '"') {
		for (p++;; p++) {
			if (!*p)
				return err_set(e, "unterminated quoted string");
			if (*p == '"')
				break;
			if (*p == '\\') {
				p++;
				if (!*p)
					return err_set(e, "unterminated quoted string");
			}
			if (n + 1 >= VALUE_MAX)
				return err_set(e, "parameter value longer than %d bytes", VALUE_MAX);
			out[n++] = *p;
		}
		p++;
	} else {
		while (is_tchar(*p) || *p == '/' || *p == ':' || *p == '=') {
			if (n + 1 >= VALUE_MAX)
				return err_set(e, "parameter value longer than %d bytes", VALUE_MAX);
			out[n++] = *p++;
		}
		if (!n)
			return err_set(e, "missing parameter value");
	}
	out[n] = '\0';
	*pp = p;
	return 0;
}

static int set_param(char **dst, const char *name, const char *v, struct err *e)
{
	if (*dst)
		return err_set(e, "parameter \"%s\" given twice", name);
	if (!(*dst = strdup(v)))
		return err_errno(e, ENOMEM, "challenge");
	return 0;
}

void img_challenge_free(struct img_challenge *c)
{
	free(c->realm);
	free(c->service);
	free(c->scope);
	free(c->error);
	*c = (struct img_challenge){0};
}

int img_challenge_parse(const char *hdr, struct img_challenge *out, struct err *e)
{
	struct img_challenge cur = {0}, best = {0};
	char *value = NULL;
	const char *p = hdr;
	int rc = -1;
	*out = (struct img_challenge){0};
	size_t len = strnlen(hdr, HDR_MAX + 1);
	if (len > HDR_MAX)
		return err_set(e, "invalid WWW-Authenticate header: longer than %d bytes", HDR_MAX);
	for (size_t i = 0; i < len; i++)
		if (((unsigned char)hdr[i] < 0x20 && hdr[i] != '\t') || (unsigned char)hdr[i] >= 0x7f)
			return err_set(e, "invalid WWW-Authenticate header: control or non-ASCII character");
	if (!(value = malloc(VALUE_MAX)))
		return err_errno(e, ENOMEM, "challenge");
	bool in_challenge = false, skipping = false;
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			break;
		const char *start = p;
		while (is_tchar(*p))
			p++;
		if (p == start) {
			err_set(e, "unexpected character '%c'", *p);
			goto fail;
		}
		size_t tlen = (size_t)(p - start);
		const char *q = p;
		skip_ws(&q);
		if (*q == '=' && in_challenge) {
			/* auth-param of the current challenge */
			q++;
			skip_ws(&q);
			if (read_value(&q, value, e) < 0)
				goto fail;
			p = q;
			skip_ws(&p);
			if (*p && *p != ',') {
				err_set(e, "expected ',' after a parameter");
				goto fail;
			}
			if (skipping)
				continue;
			int r = 0;
			if (tlen == 5 && !strncasecmp(start, "realm", 5))
				r = set_param(&cur.realm, "realm", value, e);
			else if (tlen == 7 && !strncasecmp(start, "service", 7))
				r = set_param(&cur.service, "service", value, e);
			else if (tlen == 5 && !strncasecmp(start, "scope", 5))
				r = set_param(&cur.scope, "scope", value, e);
			else if (tlen == 5 && !strncasecmp(start, "error", 5))
				r = set_param(&cur.error, "error", value, e);
			if (r < 0)
				goto fail;
			continue;
		}
		if (*q == '=') {
			err_set(e, "parameter before any scheme");
			goto fail;
		}
		/* a new challenge: keep the previous one if it is the best so far */
		if (cur.scheme > best.scheme) {
			img_challenge_free(&best);
			best = cur;
		} else {
			img_challenge_free(&cur);
		}
		cur = (struct img_challenge){0};
		in_challenge = true;
		skipping = false;
		if (tlen == 6 && !strncasecmp(start, "Bearer", 6))
			cur.scheme = IMG_AUTH_BEARER;
		else if (tlen == 5 && !strncasecmp(start, "Basic", 5))
			cur.scheme = IMG_AUTH_BASIC;
		else
			skipping = true;
		/* token68 form ("Negotiate abc=="): not for us, skip it */
		skip_ws(&p);
		if (skipping && *p && *p != ',' && !is_tchar(*p)) {
			err_set(e, "unexpected character '%c'", *p);
			goto fail;
		}
	}
	if (cur.scheme > best.scheme) {
		img_challenge_free(&best);
		best = cur;
	} else {
		img_challenge_free(&cur);
	}
	cur = (struct img_challenge){0};
	if (best.scheme == IMG_AUTH_NONE) {
		err_set(e, "no Basic or Bearer challenge");
		goto fail;
	}
	if (best.scheme == IMG_AUTH_BEARER) {
		if (!best.realm) {
			err_set(e, "Bearer challenge without a realm");
			goto fail;
		}
		if (strncasecmp(best.realm, "https://", 8) && strncasecmp(best.realm, "http://", 7)) {
			err_set(e, "Bearer realm \"%.100s\" is not an http(s) URL", best.realm);
			goto fail;
		}
	}
	*out = best;
	best = (struct img_challenge){0};
	rc = 0;
fail:
	if (rc < 0)
		err_ctx(e, "invalid WWW-Authenticate header \"%.120s\"", hdr);
	img_challenge_free(&cur);
	img_challenge_free(&best);
	free(value);
	return rc;
}

int img_token_parse(const char *body, size_t len, char **token, int64_t *expires_in, struct err *e)
{
	struct json *j;
	const char *t = NULL, *at = NULL;
	int64_t exp = 0;
	*token = NULL;
	if (len > TOKEN_MAX)
		return err_set(e, "token response larger than %u bytes", TOKEN_MAX);
	if (!(j = json_parse(body, len, e)))
		return err_ctx(e, "token response");
	if (j->type != JSON_OBJECT || json_field_str(j, "token", false, &t, e) < 0 ||
	    json_field_str(j, "access_token", false, &at, e) < 0 || json_field_int(j, "expires_in", false, &exp, e) < 0) {
		if (j->type != JSON_OBJECT)
			err_set(e, "expected a JSON object");
		json_free(j);
		return err_ctx(e, "token response");
	}
	if (!t || !*t)
		t = at;
	if (!t || !*t) {
		json_free(j);
		return err_set(e, "token response without a token");
	}
	for (const char *c = t; *c; c++)
		if (*c <= ' ' || *c >= 0x7f) {
			json_free(j);
			return err_set(e, "token response: the token has characters a header cannot carry");
		}
	*expires_in = exp < 60 ? 60 : exp;
	*token = strdup(t);
	json_free(j);
	return *token ? 0 : err_errno(e, ENOMEM, "token");
}
