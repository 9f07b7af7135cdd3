/* rollout.c: `ramp rollout`: start, resume, abort, list and show rollouts;
 * options into orchestrator/rollout, events out through orchestrator/report. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/opts.h"
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
		"                           5xx ratio and http_request_duration_seconds; a group of\n"
		"                           more than 64 hosts is judged on 64 drawn at random per wave\n"
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

/* What `ramp rollout` was asked */
struct rollout_cli {
	struct orch_new a;
	struct cmd_reg reg;
	struct orch_step *steps;
	const char *resume, *abort_id, *html;
	const char *max_err, *max_slow; /* --max-error-ratio, --max-slow-ratio */
	bool json, dry;
};

/* The options whose values are checked (or read) further than a kind of
 * cmd/opts.h does; o->target is the struct rollout_cli, or a field. */
static int opt_probe(const struct cmd_opt *o, const char *arg, struct err *e)
{
	struct strv *probes = o->target;
	if (strncmp(arg, "http://", 7) && strncmp(arg, "https://", 8))
		return err_set(e, "\"%s\": expected an http:// or https:// URL", arg);
	if (probes->n == ORCH_MAX_PROBES)
		return err_set(e, "at most %d", ORCH_MAX_PROBES);
	return strv_push(probes, arg, e);
}

static int set_path(char **p, const char *arg, struct err *e)
{
	char *abs = absolute(arg);
	if (!abs)
		return err_errno(e, ENOMEM, "out of memory");
	free(*p);
	*p = abs;
	return 0;
}

static int opt_trust(const struct cmd_opt *o, const char *arg, struct err *e)
{
	struct img_trust t;
	if (img_trust_load(arg, &t, e) < 0)
		return -1;
	img_trust_free(&t);
	return set_path(o->target, arg, e);
}

static int opt_sign_key(const struct cmd_opt *o, const char *arg, struct err *e)
{
	struct img_privkey k;
	if (img_key_private_load(arg, &k, e) < 0)
		return -1;
	img_key_wipe(&k);
	return set_path(o->target, arg, e);
}

/* read now for a clear usage error; the engine reads it again (and on --resume) */
static int opt_analysis(const struct cmd_opt *o, const char *arg, struct err *e)
{
	struct orch_an_config c;
	if (arg[0] == '{') /* the --max-* flags' form */
		return err_set(e, "a file (./%.40s) or default", arg);
	if (orch_an_config_load(arg, &c, e) < 0)
		return -1;
	orch_an_config_free(&c);
	if (strcmp(arg, "default"))
		return set_path(o->target, arg, e);
	free(*(char **)o->target);
	if (!(*(char **)o->target = strdup(arg)))
		return err_errno(e, ENOMEM, "out of memory");
	return 0;
}

static int opt_metrics_source(const struct cmd_opt *o, const char *arg, struct err *e)
{
	char **src = o->target;
	free(*src);
	*src = NULL;
	if (!strcmp(arg, "rampd"))
		return 0;
	if (strncmp(arg, "prometheus=http://", 18) && strncmp(arg, "prometheus=https://", 19))
		return err_set(e, "\"%s\": rampd or prometheus=http(s)://HOST:PORT", arg);
	if (!(*src = strdup(arg + 11)))
		return err_errno(e, ENOMEM, "out of memory");
	return 0;
}

static int opt_override(const struct cmd_opt *o, const char *arg, struct err *e)
{
	struct orch_opts *x = o->target;
	_cleanup_free_ char *ci = NULL;
	if (!*arg)
		return err_set(e, "give the reason");
	free(x->override_reason);
	free(x->override_by);
	x->override_by = NULL;
	if (!(x->override_reason = strdup(arg)))
		return err_errno(e, ENOMEM, "out of memory");
	return img_outcome_who(&x->override_by, &ci, e) < 0 ? err_errno(e, ENOMEM, "out of memory") : 0;
}

static int opt_factor(const struct cmd_opt *o, const char *arg, struct err *e)
{
	char *end;
	double f = strtod(arg, &end);
	if (*end || !isfinite(f) || f <= 1 || f > 1000)
		return err_set(e, "\"%s\": a number above 1 (and at most 1000)", arg);
	*(double *)o->target = f;
	return 0;
}

static int opt_steps(const struct cmd_opt *o, const char *arg, struct err *e)
{
	struct rollout_cli *c = o->target;
	free(c->steps);
	c->steps = NULL;
	if (orch_steps_parse(arg, &c->steps, &c->a.plan.n_steps, e) < 0)
		return -1;
	c->a.plan.steps = c->steps;
	return 0;
}

static int rollout_options(struct rollout_cli *c, int argc, char **argv, int *first)
{
	struct orch_opts *o = &c->a.o;
	const struct cmd_opt opts[] = {
		CMD_STR("app", &c->a.app),
		CMD_STR("image", &c->a.image_ref),
		CMD_STR("fleet", &c->a.fleet_path),
		CMD_PATH("token-file", &o->token_file),
		CMD_PATH("cacert", &o->cacert),
		CMD_LIST("gate", &o->gates),
		CMD_FLAG("allow-untested", &o->allow_untested),
		CMD_FN("trust", &o->trust_file, opt_trust),
		CMD_PATH("policy", &o->policy_file),
		CMD_FN("override", o, opt_override),
		CMD_FN("sign-key", &o->sign_key, opt_sign_key),
		CMD_FN("registry-creds", &c->reg, cmd_reg_creds),
		CMD_FN("registry-cacert", &c->reg, cmd_reg_cacert),
		CMD_FN("insecure-registry", &c->reg, cmd_reg_insecure),
		CMD_UINT("first", &c->a.plan.first, 1, ORCH_FLEET_MAX_HOSTS),
		CMD_FN("factor", &c->a.plan.factor, opt_factor),
		CMD_FN("steps", c, opt_steps),
		CMD_STR("spread", &c->a.plan.spread),
		CMD_UINT("max-parallel", &o->max_parallel, 1, 100000),
		CMD_FLAG("dry-run", &c->dry),
		CMD_MS("bake", &o->bake_ms, 0, CMD_MS_WEEK),
		CMD_MS("bake-min", &o->bake_ms, 0, CMD_MS_WEEK),
		CMD_MS("bake-max", &o->bake_max_ms, 1, CMD_MS_WEEK),
		CMD_FN("analysis", &o->analysis, opt_analysis),
		CMD_CHOICE("on-inconclusive", &o->on_inconclusive, "pause", "fail", "pass"),
		CMD_FN("metrics-source", &o->metrics_source, opt_metrics_source),
		CMD_STR("max-error-ratio", &c->max_err),
		CMD_STR("max-slow-ratio", &c->max_slow),
		CMD_MS("health-deadline", &o->deadline_ms, 1, CMD_MS_WEEK),
		CMD_MS("final-bake", &o->final_bake_ms, 0, CMD_MS_WEEK),
		CMD_LIST("check", &o->checks),
		CMD_FN("probe", &o->probes, opt_probe),
		CMD_UINT("max-unhealthy", &o->max_unhealthy, 0, ORCH_FLEET_MAX_HOSTS),
		CMD_UINT("max-unreachable", &o->max_unreachable, 0, ORCH_FLEET_MAX_HOSTS),
		CMD_CHOICE("on-failure", &o->on_failure, "revert", "pause"),
		CMD_MS("poll", &o->poll_ms, 1, CMD_MS_WEEK),
		CMD_MS("request-timeout", &o->timeout_ms, 1, CMD_MS_WEEK),
		CMD_MS("unreachable-after", &o->unreachable_ms, 0, CMD_MS_WEEK),
		CMD_MS("revert-deadline", &o->revert_deadline_ms, 1, CMD_MS_WEEK),
		CMD_STR("state-dir", &c->a.state_dir),
		CMD_FLAG("takeover", &c->a.takeover),
		CMD_FLAG("json", &c->json),
		CMD_STR("html", &c->html),
		CMD_STR("resume", &c->resume),
		CMD_STR("abort", &c->abort_id),
	};
	return cmd_opts_parse(CMD_OPTS("rollout", usage, false, opts), argc, argv, first);
}

/* The analysis --max-error-ratio and --max-slow-ratio make, as its file would */
static int analysis_flags(struct rollout_cli *c)
{
	struct orch_opts *o = &c->a.o;
	struct err e;
	if (c->max_err || c->max_slow) {
		if (o->analysis)
			return cmd_usage_error("rollout", "--max-error-ratio and --max-slow-ratio make the analysis: not "
							  "with --analysis (give the tolerances in its file)");
		if (!(o->analysis = orch_an_config_flags(c->max_err, c->max_slow, &e)))
			return cmd_usage_error("rollout", "%s", e.msg);
	}
	if (o->metrics_source && !o->analysis)
		return cmd_usage_error("rollout", "--metrics-source: for the metrics of an analysis (--analysis, "
						  "--max-error-ratio, --max-slow-ratio)");
	return 0;
}

/* list and show: the rollouts of the state directory */
static int rollout_sub(struct rollout_cli *c, int argc, char **argv, int first)
{
	const char *sub = argv[first];
	if (!strcmp(sub, "list")) {
		if (first + 1 != argc || c->html)
			return cmd_usage_error("rollout", "list takes no arguments (and no --html)");
		return list_rollouts(c->a.state_dir, c->json);
	}
	if (!strcmp(sub, "show")) {
		if (first + 2 != argc)
			return cmd_usage_error("rollout", "show takes one rollout id");
		if (c->json && c->html)
			return cmd_usage_error("rollout", "show: --json or --html, not both");
		return show_rollout(c->a.state_dir, argv[first + 1], c->json, c->html);
	}
	return cmd_usage_error("rollout", "unexpected \"%s\" (subcommands: list, show)", sub);
}

/* The options of a new rollout that go together, or not */
static int check_new(const struct rollout_cli *c)
{
	const struct orch_new *a = &c->a;
	if (!a->app || !a->fleet_path || (!a->image_ref && !c->dry))
		return cmd_usage_error("rollout", "--app, --image and --fleet are required");
	if (a->o.trust_file && a->o.allow_untested)
		return cmd_usage_error("rollout", "--trust checks the test records that --allow-untested skips: not both");
	if (a->plan.n_steps && (a->plan.first || a->plan.factor))
		return cmd_usage_error("rollout", "--steps replaces --first and --factor");
	if (a->o.analysis && a->o.bake_max_ms < a->o.bake_ms)
		return cmd_usage_error("rollout", "--bake-max must be at least --bake (--bake-min)");
	if (a->o.bake_ms >= a->o.deadline_ms)
		return cmd_usage_error("rollout", "--bake must be shorter than --health-deadline");
	if (c->dry && c->html)
		return cmd_usage_error("rollout", "--dry-run writes no report: no --html");
	return 0;
}

/* A new rollout, or its plan with --dry-run */
static int rollout_new(struct rollout_cli *c, const struct orch_ui *ui)
{
	struct orch_new *a = &c->a;
	struct orch_policy policy = {0};
	struct err e;
	int rc;
	if ((rc = check_new(c)))
		return rc;
	if (a->image_ref && img_check_not_file(a->image_ref, &e) < 0)
		return exit_of(-1, &e); /* rollout deploys from a registry: a file was meant */
	if (load_policy(&a->o, a->fleet_path, &policy, &e) < 0)
		rc = exit_of(-1, &e); /* a policy that does not parse refuses everything */
	else if (c->dry) {
		struct orch_rollout r;
		if (orch_rollout_plan(a, &r, &e) < 0) {
			rc = exit_of(-1, &e);
		} else {
			print_plan(&r, a->plan.spread, c->json);
			orch_rollout_free(&r);
			rc = a->o.policy_file ? dry_policy(a, &policy, c->json) : EXIT_OK;
		}
	} else {
		cmd_orch_setup();
		rc = exit_of(orch_rollout_start(a, ui, cmd_orch_stop(), &e), &e);
	}
	orch_policy_free(&policy);
	return rc;
}

static int rollout_resume(struct rollout_cli *c, const struct orch_ui *ui)
{
	const struct orch_new *a = &c->a;
	struct err e;
	if (c->resume && c->abort_id)
		return cmd_usage_error("rollout", "--resume or --abort, not both");
	if (a->app || a->image_ref || a->fleet_path || a->o.override_reason || a->o.sign_key)
		return cmd_usage_error("rollout", "--resume and --abort take everything from the journal");
	cmd_orch_setup();
	return exit_of(orch_rollout_resume(a->state_dir, c->resume ? c->resume : c->abort_id, c->abort_id != NULL,
					   a->reg, ui, cmd_orch_stop(), &e),
		       &e);
}

int cmd_rollout(int argc, char **argv)
{
	struct rollout_cli c = {0};
	struct orch_html_live live = {0};
	int first, rc;

	orch_opts_defaults(&c.a.o);
	cmd_reg_init(&c.reg);
	c.a.reg = &c.reg.o;
	if ((rc = rollout_options(&c, argc, argv, &first)) != CMD_GO || (rc = analysis_flags(&c)))
		goto out;
	if (first < argc) {
		rc = rollout_sub(&c, argc, argv, first);
		goto out;
	}
	struct orch_report rep;
	struct orch_ui ui;
	cmd_orch_report(c.json, &rep, &ui);
	if (c.html && !c.dry)
		orch_html_live(&live, c.html, c.a.state_dir, &ui);
	rc = c.resume || c.abort_id ? rollout_resume(&c, &ui) : rollout_new(&c, &ui);
out:
	orch_html_live_free(&live);
	free(c.steps);
	orch_opts_free(&c.a.o);
	return rc;
}
