/* rollout.c: rollouts as the commands see them: options, the record of a
 * rollout, the plan, and the entry points that set the stage (state
 * directory, lock, journal, image) for the engine (see rollout.h). */
#include "orchestrator/rollout.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/clock.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "image/outcome.h"
#include "orchestrator/engine.h"
#include "orchestrator/hostapi.h"
#include "orchestrator/journal.h"
#include "orchestrator/resolve.h"
#include "orchestrator/state.h"

/* ---- options and the rollout record ---- */

void orch_opts_defaults(struct orch_opts *o)
{
	*o = (struct orch_opts){
		.bake_ms = 30000,
		.deadline_ms = 300000,
		.poll_ms = 1000,
		.timeout_ms = 10000,
		.unreachable_ms = 15000,
		.revert_deadline_ms = 120000,
		.max_parallel = 64,
		.bake_max_ms = 300000,
	};
}

static const char *const inconclusive_names[] = {"pause", "fail", "pass"};

const char *orch_inconclusive_name(enum orch_on_inconclusive x)
{
	return inconclusive_names[x];
}

int orch_inconclusive_parse(const char *s, enum orch_on_inconclusive *x)
{
	for (size_t i = 0; i < ARRAY_SIZE(inconclusive_names); i++)
		if (!strcmp(s, inconclusive_names[i])) {
			*x = (enum orch_on_inconclusive)i;
			return 0;
		}
	return -1;
}

void orch_opts_free(struct orch_opts *o)
{
	strv_free(&o->gates);
	strv_free(&o->checks);
	strv_free(&o->probes);
	free(o->token_file);
	free(o->cacert);
	free(o->trust_file);
	free(o->override_reason);
	free(o->override_by);
	free(o->sign_key);
	free(o->policy_file);
	free(o->analysis);
	free(o->metrics_source);
	o->metrics_source = NULL;
	o->token_file = o->cacert = o->trust_file = o->override_reason = o->override_by = o->sign_key = o->policy_file =
		o->analysis = NULL;
}

int orch_opts_copy(struct orch_opts *dst, const struct orch_opts *src, struct err *e)
{
	*dst = *src;
	dst->gates = dst->checks = dst->probes = (struct strv){0};
	dst->token_file = dst->cacert = dst->trust_file = dst->override_reason = dst->override_by = dst->sign_key =
		dst->policy_file = dst->analysis = dst->metrics_source = NULL;
	if (strv_copy(&dst->gates, &src->gates, e) < 0 || strv_copy(&dst->checks, &src->checks, e) < 0 ||
	    strv_copy(&dst->probes, &src->probes, e) < 0 || (src->token_file && !(dst->token_file = strdup(src->token_file))) ||
	    (src->cacert && !(dst->cacert = strdup(src->cacert))) ||
	    (src->trust_file && !(dst->trust_file = strdup(src->trust_file))) ||
	    (src->override_reason && !(dst->override_reason = strdup(src->override_reason))) ||
	    (src->override_by && !(dst->override_by = strdup(src->override_by))) ||
	    (src->sign_key && !(dst->sign_key = strdup(src->sign_key))) ||
	    (src->policy_file && !(dst->policy_file = strdup(src->policy_file))) ||
	    (src->analysis && !(dst->analysis = strdup(src->analysis))) ||
	    (src->metrics_source && !(dst->metrics_source = strdup(src->metrics_source)))) {
		orch_opts_free(dst);
		return err_errno(e, ENOMEM, "options");
	}
	return 0;
}

void orch_rollout_free(struct orch_rollout *r)
{
	free(r->id);
	free(r->app);
	free(r->image);
	free(r->digest);
	free(r->fleet);
	free(r->takeover);
	free(r->started);
	free(r->started_by);
	free(r->ci_url);
	free(r->ended_at);
	free(r->failure);
	strv_free(&r->analysis);
	for (size_t i = 0; r->before && i < r->hosts.n; i++)
		free(r->before[i]);
	for (size_t i = 0; r->reason && i < r->hosts.n; i++)
		free(r->reason[i]);
	free(r->before);
	free(r->reason);
	free(r->state);
	free(r->ends);
	orch_fleet_free(&r->hosts);
	orch_opts_free(&r->o);
	*r = (struct orch_rollout){0};
}

size_t orch_rollout_wave_of(const struct orch_rollout *r, size_t host)
{
	/* binary search over the cumulative ends */
	size_t lo = 0, hi = r->n_waves;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (host < r->ends[mid])
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

int orch_rollout_alloc_hosts(struct orch_rollout *r, struct err *e)
{
	size_t n = r->hosts.n;
	if (!(r->state = calloc(n, 1)) || !(r->reason = calloc(n, sizeof *r->reason)) ||
	    !(r->before = calloc(n, sizeof *r->before)))
		return err_errno(e, ENOMEM, "rollout");
	return 0;
}

int orch_rollout_set_reason(struct orch_rollout *r, size_t host, const char *why)
{
	char *s = strdup(why);
	if (!s)
		return -1;
	free(r->reason[host]);
	r->reason[host] = s;
	return 0;
}

int orch_rollout_plan(const struct orch_new *a, struct orch_rollout *r, struct err *e)
{
	struct orch_fleet f = {0};
	struct orch_plan p = {0};
	_cleanup_free_ char *abs = NULL;
	int rc = -1;
	*r = (struct orch_rollout){0};
	if (orch_fleet_load(a->fleet_path, &f, e) < 0)
		return -1;
	if (orch_plan_make(&f, &a->plan, &p, e) < 0)
		goto out;
	if (!(r->hosts.hosts = calloc(f.n, sizeof *r->hosts.hosts)) || !(r->ends = calloc(p.n_waves, sizeof *r->ends))) {
		err_errno(e, ENOMEM, "plan");
		goto out;
	}
	for (size_t i = 0; i < f.n; i++) {
		if (orch_host_copy(&r->hosts.hosts[i], &f.hosts[p.order[i]], e) < 0)
			goto out;
		r->hosts.n = i + 1;
	}
	memcpy(r->ends, p.ends, p.n_waves * sizeof *r->ends);
	r->n_waves = p.n_waves;
	if (orch_opts_copy(&r->o, &a->o, e) < 0 || orch_rollout_alloc_hosts(r, e) < 0)
		goto out;
	abs = realpath(a->fleet_path, NULL);
	if (!(r->app = strdup(a->app)) || !(r->fleet = strdup(abs ? abs : a->fleet_path))) {
		err_errno(e, ENOMEM, "plan");
		goto out;
	}
	rc = 0;
out:
	orch_plan_free(&p);
	orch_fleet_free(&f);
	if (rc < 0)
		orch_rollout_free(r);
	return rc;
}

/* ---- entry points ---- */

/* The holder of a lock, when its journal says it is unfinished. */
static bool unfinished(const char *dir, const char *id)
{
	struct orch_rollout o;
	struct err e;
	_cleanup_free_ char *p = orch_journal_path(dir, id, &e);
	if (!p || orch_journal_load(p, &o, &e) < 0)
		return false;
	bool open = !o.ended;
	orch_rollout_free(&o);
	return open;
}

int orch_rollout_start(const struct orch_new *a, const struct orch_ui *ui, volatile sig_atomic_t *stop,
		       struct err *e)
{
	struct orch_rollout r = {0};
	struct orch_resolved img = {0};
	struct orch_lock lock = {.fd = -1};
	struct orch_journal j = {.fd = -1};
	struct orch_client *client = NULL;
	_cleanup_free_ char *dir = NULL, *path = NULL, *old_path = NULL;
	char newid[ORCH_ID_MAX + 1], t[CLK_RFC3339_MAX];
	int rc = -1;

	if (!orch_app_name_valid(a->app))
		return err_set(e, "app \"%.80s\": 1 to 63 of a-z, 0-9, '_', '.', '-', starting with a letter or digit",
			       a->app);
	/* local inputs first (fleet file, token files): a mistake there is said
	 * before the registry is asked anything, and changes nothing */
	if (orch_rollout_plan(a, &r, e) < 0 || !(client = orch_engine_client(&r, e)) ||
	    orch_state_dir(a->state_dir, &dir, e) < 0 ||
	    orch_resolve_image(a->image_ref, a->reg, !a->o.allow_untested, &img, e) < 0)
		goto out;
	if (!(r.image = strdup(img.pinned)) || !(r.digest = strdup(img.digest.s))) {
		err_errno(e, ENOMEM, "rollout");
		goto out;
	}
	if (orch_lock_open(dir, r.app, r.fleet, &lock, e) < 0)
		goto out;
	bool open = lock.holder[0] && unfinished(dir, lock.holder);
	if (!a->takeover && !lock.held) {
		err_set(e, "a rollout of %s on %s is running%s%s; it must finish first (or --takeover supersedes it)",
			r.app, r.fleet, open ? ": " : "", open ? lock.holder : "");
		goto out;
	}
	if (!a->takeover && open) {
		err_set(e, "rollout %s of %s on %s is unfinished: 'ramp rollout --resume %s' continues it, "
			   "'ramp rollout --abort %s' reverts it, --takeover supersedes it",
			lock.holder, r.app, r.fleet, lock.holder, lock.holder);
		goto out;
	}
	clk_rfc3339(clk_wall_ms(), true, t, sizeof t);
	if (orch_new_id(r.app, newid, sizeof newid, e) < 0 || !(r.id = strdup(newid)) || !(r.started = strdup(t)) ||
	    (open && !(r.takeover = strdup(lock.holder))) || img_outcome_who(&r.started_by, &r.ci_url, e) < 0) {
		if (!r.id || !r.started)
			err_errno(e, ENOMEM, "rollout");
		goto out;
	}
	/* the old one is closed once ours exists, and only if its process is gone */
	if (!(path = orch_journal_path(dir, r.id, e)) ||
	    (open && lock.held && !(old_path = orch_journal_path(dir, r.takeover, e))) || orch_lock_set(&lock, r.id, e) < 0)
		goto out;
	struct orch_run run = {.mode = ORCH_MODE_START, .r = &r, .j = &j, .journal_path = path,
			       .takeover_path = old_path, .t = orch_client_transport(client), .img = &img, .outcome = true,
			       .reg = a->reg, .ui = ui, .stop = stop};
	rc = orch_engine_run(&run, e);
	if (rc < 0 || r.ended)
		orch_lock_clear(&lock, r.id);
out:
	orch_client_free(client);
	orch_journal_close(&j);
	orch_lock_close(&lock);
	orch_resolved_free(&img);
	orch_rollout_free(&r);
	return rc;
}

int orch_rollout_resume(const char *state_dir, const char *id, bool abort, const struct img_registry_opts *reg,
			const struct orch_ui *ui, volatile sig_atomic_t *stop, struct err *e)
{
	struct orch_rollout r = {0};
	struct orch_resolved img = {0};
	struct orch_lock lock = {.fd = -1};
	struct orch_journal j = {.fd = -1};
	struct orch_client *client = NULL;
	_cleanup_free_ char *dir = NULL, *path = NULL;
	int rc = -1;

	if (orch_state_dir(state_dir, &dir, e) < 0 || !(path = orch_journal_path(dir, id, e)))
		return -1;
	if (!fs_exists(path))
		return err_set(e, "no rollout %s in %s", id, dir);
	if (orch_journal_load(path, &r, e) < 0)
		return -1;
	if (r.torn)
		log_warn("journal %s: its last line was cut short (the orchestrator died while writing it); ignored",
			 path);
	if (r.ended) {
		err_set(e, "rollout %s has already ended: %s", id, r.result);
		goto out;
	}
	if (orch_lock_open(dir, r.app, r.fleet, &lock, e) < 0)
		goto out;
	if (!lock.held) {
		err_set(e, "a rollout of %s on %s is running in another process (%s)", r.app, r.fleet,
			lock.holder[0] ? lock.holder : "unknown");
		goto out;
	}
	if (!lock.holder[0] && orch_lock_set(&lock, id, e) < 0)
		goto out;
	/* token files before the registry; a precheck that never finished is
	 * done again, test records included */
	if (!(client = orch_engine_client(&r, e)) ||
	    (!abort && !r.prechecked && !r.o.allow_untested && orch_resolve_image(r.image, reg, true, &img, e) < 0) ||
	    orch_journal_reopen(path, r.valid_len, &j, e) < 0)
		goto out;
	struct orch_run run = {.mode = abort ? ORCH_MODE_ABORT : ORCH_MODE_RESUME, .r = &r, .j = &j,
			       .t = orch_client_transport(client), .img = img.pinned ? &img : NULL, .outcome = true, .reg = reg,
			       .ui = ui, .stop = stop};
	rc = orch_engine_run(&run, e);
	if (r.ended)
		orch_lock_clear(&lock, r.id);
out:
	orch_client_free(client);
	orch_journal_close(&j);
	orch_lock_close(&lock);
	orch_resolved_free(&img);
	orch_rollout_free(&r);
	return rc;
}

int orch_fleet_revert(const struct orch_fleet *f, const char *app, const char *to, const struct orch_opts *o,
		      const struct orch_ui *ui, volatile sig_atomic_t *stop, struct orch_rollout *r, struct err *e)
{
	char id[ORCH_ID_MAX + 1];
	*r = (struct orch_rollout){0};
	if (!orch_app_name_valid(app))
		return err_set(e, "app \"%.80s\": not a valid app name", app);
	if (!(r->hosts.hosts = calloc(f->n, sizeof *r->hosts.hosts)) || !(r->ends = calloc(1, sizeof *r->ends)) ||
	    !(r->app = strdup(app)) || orch_new_id(app, id, sizeof id, e) < 0 || !(r->id = strdup(id)) ||
	    !(r->image = strdup("")) || !(r->digest = strdup("")))
		return err_errno(e, ENOMEM, "revert");
	for (size_t i = 0; i < f->n; i++) {
		if (orch_host_copy(&r->hosts.hosts[i], &f->hosts[i], e) < 0)
			return -1;
		r->hosts.n = i + 1;
	}
	r->ends[0] = f->n;
	r->n_waves = 1;
	if (orch_opts_copy(&r->o, o, e) < 0 || orch_rollout_alloc_hosts(r, e) < 0)
		return -1;
	struct orch_run run = {.mode = ORCH_MODE_FLEET_REVERT, .r = r, .revert_to = to, .ui = ui, .stop = stop};
	return orch_engine_run(&run, e);
}
