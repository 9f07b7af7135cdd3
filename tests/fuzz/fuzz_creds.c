/* fuzz_creds.c: credential files (auth.json, ~/.docker/config.json) as
 * image/creds.h reads them, looked up for a few registries and
 * repositories; the strict base64 of their "auth" fields; and the same
 * files rewritten by `ramp login` and `ramp logout`, which keep everything
 * else in them. A file is untrusted: it may be written by another tool or
 * another user. After a login the new credentials are found (unless a
 * credential helper named for the registry comes first), after a logout
 * they are gone. */
#include <stdbool.h>

#include "image/creds.h"
#include "lib/base64.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
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
	if (b64_decode((const char *)data, size, B64_STD, &plain, &n, &e) < 0)
		return;
	FUZZ_CHECK(n <= size / 4 * 3, "decoded %zu bytes from %zu", n, size);
	FUZZ_CHECK((enc = b64_encode(plain, n)), "no encoding");
	FUZZ_CHECK(b64_decode(enc, strlen(enc), B64_STD, &back, &n2, &e) == 0, "own encoding refused: %s", e.msg);
	FUZZ_CHECK(n == n2 && !memcmp(plain, back, n), "base64 round trip changed the bytes");
}

static char *dir, *file;

static void remove_dir(void)
{
	struct err e;
	fs_rm_rf(dir, &e);
	free(dir);
	free(file);
}

/* In a directory of its own, removed at exit. */
static const char *auth_file(void)
{
	struct err e;
	if (!file) {
		FUZZ_CHECK((dir = fs_mkdtemp("ramp-fuzz-creds", &e)), "%s", e.msg);
		file = fs_join(dir, "auth.json");
		atexit(remove_dir);
	}
	return file;
}

/* 1 found (with these credentials), 0 none, -1 refused; *helper when one comes first */
static int lookup(const char *file, struct img_creds *c, bool *helper)
{
	_cleanup_free_ char *buf = NULL, *h = NULL;
	size_t len;
	struct err e;
	FUZZ_CHECK(fs_read_file(file, 1u << 20, &buf, &len, &e) == 0, "%s", e.msg);
	int rc = img_creds_parse(buf, len, "auth.json", "registry.fuzz", NULL, c, &h, &e);
	*helper = h != NULL;
	return rc;
}

static void check_login(const uint8_t *data, size_t size, bool readable)
{
	const char *file = auth_file();
	struct img_creds c;
	struct err e;
	bool helper, found;
	FUZZ_CHECK(fs_write_atomic(file, data, size, 0600, &e) == 0, "%s", e.msg);
	if (img_creds_store(file, "registry.fuzz", "user", "pa:ss", &e) < 0)
		return;
	int rc = lookup(file, &c, &helper);
	if (readable) {
		FUZZ_CHECK(rc == 1 || (rc == 0 && helper), "after a login the credentials are %s",
			   rc < 0 ? "refused" : "not found");
		if (rc == 1)
			FUZZ_CHECK(c.username && !strcmp(c.username, "user") && c.password && !strcmp(c.password, "pa:ss"),
				   "after a login other credentials are found");
	}
	if (rc == 1)
		img_creds_free(&c);
	FUZZ_CHECK(img_creds_erase(file, "registry.fuzz", &found, &e) == 0 && found, "logout: %s",
		   found ? e.msg : "the login is not found");
	if ((rc = lookup(file, &c, &helper)) == 1) {
		img_creds_free(&c);
		FUZZ_CHECK(false, "credentials left after a logout");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct err e;
	bool readable = true;
	fuzz_quiet();
	for (size_t i = 0; i < sizeof lookups / sizeof *lookups; i++) {
		struct img_creds c;
		char *helper;
		int rc = img_creds_parse((const char *)data, size, "auth.json", lookups[i].registry, lookups[i].repo, &c,
					 &helper, &e);
		if (rc < 0) {
			FUZZ_CHECK(e.msg[0], "refused without a message");
			readable = readable && i != 0;
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
	check_login(data, size, readable);
	return 0;
}
