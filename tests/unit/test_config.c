/* test_config.c: rampd.json (runtime/rampd/config): every field, the per-app
 * merge of defaults and apps, and hostile or mistaken input refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "image/limits.h"
#include "runtime/rampd/config.h"
#include "runtime/rampd/sockets.h"

static int parse(struct rt_config *c, const char *s, struct err *e)
{
	return rt_config_parse(c, s, strlen(s), e);
}

static void test_defaults(void **state)
{
	(void)state;
	struct rt_config c;
	struct rt_app_config a;
	struct err e;
	assert_int_equal(rt_config_init(&c, &e), 0);
	assert_int_equal(parse(&c, "{}", &e), 0);
	assert_string_equal(c.state_dir, RT_STATE_DIR_DEFAULT);
	assert_string_equal(c.socket, "/run/ramp/rampd.sock");
	assert_int_equal(c.listen.n, 0);
	assert_null(c.token_file);
	assert_int_equal(rt_config_app(&c, "web", &a, &e), 0);
	assert_true(a.handoff);
	assert_false(a.private_network);
	assert_int_equal(a.keep, 3);
	assert_false(a.auto_revert);
	assert_int_equal(a.stop_grace, 10000000000LL);
	assert_int_equal(a.log_max, 8u << 20);
	assert_int_equal(a.log_files, 2);
	assert_int_equal(a.n_ports, 0);
	rt_app_config_free(&a);
	rt_config_free(&c);
}

static void test_full(void **state)
{
	(void)state;
	static const char doc[] =
		"{\"state_dir\": \"/srv/ramp\", \"socket\": \"/run/r.sock\",\n"
		" \"listen\": [\"0.0.0.0:7300\", \"[::]:7300\"], \"token_file\": \"/etc/ramp/token\",\n"
		" \"tls_cert\": \"/etc/ramp/c.pem\", \"tls_key\": \"/etc/ramp/k.pem\", \"auth_file\": \"/etc/ramp/auth.json\",\n"
		" \"registries\": {\"registry.example.com\": {\"mirrors\": [\"mirror.local:5000\"], \"cacert\": \"/etc/ca.pem\"},\n"
		"                  \"127.0.0.1:5000\": {\"insecure\": true}},\n"
		" \"log_level\": \"debug\", \"leave_running\": true, \"gc_interval\": \"30m\",\n"
		" \"defaults\": {\"address\": \"127.0.0.1\", \"env\": {\"A\": \"1\", \"B\": \"2\"}, \"keep\": 5, \"stop_grace\": \"3s\",\n"
		"              \"metrics\": {\"interval\": \"10s\", \"max_series\": 16}},\n"
		" \"apps\": {\"web\": {\"ports\": {\"8080\": \"0.0.0.0:80\", \"53/udp\": [\"127.0.0.1:53\", \"[::1]:53\"]},\n"
		"                     \"env\": {\"B\": \"3\"}, \"memory_max\": \"512M\", \"cpus\": 1.5, \"pids_max\": 100,\n"
		"                     \"nofile\": 4096, \"handoff\": false, \"network\": \"private\", \"auto_revert\": true,\n"
		"                     \"health_deadline\": \"90s\", \"log_max\": \"64K\", \"log_files\": 10,\n"
		"                     \"metrics\": {\"http\": \"9100/metrics\", \"timeout\": \"500ms\",\n"
		"                     \"max_page\": \"1M\", \"max_samples\": 100}}}}";
	struct rt_config c = {0};
	struct rt_app_config a;
	struct err e;
	if (parse(&c, doc, &e) < 0)
		fail_msg("%s", e.msg);
	assert_string_equal(c.state_dir, "/srv/ramp");
	assert_int_equal(c.listen.n, 2);
	assert_string_equal(c.tls_key, "/etc/ramp/k.pem");
	assert_int_equal(c.log_level, LOG_LVL_DEBUG);
	assert_true(c.leave_running);
	assert_int_equal(c.gc_interval, 1800000000000LL);
	const struct rt_registry_config *r = rt_config_registry(&c, "registry.example.com");
	assert_non_null(r);
	assert_string_equal(r->mirrors.v[0], "mirror.local:5000");
	assert_false(r->insecure);
	assert_true(rt_config_registry(&c, "127.0.0.1:5000")->insecure);
	assert_null(rt_config_registry(&c, "docker.io"));

	assert_int_equal(rt_config_app(&c, "web", &a, &e), 0);
	assert_int_equal(a.n_ports, 2);
	assert_string_equal(a.ports[0].port, "8080/tcp");
	assert_string_equal(a.ports[0].addrs.v[0], "0.0.0.0:80");
	assert_string_equal(a.ports[1].port, "53/udp");
	assert_int_equal(a.ports[1].addrs.n, 2);
	assert_string_equal(a.address, "127.0.0.1");                 /* from defaults */
	assert_string_equal(img_kvs_get(&a.env, "A"), "1");          /* from defaults */
	assert_string_equal(img_kvs_get(&a.env, "B"), "3");          /* overridden */
	assert_int_equal(a.memory_max, 512ull << 20);
	assert_int_equal(a.cpu_quota_us, 150000);
	assert_int_equal(a.pids_max, 100);
	assert_int_equal(a.keep, 5);
	assert_false(a.handoff);
	assert_true(a.private_network);
	assert_true(a.auto_revert);
	assert_int_equal(a.health_deadline, 90000000000LL);
	assert_int_equal(a.stop_grace, 3000000000LL);
	assert_int_equal(a.log_max, 64u << 10);
	assert_int_equal(a.log_files, 10);
	/* "metrics", field by field: the app's over the defaults' over the built-in ones */
	assert_string_equal(a.metrics_http, "9100/metrics");
	assert_int_equal(a.metrics_interval, 10000000000LL);
	assert_int_equal(a.metrics_timeout, 500000000LL);
	assert_int_equal(a.metrics_max_page, 1u << 20);
	assert_int_equal(a.metrics_max_series, 16);
	assert_int_equal(a.metrics_max_samples, 100);
	rt_app_config_free(&a);

	/* an app not in the file gets the defaults */
	assert_int_equal(rt_config_app(&c, "other", &a, &e), 0);
	assert_int_equal(a.n_ports, 0);
	assert_int_equal(a.keep, 5);
	assert_true(a.handoff);
	assert_null(a.metrics_http); /* the image says */
	assert_int_equal(a.metrics_timeout, 2000000000LL);
	assert_int_equal(a.metrics_max_page, 4u << 20);
	assert_int_equal(a.metrics_max_samples, 720);
	rt_app_config_free(&a);
	rt_config_free(&c);
}

static void test_hostile(void **state)
{
	(void)state;
	static const char *bad[] = {
		"",
		"[]",
		"{\"state_dir\": \"relative\"}",
		"{\"state_dir\": 1}",
		"{\"state_dir\": \"/a\", \"state_dir\": \"/b\"}",
		"{\"unknown\": true}",
		"{\"listen\": [\"0.0.0.0:7300\"]}", /* no token file */
		"{\"listen\": [\"localhost:7300\"], \"token_file\": \"/t\"}",
		"{\"listen\": [\"0.0.0.0\"], \"token_file\": \"/t\"}",
		"{\"listen\": [\"0.0.0.0:99999\"], \"token_file\": \"/t\"}",
		"{\"listen\": [\"[::1:7300\"], \"token_file\": \"/t\"}",
		"{\"listen\": \"0.0.0.0:7300\", \"token_file\": \"/t\"}",
		"{\"listen\": [7300], \"token_file\": \"/t\"}",
		"{\"listen\": [\"0.0.0.0:7300\"], \"token_file\": \"/t\", \"tls_cert\": \"/c\"}",
		"{\"tls_cert\": \"/c\", \"tls_key\": \"/k\"}",
		"{\"log_level\": \"loud\"}",
		"{\"gc_interval\": \"0s\"}",
		"{\"gc_interval\": \"soon\"}",
		"{\"socket\": \"/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
		"{\"registries\": {\"bad host/x\": {}}}",
		"{\"registries\": {\"r.io\": {\"mirrors\": [\"a b\"]}}}",
		"{\"registries\": {\"r.io\": {\"insecure\": \"yes\"}}}",
		"{\"registries\": {\"r.io\": {\"token\": \"x\"}}}",
		"{\"registries\": {\"r.io\": []}}",
		"{\"apps\": {\"../etc\": {}}}",
		"{\"apps\": {\"Web\": {}}}",
		"{\"apps\": {\"\": {}}}",
		"{\"apps\": {\"web\": []}}",
		"{\"apps\": {\"web\": {\"ports\": {\"http\": \"0.0.0.0:80\"}}}}",
		"{\"apps\": {\"web\": {\"ports\": {\"0\": \"0.0.0.0:80\"}}}}",
		"{\"apps\": {\"web\": {\"ports\": {\"80/icmp\": \"0.0.0.0:80\"}}}}",
		"{\"apps\": {\"web\": {\"ports\": {\"80\": \"0.0.0.0\"}}}}",
		"{\"apps\": {\"web\": {\"ports\": {\"80\": []}}}}",
		"{\"apps\": {\"web\": {\"ports\": {\"80\": [1]}}}}",
		"{\"apps\": {\"web\": {\"ports\": {\"80\": 80}}}}",
		"{\"apps\": {\"web\": {\"address\": \"0.0.0.0:80\"}}}",
		"{\"apps\": {\"web\": {\"address\": \"example.com\"}}}",
		"{\"apps\": {\"web\": {\"env\": {\"A=B\": \"x\"}}}}",
		"{\"apps\": {\"web\": {\"env\": {\"A\": 1}}}}",
		"{\"apps\": {\"web\": {\"env\": [\"A=1\"]}}}",
		"{\"apps\": {\"web\": {\"network\": \"bridge\"}}}",
		"{\"apps\": {\"web\": {\"memory_max\": \"lots\"}}}",
		"{\"apps\": {\"web\": {\"memory_max\": \"99999999999T\"}}}",
		"{\"apps\": {\"web\": {\"memory_max\": -1}}}",
		"{\"apps\": {\"web\": {\"cpus\": 0}}}",
		"{\"apps\": {\"web\": {\"cpus\": -1.5}}}",
		"{\"apps\": {\"web\": {\"cpus\": \"2\"}}}",
		"{\"apps\": {\"web\": {\"keep\": 0}}}",
		"{\"apps\": {\"web\": {\"keep\": 1000}}}",
		"{\"apps\": {\"web\": {\"pids_max\": 1.5}}}",
		"{\"apps\": {\"web\": {\"auto_revert\": 1}}}",
		"{\"apps\": {\"web\": {\"health_deadline\": \"1ms\"}}}",
		"{\"apps\": {\"web\": {\"stop_grace\": \"forever\"}}}",
		"{\"apps\": {\"web\": {\"log_max\": \"1K\"}}}",
		"{\"apps\": {\"web\": {\"log_max\": 65535}}}",
		"{\"apps\": {\"web\": {\"log_max\": \"lots\"}}}",
		"{\"apps\": {\"web\": {\"log_files\": 0}}}",
		"{\"apps\": {\"web\": {\"log_files\": 11}}}",
		"{\"apps\": {\"web\": {\"log_files\": \"2\"}}}",
		"{\"apps\": {\"web\": {\"stop_grace\": \"9999999h\"}}}",
		"{\"apps\": {\"web\": {\"image\": \"x\"}}}",
		"{\"apps\": {\"web\": {\"metrics\": \"8080/metrics\"}}}",
		"{\"apps\": {\"web\": {\"metrics\": {\"http\": \"metrics\"}}}}",
		"{\"apps\": {\"web\": {\"metrics\": {\"http\": \"99999/metrics\"}}}}",
		"{\"apps\": {\"web\": {\"metrics\": {\"http\": \"8080/a b\"}}}}",
		"{\"apps\": {\"web\": {\"metrics\": {\"interval\": \"10ms\"}}}}",
		"{\"apps\": {\"web\": {\"metrics\": {\"interval\": \"2h\"}}}}",
		"{\"apps\": {\"web\": {\"metrics\": {\"timeout\": \"1ms\"}}}}",
		"{\"apps\": {\"web\": {\"metrics\": {\"max_page\": \"100\"}}}}",
		"{\"apps\": {\"web\": {\"metrics\": {\"max_page\": \"1G\"}}}}",
		"{\"apps\": {\"web\": {\"metrics\": {\"max_series\": 0}}}}",
		"{\"apps\": {\"web\": {\"metrics\": {\"max_series\": 1025}}}}",
		"{\"apps\": {\"web\": {\"metrics\": {\"max_samples\": 1}}}}",
		"{\"apps\": {\"web\": {\"metrics\": {\"max_samples\": 17281}}}}",
		"{\"apps\": {\"web\": {\"metrics\": {\"scrape\": true}}}}",
		"{\"defaults\": {\"metrics\": {\"max_series\": \"64\"}}}",
		"{\"defaults\": {\"keep\": -3}}",
		"{\"defaults\": []}",
		"{} {}",
		"{\"a\":",
		"{\"state_dir\": \"/a\\u0000b\"}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct rt_config c;
		struct err e;
		assert_int_equal(rt_config_init(&c, &e), 0);
		if (parse(&c, bad[i], &e) == 0)
			fail_msg("accepted config %s", bad[i]);
		assert_true(strlen(e.msg) > 0);
		/* a refused document leaves the old configuration in place */
		assert_string_equal(c.state_dir, RT_STATE_DIR_DEFAULT);
		rt_config_free(&c);
	}
	/* deep nesting and a huge document */
	size_t n = 100000;
	char *deep = malloc(2 * n + 1);
	memset(deep, '[', n);
	memset(deep + n, ']', n);
	deep[2 * n] = '\0';
	struct rt_config c = {0};
	struct err e;
	assert_int_equal(parse(&c, deep, &e), -1);
	assert_non_null(strstr(e.msg, "nested deeper than 64 levels"));
	char *big = malloc(RT_CONFIG_MAX + 100);
	memset(big, ' ', RT_CONFIG_MAX + 99);
	big[0] = '{';
	big[RT_CONFIG_MAX + 98] = '}';
	assert_int_equal(rt_config_parse(&c, big, RT_CONFIG_MAX + 99, &e), -1);
	free(deep);
	free(big);
	rt_config_free(&c);
}

static void test_names_sizes_addresses(void **state)
{
	(void)state;
	struct err e;
	uint64_t v;
	struct rt_addr a;
	char buf[64];
	assert_true(rt_app_name_valid("web"));
	assert_true(rt_app_name_valid("a0_.-z"));
	assert_true(rt_app_name_valid("abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk"));
	const char *bad_names[] = {"", ".", "..", "-a", "_a", "A", "a/b", "a b", "a\n",
				   "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl"};
	for (size_t i = 0; i < sizeof bad_names / sizeof *bad_names; i++)
		if (rt_app_name_valid(bad_names[i]))
			fail_msg("accepted app name \"%s\"", bad_names[i]);
	assert_int_equal(img_parse_size("1024", &v, &e), 0);
	assert_int_equal(v, 1024);
	assert_int_equal(img_parse_size("2G", &v, &e), 0);
	assert_int_equal(v, 2ull << 30);
	const char *bad_sizes[] = {"", "G", "1g", "1GB", "-1", "1.5G", "99999999999999999999", "17179869184T"};
	for (size_t i = 0; i < sizeof bad_sizes / sizeof *bad_sizes; i++)
		if (img_parse_size(bad_sizes[i], &v, &e) == 0)
			fail_msg("accepted size \"%s\"", bad_sizes[i]);
	assert_int_equal(rt_addr_parse("[::]:80", true, &a, &e), 0);
	rt_addr_format(&a, buf, sizeof buf);
	assert_string_equal(buf, "[::]:80");
	struct rt_addr l;
	rt_addr_connectable(&a, &l);
	rt_addr_format(&l, buf, sizeof buf);
	assert_string_equal(buf, "[::1]:80");
	assert_int_equal(rt_addr_parse("0.0.0.0:8080", true, &a, &e), 0);
	rt_addr_connectable(&a, &l);
	rt_addr_format(&l, buf, sizeof buf);
	assert_string_equal(buf, "127.0.0.1:8080");
	const char *bad_addrs[] = {"", ":80", "1.2.3.4:", "1.2.3.4:x", "1.2.3:80", "::1:80", "[::1]80", "[1.2.3.4]:80",
				   "[::1", "host:80", "1.2.3.4:80:80", "1.2.3.4: 80", "1.2.3.4:+80"};
	for (size_t i = 0; i < sizeof bad_addrs / sizeof *bad_addrs; i++)
		if (rt_addr_parse(bad_addrs[i], true, &a, &e) == 0)
			fail_msg("accepted address \"%s\"", bad_addrs[i]);
	unsigned port;
	int type, proto;
	assert_int_equal(rt_port_parse("53/udp", &port, &type, &proto, buf, sizeof buf, &e), 0);
	assert_string_equal(buf, "53/udp");
	assert_int_equal(rt_port_parse("8080", &port, &type, &proto, buf, sizeof buf, &e), 0);
	assert_string_equal(buf, "8080/tcp");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_names_sizes_addresses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
