/* push.h: push an image from an oci-archive or a layout directory to a
 * registry, with the test records that refer to it.
 *
 * Blobs the registry has are skipped (HEAD); others are mounted from another
 * repository when one is known (--from-repo, or the repository of the same
 * registry the image was pulled from, IMG_ANN_SOURCE_REPO), else uploaded in parallel,
 * monolithically or in chunks (PATCH with Content-Range, honouring
 * OCI-Chunk-Min-Length, recovering from 416 by asking the upload's status).
 * An archive is read in place: blobs are sent straight from their offsets in
 * the tar, with no extraction. Manifests follow their blobs; test records
 * follow the image, through the referrers API or the sha256-<hex> tag. */
#ifndef RAMP_IMG_PUSH_H
#define RAMP_IMG_PUSH_H

#include <stdint.h>

#include "image/oci.h"
#include "image/reference.h"
#include "image/registry.h"
#include "lib/err.h"

/* Blobs above this are sent in chunks even without --chunk-size. */
#define IMG_PUSH_CHUNK_AUTO (1ull << 30)
#define IMG_PUSH_CHUNK_DEFAULT (64ull << 20)

struct img_push_opts {
	const char *from_repo; /* mount missing blobs from this repository of the same registry
				* (NULL: the one the image was pulled from, if any) */
	uint64_t chunk_size;   /* > 0: every blob in chunks of this size */
	bool no_referrers;     /* leave the test records behind */
	img_progress_fn progress;
	void *progress_ctx;
};

/* Push the image at path ("path:name" picks a named one) to ref; *out is the
 * descriptor of what ref now points at (manifest or index). */
int img_push(struct img_registry *r, const char *path, const struct img_ref *ref, const struct img_push_opts *o,
	     struct img_descriptor *out, struct err *e);

/* Attach one small artifact to subject (a manifest in repo): its empty
 * config and its one layer (blob, of layer_type) uploaded, its manifest put
 * by digest, and the subject's fallback tag index updated when the registry
 * did not process the subject itself. *out: the artifact manifest's digest. */
int img_push_referrer(struct img_registry *r, const char *repo, const struct img_descriptor *subject,
		      const char *artifact_type, const char *layer_type, const char *blob, size_t len,
		      struct img_digest *out, struct err *e);

#endif
