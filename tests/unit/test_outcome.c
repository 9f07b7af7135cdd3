/* test_outcome.c: outcome records and vetoes (image/outcome): JSON round
 * trip, signed envelopes, hostile documents, the verdict of several records,
 * who runs ramp under a CI. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/dsse.h"
#include "image/outcome.h"

#define HEX1 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define D1 "sha256:" HEX1

static void fill(struct img_outcome *o, enum img_outcome_kind k, const char *result, const char *time)
{
	struct err e;
	*o = (struct img_outcome){.kind = k};
	assert_int_equal(img_digest_parse(D1, &o->image, &e), 0);
	if (k == IMG_OUTCOME_ROLLOUT) {
		o->app = strdup("web");
		o->fleet = strdup("/srv/prod.txt");
		o->rollout = strdup("20261205T080000Z-web-1234");
		o->result = strdup(result);
		if (strcmp(result, "done")) {
			o->host = strdup("h3");
			o->reason = strdup("h3 (wave 2): crashed");
		}
	} else {
		o->reason = strdup("CVE \"x\" \xc3\xa9");
	}
	o->time = strdup(time);
	o->by = strdup("alice");
	o->version = strdup("0.1.0");
}

static void test_roundtrip(void **state)
{
	(void)state;
	struct img_outcome o, o2;
	struct err e;
	char *json, *json2;
	size_t len, len2;
	fill(&o, IMG_OUTCOME_ROLLOUT, "rolled_back", "2026-12-05T08:00:00.000Z");
	o.override = strdup("disk fixed");
	o.ci = strdup("https://ci.example/run/1");
	o.finished_by = strdup("bob");
	assert_int_equal(img_outcome_json(&o, &json, &len, &e), 0);
	assert_int_equal(img_outcome_parse(json, len, &o2, &e), 0);
	assert_true(img_digest_eq(&o.image, &o2.image));
	assert_string_equal(o2.host, "h3");
	assert_string_equal(o2.override, "disk fixed");
	assert_string_equal(o2.ci, "https://ci.example/run/1");
	assert_string_equal(o2.finished_by, "bob");
	assert_false(o2.signed_);
	assert_int_equal(img_outcome_json(&o2, &json2, &len2, &e), 0);
	assert_int_equal(len, len2);
	assert_memory_equal(json, json2, len);
	free(json);
	free(json2);
	img_outcome_free(&o2);
	/* a veto, signed: the envelope's payload is the record */
	struct img_outcome v, v2;
	struct img_privkey k;
	struct img_dsse d;
	char *env;
	size_t elen;
	fill(&v, IMG_OUTCOME_VETO, NULL, "2026-12-05T08:00:01.000Z");
	assert_int_equal(img_key_generate(&k, &e), 0);
	assert_int_equal(img_outcome_json(&v, &json, &len, &e), 0);
	assert_int_equal(img_dsse_sign(IMG_MT_OUTCOME, json, len, &k, &d, &e), 0);
	assert_int_equal(img_dsse_json(&d, &env, &elen, &e), 0);
	assert_int_equal(img_outcome_decode(IMG_MT_OUTCOME_DSSE, env, elen, &v2, &e), 0);
	assert_true(v2.signed_);
	assert_int_equal(v2.kind, IMG_OUTCOME_VETO);
	assert_string_equal(v2.reason, v.reason);
	img_outcome_free(&v2);
	/* an envelope of another payload type is not an outcome record */
	img_dsse_free(&d);
	free(env);
	assert_int_equal(img_dsse_sign("application/vnd.in-toto+json", json, len, &k, &d, &e), 0);
	assert_int_equal(img_dsse_json(&d, &env, &elen, &e), 0);
	assert_int_equal(img_outcome_decode(IMG_MT_OUTCOME_DSSE, env, elen, &v2, &e), -1);
	assert_non_null(strstr(e.msg, "payload type"));
	assert_int_equal(img_outcome_decode("text/plain", json, len, &v2, &e), -1);
	img_dsse_free(&d);
	free(env);
	free(json);
	img_key_wipe(&k);
	img_outcome_free(&v);
	img_outcome_free(&o);
}

static void test_hostile(void **state)
{
	(void)state;
	static const struct {
		const char *doc, *says;
	} bad[] = {
		{"", "outcome record"},
		{"[]", "expected"},
		{"{}", "kind"},
		{"{\"kind\":\"veto\",\"image\":\"" D1 "\",\"time\":\"t\",\"by\":\"b\",\"rampVersion\":\"v\"}", "reason"},
		{"{\"kind\":\"pardon\",\"image\":\"" D1 "\",\"reason\":\"r\",\"time\":\"t\",\"by\":\"b\",\"rampVersion\":\"v\"}",
		 "pardon"},
		{"{\"kind\":\"veto\",\"image\":\"sha256:../../x\",\"reason\":\"r\",\"time\":\"t\",\"by\":\"b\",\"rampVersion\":\"v\"}",
		 "digest"},
		{"{\"kind\":\"veto\",\"image\":\"" D1 "\",\"reason\":\"r\",\"time\":\"t\",\"by\":\"b\",\"rampVersion\":\"v\","
		 "\"extra\":1}", "extra"},
		{"{\"kind\":\"veto\",\"image\":\"" D1 "\",\"reason\":\"r\",\"time\":\"t\",\"by\":\"b\",\"rampVersion\":\"v\","
		 "\"app\":\"web\"}", "no app"},
		{"{\"kind\":\"veto\",\"image\":\"" D1 "\",\"reason\":\"r\",\"time\":\"t\",\"by\":\"b\",\"rampVersion\":\"v\","
		 "\"finishedBy\":\"c\"}", "finishedBy"},
		{"{\"kind\":\"rollout\",\"image\":\"" D1 "\",\"app\":\"web\",\"fleet\":\"f\",\"rollout\":\"r\","
		 "\"time\":\"t\",\"by\":\"b\",\"rampVersion\":\"v\"}", "result"},
		{"{\"kind\":\"veto\",\"kind\":\"unveto\",\"image\":\"" D1 "\",\"reason\":\"r\",\"time\":\"t\",\"by\":\"b\","
		 "\"rampVersion\":\"v\"}", "kind"},
		{"{\"kind\":\"veto\",\"image\":\"" D1 "\",\"reason\":1,\"time\":\"t\",\"by\":\"b\",\"rampVersion\":\"v\"}",
		 "reason"},
		{"{\"kind\":\"veto\",\"image\":\"" D1 "\",\"reason\":\"a\\u0000b\",\"time\":\"t\",\"by\":\"b\","
		 "\"rampVersion\":\"v\"}", ""},
		{"{\"kind\":\"veto\",\"image\":\"" D1 "\",\"reason\":\"\xff\",\"time\":\"t\",\"by\":\"b\",\"rampVersion\":\"v\"}",
		 ""},
	};
	struct img_outcome o;
	struct err e;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (img_outcome_parse(bad[i].doc, strlen(bad[i].doc), &o, &e) == 0)
			fail_msg("accepted: %s", bad[i].doc);
		if (!strstr(e.msg, bad[i].says))
			fail_msg("%s: the message \"%s\" does not say \"%s\"", bad[i].doc, e.msg, bad[i].says);
	}
	/* too long: a reason of 5000 bytes, and a document over the limit */
	char *big = malloc(IMG_OUTCOME_MAX + 100);
	assert_non_null(big);
	int n = snprintf(big, IMG_OUTCOME_MAX + 100, "{\"kind\":\"veto\",\"image\":\"" D1 "\",\"reason\":\"%05000d\","
						     "\"time\":\"t\",\"by\":\"b\",\"rampVersion\":\"v\"}", 0);
	assert_int_equal(img_outcome_parse(big, (size_t)n, &o, &e), -1);
	assert_non_null(strstr(e.msg, "longer than 4096"));
	memset(big, ' ', IMG_OUTCOME_MAX + 1);
	assert_int_equal(img_outcome_parse(big, IMG_OUTCOME_MAX + 1, &o, &e), -1);
	assert_non_null(strstr(e.msg, "limit"));
	free(big);
}

static void test_verdict(void **state)
{
	(void)state;
	struct img_outcome o[5] = {0};
	bool bad;
	assert_int_equal(img_outcome_verdict(o, 0, &bad), -1);
	assert_false(bad);
	fill(&o[0], IMG_OUTCOME_ROLLOUT, "rolled_back", "2026-12-05T08:00:00.000Z");
	fill(&o[1], IMG_OUTCOME_ROLLOUT, "aborted", "2026-12-05T09:00:00.000Z");
	assert_int_equal(img_outcome_verdict(o, 2, &bad), 0); /* an abort decides nothing */
	assert_true(bad);
	fill(&o[2], IMG_OUTCOME_UNVETO, NULL, "2026-12-05T10:00:00.000Z");
	assert_int_equal(img_outcome_verdict(o, 3, &bad), 2);
	assert_false(bad);
	/* listed out of order: the newest still wins */
	fill(&o[3], IMG_OUTCOME_VETO, NULL, "2026-12-05T07:00:00.000Z");
	assert_int_equal(img_outcome_verdict(o, 4, &bad), 2);
	assert_false(bad);
	fill(&o[4], IMG_OUTCOME_ROLLOUT, "revert_incomplete", "2026-12-05T11:00:00.000Z");
	assert_int_equal(img_outcome_verdict(o, 5, &bad), 4);
	assert_true(bad);
	char line[600];
	img_outcome_describe(&o[4], line, sizeof line);
	assert_non_null(strstr(line, "rollout 20261205T080000Z-web-1234 of web on /srv/prod.txt: revert_incomplete at h3"));
	assert_non_null(strstr(line, "crashed by alice"));
	assert_null(strstr(line, "finished by"));
	o[4].finished_by = strdup("bob");
	img_outcome_describe(&o[4], line, sizeof line);
	assert_non_null(strstr(line, "crashed by alice, finished by bob"));
	img_outcome_describe(&o[3], line, sizeof line);
	assert_non_null(strstr(line, "vetoed by alice"));
	for (size_t i = 0; i < 5; i++)
		img_outcome_free(&o[i]);
}

static void test_who(void **state)
{
	(void)state;
	char *by, *ci;
	struct err e;
	setenv("GITHUB_ACTOR", "octocat", 1);
	setenv("GITHUB_SERVER_URL", "https://github.com", 1);
	setenv("GITHUB_REPOSITORY", "o/r", 1);
	setenv("GITHUB_RUN_ID", "42", 1);
	assert_int_equal(img_outcome_who(&by, &ci, &e), 0);
	assert_string_equal(by, "octocat");
	assert_string_equal(ci, "https://github.com/o/r/actions/runs/42");
	free(by);
	free(ci);
	unsetenv("GITHUB_ACTOR");
	unsetenv("GITHUB_RUN_ID");
	setenv("GITLAB_USER_LOGIN", "", 1); /* empty: not an answer */
	setenv("BUILD_URL", "https://jenkins.example/job/1/", 1);
	assert_int_equal(img_outcome_who(&by, &ci, &e), 0);
	assert_true(by[0] != '\0');
	assert_string_equal(ci, "https://jenkins.example/job/1/");
	free(by);
	free(ci);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_verdict),
		cmocka_unit_test(test_who),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
