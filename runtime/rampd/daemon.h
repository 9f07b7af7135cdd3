/* daemon.h: rampd as a whole: its configuration, the table of apps, the API
 * server, signals (SIGTERM stops, SIGHUP reloads, SIGQUIT leaves the apps
 * running) and the systemd protocol (READY, WATCHDOG, STOPPING).
 *
 * The request entry points below are what the API calls; each takes the
 * daemon's lock only to find the app, then the app's own lock.
 *
 * Threads:
 *   main       rt_daemon_run(): signals (stop, SIGHUP's reload), the
 *              watchdog, garbage collection when an app asks (wake_fd), and
 *              forgetting apps whose DELETE finished
 *   listener   one per API listener (the unix socket, each TCP address), libmicrohttpd's
 *              own: each request runs the entry points below on it
 *   app        one per app (supervisor_run.c): its containers, switches,
 *              restarts and probes; it alone owns a->w
 *   pull       one per pull in progress (supervisor_run.c, daemon_pull.c):
 *              starts rampd-pull and waits for it
 *
 * Locks, always taken in this order (never one to the left while holding
 * one to its right):
 *   store_mu   (struct rt_daemon) imports into the store and its garbage
 *              collection: one at a time. Reading an image that is there
 *              needs no lock when it cannot be collected (a kept version);
 *              rt_daemon_has_image() says whether any other is there.
 *   mu         (struct rt_daemon) cfg, the apps table (apps, n_apps),
 *              gc_wanted, running. App threads read their config only
 *              through rt_daemon_app_config(), a copy made under it.
 *   a->mu      (struct rt_app, supervisor.h) everything of one app but its
 *              thread's own state (a->w); the daemon takes it under mu to go
 *              over the apps, an app thread takes it alone.
 *   api->mu    (api_server.c) the token's hash and the bad-token table; a
 *              leaf: nothing is taken under it.
 * The first three are taken through rt_store_lock(), rt_daemon_lock() and
 * rt_app_lock() (locks.h), and the fields they guard are annotated: clang
 * checks them (make lockcheck; where it cannot: docs/ARCHITECTURE.md). */
#ifndef RAMP_RT_DAEMON_H
#define RAMP_RT_DAEMON_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/err.h"
#include "lib/json.h"
#include "runtime/rampd/config.h"
#include "runtime/rampd/locks.h"
#include "runtime/store.h"
#include "runtime/rampd/supervisor.h"

struct rt_api;
struct rt_applog;
struct rt_scraper;

struct rt_daemon_opts {
	const char *config_path;
	bool leave_running; /* on SIGTERM too, not only SIGQUIT */
	int log_level;      /* 0: the config's */
};

struct rt_daemon {
	char *config_path;
	bool leave_running;
	int log_level_override;
	pthread_mutex_t mu; /* cfg and the apps table (rt_lock_daemon) */
	struct rt_config cfg RT_GUARDED_BY(rt_lock_daemon);
	struct rt_app **apps RT_GUARDED_BY(rt_lock_daemon);
	size_t n_apps RT_GUARDED_BY(rt_lock_daemon);
	struct rt_api *api;
	struct rt_applog *applog; /* the apps' output into their logs (while running) */
	struct rt_scraper *scraper; /* the apps' metrics (runtime/scrape.h), while running */
	struct rt_store store;
	/* imports and GC change the store's images: one at a time (reading an
	   image that is there, as a switch does, needs no lock) */
	pthread_mutex_t store_mu; /* rt_lock_store */
	int wake_fd;          /* eventfd: an app was deleted, GC is wanted */
	bool gc_wanted RT_GUARDED_BY(rt_lock_daemon);
	bool running RT_GUARDED_BY(rt_lock_daemon); /* apps have threads */
	int64_t started_mono;
	char host[256], kernel[128];
	char pull_helper[PATH_MAX]; /* rampd-pull, next to rampd's own executable */
};

/* Load the configuration and what the host knows of its apps; nothing runs yet. */
int rt_daemon_open(struct rt_daemon *d, const struct rt_daemon_opts *o, struct err *e);
/* Start the API and the apps, serve until a stop signal; then stop the apps
 * (unless told to leave them running) and the API. */
int rt_daemon_run(struct rt_daemon *d, struct err *e);
void rt_daemon_close(struct rt_daemon *d);

/* From app threads: a switch happened (collect garbage soon); an app's
 * thread ended after a DELETE (forget the app). */
void rt_daemon_want_gc(struct rt_daemon *d);
void rt_daemon_app_gone(struct rt_daemon *d);
/* From the API: it has a new deadline (rt_api_sweep) the main loop must see. */
void rt_daemon_wake(struct rt_daemon *d);
/* From app threads: the app's part of the current config (a copy, taken
 * under mu; the caller frees it), and whether the store has an image
 * (under store_mu when `locked`: an image that is not kept could be being
 * collected). */
int rt_daemon_app_config(struct rt_daemon *d, const char *name, struct rt_app_config *out, struct err *e);
bool rt_daemon_has_image(struct rt_daemon *d, const struct img_digest *manifest, bool locked);
/* Collect the store's garbage now: keeps what every app needs. */
int rt_daemon_gc(struct rt_daemon *d, struct err *e);

/* Pull v (mirrors first) and import it into the store, through the pull
 * helper; the app's phase says pulling, then unpacking (daemon_pull.c). */
int rt_daemon_pull(struct rt_daemon *d, struct rt_app *a, const struct rt_app_version *v, struct err *e);

/* Re-read the config file (SIGHUP); on error the old one stays. */
int rt_daemon_reload(struct rt_daemon *d, struct err *e);

/* Request entry points (docs/API.md). g receives the 2xx document. */
void rt_daemon_info(struct rt_daemon *d, struct jgen *g);
void rt_daemon_list_apps(struct rt_daemon *d, struct jgen *g);
struct rt_outcome rt_daemon_get_app(struct rt_daemon *d, const char *name, struct jgen *g, struct err *e);
struct rt_outcome rt_daemon_put(struct rt_daemon *d, const char *name, const struct rt_put_req *r, struct jgen *g,
				struct err *e);
struct rt_outcome rt_daemon_revert(struct rt_daemon *d, const char *name, const struct rt_revert_req *r,
				   struct jgen *g, struct err *e);
struct rt_outcome rt_daemon_delete(struct rt_daemon *d, const char *name, const struct rt_delete_req *r,
				   struct jgen *g, struct err *e);
struct rt_outcome rt_daemon_logs(struct rt_daemon *d, const char *name, unsigned tail, char **out, size_t *len,
				 struct err *e);
int rt_daemon_metrics(struct rt_daemon *d, char **out, size_t *len, struct err *e);
/* An app's own metrics (daemon_metrics.c): set or drop the watch, read the samples after since (unix ms). */
struct rt_outcome rt_daemon_watch(struct rt_daemon *d, const char *name, const char *body, size_t len,
				  struct jgen *g, struct err *e);
struct rt_outcome rt_daemon_unwatch(struct rt_daemon *d, const char *name, struct jgen *g, struct err *e);
struct rt_outcome rt_daemon_app_metrics(struct rt_daemon *d, const char *name, int64_t since, struct jgen *g,
					struct err *e);
/* The app locked (a->mu), or NULL with a 404 outcome. */
struct rt_app *rt_daemon_lock_app(struct rt_daemon *d, const char *name, struct rt_outcome *o, struct err *e)
	RT_TRY_ACQUIRE(rt_lock_app);

/* sd_notify without libsystemd: one datagram to $NOTIFY_SOCKET. 0 when sent
 * or when there is no socket (not under systemd). */
int rt_notify(const char *msg, struct err *e);
/* Half the watchdog period systemd asked for in ms, 0 when none. */
int64_t rt_watchdog_interval_ms(void);

#endif
