/* test_record.c: test records (image/record): JSON round trip, hostile
 * documents, and attaching to a real layout built by img_build. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/build.h"
#include "image/record.h"
#include "lib/fs.h"

#define D1 "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void fill(struct img_record *r)
{
	struct err e;
	*r = (struct img_record){0};
	img_digest_parse(D1, &r->image, &e);
	img_platform_host(&r->platform);
	r->kernel = strdup("6.1.0");
	strv_push(&r->command, "make", &e);
	strv_push(&r->command, "test", &e);
	r->duration_ms = 1234;
	r->time = strdup("2026-11-26T08:00:00Z");
	r->version = strdup("0.1.0");
}

static void test_roundtrip(void **state)
{
	(void)state;
	struct img_record r, r2;
	struct err e;
	char *json;
	size_t len;
	fill(&r);
	assert_int_equal(img_record_json(&r, &json, &len, &e), 0);
	assert_int_equal(img_record_parse(json, len, &r2, &e), 0);
	assert_true(img_digest_eq(&r.image, &r2.image));
	assert_int_equal(r2.command.n, 2);
	assert_int_equal(r2.duration_ms, 1234);
	assert_true(img_record_passed(&r2));
	free(json);
	img_record_free(&r);
	img_record_free(&r2);
}

static void test_hostile(void **state)
{
	(void)state;
	static const char *bad[] = {
		"{}",
		"[]",
		"{\"image\":\"sha256:../x\",\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"},\"kernel\":\"k\","
		"\"command\":[],\"exitCode\":0,\"durationMs\":1,\"time\":\"t\",\"rampVersion\":\"v\"}",
		"{\"image\":\"" D1 "\",\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"},\"kernel\":\"k\","
		"\"command\":[1],\"exitCode\":0,\"durationMs\":1,\"time\":\"t\",\"rampVersion\":\"v\"}",
		"{\"image\":\"" D1 "\",\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"},\"kernel\":\"k\","
		"\"command\":[],\"exitCode\":300,\"durationMs\":1,\"time\":\"t\",\"rampVersion\":\"v\"}",
		"{\"image\":\"" D1 "\",\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"},\"kernel\":\"k\","
		"\"command\":[],\"exitCode\":0,\"durationMs\":-1,\"time\":\"t\",\"rampVersion\":\"v\"}",
		"{\"image\":\"" D1 "\",\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\",\"x\":1},\"kernel\":\"k\","
		"\"command\":[],\"exitCode\":0,\"durationMs\":1,\"time\":\"t\",\"rampVersion\":\"v\"}",
		"{\"image\":\"" D1 "\",\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"},\"kernel\":\"k\","
		"\"command\":[],\"exitCode\":0,\"durationMs\":1,\"time\":\"t\",\"rampVersion\":\"v\",\"passed\":true}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct img_record r;
		struct err e;
		if (img_record_parse(bad[i], strlen(bad[i]), &r, &e) == 0)
			fail_msg("accepted hostile record #%zu", i);
		assert_non_null(strstr(e.msg, "test record"));
	}
}

static void test_attach(void **state)
{
	(void)state;
	struct err e;
	char *dir = fs_mkdtemp("ramp-test-record", &e);
	char tree[512], lay[512];
	assert_non_null(dir);
	snprintf(tree, sizeof tree, "%s/tree", dir);
	snprintf(lay, sizeof lay, "%s/layout", dir);
	assert_int_equal(fs_mkdir_p(tree, 0755, &e), 0);
	const char *dirs[] = {tree};
	struct img_build_opts o = {.dirs = dirs, .n_dirs = 1, .layout = lay, .layer = {.comp = IMG_COMP_GZIP}};
	struct img_digest d;
	assert_int_equal(img_build(&o, &d, &e), 0);

	struct img_image img;
	struct img_record r, *list;
	size_t n;
	assert_int_equal(img_image_open(lay, NULL, NULL, &img, &e), 0);
	fill(&r);
	r.image = img.desc.digest;
	assert_int_equal(img_record_attach(&img, &r, &e), 0);
	/* attaching the same record twice keeps one entry */
	assert_int_equal(img_record_attach(&img, &r, &e), 0);
	img_image_close(&img);

	/* the image is still the one picked, and the record is listed for it */
	assert_int_equal(img_image_open(lay, NULL, NULL, &img, &e), 0);
	assert_true(img_digest_eq(&img.desc.digest, &d));
	assert_int_equal(img_record_list(&img, &list, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_true(img_digest_eq(&list[0].image, &d));
	img_records_free(list, n);
	img_image_close(&img);
	img_record_free(&r);
	assert_int_equal(fs_rm_rf(dir, &e), 0);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_attach),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
