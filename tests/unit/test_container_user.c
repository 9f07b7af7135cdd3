/* test_container_user.c: user and group lookup in an image's /etc/passwd and
 * /etc/group (runtime/container_user), including hostile file contents. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/container_user.h"

static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
			     "# a comment\n"
			     "\n"
			     "+nis\n"
			     "app:x:1000:1000:App:/home/app:/bin/sh\n"
			     "nohome:x:1001:1001:::/bin/sh\n"
			     "app2:x:1000:5:dup uid:/x:/bin/sh";
static const char group[] = "root:x:0:\n"
			    "app:x:1000:\n"
			    "extra:x:2000:app,other\n"
			    "more:x:2001:other,app\n"
			    "broken:x:notanumber:app\n"
			    "notme:x:2002:application";

static int lookup(const char *spec, struct rt_ids *ids, struct err *e)
{
	return rt_user_lookup(spec, passwd, sizeof passwd - 1, group, sizeof group - 1, ids, e);
}

static void test_names_and_numbers(void **state)
{
	(void)state;
	struct err e;
	struct rt_ids *ids = malloc(sizeof *ids);
	assert_int_equal(lookup("app", ids, &e), 0);
	assert_int_equal(ids->uid, 1000);
	assert_int_equal(ids->gid, 1000);
	assert_string_equal(ids->home, "/home/app");
	/* primary first, then member groups; a malformed group line is skipped */
	assert_int_equal(ids->n_groups, 3);
	assert_int_equal(ids->groups[0], 1000);
	assert_int_equal(ids->groups[1], 2000);
	assert_int_equal(ids->groups[2], 2001);

	/* numeric uid: the first entry with that uid */
	assert_int_equal(lookup("1000", ids, &e), 0);
	assert_int_equal(ids->gid, 1000);
	assert_int_equal(ids->n_groups, 3);

	/* numeric uid with no entry: gid 0, home / */
	assert_int_equal(lookup("4242", ids, &e), 0);
	assert_int_equal(ids->uid, 4242);
	assert_int_equal(ids->gid, 0);
	assert_int_equal(ids->n_groups, 1);
	assert_string_equal(ids->home, "/");

	assert_int_equal(lookup("app:extra", ids, &e), 0);
	assert_int_equal(ids->gid, 2000);
	assert_int_equal(ids->groups[0], 2000);
	assert_int_equal(lookup("app:77", ids, &e), 0);
	assert_int_equal(ids->gid, 77);
	assert_int_equal(lookup("nohome", ids, &e), 0);
	assert_string_equal(ids->home, "/");
	assert_int_equal(lookup(NULL, ids, &e), 0);
	assert_int_equal(ids->uid, 0);
	assert_string_equal(ids->home, "/root");

	/* no files at all: numbers still work, names do not */
	assert_int_equal(rt_user_lookup("5:6", NULL, 0, NULL, 0, ids, &e), 0);
	assert_int_equal(ids->uid, 5);
	assert_int_equal(ids->gid, 6);
	assert_int_equal(rt_user_lookup("app", NULL, 0, NULL, 0, ids, &e), -1);
	assert_non_null(strstr(e.msg, "user \"app\" not found in the image's /etc/passwd"));
	free(ids);
}

static void test_bad_specs(void **state)
{
	(void)state;
	struct err e;
	struct rt_ids *ids = malloc(sizeof *ids);
	static const char *const bad[] = {"", ":", ":0", "app:", "a:b:c", "ghost", "app:ghost", "4294967295",
					  "-1", "app\n"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		if (lookup(bad[i], ids, &e) == 0)
			fail_msg("accepted user spec \"%s\"", bad[i]);
		assert_true(strlen(e.msg) > 0);
	}
	free(ids);
}

/* Each hostile passwd is paired with the user looked up and the expected error. */
static void test_hostile_passwd(void **state)
{
	(void)state;
	struct err e;
	struct rt_ids *ids = malloc(sizeof *ids);
	static const struct {
		const char *file, *user, *error;
	} cases[] = {
		{"evil:x:99999999999:0::/:/bin/sh\n", "evil", "line 1: malformed entry"},
		{"evil:x:-5:0::/:/bin/sh\n", "evil", "line 1: malformed entry"},
		{"evil:x:5:0::/\n", "evil", "line 1: malformed entry"},
		{"evil:x:5:0::/:/bin/sh:extra\n", "evil", "line 1: malformed entry"},
		{"evil:x:4294967295:0::/:/bin/sh\n", "evil", "line 1: malformed entry"},
		{"evil:x: 5:0::/:/bin/sh\n", "evil", "line 1: malformed entry"},
		{"evil:x:5:0x10::/:/bin/sh\n", "evil", "line 1: malformed entry"},
		/* a broken line whose uid field is the wanted uid */
		{"evil:x:77:zz::/:/bin/sh\n", "77", "line 1: malformed entry"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		if (rt_user_lookup(cases[i].user, cases[i].file, strlen(cases[i].file), NULL, 0, ids, &e) == 0)
			fail_msg("accepted passwd #%zu", i);
		if (!strstr(e.msg, cases[i].error))
			fail_msg("passwd #%zu: \"%s\"", i, e.msg);
	}
	/* broken lines of other users do not matter */
	const char *mixed = "bad:x:zz:0::/:/bin/sh\ngood:x:3:4::/g:/bin/sh\n";
	assert_int_equal(rt_user_lookup("good", mixed, strlen(mixed), NULL, 0, ids, &e), 0);
	assert_int_equal(ids->uid, 3);

	/* NUL bytes, an over-long line, an over-sized file */
	const char nul[] = "good:x:3:4::/g:/bin/sh\n\0evil";
	assert_int_equal(rt_user_lookup("good", nul, sizeof nul - 1, NULL, 0, ids, &e), -1);
	assert_non_null(strstr(e.msg, "NUL byte"));
	char *big = malloc(RT_USER_FILE_MAX + 2);
	memset(big, 'a', RT_USER_FILE_MAX + 1);
	big[RT_USER_FILE_MAX + 1] = '\0';
	assert_int_equal(rt_user_lookup("good", big, RT_USER_LINE_MAX, NULL, 0, ids, &e), -1);
	assert_non_null(strstr(e.msg, "line 1 is longer than"));
	assert_int_equal(rt_user_lookup("good", big, RT_USER_FILE_MAX + 1, NULL, 0, ids, &e), -1);
	assert_non_null(strstr(e.msg, "larger than"));
	free(big);
	free(ids);
}

static void test_hostile_group(void **state)
{
	(void)state;
	struct err e;
	struct rt_ids *ids = malloc(sizeof *ids);
	const char *pw = "u:x:1:1::/:/bin/sh\n";
	const char *g = "g:x:abc:\n";
	assert_int_equal(rt_user_lookup("u:g", pw, strlen(pw), g, strlen(g), ids, &e), -1);
	assert_non_null(strstr(e.msg, "/etc/group line 1: malformed entry"));

	/* more member groups than the limit */
	size_t cap = (RT_USER_MAX_GROUPS + 2) * 32;
	char *many = malloc(cap), *w = many;
	for (int i = 0; i < RT_USER_MAX_GROUPS + 1; i++)
		w += sprintf(w, "g%d:x:%d:u\n", i, 100 + i);
	assert_int_equal(rt_user_lookup("u", pw, strlen(pw), many, strlen(many), ids, &e), -1);
	assert_non_null(strstr(e.msg, "supplementary groups"));
	free(many);
	free(ids);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_and_numbers),
		cmocka_unit_test(test_bad_specs),
		cmocka_unit_test(test_hostile_passwd),
		cmocka_unit_test(test_hostile_group),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
