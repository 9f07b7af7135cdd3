/* docker_archive.c: docker-archive → OCI layout (see docker_archive.h). */
#include "image/docker_archive.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/verify.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"

#define MAX_IMAGES 256
#define MAX_TAG 256
#define MAX_MANIFEST_JSON (4u << 20)

/* The archive's own names as manifest.json gives them: relative, without
 * "..". The extraction directory holds only directories and regular files
 * that extraction made (links became hard links), so such a name cannot lead
 * out of it; the last component is still opened without following links. */
static int open_part(int dfd, const char *what, const char *field, const char *path, int *fd, struct err *e)
{
	struct stat st;
	bool bad = !*path || path[0] == '/';
	for (const char *p = path; *p && !bad;) {
		size_t len = strcspn(p, "/");
		bad = len == 2 && p[0] == '.' && p[1] == '.';
		p += len + (p[len] == '/');
	}
	if (bad)
		return err_set(e, "%s \"%.200s\" is not a name inside the archive", field, path);
	if ((*fd = openat(dfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		if (errno == ENOENT || errno == ELOOP || errno == ENOTDIR)
			return err_set(e, "%s \"%.200s\" is missing from \"%s\"", field, path, what);
		return err_sys(e, "open \"%s\" in \"%s\"", path, what);
	}
	if (fstat(*fd, &st) < 0)
		return err_sys(e, "stat \"%s\"", path);
	if (!S_ISREG(st.st_mode))
		return err_set(e, "%s \"%.200s\" is not a file", field, path);
	return 0;
}

/* A layer's media type from its first bytes (docker load reads the same). */
static int layer_media_type(int fd, const char *path, const char **mt, struct err *e)
{
	unsigned char m[6] = {0};
	ssize_t n = pread(fd, m, sizeof m, 0);
	if (n < 0)
		return err_sys(e, "read \"%s\"", path);
	if (n >= 2 && m[0] == 0x1f && m[1] == 0x8b)
		*mt = IMG_MT_OCI_LAYER "+gzip";
	else if (n >= 4 && !memcmp(m, "\x28\xb5\x2f\xfd", 4))
		*mt = IMG_MT_OCI_LAYER "+zstd";
	else if (n >= 3 && !memcmp(m, "BZh", 3))
		return err_set(e, "layer \"%s\" is compressed with bzip2; ramp reads plain, gzip and zstd layers", path);
	else if (n == 6 && !memcmp(m, "\xfd" "7zXZ\0", 6))
		return err_set(e, "layer \"%s\" is compressed with xz; ramp reads plain, gzip and zstd layers", path);
	else
		*mt = IMG_MT_OCI_LAYER;
	return 0;
}

/* A layer file → a blob of the layout (a hard link to it), checked against
 * the config's diff_id. */
static int add_layer(const struct img_layout *l, int dfd, const char *what, const char *path,
		     const struct img_digest *diff_id, struct img_descriptor *d, struct err *e)
{
	_cleanup_close_ int fd = -1;
	const char *mt = NULL;
	uint64_t size;
	struct img_digest got;
	char blob[IMG_DIGEST_LEN + 16];
	if (open_part(dfd, what, "layer", path, &fd, e) < 0 || layer_media_type(fd, path, &mt, e) < 0 ||
	    img_sha256_fd(fd, path, &d->digest, &size, e) < 0)
		return -1;
	d->size = (int64_t)size;
	if (!(d->media_type = strdup(mt)))
		return err_errno(e, ENOMEM, "layer");
	snprintf(blob, sizeof blob, "blobs/sha256/%s", img_digest_hex(&d->digest));
	if (linkat(dfd, path, dfd, blob, 0) < 0 && errno != EEXIST)
		return err_sys(e, "link \"%s\" into the layout", path);
	if (!strcmp(mt, IMG_MT_OCI_LAYER))
		got = d->digest;
	else if (img_layer_diff_id(l, d, &got, e) < 0)
		return err_ctx(e, "layer \"%s\"", path);
	if (!img_digest_eq(&got, diff_id))
		return err_set(e, "layer \"%s\": its content hashes to %s, but the config's diff_id is %s", path, got.s,
			       diff_id->s);
	return 0;
}

/* Docker names a config by its digest: "<hex>.json" must be that file's. */
static int check_config_name(const char *path, const struct img_digest *d, struct err *e)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	size_t n = strlen(base);
	if (n != 69 || strcmp(base + 64, ".json") || strspn(base, "0123456789abcdef") != 64)
		return 0;
	if (strncmp(base, img_digest_hex(d), 64))
		return err_set(e, "config \"%s\" hashes to %s, not to its name", path, d->s);
	return 0;
}

static int read_tags(const struct json *item, struct strv *tags, struct err *e)
{
	const struct json *t = json_get(item, "RepoTags");
	if (!t || t->type == JSON_NULL)
		return 0;
	if (t->type != JSON_ARRAY)
		return err_set(e, "RepoTags: expected an array");
	for (size_t i = 0; i < t->arr.n; i++) {
		const struct json *v = t->arr.v[i];
		bool ok = v->type == JSON_STRING && v->str.len > 0 && v->str.len <= MAX_TAG;
		for (size_t k = 0; ok && k < v->str.len; k++)
			ok = v->str.s[k] > 0x20 && v->str.s[k] < 0x7f;
		if (!ok)
			return err_set(e, "RepoTags[%zu]: expected a name of printable characters, at most %d", i, MAX_TAG);
		if (strv_push(tags, v->str.s, e) < 0)
			return -1;
	}
	return 0;
}

/* One image of manifest.json: its config and layers into the layout, its
 * manifest written, one index entry per tag. */
static int convert_one(const struct img_layout *l, int dfd, const char *what, const struct json *item,
		       struct img_manifest *m, struct strv *tags, struct img_index *x, struct err *e)
{
	static const char *const keys[] = {"Config", "RepoTags", "Layers", "Parent", "LayerSources", NULL};
	const struct json *layers;
	const char *cpath;
	_cleanup_close_ int cfd = -1;
	_cleanup_free_ char *cbuf = NULL, *mjson = NULL;
	size_t clen, mlen;
	struct img_config cfg = {0};
	struct img_descriptor md = {.media_type = IMG_MT_OCI_MANIFEST};
	int rc = -1;
	if (item->type != JSON_OBJECT)
		return err_set(e, "expected an object");
	if (json_only_keys(item, keys, "image", e) < 0 || json_field_str(item, "Config", true, &cpath, e) < 0 ||
	    json_field(item, "Layers", JSON_ARRAY, true, &layers, e) < 0 || read_tags(item, tags, e) < 0)
		return -1;
	if (open_part(dfd, what, "config", cpath, &cfd, e) < 0 || fs_read_fd(cfd, cpath, IMG_CONFIG_MAX, &cbuf, &clen, e) < 0)
		return -1;
	if (img_config_parse(cbuf, clen, &cfg, e) < 0) {
		err_ctx(e, "config \"%s\"", cpath);
		goto out;
	}
	if (img_layout_put_blob(l, cbuf, clen, &m->config.digest, e) < 0 ||
	    check_config_name(cpath, &m->config.digest, e) < 0)
		goto out;
	m->config.size = (int64_t)clen;
	if (!(m->config.media_type = strdup(IMG_MT_OCI_CONFIG))) {
		err_errno(e, ENOMEM, "manifest");
		goto out;
	}
	if (layers->arr.n > IMG_MAX_LAYERS) {
		err_set(e, "%zu layers, more than the limit of %d", layers->arr.n, IMG_MAX_LAYERS);
		goto out;
	}
	if (layers->arr.n != cfg.n_diff_ids) {
		err_set(e, "%zu layers, but its config \"%s\" has %zu diff_ids", layers->arr.n, cpath, cfg.n_diff_ids);
		goto out;
	}
	if (layers->arr.n && !(m->layers = calloc(layers->arr.n, sizeof *m->layers))) {
		err_errno(e, ENOMEM, "manifest");
		goto out;
	}
	for (size_t i = 0; i < layers->arr.n; i++) {
		const struct json *p = layers->arr.v[i];
		if (p->type != JSON_STRING) {
			err_set(e, "Layers[%zu]: expected a string", i);
			goto out;
		}
		m->n_layers++;
		if (add_layer(l, dfd, what, p->str.s, &cfg.diff_ids[i], &m->layers[i], e) < 0)
			goto out;
	}
	if (img_manifest_json(m, &mjson, &mlen, e) < 0 || img_layout_put_blob(l, mjson, mlen, &md.digest, e) < 0)
		goto out;
	md.size = (int64_t)mlen;
	md.has_platform = cfg.platform.os && cfg.platform.architecture;
	md.platform = cfg.platform;
	for (size_t i = 0; i < (tags->n ? tags->n : 1); i++) {
		struct img_descriptor d = md;
		d.annotations = (struct img_kvs){0};
		int r = tags->n ? img_kvs_set(&d.annotations, IMG_ANN_REF_NAME, tags->v[i], e) : 0;
		if (r == 0)
			r = img_index_add(x, &d, e);
		img_kvs_free(&d.annotations);
		if (r < 0)
			goto out;
	}
	rc = 0;
out:
	img_config_free(&cfg);
	return rc;
}

int img_docker_archive_convert(const char *dir, const char *what, struct err *e)
{
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), mfd = -1;
	_cleanup_free_ char *buf = NULL;
	size_t len;
	struct json *j = NULL;
	struct img_layout l = {0};
	struct img_index x = {0};
	struct img_manifest *ms = NULL;
	struct strv *tags = NULL;
	struct img_docker_image *out = NULL;
	size_t n = 0;
	int rc = -1;
	if (dfd < 0)
		return err_sys(e, "open \"%s\"", dir);
	if (open_part(dfd, what, "file", "manifest.json", &mfd, e) < 0 ||
	    fs_read_fd(mfd, "manifest.json", MAX_MANIFEST_JSON, &buf, &len, e) < 0)
		goto fail;
	if (!(j = json_parse(buf, len, e)))
		goto fail;
	if (j->type != JSON_ARRAY || j->arr.n == 0 || j->arr.n > MAX_IMAGES) {
		err_set(e, "expected an array of 1 to %d images", MAX_IMAGES);
		goto fail;
	}
	n = j->arr.n;
	if (!(ms = calloc(n, sizeof *ms)) || !(tags = calloc(n, sizeof *tags)) || !(out = calloc(n, sizeof *out))) {
		err_errno(e, ENOMEM, "docker archive");
		goto fail;
	}
	if (img_layout_create(&l, dir, e) < 0)
		goto fail;
	l.scratch = true;
	for (size_t i = 0; i < n; i++) {
		if (convert_one(&l, dfd, what, j->arr.v[i], &ms[i], &tags[i], &x, e) < 0) {
			err_ctx(e, "image %zu", i);
			goto fail;
		}
		out[i] = (struct img_docker_image){&ms[i], &tags[i]};
	}
	/* the layout's index, and a manifest.json naming its blobs */
	if (img_layout_write_index(&l, &x, e) < 0 || img_docker_manifest_write(&l, out, n, e) < 0)
		goto fail;
	rc = 0;
	goto out;
fail:
	err_ctx(e, "docker archive \"%s\": manifest.json", what);
out:
	for (size_t i = 0; ms && i < n; i++)
		img_manifest_free(&ms[i]);
	for (size_t i = 0; tags && i < n; i++)
		strv_free(&tags[i]);
	free(ms);
	free(tags);
	free(out);
	img_index_free(&x);
	img_layout_close(&l);
	json_free(j);
	return rc;
}

int img_docker_manifest_write(const struct img_layout *l, const struct img_docker_image *v, size_t n, struct err *e)
{
	struct jgen *g = jgen_new(false);
	const char *buf;
	size_t len;
	char path[128];
	if (!g)
		return err_errno(e, ENOMEM, "manifest.json");
	jgen_arr_open(g);
	for (size_t k = 0; k < n; k++) {
		const struct img_manifest *m = v[k].manifest;
		jgen_obj_open(g);
		snprintf(path, sizeof path, "blobs/sha256/%s", img_digest_hex(&m->config.digest));
		jgen_kstr(g, "Config", path);
		jgen_key(g, "RepoTags");
		jgen_arr_open(g);
		for (size_t i = 0; i < v[k].tags->n; i++)
			jgen_str(g, v[k].tags->v[i]);
		jgen_arr_close(g);
		jgen_key(g, "Layers");
		jgen_arr_open(g);
		for (size_t i = 0; i < m->n_layers; i++) {
			snprintf(path, sizeof path, "blobs/sha256/%s", img_digest_hex(&m->layers[i].digest));
			jgen_str(g, path);
		}
		jgen_arr_close(g);
		jgen_obj_close(g);
	}
	jgen_arr_close(g);
	int rc = jgen_result(g, &buf, &len, e);
	if (rc == 0) {
		_cleanup_free_ char *p = fs_join(l->dir, "manifest.json");
		rc = p ? fs_write_atomic(p, buf, len, 0644, e) : err_errno(e, ENOMEM, "manifest.json");
	}
	jgen_free(g);
	return rc;
}
