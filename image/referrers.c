/* referrers.c: referrers API and its tag fallback (see referrers.h). */
#include "image/referrers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/pull.h"
#include "lib/cleanup.h"
#include "lib/http.h"
#include "lib/log.h"

static int keep_type(struct img_index *x, const char *artifact_type)
{
	size_t k = 0;
	for (size_t i = 0; i < x->n; i++) {
		if (artifact_type && (!x->manifests[i].artifact_type || strcmp(x->manifests[i].artifact_type, artifact_type))) {
			img_descriptor_free(&x->manifests[i]);
			continue;
		}
		x->manifests[k++] = x->manifests[i];
	}
	x->n = k;
	return 0;
}

/* The fallback tag index, or an empty one when there is none. */
static int tag_index(struct img_registry *r, const char *repo, const struct img_digest *subject, struct img_index *out,
		     bool *exists, struct err *e)
{
	char tag[80];
	_cleanup_free_ char *buf = NULL, *mt = NULL;
	size_t len;
	struct img_digest d;
	struct err fe;
	*out = (struct img_index){0};
	*exists = false;
	snprintf(tag, sizeof tag, "sha256-%s", img_digest_hex(subject));
	if (img_fetch_manifest(r, repo, tag, &buf, &len, &mt, &d, &fe) < 0) {
		if (fe.errnum == ENOENT)
			return 0;
		*e = fe;
		return -1;
	}
	if (!img_media_is_index(mt))
		return err_set(e, "%s:%s is a \"%.100s\", not a referrers index", repo, tag, mt);
	if (img_index_parse(buf, len, out, e) < 0)
		return err_ctx(e, "referrers index %s:%s", repo, tag);
	*exists = true;
	return 0;
}

/* Move a page's descriptors to the end of out. */
static int append_page(struct img_index *out, struct img_index *page, struct err *e)
{
	if (out->n + page->n > IMG_REFERRERS_MAX)
		return err_set(e, "more than %d referrers", IMG_REFERRERS_MAX);
	struct img_descriptor *nm = realloc(out->manifests, (out->n + page->n + 1) * sizeof *nm);
	if (!nm)
		return err_errno(e, ENOMEM, "referrers");
	out->manifests = nm;
	memcpy(nm + out->n, page->manifests, page->n * sizeof *nm);
	out->n += page->n;
	page->n = 0;
	return 0;
}

int img_referrers_list(struct img_registry *r, const char *repo, const struct img_digest *subject,
		       const char *artifact_type, struct img_index *out, struct err *e)
{
	struct http_xfer x;
	char scope[400], what[400];
	_cleanup_free_ char *first = NULL, *next = NULL;
	int rc = -1;
	*out = (struct img_index){0};
	snprintf(scope, sizeof scope, "repository:%s:pull", repo);
	snprintf(what, sizeof what, "referrers of %s in %s", subject->s, repo);
	_cleanup_free_ char *at = artifact_type ? http_escape(artifact_type) : NULL;
	/* a long list comes in pages: each names the next in its Link header */
	for (unsigned page = 0;; page++) {
		struct img_index pg;
		http_xfer_init(&x);
		x.max_body = IMG_MANIFEST_MAX;
		x.follow = true;
		if ((next ? http_xfer_url(&x, next, e)
			  : img_reg_url(r, &x, e, "%s/referrers/%s%s%s", repo, subject->s, at ? "?artifactType=" : "",
					at ? at : "")) < 0 ||
		    http_xfer_header(&x, e, "Accept: %s", IMG_MT_OCI_INDEX) < 0 || img_reg_do(r, &x, scope, e) < 0)
			goto out;
		if (!first && !(first = strdup(x.url))) {
			err_errno(e, ENOMEM, "referrers");
			goto out;
		}
		if (x.status != 200)
			break;
		if (img_index_parse(x.resp_body, x.resp_len, &pg, e) < 0) {
			err_ctx(e, "%s", what);
			goto out;
		}
		keep_type(&pg, artifact_type);
		int arc = append_page(out, &pg, e);
		img_index_free(&pg);
		if (arc < 0)
			goto out;
		free(next);
		if (!(next = http_link_next(&x))) {
			rc = 0;
			goto out;
		}
		/* the pages stay with the registry: never another host, never an endless chain */
		if (!http_same_origin(next, first)) {
			err_set(e, "%s: the registry's next page is on another host; refusing it", what);
			goto out;
		}
		if (page + 1 >= IMG_REFERRERS_MAX_PAGES) {
			err_set(e, "%s: more than %d pages", what, IMG_REFERRERS_MAX_PAGES);
			goto out;
		}
		http_xfer_free(&x);
	}
	if (next || (x.status != 404 && x.status != 400 && x.status != 405)) {
		img_reg_error(r, &x, "referrers", repo, e);
		goto out;
	}
	/* no referrers API: the tag schema */
	bool exists;
	if (tag_index(r, repo, subject, out, &exists, e) < 0)
		goto out;
	rc = keep_type(out, artifact_type);
out:
	if (rc < 0)
		img_index_free(out);
	http_xfer_free(&x);
	return rc;
}

int img_referrers_tag_add(struct img_registry *r, const char *repo, const struct img_digest *subject,
			  const struct img_descriptor *artifact, struct err *e)
{
	struct img_index x;
	struct http_xfer put;
	char scope[400];
	bool exists;
	_cleanup_free_ char *json = NULL;
	size_t len;
	int rc = -1;
	if (tag_index(r, repo, subject, &x, &exists, e) < 0)
		return -1;
	for (size_t i = 0; i < x.n; i++)
		if (img_digest_eq(&x.manifests[i].digest, &artifact->digest)) {
			img_index_free(&x);
			return 0; /* listed already */
		}
	http_xfer_init(&put);
	if (img_index_add(&x, artifact, e) < 0 || img_index_json(&x, &json, &len, e) < 0)
		goto out;
	snprintf(scope, sizeof scope, "repository:%s:pull,push", repo);
	put.method = "PUT";
	put.body = json;
	put.body_len = len;
	put.has_body = true;
	put.max_body = 64 << 10;
	if (img_reg_url(r, &put, e, "%s/manifests/sha256-%s", repo, img_digest_hex(subject)) < 0 ||
	    http_xfer_header(&put, e, "Content-Type: %s", IMG_MT_OCI_INDEX) < 0 || img_reg_do(r, &put, scope, e) < 0)
		goto out;
	if (put.status != 201 && put.status != 200) {
		img_reg_error(r, &put, "referrers index", repo, e);
		goto out;
	}
	rc = 0;
out:
	http_xfer_free(&put);
	img_index_free(&x);
	return rc;
}
