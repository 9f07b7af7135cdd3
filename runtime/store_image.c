/* store_image.c: images present in the store: their records, layers and
 * configs as read back (see store.h); making them is import.c. Kept apart so
 * that rampd, which only reads images, does not link the unpacker. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/layout.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "runtime/store.h"
#include "runtime/store_priv.h"

#define RECORD_MAX (4u << 20)

void rt_chain_ids(const struct img_digest *diff_ids, size_t n, struct img_digest *out)
{
	for (size_t i = 0; i < n; i++) {
		char buf[2 * IMG_DIGEST_LEN + 2];
		if (i == 0) {
			out[0] = diff_ids[0];
			continue;
		}
		int len = snprintf(buf, sizeof buf, "%s %s", out[i - 1].s, diff_ids[i].s);
		img_sha256_buf(buf, (size_t)len, &out[i]);
	}
}

void rt_store_image_free(struct rt_store_image *im)
{
	for (size_t i = 0; i < im->n_layers; i++) {
		if (im->layer_dirs && i < im->n_layer_dirs)
			free(im->layer_dirs[i]);
		if (im->media_types)
			free(im->media_types[i]);
	}
	free(im->layer_dirs);
	free(im->media_types);
	free(im->digests);
	free(im->diff_ids);
	free(im->chain_ids);
	*im = (struct rt_store_image){0};
}

int rt_store_layer_meta(struct rt_store *s, const struct img_digest *chain, struct rt_layer_meta *m, struct err *e)
{
	_cleanup_free_ char *p = rt_store_path(s, "layers/%s/layer.json", img_digest_hex(chain));
	_cleanup_free_ char *buf = NULL;
	size_t len;
	const char *c = NULL;
	int64_t size = 0, entries = 0;
	if (!p)
		return err_errno(e, ENOMEM, "layer");
	if (fs_read_file(p, 64 << 10, &buf, &len, e) < 0)
		return -1;
	struct json *j = json_parse(buf, len, e);
	int rc = -1;
	if (j && json_field_str(j, "chainID", true, &c, e) == 0 && json_field_bool(j, "devices", true, &m->devices, e) == 0 &&
	    json_field_int(j, "size", true, &size, e) == 0 && json_field_int(j, "entries", true, &entries, e) == 0) {
		if (strcmp(c, chain->s))
			err_set(e, "\"%s\" describes layer %.80s", p, c);
		else if (size < 0 || entries < 0)
			err_set(e, "\"%s\": negative size or entries", p);
		else
			rc = 0;
	}
	m->size = (uint64_t)size;
	m->entries = (uint64_t)entries;
	json_free(j);
	return rc < 0 ? err_ctx(e, "layer %s", chain->s) : 0;
}

bool rt_layer_shadowed(const struct img_digest *digests, const struct img_digest *diff_ids, size_t n, size_t i)
{
	for (size_t j = i + 1; j < n; j++)
		if (img_digest_eq(&digests[j], &digests[i]) && img_digest_eq(&diff_ids[j], &diff_ids[i]))
			return true;
	return false;
}

bool rt_store_layer_present(struct rt_store *s, const struct img_digest *chain)
{
	char rel[96];
	snprintf(rel, sizeof rel, "layers/%s/layer.json", img_digest_hex(chain));
	return faccessat(s->fd, rel, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

static int parse_layer(const struct json *l, struct rt_store_image *im, size_t i, struct err *e)
{
	static const char *const keys[] = {"digest", "mediaType", "diffID", "chainID", NULL};
	const char *dg, *mt, *diff, *chain;
	if (json_only_keys(l, keys, "layer", e) < 0 || json_field_str(l, "digest", true, &dg, e) < 0 ||
	    json_field_str(l, "mediaType", true, &mt, e) < 0 || json_field_str(l, "diffID", true, &diff, e) < 0 ||
	    json_field_str(l, "chainID", true, &chain, e) < 0 || img_digest_parse(dg, &im->digests[i], e) < 0 ||
	    img_digest_parse(diff, &im->diff_ids[i], e) < 0 || img_digest_parse(chain, &im->chain_ids[i], e) < 0)
		return -1;
	if (!img_media_is_layer(mt, NULL))
		return err_set(e, "unknown layer media type \"%.100s\"", mt);
	if (!(im->media_types[i] = strdup(mt)))
		return err_errno(e, ENOMEM, "image record");
	return 0;
}

static int parse_record(const char *buf, size_t len, struct rt_store_image *im, struct err *e)
{
	static const char *const keys[] = {"schemaVersion", "digest", "mediaType", "config", "imported", "layers", NULL};
	const char *dg, *cfg, *mt;
	const struct json *layers;
	int64_t schema, imported;
	int rc = -1;
	struct json *j = json_parse(buf, len, e);
	if (!j)
		return -1;
	if (json_only_keys(j, keys, "image record", e) < 0 || json_field_int(j, "schemaVersion", true, &schema, e) < 0 ||
	    json_field_str(j, "digest", true, &dg, e) < 0 || json_field_str(j, "mediaType", true, &mt, e) < 0 ||
	    json_field_str(j, "config", true, &cfg, e) < 0 || json_field_int(j, "imported", true, &imported, e) < 0 ||
	    json_field(j, "layers", JSON_ARRAY, true, &layers, e) < 0 || img_digest_parse(dg, &im->manifest, e) < 0 ||
	    img_digest_parse(cfg, &im->config, e) < 0)
		goto out;
	if (schema != RT_RECORD_SCHEMA) {
		err_set(e, "unsupported schemaVersion %lld", (long long)schema);
		goto out;
	}
	size_t n = layers->arr.n;
	if (n > IMG_MAX_LAYERS) {
		err_set(e, "more than %d layers", IMG_MAX_LAYERS);
		goto out;
	}
	im->digests = calloc(n + 1, sizeof *im->digests);
	im->diff_ids = calloc(n + 1, sizeof *im->diff_ids);
	im->chain_ids = calloc(n + 1, sizeof *im->chain_ids);
	im->media_types = calloc(n + 1, sizeof *im->media_types);
	im->layer_dirs = calloc(n + 1, sizeof *im->layer_dirs);
	if (!im->digests || !im->diff_ids || !im->chain_ids || !im->media_types || !im->layer_dirs) {
		err_errno(e, ENOMEM, "image record");
		goto out;
	}
	im->n_layers = n;
	for (size_t i = 0; i < n; i++)
		if (parse_layer(layers->arr.v[i], im, i, e) < 0) {
			err_ctx(e, "layer %zu", i);
			goto out;
		}
	/* the chain ids follow from the diff_ids; a record that disagrees is corrupt */
	struct img_digest *chains = calloc(n + 1, sizeof *chains);
	if (!chains) {
		err_errno(e, ENOMEM, "image record");
		goto out;
	}
	rt_chain_ids(im->diff_ids, n, chains);
	for (size_t i = 0; i < n; i++)
		if (!img_digest_eq(&chains[i], &im->chain_ids[i])) {
			err_set(e, "layer %zu: chain id %s does not follow from the diff_ids", i, im->chain_ids[i].s);
			free(chains);
			goto out;
		}
	free(chains);
	rc = 0;
out:
	json_free(j);
	return rc;
}

int rt_store_record_read(struct rt_store *s, const struct img_digest *manifest, struct rt_store_image *out,
			 struct err *e)
{
	_cleanup_free_ char *p = rt_store_path(s, "images/%s.json", img_digest_hex(manifest));
	_cleanup_free_ char *buf = NULL;
	size_t len;
	*out = (struct rt_store_image){0};
	if (!p)
		return err_errno(e, ENOMEM, "image");
	if (fs_read_file(p, RECORD_MAX, &buf, &len, e) < 0) {
		if (e->errnum == ENOENT)
			return err_errno(e, ENOENT, "image %s is not in the store", manifest->s);
		return -1;
	}
	if (parse_record(buf, len, out, e) < 0) {
		err_ctx(e, "\"%s\"", p);
		goto fail;
	}
	if (!img_digest_eq(&out->manifest, manifest)) {
		err_set(e, "\"%s\" describes image %s", p, out->manifest.s);
		goto fail;
	}
	return 0;
fail:
	rt_store_image_free(out);
	return -1;
}

int rt_store_image_get(struct rt_store *s, const struct img_digest *manifest, struct rt_store_image *out,
		       struct err *e)
{
	if (rt_store_record_read(s, manifest, out, e) < 0)
		return -1;
	for (size_t i = 0; i < out->n_layers; i++) {
		struct rt_layer_meta m;
		if (rt_layer_shadowed(out->digests, out->diff_ids, out->n_layers, i))
			continue;
		if (!rt_store_layer_present(s, &out->chain_ids[i])) {
			err_errno(e, ENOENT, "image %s: layer %s is missing from the store", manifest->s, out->chain_ids[i].s);
			goto fail;
		}
		if (rt_store_layer_meta(s, &out->chain_ids[i], &m, e) < 0)
			goto fail;
		out->has_devices |= m.devices;
		char **dir = &out->layer_dirs[out->n_layer_dirs++];
		if (!(*dir = rt_store_path(s, "layers/%s/fs", img_digest_hex(&out->chain_ids[i])))) {
			err_errno(e, ENOMEM, "image");
			goto fail;
		}
	}
	return 0;
fail:
	rt_store_image_free(out);
	return -1;
}

int rt_store_image_config(struct rt_store *s, const struct rt_store_image *im, struct img_config *c, struct err *e)
{
	struct img_layout l = rt_store_layout(s);
	_cleanup_free_ char *buf = NULL;
	size_t len;
	if (img_layout_read_blob(&l, &im->config, -1, IMG_CONFIG_MAX, &buf, &len, e) < 0)
		return err_ctx(e, "image %s", im->manifest.s);
	if (img_config_parse(buf, len, c, e) < 0)
		return err_ctx(e, "image %s: config", im->manifest.s);
	return 0;
}
