/* gc.c: garbage collection of the host store (see gc.h). */
#include "runtime/gc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "image/layout.h"
#include "lib/cleanup.h"
#include "lib/log.h"
#include "runtime/app_state.h"
#include "runtime/store_priv.h"

void rt_gc_opts_init(struct rt_gc_opts *o)
{
	*o = (struct rt_gc_opts){.keep = RT_GC_KEEP_DEFAULT, .ingest_max_age = RT_GC_INGEST_MAX_AGE};
}

/* A set of digests: appended, then sorted once for lookups. */
struct dset {
	struct img_digest *v;
	size_t n, cap;
};

static int dset_add(struct dset *s, const struct img_digest *d, struct err *e)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		struct img_digest *v = realloc(s->v, cap * sizeof *v);
		if (!v)
			return err_errno(e, ENOMEM, "garbage collection");
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = *d;
	return 0;
}

static int cmp_digest(const void *a, const void *b)
{
	return strcmp(((const struct img_digest *)a)->s, ((const struct img_digest *)b)->s);
}

static void dset_sort(struct dset *s)
{
	if (s->n)
		qsort(s->v, s->n, sizeof *s->v, cmp_digest);
}

static bool dset_has_hex(const struct dset *s, const char *hex)
{
	struct img_digest key;
	if (!rt_is_hex64(hex) || !s->n)
		return false;
	snprintf(key.s, sizeof key.s, "sha256:%s", hex);
	return bsearch(&key, s->v, s->n, sizeof *s->v, cmp_digest) != NULL;
}

struct keep {
	struct dset images, layers, blobs;
	time_t now;
	int64_t max_age;
};

static int keep_app(struct rt_store *s, const char *name, unsigned keep, struct dset *images, struct err *e)
{
	struct rt_app_state st;
	int rc = -1;
	if (rt_app_state_read(s, name, &st, e) < 0)
		return -1;
	size_t np = st.n_previous < keep - 1 ? st.n_previous : keep - 1;
	if (st.has_current && dset_add(images, &st.current.manifest, e) < 0)
		goto out;
	if (st.has_desired && dset_add(images, &st.desired.manifest, e) < 0)
		goto out;
	for (size_t i = 0; i < np; i++)
		if (dset_add(images, &st.previous[i].manifest, e) < 0)
			goto out;
	for (size_t i = 0; i < st.n_pinned; i++)
		if (dset_add(images, &st.pinned[i].manifest, e) < 0)
			goto out;
	if (st.n_previous > np) {
		/* a revert must never point at a version that is gone */
		for (size_t i = np; i < st.n_previous; i++)
			rt_app_version_free(&st.previous[i]);
		st.n_previous = np;
		if (rt_app_state_write(s, &st, e) < 0)
			goto out;
	}
	rc = 0;
out:
	rt_app_state_free(&st);
	return rc < 0 ? err_ctx(e, "app \"%s\"", name) : 0;
}

/* An image without a record (downloaded, not imported yet) keeps the blobs
 * its manifest names. */
static int keep_unrecorded(struct rt_store *s, const struct img_digest *d, struct keep *k, struct err *e)
{
	struct img_layout l = {.dir = s->root};
	_cleanup_free_ char *buf = NULL;
	size_t len;
	struct img_manifest m;
	if (!rt_store_has_blob(s, d))
		return 0;
	if (img_layout_read_blob(&l, d, -1, IMG_MANIFEST_MAX, &buf, &len, e) < 0 ||
	    img_manifest_parse(buf, len, &m, e) < 0)
		return err_ctx(e, "image %s", d->s);
	int rc = dset_add(&k->blobs, d, e) < 0 || dset_add(&k->blobs, &m.config.digest, e) < 0 ? -1 : 0;
	for (size_t i = 0; rc == 0 && i < m.n_layers; i++)
		rc = dset_add(&k->blobs, &m.layers[i].digest, e);
	img_manifest_free(&m);
	return rc;
}

/* Its test records, when they were fetched. */
static int keep_referrers(struct rt_store *s, const struct img_digest *d, struct keep *k, struct err *e)
{
	struct img_index x;
	struct img_digest *blobs = NULL;
	size_t n = 0;
	if (rt_store_referrers_get(s, d, &x, e) < 0)
		return e->errnum == ENOENT ? 0 : -1;
	int rc = rt_store_referrers_blobs(s, &x, &blobs, &n, e);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = dset_add(&k->blobs, &blobs[i], e);
	free(blobs);
	img_index_free(&x);
	return rc;
}

static int keep_image(struct rt_store *s, const struct img_digest *d, struct keep *k, struct err *e)
{
	struct rt_store_image im;
	if (keep_referrers(s, d, k, e) < 0)
		return err_ctx(e, "image %s", d->s);
	if (rt_store_record_read(s, d, &im, e) < 0)
		return e->errnum == ENOENT ? keep_unrecorded(s, d, k, e) : -1;
	int rc = dset_add(&k->blobs, &im.manifest, e) < 0 || dset_add(&k->blobs, &im.config, e) < 0 ? -1 : 0;
	for (size_t i = 0; rc == 0 && i < im.n_layers; i++)
		if (dset_add(&k->blobs, &im.digests[i], e) < 0 || dset_add(&k->layers, &im.chain_ids[i], e) < 0)
			rc = -1;
	rt_store_image_free(&im);
	return rc;
}

static bool keep_record(struct rt_store *s, int dfd, const char *name, void *ctx)
{
	struct keep *k = ctx;
	char hex[65];
	(void)s;
	(void)dfd;
	if (strlen(name) != 69 || strcmp(name + 64, ".json"))
		return false;
	memcpy(hex, name, 64);
	hex[64] = '\0';
	return dset_has_hex(&k->images, hex);
}

static bool keep_layer(struct rt_store *s, int dfd, const char *name, void *ctx)
{
	(void)s;
	(void)dfd;
	return dset_has_hex(&((struct keep *)ctx)->layers, name);
}

static bool keep_blob(struct rt_store *s, int dfd, const char *name, void *ctx)
{
	(void)s;
	(void)dfd;
	return dset_has_hex(&((struct keep *)ctx)->blobs, name);
}

/* A download that may still be resumed: not finished, not too old. */
static bool keep_ingest(struct rt_store *s, int dfd, const char *name, void *ctx)
{
	struct keep *k = ctx;
	struct stat st;
	char rel[96];
	snprintf(rel, sizeof rel, "%.64s/state", name);
	if (!rt_is_hex64(name) || fstatat(dfd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return false;
	snprintf(rel, sizeof rel, "blobs/sha256/%s", name);
	if (faccessat(s->fd, rel, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return false;
	return k->now - st.st_mtime < k->max_age;
}

int rt_gc(struct rt_store *s, const struct rt_gc_opts *o, struct rt_gc_stats *st, struct err *e)
{
	struct keep k = {.now = time(NULL), .max_age = o->ingest_max_age};
	struct strv apps = {0};
	int rc = -1;
	*st = (struct rt_gc_stats){0};
	if (o->keep < 1)
		return err_set(e, "garbage collection: keep at least 1 version per app");
	if (rt_app_list(s, &apps, e) < 0)
		goto out;
	for (size_t i = 0; i < apps.n; i++)
		if (keep_app(s, apps.v[i], o->keep, &k.images, e) < 0)
			goto out;
	for (size_t i = 0; i < o->n_in_use; i++)
		if (dset_add(&k.images, &o->in_use[i], e) < 0)
			goto out;
	dset_sort(&k.images);
	for (size_t i = 0; i < k.images.n; i++) {
		if (i > 0 && img_digest_eq(&k.images.v[i], &k.images.v[i - 1]))
			continue;
		if (keep_image(s, &k.images.v[i], &k, e) < 0)
			goto out;
		st->kept_images++;
	}
	dset_sort(&k.layers);
	dset_sort(&k.blobs);
	/* records first: an image is gone before any of its parts is */
	if (rt_store_sweep(s, "images", keep_record, &k, &st->images, e) < 0 ||
	    rt_store_sweep(s, "referrers", keep_record, &k, NULL, e) < 0 ||
	    rt_store_sweep(s, "layers", keep_layer, &k, &st->layers, e) < 0 ||
	    rt_store_sweep(s, "blobs/sha256", keep_blob, &k, &st->blobs, e) < 0 ||
	    rt_store_sweep(s, "ingest", keep_ingest, &k, &st->ingests, e) < 0)
		goto out;
	log_info("store gc: removed %zu images, %zu layers, %zu blobs, %zu downloads", st->images, st->layers, st->blobs,
		 st->ingests);
	rc = 0;
out:
	strv_free(&apps);
	free(k.images.v);
	free(k.layers.v);
	free(k.blobs.v);
	return rc < 0 ? err_ctx(e, "garbage collection of \"%s\"", s->root) : 0;
}
