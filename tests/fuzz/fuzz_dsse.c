/* fuzz_dsse.c: DSSE envelopes (image/dsse.h), as signed test records arrive
 * from registries. An accepted envelope is written back (standard base64)
 * as JSON that is accepted again as the same envelope and written out byte
 * for byte the same; its PAE starts "DSSEv1 LEN type SP LEN SP"; checking its
 * signatures against a key is a clean yes or no. */
#include "image/dsse.h"
#include "lib/cleanup.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct img_privkey k; /* a fixed key: seed 0..31 */
	struct img_dsse a, b;
	struct err e;
	_cleanup_free_ char *out1 = NULL, *out2 = NULL, *pae = NULL;
	size_t len1, len2, pae_len;
	fuzz_quiet();
	if (!k.pub.id.s[0]) {
		for (int i = 0; i < IMG_KEY_SIZE; i++)
			k.seed[i] = (uint8_t)i;
		img_key_derive(&k);
	}
	if (img_dsse_parse((const char *)data, size, &a, &e) < 0) {
		FUZZ_CHECK(e.msg[0], "refused without a message");
		return 0;
	}
	FUZZ_CHECK(a.n_sigs >= 1 && a.n_sigs <= IMG_DSSE_MAX_SIGS, "%zu signatures", a.n_sigs);
	FUZZ_CHECK(img_dsse_json(&a, &out1, &len1, &e) == 0, "accepted but not written: %s", e.msg);
	FUZZ_CHECK(img_dsse_parse(out1, len1, &b, &e) == 0, "written as %.*s, which is refused: %s", (int)len1, out1,
		   e.msg);
	FUZZ_CHECK(!strcmp(a.type, b.type) && a.payload_len == b.payload_len &&
			   !memcmp(a.payload, b.payload, a.payload_len) && a.n_sigs == b.n_sigs,
		   "the round trip changed the envelope");
	for (size_t i = 0; i < a.n_sigs; i++)
		FUZZ_CHECK(!strcmp(a.sigs[i].keyid, b.sigs[i].keyid) && a.sigs[i].len == b.sigs[i].len &&
				   !memcmp(a.sigs[i].sig, b.sigs[i].sig, a.sigs[i].len),
			   "signature %zu changed", i);
	FUZZ_CHECK(img_dsse_json(&b, &out2, &len2, &e) == 0, "re-read but not written: %s", e.msg);
	FUZZ_CHECK(len1 == len2 && !memcmp(out1, out2, len1), "not canonical");
	FUZZ_CHECK(img_dsse_pae(&a, &pae, &pae_len, &e) == 0, "no PAE: %s", e.msg);
	char head[64];
	int n = snprintf(head, sizeof head, "DSSEv1 %zu ", strlen(a.type));
	FUZZ_CHECK(pae_len == (size_t)n + strlen(a.type) + a.payload_len + 2 + (size_t)snprintf(NULL, 0, "%zu", a.payload_len) &&
			   !memcmp(pae, head, (size_t)n),
		   "PAE of the wrong shape");
	for (size_t i = 0; i < a.n_sigs; i++)
		if (a.sigs[i].len == IMG_SIG_SIZE)
			(void)img_key_verify(&k.pub, pae, pae_len, a.sigs[i].sig);
	img_dsse_free(&a);
	img_dsse_free(&b);
	return 0;
}
