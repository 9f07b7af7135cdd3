/* fuzz_journal.c: rollout journals (orchestrator/journal.h), replayed as
 * `ramp rollout --resume` and `--abort` do after the orchestrator died.
 * What is accepted is consistent (waves in order and within the plan, a
 * known state for every host, a wave for every host), and the whole lines
 * alone replay to the same rollout, not torn: that is the file resume goes
 * on with after cutting the torn line off. */
#include "orchestrator/journal.h"
#include "tests/fuzz/fuzz.h"

static void check(const struct orch_rollout *r, size_t len)
{
	FUZZ_CHECK(r->valid_len <= len && (!r->torn || r->valid_len < len), "valid_len %zu of %zu, torn %d",
		   r->valid_len, len, r->torn);
	FUZZ_CHECK(r->id && r->app && r->hosts.n >= 1 && r->n_waves >= 1, "a rollout without its start");
	FUZZ_CHECK(r->waves_passed <= r->waves_started && r->waves_started <= r->n_waves, "waves %zu passed, %zu of %zu",
		   r->waves_passed, r->waves_started, r->n_waves);
	FUZZ_CHECK(r->ends[r->n_waves - 1] == r->hosts.n, "the waves hold %zu of %zu hosts", r->ends[r->n_waves - 1],
		   r->hosts.n);
	for (size_t i = 0; i < r->hosts.n; i++) {
		FUZZ_CHECK(r->state[i] < ORCH_HS_COUNT, "host %zu in state %u", i, r->state[i]);
		FUZZ_CHECK(orch_rollout_wave_of(r, i) < r->n_waves, "host %zu in no wave", i);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct orch_rollout r, whole;
	struct err e;
	fuzz_quiet();
	if (orch_journal_replay((const char *)data, size, "journal", &r, &e) < 0) {
		FUZZ_CHECK(e.msg[0], "refused without a message");
		return 0;
	}
	check(&r, size);
	FUZZ_CHECK(orch_journal_replay((const char *)data, r.valid_len, "journal", &whole, &e) == 0,
		   "its whole lines are refused: %s", e.msg);
	FUZZ_CHECK(!whole.torn && whole.valid_len == r.valid_len && whole.lines == r.lines, "the whole lines differ");
	FUZZ_CHECK(whole.waves_started == r.waves_started && whole.waves_passed == r.waves_passed &&
			   whole.ended == r.ended && whole.reverting == r.reverting &&
			   !memcmp(whole.state, r.state, r.hosts.n),
		   "the whole lines replay to another rollout");
	orch_rollout_free(&whole);
	orch_rollout_free(&r);
	return 0;
}
