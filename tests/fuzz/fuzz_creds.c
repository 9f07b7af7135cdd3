/* fuzz_creds.c: credential files (auth.json, ~/.docker/config.json) as
 * image/creds.h reads them, looked up for a few registries and
 * repositories; and the strict base64 of their "auth" fields. A file is
 * untrusted: it may be written by another tool or another user. */
#include <stdbool.h>

#include "image/creds.h"
#include "lib/cleanup.h"
#include "tests/fuzz/fuzz.h"

static const struct {
	const char *registry, *repo;
} lookups[] = {
	{"registry.fuzz", "team/app"},
	{"docker.io", "library/debian"},
	{"127.0.0.1:5000", NULL},
};

static bool printable_name(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '-' ||
		      *s == '_' || *s == '.'))
			return false;
	return true;
}

static void check_base64(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *plain = NULL, *enc = NULL, *back = NULL;
	size_t n, n2;
	struct err e;
	if (img_base64_decode((const char *)data, size, &plain, &n, &e) < 0)
		return;
	FUZZ_CHECK(n <= size / 4 * 3, "decoded %zu bytes from %zu", n, size);
	FUZZ_CHECK((enc = img_base64_encode(plain, n)), "no encoding");
	FUZZ_CHECK(img_base64_decode(enc, strlen(enc), &back, &n2, &e) == 0, "own encoding refused: %s", e.msg);
	FUZZ_CHECK(n == n2 && !memcmp(plain, back, n), "base64 round trip changed the bytes");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct err e;
	fuzz_quiet();
	for (size_t i = 0; i < sizeof lookups / sizeof *lookups; i++) {
		struct img_creds c;
		char *helper;
		int rc = img_creds_parse((const char *)data, size, "auth.json", lookups[i].registry, lookups[i].repo, &c,
					 &helper, &e);
		if (rc < 0) {
			FUZZ_CHECK(e.msg[0], "refused without a message");
			continue;
		}
		if (rc == 1) {
			FUZZ_CHECK((c.username && c.password) || c.identity_token, "found, but empty");
			FUZZ_CHECK(!helper, "found and a helper");
			img_creds_free(&c);
		}
		/* the helper becomes a program name: docker-credential-NAME */
		FUZZ_CHECK(!helper || (*helper && printable_name(helper)), "helper name \"%s\"", helper);
		free(helper);
	}
	check_base64(data, size);
	return 0;
}
