/* digest.c: digest validation and SHA-256 through OpenSSL's EVP (see digest.h). */
#include "image/digest.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/cleanup.h"

static void init_crypto(void)
{
	OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL);
}

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
	/* only the hash is used: skip reading openssl.cnf (milliseconds on every start) */
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, init_crypto);
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	if (!c || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(c);
		h->ctx = NULL;
		return err_set(e, "SHA-256: cannot initialise the hash");
	}
	h->ctx = c;
	return 0;
}

void img_sha256_update(struct img_sha256 *h, const void *buf, size_t len)
{
	EVP_DigestUpdate(h->ctx, buf, len);
}

void img_sha256_final(struct img_sha256 *h, struct img_digest *out)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[32];
	unsigned int n = 0;
	EVP_DigestFinal_ex(h->ctx, md, &n);
	memcpy(out->s, "sha256:", 7);
	for (int i = 0; i < 32; i++) {
		out->s[7 + 2 * i] = hex[md[i] >> 4];
		out->s[8 + 2 * i] = hex[md[i] & 15];
	}
	out->s[IMG_DIGEST_LEN] = '\0';
	img_sha256_free(h);
}

void img_sha256_free(struct img_sha256 *h)
{
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
}

void img_sha256_buf(const void *buf, size_t len, struct img_digest *out)
{
	struct img_sha256 h;
	struct err e;
	if (img_sha256_init(&h, &e) < 0)
		abort(); /* OpenSSL without SHA-256 is not a state we can run in */
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
