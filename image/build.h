/* build.h: `ramp build`: directory trees (and optionally a base image) into
 * one reproducible OCI image, written as an oci-archive and/or a layout. */
#ifndef RAMP_IMG_BUILD_H
#define RAMP_IMG_BUILD_H

#include "image/layer_writer.h"
#include "image/settings.h"

struct img_build_opts {
	const char *const *dirs; /* one layer each, lowest first */
	size_t n_dirs;
	const char *from;   /* base image (archive or layout), or NULL */
	const char *output; /* oci-archive to write, or NULL */
	const char *layout; /* layout directory to write, or NULL */
	const char *tag;    /* org.opencontainers.image.ref.name, or NULL */
	bool docker_manifest;
	struct img_layer_opts layer;
	const struct img_settings *settings;
	bool have_epoch; /* SOURCE_DATE_EPOCH */
	int64_t epoch;
	/* called once per layer when it is done */
	void (*layer_done)(void *ctx, size_t i, const char *dir, const struct img_layer_result *r);
	void *ctx;
};

int img_build(const struct img_build_opts *o, struct img_digest *manifest, struct err *e);

#endif
