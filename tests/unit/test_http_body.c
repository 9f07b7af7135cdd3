/* test_http_body.c: response bodies kept in memory (lib/http on_body) from a
 * real server on loopback that sends them in small pieces: a body of exactly
 * max_body is kept whole, one byte more is refused, an error body beside a
 * sink keeps its first 64 KiB, and a transfer run again holds only its new
 * body. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/http.h"

#define BIG ((3u << 20) + 7) /* more than the first allocations, not a power of two */

/* The body byte at offset i. */
static char body_byte(size_t i)
{
	return (char)('a' + (i * 7 + i / 251) % 26);
}

/* A server answering `count` connections, one request each: the status,
 * then `len` body bytes in writes of 1000. */
struct server {
	int fd;
	unsigned port;
	int count;
	const char *status;
	size_t lens[4];
	pthread_t t;
};

static void *serve(void *arg)
{
	struct server *s = arg;
	for (int k = 0; k < s->count; k++) {
		int c = accept(s->fd, NULL, NULL);
		if (c < 0)
			return NULL;
		char req[4096];
		size_t got = 0;
		while (got < sizeof req - 1) {
			ssize_t r = recv(c, req + got, sizeof req - 1 - got, 0);
			if (r <= 0)
				break;
			got += (size_t)r;
			req[got] = '\0';
			if (strstr(req, "\r\n\r\n"))
				break;
		}
		char head[256], piece[1000];
		int hn = snprintf(head, sizeof head, "HTTP/1.1 %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
				  s->status, s->lens[k]);
		send(c, head, (size_t)hn, MSG_NOSIGNAL);
		for (size_t off = 0; off < s->lens[k];) {
			size_t n = s->lens[k] - off < sizeof piece ? s->lens[k] - off : sizeof piece;
			for (size_t i = 0; i < n; i++)
				piece[i] = body_byte(off + i);
			if (send(c, piece, n, MSG_NOSIGNAL) < 0)
				break; /* the client stopped reading (over its limit) */
			off += n;
		}
		close(c);
	}
	return NULL;
}

static void server_start(struct server *s, const char *status, int count, const size_t *lens)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	memset(s, 0, sizeof *s);
	s->status = status;
	s->count = count;
	memcpy(s->lens, lens, (size_t)count * sizeof *lens);
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s->fd >= 0);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(s->fd, 4), 0);
	getsockname(s->fd, (struct sockaddr *)&a, &al);
	s->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&s->t, NULL, serve, s), 0);
}

static void server_stop(struct server *s)
{
	pthread_join(s->t, NULL);
	close(s->fd);
}

static struct http_client *client(void)
{
	struct err e;
	struct http_client_opts o = {.timeout_s = 10};
	struct http_client *c = http_client_new(&o, &e);
	if (!c)
		fail_msg("%s", e.msg);
	return c;
}

static void xfer_to(struct http_xfer *x, const struct server *s)
{
	char url[64];
	struct err e;
	http_xfer_init(x);
	snprintf(url, sizeof url, "http://127.0.0.1:%u/b", s->port);
	assert_int_equal(http_xfer_url(x, url, &e), 0);
}

static void assert_body(const struct http_xfer *x, size_t len)
{
	assert_int_equal(x->resp_len, len);
	assert_non_null(x->resp_body);
	for (size_t i = 0; i < len; i++)
		if (x->resp_body[i] != body_byte(i))
			fail_msg("body byte %zu differs", i);
	assert_int_equal(x->resp_body[len], '\0');
}

/* max_body is the limit exactly: a body of that size is kept whole, one byte
 * more is refused; run again, the transfer holds only its new body. */
static void test_limit_exact(void **state)
{
	(void)state;
	struct http_client *c = client();
	struct server s;
	struct http_xfer x;
	struct err e;
	const size_t lens[] = {BIG, BIG, 10};
	server_start(&s, "200 OK", 3, lens);
	xfer_to(&x, &s);
	x.max_body = BIG;
	if (http_perform(c, &x, &e) < 0)
		fail_msg("%s", e.msg);
	assert_int_equal(x.status, 200);
	assert_body(&x, BIG);

	x.max_body = BIG - 1;
	assert_int_equal(http_perform(c, &x, &e), -1);
	assert_int_equal(x.fail, HTTP_FAIL_TOO_BIG);
	char want[96];
	snprintf(want, sizeof want, "the response is larger than the limit of %u bytes", BIG - 1);
	assert_string_equal(x.errmsg, want);

	x.max_body = BIG;
	if (http_perform(c, &x, &e) < 0)
		fail_msg("%s", e.msg);
	assert_body(&x, 10);
	server_stop(&s);
	http_xfer_free(&x);
	http_client_free(c);
}

static int sink_nothing(void *ctx, const void *buf, size_t len)
{
	(void)ctx;
	(void)buf;
	(void)len;
	return -1; /* an error status never reaches the sink */
}

/* An error body beside a sink is kept for its message: its first 64 KiB. */
static void test_error_body_start(void **state)
{
	(void)state;
	struct http_client *c = client();
	struct server s;
	struct http_xfer x;
	struct err e;
	const size_t lens[] = {200000};
	server_start(&s, "404 Not Found", 1, lens);
	xfer_to(&x, &s);
	x.sink = sink_nothing;
	if (http_perform(c, &x, &e) < 0)
		fail_msg("%s", e.msg);
	assert_int_equal(x.status, 404);
	assert_body(&x, 64u << 10);
	server_stop(&s);
	http_xfer_free(&x);
	http_client_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limit_exact),
		cmocka_unit_test(test_error_body_start),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
