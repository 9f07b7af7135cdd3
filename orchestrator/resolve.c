/* resolve.c: image references and test records for a rollout (see resolve.h). */
#include "orchestrator/resolve.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/oci.h"
#include "image/pull.h"
#include "image/record.h"
#include "image/reference.h"
#include "image/referrers.h"
#include "image/trust.h"
#include "lib/clock.h"
#include "orchestrator/rollout.h"
#include "lib/cleanup.h"
#include "lib/log.h"

/* One referrer: the artifact manifest, then its record, which must be about
 * the image it is attached to. */
static int read_record(struct img_registry *reg, const char *repo, const struct img_digest *image,
		       const struct img_descriptor *ref, struct orch_record *out, struct err *e)
{
	_cleanup_free_ char *raw = NULL, *mt = NULL, *blob = NULL;
	size_t len = 0, blen = 0;
	struct img_digest got;
	struct img_manifest m;
	struct img_record rec;
	int rc = -1;
	if (img_fetch_manifest(reg, repo, ref->digest.s, &raw, &len, &mt, &got, e) < 0 ||
	    img_manifest_parse(raw, len, &m, e) < 0)
		return -1;
	const char *lmt = m.n_layers == 1 ? m.layers[0].media_type : "";
	if (!m.artifact_type || strcmp(m.artifact_type, IMG_MT_TEST_RECORD) || m.n_layers != 1 ||
	    (strcmp(lmt, IMG_MT_TEST_RECORD) && strcmp(lmt, IMG_MT_TEST_RECORD_DSSE))) {
		err_set(e, "not a ramp test record artifact");
		goto out;
	}
	if (!m.subject || !img_digest_eq(&m.subject->digest, image)) {
		err_set(e, "its subject is not %s", image->s);
		goto out;
	}
	if (img_fetch_blob_mem(reg, repo, &m.layers[0], IMG_RECORD_MAX, "test record", &blob, &blen, e) < 0 || img_record_decode(lmt, blob, blen, &rec, e) < 0)
		goto out;
	if (!img_digest_eq(&rec.image, image)) {
		err_set(e, "the record is about %s", rec.image.s);
	} else {
		img_record_platform(&rec, out->platform, sizeof out->platform);
		out->passed = img_record_passed(&rec);
		out->artifact = ref->digest;
		out->media_type = strcmp(lmt, IMG_MT_TEST_RECORD) ? IMG_MT_TEST_RECORD_DSSE : IMG_MT_TEST_RECORD;
		out->blob = steal_ptr(blob);
		out->len = blen;
		rc = 0;
	}
	img_record_free(&rec);
out:
	img_manifest_free(&m);
	return rc;
}

static int lookup(const struct img_ref *ref, const struct img_registry_opts *o, bool records, struct orch_resolved *out,
		  struct err *e)
{
	struct img_registry_opts defaults;
	if (!o) {
		img_registry_opts_init(&defaults);
		o = &defaults;
	}
	struct img_registry *reg = img_registry_open(ref->registry, o, e);
	if (!reg)
		return -1;
	_cleanup_free_ char *raw = NULL, *mt = NULL;
	size_t len;
	struct img_index refs = {0};
	int rc = -1;
	/* by digest too: the manifest must be there, or every host would fail its pull */
	if (img_fetch_manifest(reg, ref->repo, img_ref_object(ref), &raw, &len, &mt, &out->digest, e) < 0)
		goto out;
	if (ref->has_digest && !img_digest_eq(&out->digest, &ref->digest)) {
		err_set(e, "the registry answered %s for %s", out->digest.s, ref->digest.s);
		goto out;
	}
	if (img_outcome_list(reg, ref->repo, &out->digest, &out->outcomes, &out->n_outcomes, e) < 0)
		goto out;
	if (!records) {
		rc = 0;
		goto out;
	}
	if (img_referrers_list(reg, ref->repo, &out->digest, IMG_MT_TEST_RECORD, &refs, e) < 0) {
		err_ctx(e, "test records");
		goto out;
	}
	size_t n = refs.n < ORCH_RECORDS_MAX ? refs.n : ORCH_RECORDS_MAX;
	if (refs.n > n)
		log_warn("image %s/%s@%s: %zu test records; the first %zu are read", ref->registry, ref->repo,
			 out->digest.s, refs.n, n);
	if (n && !(out->records = calloc(n, sizeof *out->records))) {
		err_errno(e, ENOMEM, "test records");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct err re;
		/* one unreadable record does not hide the others; it is not a passing one either */
		if (read_record(reg, ref->repo, &out->digest, &refs.manifests[i], &out->records[out->n_records], &re) < 0)
			log_warn("image %s/%s@%s: test record %s ignored: %s", ref->registry, ref->repo, out->digest.s,
				 refs.manifests[i].digest.s, re.msg);
		else
			out->n_records++;
	}
	out->records_known = true;
	rc = 0;
out:
	img_index_free(&refs);
	img_registry_close(reg);
	return rc;
}

int orch_resolve_image(const char *ref, const struct img_registry_opts *reg, bool records, struct orch_resolved *out,
		       struct err *e)
{
	struct img_ref r;
	*out = (struct orch_resolved){0};
	if (img_ref_parse(ref, &r, e) < 0)
		return -1;
	int rc = -1;
	if (r.has_digest)
		out->digest = r.digest;
	if ((!r.has_digest || records) && lookup(&r, reg, records, out, e) < 0) {
		err_ctx(e, "image %.200s", ref);
		goto out;
	}
	/* a digest taken as given (--allow-untested): its vetoes are looked up all the same, best effort */
	struct err oe;
	if (r.has_digest && !records && lookup(&r, reg, false, out, &oe) < 0)
		log_warn("image %.200s: its outcome records and vetoes could not be read (%s); they are not checked", ref,
			 oe.msg);
	/* a tag next to the digest says nothing more: the digest is what runs */
	if (asprintf(&out->pinned, "%s/%s@%s", r.registry, r.repo, out->digest.s) < 0 ||
	    asprintf(&out->repo, "%s/%s", r.registry, r.repo) < 0) {
		out->pinned = out->repo = NULL;
		err_errno(e, ENOMEM, "image");
		goto out;
	}
	rc = 0;
out:
	if (rc < 0)
		orch_resolved_free(out);
	img_ref_free(&r);
	return rc;
}

void orch_resolved_free(struct orch_resolved *r)
{
	free(r->pinned);
	free(r->repo);
	for (size_t i = 0; i < r->n_records; i++)
		free(r->records[i].blob);
	free(r->records);
	img_outcomes_free(r->outcomes, r->n_outcomes);
	*r = (struct orch_resolved){0};
}

/* Every platform, under the trust policy. */
static int trusted(const struct orch_resolved *r, const char *trust_file, char *const *platforms, size_t n,
		   struct err *e)
{
	struct img_trust t;
	struct img_trust_record *recs = calloc(r->n_records + 1, sizeof *recs);
	int rc = 0;
	if (!recs)
		return err_errno(e, ENOMEM, "test records");
	if (img_trust_load(trust_file, &t, e) < 0) {
		free(recs);
		return -1;
	}
	for (size_t i = 0; i < r->n_records; i++)
		recs[i] = (struct img_trust_record){.name = r->records[i].artifact.s, .media_type = r->records[i].media_type,
						    .buf = r->records[i].blob, .len = r->records[i].len};
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct img_trust_ok ok;
		if (img_trust_check(&t, r->repo, &r->digest, platforms[i], recs, r->n_records, &ok, e) < 0) {
			char why[sizeof e->msg];
			memcpy(why, e->msg, sizeof why);
			rc = err_set(e, "image %s: %.1800s; hosts of the fleet run %s: test it there with "
					"'ramp test --sign-key' and a key the policy trusts, and push it again",
				     r->pinned, why, platforms[i]);
		} else
			log_info("image %s: test record %s for %s signed by key \"%s\" (%s), trusted by policy \"%s\"",
				 r->pinned, r->records[ok.record].artifact.s, platforms[i], ok.key->name, ok.key->key.id.s,
				 ok.policy->name);
	}
	img_trust_free(&t);
	free(recs);
	return rc;
}

int orch_records_check(const struct orch_resolved *r, const char *trust_file, char *const *platforms, size_t n,
		       struct err *e)
{
	if (!r->records_known)
		return err_set(e, "image %s: its test records were not looked up; pass --allow-untested to roll out "
				  "without them",
			       r->pinned);
	if (trust_file)
		return trusted(r, trust_file, platforms, n, e);
	for (size_t i = 0; i < n; i++) {
		bool ok = false;
		for (size_t k = 0; k < r->n_records && !ok; k++)
			ok = r->records[k].passed && !strcmp(r->records[k].platform, platforms[i]);
		if (!ok)
			return err_set(e, "image %s has no passing test record for %s (hosts of the fleet run it; %zu "
					  "record%s found); run 'ramp test' on that platform and push the image again, or "
					  "pass --allow-untested",
				       r->pinned, platforms[i], r->n_records, r->n_records == 1 ? "" : "s");
	}
	return 0;
}

int orch_outcomes_check(const struct orch_resolved *r, const char *override, char *lifted, size_t cap,
			struct err *e)
{
	bool bad;
	char what[1200];
	int k = img_outcome_verdict(r->outcomes, r->n_outcomes, &bad);
	if (k < 0 || !bad)
		return 0;
	img_outcome_describe(&r->outcomes[k], what, sizeof what);
	if (override) {
		snprintf(lifted, cap, "%s", what);
		return 1;
	}
	return err_set(e, "image %s is known bad: %s; 'ramp veto --remove' lifts a veto, --override REASON rolls it out "
			  "all the same",
		       r->pinned, what);
}

int orch_outcome_attach(const struct orch_rollout *r, const struct img_registry_opts *o, struct err *e)
{
	struct img_ref ref;
	struct img_registry_opts defaults;
	struct img_privkey key;
	/* a failure a --resume got past (paused, then done) is not the outcome's */
	bool done = !strcmp(r->result, "done");
	struct img_outcome oc = {.kind = IMG_OUTCOME_ROLLOUT, .app = r->app, .fleet = r->fleet, .rollout = r->id,
				 .result = (char *)r->result, .reason = done ? NULL : r->failure,
				 .override = r->o.override_reason, .version = RAMP_VERSION};
	char t[CLK_RFC3339_MAX];
	_cleanup_free_ char *raw = NULL, *mt = NULL, *by = NULL, *ci = NULL;
	size_t len;
	struct img_descriptor subject = {0};
	struct img_digest art;
	int rc = -1;
	if (img_ref_parse(r->image, &ref, e) < 0)
		return -1;
	/* the failing host, as the failure names it: "h3 (wave 2): why" */
	for (size_t i = 0; oc.reason && i < r->hosts.n && !oc.host; i++) {
		size_t l = strlen(r->hosts.hosts[i].name);
		if (!strncmp(oc.reason, r->hosts.hosts[i].name, l) && !strncmp(oc.reason + l, " (wave ", 7))
			oc.host = r->hosts.hosts[i].name;
	}
	clk_rfc3339(clk_wall_ms(), true, t, sizeof t);
	oc.time = t;
	if (!o) {
		img_registry_opts_init(&defaults);
		o = &defaults;
	}
	if (r->o.sign_key && img_key_private_load(r->o.sign_key, &key, e) < 0) {
		img_ref_free(&ref);
		return err_ctx(e, "--sign-key");
	}
	/* who started it (from its start event, so also after a --resume by
	 * someone else; a journal from before startedBy: who runs this), and
	 * who ended it when that is someone else */
	struct img_registry *reg = img_outcome_who(&by, &ci, e) < 0 ? NULL : img_registry_open(ref.registry, o, e);
	oc.by = r->started_by ? r->started_by : by;
	oc.ci = r->started_by ? r->ci_url : ci;
	oc.finished_by = r->started_by && by && strcmp(by, r->started_by) ? by : NULL;
	if (reg && img_fetch_manifest(reg, ref.repo, ref.digest.s, &raw, &len, &mt, &subject.digest, e) == 0) {
		subject.media_type = mt;
		subject.size = (int64_t)len;
		oc.image = subject.digest;
		rc = img_outcome_push(reg, ref.repo, &subject, &oc, r->o.sign_key ? &key : NULL, &art, e);
		if (rc == 0)
			log_info("outcome record %s (%s) attached to %s", art.s, r->result, r->image);
	}
	img_registry_close(reg);
	if (r->o.sign_key)
		img_key_wipe(&key);
	img_ref_free(&ref);
	return rc;
}
