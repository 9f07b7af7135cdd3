/* archive.h: oci-archive files (a tar of an OCI image layout).
 *
 * Reading extracts the archive into a fresh directory and then works on it
 * as a layout, as skopeo does. The archive is untrusted: only the layout's
 * own names are written (oci-layout, index.json, manifest.json,
 * blobs/sha256/<hex>), never through a link, never outside the directory.
 * Writing is deterministic: sorted entries, fixed owners, modes and times. */
#ifndef RAMP_IMG_ARCHIVE_H
#define RAMP_IMG_ARCHIVE_H

#include "lib/err.h"

/* Extract archive into dir, which must exist and be empty. */
int img_archive_extract(const char *archive, const char *dir, struct err *e);
/* Write the layout at dir as an archive at out, crash-safely (temp + rename). */
int img_archive_write(const char *dir, const char *out, struct err *e);

#endif
