/* build.c: assemble an image from layers, settings and a base (see build.h).
 *
 * Layers are written into a layout (the requested one, or a scratch layout
 * that becomes the archive); the config and manifest are canonical JSON, so
 * the manifest digest depends only on the trees, the settings and the base. */
#include "image/build.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/archive.h"
#include "image/docker_archive.h"
#include "image/image.h"
#include "lib/cleanup.h"
#include "lib/clock.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/log.h"

/* Copy one blob of the base image into the new layout, verifying it. */
static int copy_blob(const struct img_layout *from, const struct img_descriptor *d, const struct img_layout *to,
		     struct err *e)
{
	_cleanup_close_ int fd = -1;
	struct img_blob_writer w;
	enum { BUF = 1 << 20 };
	_cleanup_free_ char *buf = NULL;
	uint64_t size;
	if (img_layout_has_blob(to, &d->digest))
		return 0;
	/* on the heap for the call only: a static buffer would stay resident in every thread */
	if (!(buf = malloc(BUF)))
		return err_errno(e, ENOMEM, "blob %s", d->digest.s);
	if (img_layout_open_blob(from, &d->digest, &fd, &size, e) < 0)
		return -1;
	if (size != (uint64_t)d->size)
		return err_set(e, "blob %s: size is %llu, the manifest says %lld", d->digest.s, (unsigned long long)size,
			       (long long)d->size);
	if (img_blob_writer_open(&w, to, e) < 0)
		return -1;
	for (;;) {
		ssize_t n = read(fd, buf, BUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			img_blob_writer_abort(&w);
			return err_sys(e, "read blob %s", d->digest.s);
		}
		if (n == 0)
			break;
		if (img_blob_writer_write(&w, buf, (size_t)n, e) < 0) {
			img_blob_writer_abort(&w);
			return -1;
		}
	}
	return img_blob_writer_commit(&w, &d->digest, d->size, NULL, NULL, e);
}

static int docker_manifest(const struct img_layout *l, const struct img_manifest *m, const char *tag, struct err *e)
{
	struct strv tags = {0};
	char t[512];
	int rc = 0;
	if (tag) {
		/* docker wants repo:tag; a bare name gets :latest */
		const char *slash = strrchr(tag, '/'), *colon = strrchr(tag, ':');
		snprintf(t, sizeof t, "%s%s", tag, colon && (!slash || colon > slash) ? "" : ":latest");
		rc = strv_push(&tags, t, e);
	}
	struct img_docker_image d = {m, &tags};
	if (rc == 0)
		rc = img_docker_manifest_write(l, &d, 1, e);
	strv_free(&tags);
	return rc;
}

enum { NEW_DIR = 1, NEW_FILES };

/* What a build into dir would create: the directory, the layout's files in an
 * empty directory, or nothing (a layout or other files are there already). */
static int layout_news(const char *dir)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? NEW_DIR : 0;
	for (struct dirent *de; (de = readdir(d));)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			return 0;
	return NEW_FILES;
}

/* A failed build leaves no layout it created behind: the layout's files, and
 * the directory when the build made it. */
static void drop_layout(const char *dir, bool made_dir)
{
	static const char *const names[] = {"blobs", "index.json", "oci-layout"};
	struct err e;
	if (made_dir) {
		if (fs_rm_rf(dir, &e) < 0)
			log_warn("%s", e.msg);
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		_cleanup_free_ char *p = fs_join(dir, names[i]);
		if (p && fs_rm_rf(p, &e) < 0)
			log_warn("%s", e.msg);
	}
}

int img_build(const struct img_build_opts *o, struct img_digest *out_digest, struct err *e)
{
	struct img_image base = {0};
	struct img_layout lay = {0};
	struct img_config cfg = {0};
	struct img_manifest man = {0};
	struct img_index idx = {0};
	_cleanup_free_ char *scratch = NULL, *cfg_json = NULL, *man_json = NULL;
	size_t cfg_len, man_len;
	char created[64] = "";
	int new_layout = 0;
	int rc = -1;

	if (o->have_epoch && clk_rfc3339(o->epoch * 1000, false, created, sizeof created) < 0)
		return err_set(e, "SOURCE_DATE_EPOCH %lld cannot be written as a date", (long long)o->epoch);
	if (o->from) {
		if (img_image_open(o->from, NULL, NULL, &base, e) < 0)
			return err_ctx(e, "base image");
		if (img_config_copy(&cfg, &base.config, e) < 0)
			goto out;
		free(cfg.created);
		cfg.created = NULL;
	} else {
		img_platform_host(&cfg.platform);
	}
	if (created[0] && !(cfg.created = strdup(created))) {
		err_errno(e, ENOMEM, "config");
		goto out;
	}
	if (o->settings && img_settings_apply(o->settings, &cfg, e) < 0)
		goto out;

	/* where the blobs go */
	if (o->layout) {
		new_layout = layout_news(o->layout);
		if (img_layout_create(&lay, o->layout, e) < 0)
			goto out;
	} else {
		if (!(scratch = fs_mkdtemp("ramp-build", e)) || img_layout_create(&lay, scratch, e) < 0)
			goto out;
		lay.scratch = true;
	}

	size_t n_base = base.manifest.n_layers;
	size_t total = n_base + o->n_dirs;
	if (total > IMG_MAX_LAYERS) {
		err_set(e, "%zu layers, more than the limit of %d", total, IMG_MAX_LAYERS);
		goto out;
	}
	if (!(man.layers = calloc(total ? total : 1, sizeof *man.layers)) ||
	    !(cfg.diff_ids = realloc(cfg.diff_ids, (total ? total : 1) * sizeof *cfg.diff_ids))) {
		err_errno(e, ENOMEM, "manifest");
		goto out;
	}
	for (size_t i = 0; i < n_base; i++) {
		if (copy_blob(&base.layout, &base.manifest.layers[i], &lay, e) < 0 ||
		    img_descriptor_copy(&man.layers[i], &base.manifest.layers[i], e) < 0) {
			err_ctx(e, "base image layer %zu", i);
			goto out;
		}
		man.n_layers++;
	}
	for (size_t i = 0; i < o->n_dirs; i++) {
		struct img_layer_result r;
		struct img_layer_opts lo = o->layer;
		lo.clamp = o->have_epoch;
		lo.clamp_to = o->epoch;
		if (img_layer_from_dir(o->dirs[i], &lo, &lay, &r, e) < 0)
			goto out;
		man.layers[man.n_layers++] = r.desc;
		cfg.diff_ids[n_base + i] = r.diff_id;
		cfg.n_diff_ids = n_base + i + 1;
		struct img_history *h = realloc(cfg.history, (cfg.n_history + 1) * sizeof *h);
		if (!h) {
			err_errno(e, ENOMEM, "history");
			goto out;
		}
		cfg.history = h;
		h[cfg.n_history] = (struct img_history){.created = created[0] ? strdup(created) : NULL,
							.created_by = strdup("ramp build")};
		cfg.n_history++;
		if (o->layer_done)
			o->layer_done(o->ctx, i, o->dirs[i], &r);
	}

	if (img_config_json(&cfg, &cfg_json, &cfg_len, e) < 0 ||
	    img_layout_put_blob(&lay, cfg_json, cfg_len, &man.config.digest, e) < 0)
		goto out;
	man.config.size = (int64_t)cfg_len;
	if (!(man.config.media_type = strdup(IMG_MT_OCI_CONFIG))) {
		err_errno(e, ENOMEM, "manifest");
		goto out;
	}
	for (size_t i = 0; o->settings && i < o->settings->annotations.n; i++)
		if (img_kvs_set(&man.annotations, o->settings->annotations.v[i].k, o->settings->annotations.v[i].v, e) < 0)
			goto out;
	if (created[0] && img_kvs_set(&man.annotations, IMG_ANN_CREATED, created, e) < 0)
		goto out;
	if (img_manifest_json(&man, &man_json, &man_len, e) < 0)
		goto out;
	struct img_descriptor md = {.media_type = IMG_MT_OCI_MANIFEST, .size = (int64_t)man_len};
	if (img_layout_put_blob(&lay, man_json, man_len, &md.digest, e) < 0)
		goto out;
	md.has_platform = true;
	md.platform = cfg.platform;
	struct img_kvs ann = {0};
	if (o->tag && img_kvs_set(&ann, IMG_ANN_REF_NAME, o->tag, e) < 0)
		goto out;
	md.annotations = ann;

	/* the new image replaces any image of the same name (or the unnamed one) in a reused layout */
	if (o->layout && img_layout_read_index(&lay, &idx, e) < 0)
		goto out_ann;
	for (size_t i = 0; i < idx.n; i++) {
		const char *ref = img_kvs_get(&idx.manifests[i].annotations, IMG_ANN_REF_NAME);
		if (!idx.manifests[i].artifact_type && ((!ref && !o->tag) || (ref && o->tag && !strcmp(ref, o->tag)))) {
			img_descriptor_free(&idx.manifests[i]);
			memmove(&idx.manifests[i], &idx.manifests[i + 1], (idx.n - i - 1) * sizeof *idx.manifests);
			idx.n--;
			i--;
		}
	}
	if (img_index_add(&idx, &md, e) < 0 || img_layout_write_index(&lay, &idx, e) < 0)
		goto out_ann;
	if (o->docker_manifest && docker_manifest(&lay, &man, o->tag, e) < 0)
		goto out_ann;
	if (o->output && img_archive_write(lay.dir, o->output, e) < 0)
		goto out_ann;
	*out_digest = md.digest;
	rc = 0;
out_ann:
	img_kvs_free(&ann);
out:
	if (scratch) {
		struct err e2;
		if (fs_rm_rf(scratch, &e2) < 0)
			log_warn("%s", e2.msg);
	}
	if (rc < 0 && new_layout)
		drop_layout(o->layout, new_layout == NEW_DIR);
	img_image_close(&base);
	img_layout_close(&lay);
	img_config_free(&cfg);
	img_manifest_free(&man);
	img_index_free(&idx);
	return rc;
}
