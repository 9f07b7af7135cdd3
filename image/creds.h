/* creds.h: registry credentials from the files docker and podman use.
 *
 * Read, first match wins: $REGISTRY_AUTH_FILE, else
 * $XDG_RUNTIME_DIR/containers/auth.json (~/.config/containers/auth.json when
 * XDG_RUNTIME_DIR is unset); then $DOCKER_CONFIG/config.json or
 * ~/.docker/config.json. In each file: "credHelpers" (a docker-credential-NAME
 * program), "credsStore", then "auths" (base64 "user:password", or an
 * identity token). Keys may name a registry or a repository inside it; the
 * most specific wins. The files are untrusted input: parsed strictly, with
 * limits. `ramp login` writes auth.json (mode 0600, crash-safe). */
#ifndef RAMP_IMG_CREDS_H
#define RAMP_IMG_CREDS_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/err.h"

struct img_creds {
	char *username, *password;
	char *identity_token; /* OAuth2 refresh token instead of a password */
};
void img_creds_free(struct img_creds *c);
int img_creds_copy(struct img_creds *dst, const struct img_creds *src, struct err *e);

/* "user:password" as given to --creds. */
int img_creds_from_string(const char *s, struct img_creds *c, struct err *e);

/* Look the registry (and repository, may be NULL) up in the files.
 * 1: found (*source names where, caller frees); 0: none; -1: error. */
int img_creds_lookup(const char *registry, const char *repo, struct img_creds *c, char **source, struct err *e);

/* Look up in one file's content. *helper is set (caller frees) when a
 * credential helper is configured for the registry and nothing else matched
 * first. 1 found, 0 none, -1 error (hostile or broken content). */
int img_creds_parse(const char *json, size_t len, const char *what, const char *registry, const char *repo,
		    struct img_creds *c, char **helper, struct err *e);

/* Ask docker-credential-NAME for the registry. 1 found, 0 none, -1 error. */
int img_creds_helper(const char *name, const char *registry, struct img_creds *c, struct err *e);

/* The auth file `ramp login` writes; caller frees. */
char *img_creds_auth_file(struct err *e);
/* Add or replace the registry's entry, keeping everything else in the file. */
int img_creds_store(const char *file, const char *registry, const char *user, const char *password, struct err *e);
/* Remove the registry's entry; *found says whether there was one. */
int img_creds_erase(const char *file, const char *registry, bool *found, struct err *e);

#endif
