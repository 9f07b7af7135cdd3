/* test_registry_auth.c: WWW-Authenticate challenge and token response parsing
 * (image/registry_auth), valid and hostile. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/registry_auth.h"

static void test_bearer(void **state)
{
	(void)state;
	struct img_challenge c;
	struct err e;
	assert_int_equal(img_challenge_parse("Bearer realm=\"https://auth.example/token\",service=\"registry.example\","
					     "scope=\"repository:a/b:pull,push\",error=\"insufficient_scope\"",
					     &c, &e),
			 0);
	assert_int_equal(c.scheme, IMG_AUTH_BEARER);
	assert_string_equal(c.realm, "https://auth.example/token");
	assert_string_equal(c.service, "registry.example");
	assert_string_equal(c.scope, "repository:a/b:pull,push");
	assert_string_equal(c.error, "insufficient_scope");
	img_challenge_free(&c);
	/* case-insensitive names, spaces around '=', escapes, token values */
	assert_int_equal(img_challenge_parse("bearer  Realm = \"http://127.0.0.1:1/t\\\"x\" , service=svc", &c, &e), 0);
	assert_string_equal(c.realm, "http://127.0.0.1:1/t\"x");
	assert_string_equal(c.service, "svc");
	img_challenge_free(&c);
}

static void test_several(void **state)
{
	(void)state;
	struct img_challenge c;
	struct err e;
	/* Bearer wins over Basic; unknown schemes (with token68) are skipped */
	assert_int_equal(img_challenge_parse("Negotiate abc==, Basic realm=\"r\", Bearer realm=\"https://a/t\"", &c, &e), 0);
	assert_int_equal(c.scheme, IMG_AUTH_BEARER);
	img_challenge_free(&c);
	assert_int_equal(img_challenge_parse("Basic realm=\"Registry Realm\"", &c, &e), 0);
	assert_int_equal(c.scheme, IMG_AUTH_BASIC);
	assert_string_equal(c.realm, "Registry Realm");
	img_challenge_free(&c);
	assert_int_equal(img_challenge_parse("Basic", &c, &e), 0);
	img_challenge_free(&c);
}

static void test_hostile(void **state)
{
	(void)state;
	char big[10000];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	memcpy(big, "Bearer realm=\"", 14);
	char longval[3100];
	snprintf(longval, sizeof longval, "Bearer realm=\"https://x/%02990d\"", 0);
	const char *bad[] = {
		"",
		"Bearer",
		"Bearer realm=\"https://a/t",
		"Bearer realm=\"https://a/t\\",
		"Bearer realm=",
		"Bearer realm=\"file:///etc/passwd\"",
		"Bearer realm=\"ftp://a/t\"",
		"Bearer realm=\"https://a/t\" service=x",
		"Bearer realm=\"https://a/t\",realm=\"https://b/t\"",
		"Bearer realm=\"https://a/t\r\nX-Injected: 1\"",
		"Bearer realm=\"https://a/\x01t\"",
		"Bearer realm=\"https://a/\xc3\xa9\"",
		"Negotiate abc==",
		"=x",
		"realm=\"x\"",
		"Bearer realm=\"https://a/t\",,=,",
		"Bearer service=\"s\"",
		"\"Bearer\"",
		big,
		longval,
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct img_challenge c;
		struct err e;
		if (img_challenge_parse(bad[i], &c, &e) == 0)
			fail_msg("accepted hostile challenge #%zu: %.80s", i, bad[i]);
		assert_non_null(strstr(e.msg, "WWW-Authenticate"));
	}
}

static void test_token(void **state)
{
	(void)state;
	char *t;
	int64_t exp;
	struct err e;
	const char *ok1 = "{\"token\":\"abc.def.ghi\",\"expires_in\":300,\"issued_at\":\"2024-01-01T00:00:00Z\"}";
	assert_int_equal(img_token_parse(ok1, strlen(ok1), &t, &exp, &e), 0);
	assert_string_equal(t, "abc.def.ghi");
	assert_int_equal(exp, 300);
	free(t);
	const char *ok2 = "{\"access_token\":\"xyz\",\"expires_in\":5}";
	assert_int_equal(img_token_parse(ok2, strlen(ok2), &t, &exp, &e), 0);
	assert_string_equal(t, "xyz");
	assert_int_equal(exp, 60); /* the spec's minimum */
	free(t);
	const char *bad[] = {
		"", "[]", "{}", "{\"token\":\"\"}", "{\"token\":1}", "{\"token\":\"a b\"}", "{\"token\":\"a\\r\\nX: y\"}",
		"{\"token\":\"a\\u0000b\"}", "{\"token\":\"ok\",\"expires_in\":\"300\"}", "{\"token\":\"\xc3\xa9\"}", "not json",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		if (img_token_parse(bad[i], strlen(bad[i]), &t, &exp, &e) == 0)
			fail_msg("accepted hostile token response #%zu: %s", i, bad[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bearer),
		cmocka_unit_test(test_several),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_token),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
