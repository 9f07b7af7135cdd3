/* fuzz_policy.c: release policy files (orchestrator/policy.h). What is
 * accepted has named freezes with a reason, recurring ones with days, a
 * window inside the day and a loaded zone, one-time ones that end after they
 * begin, blockers with a command and a bounded timeout; the window
 * computations on it end and agree with each other. */
#include "orchestrator/policy.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct orch_policy p;
	struct err e;
	if (orch_policy_parse((const char *)data, size, "policy.json", &p, &e) < 0) {
		FUZZ_CHECK(!strncmp(e.msg, "policy.json: ", 13), "error not naming the file: %s", e.msg);
		return 0;
	}
	for (size_t i = 0; i < p.n_freezes; i++) {
		const struct orch_freeze *f = &p.freezes[i];
		FUZZ_CHECK(f->name && *f->name && f->reason && *f->reason, "freeze %zu unnamed", i);
		if (f->recurring)
			FUZZ_CHECK(f->days && f->days < 128 && f->from_min >= 0 && f->from_min < f->to_min &&
					   f->to_min <= 1440 && f->tz,
				   "freeze %s: window %d-%d days %x", f->name, f->from_min, f->to_min, f->days);
		else
			FUZZ_CHECK(f->from < f->to, "freeze %s ends before it begins", f->name);
	}
	for (size_t i = 0; i < p.n_blockers; i++)
		FUZZ_CHECK(p.blockers[i].command && p.blockers[i].timeout_ms >= 1000 &&
				   p.blockers[i].timeout_ms <= 3600000,
			   "blocker %zu", i);
	/* a few instants: a freeze in force ends later and is not in force then */
	const int64_t ts[] = {0, 1795688104, 2000000000};
	for (size_t k = 0; k < sizeof ts / sizeof *ts; k++) {
		size_t which;
		int64_t until, at;
		if (orch_policy_frozen(&p, ts[k], &which, &until)) {
			FUZZ_CHECK(which < p.n_freezes && until > ts[k], "frozen at %lld until %lld", (long long)ts[k],
				   (long long)until);
			if (until != INT64_MAX)
				FUZZ_CHECK(!orch_policy_frozen(&p, until, &which, &at), "still frozen at its end");
		}
		if (orch_policy_next_freeze(&p, ts[k], &which, &at))
			FUZZ_CHECK(at > ts[k] && orch_freeze_active(&p.freezes[which], at), "next freeze not in force");
	}
	orch_policy_free(&p);
	return 0;
}
