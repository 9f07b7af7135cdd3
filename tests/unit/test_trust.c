/* test_trust.c: trust policies (image/trust): strict parsing with every
 * error named by its place, and the record check refusing each hostile
 * record of docs/SECURITY.md's "Signed test records" table with its reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/record.h"
#include "image/trust.h"
#include "lib/base64.h"

#define IMG "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define OTHER "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define REPO "registry.example.com/web"

static struct img_privkey k1, k2, k3; /* k1, k2 trusted; k3 not */
static struct img_trust policy;

static int setup(void **state)
{
	(void)state;
	struct err e;
	char buf[2048];
	char *p1, *p2;
	if (img_key_generate(&k1, &e) < 0 || img_key_generate(&k2, &e) < 0 || img_key_generate(&k3, &e) < 0)
		return -1;
	p1 = img_key_public_b64(&k1.pub);
	p2 = img_key_public_b64(&k2.pub);
	snprintf(buf, sizeof buf,
		 "{\"version\":\"1\",\"trustPolicies\":[{\"name\":\"prod\",\"registryScopes\":[\"" REPO "\"],"
		 "\"trustedKeys\":[{\"name\":\"ci-1\",\"publicKey\":\"%s\"},{\"name\":\"ci-2\",\"publicKey\":\"%s\"}]},"
		 "{\"name\":\"any\",\"registryScopes\":[\"*\"],\"trustedKeys\":[{\"name\":\"ci-2\",\"publicKey\":\"%s\"}],"
		 "\"results\":[\"PASSED\",\"WARNED\"],\"platformMustMatch\":false}]}",
		 p1, p2, p2);
	free(p1);
	free(p2);
	return img_trust_parse(buf, strlen(buf), &policy, &e);
}

static int teardown(void **state)
{
	(void)state;
	img_trust_free(&policy);
	return 0;
}

static void record(struct img_record *r, const char *image, const char *arch, int exit_code)
{
	struct err e;
	*r = (struct img_record){0};
	img_digest_parse(image, &r->image, &e);
	r->platform.os = strdup("linux");
	r->platform.architecture = strdup(arch);
	r->kernel = strdup("6.1.0");
	strv_push(&r->command, "make", &e);
	r->exit_code = exit_code;
	r->result = exit_code ? IMG_RESULT_FAILED : IMG_RESULT_PASSED;
	r->time = strdup("2026-11-26T08:00:00Z");
	r->version = strdup("0.1.0");
}

/* The envelope JSON of r signed with k (or unsigned: a plain record). */
static char *signed_json(const struct img_record *r, const struct img_privkey *k, struct img_dsse *keep)
{
	struct err e;
	struct img_dsse d;
	char *st, *json;
	size_t len;
	assert_int_equal(img_record_statement(r, &st, &len, &e), 0);
	assert_int_equal(img_dsse_sign(IMG_DSSE_INTOTO, st, len, k, &d, &e), 0);
	free(st);
	assert_int_equal(img_dsse_json(&d, &json, &len, &e), 0);
	if (keep)
		*keep = d;
	else
		img_dsse_free(&d);
	return json;
}

static int check(const char *repo, const char *media_type, const char *json, const char *platform, struct err *e)
{
	struct img_digest image;
	struct img_trust_ok ok;
	img_digest_parse(IMG, &image, e);
	struct img_trust_record rec = {.name = "sha256:aaaaaaaaaaaaaaaa", .media_type = media_type, .buf = json,
				       .len = strlen(json)};
	return img_trust_check(&policy, repo, &image, platform, &rec, 1, &ok, e);
}

static void expect(const char *json, const char *platform, const char *why)
{
	struct err e;
	if (check(REPO, IMG_MT_TEST_RECORD_DSSE, json, platform, &e) == 0)
		fail_msg("accepted, should say \"%s\"", why);
	if (!strstr(e.msg, why))
		fail_msg("\"%s\" does not say \"%s\"", e.msg, why);
	if (getenv("TEST_VERBOSE"))
		print_message("refused: %s\n", e.msg);
}

/* envelope JSON from parts, to build what ramp would never write */
static char *envelope(const char *type, const char *payload_b64, const char *sigs_json)
{
	char *s;
	assert_true(asprintf(&s, "{\"payloadType\":\"%s\",\"payload\":\"%s\",\"signatures\":[%s]}", type, payload_b64,
			     sigs_json) > 0);
	return s;
}

static char *sig_json(const char *keyid, const struct img_dsse *d, size_t i)
{
	char *b = b64_encode(d->sigs[i].sig, d->sigs[i].len), *s;
	assert_true(asprintf(&s, "{\"keyid\":\"%s\",\"sig\":\"%s\"}", keyid, b) > 0);
	free(b);
	return s;
}

static void test_accepts(void **state)
{
	(void)state;
	struct img_record r;
	struct img_digest image;
	struct img_trust_ok ok;
	struct err e;
	img_digest_parse(IMG, &image, &e);
	record(&r, IMG, "amd64", 0);
	char *good = signed_json(&r, &k2, NULL);
	struct img_trust_record recs[2] = {
		{.name = "sha256:plain", .media_type = IMG_MT_TEST_RECORD, .buf = "{}", .len = 2},
		{.name = "sha256:signed", .media_type = IMG_MT_TEST_RECORD_DSSE, .buf = good, .len = strlen(good)},
	};
	if (img_trust_check(&policy, REPO, &image, "linux/amd64", recs, 2, &ok, &e) < 0)
		fail_msg("%s", e.msg);
	assert_int_equal(ok.record, 1);
	assert_string_equal(ok.key->name, "ci-2");
	assert_string_equal(ok.policy->name, "prod");
	/* the global policy for other repositories: any platform, WARNED too */
	assert_int_equal(check("other.example.com/x", IMG_MT_TEST_RECORD_DSSE, good, "linux/arm64", &e), 0);
	free(good);
	r.result = IMG_RESULT_WARNED;
	good = signed_json(&r, &k2, NULL);
	assert_int_equal(check("other.example.com/x", IMG_MT_TEST_RECORD_DSSE, good, "linux/amd64", &e), 0);
	expect(good, "linux/amd64", "result WARNED (policy \"prod\" accepts PASSED)");
	free(good);
	img_record_free(&r);
}

static void test_hostile_records(void **state)
{
	(void)state;
	struct img_record r;
	struct img_dsse d;
	struct err e;
	char *j, *s1, *s2;

	record(&r, IMG, "amd64", 0);
	/* a plain record never passes a policy */
	j = NULL;
	size_t len;
	assert_int_equal(img_record_json(&r, &j, &len, &e), 0);
	assert_int_equal(check(REPO, IMG_MT_TEST_RECORD, j, "linux/amd64", &e), -1);
	assert_non_null(strstr(e.msg, "not signed"));
	free(j);

	/* a tampered payload: the statement changed after signing */
	j = signed_json(&r, &k1, &d);
	char *st = strndup(d.payload, d.payload_len);
	char *at = strstr(st, "amd64");
	memcpy(at, "arm64", 5);
	char *b = b64_encode(st, strlen(st));
	s1 = sig_json(d.sigs[0].keyid, &d, 0);
	free(j);
	j = envelope(IMG_DSSE_INTOTO, b, s1);
	expect(j, "linux/arm64", "does not verify with key \"ci-1\"");
	free(j);
	free(b);
	free(st);
	free(s1);
	/* a payload type swapped */
	b = b64_encode(d.payload, d.payload_len);
	s1 = sig_json(d.sigs[0].keyid, &d, 0);
	j = envelope("application/json", b, s1);
	expect(j, "linux/amd64", "payload type \"application/json\"");
	free(j);
	/* URL-safe base64, unpadded: accepted */
	for (char *c = b; *c; c++)
		*c = *c == '+' ? '-' : *c == '/' ? '_' : *c;
	b[strcspn(b, "=")] = '\0';
	char *u = b64_encode(d.sigs[0].sig, 64);
	for (char *c = u; *c; c++)
		*c = *c == '+' ? '-' : *c == '/' ? '_' : *c;
	char *us;
	assert_true(asprintf(&us, "{\"keyid\":\"%s\",\"sig\":\"%s\"}", d.sigs[0].keyid, u) > 0);
	j = envelope(IMG_DSSE_INTOTO, b, us);
	if (check(REPO, IMG_MT_TEST_RECORD_DSSE, j, "linux/amd64", &e) < 0)
		fail_msg("URL-safe envelope refused: %s", e.msg);
	free(j);
	/* malformed base64 */
	j = envelope(IMG_DSSE_INTOTO, "e30=!", us);
	expect(j, "linux/amd64", "payload: invalid base64");
	free(j);
	/* duplicate signatures, one spelled URL-safe */
	char *both;
	assert_true(asprintf(&both, "%s,%s", s1, us) > 0);
	j = envelope(IMG_DSSE_INTOTO, b, both);
	expect(j, "linux/amd64", "signatures[1] duplicates signatures[0]");
	free(j);
	free(both);
	/* a wrong key id: k1 signed, the keyid names k2 */
	s2 = sig_json(k2.pub.id.s, &d, 0);
	j = envelope(IMG_DSSE_INTOTO, b, s2);
	expect(j, "linux/amd64", "its keyid names key \"ci-2\", but key \"ci-1\"");
	free(j);
	free(s2);
	/* a key id nobody trusts, and no key id with a signature no trusted key made */
	s2 = sig_json("sha256:1111111111111111111111111111111111111111111111111111111111111111", &d, 0);
	j = envelope(IMG_DSSE_INTOTO, b, s2);
	expect(j, "linux/amd64", "is not trusted by policy \"prod\"");
	free(j);
	free(s2);
	free(b);
	free(u);
	free(us);
	free(s1);
	img_dsse_free(&d);

	/* signed by an untrusted key */
	j = signed_json(&r, &k3, NULL);
	expect(j, "linux/amd64", "is not trusted by policy \"prod\"");
	free(j);
	/* a signature of the wrong size */
	j = envelope(IMG_DSSE_INTOTO, "e30=", "{\"sig\":\"YWJj\"}");
	expect(j, "linux/amd64", "3 bytes, not an Ed25519 signature");
	free(j);
	/* the wrong platform; a FAILED result */
	j = signed_json(&r, &k1, NULL);
	expect(j, "linux/arm64", "tested on linux/amd64, not linux/arm64");
	free(j);
	img_record_free(&r);
	record(&r, IMG, "amd64", 1);
	j = signed_json(&r, &k1, NULL);
	expect(j, "linux/amd64", "result FAILED");
	free(j);
	img_record_free(&r);
	/* a record copied from another image */
	record(&r, OTHER, "amd64", 0);
	j = signed_json(&r, &k1, NULL);
	expect(j, "linux/amd64", "it is about " OTHER ", not this image");
	free(j);
	img_record_free(&r);
	/* an envelope of megabytes */
	size_t big = 2u << 20;
	j = malloc(big + 1);
	memset(j, 'A', big);
	j[big] = '\0';
	expect(j, "linux/amd64", "more than the limit of 65536");
	free(j);
	/* no policy for the repository, and none global: refused */
	struct img_trust t = {0};
	struct img_digest image;
	struct img_trust_ok ok;
	img_digest_parse(IMG, &image, &e);
	assert_int_equal(img_trust_check(&t, REPO, &image, NULL, NULL, 0, &ok, &e), -1);
	assert_non_null(strstr(e.msg, "no trust policy covers " REPO));
	/* no records at all */
	assert_int_equal(img_trust_check(&policy, REPO, &image, "linux/amd64", NULL, 0, &ok, &e), -1);
	assert_non_null(strstr(e.msg, "0 records found"));
}

static void test_revoked(void **state)
{
	(void)state;
	struct img_trust t;
	struct img_record r;
	struct img_digest image;
	struct img_trust_ok ok;
	struct err e;
	char buf[1024];
	char *p1 = img_key_public_b64(&k1.pub), *p2 = img_key_public_b64(&k2.pub);
	snprintf(buf, sizeof buf,
		 "{\"version\":\"1\",\"trustPolicies\":[{\"name\":\"prod\",\"registryScopes\":[\"*\"],"
		 "\"trustedKeys\":[{\"name\":\"old\",\"publicKey\":\"%s\"},{\"name\":\"new\",\"publicKey\":\"%s\"}]}],"
		 "\"revokedKeys\":[\"%s\"]}",
		 p1, p2, k1.pub.id.s);
	assert_int_equal(img_trust_parse(buf, strlen(buf), &t, &e), 0);
	img_digest_parse(IMG, &image, &e);
	record(&r, IMG, "amd64", 0);
	char *old = signed_json(&r, &k1, NULL), *new = signed_json(&r, &k2, NULL);
	struct img_trust_record rec = {.name = "sha256:x", .media_type = IMG_MT_TEST_RECORD_DSSE, .buf = old,
				       .len = strlen(old)};
	assert_int_equal(img_trust_check(&t, REPO, &image, "linux/amd64", &rec, 1, &ok, &e), -1);
	assert_non_null(strstr(e.msg, "revoked"));
	/* without its keyid the revoked key's signature is no better */
	struct img_dsse d;
	assert_int_equal(img_dsse_parse(old, strlen(old), &d, &e), 0);
	d.sigs[0].keyid[0] = '\0';
	char *nokeyid;
	size_t len;
	assert_int_equal(img_dsse_json(&d, &nokeyid, &len, &e), 0);
	rec.buf = nokeyid;
	rec.len = len;
	assert_int_equal(img_trust_check(&t, REPO, &image, "linux/amd64", &rec, 1, &ok, &e), -1);
	assert_non_null(strstr(e.msg, "made by none of the trusted keys"));
	/* the rotated key is trusted */
	rec.buf = new;
	rec.len = strlen(new);
	assert_int_equal(img_trust_check(&t, REPO, &image, "linux/amd64", &rec, 1, &ok, &e), 0);
	assert_string_equal(ok.key->name, "new");
	img_dsse_free(&d);
	free(nokeyid);
	free(old);
	free(new);
	free(p1);
	free(p2);
	img_record_free(&r);
	img_trust_free(&t);
}

static void test_hostile_policies(void **state)
{
	(void)state;
	char *pk = img_key_public_b64(&k1.pub);
	char key[256];
	snprintf(key, sizeof key, "{\"name\":\"k\",\"publicKey\":\"%s\"}", pk);
	static const struct {
		const char *fmt, *why;
	} bad[] = {
		{"[]", "expected a JSON object"},
		{"{\"version\":\"2\",\"trustPolicies\":[]}", "version \"2\""},
		{"{\"version\":\"1\",\"trustPolicies\":[]}", "trustPolicies: 0 policies"},
		{"{\"version\":\"1\",\"trustPolicies\":[{\"name\":\"a\",\"registryScopes\":[\"*\"],\"trustedKeys\":[%s],"
		 "\"x\":1}]}",
		 "unknown field \"x\""},
		{"{\"version\":\"1\",\"trustPolicies\":[{\"name\":\"a\",\"registryScopes\":[\"*\",\"r.io/a\"],"
		 "\"trustedKeys\":[%s]}]}",
		 "trustPolicies[0]: registryScopes[0]: \"*\" must be the only scope"},
		{"{\"version\":\"1\",\"trustPolicies\":[{\"name\":\"a\",\"registryScopes\":[\"debian\"],\"trustedKeys\":[%s]}]}",
		 "registryScopes[0]"},
		{"{\"version\":\"1\",\"trustPolicies\":[{\"name\":\"a\",\"registryScopes\":[\"library/debian\"],"
		 "\"trustedKeys\":[%s]}]}",
		 "fully qualified"},
		{"{\"version\":\"1\",\"trustPolicies\":[{\"name\":\"a\",\"registryScopes\":[\"r.io/A\"],\"trustedKeys\":[%s]}]}",
		 "not a repository name"},
		{"{\"version\":\"1\",\"trustPolicies\":[{\"name\":\"a\",\"registryScopes\":[\"*\"],\"trustedKeys\":[]}]}",
		 "trustPolicies[0]: trustedKeys: 0 keys"},
		{"{\"version\":\"1\",\"trustPolicies\":[{\"name\":\"a\",\"registryScopes\":[\"*\"],"
		 "\"trustedKeys\":[{\"name\":\"k\",\"publicKey\":\"MCowBQYDK2VwAyEA\"}]}]}",
		 "trustPolicies[0]: trustedKeys[0].publicKey"},
		{"{\"version\":\"1\",\"trustPolicies\":[{\"name\":\"a\",\"registryScopes\":[\"*\"],"
		 "\"trustedKeys\":[{\"name\":\"k\",\"publicKey\":\"not base64!\"}]}]}",
		 "trustedKeys[0].publicKey"},
		{"{\"version\":\"1\",\"trustPolicies\":[{\"name\":\"a\",\"registryScopes\":[\"*\"],\"trustedKeys\":[%s,%s]}]}",
		 "trustedKeys[1].name: \"k\" is also trustedKeys[0]'s"},
		{"{\"version\":\"1\",\"trustPolicies\":[{\"name\":\"a\",\"registryScopes\":[\"*\"],\"trustedKeys\":[%s],"
		 "\"results\":[\"FAILED\"]}]}",
		 "results[0]: expected \"PASSED\" or \"WARNED\""},
		{"{\"version\":\"1\",\"trustPolicies\":[{\"name\":\"a\",\"registryScopes\":[\"*\"],\"trustedKeys\":[%s],"
		 "\"results\":[]}]}",
		 "results: empty"},
		{"{\"version\":\"1\",\"trustPolicies\":[{\"name\":\"a\",\"registryScopes\":[\"*\"],\"trustedKeys\":[%s],"
		 "\"predicateType\":\"https://slsa.dev/provenance/v1\"}]}",
		 "predicateType"},
		{"{\"version\":\"1\",\"trustPolicies\":[{\"name\":\"a\",\"registryScopes\":[\"*\"],\"trustedKeys\":[%s],"
		 "\"platformMustMatch\":\"yes\"}]}",
		 "platformMustMatch"},
		{"{\"version\":\"1\",\"trustPolicies\":[{\"name\":\"a\",\"registryScopes\":[\"*\"],\"trustedKeys\":[%s]},"
		 "{\"name\":\"b\",\"registryScopes\":[\"*\"],\"trustedKeys\":[%s]}]}",
		 "trustPolicies[1]: a second global scope"},
		{"{\"version\":\"1\",\"trustPolicies\":[{\"name\":\"a\",\"registryScopes\":[\"r.io/x\"],\"trustedKeys\":[%s]},"
		 "{\"name\":\"b\",\"registryScopes\":[\"r.io/x\"],\"trustedKeys\":[%s]}]}",
		 "trustPolicies[1]: scope \"r.io/x\" is trustPolicies[0]'s already"},
		{"{\"version\":\"1\",\"trustPolicies\":[{\"name\":\"a\",\"registryScopes\":[\"r.io/x\"],\"trustedKeys\":[%s]},"
		 "{\"name\":\"a\",\"registryScopes\":[\"r.io/y\"],\"trustedKeys\":[%s]}]}",
		 "the name \"a\" is also"},
		{"{\"version\":\"1\",\"trustPolicies\":[{\"name\":\"a\\u0007\",\"registryScopes\":[\"*\"],\"trustedKeys\":[%s]}]}",
		 "name: byte 0x07"},
		{"{\"version\":\"1\",\"trustPolicies\":[{\"name\":\"a\",\"registryScopes\":[\"*\"],\"trustedKeys\":[%s]}],"
		 "\"revokedKeys\":[\"sha256:abc\"]}",
		 "revokedKeys[0]: expected a key id"},
		{"{\"version\":\"1\",\"version\":\"1\"}", "twice"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		char doc[2048];
		struct img_trust t;
		struct err e;
		snprintf(doc, sizeof doc, bad[i].fmt, key, key);
		if (img_trust_parse(doc, strlen(doc), &t, &e) == 0)
			fail_msg("hostile policy #%zu accepted", i);
		if (!strstr(e.msg, bad[i].why) || strncmp(e.msg, "trust policy", 12))
			fail_msg("#%zu: \"%s\" does not say \"%s\"", i, e.msg, bad[i].why);
	}
	free(pk);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepts),
		cmocka_unit_test(test_hostile_records),
		cmocka_unit_test(test_revoked),
		cmocka_unit_test(test_hostile_policies),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
