/* tz.c: TZif files (RFC 8536) and POSIX TZ footers (see tz.h). */
#include "lib/tz.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/fs.h"

#define TZ_MAX_FILE (1 << 20)

struct tz_rule {
	unsigned m, w, d; /* Mm.w.d */
	int32_t secs;     /* local time of day of the change, may be < 0 or > 24 h */
};

struct tz {
	size_t n;          /* transitions */
	int64_t *at;       /* ascending */
	int32_t *off;      /* offset from at[k] on */
	int32_t off0;      /* before the first transition */
	bool footer;       /* a rule after the last transition */
	bool dst;          /* the rule has daylight saving time */
	int32_t std, dstoff;
	struct tz_rule start, end;
};

bool tz_name_valid(const char *name)
{
	size_t len = strlen(name);
	if (!len || len > 64 || name[0] == '/' || name[len - 1] == '/')
		return false;
	const char *p = name;
	while (*p) {
		size_t k = strcspn(p, "/");
		if (!k || (k == 1 && p[0] == '.') || (k == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		for (size_t i = 0; i < k; i++) {
			char c = p[i];
			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
			      c == '-' || c == '+' || c == '.'))
				return false;
		}
		p += k;
		if (*p)
			p++;
	}
	return true;
}

int64_t tz_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void tz_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* ---- the footer: std offset [dst [offset] ,rule,rule] ---- */

static bool rule_name(const char **s)
{
	const char *p = *s;
	if (*p == '<') {
		const char *q = strchr(p, '>');
		if (!q || q - p < 4)
			return false;
		*s = q + 1;
		return true;
	}
	while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))
		p++;
	if (p - *s < 3)
		return false;
	*s = p;
	return true;
}

static bool rule_num(const char **s, long lo, long hi, long *out)
{
	const char *p = *s;
	long v = 0;
	if (*p < '0' || *p > '9')
		return false;
	while (*p >= '0' && *p <= '9') {
		v = v * 10 + (*p++ - '0');
		if (v > hi)
			return false;
	}
	if (v < lo)
		return false;
	*s = p;
	*out = v;
	return true;
}

/* [+-]hh[:mm[:ss]], hours up to max_h; the value in seconds */
static bool rule_time(const char **s, long max_h, int32_t *out)
{
	int sign = 1;
	if (**s == '+' || **s == '-')
		sign = *(*s)++ == '-' ? -1 : 1;
	long h, m = 0, sec = 0;
	if (!rule_num(s, 0, max_h, &h))
		return false;
	if (**s == ':') {
		(*s)++;
		if (!rule_num(s, 0, 59, &m))
			return false;
		if (**s == ':') {
			(*s)++;
			if (!rule_num(s, 0, 59, &sec))
				return false;
		}
	}
	*out = (int32_t)(sign * (h * 3600 + m * 60 + sec));
	return true;
}

static bool rule_date(const char **s, struct tz_rule *r)
{
	long m, w, d;
	if (**s != 'M')
		return false;
	(*s)++;
	if (!rule_num(s, 1, 12, &m) || *(*s)++ != '.' || !rule_num(s, 1, 5, &w) || *(*s)++ != '.' ||
	    !rule_num(s, 0, 6, &d))
		return false;
	r->m = (unsigned)m, r->w = (unsigned)w, r->d = (unsigned)d;
	r->secs = 7200;
	if (**s == '/') {
		(*s)++;
		return rule_time(s, 167, &r->secs);
	}
	return true;
}

static bool parse_footer(struct tz *z, const char *s)
{
	int32_t t;
	if (!rule_name(&s) || !rule_time(&s, 24, &t))
		return false;
	z->std = -t;
	if (!*s)
		return true;
	if (!rule_name(&s))
		return false;
	z->dst = true;
	z->dstoff = z->std + 3600;
	if (*s != ',') {
		if (!rule_time(&s, 24, &t))
			return false;
		z->dstoff = -t;
	}
	if (*s++ != ',' || !rule_date(&s, &z->start) || *s++ != ',' || !rule_date(&s, &z->end))
		return false;
	return *s == 0;
}

/* the Unix time of a rule's change in year y, its local time read with offset off */
static int64_t rule_at(const struct tz_rule *r, int64_t y, int32_t off)
{
	int64_t first = tz_days_from_civil(y, r->m, 1);
	int64_t wd = ((first + 4) % 7 + 7) % 7; /* 0 = Sunday */
	int64_t day = first + ((int64_t)r->d - wd + 7) % 7 + 7 * ((int64_t)r->w - 1);
	unsigned mlen = r->m == 12 ? 31 : (unsigned)(tz_days_from_civil(y, r->m + 1, 1) - first);
	while (day >= first + mlen)
		day -= 7;
	return day * 86400 + r->secs - off;
}

static int32_t footer_offset(const struct tz *z, int64_t t)
{
	if (!z->dst)
		return z->std;
	int64_t y;
	unsigned m, d;
	int64_t days = t + z->std;
	days = (days >= 0 ? days : days - 86399) / 86400;
	tz_civil_from_days(days, &y, &m, &d);
	int64_t start = rule_at(&z->start, y, z->std), end = rule_at(&z->end, y, z->dstoff);
	bool in = start < end ? t >= start && t < end : t < end || t >= start;
	return in ? z->dstoff : z->std;
}

/* ---- the file ---- */

struct tz *tz_parse(const char *name, const unsigned char *buf, size_t len, struct err *e)
{
	if (len < 44 || memcmp(buf, "TZif", 4) || buf[4] < '2') {
		err_set(e, "time zone %s: not a TZif file of version 2 or later", name);
		return NULL;
	}
	/* skip the 32-bit block */
	uint64_t c[6];
	for (int i = 0; i < 6; i++)
		c[i] = be32(buf + 20 + 4 * i);
	uint64_t skip = 44 + c[3] * 5 + c[4] * 6 + c[5] + c[2] * 8 + c[1] + c[0];
	if (skip + 44 > len || memcmp(buf + skip, "TZif", 4))
		goto bad;
	const unsigned char *h = buf + skip;
	for (int i = 0; i < 6; i++)
		c[i] = be32(h + 20 + 4 * i);
	uint64_t isut = c[0], isstd = c[1], leap = c[2], timecnt = c[3], typecnt = c[4], charcnt = c[5];
	if (!typecnt || typecnt > 256 || timecnt > 100000 || leap > 100000 || charcnt > 100000 ||
	    (isut && isut != typecnt) || (isstd && isstd != typecnt))
		goto bad;
	uint64_t body = timecnt * 9 + typecnt * 6 + charcnt + leap * 12 + isstd + isut;
	if (44 + body > len - skip)
		goto bad;
	const unsigned char *tt = h + 44, *ti = tt + timecnt * 8, *ty = ti + timecnt;
	struct tz *z = calloc(1, sizeof *z);
	if (!z || !(z->at = calloc(timecnt + 1, sizeof *z->at)) || !(z->off = calloc(timecnt + 1, sizeof *z->off))) {
		tz_free(z);
		err_errno(e, ENOMEM, "time zone %s", name);
		return NULL;
	}
	z->n = timecnt;
	for (uint64_t k = 0; k < timecnt; k++) {
		z->at[k] = be64(tt + 8 * k);
		if (ti[k] >= typecnt || (k && z->at[k] <= z->at[k - 1]))
			goto bad_free;
		z->off[k] = (int32_t)be32(ty + 6 * ti[k]);
	}
	for (uint64_t k = 0; k < typecnt; k++) {
		int32_t o = (int32_t)be32(ty + 6 * k);
		if (o < -25 * 3600 || o > 26 * 3600 || ty[6 * k + 4] > 1)
			goto bad_free;
	}
	z->off0 = (int32_t)be32(ty);
	/* the footer: "\n" rule "\n" */
	const char *f = (const char *)h + 44 + body, *end = (const char *)buf + len;
	if (f >= end || *f != '\n')
		goto bad_free;
	const char *nl = memchr(f + 1, '\n', (size_t)(end - f - 1));
	if (!nl || nl - f - 1 > 200)
		goto bad_free;
	if (nl > f + 1) {
		char rule[256];
		memcpy(rule, f + 1, (size_t)(nl - f - 1));
		rule[nl - f - 1] = 0;
		if (!parse_footer(z, rule)) {
			err_set(e, "time zone %s: its rule \"%s\" is not one ramp understands (Mm.w.d changes only)", name,
				rule);
			tz_free(z);
			return NULL;
		}
		z->footer = true;
	}
	return z;
bad_free:
	tz_free(z);
bad:
	err_set(e, "time zone %s: the TZif file is malformed", name);
	return NULL;
}

struct tz *tz_load(const char *name, struct err *e)
{
	if (!tz_name_valid(name)) {
		err_set(e, "\"%.80s\" is not a time zone name (such as Europe/Berlin)", name);
		return NULL;
	}
	const char *dir = getenv("TZDIR");
	_cleanup_free_ char *path = NULL, *buf = NULL;
	size_t len;
	if (asprintf(&path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name) < 0) {
		err_errno(e, ENOMEM, "time zone");
		return NULL;
	}
	struct err fe;
	if (fs_read_file(path, TZ_MAX_FILE, &buf, &len, &fe) < 0) {
		err_set(e, "\"%s\" is not a time zone of the tz database (%s)", name, fe.msg);
		return NULL;
	}
	return tz_parse(name, (const unsigned char *)buf, len, e);
}

void tz_free(struct tz *z)
{
	if (!z)
		return;
	free(z->at);
	free(z->off);
	free(z);
}

int32_t tz_offset(const struct tz *z, int64_t t)
{
	if (!z->n || t < z->at[0])
		return z->n || !z->footer ? z->off0 : footer_offset(z, t);
	if (t >= z->at[z->n - 1] && z->footer)
		return footer_offset(z, t);
	size_t lo = 0, hi = z->n; /* at[lo] <= t < at[hi] */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (z->at[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	return z->off[lo];
}
