/* fuzz_record.c: test records (image/record.h), which arrive with pulled
 * images as artifacts. An accepted record must be written as JSON that is
 * accepted again and written out the same. */
#include "image/record.h"
#include "lib/cleanup.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct img_record a, b;
	struct err e;
	_cleanup_free_ char *out1 = NULL, *out2 = NULL;
	size_t len1, len2;
	fuzz_quiet();
	if (img_record_parse((const char *)data, size, &a, &e) < 0) {
		FUZZ_CHECK(e.msg[0], "refused without a message");
		return 0;
	}
	(void)img_record_passed(&a);
	FUZZ_CHECK(img_record_json(&a, &out1, &len1, &e) == 0, "accepted but not written: %s", e.msg);
	FUZZ_CHECK(img_record_parse(out1, len1, &b, &e) == 0, "written as %.*s, which is refused: %s", (int)len1, out1,
		   e.msg);
	FUZZ_CHECK(img_record_passed(&a) == img_record_passed(&b), "verdict changed by a round trip");
	FUZZ_CHECK(img_record_json(&b, &out2, &len2, &e) == 0, "re-read but not written: %s", e.msg);
	FUZZ_CHECK(len1 == len2 && !memcmp(out1, out2, len1), "not canonical:\n%.*s\n%.*s", (int)len1, out1, (int)len2,
		   out2);
	img_record_free(&a);
	img_record_free(&b);
	return 0;
}
