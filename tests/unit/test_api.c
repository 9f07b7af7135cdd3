/* test_api.c: rampd's control API (runtime/rampd/api_server): strict request bodies, and
 * a real server (libmicrohttpd on a unix socket and TCP, in this process)
 * spoken to with libcurl: routing, errors, tokens, rate limiting, limits,
 * generations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fs.h"
#include "lib/json.h"
#include "runtime/rampd/api_server.h"
#include "runtime/rampd/daemon.h"

#define TOKEN "test-token-0123456789abcdef"
#define D64(c) c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c
#define DIG_A "sha256:" D64("a")
#define DIG_B "sha256:" D64("b")

/* ---- request bodies ---- */

static void test_parse_put(void **state)
{
	(void)state;
	struct rt_put_req r;
	struct err e;
	const char *ok = "{\"image\":\"127.0.0.1:5000/team/web@" DIG_A "\",\"rollout\":\"r-1\",\"generation\":12}";
	assert_int_equal(rt_api_parse_put(ok, strlen(ok), &r, &e), 0);
	assert_int_equal(r.generation, 12);
	assert_string_equal(r.digest.s, DIG_A);
	assert_string_equal(r.rollout, "r-1");
	const char *no_rollout = "{\"image\":\"r.io/web@" DIG_A "\",\"generation\":1}";
	assert_int_equal(rt_api_parse_put(no_rollout, strlen(no_rollout), &r, &e), 0);
	static const char *bad[] = {
		"",
		"null",
		"[]",
		"{}",
		"{\"image\":\"r.io/web@" DIG_A "\"}",
		"{\"image\":\"r.io/web@" DIG_A "\",\"generation\":0}",
		"{\"image\":\"r.io/web@" DIG_A "\",\"generation\":-4}",
		"{\"image\":\"r.io/web@" DIG_A "\",\"generation\":\"12\"}",
		"{\"image\":\"r.io/web@" DIG_A "\",\"generation\":1.5}",
		"{\"image\":\"r.io/web@" DIG_A "\",\"generation\":99999999999999999999999}",
		"{\"image\":\"r.io/web:latest\",\"generation\":1}",
		"{\"image\":\"r.io/web\",\"generation\":1}",
		"{\"image\":\"r.io/web@sha256:abc\",\"generation\":1}",
		"{\"image\":\"r.io/web@md5:" D64("a") "\",\"generation\":1}",
		"{\"image\":\"r.io/web@sha256:" D64("A") "\",\"generation\":1}",
		"{\"image\":\"@" DIG_A "\",\"generation\":1}",
		"{\"image\":\"r.io//web@" DIG_A "\",\"generation\":1}",
		"{\"image\":\"r.io/../web@" DIG_A "\",\"generation\":1}",
		"{\"image\":\"r.io/web/@" DIG_A "\",\"generation\":1}",
		"{\"image\":\"r.io/we b@" DIG_A "\",\"generation\":1}",
		"{\"image\":\"r.io/WEB@" DIG_A "\",\"generation\":1}",
		"{\"image\":\"r.io/web\\n@" DIG_A "\",\"generation\":1}",
		"{\"image\":123,\"generation\":1}",
		"{\"image\":null,\"generation\":1}",
		"{\"image\":\"r.io/web@" DIG_A "\",\"generation\":1,\"extra\":1}",
		"{\"image\":\"r.io/web@" DIG_A "\",\"generation\":1,\"generation\":2}",
		"{\"image\":\"r.io/web@" DIG_A "\",\"generation\":1,\"rollout\":5}",
		"{\"image\":\"r.io/web@" DIG_A "\",\"generation\":1,\"rollout\":\"a\\u0001b\"}",
		"{\"image\":\"r.io/web@" DIG_A "\",\"generation\":1} x",
		"{\"image\":\"r.io/web@" DIG_A "\",\"generation\":1,\"rollout\":\"\xff\xfe\"}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		if (rt_api_parse_put(bad[i], strlen(bad[i]), &r, &e) == 0)
			fail_msg("accepted PUT body %s", bad[i]);
	char long_rollout[400];
	snprintf(long_rollout, sizeof long_rollout, "{\"image\":\"r.io/web@" DIG_A "\",\"generation\":1,\"rollout\":\"%0200d\"}",
		 0);
	assert_int_equal(rt_api_parse_put(long_rollout, strlen(long_rollout), &r, &e), -1);
}

static void test_parse_revert_delete(void **state)
{
	(void)state;
	struct rt_revert_req r;
	struct rt_delete_req d;
	struct err e;
	const char *prev = "{\"to\":\"previous\",\"generation\":3}";
	assert_int_equal(rt_api_parse_revert(prev, strlen(prev), &r, &e), 0);
	assert_true(r.previous);
	const char *dig = "{\"to\":\"" DIG_B "\",\"generation\":3}";
	assert_int_equal(rt_api_parse_revert(dig, strlen(dig), &r, &e), 0);
	assert_false(r.previous);
	assert_string_equal(r.to.s, DIG_B);
	static const char *bad[] = {"{}", "{\"to\":\"previous\"}", "{\"to\":\"latest\",\"generation\":1}",
				    "{\"to\":1,\"generation\":1}", "{\"to\":\"previous\",\"generation\":1,\"why\":\"x\"}"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		if (rt_api_parse_revert(bad[i], strlen(bad[i]), &r, &e) == 0)
			fail_msg("accepted revert body %s", bad[i]);
	assert_int_equal(rt_api_parse_delete("", 0, &d, &e), 0);
	assert_false(d.has_generation);
	assert_int_equal(rt_api_parse_delete("{\"generation\":4}", 16, &d, &e), 0);
	assert_true(d.has_generation);
	assert_int_equal(rt_api_parse_delete("{}", 2, &d, &e), 0);
	assert_false(d.has_generation);
	assert_int_equal(rt_api_parse_delete("{\"gen\":4}", 9, &d, &e), -1);
	assert_int_equal(rt_api_parse_delete("{\"generation\":0}", 16, &d, &e), -1);
}

/* ---- a live server ---- */

struct fixture {
	char *dir, *sock;
	int port;
	struct rt_daemon d;
};

struct resp {
	long status;
	char body[70000];
	size_t len;
};

static size_t collect(char *p, size_t sz, size_t n, void *ctx)
{
	struct resp *r = ctx;
	size_t l = sz * n;
	if (r->len + l >= sizeof r->body)
		l = sizeof r->body - 1 - r->len;
	memcpy(r->body + r->len, p, l);
	r->len += l;
	r->body[r->len] = '\0';
	return sz * n;
}

/* A request over the unix socket (tcp=false) or TCP with an optional token. */
static long req(struct fixture *f, bool tcp, const char *token, const char *method, const char *path,
		const char *body, size_t body_len, struct resp *r)
{
	char url[512], auth[256];
	struct curl_slist *h = NULL;
	CURL *c = curl_easy_init();
	memset(r, 0, sizeof *r);
	snprintf(url, sizeof url, "http://%s%s", tcp ? "127.0.0.1" : "localhost", path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	if (tcp)
		curl_easy_setopt(c, CURLOPT_PORT, (long)f->port);
	else
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, f->sock);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body_len);
	}
	if (token) {
		snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
		h = curl_slist_append(h, auth);
	}
	h = curl_slist_append(h, "Expect:");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	CURLcode rc = curl_easy_perform(c);
	if (rc != CURLE_OK)
		fail_msg("%s %s: %s", method, path, curl_easy_strerror(rc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return r->status;
}

static long ureq(struct fixture *f, const char *method, const char *path, const char *body, struct resp *r)
{
	return req(f, false, NULL, method, path, body, body ? strlen(body) : 0, r);
}

/* The response is an error document with this code. */
static void assert_error(const struct resp *r, const char *code)
{
	struct err e;
	struct json *j = json_parse(r->body, r->len, &e);
	if (!j)
		fail_msg("not JSON (%s): %s", e.msg, r->body);
	const char *got = json_get_str(j, "error"), *msg = json_get_str(j, "message");
	if (!got || strcmp(got, code) || !msg || !*msg)
		fail_msg("expected error %s, got %s", code, r->body);
	json_free(j);
}

static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof a;
	bind(fd, (struct sockaddr *)&a, sizeof a);
	getsockname(fd, (struct sockaddr *)&a, &l);
	close(fd);
	return ntohs(a.sin_port);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	struct err e;
	char *cfg, *tok, *json;
	f->dir = fs_mkdtemp("ramp-test-api", &e);
	f->port = free_port();
	assert_int_not_equal(asprintf(&f->sock, "%s/api.sock", f->dir), -1);
	assert_int_not_equal(asprintf(&tok, "%s/token", f->dir), -1);
	assert_int_not_equal(asprintf(&cfg, "%s/rampd.json", f->dir), -1);
	assert_int_not_equal(asprintf(&json,
				      "{\"state_dir\": \"%s/state\", \"socket\": \"%s\", \"listen\": [\"127.0.0.1:%d\"],"
				      " \"token_file\": \"%s\", \"log_level\": \"error\"}",
				      f->dir, f->sock, f->port, tok),
			     -1);
	assert_int_equal(fs_write_atomic(tok, TOKEN "\n", strlen(TOKEN) + 1, 0600, &e), 0);
	assert_int_equal(fs_write_atomic(cfg, json, strlen(json), 0600, &e), 0);
	struct rt_daemon_opts o = {.config_path = cfg};
	if (rt_daemon_open(&f->d, &o, &e) < 0 || rt_api_start(&f->d, &f->d.cfg, &f->d.api, &e) < 0)
		fail_msg("%s", e.msg);
	free(cfg);
	free(tok);
	free(json);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	struct err e;
	rt_daemon_close(&f->d);
	fs_rm_rf(f->dir, &e);
	free(f->dir);
	free(f->sock);
	free(f);
	return 0;
}

static void test_routes(void **state)
{
	struct fixture *f = *state;
	struct resp r;
	struct stat st;
	assert_int_equal(stat(f->sock, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(ureq(f, "GET", "/healthz", NULL, &r), 200);
	assert_string_equal(r.body, "{\"status\":\"ok\"}\n");
	assert_int_equal(ureq(f, "GET", "/v1/info", NULL, &r), 200);
	assert_non_null(strstr(r.body, "\"uptimeSeconds\""));
	assert_int_equal(ureq(f, "GET", "/v1/apps", NULL, &r), 200);
	assert_string_equal(r.body, "{\"apps\":[]}");
	assert_int_equal(ureq(f, "GET", "/metrics", NULL, &r), 200);
	assert_non_null(strstr(r.body, "ramp_pull_bytes_total 0"));
	assert_int_equal(ureq(f, "GET", "/nope", NULL, &r), 404);
	assert_error(&r, "not_found");
	assert_int_equal(ureq(f, "GET", "/v1/apps/web", NULL, &r), 404);
	assert_error(&r, "not_found");
	assert_int_equal(ureq(f, "GET", "/v1/apps/web/other", NULL, &r), 404);
	assert_int_equal(ureq(f, "POST", "/healthz", NULL, &r), 405);
	assert_error(&r, "method_not_allowed");
	assert_int_equal(ureq(f, "PATCH", "/v1/apps/web", "{}", &r), 405);
	assert_int_equal(ureq(f, "GET", "/v1/apps/web/revert", NULL, &r), 405);
	/* names that could be paths */
	static const char *bad_names[] = {"/v1/apps/..", "/v1/apps/.hidden", "/v1/apps/Web", "/v1/apps/a%20b",
					  "/v1/apps/%2e%2e", "/v1/apps/a%00b",
					  "/v1/apps/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
	for (size_t i = 0; i < sizeof bad_names / sizeof *bad_names; i++) {
		long s = ureq(f, "PUT", bad_names[i], "{\"image\":\"r.io/w@" DIG_A "\",\"generation\":1}", &r);
		if (s != 400 && s != 404)
			fail_msg("PUT %s answered %ld", bad_names[i], s);
	}
	assert_int_equal(ureq(f, "GET", "/v1/apps", NULL, &r), 200);
	assert_string_equal(r.body, "{\"apps\":[]}");
}

static void test_generations(void **state)
{
	struct fixture *f = *state;
	struct resp r;
	const char *put5 = "{\"image\":\"r.io/web@" DIG_A "\",\"rollout\":\"one\",\"generation\":5}";
	assert_int_equal(ureq(f, "PUT", "/v1/apps/web", put5, &r), 202);
	assert_non_null(strstr(r.body, "\"generation\":5"));
	assert_non_null(strstr(r.body, "\"phase\":\"pulling\""));
	/* again: harmless */
	assert_int_equal(ureq(f, "PUT", "/v1/apps/web", put5, &r), 202);
	/* same generation, other image */
	assert_int_equal(ureq(f, "PUT", "/v1/apps/web", "{\"image\":\"r.io/web@" DIG_B "\",\"generation\":5}", &r), 409);
	assert_error(&r, "conflict");
	/* lower generation: a stale orchestrator */
	assert_int_equal(ureq(f, "PUT", "/v1/apps/web", "{\"image\":\"r.io/web@" DIG_B "\",\"generation\":4}", &r), 409);
	assert_error(&r, "stale_generation");
	assert_int_equal(ureq(f, "POST", "/v1/apps/web/revert", "{\"to\":\"previous\",\"generation\":4}", &r), 409);
	assert_error(&r, "stale_generation");
	assert_int_equal(ureq(f, "DELETE", "/v1/apps/web", "{\"generation\":4}", &r), 409);
	/* nothing kept yet */
	assert_int_equal(ureq(f, "POST", "/v1/apps/web/revert", "{\"to\":\"previous\",\"generation\":5}", &r), 422);
	assert_error(&r, "nothing_to_revert");
	/* a higher generation wins; it is in the app's state.json before the answer */
	assert_int_equal(ureq(f, "PUT", "/v1/apps/web", "{\"image\":\"r.io/web@" DIG_B "\",\"generation\":6}", &r), 202);
	assert_int_equal(ureq(f, "GET", "/v1/apps/web", NULL, &r), 200);
	assert_non_null(strstr(r.body, DIG_B));
	char *path;
	char *buf;
	size_t len;
	struct err e;
	assert_int_not_equal(asprintf(&path, "%s/state/apps/web/state.json", f->dir), -1);
	assert_int_equal(fs_read_file(path, 65536, &buf, &len, &e), 0);
	assert_non_null(strstr(buf, "\"generation\": 6"));
	free(buf);
	free(path);
	assert_int_equal(ureq(f, "GET", "/v1/apps/web/logs?tail=5", NULL, &r), 200);
	assert_int_equal(ureq(f, "GET", "/v1/apps/web/logs?tail=0", NULL, &r), 400);
	assert_int_equal(ureq(f, "GET", "/v1/apps/web/logs?tail=x", NULL, &r), 400);
	assert_int_equal(ureq(f, "GET", "/v1/apps/web/logs?tail=99999999999999999999", NULL, &r), 400);
	assert_int_equal(ureq(f, "DELETE", "/v1/apps/web", NULL, &r), 200);
	assert_string_equal(r.body, "{\"deleted\":\"web\"}");
	assert_int_equal(ureq(f, "GET", "/v1/apps/web", NULL, &r), 404);
	assert_int_equal(ureq(f, "DELETE", "/v1/apps/web", NULL, &r), 404);
}

static void test_hostile_bodies(void **state)
{
	struct fixture *f = *state;
	struct resp r;
	size_t n = 200000;
	char *big = malloc(n + 1);
	memset(big, ' ', n);
	big[n] = '\0';
	assert_int_equal(req(f, false, NULL, "PUT", "/v1/apps/web", big, n, &r), 413);
	assert_error(&r, "too_large");
	memset(big, '[', n);
	assert_int_equal(req(f, false, NULL, "PUT", "/v1/apps/web", big, 60000, &r), 400);
	assert_error(&r, "bad_request");
	free(big);
	static const char *bad[] = {
		"not json",
		"{\"image\":\"r.io/web:latest\",\"generation\":1}",
		"{\"image\":\"r.io/web@" DIG_A "\",\"generation\":\"1\"}",
		"{\"image\":\"r.io/web@" DIG_A "\",\"generation\":1,\"force\":true}",
		"{\"image\":[\"r.io/web@" DIG_A "\"],\"generation\":1}",
		"{\"image\":\"r.io/web@" DIG_A "\",\"generation\":1}{}",
		"\xff\xfe{}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		if (ureq(f, "PUT", "/v1/apps/web", bad[i], &r) != 400)
			fail_msg("PUT %s answered %ld", bad[i], r.status);
		assert_error(&r, "bad_request");
	}
	/* nothing of it was taken */
	assert_int_equal(ureq(f, "GET", "/v1/apps/web", NULL, &r), 404);
}

static void test_tcp_auth(void **state)
{
	struct fixture *f = *state;
	struct resp r;
	assert_int_equal(req(f, true, NULL, "GET", "/healthz", NULL, 0, &r), 401);
	assert_error(&r, "unauthorized");
	assert_int_equal(req(f, true, NULL, "GET", "/metrics", NULL, 0, &r), 401);
	assert_int_equal(req(f, true, TOKEN, "GET", "/healthz", NULL, 0, &r), 200);
	assert_int_equal(req(f, true, TOKEN, "GET", "/v1/apps", NULL, 0, &r), 200);
	/* the token's prefix, a longer one, another scheme */
	assert_int_equal(req(f, true, "test-token-0123456789abcde", "GET", "/healthz", NULL, 0, &r), 401);
	assert_int_equal(req(f, true, TOKEN "f", "GET", "/healthz", NULL, 0, &r), 401);
	/* a refused request does no work, even with a body */
	assert_int_equal(req(f, true, "wrong", "PUT", "/v1/apps/web",
			     "{\"image\":\"r.io/web@" DIG_A "\",\"generation\":1}", 40, &r), 401);
	assert_int_equal(ureq(f, "GET", "/v1/apps/web", NULL, &r), 404);
	/* 5 bad so far; after the 10th within the window the door is closed, even for the right token */
	for (int i = 0; i < 5; i++)
		assert_int_equal(req(f, true, "wrong", "GET", "/healthz", NULL, 0, &r), 401);
	assert_int_equal(req(f, true, "wrong", "GET", "/healthz", NULL, 0, &r), 429);
	assert_error(&r, "rate_limited");
	assert_int_equal(req(f, true, TOKEN, "GET", "/healthz", NULL, 0, &r), 429);
	/* the unix socket is not affected */
	assert_int_equal(ureq(f, "GET", "/healthz", NULL, &r), 200);
}

/* GET /healthz over TCP from the loopback address src. */
static long from(struct fixture *f, const char *src, const char *token)
{
	char url[128], auth[256];
	long status = 0;
	CURL *c = curl_easy_init();
	snprintf(url, sizeof url, "http://127.0.0.1:%d/healthz", f->port);
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
	struct curl_slist *h = curl_slist_append(NULL, auth);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_INTERFACE, src);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	struct resp r = {0};
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
	CURLcode rc = curl_easy_perform(c);
	if (rc != CURLE_OK)
		fail_msg("GET /healthz from %s: %s", src, curl_easy_strerror(rc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return status;
}

/* Issue 13 item 7: one address's lockout was lifted by 64 others each
 * sending one bad token (its slot was given away). */
static void test_tcp_auth_lockout_kept(void **state)
{
	struct fixture *f = *state;
	char src[32];
	for (int i = 0; i < 10; i++)
		assert_int_equal(from(f, "127.0.0.2", "wrong"), 401);
	assert_int_equal(from(f, "127.0.0.2", TOKEN), 429);
	for (int i = 1; i <= 200; i++) {
		snprintf(src, sizeof src, "127.0.1.%d", i);
		long s = from(f, src, "wrong");
		if (s != 401 && s != 429)
			fail_msg("%s answered %ld", src, s);
	}
	assert_int_equal(from(f, "127.0.0.2", TOKEN), 429);
}

/* Issue 13 item 7: bad tokens from 70 addresses in turn drew no 429 (each
 * address's count was evicted before it reached 10). Now the bad tokens
 * checked in a window are bounded whatever the number of addresses, every
 * one of them ends locked out, and a client that showed the token before
 * keeps working. */
static void test_tcp_auth_many_addresses(void **state)
{
	struct fixture *f = *state;
	char src[32];
	int checked = 0;
	assert_int_equal(from(f, "127.0.0.1", TOKEN), 200);
	for (int round = 0; round < 12; round++)
		for (int i = 1; i <= 70; i++) {
			snprintf(src, sizeof src, "127.0.2.%d", i);
			long s = from(f, src, "wrong");
			if (s != 401 && s != 429)
				fail_msg("%s answered %ld", src, s);
			checked += s == 401;
		}
	/* 64 slots x 10, the shared count's 10 and what evicted slots brought it (< 10) */
	if (checked >= 66 * RT_API_BAD_TOKENS)
		fail_msg("%d bad tokens were checked", checked);
	for (int i = 1; i <= 70; i++) {
		snprintf(src, sizeof src, "127.0.2.%d", i);
		assert_int_equal(from(f, src, TOKEN), 429);
	}
	/* the client with the token keeps its door; a new address waits out the window */
	assert_int_equal(from(f, "127.0.0.1", TOKEN), 200);
	assert_int_equal(from(f, "127.0.3.1", TOKEN), 429);
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_ALL);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_put),
		cmocka_unit_test(test_parse_revert_delete),
		cmocka_unit_test_setup_teardown(test_routes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_generations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_bodies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_auth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_auth_lockout_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_auth_many_addresses, setup, teardown),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
