/* outcome.c: outcome records and vetoes attached to digests (see outcome.h). */
#include "image/outcome.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/dsse.h"
#include "image/image.h"
#include "image/pull.h"
#include "image/push.h"
#include "image/referrers.h"
#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/log.h"

static const char *const KINDS[] = {[IMG_OUTCOME_ROLLOUT] = "rollout", [IMG_OUTCOME_VETO] = "veto",
				    [IMG_OUTCOME_UNVETO] = "unveto"};

const char *img_outcome_kind_name(enum img_outcome_kind k)
{
	return KINDS[k];
}

/* ---- the document ---- */

static void kstr_opt(struct jgen *g, const char *k, const char *v)
{
	if (v)
		jgen_kstr(g, k, v);
}

int img_outcome_json(const struct img_outcome *o, char **out, size_t *len, struct err *e)
{
	struct jgen *g = jgen_new(false);
	const char *buf;
	size_t n;
	if (!g)
		return err_errno(e, ENOMEM, "outcome record");
	jgen_obj_open(g);
	jgen_kstr(g, "kind", KINDS[o->kind]);
	jgen_kstr(g, "image", o->image.s);
	kstr_opt(g, "app", o->app);
	kstr_opt(g, "fleet", o->fleet);
	kstr_opt(g, "rollout", o->rollout);
	kstr_opt(g, "result", o->result);
	kstr_opt(g, "host", o->host);
	kstr_opt(g, "reason", o->reason);
	kstr_opt(g, "override", o->override);
	jgen_kstr(g, "time", o->time ? o->time : "");
	jgen_kstr(g, "by", o->by ? o->by : "");
	kstr_opt(g, "ci", o->ci);
	kstr_opt(g, "finishedBy", o->finished_by);
	jgen_kstr(g, "rampVersion", o->version ? o->version : "");
	jgen_obj_close(g);
	int rc = jgen_result(g, &buf, &n, e);
	if (rc == 0) {
		if (!(*out = strndup(buf, n)))
			rc = err_errno(e, ENOMEM, "outcome record");
		*len = n;
	}
	jgen_free(g);
	return rc;
}

/* A string field into *dst (NULL when absent and not required); at most 4 KiB. */
static int take(const struct json *j, const char *key, bool req, char **dst, struct err *e)
{
	const char *s = NULL;
	if (json_field_str(j, key, req, &s, e) < 0)
		return -1;
	if (!s)
		return 0;
	if (strlen(s) > 4096)
		return err_set(e, "%s: longer than 4096 bytes", key);
	if (!(*dst = strdup(s)))
		return err_errno(e, ENOMEM, "outcome record");
	return 0;
}

static int parse_doc(const struct json *j, struct img_outcome *o, struct err *e)
{
	static const char *const keys[] = {"kind", "image", "app", "fleet", "rollout", "result", "host", "reason",
					   "override", "time", "by", "ci", "finishedBy", "rampVersion", NULL};
	const char *kind = NULL, *img = NULL;
	if (json_only_keys(j, keys, "outcome record", e) < 0 || json_field_str(j, "kind", true, &kind, e) < 0 ||
	    json_field_str(j, "image", true, &img, e) < 0 || img_digest_parse(img, &o->image, e) < 0)
		return -1;
	size_t k = 0;
	while (k < ARRAY_SIZE(KINDS) && strcmp(kind, KINDS[k]))
		k++;
	if (k == ARRAY_SIZE(KINDS))
		return err_set(e, "kind \"%.40s\" is not rollout, veto or unveto", kind);
	o->kind = (enum img_outcome_kind)k;
	bool roll = o->kind == IMG_OUTCOME_ROLLOUT;
	if (take(j, "app", roll, &o->app, e) < 0 || take(j, "fleet", roll, &o->fleet, e) < 0 ||
	    take(j, "rollout", roll, &o->rollout, e) < 0 || take(j, "result", roll, &o->result, e) < 0 ||
	    take(j, "host", false, &o->host, e) < 0 || take(j, "reason", !roll, &o->reason, e) < 0 ||
	    take(j, "override", false, &o->override, e) < 0 || take(j, "time", true, &o->time, e) < 0 ||
	    take(j, "by", true, &o->by, e) < 0 || take(j, "ci", false, &o->ci, e) < 0 ||
	    take(j, "finishedBy", false, &o->finished_by, e) < 0 || take(j, "rampVersion", true, &o->version, e) < 0)
		return -1;
	if (!roll && (o->app || o->fleet || o->rollout || o->result || o->finished_by))
		return err_set(e, "a %s has no app, fleet, rollout, result or finishedBy", kind);
	return 0;
}

int img_outcome_parse(const char *buf, size_t len, struct img_outcome *o, struct err *e)
{
	struct json *j;
	*o = (struct img_outcome){0};
	if (len > IMG_OUTCOME_MAX)
		return err_set(e, "outcome record is %zu bytes, more than the limit of %u", len, IMG_OUTCOME_MAX);
	if (!(j = json_parse(buf, len, e)))
		return err_ctx(e, "outcome record");
	int rc = parse_doc(j, o, e);
	json_free(j);
	if (rc < 0) {
		img_outcome_free(o);
		return err_ctx(e, "outcome record");
	}
	return 0;
}

int img_outcome_decode(const char *media_type, const char *buf, size_t len, struct img_outcome *o, struct err *e)
{
	struct img_dsse d;
	*o = (struct img_outcome){0};
	if (!strcmp(media_type, IMG_MT_OUTCOME))
		return img_outcome_parse(buf, len, o, e);
	if (strcmp(media_type, IMG_MT_OUTCOME_DSSE))
		return err_set(e, "media type \"%.100s\" is not an outcome record's", media_type);
	if (len > IMG_OUTCOME_MAX * 2)
		return err_set(e, "signed outcome record is %zu bytes, more than the limit of %u", len, IMG_OUTCOME_MAX * 2);
	if (img_dsse_parse(buf, len, &d, e) < 0)
		return err_ctx(e, "signed outcome record");
	int rc;
	if (strcmp(d.type, IMG_MT_OUTCOME))
		rc = err_set(e, "signed outcome record: payload type \"%.100s\" is not %s", d.type, IMG_MT_OUTCOME);
	else
		rc = img_outcome_parse(d.payload, d.payload_len, o, e);
	img_dsse_free(&d);
	o->signed_ = rc == 0;
	return rc;
}

void img_outcome_free(struct img_outcome *o)
{
	free(o->app);
	free(o->fleet);
	free(o->rollout);
	free(o->result);
	free(o->host);
	free(o->reason);
	free(o->override);
	free(o->time);
	free(o->by);
	free(o->ci);
	free(o->finished_by);
	free(o->version);
	*o = (struct img_outcome){0};
}

void img_outcomes_free(struct img_outcome *o, size_t n)
{
	for (size_t i = 0; i < n; i++)
		img_outcome_free(&o[i]);
	free(o);
}

/* ---- who ---- */

int img_outcome_who(char **by, char **ci, struct err *e)
{
	static const char *const users[] = {"GITHUB_ACTOR", "GITLAB_USER_LOGIN", "BUILD_USER_ID", "BUILDKITE_BUILD_CREATOR",
					    "CI_USER", NULL};
	const char *u = NULL, *url = NULL;
	_cleanup_free_ char *gh = NULL;
	*by = *ci = NULL;
	for (size_t i = 0; users[i] && !u; i++)
		if ((u = getenv(users[i])) && !*u)
			u = NULL;
	if (!u) {
		struct passwd *pw = getpwuid(getuid());
		u = pw ? pw->pw_name : getenv("USER");
	}
	const char *srv = getenv("GITHUB_SERVER_URL"), *repo = getenv("GITHUB_REPOSITORY"), *run = getenv("GITHUB_RUN_ID");
	if (srv && repo && run && asprintf(&gh, "%s/%s/actions/runs/%s", srv, repo, run) < 0)
		gh = NULL;
	if (!(url = gh) && !(url = getenv("CI_JOB_URL")))
		url = getenv("BUILD_URL");
	if (!(*by = strdup(u ? u : "unknown")) || (url && *url && !(*ci = strdup(url)))) {
		free(*by);
		*by = NULL;
		return err_errno(e, ENOMEM, "outcome record");
	}
	return 0;
}

/* ---- what the records say ---- */

int img_outcome_verdict(const struct img_outcome *o, size_t n, bool *bad)
{
	int which = -1;
	*bad = false;
	for (size_t i = 0; i < n; i++) {
		int says; /* 1 bad, 0 good, -1 nothing */
		if (o[i].kind == IMG_OUTCOME_VETO)
			says = 1;
		else if (o[i].kind == IMG_OUTCOME_UNVETO)
			says = 0;
		else if (!strcmp(o[i].result, "rolled_back") || !strcmp(o[i].result, "revert_incomplete"))
			says = 1;
		else if (!strcmp(o[i].result, "done"))
			says = 0;
		else
			says = -1;
		/* the newest decides; RFC 3339 UTC times order as strings, a tie goes to the later listed */
		if (says < 0 || (which >= 0 && strcmp(o[i].time, o[which].time) < 0))
			continue;
		which = (int)i;
		*bad = says == 1;
	}
	return which;
}

void img_outcome_describe(const struct img_outcome *o, char *buf, size_t cap)
{
	if (o->kind == IMG_OUTCOME_ROLLOUT)
		snprintf(buf, cap, "%s rollout %.100s of %.100s on %.100s: %s%s%.100s%s%.300s by %.100s%s%.100s%s%.300s",
			 o->time, o->rollout, o->app, o->fleet, o->result, o->host ? " at " : "", o->host ? o->host : "",
			 o->reason ? ": " : "", o->reason ? o->reason : "", o->by, o->finished_by ? ", finished by " : "",
			 o->finished_by ? o->finished_by : "", o->override ? ", overriding: " : "",
			 o->override ? o->override : "");
	else
		snprintf(buf, cap, "%s %s by %.100s: %.300s", o->time, o->kind == IMG_OUTCOME_VETO ? "vetoed" : "veto lifted",
			 o->by, o->reason);
}

/* ---- in a registry ---- */

int img_outcome_push(struct img_registry *r, const char *repo, const struct img_descriptor *subject,
		     const struct img_outcome *o, const struct img_privkey *key, struct img_digest *out, struct err *e)
{
	_cleanup_free_ char *json = NULL, *env = NULL;
	size_t len, elen;
	struct img_dsse d;
	if (img_outcome_json(o, &json, &len, e) < 0)
		return -1;
	if (!key)
		return img_push_referrer(r, repo, subject, IMG_MT_OUTCOME, IMG_MT_OUTCOME, json, len, out, e);
	if (img_dsse_sign(IMG_MT_OUTCOME, json, len, key, &d, e) < 0)
		return -1;
	int rc = img_dsse_json(&d, &env, &elen, e);
	img_dsse_free(&d);
	if (rc < 0)
		return -1;
	return img_push_referrer(r, repo, subject, IMG_MT_OUTCOME, IMG_MT_OUTCOME_DSSE, env, elen, out, e);
}

/* The record an artifact carries, which must be about subject. */
static int read_one(struct img_registry *r, const char *repo, const struct img_digest *subject,
		    const struct img_descriptor *ref, struct img_outcome *o, struct err *e)
{
	_cleanup_free_ char *raw = NULL, *mt = NULL, *blob = NULL;
	size_t len, blen;
	struct img_digest got;
	struct img_manifest m;
	int rc = -1;
	if (img_fetch_manifest(r, repo, ref->digest.s, &raw, &len, &mt, &got, e) < 0 ||
	    img_manifest_parse(raw, len, &m, e) < 0)
		return -1;
	if (!m.artifact_type || strcmp(m.artifact_type, IMG_MT_OUTCOME) || m.n_layers != 1)
		err_set(e, "not a ramp outcome record artifact");
	else if (!m.subject || !img_digest_eq(&m.subject->digest, subject))
		err_set(e, "its subject is not %s", subject->s);
	else if (img_fetch_blob_mem(r, repo, &m.layers[0], IMG_OUTCOME_MAX * 2, "outcome record", &blob, &blen, e) == 0 &&
		 img_outcome_decode(m.layers[0].media_type ? m.layers[0].media_type : "", blob, blen, o, e) == 0) {
		if (img_digest_eq(&o->image, subject))
			rc = 0;
		else {
			err_set(e, "the record is about %s", o->image.s);
			img_outcome_free(o);
		}
	}
	img_manifest_free(&m);
	return rc;
}

static int by_time(const void *a, const void *b)
{
	return strcmp(((const struct img_outcome *)a)->time, ((const struct img_outcome *)b)->time);
}

int img_outcome_list(struct img_registry *r, const char *repo, const struct img_digest *subject,
		     struct img_outcome **out, size_t *n, struct err *e)
{
	struct img_index refs;
	*out = NULL;
	*n = 0;
	if (img_referrers_list(r, repo, subject, IMG_MT_OUTCOME, &refs, e) < 0)
		return err_ctx(e, "outcome records");
	size_t max = refs.n < IMG_OUTCOMES_MAX ? refs.n : IMG_OUTCOMES_MAX;
	if (refs.n > max)
		log_warn("%s@%s: %zu outcome records; %zu are read", repo, subject->s, refs.n, max);
	if (max && !(*out = calloc(max, sizeof **out))) {
		img_index_free(&refs);
		return err_errno(e, ENOMEM, "outcome records");
	}
	for (size_t i = 0; i < max; i++) {
		struct err re;
		if (read_one(r, repo, subject, &refs.manifests[i], &(*out)[*n], &re) < 0)
			log_warn("%s@%s: outcome record %s ignored: %s", repo, subject->s, refs.manifests[i].digest.s, re.msg);
		else
			(*n)++;
	}
	img_index_free(&refs);
	if (*n)
		qsort(*out, *n, sizeof **out, by_time);
	return 0;
}

int img_outcome_list_layout(const struct img_image *img, struct img_outcome **out, size_t *n, struct err *e)
{
	struct img_referrer *refs = NULL;
	size_t n_refs = 0;
	*out = NULL;
	*n = 0;
	if (img_image_referrers(img, &refs, &n_refs, e) < 0)
		return -1;
	if (n_refs && !(*out = calloc(n_refs, sizeof **out))) {
		img_referrers_free(refs, n_refs);
		return err_errno(e, ENOMEM, "outcome records");
	}
	for (size_t i = 0; i < n_refs; i++) {
		const struct img_manifest *m = &refs[i].manifest;
		_cleanup_free_ char *buf = NULL;
		size_t len;
		struct err re;
		if (!m->artifact_type || strcmp(m->artifact_type, IMG_MT_OUTCOME))
			continue;
		if (m->n_layers != 1)
			err_set(&re, "not one layer");
		else if (img_layout_read_blob(&img->layout, &m->layers[0].digest, m->layers[0].size, IMG_OUTCOME_MAX * 2,
					      &buf, &len, &re) == 0 &&
			 img_outcome_decode(m->layers[0].media_type ? m->layers[0].media_type : "", buf, len, &(*out)[*n],
					    &re) == 0) {
			if (img_digest_eq(&(*out)[*n].image, &img->desc.digest)) {
				(*n)++;
				continue;
			}
			err_set(&re, "the record is about %s", (*out)[*n].image.s);
			img_outcome_free(&(*out)[*n]);
		}
		log_warn("%s: outcome record %s ignored: %s", img->desc.digest.s, refs[i].desc.digest.s, re.msg);
	}
	img_referrers_free(refs, n_refs);
	if (*n)
		qsort(*out, *n, sizeof **out, by_time);
	return 0;
}
