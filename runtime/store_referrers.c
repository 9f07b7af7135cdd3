/* store_referrers.c: an image's test records kept in the store beside it
 * (see store.h): referrers/<manifest-hex>.json is an OCI index of the record
 * artifacts, as the registry listed them; their manifests and blobs are in
 * blobs/. The pull helper writes them (import.c: rt_store_referrers_put,
 * under rampd's store mutex), rampd's trust gate reads them, the GC keeps
 * them with the image. Nothing here unpacks: rampd links it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "image/layout.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "runtime/store.h"
#include "runtime/store_priv.h"

int rt_store_artifact_read(const struct img_layout *l, const struct img_descriptor *d, struct img_manifest *m,
			 struct err *e)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	if (img_layout_read_blob(l, &d->digest, d->size, RT_REFERRER_DOC_MAX, &buf, &len, e) < 0 ||
	    img_manifest_parse(buf, len, m, e) < 0)
		return err_ctx(e, "test record %s", d->digest.s);
	return 0;
}

int rt_store_referrers_get(struct rt_store *s, const struct img_digest *image, struct img_index *out, struct err *e)
{
	_cleanup_free_ char *p = rt_store_path(s, "referrers/%s.json", img_digest_hex(image));
	_cleanup_free_ char *buf = NULL;
	size_t len;
	*out = (struct img_index){0};
	if (!p)
		return err_errno(e, ENOMEM, "test records");
	if (fs_read_file(p, RT_REFERRERS_MAX * 4096, &buf, &len, e) < 0) {
		if (e->errnum == ENOENT)
			return err_errno(e, ENOENT, "the store has no test records of %s (they are fetched with it)",
					 image->s);
		return -1;
	}
	if (img_index_parse(buf, len, out, e) < 0)
		return err_ctx(e, "\"%s\"", p);
	if (out->n > RT_REFERRERS_MAX) {
		img_index_free(out);
		return err_set(e, "\"%s\": more than %d test records", p, RT_REFERRERS_MAX);
	}
	return 0;
}

int rt_store_referrers_blobs(struct rt_store *s, const struct img_index *x, struct img_digest **out, size_t *n,
			     struct err *e)
{
	struct img_layout l = rt_store_layout(s);
	struct img_digest *v = calloc(x->n * 3 + 1, sizeof *v);
	*n = 0;
	if (!v)
		return err_errno(e, ENOMEM, "test records");
	for (size_t i = 0; i < x->n; i++) {
		struct img_manifest m;
		struct err ignored;
		v[(*n)++] = x->manifests[i].digest;
		if (rt_store_artifact_read(&l, &x->manifests[i], &m, &ignored) < 0)
			continue; /* gone or broken: the trust gate says so when it reads it */
		v[(*n)++] = m.config.digest;
		if (m.n_layers == 1)
			v[(*n)++] = m.layers[0].digest;
		img_manifest_free(&m);
	}
	*out = v;
	return 0;
}
