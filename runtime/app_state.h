/* app_state.h: what a host knows of one app, kept in the store as
 * apps/<name>/state.json: the desired version (what the host was last told
 * to run: after a restart rampd carries on towards it), the current one, the
 * previous ones (most recent first: the revert targets), the pinned ones
 * (never collected), and the generation and rollout id of the last accepted
 * change, so that rampd can refuse a stale orchestrator's lower generation.
 * Field names follow docs/API.md.
 *
 * Written crash-safely (temporary file, fsync, rename, fsync of the
 * directory): after a kill -9 or a power cut the file is the old or the new
 * one. Read strictly: unknown fields, wrong types and bad digests are errors. */
#ifndef RAMP_RT_APP_STATE_H
#define RAMP_RT_APP_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image/digest.h"
#include "image/oci.h"
#include "lib/api.h"
#include "lib/err.h"

struct rt_store;

#define RT_APP_NAME_MAX API_MAX_NAME
#define RT_APP_VERSIONS_MAX 1000 /* previous or pinned entries in one state */

struct rt_app_version {
	char *image;                /* the reference it was deployed as ("reg/web@sha256:…") */
	struct img_digest manifest; /* its image manifest digest: the store's key */
	char *rollout;              /* the rollout that deployed it; NULL when none */
	int64_t since;              /* unix time it became current */
};

struct rt_app_state {
	char *name;
	int64_t generation; /* highest generation accepted, 0 for a new app */
	char *rollout;      /* rollout id of the last accepted change; NULL when none */
	bool has_desired, has_current;
	struct rt_app_version desired, current;
	struct rt_app_version *previous; /* most recent first */
	size_t n_previous;
	struct rt_app_version *pinned;
	size_t n_pinned;
};

/* [a-z0-9][a-z0-9_.-]*, at most RT_APP_NAME_MAX bytes (docs/API.md): it
 * names a directory and appears in URLs. */
int rt_app_name_check(const char *name, struct err *e);

int rt_app_state_parse(const char *buf, size_t len, struct rt_app_state *st, struct err *e);
/* Pretty JSON; *out is malloc'd. */
int rt_app_state_json(const struct rt_app_state *st, char **out, size_t *len, struct err *e);
/* A missing state file gives an empty state (no current, generation 0). */
int rt_app_state_read(struct rt_store *s, const char *name, struct rt_app_state *st, struct err *e);
int rt_app_state_write(struct rt_store *s, const struct rt_app_state *st, struct err *e);
/* Make v current; the old current becomes previous[0]; v leaves previous. */
int rt_app_state_switch(struct rt_app_state *st, const struct rt_app_version *v, struct err *e);
/* Names of the apps that have a state file, sorted. */
int rt_app_list(struct rt_store *s, struct strv *names, struct err *e);

int rt_app_version_copy(struct rt_app_version *dst, const struct rt_app_version *src, struct err *e);
void rt_app_version_free(struct rt_app_version *v);
void rt_app_state_free(struct rt_app_state *st);

#endif
