/* digest.h: content digests (OCI "algorithm:hex") and streaming SHA-256.
 *
 * A digest from untrusted input is validated against the image-spec grammar
 * before it is used anywhere, in particular before it becomes part of a path:
 * only sha256 with exactly 64 lowercase hex digits is accepted. */
#ifndef RAMP_IMG_DIGEST_H
#define RAMP_IMG_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

#define IMG_DIGEST_LEN 71 /* "sha256:" + 64 hex */

struct img_digest {
	char s[IMG_DIGEST_LEN + 1];
};

/* Validate and copy. The message quotes at most 80 characters of the input. */
int img_digest_parse(const char *s, struct img_digest *d, struct err *e);
static inline const char *img_digest_hex(const struct img_digest *d)
{
	return d->s + 7;
}
static inline bool img_digest_eq(const struct img_digest *a, const struct img_digest *b)
{
	return __builtin_memcmp(a->s, b->s, sizeof a->s) == 0;
}
bool img_digest_valid(const struct img_digest *d);

struct img_sha256 {
	void *ctx; /* nettle's struct sha256_ctx */
};
int img_sha256_init(struct img_sha256 *h, struct err *e);
void img_sha256_update(struct img_sha256 *h, const void *buf, size_t len);
/* Writes the digest and frees the context. */
void img_sha256_final(struct img_sha256 *h, struct img_digest *out);
void img_sha256_free(struct img_sha256 *h);
/* One-shot over a buffer. */
void img_sha256_buf(const void *buf, size_t len, struct img_digest *out);
/* Hash a whole file, also returning its size. */
int img_sha256_fd(int fd, const char *what, struct img_digest *out, uint64_t *size, struct err *e);

#endif
