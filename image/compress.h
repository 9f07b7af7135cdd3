/* compress.h: streaming layer compressors (gzip, zstd, none) for `ramp build`.
 *
 * Bytes go in with img_compressor_write() and come out, compressed and in
 * order, through the sink callback, always on the calling thread (so the
 * caller can hash them without locks). The output depends only on the input
 * bytes, the kind and the level (and the zlib/libzstd versions): never on the
 * thread count, the write() chunking or timing, so layers are reproducible.
 *
 * gzip is one RFC 1952 member compressed in parallel: the input is cut into
 * fixed 128 KiB blocks, each deflated by a worker with the previous 32 KiB as
 * preset dictionary and ended with a sync flush, the pieces concatenated in
 * order. Header: mtime 0, no name, XFL 0, OS 255 ("unknown", as Go's
 * compress/gzip writes it). zstd uses libzstd's multi-threaded streaming mode
 * (always nbWorkers >= 1, whose output does not depend on the worker count),
 * with a content checksum and no content size. Memory is bounded in both:
 * a fixed number of blocks in flight, never a whole layer. */
#ifndef RAMP_IMAGE_COMPRESS_H
#define RAMP_IMAGE_COMPRESS_H

#include <stddef.h>

#include "lib/err.h"

enum img_compression { IMG_COMP_NONE, IMG_COMP_GZIP, IMG_COMP_ZSTD };

/* level argument meaning "the default level of this kind" */
#define IMG_COMP_LEVEL_DEFAULT 0

/* Receives the compressed bytes, in order, on the thread that calls write/finish.
 * Returns 0, or -1 with e filled (the compressor then fails with that error). */
typedef int (*img_sink_fn)(void *ctx, const void *buf, size_t len, struct err *e);

struct img_compressor;

/* level: IMG_COMP_LEVEL_DEFAULT or a level valid for kind (gzip 1..9, zstd
 * 1..19, none only the default). threads: compressing threads, 0 = one per
 * online CPU; 1 compresses gzip on the calling thread. */
struct img_compressor *img_compressor_new(enum img_compression kind, int level, int threads,
					  img_sink_fn sink, void *sink_ctx, struct err *e);
int img_compressor_write(struct img_compressor *c, const void *buf, size_t len, struct err *e);
/* Compresses what is left and delivers everything, trailer included, to the sink. */
int img_compressor_finish(struct img_compressor *c, struct err *e);
/* Stops and joins every thread; safe on NULL and after a failure. */
void img_compressor_free(struct img_compressor *c);

/* "gzip", "zstd", "none", optionally with ":LEVEL" ("zstd:19"). *level gets the
 * level given or IMG_COMP_LEVEL_DEFAULT; level may be NULL to refuse a level. */
int img_compression_parse(const char *spec, enum img_compression *kind, int *level, struct err *e);
/* 0 when level is IMG_COMP_LEVEL_DEFAULT or valid for kind, else -1 naming the range. */
int img_compression_check_level(enum img_compression kind, int level, struct err *e);
const char *img_compression_name(enum img_compression kind);
int img_compression_default_level(enum img_compression kind);
/* "+gzip", "+zstd" or "": appended to the OCI layer media type */
const char *img_compression_media_suffix(enum img_compression kind);

#endif
