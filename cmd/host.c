/* host.c: `ramp host status|deploy|revert|logs|rm`: talk to one rampd, the
 * local one over its unix socket by default, a remote one with --host URL
 * and --token-file. The requests are those of docs/API.md; this file is the
 * whole client (libcurl). */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "image/settings.h"
#include "lib/api.h"
#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/term.h"
#include "lib/token.h"
#include "runtime/rampd/api_server.h"
#include "runtime/rampd/config.h"

#define RESP_MAX (16u << 20)

static void usage(FILE *f)
{
	fprintf(f, "usage: ramp host [--host URL --token-file FILE [--cacert FILE]] [--socket PATH] COMMAND ...\n"
		   "\n"
		   "Talk to rampd, the host daemon: the local one over its unix socket (default %s),\n"
		   "or a remote one at --host http(s)://ADDRESS:PORT with the token in --token-file.\n"
		   "\n"
		   "commands:\n"
		   "  status [APP] [--json]            every app, or one in detail\n"
		   "  deploy APP IMAGE@sha256:... [--generation N] [--rollout ID] [--wait [--timeout DUR]]\n"
		   "                                   run this version (pulled, started, health-checked)\n"
		   "  revert APP [--to DIGEST] [--generation N] [--wait [--timeout DUR]]\n"
		   "                                   go back to a kept version (default: the previous one)\n"
		   "  logs APP [--tail N] [--raw]      the app's recent output; control characters are\n"
		   "                                   shown escaped unless --raw\n"
		   "  rm APP [--generation N]          stop the app and forget it\n"
		   "\n"
		   "Without --generation, deploy and revert take one more than the app's, so they win over a\n"
		   "rollout in progress. --wait returns when the version runs and is healthy (exit 0), or has\n"
		   "failed or the timeout (default 5m) passed (exit 1).\n",
		API_SOCKET_DEFAULT);
}

struct client {
	const char *socket, *host, *cacert;
	char *token;
	CURL *c;
};

struct buf {
	char *p;
	size_t len;
};

static size_t on_data(char *p, size_t sz, size_t n, void *ctx)
{
	struct buf *b = ctx;
	size_t l = sz * n;
	if (b->len + l > RESP_MAX)
		return 0;
	char *np = realloc(b->p, b->len + l + 1);
	if (!np)
		return 0;
	memcpy(np + b->len, p, l);
	b->p = np;
	b->len += l;
	b->p[b->len] = '\0';
	return l;
}

/* One request; *status and the body (NUL-terminated) on any HTTP answer. */
static int call(struct client *cl, const char *method, const char *path, const char *body, long *status, char **out,
		size_t *out_len, struct err *e)
{
	char url[1024], auth[4200];
	struct curl_slist *h = NULL;
	struct buf b = {0};
	snprintf(url, sizeof url, "%s%s", cl->host ? cl->host : "http://rampd", path);
	curl_easy_reset(cl->c);
	curl_easy_setopt(cl->c, CURLOPT_URL, url);
	if (!cl->host)
		curl_easy_setopt(cl->c, CURLOPT_UNIX_SOCKET_PATH, cl->socket);
	if (cl->cacert)
		curl_easy_setopt(cl->c, CURLOPT_CAINFO, cl->cacert);
	curl_easy_setopt(cl->c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(cl->c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(cl->c, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(cl->c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(cl->c, CURLOPT_PROTOCOLS_STR, "http,https");
	if (body) {
		curl_easy_setopt(cl->c, CURLOPT_POSTFIELDS, body);
		h = curl_slist_append(h, "Content-Type: application/json");
	}
	if (cl->token) {
		snprintf(auth, sizeof auth, "Authorization: Bearer %s", cl->token);
		h = curl_slist_append(h, auth);
	}
	h = curl_slist_append(h, "Expect:");
	curl_easy_setopt(cl->c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(cl->c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(cl->c, CURLOPT_WRITEDATA, &b);
	CURLcode rc = curl_easy_perform(cl->c);
	curl_slist_free_all(h);
	if (rc != CURLE_OK) {
		free(b.p);
		return err_set(e, "%s %s at %s: %s", method, path, cl->host ? cl->host : cl->socket, curl_easy_strerror(rc));
	}
	curl_easy_getinfo(cl->c, CURLINFO_RESPONSE_CODE, status);
	if (!b.p && !(b.p = strdup("")))
		return err_errno(e, ENOMEM, "response");
	*out = b.p;
	if (out_len)
		*out_len = b.len;
	return 0;
}

/* A JSON answer with status 2xx, else an error naming rampd's message. */
static struct json *call_json(struct client *cl, const char *method, const char *path, const char *body, long *status,
			      struct err *e)
{
	_cleanup_free_ char *out = NULL;
	long st = 0;
	if (call(cl, method, path, body, &st, &out, NULL, e) < 0)
		return NULL;
	if (status)
		*status = st;
	struct json *j = json_parse(out, strlen(out), e);
	if (!j) {
		err_ctx(e, "%s %s: HTTP %ld, not a JSON answer", method, path, st);
		return NULL;
	}
	if (st < 200 || st > 299) {
		const char *code = json_get_str(j, "error"), *msg = json_get_str(j, "message");
		err_set(e, "%s (HTTP %ld%s%s)", msg ? msg : "request failed", st, code ? ", " : "", code ? code : "");
		json_free(j);
		return NULL;
	}
	return j;
}

static const char *jstr(const struct json *j, const char *k)
{
	const char *s = json_get_str(j, k);
	return s ? s : "";
}

static int64_t jint(const struct json *j, const char *k)
{
	const struct json *v = json_get(j, k);
	return v && v->type == JSON_INT ? v->i : 0;
}

static const char *short_digest(const struct json *v, char *buf, size_t cap)
{
	const char *d = v ? json_get_str(v, API_F_DIGEST) : NULL;
	snprintf(buf, cap, "%.19s", d ? d : "-");
	return buf;
}

static void print_json(const struct json *j)
{
	struct jgen *g = jgen_new(true);
	const char *b;
	size_t l;
	struct err e;
	jgen_value(g, j);
	if (jgen_result(g, &b, &l, &e) == 0)
		printf("%.*s\n", (int)l, b);
	jgen_free(g);
}

static void print_app(const struct json *a)
{
	char d[32];
	const struct json *health = json_get(a, API_F_HEALTH), *v;
	term_printf(stdout, "app          %s\n", jstr(a, API_F_NAME));
	term_printf(stdout, "phase        %s since %s%s%s\n", jstr(a, API_F_PHASE), jstr(a, API_F_PHASE_SINCE),
		    *jstr(a, API_F_MESSAGE) ? ": " : "", jstr(a, API_F_MESSAGE));
	term_printf(stdout, "generation   %lld  rollout %s\n", (long long)jint(a, API_F_GENERATION),
		    jstr(a, API_F_ROLLOUT));
	if ((v = json_get(a, API_F_DESIRED)) && v->type == JSON_OBJECT)
		term_printf(stdout, "desired      %s\n", jstr(v, API_F_IMAGE));
	if ((v = json_get(a, API_F_CURRENT)) && v->type == JSON_OBJECT)
		term_printf(stdout, "current      %s (since %s)\n", jstr(v, API_F_IMAGE), jstr(v, API_F_SINCE));
	if ((v = json_get(a, API_F_PREVIOUS)) && v->type == JSON_ARRAY)
		for (size_t i = 0; i < v->arr.n; i++)
			term_printf(stdout, "%-13s%s\n", i ? "" : "previous", short_digest(v->arr.v[i], d, sizeof d));
	if (health) {
		const struct json *ok = json_get(health, API_F_HEALTHY), *p = json_get(health, API_F_PROBES);
		term_printf(stdout, "healthy      %s%s%s\n", ok && ok->type == JSON_BOOL && ok->b ? "yes since " : "no",
			    jstr(health, API_F_HEALTHY_SINCE), "");
		for (size_t i = 0; p && p->type == JSON_ARRAY && i < p->arr.n; i++) {
			const struct json *ms = json_get(p->arr.v[i], "ms"), *pok = json_get(p->arr.v[i], "ok");
			term_printf(stdout, "  probe %s %s %.1f ms %s\n", jstr(p->arr.v[i], "time"),
				    pok && pok->type == JSON_BOOL && pok->b ? "ok  " : "FAIL",
				    ms && ms->type == JSON_REAL ? ms->d : ms && ms->type == JSON_INT ? (double)ms->i : 0.0,
				    jstr(p->arr.v[i], "output"));
		}
	}
	term_printf(stdout, "restarts     %lld\n", (long long)jint(a, API_F_RESTARTS));
	if ((v = json_get(a, API_F_HISTORY)) && v->type == JSON_ARRAY) {
		term_printf(stdout, "history\n");
		for (size_t i = 0; i < v->arr.n; i++)
			term_printf(stdout, "  %s %-10s %s\n", jstr(v->arr.v[i], "time"), jstr(v->arr.v[i], API_F_PHASE),
				    jstr(v->arr.v[i], API_F_MESSAGE));
	}
}

static int do_status(struct client *cl, const char *app, bool json, struct err *e)
{
	char path[256], d[32];
	snprintf(path, sizeof path, "%s%s%s", app ? API_PATH_APP_PREFIX : API_PATH_APPS, app ? app : "", "");
	struct json *j = call_json(cl, "GET", path, NULL, NULL, e);
	if (!j)
		return -1;
	if (json)
		print_json(j);
	else if (app)
		print_app(j);
	else {
		const struct json *apps = json_get(j, "apps");
		printf("%-20s %-10s %-20s %-10s %-24s %s\n", "APP", "PHASE", "CURRENT", "GENERATION", "ROLLOUT", "RESTARTS");
		for (size_t i = 0; apps && apps->type == JSON_ARRAY && i < apps->arr.n; i++) {
			const struct json *a = apps->arr.v[i];
			term_printf(stdout, "%-20s %-10s %-20s %-10lld %-24s %lld\n", jstr(a, API_F_NAME), jstr(a, API_F_PHASE),
				    short_digest(json_get(a, API_F_CURRENT), d, sizeof d), (long long)jint(a, API_F_GENERATION),
				    jstr(a, API_F_ROLLOUT), (long long)jint(a, API_F_RESTARTS));
		}
	}
	json_free(j);
	return 0;
}

/* The app's generation, 0 when the host does not know the app. */
static int app_generation(struct client *cl, const char *app, int64_t *gen, struct err *e)
{
	char path[256];
	long st = 0;
	snprintf(path, sizeof path, "%s%s", API_PATH_APP_PREFIX, app);
	struct json *j = call_json(cl, "GET", path, NULL, &st, e);
	if (!j) {
		*gen = 0;
		return st == 404 ? 0 : -1;
	}
	*gen = jint(j, API_F_GENERATION);
	json_free(j);
	return 0;
}

/* Poll until the desired version runs healthy (0), has failed or time ran out (-1). */
static int wait_healthy(struct client *cl, const char *app, const char *digest, int64_t timeout_ns, struct err *e)
{
	char path[256];
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	snprintf(path, sizeof path, "%s%s", API_PATH_APP_PREFIX, app);
	for (;;) {
		struct json *j = call_json(cl, "GET", path, NULL, NULL, e);
		if (!j)
			return -1;
		const struct json *cur = json_get(j, API_F_CURRENT);
		const char *phase = jstr(j, API_F_PHASE);
		bool there = cur && cur->type == JSON_OBJECT && !strcmp(jstr(cur, API_F_DIGEST), digest);
		if (there && !strcmp(phase, API_PHASE_HEALTHY)) {
			json_free(j);
			return 0;
		}
		if (!strcmp(phase, API_PHASE_FAILED)) {
			err_set(e, "%s failed: %s", app, jstr(j, API_F_MESSAGE));
			json_free(j);
			return -1;
		}
		log_info("%s: %s %s", app, phase, jstr(j, API_F_MESSAGE));
		json_free(j);
		clock_gettime(CLOCK_MONOTONIC, &now);
		int64_t el = (now.tv_sec - t0.tv_sec) * 1000000000LL + (now.tv_nsec - t0.tv_nsec);
		if (el > timeout_ns)
			return err_set(e, "%s: not running %s healthy after %lld s", app, digest,
				       (long long)(timeout_ns / 1000000000LL));
		usleep(200000);
	}
}

static int do_change(struct client *cl, const char *verb, char **args, int n, struct err *e)
{
	enum { O_GEN = 256, O_ROLLOUT, O_WAIT, O_TIMEOUT, O_TO };
	static const struct option opts[] = {
		{"generation", required_argument, NULL, O_GEN}, {"rollout", required_argument, NULL, O_ROLLOUT},
		{"wait", no_argument, NULL, O_WAIT},            {"timeout", required_argument, NULL, O_TIMEOUT},
		{"to", required_argument, NULL, O_TO},          {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	unsigned long long gen = 0;
	const char *rollout = NULL, *to = NULL;
	bool wait = false;
	int64_t timeout = 300 * 1000000000LL;
	int c;
	optind = 0; /* glibc: start over on the new argument vector */
	while ((c = getopt_long(n, args, "h", opts, NULL)) != -1) {
		switch (c) {
		case O_GEN:
			if (cmd_parse_uint("host", "--generation", optarg, INT64_MAX, &gen))
				return -2;
			if (!gen)
				return cmd_usage_error("host", "--generation: must be at least 1"), -2;
			break;
		case O_ROLLOUT:
			rollout = optarg;
			break;
		case O_WAIT:
			wait = true;
			break;
		case O_TIMEOUT:
			if (img_parse_duration(optarg, &timeout, e) < 0)
				return cmd_usage_error("host", "--timeout: %s", e->msg), -2;
			break;
		case O_TO:
			to = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return -2;
		}
	}
	bool deploy = !strcmp(verb, "deploy"), revert = !strcmp(verb, "revert");
	int want = deploy ? 2 : 1;
	if (n - optind != want)
		return cmd_usage_error("host", "%s: expected %s", verb, deploy ? "APP IMAGE@sha256:..." : "APP"), -2;
	if ((!revert && to) || (!deploy && rollout) || (!deploy && !revert && wait))
		return cmd_usage_error("host", "%s: option not valid here", verb), -2;
	const char *app = args[optind];
	if (!rt_app_name_valid(app))
		return cmd_usage_error("host", "\"%s\" is not an app name", app), -2;
	struct img_digest dg;
	if (deploy && rt_api_check_image(args[optind + 1], &dg, e) < 0)
		return cmd_usage_error("host", "%s (the image must be pinned by digest)", e->msg), -2;
	int64_t cur = 0;
	if (!gen && (deploy || revert)) {
		if (app_generation(cl, app, &cur, e) < 0)
			return -1;
		gen = (unsigned long long)cur + 1;
	}
	struct jgen *g = jgen_new(false);
	jgen_obj_open(g);
	if (deploy) {
		jgen_kstr(g, API_F_IMAGE, args[optind + 1]);
		if (rollout)
			jgen_kstr(g, API_F_ROLLOUT, rollout);
	}
	if (revert)
		jgen_kstr(g, API_F_TO, to ? to : "previous");
	if (gen)
		jgen_kint(g, API_F_GENERATION, (int64_t)gen);
	jgen_obj_close(g);
	const char *body;
	size_t bl;
	char path[256];
	if (jgen_result(g, &body, &bl, e) < 0) {
		jgen_free(g);
		return -1;
	}
	snprintf(path, sizeof path, "%s%s%s", API_PATH_APP_PREFIX, app, revert ? API_PATH_REVERT_SUFFIX : "");
	_cleanup_free_ char *copy = strndup(body, bl);
	jgen_free(g);
	bool empty = !deploy && !revert && !gen;
	struct json *j = call_json(cl, deploy ? "PUT" : revert ? "POST" : "DELETE", path, empty ? NULL : copy, NULL, e);
	if (!j)
		return -1;
	char digest[IMG_DIGEST_LEN + 1] = "";
	const struct json *des = json_get(j, API_F_DESIRED);
	if (des && des->type == JSON_OBJECT)
		snprintf(digest, sizeof digest, "%s", jstr(des, API_F_DIGEST));
	if (deploy || revert)
		term_printf(stdout, "%s: %s %s (generation %llu)\n", app, deploy ? "deploying" : "reverting to", digest, gen);
	else
		printf("%s: deleted\n", app);
	json_free(j);
	return wait ? wait_healthy(cl, app, digest, timeout, e) : 0;
}

static int do_logs(struct client *cl, char **args, int n, struct err *e)
{
	static const struct option opts[] = {
		{"tail", required_argument, NULL, 't'}, {"raw", no_argument, NULL, 'r'}, {NULL, 0, NULL, 0}};
	unsigned long long tail = 100;
	bool raw = false;
	int c;
	optind = 0; /* glibc: start over on the new argument vector */
	while ((c = getopt_long(n, args, "", opts, NULL)) != -1) {
		if (c == 'r')
			raw = true;
		else if (c != 't' || cmd_parse_uint("host", "--tail", optarg, 10000, &tail))
			return -2;
	}
	if (n - optind != 1)
		return cmd_usage_error("host", "logs: expected APP"), -2;
	if (!rt_app_name_valid(args[optind]))
		return cmd_usage_error("host", "\"%s\" is not an app name", args[optind]), -2;
	char path[256];
	_cleanup_free_ char *out = NULL;
	long st;
	size_t len = 0;
	snprintf(path, sizeof path, "%s%s%s?tail=%llu", API_PATH_APP_PREFIX, args[optind], API_PATH_LOGS_SUFFIX, tail);
	if (call(cl, "GET", path, NULL, &st, &out, &len, e) < 0)
		return -1;
	if (st != 200) {
		struct json *j = json_parse(out, strlen(out), e);
		err_set(e, "%s (HTTP %ld)", j && json_get_str(j, "message") ? json_get_str(j, "message") : "logs failed", st);
		json_free(j);
		return -1;
	}
	/* the app's own bytes (NULs too): escaped unless asked for as they are */
	if (raw)
		fwrite(out, 1, len, stdout);
	else
		term_fwrite(stdout, out, len, TERM_LINES);
	return 0;
}

int cmd_host(int argc, char **argv)
{
	enum { O_HOST = 256, O_TOKEN, O_SOCKET, O_CACERT, O_JSON };
	static const struct option opts[] = {
		{"host", required_argument, NULL, O_HOST},     {"token-file", required_argument, NULL, O_TOKEN},
		{"socket", required_argument, NULL, O_SOCKET}, {"cacert", required_argument, NULL, O_CACERT},
		{"help", no_argument, NULL, 'h'},              {NULL, 0, NULL, 0},
	};
	struct client cl = {.socket = API_SOCKET_DEFAULT};
	const char *token_file = NULL;
	struct err e = {0};
	int c, rc = EXIT_FAIL;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case O_HOST:
			if (strncmp(optarg, "http://", 7) && strncmp(optarg, "https://", 8))
				return cmd_usage_error("host", "--host: expected http://ADDRESS:PORT or https://...");
			cl.host = optarg;
			break;
		case O_TOKEN:
			token_file = optarg;
			break;
		case O_SOCKET:
			cl.socket = optarg;
			break;
		case O_CACERT:
			cl.cacert = optarg;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			return cmd_usage_error("host", "unknown option");
		}
	}
	if (optind >= argc)
		return cmd_usage_error("host", "expected a command: status, deploy, revert, logs or rm");
	if (cl.host && !token_file)
		return cmd_usage_error("host", "--host needs --token-file: rampd wants a token on TCP");
	if (token_file && token_read_file(token_file, &cl.token, &e) < 0)
		return cmd_fail(&e);
	const char *verb = argv[optind];
	char **args = argv + optind;
	int n = argc - optind;
	if (!(cl.c = curl_easy_init())) {
		err_set(&e, "libcurl initialization failed");
		goto out;
	}
	int r;
	if (!strcmp(verb, "status")) {
		bool json = false;
		const char *app = NULL;
		for (int i = 1; i < n; i++) {
			if (!strcmp(args[i], "--json"))
				json = true;
			else if (!app && args[i][0] != '-' && rt_app_name_valid(args[i]))
				app = args[i];
			else {
				rc = cmd_usage_error("host", "status: unexpected \"%s\"", args[i]);
				goto out;
			}
		}
		r = do_status(&cl, app, json, &e);
	} else if (!strcmp(verb, "deploy") || !strcmp(verb, "revert") || !strcmp(verb, "rm")) {
		r = do_change(&cl, verb, args, n, &e);
	} else if (!strcmp(verb, "logs")) {
		r = do_logs(&cl, args, n, &e);
	} else {
		rc = cmd_usage_error("host", "unknown command \"%s\"", verb);
		goto out;
	}
	rc = r == 0 ? EXIT_OK : r == -2 ? EXIT_USAGE : cmd_fail(&e);
out:
	if (rc == EXIT_FAIL && e.msg[0] && cl.c == NULL)
		cmd_fail(&e);
	if (cl.c)
		curl_easy_cleanup(cl.c);
	if (cl.token)
		explicit_bzero(cl.token, strlen(cl.token));
	free(cl.token);
	return rc;
}
