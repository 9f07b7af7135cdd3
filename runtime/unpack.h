/* unpack.h: secure extraction of one image layer (a tar stream, plain, gzip or
 * zstd) into a directory.
 *
 * The layer is untrusted. Every path is resolved by us, one component at a
 * time, inside the target directory (symbolic links are followed as if the
 * directory were "/", never out of it); the final component is never followed
 * (an existing symlink there is replaced). ".." is refused, absolute names are
 * taken as relative to the directory. Hard links only point at entries inside
 * the directory, reached without any symlink. trusted.* xattrs are refused.
 * Sizes, entry counts and path lengths are limited, and both the blob digest
 * and the diff_id (the digest of the uncompressed stream) are checked.
 *
 * Two modes:
 *  - overlay: the layer alone, in overlayfs form: ".wh.NAME" becomes a 0/0
 *    character device NAME, ".wh..wh..opq" sets trusted.overlay.opaque=y on its
 *    directory. The result is one lowerdir of an overlay mount.
 *  - flatten: the layer is applied onto the tree already in the directory:
 *    whiteouts delete (never an entry of this same layer); directories of
 *    the tree keep their times. Used where overlayfs is missing.
 *
 * Decompression (and hashing) runs in a second thread, so the file writes of
 * one part of the stream overlap the inflating of the next. */
#ifndef RAMP_RT_UNPACK_H
#define RAMP_RT_UNPACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image/digest.h"
#include "lib/err.h"
#include "lib/fs.h"

#define RT_UNPACK_MAX_PATH 4095 /* bytes of an entry name or link target */

enum rt_unpack_mode { RT_UNPACK_OVERLAY, RT_UNPACK_FLATTEN };

struct rt_unpack_opts {
	enum rt_unpack_mode mode;
	const char *compression;          /* "gzip", "zstd" or "" (as img_media_is_layer says) */
	const struct img_digest *digest;  /* expected digest of the blob; NULL: not checked */
	int64_t size;                     /* expected size of the blob; -1: not checked */
	const struct img_digest *diff_id; /* expected digest of the uncompressed tar; NULL: not checked */
	uint64_t max_bytes;               /* limit on the uncompressed stream (the store: what is left of the image's) */
	uint64_t max_entries;             /* limit on tar entries (the same) */
	size_t max_path;                  /* limit on the length of names and link targets */
	const struct fs_reserve *reserve; /* free space the writes leave, checked as they go; NULL: none */
	/* overlay: the layers below, top-most first; a directory the layer only
	 * implies (it has entries in it but no entry of its own) takes its owner,
	 * mode and times from there, so the merged view keeps them */
	const int *lowers;
	size_t n_lowers;
	bool writeback; /* start writing each file to disk once written (the caller syncs at the end) */
};

struct rt_unpack_result {
	uint64_t entries;        /* tar entries, whiteouts included */
	uint64_t tar_size;       /* bytes of the uncompressed stream */
	uint64_t blob_size;      /* bytes of the blob as read */
	struct img_digest digest, diff_id; /* as computed */
	bool has_devices;        /* character or block devices (whiteouts aside) */
	bool over_limit;         /* the unpack failed on max_bytes or max_entries */
};

/* Overlay mode, no compression, nothing checked, the default image's limits. */
void rt_unpack_opts_init(struct rt_unpack_opts *o);

/* Extract the layer read from blob_fd into the directory dir_fd. On error the
 * directory may hold part of the layer: the caller unpacks into a directory
 * it can throw away (the store uses a temporary one and renames it into place
 * only on success). Digest mismatches are only known at the end of the
 * stream, so they too are reported after the tree was written. */
int rt_unpack(int blob_fd, int dir_fd, const struct rt_unpack_opts *o, struct rt_unpack_result *r, struct err *e);

#endif
