/* fuzz_app_state.c: apps/NAME/state.json of the host store
 * (runtime/app_state.h). rampd wrote it, but it is read after crashes,
 * disk errors and hand edits, so it is parsed as untrusted. An accepted
 * state must be written as JSON that is accepted again and written out the
 * same, and must stay valid after a revert (a switch to its most recent
 * previous version) or a switch to its desired one. */
#include "lib/cleanup.h"
#include "runtime/app_state.h"
#include "tests/fuzz/fuzz.h"

static void round_trip(const struct rt_app_state *a, const char *after)
{
	struct rt_app_state b;
	struct err e;
	_cleanup_free_ char *out1 = NULL, *out2 = NULL;
	size_t len1, len2;
	FUZZ_CHECK(rt_app_state_json(a, &out1, &len1, &e) == 0, "%s: not written: %s", after, e.msg);
	FUZZ_CHECK(rt_app_state_parse(out1, len1, &b, &e) == 0, "%s: written as %.*s, which is refused: %s", after,
		   (int)len1, out1, e.msg);
	FUZZ_CHECK(rt_app_state_json(&b, &out2, &len2, &e) == 0, "%s: re-read but not written: %s", after, e.msg);
	FUZZ_CHECK(len1 == len2 && !memcmp(out1, out2, len1), "%s: not canonical:\n%.*s\n%.*s", after, (int)len1, out1,
		   (int)len2, out2);
	rt_app_state_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rt_app_state st;
	struct rt_app_version v;
	struct err e;
	fuzz_quiet();
	if (rt_app_state_parse((const char *)data, size, &st, &e) < 0) {
		FUZZ_CHECK(e.msg[0], "refused without a message");
		return 0;
	}
	FUZZ_CHECK(st.name && rt_app_name_check(st.name, &e) == 0, "accepted with a bad name");
	round_trip(&st, "as read");
	if (st.n_previous) {
		FUZZ_CHECK(rt_app_version_copy(&v, &st.previous[0], &e) == 0, "copy: %s", e.msg);
		FUZZ_CHECK(rt_app_state_switch(&st, &v, &e) == 0, "revert: %s", e.msg);
		rt_app_version_free(&v);
		round_trip(&st, "after a revert");
	}
	if (st.has_desired) {
		FUZZ_CHECK(rt_app_version_copy(&v, &st.desired, &e) == 0, "copy: %s", e.msg);
		FUZZ_CHECK(rt_app_state_switch(&st, &v, &e) == 0, "switch: %s", e.msg);
		rt_app_version_free(&v);
		round_trip(&st, "after a switch to the desired version");
	}
	rt_app_state_free(&st);
	return 0;
}
