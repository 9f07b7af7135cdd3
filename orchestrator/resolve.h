/* resolve.h: from the image reference the user gave to the bytes every host
 * will run, and the test records that vouch for them.
 *
 * A rollout pins its image once: a tag is resolved to a manifest digest at
 * the registry and every host gets "registry/repo@sha256:...". The test
 * records (image/record.h) that refer to that digest are read from the
 * registry (referrers API or the sha256-<hex> tag fallback) and checked
 * against the platforms the fleet's hosts report. So are the digest's outcome
 * records and vetoes (image/outcome.h): a digest they make bad is refused
 * unless --override, and every rollout that ends leaves one. */
#ifndef RAMP_ORCH_RESOLVE_H
#define RAMP_ORCH_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>

#include "image/digest.h"
#include "image/outcome.h"
#include "image/registry.h"
#include "lib/err.h"

/* At most this many test records of one image are read (the newest ones a
 * registry lists first are as good as any: one passing record suffices). */
#define ORCH_RECORDS_MAX 32

struct orch_record {
	char platform[128]; /* "linux/amd64" */
	bool passed;
	struct img_digest artifact; /* the record's artifact manifest */
	const char *media_type;     /* plain or signed (image/record.h) */
	char *blob;                 /* the record as stored, for a trust policy */
	size_t len;
};

struct orch_resolved {
	char *pinned; /* "registry/repo@sha256:..." */
	char *repo;   /* "registry/repo" */
	struct img_digest digest;
	bool records_known; /* false: not looked up (--allow-untested) */
	struct orch_record *records;
	size_t n_records;
	struct img_outcome *outcomes; /* outcome records and vetoes (image/outcome.h), oldest first */
	size_t n_outcomes;
};

/* Validate ref and pin it: a tag is resolved at the registry; a digest is
 * taken as given unless records are wanted, when the registry is asked for
 * the manifest (it must exist) and its test records. reg: NULL for the
 * defaults (credentials from the auth files, plain HTTP only on loopback). */
int orch_resolve_image(const char *ref, const struct img_registry_opts *reg, bool records, struct orch_resolved *out,
		       struct err *e);
void orch_resolved_free(struct orch_resolved *r);
/* Every platform the fleet runs needs a passing record; with a trust policy
 * (trust_file, or NULL) a signed one that the policy accepts. */
int orch_records_check(const struct orch_resolved *r, const char *trust_file, char *const *platforms, size_t n,
		       struct err *e);

/* Refuse (-1, e says why: the rollout or veto that decided) a digest the
 * outcome records make bad. With override (--override's reason, or NULL)
 * the rollout goes on: 1, and *lifted says what was lifted. */
int orch_outcomes_check(const struct orch_resolved *r, const char *override, char *lifted, size_t cap,
			struct err *e);

struct orch_rollout;
/* Attach the outcome record of an ended rollout to its digest (signed with
 * the key at r->o.sign_key, if any). reg as for orch_resolve_image. */
int orch_outcome_attach(const struct orch_rollout *r, const struct img_registry_opts *reg, struct err *e);

#endif
