/* test_reference.c: image reference parsing (image/reference), valid and hostile. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/reference.h"

#define HEX "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void check(const char *in, const char *reg, const char *repo, const char *tag, const char *digest)
{
	struct img_ref r;
	struct err e;
	if (img_ref_parse(in, &r, &e) < 0)
		fail_msg("refused \"%s\": %s", in, e.msg);
	assert_string_equal(r.registry, reg);
	assert_string_equal(r.repo, repo);
	if (tag)
		assert_string_equal(r.tag, tag);
	else
		assert_null(r.tag);
	if (digest) {
		assert_true(r.has_digest);
		assert_string_equal(r.digest.s, digest);
	} else {
		assert_false(r.has_digest);
	}
	img_ref_free(&r);
}

static void test_defaults(void **state)
{
	(void)state;
	check("debian", "docker.io", "library/debian", "latest", NULL);
	check("debian:12", "docker.io", "library/debian", "12", NULL);
	check("team/app", "docker.io", "team/app", "latest", NULL);
	check("docker.io/debian", "docker.io", "library/debian", "latest", NULL);
	check("index.docker.io/debian", "docker.io", "library/debian", "latest", NULL);
	check("localhost/app", "localhost", "app", "latest", NULL);
	check("localhost:5000/a/b/c:v1.2-rc_3", "localhost:5000", "a/b/c", "v1.2-rc_3", NULL);
	check("127.0.0.1:5000/app@sha256:" HEX, "127.0.0.1:5000", "app", NULL, "sha256:" HEX);
	check("127.0.0.1:5000/app:t@sha256:" HEX, "127.0.0.1:5000", "app", "t", "sha256:" HEX);
	check("[::1]:5000/app", "[::1]:5000", "app", "latest", NULL);
	check("quay.io/a__b/c-d.e---f", "quay.io", "a__b/c-d.e---f", "latest", NULL);
	check("Registry.Example.COM/x", "Registry.Example.COM", "x", "latest", NULL);
	check("app:_tag", "docker.io", "library/app", "_tag", NULL);
}

static void test_string(void **state)
{
	(void)state;
	struct img_ref r;
	struct err e;
	assert_int_equal(img_ref_parse("127.0.0.1:5000/app:t@sha256:" HEX, &r, &e), 0);
	char *s = img_ref_string(&r);
	assert_string_equal(s, "127.0.0.1:5000/app:t@sha256:" HEX);
	assert_string_equal(img_ref_object(&r), "sha256:" HEX);
	free(s);
	img_ref_free(&r);
	assert_int_equal(img_ref_parse("debian", &r, &e), 0);
	assert_string_equal(img_ref_api_host(r.registry), "registry-1.docker.io");
	assert_string_equal(img_ref_object(&r), "latest");
	img_ref_free(&r);
}

static void test_hostile(void **state)
{
	(void)state;
	char longname[400], longtag[200];
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	snprintf(longtag, sizeof longtag, "app:%0150d", 0);
	const char *bad[] = {
		"",
		"UPPER",
		"app:",
		"app@",
		"app@sha256:" HEX "0",
		"app@sha256:../../../etc/passwd",
		"app@sha256:" "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
		"app@md5:d41d8cd98f00b204e9800998ecf8427e",
		"reg.io/../x",
		"reg.io/a/../b",
		"reg.io//a",
		"reg.io/a/",
		"/a",
		"a b",
		"a\nb",
		"a\tb",
		"reg.io:0/a",
		"reg.io:65536/a",
		"reg.io:12a/a",
		"reg.io:/a",
		"-reg.io/a",
		"reg-.io/a",
		"reg..io/a",
		"[::1/a",
		"[not-v6]:5000/a",
		"reg.io/a:-tag",
		"reg.io/a:.tag",
		"reg.io/a:t/ag",
		"a.-b",
		"a_-b",
		"a___b",
		".a",
		"a.",
		"reg.io/%2e%2e/x",
		"reg.io/a\x7f",
		"reg.io/a\xc3\xa9",
		longname,
		longtag,
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct img_ref r;
		struct err e;
		if (img_ref_parse(bad[i], &r, &e) == 0)
			fail_msg("accepted hostile reference #%zu \"%s\"", i, bad[i]);
		assert_true(strlen(e.msg) > 0);
	}
}

static void test_names(void **state)
{
	(void)state;
	assert_true(img_ref_valid_registry("127.0.0.1:5000"));
	assert_true(img_ref_valid_registry("[::1]"));
	assert_false(img_ref_valid_registry("a/b"));
	assert_false(img_ref_valid_registry("a:b:c"));
	assert_true(img_ref_valid_repo("a/b-c/d_e"));
	assert_false(img_ref_valid_repo("a//b"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_string),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
