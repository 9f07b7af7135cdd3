/* verify.h: re-check an image's content: every blob against its digest and
 * size, and every layer's uncompressed stream against the config's diff_id. */
#ifndef RAMP_IMG_VERIFY_H
#define RAMP_IMG_VERIFY_H

#include "image/image.h"

/* Called for each problem found; `what` names the blob, `msg` says what differs. */
typedef void (*img_verify_report)(void *ctx, const char *what, const char *msg);

/* Returns the number of problems (0: all verified), or -1 with e set when the
 * check itself could not run. */
int img_verify(const struct img_image *img, img_verify_report report, void *ctx, struct err *e);

/* sha256 of a layer blob's uncompressed content (gzip, zstd or plain). */
int img_layer_diff_id(const struct img_layout *l, const struct img_descriptor *d, struct img_digest *out,
		      struct err *e);

#endif
