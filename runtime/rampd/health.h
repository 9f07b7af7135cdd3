/* health.h: an app's health check and the probes that run it.
 *
 * The check comes from the image: Docker's Healthcheck (a command run inside
 * the container) or ramp's io.ramp.health.* labels (an HTTP GET or a TCP
 * connect to one of the app's ports; see docs/IMAGE.md). Semantics follow
 * Docker's: a probe fails when it does not succeed within `timeout`; failures
 * during `start_period` do not count; `retries` failures in a row make the app
 * unhealthy, one success makes it healthy again.
 *
 * HTTP and TCP probes go to the address of the app's own listening socket
 * (loopback for a wildcard address), with a plain HTTP/1.1 client: the target
 * is always local, so there is no TLS, no proxy and no name to resolve. */
#ifndef RAMP_RT_HEALTH_H
#define RAMP_RT_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

#include "image/oci.h"
#include "lib/err.h"
#include "runtime/rampd/sockets.h"
#include "runtime/rampd/supervisor.h"

/* Docker's defaults */
#define RT_HEALTH_INTERVAL_DEFAULT (30 * 1000000000LL)
#define RT_HEALTH_TIMEOUT_DEFAULT (30 * 1000000000LL)
#define RT_HEALTH_RETRIES_DEFAULT 3
/* Until the first success a new version is probed at least this often (ms),
 * so that a switch is reported healthy quickly whatever the interval. */
#define RT_HEALTH_START_PROBE_MS 250
/* Without any check, a version that has run this long counts as healthy (ms). */
#define RT_HEALTH_NONE_SETTLE_MS 1000

enum rt_health_type { RT_HEALTH_NONE, RT_HEALTH_EXEC, RT_HEALTH_HTTP, RT_HEALTH_TCP };

struct rt_health {
	enum rt_health_type type;
	struct strv argv; /* EXEC: the command (CMD-SHELL becomes /bin/sh -c) */
	char port[16];        /* HTTP, TCP: the container port, "8080/tcp" */
	char *path;           /* HTTP: "/health" */
	int64_t interval, timeout, start_period; /* ns */
	int64_t retries;
};

/* The check an image config asks for (RT_HEALTH_NONE when none). Labels and
 * Healthcheck are untrusted: bad values are an error naming the label. */
int rt_health_from_config(const struct img_config *c, struct rt_health *h, struct err *e);
void rt_health_free(struct rt_health *h);

/* One probe; the result (ok, latency, a short output) goes to p. */
void rt_probe_http(const struct rt_addr *a, const char *path, int64_t timeout_ns, struct rt_probe *p);
void rt_probe_tcp(const struct rt_addr *a, int64_t timeout_ns, struct rt_probe *p);

#endif
