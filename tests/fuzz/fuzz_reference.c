/* fuzz_reference.c: the short strings users and registries hand us: image
 * references (image/reference.h), digests, platforms and durations. An
 * accepted reference must print back to a string that parses to itself. */
#include <stdbool.h>

#include "image/reference.h"
#include "image/oci.h"
#include "image/settings.h"
#include "lib/cleanup.h"
#include "tests/fuzz/fuzz.h"

static void check_ref(const char *s)
{
	struct img_ref r, again;
	struct err e;
	if (img_ref_parse(s, &r, &e) < 0) {
		FUZZ_CHECK(e.msg[0], "refusal without a message");
		return;
	}
	FUZZ_CHECK(r.registry && r.repo && (r.tag || r.has_digest), "incomplete reference from \"%s\"", s);
	FUZZ_CHECK(img_ref_valid_registry(r.registry) && img_ref_valid_repo(r.repo), "\"%s\" accepted with bad parts", s);
	FUZZ_CHECK(!r.has_digest || img_digest_valid(&r.digest), "bad digest accepted in \"%s\"", s);
	FUZZ_CHECK(img_ref_object(&r) && img_ref_api_host(r.registry), "no object or host");
	_cleanup_free_ char *str = img_ref_string(&r);
	FUZZ_CHECK(str, "no string for \"%s\"", s);
	FUZZ_CHECK(img_ref_parse(str, &again, &e) == 0, "\"%s\" printed as \"%s\", which is refused: %s", s, str, e.msg);
	_cleanup_free_ char *str2 = img_ref_string(&again);
	FUZZ_CHECK(str2 && !strcmp(str, str2), "\"%s\" printed as \"%s\", then as \"%s\"", s, str, str2);
	FUZZ_CHECK(!strcmp(r.registry, again.registry) && !strcmp(r.repo, again.repo), "\"%s\" changed parts", s);
	img_ref_free(&again);
	img_ref_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *s = fuzz_str(data, size);
	struct err e;
	fuzz_quiet();
	check_ref(s);

	struct img_digest d;
	if (img_digest_parse(s, &d, &e) == 0)
		FUZZ_CHECK(img_digest_valid(&d) && !strcmp(d.s, s), "digest \"%s\" accepted as \"%s\"", s, d.s);

	struct img_platform p;
	if (img_platform_parse(s, &p, &e) == 0) {
		FUZZ_CHECK(p.os && p.architecture, "platform \"%s\" without os or architecture", s);
		FUZZ_CHECK(img_platform_match(&p, &p), "platform \"%s\" does not match itself", s);
		img_platform_free(&p);
	}

	int64_t ns;
	if (img_parse_duration(s, &ns, &e) == 0)
		FUZZ_CHECK(ns >= 0, "duration \"%s\" is negative: %lld", s, (long long)ns);
	return 0;
}
