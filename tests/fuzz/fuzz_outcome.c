/* fuzz_outcome.c: outcome records and vetoes (image/outcome.h), which any
 * one who can push to the registry may attach to a digest. Both media types
 * are read; an accepted record must be written as JSON that is accepted
 * again and written out the same, and the verdict must not change. */
#include "image/outcome.h"
#include "lib/cleanup.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct img_outcome a, b;
	struct err e;
	_cleanup_free_ char *out1 = NULL, *out2 = NULL;
	size_t len1, len2;
	bool bad_a, bad_b;
	fuzz_quiet();
	/* the first byte picks the media type */
	const char *mt = size && data[0] == 'D' ? IMG_MT_OUTCOME_DSSE : IMG_MT_OUTCOME;
	if (size && data[0] == 'D')
		data++, size--;
	if (img_outcome_decode(mt, (const char *)data, size, &a, &e) < 0) {
		FUZZ_CHECK(e.msg[0], "refused without a message");
		return 0;
	}
	char line[1400];
	img_outcome_describe(&a, line, sizeof line);
	FUZZ_CHECK(img_outcome_json(&a, &out1, &len1, &e) == 0, "accepted but not written: %s", e.msg);
	FUZZ_CHECK(img_outcome_parse(out1, len1, &b, &e) == 0, "written as %.*s, which is refused: %s", (int)len1, out1,
		   e.msg);
	FUZZ_CHECK(img_outcome_verdict(&a, 1, &bad_a) == img_outcome_verdict(&b, 1, &bad_b) && bad_a == bad_b,
		   "verdict changed by a round trip");
	FUZZ_CHECK(img_outcome_json(&b, &out2, &len2, &e) == 0, "re-read but not written: %s", e.msg);
	FUZZ_CHECK(len1 == len2 && !memcmp(out1, out2, len1), "not canonical:\n%.*s\n%.*s", (int)len1, out1, (int)len2,
		   out2);
	img_outcome_free(&a);
	img_outcome_free(&b);
	return 0;
}
