/* config.c: reading rampd.json strictly (see config.h). */
#include "runtime/rampd/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/limits.h"
#include "image/settings.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "runtime/app_state.h"
#include "runtime/rampd/applog.h"
#include "runtime/rampd/sockets.h"

#define MAX_LIST 64 /* listeners, mirrors, addresses of a port */
#define NS_PER_S 1000000000LL
#define LOG_MAX_MIN (64u << 10) /* an app log smaller than this would rotate at every line */

bool rt_app_name_valid(const char *name)
{
	struct err e;
	return rt_app_name_check(name, &e) == 0; /* one rule: the store's, which is docs/API.md's */
}

static int dup_str(char **dst, const char *s, struct err *e)
{
	char *n = strdup(s);
	if (!n)
		return err_errno(e, ENOMEM, "config");
	free(*dst);
	*dst = n;
	return 0;
}

static int abs_path(const struct json *o, const char *key, char **dst, struct err *e)
{
	const char *s = NULL;
	if (json_field_str(o, key, false, &s, e) < 0)
		return -1;
	if (!s)
		return 0;
	if (s[0] != '/' || strlen(s) > 4000)
		return err_set(e, "field \"%s\": \"%.80s\" is not an absolute path", key, s);
	return dup_str(dst, s, e);
}

/* An array of strings, each checked by `check` when given. */
static int str_array(const struct json *a, const char *what, struct strv *out,
		     int (*check)(const char *, struct err *), struct err *e)
{
	if (a->arr.n > MAX_LIST)
		return err_set(e, "%s: more than %d entries", what, MAX_LIST);
	strv_free(out);
	for (size_t i = 0; i < a->arr.n; i++) {
		const struct json *v = a->arr.v[i];
		if (v->type != JSON_STRING || strlen(v->str.s) != v->str.len)
			return err_set(e, "%s: entry %zu is not a string", what, i);
		if (check && check(v->str.s, e) < 0)
			return err_ctx(e, "%s", what);
		if (strv_push(out, v->str.s, e) < 0)
			return -1;
	}
	return 0;
}

static int str_list(const struct json *o, const char *key, struct strv *out,
		    int (*check)(const char *, struct err *), struct err *e)
{
	const struct json *a;
	char what[64];
	if (json_field(o, key, JSON_ARRAY, false, &a, e) < 0)
		return -1;
	snprintf(what, sizeof what, "field \"%s\"", key);
	return a ? str_array(a, what, out, check, e) : 0;
}

static int check_listen(const char *s, struct err *e)
{
	struct rt_addr a;
	return rt_addr_parse(s, true, &a, e);
}

static int check_host(const char *s, struct err *e)
{
	/* "host[:port]": letters, digits, '.', '-', ':', and brackets for IPv6 */
	size_t n = strlen(s);
	if (n == 0 || n > 255)
		return err_set(e, "registry \"%.80s\": expected host[:port]", s);
	for (size_t i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]_", s[i]))
			return err_set(e, "registry \"%.80s\": expected host[:port]", s);
	return 0;
}

static int duration(const struct json *o, const char *key, int64_t min, int64_t *out, struct err *e)
{
	const char *s = NULL;
	int64_t ns;
	if (json_field_str(o, key, false, &s, e) < 0)
		return -1;
	if (!s)
		return 0;
	if (img_parse_duration(s, &ns, e) < 0)
		return err_ctx(e, "field \"%s\"", key);
	if (ns < min || ns > 365 * 24 * 3600 * NS_PER_S)
		return err_set(e, "field \"%s\": \"%.40s\" is out of range", key, s);
	*out = ns;
	return 0;
}

static int uint_field(const struct json *o, const char *key, uint64_t min, uint64_t max, uint64_t *out, struct err *e)
{
	int64_t v;
	if (!json_get(o, key) || json_get(o, key)->type == JSON_NULL)
		return 0;
	if (json_field_int(o, key, true, &v, e) < 0)
		return -1;
	if (v < 0 || (uint64_t)v < min || (uint64_t)v > max)
		return err_set(e, "field \"%s\": %lld is out of range (%llu to %llu)", key, (long long)v,
			       (unsigned long long)min, (unsigned long long)max);
	*out = (uint64_t)v;
	return 0;
}

static void app_defaults(struct rt_app_config *a)
{
	memset(a, 0, sizeof *a);
	a->handoff = true;
	a->keep = 3;
	a->health_deadline = 60 * NS_PER_S;
	a->stop_grace = 10 * NS_PER_S;
	a->log_max = 8u << 20;
	a->log_files = 2;
	a->metrics_interval = 5 * NS_PER_S;
	a->metrics_timeout = 2 * NS_PER_S;
	a->metrics_max_page = 4u << 20;
	a->metrics_max_series = 64;
	a->metrics_max_samples = 720;
}

void rt_app_config_free(struct rt_app_config *a)
{
	for (size_t i = 0; i < a->n_ports; i++) {
		free(a->ports[i].port);
		strv_free(&a->ports[i].addrs);
	}
	free(a->ports);
	free(a->address);
	img_kvs_free(&a->env);
	free(a->metrics_http);
	memset(a, 0, sizeof *a);
}

static int apply_ports(const struct json *ports, struct rt_app_config *a, struct err *e)
{
	if (ports->obj.n > MAX_LIST)
		return err_set(e, "more than %d ports", MAX_LIST);
	for (size_t i = 0; i < ports->obj.n; i++) {
		char canon[16];
		unsigned p;
		int type, proto;
		if (rt_port_parse(ports->obj.k[i], &p, &type, &proto, canon, sizeof canon, e) < 0)
			return -1;
		struct rt_port_bind *b = NULL;
		for (size_t j = 0; j < a->n_ports; j++)
			if (!strcmp(a->ports[j].port, canon))
				b = &a->ports[j];
		if (!b) {
			struct rt_port_bind *n = realloc(a->ports, (a->n_ports + 1) * sizeof *n);
			if (!n)
				return err_errno(e, ENOMEM, "config");
			a->ports = n;
			b = &a->ports[a->n_ports++];
			memset(b, 0, sizeof *b);
			if (!(b->port = strdup(canon)))
				return err_errno(e, ENOMEM, "config");
		}
		const struct json *v = ports->obj.v[i];
		strv_free(&b->addrs);
		if (v->type == JSON_STRING) {
			if (check_listen(v->str.s, e) < 0 || strv_push(&b->addrs, v->str.s, e) < 0)
				return err_ctx(e, "port \"%s\"", canon);
		} else if (v->type == JSON_ARRAY) {
			char what[32];
			snprintf(what, sizeof what, "port \"%s\"", canon);
			if (str_array(v, what, &b->addrs, check_listen, e) < 0)
				return -1;
			if (b->addrs.n == 0)
				return err_set(e, "port \"%s\": no address", canon);
		} else {
			return err_set(e, "port \"%s\": expected an address string or an array of them", canon);
		}
	}
	return 0;
}

/* "metrics": {"http", "interval", "timeout", "max_page", "max_series",
 * "max_samples"}, field by field over what is there. */
static int apply_metrics(const struct json *m, struct rt_app_config *a, struct err *e)
{
	static const char *const keys[] = {"http", "interval", "timeout", "max_page", "max_series", "max_samples", NULL};
	const char *s = NULL;
	const struct json *v;
	uint64_t series = a->metrics_max_series, samples = a->metrics_max_samples;
	if (json_only_keys(m, keys, "metrics", e) < 0 || json_field_str(m, "http", false, &s, e) < 0)
		return -1;
	if (s && strcmp(s, "none") && img_settings_check_http("field \"http\"", s, e) < 0)
		return -1;
	if (s && dup_str(&a->metrics_http, s, e) < 0)
		return -1;
	if (duration(m, "interval", NS_PER_S / 10, &a->metrics_interval, e) < 0 ||
	    duration(m, "timeout", NS_PER_S / 100, &a->metrics_timeout, e) < 0)
		return -1;
	if (a->metrics_interval > 3600 * NS_PER_S)
		return err_set(e, "field \"interval\": at most 1h");
	v = json_get(m, "max_page");
	if (v && v->type == JSON_STRING) {
		if (img_parse_size(v->str.s, &a->metrics_max_page, e) < 0)
			return err_ctx(e, "field \"max_page\"");
	} else if (uint_field(m, "max_page", 0, UINT64_MAX, &a->metrics_max_page, e) < 0) {
		return -1;
	}
	if (a->metrics_max_page < 1024 || a->metrics_max_page > (64u << 20))
		return err_set(e, "field \"max_page\": from 1K to 64M");
	if (uint_field(m, "max_series", 1, RT_METRICS_SERIES_MAX, &series, e) < 0 ||
	    uint_field(m, "max_samples", 2, RT_METRICS_SAMPLES_MAX, &samples, e) < 0)
		return -1;
	a->metrics_max_series = (unsigned)series;
	a->metrics_max_samples = (unsigned)samples;
	return 0;
}

/* Apply one settings object onto a (defaults first, then an app's). */
static int apply_app(const struct json *o, struct rt_app_config *a, struct err *e)
{
	static const char *const keys[] = {"ports",     "address",  "env",  "handoff", "network",
					   "memory_max", "pids_max", "nofile", "cpus",  "keep",
					   "auto_revert", "health_deadline", "stop_grace", "log_max", "log_files",
					   "metrics", NULL};
	const struct json *v;
	const char *s = NULL;
	if (json_only_keys(o, keys, "app settings", e) < 0)
		return -1;
	if (json_field(o, "ports", JSON_OBJECT, false, &v, e) < 0 || (v && apply_ports(v, a, e) < 0))
		return -1;
	if (json_field_str(o, "address", false, &s, e) < 0)
		return -1;
	if (s) {
		struct rt_addr ad;
		if (rt_addr_parse(s, false, &ad, e) < 0 || rt_addr_port(&ad) != 0)
			return err_set(e, "field \"address\": \"%.80s\" must be an address without a port", s);
		if (dup_str(&a->address, s, e) < 0)
			return -1;
	}
	if (json_field(o, "env", JSON_OBJECT, false, &v, e) < 0)
		return -1;
	for (size_t i = 0; v && i < v->obj.n; i++) {
		const char *k = v->obj.k[i];
		const struct json *x = v->obj.v[i];
		if (!*k || strchr(k, '=') || strlen(k) > 256)
			return err_set(e, "env: bad variable name \"%.80s\"", k);
		if (x->type != JSON_STRING || strlen(x->str.s) != x->str.len)
			return err_set(e, "env \"%.80s\": expected a string", k);
		if (img_kvs_set(&a->env, k, x->str.s, e) < 0)
			return -1;
	}
	if (json_field_bool(o, "handoff", false, &a->handoff, e) < 0 ||
	    json_field_bool(o, "auto_revert", false, &a->auto_revert, e) < 0)
		return -1;
	s = NULL;
	if (json_field_str(o, "network", false, &s, e) < 0)
		return -1;
	if (s && strcmp(s, "host") && strcmp(s, "private"))
		return err_set(e, "field \"network\": \"%.40s\" is not \"host\" or \"private\"", s);
	if (s)
		a->private_network = !strcmp(s, "private");
	v = json_get(o, "memory_max");
	if (v && v->type == JSON_STRING) {
		if (img_parse_size(v->str.s, &a->memory_max, e) < 0)
			return err_ctx(e, "field \"memory_max\"");
	} else if (uint_field(o, "memory_max", 0, UINT64_MAX >> 1, &a->memory_max, e) < 0) {
		return -1;
	}
	v = json_get(o, "log_max");
	if (v && v->type == JSON_STRING) {
		if (img_parse_size(v->str.s, &a->log_max, e) < 0)
			return err_ctx(e, "field \"log_max\"");
	} else if (uint_field(o, "log_max", LOG_MAX_MIN, UINT64_MAX >> 1, &a->log_max, e) < 0) {
		return -1;
	}
	if (a->log_max < LOG_MAX_MIN)
		return err_set(e, "field \"log_max\": at least 64K");
	uint64_t keep = a->keep, files = a->log_files;
	if (uint_field(o, "pids_max", 0, 1u << 22, &a->pids_max, e) < 0 ||
	    uint_field(o, "nofile", 0, 1u << 20, &a->nofile, e) < 0 || uint_field(o, "keep", 1, 100, &keep, e) < 0 ||
	    uint_field(o, "log_files", 1, RT_APPLOG_FILES_MAX, &files, e) < 0)
		return -1;
	a->keep = (unsigned)keep;
	a->log_files = (unsigned)files;
	if (json_field(o, "cpus", JSON_REAL, false, &v, e) < 0)
		return -1;
	if (v) {
		double c = v->type == JSON_INT ? (double)v->i : v->d;
		if (!(c > 0.0 && c <= 4096.0))
			return err_set(e, "field \"cpus\": expected a number of CPUs above 0 (1.5 is one and a half)");
		a->cpu_quota_us = (uint64_t)(c * 100000.0 + 0.5);
		if (a->cpu_quota_us < 1000)
			a->cpu_quota_us = 1000;
	}
	if (duration(o, "health_deadline", NS_PER_S / 100, &a->health_deadline, e) < 0 ||
	    duration(o, "stop_grace", 0, &a->stop_grace, e) < 0)
		return -1;
	if (json_field(o, "metrics", JSON_OBJECT, false, &v, e) < 0 || (v && apply_metrics(v, a, e) < 0))
		return v ? err_ctx(e, "metrics") : -1;
	return 0;
}

static void config_clear(struct rt_config *c)
{
	free(c->state_dir);
	free(c->socket);
	strv_free(&c->listen);
	free(c->token_file);
	free(c->tls_cert);
	free(c->tls_key);
	free(c->auth_file);
	free(c->trust_policy);
	img_trust_free(&c->trust);
	for (size_t i = 0; i < c->n_registries; i++) {
		free(c->registries[i].name);
		strv_free(&c->registries[i].mirrors);
		free(c->registries[i].cacert);
	}
	free(c->registries);
	strv_free(&c->limits);
	json_free(c->root);
	memset(c, 0, sizeof *c);
}

void rt_config_free(struct rt_config *c)
{
	config_clear(c);
}

int rt_config_init(struct rt_config *c, struct err *e)
{
	memset(c, 0, sizeof *c);
	if (!(c->state_dir = strdup(RT_STATE_DIR_DEFAULT)) || !(c->socket = strdup("/run/ramp/rampd.sock")))
		return err_errno(e, ENOMEM, "config");
	c->log_level = LOG_LVL_INFO;
	c->gc_interval = 3600 * NS_PER_S;
	return 0;
}

/* "limits": {"layers": 300, "reserve": "2G", ...}: checked now, kept as
 * KEY=VALUE for the pull helper (image/limits.h) */
static int parse_limits(const struct json *o, struct rt_config *c, struct err *e)
{
	struct img_limits l;
	img_limits_init(&l);
	for (size_t i = 0; i < o->obj.n; i++) {
		const struct json *v = o->obj.v[i];
		char kv[128];
		if (v->type == JSON_STRING && strlen(v->str.s) == v->str.len && v->str.len < 64)
			snprintf(kv, sizeof kv, "%.40s=%s", o->obj.k[i], v->str.s);
		else if (v->type == JSON_INT)
			snprintf(kv, sizeof kv, "%.40s=%lld", o->obj.k[i], (long long)v->i);
		else
			return err_set(e, "limits: \"%.40s\": expected a number or a short string", o->obj.k[i]);
		if (img_limits_set(&l, kv, e) < 0 || strv_push(&c->limits, kv, e) < 0)
			return err_ctx(e, "limits");
	}
	return 0;
}

static int parse_registries(const struct json *o, struct rt_config *c, struct err *e)
{
	if (o->obj.n > MAX_LIST)
		return err_set(e, "more than %d registries", MAX_LIST);
	if (!(c->registries = calloc(o->obj.n ? o->obj.n : 1, sizeof *c->registries)))
		return err_errno(e, ENOMEM, "config");
	for (size_t i = 0; i < o->obj.n; i++) {
		static const char *const keys[] = {"mirrors", "insecure", "cacert", NULL};
		struct rt_registry_config *r = &c->registries[c->n_registries++];
		const struct json *v = o->obj.v[i];
		if (check_host(o->obj.k[i], e) < 0 || dup_str(&r->name, o->obj.k[i], e) < 0)
			return -1;
		if (json_only_keys(v, keys, "registry settings", e) < 0 ||
		    str_list(v, "mirrors", &r->mirrors, check_host, e) < 0 ||
		    json_field_bool(v, "insecure", false, &r->insecure, e) < 0 || abs_path(v, "cacert", &r->cacert, e) < 0)
			return err_ctx(e, "registry \"%s\"", r->name);
	}
	return 0;
}

int rt_config_parse(struct rt_config *c, const char *buf, size_t len, struct err *e)
{
	static const char *const keys[] = {"state_dir", "socket",   "listen",    "token_file", "tls_cert",
					   "tls_key",   "auth_file", "registries", "log_level",  "leave_running",
					   "gc_interval", "defaults", "apps", "trust_policy", "limits", NULL};
	static const char *const levels[] = {[LOG_LVL_ERR] = "error", [LOG_LVL_WARN] = "warning",
					     [LOG_LVL_NOTICE] = "notice", [LOG_LVL_INFO] = "info",
					     [LOG_LVL_DEBUG] = "debug"};
	struct rt_config n;
	const struct json *v;
	const char *s = NULL;
	if (len > RT_CONFIG_MAX)
		return err_set(e, "config is larger than %u bytes", RT_CONFIG_MAX);
	if (rt_config_init(&n, e) < 0)
		return -1;
	if (!(n.root = json_parse(buf, len, e)))
		goto fail;
	if (json_only_keys(n.root, keys, "config", e) < 0)
		goto fail;
	if (abs_path(n.root, "state_dir", &n.state_dir, e) < 0 || abs_path(n.root, "socket", &n.socket, e) < 0 ||
	    abs_path(n.root, "token_file", &n.token_file, e) < 0 || abs_path(n.root, "tls_cert", &n.tls_cert, e) < 0 ||
	    abs_path(n.root, "tls_key", &n.tls_key, e) < 0 || abs_path(n.root, "auth_file", &n.auth_file, e) < 0 ||
	    abs_path(n.root, "trust_policy", &n.trust_policy, e) < 0 ||
	    str_list(n.root, "listen", &n.listen, check_listen, e) < 0 ||
	    json_field_bool(n.root, "leave_running", false, &n.leave_running, e) < 0 ||
	    duration(n.root, "gc_interval", NS_PER_S, &n.gc_interval, e) < 0)
		goto fail;
	if (strlen(n.socket) >= 108) {
		err_set(e, "field \"socket\": path longer than a unix socket address allows");
		goto fail;
	}
	if (n.listen.n && !n.token_file) {
		err_set(e, "\"listen\" needs a \"token_file\": every TCP request must carry the token");
		goto fail;
	}
	if (!n.tls_cert != !n.tls_key) {
		err_set(e, "\"tls_cert\" and \"tls_key\" go together");
		goto fail;
	}
	if (n.tls_cert && !n.listen.n) {
		err_set(e, "\"tls_cert\" without \"listen\": TLS is for the TCP listeners");
		goto fail;
	}
	if (json_field_str(n.root, "log_level", false, &s, e) < 0)
		goto fail;
	if (s) {
		size_t i;
		for (i = 0; i < ARRAY_SIZE(levels); i++)
			if (levels[i] && !strcmp(levels[i], s))
				break;
		if (i == ARRAY_SIZE(levels)) {
			err_set(e, "field \"log_level\": \"%.40s\" is not error, warning, notice, info or debug", s);
			goto fail;
		}
		n.log_level = (enum log_level)i;
	}
	if (json_field(n.root, "registries", JSON_OBJECT, false, &v, e) < 0 || (v && parse_registries(v, &n, e) < 0))
		goto fail;
	if (json_field(n.root, "limits", JSON_OBJECT, false, &v, e) < 0 || (v && parse_limits(v, &n, e) < 0))
		goto fail;
	/* every app's settings are checked now, not when the app is first deployed */
	struct rt_app_config a;
	app_defaults(&a);
	if (json_field(n.root, "defaults", JSON_OBJECT, false, &v, e) < 0 || (v && apply_app(v, &a, e) < 0)) {
		rt_app_config_free(&a);
		err_ctx(e, "defaults");
		goto fail;
	}
	rt_app_config_free(&a);
	if (json_field(n.root, "apps", JSON_OBJECT, false, &v, e) < 0)
		goto fail;
	for (size_t i = 0; v && i < v->obj.n; i++) {
		if (!rt_app_name_valid(v->obj.k[i])) {
			err_set(e, "apps: \"%.80s\" is not an app name ([a-z0-9][a-z0-9_.-]*, at most 63)", v->obj.k[i]);
			goto fail;
		}
		if (v->obj.v[i]->type != JSON_OBJECT) {
			err_set(e, "apps: \"%s\": expected an object", v->obj.k[i]);
			goto fail;
		}
		if (rt_config_app(&n, v->obj.k[i], &a, e) < 0) {
			err_ctx(e, "apps: \"%s\"", v->obj.k[i]);
			goto fail;
		}
		rt_app_config_free(&a);
	}
	config_clear(c);
	*c = n;
	return 0;
fail:
	config_clear(&n);
	return -1;
}

int rt_config_load(struct rt_config *c, const char *path, struct err *e)
{
	_cleanup_free_ char *buf = NULL;
	struct rt_config n = {0};
	size_t len;
	if (fs_read_file(path, RT_CONFIG_MAX, &buf, &len, e) < 0)
		return -1;
	if (rt_config_parse(&n, buf, len, e) < 0 ||
	    (n.trust_policy && img_trust_load(n.trust_policy, &n.trust, e) < 0)) {
		config_clear(&n);
		return err_ctx(e, "config \"%s\"", path);
	}
	config_clear(c);
	*c = n;
	return 0;
}

int rt_config_app(const struct rt_config *c, const char *name, struct rt_app_config *out, struct err *e)
{
	const struct json *d = json_get(c->root, "defaults");
	const struct json *apps = json_get(c->root, "apps");
	const struct json *mine = apps ? json_get(apps, name) : NULL;
	app_defaults(out);
	if ((d && d->type == JSON_OBJECT && apply_app(d, out, e) < 0) || (mine && apply_app(mine, out, e) < 0)) {
		rt_app_config_free(out);
		return -1;
	}
	return 0;
}

const struct rt_registry_config *rt_config_registry(const struct rt_config *c, const char *name)
{
	for (size_t i = 0; i < c->n_registries; i++)
		if (!strcmp(c->registries[i].name, name))
			return &c->registries[i];
	return NULL;
}
