/* image.c: open an image from an oci-archive or a layout (see image.h). */
#include "image/image.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "image/archive.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/log.h"

bool img_is_local(const char *path)
{
	struct stat st;
	_cleanup_free_ char *lay = fs_join(path, "oci-layout");
	if (stat(path, &st) < 0)
		return false;
	return S_ISREG(st.st_mode) || (S_ISDIR(st.st_mode) && lay && fs_exists(lay));
}

#define REF_HOW "a registry reference is written REGISTRY/REPOSITORY:TAG or REGISTRY/REPOSITORY@sha256:..."

int img_check_not_file(const char *arg, struct err *e)
{
	struct stat st;
	const char *base = strrchr(arg, '/') ? strrchr(arg, '/') + 1 : arg;
	size_t n = strlen(base);
	if (lstat(arg, &st) == 0)
		return err_set(e, "\"%s\" is a %s on this machine, not a registry reference (%s; push an image "
				  "first: ramp push IMAGE REGISTRY/REPOSITORY:TAG)",
			       arg, S_ISDIR(st.st_mode) ? "directory" : "file", REF_HOW);
	bool file = false;
	for (const char *ext = ".tar\0.tar.gz\0.tgz\0"; *ext && !file; ext += strlen(ext) + 1)
		file = n > strlen(ext) && !strcmp(base + n - strlen(ext), ext);
	if (file)
		return err_set(e, "no such file \"%s\" (%s)", arg, REF_HOW);
	return 0;
}

/* Pick one entry of an index: by name, or the only image. Artifacts (test
 * records) are never picked. */
int img_index_pick(const struct img_index *x, const char *name, const char *where, const struct img_descriptor **out,
		   struct err *e)
{
	const struct img_descriptor *found = NULL;
	size_t images = 0;
	for (size_t i = 0; i < x->n; i++) {
		const struct img_descriptor *d = &x->manifests[i];
		if (d->artifact_type || (!img_media_is_manifest(d->media_type) && !img_media_is_index(d->media_type)))
			continue;
		images++;
		const char *ref = img_kvs_get(&d->annotations, IMG_ANN_REF_NAME);
		if (name && (!ref || strcmp(ref, name)))
			continue;
		if (found)
			return err_set(e, "%s holds more than one image%s%s; name one with %s:NAME", where,
				       name ? " named " : "", name ? name : "", where);
		found = d;
	}
	if (!found) {
		if (name)
			return err_set(e, "%s has no image named \"%s\"", where, name);
		return err_set(e, "%s holds no image%s", where, images ? " that matches" : "");
	}
	*out = found;
	return 0;
}

int img_image_load(struct img_image *img, const struct img_descriptor *d, const struct img_platform *platform,
		   struct err *e)
{
	struct img_platform host = {0};
	const struct img_platform *want = platform;
	int rc = -1;
	if (!want) {
		img_platform_host(&host);
		want = &host;
	}
	if (img_descriptor_copy(&img->desc, d, e) < 0)
		goto out;
	/* follow at most one level of index: an index of indexes is refused */
	for (int depth = 0;; depth++) {
		if (img_layout_read_blob(&img->layout, &img->desc.digest, img->desc.size, IMG_MANIFEST_MAX,
					 &img->manifest_raw, &img->manifest_len, e) < 0)
			goto out;
		if (!img_media_is_index(img->desc.media_type))
			break;
		struct img_index x;
		if (depth > 0) {
			err_set(e, "index %s nests another index; not supported", img->desc.digest.s);
			goto out;
		}
		if (img_index_parse(img->manifest_raw, img->manifest_len, &x, e) < 0)
			goto out;
		const struct img_descriptor *sel = NULL;
		for (size_t i = 0; i < x.n && !sel; i++)
			if (x.manifests[i].has_platform && img_media_is_manifest(x.manifests[i].media_type) &&
			    img_platform_match(want, &x.manifests[i].platform))
				sel = &x.manifests[i];
		if (!sel) {
			err_set(e, "index %s has no image for platform %s/%s%s%s", img->desc.digest.s, want->os,
				want->architecture, want->variant ? "/" : "", want->variant ? want->variant : "");
			img_index_free(&x);
			goto out;
		}
		img_descriptor_free(&img->desc);
		free(img->manifest_raw);
		img->manifest_raw = NULL;
		rc = img_descriptor_copy(&img->desc, sel, e);
		img_index_free(&x);
		if (rc < 0)
			goto out;
		rc = -1;
	}
	if (!img_media_is_manifest(img->desc.media_type)) {
		err_set(e, "%s has media type \"%.100s\", not an image manifest", img->desc.digest.s, img->desc.media_type);
		goto out;
	}
	if (img_manifest_parse(img->manifest_raw, img->manifest_len, &img->manifest, e) < 0) {
		err_ctx(e, "%s", img->desc.digest.s);
		goto out;
	}
	const struct img_descriptor *cd = &img->manifest.config;
	if (strcmp(cd->media_type, IMG_MT_OCI_CONFIG) && strcmp(cd->media_type, IMG_MT_DOCKER_CONFIG)) {
		err_set(e, "image config %s has media type \"%.100s\", not an image config", cd->digest.s, cd->media_type);
		goto out;
	}
	if (img_layout_read_blob(&img->layout, &cd->digest, cd->size, IMG_CONFIG_MAX, &img->config_raw, &img->config_len,
				 e) < 0 ||
	    img_config_parse(img->config_raw, img->config_len, &img->config, e) < 0)
		goto out;
	if (img->config.n_diff_ids != img->manifest.n_layers) {
		err_set(e, "image %s: the manifest has %zu layers but the config %zu diff_ids", img->desc.digest.s,
			img->manifest.n_layers, img->config.n_diff_ids);
		goto out;
	}
	for (size_t i = 0; i < img->manifest.n_layers; i++)
		if (!img_media_is_layer(img->manifest.layers[i].media_type, NULL)) {
			err_set(e, "image %s: layer %zu has unknown media type \"%.100s\"", img->desc.digest.s, i,
				img->manifest.layers[i].media_type);
			goto out;
		}
	rc = 0;
out:
	img_platform_free(&host);
	return rc;
}

int img_image_open(const char *path, const char *name, const struct img_platform *platform, struct img_image *img,
		   struct err *e)
{
	struct stat st;
	struct img_index x = {0};
	_cleanup_free_ char *p = strdup(path);
	int rc = -1;
	*img = (struct img_image){0};
	if (!p)
		return err_errno(e, ENOMEM, "image");
	if (stat(p, &st) < 0) {
		int en = errno;
		bool found = false;
		/* PATH:NAME; a NAME may hold colons itself (a docker archive's "repo:tag") */
		for (char *c = !name && en == ENOENT ? strchr(p, ':') : NULL; c && !found; c = strchr(c + 1, ':')) {
			*c = '\0';
			if ((found = stat(p, &st) == 0))
				name = path + (c - p) + 1;
			else
				*c = ':';
		}
		if (!found)
			return err_errno(e, en, "image \"%s\"", path);
	}
	if (!(img->source = strdup(p)))
		return err_errno(e, ENOMEM, "image");
	if (S_ISREG(st.st_mode)) {
		img->is_archive = true;
		if (!(img->tmpdir = fs_mkdtemp("ramp-image", e)))
			goto out;
		if (img_archive_extract(p, img->tmpdir, e) < 0)
			goto out;
		if (img_layout_open(&img->layout, img->tmpdir, e) < 0)
			goto out;
	} else if (S_ISDIR(st.st_mode)) {
		if (img_layout_open(&img->layout, p, e) < 0)
			goto out;
	} else {
		err_set(e, "image \"%s\" is neither a file nor a directory", p);
		goto out;
	}
	if (img_layout_read_index(&img->layout, &x, e) < 0)
		goto out;
	const struct img_descriptor *d = NULL;
	if (img_index_pick(&x, name, p, &d, e) < 0 || img_image_load(img, d, platform, e) < 0) {
		err_ctx(e, "image \"%s\"", p);
		goto out;
	}
	rc = 0;
out:
	img_index_free(&x);
	if (rc < 0)
		img_image_close(img);
	return rc;
}

int img_image_open_desc(const char *dir, const struct img_descriptor *d, const struct img_platform *platform,
			struct img_image *img, struct err *e)
{
	*img = (struct img_image){0};
	if (!(img->source = strdup(dir)))
		return err_errno(e, ENOMEM, "image");
	if (img_layout_open(&img->layout, dir, e) < 0 || img_image_load(img, d, platform, e) < 0) {
		img_image_close(img);
		return -1;
	}
	return 0;
}

int img_image_save(struct img_image *img, struct err *e)
{
	if (!img->is_archive)
		return 0; /* a layout is updated in place */
	return img_archive_write(img->layout.dir, img->source, e);
}

void img_image_close(struct img_image *img)
{
	struct err e;
	if (img->tmpdir && fs_rm_rf(img->tmpdir, &e) < 0)
		log_warn("%s", e.msg);
	free(img->tmpdir);
	free(img->source);
	img_layout_close(&img->layout);
	img_descriptor_free(&img->desc);
	free(img->manifest_raw);
	img_manifest_free(&img->manifest);
	free(img->config_raw);
	img_config_free(&img->config);
	*img = (struct img_image){0};
}

int img_image_referrers(const struct img_image *img, struct img_referrer **out, size_t *n, struct err *e)
{
	struct img_index idx, x;
	struct img_referrer *r = NULL;
	size_t cnt = 0;
	*out = NULL;
	*n = 0;
	if (img_layout_read_index(&img->layout, &idx, e) < 0)
		return -1;
	int rc = img_layout_referrers(&img->layout, &idx, &x, e);
	img_index_free(&idx);
	if (rc < 0)
		return -1;
	for (size_t i = 0; i < x.n; i++) {
		const struct img_descriptor *d = &x.manifests[i];
		_cleanup_free_ char *buf = NULL;
		size_t len;
		struct img_manifest m;
		if (img_layout_read_blob(&img->layout, &d->digest, d->size, IMG_MANIFEST_MAX, &buf, &len, e) < 0 ||
		    img_manifest_parse(buf, len, &m, e) < 0)
			goto fail;
		if (!m.subject || !img_digest_eq(&m.subject->digest, &img->desc.digest)) {
			img_manifest_free(&m);
			continue;
		}
		struct img_referrer *nr = realloc(r, (cnt + 1) * sizeof *nr);
		if (!nr) {
			img_manifest_free(&m);
			err_errno(e, ENOMEM, "referrers");
			goto fail;
		}
		r = nr;
		r[cnt].manifest = m;
		if (img_descriptor_copy(&r[cnt].desc, d, e) < 0) {
			img_manifest_free(&m);
			goto fail;
		}
		cnt++;
	}
	img_index_free(&x);
	*out = r;
	*n = cnt;
	return 0;
fail:
	img_index_free(&x);
	img_referrers_free(r, cnt);
	return -1;
}

void img_referrers_free(struct img_referrer *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		img_descriptor_free(&r[i].desc);
		img_manifest_free(&r[i].manifest);
	}
	free(r);
}
