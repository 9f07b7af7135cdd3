/* test_html.c: the HTML reports (orchestrator/html): hostile text escaped
 * everywhere it can appear, canary metric charts, the per-wave summary of a
 * large fleet, and the model read from events (times, verdicts, decisions). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orchestrator/event.h"
#include "orchestrator/html.h"

#define HOSTILE "<script>alert('x')</script>\"&<img src=x onerror=y>\x01"

static char *render(const struct orch_html *m, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	assert_non_null(f);
	assert_int_equal(orch_html_rollout(f, m), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static size_t count(const char *s, const char *what)
{
	size_t n = 0;
	for (const char *p = s; (p = strstr(p, what)); p += strlen(what))
		n++;
	return n;
}

/* a rollout of n hosts in waves of `per` hosts, every host baked but `bad` */
static void model(struct orch_html *m, size_t n, size_t per, size_t bad, const char *name)
{
	struct err e;
	*m = (struct orch_html){.started = 1000, .ended = 9000};
	m->id = strdup(name);
	m->app = strdup(name);
	m->image = strdup(name);
	m->digest = strdup(name);
	m->fleet = strdup(name);
	m->failure = strdup(name);
	m->started_by = strdup(name);
	snprintf(m->status, sizeof m->status, "rolled_back");
	m->n_waves = (n + per - 1) / per;
	m->waves = calloc(m->n_waves, sizeof *m->waves);
	for (size_t w = 0; w < m->n_waves; w++) {
		m->waves[w] = (struct orch_html_wave){.first = w * per, .n = w * per + per > n ? n - w * per : per,
						      .started = 1000 + (int64_t)w * 100, .healthy = 1050 + (int64_t)w * 100,
						      .decided = 1090 + (int64_t)w * 100};
		snprintf(m->waves[w].verdict, sizeof m->waves[w].verdict, "passed");
	}
	m->hosts = calloc(n, sizeof *m->hosts);
	m->n_hosts = n;
	for (size_t i = 0; i < n; i++) {
		struct orch_html_host *h = &m->hosts[i];
		char hn[80];
		snprintf(hn, sizeof hn, "%s%zu", name, i);
		h->name = strdup(hn);
		h->wave = i / per;
		h->state = i < bad ? ORCH_HS_FAILED : ORCH_HS_BAKED;
		h->reason = i < bad ? strdup(name) : NULL;
		h->changes = calloc(2, sizeof *h->changes);
		h->changes[0] = (struct orch_html_change){1000 + (int64_t)h->wave * 100, ORCH_HS_DEPLOYING};
		h->changes[1] = (struct orch_html_change){1050 + (int64_t)h->wave * 100, h->state};
		h->n_changes = 2;
	}
	assert_int_equal(orch_html_decide(m, 1200, false, name, name, &e), 0);
}

static void test_hostile(void **state)
{
	(void)state;
	struct orch_html m;
	size_t len;
	model(&m, 5, 2, 2, HOSTILE);
	m.ci_url = strdup("javascript:alert(1)");
	m.n_metrics = 1;
	m.metrics = calloc(1, sizeof *m.metrics);
	m.metrics[0] = (struct orch_html_metric){.name = strdup(HOSTILE), .decision = strdup("continue"),
						 .wave_verdict = strdup(HOSTILE), .decided = 3000};
	char *page = render(&m, &len);
	assert_int_equal(strlen(page), len);
	/* nothing of it is markup: no script, no element, no attribute, no control character */
	assert_null(strstr(page, "<script"));
	assert_null(strstr(page, "<img"));
	assert_null(strstr(page, "\x01"));
	/* a CI URL that is no web address is shown, never linked */
	assert_null(strstr(page, "href=\"javascript"));
	assert_non_null(strstr(page, "(CI job javascript:alert(1))"));
	assert_true(count(page, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&quot;&amp;&lt;img src=x onerror=y&gt;") >=
		    10);
	orch_html_free(&m);
	free(page);
}

/* the d of the first <path class="cls" d="..."> of the page's charts */
static char *path_d(const char *page, const char *cls)
{
	char open[64];
	snprintf(open, sizeof open, "<path class=\"%s\" d=\"", cls);
	const char *p = strstr(strstr(page, "<figure"), open);
	assert_non_null(p);
	p += strlen(open);
	return strndup(p, strcspn(p, "\""));
}

/* n judgements of metric `name` in wave w, one a second: the baseline at 1%,
 * the converted hosts rising from it, allowed 1.5%; decided at the last */
static void add_chart(struct orch_html *m, size_t w, const char *name, size_t n, const char *decision)
{
	m->metrics = realloc(m->metrics, (m->n_metrics + 1) * sizeof *m->metrics);
	struct orch_html_metric *mt = &m->metrics[m->n_metrics++];
	*mt = (struct orch_html_metric){.name = strdup(name), .wave = w, .share = true, .n = n,
					.decided = n ? (int64_t)n * 1000 : -1,
					.decision = decision ? strdup(decision) : NULL, .wave_verdict = strdup("fail")};
	mt->p = calloc(n ? n : 1, sizeof *mt->p);
	for (size_t k = 0; k < n; k++)
		mt->p[k] = (struct orch_html_point){(int64_t)(k + 1) * 1000, 0.01 + 0.001 * (double)k, 0.01, 0.015};
}

static void test_metric(void **state)
{
	(void)state;
	struct orch_html m;
	size_t len;
	model(&m, 3, 1, 0, "h");
	add_chart(&m, 1, "errors", 10, "fail");
	add_chart(&m, 1, "latency", 10, "continue");
	add_chart(&m, 2, "errors", 0, NULL);
	char *page = render(&m, &len);
	assert_non_null(strstr(page, "<section id=\"metrics\">"));
	assert_int_equal(count(page, "<figure class=\"chart\""), 3);
	/* each chart named for its wave and metric, in words: the line styles and the decision */
	assert_non_null(strstr(page, "<figure class=\"chart\" data-wave=\"2\" data-metric=\"errors\"><svg viewBox=\"0 0 600 "
				     "180\" width=\"600\" role=\"img\" aria-labelledby=\"chart-0\"><title id=\"chart-0\">errors in "
				     "wave 2: the converted hosts (solid line) against the baseline (dashed) and the allowed bound "
				     "(dotted), 10 judgements; decision: fail at +10.0s</title>"));
	assert_non_null(strstr(page, "<figcaption>wave 2 · errors: fail at +10.0s (10 judgements); last: converted "
				     "1.9%, baseline 1%, allowed 1.5%</figcaption>"));
	assert_non_null(strstr(page, "<figcaption>wave 2 · latency: undecided (wave: fail) at +10.0s"));
	assert_non_null(strstr(page, "<figcaption>wave 3 · errors: not decided yet (0 judgements)</figcaption>"));
	/* the series, the band, the marker with its verdict; the legend names the styles */
	assert_int_equal(count(page, "<path class=\"conv\" d=\"M"), 2 + 3);
	assert_int_equal(count(page, "<path class=\"base\" d=\"M"), 2 + 3);
	assert_int_equal(count(page, "<path class=\"allowed\" d=\"M"), 2 + 3);
	assert_int_equal(count(page, "<path class=\"band\""), 2);
	assert_int_equal(count(page, "<path class=\"decision\""), 2);
	assert_int_equal(count(page, "<g class=\"marker\"><path class=\"decision\""), 2);
	assert_non_null(strstr(page, "text-anchor=\"end\">fail +10.0s</text>"));
	assert_int_equal(count(page, "baseline (dashed)</text>"), 3);
	/* a line of 10 points: one move, nine lines */
	char *d = path_d(page, "conv");
	assert_int_equal(count(d, "M"), 1);
	assert_int_equal(count(d, "L"), 9);
	free(d);
	free(page);
	/* values not known break the lines; a lone point still shows; huge numbers stay on the chart */
	struct orch_html_metric *mt = &m.metrics[0];
	mt->p[3].converted = NAN;
	mt->p[5].converted = NAN;
	mt->p[9].allowed = 1.7e308;
	mt->p[8].baseline = -1.7e308;
	page = render(&m, &len);
	d = path_d(page, "conv"); /* points 0-2, 4 alone, 6-9 */
	assert_int_equal(count(d, "M"), 3);
	assert_int_equal(count(d, "L"), 2 + 3);
	assert_int_equal(count(d, "m-3 0h6"), 1);
	free(d);
	assert_null(strstr(page, "nan"));
	assert_null(strstr(page, "inf"));
	orch_html_free(&m);
	free(page);
}

/* 10,000 hosts: one row per wave, and only the hosts that did not end well */
static void test_summary(void **state)
{
	(void)state;
	struct orch_html m;
	size_t len;
	model(&m, 10000, 1000, 3, "host");
	char *page = render(&m, &len);
	assert_true(len < 100000);
	assert_int_equal(count(page, "<tr id=\"wave-"), 10);
	assert_int_equal(count(page, "<tr class=\"host"), 3);
	assert_non_null(strstr(page, "3 hosts did not end well:"));
	assert_non_null(strstr(page, "<td>997 baked, 3 failed</td>"));
	orch_html_free(&m);
	free(page);
	/* at most ORCH_HTML_NAMED named */
	model(&m, 10000, 1000, 5000, "host");
	page = render(&m, &len);
	assert_int_equal(count(page, "<tr class=\"host"), ORCH_HTML_NAMED);
	assert_non_null(strstr(page, "… and 4800 more"));
	assert_true(len < 5000000);
	orch_html_free(&m);
	free(page);
}

static const char *EVENTS =
	"{\"time\":\"2026-12-01T10:00:00.000Z\",\"event\":\"start\",\"rollout\":\"r1\",\"app\":\"web\","
	"\"image\":\"127.0.0.1:5000/web@sha256:2222222222222222222222222222222222222222222222222222222222222222\","
	"\"digest\":\"sha256:2222222222222222222222222222222222222222222222222222222222222222\",\"fleet\":\"/f\","
	"\"startedBy\":\"alice\",\"ciUrl\":\"https://ci.example/job/7?a=1&b=2\","
	"\"waves\":[1,1],\"hosts\":[{\"name\":\"a\",\"address\":\"127.0.0.1:1\",\"wave\":1},"
	"{\"name\":\"b\",\"address\":\"127.0.0.1:2\",\"wave\":2}],\"options\":{\"bakeMs\":100,\"healthDeadlineMs\":1000,"
	"\"finalBakeMs\":0,\"pollMs\":10,\"requestTimeoutMs\":100,\"unreachableAfterMs\":100,\"revertDeadlineMs\":100,"
	"\"maxUnhealthy\":0,\"maxUnreachable\":0,\"maxParallel\":4,\"onFailure\":\"revert\",\"gates\":[],\"checks\":[],"
	"\"probes\":[],\"allowUntested\":false}}\n"
	"{\"time\":\"2026-12-01T10:00:01.000Z\",\"event\":\"precheck\",\"rollout\":\"r1\",\"ok\":true,\"generation\":3,"
	"\"before\":[null,null],\"records\":[{\"platform\":\"linux/amd64\",\"result\":\"passed\",\"artifact\":"
	"\"sha256:3333333333333333333333333333333333333333333333333333333333333333\",\"signed\":true},"
	"{\"platform\":\"linux/arm64\",\"result\":\"failed\",\"artifact\":"
	"\"sha256:4444444444444444444444444444444444444444444444444444444444444444\",\"signed\":false}]}\n"
	"{\"time\":\"2026-12-01T10:00:02.000Z\",\"event\":\"wave\",\"rollout\":\"r1\",\"wave\":1,\"hosts\":[\"a\"]}\n"
	"{\"time\":\"2026-12-01T10:00:03.000Z\",\"event\":\"host\",\"rollout\":\"r1\",\"host\":\"a\",\"wave\":1,"
	"\"state\":\"healthy\"}\n"
	"{\"time\":\"2026-12-01T10:00:04.000Z\",\"event\":\"host\",\"rollout\":\"r1\",\"host\":\"a\",\"wave\":1,"
	"\"state\":\"baked\"}\n"
	"{\"time\":\"2026-12-01T10:00:04.500Z\",\"event\":\"wave_passed\",\"rollout\":\"r1\",\"wave\":1,\"ms\":2500}\n"
	"{\"time\":\"2026-12-01T10:00:05.000Z\",\"event\":\"wave\",\"rollout\":\"r1\",\"wave\":2,\"hosts\":[\"b\"]}\n"
	"{\"time\":\"2026-12-01T10:00:06.000Z\",\"event\":\"host\",\"rollout\":\"r1\",\"host\":\"b\",\"wave\":2,"
	"\"state\":\"failed\",\"message\":\"crashed <b>\"}\n"
	"{\"time\":\"2026-12-01T10:00:06.100Z\",\"event\":\"failure\",\"rollout\":\"r1\",\"host\":\"b\",\"wave\":2,"
	"\"reason\":\"crashed <b>\"}\n"
	"{\"time\":\"2026-12-01T10:00:06.200Z\",\"event\":\"revert\",\"rollout\":\"r1\",\"hosts\":[\"a\",\"b\"],"
	"\"reason\":\"b failed\"}\n";

static void test_from_events(void **state)
{
	(void)state;
	struct orch_html m;
	struct err e;
	assert_int_equal(orch_html_from_events(EVENTS, strlen(EVENTS), &m, &e), 0);
	assert_string_equal(m.status, "running");
	assert_int_equal(m.started, 1796119200000LL);
	assert_int_equal(m.n_waves, 2);
	assert_string_equal(m.waves[0].verdict, "passed");
	assert_int_equal(m.waves[0].started - m.started, 2000);
	assert_int_equal(m.waves[0].healthy - m.started, 3000);
	assert_int_equal(m.waves[0].decided - m.started, 4500);
	assert_string_equal(m.waves[1].verdict, "failed");
	assert_int_equal(m.waves[1].healthy, -1);
	assert_int_equal(m.waves[1].decided - m.started, 6100);
	/* a: deploying, healthy, baked, reverting; b: deploying, failed, reverting */
	assert_int_equal(m.hosts[0].n_changes, 4);
	assert_int_equal(m.hosts[0].changes[3].state, ORCH_HS_REVERTING);
	assert_int_equal(m.hosts[1].n_changes, 3);
	assert_int_equal(m.hosts[1].changes[1].state, ORCH_HS_FAILED);
	assert_string_equal(m.hosts[1].reason, "crashed <b>");
	assert_string_equal(m.records, "a passing test record for every platform of the fleet: linux/amd64 passed, signed "
				       "(record sha256:3333333333333333333333333333333333333333333333333333333333333333); "
				       "linux/arm64 failed (record "
				       "sha256:4444444444444444444444444444444444444444444444444444444444444444)");
	assert_string_equal(m.started_by, "alice");
	assert_string_equal(m.ci_url, "https://ci.example/job/7?a=1&b=2");
	size_t len;
	char *page = render(&m, &len);
	assert_non_null(
		strstr(page, "<dt>started by</dt><dd>alice (<a href=\"https://ci.example/job/7?a=1&amp;b=2\">CI job</a>)"));
	assert_non_null(strstr(page, "linux/amd64 passed, signed (record sha256:3333"));
	free(page);
	assert_int_equal(m.n_decisions, 3); /* precheck, failure, revert */
	assert_string_equal(m.decisions[1].what, "failure in wave 2");
	assert_string_equal(m.decisions[1].text, "b: crashed <b>");
	orch_html_free(&m);
	/* checked as a journal is: an event out of order is refused, with its line */
	const char *bad = strstr(EVENTS, "{\"time\":\"2026-12-01T10:00:05.000Z\"");
	char *cut = strndup(EVENTS, (size_t)(strstr(EVENTS, "{\"time\":\"2026-12-01T10:00:02.000Z\"") - EVENTS));
	char *odd = NULL;
	assert_true(asprintf(&odd, "%s%s", cut, bad) > 0);
	assert_int_equal(orch_html_from_events(odd, strlen(odd), &m, &e), -1);
	assert_non_null(strstr(e.msg, "line 3"));
	free(cut);
	free(odd);
}

/* ev as a line of events at `time`, appended to *buf */
static void append_event(char **buf, const char *time, struct orch_event *ev)
{
	const char *line;
	size_t n;
	struct err e;
	struct jgen *g = jgen_new(false);
	ev->time = time;
	ev->rollout = "r1";
	assert_int_equal(orch_event_write(g, ev, &e), 0);
	assert_int_equal(jgen_result(g, &line, &n, &e), 0);
	size_t have = *buf ? strlen(*buf) : 0;
	*buf = realloc(*buf, have + n + 2);
	memcpy(*buf + have, line, n);
	strcpy(*buf + have + n, "\n");
	jgen_free(g);
}

/* wave w's analysis: errors `verdict` (conv against 1%, allowed 1.5%), latency still collecting */
static void analysis_event(char **buf, const char *time, int w, int64_t ms, const char *verdict, double conv)
{
	struct orch_event ev = {.kind = ORCH_EV_ANALYSIS};
	struct orch_ev_an_metric mt[2];
	for (int k = 0; k < 2; k++)
		mt[k] = (struct orch_ev_an_metric){.name = k ? "latency" : "errors", .kind = k ? "latency" : "ratio",
						   .verdict = k ? "continue" : verdict, .reason = "r", .explain = "x",
						   .conv = k ? NAN : conv, .base = k ? NAN : 0.01, .allowed = k ? NAN : 0.015};
	ev.u.analysis = (struct orch_ev_analysis){.wave = w, .ms = ms, .verdict = verdict, .baseline = "concurrent",
						  .metrics = mt, .n_metrics = 2};
	append_event(buf, time, &ev);
}

/* The charts from the events: per wave and metric the series event's
 * points and the analysis event's decision; a journal without series (an
 * older ramp) still has the deciding judgement as one point. */
static void test_series_events(void **state)
{
	(void)state;
	const char *cut = strstr(EVENTS, "{\"time\":\"2026-12-01T10:00:06.000Z\"");
	char *buf = strndup(EVENTS, (size_t)(cut - EVENTS));
	/* wave 1: no series; wave 2: three judgements, the last the failing one */
	analysis_event(&buf, "2026-12-01T10:00:04.400Z", 1, 2400, "pass", 0.011);
	struct orch_ev_point pts[] = {{1000, 0.02, 0.01, 0.015}, {2000, NAN, 0.01, NAN}, {3000, 0.05, 0.01, 0.015}};
	struct orch_event ev = {.kind = ORCH_EV_SERIES};
	ev.u.series = (struct orch_ev_series){.wave = 2, .metric = "errors", .points = pts, .n_points = 3};
	append_event(&buf, "2026-12-01T10:00:08.000Z", &ev);
	analysis_event(&buf, "2026-12-01T10:00:08.000Z", 2, 3000, "fail", 0.05);
	struct orch_html m;
	struct err e;
	if (orch_html_from_events(buf, strlen(buf), &m, &e) < 0)
		fail_msg("%s", e.msg);
	assert_int_equal(m.n_metrics, 4); /* errors and latency of each wave */
	const struct orch_html_metric *w1 = &m.metrics[0], *w2 = &m.metrics[2];
	assert_true(w1->wave == 0 && !strcmp(w1->name, "errors") && w1->share);
	assert_int_equal(w1->n, 1);
	assert_true(w1->p[0].ms == 2400 && w1->p[0].converted == 0.011 && w1->p[0].allowed == 0.015);
	assert_true(w1->decided == 2400 && !strcmp(w1->decision, "pass") && !strcmp(w1->wave_verdict, "pass"));
	assert_true(m.metrics[1].wave == 0 && !strcmp(m.metrics[1].decision, "continue"));
	assert_int_equal(m.metrics[1].n, 1); /* the point without a value: nothing to draw */
	assert_true(w2->wave == 1 && !strcmp(w2->name, "errors"));
	assert_int_equal(w2->n, 3);
	assert_true(w2->p[1].ms == 2000 && isnan(w2->p[1].converted) && w2->p[1].baseline == 0.01);
	assert_true(w2->p[2].converted == 0.05 && w2->decided == 3000 && !strcmp(w2->decision, "fail"));
	size_t len;
	char *page = render(&m, &len);
	assert_int_equal(count(page, "<figure class=\"chart\""), 4);
	assert_non_null(strstr(page, "<figcaption>wave 2 · errors: fail at +3.0s (3 judgements); last: converted 5%, "
				     "baseline 1%, allowed 1.5%</figcaption>"));
	assert_non_null(strstr(page, "<figcaption>wave 1 · latency: undecided (wave: pass) at +2.4s (1 judgement); "
				     "last: converted –, baseline –, allowed –</figcaption>"));
	free(page);
	orch_html_free(&m);
	/* a series the journal's checks refuse refuses the page, with its line */
	char *bad = strdup(buf);
	char *at = strstr(bad, "[2000,null,");
	assert_non_null(at);
	memcpy(at, "[2000,true,", 11);
	assert_int_equal(orch_html_from_events(bad, strlen(bad), &m, &e), -1);
	assert_non_null(strstr(e.msg, "line 9"));
	assert_non_null(strstr(e.msg, "finite numbers or null"));
	free(bad);
	free(buf);
}

/* The largest report: 10,000 hosts in 14 waves, each with 16 metrics of 64
 * judgements: under 5 MB. */
static void test_charts_size(void **state)
{
	(void)state;
	struct orch_html m;
	size_t len;
	model(&m, 10000, 715, 3, "host");
	for (size_t w = 0; w < m.n_waves; w++)
		for (size_t k = 0; k < 16; k++) {
			char name[32];
			snprintf(name, sizeof name, "metric_%zu", k);
			add_chart(&m, w, name, 64, "pass");
		}
	char *page = render(&m, &len);
	assert_int_equal(m.n_waves, 14);
	assert_int_equal(count(page, "<figure class=\"chart\""), 14 * 16);
	fprintf(stderr, "# 10,000 hosts, 14 waves x 16 metrics x 64 judgements: %zu bytes\n", len);
	assert_true(len < 5000000);
	orch_html_free(&m);
	free(page);
}

/* Release-policy events: a clear check is a positive decision, one in force
 * a negative one, one lifted by --override says who lifted it. */
static void test_policy(void **state)
{
	(void)state;
	const char *start = strstr(EVENTS, "{\"time\":\"2026-12-01T10:00:01.000Z\"");
	char *ev = NULL;
	assert_true(asprintf(&ev, "%.*s%s%s%s", (int)(start - EVENTS), EVENTS,
			     "{\"time\":\"2026-12-01T10:00:00.100Z\",\"event\":\"policy\",\"rollout\":\"r1\","
			     "\"check\":\"freeze\",\"name\":\"weekend\",\"ok\":true}\n",
			     "{\"time\":\"2026-12-01T10:00:00.200Z\",\"event\":\"policy\",\"rollout\":\"r1\","
			     "\"check\":\"blocker\",\"name\":\"issues\",\"ok\":false,\"reason\":\"INC-7 open\","
			     "\"overriddenBy\":\"bob\"}\n",
			     "{\"time\":\"2026-12-01T10:00:00.300Z\",\"event\":\"policy\",\"rollout\":\"r1\","
			     "\"check\":\"freeze\",\"name\":\"release\",\"ok\":false,\"reason\":\"code freeze\","
			     "\"until\":\"2026-12-02T00:00:00Z\"}\n") > 0);
	struct orch_html m;
	struct err e;
	assert_int_equal(orch_html_from_events(ev, strlen(ev), &m, &e), 0);
	assert_int_equal(m.n_decisions, 3);
	assert_string_equal(m.decisions[0].what, "freeze weekend");
	assert_true(m.decisions[0].ok);
	assert_false(m.decisions[0].lifted);
	assert_string_equal(m.decisions[0].text, "clear");
	assert_string_equal(m.decisions[1].what, "blocker issues");
	assert_true(m.decisions[1].ok);
	assert_true(m.decisions[1].lifted);
	assert_string_equal(m.decisions[1].text, "INC-7 open; lifted by --override of bob");
	assert_false(m.decisions[2].ok);
	assert_false(m.decisions[2].lifted);
	assert_string_equal(m.decisions[2].text, "code freeze until 2026-12-02T00:00:00Z");
	char *page = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&page, &len);
	assert_int_equal(orch_html_rollout(f, &m), 0);
	fclose(f);
	assert_int_equal(count(page, ">lifted</span>"), 1);
	assert_int_equal(count(page, ">no</span>"), 1);
	free(page);
	orch_html_free(&m);
	free(ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_metric),
		cmocka_unit_test(test_summary),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_from_events),
		cmocka_unit_test(test_series_events),
		cmocka_unit_test(test_charts_size),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
