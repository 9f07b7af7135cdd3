/* dsse.h: DSSE envelopes (secure-systems-lab/dsse v1): a payload, its type,
 * and signatures over the pre-authentication encoding
 *   PAE = "DSSEv1" SP LEN(type) SP type SP LEN(payload) SP payload
 * (LEN in ASCII decimal), so that neither the payload nor its type can be
 * changed or swapped without breaking every signature.
 *
 * An envelope read back is untrusted input: size-limited, strict JSON, the
 * three fields and nothing else, payload and signatures in standard or
 * URL-safe base64 (DSSE requires accepting both), and no signature twice.
 * Which keys are trusted is the trust policy's business (image/trust.h). */
#ifndef RAMP_IMG_DSSE_H
#define RAMP_IMG_DSSE_H

#include <stddef.h>
#include <stdint.h>

#include "image/key.h"
#include "lib/err.h"

#define IMG_DSSE_MAX (64u << 10) /* an envelope, as a test record */
#define IMG_DSSE_MAX_SIGS 16
#define IMG_DSSE_KEYID_MAX 256
#define IMG_DSSE_INTOTO "application/vnd.in-toto+json"

struct img_dsse_sig {
	char *keyid; /* "" when the envelope gives none */
	uint8_t *sig;
	size_t len;
};

struct img_dsse {
	char *type;
	char *payload; /* NUL-terminated; payload_len excludes the NUL */
	size_t payload_len;
	struct img_dsse_sig *sigs;
	size_t n_sigs;
};

int img_dsse_parse(const char *buf, size_t len, struct img_dsse *d, struct err *e);
/* The envelope's JSON (standard base64), *out malloc'd. */
int img_dsse_json(const struct img_dsse *d, char **out, size_t *len, struct err *e);
/* PAE(type, payload), *out malloc'd. */
int img_dsse_pae(const struct img_dsse *d, char **out, size_t *len, struct err *e);
/* A new envelope of payload signed with k (keyid: k's id). */
int img_dsse_sign(const char *type, const char *payload, size_t len, const struct img_privkey *k, struct img_dsse *d,
		  struct err *e);
void img_dsse_free(struct img_dsse *d);

#endif
