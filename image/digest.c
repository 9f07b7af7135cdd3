/* digest.c: digest validation and SHA-256 through nettle (see digest.h). nettle,
 * not OpenSSL: rampd already maps it (libmicrohttpd's GnuTLS uses it), so the
 * daemon hashes without loading libcrypto; its SHA-NI code is within 10% of
 * OpenSSL's here. */
#include "image/digest.h"

#include <errno.h>
#include <nettle/sha2.h>
#include <nettle/version.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/cleanup.h"

int img_digest_parse(const char *s, struct img_digest *d, struct err *e)
{
	size_t n = strnlen(s, IMG_DIGEST_LEN + 1);
	if (strncmp(s, "sha256:", 7) != 0) {
		const char *colon = strchr(s, ':');
		if (colon && colon != s && (size_t)(colon - s) < 32 && !memchr(s, '/', (size_t)(colon - s)))
			return err_set(e, "digest \"%.80s\": unsupported algorithm \"%.*s\" (only sha256)", s,
				       (int)(colon - s), s);
		return err_set(e, "invalid digest \"%.80s\": expected sha256:<64 hex digits>", s);
	}
	if (n != IMG_DIGEST_LEN)
		return err_set(e, "invalid digest \"%.80s\": expected 64 hex digits after sha256:", s);
	for (size_t i = 7; i < IMG_DIGEST_LEN; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return err_set(e, "invalid digest \"%.80s\": expected lowercase hex digits", s);
	}
	memcpy(d->s, s, IMG_DIGEST_LEN + 1);
	return 0;
}

bool img_digest_valid(const struct img_digest *d)
{
	struct err e;
	return img_digest_parse(d->s, &(struct img_digest){0}, &e) == 0;
}

int img_sha256_init(struct img_sha256 *h, struct err *e)
{
	struct sha256_ctx *c = malloc(sizeof *c);
	h->ctx = c;
	if (!c)
		return err_errno(e, ENOMEM, "SHA-256");
	sha256_init(c);
	return 0;
}

void img_sha256_update(struct img_sha256 *h, const void *buf, size_t len)
{
	sha256_update(h->ctx, len, buf);
}

void img_sha256_final(struct img_sha256 *h, struct img_digest *out)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[SHA256_DIGEST_SIZE];
#if NETTLE_VERSION_MAJOR >= 4
	sha256_digest(h->ctx, md);
#else
	sha256_digest(h->ctx, sizeof md, md);
#endif
	memcpy(out->s, "sha256:", 7);
	for (int i = 0; i < SHA256_DIGEST_SIZE; i++) {
		out->s[7 + 2 * i] = hex[md[i] >> 4];
		out->s[8 + 2 * i] = hex[md[i] & 15];
	}
	out->s[IMG_DIGEST_LEN] = '\0';
	img_sha256_free(h);
}

void img_sha256_free(struct img_sha256 *h)
{
	free(h->ctx);
	h->ctx = NULL;
}

void img_sha256_buf(const void *buf, size_t len, struct img_digest *out)
{
	struct img_sha256 h;
	struct err e;
	if (img_sha256_init(&h, &e) < 0)
		abort(); /* out of memory for 112 bytes */
	img_sha256_update(&h, buf, len);
	img_sha256_final(&h, out);
}

int img_sha256_fd(int fd, const char *what, struct img_digest *out, uint64_t *size, struct err *e)
{
	struct img_sha256 h;
	enum { BUF = 1 << 16 };
	uint64_t total = 0;
	/* on the heap for the call only: a static buffer would stay resident in every thread */
	_cleanup_free_ char *buf = malloc(BUF);
	if (!buf)
		return err_errno(e, ENOMEM, "read \"%s\"", what);
	if (img_sha256_init(&h, e) < 0)
		return -1;
	for (;;) {
		ssize_t n = read(fd, buf, BUF);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			img_sha256_free(&h);
			return err_sys(e, "read \"%s\"", what);
		}
		if (n == 0)
			break;
		img_sha256_update(&h, buf, (size_t)n);
		total += (uint64_t)n;
	}
	img_sha256_final(&h, out);
	if (size)
		*size = total;
	return 0;
}
