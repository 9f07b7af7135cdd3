/* scrape.h: rampd scraping its apps' Prometheus metrics (docs/OPERATIONS.md,
 * "Metrics of the apps").
 *
 * An app's image says where its metrics are (`ramp build --metrics-http
 * PORT/PATH`: labels io.ramp.metrics.port and .path), rampd.json may say
 * otherwise per app ("metrics": {"http": ...}). While a watch is set on the
 * app (runtime/samples.h), one thread of rampd's, the scraper, GETs that
 * path every `interval` from the app's own listening socket (the one rampd
 * hands it; loopback for a wildcard address), all apps at once with
 * non-blocking sockets: a slow or silent app costs its own scrape a
 * timeout, never the API, another app's scrape or an app's supervision.
 *
 * The page is the app's, so untrusted: HTTP/1.0 (no chunked encoding, no
 * compression), headers at most 16 KiB, the page at most `max_page` bytes,
 * the whole scrape within `timeout`; the page is parsed as it arrives
 * (runtime/promtext.h: a line at a time), only the watched series are kept,
 * and only once the whole page was good. */
#ifndef RAMP_RT_SCRAPE_H
#define RAMP_RT_SCRAPE_H

#include <stddef.h>

#include "image/oci.h"
#include "lib/err.h"
#include "runtime/rampd/config.h"
#include "runtime/rampd/sockets.h"

struct rt_daemon;
struct rt_app;
struct rt_scraper;

#define RT_SCRAPE_HEAD_MAX 16384 /* bytes of an answer's status line and headers */

/* The scraper thread of a daemon; it reads the daemon's apps. */
int rt_scraper_start(struct rt_daemon *d, struct rt_scraper **out, struct err *e);
/* Something changed (a watch, a target): look at the apps again. */
void rt_scraper_wake(struct rt_scraper *s);
/* End the thread (scrapes in flight are abandoned) and free it. */
void rt_scraper_stop(struct rt_scraper *s);

/* The endpoint of a version: rampd.json's "metrics"."http" over the image's
 * labels. 0 with port ("8080/tcp", 16 bytes) and path (1025 bytes); -1 with
 * e saying why there is none (not declared, turned off, or a bad label). */
int rt_scrape_endpoint(const struct img_config *c, const struct rt_app_config *ac, char *port, char *path,
		       struct err *e);

/* From the app's thread, when a container of a version starts (or is
 * adopted) as the app's running one: scrape it from now on, on the socket
 * of its endpoint's port among the version's sockets socks[idx[0..n_idx)];
 * held: not before rt_scrape_release, as containers of the version it
 * replaces still run (they hold the same listening socket while they
 * drain, so a scrape could read their page as the new one's). */
void rt_scrape_follow(struct rt_app *a, const struct img_digest *digest, const struct img_config *c,
		      const struct rt_app_config *ac, const struct rt_socket *socks, const size_t *idx, size_t n_idx,
		      bool held);
/* From the app's thread, when the last container of a replaced version has
 * exited: the running one is scraped again. */
void rt_scrape_release(struct rt_app *a);
/* From the app's thread, when its running container has exited: scrape
 * nothing until the next rt_scrape_follow, and record nothing of a scrape in
 * flight (rampd keeps the listening socket, so the next container could
 * answer it, and its counters from 0 would look like a lie of this one). */
void rt_scrape_unfollow(struct rt_app *a);

#endif
