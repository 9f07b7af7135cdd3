/* fuzz_oci.c: image manifests, indexes and configs (image/oci.h) as a
 * registry or an archive would hand them to us. Every input goes to all
 * three parsers. What one accepts must be written as canonical JSON that it
 * accepts again and writes out byte for byte the same: the digests of
 * re-written documents depend on that. */
#include "image/oci.h"
#include "lib/cleanup.h"
#include "tests/fuzz/fuzz.h"

#define ROUND_TRIP(what, type, parse, json, release, buf, len)                                                      \
	do {                                                                                                         \
		type a, b;                                                                                           \
		struct err e;                                                                                        \
		_cleanup_free_ char *out1 = NULL, *out2 = NULL;                                                      \
		size_t len1, len2;                                                                                   \
		if (parse(buf, len, &a, &e) < 0) {                                                                   \
			FUZZ_CHECK(e.msg[0], "%s refused without a message", what);                                  \
			break;                                                                                       \
		}                                                                                                    \
		FUZZ_CHECK(json(&a, &out1, &len1, &e) == 0, "%s accepted but not written: %s", what, e.msg);         \
		FUZZ_CHECK(parse(out1, len1, &b, &e) == 0, "%s written as %.*s, which is refused: %s", what,         \
			   (int)len1, out1, e.msg);                                                                  \
		FUZZ_CHECK(json(&b, &out2, &len2, &e) == 0, "%s re-read but not written: %s", what, e.msg);          \
		FUZZ_CHECK(len1 == len2 && !memcmp(out1, out2, len1), "%s not canonical:\n%.*s\n%.*s", what,         \
			   (int)len1, out1, (int)len2, out2);                                                        \
		release(&a);                                                                                         \
		release(&b);                                                                                         \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	fuzz_quiet();
	ROUND_TRIP("manifest", struct img_manifest, img_manifest_parse, img_manifest_json, img_manifest_free, buf, size);
	ROUND_TRIP("index", struct img_index, img_index_parse, img_index_json, img_index_free, buf, size);
	ROUND_TRIP("config", struct img_config, img_config_parse, img_config_json, img_config_free, buf, size);
	return 0;
}
