/* settings.h: the app settings `ramp build` puts into an image config:
 * entrypoint, cmd, env, workdir, user, exposed ports, stop signal, labels,
 * manifest annotations and a health check. They come from a JSON file
 * (--config ramp.json) and/or flags; flags win. Everything is validated here,
 * so a bad value is refused before any work is done.
 *
 * An exec health check becomes Docker's Healthcheck; an HTTP one, which OCI
 * has no field for, becomes io.ramp.health.* labels (see docs/IMAGE.md), and
 * so does the Prometheus metrics endpoint: io.ramp.metrics.port and .path. */
#ifndef RAMP_IMG_SETTINGS_H
#define RAMP_IMG_SETTINGS_H

#include "image/oci.h"

struct img_settings {
	bool has_entrypoint, has_cmd;
	struct strv entrypoint, cmd;
	struct img_kvs env; /* merged into the base's Env by key */
	char *workdir, *user, *stop_signal;
	struct strv ports; /* "8080/tcp" */
	struct img_kvs labels, annotations;
	/* health: either exec (Healthcheck) or http; durations in ns */
	struct strv health_exec; /* Docker form: CMD ... or CMD-SHELL "..." */
	char *health_http;           /* "PORT/PATH" as given, validated */
	int64_t health_interval, health_timeout, health_start_period, health_retries;
	char *metrics_http; /* "PORT/PATH" of the Prometheus metrics endpoint */
};

#define IMG_LABEL_METRICS_PORT "io.ramp.metrics.port"
#define IMG_LABEL_METRICS_PATH "io.ramp.metrics.path"

/* Merge the settings of a JSON document into s (later calls override). */
int img_settings_parse_json(struct img_settings *s, const char *buf, size_t len, struct err *e);

/* Setters used for flags; each validates and names the setting in errors. */
int img_settings_set(struct img_settings *s, const char *key, const char *value, struct err *e);

/* Apply onto a config (the base's, or an empty one). */
int img_settings_apply(const struct img_settings *s, struct img_config *c, struct err *e);
void img_settings_free(struct img_settings *s);

/* "PORT/PATH" of an HTTP check or endpoint (port 1 to 65535, an absolute
 * path of at most 1 KiB without blanks or control characters); `what` names
 * the setting in the message. */
int img_settings_check_http(const char *what, const char *v, struct err *e);

/* "1h2m3s", "500ms", "10s" or plain seconds → nanoseconds. */
int img_parse_duration(const char *s, int64_t *ns, struct err *e);

#endif
