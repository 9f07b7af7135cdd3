/* loadclient.c: an HTTP load generator for the rampd API benchmark
 * (tests/bench/load.sh): N concurrent clients on one libcurl multi handle,
 * each sending GET requests one after the other for a given time, and the
 * latency of every request recorded. An error is a transfer that failed or an
 * answer other than 200. wrk cannot talk to a unix socket nor spread its
 * connections over source addresses (rampd limits connections per address).
 *
 * usage: loadclient --url URL [--path PATH]... [--clients N] [--seconds S]
 *                   [--unix SOCKET] [--token FILE] [--source A,B,...]
 *                   [--new-connection] [--interval MS]
 *   --path          request paths, taken in turn (default: the URL's)
 *   --interval      each client starts a request every MS milliseconds (an
 *                   answer slower than that delays the next); default: at once
 *   --source        local addresses, client i binds the (i mod n)th
 *   --new-connection  a new connection for every request, "Connection: close"
 *                   (else keep-alive)
 * Prints one line: "requests N errors N p50 MS p99 MS max MS rps R", and the
 * first errors on stderr. Exit 0 when it ran (errors or not), 2 on misuse. */
#include <curl/curl.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/cleanup.h"
#include "lib/fs.h"

static size_t discard(char *p, size_t s, size_t n, void *u)
{
	(void)p;
	(void)u;
	return s * n;
}

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static void usage(void)
{
	fprintf(stderr, "usage: loadclient --url URL [--path PATH]... [--clients N] [--seconds S] [--unix SOCKET]\n"
			"                  [--token FILE] [--source A,B,...] [--new-connection] [--interval MS]\n");
	exit(2);
}

struct client {
	CURL *h;
	double t0, next; /* started; next start (paced), 0 while running */
	size_t next_path;
};

int main(int argc, char **argv)
{
	const char *url = NULL, *unix_path = NULL, *token_file = NULL;
	char *paths[64], *sources[64], auth[600] = "";
	size_t n_paths = 0, n_sources = 0;
	long clients = 200;
	double seconds = 60, interval = 0;
	bool fresh = false;
	static const struct option opts[] = {{"url", required_argument, NULL, 'u'},
					     {"path", required_argument, NULL, 'p'},
					     {"clients", required_argument, NULL, 'c'},
					     {"seconds", required_argument, NULL, 's'},
					     {"unix", required_argument, NULL, 'x'},
					     {"token", required_argument, NULL, 't'},
					     {"source", required_argument, NULL, 'a'},
					     {"new-connection", no_argument, NULL, 'n'},
					     {"interval", required_argument, NULL, 'i'},
					     {NULL, 0, NULL, 0}};
	int o;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'u': url = optarg; break;
		case 'p':
			if (n_paths == 64)
				usage();
			paths[n_paths++] = optarg;
			break;
		case 'c': clients = strtol(optarg, NULL, 10); break;
		case 's': seconds = strtod(optarg, NULL); break;
		case 'x': unix_path = optarg; break;
		case 't': token_file = optarg; break;
		case 'a':
			for (char *s = strtok(optarg, ","); s && n_sources < 64; s = strtok(NULL, ","))
				sources[n_sources++] = s;
			break;
		case 'n': fresh = true; break;
		case 'i': interval = strtod(optarg, NULL) / 1000; break;
		default: usage();
		}
	}
	if (!url || clients < 1 || clients > 10000 || seconds <= 0 || interval < 0)
		usage();
	if (token_file) {
		struct err e;
		_cleanup_free_ char *tok = NULL;
		size_t len;
		if (fs_read_file(token_file, 512, &tok, &len, &e) < 0) {
			fprintf(stderr, "loadclient: %s\n", e.msg);
			return 2;
		}
		tok[strcspn(tok, "\r\n")] = 0;
		snprintf(auth, sizeof auth, "Authorization: Bearer %s", tok);
	}
	char base[512];
	snprintf(base, sizeof base, "%s", url);
	if (n_paths) {
		char *p = strstr(base, "://");
		p = p ? strchr(p + 3, '/') : NULL;
		if (p)
			*p = 0;
	}

	curl_global_init(CURL_GLOBAL_DEFAULT);
	CURLM *m = curl_multi_init();
	curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, clients);
	struct curl_slist *hdrs = auth[0] ? curl_slist_append(NULL, auth) : NULL;
	/* the server closes (as with wrk's "Connection: close"), so it has let go
	   of a connection before the client's next one counts against its limit */
	if (fresh)
		hdrs = curl_slist_append(hdrs, "Connection: close");
	struct client *c = calloc((size_t)clients, sizeof *c);
	size_t cap = 1 << 20, n_lat = 0;
	uint32_t *lat = malloc(cap * sizeof *lat);
	if (!m || !c || !lat || ((auth[0] || fresh) && !hdrs))
		return 1;
	unsigned long errors = 0;
	double start = mono(), end = start + seconds;
	char full[1024];
	for (long i = 0; i < clients; i++) {
		c[i].h = curl_easy_init();
		curl_easy_setopt(c[i].h, CURLOPT_WRITEFUNCTION, discard);
		curl_easy_setopt(c[i].h, CURLOPT_PRIVATE, &c[i]);
		curl_easy_setopt(c[i].h, CURLOPT_TIMEOUT_MS, 10000L);
		curl_easy_setopt(c[i].h, CURLOPT_FORBID_REUSE, fresh ? 1L : 0L);
		if (hdrs)
			curl_easy_setopt(c[i].h, CURLOPT_HTTPHEADER, hdrs);
		if (unix_path)
			curl_easy_setopt(c[i].h, CURLOPT_UNIX_SOCKET_PATH, unix_path);
		if (n_sources)
			curl_easy_setopt(c[i].h, CURLOPT_INTERFACE, sources[(size_t)i % n_sources]);
		c[i].next_path = (size_t)i;
	}
	/* start (again) client x with its next path */
#define LAUNCH(x)                                                                                  \
	do {                                                                                       \
		if (n_paths)                                                                       \
			snprintf(full, sizeof full, "%s%s", base, paths[(x)->next_path++ % n_paths]); \
		curl_easy_setopt((x)->h, CURLOPT_URL, n_paths ? full : url);                      \
		(x)->t0 = mono();                                                                  \
		(x)->next = 0;                                                                     \
		curl_multi_add_handle(m, (x)->h);                                                 \
	} while (0)
	for (long i = 0; i < clients; i++)
		LAUNCH(&c[i]);
	int running = 1, shown = 0, waiting = 0;
	while (running || waiting) {
		curl_multi_perform(m, &running);
		CURLMsg *msg;
		int left;
		while ((msg = curl_multi_info_read(m, &left))) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			struct client *x;
			long status = 0;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
			curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
			double now = mono();
			if (msg->data.result != CURLE_OK || status != 200) {
				errors++;
				if (shown++ < 5)
					fprintf(stderr, "loadclient: %s (HTTP %ld)\n", curl_easy_strerror(msg->data.result),
						status);
			}
			if (n_lat == cap) {
				cap *= 2;
				uint32_t *l = realloc(lat, cap * sizeof *lat);
				if (!l)
					return 1;
				lat = l;
			}
			lat[n_lat++] = (uint32_t)((now - x->t0) * 1e6);
			curl_multi_remove_handle(m, msg->easy_handle);
			if (now < end && interval > 0) {
				x->next = x->t0 + interval > now ? x->t0 + interval : now;
				waiting++;
			} else if (now < end) {
				LAUNCH(x);
				running = 1;
			}
		}
		/* paced clients whose time has come */
		double now = mono();
		for (long i = 0; waiting && i < clients; i++) {
			if (c[i].next == 0 || c[i].next > now)
				continue;
			waiting--;
			c[i].next = 0;
			if (now < end) {
				LAUNCH(&c[i]);
				running = 1;
			}
		}
		if (running || waiting)
			curl_multi_poll(m, NULL, 0, interval > 0 ? 1 : 100, NULL);
	}
	double took = mono() - start;
	qsort(lat, n_lat, sizeof *lat, cmp_u32);
#define PCT(p) (n_lat ? lat[(size_t)((double)(n_lat - 1) * (p))] / 1000.0 : 0)
	printf("requests %zu errors %lu p50 %.2f p99 %.2f max %.2f rps %.0f\n", n_lat, errors, PCT(0.50), PCT(0.99),
	       PCT(1.0), (double)n_lat / took);
	for (long i = 0; i < clients; i++)
		curl_easy_cleanup(c[i].h);
	curl_slist_free_all(hdrs);
	curl_multi_cleanup(m);
	curl_global_cleanup();
	free(c);
	free(lat);
	return 0;
}
