/* daemon_pull.c: bringing a version into the host store: pull it from its
 * registry's mirrors first, then from the registry itself (the reference is
 * pinned by digest, so any of them must serve the same bytes), into a layout
 * under state_dir/pull/<hex> (resumable after a crash), then import it into
 * the store (layers unpacked once) and drop the layout. Layers the store
 * already has are not downloaded again. Runs in a pull thread of the app;
 * the API never waits for it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/creds.h"
#include "image/image.h"
#include "image/pull.h"
#include "image/reference.h"
#include "image/registry.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "runtime/daemon.h"
#include "runtime/metrics.h"

struct progress {
	uint64_t bytes;
};

static void on_progress(void *ctx, const struct img_xfer_event *ev)
{
	struct progress *p = ctx;
	if (ev->state == IMG_XFER_DOWNLOADED)
		p->bytes += ev->bytes;
}

/* Registry settings from the config, copied under the daemon's lock. */
struct reg_settings {
	struct img_strv insecure; /* img_strv keeps v NULL-terminated, as the registry wants it */
	char *cacert, *auth_file;
	struct img_strv mirrors;
};

static void settings_free(struct reg_settings *s)
{
	img_strv_free(&s->insecure);
	img_strv_free(&s->mirrors);
	free(s->cacert);
	free(s->auth_file);
}

static int settings_get(struct rt_daemon *d, const char *registry, struct reg_settings *s, struct err *e)
{
	int rc = 0;
	memset(s, 0, sizeof *s);
	pthread_mutex_lock(&d->mu);
	const struct rt_config *c = &d->cfg;
	for (size_t i = 0; rc == 0 && i < c->n_registries; i++)
		if (c->registries[i].insecure)
			rc = img_strv_push(&s->insecure, c->registries[i].name, e);
	const struct rt_registry_config *r = rt_config_registry(c, registry);
	for (size_t i = 0; rc == 0 && r && i < r->mirrors.n; i++)
		rc = img_strv_push(&s->mirrors, r->mirrors.v[i], e);
	if (rc == 0 && ((c->auth_file && !(s->auth_file = strdup(c->auth_file))) ||
			(r && r->cacert && !(s->cacert = strdup(r->cacert)))))
		rc = err_errno(e, ENOMEM, "registry settings");
	pthread_mutex_unlock(&d->mu);
	if (rc < 0)
		settings_free(s);
	return rc;
}

/* Credentials for host/repo from the configured auth file, if it has any. */
static int set_creds(struct img_registry *r, const char *file, const char *host, const char *repo, struct err *e)
{
	_cleanup_free_ char *buf = NULL, *helper = NULL;
	size_t len;
	struct img_creds c = {0};
	if (!file)
		return 0;
	if (fs_read_file(file, 1u << 20, &buf, &len, e) < 0)
		return -1;
	int found = img_creds_parse(buf, len, file, host, repo, &c, &helper, e);
	if (found == 0 && helper)
		found = img_creds_helper(helper, host, &c, e);
	if (found < 0)
		return -1;
	int rc = found ? img_registry_set_creds(r, &c, e) : 0;
	img_creds_free(&c);
	return rc;
}

/* The layout store of a pull, which says "present" for the layers the host
 * store has: those are neither downloaded nor written to the layout (import
 * finds them in the store). Manifests and configs always go to the layout. */
struct skip_store {
	struct img_blob_store base; /* first: img_pull sees this */
	struct img_blob_store_ops ops;
	struct img_layout_store ls;
	struct rt_store *host;
};

static int skip_open(struct img_blob_store *bs, const struct img_descriptor *d, struct img_sha256 *h, uint64_t *have,
		     bool *present, void **w, struct err *e)
{
	struct skip_store *k = (struct skip_store *)bs;
	if (img_media_is_layer(d->media_type, NULL) && rt_store_has_blob(k->host, &d->digest)) {
		*present = true;
		return 0;
	}
	return k->ls.base.ops->open(&k->ls.base, d, h, have, present, w, e);
}

/* The layout store's other hooks, pointed at the layout store itself */
static int skip_plan(struct img_blob_store *bs, const struct img_descriptor *const *ds, size_t n, struct err *e)
{
	struct skip_store *k = (struct skip_store *)bs;
	return k->ls.base.ops->plan(&k->ls.base, ds, n, e);
}

static int skip_finish(struct img_blob_store *bs, struct err *e)
{
	struct skip_store *k = (struct skip_store *)bs;
	return k->ls.base.ops->finish(&k->ls.base, e);
}

/* Pull from one registry (a mirror or the origin) into the layout l. */
static int pull_from(const char *host, const struct img_ref *ref, const struct reg_settings *s,
		     struct img_blob_store *bs, struct img_descriptor *manifest, struct progress *p, struct err *e)
{
	struct img_registry_opts o;
	struct img_pull_opts po = {.progress = on_progress, .progress_ctx = p};
	struct img_pull_result res = {0};
	img_registry_opts_init(&o);
	o.insecure = (const char *const *)s->insecure.v;
	o.cacert = s->cacert;
	struct img_ref r = *ref;
	r.registry = (char *)host;
	struct img_registry *reg = img_registry_open(host, &o, e);
	if (!reg)
		return -1;
	po.no_referrers = true; /* test records are the orchestrator's business */
	int rc = set_creds(reg, s->auth_file, host, ref->repo, e);
	if (rc == 0)
		rc = img_pull(reg, &r, &po, bs, &res, e);
	if (rc == 0 && !img_digest_eq(&res.manifest.digest, &ref->digest))
		rc = err_set(e, "%s is an index, not an image manifest: deploy the digest of this platform's image (%s)",
			     ref->digest.s, res.manifest.digest.s);
	if (rc == 0)
		rc = img_descriptor_copy(manifest, &res.manifest, e);
	img_pull_result_free(&res);
	img_registry_close(reg);
	return rc;
}

int rt_daemon_pull(struct rt_daemon *d, struct rt_app *a, const struct rt_app_version *v, struct err *e)
{
	struct img_ref ref = {0};
	struct reg_settings s;
	struct progress p = {0};
	struct img_image img = {0};
	int64_t t0 = rt_mono_ms();
	int rc = -1;
	char dir[PATH_MAX], ingest[PATH_MAX + 8];
	if (img_ref_parse(v->image, &ref, e) < 0)
		return err_ctx(e, "pull");
	if (!ref.has_digest || !img_digest_eq(&ref.digest, &v->manifest)) {
		img_ref_free(&ref);
		return err_set(e, "pull %s: the reference is not pinned to %s", v->image, v->manifest.s);
	}
	if (settings_get(d, ref.registry, &s, e) < 0) {
		img_ref_free(&ref);
		return -1;
	}
	snprintf(dir, sizeof dir, "%s/pull/%s", d->cfg.state_dir, img_digest_hex(&v->manifest));
	snprintf(ingest, sizeof ingest, "%s/ingest", dir);
	struct skip_store ss = {.host = &d->store};
	struct img_descriptor manifest = {0};
	if (img_layout_create(&img.layout, dir, e) < 0 || img_layout_store_init(&ss.ls, &img.layout, ingest, true, e) < 0) {
		err_ctx(e, "pull %s", v->image);
		goto out;
	}
	ss.ops = *ss.ls.base.ops;
	ss.ops.open = skip_open;
	ss.ops.plan = ss.ls.base.ops->plan ? skip_plan : NULL;
	ss.ops.finish = ss.ls.base.ops->finish ? skip_finish : NULL;
	ss.base.ops = &ss.ops;
	struct err me = {0};
	for (size_t i = 0; i <= s.mirrors.n; i++) {
		const char *host = i < s.mirrors.n ? s.mirrors.v[i] : ref.registry;
		log_info("app %s: pulling %s from %s", a->name, v->manifest.s, host);
		if ((rc = pull_from(host, &ref, &s, &ss.base, &manifest, &p, e)) == 0)
			break;
		if (i < s.mirrors.n) {
			log_warn("app %s: mirror %s: %s", a->name, host, e->msg);
			me = *e;
		}
	}
	rt_metrics_pull(p.bytes, rt_mono_ms() - t0);
	if (rc < 0) {
		char last[sizeof e->msg];
		memcpy(last, e->msg, sizeof last);
		if (s.mirrors.n)
			err_set(e, "%.1200s (the mirrors failed first; the last said: %.500s)", last, me.msg);
		err_ctx(e, "pull %s", v->image);
		goto out;
	}
	/* a pull called off (a revert, another PUT) still ends in the store, but
	 * the phase is the running version's by now */
	pthread_mutex_lock(&a->mu);
	if (a->st.has_desired && img_digest_eq(&a->st.desired.manifest, &v->manifest))
		rt_app_set_phase(a, RT_PHASE_UNPACKING, "unpacking %s", v->manifest.s);
	pthread_mutex_unlock(&a->mu);
	if ((rc = img_image_load(&img, &manifest, NULL, e)) < 0) {
		err_ctx(e, "pulled image");
		goto out;
	}
	pthread_mutex_lock(&d->store_mu);
	rc = rt_store_import(&d->store, &img, NULL, e);
	pthread_mutex_unlock(&d->store_mu);
	if (rc < 0)
		goto out;
	if (fs_rm_rf(dir, e) < 0)
		log_warn("%s", e->msg);
	log_info("app %s: %s in the store (%llu bytes downloaded in %lld ms)", a->name, v->manifest.s,
		 (unsigned long long)p.bytes, (long long)(rt_mono_ms() - t0));
out:
	if (ss.ls.base.ops)
		img_layout_store_free(&ss.ls);
	img_descriptor_free(&manifest);
	img_image_close(&img);
	settings_free(&s);
	img_ref_free(&ref);
	/* On a full disk the partial download would keep it full (rampd could
	 * not even record its state): drop it, the next attempt starts over. */
	if (rc < 0 && (e->errnum == ENOSPC || e->errnum == EDQUOT)) {
		struct err re;
		if (fs_rm_rf(dir, &re) < 0)
			log_warn("%s", re.msg);
		else
			log_warn("app %s: the disk is full: the partial download of %s is removed", a->name, v->manifest.s);
	}
	return rc;
}
