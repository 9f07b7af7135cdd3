/* test_fleet.c: fleet files (orchestrator/fleet): both forms, addresses,
 * labels, and hostile input (huge lines, NUL bytes, bad ports, duplicates,
 * the host limit). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "orchestrator/fleet.h"

static int parse(const char *s, struct orch_fleet *f, struct err *e)
{
	return orch_fleet_parse(s, strlen(s), "fleet", f, e);
}

static void test_text(void **state)
{
	(void)state;
	struct orch_fleet f;
	struct err e;
	const char *txt = "# the fleet\n"
			  "\n"
			  "web-1 10.0.0.1 zone=a rack=r1\n"
			  "  web-2\t10.0.0.2:7400   zone=b # a comment\r\n"
			  "web-3 [::1]:7301\n"
			  "web-4 https://db.example.com token_file=/etc/ramp/t4\n"
			  "web-5 unix:/run/ramp/rampd.sock\n"
			  "web-6 http://Host-6.Example:8000/";
	assert_int_equal(parse(txt, &f, &e), 0);
	assert_int_equal(f.n, 6);
	assert_string_equal(f.hosts[0].name, "web-1");
	assert_string_equal(f.hosts[0].hostpart, "10.0.0.1");
	assert_int_equal(f.hosts[0].port, 7300);
	assert_int_equal(f.hosts[0].tls, -1);
	assert_string_equal(orch_host_label(&f.hosts[0], "zone"), "a");
	assert_string_equal(orch_host_label(&f.hosts[0], "rack"), "r1");
	assert_null(orch_host_label(&f.hosts[0], "nope"));
	assert_int_equal(f.hosts[1].port, 7400);
	assert_int_equal(f.hosts[1].n_labels, 1);
	assert_string_equal(f.hosts[2].hostpart, "::1");
	assert_int_equal(f.hosts[2].port, 7301);
	assert_int_equal(f.hosts[3].tls, 1);
	assert_string_equal(orch_host_label(&f.hosts[3], ORCH_LABEL_TOKEN_FILE), "/etc/ramp/t4");
	assert_string_equal(f.hosts[4].unix_path, "/run/ramp/rampd.sock");
	assert_null(f.hosts[4].hostpart);
	assert_string_equal(f.hosts[5].hostpart, "host-6.example");
	assert_int_equal(f.hosts[5].port, 8000);

	char *u = orch_host_base_url(&f.hosts[0], false);
	assert_string_equal(u, "http://10.0.0.1:7300");
	free(u);
	u = orch_host_base_url(&f.hosts[0], true); /* --cacert: https where the address does not say */
	assert_string_equal(u, "https://10.0.0.1:7300");
	free(u);
	u = orch_host_base_url(&f.hosts[2], false);
	assert_string_equal(u, "http://[::1]:7301");
	free(u);
	u = orch_host_base_url(&f.hosts[3], false);
	assert_string_equal(u, "https://db.example.com:7300");
	free(u);
	u = orch_host_base_url(&f.hosts[4], true);
	assert_string_equal(u, "http://localhost");
	free(u);
	u = orch_host_base_url(&f.hosts[5], true);
	assert_string_equal(u, "http://host-6.example:8000");
	free(u);
	orch_fleet_free(&f);
}

static void test_json(void **state)
{
	(void)state;
	struct orch_fleet f;
	struct err e;
	assert_int_equal(parse("{\"hosts\":[{\"name\":\"a\",\"address\":\"10.0.0.1:1\",\"labels\":{\"zone\":\"x\"}},"
			       "{\"name\":\"b\",\"address\":\"10.0.0.2\"}]}",
			       &f, &e),
			 0);
	assert_int_equal(f.n, 2);
	assert_string_equal(orch_host_label(&f.hosts[0], "zone"), "x");
	assert_int_equal(f.hosts[1].port, 7300);
	orch_fleet_free(&f);
	assert_int_equal(parse("  [{\"name\":\"a\",\"address\":\"h\"}]", &f, &e), 0);
	assert_int_equal(f.n, 1);
	orch_fleet_free(&f);
}

/* Each bad input is refused, and the message contains the expected words. */
static void expect_bad(const char *buf, size_t len, const char *words)
{
	struct orch_fleet f;
	struct err e;
	if (orch_fleet_parse(buf, len, "fleet", &f, &e) == 0) {
		orch_fleet_free(&f);
		fail_msg("accepted a bad fleet (expected \"%s\")", words);
	}
	if (!strstr(e.msg, words))
		fail_msg("message \"%s\" does not say \"%s\"", e.msg, words);
}

static void bad(const char *s, const char *words)
{
	expect_bad(s, strlen(s), words);
}

static void test_hostile(void **state)
{
	(void)state;
	bad("", "no hosts");
	bad("# only a comment\n\n", "no hosts");
	bad("a\n", "line 1: expected");
	bad("a 10.0.0.1:0\n", "line 1: address \"10.0.0.1:0\": bad port");
	bad("a 10.0.0.1:65536\n", "bad port");
	bad("a 10.0.0.1:-1\n", "bad port");
	bad("a 10.0.0.1:+80\n", "bad port");
	bad("a 10.0.0.1:80x\n", "bad port");
	bad("a 10.0.0.1:99999999999999999999\n", "bad port");
	bad("a 10.0.0.1:\n", "bad port");
	bad("a 1.2.3\n", "neither an IPv4 address nor a host name");
	bad("a 300.1.1.1\n", "neither");
	bad("a 10.0.0x1\n", "neither"); /* an IPv4 number to curl, not a name */
	bad("a host.0x7f\n", "neither");
	bad("a bad_host!\n", "neither");
	bad("a [::1\n", "expected [IPv6]:PORT");
	bad("a [zz::1]:80\n", "not an IPv6 address");
	bad("a ftp://h\n", "only http:// and https://");
	bad("a h/path\n", "a path is not allowed");
	bad("a unix:relative.sock\n", "absolute path");
	bad("-a 10.0.0.1\n", "host name");
	bad("a 10.0.0.1 zone\n", "expected key=value");
	bad("a 10.0.0.1 zone=\n", "a value is 1 to 255");
	bad("a 10.0.0.1 =x\n", "a key is 1 to 63");
	bad("a 10.0.0.1 zone=a zone=b\n", "label \"zone\" given twice");
	bad("a 10.0.0.1\nb 10.0.0.2\na 10.0.0.3\n", "line 3: host name \"a\" is already used on line 1");
	/* names differ in case only: one host to DNS and to people */
	bad("web1 10.0.0.1\nWEB1 10.0.0.2\n", "line 2: host name \"WEB1\" is already used on line 1");
	bad("{\"hosts\":[{\"name\":\"Web-1\",\"address\":\"h\"},{\"name\":\"wEB-1\",\"address\":\"i\"}]}",
	    "host #2: host name \"wEB-1\" is already used on host #1");
	bad("a 10.0.0.1\n# x\nb 10.0.0.1:7300\n", "line 3: address 10.0.0.1:7300 of \"b\" is already used by \"a\" on line 1");
	bad("a Host.example:80\nb host.EXAMPLE:80\n", "already used by \"a\"");
	bad("a [::0]:80\nb [0:0::]:80\n", "already used by \"a\""); /* one IPv6 address, two spellings */
	bad("a 10.0.0.1\nb 10.0.0.2\x01\n", "line 2: byte 0x01");
	bad("a 10.0.0.1 zone=z\xc3\xbcrich\n", "line 1: byte 0xc3");
	expect_bad("a 10.0.0.1\nb 10.0.0.2\0\n", 23, "line 2: NUL byte");
	expect_bad("\0", 1, "line 1: NUL byte");
	/* JSON */
	bad("{\"hosts\":[{\"name\":\"a\",\"address\":\"h\",\"x\":1}]}", "unknown field \"x\"");
	bad("{\"hosts\":[{\"name\":1,\"address\":\"h\"}]}", "expected string");
	bad("{\"hosts\":[{\"name\":\"a\"}]}", "missing field \"address\"");
	bad("{\"hosts\":[{\"name\":\"a\",\"address\":\"h\",\"labels\":{\"z\":1}}]}", "expected a string");
	bad("{\"hosts\":[{\"name\":\"a\",\"address\":\"h\"},{\"name\":\"a\",\"address\":\"i\"}]}",
	    "host #2: host name \"a\" is already used on host #1");
	bad("{\"hosts\":{}}", "expected array");
	bad("{\"nodes\":[]}", "unknown field");
	bad("[{\"name\":\"a\",\"address\":\"h\"}] trailing", "invalid JSON");
	bad("\"hosts\" x", "host name");
	bad("{\"hosts\":[1]}", "expected a JSON object");
	bad("[]", "no hosts");
}

static void test_huge_line(void **state)
{
	(void)state;
	size_t n = ORCH_FLEET_MAX_LINE + 10;
	char *s = malloc(n + 40);
	strcpy(s, "a 10.0.0.1\nb 10.0.0.2 k=");
	size_t l = strlen(s);
	memset(s + l, 'v', n);
	s[l + n] = '\n';
	expect_bad(s, l + n + 1, "line 2: longer than 4096 bytes");
	/* a line of exactly the limit is read (and refused for its label, not its length) */
	memset(s, 'x', n);
	s[0] = 'a';
	s[1] = ' ';
	memcpy(s + 2, "10.0.0.1 k=", 11);
	expect_bad(s, ORCH_FLEET_MAX_LINE, "a value is 1 to 255");
	free(s);
}

static char *many_hosts(size_t n, size_t *len)
{
	char *buf = malloc(n * 40 + 1);
	size_t l = 0;
	for (size_t i = 0; i < n; i++)
		l += (size_t)sprintf(buf + l, "h%zu 10.%zu.%zu.%zu zone=z%zu\n", i, (i >> 16) & 255, (i >> 8) & 255,
				     i & 255, i % 7);
	*len = l;
	return buf;
}

static void test_limit(void **state)
{
	(void)state;
	struct orch_fleet f;
	struct err e;
	size_t len;
	char *buf = many_hosts(ORCH_FLEET_MAX_HOSTS, &len);
	clock_t t0 = clock();
	assert_int_equal(orch_fleet_parse(buf, len, "fleet", &f, &e), 0);
	double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	assert_int_equal(f.n, ORCH_FLEET_MAX_HOSTS);
	if (secs > 5)
		fail_msg("100,000 hosts took %.1f s to parse", secs);
	orch_fleet_free(&f);
	free(buf);
	buf = many_hosts(ORCH_FLEET_MAX_HOSTS + 1, &len);
	expect_bad(buf, len, "line 100001: more than 100000 hosts");
	free(buf);
	/* the last of 100,000 duplicates the first: found, with both lines */
	buf = many_hosts(ORCH_FLEET_MAX_HOSTS, &len);
	memcpy(buf + len - strlen("h99999 10.1.134.159 zone=z4\n"), "h0     10.1.134.159 zone=z4\n", 28);
	expect_bad(buf, len, "line 100000: host name \"h0\" is already used on line 1");
	free(buf);
}

static void test_copy(void **state)
{
	(void)state;
	struct orch_fleet f;
	struct orch_host c;
	struct err e;
	assert_int_equal(parse("a https://[fe80::1]:9 zone=q token_file=/t\n", &f, &e), 0);
	assert_int_equal(orch_host_copy(&c, &f.hosts[0], &e), 0);
	assert_string_equal(c.hostpart, "fe80::1");
	assert_int_equal(c.tls, 1);
	assert_int_equal(c.port, 9);
	assert_string_equal(orch_host_label(&c, "token_file"), "/t");
	orch_host_free(&c);
	orch_fleet_free(&f);
	assert_true(orch_name_valid("a"));
	assert_true(orch_name_valid("Web_3.eu-1"));
	assert_false(orch_name_valid(".a"));
	assert_false(orch_name_valid("a/b"));
	assert_false(orch_name_valid("0123456789012345678901234567890123456789012345678901234567890123"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text),	  cmocka_unit_test(test_json),	cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_huge_line), cmocka_unit_test(test_limit), cmocka_unit_test(test_copy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
