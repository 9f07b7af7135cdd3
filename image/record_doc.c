/* record_doc.c: test record documents (see record.h): plain JSON and in-toto
 * statements, read and written, and a record's blob read from a layout.
 * Attaching records to images is record.c's; this half is all rampd's trust
 * gate needs, so it links no archive or registry code. */
#include "image/record.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/json.h"

static const char *const RESULTS[] = {[IMG_RESULT_PASSED] = "PASSED", [IMG_RESULT_WARNED] = "WARNED",
				      [IMG_RESULT_FAILED] = "FAILED"};

const char *img_result_name(enum img_result r)
{
	return RESULTS[r];
}

int img_result_parse(const char *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(RESULTS); i++)
		if (!strcmp(s, RESULTS[i]))
			return (int)i;
	return -1;
}

/* ---- the fields every record has ---- */

/* platform, kernel, ..., rampVersion: the plain record's fields after "image" */
static void gen_fields(struct jgen *g, const struct img_record *r)
{
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
}

static int gen_result(struct jgen *g, char **out, size_t *len, const char *what, struct err *e)
{
	const char *buf;
	size_t n;
	int rc = jgen_result(g, &buf, &n, e);
	if (rc == 0) {
		if (!(*out = strndup(buf, n)))
			rc = err_errno(e, ENOMEM, "%s", what);
		*len = n;
	}
	jgen_free(g);
	return rc;
}

/* The fields gen_fields writes, read strictly from o (the caller checks
 * that o has no others). */
static int parse_fields(const struct json *o, const char *what, struct img_record *r, struct err *e)
{
	static const char *const pkeys[] = {"os", "architecture", "variant", NULL};
	const struct json *plat, *cmd;
	const char *s = NULL, *os = NULL, *arch = NULL, *variant = NULL;
	int64_t v = 0;
	if (json_field(o, "platform", JSON_OBJECT, true, &plat, e) < 0 || json_only_keys(plat, pkeys, "platform", e) < 0 ||
	    json_field_str(plat, "os", true, &os, e) < 0 || json_field_str(plat, "architecture", true, &arch, e) < 0 ||
	    json_field_str(plat, "variant", false, &variant, e) < 0)
		return -1;
	if (!(r->platform.os = strdup(os)) || !(r->platform.architecture = strdup(arch)) ||
	    (variant && !(r->platform.variant = strdup(variant))))
		return err_errno(e, ENOMEM, "%s", what);
	if (json_field_str(o, "kernel", true, &s, e) < 0 || !(r->kernel = strdup(s)))
		return -1;
	if (json_field(o, "command", JSON_ARRAY, true, &cmd, e) < 0)
		return -1;
	for (size_t i = 0; i < cmd->arr.n; i++) {
		if (cmd->arr.v[i]->type != JSON_STRING)
			return err_set(e, "command[%zu]: expected a string", i);
		if (strv_push(&r->command, cmd->arr.v[i]->str.s, e) < 0)
			return -1;
	}
	if (json_field_int(o, "exitCode", true, &v, e) < 0)
		return -1;
	if (v < 0 || v > 255)
		return err_set(e, "exitCode %lld is out of range", (long long)v);
	r->exit_code = (int)v;
	r->result = v ? IMG_RESULT_FAILED : IMG_RESULT_PASSED;
	if (json_field_int(o, "durationMs", true, &r->duration_ms, e) < 0)
		return -1;
	if (r->duration_ms < 0)
		return err_set(e, "negative durationMs");
	if (json_field_str(o, "time", true, &s, e) < 0 || !(r->time = strdup(s)) ||
	    json_field_str(o, "rampVersion", true, &s, e) < 0 || !(r->version = strdup(s)))
		return -1;
	return 0;
}

/* ---- plain records ---- */

int img_record_json(const struct img_record *r, char **out, size_t *len, struct err *e)
{
	struct jgen *g = jgen_new(false);
	if (!g)
		return err_errno(e, ENOMEM, "test record");
	jgen_obj_open(g);
	jgen_kstr(g, "image", r->image.s);
	gen_fields(g, r);
	jgen_obj_close(g);
	return gen_result(g, out, len, "test record", e);
}

int img_record_parse(const char *buf, size_t len, struct img_record *r, struct err *e)
{
	static const char *const keys[] = {"image", "platform", "kernel", "command", "exitCode",
					   "durationMs", "time", "rampVersion", NULL};
	struct json *j;
	const char *s = NULL;
	*r = (struct img_record){0};
	if (len > IMG_RECORD_MAX)
		return err_set(e, "test record is %zu bytes, more than the limit of %u", len, IMG_RECORD_MAX);
	if (!(j = json_parse(buf, len, e)))
		return err_ctx(e, "test record");
	int rc = json_only_keys(j, keys, "test record", e) < 0 || json_field_str(j, "image", true, &s, e) < 0 ||
			 img_digest_parse(s, &r->image, e) < 0 || parse_fields(j, "test record", r, e) < 0
		 ? -1
		 : 0;
	json_free(j);
	if (rc < 0) {
		img_record_free(r);
		err_ctx(e, "test record");
	}
	return rc;
}

/* ---- in-toto statements ---- */

static void gen_digest(struct jgen *g, const struct img_digest *d)
{
	jgen_key(g, "digest");
	jgen_obj_open(g);
	jgen_kstr(g, "sha256", img_digest_hex(d));
	jgen_obj_close(g);
}

int img_record_statement(const struct img_record *r, char **out, size_t *len, struct err *e)
{
	struct jgen *g = jgen_new(false);
	if (!g)
		return err_errno(e, ENOMEM, "statement");
	jgen_obj_open(g);
	jgen_kstr(g, "_type", IMG_INTOTO_STATEMENT);
	jgen_key(g, "subject");
	jgen_arr_open(g);
	jgen_obj_open(g);
	gen_digest(g, &r->image);
	jgen_obj_close(g);
	jgen_arr_close(g);
	jgen_kstr(g, "predicateType", IMG_TEST_RESULT_PREDICATE);
	jgen_key(g, "predicate");
	jgen_obj_open(g);
	jgen_kstr(g, "result", img_result_name(r->result));
	/* the test's configuration: this image, run with this command on this platform and kernel */
	jgen_key(g, "configuration");
	jgen_arr_open(g);
	jgen_obj_open(g);
	jgen_kstr(g, "name", IMG_RECORD_CONFIG_NAME);
	gen_digest(g, &r->image);
	jgen_key(g, "annotations");
	jgen_obj_open(g);
	gen_fields(g, r);
	jgen_obj_close(g);
	jgen_obj_close(g);
	jgen_arr_close(g);
	jgen_obj_close(g);
	jgen_obj_close(g);
	return gen_result(g, out, len, "statement", e);
}

/* A DigestSet's sha256 (other algorithms are ignored). */
static int sha256_of(const struct json *rd, struct img_digest *d, struct err *e)
{
	const struct json *set;
	const char *hex = NULL;
	char s[IMG_DIGEST_LEN + 8];
	if (json_field(rd, "digest", JSON_OBJECT, true, &set, e) < 0 || json_field_str(set, "sha256", true, &hex, e) < 0)
		return err_ctx(e, "digest");
	snprintf(s, sizeof s, "sha256:%.70s", hex);
	return img_digest_parse(s, d, e) < 0 ? err_ctx(e, "digest") : 0;
}

int img_record_parse_statement(const char *buf, size_t len, struct img_record *r, struct err *e)
{
	static const char *const keys[] = {"platform", "kernel", "command", "exitCode",
					   "durationMs", "time", "rampVersion", NULL};
	const struct json *subj, *pred, *conf, *mine = NULL, *ann;
	const char *type = NULL, *ptype = NULL, *result = NULL;
	struct img_digest tested;
	struct json *j;
	int rc = -1;
	*r = (struct img_record){0};
	if (len > IMG_RECORD_MAX)
		return err_set(e, "statement is %zu bytes, more than the limit of %u", len, IMG_RECORD_MAX);
	if (!(j = json_parse(buf, len, e)))
		return err_ctx(e, "statement");
	if (j->type != JSON_OBJECT) {
		err_set(e, "expected a JSON object");
		goto bad;
	}
	if (json_field_str(j, "_type", true, &type, e) < 0 || json_field_str(j, "predicateType", true, &ptype, e) < 0)
		goto bad;
	if (strcmp(type, IMG_INTOTO_STATEMENT)) {
		err_set(e, "_type \"%.100s\" is not %s", type, IMG_INTOTO_STATEMENT);
		goto bad;
	}
	if (strcmp(ptype, IMG_TEST_RESULT_PREDICATE)) {
		err_set(e, "predicateType \"%.100s\" is not %s", ptype, IMG_TEST_RESULT_PREDICATE);
		goto bad;
	}
	/* a test record is about one image */
	if (json_field(j, "subject", JSON_ARRAY, true, &subj, e) < 0)
		goto bad;
	if (subj->arr.n != 1 || subj->arr.v[0]->type != JSON_OBJECT) {
		err_set(e, "subject: expected one resource descriptor, not %zu", subj->arr.n);
		goto bad;
	}
	if (sha256_of(subj->arr.v[0], &r->image, e) < 0) {
		err_ctx(e, "subject");
		goto bad;
	}
	if (json_field(j, "predicate", JSON_OBJECT, true, &pred, e) < 0 ||
	    json_field_str(pred, "result", true, &result, e) < 0 ||
	    json_field(pred, "configuration", JSON_ARRAY, true, &conf, e) < 0) {
		err_ctx(e, "predicate");
		goto bad;
	}
	int res = img_result_parse(result);
	if (res < 0) {
		err_set(e, "predicate: result \"%.40s\" is not PASSED, WARNED or FAILED", result);
		goto bad;
	}
	for (size_t i = 0; i < conf->arr.n; i++) {
		const struct json *c = conf->arr.v[i];
		const char *name = c->type == JSON_OBJECT ? json_get_str(c, "name") : NULL;
		if (!name || strcmp(name, IMG_RECORD_CONFIG_NAME))
			continue;
		if (mine) {
			err_set(e, "predicate: configuration has two \"%s\" entries", IMG_RECORD_CONFIG_NAME);
			goto bad;
		}
		mine = c;
	}
	if (!mine) {
		err_set(e, "predicate: configuration has no \"%s\" entry (not a ramp test record)", IMG_RECORD_CONFIG_NAME);
		goto bad;
	}
	if (sha256_of(mine, &tested, e) < 0 || json_field(mine, "annotations", JSON_OBJECT, true, &ann, e) < 0 ||
	    json_only_keys(ann, keys, "annotations", e) < 0 || parse_fields(ann, "annotations", r, e) < 0) {
		err_ctx(e, "predicate: configuration \"%s\"", IMG_RECORD_CONFIG_NAME);
		goto bad;
	}
	if (!img_digest_eq(&tested, &r->image)) {
		err_set(e, "the test ran in %s, but the subject is %s", tested.s, r->image.s);
		goto bad;
	}
	/* the verdict and the exit status tell one story */
	if ((res == IMG_RESULT_FAILED) != (r->exit_code != 0)) {
		err_set(e, "result %s with exit status %d", result, r->exit_code);
		goto bad;
	}
	r->result = (enum img_result)res;
	rc = 0;
	goto out;
bad:
	err_ctx(e, "statement");
out:
	json_free(j);
	if (rc < 0)
		img_record_free(r);
	return rc;
}

int img_record_decode(const char *media_type, const char *buf, size_t len, struct img_record *r, struct err *e)
{
	struct img_dsse *d;
	if (!strcmp(media_type, IMG_MT_TEST_RECORD))
		return img_record_parse(buf, len, r, e);
	*r = (struct img_record){0};
	if (strcmp(media_type, IMG_MT_TEST_RECORD_DSSE))
		return err_set(e, "a test record of media type \"%.100s\"", media_type);
	if (!(d = malloc(sizeof *d)))
		return err_errno(e, ENOMEM, "test record");
	if (img_dsse_parse(buf, len, d, e) < 0) {
		free(d);
		return err_ctx(e, "signed test record");
	}
	if (strcmp(d->type, IMG_DSSE_INTOTO)) {
		err_set(e, "signed test record: payload type \"%.100s\" is not %s", d->type, IMG_DSSE_INTOTO);
	} else if (img_record_parse_statement(d->payload, d->payload_len, r, e) == 0) {
		r->envelope = d;
		return 0;
	} else {
		err_ctx(e, "signed test record");
	}
	img_dsse_free(d);
	free(d);
	return -1;
}

void img_record_free(struct img_record *r)
{
	img_platform_free(&r->platform);
	free(r->kernel);
	strv_free(&r->command);
	free(r->time);
	free(r->version);
	if (r->envelope) {
		img_dsse_free(r->envelope);
		free(r->envelope);
	}
	*r = (struct img_record){0};
}

bool img_record_passed(const struct img_record *r)
{
	return r->result != IMG_RESULT_FAILED;
}

void img_record_platform(const struct img_record *r, char *buf, size_t cap)
{
	snprintf(buf, cap, "%.40s/%.40s%s%.40s", r->platform.os ? r->platform.os : "",
		 r->platform.architecture ? r->platform.architecture : "", r->platform.variant ? "/" : "",
		 r->platform.variant ? r->platform.variant : "");
}

/* ---- in a layout ---- */

int img_record_blob(const struct img_layout *l, const struct img_manifest *artifact, const char **media_type,
		    char **buf, size_t *len, struct err *e)
{
	const char *mt = artifact->n_layers == 1 ? artifact->layers[0].media_type : "";
	if (!artifact->artifact_type || strcmp(artifact->artifact_type, IMG_MT_TEST_RECORD) || artifact->n_layers != 1 ||
	    (strcmp(mt, IMG_MT_TEST_RECORD) && strcmp(mt, IMG_MT_TEST_RECORD_DSSE)))
		return err_set(e, "not a ramp test record artifact");
	if (artifact->layers[0].size > (int64_t)IMG_RECORD_MAX)
		return err_set(e, "test record of %lld bytes, more than the limit of %u",
			       (long long)artifact->layers[0].size, IMG_RECORD_MAX);
	*media_type = strcmp(mt, IMG_MT_TEST_RECORD) ? IMG_MT_TEST_RECORD_DSSE : IMG_MT_TEST_RECORD;
	return img_layout_read_blob(l, &artifact->layers[0].digest, artifact->layers[0].size, IMG_RECORD_MAX, buf, len,
				    e);
}
