/* fleet.c: `ramp fleet status` (what every host runs, and how it is) and
 * `ramp revert` (the whole fleet back, all hosts at once). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/opts.h"
#include "image/digest.h"
#include "lib/json.h"
#include "lib/log.h"
#include "orchestrator/fleet.h"
#include "orchestrator/report.h"
#include "orchestrator/rollout.h"
#include "orchestrator/html.h"
#include "orchestrator/status.h"

static void status_usage(FILE *f)
{
	fprintf(f, "usage: ramp fleet status --fleet FILE [--app NAME] [--json | --html FILE] [--token-file FILE]\n"
		   "                         [--cacert FILE] [--request-timeout D] [--max-parallel N]\n"
		   "\n"
		   "Ask every host of the fleet, in parallel, what it runs: host, app, version (digest),\n"
		   "phase, health, since when, and the generation and rollout that put it there.\n"
		   "Without --app every app of every host is listed. --html writes a page instead: hosts by\n"
		   "app, versions coloured, hosts that need attention first.\n"
		   "\n"
		   "Exit status: 0 every host answered, 1 some did not, 2 usage error.\n");
}

static void revert_usage(FILE *f)
{
	fprintf(f, "usage: ramp revert --app NAME --fleet FILE [--to DIGEST] [OPTIONS]\n"
		   "\n"
		   "Put every host of the fleet that runs the app back on a kept version, all hosts in parallel\n"
		   "(no waves, no bake), and check each is healthy there. It takes a new generation, so a\n"
		   "rollout still running on the fleet is fenced off: its requests are refused from then on.\n"
		   "\n"
		   "  --to DIGEST              the version to go back to (default: the newest kept one, when\n"
		   "                           every host keeps the same)\n"
		   "  --json                   events as JSON lines on stdout (docs/ROLLOUT.md)\n"
		   "  --token-file FILE, --cacert FILE, --request-timeout D, --max-parallel N\n"
		   "  --revert-deadline D      each host healthy again within (default 2m)\n"
		   "\n"
		   "Exit status: 0 every host that has the app was reverted (or none keeps an earlier version:\n"
		   "nothing to revert), 2 usage error or refused (the hosts disagree on their previous version),\n"
		   "3 some hosts could not be reverted (named).\n");
}

/* What both verbs take */
struct common {
	struct orch_opts o;
	const char *fleet, *app;
	bool json;
};

/* a copy, as given: a token file's checks (lib/token) see the path itself,
 * a symbolic link too */
static int copy(const struct cmd_opt *o, const char *arg, struct err *e)
{
	char **p = o->target;
	free(*p);
	if (!(*p = strdup(arg)))
		return err_errno(e, ENOMEM, "out of memory");
	return 0;
}

#define COMMON_OPTS(c)                                                                                                \
	CMD_STR("fleet", &(c)->fleet), CMD_STR("app", &(c)->app), CMD_FLAG("json", &(c)->json),                       \
		CMD_FN("token-file", &(c)->o.token_file, copy), CMD_FN("cacert", &(c)->o.cacert, copy),               \
		CMD_MS("request-timeout", &(c)->o.timeout_ms, 1, CMD_MS_WEEK),                                        \
		CMD_UINT("max-parallel", &(c)->o.max_parallel, 1, 100000)

static void print_status_json(const struct orch_fleet *f, const struct orch_view *v, size_t n)
{
	struct jgen *g = jgen_new(false);
	const char *line;
	size_t len;
	struct err e;
	jgen_obj_open(g);
	jgen_key(g, "hosts");
	jgen_arr_open(g);
	for (size_t i = 0; i < n; i++) {
		const struct orch_host *h = &f->hosts[v[i].host];
		jgen_obj_open(g);
		jgen_kstr(g, "host", h->name);
		jgen_kstr(g, "address", h->address);
		jgen_kbool(g, "reachable", v[i].reachable);
		if (v[i].app[0]) {
			jgen_kstr(g, "app", v[i].app);
			jgen_kstr(g, "digest", v[i].current);
			jgen_kstr(g, "phase", v[i].phase);
			jgen_kbool(g, "healthy", v[i].healthy);
			jgen_kstr(g, "since", v[i].since);
			jgen_kint(g, "generation", v[i].generation);
			jgen_kstr(g, "rollout", v[i].rollout);
			jgen_kstr(g, "message", v[i].message);
		}
		if (v[i].error[0])
			jgen_kstr(g, "error", v[i].error);
		jgen_obj_close(g);
	}
	jgen_arr_close(g);
	jgen_obj_close(g);
	if (jgen_result(g, &line, &len, &e) == 0)
		printf("%.*s\n", (int)len, line);
	jgen_free(g);
}

static void print_status_table(const struct orch_fleet *f, const struct orch_view *v, size_t n)
{
	int w = 4;
	for (size_t i = 0; i < f->n; i++)
		if ((int)strlen(f->hosts[i].name) > w)
			w = (int)strlen(f->hosts[i].name);
	printf("%-*s  %-12s  %-19s  %-10s  %-9s  %-24s  %s\n", w, "HOST", "APP", "VERSION", "PHASE", "HEALTH", "SINCE",
	       "GEN");
	for (size_t i = 0; i < n; i++) {
		const struct orch_host *h = &f->hosts[v[i].host];
		if (!v[i].app[0]) {
			printf("%-*s  %s%s\n", w, h->name, v[i].reachable ? "" : "unreachable: ", v[i].error);
			continue;
		}
		char ver[24];
		snprintf(ver, sizeof ver, "%.19s", v[i].current[0] ? v[i].current : "-");
		printf("%-*s  %-12s  %-19s  %-10s  %-9s  %-24s  %" PRId64 "%s%s\n", w, h->name, v[i].app, ver,
		       v[i].phase, v[i].healthy ? "healthy" : "unhealthy", v[i].since, v[i].generation,
		       v[i].error[0] ? "  " : "", v[i].error);
	}
}

struct page {
	const struct orch_fleet *f;
	const struct orch_view *rows;
	size_t n;
};

static int render_page(FILE *f, const void *ctx)
{
	const struct page *p = ctx;
	return orch_html_fleet(f, p->f, p->rows, p->n);
}

static int fleet_status(int argc, char **argv)
{
	struct common c = {0};
	const char *html = NULL;
	int first, rc;
	struct orch_fleet f = {0};
	struct orch_view *rows = NULL;
	size_t n = 0;
	struct err e;

	orch_opts_defaults(&c.o);
	const struct cmd_opt opts[] = {COMMON_OPTS(&c), CMD_STR("html", &html)};
	if ((rc = cmd_opts_parse(CMD_OPTS("fleet status", status_usage, false, opts), argc, argv, &first)) != CMD_GO)
		goto out;
	rc = EXIT_USAGE;
	const char *fleet = c.fleet, *app = c.app;
	bool json = c.json;
	struct orch_opts *o = &c.o;
	if (json && html) {
		cmd_usage_error("fleet status", "--json or --html, not both");
		goto out;
	}
	if (first != argc || !fleet) {
		cmd_usage_error("fleet status", first != argc ? "unexpected \"%s\"" : "--fleet is required",
				first != argc ? argv[first] : "");
		goto out;
	}
	cmd_orch_setup();
	if (orch_fleet_load(fleet, &f, &e) < 0) {
		rc = cmd_usage_error("fleet status", "%s", e.msg);
		goto out;
	}
	if (orch_fleet_status(&f, app, o, &rows, &n, &e) < 0) {
		rc = cmd_fail(&e);
		goto out;
	}
	if (html) {
		struct page p = {&f, rows, n};
		if (orch_html_write(html, render_page, &p, &e) < 0) {
			rc = cmd_fail(&e);
			goto out;
		}
	} else if (json)
		print_status_json(&f, rows, n);
	else
		print_status_table(&f, rows, n);
	rc = EXIT_OK;
	for (size_t i = 0; i < n; i++)
		if (!rows[i].reachable)
			rc = EXIT_FAIL;
out:
	free(rows);
	orch_fleet_free(&f);
	orch_opts_free(&c.o);
	return rc;
}

int cmd_fleet(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "status"))
		return fleet_status(argc - 1, argv + 1);
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		status_usage(stdout);
		return EXIT_OK;
	}
	return cmd_usage_error("fleet", "expected a subcommand: status");
}

static int digest(const struct cmd_opt *o, const char *arg, struct err *e)
{
	return img_digest_parse(arg, o->target, e);
}

int cmd_revert(int argc, char **argv)
{
	struct common c = {0};
	int first, rc;
	struct orch_fleet f = {0};
	struct orch_rollout r = {0};
	struct img_digest d = {0};
	struct err e;

	orch_opts_defaults(&c.o);
	const struct cmd_opt opts[] = {
		COMMON_OPTS(&c),
		CMD_FN("to", &d, digest),
		CMD_MS("revert-deadline", &c.o.revert_deadline_ms, 1, CMD_MS_WEEK),
	};
	if ((rc = cmd_opts_parse(CMD_OPTS("revert", revert_usage, false, opts), argc, argv, &first)) != CMD_GO)
		goto out;
	rc = EXIT_USAGE;
	const char *fleet = c.fleet, *app = c.app, *to = d.s[0] ? d.s : NULL;
	if (first != argc || !fleet || !app) {
		cmd_usage_error("revert", first != argc ? "unexpected \"%s\"" : "--app and --fleet are required",
				first != argc ? argv[first] : "");
		goto out;
	}
	if (orch_fleet_load(fleet, &f, &e) < 0) {
		rc = cmd_usage_error("revert", "%s", e.msg);
		goto out;
	}
	struct orch_report rep;
	struct orch_ui ui;
	cmd_orch_report(c.json, &rep, &ui);
	cmd_orch_setup();
	rc = orch_fleet_revert(&f, app, to, &c.o, &ui, cmd_orch_stop(), &r, &e);
	if (rc < 0)
		rc = cmd_usage_error("revert", "%s", e.msg);
out:
	orch_rollout_free(&r);
	orch_fleet_free(&f);
	orch_opts_free(&c.o);
	return rc;
}
