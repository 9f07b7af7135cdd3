/* host.c: `ramp host status|deploy|revert|logs|rm`: talk to one rampd, the
 * local one over its unix socket by default, a remote one with --host URL
 * and --token-file, through the client the rollouts use (orchestrator/client:
 * requests and answers of docs/API.md from orchestrator/hostapi). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/opts.h"
#include "image/reference.h"
#include "image/settings.h"
#include "lib/api.h"
#include "lib/cleanup.h"
#include "lib/clock.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/term.h"
#include "orchestrator/client.h"
#include "orchestrator/hostapi.h"

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
	struct orch_client *c;
	struct orch_host host; /* --host URL or the unix socket */
};

/* One request; *status and the body (NUL-terminated, caller frees; *len its
 * length, NULs included) on any HTTP answer. */
static int call(struct client *cl, enum orch_op op, const char *app, const char *body, unsigned tail, long *status,
		char **out, size_t *len, struct err *e)
{
	struct orch_call q = {.op = op, .app = app, .body = body, .tail = tail, .keep = true};
	return orch_client_run(cl->c, &q, status, out, len, e);
}

/* The request that failed, for messages: "PUT /v1/apps/web". */
static const char *what(enum orch_op op, const char *app, char *buf, size_t cap)
{
	char path[300];
	const char *p = orch_op_path(op, app, 0, path, sizeof path);
	snprintf(buf, cap, "%s %s", orch_op_method(op), p ? p : "?");
	return buf;
}

/* A 2xx answer, else an error naming rampd's message. */
static int call_ok(struct client *cl, enum orch_op op, const char *app, const char *body, long *status, char **out,
		   struct err *e)
{
	char w[320];
	long st = 0;
	size_t len;
	if (call(cl, op, app, body, 0, &st, out, &len, e) < 0)
		return -1;
	if (status)
		*status = st;
	if (st >= 200 && st <= 299)
		return 0;
	char code[64], msg[300];
	orch_error_parse(*out, strlen(*out), code, sizeof code, msg, sizeof msg);
	if (!*code && !*msg)
		err_set(e, "%s: HTTP %ld, not an answer of rampd's", what(op, app, w, sizeof w), st);
	else
		err_set(e, "%s (HTTP %ld%s%s)", *msg ? msg : "request failed", st, *code ? ", " : "", code);
	free(*out);
	*out = NULL;
	return -1;
}

/* The status of app (2xx), parsed. */
static int get_status(struct client *cl, const char *app, long *status, struct orch_status *s, struct err *e)
{
	_cleanup_free_ char *out = NULL;
	if (call_ok(cl, ORCH_OP_STATUS, app, NULL, status, &out, e) < 0)
		return -1;
	return orch_status_parse(out, strlen(out), app, s, e);
}

static void print_json(const char *body)
{
	struct err e;
	struct json *j = json_parse(body, strlen(body), &e);
	struct jgen *g = jgen_new(true);
	const char *b;
	size_t l;
	if (j && g) {
		jgen_value(g, j);
		if (jgen_result(g, &b, &l, &e) == 0)
			printf("%.*s\n", (int)l, b);
	}
	jgen_free(g);
	json_free(j);
}

static void print_app(const struct orch_status *s)
{
	term_printf(stdout, "app          %s\n", s->name);
	term_printf(stdout, "phase        %s since %s%s%s\n", s->phase, s->phase_since, *s->message ? ": " : "", s->message);
	term_printf(stdout, "generation   %lld  rollout %s\n", (long long)s->generation, s->rollout);
	if (s->desired[0])
		term_printf(stdout, "desired      %s\n", s->desired_image);
	if (s->current[0])
		term_printf(stdout, "current      %s (since %s)\n", s->current_image, s->current_since);
	for (size_t i = 0; i < s->n_previous; i++)
		term_printf(stdout, "%-13s%.19s\n", i ? "" : "previous", s->previous[i]);
	term_printf(stdout, "healthy      %s%s\n", s->healthy ? "yes since " : "no", s->healthy ? s->healthy_since : "");
	for (size_t i = 0; i < s->n_probes; i++)
		term_printf(stdout, "  probe %s %s %.1f ms %s\n", s->probes[i].time, s->probes[i].ok ? "ok  " : "FAIL", s->probes[i].ms,
		       s->probes[i].output);
	term_printf(stdout, "restarts     %lld\n", (long long)s->restarts);
	if (s->n_history) {
		term_printf(stdout, "history\n");
		for (size_t i = 0; i < s->n_history; i++)
			term_printf(stdout, "  %s %-10s %s\n", s->history[i].time, s->history[i].phase, s->history[i].message);
	}
}

static int do_status(struct client *cl, const char *app, bool json, struct err *e)
{
	_cleanup_free_ char *out = NULL;
	_cleanup_free_ struct orch_status *v = NULL;
	size_t n = 0;
	if (call_ok(cl, app ? ORCH_OP_STATUS : ORCH_OP_APPS, app, NULL, NULL, &out, e) < 0)
		return -1;
	if (json) {
		print_json(out);
		return 0;
	}
	if (app) {
		if (!(v = malloc(sizeof *v)) || orch_status_parse(out, strlen(out), app, v, e) < 0)
			return v ? -1 : err_errno(e, ENOMEM, "status");
		print_app(v);
		return 0;
	}
	if (orch_apps_parse(out, strlen(out), &v, &n, e) < 0)
		return -1;
	printf("%-20s %-10s %-20s %-10s %-24s %s\n", "APP", "PHASE", "CURRENT", "GENERATION", "ROLLOUT", "RESTARTS");
	for (size_t i = 0; i < n; i++)
		term_printf(stdout, "%-20s %-10s %-20.19s %-10lld %-24s %lld\n", v[i].name, v[i].phase, v[i].current[0] ? v[i].current : "-",
		       (long long)v[i].generation, v[i].rollout, (long long)v[i].restarts);
	return 0;
}

/* The app's generation, 0 when the host does not know the app. */
static int app_generation(struct client *cl, const char *app, int64_t *gen, struct err *e)
{
	_cleanup_free_ struct orch_status *s = malloc(sizeof *s);
	long st = 0;
	*gen = 0;
	if (!s)
		return err_errno(e, ENOMEM, "status");
	if (get_status(cl, app, &st, s, e) < 0)
		return st == 404 ? 0 : -1;
	*gen = s->generation;
	return 0;
}

/* Poll until the desired version runs healthy (0), has failed or time ran out (-1). */
static int wait_healthy(struct client *cl, const char *app, const char *digest, int64_t timeout_ms, struct err *e)
{
	_cleanup_free_ struct orch_status *s = malloc(sizeof *s);
	int64_t t0 = clk_mono_ms();
	if (!s)
		return err_errno(e, ENOMEM, "status");
	for (;;) {
		if (get_status(cl, app, NULL, s, e) < 0)
			return -1;
		if (!strcmp(s->current, digest) && !strcmp(s->phase, API_PHASE_HEALTHY))
			return 0;
		if (!strcmp(s->phase, API_PHASE_FAILED))
			return err_set(e, "%s failed: %s", app, s->message);
		log_info("%s: %s %s", app, s->phase, s->message);
		if (clk_mono_ms() - t0 > timeout_ms)
			return err_set(e, "%s: not running %s healthy after %lld s", app, digest,
				       (long long)(timeout_ms / 1000));
		usleep(200000);
	}
}

static int do_change(struct client *cl, const char *verb, char **args, int n, struct err *e)
{
	unsigned long long gen = 0;
	const char *rollout = NULL, *to = NULL;
	bool wait = false;
	int64_t timeout_ms = 300 * 1000;
	int first, rc;
	const struct cmd_opt opts[] = {
		CMD_UINT("generation", &gen, 1, INT64_MAX), CMD_STR("rollout", &rollout), CMD_FLAG("wait", &wait),
		CMD_MS("timeout", &timeout_ms, 0, INT64_MAX / 1000000), CMD_STR("to", &to),
	};
	if ((rc = cmd_opts_parse(CMD_OPTS("host", usage, false, opts), n, args, &first)) != CMD_GO)
		return rc == EXIT_OK ? 0 : -2;
	bool deploy = !strcmp(verb, "deploy"), revert = !strcmp(verb, "revert");
	int want = deploy ? 2 : 1;
	if (n - first != want)
		return cmd_usage_error("host", "%s: expected %s", verb, deploy ? "APP IMAGE@sha256:..." : "APP"), -2;
	if ((!revert && to) || (!deploy && rollout) || (!deploy && !revert && wait))
		return cmd_usage_error("host", "%s: option not valid here", verb), -2;
	const char *app = args[first];
	if (!orch_app_name_valid(app))
		return cmd_usage_error("host", "\"%s\" is not an app name", app), -2;
	struct img_digest dg;
	if (deploy && img_ref_pinned(args[first + 1], &dg, e) < 0)
		return cmd_usage_error("host", "%s (the image must be pinned by digest)", e->msg), -2;
	int64_t cur = 0;
	if (!gen && (deploy || revert)) {
		if (app_generation(cl, app, &cur, e) < 0)
			return -1;
		gen = (unsigned long long)cur + 1;
	}
	_cleanup_free_ char *body = deploy ? orch_body_put(args[first + 1], rollout, (int64_t)gen)
				   : revert ? orch_body_revert(to ? to : "previous", (int64_t)gen)
				   : gen    ? orch_body_generation((int64_t)gen)
					    : NULL;
	_cleanup_free_ char *out = NULL;
	_cleanup_free_ struct orch_status *s = malloc(sizeof *s);
	if (!s || (!body && (deploy || revert || gen)))
		return err_errno(e, ENOMEM, "request");
	enum orch_op op = deploy ? ORCH_OP_DEPLOY : revert ? ORCH_OP_REVERT : ORCH_OP_REMOVE;
	if (call_ok(cl, op, app, body, NULL, &out, e) < 0)
		return -1;
	if (!deploy && !revert) {
		printf("%s: deleted\n", app);
		return 0;
	}
	if (orch_status_parse(out, strlen(out), app, s, e) < 0)
		return err_ctx(e, "the answer to %s", verb);
	term_printf(stdout, "%s: %s %s (generation %llu)\n", app, deploy ? "deploying" : "reverting to", s->desired, gen);
	return wait ? wait_healthy(cl, app, s->desired, timeout_ms, e) : 0;
}

static int do_logs(struct client *cl, char **args, int n, struct err *e)
{
	unsigned long long tail = 100;
	bool raw = false;
	int first, rc;
	const struct cmd_opt opts[] = {CMD_UINT("tail", &tail, 0, 10000), CMD_FLAG("raw", &raw)};
	if ((rc = cmd_opts_parse(CMD_OPTS("host", usage, false, opts), n, args, &first)) != CMD_GO)
		return rc == EXIT_OK ? 0 : -2;
	if (n - first != 1)
		return cmd_usage_error("host", "logs: expected APP"), -2;
	if (!orch_app_name_valid(args[first]))
		return cmd_usage_error("host", "\"%s\" is not an app name", args[first]), -2;
	_cleanup_free_ char *out = NULL;
	long st;
	size_t len = 0;
	if (call(cl, ORCH_OP_LOGS, args[first], NULL, (unsigned)tail, &st, &out, &len, e) < 0)
		return -1;
	if (st != 200) {
		char code[64], msg[300];
		orch_error_parse(out, strlen(out), code, sizeof code, msg, sizeof msg);
		return err_set(e, "%s (HTTP %ld)", *msg ? msg : "logs failed", st);
	}
	/* the app's own bytes (NULs too): escaped unless asked for as they are */
	if (raw)
		fwrite(out, 1, len, stdout);
	else
		term_fwrite(stdout, out, len, TERM_LINES);
	return 0;
}

static int host_url(const struct cmd_opt *o, const char *arg, struct err *e)
{
	if (strncmp(arg, "http://", 7) && strncmp(arg, "https://", 8))
		return err_set(e, "expected http://ADDRESS:PORT or https://...");
	*(const char **)o->target = arg;
	return 0;
}

static int do_status_args(struct client *cl, char **args, int n, struct err *e)
{
	bool json = false;
	int first, rc;
	const struct cmd_opt opts[] = {CMD_FLAG("json", &json)};
	if ((rc = cmd_opts_parse(CMD_OPTS("host", usage, false, opts), n, args, &first)) != CMD_GO)
		return rc == EXIT_OK ? 0 : -2;
	if (n - first > 1)
		return cmd_usage_error("host", "status: unexpected \"%s\"", args[first + 1]), -2;
	if (n - first == 1 && !orch_app_name_valid(args[first]))
		return cmd_usage_error("host", "\"%s\" is not an app name", args[first]), -2;
	return do_status(cl, n - first == 1 ? args[first] : NULL, json, e);
}

int cmd_host(int argc, char **argv)
{
	struct client cl = {0};
	struct orch_client_opts co = {.timeout_ms = 60000, .connect_timeout_ms = 10000, .reuse = true};
	const char *host = NULL, *socket = API_SOCKET_DEFAULT;
	_cleanup_free_ char *unix_addr = NULL;
	struct err e = {0};
	int first, rc;
	const struct cmd_opt opts[] = {
		CMD_FN("host", &host, host_url), CMD_STR("token-file", &co.token_file), CMD_STR("socket", &socket),
		CMD_STR("cacert", &co.cacert),
	};
	if ((rc = cmd_opts_parse(CMD_OPTS("host", usage, true, opts), argc, argv, &first)) != CMD_GO)
		return rc;
	rc = EXIT_FAIL;
	if (first >= argc)
		return cmd_usage_error("host", "expected a command: status, deploy, revert, logs or rm");
	if (host && !co.token_file)
		return cmd_usage_error("host", "--host needs --token-file: rampd wants a token on TCP");
	cl.host.name = "rampd";
	if (!host && asprintf(&unix_addr, "unix:%s", socket) < 0)
		return cmd_fail(&(struct err){.msg = "out of memory"});
	if (orch_host_set_address(&cl.host, host ? host : unix_addr, &e) < 0)
		return cmd_usage_error("host", "%s: %s", host ? "--host" : "--socket", e.msg);
	const char *verb = argv[first];
	char **args = argv + first;
	int n = argc - first;
	if (!(cl.c = orch_client_new(&co, &cl.host, 1, &e)))
		goto out;
	int r;
	if (!strcmp(verb, "status")) {
		r = do_status_args(&cl, args, n, &e);
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
	if (rc == EXIT_FAIL && e.msg[0] && !cl.c)
		cmd_fail(&e);
	orch_client_free(cl.c);
	cl.host.name = NULL;
	orch_host_free(&cl.host);
	return rc;
}
