/* store_priv.h: helpers shared by the store's own files (store.c, import.c,
 * store_image.c, gc.c); not for other modules. */
#ifndef RAMP_RT_STORE_PRIV_H
#define RAMP_RT_STORE_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image/layout.h"
#include "lib/err.h"
#include "runtime/store.h"

/* 64 lowercase hex digits, as in our file names. */
bool rt_is_hex64(const char *s);
/* root + "/" + printf(fmt, …); caller frees; NULL on allocation failure. */
char *rt_store_path(const struct rt_store *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Remove every entry of the store subdirectory `sub` that keep() refuses
 * (a directory is renamed to a hidden name first, so that a crash never
 * leaves it half-removed under its own name). */
typedef bool (*rt_keep_fn)(struct rt_store *s, int dirfd, const char *name, void *ctx);
int rt_store_sweep(struct rt_store *s, const char *sub, rt_keep_fn keep, void *ctx, size_t *removed, struct err *e);
/* schemaVersion of images/<hex>.json */
#define RT_RECORD_SCHEMA 1

/* The store's root is laid out like an OCI layout's blobs: reuse its verified reads. */
static inline struct img_layout rt_store_layout(const struct rt_store *s)
{
	return (struct img_layout){.dir = s->root};
}
/* Every blob the record artifacts of x name (manifests, configs, layers);
 * *out malloc'd. */
int rt_store_referrers_blobs(struct rt_store *s, const struct img_index *x, struct img_digest **out, size_t *n,
			     struct err *e);
/* layers/<chain>/layer.json exists: the layer is complete. */
bool rt_store_layer_present(struct rt_store *s, const struct img_digest *chain);
/* What layer.json says of a layer. */
struct rt_layer_meta {
	bool devices;     /* it holds device nodes */
	uint64_t size;    /* bytes of its tar stream */
	uint64_t entries; /* its tar entries */
};
int rt_store_layer_meta(struct rt_store *s, const struct img_digest *chain, struct rt_layer_meta *m, struct err *e);
/* Layer i is repeated higher up (the same blob and diff_id): that repetition
 * applies every entry and whiteout of it again on top of the layers between,
 * so the image's tree is the same without layer i. It is neither unpacked
 * nor mounted, and its blob is downloaded once. */
bool rt_layer_shadowed(const struct img_digest *digests, const struct img_digest *diff_ids, size_t n, size_t i);
/* Parse images/<hex>.json (without checking that its layers are present). */
int rt_store_record_read(struct rt_store *s, const struct img_digest *manifest, struct rt_store_image *im,
			 struct err *e);

#endif
