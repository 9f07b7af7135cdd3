/* host_pull.c: a pinned version into the host store (see host_pull.h). */
#include "runtime/host_pull.h"

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

static void on_progress(void *ctx, const struct img_xfer_event *ev)
{
	uint64_t *bytes = ctx;
	if (ev->state == IMG_XFER_DOWNLOADED)
		*bytes += ev->bytes;
}

/* Credentials for host/repo from the auth file, if it has any. */
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

/* The layout store's other hooks, pointed at the layout store itself; its
 * plan (the free space check) leaves out the layers the store has */
static int skip_plan(struct img_blob_store *bs, const struct img_descriptor *const *ds, size_t n, struct err *e)
{
	struct skip_store *k = (struct skip_store *)bs;
	_cleanup_free_ const struct img_descriptor **want = calloc(n + 1, sizeof *want);
	size_t m = 0;
	if (!want)
		return err_errno(e, ENOMEM, "pull");
	for (size_t i = 0; i < n; i++)
		if (!img_media_is_layer(ds[i]->media_type, NULL) || !rt_store_has_blob(k->host, &ds[i]->digest))
			want[m++] = ds[i];
	return k->ls.base.ops->plan(&k->ls.base, want, m, e);
}

static int skip_finish(struct img_blob_store *bs, struct err *e)
{
	struct skip_store *k = (struct skip_store *)bs;
	return k->ls.base.ops->finish(&k->ls.base, e);
}

/* Pull from one registry (a mirror or the origin) into the layout. */
static int pull_from(const char *host, const struct img_ref *ref, const struct rt_host_pull *p,
		     const struct img_limits *limits, struct img_blob_store *bs, struct img_pull_result *out, uint64_t *bytes,
		     struct err *e)
{
	struct img_registry_opts o;
	struct img_pull_opts po = {.limits = limits, .progress = on_progress, .progress_ctx = bytes};
	struct img_pull_result res = {0};
	img_registry_opts_init(&o);
	o.insecure = p->insecure;
	o.cacert = p->cacert;
	struct img_ref r = *ref;
	r.registry = (char *)host;
	struct img_registry *reg = img_registry_open(host, &o, e);
	if (!reg)
		return -1;
	po.no_referrers = !p->records; /* the host's trust gate reads them (rampd with a trust policy) */
	int rc = set_creds(reg, p->auth_file, host, ref->repo, e);
	if (rc == 0)
		rc = img_pull(reg, &r, &po, bs, &res, e);
	if (rc == 0 && !img_digest_eq(&res.manifest.digest, &ref->digest))
		rc = err_set(e, "%s is an index, not an image manifest: deploy the digest of this platform's image (%s)",
			     ref->digest.s, res.manifest.digest.s);
	if (rc == 0)
		*out = res;
	else
		img_pull_result_free(&res);
	img_registry_close(reg);
	return rc;
}

/* Mirrors first, then the registry; the error names the last failure and,
 * when there are mirrors, what the last mirror said. */
static int download(const struct img_ref *ref, const struct rt_host_pull *p, const struct img_limits *limits,
		    struct img_blob_store *bs, struct img_pull_result *res, uint64_t *bytes, struct err *e)
{
	struct err me = {0};
	size_t n = 0;
	while (p->mirrors && p->mirrors[n])
		n++;
	for (size_t i = 0; i <= n; i++) {
		const char *host = i < n ? p->mirrors[i] : ref->registry;
		log_info("app %s: pulling %s from %s", p->app, ref->digest.s, host);
		if (pull_from(host, ref, p, limits, bs, res, bytes, e) == 0)
			return 0;
		if (i < n) {
			log_warn("app %s: mirror %s: %s", p->app, host, e->msg);
			me = *e;
		}
	}
	if (n) {
		char last[sizeof e->msg];
		int errnum = e->errnum; /* a full disk stays one */
		memcpy(last, e->msg, sizeof last);
		err_set(e, "%.1200s (the mirrors failed first; the last said: %.500s)", last, me.msg);
		e->errnum = errnum;
	}
	return -1;
}

int rt_host_pull(struct rt_store *store, const struct rt_host_pull *p, uint64_t *bytes, struct err *e)
{
	struct img_ref ref = {0};
	struct img_image img = {0};
	struct img_pull_result res = {0};
	struct skip_store ss = {.host = store};
	int rc = -1;
	char ingest[PATH_MAX + 8];
	if (img_ref_parse(p->image, &ref, e) < 0)
		return err_ctx(e, "pull");
	if (!ref.has_digest) {
		img_ref_free(&ref);
		return err_set(e, "pull %s: the reference is not pinned to a digest", p->image);
	}
	snprintf(ingest, sizeof ingest, "%s/ingest", p->dir);
	if (img_layout_create(&img.layout, p->dir, e) < 0 || img_layout_store_init(&ss.ls, &img.layout, ingest, true, e) < 0) {
		err_ctx(e, "pull %s", p->image);
		goto out;
	}
	ss.ls.reserve = &store->limits.reserve;
	ss.ops = *ss.ls.base.ops;
	ss.ops.open = skip_open;
	ss.ops.plan = skip_plan;
	ss.ops.finish = ss.ls.base.ops->finish ? skip_finish : NULL;
	ss.base.ops = &ss.ops;
	*bytes = 0;
	if (download(&ref, p, &store->limits, &ss.base, &res, bytes, e) < 0) {
		err_ctx(e, "pull %s", p->image);
		goto out;
	}
	if (p->before_import && p->before_import(p->ctx, *bytes, e) < 0)
		goto out;
	if (img_image_load(&img, &res.manifest, NULL, e) < 0) {
		err_ctx(e, "pulled image");
		goto out;
	}
	if (rt_store_import(store, &img, NULL, e) < 0 ||
	    (p->records &&
	     rt_store_referrers_put(store, &img.layout, &res.manifest.digest, res.artifacts, res.n_artifacts, e) < 0))
		goto out;
	if (p->imported)
		p->imported(p->ctx);
	if (fs_rm_rf(p->dir, e) < 0)
		log_warn("%s", e->msg);
	rc = 0;
out:
	if (ss.ls.base.ops)
		img_layout_store_free(&ss.ls);
	img_pull_result_free(&res);
	img_image_close(&img);
	img_ref_free(&ref);
	/* On a full disk the partial download would keep it full (rampd could
	 * not even record its state): drop it, the next attempt starts over. */
	if (rc < 0 && (e->errnum == ENOSPC || e->errnum == EDQUOT)) {
		struct err re;
		if (fs_rm_rf(p->dir, &re) < 0)
			log_warn("%s", re.msg);
		else
			log_warn("app %s: the disk is full: the partial download of %s is removed", p->app, p->image);
	}
	return rc;
}
