/* settings.c: validation and application of image settings (see settings.h). */
#include "image/settings.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/json.h"

int img_parse_duration(const char *s, int64_t *ns, struct err *e)
{
	static const struct {
		const char *unit;
		int64_t mult;
	} units[] = {{"ns", 1}, {"us", 1000}, {"ms", 1000000}, {"s", 1000000000LL},
		     {"m", 60000000000LL}, {"h", 3600000000000LL}};
	const char *p = s;
	int64_t total = 0;
	if (!*p)
		return err_set(e, "empty duration");
	while (*p) {
		char *end;
		errno = 0;
		long long v = strtoll(p, &end, 10);
		if (end == p || v < 0 || errno)
			return err_set(e, "invalid duration \"%.40s\" (examples: 30s, 500ms, 1m30s)", s);
		p = end;
		int64_t mult = 1000000000LL; /* plain number: seconds, and only alone */
		if (*p) {
			size_t best = 0;
			for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
				size_t l = strlen(units[i].unit);
				if (!strncmp(p, units[i].unit, l) && l > best && (p[l] < 'a' || p[l] > 'z')) {
					best = l;
					mult = units[i].mult;
				}
			}
			if (!best)
				return err_set(e, "invalid duration \"%.40s\": unknown unit (use ns, us, ms, s, m, h)", s);
			p += best;
		} else if (p != end || total) {
			return err_set(e, "invalid duration \"%.40s\": a unit is missing", s);
		}
		if (v > INT64_MAX / mult || total > INT64_MAX - v * mult)
			return err_set(e, "duration \"%.40s\" is too long", s);
		total += v * mult;
	}
	*ns = total;
	return 0;
}

static int set_str(char **dst, const char *v, struct err *e)
{
	char *n = strdup(v);
	if (!n)
		return err_errno(e, ENOMEM, "setting");
	free(*dst);
	*dst = n;
	return 0;
}

static int check_port(const char *v, char *out, size_t cap, struct err *e)
{
	char *end;
	errno = 0;
	long port = strtol(v, &end, 10);
	const char *proto = "tcp";
	if (end == v || errno || port < 1 || port > 65535)
		return err_set(e, "port \"%.40s\": expected a number from 1 to 65535, optionally /tcp, /udp or /sctp", v);
	if (*end == '/') {
		proto = end + 1;
		if (strcmp(proto, "tcp") && strcmp(proto, "udp") && strcmp(proto, "sctp"))
			return err_set(e, "port \"%.40s\": protocol must be tcp, udp or sctp", v);
	} else if (*end) {
		return err_set(e, "port \"%.40s\": expected a number from 1 to 65535, optionally /tcp, /udp or /sctp", v);
	}
	snprintf(out, cap, "%ld/%s", port, proto);
	return 0;
}

static int check_signal(const char *v, struct err *e)
{
	const char *n = !strncmp(v, "SIG", 3) ? v + 3 : v;
	char *end;
	long num = strtol(v, &end, 10);
	if (*v && !*end)
		return num > 0 && num < _NSIG ? 0 : err_set(e, "stop signal \"%.40s\" is out of range", v);
	for (int s = 1; s < _NSIG; s++) {
		const char *abbrev = sigabbrev_np(s);
		if (abbrev && !strcmp(abbrev, n))
			return 0;
	}
	return err_set(e, "stop signal \"%.40s\" is not a signal name (for example SIGTERM)", v);
}

static int check_kv(const char *what, const char *kv, char **k, const char **v, struct err *e)
{
	const char *eq = strchr(kv, '=');
	if (!eq || eq == kv)
		return err_set(e, "%s \"%.80s\": expected KEY=VALUE", what, kv);
	if (!(*k = strndup(kv, (size_t)(eq - kv))))
		return err_errno(e, ENOMEM, "%s", what);
	*v = eq + 1;
	return 0;
}

int img_settings_check_http(const char *what, const char *v, struct err *e)
{
	char *end;
	errno = 0;
	long port = strtol(v, &end, 10);
	if (end == v || errno || port < 1 || port > 65535 || *end != '/' || strlen(end) > 1024)
		return err_set(e, "%s \"%.80s\": expected PORT/PATH, for example 8080/%s", what, v,
			       strstr(what, "metrics") ? "metrics" : "health");
	for (const char *p = end; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return err_set(e, "%s \"%.80s\": the path contains a space or control character", what, v);
	return 0;
}

/* A command given as a string or a JSON array string. */
static int set_argv(struct strv *dst, const char *what, const char *v, struct err *e)
{
	strv_free(dst);
	if (v[0] != '[')
		return strv_push(dst, v, e);
	struct json *j = json_parse(v, strlen(v), e);
	if (!j)
		return err_ctx(e, "%s", what);
	int rc = 0;
	if (j->type != JSON_ARRAY)
		rc = err_set(e, "%s: expected a JSON array of strings", what);
	for (size_t i = 0; rc == 0 && i < j->arr.n; i++) {
		if (j->arr.v[i]->type != JSON_STRING || strlen(j->arr.v[i]->str.s) != j->arr.v[i]->str.len)
			rc = err_set(e, "%s: item %zu is not a string", what, i);
		else
			rc = strv_push(dst, j->arr.v[i]->str.s, e);
	}
	json_free(j);
	return rc;
}

int img_settings_set(struct img_settings *s, const char *key, const char *v, struct err *e)
{
	_cleanup_free_ char *k = NULL;
	const char *val;
	char port[32];
	if (!strcmp(key, "entrypoint")) {
		s->has_entrypoint = true;
		return set_argv(&s->entrypoint, "entrypoint", v, e);
	}
	if (!strcmp(key, "cmd")) {
		s->has_cmd = true;
		return set_argv(&s->cmd, "cmd", v, e);
	}
	if (!strcmp(key, "env")) {
		if (check_kv("env", v, &k, &val, e) < 0)
			return -1;
		return img_kvs_set(&s->env, k, val, e);
	}
	if (!strcmp(key, "label") || !strcmp(key, "annotation")) {
		if (check_kv(key, v, &k, &val, e) < 0)
			return -1;
		return img_kvs_set(key[0] == 'l' ? &s->labels : &s->annotations, k, val, e);
	}
	if (!strcmp(key, "workdir")) {
		if (v[0] != '/')
			return err_set(e, "workdir \"%.80s\" must be an absolute path", v);
		return set_str(&s->workdir, v, e);
	}
	if (!strcmp(key, "user")) {
		if (!*v || strchr(v, '\n') || strchr(v, '/'))
			return err_set(e, "user \"%.80s\": expected NAME, UID, NAME:GROUP or UID:GID", v);
		return set_str(&s->user, v, e);
	}
	if (!strcmp(key, "stop-signal"))
		return check_signal(v, e) < 0 ? -1 : set_str(&s->stop_signal, v, e);
	if (!strcmp(key, "port")) {
		if (check_port(v, port, sizeof port, e) < 0)
			return -1;
		for (size_t i = 0; i < s->ports.n; i++)
			if (!strcmp(s->ports.v[i], port))
				return 0;
		return strv_push(&s->ports, port, e);
	}
	if (!strcmp(key, "health-cmd")) {
		strv_free(&s->health_exec);
		free(s->health_http);
		s->health_http = NULL;
		if (v[0] == '[') {
			struct strv argv = {0};
			if (set_argv(&argv, "health-cmd", v, e) < 0) {
				strv_free(&argv);
				return -1;
			}
			if (!argv.n) {
				strv_free(&argv);
				return err_set(e, "health-cmd: the command is empty");
			}
			int rc = strv_push(&s->health_exec, "CMD", e);
			for (size_t i = 0; rc == 0 && i < argv.n; i++)
				rc = strv_push(&s->health_exec, argv.v[i], e);
			strv_free(&argv);
			return rc;
		}
		if (!*v)
			return err_set(e, "health-cmd: the command is empty");
		return strv_push(&s->health_exec, "CMD-SHELL", e) < 0 ? -1 : strv_push(&s->health_exec, v, e);
	}
	if (!strcmp(key, "metrics-http"))
		return img_settings_check_http("metrics endpoint", v, e) < 0 ? -1 : set_str(&s->metrics_http, v, e);
	if (!strcmp(key, "health-http")) {
		if (img_settings_check_http("HTTP health check", v, e) < 0)
			return -1;
		strv_free(&s->health_exec);
		return set_str(&s->health_http, v, e);
	}
	if (!strcmp(key, "health-retries")) {
		char *end;
		errno = 0;
		long r = strtol(v, &end, 10);
		if (!*v || *end || errno || r < 1 || r > 1000)
			return err_set(e, "health-retries \"%.40s\": expected a number from 1 to 1000", v);
		s->health_retries = r;
		return 0;
	}
	int64_t *dur = !strcmp(key, "health-interval")       ? &s->health_interval
		       : !strcmp(key, "health-timeout")      ? &s->health_timeout
		       : !strcmp(key, "health-start-period") ? &s->health_start_period
							     : NULL;
	if (dur) {
		if (img_parse_duration(v, dur, e) < 0)
			return err_ctx(e, "%s", key);
		if (*dur < 1000000 && dur != &s->health_start_period)
			return err_set(e, "%s \"%.40s\": must be at least 1ms", key, v);
		return 0;
	}
	return err_set(e, "unknown setting \"%s\"", key);
}

/* JSON: each member maps to the flag of the same meaning. */
static int json_strings(struct img_settings *s, const struct json *v, const char *key, const char *flag,
			bool is_map, struct err *e)
{
	if (is_map) {
		if (v->type != JSON_OBJECT)
			return err_set(e, "\"%s\": expected an object of strings", key);
		for (size_t i = 0; i < v->obj.n; i++) {
			const struct json *x = v->obj.v[i];
			_cleanup_free_ char *kv = NULL;
			if (x->type != JSON_STRING)
				return err_set(e, "\"%s\".\"%.80s\": expected a string", key, v->obj.k[i]);
			if (asprintf(&kv, "%s=%s", v->obj.k[i], x->str.s) < 0)
				return err_errno(e, ENOMEM, "settings");
			if (img_settings_set(s, flag, kv, e) < 0)
				return -1;
		}
		return 0;
	}
	if (v->type != JSON_ARRAY)
		return err_set(e, "\"%s\": expected an array of strings", key);
	for (size_t i = 0; i < v->arr.n; i++) {
		const struct json *x = v->arr.v[i];
		char num[16];
		const char *str = x->type == JSON_STRING ? x->str.s : NULL;
		if (x->type == JSON_INT && !strcmp(key, "ports") && x->i > 0 && x->i < 65536) {
			snprintf(num, sizeof num, "%lld", (long long)x->i);
			str = num;
		}
		if (!str)
			return err_set(e, "\"%s\"[%zu]: expected a string", key, i);
		if (img_settings_set(s, flag, str, e) < 0)
			return -1;
	}
	return 0;
}

static int json_argv(struct img_settings *s, const struct json *v, const char *key, struct err *e)
{
	if (v->type == JSON_STRING)
		return img_settings_set(s, key, v->str.s, e);
	if (v->type != JSON_ARRAY)
		return err_set(e, "\"%s\": expected an array of strings or a string", key);
	struct jgen *g = jgen_new(false);
	const char *buf;
	size_t len;
	if (!g)
		return err_errno(e, ENOMEM, "settings");
	jgen_value(g, v);
	int rc = jgen_result(g, &buf, &len, e);
	if (rc == 0) {
		if (v->arr.n == 0 && !strcmp(key, "health-cmd"))
			rc = err_set(e, "\"health\".\"exec\": the command is empty");
		else
			rc = img_settings_set(s, key, buf, e);
	}
	jgen_free(g);
	return rc;
}

static int json_health(struct img_settings *s, const struct json *h, struct err *e)
{
	static const char *const keys[] = {"exec", "http", "interval", "timeout", "start_period", "retries", NULL};
	if (json_only_keys(h, keys, "\"health\"", e) < 0)
		return -1;
	const struct json *ex = json_get(h, "exec"), *http = json_get(h, "http");
	if (ex && http)
		return err_set(e, "\"health\": give either \"exec\" or \"http\", not both");
	if (ex && json_argv(s, ex, "health-cmd", e) < 0)
		return -1;
	if (http) {
		static const char *const hk[] = {"port", "path", NULL};
		int64_t port = 0;
		const char *path = NULL;
		char spec[4200];
		if (json_only_keys(http, hk, "\"health\".\"http\"", e) < 0 || json_field_int(http, "port", true, &port, e) < 0 ||
		    json_field_str(http, "path", true, &path, e) < 0)
			return err_ctx(e, "\"health\".\"http\"");
		if (strlen(path) > 4096 || path[0] != '/')
			return err_set(e, "\"health\".\"http\".\"path\" must start with / (and be shorter than 4 KiB)");
		snprintf(spec, sizeof spec, "%lld%s", (long long)port, path);
		if (img_settings_set(s, "health-http", spec, e) < 0)
			return -1;
	}
	static const char *const dk[] = {"interval", "timeout", "start_period"};
	static const char *const flag[] = {"health-interval", "health-timeout", "health-start-period"};
	for (size_t i = 0; i < ARRAY_SIZE(dk); i++) {
		const char *d = NULL;
		if (json_field_str(h, dk[i], false, &d, e) < 0)
			return err_ctx(e, "\"health\"");
		if (d && img_settings_set(s, flag[i], d, e) < 0)
			return -1;
	}
	int64_t r = 0;
	if (json_field_int(h, "retries", false, &r, e) < 0)
		return err_ctx(e, "\"health\"");
	if (json_get(h, "retries")) {
		char num[32];
		snprintf(num, sizeof num, "%lld", (long long)r);
		if (img_settings_set(s, "health-retries", num, e) < 0)
			return -1;
	}
	return 0;
}

static int json_metrics(struct img_settings *s, const struct json *m, struct err *e)
{
	static const char *const keys[] = {"port", "path", NULL};
	int64_t port = 0;
	const char *path = NULL;
	char spec[1100];
	if (json_only_keys(m, keys, "\"metrics\"", e) < 0 || json_field_int(m, "port", true, &port, e) < 0 ||
	    json_field_str(m, "path", true, &path, e) < 0)
		return err_ctx(e, "\"metrics\"");
	if (strlen(path) > 1024 || path[0] != '/')
		return err_set(e, "\"metrics\".\"path\" must start with / (and be at most 1 KiB)");
	snprintf(spec, sizeof spec, "%lld%s", (long long)port, path);
	return img_settings_set(s, "metrics-http", spec, e);
}

int img_settings_parse_json(struct img_settings *s, const char *buf, size_t len, struct err *e)
{
	static const char *const keys[] = {"entrypoint", "cmd",    "env",         "workdir",     "user",   "ports",
					   "stop_signal", "labels", "annotations", "health", "metrics", NULL};
	struct json *j = json_parse(buf, len, e);
	int rc = -1;
	if (!j)
		return -1;
	if (json_only_keys(j, keys, "settings", e) < 0)
		goto out;
	for (size_t i = 0; i < j->obj.n; i++) {
		const char *k = j->obj.k[i];
		const struct json *v = j->obj.v[i];
		int r;
		if (!strcmp(k, "entrypoint") || !strcmp(k, "cmd"))
			r = json_argv(s, v, k, e);
		else if (!strcmp(k, "env"))
			r = json_strings(s, v, k, "env", true, e);
		else if (!strcmp(k, "labels"))
			r = json_strings(s, v, k, "label", true, e);
		else if (!strcmp(k, "annotations"))
			r = json_strings(s, v, k, "annotation", true, e);
		else if (!strcmp(k, "ports"))
			r = json_strings(s, v, k, "port", false, e);
		else if (!strcmp(k, "health"))
			r = v->type == JSON_OBJECT ? json_health(s, v, e) : err_set(e, "\"health\": expected an object");
		else if (!strcmp(k, "metrics"))
			r = v->type == JSON_OBJECT ? json_metrics(s, v, e) : err_set(e, "\"metrics\": expected an object");
		else {
			const char *flag = !strcmp(k, "stop_signal") ? "stop-signal" : k;
			r = v->type == JSON_STRING ? img_settings_set(s, flag, v->str.s, e)
						   : err_set(e, "\"%s\": expected a string", k);
		}
		if (r < 0)
			goto out;
	}
	rc = 0;
out:
	json_free(j);
	return rc;
}

static int env_set(struct strv *env, const char *k, const char *v, struct err *e)
{
	_cleanup_free_ char *kv = NULL;
	size_t kl = strlen(k);
	if (asprintf(&kv, "%s=%s", k, v) < 0)
		return err_errno(e, ENOMEM, "env");
	for (size_t i = 0; i < env->n; i++)
		if (!strncmp(env->v[i], k, kl) && env->v[i][kl] == '=') {
			free(env->v[i]);
			env->v[i] = steal_ptr(kv);
			return 0;
		}
	return strv_push(env, kv, e);
}

static int label_dur(struct img_kvs *l, const char *k, int64_t ns, struct err *e)
{
	char v[32];
	if (!ns)
		return 0;
	if (ns % 1000000000LL == 0)
		snprintf(v, sizeof v, "%llds", (long long)(ns / 1000000000LL));
	else
		snprintf(v, sizeof v, "%lldms", (long long)(ns / 1000000));
	return img_kvs_set(l, k, v, e);
}

int img_settings_apply(const struct img_settings *s, struct img_config *c, struct err *e)
{
	if (s->has_entrypoint) {
		strv_free(&c->entrypoint);
		c->has_entrypoint = true;
		for (size_t i = 0; i < s->entrypoint.n; i++)
			if (strv_push(&c->entrypoint, s->entrypoint.v[i], e) < 0)
				return -1;
		/* as in Dockerfiles: a new entrypoint drops the inherited cmd */
		if (!s->has_cmd) {
			strv_free(&c->cmd);
			c->has_cmd = false;
		}
	}
	if (s->has_cmd) {
		strv_free(&c->cmd);
		c->has_cmd = true;
		for (size_t i = 0; i < s->cmd.n; i++)
			if (strv_push(&c->cmd, s->cmd.v[i], e) < 0)
				return -1;
	}
	for (size_t i = 0; i < s->env.n; i++)
		if (env_set(&c->env, s->env.v[i].k, s->env.v[i].v, e) < 0)
			return -1;
	if ((s->workdir && set_str(&c->workdir, s->workdir, e) < 0) || (s->user && set_str(&c->user, s->user, e) < 0) ||
	    (s->stop_signal && set_str(&c->stop_signal, s->stop_signal, e) < 0))
		return -1;
	for (size_t i = 0; i < s->ports.n; i++) {
		bool have = false;
		for (size_t j = 0; j < c->exposed_ports.n; j++)
			have |= !strcmp(c->exposed_ports.v[j], s->ports.v[i]);
		if (!have && strv_push(&c->exposed_ports, s->ports.v[i], e) < 0)
			return -1;
	}
	for (size_t i = 0; i < s->labels.n; i++)
		if (img_kvs_set(&c->labels, s->labels.v[i].k, s->labels.v[i].v, e) < 0)
			return -1;
	if (s->health_exec.n) {
		if (!c->healthcheck && !(c->healthcheck = calloc(1, sizeof *c->healthcheck)))
			return err_errno(e, ENOMEM, "health check");
		struct img_healthcheck *h = c->healthcheck;
		strv_free(&h->test);
		for (size_t i = 0; i < s->health_exec.n; i++)
			if (strv_push(&h->test, s->health_exec.v[i], e) < 0)
				return -1;
		if (s->health_interval)
			h->interval = s->health_interval;
		if (s->health_timeout)
			h->timeout = s->health_timeout;
		if (s->health_start_period)
			h->start_period = s->health_start_period;
		if (s->health_retries)
			h->retries = s->health_retries;
	} else if (s->health_http) {
		char port[16];
		const char *slash = strchr(s->health_http, '/');
		snprintf(port, sizeof port, "%.*s", (int)(slash - s->health_http), s->health_http);
		if (img_kvs_set(&c->labels, "io.ramp.health.type", "http", e) < 0 ||
		    img_kvs_set(&c->labels, "io.ramp.health.port", port, e) < 0 ||
		    img_kvs_set(&c->labels, "io.ramp.health.path", slash, e) < 0 ||
		    label_dur(&c->labels, "io.ramp.health.interval", s->health_interval, e) < 0 ||
		    label_dur(&c->labels, "io.ramp.health.timeout", s->health_timeout, e) < 0 ||
		    label_dur(&c->labels, "io.ramp.health.start-period", s->health_start_period, e) < 0)
			return -1;
		if (s->health_retries) {
			char r[16];
			snprintf(r, sizeof r, "%lld", (long long)s->health_retries);
			if (img_kvs_set(&c->labels, "io.ramp.health.retries", r, e) < 0)
				return -1;
		}
	}
	if (s->metrics_http) {
		const char *slash = strchr(s->metrics_http, '/');
		char port[16];
		snprintf(port, sizeof port, "%.*s", (int)(slash - s->metrics_http), s->metrics_http);
		if (img_kvs_set(&c->labels, IMG_LABEL_METRICS_PORT, port, e) < 0 ||
		    img_kvs_set(&c->labels, IMG_LABEL_METRICS_PATH, slash, e) < 0)
			return -1;
	}
	return 0;
}

void img_settings_free(struct img_settings *s)
{
	strv_free(&s->entrypoint);
	strv_free(&s->cmd);
	img_kvs_free(&s->env);
	free(s->workdir);
	free(s->user);
	free(s->stop_signal);
	strv_free(&s->ports);
	img_kvs_free(&s->labels);
	img_kvs_free(&s->annotations);
	strv_free(&s->health_exec);
	free(s->health_http);
	free(s->metrics_http);
	*s = (struct img_settings){0};
}
