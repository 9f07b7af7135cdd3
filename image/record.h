/* record.h: test records: the proof that an image passed its tests.
 *
 * `ramp test` runs a command inside an image and attaches a record to the
 * image, stored as an OCI 1.1 artifact manifest (artifactType
 * IMG_MT_TEST_RECORD) whose subject is the image manifest, so registries keep
 * it with the image (referrers API, or the sha256-<hex> tag fallback). `ramp
 * rollout` looks for a passing record for the fleet's platform. The record's
 * one layer is either
 *   - a plain record: small JSON (image digest, platform, kernel, command,
 *     exit status, duration, time, ramp version), media type
 *     IMG_MT_TEST_RECORD, made when the test passes; or
 *   - a signed record (`ramp test --sign-key`): an in-toto Statement v1 with
 *     the test-result predicate (result PASSED or FAILED; the plain record's
 *     fields in its configuration) in a DSSE envelope (image/dsse.h), media
 *     type IMG_MT_TEST_RECORD_DSSE, made whether the test passes or fails.
 * docs/IMAGE.md shows both. Whether a signed record is trusted is decided by
 * a trust policy (image/trust.h). */
#ifndef RAMP_IMG_RECORD_H
#define RAMP_IMG_RECORD_H

#include <stdbool.h>
#include <stdint.h>

#include "image/dsse.h"
#include "image/image.h"
#include "image/key.h"

#define IMG_RECORD_MAX (64u << 10)
/* in-toto's storage convention for one DSSE-signed test-result attestation */
#define IMG_MT_TEST_RECORD_DSSE "application/vnd.in-toto.test-result+dsse"
#define IMG_INTOTO_STATEMENT "https://in-toto.io/Statement/v1"
#define IMG_TEST_RESULT_PREDICATE "https://in-toto.io/attestation/test-result/v0.1"
/* the configuration entry of a statement that holds ramp's fields */
#define IMG_RECORD_CONFIG_NAME "ramp-test"

enum img_result { IMG_RESULT_PASSED, IMG_RESULT_WARNED, IMG_RESULT_FAILED };
const char *img_result_name(enum img_result r);
int img_result_parse(const char *s); /* -1 when not PASSED, WARNED or FAILED */

struct img_record {
	struct img_digest image; /* the image manifest it is about */
	struct img_platform platform;
	char *kernel;            /* uname -r of the machine that ran the test */
	struct strv command; /* argv of the test */
	int exit_code;
	int64_t duration_ms;
	char *time;    /* RFC 3339, UTC */
	char *version; /* ramp's */
	enum img_result result; /* a plain record's follows from exit_code */
	struct img_dsse *envelope; /* a signed record's, as read (NULL: plain);
				      its statement is NOT verified by reading it */
};

/* Canonical JSON of a plain record; *out is malloc'd. */
int img_record_json(const struct img_record *r, char **out, size_t *len, struct err *e);
/* Parse untrusted plain record JSON (size-limited, strict). */
int img_record_parse(const char *buf, size_t len, struct img_record *r, struct err *e);
/* The in-toto Statement of a record (canonical JSON), and back. Parsing
 * follows in-toto's rules (fields it does not know are ignored) except in
 * ramp's own configuration entry, which is read strictly. */
int img_record_statement(const struct img_record *r, char **out, size_t *len, struct err *e);
int img_record_parse_statement(const char *buf, size_t len, struct img_record *r, struct err *e);
/* A record blob of either media type; a signed one keeps its envelope. */
int img_record_decode(const char *media_type, const char *buf, size_t len, struct img_record *r, struct err *e);
void img_record_free(struct img_record *r);
/* PASSED or WARNED (exit status 0). */
bool img_record_passed(const struct img_record *r);
/* "linux/amd64[/v8]" into buf. */
void img_record_platform(const struct img_record *r, char *buf, size_t cap);

/* Store a record in the image's layout as an artifact whose subject is the
 * image (media type, digest and size; signed with key unless it is NULL), add
 * it to the layout's referrers (layout.h), and save the archive or layout. */
int img_record_attach(struct img_image *img, const struct img_record *r, const struct img_privkey *key,
		      struct err *e);
/* The records attached to an image in its layout. */
int img_record_list(const struct img_image *img, struct img_record **out, size_t *n, struct err *e);
/* The record blob of an artifact manifest held in a layout: its media type
 * (one of the two) and bytes, verified against the layer's digest and the
 * size limit. */
int img_record_blob(const struct img_layout *l, const struct img_manifest *artifact, const char **media_type,
		    char **buf, size_t *len, struct err *e);
/* Read and decode a record from an artifact manifest held in a layout (used
 * for pulled referrers too); it must be about the artifact's subject. */
int img_record_load(const struct img_layout *l, const struct img_manifest *artifact, struct img_record *r,
		    struct err *e);
void img_records_free(struct img_record *r, size_t n);

#endif
