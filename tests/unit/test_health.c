/* test_health.c: health checks read from image configs (runtime/rampd/health),
 * hostile labels, and HTTP/TCP probes against real sockets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runtime/rampd/health.h"

static void set_labels(struct img_config *c, const char *const *kv)
{
	struct err e;
	for (; kv[0]; kv += 2)
		assert_int_equal(img_kvs_set(&c->labels, kv[0], kv[1], &e), 0);
}

static void test_from_labels(void **state)
{
	(void)state;
	struct img_config c = {0};
	struct rt_health h;
	struct err e;
	static const char *const http[] = {"io.ramp.health.type", "http", "io.ramp.health.port", "8080",
					   "io.ramp.health.path", "/health", "io.ramp.health.interval", "2s",
					   "io.ramp.health.retries", "5", NULL};
	set_labels(&c, http);
	assert_int_equal(rt_health_from_config(&c, &h, &e), 0);
	assert_int_equal(h.type, RT_HEALTH_HTTP);
	assert_string_equal(h.port, "8080/tcp");
	assert_string_equal(h.path, "/health");
	assert_int_equal(h.interval, 2000000000LL);
	assert_int_equal(h.timeout, RT_HEALTH_TIMEOUT_DEFAULT);
	assert_int_equal(h.retries, 5);
	rt_health_free(&h);
	img_config_free(&c);

	memset(&c, 0, sizeof c);
	assert_int_equal(rt_health_from_config(&c, &h, &e), 0);
	assert_int_equal(h.type, RT_HEALTH_NONE);
	rt_health_free(&h);

	struct img_healthcheck hc = {0};
	assert_int_equal(strv_push(&hc.test, "CMD-SHELL", &e), 0);
	assert_int_equal(strv_push(&hc.test, "test -e /ok", &e), 0);
	hc.interval = 1000000000LL;
	c.healthcheck = &hc;
	assert_int_equal(rt_health_from_config(&c, &h, &e), 0);
	assert_int_equal(h.type, RT_HEALTH_EXEC);
	assert_int_equal(h.argv.n, 3);
	assert_string_equal(h.argv.v[0], "/bin/sh");
	assert_string_equal(h.argv.v[2], "test -e /ok");
	assert_int_equal(h.interval, 1000000000LL);
	rt_health_free(&h);
	strv_free(&hc.test);
	assert_int_equal(strv_push(&hc.test, "NONE", &e), 0);
	assert_int_equal(rt_health_from_config(&c, &h, &e), 0);
	assert_int_equal(h.type, RT_HEALTH_NONE);
	rt_health_free(&h);
	strv_free(&hc.test);
	assert_int_equal(strv_push(&hc.test, "CMD", &e), 0);
	assert_int_equal(rt_health_from_config(&c, &h, &e), -1);
	strv_free(&hc.test);
	assert_int_equal(strv_push(&hc.test, "RUN", &e), 0);
	assert_int_equal(rt_health_from_config(&c, &h, &e), -1);
	strv_free(&hc.test);
}

static void test_hostile_labels(void **state)
{
	(void)state;
	static const char *const bad[][8] = {
		{"io.ramp.health.type", "grpc", "io.ramp.health.port", "80", NULL, NULL, NULL, NULL},
		{"io.ramp.health.type", "http", NULL, NULL, NULL, NULL, NULL, NULL},
		{"io.ramp.health.type", "http", "io.ramp.health.port", "0", NULL, NULL, NULL, NULL},
		{"io.ramp.health.type", "http", "io.ramp.health.port", "70000", NULL, NULL, NULL, NULL},
		{"io.ramp.health.type", "http", "io.ramp.health.port", "53/udp", NULL, NULL, NULL, NULL},
		{"io.ramp.health.type", "http", "io.ramp.health.port", "80", "io.ramp.health.path", "health"},
		{"io.ramp.health.type", "http", "io.ramp.health.port", "80", "io.ramp.health.path", "/a b"},
		{"io.ramp.health.type", "http", "io.ramp.health.port", "80", "io.ramp.health.path", "/a\r\nX: y"},
		{"io.ramp.health.type", "tcp", "io.ramp.health.port", "80", "io.ramp.health.interval", "soon"},
		{"io.ramp.health.type", "tcp", "io.ramp.health.port", "80", "io.ramp.health.retries", "0"},
		{"io.ramp.health.type", "tcp", "io.ramp.health.port", "80", "io.ramp.health.retries", "-1"},
		{"io.ramp.health.type", "tcp", "io.ramp.health.port", "80", "io.ramp.health.retries", "99999999999999999999"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct img_config c = {0};
		struct rt_health h;
		struct err e;
		set_labels(&c, bad[i]);
		if (rt_health_from_config(&c, &h, &e) == 0)
			fail_msg("accepted health labels %zu", i);
		img_config_free(&c);
	}
}

/* A one-shot server: accepts once and writes `reply` (NULL: never answers). */
struct server {
	int fd;
	const char *reply;
	struct rt_addr addr;
	pthread_t t;
	char got[1024];
};

static void *serve(void *arg)
{
	struct server *s = arg;
	int c = accept(s->fd, NULL, NULL);
	if (c < 0)
		return NULL;
	ssize_t n = recv(c, s->got, sizeof s->got - 1, 0);
	s->got[n > 0 ? n : 0] = '\0';
	if (s->reply)
		send(c, s->reply, strlen(s->reply), MSG_NOSIGNAL);
	else
		sleep(1);
	close(c);
	return NULL;
}

static void server_start(struct server *s, const char *reply, bool accept_it)
{
	struct err e;
	memset(s, 0, sizeof *s);
	s->reply = reply;
	assert_int_equal(rt_addr_parse("127.0.0.1:0", true, &s->addr, &e), 0);
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&s->addr.ss, s->addr.len), 0);
	assert_int_equal(listen(s->fd, 4), 0);
	s->addr.len = sizeof s->addr.ss;
	getsockname(s->fd, (struct sockaddr *)&s->addr.ss, &s->addr.len);
	if (accept_it)
		pthread_create(&s->t, NULL, serve, s);
}

static void server_stop(struct server *s, bool accepted)
{
	if (accepted)
		pthread_join(s->t, NULL);
	close(s->fd);
}

static void test_http_probe(void **state)
{
	(void)state;
	struct server s;
	struct rt_probe p;
	server_start(&s, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", true);
	rt_probe_http(&s.addr, "/health", 2000000000LL, &p);
	server_stop(&s, true);
	assert_true(p.ok);
	assert_string_equal(p.output, "200 OK");
	assert_true(p.ms >= 0 && p.ms < 2000);
	assert_non_null(strstr(s.got, "GET /health HTTP/1.1\r\n"));

	server_start(&s, "HTTP/1.0 503 Service Unavailable\r\n\r\n", true);
	rt_probe_http(&s.addr, "/", 2000000000LL, &p);
	server_stop(&s, true);
	assert_false(p.ok);
	assert_string_equal(p.output, "503 Service Unavailable");

	server_start(&s, "SSH-2.0-OpenSSH\r\n", true);
	rt_probe_http(&s.addr, "/", 2000000000LL, &p);
	server_stop(&s, true);
	assert_false(p.ok);

	server_start(&s, "HTTP/1.1 200 \x01\xff\r\n\r\n", true);
	rt_probe_http(&s.addr, "/", 2000000000LL, &p);
	server_stop(&s, true);
	assert_true(p.ok);
	assert_string_equal(p.output, "200 ??");

	/* accepted but silent: the timeout decides */
	server_start(&s, NULL, true);
	rt_probe_http(&s.addr, "/", 200000000LL, &p);
	server_stop(&s, true);
	assert_false(p.ok);
	assert_true(p.ms >= 190 && p.ms < 900);
	assert_non_null(strstr(p.output, "timed out"));

	/* nobody listening */
	server_start(&s, NULL, false);
	struct rt_addr closed = s.addr;
	server_stop(&s, false);
	rt_probe_http(&closed, "/", 1000000000LL, &p);
	assert_false(p.ok);
	assert_non_null(strstr(p.output, "refused"));
	rt_probe_tcp(&closed, 1000000000LL, &p);
	assert_false(p.ok);

	/* listening (in the backlog) is enough for TCP */
	server_start(&s, NULL, false);
	rt_probe_tcp(&s.addr, 1000000000LL, &p);
	server_stop(&s, false);
	assert_true(p.ok);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_from_labels),
		cmocka_unit_test(test_hostile_labels),
		cmocka_unit_test(test_http_probe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
