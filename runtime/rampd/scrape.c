/* scrape.c: the scraper thread, its HTTP client, and where an app's
 * metrics are (see scrape.h). */
#include "runtime/rampd/scrape.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "image/settings.h"
#include "lib/clock.h"
#include "lib/api.h"
#include "lib/log.h"
#include "runtime/rampd/daemon.h"
#include "runtime/rampd/samples.h"
#include "runtime/rampd/supervisor.h"

#define RECV_CHUNK 16384
#define READS_PER_WAKE 16 /* recv calls for one scrape before the others get their turn */
#define NS_PER_MS 1000000

/* ---- where the metrics are ---- */

int rt_scrape_endpoint(const struct img_config *c, const struct rt_app_config *ac, char *port, char *path,
		       struct err *e)
{
	char spec[1100];
	const char *what;
	if (ac->metrics_http) {
		if (!strcmp(ac->metrics_http, "none"))
			return err_set(e, "scraping is turned off for this app in rampd.json (\"metrics\": {\"http\": \"none\"})");
		snprintf(spec, sizeof spec, "%s", ac->metrics_http);
		what = "rampd.json \"metrics\".\"http\"";
	} else {
		const char *p = img_kvs_get(&c->labels, IMG_LABEL_METRICS_PORT);
		const char *pa = img_kvs_get(&c->labels, IMG_LABEL_METRICS_PATH);
		if (!p && !pa)
			return err_set(e, "the image declares no metrics endpoint (ramp build --metrics-http PORT/PATH) and "
					  "rampd.json names none");
		if (!p)
			return err_set(e, "label " IMG_LABEL_METRICS_PATH " without " IMG_LABEL_METRICS_PORT);
		if (snprintf(spec, sizeof spec, "%s%s", p, pa ? pa : "/metrics") >= (int)sizeof spec)
			return err_set(e, "label " IMG_LABEL_METRICS_PATH ": longer than 1 KiB");
		what = "labels " IMG_LABEL_METRICS_PORT " and " IMG_LABEL_METRICS_PATH;
	}
	if (img_settings_check_http(what, spec, e) < 0)
		return -1;
	char *slash = strchr(spec, '/');
	unsigned pn;
	int type, proto;
	snprintf(path, 1025, "%s", slash);
	*slash = '\0';
	if (rt_port_parse(spec, &pn, &type, &proto, port, 16, e) < 0)
		return err_ctx(e, "%s", what);
	return 0;
}

void rt_scrape_follow(struct rt_app *a, const struct img_digest *digest, const struct img_config *c,
		      const struct rt_app_config *ac, const struct rt_socket *socks, const size_t *idx, size_t n_idx,
		      bool held)
{
	struct rt_samples *m = a->samples;
	struct rt_scrape_target t = {.running = true, .digest = *digest, .held = held};
	struct err e;
	t.has_endpoint = rt_scrape_endpoint(c, ac, t.port, t.path, &e) == 0;
	if (t.has_endpoint) {
		t.has_endpoint = false;
		for (size_t i = 0; i < n_idx && !t.has_endpoint; i++)
			if (!strcmp(socks[idx[i]].name, t.port)) {
				rt_addr_connectable(&socks[idx[i]].addr, &t.addr);
				t.has_endpoint = true;
			}
		if (!t.has_endpoint)
			snprintf(t.why, sizeof t.why, "the image exposes no port %s for its metrics endpoint", t.port);
	} else {
		snprintf(t.why, sizeof t.why, "%.250s", e.msg);
	}
	pthread_mutex_lock(&m->mu);
	t.instance = m->target.instance + 1;
	m->target = t;
	pthread_mutex_unlock(&m->mu);
	rt_scraper_wake(a->d->scraper);
}

void rt_scrape_release(struct rt_app *a)
{
	struct rt_samples *m = a->samples;
	pthread_mutex_lock(&m->mu);
	m->target.held = false;
	pthread_mutex_unlock(&m->mu);
	rt_scraper_wake(a->d->scraper);
}

void rt_scrape_unfollow(struct rt_app *a)
{
	struct rt_samples *m = a->samples;
	pthread_mutex_lock(&m->mu);
	m->target.running = false;
	m->target.instance++;
	pthread_mutex_unlock(&m->mu);
}

/* ---- one scrape ---- */

enum state { CONNECTING, SENDING, HEAD, BODY };

struct job {
	char app[API_MAX_NAME + 1];
	uint64_t id;
	struct rt_scrape_result r;
	struct rt_watch watch;
	size_t max_series, max_samples;
	int64_t span_ms;
	uint64_t max_page;
	enum state st;
	int fd;
	int64_t deadline, timeout_ms; /* monotonic ms */
	char where[80], path[1025];
	char req[1400];
	size_t req_len, sent;
	char head[RT_SCRAPE_HEAD_MAX + 1];
	size_t head_len;
	int64_t content_length; /* -1: until the connection closes */
	uint64_t body;
	struct rt_prom *parser;
	bool done;
	char error[1024];
};

struct rt_scraper {
	struct rt_daemon *d;
	pthread_t thread;
	int wake_fd;
	bool quit;
	struct job **jobs;
	size_t n_jobs;
	uint64_t next_id;
	char buf[RECV_CHUNK];
};

static void job_free(struct job *j)
{
	if (!j)
		return;
	if (j->fd >= 0)
		close(j->fd);
	rt_prom_free(j->parser);
	rt_batch_free(j->r.b);
	rt_watch_free(&j->watch);
	free(j);
}

static void job_fail(struct job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void job_fail(struct job *j, const char *fmt, ...)
{
	va_list ap;
	if (j->done)
		return;
	va_start(ap, fmt);
	vsnprintf(j->error, sizeof j->error, fmt, ap);
	va_end(ap);
	/* the app's words end up in a JSON document: printable ASCII only */
	for (char *c = j->error; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
			*c = '?';
	j->done = true;
}

static int on_sample(void *ctx, const struct rt_prom_sample *s, struct err *e)
{
	struct job *j = ctx;
	return rt_watch_match(&j->watch, s) ? rt_batch_add(j->r.b, s, e) : 0;
}

static void job_connect(struct job *j, const struct rt_addr *a)
{
	j->fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (j->fd < 0) {
		job_fail(j, "socket: %s", strerror(errno));
		return;
	}
	if (connect(j->fd, (const struct sockaddr *)&a->ss, a->len) == 0)
		j->st = SENDING;
	else if (errno == EINPROGRESS)
		j->st = CONNECTING;
	else
		job_fail(j, "connect %s: %s", j->where, strerror(errno));
}

/* The status line and headers are in j->head (NUL-terminated, without the
 * blank line). */
static void job_head(struct job *j)
{
	int status = 0;
	char *eol = strstr(j->head, "\r\n");
	if (eol)
		*eol = '\0';
	if (strncmp(j->head, "HTTP/1.", 7) || sscanf(j->head + 8, " %3d", &status) != 1 || status < 100) {
		job_fail(j, "GET %s on %s: not an HTTP answer", j->path, j->where);
		return;
	}
	if (status != 200) {
		job_fail(j, "GET %s on %s: %.100s", j->path, j->where, j->head + 9);
		return;
	}
	for (char *h = eol ? eol + 2 : NULL; h && *h;) {
		char *next = strstr(h, "\r\n");
		if (next)
			*next = '\0';
		char *colon = strchr(h, ':');
		const char *v = colon ? colon + 1 : "";
		while (*v == ' ' || *v == '\t')
			v++;
		if (colon && !strncasecmp(h, "Content-Length:", 15)) {
			char *end;
			errno = 0;
			unsigned long long n = strtoull(v, &end, 10);
			if (*v < '0' || *v > '9' || errno || (*end && *end != ' ' && *end != '\t')) {
				job_fail(j, "GET %s: Content-Length \"%.40s\" is not a number", j->path, v);
				return;
			}
			if (n > j->max_page) {
				job_fail(j, "GET %s: the page has %llu bytes, more than %llu (max_page)", j->path, n,
					 (unsigned long long)j->max_page);
				return;
			}
			j->content_length = (int64_t)n;
		} else if (colon && !strncasecmp(h, "Transfer-Encoding:", 18)) {
			job_fail(j, "GET %s: Transfer-Encoding %.40s in the answer to an HTTP/1.0 request", j->path, v);
			return;
		} else if (colon && !strncasecmp(h, "Content-Encoding:", 17) && strcasecmp(v, "identity")) {
			job_fail(j, "GET %s: Content-Encoding %.40s, which was not asked for", j->path, v);
			return;
		}
		h = next ? next + 2 : NULL;
	}
	j->st = BODY;
}

static void job_complete(struct job *j)
{
	struct err e;
	if (rt_prom_finish(j->parser, &e) < 0)
		job_fail(j, "GET %s: %s", j->path, e.msg);
	j->done = true;
}

static void job_body(struct job *j, const char *buf, size_t n)
{
	struct err e;
	if (j->content_length >= 0 && j->body + n > (uint64_t)j->content_length)
		n = (size_t)((uint64_t)j->content_length - j->body); /* what follows is not the page's */
	if (j->body + n > j->max_page) {
		job_fail(j, "GET %s: the page is larger than %llu bytes (max_page)", j->path, (unsigned long long)j->max_page);
		return;
	}
	j->body += n;
	if (rt_prom_feed(j->parser, buf, n, &e) < 0) {
		job_fail(j, "GET %s: %s", j->path, e.msg);
		return;
	}
	if (j->content_length >= 0 && j->body == (uint64_t)j->content_length)
		job_complete(j);
}

/* Progress on the socket. */
static void job_step(struct rt_scraper *sc, struct job *j)
{
	if (j->st == CONNECTING) {
		int err = 0;
		socklen_t l = sizeof err;
		if (getsockopt(j->fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0)
			err = errno;
		if (err) {
			job_fail(j, "connect %s: %s", j->where, strerror(err));
			return;
		}
		j->st = SENDING;
	}
	if (j->st == SENDING) {
		while (j->sent < j->req_len) {
			ssize_t w = send(j->fd, j->req + j->sent, j->req_len - j->sent, MSG_NOSIGNAL);
			if (w < 0 && (errno == EAGAIN || errno == EINTR))
				return;
			if (w <= 0) {
				job_fail(j, "GET %s on %s: %s", j->path, j->where, strerror(errno));
				return;
			}
			j->sent += (size_t)w;
		}
		j->st = HEAD;
	}
	for (int k = 0; k < READS_PER_WAKE && !j->done; k++) {
		ssize_t r = recv(j->fd, sc->buf, sizeof sc->buf, 0);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (r < 0) {
			job_fail(j, "GET %s on %s: %s", j->path, j->where, strerror(errno));
			return;
		}
		if (r == 0) {
			if (j->st == HEAD)
				job_fail(j, "GET %s on %s: the connection closed before an answer", j->path, j->where);
			else if (j->content_length >= 0)
				job_fail(j, "GET %s: the page was cut short after %llu of %lld bytes", j->path,
					 (unsigned long long)j->body, (long long)j->content_length);
			else
				job_complete(j);
			return;
		}
		size_t n = (size_t)r, used = 0;
		if (j->st == HEAD) {
			size_t room = RT_SCRAPE_HEAD_MAX - j->head_len, take = n < room ? n : room;
			memcpy(j->head + j->head_len, sc->buf, take);
			j->head[j->head_len + take] = '\0';
			char *blank = strstr(j->head, "\r\n\r\n");
			if (!blank) {
				if (take < n || j->head_len + take == RT_SCRAPE_HEAD_MAX) {
					job_fail(j, "GET %s: the answer's headers are longer than %d bytes", j->path,
						 RT_SCRAPE_HEAD_MAX);
					return;
				}
				j->head_len += take;
				continue;
			}
			used = (size_t)(blank + 4 - j->head) - j->head_len;
			*blank = '\0';
			job_head(j);
			if (j->done)
				return;
		}
		if (n > used)
			job_body(j, sc->buf + used, n - used);
		else if (j->content_length == 0)
			job_complete(j);
	}
}

/* A job for app a (sc->d->mu and m->mu held); NULL when it cannot start. */
static struct job *job_new(struct rt_scraper *sc, struct rt_app *a, struct rt_samples *m, int64_t now,
			   const struct rt_app_config *ac)
{
	struct err e;
	struct job *j = calloc(1, sizeof *j);
	if (!j)
		return NULL;
	j->fd = -1;
	j->content_length = -1;
	snprintf(j->app, sizeof j->app, "%s", a->name);
	j->id = ++sc->next_id;
	j->r.gen = m->watch_gen;
	j->r.instance = m->target.instance;
	j->r.digest = m->target.digest;
	j->r.time = clk_wall_ms();
	j->max_series = ac->metrics_max_series;
	j->max_samples = ac->metrics_max_samples;
	j->span_ms = (int64_t)ac->metrics_max_samples * (ac->metrics_interval / NS_PER_MS);
	j->max_page = ac->metrics_max_page;
	int64_t timeout = ac->metrics_timeout < ac->metrics_interval ? ac->metrics_timeout : ac->metrics_interval;
	j->timeout_ms = timeout / NS_PER_MS;
	j->deadline = now + j->timeout_ms;
	snprintf(j->path, sizeof j->path, "%s", m->target.path);
	rt_addr_format(&m->target.addr, j->where, sizeof j->where);
	j->req_len = (size_t)snprintf(j->req, sizeof j->req,
				      "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: rampd/%s\r\n"
				      "Accept: text/plain;version=0.0.4;q=1,*/*;q=0.1\r\nConnection: close\r\n\r\n",
				      j->path, j->where, RAMP_VERSION);
	struct rt_prom_limits l;
	rt_prom_limits_default(&l);
	if (rt_watch_copy(&j->watch, &m->watch, &e) < 0 || !(j->r.b = rt_batch_new(j->max_series)) ||
	    !(j->parser = rt_prom_new(&l, on_sample, j))) {
		job_free(j);
		return NULL;
	}
	job_connect(j, &m->target.addr);
	return j;
}

/* Start the scrapes that are due; when the next one is (monotonic ms). */
static int64_t schedule(struct rt_scraper *sc, int64_t now)
{
	struct rt_daemon *d = sc->d;
	int64_t next = now + 60000;
	rt_daemon_lock(&d->mu);
	for (size_t i = 0; i < d->n_apps; i++) {
		struct rt_app *a = d->apps[i];
		struct rt_samples *m = a->samples;
		pthread_mutex_lock(&m->mu);
		bool want = m->watch.n && m->target.running && m->target.has_endpoint && !m->target.held && !m->busy;
		if (want && now >= m->next_due) {
			struct rt_app_config ac;
			struct err e;
			struct job *j = NULL;
			struct job **nj = realloc(sc->jobs, (sc->n_jobs + 1) * sizeof *nj);
			if (nj)
				sc->jobs = nj;
			if (nj && rt_config_app(&d->cfg, a->name, &ac, &e) == 0) {
				j = job_new(sc, a, m, now, &ac);
				m->next_due = now + ac.metrics_interval / NS_PER_MS;
				rt_app_config_free(&ac);
			}
			if (j) {
				sc->jobs[sc->n_jobs++] = j;
				m->busy = j->id;
			} else {
				m->next_due = now + 1000; /* out of memory: later */
			}
		}
		if (want && m->next_due < next)
			next = m->next_due;
		pthread_mutex_unlock(&m->mu);
	}
	rt_daemon_unlock(&d->mu);
	return next;
}

/* Record a finished scrape with its app, if the app is still there. */
static void job_finish(struct rt_scraper *sc, struct job *j)
{
	struct rt_daemon *d = sc->d;
	if (j->error[0]) {
		j->r.error = j->error;
		log_debug("app %s: metrics: %s", j->app, j->error);
	}
	rt_daemon_lock(&d->mu);
	for (size_t i = 0; i < d->n_apps; i++) {
		struct rt_samples *m = d->apps[i]->samples;
		if (strcmp(d->apps[i]->name, j->app))
			continue;
		pthread_mutex_lock(&m->mu);
		if (m->busy == j->id) {
			m->busy = 0;
			rt_samples_record(m, &j->r, j->max_series, j->max_samples, j->span_ms);
		}
		pthread_mutex_unlock(&m->mu);
	}
	rt_daemon_unlock(&d->mu);
}

static void *scraper_main(void *arg)
{
	struct rt_scraper *sc = arg;
	struct pollfd *p = NULL;
	for (;;) {
		if (__atomic_load_n(&sc->quit, __ATOMIC_ACQUIRE))
			break;
		int64_t now = clk_mono_ms(), next = schedule(sc, now);
		struct pollfd *np = realloc(p, (sc->n_jobs + 1) * sizeof *np);
		if (!np) {
			poll(NULL, 0, 100);
			continue;
		}
		p = np;
		p[0] = (struct pollfd){.fd = sc->wake_fd, .events = POLLIN};
		for (size_t i = 0; i < sc->n_jobs; i++) {
			struct job *j = sc->jobs[i];
			p[i + 1] = (struct pollfd){.fd = j->done ? -1 : j->fd,
						   .events = j->st == CONNECTING || j->st == SENDING ? POLLOUT : POLLIN};
			if (j->done)
				next = now;
			else if (j->deadline < next)
				next = j->deadline;
		}
		int n = poll(p, sc->n_jobs + 1, next <= now ? 0 : (int)(next - now));
		if (n > 0 && (p[0].revents & POLLIN)) {
			uint64_t v;
			if (read(sc->wake_fd, &v, sizeof v) < 0 && errno != EAGAIN)
				log_debug("scraper: wake: %s", strerror(errno));
		}
		now = clk_mono_ms();
		for (size_t i = 0; i < sc->n_jobs;) {
			struct job *j = sc->jobs[i];
			if (!j->done && n > 0 && p[i + 1].revents)
				job_step(sc, j);
			if (!j->done && now >= j->deadline)
				job_fail(j, "GET %s on %s: no complete answer within %lld ms (timeout)", j->path, j->where,
					 (long long)j->timeout_ms);
			if (!j->done) {
				i++;
				continue;
			}
			job_finish(sc, j);
			job_free(j);
			/* the poll set no longer matches: the next round rebuilds it */
			sc->jobs[i] = sc->jobs[--sc->n_jobs];
			n = 0;
		}
	}
	free(p);
	return NULL;
}

int rt_scraper_start(struct rt_daemon *d, struct rt_scraper **out, struct err *e)
{
	struct rt_scraper *sc = calloc(1, sizeof *sc);
	if (!sc)
		return err_errno(e, ENOMEM, "scraper");
	sc->d = d;
	if ((sc->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		free(sc);
		return err_sys(e, "scraper: eventfd");
	}
	if (pthread_create(&sc->thread, NULL, scraper_main, sc) != 0) {
		close(sc->wake_fd);
		free(sc);
		return err_set(e, "cannot start the scraper's thread");
	}
	pthread_setname_np(sc->thread, "scraper");
	*out = sc;
	return 0;
}

void rt_scraper_wake(struct rt_scraper *s)
{
	uint64_t one = 1;
	if (s && write(s->wake_fd, &one, sizeof one) < 0 && errno != EAGAIN)
		log_debug("scraper: wake: %s", strerror(errno));
}

void rt_scraper_stop(struct rt_scraper *s)
{
	if (!s)
		return;
	__atomic_store_n(&s->quit, true, __ATOMIC_RELEASE);
	rt_scraper_wake(s);
	pthread_join(s->thread, NULL);
	for (size_t i = 0; i < s->n_jobs; i++)
		job_free(s->jobs[i]);
	free(s->jobs);
	close(s->wake_fd);
	free(s);
}
