/* record.c: test records attached to images as OCI artifacts, plain or
 * signed (see record.h; the documents themselves are record_doc.c's). */
#include "image/record.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"

#define EMPTY_JSON "{}"

/* ---- in a layout ---- */

/* The record's bytes: plain JSON, or the envelope of its signed statement. */
static int record_bytes(const struct img_record *r, const struct img_privkey *key, char **out, size_t *len,
			struct err *e)
{
	_cleanup_free_ char *st = NULL;
	size_t st_len;
	struct img_dsse d;
	if (!key)
		return img_record_json(r, out, len, e);
	if (img_record_statement(r, &st, &st_len, e) < 0 || img_dsse_sign(IMG_DSSE_INTOTO, st, st_len, key, &d, e) < 0)
		return -1;
	int rc = img_dsse_json(&d, out, len, e);
	img_dsse_free(&d);
	return rc;
}

int img_record_attach(struct img_image *img, const struct img_record *r, const struct img_privkey *key,
		      struct err *e)
{
	_cleanup_free_ char *rec = NULL, *man_json = NULL;
	size_t rec_len, man_len;
	struct img_manifest m = {0};
	struct img_descriptor layer = {0}, d = {0};
	struct img_index x = {0};
	int rc = -1;

	if (record_bytes(r, key, &rec, &rec_len, e) < 0)
		return -1;
	m.artifact_type = IMG_MT_TEST_RECORD;
	m.config.media_type = IMG_MT_OCI_EMPTY;
	m.config.size = 2;
	layer.media_type = key ? IMG_MT_TEST_RECORD_DSSE : IMG_MT_TEST_RECORD;
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
	const char *mt;
	size_t len;
	if (img_record_blob(l, artifact, &mt, &buf, &len, e) < 0 || img_record_decode(mt, buf, len, r, e) < 0)
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
