/* pull.h: pull an image (and the test records that refer to it) from a
 * registry into a layout directory, an oci-archive, or any blob store.
 *
 * Manifests are fetched first (an index is resolved to the platform's image),
 * then blobs in parallel, each verified (size and digest) while it streams
 * and stored only when it matches. A broken transfer is resumed with a Range
 * request, within the process (bounded retries with backoff) and across
 * processes: partial blobs stay in <layout>/ingest/<hex> with their length as
 * the offset; a pull into an archive writes the archive directly and keeps a
 * partial archive beside it (see img_pull_archive). The image's entry in the
 * output index.json names the repository it came from (IMG_ANN_SOURCE_REPO),
 * so a later push to the same registry can mount its blobs from there. This
 * is the library rampd pulls with. */
#ifndef RAMP_IMG_PULL_H
#define RAMP_IMG_PULL_H

#include <stdbool.h>
#include <stdint.h>

#include "image/digest.h"
#include "image/layout.h"
#include "image/limits.h"
#include "image/oci.h"
#include "image/reference.h"
#include "image/registry.h"
#include "lib/err.h"

/* Annotation on a pulled image's index.json entry: "registry/repository" it
 * was pulled from. Only index.json carries it: the manifest and its digest
 * stay as they were. */
#define IMG_ANN_SOURCE_REPO "io.ramp.source.repository"

/* Where pulled blobs go. A store sees each blob once at a time. */
struct img_blob_store;
struct img_blob_store_ops {
	/* Optional: every blob and manifest that will be stored (duplicates
	 * possible), once, before the first open. */
	int (*plan)(struct img_blob_store *s, const struct img_descriptor *const *ds, size_t n, struct err *e);
	/* Start storing d. *present: the store has it already. Otherwise *have
	 * bytes kept from an earlier attempt were fed to h, and *w is the handle. */
	int (*open)(struct img_blob_store *s, const struct img_descriptor *d, struct img_sha256 *h, uint64_t *have,
		    bool *present, void **w, struct err *e);
	int (*write)(void *w, const void *buf, size_t len, struct err *e);
	/* Forget what was written (start over). */
	int (*truncate)(void *w, struct err *e);
	/* The content was verified: make it visible. Closes w. */
	int (*commit)(void *w, struct err *e);
	/* Give up; keep the partial content for a later resume when keep. Closes w. */
	void (*abort)(void *w, bool keep);
	/* Optional: every blob and manifest is committed; make them durable and
	 * visible, in the order they were committed, if commit left that for here. */
	int (*finish)(struct img_blob_store *s, struct err *e);
};
struct img_blob_store {
	const struct img_blob_store_ops *ops;
};

/* A store on a layout: partial blobs in ingest_dir/<hex>; verified ones wait
 * there until finish renames them into the layout (durable: each fsync'd
 * first, the directory once after), so no fsync holds up the transfers.
 * With a reserve, its plan refuses a pull whose blobs would not fit beside it
 * and every 8 MiB written is checked against it (ENOSPC). */
struct img_layout_store {
	struct img_blob_store base;
	const struct img_layout *layout;
	char *ingest;
	bool durable;
	const struct fs_reserve *reserve; /* NULL: none */
	bool full;                        /* a write found the disk (or the reserve) full */
	void **done; /* committed, not yet renamed */
	size_t n_done;
};
int img_layout_store_init(struct img_layout_store *s, const struct img_layout *l, const char *ingest_dir, bool durable,
			  struct err *e);
void img_layout_store_free(struct img_layout_store *s);

struct img_pull_opts {
	const struct img_platform *platform; /* from an index; NULL: this host's */
	const struct img_limits *limits;     /* checked before any blob is downloaded; NULL: the defaults */
	bool no_referrers;                   /* skip the test records */
	img_progress_fn progress;
	void *progress_ctx;
};

struct img_pull_result {
	struct img_descriptor manifest;  /* the image manifest (platform set when picked from an index) */
	struct img_descriptor *artifacts; /* test records referring to it, stored too */
	size_t n_artifacts;
	struct img_descriptor referrers; /* the referrers blob listing them, stored too (layout.h); media_type NULL without */
};
void img_pull_result_free(struct img_pull_result *res);

/* Pull ref's blobs and manifests into a store; index.json is not touched. */
int img_pull(struct img_registry *r, const struct img_ref *ref, const struct img_pull_opts *o, struct img_blob_store *s,
	     struct img_pull_result *res, struct err *e);
/* Pull into the layout at dir (created when missing), add the image (named
 * by the tag) to its index.json and its test records to its referrers. */
int img_pull_layout(struct img_registry *r, const struct img_ref *ref, const struct img_pull_opts *o, const char *dir,
		    struct img_pull_result *res, struct err *e);
/* Pull into a new oci-archive at path, byte for byte what img_archive_write
 * makes of the same layout. Its layout is fixed by the manifests, so each
 * blob is downloaded straight to its offset in the archive (written once,
 * fsync'd once, renamed into place at the end). A failed pull leaves the
 * partial archive beside path (".NAME.ramp-partial", and ".NAME.ramp-partial.state":
 * how much of each blob is there); the next pull to the same path resumes it. */
int img_pull_archive(struct img_registry *r, const struct img_ref *ref, const struct img_pull_opts *o,
		     const char *path, struct img_pull_result *res, struct err *e);

/* Add a pulled image (named by ref's tag, annotated with its source) to an
 * index, replacing an image of the same name (and, from older layouts, index
 * entries of its test records, which belong in the referrers). */
int img_pull_index_add(struct img_index *x, const struct img_ref *ref, const struct img_pull_result *res,
		       struct err *e);

/* Fetch a manifest or index by tag or digest, verified against the digest it
 * was asked by (and the registry's Docker-Content-Digest). */
int img_fetch_manifest(struct img_registry *r, const char *repo, const char *object, char **buf, size_t *len,
		       char **media_type, struct img_digest *digest, struct err *e);
/* Fetch a small blob (at most max bytes) into memory, verified against its
 * descriptor; what names it in errors ("test record"). */
int img_fetch_blob_mem(struct img_registry *r, const char *repo, const struct img_descriptor *d, size_t max,
		       const char *what, char **buf, size_t *len, struct err *e);

#endif
