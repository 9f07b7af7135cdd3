/* layout.c: OCI image layout directories (see layout.h). */
#include "image/layout.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/json.h"

#define OCI_LAYOUT_JSON "{\"imageLayoutVersion\":\"1.0.0\"}"

int img_layout_open(struct img_layout *l, const char *dir, struct err *e)
{
	_cleanup_free_ char *p = fs_join(dir, "oci-layout");
	_cleanup_free_ char *buf = NULL;
	struct json *j;
	size_t len;
	l->dir = NULL;
	if (!p)
		return err_errno(e, ENOMEM, "layout");
	if (fs_read_file(p, 4096, &buf, &len, e) < 0) {
		if (e->errnum == ENOENT)
			return err_set(e, "\"%s\" is not an OCI archive, layout or docker archive: the directory has no "
					  "oci-layout file",
				       dir);
		return err_ctx(e, "not an OCI image layout: \"%s\"", dir);
	}
	if (!(j = json_parse(buf, len, e)))
		return err_ctx(e, "\"%s\"", p);
	const char *v = json_get_str(j, "imageLayoutVersion");
	if (!v || strcmp(v, "1.0.0")) {
		json_free(j);
		return err_set(e, "\"%s\": unsupported imageLayoutVersion (expected 1.0.0)", p);
	}
	json_free(j);
	if (!(l->dir = strdup(dir)))
		return err_errno(e, ENOMEM, "layout");
	return 0;
}

int img_layout_create(struct img_layout *l, const char *dir, struct err *e)
{
	_cleanup_free_ char *blobs = fs_join(dir, "blobs/sha256");
	_cleanup_free_ char *lay = fs_join(dir, "oci-layout");
	_cleanup_free_ char *idx = fs_join(dir, "index.json");
	l->dir = NULL;
	if (!blobs || !lay || !idx)
		return err_errno(e, ENOMEM, "layout");
	if (fs_mkdir_p(blobs, 0755, e) < 0)
		return -1;
	if (!fs_exists(lay) && fs_write_atomic(lay, OCI_LAYOUT_JSON, strlen(OCI_LAYOUT_JSON), 0644, e) < 0)
		return -1;
	if (!(l->dir = strdup(dir)))
		return err_errno(e, ENOMEM, "layout");
	if (!fs_exists(idx)) {
		struct img_index x = {0};
		if (img_layout_write_index(l, &x, e) < 0) {
			img_layout_close(l);
			return -1;
		}
	}
	return 0;
}

void img_layout_close(struct img_layout *l)
{
	free(l->dir);
	l->dir = NULL;
}

char *img_layout_blob_path(const struct img_layout *l, const struct img_digest *d)
{
	char *p;
	/* the digest was validated when parsed: 64 hex digits, no path characters */
	if (asprintf(&p, "%s/blobs/sha256/%s", l->dir, img_digest_hex(d)) < 0)
		return NULL;
	return p;
}

bool img_layout_has_blob(const struct img_layout *l, const struct img_digest *d)
{
	_cleanup_free_ char *p = img_layout_blob_path(l, d);
	struct stat st;
	return p && lstat(p, &st) == 0 && S_ISREG(st.st_mode);
}

int img_layout_open_blob(const struct img_layout *l, const struct img_digest *d, int *fd, uint64_t *size,
			 struct err *e)
{
	_cleanup_free_ char *p = img_layout_blob_path(l, d);
	struct stat st;
	if (!p)
		return err_errno(e, ENOMEM, "blob path");
	int f = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	if (f < 0) {
		if (errno == ENOENT)
			return err_set(e, "blob %s is missing from \"%s\"", d->s, l->dir);
		return err_sys(e, "open blob \"%s\"", p);
	}
	if (fstat(f, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(f);
		return err_set(e, "blob \"%s\" is not a regular file", p);
	}
	fcntl(f, F_SETFL, 0);
	*fd = f;
	if (size)
		*size = (uint64_t)st.st_size;
	return 0;
}

int img_layout_read_blob(const struct img_layout *l, const struct img_digest *d, int64_t size, size_t max,
			 char **buf, size_t *len, struct err *e)
{
	_cleanup_close_ int fd = -1;
	uint64_t fsize;
	struct img_digest got;
	if (img_layout_open_blob(l, d, &fd, &fsize, e) < 0)
		return -1;
	if (size >= 0 && fsize != (uint64_t)size)
		return err_set(e, "blob %s: size is %llu, descriptor says %lld", d->s, (unsigned long long)fsize,
			       (long long)size);
	if (fsize > max)
		return err_set(e, "blob %s: %llu bytes, more than the limit of %zu", d->s, (unsigned long long)fsize, max);
	if (fs_read_fd(fd, d->s, max, buf, len, e) < 0)
		return -1;
	img_sha256_buf(*buf, *len, &got);
	if (!img_digest_eq(&got, d)) {
		free(*buf);
		*buf = NULL;
		return err_set(e, "blob %s: content does not match its digest (it hashes to %s)", d->s, got.s);
	}
	return 0;
}

int img_blob_writer_open(struct img_blob_writer *w, const struct img_layout *l, struct err *e)
{
	_cleanup_free_ char *dst = fs_join(l->dir, "blobs/sha256/ingest");
	w->l = l;
	w->size = 0;
	w->h.ctx = NULL;
	w->a = (struct fs_atomic){.fd = -1};
	if (!dst)
		return err_errno(e, ENOMEM, "blob");
	if (img_sha256_init(&w->h, e) < 0)
		return -1;
	if (fs_atomic_open(&w->a, dst, 0644, e) < 0) {
		img_sha256_free(&w->h);
		return -1;
	}
	w->a.nosync = l->scratch;
	return 0;
}

int img_blob_writer_write(struct img_blob_writer *w, const void *buf, size_t len, struct err *e)
{
	if (fs_write_all(w->a.fd, buf, len, w->a.tmp, e) < 0)
		return -1;
	img_sha256_update(&w->h, buf, len);
	w->size += len;
	return 0;
}

int img_blob_writer_commit(struct img_blob_writer *w, const struct img_digest *expect, int64_t expect_size,
			   struct img_digest *out, uint64_t *size, struct err *e)
{
	struct img_digest d;
	img_sha256_final(&w->h, &d);
	if (expect && !img_digest_eq(expect, &d)) {
		img_blob_writer_abort(w);
		return err_set(e, "blob %s: content hashes to %s, refusing it", expect->s, d.s);
	}
	if (expect_size >= 0 && (uint64_t)expect_size != w->size) {
		img_blob_writer_abort(w);
		return err_set(e, "blob %s: %llu bytes, expected %lld", d.s, (unsigned long long)w->size,
			       (long long)expect_size);
	}
	free(w->a.dst);
	if (!(w->a.dst = img_layout_blob_path(w->l, &d))) {
		img_blob_writer_abort(w);
		return err_errno(e, ENOMEM, "blob");
	}
	if (fs_atomic_commit(&w->a, e) < 0)
		return -1;
	if (out)
		*out = d;
	if (size)
		*size = w->size;
	return 0;
}

void img_blob_writer_abort(struct img_blob_writer *w)
{
	img_sha256_free(&w->h);
	fs_atomic_abort(&w->a);
}

int img_layout_put_blob(const struct img_layout *l, const void *buf, size_t len, struct img_digest *out,
			struct err *e)
{
	struct img_digest d;
	img_sha256_buf(buf, len, &d);
	if (out)
		*out = d;
	if (img_layout_has_blob(l, &d))
		return 0;
	_cleanup_free_ char *p = img_layout_blob_path(l, &d);
	if (!p)
		return err_errno(e, ENOMEM, "blob");
	return fs_write_atomic(p, buf, len, 0644, e);
}

int img_layout_read_index(const struct img_layout *l, struct img_index *x, struct err *e)
{
	_cleanup_free_ char *p = fs_join(l->dir, "index.json");
	_cleanup_free_ char *buf = NULL;
	size_t len;
	if (!p)
		return err_errno(e, ENOMEM, "index");
	if (fs_read_file(p, IMG_MANIFEST_MAX, &buf, &len, e) < 0)
		return -1;
	if (img_index_parse(buf, len, x, e) < 0)
		return err_ctx(e, "\"%s\"", p);
	return 0;
}

int img_layout_write_index(const struct img_layout *l, const struct img_index *x, struct err *e)
{
	_cleanup_free_ char *p = fs_join(l->dir, "index.json");
	_cleanup_free_ char *buf = NULL;
	size_t len;
	if (!p)
		return err_errno(e, ENOMEM, "index");
	if (img_index_json(x, &buf, &len, e) < 0)
		return -1;
	return fs_write_atomic(p, buf, len, 0644, e);
}

/* ---- referrers ---- */

static bool is_artifact(const struct img_descriptor *d)
{
	return d->artifact_type && img_media_is_manifest(d->media_type);
}

int img_referrers_blob(const struct img_index *x, struct img_descriptor *d, struct err *e)
{
	const char *v = img_kvs_get(&x->annotations, IMG_ANN_REFERRERS);
	*d = (struct img_descriptor){.media_type = IMG_MT_OCI_INDEX, .size = -1};
	if (!v)
		return 0;
	if (img_digest_parse(v, &d->digest, e) < 0)
		return err_ctx(e, "index.json annotation %s", IMG_ANN_REFERRERS);
	return 1;
}

static bool has_digest(const struct img_index *x, const struct img_digest *d)
{
	for (size_t i = 0; i < x->n; i++)
		if (img_digest_eq(&x->manifests[i].digest, d))
			return true;
	return false;
}

/* Add artifact descriptors, reduced to what identifies them, once each. */
static int add_reduced(struct img_index *out, const struct img_descriptor *d, size_t n, struct err *e)
{
	for (size_t i = 0; i < n; i++) {
		if (!is_artifact(&d[i]) || has_digest(out, &d[i].digest))
			continue;
		struct img_descriptor r = {.media_type = d[i].media_type, .digest = d[i].digest, .size = d[i].size,
					   .artifact_type = d[i].artifact_type};
		if (img_index_add(out, &r, e) < 0)
			return -1;
	}
	return 0;
}

int img_referrers_collect(const struct img_index *x, const char *doc, size_t len, struct img_index *out,
			  struct err *e)
{
	struct img_index r = {0};
	*out = (struct img_index){0};
	if (doc && img_index_parse(doc, len, &r, e) < 0)
		return err_ctx(e, "referrers index");
	int rc = add_reduced(out, r.manifests, r.n, e);
	if (rc == 0)
		rc = add_reduced(out, x->manifests, x->n, e);
	img_index_free(&r);
	if (rc < 0)
		img_index_free(out);
	return rc;
}

int img_layout_referrers(const struct img_layout *l, const struct img_index *x, struct img_index *out, struct err *e)
{
	struct img_descriptor d;
	_cleanup_free_ char *doc = NULL;
	size_t len = 0;
	int r = img_referrers_blob(x, &d, e);
	if (r < 0 || (r > 0 && img_layout_read_blob(l, &d.digest, -1, IMG_MANIFEST_MAX, &doc, &len, e) < 0))
		return -1;
	return img_referrers_collect(x, doc, len, out, e);
}

static int cmp_desc(const void *a, const void *b)
{
	return strcmp(((const struct img_descriptor *)a)->digest.s, ((const struct img_descriptor *)b)->digest.s);
}

int img_referrers_json(const struct img_descriptor *d, size_t n, char **out, size_t *len, struct err *e)
{
	struct img_index x = {0};
	int rc = add_reduced(&x, d, n, e);
	if (rc == 0) {
		if (x.n)
			qsort(x.manifests, x.n, sizeof *x.manifests, cmp_desc);
		rc = img_index_json(&x, out, len, e);
	}
	img_index_free(&x);
	return rc;
}

int img_layout_add_referrers(const struct img_layout *l, struct img_index *x, const struct img_descriptor *d,
			     size_t n, struct err *e)
{
	struct img_index all;
	struct img_descriptor old;
	_cleanup_free_ char *json = NULL;
	size_t len;
	struct img_digest dg;
	int had = img_referrers_blob(x, &old, e);
	if (had < 0 || img_layout_referrers(l, x, &all, e) < 0)
		return -1;
	int rc = add_reduced(&all, d, n, e);
	if (rc == 0)
		rc = img_referrers_json(all.manifests, all.n, &json, &len, e);
	img_index_free(&all);
	if (rc < 0 || img_layout_put_blob(l, json, len, &dg, e) < 0 ||
	    img_kvs_set(&x->annotations, IMG_ANN_REFERRERS, dg.s, e) < 0)
		return -1;
	/* the list it replaces is named nowhere else */
	_cleanup_free_ char *oldp = had && !img_digest_eq(&old.digest, &dg) ? img_layout_blob_path(l, &old.digest) : NULL;
	if (oldp)
		unlink(oldp);
	/* index.json keeps the images only */
	size_t k = 0;
	for (size_t i = 0; i < x->n; i++) {
		if (is_artifact(&x->manifests[i]))
			img_descriptor_free(&x->manifests[i]);
		else
			x->manifests[k++] = x->manifests[i];
	}
	x->n = k;
	return 0;
}
