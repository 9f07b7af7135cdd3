/* engine_policy.c: the release policy (policy.h) where the engine asks it:
 * before the precheck of a new rollout, when a paused one is resumed, and
 * between two waves. Every freeze in force and every blocker's answer is an
 * event; --override lifts a refusal and the events say who gave it. Reverts
 * (automatic, --abort, ramp revert) never ask. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "lib/cleanup.h"
#include "lib/clock.h"
#include "orchestrator/engine_int.h"

int eng_policy_load(struct eng *g, struct err *e)
{
	if (!eng_is_rollout(g) || !g->r->o.policy_file)
		return 0;
	if (orch_policy_load(g->r->o.policy_file, &g->policy, e) < 0)
		return -1;
	g->has_policy = true;
	return 0;
}

static void emit_policy(struct eng *g, const char *check, const char *name, bool ok, const char *reason,
			const char *until, const char *by)
{
	struct orch_event ev = {.kind = ORCH_EV_POLICY};
	ev.u.policy = (struct orch_ev_policy){
		.check = check, .name = name, .ok = ok, .reason = reason, .until = until, .override_by = by};
	eng_ev_policy(g, &ev);
}

bool eng_policy_check(struct eng *g, size_t wave, char *why, size_t cap)
{
	struct orch_rollout *r = g->r;
	if (!g->has_policy)
		return true;
	const char *override = r->o.override_reason;
	const char *by = override ? r->o.override_by : NULL; /* who: set with the option */
	bool clear = true;
	size_t which;
	int64_t now = clk_wall_ms() / 1000, until;
	why[0] = 0;
	if (orch_policy_frozen(&g->policy, now, &which, &until)) {
		const struct orch_freeze *f = &g->policy.freezes[which];
		char end[CLK_RFC3339_MAX] = "";
		if (until != INT64_MAX)
			clk_rfc3339(until * 1000, false, end, sizeof end);
		emit_policy(g, "freeze", f->name, false, f->reason, *end ? end : NULL, override ? by : NULL);
		snprintf(why, cap, "freeze \"%s\" (%s) until %s", f->name, f->reason, *end ? end : "further notice");
		clear = false;
	}
	char wv[64], app[128], id[200];
	snprintf(wv, sizeof wv, "RAMP_WAVE=%zu", wave + 1);
	snprintf(app, sizeof app, "RAMP_APP=%s", r->app);
	snprintf(id, sizeof id, "RAMP_ROLLOUT=%s", r->id);
	_cleanup_free_ char *image = NULL;
	if (asprintf(&image, "RAMP_IMAGE=%s", r->image) < 0)
		image = NULL;
	char *env[] = {wv, app, id, image, NULL};
	for (size_t k = 0; k < g->policy.n_blockers && !g->fatal; k++) {
		const struct orch_blocker *b = &g->policy.blockers[k];
		_cleanup_free_ char *out = NULL;
		int rc = orch_blocker_run(b, env, &out);
		emit_policy(g, "blocker", b->name, rc == 0, out, NULL, rc && override ? by : NULL);
		if (rc && clear) {
			snprintf(why, cap, "blocker \"%s\": %s", b->name, out ? out : "out of memory");
			clear = false;
		}
	}
	return clear || override;
}

void eng_policy_free(struct eng *g)
{
	if (g->has_policy)
		orch_policy_free(&g->policy);
}
