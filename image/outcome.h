/* outcome.h: what became of a digest: outcome records and vetoes.
 *
 * When a rollout ends (done, rolled back, revert incomplete, aborted), ramp
 * attaches an outcome record to the digest it rolled out, as an OCI 1.1
 * artifact (artifactType IMG_MT_OUTCOME) whose subject is the image manifest,
 * like test records (record.h). `ramp veto` attaches the same kind of record
 * by hand: a veto marks a digest known-bad, an unveto lifts it. The record's
 * one layer is small JSON (docs/IMAGE.md), plain or, with a signing key, in
 * a DSSE envelope whose payload is that JSON (IMG_MT_OUTCOME_DSSE).
 *
 * What the records say together (img_outcome_verdict): the newest record
 * that decides wins. A rolled-back (or revert-incomplete) rollout and a veto
 * make the digest bad; an unveto and a rollout that ended done make it good
 * again; an aborted rollout decides nothing. A bad digest is refused by a new
 * rollout unless --override; reverts are never refused. */
#ifndef RAMP_IMG_OUTCOME_H
#define RAMP_IMG_OUTCOME_H

#include <stdbool.h>
#include <stddef.h>

#include "image/digest.h"
#include "image/key.h"
#include "image/oci.h"
#include "image/registry.h"
#include "lib/err.h"

#define IMG_MT_OUTCOME_DSSE "application/vnd.ramp.outcome.v1+dsse"
#define IMG_OUTCOME_MAX (16u << 10)
/* at most this many records of one digest are read */
#define IMG_OUTCOMES_MAX 64

enum img_outcome_kind { IMG_OUTCOME_ROLLOUT, IMG_OUTCOME_VETO, IMG_OUTCOME_UNVETO };

struct img_outcome {
	enum img_outcome_kind kind;
	struct img_digest image;
	char *app, *fleet, *rollout, *result; /* a rollout's (result: done, rolled_back, ...) */
	char *host;     /* optional: the host that failed */
	char *reason;   /* a veto's and unveto's; a failed rollout's */
	char *override; /* optional: the --override reason the rollout ran with */
	char *time;     /* RFC 3339, UTC */
	char *by;       /* who: the CI's user, else the login name; a rollout's: who started it */
	char *ci;       /* optional: the CI run (URL); a rollout's: the one that started it */
	char *finished_by; /* optional, a rollout's: who ended it (its --resume or --abort), when not by */
	char *version;  /* ramp's */
	bool signed_;   /* read from a DSSE envelope (its signature NOT verified) */
};

const char *img_outcome_kind_name(enum img_outcome_kind k);
/* Canonical JSON of a record; *out is malloc'd. */
int img_outcome_json(const struct img_outcome *o, char **out, size_t *len, struct err *e);
/* Parse untrusted record JSON (size-limited, strict). */
int img_outcome_parse(const char *buf, size_t len, struct img_outcome *o, struct err *e);
/* A record blob of either media type (a signed one: its statement's predicate). */
int img_outcome_decode(const char *media_type, const char *buf, size_t len, struct img_outcome *o, struct err *e);
void img_outcome_free(struct img_outcome *o);
void img_outcomes_free(struct img_outcome *o, size_t n);

/* Who is running ramp, for records: the CI's variables (GITHUB_ACTOR,
 * GITLAB_USER_LOGIN, BUILD_USER_ID...) or the login name; *ci the run's URL
 * when the CI says it (GitHub, GitLab, Jenkins' BUILD_URL), else NULL. */
int img_outcome_who(char **by, char **ci, struct err *e);

/* Whether the records make the digest bad: *bad, and the record that
 * decided (an index into o), or -1 when none did. */
int img_outcome_verdict(const struct img_outcome *o, size_t n, bool *bad);

/* Attach a record to subject in repo of registry r (signed with key unless
 * NULL); *out: the artifact's digest. */
int img_outcome_push(struct img_registry *r, const char *repo, const struct img_descriptor *subject,
		     const struct img_outcome *o, const struct img_privkey *key, struct img_digest *out, struct err *e);
/* The records attached to the digest subject in repo, oldest first; a record
 * that cannot be read is skipped with a warning (it decides nothing). */
int img_outcome_list(struct img_registry *r, const char *repo, const struct img_digest *subject,
		     struct img_outcome **out, size_t *n, struct err *e);
struct img_image;
/* The records attached to an image in its layout (pulled with it), oldest
 * first; as strict as img_outcome_list: an unreadable one is skipped with a
 * warning. */
int img_outcome_list_layout(const struct img_image *img, struct img_outcome **out, size_t *n, struct err *e);
/* One line about a record, for people ("2026-12-05T08:00:00Z rolled_back: rollout web-... on prod by alice: ..."). */
void img_outcome_describe(const struct img_outcome *o, char *buf, size_t cap);

#endif
