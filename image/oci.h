/* oci.h: the OCI image model (image-spec v1.1): descriptors, manifests,
 * indexes and image configs, parsed from untrusted JSON with limits and
 * written back as canonical JSON (fixed key order, maps sorted by key), so
 * that the same model always gives the same bytes and digests.
 *
 * Docker schema 2 manifests, manifest lists and configs are read as well;
 * Docker schema 1 is refused with a clear error. */
#ifndef RAMP_IMG_OCI_H
#define RAMP_IMG_OCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image/digest.h"
#include "lib/err.h"
#include "lib/strv.h"

#define IMG_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define IMG_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define IMG_MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define IMG_MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define IMG_MT_OCI_EMPTY "application/vnd.oci.empty.v1+json"
#define IMG_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define IMG_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define IMG_MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define IMG_MT_DOCKER_LAYER "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define IMG_MT_DOCKER_SCHEMA1 "application/vnd.docker.distribution.manifest.v1+json"
#define IMG_MT_DOCKER_SCHEMA1_SIGNED "application/vnd.docker.distribution.manifest.v1+prettyjws"
/* ramp's test record, stored as an artifact manifest whose subject is the image */
#define IMG_MT_TEST_RECORD "application/vnd.ramp.test-record.v1+json"
/* outcome records and vetoes (image/outcome.h) */
#define IMG_MT_OUTCOME "application/vnd.ramp.outcome.v1+json"

#define IMG_ANN_REF_NAME "org.opencontainers.image.ref.name"
#define IMG_ANN_CREATED "org.opencontainers.image.created"

/* Size limits for documents read from untrusted places. */
#define IMG_MANIFEST_MAX (4u << 20)
#define IMG_CONFIG_MAX (8u << 20)
#define IMG_MAX_LAYERS 1000

/* A string map kept sorted by key. */
struct img_kv {
	char *k, *v;
};
struct img_kvs {
	struct img_kv *v;
	size_t n;
};
int img_kvs_set(struct img_kvs *m, const char *k, const char *v, struct err *e);
const char *img_kvs_get(const struct img_kvs *m, const char *k);
void img_kvs_free(struct img_kvs *m);
/* A copy of src into dst (which is overwritten, not freed). */
int img_kvs_copy(struct img_kvs *dst, const struct img_kvs *src, struct err *e);

struct img_platform {
	char *os, *architecture, *variant;
};
/* The platform this program runs on (linux/amd64, linux/arm64/v8, …). */
void img_platform_host(struct img_platform *p);
/* "os/arch[/variant]" */
int img_platform_parse(const char *s, struct img_platform *p, struct err *e);
bool img_platform_match(const struct img_platform *want, const struct img_platform *have);
void img_platform_free(struct img_platform *p);

struct img_descriptor {
	char *media_type;
	struct img_digest digest;
	int64_t size;
	char *artifact_type;
	bool has_platform;
	struct img_platform platform;
	struct img_kvs annotations;
};
void img_descriptor_free(struct img_descriptor *d);
int img_descriptor_copy(struct img_descriptor *dst, const struct img_descriptor *src, struct err *e);

struct img_manifest {
	char *media_type; /* as given in the document (may be NULL for OCI) */
	char *artifact_type;
	struct img_descriptor config;
	struct img_descriptor *layers;
	size_t n_layers;
	struct img_descriptor *subject; /* NULL when none */
	struct img_kvs annotations;
};
int img_manifest_parse(const char *buf, size_t len, struct img_manifest *m, struct err *e);
/* Canonical OCI JSON; *out is malloc'd. */
int img_manifest_json(const struct img_manifest *m, char **out, size_t *len, struct err *e);
void img_manifest_free(struct img_manifest *m);

struct img_index {
	char *media_type;
	struct img_descriptor *manifests;
	size_t n;
	struct img_kvs annotations;
};
int img_index_parse(const char *buf, size_t len, struct img_index *x, struct err *e);
int img_index_json(const struct img_index *x, char **out, size_t *len, struct err *e);
int img_index_add(struct img_index *x, const struct img_descriptor *d, struct err *e);
void img_index_free(struct img_index *x);

/* Docker's Healthcheck; durations in nanoseconds, 0 = inherit the default. */
struct img_healthcheck {
	struct strv test; /* ["CMD", ...], ["CMD-SHELL", "..."], ["NONE"] */
	int64_t interval, timeout, start_period, retries;
};

struct img_history {
	char *created, *created_by, *comment;
	bool empty_layer;
};

struct img_config {
	struct img_platform platform;
	char *created, *author;
	/* the container settings */
	char *user, *workdir, *stop_signal;
	struct strv env, entrypoint, cmd;
	bool has_entrypoint, has_cmd;
	struct strv exposed_ports; /* "8080/tcp", kept sorted */
	struct img_kvs labels;
	struct img_healthcheck *healthcheck;
	struct img_digest *diff_ids;
	size_t n_diff_ids;
	struct img_history *history;
	size_t n_history;
};
int img_config_parse(const char *buf, size_t len, struct img_config *c, struct err *e);
int img_config_json(const struct img_config *c, char **out, size_t *len, struct err *e);
void img_config_free(struct img_config *c);
/* Deep copy (used to start a new image from a base's config). */
int img_config_copy(struct img_config *dst, const struct img_config *src, struct err *e);

bool img_media_is_manifest(const char *mt);
bool img_media_is_index(const char *mt);
/* Layer media types we can unpack; *compression gets "gzip", "zstd" or "". */
bool img_media_is_layer(const char *mt, const char **compression);

#endif
