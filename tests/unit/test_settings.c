/* test_settings.c: image settings from flags and JSON (image/settings). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "image/settings.h"

static void test_durations(void **state)
{
	(void)state;
	int64_t ns;
	struct err e;
	assert_int_equal(img_parse_duration("5s", &ns, &e), 0);
	assert_int_equal(ns, 5000000000LL);
	assert_int_equal(img_parse_duration("1m30s", &ns, &e), 0);
	assert_int_equal(ns, 90000000000LL);
	assert_int_equal(img_parse_duration("250ms", &ns, &e), 0);
	assert_int_equal(ns, 250000000LL);
	assert_int_equal(img_parse_duration("7", &ns, &e), 0);
	assert_int_equal(ns, 7000000000LL);
	static const char *bad[] = {"", "s", "-1s", "5x", "1.5s", "5s3", "99999999999999999h", "5 s"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		if (img_parse_duration(bad[i], &ns, &e) == 0)
			fail_msg("accepted duration \"%s\"", bad[i]);
}

static void test_flags(void **state)
{
	(void)state;
	struct img_settings s = {0};
	struct err e;
	struct img_config c = {0};
	assert_int_equal(img_settings_set(&s, "port", "8080", &e), 0);
	assert_int_equal(img_settings_set(&s, "port", "8080/tcp", &e), 0); /* the same port once */
	assert_int_equal(img_settings_set(&s, "env", "A=x=y", &e), 0);
	assert_int_equal(img_settings_set(&s, "stop-signal", "SIGQUIT", &e), 0);
	assert_int_equal(img_settings_set(&s, "stop-signal", "15", &e), 0);
	assert_int_equal(img_settings_set(&s, "entrypoint", "[\"/a\",\"b\"]", &e), 0);
	assert_int_equal(img_settings_set(&s, "health-cmd", "[\"/bin/check\"]", &e), 0);
	assert_int_equal(img_settings_apply(&s, &c, &e), 0);
	assert_int_equal(c.exposed_ports.n, 1);
	assert_string_equal(c.exposed_ports.v[0], "8080/tcp");
	assert_string_equal(c.env.v[0], "A=x=y");
	assert_int_equal(c.entrypoint.n, 2);
	assert_string_equal(c.healthcheck->test.v[0], "CMD");
	img_config_free(&c);
	static const char *bad[][2] = {
		{"port", "0"},         {"port", "65536"},      {"port", "80/icmp"},   {"port", "http"},
		{"env", "=x"},         {"env", "noeq"},        {"workdir", "rel"},    {"user", ""},
		{"stop-signal", "NOPE"}, {"stop-signal", "999"}, {"entrypoint", "[1]"}, {"entrypoint", "[\"a\""},
		{"health-http", "8080"}, {"health-http", "x/y"}, {"health-http", "80/a b"}, {"health-retries", "0"},
		{"health-interval", "0s"}, {"nonsense", "1"}, {"metrics-http", "metrics"}, {"metrics-http", "0/metrics"},
		{"metrics-http", "8080"}, {"metrics-http", "8080/a\tb"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		if (img_settings_set(&s, bad[i][0], bad[i][1], &e) == 0)
			fail_msg("accepted %s=%s", bad[i][0], bad[i][1]);
	img_settings_free(&s);
}

/* The metrics endpoint: a flag or a JSON field, stored as two labels. */
static void test_metrics(void **state)
{
	(void)state;
	struct img_settings s = {0};
	struct img_config c = {0};
	struct err e;
	assert_int_equal(img_settings_set(&s, "metrics-http", "9090/metrics", &e), 0);
	assert_int_equal(img_settings_apply(&s, &c, &e), 0);
	assert_string_equal(img_kvs_get(&c.labels, "io.ramp.metrics.port"), "9090");
	assert_string_equal(img_kvs_get(&c.labels, "io.ramp.metrics.path"), "/metrics");
	assert_null(img_kvs_get(&c.labels, "io.ramp.health.type"));
	img_settings_free(&s);
	img_config_free(&c);
	memset(&c, 0, sizeof c);
	const char *j = "{\"metrics\":{\"port\":8080,\"path\":\"/internal/metrics\"}}";
	assert_int_equal(img_settings_parse_json(&s, j, strlen(j), &e), 0);
	assert_int_equal(img_settings_apply(&s, &c, &e), 0);
	assert_string_equal(img_kvs_get(&c.labels, "io.ramp.metrics.port"), "8080");
	assert_string_equal(img_kvs_get(&c.labels, "io.ramp.metrics.path"), "/internal/metrics");
	img_settings_free(&s);
	img_config_free(&c);
	static const char *bad[] = {
		"{\"metrics\":\"8080/metrics\"}",
		"{\"metrics\":{\"port\":8080}}",
		"{\"metrics\":{\"port\":0,\"path\":\"/m\"}}",
		"{\"metrics\":{\"port\":8080,\"path\":\"m\"}}",
		"{\"metrics\":{\"port\":8080,\"path\":\"/m\",\"interval\":\"5s\"}}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct img_settings t = {0};
		if (img_settings_parse_json(&t, bad[i], strlen(bad[i]), &e) == 0)
			fail_msg("accepted settings %s", bad[i]);
		img_settings_free(&t);
	}
	assert_int_equal(img_settings_set(&s, "metrics-http", "x/metrics", &e), -1);
	assert_string_equal(e.msg, "metrics endpoint \"x/metrics\": expected PORT/PATH, for example 8080/metrics");
}

static void test_json(void **state)
{
	(void)state;
	struct img_settings s = {0};
	struct err e;
	const char *good = "{\"cmd\":[\"a\"],\"env\":{\"K\":\"V\"},\"ports\":[80,\"53/udp\"],"
			   "\"health\":{\"exec\":\"curl -f localhost\",\"retries\":2}}";
	assert_int_equal(img_settings_parse_json(&s, good, strlen(good), &e), 0);
	assert_int_equal(s.ports.n, 2);
	assert_int_equal(s.health_retries, 2);
	img_settings_free(&s);
	static const char *bad[] = {
		"[]",
		"{\"cmd\":5}",
		"{\"env\":[\"A=1\"]}",
		"{\"ports\":[0]}",
		"{\"ports\":[true]}",
		"{\"health\":{\"exec\":\"x\",\"http\":{\"port\":1,\"path\":\"/\"}}}",
		"{\"health\":{\"http\":{\"port\":1}}}",
		"{\"health\":{\"http\":{\"port\":1,\"path\":\"nope\"}}}",
		"{\"health\":{\"exec\":[]}}",
		"{\"health\":{\"exec\":\"x\",\"interval\":5}}",
		"{\"health\":{\"bogus\":1}}",
		"{\"labels\":{\"a\":1}}",
		"{\"workdir\":\"/a\",\"workdir\":\"/b\"}",
		"{\"extra\":1}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct img_settings t = {0};
		if (img_settings_parse_json(&t, bad[i], strlen(bad[i]), &e) == 0)
			fail_msg("accepted settings %s", bad[i]);
		img_settings_free(&t);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_metrics),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
