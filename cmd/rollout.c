/* rollout.c: `ramp rollout`: start, resume, abort, list and show rollouts;
 * options into orchestrator/rollout, events out through orchestrator/report. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/transfer.h"
#include "image/image.h"
#include "image/settings.h"
#include "image/key.h"
#include "image/outcome.h"
#include "image/trust.h"
#include "lib/cleanup.h"
#include "lib/clock.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/log.h"
#include "orchestrator/analysis.h"
#include "orchestrator/event.h"
#include "orchestrator/html.h"
#include "orchestrator/journal.h"
#include "orchestrator/policy.h"
#include "orchestrator/report.h"
#include "orchestrator/rollout.h"
#include "orchestrator/state.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ramp rollout --app NAME --image REF --fleet FILE [OPTIONS]\n"
		"       ramp rollout --resume ID | --abort ID [--state-dir DIR] [--json] [--html FILE] [registry options]\n"
		"       ramp rollout list [--state-dir DIR] [--json]\n"
		"       ramp rollout show ID [--state-dir DIR] [--json | --html FILE]\n"
		"\n"
		"Deploy an image to a fleet in growing waves (1, 2, 4, ... hosts), each host healthy for the\n"
		"bake time before the next wave; at the first bad signal every converted host is reverted.\n"
		"\n"
		"what and where:\n"
		"  --app NAME               the app on the hosts\n"
		"  --image REF              registry/repo:tag or registry/repo@sha256:...; a tag is resolved\n"
		"                           to a digest once: every host gets exactly these bytes\n"
		"  --fleet FILE             hosts: 'name address[:port] [label=value ...]' lines, or JSON\n"
		"  --token-file FILE        bearer token for the agents (per host: label token_file=)\n"
		"  --cacert FILE            CA for agents on https (addresses without a scheme use https)\n"
		"before wave 1:\n"
		"  --gate CMD               must exit 0 (sh -c; repeatable)\n"
		"  --allow-untested         no passing test record needed for the fleet's platforms\n"
		"  --trust FILE             the passing record must be signed by a key this trust policy\n"
		"                           trusts (docs/SECURITY.md); refused (exit 2) otherwise\n"
		"release policy (docs/ROLLOUT.md):\n"
		"  --policy FILE            freeze windows and blockers (default: FLEET.policy.json beside\n"
		"                           the fleet file, when there is one); asked before the precheck\n"
		"                           and before each wave: refused (exit 2) at the start, paused\n"
		"                           (exit 3) between waves\n"
		"  --override REASON        lift the policy's refusals, or roll out a digest known bad (vetoed,\n"
		"                           or rolled back before), for this rollout; the reason and who\n"
		"                           gave it ($GITHUB_ACTOR, $GITLAB_USER_LOGIN, else the user) are\n"
		"                           journaled and in the outcome record\n"
		"at the end:\n"
		"  --sign-key FILE          sign the outcome record attached to the digest (an Ed25519\n"
		"                           private key, 'ramp key generate')\n"
		"the registry (tag resolution, test records):\n"
		"  --registry-creds USER:PASSWORD  instead of the auth files of 'ramp login'\n"
		"  --registry-cacert FILE   trust this CA bundle for the registry's TLS certificate\n"
		"  --insecure-registry HOST[:PORT]  no TLS verification, plain HTTP allowed (repeatable;\n"
		"                           loopback registries need nothing)\n"
		"waves:\n"
		"  --first N                hosts in wave 1 (default 1)\n"
		"  --factor F               each wave F times the last (default 2)\n"
		"  --steps LIST             cumulative hosts after each wave, e.g. 1,2,10%%,100%%\n"
		"  --spread LABEL           interleave the label's values (e.g. zone) across waves\n"
		"  --max-parallel N         hosts deploying and requests in flight at once (default 64)\n"
		"  --dry-run                print the waves and the duration bounds, and what the release\n"
		"                           policy decides now (exit 2: it would refuse); contact no host\n"
		"health:\n"
		"  --bake D                 healthy this long to pass (default 30s)\n"
		"  --health-deadline D      from the deploy request to the end of the bake (default 5m)\n"
		"  --final-bake D           watch the whole fleet after the last wave (default 0)\n"
		"  --check CMD              after each wave (sh -c; RAMP_WAVE, RAMP_WAVE_HOSTS,\n"
		"                           RAMP_WAVE_ADDRS, ... in its environment); must exit 0\n"
		"  --probe URL              also GET this from here for every host of the wave while it\n"
		"                           bakes; {name}, {address}, {host} are replaced (repeatable)\n"
		"  --max-unhealthy N        hosts that may fail without failing the rollout (default 0)\n"
		"  --max-unreachable N      hosts that may stop answering (default 0)\n"
		"  --on-failure revert|pause  revert every converted host (default), or stop as it is\n"
		"  --poll D                 status polling interval (default 1s)\n"
		"  --request-timeout D      one request to an agent (default 10s)\n"
		"  --unreachable-after D    no answer this long makes a host unreachable (default 15s)\n"
		"  --revert-deadline D      a reverted host must be healthy again within (default 2m)\n"
		"canary analysis (docs/CANARY.md):\n"
		"  --analysis FILE|default  judge each wave by the apps' own metrics, converted hosts\n"
		"                           against the hosts not yet converted; fails the wave as soon\n"
		"                           as the evidence says worse; 'default': http_requests_total's\n"
		"                           5xx ratio and http_request_duration_seconds\n"
		"  --bake-min D             the same as --bake: the least a wave bakes\n"
		"  --bake-max D             the most a wave waits for the evidence (default 5m)\n"
		"  --on-inconclusive pause|fail|pass  still undecided at --bake-max (default pause)\n"
		"  --max-error-ratio TOL    judge http_requests_total's 5xx ratio, without a file: TOL is\n"
		"                           the share it may rise over the baseline's (0.01: one percentage\n"
		"                           point), a relative rise (+50%%), or either (0.001,+50%%)\n"
		"  --max-slow-ratio TOL     the same for http_request_duration_seconds: the share of\n"
		"                           requests slower than each bucket bound\n"
		"  --metrics-source rampd|prometheus=URL  read the metrics from rampd (default) or from a\n"
		"                           Prometheus server; per host by the analysis file's query\n"
		"                           templates (default {{series}}{instance=\"{{address}}:8080\"})\n"
		"bookkeeping:\n"
		"  --state-dir DIR          journals and locks (default $XDG_STATE_HOME/ramp, else ./.ramp)\n"
		"  --takeover               supersede an unfinished rollout of the same app and fleet\n"
		"  --json                   events as JSON lines on stdout (docs/ROLLOUT.md)\n"
		"  --html FILE              a report page (waves, hosts, decisions), rewritten after each\n"
		"                           event; with show: the page of that rollout\n"
		"\n"
		"Durations: 30s, 500ms, 5m, 1h. Exit status: 0 done, 1 rolled back, 2 usage error or refused\n"
		"before anything was deployed, 3 the fleet needs attention (revert incomplete, paused,\n"
		"interrupted or superseded).\n");
}

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

/* Signals end the loop cleanly (the journal says where it stopped); many
 * hosts need many descriptors. */
void cmd_orch_setup(void)
{
	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

volatile sig_atomic_t *cmd_orch_stop(void)
{
	return &stop_flag;
}

void cmd_orch_report(bool json, struct orch_report *rep, struct orch_ui *ui)
{
	*rep = (struct orch_report){.json = json,
				    .verbose = log_get_level() >= LOG_LVL_INFO,
				    .quiet = log_get_level() < LOG_LVL_NOTICE,
				    .progress = isatty(STDERR_FILENO) && log_get_level() >= LOG_LVL_NOTICE,
				    .out = stdout,
				    .err = stderr};
	orch_report_ui(rep, ui);
}

int cmd_parse_ms(const char *verb, const char *opt, const char *s, bool zero_ok, int64_t *ms)
{
	int64_t ns;
	struct err e;
	if (img_parse_duration(s, &ns, &e) < 0)
		return cmd_usage_error(verb, "%s: %s", opt, e.msg);
	if (ns > 7LL * 24 * 3600 * 1000000000LL)
		return cmd_usage_error(verb, "%s: at most a week", opt);
	*ms = ns / 1000000;
	if (!zero_ok && *ms < 1)
		return cmd_usage_error(verb, "%s: must be at least 1ms", opt);
	return 0;
}

/* An analysis file is read now for a clear usage error; the engine reads
 * it again (and on --resume). */
static int check_analysis(const char *arg)
{
	struct orch_an_config c;
	struct err e;
	if (arg[0] == '{' || orch_an_config_load(arg, &c, &e) < 0) { /* '{': the --max-* flags' form */
		if (arg[0] == '{')
			snprintf(e.msg, sizeof e.msg, "a file (./%.40s) or default", arg);
		cmd_usage_error("rollout", "--analysis: %s", e.msg);
		return -1;
	}
	orch_an_config_free(&c);
	return 0;
}

static char *absolute(const char *p)
{
	char *r = realpath(p, NULL);
	return r ? r : strdup(p);
}

/* An event of --dry-run as a JSON line on stdout, timed now; ev is freed. */
static void print_event(struct orch_event *ev)
{
	char t[CLK_RFC3339_MAX];
	const char *line;
	size_t len;
	struct err e;
	struct jgen *g = jgen_new(false);
	clk_rfc3339(clk_wall_ms(), true, t, sizeof t);
	ev->time = t;
	if (g && orch_event_write(g, ev, &e) == 0 && jgen_result(g, &line, &len, &e) == 0)
		printf("%.*s\n", (int)len, line);
	jgen_free(g);
	orch_event_free(ev);
}

/* The plan as one event line (docs/ROLLOUT.md), written like the rollout's. */
static void print_plan_json(const struct orch_rollout *r, int64_t lo, int64_t hi)
{
	struct orch_event ev = {.kind = ORCH_EV_PLAN};
	struct orch_ev_plan *p = &ev.u.plan;
	struct err e;
	*p = (struct orch_ev_plan){.app = r->app, .fleet = r->fleet, .n_waves = r->n_waves, .min_seconds = lo / 1000,
				   .max_seconds = hi / 1000};
	const char **names = orch_event_alloc(&ev, r->hosts.n, sizeof *names, &e);
	if (names && (p->waves = orch_event_alloc(&ev, r->n_waves, sizeof *p->waves, &e))) {
		for (size_t i = 0; i < r->hosts.n; i++)
			names[i] = r->hosts.hosts[i].name;
		for (size_t w = 0; w < r->n_waves; w++) {
			size_t from = w ? r->ends[w - 1] : 0;
			p->waves[w] = (struct orch_ev_plan_wave){(int64_t)w + 1, {names + from, r->ends[w] - from}};
		}
		print_event(&ev);
		return;
	}
	orch_event_free(&ev);
}

/* --policy, or the fleet's default policy when there is one: checked now
 * (the engine reads it again), its absolute path in o */
static int load_policy(struct orch_opts *o, const char *fleet_path, struct orch_policy *p, struct err *e)
{
	if (!o->policy_file) {
		_cleanup_free_ char *def = NULL;
		if (orch_policy_default_path(fleet_path, &def, e) < 0)
			return -1;
		if (def && !(o->policy_file = absolute(def)))
			return err_errno(e, ENOMEM, "policy");
	}
	return o->policy_file ? orch_policy_load(o->policy_file, p, e) : 0;
}

/* --dry-run: what the release policy decides now, and why */
static void dry_event(const char *check, const char *name, bool ok, const char *reason, const char *until)
{
	struct orch_event ev = {.kind = ORCH_EV_POLICY};
	ev.u.policy = (struct orch_ev_policy){check, name, ok, reason, until, NULL};
	print_event(&ev);
}

static int dry_policy(const struct orch_new *a, const struct orch_policy *p, bool json)
{
	const char *over = a->o.override_reason;
	int64_t now = clk_wall_ms() / 1000, t;
	size_t k;
	bool refused = false;
	char at[CLK_RFC3339_MAX] = "";
	if (!json)
		printf("policy: %s\n", a->o.policy_file);
	if (orch_policy_frozen(p, now, &k, &t)) {
		const struct orch_freeze *f = &p->freezes[k];
		if (t != INT64_MAX)
			clk_rfc3339(t * 1000, false, at, sizeof at);
		refused = true;
		if (json)
			dry_event("freeze", f->name, false, f->reason, *at ? at : NULL);
		else
			printf("freeze \"%s\" in force: %s; until %s\n", f->name, f->reason, *at ? at : "further notice");
	} else if (!json) {
		if (orch_policy_next_freeze(p, now, &k, &t)) {
			clk_rfc3339(t * 1000, false, at, sizeof at);
			printf("no freeze in force; the next: \"%s\" (%s) from %s\n", p->freezes[k].name,
			       p->freezes[k].reason, at);
		} else {
			printf("no freeze in force or ahead\n");
		}
	}
	char *env[] = {"RAMP_WAVE=1", NULL, NULL, NULL};
	_cleanup_free_ char *app = NULL, *image = NULL;
	if (asprintf(&app, "RAMP_APP=%s", a->app) >= 0)
		env[1] = app;
	if (a->image_ref && asprintf(&image, "RAMP_IMAGE=%s", a->image_ref) >= 0)
		env[2] = image;
	for (size_t i = 0; i < p->n_blockers; i++) {
		_cleanup_free_ char *why = NULL;
		int rc = orch_blocker_run(&p->blockers[i], env, &why);
		refused |= rc != 0;
		if (json)
			dry_event("blocker", p->blockers[i].name, rc == 0, why, NULL);
		else
			printf("blocker \"%s\": %s%s%s\n", p->blockers[i].name, rc == 0 ? "clear" : "blocked",
			       why ? ": " : "", why ? why : "");
	}
	if (!json)
		printf("decision: %s%s\n",
		       !refused ? "would proceed" : over ? "would proceed, overridden: " : "refused (--override REASON lifts it)",
		       refused && over ? over : "");
	return refused && !over ? EXIT_USAGE : EXIT_OK;
}

static void print_plan(const struct orch_rollout *r, const char *spread, bool json)
{
	const struct orch_opts *o = &r->o;
	int64_t lo = o->final_bake_ms, hi = o->final_bake_ms;
	for (size_t w = 0; w < r->n_waves; w++) {
		size_t size = r->ends[w] - (w ? r->ends[w - 1] : 0);
		lo += o->bake_ms;
		hi += (int64_t)((size + o->max_parallel - 1) / o->max_parallel) * o->deadline_ms +
		      (int64_t)o->checks.n * o->deadline_ms;
	}
	if (json) {
		print_plan_json(r, lo, hi);
		return;
	}
	char a[32], b[32], bake[32], dl[32];
	orch_fmt_duration(a, sizeof a, lo);
	orch_fmt_duration(b, sizeof b, hi);
	orch_fmt_duration(bake, sizeof bake, o->bake_ms);
	orch_fmt_duration(dl, sizeof dl, o->deadline_ms);
	printf("plan: %s on %zu host%s in %zu wave%s (bake %s, health deadline %s, %zu at a time)\n", r->app,
	       r->hosts.n, r->hosts.n == 1 ? "" : "s", r->n_waves, r->n_waves == 1 ? "" : "s", bake, dl,
	       o->max_parallel);
	for (size_t w = 0; w < r->n_waves; w++) {
		size_t from = w ? r->ends[w - 1] : 0;
		printf("wave %zu (%zu host%s):", w + 1, r->ends[w] - from, r->ends[w] - from == 1 ? "" : "s");
		for (size_t i = from; i < r->ends[w]; i++) {
			const struct orch_host *h = &r->hosts.hosts[i];
			const char *v = spread ? orch_host_label(h, spread) : NULL;
			printf(" %s%s%s%s", h->name, v ? "(" : "", v ? v : "", v ? ")" : "");
		}
		printf("\n");
	}
	printf("duration: at least %s (every wave baked, nothing slow), at most %s (every host at its deadline)\n", a,
	       b);
}

struct listed {
	struct orch_rollout r;
	char status[64];
};

static int cmp_started(const void *a, const void *b)
{
	const struct listed *x = a, *y = b;
	int c = strcmp(x->r.started, y->r.started);
	return c ? c : strcmp(x->r.id, y->r.id);
}

static int list_rollouts(const char *state_dir, bool json)
{
	_cleanup_free_ char *dir = NULL;
	char **ids = NULL;
	size_t n = 0, k = 0;
	struct err e;
	if (orch_state_dir(state_dir, &dir, &e) < 0 || orch_list_ids(dir, &ids, &n, &e) < 0)
		return cmd_fail(&e);
	struct listed *v = calloc(n ? n : 1, sizeof *v);
	if (!v) {
		log_err("out of memory");
		return EXIT_FAIL;
	}
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *p = orch_journal_path(dir, ids[i], &e);
		free(ids[i]);
		if (!p || orch_journal_load(p, &v[k].r, &e) < 0) {
			log_warn("%s", e.msg);
			continue;
		}
		struct orch_rollout *r = &v[k].r;
		if (r->ended)
			snprintf(v[k].status, sizeof v[k].status, "%s", r->result);
		else if (orch_lock_busy(dir, r->app, r->fleet))
			snprintf(v[k].status, sizeof v[k].status, "running");
		else
			snprintf(v[k].status, sizeof v[k].status, "%s",
				 r->paused ? "paused" : r->reverting ? "unfinished (revert)" : "unfinished");
		k++;
	}
	free(ids);
	/* in the order they started (ids only have whole seconds) */
	qsort(v, k, sizeof *v, cmp_started);
	if (!json)
		printf("%-40s %-16s %-24s %-7s %s\n", "ROLLOUT", "APP", "STARTED", "WAVES", "STATUS");
	for (size_t i = 0; i < k; i++) {
		struct orch_rollout *r = &v[i].r;
		if (json) {
			struct jgen *g = jgen_new(false);
			const char *line;
			size_t len;
			jgen_obj_open(g);
			jgen_kstr(g, "rollout", r->id);
			jgen_kstr(g, "app", r->app);
			jgen_kstr(g, "image", r->image);
			jgen_kstr(g, "fleet", r->fleet);
			jgen_kstr(g, "started", r->started);
			jgen_kint(g, "waves", (int64_t)r->n_waves);
			jgen_kint(g, "wavesPassed", (int64_t)r->waves_passed);
			jgen_kstr(g, "status", v[i].status);
			jgen_obj_close(g);
			if (jgen_result(g, &line, &len, &e) == 0)
				printf("%.*s\n", (int)len, line);
			jgen_free(g);
		} else {
			char waves[32];
			snprintf(waves, sizeof waves, "%zu/%zu", r->waves_passed, r->n_waves);
			printf("%-40s %-16s %-24s %-7s %s\n", r->id, r->app, r->started, waves, v[i].status);
		}
		orch_rollout_free(r);
	}
	free(v);
	return EXIT_OK;
}

static int render_model(FILE *f, const void *m)
{
	return orch_html_rollout(f, m);
}

/* the page of a rollout, from its journal */
static int show_html(const char *p, const char *status, const char *html)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	struct orch_html m;
	struct err e;
	if (fs_read_file(p, ORCH_JOURNAL_MAX_BYTES, &buf, &len, &e) < 0 || orch_html_from_events(buf, len, &m, &e) < 0)
		return cmd_fail(&e);
	snprintf(m.status, sizeof m.status, "%s", status);
	int rc = orch_html_write(html, render_model, &m, &e);
	orch_html_free(&m);
	if (rc < 0)
		return cmd_fail(&e);
	log_info("wrote %s", html);
	return EXIT_OK;
}

static int show_rollout(const char *state_dir, const char *id, bool json, const char *html)
{
	_cleanup_free_ char *dir = NULL, *p = NULL;
	struct orch_rollout r;
	struct err e;
	if (orch_state_dir(state_dir, &dir, &e) < 0 || !(p = orch_journal_path(dir, id, &e)))
		return cmd_fail(&e);
	if (!fs_exists(p)) {
		log_err("no rollout %s in %s", id, dir);
		return EXIT_FAIL;
	}
	if (orch_journal_load(p, &r, &e) < 0)
		return cmd_fail(&e);
	const char *status = r.ended ? r.result : orch_lock_busy(dir, r.app, r.fleet) ? "running"
						  : r.paused				    ? "paused"
											    : "unfinished";
	if (html) {
		int rc = show_html(p, status, html);
		orch_rollout_free(&r);
		return rc;
	}
	if (json) {
		struct jgen *g = jgen_new(true);
		const char *line;
		size_t len;
		jgen_obj_open(g);
		jgen_kstr(g, "rollout", r.id);
		jgen_kstr(g, "app", r.app);
		jgen_kstr(g, "image", r.image);
		jgen_kstr(g, "digest", r.digest);
		jgen_kstr(g, "fleet", r.fleet);
		jgen_kstr(g, "started", r.started);
		if (r.ended_at)
			jgen_kstr(g, "ended", r.ended_at);
		jgen_kstr(g, "status", status);
		if (r.ended)
			jgen_kint(g, "exit", r.exit_code);
		jgen_kint(g, "generation", r.generation);
		jgen_kint(g, "waves", (int64_t)r.n_waves);
		jgen_kint(g, "wavesStarted", (int64_t)r.waves_started);
		jgen_kint(g, "wavesPassed", (int64_t)r.waves_passed);
		if (r.failure)
			jgen_kstr(g, "failure", r.failure);
		jgen_kbool(g, "tornLastLine", r.torn);
		if (r.analysis.n) {
			jgen_key(g, "analysis");
			jgen_arr_open(g);
			for (size_t i = 0; i < r.analysis.n; i++)
				jgen_str(g, r.analysis.v[i]);
			jgen_arr_close(g);
		}
		jgen_key(g, "hosts");
		jgen_arr_open(g);
		for (size_t i = 0; i < r.hosts.n; i++) {
			jgen_obj_open(g);
			jgen_kstr(g, "host", r.hosts.hosts[i].name);
			jgen_kstr(g, "address", r.hosts.hosts[i].address);
			jgen_kint(g, "wave", (int64_t)orch_rollout_wave_of(&r, i) + 1);
			jgen_kstr(g, "state", orch_hs_name(r.state[i]));
			if (r.before[i])
				jgen_kstr(g, "before", r.before[i]);
			if (r.reason[i])
				jgen_kstr(g, "reason", r.reason[i]);
			jgen_obj_close(g);
		}
		jgen_arr_close(g);
		jgen_obj_close(g);
		if (jgen_result(g, &line, &len, &e) == 0)
			printf("%.*s\n", (int)len, line);
		jgen_free(g);
	} else {
		printf("rollout     %s\napp         %s\nimage       %s\nfleet       %s (%zu hosts)\nstarted     %s\n",
		       r.id, r.app, r.image, r.fleet, r.hosts.n, r.started);
		printf("status      %s%s%s\n", status, r.ended_at ? " at " : "", r.ended_at ? r.ended_at : "");
		if (r.prechecked)
			printf("generation  %" PRId64 "\n", r.generation);
		printf("waves       %zu of %zu passed\n", r.waves_passed, r.n_waves);
		if (r.failure)
			printf("failure     %s\n", r.failure);
		if (r.torn)
			printf("journal     the last line was cut short (crash while writing); ignored\n");
		for (size_t i = 0; i < r.analysis.n; i++)
			printf("%s%s\n", i ? "            " : "analysis    ", r.analysis.v[i]);
		printf("\n");
		orch_report_table(stdout, &r);
	}
	orch_rollout_free(&r);
	return EXIT_OK;
}

static int exit_of(int rc, const struct err *e)
{
	if (rc >= 0)
		return rc;
	log_err("%s", e->msg);
	return EXIT_USAGE; /* nothing was deployed */
}

int cmd_rollout(int argc, char **argv)
{
	enum {
		O_APP = 256, O_IMAGE, O_FLEET, O_TOKEN, O_CACERT, O_GATE, O_UNTESTED, O_FIRST, O_FACTOR, O_STEPS,
		O_SPREAD, O_PARALLEL, O_DRY, O_BAKE, O_DEADLINE, O_FINAL, O_CHECK, O_PROBE, O_MAXBAD, O_MAXUNR,
		O_ONFAIL, O_POLL, O_TIMEOUT, O_UNREACH, O_REVDL, O_STATE, O_TAKEOVER, O_JSON, O_RESUME, O_ABORT,
		O_HTML, O_REGCREDS, O_REGCA, O_REGINSECURE, O_TRUST, O_POLICY, O_OVERRIDE, O_SIGNKEY, O_ANALYSIS, O_BAKEMAX,
		O_INCONCL, O_MSOURCE, O_MAXERR, O_MAXSLOW,
	};
	static const struct option opts[] = {
		{"app", required_argument, NULL, O_APP},
		{"image", required_argument, NULL, O_IMAGE},
		{"fleet", required_argument, NULL, O_FLEET},
		{"token-file", required_argument, NULL, O_TOKEN},
		{"cacert", required_argument, NULL, O_CACERT},
		{"gate", required_argument, NULL, O_GATE},
		{"allow-untested", no_argument, NULL, O_UNTESTED},
		{"trust", required_argument, NULL, O_TRUST},
		{"policy", required_argument, NULL, O_POLICY},
		{"override", required_argument, NULL, O_OVERRIDE},
		{"sign-key", required_argument, NULL, O_SIGNKEY},
		{"registry-creds", required_argument, NULL, O_REGCREDS},
		{"registry-cacert", required_argument, NULL, O_REGCA},
		{"insecure-registry", required_argument, NULL, O_REGINSECURE},
		{"first", required_argument, NULL, O_FIRST},
		{"factor", required_argument, NULL, O_FACTOR},
		{"steps", required_argument, NULL, O_STEPS},
		{"spread", required_argument, NULL, O_SPREAD},
		{"max-parallel", required_argument, NULL, O_PARALLEL},
		{"dry-run", no_argument, NULL, O_DRY},
		{"bake", required_argument, NULL, O_BAKE},
		{"bake-min", required_argument, NULL, O_BAKE},
		{"bake-max", required_argument, NULL, O_BAKEMAX},
		{"analysis", required_argument, NULL, O_ANALYSIS},
		{"on-inconclusive", required_argument, NULL, O_INCONCL},
		{"metrics-source", required_argument, NULL, O_MSOURCE},
		{"max-error-ratio", required_argument, NULL, O_MAXERR},
		{"max-slow-ratio", required_argument, NULL, O_MAXSLOW},
		{"health-deadline", required_argument, NULL, O_DEADLINE},
		{"final-bake", required_argument, NULL, O_FINAL},
		{"check", required_argument, NULL, O_CHECK},
		{"probe", required_argument, NULL, O_PROBE},
		{"max-unhealthy", required_argument, NULL, O_MAXBAD},
		{"max-unreachable", required_argument, NULL, O_MAXUNR},
		{"on-failure", required_argument, NULL, O_ONFAIL},
		{"poll", required_argument, NULL, O_POLL},
		{"request-timeout", required_argument, NULL, O_TIMEOUT},
		{"unreachable-after", required_argument, NULL, O_UNREACH},
		{"revert-deadline", required_argument, NULL, O_REVDL},
		{"state-dir", required_argument, NULL, O_STATE},
		{"takeover", no_argument, NULL, O_TAKEOVER},
		{"json", no_argument, NULL, O_JSON},
		{"html", required_argument, NULL, O_HTML},
		{"resume", required_argument, NULL, O_RESUME},
		{"abort", required_argument, NULL, O_ABORT},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct orch_new a = {0};
	struct cmd_reg reg;
	struct orch_step *steps = NULL;
	char *ci = NULL;
	const char *resume = NULL, *abort_id = NULL, *html = NULL, *max_err = NULL, *max_slow = NULL;
	struct orch_html_live live = {0};
	struct orch_policy policy = {0};
	bool json = false, dry = false;
	unsigned long long u;
	struct err e;
	int c, rc = EXIT_USAGE;

	orch_opts_defaults(&a.o);
	cmd_reg_init(&reg);
	a.reg = &reg.o;
	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case O_APP:
			a.app = optarg;
			break;
		case O_IMAGE:
			a.image_ref = optarg;
			break;
		case O_FLEET:
			a.fleet_path = optarg;
			break;
		case O_TOKEN:
			free(a.o.token_file);
			a.o.token_file = absolute(optarg);
			break;
		case O_CACERT:
			free(a.o.cacert);
			a.o.cacert = absolute(optarg);
			break;
		case O_GATE:
			if (strv_push(&a.o.gates, optarg, &e) < 0)
				goto nomem;
			break;
		case O_CHECK:
			if (strv_push(&a.o.checks, optarg, &e) < 0)
				goto nomem;
			break;
		case O_PROBE:
			if (strncmp(optarg, "http://", 7) && strncmp(optarg, "https://", 8)) {
				cmd_usage_error("rollout", "--probe: \"%s\": expected an http:// or https:// URL", optarg);
				goto out;
			}
			if (a.o.probes.n == ORCH_MAX_PROBES) {
				cmd_usage_error("rollout", "--probe: at most %d", ORCH_MAX_PROBES);
				goto out;
			}
			if (strv_push(&a.o.probes, optarg, &e) < 0)
				goto nomem;
			break;
		case O_UNTESTED:
			a.o.allow_untested = true;
			break;
		case O_TRUST: {
			struct img_trust t;
			if (img_trust_load(optarg, &t, &e) < 0) {
				cmd_usage_error("rollout", "--trust: %s", e.msg);
				goto out;
			}
			img_trust_free(&t);
			free(a.o.trust_file);
			a.o.trust_file = absolute(optarg);
			break;
		}
		case O_POLICY:
			free(a.o.policy_file);
			if (!(a.o.policy_file = absolute(optarg)))
				goto nomem;
			break;
		case O_OVERRIDE:
			if (!*optarg) {
				cmd_usage_error("rollout", "--override: give the reason");
				goto out;
			}
			free(a.o.override_reason);
			free(a.o.override_by);
			a.o.override_by = NULL;
			if (!(a.o.override_reason = strdup(optarg)) || img_outcome_who(&a.o.override_by, &ci, &e) < 0)
				goto nomem;
			free(ci);
			ci = NULL;
			break;
		case O_SIGNKEY: {
			struct img_privkey k;
			if (img_key_private_load(optarg, &k, &e) < 0) {
				cmd_usage_error("rollout", "--sign-key: %s", e.msg);
				goto out;
			}
			img_key_wipe(&k);
			free(a.o.sign_key);
			a.o.sign_key = absolute(optarg);
			break;
		}
		case O_ANALYSIS:
			if (check_analysis(optarg) < 0)
				goto out;
			free(a.o.analysis);
			if (!(a.o.analysis = strcmp(optarg, "default") ? absolute(optarg) : strdup(optarg)))
				goto nomem;
			break;
		case O_BAKEMAX:
			if (cmd_parse_ms("rollout", "--bake-max", optarg, false, &a.o.bake_max_ms))
				goto out;
			break;
		case O_INCONCL:
			if (orch_inconclusive_parse(optarg, &a.o.on_inconclusive) < 0) {
				cmd_usage_error("rollout", "--on-inconclusive: \"%s\": pause, fail or pass", optarg);
				goto out;
			}
			break;
		case O_MSOURCE:
			free(a.o.metrics_source);
			a.o.metrics_source = NULL;
			if (!strncmp(optarg, "prometheus=http://", 18) || !strncmp(optarg, "prometheus=https://", 19)) {
				if (!(a.o.metrics_source = strdup(optarg + 11)))
					goto nomem;
			} else if (strcmp(optarg, "rampd")) {
				cmd_usage_error("rollout", "--metrics-source: \"%s\": rampd or prometheus=http(s)://HOST:PORT",
						optarg);
				goto out;
			}
			break;
		case O_MAXERR:
			max_err = optarg;
			break;
		case O_MAXSLOW:
			max_slow = optarg;
			break;
		case O_REGCREDS:
		case O_REGCA:
		case O_REGINSECURE:
			if (cmd_reg_option(&reg, "rollout", c == O_REGCREDS ? OPT_CREDS : c == O_REGCA ? OPT_CACERT : OPT_INSECURE,
					   optarg))
				goto out;
			break;
		case O_FIRST:
			if (cmd_parse_uint("rollout", "--first", optarg, ORCH_FLEET_MAX_HOSTS, &u))
				goto out;
			if (!u) {
				cmd_usage_error("rollout", "--first: at least 1");
				goto out;
			}
			a.plan.first = (size_t)u;
			break;
		case O_FACTOR: {
			char *end;
			double f = strtod(optarg, &end);
			if (*end || !isfinite(f) || f <= 1 || f > 1000) {
				cmd_usage_error("rollout", "--factor: \"%s\": a number above 1 (and at most 1000)", optarg);
				goto out;
			}
			a.plan.factor = f;
			break;
		}
		case O_STEPS:
			free(steps);
			steps = NULL;
			if (orch_steps_parse(optarg, &steps, &a.plan.n_steps, &e) < 0) {
				cmd_usage_error("rollout", "--steps: %s", e.msg);
				goto out;
			}
			a.plan.steps = steps;
			break;
		case O_SPREAD:
			a.plan.spread = optarg;
			break;
		case O_PARALLEL:
			if (cmd_parse_uint("rollout", "--max-parallel", optarg, 100000, &u))
				goto out;
			if (!u) {
				cmd_usage_error("rollout", "--max-parallel: at least 1");
				goto out;
			}
			a.o.max_parallel = (size_t)u;
			break;
		case O_DRY:
			dry = true;
			break;
		case O_BAKE:
			if (cmd_parse_ms("rollout", "--bake", optarg, true, &a.o.bake_ms))
				goto out;
			break;
		case O_DEADLINE:
			if (cmd_parse_ms("rollout", "--health-deadline", optarg, false, &a.o.deadline_ms))
				goto out;
			break;
		case O_FINAL:
			if (cmd_parse_ms("rollout", "--final-bake", optarg, true, &a.o.final_bake_ms))
				goto out;
			break;
		case O_POLL:
			if (cmd_parse_ms("rollout", "--poll", optarg, false, &a.o.poll_ms))
				goto out;
			break;
		case O_TIMEOUT:
			if (cmd_parse_ms("rollout", "--request-timeout", optarg, false, &a.o.timeout_ms))
				goto out;
			break;
		case O_UNREACH:
			if (cmd_parse_ms("rollout", "--unreachable-after", optarg, true, &a.o.unreachable_ms))
				goto out;
			break;
		case O_REVDL:
			if (cmd_parse_ms("rollout", "--revert-deadline", optarg, false, &a.o.revert_deadline_ms))
				goto out;
			break;
		case O_MAXBAD:
			if (cmd_parse_uint("rollout", "--max-unhealthy", optarg, ORCH_FLEET_MAX_HOSTS, &u))
				goto out;
			a.o.max_unhealthy = (size_t)u;
			break;
		case O_MAXUNR:
			if (cmd_parse_uint("rollout", "--max-unreachable", optarg, ORCH_FLEET_MAX_HOSTS, &u))
				goto out;
			a.o.max_unreachable = (size_t)u;
			break;
		case O_ONFAIL:
			if (!strcmp(optarg, "revert"))
				a.o.on_failure = ORCH_ON_FAILURE_REVERT;
			else if (!strcmp(optarg, "pause"))
				a.o.on_failure = ORCH_ON_FAILURE_PAUSE;
			else {
				cmd_usage_error("rollout", "--on-failure: \"%s\": revert or pause", optarg);
				goto out;
			}
			break;
		case O_STATE:
			a.state_dir = optarg;
			break;
		case O_TAKEOVER:
			a.takeover = true;
			break;
		case O_JSON:
			json = true;
			break;
		case O_HTML:
			html = optarg;
			break;
		case O_RESUME:
			resume = optarg;
			break;
		case O_ABORT:
			abort_id = optarg;
			break;
		case 'h':
			usage(stdout);
			rc = EXIT_OK;
			goto out;
		default:
			fprintf(stderr, "(see 'ramp rollout --help')\n");
			goto out;
		}
	}
	if (max_err || max_slow) { /* the analysis these flags make, as its file would */
		if (a.o.analysis || !(a.o.analysis = orch_an_config_flags(max_err, max_slow, &e))) {
			cmd_usage_error("rollout", "%s", a.o.analysis ? "--max-error-ratio and --max-slow-ratio make the "
						"analysis: not with --analysis (give the tolerances in its file)" : e.msg);
			goto out;
		}
	}
	if (a.o.metrics_source && !a.o.analysis) {
		cmd_usage_error("rollout", "--metrics-source: for the metrics of an analysis (--analysis, --max-error-ratio, "
				"--max-slow-ratio)");
		goto out;
	}
	const char *sub = optind < argc ? argv[optind] : NULL;
	if (sub && !strcmp(sub, "list")) {
		if (optind + 1 != argc || html) {
			cmd_usage_error("rollout", "list takes no arguments (and no --html)");
			goto out;
		}
		rc = list_rollouts(a.state_dir, json);
		goto out;
	}
	if (sub && !strcmp(sub, "show")) {
		if (optind + 2 != argc) {
			cmd_usage_error("rollout", "show takes one rollout id");
			goto out;
		}
		if (json && html) {
			cmd_usage_error("rollout", "show: --json or --html, not both");
			goto out;
		}
		rc = show_rollout(a.state_dir, argv[optind + 1], json, html);
		goto out;
	}
	if (sub) {
		cmd_usage_error("rollout", "unexpected \"%s\" (subcommands: list, show)", sub);
		goto out;
	}
	struct orch_report rep;
	struct orch_ui ui;
	cmd_orch_report(json, &rep, &ui);
	if (html && !dry)
		orch_html_live(&live, html, a.state_dir, &ui);
	if (resume || abort_id) {
		if (resume && abort_id) {
			cmd_usage_error("rollout", "--resume or --abort, not both");
			goto out;
		}
		if (a.app || a.image_ref || a.fleet_path || a.o.override_reason || a.o.sign_key) {
			cmd_usage_error("rollout", "--resume and --abort take everything from the journal");
			goto out;
		}
		cmd_orch_setup();
		rc = exit_of(orch_rollout_resume(a.state_dir, resume ? resume : abort_id, abort_id != NULL, a.reg, &ui,
						 cmd_orch_stop(), &e), &e);
		goto out;
	}
	if (!a.app || !a.fleet_path || (!a.image_ref && !dry)) {
		cmd_usage_error("rollout", "--app, --image and --fleet are required");
		goto out;
	}
	if (a.o.trust_file && a.o.allow_untested) {
		cmd_usage_error("rollout", "--trust checks the test records that --allow-untested skips: not both");
		goto out;
	}
	if (a.image_ref && img_check_not_file(a.image_ref, &e) < 0) {
		rc = exit_of(-1, &e); /* rollout deploys from a registry: a file was meant */
		goto out;
	}
	if (a.plan.n_steps && (a.plan.first || a.plan.factor)) {
		cmd_usage_error("rollout", "--steps replaces --first and --factor");
		goto out;
	}
	if (a.o.analysis && a.o.bake_max_ms < a.o.bake_ms) {
		cmd_usage_error("rollout", "--bake-max must be at least --bake (--bake-min)");
		goto out;
	}
	if (a.o.bake_ms >= a.o.deadline_ms) {
		cmd_usage_error("rollout", "--bake must be shorter than --health-deadline");
		goto out;
	}
	if (dry && html) {
		cmd_usage_error("rollout", "--dry-run writes no report: no --html");
		goto out;
	}
	if (load_policy(&a.o, a.fleet_path, &policy, &e) < 0) {
		rc = exit_of(-1, &e); /* a policy that does not parse refuses everything */
		goto out;
	}
	if (dry) {
		struct orch_rollout r;
		if (orch_rollout_plan(&a, &r, &e) < 0) {
			rc = exit_of(-1, &e);
			goto out;
		}
		print_plan(&r, a.plan.spread, json);
		orch_rollout_free(&r);
		rc = a.o.policy_file ? dry_policy(&a, &policy, json) : EXIT_OK;
		goto out;
	}
	cmd_orch_setup();
	rc = exit_of(orch_rollout_start(&a, &ui, cmd_orch_stop(), &e), &e);
	goto out;
nomem:
	log_err("out of memory");
	rc = EXIT_FAIL;
out:
	orch_html_live_free(&live);
	orch_policy_free(&policy);
	free(steps);
	orch_opts_free(&a.o);
	return rc;
}
