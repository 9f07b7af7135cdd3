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
	if (fs_read_file(p, 4096, &buf, &len, e) < 0)
		return err_ctx(e, "not an OCI image layout: \"%s\"", dir);
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
