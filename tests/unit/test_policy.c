/* test_policy.c: release policy files (orchestrator/policy: strict parsing,
 * errors naming their place) and freeze windows, with the time zones of
 * lib/tz checked against the C library across daylight-saving changes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/tz.h"
#include "orchestrator/policy.h"

/* Unix time of a UTC date and time */
static int64_t utc(int y, unsigned mo, unsigned d, int h, int mi)
{
	return tz_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60;
}

static void parse_ok(const char *json, struct orch_policy *p)
{
	struct err e = {0};
	int rc = orch_policy_parse(json, strlen(json), "policy.json", p, &e);
	if (rc < 0)
		fail_msg("%s", e.msg);
}

static void parse_bad(const char *json, const char *want)
{
	struct orch_policy p;
	struct err e = {0};
	assert_int_equal(orch_policy_parse(json, strlen(json), "policy.json", &p, &e), -1);
	if (!strstr(e.msg, want))
		fail_msg("error \"%s\" does not say \"%s\"", e.msg, want);
	assert_int_equal(p.n_freezes + p.n_blockers, 0);
}

static void test_parse(void **state)
{
	(void)state;
	struct orch_policy p;
	parse_ok("{\"freezes\":[{\"name\":\"weekend\",\"reason\":\"nobody on call\",\"days\":[\"sat\",\"sun\"],"
		 "\"from\":\"00:00\",\"to\":\"24:00\",\"timezone\":\"Europe/Berlin\"},"
		 "{\"name\":\"xmas\",\"reason\":\"holidays\",\"from\":\"2026-12-20T00:00:00+01:00\","
		 "\"to\":\"2027-01-04T00:00:00Z\"}],"
		 "\"blockers\":[{\"name\":\"bugs\",\"command\":\"true\",\"timeout\":5},{\"name\":\"b2\",\"command\":\"x\"}]}",
		 &p);
	assert_int_equal(p.n_freezes, 2);
	assert_true(p.freezes[0].recurring);
	assert_int_equal(p.freezes[0].days, 0x60);
	assert_int_equal(p.freezes[0].to_min, 1440);
	assert_false(p.freezes[1].recurring);
	assert_int_equal(p.freezes[1].from, utc(2026, 12, 19, 23, 0));
	assert_int_equal(p.freezes[1].to, utc(2027, 1, 4, 0, 0));
	assert_int_equal(p.n_blockers, 2);
	assert_int_equal(p.blockers[0].timeout_ms, 5000);
	assert_int_equal(p.blockers[1].timeout_ms, ORCH_BLOCKER_TIMEOUT_S * 1000);
	orch_policy_free(&p);
	parse_ok("{}", &p);
	assert_int_equal(p.n_freezes + p.n_blockers, 0);
	orch_policy_free(&p);
}

#define F(x) "{\"name\":\"f\",\"reason\":\"r\"," x "}"
#define REC(days, from, to, tz) F("\"days\":" days ",\"from\":\"" from "\",\"to\":\"" to "\",\"timezone\":\"" tz "\"")

static void test_hostile(void **state)
{
	(void)state;
	parse_bad("{\"freezes\":[" REC("[\"mon\"]", "09:00", "10:00", "UTC") ",{\"name\":\"g\",\"reason\":\"r\"," "\"days\":[\"mon\"],\"from\":\"09:00\",\"to\":\"10:00\",\"timezone\":\"UTC\"},"
		  "{\"name\":\"h\",\"reason\":\"r\",\"days\":[\"mon\",\"Sunday\"],\"from\":\"09:00\",\"to\":\"10:00\","
		  "\"timezone\":\"UTC\"}]}",
		  "policy.json: freezes[2].days[1]: \"Sunday\" is not a day (mon..sun)");
	parse_bad("[]", "policy.json: a JSON object");
	parse_bad("{\"freezes\":[]} x", "policy.json: ");
	parse_bad("{\"freeze\":[]}", "unknown key \"freeze\"");
	parse_bad("{\"freezes\":{}}", "freezes: a list is needed");
	parse_bad("{\"freezes\":[1]}", "freezes[0]: an object is needed");
	parse_bad("{\"freezes\":[{\"name\":\"f\",\"from\":\"09:00\",\"to\":\"10:00\"}]}", "freezes[0].reason: missing");
	parse_bad("{\"freezes\":[" F("\"reason\":1") "]}", "policy.json: ");
	parse_bad("{\"freezes\":[{\"name\":\"f\",\"reason\":\"\",\"from\":\"a\",\"to\":\"b\"}]}",
		  "freezes[0].reason: must not be empty");
	parse_bad("{\"freezes\":[" REC("[\"mon\",\"mon\"]", "09:00", "10:00", "UTC") "]}", "days[1]: \"mon\" is listed twice");
	parse_bad("{\"freezes\":[" REC("[]", "09:00", "10:00", "UTC") "]}", "freezes[0].days: a list of days");
	parse_bad("{\"freezes\":[" REC("[1]", "09:00", "10:00", "UTC") "]}", "freezes[0].days[0]: a day");
	parse_bad("{\"freezes\":[" REC("[\"mon\"]", "9:00", "10:00", "UTC") "]}", "freezes[0].from: \"9:00\"");
	parse_bad("{\"freezes\":[" REC("[\"mon\"]", "09:60", "10:00", "UTC") "]}", "freezes[0].from");
	parse_bad("{\"freezes\":[" REC("[\"mon\"]", "24:00", "24:00", "UTC") "]}", "freezes[0].from");
	parse_bad("{\"freezes\":[" REC("[\"mon\"]", "10:00", "24:01", "UTC") "]}", "freezes[0].to");
	parse_bad("{\"freezes\":[" REC("[\"mon\"]", "22:00", "06:00", "UTC") "]}", "over midnight is two freezes");
	parse_bad("{\"freezes\":[" REC("[\"mon\"]", "09:00", "10:00", "../../etc/passwd") "]}",
		  "freezes[0].timezone: \"../../etc/passwd\" is not a time zone name");
	parse_bad("{\"freezes\":[" REC("[\"mon\"]", "09:00", "10:00", "Mars/Olympus") "]}",
		  "freezes[0].timezone: \"Mars/Olympus\" is not a time zone of the tz database");
	parse_bad("{\"freezes\":[" F("\"days\":[\"mon\"],\"from\":\"09:00\",\"to\":\"10:00\"") "]}",
		  "freezes[0].timezone: missing");
	parse_bad("{\"freezes\":[" F("\"from\":\"2026-02-30T00:00:00Z\",\"to\":\"2026-03-01T00:00:00Z\"") "]}",
		  "freezes[0].from: \"2026-02-30T00:00:00Z\" is not a time");
	parse_bad("{\"freezes\":[" F("\"from\":\"2026-03-01T00:00:00Z\",\"to\":\"2026-03-01T00:00:00+00:00\"") "]}",
		  "freezes[0].to: \"2026-03-01T00:00:00+00:00\" is not after");
	parse_bad("{\"freezes\":[" F("\"from\":\"2026-03-01 00:00:00Z\",\"to\":\"2026-03-02T00:00:00Z\"") "]}",
		  "freezes[0].from");
	parse_bad("{\"freezes\":[" F("\"from\":\"2026-03-01T00:00:00.5Z\",\"to\":\"2026-03-02T00:00:00Z\"") "]}",
		  "freezes[0].from");
	parse_bad("{\"freezes\":[" F("\"from\":\"2026-03-01T00:00:00Z\",\"to\":\"2026-03-02T00:00:00Z\",\"timezone\":\"UTC\"") "]}",
		  "freezes[0]: \"timezone\" is for recurring freezes");
	parse_bad("{\"freezes\":[" F("\"from\":\"2026-03-01T00:00:00Z\",\"to\":\"2026-03-02T00:00:00Z\",\"when\":1") "]}",
		  "freezes[0]: unknown key \"when\"");
	parse_bad("{\"blockers\":[{\"name\":\"b\",\"command\":\"true\",\"timeout\":0}]}", "blockers[0].timeout: seconds");
	parse_bad("{\"blockers\":[{\"name\":\"b\",\"command\":\"true\",\"timeout\":1.5}]}", "blockers[0].timeout");
	parse_bad("{\"blockers\":[{\"name\":\"b\"}]}", "blockers[0].command: missing");
	parse_bad("{\"blockers\":[{\"name\":\"b\",\"command\":\"x\"},{\"name\":\"b\",\"command\":\"y\"}]}",
		  "blockers[1]: a second blocker named \"b\"");
	parse_bad("{\"blockers\":[{\"name\":\"b\",\"command\":\"a\\u0000b\"}]}", "blockers[0].command: must not");
}

/* lib/tz against the C library, hour by hour over years with transitions
 * from the file and years after them (from the footer's rule) */
static void test_tz_vs_libc(void **state)
{
	(void)state;
	const char *zones[] = {"Europe/Berlin", "America/New_York", "Australia/Sydney", "UTC", "Asia/Kolkata"};
	for (size_t z = 0; z < sizeof zones / sizeof *zones; z++) {
		struct err e;
		struct tz *tz = tz_load(zones[z], &e);
		if (!tz)
			fail_msg("%s", e.msg);
		setenv("TZ", zones[z], 1);
		tzset();
		for (int64_t t = utc(2024, 1, 1, 0, 0); t < utc(2050, 1, 1, 0, 0); t += 3599) {
			time_t tt = (time_t)t;
			struct tm tm;
			localtime_r(&tt, &tm);
			if (tm.tm_gmtoff != tz_offset(tz, t))
				fail_msg("%s at %lld: libc %ld, ours %d", zones[z], (long long)t, tm.tm_gmtoff,
					 tz_offset(tz, t));
		}
		tz_free(tz);
	}
	unsetenv("TZ");
	tzset();
}

static void test_tz_dst(void **state)
{
	(void)state;
	struct err e;
	struct tz *b = tz_load("Europe/Berlin", &e), *ny = tz_load("America/New_York", &e);
	assert_non_null(b);
	assert_non_null(ny);
	assert_int_equal(tz_offset(b, utc(2026, 3, 29, 1, 0) - 1), 3600);
	assert_int_equal(tz_offset(b, utc(2026, 3, 29, 1, 0)), 7200);
	assert_int_equal(tz_offset(b, utc(2026, 10, 25, 1, 0) - 1), 7200);
	assert_int_equal(tz_offset(b, utc(2026, 10, 25, 1, 0)), 3600);
	assert_int_equal(tz_offset(ny, utc(2026, 3, 8, 7, 0) - 1), -5 * 3600);
	assert_int_equal(tz_offset(ny, utc(2026, 3, 8, 7, 0)), -4 * 3600);
	assert_int_equal(tz_offset(ny, utc(2026, 11, 1, 6, 0) - 1), -4 * 3600);
	assert_int_equal(tz_offset(ny, utc(2026, 11, 1, 6, 0)), -5 * 3600);
	/* 2060: from the footer */
	assert_int_equal(tz_offset(b, utc(2060, 7, 1, 0, 0)), 7200);
	assert_int_equal(tz_offset(ny, utc(2060, 1, 1, 0, 0)), -5 * 3600);
	tz_free(b);
	tz_free(ny);
	/* hostile files */
	const unsigned char junk[] = "TZif2\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
	assert_null(tz_parse("junk", junk, sizeof junk - 1, &e));
	assert_null(tz_parse("junk", (const unsigned char *)"TZif", 4, &e));
	assert_false(tz_name_valid(""));
	assert_false(tz_name_valid("/etc/localtime"));
	assert_false(tz_name_valid("Europe/../../x"));
	assert_false(tz_name_valid("Europe//Berlin"));
	assert_true(tz_name_valid("Etc/GMT+5"));
}

/* a freeze in Berlin over the hour that the spring change skips and the
 * autumn change repeats; Monday to Friday 09:00-17:00 in New York */
static void test_windows_dst(void **state)
{
	(void)state;
	struct orch_policy p;
	parse_ok("{\"freezes\":[" REC("[\"sun\"]", "02:00", "03:00", "Europe/Berlin") "]}", &p);
	const struct orch_freeze *f = &p.freezes[0];
	size_t which;
	int64_t until, at;
	/* 2026-03-29: 02:00-03:00 does not exist */
	assert_false(orch_freeze_active(f, utc(2026, 3, 29, 0, 59)));
	assert_false(orch_freeze_active(f, utc(2026, 3, 29, 1, 0)));
	assert_false(orch_freeze_active(f, utc(2026, 3, 29, 1, 30)));
	/* a Sunday before: 01:00-02:00 UTC */
	assert_true(orch_freeze_active(f, utc(2026, 3, 22, 1, 0)));
	assert_false(orch_freeze_active(f, utc(2026, 3, 22, 2, 0)));
	/* 2026-10-25: it happens twice, 00:00-01:00 UTC (CEST) and 01:00-02:00 UTC (CET): one freeze of two hours */
	assert_false(orch_freeze_active(f, utc(2026, 10, 24, 23, 59)));
	assert_int_equal(orch_policy_frozen(&p, utc(2026, 10, 25, 0, 30), &which, &until), 1);
	assert_int_equal(until, utc(2026, 10, 25, 2, 0));
	/* the next one after the spring change is a week later (CEST: 00:00 UTC) */
	assert_int_equal(orch_policy_next_freeze(&p, utc(2026, 3, 29, 0, 0), &which, &at), 1);
	assert_int_equal(at, utc(2026, 4, 5, 0, 0));
	orch_policy_free(&p);

	parse_ok("{\"freezes\":[" REC("[\"mon\",\"tue\",\"wed\",\"thu\",\"fri\"]", "09:00", "17:00",
				      "America/New_York") "]}",
		 &p);
	/* Friday 2026-03-06 (EST): 14:00-22:00 UTC; Monday 2026-03-09 (EDT): 13:00-21:00 UTC */
	assert_int_equal(orch_policy_frozen(&p, utc(2026, 3, 6, 21, 59), &which, &until), 1);
	assert_int_equal(until, utc(2026, 3, 6, 22, 0));
	assert_int_equal(orch_policy_frozen(&p, utc(2026, 3, 7, 15, 0), &which, &until), 0);
	assert_int_equal(orch_policy_next_freeze(&p, utc(2026, 3, 7, 15, 0), &which, &at), 1);
	assert_int_equal(at, utc(2026, 3, 9, 13, 0));
	orch_policy_free(&p);
}

/* overlapping and adjoining freezes end together; one-time windows; the first listed is named */
static void test_windows_overlap(void **state)
{
	(void)state;
	struct orch_policy p;
	parse_ok("{\"freezes\":["
		 "{\"name\":\"once\",\"reason\":\"r\",\"from\":\"2026-12-01T10:00:00Z\",\"to\":\"2026-12-01T12:00:00Z\"},"
		 "{\"name\":\"daily\",\"reason\":\"r\",\"days\":[\"mon\",\"tue\",\"wed\",\"thu\",\"fri\",\"sat\",\"sun\"],"
		 "\"from\":\"11:00\",\"to\":\"14:00\",\"timezone\":\"UTC\"},"
		 "{\"name\":\"after\",\"reason\":\"r\",\"from\":\"2026-12-01T14:00:00Z\",\"to\":\"2026-12-01T15:00:00Z\"}]}",
		 &p);
	size_t which;
	int64_t until, at;
	assert_int_equal(orch_policy_frozen(&p, utc(2026, 12, 1, 9, 59), &which, &until), 0);
	assert_int_equal(orch_policy_next_freeze(&p, utc(2026, 12, 1, 9, 0), &which, &at), 1);
	assert_int_equal(which, 0);
	assert_int_equal(at, utc(2026, 12, 1, 10, 0));
	assert_int_equal(orch_policy_frozen(&p, utc(2026, 12, 1, 10, 30), &which, &until), 1);
	assert_int_equal(which, 0);
	assert_int_equal(until, utc(2026, 12, 1, 15, 0));
	assert_int_equal(orch_policy_frozen(&p, utc(2026, 12, 1, 12, 30), &which, &until), 1);
	assert_int_equal(which, 1);
	assert_int_equal(orch_policy_frozen(&p, utc(2026, 12, 1, 15, 0), &which, &until), 0);
	assert_int_equal(orch_policy_frozen(&p, utc(2026, 12, 2, 11, 0), &which, &until), 1);
	assert_int_equal(until, utc(2026, 12, 2, 14, 0));
	orch_policy_free(&p);
	/* every minute of every day: no end in sight */
	parse_ok("{\"freezes\":[" REC("[\"mon\",\"tue\",\"wed\",\"thu\",\"fri\",\"sat\",\"sun\"]", "00:00", "24:00",
				      "UTC") "]}",
		 &p);
	assert_int_equal(orch_policy_frozen(&p, utc(2026, 12, 2, 11, 0), &which, &until), 1);
	assert_true(until == INT64_MAX);
	orch_policy_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),           cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_tz_vs_libc),      cmocka_unit_test(test_tz_dst),
		cmocka_unit_test(test_windows_dst),     cmocka_unit_test(test_windows_overlap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
