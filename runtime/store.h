/* store.h: the host store (DESIGN.md "Host store", default /var/lib/ramp).
 *
 *   lock                        flock'd: one process uses a store at a time
 *   blobs/sha256/<hex>          verified blobs (layers, manifests, configs)
 *   ingest/<hex>/{data,state}   a blob being written, resumable at state's offset
 *   layers/<chainid-hex>/fs/    a layer unpacked once, in overlayfs form
 *   layers/<chainid-hex>/layer.json   what it is (diff_id, sizes, devices)
 *   images/<manifest-hex>.json  an image present: manifest, config, layer chain ids
 *   referrers/<manifest-hex>.json  its test records, when they were fetched: an
 *                               OCI index of record artifacts (blobs in blobs/)
 *   apps/<name>/state.json      see app_state.h
 *   apps/<name>/run/            the container runtime's (upper dirs, logs)
 *
 * Nothing half-made is ever visible under its final name: blobs are verified
 * in ingest/ and renamed into blobs/, layers are unpacked into
 * layers/.tmp-* and renamed once complete and synced, and an image record is
 * written (atomically) only after all its layers are there. rt_store_open
 * removes whatever an interrupted process left behind, so the next import
 * simply does the work again. docs/STORE.md has the details. */
#ifndef RAMP_RT_STORE_H
#define RAMP_RT_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "image/digest.h"
#include "image/image.h"
#include "image/layout.h"
#include "image/limits.h"
#include "image/oci.h"
#include "lib/err.h"

#define RT_STORE_DEFAULT_ROOT "/var/lib/ramp"

struct rt_store {
	char *root;
	int fd;      /* the root directory */
	int lock_fd; /* holds the flock */
	/* settings, changeable after open */
	struct img_limits limits; /* of one image, and the free space kept (image/limits.h) */
	bool sync;                /* make a layer durable (syncfs) before it becomes visible */
};

/* Create (if needed), lock and repair the store at root. Fails when another
 * process holds it (after waiting 3 s for it). */
int rt_store_open(struct rt_store *s, const char *root, struct err *e);
/* Remove what an interrupted import left (half-unpacked layers, temporary
 * blobs and records), as rt_store_open does after a crash; only while no
 * import or garbage collection runs (rampd: under its store mutex). */
int rt_store_repair_imports(struct rt_store *s, struct err *e);
/* Use the store whose lock a parent holds and handed down as lock_fd
 * (rampd's pull helper): no repair, the parent's work is under way. */
int rt_store_open_held(struct rt_store *s, const char *root, int lock_fd, struct err *e);
void rt_store_close(struct rt_store *s);

/* ---- blobs ---- */

/* root/blobs/sha256/<hex>; caller frees. */
char *rt_store_blob_path(const struct rt_store *s, const struct img_digest *d);
bool rt_store_has_blob(const struct rt_store *s, const struct img_digest *d);
/* Store a small blob from memory, verifying it against d. */
int rt_store_put_blob(struct rt_store *s, const struct img_digest *d, const void *buf, size_t len, struct err *e);

/* A blob being written (a download): data goes to ingest/<hex>/data, its
 * offset is recorded in ingest/<hex>/state from time to time (after an
 * fdatasync), so after a crash the download resumes at that offset. */
struct rt_ingest {
	struct rt_store *s;
	struct img_digest digest;
	int64_t size;    /* expected size, -1 when unknown */
	uint64_t offset; /* bytes written so far: resume the download here */
	uint64_t recorded;
	int fd;
	struct img_sha256 h;
};
/* Returns 1 when the blob is already in the store (nothing to write), 0 when
 * `in` is ready to take bytes from in->offset on. */
int rt_ingest_open(struct rt_store *s, const struct img_digest *d, int64_t size, struct rt_ingest *in, struct err *e);
int rt_ingest_write(struct rt_ingest *in, const void *buf, size_t len, struct err *e);
/* Verify size and digest and move the blob into blobs/. A blob that does not
 * verify is removed (the next attempt starts from 0). Closes `in`. */
int rt_ingest_commit(struct rt_ingest *in, struct err *e);
/* Stop writing; what was written stays for a resume. */
void rt_ingest_close(struct rt_ingest *in);

/* ---- images and layers ---- */

/* ChainID per the image spec: chain(L0) = diff_id(L0),
 * chain(Ln) = sha256(chain(Ln-1) + " " + diff_id(Ln)). */
void rt_chain_ids(const struct img_digest *diff_ids, size_t n, struct img_digest *out);

/* An image present in the store. */
struct rt_store_image {
	struct img_digest manifest, config;
	size_t n_layers;
	struct img_digest *digests, *diff_ids, *chain_ids; /* per layer, lowest first */
	char **media_types;
	/* absolute paths of the layer trees to mount (overlay lowerdirs), lowest
	   first: one per layer but those the same layer repeats higher up */
	char **layer_dirs;
	size_t n_layer_dirs;
	bool has_devices; /* a layer holds device nodes (mount nodev unless the host allows them) */
};
void rt_store_image_free(struct rt_store_image *im);

/* Bring an image into the store: its blobs (linked or copied, verified) and
 * its layers, each unpacked once (an image sharing layers with one already
 * present reuses them). Fills `out` (may be NULL). */
int rt_store_import(struct rt_store *s, const struct img_image *img, struct rt_store_image *out, struct err *e);
/* The image with this manifest digest; errnum ENOENT when it is not present. */
int rt_store_image_get(struct rt_store *s, const struct img_digest *manifest, struct rt_store_image *out,
		       struct err *e);
/* Its parsed (and verified) config. */
int rt_store_image_config(struct rt_store *s, const struct rt_store_image *im, struct img_config *c, struct err *e);
/* Apply every layer of the image, in order, onto the directory dir (which
 * must exist): the flattened copy used where overlayfs is missing. */
int rt_store_flatten(struct rt_store *s, const struct rt_store_image *im, const char *dir, struct err *e);

/* ---- an image's test records (store_referrers.c) ---- */

#define RT_REFERRERS_MAX 32                /* records kept per image */
#define RT_REFERRER_DOC_MAX (64u << 10)    /* an artifact manifest */

/* Keep the test-record artifacts among arts (their manifests and blobs are
 * in the layout src) as the records of image; an empty list is written too
 * (none were found). Only while no GC runs (rampd: under its store mutex). */
int rt_store_referrers_put(struct rt_store *s, const struct img_layout *src, const struct img_digest *image,
			   const struct img_descriptor *arts, size_t n, struct err *e);
/* A record artifact's manifest d, read from l (the store's own blobs, or a
 * pull's layout): size-limited and verified against its digest. */
int rt_store_artifact_read(const struct img_layout *l, const struct img_descriptor *d, struct img_manifest *m,
			   struct err *e);
/* The image's record artifacts; errnum ENOENT when they were never fetched. */
int rt_store_referrers_get(struct rt_store *s, const struct img_digest *image, struct img_index *out, struct err *e);

/* root/apps/<name>/run, created when missing; caller frees. */
char *rt_store_app_run_dir(struct rt_store *s, const char *name, struct err *e);

#endif
