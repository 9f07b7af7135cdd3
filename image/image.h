/* image.h: one image read from local storage: an oci-archive file or an OCI
 * layout directory, with its manifest and config parsed and verified.
 *
 * An archive is extracted into a temporary directory first (removed by
 * img_image_close); img_image_save writes changes (an attached test record)
 * back to where the image came from. */
#ifndef RAMP_IMG_IMAGE_H
#define RAMP_IMG_IMAGE_H

#include <stdbool.h>

#include "image/layout.h"
#include "image/oci.h"
#include "lib/err.h"

struct img_image {
	char *source;               /* the path given by the user */
	bool is_archive;
	struct img_layout layout;   /* the layout (the extracted one for an archive) */
	char *tmpdir;               /* the extraction directory, when is_archive */
	struct img_descriptor desc; /* the image manifest's descriptor */
	char *manifest_raw;
	size_t manifest_len;
	struct img_manifest manifest;
	char *config_raw;
	size_t config_len;
	struct img_config config;
};

/* Open an archive or layout at path. `name` picks the manifest whose
 * org.opencontainers.image.ref.name matches (NULL: the only image in it);
 * `platform` picks from a multi-platform index (NULL: this host's).
 * A "path:name" form is accepted when path itself does not exist. */
int img_image_open(const char *path, const char *name, const struct img_platform *platform, struct img_image *img,
		   struct err *e);
/* Open the image a descriptor names in the layout at dir (for example what a
 * pull just stored there). */
int img_image_open_desc(const char *dir, const struct img_descriptor *d, const struct img_platform *platform,
			struct img_image *img, struct err *e);
/* Load the image a descriptor in an open layout points at (an image manifest,
 * or an index resolved by platform). */
int img_image_load(struct img_image *img, const struct img_descriptor *d, const struct img_platform *platform,
		   struct err *e);
/* Write the layout back: re-archive to the source when it was an archive. */
int img_image_save(struct img_image *img, struct err *e);
void img_image_close(struct img_image *img);

/* An artifact in the same layout whose subject is this image (a test record). */
struct img_referrer {
	struct img_descriptor desc;
	struct img_manifest manifest;
};
int img_image_referrers(const struct img_image *img, struct img_referrer **out, size_t *n, struct err *e);
void img_referrers_free(struct img_referrer *r, size_t n);

/* Pick the image of an index.json: the one named `name` (ref.name
 * annotation), or the only one when name is NULL. Artifacts are never picked.
 * `where` names the index in messages. */
int img_index_pick(const struct img_index *x, const char *name, const char *where, const struct img_descriptor **out,
		   struct err *e);

/* Test whether path looks like a local image (archive file or layout dir). */
bool img_is_local(const char *path);
/* Refuse, as a registry reference, an argument that was meant as a local
 * image: one that exists on this machine (file or directory), or whose last
 * component ends in .tar, .tar.gz or .tgz (a mistyped archive name). The
 * message says so and how a registry reference is written. */
int img_check_not_file(const char *arg, struct err *e);

#endif
