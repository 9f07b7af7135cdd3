/* registry_auth.h: WWW-Authenticate challenges and token responses, the
 * untrusted inputs of the registry auth flow (RFC 7235 syntax; the Bearer
 * token flow of the distribution spec). */
#ifndef RAMP_IMG_REGISTRY_AUTH_H
#define RAMP_IMG_REGISTRY_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

enum img_auth_scheme { IMG_AUTH_NONE, IMG_AUTH_BASIC, IMG_AUTH_BEARER };

struct img_challenge {
	enum img_auth_scheme scheme;
	char *realm, *service, *scope, *error;
};

/* Parse one WWW-Authenticate value. Several challenges may be in it; Bearer
 * is preferred over Basic, other schemes are skipped. A Bearer realm must be
 * an http(s) URL. */
int img_challenge_parse(const char *hdr, struct img_challenge *c, struct err *e);
void img_challenge_free(struct img_challenge *c);

/* A token server's answer: "token" or "access_token", "expires_in" seconds
 * (60 when absent or smaller). The token must be printable ASCII. */
int img_token_parse(const char *body, size_t len, char **token, int64_t *expires_in, struct err *e);

#endif
