/* reference.h: image references `[registry[:port]/]repo[:tag][@sha256:hex]`.
 *
 * Parsed with the distribution grammar and the defaults docker and podman
 * use: no registry means docker.io, a one-component repository there gets
 * "library/", and neither tag nor digest means "latest". The first component
 * is a registry when it has a '.' or a ':', or is "localhost". */
#ifndef RAMP_IMG_REFERENCE_H
#define RAMP_IMG_REFERENCE_H

#include <stdbool.h>

#include "image/digest.h"
#include "lib/err.h"

#define IMG_REF_MAX 4096
#define IMG_DOCKER_HUB "docker.io"

struct img_ref {
	char *registry; /* "docker.io", "127.0.0.1:5000", "[::1]:5000" */
	char *repo;     /* "library/debian", "team/app" */
	char *tag;      /* NULL when only a digest was given */
	bool has_digest;
	struct img_digest digest;
};

int img_ref_parse(const char *s, struct img_ref *r, struct err *e);
void img_ref_free(struct img_ref *r);
/* A reference pinned by digest ("registry/repo@sha256:…"): *d gets the digest. */
int img_ref_pinned(const char *s, struct img_digest *d, struct err *e);
/* The full reference, "registry/repo:tag", "registry/repo@digest" or both; caller frees. */
char *img_ref_string(const struct img_ref *r);
/* Tag or digest as used in /v2/<repo>/manifests/<this>. */
const char *img_ref_object(const struct img_ref *r);
/* Host[:port] to talk to: docker.io's API lives at registry-1.docker.io. */
const char *img_ref_api_host(const char *registry);
/* True for a valid repository path (lowercase components, separators). */
bool img_ref_valid_repo(const char *repo);
/* True for a valid "host[:port]" registry name. */
bool img_ref_valid_registry(const char *reg);

#endif
