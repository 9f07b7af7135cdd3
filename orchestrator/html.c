/* html.c: the rollout and fleet pages (see html.h). */
#include "orchestrator/html.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/fs.h"
#include "orchestrator/report.h"

void orch_html_free(struct orch_html *m)
{
	free(m->id);
	free(m->app);
	free(m->image);
	free(m->digest);
	free(m->fleet);
	free(m->started_by);
	free(m->ci_url);
	free(m->records);
	free(m->failure);
	free(m->waves);
	for (size_t i = 0; i < m->n_hosts; i++) {
		free(m->hosts[i].name);
		free(m->hosts[i].reason);
		free(m->hosts[i].changes);
	}
	free(m->hosts);
	for (size_t i = 0; i < m->n_metrics; i++) {
		free(m->metrics[i].name);
		free(m->metrics[i].p);
		free(m->metrics[i].decision);
		free(m->metrics[i].wave_verdict);
	}
	free(m->metrics);
	for (size_t i = 0; i < m->n_decisions; i++) {
		free(m->decisions[i].what);
		free(m->decisions[i].text);
	}
	free(m->decisions);
	*m = (struct orch_html){.started = -1, .ended = -1};
}

int orch_html_decide(struct orch_html *m, int64_t t, bool ok, const char *what, const char *text, struct err *e)
{
	struct orch_html_decision *v = realloc(m->decisions, (m->n_decisions + 1) * sizeof *v);
	if (!v)
		return err_errno(e, ENOMEM, "report");
	m->decisions = v;
	v[m->n_decisions] = (struct orch_html_decision){.t = t, .ok = ok, .what = strdup(what), .text = strdup(text)};
	if (!v[m->n_decisions].what || !v[m->n_decisions].text) {
		free(v[m->n_decisions].what);
		free(v[m->n_decisions].text);
		return err_errno(e, ENOMEM, "report");
	}
	m->n_decisions++;
	return 0;
}

/* ---- pieces ---- */

static double dmax(double a, double b)
{
	return a > b ? a : b;
}

static double dmin(double a, double b)
{
	return a < b ? a : b;
}

static void esc(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default:
			/* control characters would make the page invalid */
			if ((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t')
				fputc(' ', f);
			else
				fputc(*s, f);
		}
	}
}

static const char *STYLE =
	":root{--bg:#fff;--fg:#1b1f24;--muted:#5b6570;--line:#d0d7de;--card:#f6f8fa;"
	"--pending:#8c959f;--deploying:#0969da;--healthy:#1a7f9c;--baked:#1a7f37;--failed:#cf222e;"
	"--unreachable:#bc4c00;--reverting:#8250df;--reverted:#6e40c9;--revert_failed:#82071e;--skipped:#afb8c1}\n"
	"@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;--line:#30363d;"
	"--card:#161b22;--pending:#6e7681;--deploying:#4493f8;--healthy:#39c5cf;--baked:#3fb950;--failed:#f85149;"
	"--unreachable:#db6d28;--reverting:#a371f7;--reverted:#8957e5;--revert_failed:#ff7b72;--skipped:#484f58}}\n"
	"body{background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,sans-serif;margin:1.5em auto;"
	"max-width:1100px;padding:0 1em}\n"
	"h1{font-size:1.4em;margin:0 0 .3em}h2{font-size:1.1em;margin:1.4em 0 .4em;border-bottom:1px solid var(--line)}\n"
	"dl{display:grid;grid-template-columns:max-content 1fr;gap:.15em 1em;margin:0}dt{color:var(--muted)}"
	"dd{margin:0;overflow-wrap:anywhere}\n"
	"table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.2em .5em;"
	"border-bottom:1px solid var(--line);vertical-align:top}th{color:var(--muted);font-weight:600}\n"
	"code,.mono{font-family:ui-monospace,monospace;font-size:.92em;overflow-wrap:anywhere}\n"
	".st{display:inline-block;padding:0 .45em;border-radius:.6em;color:#fff;font-size:.85em;white-space:nowrap}\n"
	".muted{color:var(--muted)}svg text{fill:var(--fg);font:11px system-ui,sans-serif}\n"
	".axis{stroke:var(--line);fill:none}.deploy{fill:var(--deploying)}.bake{fill:var(--healthy)}\n"
	".conv{fill:none;stroke:var(--failed);stroke-width:2}.base{fill:none;stroke:var(--deploying);"
	"stroke-width:2;stroke-dasharray:6 3}.allowed{fill:none;stroke:var(--fg);stroke-width:1.5;"
	"stroke-dasharray:1 3}.band{fill:var(--deploying);opacity:.15}.decision{stroke:var(--fg);stroke-width:1.5}\n"
	"#metrics figure{margin:.6em 0}#metrics svg{max-width:100%;height:auto}\n"
	"tr.bad td:first-child{border-left:3px solid var(--failed)}\n"
	"@media print{:root{--bg:#fff;--fg:#000;--muted:#444;--line:#999}body{max-width:none;margin:0;font-size:11px}"
	"tr,svg,section>p,figure{break-inside:avoid}.st{border:1px solid #000;color:#000;background:none!important}"
	".conv,.base,.allowed{stroke:#000}.band{fill:#000}}\n";

/* a word on its colour (a state's, from the style sheet) */
static void st_badge(FILE *f, const char *colour, const char *word)
{
	fprintf(f, "<span class=\"st\" style=\"background:var(--%s)\">", colour);
	esc(f, word);
	fputs("</span>", f);
}

static void rel(char *buf, size_t n, int64_t t, int64_t t0)
{
	if (t < 0 || t0 < 0) {
		snprintf(buf, n, "–");
		return;
	}
	char d[32];
	orch_fmt_duration(d, sizeof d, t - t0);
	snprintf(buf, n, "+%s", d);
}

static void iso(char *buf, size_t n, int64_t t)
{
	struct tm tm;
	time_t s = (time_t)(t / 1000);
	if (t < 0 || !gmtime_r(&s, &tm)) {
		snprintf(buf, n, "–");
		return;
	}
	strftime(buf, n, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

static void head(FILE *f, const char *title, bool refresh)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	      "<meta name=\"viewport\" content=\"width=device-width\">"
	      "<meta name=\"color-scheme\" content=\"light dark\">"
	      /* self-contained: the browser fetches nothing, runs nothing */
	      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
	      f);
	/* a page of a running rollout reloads itself */
	if (refresh)
		fputs("<meta http-equiv=\"refresh\" content=\"5\">", f);
	fputs("<title>", f);
	esc(f, title);
	fprintf(f, "</title>\n<style>\n%s</style></head>\n<body>\n", STYLE);
}

/* ---- the rollout ---- */

static int64_t last_time(const struct orch_html *m)
{
	int64_t t = m->started;
#define SEE(x) \
	do { \
		if ((x) > t) \
			t = (x); \
	} while (0)
	SEE(m->ended);
	for (size_t w = 0; w < m->n_waves; w++) {
		SEE(m->waves[w].started);
		SEE(m->waves[w].healthy);
		SEE(m->waves[w].decided);
	}
	for (size_t i = 0; i < m->n_decisions; i++)
		SEE(m->decisions[i].t);
	for (size_t i = 0; i < m->n_hosts; i++)
		if (m->hosts[i].n_changes)
			SEE(m->hosts[i].changes[m->hosts[i].n_changes - 1].t);
#undef SEE
	return t;
}

#define TL_W 900.0
#define TL_LEFT 120.0

static double xpos(int64_t t, int64_t t0, int64_t t1)
{
	return TL_LEFT + (TL_W - TL_LEFT - 10) * (double)(t - t0) / (double)(t1 > t0 ? t1 - t0 : 1);
}

static void timeline(FILE *f, const struct orch_html *m, int64_t t0, int64_t t1)
{
	double h = 28.0 * (double)m->n_waves + 30;
	char a[48], b[48], c[48];
	fprintf(f,
		"<svg id=\"timeline\" viewBox=\"0 0 %.0f %.0f\" width=\"100%%\" role=\"img\" "
		"aria-labelledby=\"tl-title\"><title id=\"tl-title\">Timeline of %zu wave%s: deploy (blue), bake "
		"(teal), verdict (mark)</title>\n",
		TL_W, h, m->n_waves, m->n_waves == 1 ? "" : "s");
	for (size_t w = 0; w < m->n_waves; w++) {
		const struct orch_html_wave *v = &m->waves[w];
		double y = 28.0 * (double)w + 6;
		int64_t end = v->decided >= 0 ? v->decided : t1;
		rel(a, sizeof a, v->started, t0);
		rel(b, sizeof b, v->healthy, t0);
		rel(c, sizeof c, v->decided, t0);
		fprintf(f, "<g aria-label=\"wave %zu: %s\"><title>wave %zu (%zu host%s): deploy %s, bake %s, %s %s</title>",
			w + 1, v->verdict, w + 1, v->n, v->n == 1 ? "" : "s", a, b, v->verdict, c);
		fprintf(f, "<text x=\"4\" y=\"%.0f\">wave %zu · %s</text>", y + 13, w + 1, v->verdict);
		if (v->started >= 0) {
			int64_t bake = v->healthy >= 0 ? v->healthy : end;
			double x0 = xpos(v->started, t0, t1), x1 = xpos(bake, t0, t1), x2 = xpos(end, t0, t1);
			fprintf(f, "<rect class=\"deploy\" x=\"%.1f\" y=\"%.0f\" width=\"%.1f\" height=\"16\"/>", x0, y,
				dmax(x1 - x0, 1));
			if (v->healthy >= 0)
				fprintf(f, "<rect class=\"bake\" x=\"%.1f\" y=\"%.0f\" width=\"%.1f\" height=\"16\"/>", x1,
					y, dmax(x2 - x1, 1));
			if (v->decided >= 0)
				fprintf(f, "<path d=\"M%.1f %.0fv20\" stroke=\"var(--%s)\" stroke-width=\"3\"/>", x2, y - 2,
					!strcmp(v->verdict, "passed") ? "baked" : "failed");
		}
		fputs("</g>\n", f);
	}
	rel(a, sizeof a, t1, t0);
	fprintf(f, "<path class=\"axis\" d=\"M%.0f %.0fH%.0f\"/><text x=\"%.0f\" y=\"%.0f\">+0s</text>"
		   "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%s</text></svg>\n",
		TL_LEFT, h - 18, TL_W - 10, TL_LEFT, h - 4, TL_W - 10, h - 4, a);
}

static void waves_table(FILE *f, const struct orch_html *m, int64_t t0)
{
	char a[48], b[48], c[48];
	fputs("<table id=\"waves\"><thead><tr><th>wave</th><th>hosts</th><th>deploy</th><th>bake</th>"
	      "<th>verdict</th><th>hosts by state</th></tr></thead><tbody>\n",
	      f);
	for (size_t w = 0; w < m->n_waves; w++) {
		const struct orch_html_wave *v = &m->waves[w];
		size_t counts[ORCH_HS_COUNT] = {0};
		for (size_t i = v->first; i < v->first + v->n && i < m->n_hosts; i++)
			counts[m->hosts[i].state < ORCH_HS_COUNT ? m->hosts[i].state : 0]++;
		rel(a, sizeof a, v->started, t0);
		rel(b, sizeof b, v->healthy, t0);
		rel(c, sizeof c, v->decided, t0);
		fprintf(f, "<tr id=\"wave-%zu\" data-verdict=\"%s\"><td>%zu</td><td>%zu</td><td>%s</td><td>%s</td><td>",
			w + 1, v->verdict, w + 1, v->n, a, b);
		st_badge(f, !strcmp(v->verdict, "passed") ? "baked" : !strcmp(v->verdict, "failed") ? "failed" : "pending",
			 v->verdict);
		fprintf(f, " %s</td><td>", v->decided >= 0 ? c : "");
		for (int s = 0, k = 0; s < ORCH_HS_COUNT; s++)
			if (counts[s])
				fprintf(f, "%s%zu %s", k++ ? ", " : "", counts[s], orch_hs_name((enum orch_hs)s));
		fputs("</td></tr>\n", f);
	}
	fputs("</tbody></table>\n", f);
}

static bool ended_well(const struct orch_html_host *h)
{
	return h->state == ORCH_HS_BAKED || h->state == ORCH_HS_PENDING ||
	       ((h->state == ORCH_HS_REVERTED || h->state == ORCH_HS_SKIPPED) && !h->reason);
}

/* one host: its state changes as a strip (colour) and as words (text) */
static void host_row(FILE *f, const struct orch_html_host *h, int64_t t0, int64_t t1)
{
	char a[48];
	const char *state = orch_hs_name((enum orch_hs)h->state);
	fprintf(f, "<tr class=\"host%s\" data-host=\"", ended_well(h) ? "" : " bad");
	esc(f, h->name);
	fprintf(f, "\" data-state=\"%s\"><td class=\"mono\">", state);
	esc(f, h->name);
	fprintf(f, "</td><td>%zu</td><td>", h->wave + 1);
	st_badge(f, state, state);
	fputs("</td><td>", f);
	esc(f, h->reason);
	fputs("</td><td><svg viewBox=\"0 0 300 12\" width=\"300\" height=\"12\" role=\"img\" aria-label=\"state changes of ",
	      f);
	esc(f, h->name);
	fputs("\">", f);
	for (size_t k = 0; k < h->n_changes; k++) {
		int64_t from = h->changes[k].t, to = k + 1 < h->n_changes ? h->changes[k + 1].t : t1;
		double x0 = 300.0 * (double)(from - t0) / (double)(t1 > t0 ? t1 - t0 : 1);
		double x1 = 300.0 * (double)(to - t0) / (double)(t1 > t0 ? t1 - t0 : 1);
		const char *s = orch_hs_name((enum orch_hs)h->changes[k].state);
		rel(a, sizeof a, from, t0);
		fprintf(f, "<rect x=\"%.1f\" width=\"%.1f\" height=\"12\" fill=\"var(--%s)\"><title>%s at %s</title></rect>",
			x0, dmax(x1 - x0, 1), s, s, a);
	}
	fputs("</svg><br><span class=\"muted\">", f);
	for (size_t k = 0; k < h->n_changes; k++) {
		rel(a, sizeof a, h->changes[k].t, t0);
		fprintf(f, "%s%s %s", k ? " → " : "", orch_hs_name((enum orch_hs)h->changes[k].state), a);
	}
	fputs("</span></td></tr>\n", f);
}

static void hosts_section(FILE *f, const struct orch_html *m, int64_t t0, int64_t t1)
{
	static const char *thead = "<thead><tr><th>host</th><th>wave</th><th>state</th><th>reason</th>"
				   "<th>state changes</th></tr></thead><tbody>\n";
	if (m->n_hosts <= ORCH_HTML_HOST_ROWS) {
		fprintf(f, "<h2>Hosts (%zu)</h2>\n<table id=\"hosts\">%s", m->n_hosts, thead);
		for (size_t i = 0; i < m->n_hosts; i++)
			host_row(f, &m->hosts[i], t0, t1);
		fputs("</tbody></table>\n", f);
		return;
	}
	size_t bad = 0, shown = 0;
	for (size_t i = 0; i < m->n_hosts; i++)
		bad += !ended_well(&m->hosts[i]);
	fprintf(f, "<h2>Hosts (%zu, summarised per wave above)</h2>\n<p id=\"hosts-summary\">%zu host%s did not end "
		   "well%s</p>\n",
		m->n_hosts, bad, bad == 1 ? "" : "s", bad ? ":" : ".");
	if (!bad)
		return;
	fprintf(f, "<table id=\"hosts\">%s", thead);
	for (size_t i = 0; i < m->n_hosts && shown < ORCH_HTML_NAMED; i++)
		if (!ended_well(&m->hosts[i])) {
			host_row(f, &m->hosts[i], t0, t1);
			shown++;
		}
	fputs("</tbody></table>\n", f);
	if (bad > shown)
		fprintf(f, "<p>… and %zu more (<code>ramp rollout show ID</code>).</p>\n", bad - shown);
}

/* a value of a metric: shares as percentages */
static void fmt_val(char *buf, size_t n, const struct orch_html_metric *mt, double v)
{
	if (!isfinite(v))
		snprintf(buf, n, "–");
	else if (mt->share && isfinite(v * 100))
		snprintf(buf, n, "%.3g%%", v * 100);
	else if (mt->share)
		snprintf(buf, n, "%.3g×100%%", v);
	else
		snprintf(buf, n, "%.3g", v);
}

/* a chart's scale: y over the values' range, halved before subtracting so
 * that no two finite numbers overflow; x from 0 to ms */
struct scale {
	double lo, hi, ms;
};
#define CH_W 600.0
#define CH_H 180.0
#define CH_L 64.0
#define CH_R 12.0
#define CH_TOP 34.0
#define CH_BOT 22.0

static double ch_x(const struct scale *c, int64_t ms)
{
	return CH_L + (CH_W - CH_L - CH_R) * (double)ms / c->ms;
}

static double ch_y(const struct scale *c, double v)
{
	return CH_H - CH_BOT - (CH_H - CH_BOT - CH_TOP) * ((v / 2 - c->lo / 2) / (c->hi / 2 - c->lo / 2));
}

static double ch_val(const struct orch_html_point *p, int which)
{
	return which == 0 ? p->converted : which == 1 ? p->baseline : p->allowed;
}

/* one series (0 converted, 1 baseline, 2 allowed) as a path, broken where a
 * value is not known; a lone point is a short stroke across it */
static void ch_line(FILE *f, const struct orch_html_metric *mt, const struct scale *c, int which, const char *cls)
{
	bool pen = false, any = false;
	for (size_t k = 0; k < mt->n; k++) {
		double v = ch_val(&mt->p[k], which);
		if (!isfinite(v)) {
			pen = false;
			continue;
		}
		if (!any)
			fprintf(f, "<path class=\"%s\" d=\"", cls);
		fprintf(f, "%c%.1f %.1f", pen ? 'L' : 'M', ch_x(c, mt->p[k].ms), ch_y(c, v));
		if (!pen && (k + 1 == mt->n || !isfinite(ch_val(&mt->p[k + 1], which))))
			fputs("m-3 0h6", f);
		pen = any = true;
	}
	if (any)
		fputs("\"/>", f);
}

/* the tolerated band: between the baseline and the allowed bound */
static void ch_band(FILE *f, const struct orch_html_metric *mt, const struct scale *c)
{
	for (size_t a = 0; a < mt->n;) {
		size_t b = a;
		while (b < mt->n && isfinite(mt->p[b].baseline) && isfinite(mt->p[b].allowed))
			b++;
		if (b > a) {
			/* a lone point: 6 units wide */
			double w = b == a + 1 ? 3 : 0;
			fputs("<path class=\"band\" d=\"", f);
			for (size_t k = a; k < b; k++)
				fprintf(f, "%c%.1f %.1f", k > a ? 'L' : 'M', ch_x(c, mt->p[k].ms) - w, ch_y(c, mt->p[k].allowed));
			if (w)
				fputs("h6", f);
			for (size_t k = b; k-- > a;)
				fprintf(f, "L%.1f %.1f", ch_x(c, mt->p[k].ms) + w, ch_y(c, mt->p[k].baseline));
			if (w)
				fputs("h-6", f);
			fputs("Z\"/>", f);
		}
		a = b + 1;
	}
}

/* A metric in a wave: the converted hosts' value (solid line), the
 * baseline's (dashed) and the allowed bound (dotted) at each judgement, the
 * tolerated band between the last two, the decision's moment and verdict;
 * the same in words in the title (its accessible name) and caption. */
static void metric_chart(FILE *f, const struct orch_html_metric *mt, size_t idx)
{
	struct scale c = {INFINITY, -INFINITY, 1};
	char d[48], lo[48], hi[48], al[48], verdict[64];
	for (size_t k = 0; k < mt->n; k++) {
		for (int i = 0; i < 3; i++) {
			double v = ch_val(&mt->p[k], i);
			if (isfinite(v)) {
				c.lo = dmin(c.lo, v);
				c.hi = dmax(c.hi, v);
			}
		}
		c.ms = dmax(c.ms, (double)mt->p[k].ms);
	}
	c.ms = dmax(c.ms, (double)mt->decided);
	if (!(c.lo <= c.hi))
		c.lo = 0, c.hi = 1;
	else if (!(c.hi / 2 - c.lo / 2 > 0)) {
		double pad = c.hi != 0 ? fabs(c.hi) / 10 : 1;
		c.lo -= pad, c.hi += pad;
	}
	if (!mt->decision)
		snprintf(verdict, sizeof verdict, "not decided yet");
	else if (!strcmp(mt->decision, "continue"))
		snprintf(verdict, sizeof verdict, "undecided (wave: %.20s)", mt->wave_verdict ? mt->wave_verdict : "?");
	else
		snprintf(verdict, sizeof verdict, "%.20s", mt->decision);
	rel(d, sizeof d, mt->decided, 0);
	fprintf(f, "<figure class=\"chart\" data-wave=\"%zu\" data-metric=\"", mt->wave + 1);
	esc(f, mt->name);
	fprintf(f, "\"><svg viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" role=\"img\" aria-labelledby=\"chart-%zu\">"
		   "<title id=\"chart-%zu\">",
		CH_W, CH_H, CH_W, idx, idx);
	esc(f, mt->name);
	fprintf(f, " in wave %zu: the converted hosts (solid line) against the baseline (dashed) and the allowed "
		   "bound (dotted), %zu judgement%s; decision: ",
		mt->wave + 1, mt->n, mt->n == 1 ? "" : "s");
	esc(f, verdict);
	fprintf(f, "%s%s</title>\n", mt->decided >= 0 ? " at " : "", mt->decided >= 0 ? d : "");
	ch_band(f, mt, &c);
	ch_line(f, mt, &c, 2, "allowed");
	ch_line(f, mt, &c, 1, "base");
	ch_line(f, mt, &c, 0, "conv");
	if (mt->decided >= 0) {
		double x = ch_x(&c, mt->decided);
		bool right = x > CH_W / 2;
		fprintf(f, "<g class=\"marker\"><path class=\"decision\" d=\"M%.1f %.0fV%.0f\"/><text x=\"%.1f\" "
			   "y=\"%.0f\" text-anchor=\"%s\">",
			x, CH_TOP - 6, CH_H - CH_BOT, right ? x - 4 : x + 4, CH_TOP - 8, right ? "end" : "start");
		esc(f, verdict);
		fprintf(f, " %s</text></g>", d);
	}
	/* the legend: the line styles named */
	fprintf(f, "<path class=\"conv\" d=\"M%.0f 10h20\"/><text x=\"%.0f\" y=\"14\">converted (solid)</text>"
		   "<path class=\"base\" d=\"M%.0f 10h20\"/><text x=\"%.0f\" y=\"14\">baseline (dashed)</text>"
		   "<path class=\"allowed\" d=\"M%.0f 10h20\"/><text x=\"%.0f\" y=\"14\">allowed (dotted)</text>",
		CH_L, CH_L + 24, CH_L + 140, CH_L + 164, CH_L + 280, CH_L + 304);
	fmt_val(lo, sizeof lo, mt, c.lo);
	fmt_val(hi, sizeof hi, mt, c.hi);
	rel(al, sizeof al, (int64_t)c.ms, 0);
	fprintf(f, "<path class=\"axis\" d=\"M%.0f %.0fV%.0fH%.0f\"/><text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%s"
		   "</text><text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%s</text><text x=\"%.0f\" y=\"%.0f\">+0s</text>"
		   "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%s</text></svg>\n<figcaption>",
		CH_L, CH_TOP, CH_H - CH_BOT, CH_W - CH_R, CH_L - 4, CH_TOP + 4, hi, CH_L - 4, CH_H - CH_BOT, lo, CH_L,
		CH_H - 6, CH_W - CH_R, CH_H - 6, al);
	fprintf(f, "wave %zu · ", mt->wave + 1);
	esc(f, mt->name);
	fputs(": ", f);
	esc(f, verdict);
	fprintf(f, "%s%s (%zu judgement%s)", mt->decided >= 0 ? " at " : "", mt->decided >= 0 ? d : "", mt->n,
		mt->n == 1 ? "" : "s");
	if (mt->n) {
		const struct orch_html_point *p = &mt->p[mt->n - 1];
		fmt_val(lo, sizeof lo, mt, p->converted);
		fmt_val(hi, sizeof hi, mt, p->baseline);
		fmt_val(al, sizeof al, mt, p->allowed);
		fprintf(f, "; last: converted %s, baseline %s, allowed %s", lo, hi, al);
	}
	fputs("</figcaption></figure>\n", f);
}

int orch_html_rollout(FILE *f, const struct orch_html *m)
{
	char title[256], a[48];
	int64_t t0 = m->started, t1 = last_time(m);
	bool live = !strcmp(m->status, "running");
	snprintf(title, sizeof title, "rollout %s of %s: %s", m->id, m->app, m->status);
	head(f, title, live);
	fputs("<header><h1>Rollout <span class=\"mono\">", f);
	esc(f, m->id);
	fputs("</span></h1>\n<dl>", f);
	fputs("<dt>status</dt><dd id=\"status\">", f);
	st_badge(f, !strcmp(m->status, "done") ? "baked" : live ? "deploying" : "failed", m->status);
	fputs("</dd><dt>app</dt><dd>", f);
	esc(f, m->app);
	fputs("</dd><dt>image</dt><dd class=\"mono\">", f);
	esc(f, m->image);
	fputs("</dd><dt>digest</dt><dd class=\"mono\">", f);
	esc(f, m->digest);
	fputs("</dd><dt>test records</dt><dd>", f);
	esc(f, m->records ? m->records : "not checked");
	fputs("</dd><dt>started by</dt><dd>", f);
	esc(f, m->started_by ? m->started_by : "not recorded");
	/* a link only to a web address: no javascript: or data: URL */
	if (m->ci_url && (!strncmp(m->ci_url, "https://", 8) || !strncmp(m->ci_url, "http://", 7))) {
		fputs(" (<a href=\"", f);
		esc(f, m->ci_url);
		fputs("\">CI job</a>)", f);
	} else if (m->ci_url) {
		fputs(" (CI job ", f);
		esc(f, m->ci_url);
		fputs(")", f);
	}
	iso(a, sizeof a, m->started);
	fprintf(f, "</dd><dt>started</dt><dd>%s</dd>", a);
	if (m->ended >= 0) {
		char d[32];
		iso(a, sizeof a, m->ended);
		orch_fmt_duration(d, sizeof d, m->ended - m->started);
		fprintf(f, "<dt>ended</dt><dd>%s (%s)</dd>", a, d);
	}
	fprintf(f, "<dt>fleet</dt><dd><span class=\"mono\">");
	esc(f, m->fleet);
	fprintf(f, "</span>, %zu host%s in %zu wave%s</dd>", m->n_hosts, m->n_hosts == 1 ? "" : "s", m->n_waves,
		m->n_waves == 1 ? "" : "s");
	if (m->failure) {
		fputs("<dt>failure</dt><dd id=\"failure\">", f);
		esc(f, m->failure);
		fputs("</dd>", f);
	}
	fputs("</dl></header>\n<h2>Waves</h2>\n", f);
	timeline(f, m, t0, t1);
	waves_table(f, m, t0);
	if (m->n_metrics) {
		fputs("<h2>Canary analysis</h2>\n<section id=\"metrics\">\n", f);
		for (size_t i = 0; i < m->n_metrics; i++)
			metric_chart(f, &m->metrics[i], i);
		fputs("</section>\n", f);
	}
	fputs("<h2>Policy decisions</h2>\n", f);
	if (!m->n_decisions)
		fputs("<p id=\"decisions\">none</p>\n", f);
	else {
		fputs("<table id=\"decisions\"><thead><tr><th>when</th><th>what</th><th>result</th><th>detail</th></tr>"
		      "</thead><tbody>\n",
		      f);
		for (size_t i = 0; i < m->n_decisions; i++) {
			const struct orch_html_decision *d = &m->decisions[i];
			rel(a, sizeof a, d->t, t0);
			fprintf(f, "<tr><td>%s</td><td>", a);
			esc(f, d->what);
			fputs("</td><td>", f);
			st_badge(f, d->lifted ? "unreachable" : d->ok ? "baked" : "failed",
				 d->lifted ? "lifted" : d->ok ? "ok" : "no");
			fputs("</td><td class=\"mono\">", f);
			esc(f, d->text);
			fputs("</td></tr>\n", f);
		}
		fputs("</tbody></table>\n", f);
	}
	hosts_section(f, m, t0, t1);
	fputs("<p class=\"muted\">Made by ramp", f);
	if (live)
		fputs(" while the rollout runs; this page reloads every 5 s", f);
	fputs(".</p>\n</body></html>\n", f);
	return ferror(f) ? -1 : 0;
}

/* ---- the fleet ---- */

static bool row_bad(const struct orch_view *v)
{
	return !v->reachable || (v->app[0] && !v->healthy) || v->error[0];
}

static int cmp_rows(const void *x, const void *y)
{
	const struct orch_view *a = *(const struct orch_view *const *)x, *b = *(const struct orch_view *const *)y;
	int c = strcmp(a->app, b->app);
	if (c)
		return c;
	if (row_bad(a) != row_bad(b))
		return row_bad(a) ? -1 : 1;
	return a->host < b->host ? -1 : a->host > b->host;
}

/* a version's colour: a hue from its digest (the text says it too) */
static unsigned hue(const char *digest)
{
	unsigned h = 0;
	for (const char *p = strchr(digest, ':') ? strchr(digest, ':') + 1 : digest; *p && p - digest < 16; p++)
		h = h * 31 + (unsigned char)*p;
	return h % 360;
}

int orch_html_fleet(FILE *f, const struct orch_fleet *fl, const struct orch_view *rows, size_t n)
{
	const struct orch_view **v = calloc(n ? n : 1, sizeof *v);
	size_t bad = 0;
	if (!v)
		return -1;
	for (size_t i = 0; i < n; i++) {
		v[i] = &rows[i];
		bad += row_bad(&rows[i]);
	}
	/* by app ("" first: hosts that could not say, unreachable ones among them), unhealthy first */
	qsort(v, n, sizeof *v, cmp_rows);
	head(f, "fleet status", false);
	fprintf(f, "<header><h1>Fleet</h1><p id=\"summary\">%zu host%s, %zu row%s; <strong>%zu need%s attention"
		   "</strong></p></header>\n",
		fl->n, fl->n == 1 ? "" : "s", n, n == 1 ? "" : "s", bad, bad == 1 ? "s" : "");
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && !strcmp(v[j]->app, v[i]->app))
			j++;
		fputs("<section class=\"app\" data-app=\"", f);
		esc(f, v[i]->app);
		fputs("\"><h2>", f);
		esc(f, v[i]->app[0] ? v[i]->app : "hosts without an app, or unreachable");
		fprintf(f, " (%zu)</h2>\n<p>versions: ", j - i);
		for (size_t k = i; k < j; k++) {
			bool first = true;
			for (size_t q = i; q < k; q++)
				first &= strcmp(v[q]->current, v[k]->current) != 0;
			if (!first || !v[k]->current[0])
				continue;
			size_t cnt = 0;
			for (size_t q = i; q < j; q++)
				cnt += !strcmp(v[q]->current, v[k]->current);
			fprintf(f, "<span class=\"st\" style=\"background:hsl(%u,55%%,40%%)\">", hue(v[k]->current));
			esc(f, v[k]->current);
			fprintf(f, "</span> on %zu &nbsp; ", cnt);
		}
		fputs("</p>\n<table><thead><tr><th>host</th><th>version</th><th>phase</th><th>health</th><th>since</th>"
		      "<th>generation</th><th>rollout</th><th>problem</th></tr></thead><tbody>\n",
		      f);
		for (size_t k = i; k < j; k++) {
			const struct orch_view *r = v[k];
			const char *health = !r->reachable ? "unreachable" : !r->app[0] ? "no app" : r->healthy ? "healthy"
														: "unhealthy";
			fprintf(f, "<tr class=\"fleet-host%s\" data-host=\"", row_bad(r) ? " bad" : "");
			esc(f, fl->hosts[r->host].name);
			fprintf(f, "\" data-health=\"%s\"><td class=\"mono\">", health);
			esc(f, fl->hosts[r->host].name);
			fputs("</td><td>", f);
			if (r->current[0]) {
				fprintf(f, "<span class=\"st mono\" style=\"background:hsl(%u,55%%,40%%)\">%.19s</span>",
					hue(r->current), r->current);
			}
			fputs("</td><td>", f);
			esc(f, r->phase);
			fputs("</td><td>", f);
			st_badge(f, !strcmp(health, "healthy") ? "baked" : !strcmp(health, "no app") ? "skipped" : "failed",
				 health);
			fputs("</td><td>", f);
			esc(f, r->since);
			fprintf(f, "</td><td>%" PRId64 "</td><td class=\"mono\">", r->generation);
			esc(f, r->rollout);
			fputs("</td><td>", f);
			esc(f, r->error[0] ? r->error : r->healthy ? "" : r->message);
			fputs("</td></tr>\n", f);
		}
		fputs("</tbody></table></section>\n", f);
		i = j;
	}
	fputs("<p class=\"muted\">Made by ramp fleet status.</p>\n</body></html>\n", f);
	free(v);
	return ferror(f) ? -1 : 0;
}

int orch_html_write(const char *path, int (*render)(FILE *, const void *), const void *ctx, struct err *e)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return err_errno(e, ENOMEM, "report");
	int rc = render(f, ctx);
	if (fclose(f) != 0 || rc < 0) {
		free(buf);
		return err_errno(e, ENOMEM, "report");
	}
	rc = fs_write_atomic(path, buf, len, 0644, e);
	free(buf);
	return rc;
}
