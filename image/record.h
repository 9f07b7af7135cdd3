/* record.h: test records: the proof that an image passed its tests.
 *
 * `ramp test` runs a command inside an image and, when it exits 0, attaches a
 * record to the image: a small JSON document (image digest, platform, kernel,
 * command, exit status, duration, time, ramp version) stored as an OCI 1.1
 * artifact manifest whose subject is the image manifest, so registries keep it
 * with the image (referrers API, or the sha256-<hex> tag fallback). `ramp
 * rollout` looks for a passing record for the fleet's platform. */
#ifndef RAMP_IMG_RECORD_H
#define RAMP_IMG_RECORD_H

#include <stdbool.h>
#include <stdint.h>

#include "image/image.h"

#define IMG_RECORD_MAX (64u << 10)

struct img_record {
	struct img_digest image; /* the image manifest it is about */
	struct img_platform platform;
	char *kernel;            /* uname -r of the machine that ran the test */
	struct img_strv command; /* argv of the test */
	int exit_code;
	int64_t duration_ms;
	char *time;    /* RFC 3339, UTC */
	char *version; /* ramp's */
};

/* Canonical JSON of a record; *out is malloc'd. */
int img_record_json(const struct img_record *r, char **out, size_t *len, struct err *e);
/* Parse untrusted record JSON (size-limited, strict). */
int img_record_parse(const char *buf, size_t len, struct img_record *r, struct err *e);
void img_record_free(struct img_record *r);
bool img_record_passed(const struct img_record *r);

/* Store a record in the image's layout as an artifact whose subject is the
 * image (media type, digest and size), add it to the layout's referrers
 * (layout.h), and save the archive or layout. */
int img_record_attach(struct img_image *img, const struct img_record *r, struct err *e);
/* The records attached to an image in its layout. */
int img_record_list(const struct img_image *img, struct img_record **out, size_t *n, struct err *e);
/* Read a record from an artifact manifest held in a layout (used for pulled
 * referrers too). */
int img_record_load(const struct img_layout *l, const struct img_manifest *artifact, struct img_record *r,
		    struct err *e);
void img_records_free(struct img_record *r, size_t n);

#endif
