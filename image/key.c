/* key.c: Ed25519 keys in PEM, their ids, signatures (see key.h). The DER
 * around an Ed25519 key has one fixed shape (RFC 8410), so it is compared
 * byte for byte rather than parsed. */
#include "image/key.h"

#include <errno.h>
#include <fcntl.h>
#include <nettle/eddsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/base64.h"
#include "lib/cleanup.h"
#include "lib/fs.h"

/* SubjectPublicKeyInfo { AlgorithmIdentifier { id-Ed25519 }, BIT STRING (key) } */
static const uint8_t SPKI[] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};
/* OneAsymmetricKey v1 { 0, AlgorithmIdentifier { id-Ed25519 }, OCTET STRING { OCTET STRING (seed) } } */
static const uint8_t PKCS8[] = {0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06,
				0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20};

#define PEM_PUB "PUBLIC KEY"
#define PEM_PRIV "PRIVATE KEY"
#define PEM_MAX 4096

static void spki_der(const struct img_pubkey *k, uint8_t der[sizeof SPKI + IMG_KEY_SIZE])
{
	memcpy(der, SPKI, sizeof SPKI);
	memcpy(der + sizeof SPKI, k->k, IMG_KEY_SIZE);
}

static void set_id(struct img_pubkey *k)
{
	uint8_t der[sizeof SPKI + IMG_KEY_SIZE];
	spki_der(k, der);
	img_sha256_buf(der, sizeof der, &k->id);
}

void img_key_derive(struct img_privkey *k)
{
	ed25519_sha512_public_key(k->pub.k, k->seed);
	set_id(&k->pub);
}

int img_key_generate(struct img_privkey *k, struct err *e)
{
	size_t got = 0;
	while (got < IMG_KEY_SIZE) {
		ssize_t n = getrandom(k->seed + got, IMG_KEY_SIZE - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_sys(e, "random bytes for a key");
		got += (size_t)n;
	}
	img_key_derive(k);
	return 0;
}

void img_key_wipe(struct img_privkey *k)
{
	explicit_bzero(k, sizeof *k);
}

/* "-----BEGIN label-----\n" + base64 in lines of 64 + "-----END label-----\n" */
static char *pem(const char *label, const uint8_t *der, size_t len)
{
	_cleanup_free_ char *b = b64_encode(der, len);
	if (!b)
		return NULL;
	size_t n = strlen(b), cap = n + n / 64 + 2 * strlen(label) + 64;
	char *out = malloc(cap), *o = out;
	if (!out)
		return NULL;
	o += sprintf(o, "-----BEGIN %s-----\n", label);
	for (size_t i = 0; i < n; i += 64)
		o += sprintf(o, "%.64s\n", b + i);
	sprintf(o, "-----END %s-----\n", label);
	return out;
}

char *img_key_private_pem(const struct img_privkey *k)
{
	uint8_t der[sizeof PKCS8 + IMG_KEY_SIZE];
	memcpy(der, PKCS8, sizeof PKCS8);
	memcpy(der + sizeof PKCS8, k->seed, IMG_KEY_SIZE);
	char *p = pem(PEM_PRIV, der, sizeof der);
	explicit_bzero(der, sizeof der);
	return p;
}

char *img_key_public_pem(const struct img_pubkey *k)
{
	uint8_t der[sizeof SPKI + IMG_KEY_SIZE];
	spki_der(k, der);
	return pem(PEM_PUB, der, sizeof der);
}

char *img_key_public_b64(const struct img_pubkey *k)
{
	uint8_t der[sizeof SPKI + IMG_KEY_SIZE];
	spki_der(k, der);
	return b64_encode(der, sizeof der);
}

/* The DER of one PEM block: the armor lines exactly, base64 lines between
 * them, nothing else but a final newline. */
static int pem_der(const char *text, size_t len, const char *label, char **der, size_t *der_len, struct err *e)
{
	char begin[64], end[64];
	if (len > PEM_MAX)
		return err_set(e, "%zu bytes: more than a key's %d", len, PEM_MAX);
	if (memchr(text, '\0', len))
		return err_set(e, "a NUL byte: not a PEM file");
	snprintf(begin, sizeof begin, "-----BEGIN %s-----\n", label);
	snprintf(end, sizeof end, "-----END %s-----", label);
	if (len < strlen(begin) || memcmp(text, begin, strlen(begin)))
		return err_set(e, "does not start with \"-----BEGIN %s-----\"", label);
	_cleanup_free_ char *b = malloc(len + 1);
	if (!b)
		return err_errno(e, ENOMEM, "key");
	size_t n = 0;
	const char *p = text + strlen(begin), *stop = text + len;
	for (;;) {
		const char *nl = memchr(p, '\n', (size_t)(stop - p));
		size_t line = nl ? (size_t)(nl - p) : (size_t)(stop - p);
		if (line == strlen(end) && !memcmp(p, end, line)) {
			if (nl && nl + 1 != stop)
				return err_set(e, "text after \"%s\"", end);
			break;
		}
		if (!nl)
			return err_set(e, "no \"%s\" line", end);
		if (line == 0 || line > 76)
			return err_set(e, "a base64 line of %zu characters", line);
		memcpy(b + n, p, line);
		n += line;
		p = nl + 1;
	}
	if (b64_decode(b, n, B64_STD, der, der_len, e) < 0)
		return -1;
	return 0;
}

static int from_spki(const char *der, size_t len, struct img_pubkey *k, struct err *e)
{
	if (len != sizeof SPKI + IMG_KEY_SIZE || memcmp(der, SPKI, sizeof SPKI))
		return err_set(e, "not an Ed25519 public key (SubjectPublicKeyInfo of 44 bytes)");
	memcpy(k->k, der + sizeof SPKI, IMG_KEY_SIZE);
	set_id(k);
	return 0;
}

int img_key_public_parse(const char *text, size_t len, struct img_pubkey *k, struct err *e)
{
	_cleanup_free_ char *der = NULL;
	size_t n;
	if (pem_der(text, len, PEM_PUB, &der, &n, e) < 0)
		return err_ctx(e, "public key");
	return from_spki(der, n, k, e) < 0 ? err_ctx(e, "public key") : 0;
}

int img_key_public_from_b64(const char *b64, size_t len, struct img_pubkey *k, struct err *e)
{
	_cleanup_free_ char *der = NULL;
	size_t n;
	if (b64_decode(b64, len, B64_STD, &der, &n, e) < 0)
		return -1;
	return from_spki(der, n, k, e);
}

int img_key_private_parse(const char *text, size_t len, struct img_privkey *k, struct err *e)
{
	char *der = NULL;
	size_t n;
	int rc = 0;
	if (pem_der(text, len, PEM_PRIV, &der, &n, e) < 0)
		return err_ctx(e, "private key");
	if (n != sizeof PKCS8 + IMG_KEY_SIZE || memcmp(der, PKCS8, sizeof PKCS8))
		rc = err_set(e, "private key: not an Ed25519 key in PKCS#8 v1 form (as `openssl genpkey -algorithm "
				"ed25519` writes it)");
	else {
		memcpy(k->seed, der + sizeof PKCS8, IMG_KEY_SIZE);
		img_key_derive(k);
	}
	explicit_bzero(der, n);
	free(der);
	return rc;
}

int img_key_private_load(const char *path, struct img_privkey *k, struct err *e)
{
	struct stat st;
	char *buf = NULL;
	size_t len;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return err_sys(e, "open private key \"%s\"", path);
	if (fstat(fd, &st) < 0)
		return err_sys(e, "stat \"%s\"", path);
	if (!S_ISREG(st.st_mode))
		return err_set(e, "private key \"%s\" is not a regular file", path);
	if (st.st_mode & 077)
		return err_set(e, "private key \"%s\" can be read by others (mode %04o): chmod 600 it", path,
			       (unsigned)(st.st_mode & 07777));
	if (fs_read_fd(fd, path, PEM_MAX, &buf, &len, e) < 0)
		return -1;
	int rc = img_key_private_parse(buf, len, k, e);
	explicit_bzero(buf, len);
	free(buf);
	return rc < 0 ? err_ctx(e, "\"%s\"", path) : 0;
}

void img_key_sign(const struct img_privkey *k, const void *msg, size_t len, uint8_t sig[IMG_SIG_SIZE])
{
	ed25519_sha512_sign(k->pub.k, k->seed, len, msg, sig);
}

bool img_key_verify(const struct img_pubkey *k, const void *msg, size_t len, const uint8_t sig[IMG_SIG_SIZE])
{
	return ed25519_sha512_verify(k->k, len, msg, sig) == 1;
}
