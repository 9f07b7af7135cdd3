/* import.c: bringing images into the store: blobs from a layout, layers
 * unpacked once keyed by chain id, the image record written last; and
 * flattened copies (see store.h). Reading what is there is store_image.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "image/layout.h"
#include "image/record.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/log.h"
#include "runtime/store.h"
#include "runtime/store_priv.h"
#include "runtime/unpack.h"

/* ---- blobs from a layout ---- */

/* A hard link is free and needs no space; it is used only for a blob only we
 * can write, and verified like a copy. */
static int link_blob(struct rt_store *s, const char *from, const struct img_descriptor *d, struct err *e)
{
	char tmp[96], dst[96];
	struct stat st;
	struct img_digest got;
	uint64_t size;
	snprintf(tmp, sizeof tmp, "ingest/%s.link", img_digest_hex(&d->digest));
	snprintf(dst, sizeof dst, "blobs/sha256/%s", img_digest_hex(&d->digest));
	unlinkat(s->fd, tmp, 0);
	if (linkat(AT_FDCWD, from, s->fd, tmp, 0) < 0)
		return 1;
	_cleanup_close_ int fd = openat(s->fd, tmp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022)) {
		unlinkat(s->fd, tmp, 0);
		return 1;
	}
	if (img_sha256_fd(fd, from, &got, &size, e) < 0) {
		unlinkat(s->fd, tmp, 0);
		return -1;
	}
	if (!img_digest_eq(&got, &d->digest) || (d->size >= 0 && size != (uint64_t)d->size)) {
		unlinkat(s->fd, tmp, 0);
		return err_set(e, "blob %s in \"%s\" does not match its descriptor (it hashes to %s, %llu bytes)",
			       d->digest.s, from, got.s, (unsigned long long)size);
	}
	if (renameat(s->fd, tmp, s->fd, dst) < 0) {
		unlinkat(s->fd, tmp, 0);
		return err_sys(e, "move blob %s into the store", d->digest.s);
	}
	_cleanup_free_ char *dir = rt_store_path(s, "blobs/sha256");
	return dir ? fs_fsync_dir(dir, e) : err_errno(e, ENOMEM, "blob");
}

static int copy_blob(struct rt_store *s, const struct img_layout *src, const struct img_descriptor *d, struct err *e)
{
	enum { BUF = 1 << 20 };
	struct rt_ingest in;
	_cleanup_close_ int fd = -1;
	/* on the heap for the call only: a static buffer would stay resident in every thread */
	_cleanup_free_ char *buf = malloc(BUF);
	if (!buf)
		return err_errno(e, ENOMEM, "blob %s", d->digest.s);
	int r = rt_ingest_open(s, &d->digest, d->size, &in, e);
	if (r != 0)
		return r < 0 ? -1 : 0;
	if (img_layout_open_blob(src, &d->digest, &fd, NULL, e) < 0 || lseek(fd, (off_t)in.offset, SEEK_SET) < 0) {
		if (fd >= 0)
			err_sys(e, "seek blob %s", d->digest.s);
		rt_ingest_close(&in);
		return -1;
	}
	for (;;) {
		ssize_t n = read(fd, buf, BUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_sys(e, "read blob %s", d->digest.s);
			rt_ingest_close(&in);
			return -1;
		}
		if (n == 0)
			break;
		if (rt_ingest_write(&in, buf, (size_t)n, e) < 0) {
			rt_ingest_close(&in);
			return -1;
		}
	}
	return rt_ingest_commit(&in, e);
}

static int import_blob(struct rt_store *s, const struct img_layout *src, const struct img_descriptor *d, struct err *e)
{
	if (rt_store_has_blob(s, &d->digest))
		return 0;
	_cleanup_free_ char *from = img_layout_blob_path(src, &d->digest);
	if (!from)
		return err_errno(e, ENOMEM, "blob");
	if (!img_layout_has_blob(src, &d->digest))
		return err_set(e, "blob %s is missing from \"%s\"", d->digest.s, src->dir);
	int r = link_blob(s, from, d, e);
	return r <= 0 ? r : copy_blob(s, src, d, e);
}

/* ---- layers ---- */

static int write_meta(int dfd, const struct img_digest *chain, const struct img_descriptor *d,
		      const struct rt_unpack_result *r, struct err *e)
{
	struct jgen *g = jgen_new(true);
	const char *buf;
	size_t len;
	int rc = -1;
	if (!g)
		return err_errno(e, ENOMEM, "layer metadata");
	jgen_obj_open(g);
	jgen_kstr(g, "chainID", chain->s);
	jgen_kstr(g, "diffID", r->diff_id.s);
	jgen_kstr(g, "digest", d->digest.s);
	jgen_kstr(g, "mediaType", d->media_type);
	jgen_kint(g, "size", (int64_t)r->tar_size);
	jgen_kint(g, "blobSize", (int64_t)r->blob_size);
	jgen_kint(g, "entries", (int64_t)r->entries);
	jgen_kbool(g, "devices", r->has_devices);
	jgen_obj_close(g);
	if (jgen_result(g, &buf, &len, e) == 0) {
		_cleanup_close_ int fd = openat(dfd, "layer.json", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0)
			err_sys(e, "create layer.json");
		else
			rc = fs_write_all(fd, buf, len, "layer.json", e);
	}
	jgen_free(g);
	return rc;
}

/* What the image's limits leave for its next layer: the layers below
 * (unpacked now or before, for this image or another) count against them. */
struct budget {
	uint64_t bytes, entries;
};

static void layer_opts(const struct rt_store *s, const struct img_descriptor *d, const struct img_digest *diff_id,
		       enum rt_unpack_mode mode, const struct budget *used, struct rt_unpack_opts *o)
{
	const char *comp = "";
	rt_unpack_opts_init(o);
	img_media_is_layer(d->media_type, &comp);
	o->mode = mode;
	o->compression = comp;
	o->digest = &d->digest;
	o->size = d->size;
	o->diff_id = diff_id;
	o->max_bytes = s->limits.image_size - used->bytes;
	o->max_entries = s->limits.entries - used->entries;
	o->reserve = &s->limits.reserve;
}

/* Add a layer's size to what the image has used; refuse it over a limit. */
static int spend(const struct rt_store *s, struct budget *used, uint64_t bytes, uint64_t entries, struct err *e)
{
	if (bytes > s->limits.image_size - used->bytes)
		return err_set(e, "the image's layers expand to more than the limit of %llu bytes "
				  "(limit image_size=SIZE raises it)", (unsigned long long)s->limits.image_size);
	if (entries > s->limits.entries - used->entries)
		return err_set(e, "the image's layers have more than the limit of %llu entries (limit entries=N raises it)",
			       (unsigned long long)s->limits.entries);
	used->bytes += bytes;
	used->entries += entries;
	return 0;
}

static int open_store_blob(struct rt_store *s, const struct img_digest *d, int *fd, struct err *e)
{
	struct img_layout l = rt_store_layout(s);
	return img_layout_open_blob(&l, d, fd, NULL, e);
}

/* Unpack into layers/.tmp-<chain>-XXXXXX/fs, describe it in layer.json, sync,
 * and rename the whole directory to layers/<chain>: it appears complete or
 * not at all. */
static int unpack_layer(struct rt_store *s, const struct img_image *img, const struct img_digest *chains, size_t i,
			struct budget *used, struct err *e)
{
	const struct img_descriptor *d = &img->manifest.layers[i];
	const struct img_digest *chain = &chains[i];
	size_t n = img->manifest.n_layers;
	_cleanup_free_ int *lowers = calloc(i + 1, sizeof *lowers);
	_cleanup_free_ struct img_digest *digests = calloc(n + 1, sizeof *digests);
	size_t n_lowers = 0;
	int rc = -1;
	_cleanup_free_ char *tmp = rt_store_path(s, "layers/.tmp-%s-XXXXXX", img_digest_hex(chain));
	_cleanup_free_ char *dst = rt_store_path(s, "layers/%s", img_digest_hex(chain));
	_cleanup_free_ char *layers = rt_store_path(s, "layers");
	_cleanup_close_ int tfd = -1, fsfd = -1, bfd = -1;
	struct rt_unpack_opts o;
	struct rt_unpack_result r;
	struct err ignored;
	if (!tmp || !dst || !layers || !lowers || !digests)
		return err_errno(e, ENOMEM, "layer");
	if (!mkdtemp(tmp))
		return err_sys(e, "create a directory in \"%s\"", layers);
	if ((tfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || mkdirat(tfd, "fs", 0755) < 0 ||
	    fchmodat(tfd, "fs", 0755, 0) < 0 || (fsfd = openat(tfd, "fs", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		err_sys(e, "prepare \"%s\"", tmp);
		goto fail;
	}
	/* the layers below that are mounted, top-most first: implied directories
	   take their attributes (a layer repeated higher up is not among them:
	   its repetition, above this one, gives the image's tree its entries) */
	for (size_t k = 0; k < n; k++)
		digests[k] = img->manifest.layers[k].digest;
	for (size_t k = i; k-- > 0;) {
		char rel[96];
		if (rt_layer_shadowed(digests, img->config.diff_ids, n, k))
			continue;
		snprintf(rel, sizeof rel, "layers/%s/fs", img_digest_hex(&chains[k]));
		if ((lowers[n_lowers] = openat(s->fd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
			err_sys(e, "open layer \"%s/%s\"", s->root, rel);
			goto fail;
		}
		n_lowers++;
	}
	if (open_store_blob(s, &d->digest, &bfd, e) < 0)
		goto fail;
	layer_opts(s, d, &img->config.diff_ids[i], RT_UNPACK_OVERLAY, used, &o);
	o.lowers = lowers;
	o.n_lowers = n_lowers;
	o.writeback = s->sync;
	if (rt_unpack(bfd, fsfd, &o, &r, e) < 0) {
		if (r.over_limit)
			err_ctx(e, "over the image's limits (image_size=%llu, entries=%llu for all its layers leave this one "
				   "%llu bytes, %llu entries; limit image_size=SIZE or entries=N raises them)",
				(unsigned long long)s->limits.image_size, (unsigned long long)s->limits.entries,
				(unsigned long long)o.max_bytes, (unsigned long long)o.max_entries);
		goto fail;
	}
	if (spend(s, used, r.tar_size, r.entries, e) < 0 || write_meta(tfd, chain, d, &r, e) < 0)
		goto fail;
	if (s->sync && syncfs(tfd) < 0) {
		err_sys(e, "sync \"%s\"", tmp);
		goto fail;
	}
	if (rename(tmp, dst) < 0) {
		if (errno != EEXIST && errno != ENOTEMPTY) {
			err_sys(e, "rename \"%s\" to \"%s\"", tmp, dst);
			goto fail;
		}
		fs_rm_rf(tmp, &ignored); /* made meanwhile: keep that one */
	}
	rc = fs_fsync_dir(layers, e);
	goto out;
fail:
	if (fs_rm_rf(tmp, &ignored) < 0)
		log_warn("%s", ignored.msg);
	err_ctx(e, "layer %zu/%zu %s", i + 1, n, d->digest.s);
out:
	for (size_t k = 0; k < n_lowers; k++)
		close(lowers[k]);
	return rc;
}

/* ---- image records ---- */

static int write_record(struct rt_store *s, const struct img_image *img, const struct img_digest *chains, struct err *e)
{
	const struct img_manifest *m = &img->manifest;
	struct jgen *g = jgen_new(true);
	const char *buf;
	size_t len;
	int rc = -1;
	_cleanup_free_ char *p = rt_store_path(s, "images/%s.json", img_digest_hex(&img->desc.digest));
	if (!g || !p) {
		jgen_free(g);
		return err_errno(e, ENOMEM, "image record");
	}
	jgen_obj_open(g);
	jgen_kint(g, "schemaVersion", RT_RECORD_SCHEMA);
	jgen_kstr(g, "digest", img->desc.digest.s);
	jgen_kstr(g, "mediaType", img->desc.media_type);
	jgen_kstr(g, "config", m->config.digest.s);
	jgen_kint(g, "imported", (int64_t)time(NULL));
	jgen_key(g, "layers");
	jgen_arr_open(g);
	for (size_t i = 0; i < m->n_layers; i++) {
		jgen_obj_open(g);
		jgen_kstr(g, "digest", m->layers[i].digest.s);
		jgen_kstr(g, "mediaType", m->layers[i].media_type);
		jgen_kstr(g, "diffID", img->config.diff_ids[i].s);
		jgen_kstr(g, "chainID", chains[i].s);
		jgen_obj_close(g);
	}
	jgen_arr_close(g);
	jgen_obj_close(g);
	if (jgen_result(g, &buf, &len, e) == 0)
		rc = fs_write_atomic(p, buf, len, 0600, e);
	jgen_free(g);
	return rc;
}

/* ---- import ---- */

/* What an import added to the store, taken back when it fails: the layers and
 * blobs that were not there before it (no other image can use them: imports
 * are one at a time and an image record names only what is present). */
struct added {
	struct img_digest *v; /* hex names under layers/ or blobs/sha256/ */
	size_t n;
};

static int added_push(struct added *a, const struct img_digest *d, struct err *e)
{
	struct img_digest *nv = realloc(a->v, (a->n + 1) * sizeof *nv);
	if (!nv)
		return err_errno(e, ENOMEM, "import");
	a->v = nv;
	a->v[a->n++] = *d;
	return 0;
}

static bool not_added(struct rt_store *s, int dfd, const char *name, void *ctx)
{
	const struct added *a = ctx;
	(void)s;
	(void)dfd;
	for (size_t i = 0; i < a->n; i++)
		if (!strcmp(img_digest_hex(&a->v[i]), name))
			return false;
	return true;
}

static void take_back(struct rt_store *s, struct added *layers, struct added *blobs)
{
	struct err e;
	size_t nl = 0, nb = 0;
	if ((layers->n && rt_store_sweep(s, "layers", not_added, layers, &nl, &e) < 0) ||
	    (blobs->n && rt_store_sweep(s, "blobs/sha256", not_added, blobs, &nb, &e) < 0))
		log_warn("store \"%s\": %s", s->root, e.msg);
	else if (nl + nb)
		log_info("store \"%s\": the failed import's %zu layers and %zu blobs are removed", s->root, nl, nb);
}

/* Refuse before any work what the manifest already says is too much: the
 * limits, and the free space the layers to unpack need at least (their
 * compressed size). */
static int precheck(struct rt_store *s, const struct img_image *img, const struct img_digest *chains, struct err *e)
{
	const struct img_manifest *m = &img->manifest;
	_cleanup_free_ struct img_digest *digests = calloc(m->n_layers + 1, sizeof *digests);
	uint64_t need = 0;
	if (!digests)
		return err_errno(e, ENOMEM, "import");
	if (img_limits_check(&s->limits, m, e) < 0)
		return -1;
	for (size_t i = 0; i < m->n_layers; i++) {
		digests[i] = m->layers[i].digest;
		if (!img_media_is_layer(m->layers[i].media_type, NULL))
			return err_set(e, "layer %zu has unknown media type \"%.100s\"", i + 1, m->layers[i].media_type);
	}
	for (size_t i = 0; i < m->n_layers; i++)
		if (!rt_layer_shadowed(digests, img->config.diff_ids, m->n_layers, i) && !rt_store_layer_present(s, &chains[i]))
			need += (uint64_t)m->layers[i].size;
	if (fs_reserve_check(&s->limits.reserve, s->fd, need, 0, e) < 0)
		return err_ctx(e, "store \"%s\" has no room for its layers, nothing was unpacked", s->root);
	return 0;
}

static int import_layers(struct rt_store *s, const struct img_image *img, const struct img_digest *chains,
			 struct added *layers, struct added *blobs, struct err *e)
{
	const struct img_manifest *m = &img->manifest;
	size_t n = m->n_layers;
	_cleanup_free_ struct img_digest *digests = calloc(n + 1, sizeof *digests);
	struct budget used = {0};
	if (!digests)
		return err_errno(e, ENOMEM, "import");
	for (size_t i = 0; i < n; i++)
		digests[i] = m->layers[i].digest;
	for (size_t i = 0; i < n; i++) {
		const struct img_descriptor *d = &m->layers[i];
		struct rt_layer_meta meta;
		if (rt_layer_shadowed(digests, img->config.diff_ids, n, i))
			continue; /* the same layer higher up is the one unpacked */
		if (!rt_store_has_blob(s, &d->digest) &&
		    (import_blob(s, &img->layout, d, e) < 0 || added_push(blobs, &d->digest, e) < 0))
			return -1;
		if (rt_store_layer_present(s, &chains[i])) {
			/* unpacked before (for another image): it counts all the same */
			if (rt_store_layer_meta(s, &chains[i], &meta, e) < 0 || spend(s, &used, meta.size, meta.entries, e) < 0)
				return err_ctx(e, "layer %zu/%zu %s", i + 1, n, d->digest.s);
			continue;
		}
		log_info("unpacking layer %zu/%zu %s", i + 1, n, d->digest.s);
		if (unpack_layer(s, img, chains, i, &used, e) < 0)
			return -1;
		if (added_push(layers, &chains[i], e) < 0)
			return -1;
	}
	return 0;
}

int rt_store_import(struct rt_store *s, const struct img_image *img, struct rt_store_image *out, struct err *e)
{
	const struct img_manifest *m = &img->manifest;
	size_t n = m->n_layers;
	struct rt_store_image have = {0};
	struct added layers = {0}, blobs = {0};
	struct err ignored;
	int rc = -1;
	/* already imported: a record is written only once all its layers are there */
	if (rt_store_image_get(s, &img->desc.digest, &have, &ignored) == 0) {
		if (out)
			*out = have;
		else
			rt_store_image_free(&have);
		return 0;
	}
	if (img->config.n_diff_ids != n)
		return err_set(e, "image %s: %zu layers but %zu diff_ids", img->desc.digest.s, n, img->config.n_diff_ids);
	_cleanup_free_ struct img_digest *chains = calloc(n + 1, sizeof *chains);
	if (!chains)
		return err_errno(e, ENOMEM, "import");
	rt_chain_ids(img->config.diff_ids, n, chains);
	if (precheck(s, img, chains, e) < 0 || import_layers(s, img, chains, &layers, &blobs, e) < 0)
		goto out;
	for (int k = 0; k < 2; k++) {
		const struct img_digest *d = k ? &img->desc.digest : &m->config.digest;
		if (!rt_store_has_blob(s, d) &&
		    (rt_store_put_blob(s, d, k ? img->manifest_raw : img->config_raw, k ? img->manifest_len : img->config_len,
				       e) < 0 ||
		     added_push(&blobs, d, e) < 0))
			goto out;
	}
	if (write_record(s, img, chains, e) < 0)
		goto out;
	rc = out ? rt_store_image_get(s, &img->desc.digest, out, e) : 0;
out:
	if (rc < 0) {
		err_ctx(e, "import image %s", img->desc.digest.s);
		take_back(s, &layers, &blobs);
	}
	free(layers.v);
	free(blobs.v);
	return rc;
}

int rt_store_flatten(struct rt_store *s, const struct rt_store_image *im, const char *dir, struct err *e)
{
	struct budget used = {0};
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return err_sys(e, "open \"%s\"", dir);
	for (size_t i = 0; i < im->n_layers; i++) {
		struct img_descriptor d = {.media_type = im->media_types[i], .digest = im->digests[i], .size = -1};
		struct rt_unpack_opts o;
		struct rt_unpack_result r;
		_cleanup_close_ int bfd = -1;
		if (rt_layer_shadowed(im->digests, im->diff_ids, im->n_layers, i))
			continue;
		layer_opts(s, &d, &im->diff_ids[i], RT_UNPACK_FLATTEN, &used, &o);
		if (open_store_blob(s, &d.digest, &bfd, e) < 0 || rt_unpack(bfd, dfd, &o, &r, e) < 0 ||
		    spend(s, &used, r.tar_size, r.entries, e) < 0)
			return err_ctx(e, "flatten image %s: layer %s", im->manifest.s, d.digest.s);
	}
	return 0;
}

/* ---- test records ---- */

int rt_store_referrers_put(struct rt_store *s, const struct img_layout *src, const struct img_digest *image,
			   const struct img_descriptor *arts, size_t n, struct err *e)
{
	struct img_index x = {0};
	_cleanup_free_ char *json = NULL, *p = rt_store_path(s, "referrers/%s.json", img_digest_hex(image));
	size_t len;
	int rc = -1;
	if (!p)
		return err_errno(e, ENOMEM, "test records");
	for (size_t i = 0; i < n && x.n < RT_REFERRERS_MAX; i++) {
		struct img_manifest m;
		if (!arts[i].artifact_type || strcmp(arts[i].artifact_type, IMG_MT_TEST_RECORD))
			continue;
		if (rt_store_artifact_read(src, &arts[i], &m, e) < 0)
			goto out;
		int r = import_blob(s, src, &m.config, e);
		for (size_t k = 0; r == 0 && k < m.n_layers; k++)
			r = import_blob(s, src, &m.layers[k], e);
		img_manifest_free(&m);
		if (r < 0 || import_blob(s, src, &arts[i], e) < 0 || img_index_add(&x, &arts[i], e) < 0)
			goto out;
	}
	/* written even when empty: the records were looked for */
	if (img_index_json(&x, &json, &len, e) < 0 || fs_write_atomic(p, json, len, 0600, e) < 0)
		goto out;
	rc = 0;
out:
	img_index_free(&x);
	return rc < 0 ? err_ctx(e, "test records of %s", image->s) : 0;
}
