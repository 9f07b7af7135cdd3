/* fleet.c: `ramp fleet status` (what every host runs, and how it is) and
 * `ramp revert` (the whole fleet back, all hosts at once). */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
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

enum { O_FLEET = 256, O_APP, O_JSON, O_TOKEN, O_CACERT, O_TIMEOUT, O_PARALLEL, O_TO, O_REVDL, O_HTML };

/* Options both verbs share; returns 1 when handled, -1 on a usage error, 0 when not ours. */
static int common_opt(const char *verb, int c, struct orch_opts *o, const char **fleet, const char **app, bool *json)
{
	unsigned long long u;
	switch (c) {
	case O_FLEET:
		*fleet = optarg;
		return 1;
	case O_APP:
		*app = optarg;
		return 1;
	case O_JSON:
		*json = true;
		return 1;
	case O_TOKEN:
		free(o->token_file);
		o->token_file = strdup(optarg);
		return 1;
	case O_CACERT:
		free(o->cacert);
		o->cacert = strdup(optarg);
		return 1;
	case O_TIMEOUT:
		return cmd_parse_ms(verb, "--request-timeout", optarg, false, &o->timeout_ms) ? -1 : 1;
	case O_PARALLEL:
		if (cmd_parse_uint(verb, "--max-parallel", optarg, 100000, &u))
			return -1;
		if (!u) {
			cmd_usage_error(verb, "--max-parallel: at least 1");
			return -1;
		}
		o->max_parallel = (size_t)u;
		return 1;
	case O_REVDL:
		return cmd_parse_ms(verb, "--revert-deadline", optarg, false, &o->revert_deadline_ms) ? -1 : 1;
	}
	return 0;
}

static const struct option common[] = {
	{"fleet", required_argument, NULL, O_FLEET},
	{"app", required_argument, NULL, O_APP},
	{"json", no_argument, NULL, O_JSON},
	{"token-file", required_argument, NULL, O_TOKEN},
	{"cacert", required_argument, NULL, O_CACERT},
	{"request-timeout", required_argument, NULL, O_TIMEOUT},
	{"max-parallel", required_argument, NULL, O_PARALLEL},
	{"to", required_argument, NULL, O_TO},
	{"revert-deadline", required_argument, NULL, O_REVDL},
	{"html", required_argument, NULL, O_HTML},
	{"help", no_argument, NULL, 'h'},
	{0},
};

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
	struct orch_opts o;
	const char *fleet = NULL, *app = NULL, *html = NULL;
	bool json = false;
	int c, rc = EXIT_USAGE;
	struct orch_fleet f = {0};
	struct orch_view *rows = NULL;
	size_t n = 0;
	struct err e;

	orch_opts_defaults(&o);
	optind = 0;
	while ((c = getopt_long(argc, argv, "h", common, NULL)) != -1) {
		if (c == 'h') {
			status_usage(stdout);
			rc = EXIT_OK;
			goto out;
		}
		if (c == O_HTML) {
			html = optarg;
			continue;
		}
		int r = c == O_TO || c == O_REVDL ? 0 : common_opt("fleet status", c, &o, &fleet, &app, &json);
		if (r < 0)
			goto out;
		if (r == 0) {
			fprintf(stderr, "(see 'ramp fleet status --help')\n");
			goto out;
		}
	}
	if (json && html) {
		cmd_usage_error("fleet status", "--json or --html, not both");
		goto out;
	}
	if (optind != argc || !fleet) {
		cmd_usage_error("fleet status", optind != argc ? "unexpected \"%s\"" : "--fleet is required",
				optind != argc ? argv[optind] : "");
		goto out;
	}
	cmd_orch_setup();
	if (orch_fleet_load(fleet, &f, &e) < 0) {
		rc = cmd_usage_error("fleet status", "%s", e.msg);
		goto out;
	}
	if (orch_fleet_status(&f, app, &o, &rows, &n, &e) < 0) {
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
	orch_opts_free(&o);
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

int cmd_revert(int argc, char **argv)
{
	struct orch_opts o;
	const char *fleet = NULL, *app = NULL, *to = NULL;
	bool json = false;
	int c, rc = EXIT_USAGE;
	struct orch_fleet f = {0};
	struct orch_rollout r = {0};
	struct img_digest d;
	struct err e;

	orch_opts_defaults(&o);
	optind = 0;
	while ((c = getopt_long(argc, argv, "h", common, NULL)) != -1) {
		if (c == 'h') {
			revert_usage(stdout);
			rc = EXIT_OK;
			goto out;
		}
		if (c == O_TO) {
			if (img_digest_parse(optarg, &d, &e) < 0) {
				cmd_usage_error("revert", "--to: %s", e.msg);
				goto out;
			}
			to = d.s;
			continue;
		}
		int x = common_opt("revert", c, &o, &fleet, &app, &json);
		if (x < 0)
			goto out;
		if (x == 0) {
			fprintf(stderr, "(see 'ramp revert --help')\n");
			goto out;
		}
	}
	if (optind != argc || !fleet || !app) {
		cmd_usage_error("revert", optind != argc ? "unexpected \"%s\"" : "--app and --fleet are required",
				optind != argc ? argv[optind] : "");
		goto out;
	}
	if (orch_fleet_load(fleet, &f, &e) < 0) {
		rc = cmd_usage_error("revert", "%s", e.msg);
		goto out;
	}
	struct orch_report rep;
	struct orch_ui ui;
	cmd_orch_report(json, &rep, &ui);
	cmd_orch_setup();
	rc = orch_fleet_revert(&f, app, to, &o, &ui, cmd_orch_stop(), &r, &e);
	if (rc < 0)
		rc = cmd_usage_error("revert", "%s", e.msg);
out:
	orch_rollout_free(&r);
	orch_fleet_free(&f);
	orch_opts_free(&o);
	return rc;
}
