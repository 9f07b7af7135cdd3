/* fuzz_trust_policy.c: trust policy files (image/trust.h). What is accepted
 * keeps the promises of the header: at least one statement, each with at
 * least one key and an accepted result that is not FAILED, one global
 * statement at most, every repository scope in one statement only and found
 * for itself; and a plain record never passes it. */
#include "image/record.h"
#include "image/trust.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct img_trust t;
	struct err e;
	fuzz_quiet();
	if (img_trust_parse((const char *)data, size, &t, &e) < 0) {
		FUZZ_CHECK(e.msg[0] && !strncmp(e.msg, "trust policy", 12), "refused without a message: %s", e.msg);
		return 0;
	}
	size_t globals = 0;
	FUZZ_CHECK(t.n >= 1, "no statement");
	for (size_t i = 0; i < t.n; i++) {
		const struct img_trust_policy *p = &t.p[i];
		FUZZ_CHECK(p->n_keys >= 1, "statement %zu trusts no key", i);
		FUZZ_CHECK(p->results && !(p->results & (1u << IMG_RESULT_FAILED)), "statement %zu accepts %x", i,
			   p->results);
		FUZZ_CHECK(p->global != (p->n_scopes > 0), "statement %zu: global and scoped", i);
		globals += p->global;
		for (size_t k = 0; k < p->n_scopes; k++)
			FUZZ_CHECK(img_trust_find(&t, p->scopes[k]) == p, "scope %s finds another statement", p->scopes[k]);
	}
	FUZZ_CHECK(globals <= 1, "%zu global statements", globals);
	struct img_digest image;
	struct img_trust_ok ok;
	img_sha256_buf(data, size, &image);
	static const char plain[] = "{}";
	struct img_trust_record rec = {.name = "sha256:x", .media_type = IMG_MT_TEST_RECORD, .buf = plain, .len = 2};
	FUZZ_CHECK(img_trust_check(&t, t.p[0].global ? "a.io/b" : t.p[0].scopes[0], &image, "linux/amd64", &rec, 1, &ok,
				   &e) < 0,
		   "a plain record passed");
	img_trust_free(&t);
	return 0;
}
