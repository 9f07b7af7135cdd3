/* pull.c: pull images and their test records from a registry (see pull.h). */
#include "image/pull.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <fcntl.h>
#include <unistd.h>

#include "image/record.h"
#include "image/referrers.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/log.h"

/* ---- manifests ---- */

int img_fetch_manifest(struct img_registry *r, const char *repo, const char *object, char **buf, size_t *len,
		       char **media_type, struct img_digest *digest, struct err *e)
{
	struct http_xfer x;
	char scope[400], what[400];
	struct img_digest want;
	bool by_digest = !strncmp(object, "sha256:", 7);
	int rc = -1;
	*buf = *media_type = NULL;
	if (by_digest && img_digest_parse(object, &want, e) < 0)
		return -1;
	snprintf(scope, sizeof scope, "repository:%s:pull", repo);
	snprintf(what, sizeof what, "manifest %s%s%s", repo, by_digest ? "@" : ":", object);
	http_xfer_init(&x);
	x.max_body = IMG_MANIFEST_MAX;
	x.follow = true;
	if (img_reg_url(r, &x, e, "%s/manifests/%s", repo, object) < 0 ||
	    http_xfer_header(&x, e, "Accept: %s", IMG_REG_ACCEPT) < 0)
		goto out;
	if (img_reg_do(r, &x, scope, e) < 0) {
		if (x.fail == HTTP_FAIL_TOO_BIG)
			err_set(e, "%s: larger than the limit of %u bytes; refusing it", what, IMG_MANIFEST_MAX);
		goto out;
	}
	if (x.status != 200) {
		img_reg_error(r, &x, what, repo, e);
		if (x.status == 404)
			e->errnum = ENOENT;
		goto out;
	}
	/* the media type: Content-Type, or the document's own field */
	const char *ct = http_header_get(&x, "Content-Type");
	char mt[128] = "";
	if (ct) {
		size_t n = strcspn(ct, "; ");
		snprintf(mt, sizeof mt, "%.*s", (int)(n < sizeof mt ? n : sizeof mt - 1), ct);
	}
	if (!strcmp(mt, IMG_MT_DOCKER_SCHEMA1) || !strcmp(mt, IMG_MT_DOCKER_SCHEMA1_SIGNED) ||
	    (!strcmp(mt, "application/json") && x.resp_body && strstr(x.resp_body, "\"schemaVersion\": 1"))) {
		err_set(e, "%s is a Docker schema 1 image, which ramp does not support (deprecated and unverifiable); "
			   "re-push it with a current tool",
			what);
		goto out;
	}
	if (!img_media_is_manifest(mt) && !img_media_is_index(mt)) {
		struct err ignore;
		struct json *j = json_parse(x.resp_body ? x.resp_body : "", x.resp_len, &ignore);
		const char *doc = j ? json_get_str(j, "mediaType") : NULL;
		snprintf(mt, sizeof mt, "%s",
			 doc ? doc : (j && json_get(j, "manifests") ? IMG_MT_OCI_INDEX : IMG_MT_OCI_MANIFEST));
		json_free(j);
		if (!j) {
			err_set(e, "%s: the registry sent something that is not JSON", what);
			goto out;
		}
	}
	if (!img_media_is_manifest(mt) && !img_media_is_index(mt)) {
		err_set(e, "%s: unsupported media type \"%.100s\"", what, mt);
		goto out;
	}
	img_sha256_buf(x.resp_body ? x.resp_body : "", x.resp_len, digest);
	if (by_digest && !img_digest_eq(digest, &want)) {
		err_set(e, "%s: the registry sent content that hashes to %s; refusing it", what, digest->s);
		goto out;
	}
	const char *dcd = http_header_get(&x, "Docker-Content-Digest");
	struct img_digest claimed;
	struct err ignore;
	if (dcd && img_digest_parse(dcd, &claimed, &ignore) == 0 && !img_digest_eq(&claimed, digest)) {
		err_set(e, "%s: the registry says it is %s but the content hashes to %s; refusing it", what, claimed.s,
			digest->s);
		goto out;
	}
	if (!(*media_type = strdup(mt))) {
		err_errno(e, ENOMEM, "manifest");
		goto out;
	}
	*buf = steal_ptr(x.resp_body);
	*len = x.resp_len;
	if (!*buf && !(*buf = strdup(""))) {
		err_errno(e, ENOMEM, "manifest");
		goto out;
	}
	rc = 0;
out:
	if (rc < 0) {
		free(*media_type);
		*media_type = NULL;
	}
	http_xfer_free(&x);
	return rc;
}

/* ---- blob jobs ---- */

struct pull_job {
	struct img_job j;
	struct img_registry *r;
	const struct img_pull_opts *o;
	struct img_blob_store *s;
	const char *repo;
	char scope[400];
	char what[300];
	struct img_descriptor *d;
	void *w;            /* store handle */
	struct img_sha256 h;
	uint64_t have;      /* bytes stored */
	uint64_t xfer_from; /* have when the running request started */
	bool first_chunk;
	bool resumed;       /* started from an earlier process's partial */
	bool restarted;
	bool too_much;
	bool bad_range;
	bool store_failed;
	struct err store_err;
};

static void pj_progress(void *ctx, uint64_t now, uint64_t total)
{
	struct pull_job *p = ctx;
	(void)total;
	if (!p->o->progress)
		return;
	struct img_xfer_event ev = {IMG_XFER_PROGRESS, &p->d->digest, p->d->media_type, p->xfer_from + now,
				    (uint64_t)p->d->size};
	if (ev.bytes > ev.total)
		ev.bytes = ev.total;
	p->o->progress(p->o->progress_ctx, &ev);
}

static void pj_event(struct pull_job *p, enum img_xfer_state st)
{
	if (!p->o->progress)
		return;
	struct img_xfer_event ev = {st, &p->d->digest, p->d->media_type, (uint64_t)p->d->size, (uint64_t)p->d->size};
	p->o->progress(p->o->progress_ctx, &ev);
}

/* Start over from byte 0: the partial is gone. */
static int pj_restart(struct pull_job *p, struct err *e)
{
	img_sha256_free(&p->h);
	if (img_sha256_init(&p->h, e) < 0 || p->s->ops->truncate(p->w, e) < 0)
		return -1;
	p->have = 0;
	return 0;
}

static int pj_sink(void *ctx, const void *buf, size_t len)
{
	struct pull_job *p = ctx;
	if (p->first_chunk) {
		p->first_chunk = false;
		if (p->have && p->j.x.status == 200) {
			/* the server ignored the Range: take it from the start */
			if (pj_restart(p, &p->store_err) < 0) {
				p->store_failed = true;
				return -1;
			}
			p->xfer_from = 0;
		} else if (p->have && p->j.x.status == 206) {
			const char *cr = http_header_get(&p->j.x, "Content-Range");
			unsigned long long from;
			if (!cr || sscanf(cr, "bytes %llu-", &from) != 1 || from != p->have) {
				p->bad_range = true;
				return -1;
			}
		}
	}
	if (p->have + len > (uint64_t)p->d->size) {
		p->too_much = true;
		return -1;
	}
	img_sha256_update(&p->h, buf, len);
	if (p->s->ops->write(p->w, buf, len, &p->store_err) < 0) {
		p->store_failed = true;
		return -1;
	}
	p->have += len;
	return 0;
}

static int pj_arm(struct pull_job *p, struct err *e)
{
	struct http_xfer *x = &p->j.x;
	http_xfer_reset_response(x);
	x->follow = true;
	x->sink = pj_sink;
	x->sink_ctx = p;
	x->progress = pj_progress;
	x->progress_ctx = p;
	x->range_from = p->have;
	p->xfer_from = p->have;
	p->first_chunk = true;
	if (!x->url)
		return img_reg_url(p->r, x, e, "%s/blobs/%s", p->repo, p->d->digest.s);
	return 0;
}

/* The whole blob is there: verify and store it. 1: stored; 0: it did not
 * verify and was thrown away (download again); -1: error. */
static int pj_finish(struct pull_job *p, struct err *e)
{
	struct img_digest got;
	img_sha256_final(&p->h, &got);
	if (!img_digest_eq(&got, &p->d->digest)) {
		if (p->resumed && !p->restarted) {
			/* an earlier partial may have been damaged: one fresh try */
			log_info("%s: the resumed download does not verify; downloading it again", p->what);
			p->restarted = true;
			p->resumed = false;
			return pj_restart(p, e) < 0 ? -1 : 0;
		}
		p->s->ops->abort(p->w, false);
		p->w = NULL;
		return err_set(e, "%s: the registry sent content that hashes to %s, not the digest the manifest names "
				  "(tampered or corrupted); nothing was stored",
			       p->what, got.s);
	}
	int rc = p->s->ops->commit(p->w, e);
	p->w = NULL;
	return rc < 0 ? -1 : 1;
}

static enum img_job_rc pj_step(struct img_job *j, struct http_xfer *x, struct err *e)
{
	struct pull_job *p = (struct pull_job *)j;
	if (!x) {
		bool present;
		if (img_sha256_init(&p->h, e) < 0)
			return IMG_JOB_FAIL;
		if (p->s->ops->open(p->s, p->d, &p->h, &p->have, &present, &p->w, e) < 0) {
			err_ctx(e, "%s", p->what);
			return IMG_JOB_FAIL;
		}
		if (present) {
			pj_event(p, IMG_XFER_SKIPPED);
			return IMG_JOB_DONE;
		}
		p->resumed = p->have > 0;
		if (p->have)
			log_info("%s: resuming at byte %llu", p->what, (unsigned long long)p->have);
		if (p->have == (uint64_t)p->d->size) {
			int f = pj_finish(p, e);
			if (f < 0)
				return IMG_JOB_FAIL;
			if (f == 1) {
				pj_event(p, IMG_XFER_DOWNLOADED);
				return IMG_JOB_DONE;
			}
		}
		return pj_arm(p, e) < 0 ? IMG_JOB_FAIL : IMG_JOB_START;
	}
	if (p->store_failed) {
		*e = p->store_err;
		return IMG_JOB_FAIL;
	}
	if (p->too_much) {
		p->s->ops->abort(p->w, false);
		p->w = NULL;
		err_set(e, "%s: the registry sent more than the %lld bytes the manifest names; nothing was stored",
			p->what, (long long)p->d->size);
		return IMG_JOB_FAIL;
	}
	if (p->bad_range) {
		err_set(e, "%s: the registry answered the range request from byte %llu with another range", p->what,
			(unsigned long long)p->xfer_from);
		return IMG_JOB_FAIL;
	}
	/* real progress made (not a trickle): the retry budget starts again */
	if (p->have >= p->xfer_from + (1u << 20))
		j->attempts = 0;
	switch (img_reg_check(p->r, x, j->scope, &j->attempts, &j->reauthed, &j->not_before_ms, p->what, p->repo, e)) {
	case IMG_REG_RETRY:
		return pj_arm(p, e) < 0 ? IMG_JOB_FAIL : IMG_JOB_WAIT;
	case IMG_REG_AGAIN:
		return pj_arm(p, e) < 0 ? IMG_JOB_FAIL : IMG_JOB_START;
	case IMG_REG_FAILED:
		return IMG_JOB_FAIL;
	case IMG_REG_OK:
		break;
	}
	if (x->status == 416 && p->have) {
		if (pj_restart(p, e) < 0)
			return IMG_JOB_FAIL;
		return pj_arm(p, e) < 0 ? IMG_JOB_FAIL : IMG_JOB_START;
	}
	if (x->status != 200 && x->status != 206) {
		img_reg_error(p->r, x, p->what, p->repo, e);
		return IMG_JOB_FAIL;
	}
	if (p->have < (uint64_t)p->d->size) {
		/* the body ended early without a transport error: resume */
		if (j->attempts++ >= img_registry_opts(p->r)->retries) {
			p->s->ops->abort(p->w, true);
			p->w = NULL;
			err_set(e, "%s: the registry sent %llu of %lld bytes", p->what, (unsigned long long)p->have,
				(long long)p->d->size);
			return IMG_JOB_FAIL;
		}
		return pj_arm(p, e) < 0 ? IMG_JOB_FAIL : IMG_JOB_START;
	}
	int f = pj_finish(p, e);
	if (f < 0)
		return IMG_JOB_FAIL;
	if (f == 0)
		return pj_arm(p, e) < 0 ? IMG_JOB_FAIL : IMG_JOB_START;
	pj_event(p, IMG_XFER_DOWNLOADED);
	return IMG_JOB_DONE;
}

static void pj_cleanup(struct img_job *j)
{
	struct pull_job *p = (struct pull_job *)j;
	if (p->w)
		p->s->ops->abort(p->w, true); /* keep the partial: a later pull resumes it */
	p->w = NULL;
	img_sha256_free(&p->h);
}

static int larger_first(const void *x, const void *y)
{
	const struct img_descriptor *a = *(struct img_descriptor *const *)x, *b = *(struct img_descriptor *const *)y;
	return a->size != b->size ? (a->size < b->size ? 1 : -1) : strcmp(a->digest.s, b->digest.s);
}

/* Download the blobs in parallel, the largest first: it bounds the total time. */
static int pull_blobs(struct img_registry *r, const char *repo, const struct img_pull_opts *o,
		      struct img_blob_store *s, struct img_descriptor **ds, size_t n, struct err *e)
{
	struct pull_job *pj = calloc(n ? n : 1, sizeof *pj);
	struct img_job **jobs = calloc(n ? n : 1, sizeof *jobs);
	int rc = -1;
	if (!pj || !jobs) {
		err_errno(e, ENOMEM, "pull");
		goto out;
	}
	qsort(ds, n, sizeof *ds, larger_first);
	for (size_t i = 0; i < n; i++) {
		struct pull_job *p = &pj[i];
		p->j.step = pj_step;
		p->j.cleanup = pj_cleanup;
		p->j.scope = p->scope;
		p->r = r;
		p->o = o;
		p->s = s;
		p->repo = repo;
		p->d = ds[i];
		snprintf(p->scope, sizeof p->scope, "repository:%s:pull", repo);
		snprintf(p->what, sizeof p->what, "blob %s", ds[i]->digest.s);
		jobs[i] = &p->j;
	}
	rc = img_reg_run(r, jobs, n, e);
out:
	free(pj);
	free(jobs);
	return rc;
}

/* Store a small verified document (a manifest). */
static int store_small(struct img_blob_store *s, const struct img_descriptor *d, const char *buf, size_t len,
		       struct err *e)
{
	struct img_sha256 h;
	uint64_t have;
	bool present;
	void *w;
	if (img_sha256_init(&h, e) < 0)
		return -1;
	int rc = s->ops->open(s, d, &h, &have, &present, &w, e);
	img_sha256_free(&h);
	if (rc < 0 || present)
		return rc;
	if ((have && s->ops->truncate(w, e) < 0) || s->ops->write(w, buf, len, e) < 0) {
		s->ops->abort(w, false);
		return -1;
	}
	return s->ops->commit(w, e);
}

/* ---- pull ---- */

void img_pull_result_free(struct img_pull_result *res)
{
	img_descriptor_free(&res->manifest);
	img_descriptor_free(&res->referrers);
	for (size_t i = 0; i < res->n_artifacts; i++)
		img_descriptor_free(&res->artifacts[i]);
	free(res->artifacts);
	*res = (struct img_pull_result){0};
}

struct doc {
	struct img_descriptor d;
	char *raw;
	size_t len;
	struct img_manifest m;
};

static void doc_free(struct doc *x)
{
	img_descriptor_free(&x->d);
	free(x->raw);
	img_manifest_free(&x->m);
}

/* Fetch and parse an image or artifact manifest by digest. */
static int fetch_doc(struct img_registry *r, const char *repo, const struct img_descriptor *want, struct doc *out,
		     struct err *e)
{
	_cleanup_free_ char *mt = NULL;
	struct img_digest got;
	*out = (struct doc){0};
	if (img_fetch_manifest(r, repo, want->digest.s, &out->raw, &out->len, &mt, &got, e) < 0)
		return -1;
	if (want->size >= 0 && (uint64_t)want->size != out->len)
		return err_set(e, "manifest %s: %zu bytes, the descriptor says %lld", want->digest.s, out->len,
			       (long long)want->size);
	if (!img_media_is_manifest(mt))
		return err_set(e, "%s is a \"%.100s\", not a manifest", want->digest.s, mt);
	if (img_descriptor_copy(&out->d, want, e) < 0)
		return -1;
	free(out->d.media_type);
	out->d.media_type = steal_ptr(mt);
	out->d.size = (int64_t)out->len;
	if (img_manifest_parse(out->raw, out->len, &out->m, e) < 0)
		return err_ctx(e, "manifest %s", want->digest.s);
	return 0;
}

static bool have_digest(struct img_descriptor **ds, size_t n, const struct img_digest *d)
{
	for (size_t i = 0; i < n; i++)
		if (img_digest_eq(&ds[i]->digest, d))
			return true;
	return false;
}

/* The referrers a pull takes along: test records, then outcome records and
 * vetoes (image/outcome.h). */
static int referrers_both(struct img_registry *r, const char *repo, const struct img_digest *d, struct img_index *out,
			  struct err *e)
{
	struct img_index more;
	if (img_referrers_list(r, repo, d, IMG_MT_TEST_RECORD, out, e) < 0)
		return -1;
	if (img_referrers_list(r, repo, d, IMG_MT_OUTCOME, &more, e) < 0) {
		img_index_free(out);
		return -1;
	}
	for (size_t i = 0; i < more.n; i++)
		if (img_index_add(out, &more.manifests[i], e) < 0) {
			img_index_free(&more);
			img_index_free(out);
			return -1;
		}
	img_index_free(&more);
	return 0;
}

int img_pull(struct img_registry *r, const struct img_ref *ref, const struct img_pull_opts *o, struct img_blob_store *s,
	     struct img_pull_result *res, struct err *e)
{
	_cleanup_free_ char *raw = NULL, *mt = NULL, *refs_json = NULL;
	size_t len, refs_len = 0;
	struct img_digest top;
	struct doc img = {0};
	struct doc *arts = NULL;
	size_t n_arts = 0;
	struct img_descriptor **blobs = NULL;
	size_t n_blobs = 0;
	struct img_platform host = {0};
	int rc = -1;
	*res = (struct img_pull_result){0};

	if (img_fetch_manifest(r, ref->repo, img_ref_object(ref), &raw, &len, &mt, &top, e) < 0)
		goto out;
	struct img_descriptor want = {.media_type = mt, .digest = top, .size = (int64_t)len};
	if (img_media_is_index(mt)) {
		struct img_index x;
		const struct img_platform *p = o->platform;
		if (!p) {
			img_platform_host(&host);
			p = &host;
		}
		if (img_index_parse(raw, len, &x, e) < 0) {
			err_ctx(e, "index %s", top.s);
			goto out;
		}
		const struct img_descriptor *sel = NULL;
		for (size_t i = 0; i < x.n && !sel; i++)
			if (x.manifests[i].has_platform && img_media_is_manifest(x.manifests[i].media_type) &&
			    img_platform_match(p, &x.manifests[i].platform))
				sel = &x.manifests[i];
		if (!sel) {
			err_set(e, "%s/%s:%s has no image for platform %s/%s%s%s (see --platform)", ref->registry, ref->repo,
				img_ref_object(ref), p->os, p->architecture, p->variant ? "/" : "", p->variant ? p->variant : "");
			img_index_free(&x);
			goto out;
		}
		rc = fetch_doc(r, ref->repo, sel, &img, e);
		if (rc == 0)
			rc = img_descriptor_copy(&res->manifest, sel, e);
		img_index_free(&x);
		if (rc < 0)
			goto out;
		rc = -1;
		free(res->manifest.media_type);
		if (!(res->manifest.media_type = strdup(img.d.media_type))) {
			err_errno(e, ENOMEM, "pull");
			goto out;
		}
	} else {
		img.raw = steal_ptr(raw);
		img.len = len;
		if (img_descriptor_copy(&img.d, &want, e) < 0 || img_descriptor_copy(&res->manifest, &want, e) < 0)
			goto out;
		if (img_manifest_parse(img.raw, img.len, &img.m, e) < 0) {
			err_ctx(e, "manifest %s", top.s);
			goto out;
		}
	}
	/* what the manifest declares is refused before a byte of it is downloaded */
	struct img_limits def;
	if (!o->limits)
		img_limits_init(&def);
	if (img_limits_check(o->limits ? o->limits : &def, &img.m, e) < 0) {
		err_ctx(e, "image %s", res->manifest.digest.s);
		goto out;
	}
	size_t cap = img.m.n_layers + 1;
	if (!(blobs = calloc(cap, sizeof *blobs))) {
		err_errno(e, ENOMEM, "pull");
		goto out;
	}
	blobs[n_blobs++] = &img.m.config;
	for (size_t i = 0; i < img.m.n_layers; i++)
		if (!have_digest(blobs, n_blobs, &img.m.layers[i].digest))
			blobs[n_blobs++] = &img.m.layers[i];

	/* the test records that refer to the image */
	if (!o->no_referrers) {
		struct img_index refs;
		if (referrers_both(r, ref->repo, &res->manifest.digest, &refs, e) < 0)
			goto out;
		if (refs.n && !(arts = calloc(refs.n, sizeof *arts))) {
			img_index_free(&refs);
			err_errno(e, ENOMEM, "pull");
			goto out;
		}
		for (size_t i = 0; i < refs.n; i++) {
			struct doc *a = &arts[n_arts++];
			if (fetch_doc(r, ref->repo, &refs.manifests[i], a, e) < 0) {
				img_index_free(&refs);
				goto out;
			}
			if (!a->m.subject || !img_digest_eq(&a->m.subject->digest, &res->manifest.digest)) {
				err_set(e, "referrer %s does not name %s as its subject", a->d.digest.s, res->manifest.digest.s);
				img_index_free(&refs);
				goto out;
			}
			for (size_t k = 0; k <= a->m.n_layers; k++) {
				const struct img_descriptor *b = k < a->m.n_layers ? &a->m.layers[k] : &a->m.config;
				if (b->size > IMG_RECORD_MAX) {
					err_set(e, "referrer %s: blob %s is declared as %lld bytes, more than a test record's "
						   "limit of %u", a->d.digest.s, b->digest.s, (long long)b->size, IMG_RECORD_MAX);
					img_index_free(&refs);
					goto out;
				}
			}
			free(a->d.artifact_type);
			a->d.artifact_type = strdup(a->m.artifact_type ? a->m.artifact_type : a->m.config.media_type);
			struct img_descriptor **nb = realloc(blobs, (n_blobs + a->m.n_layers + 1) * sizeof *nb);
			if (!nb || !a->d.artifact_type) {
				img_index_free(&refs);
				err_errno(e, ENOMEM, "pull");
				goto out;
			}
			blobs = nb;
			if (!have_digest(blobs, n_blobs, &a->m.config.digest))
				blobs[n_blobs++] = &a->m.config;
			for (size_t k = 0; k < a->m.n_layers; k++)
				if (!have_digest(blobs, n_blobs, &a->m.layers[k].digest))
					blobs[n_blobs++] = &a->m.layers[k];
		}
		img_index_free(&refs);
	}

	/* the records' list, as a layout keeps it (layout.h) */
	if (n_arts) {
		struct img_descriptor *ds = calloc(n_arts, sizeof *ds);
		if (!ds) {
			err_errno(e, ENOMEM, "pull");
			goto out;
		}
		for (size_t i = 0; i < n_arts; i++)
			ds[i] = arts[i].d;
		int jrc = img_referrers_json(ds, n_arts, &refs_json, &refs_len, e);
		free(ds);
		if (jrc < 0)
			goto out;
		if (!(res->referrers.media_type = strdup(IMG_MT_OCI_INDEX))) {
			err_errno(e, ENOMEM, "pull");
			goto out;
		}
		img_sha256_buf(refs_json, refs_len, &res->referrers.digest);
		res->referrers.size = (int64_t)refs_len;
	}
	size_t n_docs = n_arts + (n_arts ? 1 : 0) + 1;
	if (s->ops->plan) {
		/* everything the store will see: blobs, then the manifests */
		const struct img_descriptor **all = calloc(n_blobs + n_docs, sizeof *all);
		if (!all) {
			err_errno(e, ENOMEM, "pull");
			goto out;
		}
		memcpy(all, blobs, n_blobs * sizeof *all);
		for (size_t i = 0; i < n_arts; i++)
			all[n_blobs + i] = &arts[i].d;
		if (n_arts)
			all[n_blobs + n_arts] = &res->referrers;
		all[n_blobs + n_docs - 1] = &img.d;
		int prc = s->ops->plan(s, all, n_blobs + n_docs, e);
		free(all);
		if (prc < 0)
			goto out;
	}
	if (pull_blobs(r, ref->repo, o, s, blobs, n_blobs, e) < 0)
		goto out;
	/* manifests last: whatever a manifest names is stored before it */
	for (size_t i = 0; i < n_arts; i++)
		if (store_small(s, &arts[i].d, arts[i].raw, arts[i].len, e) < 0)
			goto out;
	if (n_arts && store_small(s, &res->referrers, refs_json, refs_len, e) < 0)
		goto out;
	if (store_small(s, &img.d, img.raw, img.len, e) < 0 || (s->ops->finish && s->ops->finish(s, e) < 0))
		goto out;
	if (n_arts && !(res->artifacts = calloc(n_arts, sizeof *res->artifacts))) {
		err_errno(e, ENOMEM, "pull");
		goto out;
	}
	for (size_t i = 0; i < n_arts; i++) {
		if (img_descriptor_copy(&res->artifacts[i], &arts[i].d, e) < 0)
			goto out;
		res->n_artifacts++;
	}
	rc = 0;
out:
	if (rc < 0)
		img_pull_result_free(res);
	doc_free(&img);
	for (size_t i = 0; i < n_arts; i++)
		doc_free(&arts[i]);
	free(arts);
	free(blobs);
	img_platform_free(&host);
	return rc;
}

/* ---- into a layout ---- */

int img_pull_index_add(struct img_index *x, const struct img_ref *ref, const struct img_pull_result *res,
		       struct err *e)
{
	struct img_descriptor d;
	_cleanup_free_ char *source = NULL;
	int rc = -1;
	if (asprintf(&source, "%s/%s", ref->registry, ref->repo) < 0) {
		source = NULL;
		return err_errno(e, ENOMEM, "index");
	}
	if (img_descriptor_copy(&d, &res->manifest, e) < 0)
		return -1;
	d.has_platform = res->manifest.has_platform;
	if ((ref->tag && img_kvs_set(&d.annotations, IMG_ANN_REF_NAME, ref->tag, e) < 0) ||
	    img_kvs_set(&d.annotations, IMG_ANN_SOURCE_REPO, source, e) < 0)
		goto out;
	size_t k = 0;
	for (size_t i = 0; i < x->n; i++) {
		struct img_descriptor *m = &x->manifests[i];
		const char *name = img_kvs_get(&m->annotations, IMG_ANN_REF_NAME);
		bool drop = (ref->tag && name && !strcmp(name, ref->tag)) ||
			    (img_digest_eq(&m->digest, &d.digest) && !name);
		for (size_t a = 0; a < res->n_artifacts && !drop; a++)
			drop = img_digest_eq(&m->digest, &res->artifacts[a].digest);
		if (drop)
			img_descriptor_free(m);
		else
			x->manifests[k++] = *m;
	}
	x->n = k;
	if (img_index_add(x, &d, e) < 0)
		goto out;
	rc = 0;
out:
	img_descriptor_free(&d);
	return rc;
}

/* Add the pull to the layout's index.json, locked against concurrent pulls. */
static int update_index(const struct img_layout *l, const struct img_ref *ref, const struct img_pull_result *res,
			struct err *e)
{
	struct img_index x;
	_cleanup_close_ int dfd = open(l->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = -1;
	if (dfd < 0)
		return err_sys(e, "open \"%s\"", l->dir);
	if (flock(dfd, LOCK_EX) < 0)
		return err_sys(e, "lock \"%s\"", l->dir);
	if (img_layout_read_index(l, &x, e) < 0)
		return -1;
	if (img_pull_index_add(&x, ref, res, e) == 0 &&
	    (!res->n_artifacts || img_layout_add_referrers(l, &x, res->artifacts, res->n_artifacts, e) == 0))
		rc = img_layout_write_index(l, &x, e);
	img_index_free(&x);
	return rc;
}

int img_pull_layout(struct img_registry *r, const struct img_ref *ref, const struct img_pull_opts *o, const char *dir,
		    struct img_pull_result *res, struct err *e)
{
	struct img_layout l;
	struct img_layout_store s;
	_cleanup_free_ char *ingest = fs_join(dir, "ingest");
	int rc = -1;
	if (!ingest)
		return err_errno(e, ENOMEM, "pull");
	if (img_layout_create(&l, dir, e) < 0)
		return -1;
	if (img_layout_store_init(&s, &l, ingest, true, e) < 0) {
		img_layout_close(&l);
		return -1;
	}
	struct img_limits def;
	if (!o->limits)
		img_limits_init(&def);
	s.reserve = &(o->limits ? o->limits : &def)->reserve;
	if (img_pull(r, ref, o, &s.base, res, e) < 0)
		goto out;
	if (update_index(&l, ref, res, e) < 0) {
		img_pull_result_free(res);
		goto out;
	}
	rmdir(ingest); /* when empty */
	rc = 0;
out:
	img_layout_store_free(&s);
	img_layout_close(&l);
	return rc;
}

int img_fetch_blob_mem(struct img_registry *r, const char *repo, const struct img_descriptor *d, size_t max,
		       const char *what, char **buf, size_t *len, struct err *e)
{
	struct http_xfer x;
	char scope[400], name[400];
	int rc = -1;
	if (d->size < 0 || (uint64_t)d->size > max)
		return err_set(e, "%s %s: %lld bytes, more than the limit of %zu", what, d->digest.s, (long long)d->size,
			       max);
	snprintf(scope, sizeof scope, "repository:%s:pull", repo);
	snprintf(name, sizeof name, "%s %s", what, d->digest.s);
	http_xfer_init(&x);
	x.max_body = max;
	x.follow = true;
	if (img_reg_url(r, &x, e, "%s/blobs/%s", repo, d->digest.s) < 0 || img_reg_do(r, &x, scope, e) < 0)
		goto out;
	if (x.status != 200) {
		img_reg_error(r, &x, name, repo, e);
		goto out;
	}
	struct img_digest got;
	img_sha256_buf(x.resp_body ? x.resp_body : "", x.resp_len, &got);
	if (!img_digest_eq(&got, &d->digest) || (int64_t)x.resp_len != d->size) {
		err_set(e, "%s: the registry sent other bytes (%s, %zu bytes)", name, got.s, x.resp_len);
		goto out;
	}
	*buf = x.resp_body;
	*len = x.resp_len;
	x.resp_body = NULL;
	rc = 0;
out:
	http_xfer_free(&x);
	return rc;
}
