/* policy.c: release policy files and freeze windows (see policy.h). */
#include "orchestrator/policy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "orchestrator/exec.h"

#define YEAR_S (366 * 86400LL)
#define WEEK_MIN (8 * 1440) /* a recurring window is looked for this many minutes ahead */

static const char *const day_names[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

/* ---- parsing ---- */

struct ctx {
	const char *where;
	struct err *e;
};

static int bad(struct ctx *c, const char *path, const char *fmt, const char *detail)
{
	char msg[300];
	snprintf(msg, sizeof msg, fmt, detail);
	return err_set(c->e, "%s: %s: %s", c->where, path, msg);
}

/* a string member; NULL with an error when missing (if required) or not a string */
static int get_str(struct ctx *c, const struct json *o, const char *path, const char *key, bool required,
		   const char **out)
{
	char where[160];
	snprintf(where, sizeof where, "%s.%s", path, key);
	const struct json *v = json_get(o, key);
	*out = NULL;
	if (!v)
		return required ? bad(c, where, "missing%s", "") : 0;
	if (v->type != JSON_STRING)
		return bad(c, where, "a string is needed, not %s", json_type_name(v->type));
	if (!v->str.len || strlen(v->str.s) != v->str.len)
		return bad(c, where, "must not be empty or hold NUL%s", "");
	*out = v->str.s;
	return 0;
}

static int check_keys(struct ctx *c, const struct json *o, const char *path, const char *const *allowed)
{
	if (o->type != JSON_OBJECT)
		return bad(c, path, "an object is needed, not %s", json_type_name(o->type));
	for (size_t i = 0; i < o->obj.n; i++) {
		size_t k = 0;
		while (allowed[k] && strcmp(allowed[k], o->obj.k[i]))
			k++;
		if (!allowed[k])
			return bad(c, path, "unknown key \"%.80s\"", o->obj.k[i]);
	}
	return 0;
}

/* "HH:MM", 00:00..24:00 */
static int parse_hhmm(const char *s, int *min)
{
	if (strlen(s) != 5 || s[2] != ':')
		return -1;
	for (int i = 0; i < 5; i++)
		if (i != 2 && (s[i] < '0' || s[i] > '9'))
			return -1;
	int h = (s[0] - '0') * 10 + s[1] - '0', m = (s[3] - '0') * 10 + s[4] - '0';
	if (m > 59 || h > 24 || (h == 24 && m))
		return -1;
	*min = h * 60 + m;
	return 0;
}

static bool digits(const char *s, size_t n, int *v)
{
	*v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		*v = *v * 10 + s[i] - '0';
	}
	return true;
}

/* RFC 3339 "YYYY-MM-DDTHH:MM:SS" then "Z" or "+HH:MM"/"-HH:MM", no fraction */
static int parse_instant(const char *s, int64_t *out)
{
	int y, mo, d, h, mi, se, oh = 0, om = 0;
	size_t n = strlen(s);
	if (n < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':' ||
	    !digits(s, 4, &y) || !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d) || !digits(s + 11, 2, &h) ||
	    !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &se))
		return -1;
	int sign = 0;
	if (n == 20 && (s[19] == 'Z' || s[19] == 'z'))
		sign = 1;
	else if (n == 25 && (s[19] == '+' || s[19] == '-') && s[22] == ':' && digits(s + 20, 2, &oh) &&
		 digits(s + 23, 2, &om))
		sign = s[19] == '-' ? -1 : 1;
	if (!sign || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || se > 59 || oh > 23 || om > 59)
		return -1;
	int64_t day = tz_days_from_civil(y, (unsigned)mo, (unsigned)d);
	int64_t yy;
	unsigned mm, dd;
	tz_civil_from_days(day, &yy, &mm, &dd);
	if (dd != (unsigned)d) /* 2026-02-30 */
		return -1;
	*out = day * 86400 + h * 3600 + mi * 60 + se - sign * (oh * 3600 + om * 60);
	return 0;
}

static int parse_freeze(struct ctx *c, const struct json *o, size_t idx, struct orch_freeze *f,
			const struct orch_policy *p)
{
	static const char *const keys[] = {"name", "reason", "days", "from", "to", "timezone", NULL};
	char path[64];
	snprintf(path, sizeof path, "freezes[%zu]", idx);
	const char *name, *reason, *from, *to, *zone;
	if (check_keys(c, o, path, keys) < 0 || get_str(c, o, path, "name", true, &name) < 0 ||
	    get_str(c, o, path, "reason", true, &reason) < 0 || get_str(c, o, path, "from", true, &from) < 0 ||
	    get_str(c, o, path, "to", true, &to) < 0 || get_str(c, o, path, "timezone", false, &zone) < 0)
		return -1;
	for (size_t k = 0; k < idx; k++)
		if (!strcmp(p->freezes[k].name, name))
			return bad(c, path, "a second freeze named \"%.80s\"", name);
	if (!(f->name = strdup(name)) || !(f->reason = strdup(reason)))
		return err_errno(c->e, ENOMEM, "policy");
	const struct json *days = json_get(o, "days");
	char where[160];
	if (!days) {
		if (zone)
			return bad(c, path, "\"timezone\" is for recurring freezes (with \"days\")%s", "");
		snprintf(where, sizeof where, "%s.from", path);
		if (parse_instant(from, &f->from) < 0)
			return bad(c, where, "\"%.60s\" is not a time such as 2026-12-20T00:00:00+01:00", from);
		snprintf(where, sizeof where, "%s.to", path);
		if (parse_instant(to, &f->to) < 0)
			return bad(c, where, "\"%.60s\" is not a time such as 2027-01-04T00:00:00+01:00", to);
		if (f->to <= f->from)
			return bad(c, where, "\"%.60s\" is not after \"from\"", to);
		return 0;
	}
	f->recurring = true;
	snprintf(where, sizeof where, "%s.days", path);
	if (days->type != JSON_ARRAY || !days->arr.n)
		return bad(c, where, "a list of days (mon..sun) is needed%s", "");
	for (size_t k = 0; k < days->arr.n; k++) {
		const struct json *d = days->arr.v[k];
		snprintf(where, sizeof where, "%s.days[%zu]", path, k);
		if (d->type != JSON_STRING)
			return bad(c, where, "a day (mon..sun) is needed, not %s", json_type_name(d->type));
		int w = 0;
		while (w < 7 && strcmp(d->str.s, day_names[w]))
			w++;
		if (w == 7 || strlen(d->str.s) != d->str.len)
			return bad(c, where, "\"%.40s\" is not a day (mon..sun)", d->str.s);
		if (f->days & (1u << w))
			return bad(c, where, "\"%.40s\" is listed twice", d->str.s);
		f->days |= (uint8_t)(1u << w);
	}
	snprintf(where, sizeof where, "%s.from", path);
	if (parse_hhmm(from, &f->from_min) < 0 || f->from_min == 1440)
		return bad(c, where, "\"%.60s\" is not a time of day such as 09:30", from);
	snprintf(where, sizeof where, "%s.to", path);
	if (parse_hhmm(to, &f->to_min) < 0)
		return bad(c, where, "\"%.60s\" is not a time of day such as 17:00 (24:00: midnight)", to);
	if (f->to_min <= f->from_min)
		return bad(c, where, "\"%.60s\" is not after \"from\" (a window over midnight is two freezes)", to);
	snprintf(where, sizeof where, "%s.timezone", path);
	if (!zone)
		return bad(c, where, "missing (a zone of the tz database such as Europe/Berlin, or UTC)%s", "");
	struct err ze;
	if (!(f->zone = strdup(zone)))
		return err_errno(c->e, ENOMEM, "policy");
	if (!(f->tz = tz_load(zone, &ze)))
		return bad(c, where, "%s", ze.msg);
	return 0;
}

static int parse_blocker(struct ctx *c, const struct json *o, size_t idx, struct orch_blocker *b,
			 const struct orch_policy *p)
{
	static const char *const keys[] = {"name", "command", "timeout", NULL};
	char path[64], where[96];
	snprintf(path, sizeof path, "blockers[%zu]", idx);
	const char *name, *cmd;
	if (check_keys(c, o, path, keys) < 0 || get_str(c, o, path, "name", true, &name) < 0 ||
	    get_str(c, o, path, "command", true, &cmd) < 0)
		return -1;
	for (size_t k = 0; k < idx; k++)
		if (!strcmp(p->blockers[k].name, name))
			return bad(c, path, "a second blocker named \"%.80s\"", name);
	if (!(b->name = strdup(name)) || !(b->command = strdup(cmd)))
		return err_errno(c->e, ENOMEM, "policy");
	b->timeout_ms = ORCH_BLOCKER_TIMEOUT_S * 1000;
	const struct json *t = json_get(o, "timeout");
	if (t) {
		snprintf(where, sizeof where, "%s.timeout", path);
		if (t->type != JSON_INT || t->i < 1 || t->i > 3600)
			return bad(c, where, "seconds from 1 to 3600 are needed%s", "");
		b->timeout_ms = t->i * 1000;
	}
	return 0;
}

static int parse_list(struct ctx *c, const struct json *root, const char *key, size_t size, void **out,
		      size_t *n, struct orch_policy *p,
		      int (*one)(struct ctx *, const struct json *, size_t, void *, const struct orch_policy *))
{
	const struct json *a = json_get(root, key);
	if (!a)
		return 0;
	if (a->type != JSON_ARRAY)
		return bad(c, key, "a list is needed, not %s", json_type_name(a->type));
	if (a->arr.n > ORCH_POLICY_MAX_ITEMS)
		return bad(c, key, "more than 256 entries%s", "");
	if (!a->arr.n)
		return 0;
	if (!(*out = calloc(a->arr.n, size)))
		return err_errno(c->e, ENOMEM, "policy");
	for (size_t i = 0; i < a->arr.n; i++) {
		(*n)++;
		if (one(c, a->arr.v[i], i, (char *)*out + i * size, p) < 0)
			return -1;
	}
	return 0;
}

static int one_freeze(struct ctx *c, const struct json *o, size_t i, void *f, const struct orch_policy *p)
{
	return parse_freeze(c, o, i, f, p);
}

static int one_blocker(struct ctx *c, const struct json *o, size_t i, void *b, const struct orch_policy *p)
{
	return parse_blocker(c, o, i, b, p);
}

int orch_policy_parse(const char *buf, size_t len, const char *where, struct orch_policy *p, struct err *e)
{
	static const char *const keys[] = {"freezes", "blockers", NULL};
	struct ctx c = {where, e};
	*p = (struct orch_policy){0};
	struct err je;
	struct json *root = json_parse(buf, len, &je);
	if (!root)
		return err_set(e, "%s: %s", where, je.msg);
	int rc = -1;
	if (root->type != JSON_OBJECT) {
		err_set(e, "%s: a JSON object with \"freezes\" and \"blockers\" is needed, not %s", where,
			json_type_name(root->type));
		goto out;
	}
	if (check_keys(&c, root, "(top)", keys) < 0 ||
	    parse_list(&c, root, "freezes", sizeof *p->freezes, (void **)&p->freezes, &p->n_freezes, p, one_freeze) < 0 ||
	    parse_list(&c, root, "blockers", sizeof *p->blockers, (void **)&p->blockers, &p->n_blockers, p,
		       one_blocker) < 0)
		goto out;
	rc = 0;
out:
	json_free(root);
	if (rc < 0)
		orch_policy_free(p);
	return rc;
}

int orch_policy_load(const char *path, struct orch_policy *p, struct err *e)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	*p = (struct orch_policy){0};
	if (fs_read_file(path, ORCH_POLICY_MAX_BYTES, &buf, &len, e) < 0)
		return err_ctx(e, "policy %s", path);
	return orch_policy_parse(buf, len, path, p, e);
}

void orch_policy_free(struct orch_policy *p)
{
	for (size_t i = 0; i < p->n_freezes; i++) {
		free(p->freezes[i].name);
		free(p->freezes[i].reason);
		free(p->freezes[i].zone);
		tz_free(p->freezes[i].tz);
	}
	for (size_t i = 0; i < p->n_blockers; i++) {
		free(p->blockers[i].name);
		free(p->blockers[i].command);
	}
	free(p->freezes);
	free(p->blockers);
	*p = (struct orch_policy){0};
}

int orch_policy_default_path(const char *fleet_path, char **out, struct err *e)
{
	size_t n = strlen(fleet_path);
	if (n > 5 && (!strcmp(fleet_path + n - 5, ".json") || !strcmp(fleet_path + n - 4, ".txt")))
		n -= fleet_path[n - 4] == '.' ? 4 : 5;
	*out = NULL;
	char *path;
	if (asprintf(&path, "%.*s.policy.json", (int)n, fleet_path) < 0)
		return err_errno(e, ENOMEM, "policy");
	if (access(path, F_OK) == 0)
		*out = path;
	else
		free(path);
	return 0;
}

/* ---- windows ---- */

bool orch_freeze_active(const struct orch_freeze *f, int64_t t)
{
	if (!f->recurring)
		return t >= f->from && t < f->to;
	int64_t local = t + tz_offset(f->tz, t);
	int64_t day = local >= 0 ? local / 86400 : (local - 86399) / 86400;
	int wd = (int)(((day + 3) % 7 + 7) % 7); /* 1970-01-01 was a Thursday: 3 from Monday */
	int min = (int)((local - day * 86400) / 60);
	return (f->days >> wd & 1) && min >= f->from_min && min < f->to_min;
}

/* When f, holding at t, stops holding: INT64_MAX when not within a year */
static int64_t freeze_end(const struct orch_freeze *f, int64_t t)
{
	if (!f->recurring)
		return f->to;
	int64_t u = (t / 60 + 1) * 60; /* local offsets are whole minutes: step by minutes */
	for (int k = 0; k < WEEK_MIN; k++, u += 60)
		if (!orch_freeze_active(f, u))
			return u;
	return INT64_MAX; /* every minute of the week */
}

static int64_t freeze_next(const struct orch_freeze *f, int64_t t)
{
	if (!f->recurring)
		return f->from > t ? f->from : INT64_MAX;
	int64_t u = (t / 60 + 1) * 60;
	for (int k = 0; k < WEEK_MIN; k++, u += 60)
		if (orch_freeze_active(f, u))
			return u;
	return INT64_MAX;
}

int orch_policy_frozen(const struct orch_policy *p, int64_t t, size_t *which, int64_t *until)
{
	size_t first = SIZE_MAX;
	for (size_t i = 0; i < p->n_freezes && first == SIZE_MAX; i++)
		if (orch_freeze_active(&p->freezes[i], t))
			first = i;
	if (first == SIZE_MAX)
		return 0;
	/* overlapping and adjoining freezes make one: go on while any holds */
	int64_t u = t;
	for (bool more = true; more && u < t + YEAR_S;) {
		more = false;
		for (size_t i = 0; i < p->n_freezes; i++)
			if (orch_freeze_active(&p->freezes[i], u)) {
				int64_t end = freeze_end(&p->freezes[i], u);
				if (end == INT64_MAX) {
					u = INT64_MAX;
					break;
				}
				u = end, more = true;
			}
	}
	*which = first;
	*until = u >= t + YEAR_S ? INT64_MAX : u;
	return 1;
}

int orch_policy_next_freeze(const struct orch_policy *p, int64_t t, size_t *which, int64_t *at)
{
	int64_t best = INT64_MAX;
	for (size_t i = 0; i < p->n_freezes; i++) {
		int64_t n = freeze_next(&p->freezes[i], t);
		if (n < best)
			best = n, *which = i;
	}
	if (best == INT64_MAX || best > t + YEAR_S)
		return 0;
	*at = best;
	return 1;
}

/* ---- blockers ---- */

#define BLOCKER_OUTPUT_MAX 1000

int orch_blocker_run(const struct orch_blocker *b, char *const *env, char **why)
{
	_cleanup_free_ char *out = NULL;
	struct err e;
	int status, rc = orch_proc_run_output(b->command, env, b->timeout_ms, BLOCKER_OUTPUT_MAX, &status, &out, &e);
	*why = NULL;
	if (rc == 0 && status == 0)
		return 0;
	if (rc == 0 && status == 1) {
		/* its output is the reason: trailing blanks off, control characters out */
		size_t n = strlen(out);
		while (n && (out[n - 1] == '\n' || out[n - 1] == ' ' || out[n - 1] == '\t' || out[n - 1] == '\r'))
			out[--n] = 0;
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)out[i] < 0x20 && out[i] != '\n')
				out[i] = ' ';
		*why = strdup(n ? out : "blocked (no reason given)");
		return 1;
	}
	if (rc < 0)
		rc = asprintf(why, "error: %s", e.msg);
	else if (status == 124)
		rc = asprintf(why, "error: did not finish within %lld s", (long long)(b->timeout_ms / 1000));
	else
		rc = asprintf(why, "error: exited with status %d (0 is clear, 1 blocked)", status);
	if (rc < 0)
		*why = NULL;
	return -1;
}
