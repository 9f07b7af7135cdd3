/* docker_archive.h: `docker save` / `podman save` archives (the
 * docker-archive format: manifest.json listing each image's config file,
 * RepoTags and layer tars).
 *
 * Such an archive, once extracted (image/archive.c), is turned into an OCI
 * layout in the same directory: each layer file becomes a blob (hard-linked,
 * not copied; plain, gzip or zstd as its first bytes say), the config a blob
 * whose name must be its digest, and each image an OCI manifest listed in
 * index.json under its RepoTags. Every layer's uncompressed content must hash
 * to the config's diff_id. manifest.json is written again pointing at the
 * blobs, so that the layout saved as an archive (ramp test attaching a record)
 * still loads in docker and podman. The same writer makes ramp build's
 * --docker-manifest. */
#ifndef RAMP_IMG_DOCKER_ARCHIVE_H
#define RAMP_IMG_DOCKER_ARCHIVE_H

#include "image/layout.h"
#include "image/oci.h"
#include "lib/err.h"

/* Convert the docker archive extracted in dir; `what` names it in messages. */
int img_docker_archive_convert(const char *dir, const char *what, struct err *e);

/* One image of a manifest.json: its manifest (whose blobs are in the layout)
 * and its repo:tag names. */
struct img_docker_image {
	const struct img_manifest *manifest;
	const struct strv *tags;
};
/* Write the layout's manifest.json for docker load / podman load. */
int img_docker_manifest_write(const struct img_layout *l, const struct img_docker_image *v, size_t n,
			      struct err *e);

#endif
