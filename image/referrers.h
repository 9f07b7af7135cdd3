/* referrers.h: artifacts that refer to a manifest (ramp's test records),
 * through the registry's referrers API where it answers it, else through the
 * distribution spec's fallback: an index tagged sha256-<hex> of the subject
 * that lists the referrers. */
#ifndef RAMP_IMG_REFERRERS_H
#define RAMP_IMG_REFERRERS_H

#include "image/digest.h"
#include "image/oci.h"
#include "image/registry.h"
#include "lib/err.h"

/* Bounds on what a registry's referrers list may make ramp hold. */
#define IMG_REFERRERS_MAX_PAGES 100
#define IMG_REFERRERS_MAX 10000

/* The descriptors referring to subject, of artifact_type when not NULL (all
 * pages of a paged list, following the Link header). */
int img_referrers_list(struct img_registry *r, const char *repo, const struct img_digest *subject,
		       const char *artifact_type, struct img_index *out, struct err *e);

/* Record an artifact manifest (already pushed) in the subject's fallback tag
 * index, for registries that did not process its subject themselves. */
int img_referrers_tag_add(struct img_registry *r, const char *repo, const struct img_digest *subject,
			  const struct img_descriptor *artifact, struct err *e);

#endif
