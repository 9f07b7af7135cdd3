/* health.c: health checks from image configs, and HTTP and TCP probes (see health.h). */
#include "runtime/rampd/health.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/settings.h"
#include "lib/cleanup.h"
#include "lib/clock.h"

#define LABEL "io.ramp.health."

void rt_health_free(struct rt_health *h)
{
	strv_free(&h->argv);
	free(h->path);
	memset(h, 0, sizeof *h);
}

static int label_duration(const struct img_config *c, const char *k, int64_t *out, struct err *e)
{
	const char *v = img_kvs_get(&c->labels, k);
	if (!v)
		return 0;
	if (img_parse_duration(v, out, e) < 0)
		return err_ctx(e, "label %s", k);
	if (*out < 0)
		return err_set(e, "label %s: negative", k);
	return 0;
}

static int from_labels(const struct img_config *c, const char *type, struct rt_health *h, struct err *e)
{
	const char *port = img_kvs_get(&c->labels, LABEL "port"), *path = img_kvs_get(&c->labels, LABEL "path");
	const char *retries = img_kvs_get(&c->labels, LABEL "retries");
	unsigned p;
	int st, proto;
	if (!strcmp(type, "http"))
		h->type = RT_HEALTH_HTTP;
	else if (!strcmp(type, "tcp"))
		h->type = RT_HEALTH_TCP;
	else
		return err_set(e, "label " LABEL "type: \"%.40s\" is not http or tcp", type);
	if (!port)
		return err_set(e, "label " LABEL "type=%s without " LABEL "port", type);
	if (rt_port_parse(port, &p, &st, &proto, h->port, sizeof h->port, e) < 0)
		return err_ctx(e, "label " LABEL "port");
	if (strcmp(strchr(h->port, '/'), "/tcp"))
		return err_set(e, "label " LABEL "port: \"%.40s\" is not a TCP port", port);
	if (h->type == RT_HEALTH_HTTP) {
		if (!path)
			path = "/";
		if (path[0] != '/' || strlen(path) > 1024)
			return err_set(e, "label " LABEL "path: \"%.80s\" is not an absolute path", path);
		for (const char *q = path; *q; q++)
			if ((unsigned char)*q <= 0x20 || *q == 0x7f)
				return err_set(e, "label " LABEL "path: \"%.80s\" has spaces or control characters", path);
		if (!(h->path = strdup(path)))
			return err_errno(e, ENOMEM, "health check");
	}
	if (label_duration(c, LABEL "interval", &h->interval, e) < 0 || label_duration(c, LABEL "timeout", &h->timeout, e) < 0 ||
	    label_duration(c, LABEL "start-period", &h->start_period, e) < 0)
		return -1;
	if (retries) {
		char *end;
		errno = 0;
		long long r = strtoll(retries, &end, 10);
		if (*retries < '0' || *retries > '9' || *end || errno || r < 1 || r > 1000)
			return err_set(e, "label " LABEL "retries: \"%.40s\" is not a number from 1 to 1000", retries);
		h->retries = r;
	}
	return 0;
}

static int from_healthcheck(const struct img_healthcheck *hc, struct rt_health *h, struct err *e)
{
	const struct strv *t = &hc->test;
	if (t->n == 0 || !strcmp(t->v[0], "NONE"))
		return 0;
	if (!strcmp(t->v[0], "CMD")) {
		if (t->n < 2)
			return err_set(e, "Healthcheck: CMD without a command");
		for (size_t i = 1; i < t->n; i++)
			if (strv_push(&h->argv, t->v[i], e) < 0)
				return -1;
	} else if (!strcmp(t->v[0], "CMD-SHELL")) {
		if (t->n != 2)
			return err_set(e, "Healthcheck: CMD-SHELL takes one string");
		if (strv_push(&h->argv, "/bin/sh", e) < 0 || strv_push(&h->argv, "-c", e) < 0 ||
		    strv_push(&h->argv, t->v[1], e) < 0)
			return -1;
	} else {
		return err_set(e, "Healthcheck: \"%.40s\" is not NONE, CMD or CMD-SHELL", t->v[0]);
	}
	if (hc->interval < 0 || hc->timeout < 0 || hc->start_period < 0 || hc->retries < 0)
		return err_set(e, "Healthcheck: negative durations or retries");
	h->type = RT_HEALTH_EXEC;
	h->interval = hc->interval;
	h->timeout = hc->timeout;
	h->start_period = hc->start_period;
	h->retries = hc->retries;
	return 0;
}

int rt_health_from_config(const struct img_config *c, struct rt_health *h, struct err *e)
{
	const char *type = img_kvs_get(&c->labels, LABEL "type");
	memset(h, 0, sizeof *h);
	/* ramp's own labels first: they are what `ramp build --health-http` writes */
	int r = type ? from_labels(c, type, h, e) : c->healthcheck ? from_healthcheck(c->healthcheck, h, e) : 0;
	if (r < 0) {
		rt_health_free(h);
		return err_ctx(e, "health check");
	}
	if (!h->interval)
		h->interval = RT_HEALTH_INTERVAL_DEFAULT;
	if (!h->timeout)
		h->timeout = RT_HEALTH_TIMEOUT_DEFAULT;
	if (!h->retries)
		h->retries = RT_HEALTH_RETRIES_DEFAULT;
	return 0;
}

/* ---- probes ---- */

static void result(struct rt_probe *p, int64_t t0, bool ok, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void result(struct rt_probe *p, int64_t t0, bool ok, const char *fmt, ...)
{
	va_list ap;
	p->ok = ok;
	p->ms = (double)(clk_mono_ns() - t0) / 1e6;
	p->time = clk_wall_ms();
	va_start(ap, fmt);
	vsnprintf(p->output, sizeof p->output, fmt, ap);
	va_end(ap);
	/* the output is the app's text: keep the status document printable */
	for (char *c = p->output; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
			*c = '?';
}

/* Wait for events on fd until the deadline; 0 ready, -1 with errno (ETIMEDOUT). */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = (deadline - clk_mono_ns()) / 1000000;
		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		struct pollfd p = {.fd = fd, .events = events};
		int n = poll(&p, 1, (int)(left > 60000 ? 60000 : left) + 1);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

/* A connected non-blocking socket, or -1 with errno. */
static int connect_to(const struct rt_addr *a, int64_t deadline)
{
	int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int err = 0;
	socklen_t l = sizeof err;
	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)&a->ss, a->len) < 0 &&
	    (errno != EINPROGRESS || wait_fd(fd, POLLOUT, deadline) < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0 ||
	     (err && (errno = err)))) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

void rt_probe_tcp(const struct rt_addr *a, int64_t timeout_ns, struct rt_probe *p)
{
	int64_t t0 = clk_mono_ns();
	char where[80];
	rt_addr_format(a, where, sizeof where);
	int fd = connect_to(a, t0 + timeout_ns);
	if (fd < 0) {
		result(p, t0, false, "connect %s: %s", where, strerror(errno));
		return;
	}
	close(fd);
	result(p, t0, true, "connected to %s", where);
}

void rt_probe_http(const struct rt_addr *a, const char *path, int64_t timeout_ns, struct rt_probe *p)
{
	int64_t t0 = clk_mono_ns(), deadline = t0 + timeout_ns;
	char where[80], req[1400], resp[512];
	size_t have = 0;
	rt_addr_format(a, where, sizeof where);
	_cleanup_close_ int fd = connect_to(a, deadline);
	if (fd < 0) {
		result(p, t0, false, "connect %s: %s", where, strerror(errno));
		return;
	}
	int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: rampd\r\nConnection: close\r\n\r\n",
			 path, where);
	for (int off = 0; off < n;) {
		ssize_t w = send(fd, req + off, (size_t)(n - off), MSG_NOSIGNAL);
		if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (wait_fd(fd, POLLOUT, deadline) < 0)
				goto io_error;
			continue;
		}
		if (w <= 0)
			goto io_error;
		off += (int)w;
	}
	/* the status line is all a probe needs */
	while (have < sizeof resp - 1 && !memmem(resp, have, "\r\n", 2)) {
		ssize_t r = recv(fd, resp + have, sizeof resp - 1 - have, 0);
		if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (wait_fd(fd, POLLIN, deadline) < 0)
				goto io_error;
			continue;
		}
		if (r < 0)
			goto io_error;
		if (r == 0)
			break;
		have += (size_t)r;
	}
	resp[have] = '\0';
	char *eol = strstr(resp, "\r\n");
	int status = 0;
	if (!eol || strncmp(resp, "HTTP/1.", 7) || sscanf(resp + 8, " %3d", &status) != 1 || status < 100) {
		result(p, t0, false, "GET %s: not an HTTP response", path);
		return;
	}
	*eol = '\0';
	/* as Docker and Kubernetes: 2xx and 3xx are healthy */
	result(p, t0, status >= 200 && status < 400, "%.100s", resp + 9);
	return;
io_error:
	result(p, t0, false, "GET %s on %s: %s", path, where, strerror(errno));
}
