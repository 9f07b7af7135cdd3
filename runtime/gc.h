/* gc.h: garbage collection of the host store.
 *
 * Kept: per app, the desired and the current version and the keep-1 most
 * recent previous ones (keep = 3 by default), every pinned version, and the
 * images the caller names as in use (what runs, what is being deployed). Everything else goes:
 * image records first, then the layers and blobs no kept image references,
 * then abandoned downloads. The previous lists of the app states are cut to
 * what is kept, so a revert never points at a removed version. */
#ifndef RAMP_RT_GC_H
#define RAMP_RT_GC_H

#include <stddef.h>
#include <stdint.h>

#include "image/digest.h"
#include "lib/err.h"
#include "runtime/store.h"

#define RT_GC_KEEP_DEFAULT 3
#define RT_GC_INGEST_MAX_AGE (24 * 3600) /* seconds an unfinished download is kept */

struct rt_gc_opts {
	unsigned keep;                 /* versions per app, current included; at least 1 */
	const struct img_digest *in_use; /* image manifest digests kept besides */
	size_t n_in_use;
	int64_t ingest_max_age;
};

struct rt_gc_stats {
	size_t images, layers, blobs, ingests; /* removed */
	size_t kept_images;
};

void rt_gc_opts_init(struct rt_gc_opts *o);
int rt_gc(struct rt_store *s, const struct rt_gc_opts *o, struct rt_gc_stats *st, struct err *e);

#endif
