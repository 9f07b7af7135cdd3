/* test_creds.c: credential files (image/creds): lookup rules, hostile JSON,
 * bad base64, and writing auth.json. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/creds.h"
#include "lib/base64.h"
#include "lib/fs.h"

/* "user:pass" base64 */
#define UP "dXNlcjpwYXNz"

static int lookup(const char *json, const char *reg, const char *repo, struct img_creds *c, char **helper)
{
	struct err e;
	return img_creds_parse(json, strlen(json), "test", reg, repo, c, helper, &e);
}

static void test_base64(void **state)
{
	(void)state;
	char *out;
	size_t n;
	struct err e;
	assert_int_equal(b64_decode(UP, strlen(UP), B64_STD, &out, &n, &e), 0);
	assert_string_equal(out, "user:pass");
	free(out);
	char *enc = b64_encode("user:pass", 9);
	assert_string_equal(enc, UP);
	free(enc);
	enc = b64_encode("ab", 2);
	assert_string_equal(enc, "YWI=");
	free(enc);
	const char *bad[] = {"dXNlcjpwYXN", "dXNl cjpw", "dXNlcjpwYXNz=", "YW=I", "Y===", "dXN!cjpw", "=AAA"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		if (b64_decode(bad[i], strlen(bad[i]), B64_STD, &out, &n, &e) == 0)
			fail_msg("accepted bad base64 #%zu %s", i, bad[i]);
}

static void test_lookup(void **state)
{
	(void)state;
	struct img_creds c;
	char *h;
	const char *f = "{\"auths\":{\"reg.io\":{\"auth\":\"" UP "\"},"
			"\"reg.io/team/app\":{\"auth\":\"YWxpY2U6czNjcjN0\"},"
			"\"https://index.docker.io/v1/\":{\"auth\":\"ZDpo\"},"
			"\"other.io\":{\"identitytoken\":\"tok\"}},\"unknown\":[1]}";
	assert_int_equal(lookup(f, "reg.io", "x/y", &c, &h), 1);
	assert_string_equal(c.username, "user");
	assert_string_equal(c.password, "pass");
	img_creds_free(&c);
	/* the most specific key wins */
	assert_int_equal(lookup(f, "reg.io", "team/app", &c, &h), 1);
	assert_string_equal(c.username, "alice");
	assert_string_equal(c.password, "s3cr3t");
	img_creds_free(&c);
	assert_int_equal(lookup(f, "reg.io", "team/application", &c, &h), 1);
	assert_string_equal(c.username, "user");
	img_creds_free(&c);
	assert_int_equal(lookup(f, "docker.io", "library/debian", &c, &h), 1);
	assert_string_equal(c.username, "d");
	img_creds_free(&c);
	assert_int_equal(lookup(f, "other.io", NULL, &c, &h), 1);
	assert_string_equal(c.identity_token, "tok");
	img_creds_free(&c);
	assert_int_equal(lookup(f, "none.io", NULL, &c, &h), 0);
	assert_null(h);
	assert_int_equal(lookup(f, "reg.i", NULL, &c, &h), 0);
	/* helpers: per registry first, the store as a default */
	const char *g = "{\"credHelpers\":{\"reg.io\":\"pass\"},\"credsStore\":\"desktop\",\"auths\":{\"x.io\":{\"auth\":\"" UP "\"}}}";
	assert_int_equal(lookup(g, "reg.io", NULL, &c, &h), 0);
	assert_string_equal(h, "pass");
	free(h);
	assert_int_equal(lookup(g, "x.io", NULL, &c, &h), 1);
	img_creds_free(&c);
	assert_int_equal(lookup(g, "y.io", NULL, &c, &h), 0);
	assert_string_equal(h, "desktop");
	free(h);
}

static void test_hostile(void **state)
{
	(void)state;
	const char *bad[] = {
		"",
		"[]",
		"{\"auths\":[]}",
		"{\"auths\":{\"reg.io\":\"x\"}}",
		"{\"auths\":{\"reg.io\":{\"auth\":1}}}",
		"{\"auths\":{\"reg.io\":{\"auth\":\"!!!!\"}}}",
		"{\"auths\":{\"reg.io\":{\"auth\":\"dXNlcg==\"}}}",   /* "user": no colon */
		"{\"auths\":{\"reg.io\":{\"auth\":\"OnBhc3M=\"}}}",   /* ":pass": no user */
		"{\"auths\":{\"reg.io\":{\"auth\":\"dQB4OnA=\"}}}",   /* NUL inside */
		"{\"auths\":{\"reg.io\":{\"identitytoken\":\"a\\nb\"}}}",
		"{\"auths\":{\"reg.io\":{\"auth\":\"" UP "\"}},\"auths\":{}}",
		"{\"credHelpers\":{\"reg.io\":\"../../bin/sh\"}}",
		"{\"credHelpers\":{\"reg.io\":\"\"}}",
		"{\"credHelpers\":{\"reg.io\":1}}",
		"{\"credsStore\":\"a/b\"}",
		"{\"auths\":{\"reg.io\":{\"auth\":\"" UP "\"}}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct img_creds c;
		char *h = NULL;
		struct err e;
		if (img_creds_parse(bad[i], strlen(bad[i]), "test", "reg.io", NULL, &c, &h, &e) >= 0) {
			free(h);
			img_creds_free(&c);
			fail_msg("accepted hostile auth file #%zu: %s", i, bad[i]);
		}
		assert_non_null(strstr(e.msg, "test"));
	}
}

static void test_store(void **state)
{
	(void)state;
	struct err e;
	char *dir = fs_mkdtemp("ramp-creds-test", &e);
	char *file = fs_join(dir, "sub/auth.json");
	struct stat st;
	bool found;
	char *buf;
	size_t len;
	assert_non_null(dir);
	assert_int_equal(img_creds_store(file, "reg.io", "user", "pass", &e), 0);
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(img_creds_store(file, "other.io:5000", "u2", "p:w", &e), 0);
	assert_int_equal(img_creds_store(file, "reg.io", "user", "new", &e), 0);
	assert_int_equal(fs_read_file(file, 1 << 20, &buf, &len, &e), 0);
	struct img_creds c;
	char *h;
	assert_int_equal(img_creds_parse(buf, len, "f", "reg.io", NULL, &c, &h, &e), 1);
	assert_string_equal(c.password, "new");
	img_creds_free(&c);
	assert_int_equal(img_creds_parse(buf, len, "f", "other.io:5000", NULL, &c, &h, &e), 1);
	assert_string_equal(c.password, "p:w");
	img_creds_free(&c);
	free(buf);
	assert_int_equal(img_creds_erase(file, "reg.io", &found, &e), 0);
	assert_true(found);
	assert_int_equal(img_creds_erase(file, "reg.io", &found, &e), 0);
	assert_false(found);
	assert_int_equal(fs_read_file(file, 1 << 20, &buf, &len, &e), 0);
	assert_int_equal(img_creds_parse(buf, len, "f", "reg.io", NULL, &c, &h, &e), 0);
	assert_int_equal(img_creds_parse(buf, len, "f", "other.io:5000", NULL, &c, &h, &e), 1);
	img_creds_free(&c);
	free(buf);
	/* a broken file is refused, not overwritten */
	assert_int_equal(fs_write_atomic(file, "{oops", 5, 0600, &e), 0);
	assert_int_equal(img_creds_store(file, "reg.io", "a", "b", &e), -1);
	assert_int_equal(fs_rm_rf(dir, &e), 0);
	free(file);
	free(dir);
}

static void test_from_string(void **state)
{
	(void)state;
	struct img_creds c;
	struct err e;
	assert_int_equal(img_creds_from_string("a:b:c", &c, &e), 0);
	assert_string_equal(c.username, "a");
	assert_string_equal(c.password, "b:c");
	img_creds_free(&c);
	assert_int_equal(img_creds_from_string(":x", &c, &e), -1);
	assert_int_equal(img_creds_from_string("nocolon", &c, &e), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64),   cmocka_unit_test(test_lookup),      cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_store),    cmocka_unit_test(test_from_string),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
