/* test_hostapi.c: what the orchestrator reads from agents (orchestrator/hostapi)
 * and how it pins images (orchestrator/resolve): valid answers, and hostile
 * ones (wrong types, bad digests, control characters, oversized lists). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fs.h"
#include "orchestrator/hostapi.h"
#include "orchestrator/hostmetrics.h"
#include "orchestrator/resolve.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"

static const char *good =
	"{\"name\":\"web\",\"generation\":12,\"rollout\":\"r1\",\"phase\":\"healthy\",\"phaseSince\":\"t1\","
	"\"desired\":{\"image\":\"reg/web@" D2 "\",\"digest\":\"" D2 "\"},"
	"\"current\":{\"image\":\"reg/web@" D2 "\",\"digest\":\"" D2 "\",\"since\":\"t0\"},"
	"\"previous\":[{\"image\":\"reg/web@" D1 "\",\"digest\":\"" D1 "\"}],\"pinned\":[],"
	"\"health\":{\"healthy\":true,\"healthySince\":\"t2\",\"intervalMs\":100,\"retries\":3,\"probes\":[{\"time\":\"t\",\"ok\":true,\"ms\":1.5,"
	"\"output\":\"200 OK\"}]},\"restarts\":3,\"message\":\"\",\"future\":{\"x\":1},"
	"\"history\":[{\"time\":\"t0\",\"phase\":\"pulling\",\"message\":\"\"},{\"time\":\"t2\",\"phase\":\"healthy\"}]}";

static void test_status(void **state)
{
	(void)state;
	struct orch_status s;
	struct err e;
	assert_int_equal(orch_status_parse(good, strlen(good), "web", &s, &e), 0);
	assert_string_equal(s.name, "web");
	assert_int_equal(s.generation, 12);
	assert_string_equal(s.phase, "healthy");
	assert_string_equal(s.desired, D2);
	assert_string_equal(s.current, D2);
	assert_string_equal(s.current_since, "t0");
	assert_int_equal(s.n_previous, 1);
	assert_string_equal(s.previous[0], D1);
	assert_true(s.healthy);
	assert_string_equal(s.healthy_since, "t2");
	assert_int_equal(s.check_interval_ms, 100);
	assert_int_equal(s.check_retries, 3);
	assert_string_equal(orch_status_probe(&s), "200 OK");
	assert_int_equal(s.n_probes, 1);
	assert_true(s.probes[0].ok);
	assert_true(s.probes[0].ms > 1.4 && s.probes[0].ms < 1.6);
	assert_string_equal(s.probes[0].time, "t");
	assert_string_equal(s.desired_image, "reg/web@" D2);
	assert_string_equal(s.current_image, "reg/web@" D2);
	assert_int_equal(s.restarts, 3);
	assert_int_equal(s.n_history, 2);
	assert_string_equal(s.history[1].phase, "healthy");
	/* a new host's answer has no versions at all */
	const char *bare = "{\"name\":\"web\",\"generation\":0,\"phase\":\"pulling\"}";
	assert_int_equal(orch_status_parse(bare, strlen(bare), NULL, &s, &e), 0);
	assert_string_equal(s.current, "");
	assert_false(s.healthy);
	assert_int_equal(s.check_interval_ms, 0);
}

static void bad(const char *json, const char *words)
{
	struct orch_status s;
	struct err e;
	if (orch_status_parse(json, strlen(json), "web", &s, &e) == 0)
		fail_msg("accepted %s", json);
	if (!strstr(e.msg, words))
		fail_msg("\"%s\": message \"%s\" lacks \"%s\"", json, e.msg, words);
}

/* GET /v1/apps: every app parsed as one status; one bad app refuses the list */
static void test_apps(void **state)
{
	(void)state;
	struct orch_status *v;
	size_t n;
	struct err e;
	char *list;
	assert_true(asprintf(&list, "{\"apps\":[%s,{\"name\":\"db\",\"generation\":1,\"phase\":\"stopped\"}]}", good) > 0);
	assert_int_equal(orch_apps_parse(list, strlen(list), &v, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].name, "web");
	assert_string_equal(v[0].current, D2);
	assert_string_equal(v[1].name, "db");
	assert_string_equal(v[1].phase, "stopped");
	free(v);
	free(list);
	assert_int_equal(orch_apps_parse("{\"apps\":[]}", 11, &v, &n, &e), 0);
	assert_int_equal(n, 0);
	assert_null(v);
	const char *bad_app = "{\"apps\":[{\"name\":\"db\",\"generation\":-1,\"phase\":\"stopped\"}]}";
	assert_int_equal(orch_apps_parse(bad_app, strlen(bad_app), &v, &n, &e), -1);
	assert_non_null(strstr(e.msg, "apps[0]"));
	assert_null(v);
	assert_int_equal(orch_apps_parse("[]", 2, &v, &n, &e), -1);
	assert_int_equal(orch_apps_parse("{\"apps\":{}}", 11, &v, &n, &e), -1);
}

static void test_hostile(void **state)
{
	(void)state;
	bad("", "JSON");
	bad("[]", "expected an app status object");
	bad("{\"name\":\"web\",\"phase\":\"healthy\"}", "missing field \"generation\"");
	bad("{\"name\":\"web\",\"generation\":\"12\",\"phase\":\"healthy\"}", "field \"generation\": expected integer");
	bad("{\"name\":\"web\",\"generation\":-1,\"phase\":\"healthy\"}", "negative generation");
	bad("{\"name\":\"api\",\"generation\":1,\"phase\":\"healthy\"}", "about app \"api\", not \"web\"");
	bad("{\"name\":\"web\",\"generation\":1}", "missing field \"phase\"");
	bad("{\"name\":\"web\",\"generation\":1,\"phase\":7}", "field \"phase\": expected string");
	bad("{\"name\":\"web\",\"generation\":1,\"phase\":\"healthy\",\"current\":{\"digest\":\"sha256:zz\"}}",
	    "\"current\"");
	bad("{\"name\":\"web\",\"generation\":1,\"phase\":\"healthy\",\"current\":{\"digest\":\"sha256:../../etc\"}}",
	    "\"current\"");
	bad("{\"name\":\"web\",\"generation\":1,\"phase\":\"healthy\",\"current\":\"x\"}", "expected object");
	bad("{\"name\":\"web\",\"generation\":1,\"phase\":\"healthy\",\"previous\":[{\"digest\":1}]}", "\"previous\"[0]");
	bad("{\"name\":\"web\",\"generation\":1,\"phase\":\"healthy\",\"health\":{\"healthy\":\"yes\"}}", "\"health\"");
	bad("{\"name\":\"web\",\"generation\":1,\"phase\":\"healthy\",\"name\":\"web\"}", "twice");
	bad("{\"name\":\"web\",\"generation\":1,\"phase\":\"healthy\",\"health\":{\"intervalMs\":-5}}",
	    "\"intervalMs\": -5 is out of range");
	bad("{\"name\":\"web\",\"generation\":1,\"phase\":\"healthy\",\"health\":{\"retries\":4294967296}}",
	    "\"retries\": 4294967296 is out of range");
	bad("{\"name\":\"web\",\"generation\":1,\"phase\":\"healthy\",\"health\":{\"intervalMs\":1.5}}", "\"health\"");
	bad("{\"name\":\"web\",\"generation\":99999999999999999999,\"phase\":\"healthy\"}", "expected integer");
	/* control characters from a host never reach a terminal; long strings are cut */
	struct orch_status s;
	struct err e;
	char msg[4000];
	snprintf(msg, sizeof msg,
		 "{\"name\":\"web\",\"generation\":1,\"phase\":\"fail\\u001b[2Jed\",\"message\":\"a\\u0007b\\nc%0*d\"}",
		 2000, 0);
	assert_int_equal(orch_status_parse(msg, strlen(msg), "web", &s, &e), 0);
	assert_string_equal(s.phase, "fail?[2Jed");
	assert_memory_equal(s.message, "a?b?c0", 6);
	assert_int_equal(strlen(s.message), sizeof s.message - 1);
	/* 50 history entries and 40 kept versions: the newest 20, the first 16 */
	char *big = malloc(20000);
	size_t l = (size_t)sprintf(big, "{\"name\":\"web\",\"generation\":1,\"phase\":\"healthy\",\"history\":[");
	for (int i = 0; i < 50; i++)
		l += (size_t)sprintf(big + l, "%s{\"time\":\"t%d\",\"phase\":\"p\"}", i ? "," : "", i);
	l += (size_t)sprintf(big + l, "],\"previous\":[");
	for (int i = 0; i < 40; i++)
		l += (size_t)sprintf(big + l, "%s{\"digest\":\"%s\"}", i ? "," : "", i % 2 ? D1 : D2);
	sprintf(big + l, "]}");
	assert_int_equal(orch_status_parse(big, strlen(big), "web", &s, &e), 0);
	assert_int_equal(s.n_history, ORCH_MAX_HISTORY);
	assert_string_equal(s.history[0].time, "t30");
	assert_string_equal(s.history[19].time, "t49");
	assert_int_equal(s.n_previous, ORCH_MAX_PREVIOUS);
	free(big);
}

static void test_errors_info_bodies(void **state)
{
	(void)state;
	char code[64], msg[128], plat[128];
	struct err e;
	const char *err = "{\"error\":\"stale_generation\",\"message\":\"generation 3 is older than 5\"}";
	orch_error_parse(err, strlen(err), code, sizeof code, msg, sizeof msg);
	assert_string_equal(code, "stale_generation");
	assert_string_equal(msg, "generation 3 is older than 5");
	orch_error_parse("<html>502</html>", 16, code, sizeof code, msg, sizeof msg);
	assert_string_equal(code, "");
	assert_string_equal(msg, "");
	orch_error_parse("{\"error\":7}", 11, code, sizeof code, msg, sizeof msg);
	assert_string_equal(code, "");
	const char *info = "{\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"},\"x\":1}";
	assert_int_equal(orch_info_platform(info, strlen(info), plat, sizeof plat, &e), 0);
	assert_string_equal(plat, "linux/arm64/v8");
	assert_int_equal(orch_info_platform("{\"platform\":{\"os\":\"linux\"}}", 27, plat, sizeof plat, &e), -1);
	char *b = orch_body_put("reg/web@" D2, "r\"1", 7);
	assert_string_equal(b, "{\"image\":\"reg/web@" D2 "\",\"rollout\":\"r\\\"1\",\"generation\":7}");
	free(b);
	b = orch_body_revert(D1, 8);
	assert_string_equal(b, "{\"to\":\"" D1 "\",\"generation\":8}");
	free(b);
	b = orch_body_generation(9);
	assert_string_equal(b, "{\"generation\":9}");
	free(b);
	b = orch_body_put("reg/web@" D2, NULL, 3); /* ramp host deploy without --rollout */
	assert_string_equal(b, "{\"image\":\"reg/web@" D2 "\",\"generation\":3}");
	free(b);
	char path[64];
	assert_string_equal(orch_op_path(ORCH_OP_REVERT, "web", 0, path, sizeof path), "/v1/apps/web/revert");
	assert_string_equal(orch_op_method(ORCH_OP_REVERT), "POST");
	assert_string_equal(orch_op_path(ORCH_OP_STATUS, "web", 0, path, sizeof path), "/v1/apps/web");
	assert_string_equal(orch_op_path(ORCH_OP_APPS, NULL, 0, path, sizeof path), "/v1/apps");
	assert_string_equal(orch_op_path(ORCH_OP_INFO, NULL, 0, path, sizeof path), "/v1/info");
	assert_string_equal(orch_op_path(ORCH_OP_LOGS, "web", 50, path, sizeof path), "/v1/apps/web/logs?tail=50");
	assert_string_equal(orch_op_path(ORCH_OP_METRICS, "web", 1795688165000ull, path, sizeof path),
			    "/v1/apps/web/metrics?since=1795688165000");
	assert_string_equal(orch_op_path(ORCH_OP_METRICS, "web", 0, path, sizeof path), "/v1/apps/web/metrics");
	assert_string_equal(orch_op_path(ORCH_OP_WATCH, "web", 0, path, sizeof path), "/v1/apps/web/metrics/watch");
	assert_string_equal(orch_op_method(ORCH_OP_WATCH), "PUT");
	assert_string_equal(orch_op_method(ORCH_OP_DEPLOY), "PUT");
	assert_string_equal(orch_op_method(ORCH_OP_REMOVE), "DELETE");
	assert_null(orch_op_path(ORCH_OP_PROBE, "web", 0, path, sizeof path));
	assert_null(orch_op_path(ORCH_OP_STATUS, "a-very-long-app-name-that-does-not-fit-in-the-buffer-at-all", 0, path,
				 sizeof path));
	assert_true(orch_app_name_valid("web-1.api_x"));
	assert_false(orch_app_name_valid("Web"));
	assert_false(orch_app_name_valid("-web"));
	assert_false(orch_app_name_valid("../x"));
	assert_false(orch_app_name_valid(""));
	assert_false(orch_app_name_valid("a234567890123456789012345678901234567890123456789012345678901234"));
}

#define MVER(d, cur, times, series) "{\"digest\":\"" d "\",\"current\":" cur ",\"times\":[" times "],\"series\":[" series "]}"
#define MDOC(app, versions) "{\"app\":\"" app "\",\"rampd\":{\"bootId\":\"b1\"},\"nowMs\":9000,\"versions\":[" versions "]}"
#define REQ(code, vals) "{\"name\":\"http_requests_total\",\"labels\":{\"code\":\"" code "\"},\"values\":[" vals "]}"
#define BUCKET(le, vals) "{\"name\":\"http_request_duration_seconds_bucket\",\"labels\":{\"le\":\"" le "\"},\"values\":[" vals "]}"
#define COUNT(vals) "{\"name\":\"http_request_duration_seconds_count\",\"values\":[" vals "]}"

/* rampd's metrics answer: the watch of the default analysis, the samples
 * of a metric summed over the series its selectors match (a series absent
 * from a scrape counts 0), the windows by version, and hostile answers
 * refused with a message. */
static void test_metrics(void **state)
{
	(void)state;
	struct orch_an_config c;
	struct orch_metrics m;
	struct orch_an_series x;
	struct err e;
	double *buf;
	assert_int_equal(orch_an_config_default(&c, &e), 0);
	char *w = orch_body_watch(&c);
	assert_string_equal(w, "{\"series\":[{\"name\":\"http_requests_total\"},"
			       "{\"name\":\"http_request_duration_seconds\"}]}");
	free(w);
	static const char doc[] = MDOC("web", MVER("sha256:new", "true", "1000,2000,3000",
						  REQ("200", "100,190,290") "," REQ("503", "null,10,10") "," REQ("404", "5,5,5") ","
						  BUCKET("0.5", "90,180,270") "," BUCKET("0.1", "50,100,150") ","
						  BUCKET("+Inf", "100,200,300") "," COUNT("100,200,300")) ","
					    MVER("sha256:old", "false", "500", REQ("200", "7")));
	assert_int_equal(orch_metrics_parse(doc, sizeof doc - 1, "web", &m, &e), 0);
	assert_string_equal(m.boot_id, "b1");
	assert_int_equal(m.n, 2);
	const struct orch_mversion *v = orch_metrics_version(&m, "sha256:new", true);
	assert_non_null(v);
	assert_string_equal(orch_metrics_version(&m, "sha256:new", false)->digest, "sha256:old");
	/* errors: 5xx over all: the 503 series is absent from the first scrape */
	assert_int_equal(orch_metrics_series(v, &c.metrics[0], 1000, &x, &buf, &e), 0);
	assert_int_equal(x.n, 2); /* after 1000 only */
	assert_int_equal(x.width, 2);
	assert_true(x.t[0] == 2.0 && x.v[0] == 10 && x.v[1] == 205 && x.v[2] == 10 && x.v[3] == 305);
	free(buf);
	/* latency: the finite bounds sorted, then the count */
	assert_int_equal(orch_metrics_series(v, &c.metrics[1], 0, &x, &buf, &e), 0);
	assert_int_equal(x.width, 3);
	assert_true(x.le[0] == 0.1 && x.le[1] == 0.5);
	assert_true(x.v[0] == 50 && x.v[1] == 90 && x.v[2] == 100);
	free(buf);
	orch_metrics_free(&m);

	static const char *const bad[] = {
		MDOC("api", ""),                                                     /* another app's */
		MDOC("web", MVER("a", "true", "2,1", "")),                           /* times going back */
		MDOC("web", MVER("a", "true", "1,2", REQ("200", "1"))),               /* values for other times */
		MDOC("web", MVER("a", "true", "1", REQ("200", "\"lots\""))),          /* not a number */
		MDOC("web", MVER("a", "true", "1", REQ("200", "{}"))),
		MDOC("web", MVER("a", "true", "", "") "," MVER("b", "false", "", "") "," MVER("c", "false", "", "")),
		"{\"app\":\"web\",\"nowMs\":1,\"versions\":[]}",                 /* no rampd.bootId */
		"[1]",
	};
	for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
		e.msg[0] = '\0';
		assert_int_equal(orch_metrics_parse(bad[k], strlen(bad[k]), "web", &m, &e), -1);
		assert_true(e.msg[0]);
	}
	orch_an_config_free(&c);
}

static void test_resolve(void **state)
{
	(void)state;
	struct orch_resolved r;
	struct err e;
	/* pinned by digest and no records wanted: nobody is asked */
	assert_int_equal(orch_resolve_image("127.0.0.1:5000/team/web@" D2, NULL, false, &r, &e), 0);
	assert_string_equal(r.pinned, "127.0.0.1:5000/team/web@" D2);
	assert_string_equal(r.digest.s, D2);
	assert_false(r.records_known);
	char *plats[] = {"linux/amd64"};
	assert_int_equal(orch_records_check(&r, NULL, plats, 1, &e), -1);
	assert_non_null(strstr(e.msg, "--allow-untested"));
	/* records as read from a registry (tests/integration/rollout_real.bats) */
	struct orch_record recs[] = {{.platform = "linux/amd64", .passed = true}, {.platform = "linux/arm64"}};
	r.records = malloc(sizeof recs);
	memcpy(r.records, recs, sizeof recs);
	r.n_records = 2;
	r.records_known = true;
	assert_int_equal(orch_records_check(&r, NULL, plats, 1, &e), 0);
	char *both[] = {"linux/amd64", "linux/arm64"};
	assert_int_equal(orch_records_check(&r, NULL, both, 2, &e), -1);
	assert_non_null(strstr(e.msg, "no passing test record for linux/arm64"));
	orch_resolved_free(&r);
	/* a tag next to the digest is dropped: the digest is what runs */
	assert_int_equal(orch_resolve_image("localhost/web:1.2@" D1, NULL, false, &r, &e), 0);
	assert_string_equal(r.pinned, "localhost/web@" D1);
	orch_resolved_free(&r);
	/* a tag, or records, need the registry: none listens on port 1 */
	struct img_registry_opts o;
	img_registry_opts_init(&o);
	o.retries = 0;
	o.timeout_s = 2;
	assert_int_equal(orch_resolve_image("127.0.0.1:1/web:latest", &o, false, &r, &e), -1);
	assert_non_null(strstr(e.msg, "image 127.0.0.1:1/web:latest"));
	assert_null(r.pinned);
	assert_int_equal(orch_resolve_image("127.0.0.1:1/web@" D1, &o, true, &r, &e), -1);
	static const char *bad_refs[] = {
		"", "@" D1, "Web@" D1, "reg/web@sha256:abc", "reg/web@md5:" D1, "reg//web@" D1, "reg/web @" D1,
		"reg/web\n@" D1, "reg/-web@" D1, "reg/web-@" D1, "reg/web@" D1 "x",
	};
	for (size_t i = 0; i < sizeof bad_refs / sizeof *bad_refs; i++)
		if (orch_resolve_image(bad_refs[i], NULL, false, &r, &e) == 0) {
			orch_resolved_free(&r);
			fail_msg("accepted image reference \"%s\"", bad_refs[i]);
		}
}

static void test_tokens(void **state)
{
	(void)state;
	struct err e;
	struct orch_tokens t = {0};
	char *dir = fs_mkdtemp("ramp-test-tokens", &e);
	assert_non_null(dir);
	char *good = fs_join(dir, "good"), *open = fs_join(dir, "open");
	assert_int_equal(fs_write_atomic(good, "s3cret-Token_0123\r\n", 19, 0600, &e), 0);
	assert_int_equal(fs_write_atomic(open, "s3cret-Token_0123\n", 18, 0644, &e), 0);
	const char *v = orch_token(&t, good, &e);
	assert_string_equal(v, "s3cret-Token_0123");
	assert_ptr_equal(orch_token(&t, good, &e), v); /* read once */
	/* lib/token.c decides (test_token.c has its cases) */
	assert_null(orch_token(&t, open, &e));
	assert_non_null(strstr(e.msg, "chmod 600"));
	assert_null(orch_token(&t, "/nonexistent/token", &e));
	assert_non_null(strstr(e.msg, "token file \"/nonexistent/token\""));
	orch_tokens_free(&t);
	assert_int_equal(fs_rm_rf(dir, &e), 0);
	free(good);
	free(open);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_apps),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_errors_info_bodies),
		cmocka_unit_test(test_metrics),
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_tokens),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
