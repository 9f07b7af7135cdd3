/* resolve.h: from the image reference the user gave to the bytes every host
 * will run, and the test records that vouch for them.
 *
 * A rollout pins its image once: a tag is resolved to a manifest digest and
 * every host gets "repo@sha256:...". Tag resolution and fetching test records
 * need the registry client; until it is wired in, references already pinned
 * by digest are accepted, tags are refused with a clear message, and records
 * are reported as unknown (so only --allow-untested lets a rollout proceed). */
#ifndef RAMP_ORCH_RESOLVE_H
#define RAMP_ORCH_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>

#include "image/digest.h"
#include "lib/err.h"

struct orch_record {
	char platform[128]; /* "linux/amd64" */
	bool passed;
};

struct orch_resolved {
	char *pinned; /* "registry/repo@sha256:..." */
	struct img_digest digest;
	bool records_known; /* false: nobody could look the records up */
	struct orch_record *records;
	size_t n_records;
};

/* Validate ref and pin it. */
int orch_resolve_image(const char *ref, struct orch_resolved *out, struct err *e);
void orch_resolved_free(struct orch_resolved *r);
/* Every platform the fleet runs needs a passing record. */
int orch_records_check(const struct orch_resolved *r, char *const *platforms, size_t n, struct err *e);

#endif
