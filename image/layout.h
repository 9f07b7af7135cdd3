/* layout.h: OCI image layout directories (oci-layout, index.json,
 * blobs/sha256/<hex>): reading blobs with verification, adding blobs
 * crash-safely, and reading/writing the index. */
#ifndef RAMP_IMG_LAYOUT_H
#define RAMP_IMG_LAYOUT_H

#include <stdint.h>

#include "image/digest.h"
#include "image/oci.h"
#include "lib/err.h"
#include "lib/fs.h"

struct img_layout {
	char *dir;
	/* a temporary layout (a build's scratch space): blobs are not fsync'd,
	 * since nothing in it has to survive a crash */
	bool scratch;
};

/* Open an existing layout (checks oci-layout). */
int img_layout_open(struct img_layout *l, const char *dir, struct err *e);
/* Create (or reuse) a layout at dir: oci-layout, blobs/sha256, and an empty
 * index.json when there is none. */
int img_layout_create(struct img_layout *l, const char *dir, struct err *e);
void img_layout_close(struct img_layout *l);

/* dir/blobs/sha256/<hex>; caller frees. */
char *img_layout_blob_path(const struct img_layout *l, const struct img_digest *d);
/* True when the blob file exists (not verified). */
bool img_layout_has_blob(const struct img_layout *l, const struct img_digest *d);
/* Open a blob for reading: regular file only, never through a symlink. */
int img_layout_open_blob(const struct img_layout *l, const struct img_digest *d, int *fd, uint64_t *size,
			 struct err *e);
/* Read a small blob (manifest, config) and verify its size (when size >= 0)
 * and digest. *buf is NUL-terminated. */
int img_layout_read_blob(const struct img_layout *l, const struct img_digest *d, int64_t size, size_t max,
			 char **buf, size_t *len, struct err *e);
/* Add a blob from memory; its digest is returned. */
int img_layout_put_blob(const struct img_layout *l, const void *buf, size_t len, struct img_digest *out,
			struct err *e);

/* A blob written as a stream: hashed as it is written, renamed into place on
 * commit (crash-safe: a partial blob is never visible under its digest). */
struct img_blob_writer {
	const struct img_layout *l;
	struct fs_atomic a;
	struct img_sha256 h;
	uint64_t size;
};
int img_blob_writer_open(struct img_blob_writer *w, const struct img_layout *l, struct err *e);
int img_blob_writer_write(struct img_blob_writer *w, const void *buf, size_t len, struct err *e);
/* When expect is not NULL the content must match it (digest and, if >= 0, size). */
int img_blob_writer_commit(struct img_blob_writer *w, const struct img_digest *expect, int64_t expect_size,
			   struct img_digest *out, uint64_t *size, struct err *e);
void img_blob_writer_abort(struct img_blob_writer *w);

int img_layout_read_index(const struct img_layout *l, struct img_index *x, struct err *e);
int img_layout_write_index(const struct img_layout *l, const struct img_index *x, struct err *e);

#endif
