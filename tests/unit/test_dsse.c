/* test_dsse.c: Ed25519 keys (image/key) and DSSE envelopes (image/dsse):
 * RFC 8032's first test vector, PEM round trips and refusals, PAE, envelope
 * round trips and hostile envelopes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/dsse.h"
#include "image/key.h"
#include "lib/base64.h"

static void unhex(const char *h, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sscanf(h + 2 * i, "%2hhx", &out[i]);
}

static void test_rfc8032(void **state)
{
	(void)state;
	struct img_privkey k;
	uint8_t pub[32], sig[64], want[64];
	unhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", k.seed, 32);
	unhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", pub, 32);
	unhex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5"
	      "f0595bbe24655141438e7a100b",
	      want, 64);
	img_key_derive(&k);
	assert_memory_equal(k.pub.k, pub, 32);
	img_key_sign(&k, "", 0, sig);
	assert_memory_equal(sig, want, 64);
	assert_true(img_key_verify(&k.pub, "", 0, sig));
	sig[10] ^= 1;
	assert_false(img_key_verify(&k.pub, "", 0, sig));
}

static void test_pem(void **state)
{
	(void)state;
	struct img_privkey k, k2;
	struct img_pubkey p;
	struct err e;
	assert_int_equal(img_key_generate(&k, &e), 0);
	char *priv = img_key_private_pem(&k), *pub = img_key_public_pem(&k.pub), *b64 = img_key_public_b64(&k.pub);
	assert_non_null(strstr(priv, "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI"));
	assert_non_null(strstr(pub, "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA"));
	assert_int_equal(img_key_private_parse(priv, strlen(priv), &k2, &e), 0);
	assert_memory_equal(k.seed, k2.seed, 32);
	assert_true(img_digest_eq(&k.pub.id, &k2.pub.id));
	assert_int_equal(img_key_public_parse(pub, strlen(pub), &p, &e), 0);
	assert_true(img_digest_eq(&p.id, &k.pub.id));
	assert_int_equal(img_key_public_from_b64(b64, strlen(b64), &p, &e), 0);
	assert_memory_equal(p.k, k.pub.k, 32);
	/* the key id is the sha256 of the public key's DER */
	char *der;
	size_t n;
	struct img_digest id;
	assert_int_equal(b64_decode(b64, strlen(b64), B64_STD, &der, &n, &e), 0);
	img_sha256_buf(der, n, &id);
	assert_true(img_digest_eq(&id, &k.pub.id));
	free(der);

	const char *bad[] = {
		"", "-----BEGIN PUBLIC KEY-----\n", "-----BEGIN PRIVATE KEY-----\nMCowBQYDK2VwAyEA\n-----END PRIVATE KEY-----\n",
		/* an RSA-looking SPKI prefix */
		"-----BEGIN PUBLIC KEY-----\nMCowDQYJKoZIhvcNAQEBBQADGQAwFgIRAMHWOzjh9VbpJU6xmk5PBL8CAQM=\n-----END PUBLIC KEY-----\n",
		"-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\ntrailing",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		if (img_key_public_parse(bad[i], strlen(bad[i]), &p, &e) == 0)
			fail_msg("public key #%zu accepted", i);
	/* a public key is no private key, and the reverse */
	assert_int_equal(img_key_private_parse(pub, strlen(pub), &k2, &e), -1);
	assert_int_equal(img_key_public_parse(priv, strlen(priv), &p, &e), -1);
	free(priv);
	free(pub);
	free(b64);
}

static void test_envelope(void **state)
{
	(void)state;
	struct img_privkey k;
	struct img_dsse d, d2;
	struct err e;
	char *json, *pae;
	size_t len, pae_len;
	assert_int_equal(img_key_generate(&k, &e), 0);
	assert_int_equal(img_dsse_sign("http://example.com/HelloWorld", "hello world", 11, &k, &d, &e), 0);
	/* the DSSE spec's example of a PAE */
	assert_int_equal(img_dsse_pae(&d, &pae, &pae_len, &e), 0);
	assert_int_equal(pae_len, strlen("DSSEv1 29 http://example.com/HelloWorld 11 hello world"));
	assert_memory_equal(pae, "DSSEv1 29 http://example.com/HelloWorld 11 hello world", pae_len);
	assert_true(img_key_verify(&k.pub, pae, pae_len, d.sigs[0].sig));
	free(pae);
	assert_string_equal(d.sigs[0].keyid, k.pub.id.s);
	assert_int_equal(img_dsse_json(&d, &json, &len, &e), 0);
	assert_int_equal(img_dsse_parse(json, len, &d2, &e), 0);
	assert_string_equal(d2.type, d.type);
	assert_int_equal(d2.payload_len, 11);
	assert_memory_equal(d2.payload, "hello world", 11);
	assert_int_equal(d2.n_sigs, 1);
	assert_memory_equal(d2.sigs[0].sig, d.sigs[0].sig, 64);
	free(json);
	img_dsse_free(&d);
	img_dsse_free(&d2);
	/* URL-safe base64 and no padding are accepted */
	const char *url = "{\"payloadType\":\"t\",\"payload\":\"-_-_YQ\",\"signatures\":[{\"sig\":\"-_8\"}]}";
	assert_int_equal(img_dsse_parse(url, strlen(url), &d, &e), 0);
	assert_int_equal(d.payload_len, 4);
	assert_string_equal(d.sigs[0].keyid, "");
	assert_int_equal(d.sigs[0].len, 2);
	img_dsse_free(&d);
}

static void test_hostile(void **state)
{
	(void)state;
	static const struct {
		const char *json, *why;
	} bad[] = {
		{"[]", "expected a JSON object"},
		{"{\"payloadType\":\"t\",\"payload\":\"YQ==\"}", "signatures"},
		{"{\"payloadType\":\"\",\"payload\":\"YQ==\",\"signatures\":[{\"sig\":\"YQ==\"}]}", "empty payloadType"},
		{"{\"payloadType\":\"t\",\"payload\":\"YQ==\",\"signatures\":[]}", "0 signatures"},
		{"{\"payloadType\":\"t\",\"payload\":\"Y Q==\",\"signatures\":[{\"sig\":\"YQ==\"}]}", "payload: invalid base64"},
		{"{\"payloadType\":\"t\",\"payload\":\"YQ==\",\"signatures\":[{\"sig\":\"YR==\"}]}", "sig: invalid base64"},
		{"{\"payloadType\":\"t\",\"payload\":\"+/-_\",\"signatures\":[{\"sig\":\"YQ==\"}]}", "mixes"},
		{"{\"payloadType\":\"t\",\"payload\":\"YQ==\",\"signatures\":[{\"sig\":\"\"}]}", "empty sig"},
		{"{\"payloadType\":\"t\",\"payload\":\"YQ==\",\"signatures\":[{\"sig\":\"YQ==\",\"x\":1}]}", "unknown field"},
		{"{\"payloadType\":\"t\",\"payload\":\"YQ==\",\"signatures\":[{\"sig\":\"YQ==\"}],\"x\":1}", "unknown field"},
		{"{\"payloadType\":\"t\",\"payload\":\"YQ==\",\"signatures\":[{\"sig\":\"YQ==\"},{\"sig\":\"YQ\"}]}",
		 "signatures[1] duplicates signatures[0]"},
		{"{\"payloadType\":\"t\",\"payload\":\"YQ==\",\"signatures\":[{\"keyid\":\"k\",\"sig\":\"YQ==\"},"
		 "{\"keyid\":\"k\",\"sig\":\"Yg==\"}]}",
		 "duplicates"},
		{"{\"payloadType\":\"t\",\"payload\":\"YQ==\",\"signatures\":[{\"keyid\":\"a\\u001bb\",\"sig\":\"YQ==\"}]}",
		 "control character"},
		{"{\"payloadType\":\"t\",\"payloadType\":\"u\",\"payload\":\"YQ==\",\"signatures\":[{\"sig\":\"YQ==\"}]}",
		 "twice"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct img_dsse d;
		struct err e;
		if (img_dsse_parse(bad[i].json, strlen(bad[i].json), &d, &e) == 0)
			fail_msg("hostile envelope #%zu accepted", i);
		if (!strstr(e.msg, bad[i].why) || !strstr(e.msg, "envelope"))
			fail_msg("#%zu: \"%s\" does not say \"%s\"", i, e.msg, bad[i].why);
	}
	/* an envelope of megabytes is refused before it is parsed */
	size_t big = 3u << 20;
	char *huge = malloc(big);
	memset(huge, ' ', big);
	struct img_dsse d;
	struct err e;
	assert_int_equal(img_dsse_parse(huge, big, &d, &e), -1);
	assert_non_null(strstr(e.msg, "more than the limit"));
	free(huge);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc8032),
		cmocka_unit_test(test_pem),
		cmocka_unit_test(test_envelope),
		cmocka_unit_test(test_hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
