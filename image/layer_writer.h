/* layer_writer.h: a directory tree frozen into one reproducible layer blob.
 *
 * The tree is walked depth first with siblings in byte order, never following
 * symlinks; each entry becomes a PAX/ustar tar entry carrying only what has
 * meaning (type, mode including setuid/setgid/sticky, numeric uid/gid, mtime
 * in whole seconds, size, link target, device numbers, xattrs); hard links are
 * written as links to the first path met in that order. The tar stream is
 * hashed (diff_id) and compressed as it is produced, and the compressed bytes
 * go straight into a blob of the layout: nothing holds a whole layer in memory. */
#ifndef RAMP_IMG_LAYER_WRITER_H
#define RAMP_IMG_LAYER_WRITER_H

#include <stdbool.h>
#include <stdint.h>

#include "image/compress.h"
#include "image/layout.h"
#include "image/oci.h"

struct img_layer_opts {
	enum img_compression comp;
	int level;   /* IMG_COMP_LEVEL_DEFAULT or a valid level */
	int threads; /* 0: one per CPU */
	/* when set, mtimes later than this are clamped to it (SOURCE_DATE_EPOCH) */
	bool clamp;
	int64_t clamp_to;
	/* called now and then with the entries and input bytes done so far */
	void (*progress)(void *ctx, uint64_t entries, uint64_t bytes);
	void *progress_ctx;
};

struct img_layer_result {
	struct img_descriptor desc; /* the layer blob, with its media type and compression annotation */
	struct img_digest diff_id;  /* sha256 of the uncompressed tar */
	uint64_t entries, bytes;    /* tar entries written, file bytes read */
};

int img_layer_from_dir(const char *dir, const struct img_layer_opts *o, const struct img_layout *out,
		       struct img_layer_result *r, struct err *e);

#endif
