/* event.c: the events of a rollout: one table of fields per kind, walked
 * by the writer and by the reader alike (see event.h). */
#include "orchestrator/event.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "orchestrator/analysis.h"
#include "orchestrator/canary_series.h"
#include "orchestrator/fleet.h"
#include "orchestrator/resolve.h"

/* the longest string a list may hold (commands, host names, digests) */
#define MAX_LIST_STR 4096
#define WEEK_MS (7LL * 24 * 3600 * 1000)

enum ftype {
	F_STR,    /* const char *: required ones always written, optional ones when not NULL or "" */
	F_INT,    /* int64_t in [min, max]; optional ones have a presence flag */
	F_BOOL,   /* bool, always written */
	F_STRS,   /* struct orch_strs of strings, at most max; optional ones written when not empty */
	F_NSTRS,  /* the same, entries may be NULL (null) */
	F_INTS,   /* int64_t *, count at n_off, values and count in [min, max] */
	F_OBJS,   /* array of sub's structs, count at n_off, at most max; optional ones: a presence
		     flag, or written when not empty */
	F_OBJ,    /* a sub struct, always written */
	F_LABELS, /* struct orch_ev_label *, count at n_off: an object of strings, written when not empty */
	F_COUNTS, /* struct orch_ev_counts with a presence flag: {"hosts", "converted", state: n} */
	F_DBL,    /* double, always written: a finite number, or null for NAN and infinities */
	F_POINTS, /* struct orch_ev_point *, count at n_off, at most max: [[ms, converted, baseline,
		     allowed], ...], ms from 0 increasing, the numbers finite or null */
};

#define NONE ((size_t)-1)

struct table;

struct field {
	const char *key;
	enum ftype type;
	bool req;
	size_t off, n_off, has_off; /* has_off: the presence flag of an optional value, or NONE */
	int64_t min, max;
	const struct table *sub;
};

struct table {
	size_t size; /* of an element, for F_OBJS */
	const struct field *f;
	size_t n;
};

#define TABLE(name, type, ...)                                                                                        \
	static const struct field name##_fields[] = {__VA_ARGS__};                                                   \
	static const struct table name = {sizeof(type), name##_fields, ARRAY_SIZE(name##_fields)}

#define O(T, m) offsetof(T, m)
#define STR(k, T, m) {k, F_STR, true, O(T, m), 0, NONE, 0, 0, NULL}
#define OSTR(k, T, m) {k, F_STR, false, O(T, m), 0, NONE, 0, 0, NULL}
#define INT(k, T, m, lo, hi) {k, F_INT, true, O(T, m), 0, NONE, lo, hi, NULL}
#define OINT(k, T, m, has, lo, hi) {k, F_INT, false, O(T, m), 0, O(T, has), lo, hi, NULL}
#define BOOL(k, T, m) {k, F_BOOL, true, O(T, m), 0, NONE, 0, 0, NULL}
#define STRS(k, T, m, max) {k, F_STRS, true, O(T, m), 0, NONE, 0, max, NULL}
#define OSTRS(k, T, m, max) {k, F_STRS, false, O(T, m), 0, NONE, 0, max, NULL}
#define ONSTRS(k, T, m, max) {k, F_NSTRS, false, O(T, m), 0, NONE, 0, max, NULL}
#define INTS(k, T, m, nm, lo, hi) {k, F_INTS, true, O(T, m), O(T, nm), NONE, lo, hi, NULL}
#define OBJS(k, T, m, nm, sub, max) {k, F_OBJS, true, O(T, m), O(T, nm), NONE, 0, max, &sub}
#define OOBJS(k, T, m, nm, sub, max) {k, F_OBJS, false, O(T, m), O(T, nm), NONE, 0, max, &sub}
#define HOBJS(k, T, m, nm, has, sub, max) {k, F_OBJS, false, O(T, m), O(T, nm), O(T, has), 0, max, &sub}
#define OBJ(k, T, m, sub) {k, F_OBJ, true, O(T, m), 0, NONE, 0, 0, &sub}
#define LABELS(k, T, m, nm) {k, F_LABELS, false, O(T, m), O(T, nm), NONE, 0, ORCH_FLEET_MAX_LABELS, NULL}
#define DBL(k, T, m) {k, F_DBL, true, O(T, m), 0, NONE, 0, 0, NULL}
#define POINTS(k, T, m, nm, max) {k, F_POINTS, true, O(T, m), O(T, nm), NONE, 0, max, NULL}
#define COUNTS(k, T, m, has) {k, F_COUNTS, false, O(T, m), 0, O(T, has), 0, 0, NULL}

#define MAX_HOSTS ORCH_FLEET_MAX_HOSTS
#define EXIT_LO (-1)
#define EXIT_HI 65535

/* ---- the tables: every key of every event, once ---- */

TABLE(t_hostdef, struct orch_ev_hostdef,
      STR("name", struct orch_ev_hostdef, name),
      STR("address", struct orch_ev_hostdef, address),
      INT("wave", struct orch_ev_hostdef, wave, 1, MAX_HOSTS),
      LABELS("labels", struct orch_ev_hostdef, labels, n_labels));

TABLE(t_options, struct orch_ev_options,
      INT("bakeMs", struct orch_ev_options, bake_ms, 0, WEEK_MS),
      INT("healthDeadlineMs", struct orch_ev_options, deadline_ms, 0, WEEK_MS),
      INT("finalBakeMs", struct orch_ev_options, final_bake_ms, 0, WEEK_MS),
      INT("pollMs", struct orch_ev_options, poll_ms, 0, WEEK_MS),
      INT("requestTimeoutMs", struct orch_ev_options, timeout_ms, 0, WEEK_MS),
      INT("unreachableAfterMs", struct orch_ev_options, unreachable_ms, 0, WEEK_MS),
      INT("revertDeadlineMs", struct orch_ev_options, revert_deadline_ms, 0, WEEK_MS),
      INT("maxUnhealthy", struct orch_ev_options, max_unhealthy, 0, MAX_HOSTS),
      INT("maxUnreachable", struct orch_ev_options, max_unreachable, 0, MAX_HOSTS),
      INT("maxParallel", struct orch_ev_options, max_parallel, 0, 100000),
      STR("onFailure", struct orch_ev_options, on_failure),
      STRS("gates", struct orch_ev_options, gates, 64),
      STRS("checks", struct orch_ev_options, checks, 64),
      STRS("probes", struct orch_ev_options, probes, 64),
      OSTR("tokenFile", struct orch_ev_options, token_file),
      OSTR("cacert", struct orch_ev_options, cacert),
      BOOL("allowUntested", struct orch_ev_options, allow_untested),
      OSTR("trustFile", struct orch_ev_options, trust_file),
      OSTR("override", struct orch_ev_options, override_reason),
      OSTR("overrideBy", struct orch_ev_options, override_by),
      OSTR("signKey", struct orch_ev_options, sign_key),
      OSTR("policyFile", struct orch_ev_options, policy_file),
      OSTR("analysis", struct orch_ev_options, analysis),
      OSTR("metricsSource", struct orch_ev_options, metrics_source),
      OINT("bakeMaxMs", struct orch_ev_options, bake_max_ms, has_bake_max, 0, WEEK_MS),
      OSTR("onInconclusive", struct orch_ev_options, on_inconclusive),
      OINT("analysisSeed", struct orch_ev_options, analysis_seed, has_analysis_seed, 1, INT64_MAX));

TABLE(t_start, struct orch_ev_start,
      STR("app", struct orch_ev_start, app),
      STR("image", struct orch_ev_start, image),
      STR("digest", struct orch_ev_start, digest),
      STR("fleet", struct orch_ev_start, fleet),
      OSTR("takeover", struct orch_ev_start, takeover),
      OSTR("startedBy", struct orch_ev_start, started_by),
      OSTR("ciUrl", struct orch_ev_start, ci_url),
      INTS("waves", struct orch_ev_start, waves, n_waves, 1, MAX_HOSTS),
      OBJS("hosts", struct orch_ev_start, hosts, n_hosts, t_hostdef, MAX_HOSTS),
      OBJ("options", struct orch_ev_start, options, t_options));

TABLE(t_gate, struct orch_ev_gate,
      STR("command", struct orch_ev_gate, command),
      INT("exit", struct orch_ev_gate, exit, EXIT_LO, EXIT_HI),
      BOOL("ok", struct orch_ev_gate, ok));

TABLE(t_reason, struct orch_ev_reason,
      OSTR("host", struct orch_ev_reason, host),
      STR("reason", struct orch_ev_reason, reason));

TABLE(t_record, struct orch_ev_record,
      STR("platform", struct orch_ev_record, platform),
      STR("result", struct orch_ev_record, result),
      STR("artifact", struct orch_ev_record, artifact),
      BOOL("signed", struct orch_ev_record, is_signed));

TABLE(t_precheck, struct orch_ev_precheck,
      BOOL("ok", struct orch_ev_precheck, ok),
      OINT("generation", struct orch_ev_precheck, generation, has_generation, 0, INT64_MAX),
      ONSTRS("before", struct orch_ev_precheck, before, MAX_HOSTS),
      OOBJS("problems", struct orch_ev_precheck, problems, n_problems, t_reason, MAX_HOSTS),
      OOBJS("skipped", struct orch_ev_precheck, skipped, n_skipped, t_reason, MAX_HOSTS),
      OOBJS("records", struct orch_ev_precheck, records, n_records, t_record, ORCH_RECORDS_MAX));

TABLE(t_wave, struct orch_ev_wave,
      INT("wave", struct orch_ev_wave, wave, 1, MAX_HOSTS),
      STRS("hosts", struct orch_ev_wave, hosts, MAX_HOSTS));

TABLE(t_host, struct orch_ev_host,
      STR("host", struct orch_ev_host, host),
      INT("wave", struct orch_ev_host, wave, 1, MAX_HOSTS),
      STR("state", struct orch_ev_host, state),
      OSTR("phase", struct orch_ev_host, phase),
      OSTR("digest", struct orch_ev_host, digest),
      OSTR("message", struct orch_ev_host, message));

TABLE(t_check, struct orch_ev_check,
      INT("wave", struct orch_ev_check, wave, 1, MAX_HOSTS),
      STR("command", struct orch_ev_check, command),
      INT("exit", struct orch_ev_check, exit, EXIT_LO, EXIT_HI),
      BOOL("ok", struct orch_ev_check, ok));

TABLE(t_wave_passed, struct orch_ev_wave_passed,
      INT("wave", struct orch_ev_wave_passed, wave, 1, MAX_HOSTS),
      INT("ms", struct orch_ev_wave_passed, ms, 0, INT64_MAX));

TABLE(t_hist, struct orch_ev_hist,
      STR("time", struct orch_ev_hist, time),
      STR("phase", struct orch_ev_hist, phase),
      STR("message", struct orch_ev_hist, message));

TABLE(t_failure, struct orch_ev_failure,
      OSTR("host", struct orch_ev_failure, host),
      INT("wave", struct orch_ev_failure, wave, 1, MAX_HOSTS),
      STR("reason", struct orch_ev_failure, reason),
      OSTR("phase", struct orch_ev_failure, phase),
      HOBJS("history", struct orch_ev_failure, history, n_history, has_history, t_hist, 1000),
      OSTR("probe", struct orch_ev_failure, probe));

TABLE(t_policy, struct orch_ev_policy,
      STR("check", struct orch_ev_policy, check),
      STR("name", struct orch_ev_policy, name),
      BOOL("ok", struct orch_ev_policy, ok),
      OSTR("reason", struct orch_ev_policy, reason),
      OSTR("until", struct orch_ev_policy, until),
      OSTR("overriddenBy", struct orch_ev_policy, override_by));

TABLE(t_paused, struct orch_ev_paused,
      STR("reason", struct orch_ev_paused, reason));

TABLE(t_revert, struct orch_ev_revert,
      STRS("hosts", struct orch_ev_revert, hosts, MAX_HOSTS),
      STR("reason", struct orch_ev_revert, reason));

TABLE(t_pid, struct orch_ev_pid,
      INT("pid", struct orch_ev_pid, pid, 0, INT32_MAX));

/* an event without fields of its own */
static const struct table t_none = {0, NULL, 0};

TABLE(t_superseded, struct orch_ev_superseded,
      OINT("generation", struct orch_ev_superseded, generation, has_generation, 1, INT64_MAX),
      OSTR("by", struct orch_ev_superseded, by),
      OSTR("host", struct orch_ev_superseded, host));

TABLE(t_end_host, struct orch_ev_end_host,
      STR("host", struct orch_ev_end_host, host),
      INT("wave", struct orch_ev_end_host, wave, 1, MAX_HOSTS),
      STR("state", struct orch_ev_end_host, state),
      OSTR("reason", struct orch_ev_end_host, reason));

TABLE(t_end, struct orch_ev_end,
      STR("result", struct orch_ev_end, result),
      INT("exit", struct orch_ev_end, exit, 0, 255),
      OINT("ms", struct orch_ev_end, ms, has_ms, 0, INT64_MAX),
      COUNTS("counts", struct orch_ev_end, counts, has_counts),
      OOBJS("hosts", struct orch_ev_end, hosts, n_hosts, t_end_host, MAX_HOSTS));

TABLE(t_plan_wave, struct orch_ev_plan_wave,
      INT("wave", struct orch_ev_plan_wave, wave, 1, MAX_HOSTS),
      STRS("hosts", struct orch_ev_plan_wave, hosts, MAX_HOSTS));

TABLE(t_override, struct orch_ev_override,
      STR("lifted", struct orch_ev_override, lifted),
      STR("reason", struct orch_ev_override, reason),
      STR("by", struct orch_ev_override, by));

TABLE(t_plan, struct orch_ev_plan,
      STR("app", struct orch_ev_plan, app),
      STR("fleet", struct orch_ev_plan, fleet),
      OBJS("waves", struct orch_ev_plan, waves, n_waves, t_plan_wave, MAX_HOSTS),
      INT("minSeconds", struct orch_ev_plan, min_seconds, 0, INT64_MAX),
      INT("maxSeconds", struct orch_ev_plan, max_seconds, 0, INT64_MAX));

#define AM struct orch_ev_an_metric
TABLE(t_an_metric, AM,
      STR("name", AM, name), STR("kind", AM, kind), STR("verdict", AM, verdict), STR("reason", AM, reason),
      STR("explain", AM, explain),
      INT("convertedHosts", AM, conv_hosts, 0, MAX_HOSTS), INT("baselineHosts", AM, base_hosts, 0, MAX_HOSTS),
      DBL("toleranceAbs", AM, tol_abs), DBL("toleranceRel", AM, tol_rel), DBL("le", AM, le),
      DBL("converted", AM, conv), DBL("baseline", AM, base), DBL("allowed", AM, allowed),
      DBL("convertedLow", AM, conv_lo), DBL("convertedHigh", AM, conv_hi),
      DBL("baselineLow", AM, base_lo), DBL("baselineHigh", AM, base_hi),
      DBL("convertedEvents", AM, conv_events), DBL("convertedExposure", AM, conv_exposure),
      DBL("baselineEvents", AM, base_events), DBL("baselineExposure", AM, base_exposure),
      DBL("evidenceWorse", AM, ev_fail), DBL("evidenceWorseNeeded", AM, ev_fail_min),
      DBL("evidenceNoWorse", AM, ev_pass), DBL("evidenceNoWorseNeeded", AM, ev_pass_min),
      DBL("convertedP50", AM, conv_p50), DBL("convertedP99", AM, conv_p99),
      DBL("baselineP50", AM, base_p50), DBL("baselineP99", AM, base_p99));
#undef AM

TABLE(t_an_excluded, struct orch_ev_an_excluded,
      STR("host", struct orch_ev_an_excluded, host),
      STR("group", struct orch_ev_an_excluded, group),
      STR("reason", struct orch_ev_an_excluded, reason));

TABLE(t_analysis, struct orch_ev_analysis,
      INT("wave", struct orch_ev_analysis, wave, 1, MAX_HOSTS),
      INT("ms", struct orch_ev_analysis, ms, 0, INT64_MAX),
      STR("verdict", struct orch_ev_analysis, verdict),
      STR("baseline", struct orch_ev_analysis, baseline),
      OBJS("metrics", struct orch_ev_analysis, metrics, n_metrics, t_an_metric, ORCH_AN_MAX_METRICS),
      OBJS("excluded", struct orch_ev_analysis, excluded, n_excluded, t_an_excluded, 2 * MAX_HOSTS),
      OINT("convertedJudged", struct orch_ev_analysis, conv_judged, has_judged, 0, MAX_HOSTS),
      OINT("convertedGroup", struct orch_ev_analysis, conv_group, has_judged, 0, MAX_HOSTS),
      OINT("baselineJudged", struct orch_ev_analysis, base_judged, has_judged, 0, MAX_HOSTS),
      OINT("baselineGroup", struct orch_ev_analysis, base_group, has_judged, 0, MAX_HOSTS));

TABLE(t_series, struct orch_ev_series,
      INT("wave", struct orch_ev_series, wave, 1, MAX_HOSTS),
      STR("metric", struct orch_ev_series, metric),
      POINTS("points", struct orch_ev_series, points, n_points, ORCH_SERIES_MAX));

static const struct {
	const char *name;
	const struct table *t;
} kinds[ORCH_EV_COUNT] = {
	[ORCH_EV_START] = {"start", &t_start},
	[ORCH_EV_GATE] = {"gate", &t_gate},
	[ORCH_EV_PRECHECK] = {"precheck", &t_precheck},
	[ORCH_EV_WAVE] = {"wave", &t_wave},
	[ORCH_EV_HOST] = {"host", &t_host},
	[ORCH_EV_CHECK] = {"check", &t_check},
	[ORCH_EV_WAVE_PASSED] = {"wave_passed", &t_wave_passed},
	[ORCH_EV_FAILURE] = {"failure", &t_failure},
	[ORCH_EV_PAUSED] = {"paused", &t_paused},
	[ORCH_EV_POLICY] = {"policy", &t_policy},
	[ORCH_EV_REVERT] = {"revert", &t_revert},
	[ORCH_EV_RESUME] = {"resume", &t_pid},
	[ORCH_EV_ABORT] = {"abort", &t_pid},
	[ORCH_EV_INTERRUPTED] = {"interrupted", &t_none},
	[ORCH_EV_SUPERSEDED] = {"superseded", &t_superseded},
	[ORCH_EV_END] = {"end", &t_end},
	[ORCH_EV_OVERRIDE] = {"override", &t_override},
	[ORCH_EV_PLAN] = {"plan", &t_plan},
	[ORCH_EV_ANALYSIS] = {"analysis", &t_analysis},
	[ORCH_EV_SERIES] = {"series", &t_series},
};

/* the keys every event starts with */
#define K_TIME "time"
#define K_EVENT "event"
#define K_ROLLOUT "rollout"
#define K_HOSTS "hosts"
#define K_CONVERTED "converted"

const char *orch_ev_name(enum orch_ev_kind k)
{
	return k < ORCH_EV_COUNT ? kinds[k].name : "?";
}

/* ---- writing ---- */

#define AT(base, off, type) (*(type *)((char *)(base) + (off)))
#define CAT(base, off, type) (*(const type *)((const char *)(base) + (off)))

static void write_obj(struct jgen *g, const struct table *t, const void *base);

static void write_counts(struct jgen *g, const struct orch_ev_counts *c)
{
	jgen_obj_open(g);
	jgen_kint(g, K_HOSTS, c->hosts);
	jgen_kint(g, K_CONVERTED, c->converted);
	for (int s = 0; s < ORCH_HS_COUNT; s++)
		if (c->state[s])
			jgen_kint(g, orch_hs_name((enum orch_hs)s), c->state[s]);
	jgen_obj_close(g);
}

static void write_points(struct jgen *g, const struct orch_ev_point *v, size_t n)
{
	jgen_arr_open(g);
	for (size_t i = 0; i < n; i++) {
		jgen_arr_open(g);
		jgen_int(g, v[i].ms);
		jgen_real(g, v[i].conv);
		jgen_real(g, v[i].base);
		jgen_real(g, v[i].allowed);
		jgen_arr_close(g);
	}
	jgen_arr_close(g);
}

static void write_field(struct jgen *g, const struct field *f, const void *base)
{
	bool has = f->has_off == NONE || CAT(base, f->has_off, bool);
	switch (f->type) {
	case F_STR: {
		const char *s = CAT(base, f->off, char *);
		if (f->req)
			jgen_kstr(g, f->key, s ? s : "");
		else if (s && *s)
			jgen_kstr(g, f->key, s);
		return;
	}
	case F_INT:
		if (has)
			jgen_kint(g, f->key, CAT(base, f->off, int64_t));
		return;
	case F_BOOL:
		jgen_kbool(g, f->key, CAT(base, f->off, bool));
		return;
	case F_STRS:
	case F_NSTRS: {
		const struct orch_strs *l = &CAT(base, f->off, struct orch_strs);
		if (!f->req && !l->n)
			return;
		jgen_key(g, f->key);
		jgen_arr_open(g);
		for (size_t i = 0; i < l->n; i++)
			if (l->v[i])
				jgen_str(g, l->v[i]);
			else
				jgen_null(g);
		jgen_arr_close(g);
		return;
	}
	case F_INTS: {
		const int64_t *v = CAT(base, f->off, int64_t *);
		size_t n = CAT(base, f->n_off, size_t);
		jgen_key(g, f->key);
		jgen_arr_open(g);
		for (size_t i = 0; i < n; i++)
			jgen_int(g, v[i]);
		jgen_arr_close(g);
		return;
	}
	case F_OBJS: {
		const char *v = CAT(base, f->off, char *);
		size_t n = CAT(base, f->n_off, size_t);
		if (f->has_off == NONE ? !f->req && !n : !has)
			return;
		jgen_key(g, f->key);
		jgen_arr_open(g);
		for (size_t i = 0; i < n; i++)
			write_obj(g, f->sub, v + i * f->sub->size);
		jgen_arr_close(g);
		return;
	}
	case F_OBJ:
		jgen_key(g, f->key);
		write_obj(g, f->sub, (const char *)base + f->off);
		return;
	case F_LABELS: {
		const struct orch_ev_label *v = CAT(base, f->off, struct orch_ev_label *);
		size_t n = CAT(base, f->n_off, size_t);
		if (!n)
			return;
		jgen_key(g, f->key);
		jgen_obj_open(g);
		for (size_t i = 0; i < n; i++)
			jgen_kstr(g, v[i].key, v[i].value);
		jgen_obj_close(g);
		return;
	}
	case F_DBL:
		jgen_key(g, f->key);
		jgen_real(g, CAT(base, f->off, double));
		return;
	case F_COUNTS:
		if (has) {
			jgen_key(g, f->key);
			write_counts(g, &CAT(base, f->off, struct orch_ev_counts));
		}
		return;
	case F_POINTS:
		jgen_key(g, f->key);
		write_points(g, CAT(base, f->off, struct orch_ev_point *), CAT(base, f->n_off, size_t));
		return;
	}
}

static void write_fields(struct jgen *g, const struct table *t, const void *base)
{
	for (size_t i = 0; i < t->n; i++)
		write_field(g, &t->f[i], base);
}

static void write_obj(struct jgen *g, const struct table *t, const void *base)
{
	jgen_obj_open(g);
	write_fields(g, t, base);
	jgen_obj_close(g);
}

int orch_event_write(struct jgen *g, const struct orch_event *ev, struct err *e)
{
	if (ev->kind >= ORCH_EV_COUNT)
		return err_set(e, "event of unknown kind %d", (int)ev->kind);
	jgen_obj_open(g);
	jgen_kstr(g, K_TIME, ev->time ? ev->time : "");
	jgen_kstr(g, K_EVENT, kinds[ev->kind].name);
	if (ev->rollout)
		jgen_kstr(g, K_ROLLOUT, ev->rollout);
	write_fields(g, kinds[ev->kind].t, &ev->u);
	jgen_obj_close(g);
	return 0;
}

/* ---- reading ---- */

void *orch_event_alloc(struct orch_event *ev, size_t n, size_t size, struct err *e)
{
	void **na = realloc(ev->allocs, (ev->n_allocs + 1) * sizeof *na);
	void *p = na ? calloc(n ? n : 1, size) : NULL;
	if (na)
		ev->allocs = na;
	if (!p) {
		err_errno(e, ENOMEM, "event");
		return NULL;
	}
	ev->allocs[ev->n_allocs++] = p;
	return p;
}

static int check_str(const struct json *v, size_t max, const char *key, struct err *e)
{
	if (v->type != JSON_STRING)
		return err_set(e, "field \"%s\": expected a string, not %s", key, json_type_name(v->type));
	if (strlen(v->str.s) != v->str.len)
		return err_set(e, "field \"%s\": a NUL byte in a string", key);
	if (max && v->str.len > max)
		return err_set(e, "field \"%s\": longer than %zu bytes", key, max);
	return 0;
}

static int read_obj(const struct json *j, const struct table *t, void *base, struct orch_event *ev,
		    const char *const *extra, const char *what, struct err *e);

static int read_strs(const struct json *a, const struct field *f, struct orch_strs *l, struct orch_event *ev,
		     struct err *e)
{
	if ((uint64_t)a->arr.n > (uint64_t)f->max)
		return err_set(e, "field \"%s\": more than %lld entries", f->key, (long long)f->max);
	if (!(l->v = orch_event_alloc(ev, a->arr.n, sizeof *l->v, e)))
		return -1;
	for (size_t i = 0; i < a->arr.n; i++) {
		const struct json *v = a->arr.v[i];
		if (f->type == F_NSTRS && v->type == JSON_NULL)
			continue;
		if (check_str(v, MAX_LIST_STR, f->key, e) < 0)
			return err_ctx(e, "[%zu]", i);
		l->v[i] = v->str.s;
	}
	l->n = a->arr.n;
	return 0;
}

static int read_ints(const struct json *a, const struct field *f, void *base, struct orch_event *ev,
		     struct err *e)
{
	if ((uint64_t)a->arr.n > (uint64_t)f->max)
		return err_set(e, "field \"%s\": more than %lld entries", f->key, (long long)f->max);
	int64_t *v = orch_event_alloc(ev, a->arr.n, sizeof *v, e);
	if (!v)
		return -1;
	for (size_t i = 0; i < a->arr.n; i++) {
		const struct json *x = a->arr.v[i];
		if (x->type != JSON_INT || x->i < f->min || x->i > f->max)
			return err_set(e, "field \"%s\"[%zu]: expected a number from %lld to %lld", f->key, i,
				       (long long)f->min, (long long)f->max);
		v[i] = x->i;
	}
	AT(base, f->off, int64_t *) = v;
	AT(base, f->n_off, size_t) = a->arr.n;
	return 0;
}

static int read_objs(const struct json *a, const struct field *f, void *base, struct orch_event *ev, struct err *e)
{
	if ((uint64_t)a->arr.n > (uint64_t)f->max)
		return err_set(e, "field \"%s\": more than %lld entries", f->key, (long long)f->max);
	char *v = orch_event_alloc(ev, a->arr.n, f->sub->size, e);
	if (!v)
		return -1;
	for (size_t i = 0; i < a->arr.n; i++) {
		char what[80];
		snprintf(what, sizeof what, "%s[%zu]", f->key, i);
		if (read_obj(a->arr.v[i], f->sub, v + i * f->sub->size, ev, NULL, what, e) < 0)
			return -1;
	}
	AT(base, f->off, void *) = v;
	AT(base, f->n_off, size_t) = a->arr.n;
	return 0;
}

/* a number of a point: finite, or null (NAN) */
static int read_point_num(const struct json *x, const struct field *f, size_t i, double *d, struct err *e)
{
	*d = x->type == JSON_NULL ? NAN : x->type == JSON_INT ? (double)x->i : x->type == JSON_REAL ? x->d : INFINITY;
	if (isinf(*d))
		return err_set(e, "field \"%s\"[%zu]: expected [ms, converted, baseline, allowed] with finite numbers or "
				  "null", f->key, i);
	return 0;
}

static int read_points(const struct json *a, const struct field *f, void *base, struct orch_event *ev,
		       struct err *e)
{
	if ((uint64_t)a->arr.n > (uint64_t)f->max)
		return err_set(e, "field \"%s\": more than %lld points", f->key, (long long)f->max);
	struct orch_ev_point *v = orch_event_alloc(ev, a->arr.n, sizeof *v, e);
	if (!v)
		return -1;
	for (size_t i = 0; i < a->arr.n; i++) {
		const struct json *x = a->arr.v[i];
		if (x->type != JSON_ARRAY || x->arr.n != 4)
			return err_set(e, "field \"%s\"[%zu]: expected [ms, converted, baseline, allowed]", f->key, i);
		const struct json *ms = x->arr.v[0];
		if (ms->type != JSON_INT || ms->i < 0 || (i && ms->i <= v[i - 1].ms))
			return err_set(e, "field \"%s\"[%zu]: expected ms since the wave started, after the point before",
				       f->key, i);
		v[i].ms = ms->i;
		if (read_point_num(x->arr.v[1], f, i, &v[i].conv, e) < 0 ||
		    read_point_num(x->arr.v[2], f, i, &v[i].base, e) < 0 ||
		    read_point_num(x->arr.v[3], f, i, &v[i].allowed, e) < 0)
			return -1;
	}
	AT(base, f->off, struct orch_ev_point *) = v;
	AT(base, f->n_off, size_t) = a->arr.n;
	return 0;
}

static int read_labels(const struct json *o, const struct field *f, void *base, struct orch_event *ev,
		       struct err *e)
{
	if ((uint64_t)o->obj.n > (uint64_t)f->max)
		return err_set(e, "field \"%s\": more than %lld entries", f->key, (long long)f->max);
	struct orch_ev_label *v = orch_event_alloc(ev, o->obj.n, sizeof *v, e);
	if (!v)
		return -1;
	for (size_t i = 0; i < o->obj.n; i++) {
		if (check_str(o->obj.v[i], 0, o->obj.k[i], e) < 0)
			return err_ctx(e, "%s", f->key);
		v[i] = (struct orch_ev_label){o->obj.k[i], o->obj.v[i]->str.s};
	}
	AT(base, f->off, struct orch_ev_label *) = v;
	AT(base, f->n_off, size_t) = o->obj.n;
	return 0;
}

static int read_counts(const struct json *o, struct orch_ev_counts *c, struct err *e)
{
	for (size_t i = 0; i < o->obj.n; i++) {
		const char *k = o->obj.k[i];
		const struct json *v = o->obj.v[i];
		int s = orch_hs_parse(k);
		if (v->type != JSON_INT || v->i < 0 || v->i > MAX_HOSTS)
			return err_set(e, "counts: \"%.32s\": expected a count of hosts", k);
		if (!strcmp(k, K_HOSTS))
			c->hosts = v->i;
		else if (!strcmp(k, K_CONVERTED))
			c->converted = v->i;
		else if (s >= 0)
			c->state[s] = v->i;
		else
			return err_set(e, "counts: unknown key \"%.32s\"", k);
	}
	return 0;
}

static int read_field(const struct json *j, const struct field *f, void *base, struct orch_event *ev, struct err *e)
{
	const struct json *v = json_get(j, f->key);
	if (!v) {
		if (f->req)
			return err_set(e, "missing field \"%s\"", f->key);
		return 0;
	}
	if (f->has_off != NONE)
		AT(base, f->has_off, bool) = true;
	switch (f->type) {
	case F_STR:
		if (check_str(v, 0, f->key, e) < 0)
			return -1;
		AT(base, f->off, const char *) = v->str.s;
		return 0;
	case F_INT:
		if (v->type != JSON_INT)
			return err_set(e, "field \"%s\": expected an integer, not %s", f->key, json_type_name(v->type));
		if (v->i < f->min || v->i > f->max)
			return err_set(e, "field \"%s\": %lld is out of range", f->key, (long long)v->i);
		AT(base, f->off, int64_t) = v->i;
		return 0;
	case F_BOOL:
		if (v->type != JSON_BOOL)
			return err_set(e, "field \"%s\": expected true or false", f->key);
		AT(base, f->off, bool) = v->b;
		return 0;
	case F_STRS:
	case F_NSTRS:
		if (v->type != JSON_ARRAY)
			return err_set(e, "field \"%s\": expected an array", f->key);
		return read_strs(v, f, &AT(base, f->off, struct orch_strs), ev, e);
	case F_INTS:
		if (v->type != JSON_ARRAY)
			return err_set(e, "field \"%s\": expected an array", f->key);
		return read_ints(v, f, base, ev, e);
	case F_OBJS:
		if (v->type != JSON_ARRAY)
			return err_set(e, "field \"%s\": expected an array", f->key);
		return read_objs(v, f, base, ev, e);
	case F_OBJ:
		return read_obj(v, f->sub, (char *)base + f->off, ev, NULL, f->key, e);
	case F_LABELS:
		if (v->type != JSON_OBJECT)
			return err_set(e, "field \"%s\": expected an object", f->key);
		return read_labels(v, f, base, ev, e);
	case F_COUNTS:
		if (v->type != JSON_OBJECT)
			return err_set(e, "field \"%s\": expected an object", f->key);
		return read_counts(v, &AT(base, f->off, struct orch_ev_counts), e);
	case F_DBL:
		if (v->type != JSON_INT && v->type != JSON_REAL && v->type != JSON_NULL)
			return err_set(e, "field \"%s\": expected a number or null, not %s", f->key,
				       json_type_name(v->type));
		AT(base, f->off, double) = v->type == JSON_NULL ? NAN : v->type == JSON_INT ? (double)v->i : v->d;
		return 0;
	case F_POINTS:
		if (v->type != JSON_ARRAY)
			return err_set(e, "field \"%s\": expected an array", f->key);
		return read_points(v, f, base, ev, e);
	}
	return 0;
}

/* An object of table t into base; extra: keys allowed besides the table's
 * (the header of an event). */
static int read_obj(const struct json *j, const struct table *t, void *base, struct orch_event *ev,
		    const char *const *extra, const char *what, struct err *e)
{
	const char *keys[40];
	size_t n = 0;
	if (j->type != JSON_OBJECT)
		return err_set(e, "%s: expected an object", what);
	for (; extra && extra[n]; n++)
		keys[n] = extra[n];
	for (size_t i = 0; i < t->n && n + 1 < ARRAY_SIZE(keys); i++)
		keys[n++] = t->f[i].key;
	keys[n] = NULL;
	if (json_only_keys(j, keys, what, e) < 0)
		return -1;
	for (size_t i = 0; i < t->n; i++)
		if (read_field(j, &t->f[i], base, ev, e) < 0)
			return what == kinds[ev->kind].name ? -1 : err_ctx(e, "%s", what);
	return 0;
}

int orch_event_read(const struct json *j, struct orch_event *ev, struct err *e)
{
	static const char *const header[] = {K_TIME, K_EVENT, K_ROLLOUT, NULL};
	const char *name = NULL;
	*ev = (struct orch_event){0};
	if (j->type != JSON_OBJECT)
		return err_set(e, "expected an event object");
	if (json_field_str(j, K_EVENT, true, &name, e) < 0 || json_field_str(j, K_TIME, true, &ev->time, e) < 0 ||
	    json_field_str(j, K_ROLLOUT, false, &ev->rollout, e) < 0)
		return -1;
	for (ev->kind = 0; ev->kind < ORCH_EV_COUNT && strcmp(kinds[ev->kind].name, name); ev->kind++)
		;
	if (ev->kind == ORCH_EV_COUNT)
		return err_set(e, "unknown event \"%.32s\"", name);
	if (read_obj(j, kinds[ev->kind].t, &ev->u, ev, header, kinds[ev->kind].name, e) < 0) {
		orch_event_free(ev);
		return -1;
	}
	return 0;
}

void orch_event_free(struct orch_event *ev)
{
	for (size_t i = 0; i < ev->n_allocs; i++)
		free(ev->allocs[i]);
	free(ev->allocs);
	ev->allocs = NULL;
	ev->n_allocs = 0;
}
