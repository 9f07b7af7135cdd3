/* record.c: test records as OCI artifacts (see record.h). */
#include "image/record.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/json.h"

#define EMPTY_JSON "{}"

int img_record_json(const struct img_record *r, char **out, size_t *len, struct err *e)
{
	struct jgen *g = jgen_new(false);
	const char *buf;
	size_t n;
	if (!g)
		return err_errno(e, ENOMEM, "test record");
	jgen_obj_open(g);
	jgen_kstr(g, "image", r->image.s);
	jgen_key(g, "platform");
	jgen_obj_open(g);
	jgen_kstr(g, "os", r->platform.os ? r->platform.os : "");
	jgen_kstr(g, "architecture", r->platform.architecture ? r->platform.architecture : "");
	if (r->platform.variant)
		jgen_kstr(g, "variant", r->platform.variant);
	jgen_obj_close(g);
	jgen_kstr(g, "kernel", r->kernel ? r->kernel : "");
	jgen_key(g, "command");
	jgen_arr_open(g);
	for (size_t i = 0; i < r->command.n; i++)
		jgen_str(g, r->command.v[i]);
	jgen_arr_close(g);
	jgen_kint(g, "exitCode", r->exit_code);
	jgen_kint(g, "durationMs", r->duration_ms);
	jgen_kstr(g, "time", r->time ? r->time : "");
	jgen_kstr(g, "rampVersion", r->version ? r->version : "");
	jgen_obj_close(g);
	int rc = jgen_result(g, &buf, &n, e);
	if (rc == 0) {
		if (!(*out = strndup(buf, n)))
			rc = err_errno(e, ENOMEM, "test record");
		*len = n;
	}
	jgen_free(g);
	return rc;
}

int img_record_parse(const char *buf, size_t len, struct img_record *r, struct err *e)
{
	static const char *const keys[] = {"image", "platform", "kernel", "command", "exitCode",
					   "durationMs", "time", "rampVersion", NULL};
	static const char *const pkeys[] = {"os", "architecture", "variant", NULL};
	struct json *j;
	const struct json *plat, *cmd;
	const char *s = NULL;
	int64_t v = 0;
	int rc = -1;
	*r = (struct img_record){0};
	if (len > IMG_RECORD_MAX)
		return err_set(e, "test record is %zu bytes, more than the limit of %u", len, IMG_RECORD_MAX);
	if (!(j = json_parse(buf, len, e)))
		return err_ctx(e, "test record");
	if (json_only_keys(j, keys, "test record", e) < 0)
		goto out;
	if (json_field_str(j, "image", true, &s, e) < 0 || img_digest_parse(s, &r->image, e) < 0)
		goto bad;
	if (json_field(j, "platform", JSON_OBJECT, true, &plat, e) < 0 || json_only_keys(plat, pkeys, "platform", e) < 0)
		goto bad;
	const char *os = NULL, *arch = NULL, *variant = NULL;
	if (json_field_str(plat, "os", true, &os, e) < 0 || json_field_str(plat, "architecture", true, &arch, e) < 0 ||
	    json_field_str(plat, "variant", false, &variant, e) < 0)
		goto bad;
	if (!(r->platform.os = strdup(os)) || !(r->platform.architecture = strdup(arch)) ||
	    (variant && !(r->platform.variant = strdup(variant))))
		goto nomem;
	if (json_field_str(j, "kernel", true, &s, e) < 0 || !(r->kernel = strdup(s)))
		goto bad;
	if (json_field(j, "command", JSON_ARRAY, true, &cmd, e) < 0)
		goto bad;
	for (size_t i = 0; i < cmd->arr.n; i++) {
		if (cmd->arr.v[i]->type != JSON_STRING) {
			err_set(e, "command[%zu]: expected a string", i);
			goto bad;
		}
		if (img_strv_push(&r->command, cmd->arr.v[i]->str.s, e) < 0)
			goto out;
	}
	if (json_field_int(j, "exitCode", true, &v, e) < 0)
		goto bad;
	if (v < 0 || v > 255) {
		err_set(e, "exitCode %lld is out of range", (long long)v);
		goto bad;
	}
	r->exit_code = (int)v;
	if (json_field_int(j, "durationMs", true, &r->duration_ms, e) < 0)
		goto bad;
	if (r->duration_ms < 0) {
		err_set(e, "negative durationMs");
		goto bad;
	}
	if (json_field_str(j, "time", true, &s, e) < 0 || !(r->time = strdup(s)) ||
	    json_field_str(j, "rampVersion", true, &s, e) < 0 || !(r->version = strdup(s)))
		goto bad;
	rc = 0;
	goto out;
nomem:
	err_errno(e, ENOMEM, "test record");
	goto out;
bad:
	err_ctx(e, "test record");
out:
	json_free(j);
	if (rc < 0)
		img_record_free(r);
	return rc;
}

void img_record_free(struct img_record *r)
{
	img_platform_free(&r->platform);
	free(r->kernel);
	img_strv_free(&r->command);
	free(r->time);
	free(r->version);
	*r = (struct img_record){0};
}

bool img_record_passed(const struct img_record *r)
{
	return r->exit_code == 0;
}

int img_record_attach(struct img_image *img, const struct img_record *r, struct err *e)
{
	_cleanup_free_ char *rec = NULL, *man_json = NULL;
	size_t rec_len, man_len;
	struct img_manifest m = {0};
	struct img_descriptor layer = {0}, d = {0};
	struct img_index x = {0};
	int rc = -1;

	if (img_record_json(r, &rec, &rec_len, e) < 0)
		return -1;
	m.artifact_type = IMG_MT_TEST_RECORD;
	m.config.media_type = IMG_MT_OCI_EMPTY;
	m.config.size = 2;
	layer.media_type = IMG_MT_TEST_RECORD;
	layer.size = (int64_t)rec_len;
	m.layers = &layer;
	m.n_layers = 1;
	/* what identifies the image, not how this layout names it */
	struct img_descriptor subject = {.media_type = img->desc.media_type, .digest = img->desc.digest,
					 .size = img->desc.size};
	m.subject = &subject;
	if (img_layout_put_blob(&img->layout, EMPTY_JSON, 2, &m.config.digest, e) < 0 ||
	    img_layout_put_blob(&img->layout, rec, rec_len, &layer.digest, e) < 0 ||
	    img_manifest_json(&m, &man_json, &man_len, e) < 0)
		return -1;
	d.media_type = IMG_MT_OCI_MANIFEST;
	d.artifact_type = IMG_MT_TEST_RECORD;
	d.size = (int64_t)man_len;
	if (img_layout_put_blob(&img->layout, man_json, man_len, &d.digest, e) < 0 ||
	    img_layout_read_index(&img->layout, &x, e) < 0)
		return -1;
	if (img_layout_add_referrers(&img->layout, &x, &d, 1, e) < 0 || img_layout_write_index(&img->layout, &x, e) < 0 ||
	    img_image_save(img, e) < 0)
		goto out;
	rc = 0;
out:
	img_index_free(&x);
	return rc;
}

int img_record_load(const struct img_layout *l, const struct img_manifest *artifact, struct img_record *r,
		    struct err *e)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	if (!artifact->artifact_type || strcmp(artifact->artifact_type, IMG_MT_TEST_RECORD) || artifact->n_layers != 1 ||
	    strcmp(artifact->layers[0].media_type, IMG_MT_TEST_RECORD))
		return err_set(e, "not a ramp test record artifact");
	if (img_layout_read_blob(l, &artifact->layers[0].digest, artifact->layers[0].size, IMG_RECORD_MAX, &buf, &len,
				 e) < 0 ||
	    img_record_parse(buf, len, r, e) < 0)
		return -1;
	if (artifact->subject && !img_digest_eq(&artifact->subject->digest, &r->image)) {
		img_record_free(r);
		return err_set(e, "test record is about %s but is attached to %s", r->image.s, artifact->subject->digest.s);
	}
	return 0;
}

int img_record_list(const struct img_image *img, struct img_record **out, size_t *n, struct err *e)
{
	struct img_referrer *refs = NULL;
	size_t n_refs = 0, cnt = 0;
	struct img_record *rs = NULL;
	*out = NULL;
	*n = 0;
	if (img_image_referrers(img, &refs, &n_refs, e) < 0)
		return -1;
	if (n_refs && !(rs = calloc(n_refs, sizeof *rs))) {
		img_referrers_free(refs, n_refs);
		return err_errno(e, ENOMEM, "test records");
	}
	for (size_t i = 0; i < n_refs; i++) {
		if (!refs[i].desc.artifact_type || strcmp(refs[i].desc.artifact_type, IMG_MT_TEST_RECORD))
			continue;
		if (img_record_load(&img->layout, &refs[i].manifest, &rs[cnt], e) < 0) {
			err_ctx(e, "test record %s", refs[i].desc.digest.s);
			img_records_free(rs, cnt);
			img_referrers_free(refs, n_refs);
			return -1;
		}
		cnt++;
	}
	img_referrers_free(refs, n_refs);
	*out = rs;
	*n = cnt;
	return 0;
}

void img_records_free(struct img_record *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		img_record_free(&r[i]);
	free(r);
}
