/* trust_gate.h: rampd's own check of what it is told to run. With a trust
 * policy in rampd.json ("trust_policy"), an app switches to a version it has
 * not run (anything but a revert to a version it keeps) only after the host
 * itself has verified that version's test records against the policy: the
 * pull helper fetches the records into the store with the image
 * (store_referrers.c), and rampd verifies them here with nettle and yajl,
 * which it maps anyway. A version refused stays refused until the next
 * request for it (a higher generation), and the app stays on what it runs;
 * the status says why (docs/API.md "refused"). */
#ifndef RAMP_RT_TRUST_GATE_H
#define RAMP_RT_TRUST_GATE_H

#include <stdbool.h>
#include <stdint.h>

#include "image/digest.h"
#include "runtime/rampd/locks.h"

struct rt_app;
struct rt_app_version;
struct jgen;

/* An app's verdicts (in struct rt_app, under its mutex). */
struct rt_gate {
	struct img_digest trusted; /* verified: the app may switch to it */
	struct img_digest refused; /* refused at generation refused_gen */
	int64_t refused_gen;
	char reason[1024];
};

enum rt_gate_state {
	RT_GATE_OPEN,    /* no policy, or the version passed */
	RT_GATE_FETCH,   /* its records are needed: pull (with them), then verify */
	RT_GATE_REFUSED, /* refused for this request: leave it */
};

/* Where the app's desired version v (not a revert) stands. */
enum rt_gate_state rt_gate_state(struct rt_app *a, const struct rt_app_version *v);
/* After a pull of digest d ended well: verify the desired version if it is
 * d and the policy wants it; sets the phase on a refusal. */
void rt_gate_after_pull(struct rt_app *a, const struct img_digest *d);
/* "refused": {"digest", "reason"} in the app's status while its desired
 * version is the refused one (caller holds a->mu). */
void rt_gate_status_json(const struct rt_app *a, struct jgen *g) RT_REQUIRES(rt_lock_app);

#endif
