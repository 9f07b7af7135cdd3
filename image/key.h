/* key.h: the Ed25519 keys that sign test records (nettle does the
 * arithmetic). Files are PEM, as openssl writes and reads them: a private
 * key is PKCS#8 ("BEGIN PRIVATE KEY", RFC 8410), a public key is a
 * SubjectPublicKeyInfo ("BEGIN PUBLIC KEY"). A key's id is "sha256:" and the
 * hex SHA-256 of its public key's DER bytes (what `openssl pkey -pubin
 * -outform DER | sha256sum` prints), and a trust policy names a public key by
 * the base64 of those DER bytes (the PEM body on one line). */
#ifndef RAMP_IMG_KEY_H
#define RAMP_IMG_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image/digest.h"
#include "lib/err.h"

#define IMG_KEY_SIZE 32
#define IMG_SIG_SIZE 64

struct img_pubkey {
	uint8_t k[IMG_KEY_SIZE];
	struct img_digest id; /* sha256 of the SubjectPublicKeyInfo DER */
};

struct img_privkey {
	uint8_t seed[IMG_KEY_SIZE];
	struct img_pubkey pub;
};

/* A new key pair from the kernel's random source. */
int img_key_generate(struct img_privkey *k, struct err *e);
/* The public half of a seed (fills pub, id included). */
void img_key_derive(struct img_privkey *k);
/* Zero the secret. */
void img_key_wipe(struct img_privkey *k);

/* PEM texts (malloc'd, NULL when out of memory). */
char *img_key_private_pem(const struct img_privkey *k);
char *img_key_public_pem(const struct img_pubkey *k);
/* The base64 of the public key's DER (one line, as a trust policy lists it). */
char *img_key_public_b64(const struct img_pubkey *k);

/* Parse PEM; only Ed25519 keys. */
int img_key_private_parse(const char *pem, size_t len, struct img_privkey *k, struct err *e);
int img_key_public_parse(const char *pem, size_t len, struct img_pubkey *k, struct err *e);
int img_key_public_from_b64(const char *b64, size_t len, struct img_pubkey *k, struct err *e);
/* Read a private key file, refusing one that others can read (as ssh does). */
int img_key_private_load(const char *path, struct img_privkey *k, struct err *e);

void img_key_sign(const struct img_privkey *k, const void *msg, size_t len, uint8_t sig[IMG_SIG_SIZE]);
bool img_key_verify(const struct img_pubkey *k, const void *msg, size_t len, const uint8_t sig[IMG_SIG_SIZE]);

#endif
