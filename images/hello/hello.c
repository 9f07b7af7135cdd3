/* hello.c: the demo service that ramp ships in its examples and tests.
 *
 * A small HTTP server, linked statically so the image needs nothing else:
 *   GET /         "hello from VERSION" and the host name
 *   GET /health   200 "ok", or 503 once the service is failing
 *   GET /version  VERSION
 *   GET /metrics  Prometheus text: http_requests_total{code,method} and the
 *                 histogram http_request_duration_seconds{method}, the names
 *                 the common client libraries' HTTP instrumentation uses (the
 *                 requests to /health and /metrics are not counted)
 * It serves the listening sockets handed to it (LISTEN_FDS/LISTEN_PID, as
 * systemd and rampd hand them), or binds $PORT (default 8080) itself. On
 * SIGTERM it stops accepting, finishes the requests in flight (closing
 * keep-alive connections after their current response) and exits 0, so a new
 * version on the same sockets takes over without a refused connection.
 *
 * Behaviour for the demo's bad releases, from the environment (set in the
 * image by `ramp build --env`, see README.md here):
 *   HELLO_VERSION      what it reports (default: the build's)
 *   HELLO_MODE=crash   exits 1 at start, like a release that cannot start
 *   HELLO_FAIL_AFTER=N healthy for N seconds (0.5 too), then /health answers 503
 *   HELLO_ERROR_RATE=F a fraction F (0.03) of the requests to / answered 500,
 *                      /health staying 200
 *   HELLO_DELAY_MS=N   N ms added to a fraction HELLO_DELAY_RATE (default 1:
 *                      all) of the requests to /
 *   HELLO_METRICS=off|garbage|backwards  a metrics endpoint that fails (404),
 *                      serves something else than the text format, or lies
 *                      (every second page reports the request counts halved)
 *   HELLO_METRICS_SERIES=N  N more counters on the page, hello_extra_total{i}
 *                      (at most 1024; for tests/bench/scrape.sh)
 * The faults of HELLO_ERROR_RATE and HELLO_DELAY_* are production's only:
 * the self-test does not see them, as a release's tests would not.
 *
 * `hello --self-test` is the image's own test (what `ramp test` runs): it
 * starts the service as configured on a loopback port of its own, asks it for
 * / and /health as a client would, and exits 0 only when both answer right. */
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#ifndef HELLO_BUILD_VERSION
#define HELLO_BUILD_VERSION "dev"
#endif

#define MAX_LISTEN 16

static atomic_int stopping;
static atomic_int active;
static const char *version;
static double fail_at; /* monotonic seconds; 0: never */
static char host[128];
/* release variants (see the top) */
static double error_rate, delay_rate = 1.0;
static long delay_ms;
static const char *metrics_mode = "";
static int extra_series;
static int faults; /* serving, not self-testing: the variants' faults apply */

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- metrics ---- */

static const char *const methods[] = {"get", "head", "post", "put", "delete", "other"};
#define N_METHODS 6
static const int codes[] = {200, 404, 500};
#define N_CODES 3
/* Go client_golang's default buckets */
static const double bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define N_BOUNDS 11
/* One lock for the counters, so that a page is one moment's values: a page
 * read while a request is counted could otherwise show a lower bucket before
 * its increment and a wider one after it, and the next page would have the
 * lower bucket grow more than the wider one (as client_golang prevents too). */
static pthread_mutex_t counters = PTHREAD_MUTEX_INITIALIZER;
static unsigned long long requests[N_METHODS][N_CODES];
static unsigned long long buckets[N_METHODS][N_BOUNDS + 1]; /* the last: +Inf */
static unsigned long long duration_ns[N_METHODS];
static unsigned long long pages;

static int method_index(const char *req)
{
	static const char *const upper[] = {"GET ", "HEAD ", "POST ", "PUT ", "DELETE "};
	for (int i = 0; i < 5; i++)
		if (!strncmp(req, upper[i], strlen(upper[i])))
			return i;
	return N_METHODS - 1;
}

static void observe(int method, int code, double seconds)
{
	int c = 0;
	while (c < N_CODES - 1 && codes[c] != code)
		c++;
	pthread_mutex_lock(&counters);
	requests[method][c]++;
	for (int b = 0; b <= N_BOUNDS; b++)
		if (b == N_BOUNDS || seconds <= bounds[b])
			buckets[method][b]++;
	duration_ns[method] += (unsigned long long)(seconds * 1e9);
	pthread_mutex_unlock(&counters);
}

/* The page; series are shown once used, GET's 200 and 500 from the start
 * (as the Prometheus docs advise: a missing series is not a zero). */
static size_t metrics_page(char *buf, size_t cap)
{
	size_t n = 0;
	pthread_mutex_lock(&counters);
	unsigned long long page = ++pages, div = !strcmp(metrics_mode, "backwards") && page % 2 == 0 ? 2 : 1;
#define OUT(...) (n += (size_t)snprintf(buf + n, n < cap ? cap - n : 0, __VA_ARGS__))
	OUT("# HELP http_requests_total Requests answered, by status code and method.\n"
	    "# TYPE http_requests_total counter\n");
	for (int m = 0; m < N_METHODS; m++)
		for (int c = 0; c < N_CODES; c++)
			if (requests[m][c] || (m == 0 && codes[c] != 404))
				OUT("http_requests_total{code=\"%d\",method=\"%s\"} %llu\n", codes[c], methods[m],
				    requests[m][c] / div);
	OUT("# HELP http_request_duration_seconds Time to answer a request.\n"
	    "# TYPE http_request_duration_seconds histogram\n");
	for (int m = 0; m < N_METHODS; m++) {
		if (m && !buckets[m][N_BOUNDS])
			continue;
		for (int b = 0; b < N_BOUNDS; b++)
			OUT("http_request_duration_seconds_bucket{method=\"%s\",le=\"%g\"} %llu\n", methods[m], bounds[b],
			    buckets[m][b] / div);
		OUT("http_request_duration_seconds_bucket{method=\"%s\",le=\"+Inf\"} %llu\n", methods[m],
		    buckets[m][N_BOUNDS] / div);
		OUT("http_request_duration_seconds_sum{method=\"%s\"} %.9f\n", methods[m],
		    (double)duration_ns[m] / 1e9 / (double)div);
		OUT("http_request_duration_seconds_count{method=\"%s\"} %llu\n", methods[m],
		    buckets[m][N_BOUNDS] / div);
	}
	if (extra_series)
		OUT("# HELP hello_extra_total Pages served (one series per i, for benchmarks).\n"
		    "# TYPE hello_extra_total counter\n");
	for (int i = 0; i < extra_series; i++)
		OUT("hello_extra_total{i=\"%d\"} %llu\n", i, page);
#undef OUT
	pthread_mutex_unlock(&counters);
	return n < cap ? n : cap - 1;
}

/* a uniform number in [0, 1), per thread */
static double uniform(void)
{
	static _Thread_local unsigned long long x;
	if (!x)
		x = (unsigned long long)(now() * 1e9) ^ ((unsigned long long)(uintptr_t)&x << 16) ^ 0x9e3779b97f4a7c15ULL;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return (double)(x >> 11) / 9007199254740992.0;
}

static void on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int respond(int fd, int code, const char *body, int keep)
{
	char buf[1024];
	int n = snprintf(buf, sizeof buf,
			 "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\nConnection: %s\r\n\r\n",
			 code,
			 code == 200   ? "OK"
			 : code == 404 ? "Not Found"
			 : code == 500 ? "Internal Server Error"
				       : "Service Unavailable",
			 strlen(body), keep ? "keep-alive" : "close");
	return write_all(fd, buf, (size_t)n) < 0 ? -1 : write_all(fd, body, strlen(body));
}

static void *serve(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char req[8192];
	size_t have = 0;
	int served = 0, idle_polls = 0;
	for (;;) {
		char *end = NULL;
		while (!(end = memmem(req, have, "\r\n\r\n", 4))) {
			if (have == sizeof req)
				goto done;
			struct pollfd p = {.fd = fd, .events = POLLIN};
			/* once stopping, an idle keep-alive connection is closed; a new one
			 * still gets its first request answered (its bytes may be in flight) */
			int r = poll(&p, 1, stopping && served ? 0 : 200);
			if (r == 0) {
				if (stopping && have == 0 && (served || ++idle_polls > 10))
					goto done;
				continue;
			}
			ssize_t n = recv(fd, req + have, sizeof req - have, 0);
			if (n <= 0)
				goto done;
			have += (size_t)n;
		}
		size_t used = (size_t)(end + 4 - req);
		char body[65536]; /* the metrics page with 1024 extra series fits */
		int code = 200, counted = 1;
		int keep = !stopping && !memmem(req, used, "Connection: close", 17);
		double t0 = now();
		if (!strncmp(req, "GET /metrics ", 13)) {
			counted = 0;
			if (!strcmp(metrics_mode, "off")) {
				code = 404;
				snprintf(body, sizeof body, "not found\n");
			} else if (!strcmp(metrics_mode, "garbage")) {
				snprintf(body, sizeof body, "<html><body>metrics: all good</body></html>\n");
			} else {
				metrics_page(body, sizeof body);
			}
		} else if (!strncmp(req, "GET /health ", 12)) {
			counted = 0;
			int failing = fail_at > 0 && now() >= fail_at;
			code = failing ? 503 : 200;
			snprintf(body, sizeof body, "%s\n", failing ? "failing" : "ok");
		} else if (!strncmp(req, "GET /version ", 13)) {
			snprintf(body, sizeof body, "%s\n", version);
		} else if (!strncmp(req, "GET / ", 6)) {
			if (faults && delay_ms > 0 && uniform() < delay_rate)
				usleep((useconds_t)delay_ms * 1000);
			if (faults && error_rate > 0 && uniform() < error_rate) {
				code = 500;
				snprintf(body, sizeof body, "internal error\n");
			} else {
				snprintf(body, sizeof body, "hello from %s on %s\n", version, host);
			}
		} else {
			code = 404;
			snprintf(body, sizeof body, "not found\n");
		}
		int sent = respond(fd, code, body, keep);
		if (counted)
			observe(method_index(req), code, now() - t0);
		if (sent < 0 || !keep)
			goto done;
		served++;
		memmove(req, req + used, have - used);
		have -= used;
	}
done:
	close(fd);
	active--;
	return NULL;
}

static int listeners(int *fds)
{
	const char *n = getenv("LISTEN_FDS"), *pid = getenv("LISTEN_PID");
	if (n && pid && atol(pid) == (long)getpid()) {
		int cnt = atoi(n);
		if (cnt < 1 || cnt > MAX_LISTEN) {
			fprintf(stderr, "hello: LISTEN_FDS=%s out of range\n", n);
			exit(2);
		}
		for (int i = 0; i < cnt; i++)
			fds[i] = 3 + i;
		return cnt;
	}
	const char *port = getenv("PORT");
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, zero = 0;
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)atoi(port ? port : "8080"))};
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 512) < 0) {
		perror("hello: listen");
		exit(2);
	}
	fds[0] = fd;
	return 1;
}

/* accept on the n sockets until told to stop, one thread a connection */
static void accept_loop(int *fds, int n)
{
	struct pollfd p[MAX_LISTEN];
	for (int i = 0; i < n; i++) {
		/* the sockets are shared with the other version during a switch: whoever
		 * polls first accepts, the other must not block in accept() */
		fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
		p[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
	}
	while (!stopping) {
		int r = poll(p, (nfds_t)n, 200);
		if (r < 0 && errno != EINTR)
			break;
		for (int i = 0; r > 0 && i < n && !stopping; i++) {
			if (!(p[i].revents & POLLIN))
				continue;
			int c = accept4(fds[i], NULL, NULL, SOCK_CLOEXEC);
			if (c < 0)
				continue;
			pthread_t t;
			pthread_attr_t attr;
			pthread_attr_init(&attr);
			pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
			active++;
			if (pthread_create(&t, &attr, serve, (void *)(intptr_t)c) != 0) {
				active--;
				close(c);
			}
			pthread_attr_destroy(&attr);
		}
	}
}

static void *accept_thread(void *arg)
{
	accept_loop(arg, 1);
	return NULL;
}

/* GET path from 127.0.0.1:port; 0 when the status is want and the body starts with prefix */
static int expect(int port, const char *path, int want, const char *prefix)
{
	char req[256], resp[2048];
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct timeval tv = {.tv_sec = 5};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n", path);
	size_t have = 0;
	ssize_t r = 0;
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0 || write_all(fd, req, (size_t)n) < 0) {
		fprintf(stderr, "hello self-test: GET %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while (have < sizeof resp - 1 && (r = recv(fd, resp + have, sizeof resp - 1 - have, 0)) > 0)
		have += (size_t)r;
	close(fd);
	resp[have] = 0;
	int code = 0;
	const char *body = strstr(resp, "\r\n\r\n");
	sscanf(resp, "HTTP/1.1 %d", &code);
	if (code != want || !body || strncmp(body + 4, prefix, strlen(prefix))) {
		fprintf(stderr, "hello self-test: GET %s: wanted %d \"%s...\", got %d \"%s\"\n", path, want, prefix,
			code, body ? body + 4 : resp);
		return -1;
	}
	printf("hello self-test: GET %s: %d %.*s\n", path, code, (int)strcspn(body + 4, "\n"), body + 4);
	return 0;
}

/* the image's own test: serve on a loopback port, ask as a client */
static int self_test(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof a;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	pthread_t t;
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 16) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0 || pthread_create(&t, NULL, accept_thread, &fd) != 0) {
		perror("hello self-test: listen");
		return 1;
	}
	char hello[256];
	snprintf(hello, sizeof hello, "hello from %s ", version);
	int port = ntohs(a.sin_port);
	int bad = expect(port, "/", 200, hello) < 0;
	bad |= expect(port, "/health", 200, "ok") < 0;
	bad |= expect(port, "/nothing-here", 404, "") < 0;
	bad |= expect(port, "/metrics", 200, "# HELP http_requests_total") < 0;
	stopping = 1;
	pthread_join(t, NULL);
	printf("hello self-test: %s\n", bad ? "FAILED" : "passed");
	return bad;
}

int main(int argc, char **argv)
{
	int fds[MAX_LISTEN];
	const char *mode = getenv("HELLO_MODE"), *after = getenv("HELLO_FAIL_AFTER");
	int test = argc == 2 && !strcmp(argv[1], "--self-test");
	if (argc > 1 && !test) {
		fprintf(stderr, "usage: hello [--self-test]\n");
		return 2;
	}
	version = getenv("HELLO_VERSION") ? getenv("HELLO_VERSION") : HELLO_BUILD_VERSION;
	gethostname(host, sizeof host - 1);
	if (mode && !strcmp(mode, "crash")) {
		fprintf(stderr, "hello %s: crashing on start, as this release was built to\n", version);
		return 1;
	}
	if (after)
		fail_at = now() + atof(after);
	if (getenv("HELLO_ERROR_RATE"))
		error_rate = atof(getenv("HELLO_ERROR_RATE"));
	if (getenv("HELLO_DELAY_MS"))
		delay_ms = atol(getenv("HELLO_DELAY_MS"));
	if (getenv("HELLO_DELAY_RATE"))
		delay_rate = atof(getenv("HELLO_DELAY_RATE"));
	if (getenv("HELLO_METRICS"))
		metrics_mode = getenv("HELLO_METRICS");
	if (getenv("HELLO_METRICS_SERIES"))
		extra_series = atoi(getenv("HELLO_METRICS_SERIES"));
	extra_series = extra_series < 0 ? 0 : extra_series > 1024 ? 1024 : extra_series;
	signal(SIGPIPE, SIG_IGN);
	if (test)
		return self_test();
	struct sigaction sa = {.sa_handler = on_term};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	faults = 1;
	int n = listeners(fds);
	fprintf(stderr, "hello %s: serving on %d socket%s\n", version, n, n == 1 ? "" : "s");
	accept_loop(fds, n);
	/* drain: requests in flight finish, idle keep-alives close */
	for (int i = 0; i < 100 && active > 0; i++)
		usleep(50000);
	fprintf(stderr, "hello %s: stopped\n", version);
	return 0;
}
