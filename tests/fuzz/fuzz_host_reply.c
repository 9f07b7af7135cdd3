/* fuzz_host_reply.c: what rampd answers to the orchestrator
 * (orchestrator/hostapi.h): app status, error bodies, the platform of
 * /v1/info, an app's metrics samples (orchestrator/hostmetrics.h) and the
 * samples of the default analysis taken from them. A host may be compromised or a man in the middle may answer
 * for it; what the orchestrator takes from it is bounded, and nothing that
 * reaches the operator's terminal carries a control character. */
#include "lib/cleanup.h"
#include "orchestrator/hostapi.h"
#include "orchestrator/hostmetrics.h"
#include "tests/fuzz/fuzz.h"

static void check_text(const char *what, const char *s, size_t cap)
{
	FUZZ_CHECK(memchr(s, '\0', cap), "%s is not a string", what);
	for (; *s; s++)
		FUZZ_CHECK((unsigned char)*s >= 0x20 && *s != 0x7f, "%s carries byte 0x%02x", what, (unsigned char)*s);
}

static void check_digest(const char *what, const char *s)
{
	struct img_digest d;
	struct err e;
	FUZZ_CHECK(!*s || img_digest_parse(s, &d, &e) == 0, "%s \"%s\" is not a digest", what, s);
}

static void check_status(const char *body, size_t len, const char *app)
{
	struct orch_status *s = malloc(sizeof *s);
	struct err e;
	if (!s)
		abort();
	if (orch_status_parse(body, len, app, s, &e) == 0) {
		FUZZ_CHECK(!app || !strcmp(s->name, app), "status of \"%s\" taken for \"%s\"", s->name, app);
		FUZZ_CHECK(s->generation >= 0 && s->phase[0], "generation %lld, phase \"%s\"", (long long)s->generation,
			   s->phase);
		FUZZ_CHECK(s->n_previous <= ORCH_MAX_PREVIOUS && s->n_history <= ORCH_MAX_HISTORY, "%zu previous, %zu history",
			   s->n_previous, s->n_history);
		check_text("name", s->name, sizeof s->name);
		check_text("phase", s->phase, sizeof s->phase);
		check_text("phaseSince", s->phase_since, sizeof s->phase_since);
		check_text("rollout", s->rollout, sizeof s->rollout);
		check_text("image", s->current_image, sizeof s->current_image);
		check_text("since", s->current_since, sizeof s->current_since);
		check_text("healthySince", s->healthy_since, sizeof s->healthy_since);
		check_text("desired image", s->desired_image, sizeof s->desired_image);
		FUZZ_CHECK(s->n_probes <= ORCH_MAX_PROBE_ROWS, "%zu probes", s->n_probes);
		for (size_t i = 0; i < s->n_probes; i++) {
			check_text("probe time", s->probes[i].time, sizeof s->probes[i].time);
			check_text("probe output", s->probes[i].output, sizeof s->probes[i].output);
		}
		check_text("message", s->message, sizeof s->message);
		check_digest("desired", s->desired);
		check_digest("current", s->current);
		for (size_t i = 0; i < s->n_previous; i++)
			check_digest("previous", s->previous[i]);
		for (size_t i = 0; i < s->n_history; i++) {
			check_text("history time", s->history[i].time, sizeof s->history[i].time);
			check_text("history phase", s->history[i].phase, sizeof s->history[i].phase);
			check_text("history message", s->history[i].message, sizeof s->history[i].message);
		}
	} else {
		FUZZ_CHECK(e.msg[0], "status refused without a message");
	}
	free(s);
}

static void check_metrics(const char *body, size_t len)
{
	struct orch_metrics m;
	struct orch_an_config c;
	struct err e;
	if (orch_metrics_parse(body, len, "web", &m, &e) < 0) {
		FUZZ_CHECK(e.msg[0], "metrics refused without a message");
		return;
	}
	FUZZ_CHECK(m.n <= ORCH_METRICS_MAX_VERSIONS, "%zu versions", m.n);
	if (orch_an_config_default(&c, &e) < 0)
		abort();
	for (size_t k = 0; k < m.n; k++) {
		const struct orch_mversion *v = &m.v[k];
		for (size_t i = 1; i < v->n; i++)
			FUZZ_CHECK(v->t_ms[i] > v->t_ms[i - 1], "times not increasing");
		for (size_t j = 0; j < c.n; j++) {
			struct orch_an_series x;
			double *buf = NULL;
			if (orch_metrics_series(v, &c.metrics[j], 0, &x, &buf, &e) == 0 && x.n) {
				FUZZ_CHECK(x.n <= v->n, "%zu samples from %zu", x.n, v->n);
				FUZZ_CHECK(x.width == orch_an_width(&c.metrics[j], x.width - 1), "width %zu", x.width);
				for (size_t b = 1; x.le && b + 1 < x.width; b++)
					FUZZ_CHECK(x.le[b] > x.le[b - 1], "bounds not increasing");
			}
			free(buf);
		}
	}
	orch_an_config_free(&c);
	orch_metrics_free(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	char code[64], msg[512], platform[128];
	struct err e;
	fuzz_quiet();
	check_status(body, size, NULL);
	check_status(body, size, "web");
	orch_error_parse(body, size, code, sizeof code, msg, sizeof msg);
	check_text("error code", code, sizeof code);
	check_text("error message", msg, sizeof msg);
	if (orch_info_platform(body, size, platform, sizeof platform, &e) == 0)
		check_text("platform", platform, sizeof platform);
	check_metrics(body, size);
	return 0;
}
