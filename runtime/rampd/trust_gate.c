/* trust_gate.c: rampd verifies the test records of a version before it runs
 * it (see trust_gate.h). */
#include "runtime/rampd/trust_gate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/layout.h"
#include "image/record.h"
#include "image/reference.h"
#include "image/trust.h"
#include "lib/api.h"
#include "lib/json.h"
#include "lib/log.h"
#include "runtime/rampd/daemon.h"
#include "runtime/rampd/supervisor.h"

static bool has_policy(struct rt_app *a)
{
	rt_daemon_lock(&a->d->mu);
	bool on = a->d->cfg.trust_policy != NULL;
	rt_daemon_unlock(&a->d->mu);
	return on;
}

enum rt_gate_state rt_gate_state(struct rt_app *a, const struct rt_app_version *v)
{
	if (!has_policy(a))
		return RT_GATE_OPEN;
	rt_app_lock(&a->mu);
	enum rt_gate_state s = img_digest_eq(&a->gate.trusted, &v->manifest) ? RT_GATE_OPEN
			       : img_digest_eq(&a->gate.refused, &v->manifest) && a->gate.refused_gen == a->st.generation
				       ? RT_GATE_REFUSED
				       : RT_GATE_FETCH;
	rt_app_unlock(&a->mu);
	return s;
}

/* The records of image in the store, as the policy check takes them. */
struct records {
	struct img_index x;
	struct img_trust_record *r;
	char **bufs;
	size_t n;
};

static void records_free(struct records *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		free(rs->bufs[i]);
	free(rs->bufs);
	free(rs->r);
	img_index_free(&rs->x);
}

/* A record that cannot be read is left out (the check then names the others). */
static int records_read(struct rt_store *s, const struct img_digest *image, struct records *rs, struct err *e)
{
	struct img_layout l = {.dir = s->root};
	*rs = (struct records){0};
	if (rt_store_referrers_get(s, image, &rs->x, e) < 0)
		return -1;
	if (!(rs->r = calloc(rs->x.n + 1, sizeof *rs->r)) || !(rs->bufs = calloc(rs->x.n + 1, sizeof *rs->bufs))) {
		records_free(rs);
		return err_errno(e, ENOMEM, "test records");
	}
	for (size_t i = 0; i < rs->x.n; i++) {
		const struct img_descriptor *d = &rs->x.manifests[i];
		struct img_manifest m;
		struct err re;
		if (rt_store_artifact_read(&l, d, &m, &re) < 0) {
			log_warn("test record of %s: %s", image->s, re.msg);
			continue;
		}
		struct img_trust_record *r = &rs->r[rs->n];
		bool ok = false;
		if (!m.subject || !img_digest_eq(&m.subject->digest, image))
			err_set(&re, "its subject is not %s", image->s);
		else
			ok = img_record_blob(&l, &m, &r->media_type, &rs->bufs[rs->n], &r->len, &re) == 0;
		img_manifest_free(&m);
		if (!ok) {
			log_warn("test record %s of %s: %s", d->digest.s, image->s, re.msg);
			continue;
		}
		r->name = d->digest.s;
		r->buf = rs->bufs[rs->n++];
	}
	return 0;
}

/* Verify v now: 0 (trusted), or -1 with the reason. */
static int verify(struct rt_app *a, const struct rt_app_version *v, struct err *e)
{
	struct img_ref ref;
	struct records rs;
	struct img_platform host;
	struct img_trust_ok ok;
	char repo[600], platform[128];
	if (img_ref_parse(v->image, &ref, e) < 0)
		return -1;
	snprintf(repo, sizeof repo, "%.300s/%.290s", ref.registry, ref.repo);
	img_ref_free(&ref);
	img_platform_host(&host);
	snprintf(platform, sizeof platform, "%.40s/%.40s%s%.40s", host.os, host.architecture, host.variant ? "/" : "",
		 host.variant ? host.variant : "");
	img_platform_free(&host);
	if (records_read(&a->d->store, &v->manifest, &rs, e) < 0)
		return -1;
	rt_daemon_lock(&a->d->mu);
	int rc = img_trust_check(&a->d->cfg.trust, repo, &v->manifest, platform, rs.r, rs.n, &ok, e);
	if (rc == 0)
		log_notice("app %s: %s trusted: test record %s signed by key \"%s\" (%s), policy \"%s\"", a->name,
			   v->manifest.s, rs.r[ok.record].name, ok.key->name, ok.key->key.id.s, ok.policy->name);
	rt_daemon_unlock(&a->d->mu);
	records_free(&rs);
	return rc;
}

void rt_gate_after_pull(struct rt_app *a, const struct img_digest *d)
{
	struct rt_app_version v = {0};
	struct err e;
	int64_t gen;
	if (!has_policy(a))
		return;
	rt_app_lock(&a->mu);
	bool wanted = a->st.has_desired && img_digest_eq(&a->st.desired.manifest, d) &&
		      rt_app_version_copy(&v, &a->st.desired, &e) == 0;
	gen = a->st.generation;
	rt_app_unlock(&a->mu);
	if (!wanted)
		return;
	int rc = verify(a, &v, &e);
	rt_app_lock(&a->mu);
	if (rc == 0) {
		a->gate.trusted = v.manifest;
	} else {
		a->gate.refused = v.manifest;
		a->gate.refused_gen = gen;
		snprintf(a->gate.reason, sizeof a->gate.reason, "%.1000s", e.msg);
		rt_app_set_phase(a, RT_PHASE_FAILED, "refused by the trust policy, staying on %.80s: %.300s",
				 a->st.has_current ? a->st.current.manifest.s : "nothing", e.msg);
	}
	rt_app_unlock(&a->mu);
	if (rc < 0)
		log_warn("app %s: %s refused by the trust policy: %s", a->name, v.manifest.s, e.msg);
	rt_app_version_free(&v);
}

void rt_gate_status_json(const struct rt_app *a, struct jgen *g)
{
	if (!a->st.has_desired || !img_digest_eq(&a->gate.refused, &a->st.desired.manifest) ||
	    a->gate.refused_gen != a->st.generation)
		return;
	jgen_key(g, API_F_REFUSED);
	jgen_obj_open(g);
	jgen_kstr(g, API_F_DIGEST, a->gate.refused.s);
	jgen_kstr(g, API_F_REASON, a->gate.reason);
	jgen_obj_close(g);
}
