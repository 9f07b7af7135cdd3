/* test_oci.c: digests and the OCI model (image/digest, image/oci): valid
 * documents, Docker schema 2, canonical output, and hostile documents. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/oci.h"

#define D1 "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define D2 "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

static void test_digest_grammar(void **state)
{
	(void)state;
	struct img_digest d;
	struct err e;
	assert_int_equal(img_digest_parse(D1, &d, &e), 0);
	assert_string_equal(img_digest_hex(&d), &D1[7]);
	static const char *bad[] = {
		"",
		"sha256:",
		"sha256:0123",
		"sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
		"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0",
		"sha256:../../../../../../../../../../../../../../../../../../etc/passwd",
		"sha256:0123456789abcdef0123456789abcdef0123456789abcdef012345678/abcdef",
		"SHA256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"md5:0123456789abcdef0123456789abcdef",
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		if (img_digest_parse(bad[i], &d, &e) == 0)
			fail_msg("accepted digest %s", bad[i]);
	}
	assert_int_equal(img_digest_parse("sha512:abcd", &d, &e), -1);
	assert_non_null(strstr(e.msg, "unsupported algorithm \"sha512\""));
}

static void test_sha256_vectors(void **state)
{
	(void)state;
	struct img_digest d;
	img_sha256_buf("", 0, &d);
	assert_string_equal(d.s, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	img_sha256_buf("abc", 3, &d);
	assert_string_equal(d.s, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static const char *good_manifest =
	"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
	"\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" D1 "\",\"size\":10},"
	"\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"" D2 "\",\"size\":20,"
	"\"annotations\":{\"b\":\"2\",\"a\":\"1\"}}],\"annotations\":{\"k\":\"v\"}}";

static void test_manifest_roundtrip(void **state)
{
	(void)state;
	struct img_manifest m;
	struct err e;
	char *out;
	size_t len;
	assert_int_equal(img_manifest_parse(good_manifest, strlen(good_manifest), &m, &e), 0);
	assert_int_equal(m.n_layers, 1);
	assert_int_equal(m.layers[0].size, 20);
	assert_string_equal(img_kvs_get(&m.layers[0].annotations, "a"), "1");
	assert_int_equal(img_manifest_json(&m, &out, &len, &e), 0);
	/* canonical: annotations sorted by key */
	assert_non_null(strstr(out, "\"annotations\":{\"a\":\"1\",\"b\":\"2\"}"));
	struct img_manifest m2;
	assert_int_equal(img_manifest_parse(out, len, &m2, &e), 0);
	char *out2;
	size_t len2;
	assert_int_equal(img_manifest_json(&m2, &out2, &len2, &e), 0);
	assert_int_equal(len, len2);
	assert_memory_equal(out, out2, len);
	free(out);
	free(out2);
	img_manifest_free(&m);
	img_manifest_free(&m2);
}

static void test_manifest_docker(void **state)
{
	(void)state;
	const char *doc = "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
			  "\"config\":{\"mediaType\":\"application/vnd.docker.container.image.v1+json\",\"digest\":\"" D1
			  "\",\"size\":1},\"layers\":[{\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar.gzip\","
			  "\"digest\":\"" D2 "\",\"size\":2}]}";
	struct img_manifest m;
	struct err e;
	const char *comp = NULL;
	assert_int_equal(img_manifest_parse(doc, strlen(doc), &m, &e), 0);
	assert_true(img_media_is_layer(m.layers[0].media_type, &comp));
	assert_string_equal(comp, "gzip");
	img_manifest_free(&m);
}

struct bad_doc {
	const char *doc, *expect;
};

static void test_manifest_hostile(void **state)
{
	(void)state;
	static const struct bad_doc bad[] = {
		{"{\"schemaVersion\":1,\"name\":\"x\"}", "schema 1"},
		{"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v1+prettyjws\"}",
		 "schema 1"},
		{"{\"schemaVersion\":3}", "unsupported schemaVersion"},
		{"{\"schemaVersion\":\"2\"}", "expected integer"},
		{"{\"schemaVersion\":2,\"layers\":[]}", "missing field \"config\""},
		{"{\"schemaVersion\":2,\"manifests\":[]}", "image index, not a manifest"},
		{"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"" D1 "\",\"size\":-1},\"layers\":[]}",
		 "negative size"},
		{"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"sha256:../x\",\"size\":1},\"layers\":[]}",
		 "invalid digest"},
		{"{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\",\"size\":1},\"layers\":[]}", "mediaType"},
		{"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"" D1 "\",\"size\":1},\"layers\":{}}",
		 "expected array"},
		{"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"" D1 "\",\"size\":1.5},\"layers\":[]}",
		 "expected integer"},
		{"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"" D1
		 "\",\"size\":1},\"layers\":[],\"annotations\":{\"a\":1}}",
		 "expected a string value"},
		{"{\"schemaVersion\":2,\"mediaType\":\"text/html\"}", "unexpected media type"},
		{"[]", "expected a JSON object"},
		{"{\"schemaVersion\":2,\"schemaVersion\":2}", "twice"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct img_manifest m;
		struct err e;
		if (img_manifest_parse(bad[i].doc, strlen(bad[i].doc), &m, &e) == 0)
			fail_msg("accepted hostile manifest #%zu", i);
		if (!strstr(e.msg, bad[i].expect))
			fail_msg("manifest #%zu: expected \"%s\" in \"%s\"", i, bad[i].expect, e.msg);
	}
}

static void test_manifest_limits(void **state)
{
	(void)state;
	struct img_manifest m;
	struct err e;
	/* over 4 MiB: refused before parsing */
	size_t big = IMG_MANIFEST_MAX + 1;
	char *doc = malloc(big);
	memset(doc, ' ', big);
	doc[0] = '{';
	doc[big - 1] = '}';
	assert_int_equal(img_manifest_parse(doc, big, &m, &e), -1);
	assert_non_null(strstr(e.msg, "more than the limit"));
	free(doc);
	/* too many layers */
	size_t cap = (IMG_MAX_LAYERS + 2) * 200 + 400, n = 0;
	doc = malloc(cap);
	n += (size_t)snprintf(doc + n, cap - n,
			      "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"" D1 "\",\"size\":1},\"layers\":[");
	for (int i = 0; i <= IMG_MAX_LAYERS; i++)
		n += (size_t)snprintf(doc + n, cap - n, "%s{\"mediaType\":\"x\",\"digest\":\"" D2 "\",\"size\":1}",
				      i ? "," : "");
	n += (size_t)snprintf(doc + n, cap - n, "]}");
	assert_int_equal(img_manifest_parse(doc, n, &m, &e), -1);
	assert_non_null(strstr(e.msg, "layers, more than the limit"));
	free(doc);
}

static void test_index(void **state)
{
	(void)state;
	const char *doc = "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
			  "\"digest\":\"" D1 "\",\"size\":5,\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"}},"
			  "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" D2
			  "\",\"size\":6,\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}]}";
	struct img_index x;
	struct err e;
	struct img_platform want;
	assert_int_equal(img_index_parse(doc, strlen(doc), &x, &e), 0);
	assert_int_equal(x.n, 2);
	assert_int_equal(img_platform_parse("linux/arm64/v8", &want, &e), 0);
	assert_true(img_platform_match(&want, &x.manifests[0].platform)); /* v8 is arm64's default */
	assert_false(img_platform_match(&want, &x.manifests[1].platform));
	img_platform_free(&want);
	img_index_free(&x);
	assert_int_equal(img_platform_parse("linux", &want, &e), -1);
	assert_int_equal(img_platform_parse("linux/amd64/v1/x", &want, &e), -1);
	assert_int_equal(img_index_parse("{\"schemaVersion\":2,\"manifests\":[1]}", 34, &x, &e), -1);
}

static void test_config(void **state)
{
	(void)state;
	const char *doc = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Env\":[\"A=1\"],\"Entrypoint\":[\"/a\"],"
			  "\"ExposedPorts\":{\"80/tcp\":{},\"53/udp\":{}},\"Labels\":{\"l\":\"v\"},\"Healthcheck\":{\"Test\":"
			  "[\"CMD\",\"true\"],\"Interval\":5000000000,\"Retries\":3},\"Volumes\":{\"/x\":{}}},"
			  "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D1 "\"]},\"history\":[{\"created_by\":\"x\"}]}";
	struct img_config c, c2;
	struct err e;
	char *out;
	size_t len;
	assert_int_equal(img_config_parse(doc, strlen(doc), &c, &e), 0);
	assert_int_equal(c.n_diff_ids, 1);
	assert_int_equal(c.healthcheck->interval, 5000000000LL);
	assert_int_equal(c.exposed_ports.n, 2);
	assert_int_equal(img_config_copy(&c2, &c, &e), 0);
	assert_int_equal(img_config_json(&c2, &out, &len, &e), 0);
	assert_non_null(strstr(out, "\"ExposedPorts\":{\"53/udp\":{},\"80/tcp\":{}}"));
	free(out);
	img_config_free(&c);
	img_config_free(&c2);
	static const struct bad_doc bad[] = {
		{"{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:x\"]}}", "diff_ids[0]"},
		{"{\"rootfs\":{\"type\":\"tar\",\"diff_ids\":[]}}", "rootfs.type"},
		{"{\"config\":{\"Env\":\"A=1\"},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}", "expected array"},
		{"{\"config\":{\"Env\":[1]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}", "not a plain string"},
		{"{\"config\":{\"Healthcheck\":{\"Interval\":-1}},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}",
		 "negative"},
		{"{}", "missing field \"rootfs\""},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		if (img_config_parse(bad[i].doc, strlen(bad[i].doc), &c, &e) == 0)
			fail_msg("accepted hostile config #%zu", i);
		if (!strstr(e.msg, bad[i].expect))
			fail_msg("config #%zu: expected \"%s\" in \"%s\"", i, bad[i].expect, e.msg);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_digest_grammar),   cmocka_unit_test(test_sha256_vectors),
		cmocka_unit_test(test_manifest_roundtrip), cmocka_unit_test(test_manifest_docker),
		cmocka_unit_test(test_manifest_hostile), cmocka_unit_test(test_manifest_limits),
		cmocka_unit_test(test_index),            cmocka_unit_test(test_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
