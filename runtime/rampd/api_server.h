/* api_server.h: rampd's HTTP control API (the contract is docs/API.md, the names are
 * lib/api.h), served by libmicrohttpd.
 *
 * Always on a unix socket (mode 0600: root only, no token); optionally on TCP
 * listeners where every request needs the bearer token (compared in constant
 * time; an address that keeps sending bad tokens gets 429 for a while, and
 * so do all addresses together past a bound), with TLS when a certificate is
 * configured. A TCP connection must show the token within
 * RT_API_AUTH_DEADLINE_MS of being accepted, however slowly it trickles
 * bytes, and only a quarter of a listener's connections may be without it:
 * past that the oldest such one is closed, so slow clients cannot keep those
 * with the token out. Bodies are limited to 64 KiB and parsed strictly; every
 * error is {"error", "message"}. This is the only file that includes
 * microhttpd.h. */
#ifndef RAMP_RT_API_H
#define RAMP_RT_API_H

#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "runtime/rampd/supervisor.h"

struct rt_daemon;
struct rt_config;
struct rt_api;

#define RT_API_BAD_TOKENS 10        /* bad tokens from one address ... */
#define RT_API_BAD_WINDOW_MS 60000   /* ... within this window: 429 until it ends */
#define RT_API_AUTH_DEADLINE_MS 5000 /* from accept to a request with the token */

/* Listen on the config's socket and TCP addresses; requests go to d. */
int rt_api_start(struct rt_daemon *d, const struct rt_config *c, struct rt_api **out, struct err *e);
/* Re-read the token file (SIGHUP). */
int rt_api_reload(struct rt_api *api, const struct rt_config *c, struct err *e);
/* Close the TCP connections past their deadline (rampd's main loop calls it);
 * returns the next deadline in clk_mono_ms() time, 0 when there is none. */
int64_t rt_api_sweep(struct rt_api *api);
void rt_api_stop(struct rt_api *api);

/* Request bodies (exposed for the tests): strict, unknown fields refused. */
int rt_api_parse_put(const char *body, size_t len, struct rt_put_req *r, struct err *e);
int rt_api_parse_revert(const char *body, size_t len, struct rt_revert_req *r, struct err *e);
int rt_api_parse_delete(const char *body, size_t len, struct rt_delete_req *r, struct err *e);
/* A digest-pinned image reference: "registry[:port]/repo@sha256:<64 hex>". */
int rt_api_check_image(const char *image, struct img_digest *d, struct err *e);

#endif
