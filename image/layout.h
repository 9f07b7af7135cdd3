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

/* Referrers: artifacts about the layout's images (test records). index.json
 * lists only images, since skopeo and podman take its one entry as the image
 * and refuse a layout with more ("more than one image"); the artifacts are
 * listed in an image index blob, shaped like a registry's referrers answer,
 * that index.json's annotation IMG_ANN_REFERRERS names by digest. Layouts of
 * earlier ramp versions, with the artifacts in index.json itself (with their
 * artifactType), are read as well and converted when a referrer is added. */
#define IMG_ANN_REFERRERS "io.ramp.referrers"
/* The descriptor of the referrers blob x names (size -1: not known): 1, or 0
 * when x names none. */
int img_referrers_blob(const struct img_index *x, struct img_descriptor *d, struct err *e);
/* The artifacts of an index.json x: those of its referrers blob (doc, len;
 * doc NULL when there is none) and the ones listed in x itself. */
int img_referrers_collect(const struct img_index *x, const char *doc, size_t len, struct img_index *out,
			  struct err *e);
/* The same for a layout whose index.json is x. */
int img_layout_referrers(const struct img_layout *l, const struct img_index *x, struct img_index *out, struct err *e);
/* The referrers blob for n artifacts: sorted by digest, each described by
 * media type, digest, size and artifactType only. */
int img_referrers_json(const struct img_descriptor *d, size_t n, char **out, size_t *len, struct err *e);
/* Add artifacts to the layout's referrers: a new referrers blob with the old
 * and the new ones, named in x, whose own artifact entries go (the caller
 * writes x). */
int img_layout_add_referrers(const struct img_layout *l, struct img_index *x, const struct img_descriptor *d,
			     size_t n, struct err *e);

#endif
