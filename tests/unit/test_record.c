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

#define HEX1 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define D1 "sha256:" HEX1

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

static void test_statement(void **state)
{
	(void)state;
	struct img_record r, r2;
	struct err e;
	char *st;
	size_t len;
	fill(&r);
	r.exit_code = 2;
	r.result = IMG_RESULT_FAILED;
	assert_int_equal(img_record_statement(&r, &st, &len, &e), 0);
	assert_int_equal(img_record_parse_statement(st, len, &r2, &e), 0);
	assert_true(img_digest_eq(&r.image, &r2.image));
	assert_int_equal(r2.result, IMG_RESULT_FAILED);
	assert_int_equal(r2.exit_code, 2);
	assert_false(img_record_passed(&r2));
	assert_string_equal(r2.command.v[1], "test");
	img_record_free(&r2);
	free(st);
	img_record_free(&r);

	/* in-toto's parsing rules: fields it does not know are ignored, outside ramp's own entry */
	static const char *const head = "{\"_type\":\"https://in-toto.io/Statement/v1\",\"extra\":1,";
	static const char *const ann = "\"annotations\":{\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"},"
				       "\"kernel\":\"k\",\"command\":[],\"exitCode\":%d,\"durationMs\":1,\"time\":\"t\","
				       "\"rampVersion\":\"v\"%s}";
	static const struct {
		const char *subject, *ptype, *result, *tested, *extra_ann, *why;
		int exit_code;
	} cases[] = {
		{"[{\"digest\":{\"sha256\":\"" HEX1 "\"}}]", "https://in-toto.io/attestation/test-result/v0.1", "PASSED", HEX1, "", NULL, 0},
		{"[{\"digest\":{\"sha256\":\"" HEX1 "\"}}]", "https://slsa.dev/provenance/v1", "PASSED", HEX1, "", "predicateType", 0},
		{"[{\"digest\":{\"sha256\":\"" HEX1 "\"}},{\"digest\":{\"sha256\":\"" HEX1 "\"}}]",
		 "https://in-toto.io/attestation/test-result/v0.1", "PASSED", HEX1, "", "one resource descriptor", 0},
		{"[{\"digest\":{\"sha512\":\"" D1 "\"}}]", "https://in-toto.io/attestation/test-result/v0.1", "PASSED", HEX1, "",
		 "missing field \"sha256\"", 0},
		{"[{\"digest\":{\"sha256\":\"../x\"}}]", "https://in-toto.io/attestation/test-result/v0.1", "PASSED", HEX1, "",
		 "subject", 0},
		{"[{\"digest\":{\"sha256\":\"" HEX1 "\"}}]", "https://in-toto.io/attestation/test-result/v0.1", "pass", HEX1, "",
		 "is not PASSED, WARNED or FAILED", 0},
		{"[{\"digest\":{\"sha256\":\"" HEX1 "\"}}]", "https://in-toto.io/attestation/test-result/v0.1", "PASSED",
		 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210", "", "the test ran in", 0},
		{"[{\"digest\":{\"sha256\":\"" HEX1 "\"}}]", "https://in-toto.io/attestation/test-result/v0.1", "PASSED", HEX1, "",
		 "result PASSED with exit status 3", 3},
		{"[{\"digest\":{\"sha256\":\"" HEX1 "\"}}]", "https://in-toto.io/attestation/test-result/v0.1", "FAILED", HEX1, "",
		 "result FAILED with exit status 0", 0},
		{"[{\"digest\":{\"sha256\":\"" HEX1 "\"}}]", "https://in-toto.io/attestation/test-result/v0.1", "PASSED", HEX1,
		 ",\"passed\":true", "unknown field \"passed\"", 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char a[512], doc[2048];
		snprintf(a, sizeof a, ann, cases[i].exit_code, cases[i].extra_ann);
		snprintf(doc, sizeof doc,
			 "%s\"subject\":%s,\"predicateType\":\"%s\",\"predicate\":{\"result\":\"%s\",\"url\":\"u\","
			 "\"configuration\":[{\"name\":\"other\",\"uri\":\"x\"},{\"name\":\"ramp-test\",\"digest\":"
			 "{\"sha256\":\"%s\"},%s}]}}",
			 head, cases[i].subject, cases[i].ptype, cases[i].result, cases[i].tested, a);
		int rc = img_record_parse_statement(doc, strlen(doc), &r, &e);
		if (!cases[i].why) {
			if (rc < 0)
				fail_msg("#%zu refused: %s", i, e.msg);
			img_record_free(&r);
		} else if (rc == 0 || !strstr(e.msg, cases[i].why) || strncmp(e.msg, "statement", 9)) {
			fail_msg("#%zu: %s (want \"%s\")", i, rc == 0 ? "accepted" : e.msg, cases[i].why);
		}
	}
	/* a statement is not a plain record, nor the reverse */
	assert_int_equal(img_record_decode(IMG_MT_TEST_RECORD_DSSE, "{}", 2, &r, &e), -1);
	assert_int_equal(img_record_decode("application/json", "{}", 2, &r, &e), -1);
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
	assert_int_equal(img_record_attach(&img, &r, NULL, &e), 0);
	/* attaching the same record twice keeps one entry */
	assert_int_equal(img_record_attach(&img, &r, NULL, &e), 0);
	/* a signed one of a failed run sits beside it */
	struct img_privkey k;
	assert_int_equal(img_key_generate(&k, &e), 0);
	r.exit_code = 3;
	r.result = IMG_RESULT_FAILED;
	assert_int_equal(img_record_attach(&img, &r, &k, &e), 0);
	img_image_close(&img);

	/* the image is still the one picked, and the record is listed for it */
	assert_int_equal(img_image_open(lay, NULL, NULL, &img, &e), 0);
	assert_true(img_digest_eq(&img.desc.digest, &d));
	assert_int_equal(img_record_list(&img, &list, &n, &e), 0);
	assert_int_equal(n, 2);
	size_t plain = list[0].envelope ? 1 : 0, sig = 1 - plain;
	assert_true(img_digest_eq(&list[plain].image, &d));
	assert_true(img_record_passed(&list[plain]));
	assert_null(list[plain].envelope);
	assert_true(img_digest_eq(&list[sig].image, &d));
	assert_int_equal(list[sig].result, IMG_RESULT_FAILED);
	assert_int_equal(list[sig].exit_code, 3);
	assert_non_null(list[sig].envelope);
	assert_string_equal(list[sig].envelope->sigs[0].keyid, k.pub.id.s);
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
		cmocka_unit_test(test_statement),
		cmocka_unit_test(test_attach),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
