/* fuzz_statement.c: in-toto statements of signed test records
 * (img_record_parse_statement, image/record.h), and the same bytes as a
 * whole record blob of either media type (img_record_decode). An accepted
 * statement is written as a statement that is accepted again with the same
 * image, result and fields, and written out byte for byte the same; its
 * result agrees with its exit status. */
#include "image/record.h"
#include "lib/cleanup.h"
#include "tests/fuzz/fuzz.h"

static void same(const struct img_record *a, const struct img_record *b)
{
	FUZZ_CHECK(img_digest_eq(&a->image, &b->image) && a->result == b->result && a->exit_code == b->exit_code &&
			   a->duration_ms == b->duration_ms && a->command.n == b->command.n &&
			   !strcmp(a->kernel, b->kernel) && !strcmp(a->platform.os, b->platform.os),
		   "the round trip changed the record");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct img_record a, b;
	struct err e;
	_cleanup_free_ char *out1 = NULL, *out2 = NULL;
	size_t len1, len2;
	fuzz_quiet();
	if (img_record_decode(IMG_MT_TEST_RECORD_DSSE, (const char *)data, size, &a, &e) == 0) {
		FUZZ_CHECK(a.envelope, "a signed record without its envelope");
		img_record_free(&a);
	}
	if (img_record_parse_statement((const char *)data, size, &a, &e) < 0) {
		FUZZ_CHECK(e.msg[0], "refused without a message");
		return 0;
	}
	FUZZ_CHECK((a.result == IMG_RESULT_FAILED) == (a.exit_code != 0), "result %s with exit status %d",
		   img_result_name(a.result), a.exit_code);
	FUZZ_CHECK(img_record_statement(&a, &out1, &len1, &e) == 0, "accepted but not written: %s", e.msg);
	FUZZ_CHECK(img_record_parse_statement(out1, len1, &b, &e) == 0, "written as %.*s, which is refused: %s",
		   (int)len1, out1, e.msg);
	same(&a, &b);
	FUZZ_CHECK(img_record_statement(&b, &out2, &len2, &e) == 0, "re-read but not written: %s", e.msg);
	FUZZ_CHECK(len1 == len2 && !memcmp(out1, out2, len1), "not canonical:\n%.*s\n%.*s", (int)len1, out1, (int)len2,
		   out2);
	img_record_free(&a);
	img_record_free(&b);
	return 0;
}
