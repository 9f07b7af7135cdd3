/* config.h: rampd's configuration file (/etc/ramp/rampd.json; every field is
 * described in docs/OPERATIONS.md).
 *
 * The file is read strictly, like any untrusted input: a size limit, unknown
 * fields refused, every value checked (paths absolute, addresses numeric,
 * durations and sizes in range) before rampd acts on any of it, so a typo is
 * an error at start or at reload (SIGHUP), never a silently ignored setting.
 *
 * Per-app host settings (which addresses an app's ports are bound on, env
 * overrides, resource limits, versions kept, ...) come from "defaults",
 * overridden field by field by "apps"."NAME". */
#ifndef RAMP_RT_CONFIG_H
#define RAMP_RT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image/oci.h"
#include "image/trust.h"
#include "lib/err.h"
#include "lib/log.h"

#define RT_CONFIG_DEFAULT "/etc/ramp/rampd.json"
#define RT_STATE_DIR_DEFAULT "/var/lib/ramp"
#define RT_CONFIG_MAX (1u << 20)
/* bounds of "metrics"."max_series" and "max_samples" */
#define RT_METRICS_SERIES_MAX 1024
#define RT_METRICS_SAMPLES_MAX 17280

/* A container port ("8080/tcp") and the host addresses it is bound on. */
struct rt_port_bind {
	char *port;           /* canonical "8080/tcp" */
	struct strv addrs; /* "IP:PORT" */
};

struct rt_app_config {
	struct rt_port_bind *ports;
	size_t n_ports;
	char *address;    /* exposed ports not in `ports` are bound here, same port number */
	struct img_kvs env; /* added to (and overriding) the image's Env */
	bool handoff;     /* hand the sockets over (LISTEN_FDS); false: the app binds $PORT itself */
	bool private_network; /* own network namespace (only lo): handed sockets still work */
	uint64_t memory_max, pids_max, nofile; /* 0: unset */
	uint64_t cpu_quota_us; /* per 100 ms period; "cpus": 1.5 → 150000 */
	unsigned keep;    /* versions kept, current included (GC) */
	bool auto_revert; /* revert locally when a new version is not healthy in time */
	int64_t health_deadline; /* ns from a switch to healthy, for auto_revert */
	int64_t stop_grace;      /* ns between the stop signal and SIGKILL */
	uint64_t log_max;        /* app.log is rotated beyond this many bytes */
	unsigned log_files;      /* app.log and its rotated copies kept (1: app.log is emptied) */
	/* "metrics": scraping the app's Prometheus endpoint (docs/OPERATIONS.md) */
	char *metrics_http;        /* "PORT/PATH" over the image's labels, "none": no scraping, NULL: the image's */
	int64_t metrics_interval;  /* ns between scrapes */
	int64_t metrics_timeout;   /* ns a scrape may take */
	uint64_t metrics_max_page; /* bytes of a page */
	unsigned metrics_max_series, metrics_max_samples; /* kept per version of the app */
};

struct rt_registry_config {
	char *name;             /* "registry.example.com", "127.0.0.1:5000" */
	struct strv mirrors; /* tried first, in order: "host[:port]" */
	bool insecure;          /* plain HTTP / no TLS verification */
	char *cacert;
};

struct rt_config {
	char *state_dir;
	char *socket;            /* unix socket of the API */
	struct strv listen;  /* TCP listeners "IP:PORT"; empty: none */
	char *token_file;        /* required with listen */
	char *tls_cert, *tls_key; /* both or neither */
	char *auth_file;         /* registry credentials (docker/podman auth.json format) */
	struct rt_registry_config *registries;
	size_t n_registries;
	enum log_level log_level;
	bool leave_running;      /* exit on SIGTERM without stopping the apps */
	int64_t gc_interval;     /* ns between collections of the store, besides after switches */
	char *trust_policy;      /* a trust policy file (image/trust.h): versions must be vouched for */
	struct img_trust trust;  /* it, read by rt_config_load */
	struct strv limits;  /* of an image and the free space kept, "KEY=VALUE" (image/limits.h), for the pull helper */
	struct json *root;       /* the parsed file, for per-app lookups */
};

/* Defaults for everything (as with an empty file). */
int rt_config_init(struct rt_config *c, struct err *e);
/* Parse a document (replaces c, which must be initialized or zeroed). */
int rt_config_parse(struct rt_config *c, const char *buf, size_t len, struct err *e);
/* Read and parse a file, and the trust policy it names; a missing file is
 * an error; on any error c is left as it was. */
int rt_config_load(struct rt_config *c, const char *path, struct err *e);
void rt_config_free(struct rt_config *c);

/* The settings of one app: built-in defaults, then "defaults", then
 * "apps".name. Validated at load, so this fails only on ENOMEM. */
int rt_config_app(const struct rt_config *c, const char *name, struct rt_app_config *out, struct err *e);
void rt_app_config_free(struct rt_app_config *a);
/* The registry's settings, or NULL. */
const struct rt_registry_config *rt_config_registry(const struct rt_config *c, const char *name);

/* [a-z0-9][a-z0-9_.-]{0,62} (docs/API.md): a name is never a path. */
bool rt_app_name_valid(const char *name);

#endif
