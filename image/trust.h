/* trust.h: trust policies for signed test records, shaped after Notation's
 * trustpolicy.json, and the check that an image has a record they accept.
 *
 *   {"version": "1",
 *    "trustPolicies": [{
 *       "name": "production",
 *       "registryScopes": ["registry.example.com/web"],   (or ["*"]: any other)
 *       "trustedKeys": [{"name": "ci-2026", "publicKey": "MCowBQYDK2VwAyEA…"}, …],
 *       "predicateType": "https://in-toto.io/attestation/test-result/v0.1",
 *       "results": ["PASSED"],
 *       "platformMustMatch": true}],
 *    "revokedKeys": ["sha256:…"]}
 *
 * An image "registry/repo" is judged by the statement whose scopes name its
 * repository, else by the one with the global scope "*", else it is refused.
 * It passes when one of its test records is a DSSE envelope with a signature
 * that verifies with a trusted key of that statement that is not revoked,
 * over an in-toto Statement about this very image with an accepted result and
 * (unless platformMustMatch is false) the platform asked for. Unsigned
 * records never pass. The file is untrusted input: parsed strictly, every
 * error naming its place ("trustPolicies[0].trustedKeys[1].publicKey: …").
 * docs/SECURITY.md has the threat model. */
#ifndef RAMP_IMG_TRUST_H
#define RAMP_IMG_TRUST_H

#include <stdbool.h>
#include <stddef.h>

#include "image/digest.h"
#include "image/dsse.h"
#include "image/key.h"
#include "lib/err.h"

#define IMG_TRUST_MAX (1u << 20)
#define IMG_TRUST_MAX_POLICIES 64
#define IMG_TRUST_MAX_KEYS 64   /* per statement */
#define IMG_TRUST_MAX_SCOPES 256 /* per statement */
#define IMG_TRUST_MAX_REVOKED 1024

struct img_trust_key {
	char *name;
	struct img_pubkey key;
};

struct img_trust_policy {
	char *name;
	char **scopes; /* "registry/repo"; empty for the global one */
	size_t n_scopes;
	bool global;
	struct img_trust_key *keys;
	size_t n_keys;
	unsigned results; /* 1 << enum img_result, for each accepted */
	bool platform;    /* the record's platform must be the one asked for */
};

struct img_trust {
	struct img_trust_policy *p;
	size_t n;
	struct img_digest *revoked; /* key ids */
	size_t n_revoked;
};

int img_trust_parse(const char *buf, size_t len, struct img_trust *t, struct err *e);
int img_trust_load(const char *path, struct img_trust *t, struct err *e);
void img_trust_free(struct img_trust *t);

/* The statement for repository "registry/repo" (exact scope, else global),
 * or NULL. */
const struct img_trust_policy *img_trust_find(const struct img_trust *t, const char *repo);
bool img_trust_revoked(const struct img_trust *t, const struct img_digest *key_id);

/* A test record as stored: the layer of its artifact. */
struct img_trust_record {
	const char *name; /* for messages: the artifact's digest */
	const char *media_type;
	const char *buf;
	size_t len;
};

/* Which record passed, and whose key vouched for it. */
struct img_trust_ok {
	size_t record;
	const struct img_trust_key *key;
	const struct img_trust_policy *policy;
};

/* One envelope under statement p: 0 when it passes, else -1 with the reason;
 * *key (may be NULL) is the key that vouched for it. */
int img_trust_check_envelope(const struct img_trust *t, const struct img_trust_policy *p,
			     const struct img_digest *image, const char *platform, const struct img_dsse *d,
			     const struct img_trust_key **key, struct err *e);
/* The same for a record blob (plain records never pass). */
int img_trust_check_record(const struct img_trust *t, const struct img_trust_policy *p, const struct img_digest *image,
			   const char *platform, const struct img_trust_record *rec, const struct img_trust_key **key,
			   struct err *e);
/* Does image (in repository "registry/repo") have a record the policy
 * accepts for platform ("os/arch[/variant]"; NULL when any will do)? 0 and
 * *ok, or -1 with every record's reason. */
int img_trust_check(const struct img_trust *t, const char *repo, const struct img_digest *image, const char *platform,
		    const struct img_trust_record *recs, size_t n, struct img_trust_ok *ok, struct err *e);

#endif
