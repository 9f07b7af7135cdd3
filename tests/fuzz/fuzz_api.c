/* fuzz_api.c: bodies of requests to rampd's control API (runtime/rampd/api_server.h:
 * PUT, revert and DELETE of /v1/apps/NAME), and image references as the API
 * takes them. What rampd accepts must be what `ramp rollout` would send for
 * the same values (orchestrator/hostapi.h builds the bodies): encoding the
 * accepted request again gives a body that is accepted as the same request.
 * Every input goes to each parser, and, as a string, to the image check. */
#include <inttypes.h>

#include "image/reference.h"
#include "lib/cleanup.h"
#include "orchestrator/hostapi.h"
#include "runtime/rampd/api_server.h"
#include "runtime/rampd/supervisor.h"
#include "tests/fuzz/fuzz.h"

static void check_put(const char *body, size_t len)
{
	struct rt_put_req a, b;
	struct err e;
	if (rt_api_parse_put(body, len, &a, &e) < 0) {
		FUZZ_CHECK(e.msg[0], "PUT refused without a message");
		return;
	}
	FUZZ_CHECK(a.generation >= 1, "generation %" PRId64 " accepted", a.generation);
	struct img_digest d;
	FUZZ_CHECK(rt_api_check_image(a.image, &d, &e) == 0 && img_digest_eq(&d, &a.digest),
		   "accepted image \"%s\" does not check", a.image);
	for (const char *p = a.rollout; *p; p++)
		FUZZ_CHECK((unsigned char)*p >= 0x20 && *p != 0x7f, "control byte in the rollout id");
	_cleanup_free_ char *again = orch_body_put(a.image, a.rollout, a.generation);
	FUZZ_CHECK(again, "the orchestrator cannot encode an accepted PUT");
	FUZZ_CHECK(rt_api_parse_put(again, strlen(again), &b, &e) == 0, "re-encoded PUT %s refused: %s", again, e.msg);
	FUZZ_CHECK(!strcmp(a.image, b.image) && !strcmp(a.rollout, b.rollout) && a.generation == b.generation &&
			   img_digest_eq(&a.digest, &b.digest),
		   "re-encoded PUT differs: %s", again);
}

static void check_revert(const char *body, size_t len)
{
	struct rt_revert_req a, b;
	struct err e;
	if (rt_api_parse_revert(body, len, &a, &e) < 0) {
		FUZZ_CHECK(e.msg[0], "revert refused without a message");
		return;
	}
	FUZZ_CHECK(a.generation >= 1, "generation %" PRId64 " accepted", a.generation);
	FUZZ_CHECK(a.previous || img_digest_valid(&a.to), "revert to an invalid digest");
	_cleanup_free_ char *again = orch_body_revert(a.previous ? "previous" : a.to.s, a.generation);
	FUZZ_CHECK(again && rt_api_parse_revert(again, strlen(again), &b, &e) == 0, "re-encoded revert refused");
	FUZZ_CHECK(a.previous == b.previous && a.generation == b.generation && (a.previous || img_digest_eq(&a.to, &b.to)),
		   "re-encoded revert differs: %s", again);
}

static void check_delete(const char *body, size_t len)
{
	struct rt_delete_req a, b;
	struct err e;
	if (rt_api_parse_delete(body, len, &a, &e) < 0) {
		FUZZ_CHECK(e.msg[0], "DELETE refused without a message");
		return;
	}
	FUZZ_CHECK(!a.has_generation || a.generation >= 1, "generation %" PRId64 " accepted", a.generation);
	if (!a.has_generation)
		return;
	_cleanup_free_ char *again = orch_body_generation(a.generation);
	FUZZ_CHECK(again && rt_api_parse_delete(again, strlen(again), &b, &e) == 0, "re-encoded DELETE refused");
	FUZZ_CHECK(b.has_generation && b.generation == a.generation, "re-encoded DELETE differs: %s", again);
}

static void check_image(const char *s)
{
	struct img_digest d;
	struct img_ref r;
	struct err e;
	if (rt_api_check_image(s, &d, &e) < 0)
		return;
	FUZZ_CHECK(strlen(s) <= RT_IMAGE_MAX, "%zu-byte image accepted", strlen(s));
	FUZZ_CHECK(img_ref_parse(s, &r, &e) == 0 && r.has_digest && img_digest_eq(&r.digest, &d),
		   "image \"%s\" accepted without its digest", s);
	img_ref_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	_cleanup_free_ char *s = fuzz_str(data, size);
	fuzz_quiet();
	check_put(body, size);
	check_revert(body, size);
	check_delete(body, size);
	check_image(s);
	return 0;
}
