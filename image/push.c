/* push.c: push images and their test records to a registry (see push.h). */
#include "image/push.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/archive.h"
#include "image/image.h"
#include "image/layout.h"
#include "image/pull.h"
#include "image/referrers.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/log.h"

/* ---- the source: a layout, or an archive read in place ---- */

struct tar_blob {
	struct img_digest d;
	uint64_t off, size;
};

struct src {
	const char *path;
	bool is_layout;
	struct img_layout layout;
	char *tmpdir; /* extraction fallback */
	int tar_fd;
	struct tar_blob *blobs;
	size_t n_blobs;
	char *index;
	size_t index_len;
};

static void src_close(struct src *s)
{
	struct err e;
	img_layout_close(&s->layout);
	if (s->tmpdir && fs_rm_rf(s->tmpdir, &e) < 0)
		log_warn("%s", e.msg);
	free(s->tmpdir);
	if (s->tar_fd >= 0)
		close(s->tar_fd);
	free(s->blobs);
	free(s->index);
}

/* Index the blobs of an uncompressed tar by offset. 1: done; 0: the archive
 * needs the general path (extraction); -1: error. */
static int scan_tar(struct src *s, struct err *e)
{
	struct archive *a = archive_read_new();
	struct archive_entry *ent;
	struct stat st;
	int rc = 0;
	char prev_name[128] = "";
	bool prev_blob = false;
	int64_t prev_size = 0, prev_pos = 0;
	size_t cap = 0;
	if (!a)
		return err_errno(e, ENOMEM, "archive");
	if (fstat(s->tar_fd, &st) < 0) {
		archive_read_free(a);
		return err_sys(e, "stat \"%s\"", s->path);
	}
	archive_read_support_format_tar(a);
	if (archive_read_open_fd(a, s->tar_fd, 1 << 16) != ARCHIVE_OK)
		goto out;
	for (;;) {
		int r = archive_read_next_header(a, &ent);
		if (r != ARCHIVE_OK && r != ARCHIVE_EOF)
			goto out;
		if (archive_filter_code(a, 0) != ARCHIVE_FILTER_NONE)
			goto out;
		int64_t pos = archive_read_header_position(a);
		if (prev_blob) {
			/* the previous entry's data ends where this header starts */
			int64_t data = pos - ((prev_size + 511) / 512 * 512);
			struct tar_blob *b = &s->blobs[s->n_blobs - 1];
			if (data < prev_pos + 512 || (uint64_t)data + (uint64_t)prev_size > (uint64_t)st.st_size)
				goto out;
			b->off = (uint64_t)data;
		}
		prev_blob = false;
		if (r == ARCHIVE_EOF)
			break;
		const char *name = archive_entry_pathname(ent);
		while (name && name[0] == '.' && name[1] == '/')
			name += 2;
		if (!name || archive_entry_sparse_count(ent) > 0)
			goto out;
		mode_t type = archive_entry_filetype(ent);
		if (!strncmp(name, "blobs/sha256/", 13) && name[13] && type == AE_IFREG) {
			char ds[IMG_DIGEST_LEN + 8];
			struct img_digest d;
			snprintf(ds, sizeof ds, "sha256:%.70s", name + 13);
			if (img_digest_parse(ds, &d, e) < 0) {
				rc = err_ctx(e, "\"%s\": entry \"%.200s\"", s->path, name);
				goto out;
			}
			if (s->n_blobs == cap) {
				cap = cap ? cap * 2 : 16;
				struct tar_blob *nb = realloc(s->blobs, cap * sizeof *nb);
				if (!nb) {
					rc = err_errno(e, ENOMEM, "archive");
					goto out;
				}
				s->blobs = nb;
			}
			s->blobs[s->n_blobs++] = (struct tar_blob){d, 0, (uint64_t)archive_entry_size(ent)};
			prev_blob = true;
			prev_size = archive_entry_size(ent);
			prev_pos = pos;
			snprintf(prev_name, sizeof prev_name, "%s", name);
		} else if (!strcmp(name, "index.json") && type == AE_IFREG) {
			if (s->index || archive_entry_size(ent) > IMG_MANIFEST_MAX)
				goto out;
			size_t n = (size_t)archive_entry_size(ent);
			if (!(s->index = malloc(n + 1))) {
				rc = err_errno(e, ENOMEM, "archive");
				goto out;
			}
			if (archive_read_data(a, s->index, n) != (la_ssize_t)n)
				goto out;
			s->index[n] = '\0';
			s->index_len = n;
		}
	}
	rc = s->index ? 1 : 0;
out:
	archive_read_free(a);
	if (rc == 0) {
		free(s->blobs);
		free(s->index);
		s->blobs = NULL;
		s->index = NULL;
		s->n_blobs = 0;
	}
	return rc;
}

static int src_open(struct src *s, const char *path, struct err *e)
{
	struct stat st;
	*s = (struct src){.path = path, .tar_fd = -1};
	if (stat(path, &st) < 0)
		return err_sys(e, "image \"%s\"", path);
	if (S_ISDIR(st.st_mode)) {
		s->is_layout = true;
		if (img_layout_open(&s->layout, path, e) < 0)
			return -1;
		_cleanup_free_ char *ip = fs_join(path, "index.json");
		if (!ip)
			return err_errno(e, ENOMEM, "image");
		return fs_read_file(ip, IMG_MANIFEST_MAX, &s->index, &s->index_len, e);
	}
	if (!S_ISREG(st.st_mode))
		return err_set(e, "image \"%s\" is neither a file nor a directory", path);
	if ((s->tar_fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return err_sys(e, "open \"%s\"", path);
	int rc = scan_tar(s, e);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	/* compressed or unusual: extract, with all the archive checks */
	log_debug("%s: extracting the archive", path);
	close(s->tar_fd);
	s->tar_fd = -1;
	s->is_layout = true;
	if (!(s->tmpdir = fs_mkdtemp("ramp-push", e)) || img_archive_extract(path, s->tmpdir, e) < 0 ||
	    img_layout_open(&s->layout, s->tmpdir, e) < 0)
		return -1;
	_cleanup_free_ char *ip = fs_join(s->tmpdir, "index.json");
	if (!ip)
		return err_errno(e, ENOMEM, "image");
	return fs_read_file(ip, IMG_MANIFEST_MAX, &s->index, &s->index_len, e);
}

/* Where a blob's bytes are: *fd is the source's (do not close) or a new one (*own). */
static int src_blob(struct src *s, const struct img_digest *d, int *fd, bool *own, uint64_t *off, uint64_t *size,
		    struct err *e)
{
	*own = false;
	if (s->is_layout) {
		*off = 0;
		*own = true;
		return img_layout_open_blob(&s->layout, d, fd, size, e);
	}
	for (size_t i = 0; i < s->n_blobs; i++)
		if (img_digest_eq(&s->blobs[i].d, d)) {
			*fd = s->tar_fd;
			*off = s->blobs[i].off;
			*size = s->blobs[i].size;
			return 0;
		}
	return err_set(e, "blob %s is missing from \"%s\"", d->s, s->path);
}

/* A small blob (manifest), verified. */
static int src_read(struct src *s, const struct img_descriptor *d, char **buf, size_t *len, struct err *e)
{
	int fd;
	bool own;
	uint64_t off, size;
	struct img_digest got;
	if (s->is_layout)
		return img_layout_read_blob(&s->layout, &d->digest, d->size, IMG_MANIFEST_MAX, buf, len, e);
	if (src_blob(s, &d->digest, &fd, &own, &off, &size, e) < 0)
		return -1;
	if ((d->size >= 0 && size != (uint64_t)d->size) || size > IMG_MANIFEST_MAX)
		return err_set(e, "blob %s: %llu bytes, the descriptor says %lld", d->digest.s, (unsigned long long)size,
			       (long long)d->size);
	char *b = malloc(size + 1);
	if (!b)
		return err_errno(e, ENOMEM, "blob");
	ssize_t n = pread(fd, b, size, (off_t)off);
	if (n != (ssize_t)size) {
		free(b);
		return err_sys(e, "read \"%s\"", s->path);
	}
	b[size] = '\0';
	img_sha256_buf(b, size, &got);
	if (!img_digest_eq(&got, &d->digest)) {
		free(b);
		return err_set(e, "blob %s in \"%s\" does not match its digest", d->digest.s, s->path);
	}
	*buf = b;
	*len = size;
	return 0;
}

/* The artifacts of the source (layout.h: its referrers blob and, in older
 * archives, index.json's own artifact entries). */
static int src_referrers(struct src *s, const struct img_index *x, struct img_index *out, struct err *e)
{
	struct img_descriptor d;
	_cleanup_free_ char *doc = NULL;
	size_t len = 0;
	int r = img_referrers_blob(x, &d, e);
	if (r < 0 || (r > 0 && src_read(s, &d, &doc, &len, e) < 0))
		return err_ctx(e, "\"%s\": referrers", s->path);
	return img_referrers_collect(x, doc, len, out, e);
}

/* ---- blob jobs ---- */

enum bstate { B_HEAD, B_MOUNT, B_POST, B_PUT, B_PATCH, B_STATUS, B_FINAL };

struct push_job {
	struct img_job j;
	struct img_registry *r;
	const struct img_push_opts *o;
	struct src *s;
	const char *repo;
	const struct img_descriptor *d;
	char scope[600];
	char what[300];
	enum bstate st;
	char *location;  /* the upload session */
	uint64_t offset; /* bytes the registry has of a chunked upload */
	uint64_t chunk, min_chunk;
	uint64_t chunk_len; /* of the PATCH in flight */
	int fd;
	bool own_fd;
	uint64_t src_off;
	bool chunked;
	unsigned restarts;
};

static void bj_progress(void *ctx, uint64_t now, uint64_t total)
{
	struct push_job *p = ctx;
	(void)total;
	if (!p->o->progress)
		return;
	struct img_xfer_event ev = {IMG_XFER_PROGRESS, &p->d->digest, p->d->media_type,
				    (p->st == B_PATCH ? p->offset : 0) + now, (uint64_t)p->d->size};
	p->o->progress(p->o->progress_ctx, &ev);
}

static void bj_event(struct push_job *p, enum img_xfer_state st)
{
	if (!p->o->progress)
		return;
	struct img_xfer_event ev = {st, &p->d->digest, p->d->media_type, (uint64_t)p->d->size, (uint64_t)p->d->size};
	p->o->progress(p->o->progress_ctx, &ev);
}

/* Set up the next request for the current state. */
static int bj_arm(struct push_job *p, struct err *e)
{
	struct http_xfer *x = &p->j.x;
	http_xfer_free(x);
	http_xfer_init(x);
	x->user = p;
	x->max_body = 64 << 10;
	int rc = 0;
	switch (p->st) {
	case B_HEAD:
		x->method = "HEAD";
		x->follow = true;
		rc = img_reg_url(p->r, x, e, "%s/blobs/%s", p->repo, p->d->digest.s);
		break;
	case B_MOUNT:
		x->method = "POST";
		rc = img_reg_url(p->r, x, e, "%s/blobs/uploads/?mount=%s&from=%s", p->repo, p->d->digest.s, p->o->from_repo);
		break;
	case B_POST:
		x->method = "POST";
		rc = img_reg_url(p->r, x, e, "%s/blobs/uploads/", p->repo);
		break;
	case B_STATUS:
		rc = http_xfer_url(x, p->location, e);
		break;
	case B_PUT:
	case B_FINAL: {
		_cleanup_free_ char *url = NULL;
		if (asprintf(&url, "%s%sdigest=%s", p->location, strchr(p->location, '?') ? "&" : "?", p->d->digest.s) < 0)
			return err_errno(e, ENOMEM, "upload");
		x->method = "PUT";
		x->has_body = true;
		if (p->st == B_PUT) {
			x->body_fd = p->fd;
			x->body_off = p->src_off;
			x->body_size = (uint64_t)p->d->size;
			x->progress = bj_progress;
			x->progress_ctx = p;
		}
		rc = http_xfer_url(x, url, e);
		if (rc == 0)
			rc = http_xfer_header(x, e, "Content-Type: application/octet-stream");
		break;
	}
	case B_PATCH: {
		uint64_t left = (uint64_t)p->d->size - p->offset;
		uint64_t chunk = p->chunk < p->min_chunk ? p->min_chunk : p->chunk;
		p->chunk_len = left < chunk ? left : chunk;
		x->method = "PATCH";
		x->has_body = true;
		x->body_fd = p->fd;
		x->body_off = p->src_off + p->offset;
		x->body_size = p->chunk_len;
		x->progress = bj_progress;
		x->progress_ctx = p;
		rc = http_xfer_url(x, p->location, e);
		if (rc == 0)
			rc = http_xfer_header(x, e, "Content-Type: application/octet-stream");
		if (rc == 0)
			rc = http_xfer_header(x, e, "Content-Range: %llu-%llu", (unsigned long long)p->offset,
					      (unsigned long long)(p->offset + p->chunk_len - 1));
		break;
	}
	}
	return rc;
}

/* The upload session a response's Location names, into *location. */
static int upload_location(const struct http_xfer *x, const char *what, char **location, struct err *e)
{
	const char *loc = http_header_get(x, "Location");
	if (!loc || !*loc)
		return err_set(e, "%s: the registry answered %ld without a Location for the upload", what, x->status);
	char *abs = http_url_resolve(x->url, loc);
	if (!abs)
		return err_set(e, "%s: the registry sent an invalid upload Location", what);
	if (!strncasecmp(x->url, "https:", 6) && strncasecmp(abs, "https:", 6)) {
		free(abs);
		return err_set(e, "%s: the registry sent an upload Location that leaves HTTPS; refusing it", what);
	}
	free(*location);
	*location = abs;
	return 0;
}

static int take_location(struct push_job *p, const struct http_xfer *x, struct err *e)
{
	return upload_location(x, p->what, &p->location, e);
}

/* After an upload's Range header "0-N": the registry has N+1 bytes. */
static int take_range(struct push_job *p, const struct http_xfer *x, struct err *e)
{
	const char *rg = http_header_get(x, "Range");
	unsigned long long a, b;
	if (!rg) {
		p->offset = 0;
		return 0;
	}
	if (!strncmp(rg, "bytes=", 6))
		rg += 6;
	if (sscanf(rg, "%llu-%llu", &a, &b) != 2 || a != 0 || b >= (unsigned long long)p->d->size)
		return err_set(e, "%s: the registry sent an invalid upload Range \"%.40s\"", p->what, rg);
	p->offset = b + 1;
	return 0;
}

static void start_upload_state(struct push_job *p, const struct http_xfer *x)
{
	const char *min = http_header_get(x, "OCI-Chunk-Min-Length");
	if (min) {
		char *end;
		unsigned long long v = strtoull(min, &end, 10);
		if (!*end && v > 0 && v < (1ull << 40))
			p->min_chunk = v;
	}
	p->offset = 0;
	p->st = p->chunked ? ((uint64_t)p->d->size ? B_PATCH : B_FINAL) : B_PUT;
}

static enum img_job_rc bj_step(struct img_job *j, struct http_xfer *x, struct err *e)
{
	struct push_job *p = (struct push_job *)j;
	if (!x) {
		p->st = B_HEAD;
		return bj_arm(p, e) < 0 ? IMG_JOB_FAIL : IMG_JOB_START;
	}
	enum bstate was = p->st;
	switch (img_reg_check(p->r, x, j->scope, &j->attempts, &j->reauthed, &j->not_before_ms, p->what, p->repo, e)) {
	case IMG_REG_RETRY:
		/* an upload body that broke: ask where the upload stands, or start over */
		if (was == B_PUT)
			p->st = B_POST;
		else if (was == B_PATCH)
			p->st = B_STATUS;
		return bj_arm(p, e) < 0 ? IMG_JOB_FAIL : IMG_JOB_WAIT;
	case IMG_REG_AGAIN:
		return bj_arm(p, e) < 0 ? IMG_JOB_FAIL : IMG_JOB_START;
	case IMG_REG_FAILED:
		return IMG_JOB_FAIL;
	case IMG_REG_OK:
		break;
	}
	long st = x->status;
	switch (was) {
	case B_HEAD:
		if (st == 200) {
			bj_event(p, IMG_XFER_SKIPPED);
			return IMG_JOB_DONE;
		}
		if (st != 404)
			return img_reg_error(p->r, x, p->what, p->repo, e), IMG_JOB_FAIL;
		if (src_blob(p->s, &p->d->digest, &p->fd, &p->own_fd, &p->src_off, &(uint64_t){0}, e) < 0)
			return IMG_JOB_FAIL;
		p->st = p->o->from_repo && strcmp(p->o->from_repo, p->repo) ? B_MOUNT : B_POST;
		break;
	case B_MOUNT:
		if (st == 201) {
			bj_event(p, IMG_XFER_MOUNTED);
			return IMG_JOB_DONE;
		}
		if (st == 202) {
			/* not mountable: the registry opened an upload instead */
			if (take_location(p, x, e) < 0)
				return IMG_JOB_FAIL;
			start_upload_state(p, x);
			break;
		}
		log_debug("%s: mount from %s refused (%ld), uploading", p->what, p->o->from_repo, st);
		p->st = B_POST;
		break;
	case B_POST:
		if (st != 202)
			return img_reg_error(p->r, x, p->what, p->repo, e), IMG_JOB_FAIL;
		if (take_location(p, x, e) < 0)
			return IMG_JOB_FAIL;
		start_upload_state(p, x);
		break;
	case B_PUT:
	case B_FINAL:
		if (st == 201 || st == 204 || st == 200) {
			bj_event(p, IMG_XFER_UPLOADED);
			return IMG_JOB_DONE;
		}
		return img_reg_error(p->r, x, p->what, p->repo, e), IMG_JOB_FAIL;
	case B_PATCH:
		if (st == 416) {
			/* out of step with the registry: ask where it stands */
			if (++p->restarts > 10)
				return err_set(e, "%s: the registry keeps refusing the chunk ranges", p->what), IMG_JOB_FAIL;
			p->st = B_STATUS;
			break;
		}
		if (st != 202 && st != 204)
			return img_reg_error(p->r, x, p->what, p->repo, e), IMG_JOB_FAIL;
		if (http_header_get(x, "Location") && take_location(p, x, e) < 0)
			return IMG_JOB_FAIL;
		if (http_header_get(x, "Range")) {
			if (take_range(p, x, e) < 0)
				return IMG_JOB_FAIL;
		} else {
			p->offset += p->chunk_len;
		}
		if (p->offset >= (uint64_t)p->d->size)
			p->st = B_FINAL;
		break;
	case B_STATUS:
		if (st != 204 && st != 202) {
			/* the session is gone: start over */
			if (++p->restarts > 10)
				return img_reg_error(p->r, x, p->what, p->repo, e), IMG_JOB_FAIL;
			p->st = B_POST;
			break;
		}
		if ((http_header_get(x, "Location") && take_location(p, x, e) < 0) || take_range(p, x, e) < 0)
			return IMG_JOB_FAIL;
		p->st = p->offset >= (uint64_t)p->d->size ? B_FINAL : B_PATCH;
		break;
	}
	return bj_arm(p, e) < 0 ? IMG_JOB_FAIL : IMG_JOB_START;
}

static void bj_cleanup(struct img_job *j)
{
	struct push_job *p = (struct push_job *)j;
	if (p->own_fd && p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	free(p->location);
	p->location = NULL;
}

static int larger_first(const void *x, const void *y)
{
	const struct img_descriptor *a = *(const struct img_descriptor *const *)x;
	const struct img_descriptor *b = *(const struct img_descriptor *const *)y;
	return a->size != b->size ? (a->size < b->size ? 1 : -1) : strcmp(a->digest.s, b->digest.s);
}

/* Send the blobs in parallel, the largest first: it bounds the total time. */
static int push_blobs(struct img_registry *r, const char *repo, struct src *s, const struct img_push_opts *o,
		      const struct img_descriptor **ds, size_t n, struct err *e)
{
	struct push_job *pj = calloc(n ? n : 1, sizeof *pj);
	struct img_job **jobs = calloc(n ? n : 1, sizeof *jobs);
	int rc = -1;
	if (!pj || !jobs) {
		err_errno(e, ENOMEM, "push");
		goto out;
	}
	qsort(ds, n, sizeof *ds, larger_first);
	for (size_t i = 0; i < n; i++) {
		struct push_job *p = &pj[i];
		p->j.step = bj_step;
		p->j.cleanup = bj_cleanup;
		p->j.scope = p->scope;
		p->r = r;
		p->o = o;
		p->s = s;
		p->repo = repo;
		p->d = ds[i];
		p->fd = -1;
		p->chunked = o->chunk_size || (uint64_t)ds[i]->size > IMG_PUSH_CHUNK_AUTO;
		p->chunk = o->chunk_size ? o->chunk_size : IMG_PUSH_CHUNK_DEFAULT;
		if (o->from_repo && strcmp(o->from_repo, repo))
			snprintf(p->scope, sizeof p->scope, "repository:%s:pull,push repository:%s:pull", repo, o->from_repo);
		else
			snprintf(p->scope, sizeof p->scope, "repository:%s:pull,push", repo);
		snprintf(p->what, sizeof p->what, "blob %s", ds[i]->digest.s);
		jobs[i] = &p->j;
	}
	rc = img_reg_run(r, jobs, n, e);
out:
	free(pj);
	free(jobs);
	return rc;
}

/* ---- manifests ---- */

/* PUT a manifest by tag or digest. *subject_done: the registry said it
 * processed the subject (OCI-Subject), so no fallback tag is needed. */
static int put_manifest(struct img_registry *r, const char *repo, const char *object, const struct img_descriptor *d,
			const char *raw, size_t len, bool *subject_done, struct err *e)
{
	struct http_xfer x;
	char scope[400], what[400];
	int rc = -1;
	snprintf(scope, sizeof scope, "repository:%s:pull,push", repo);
	snprintf(what, sizeof what, "manifest %s%s%s", repo, strncmp(object, "sha256:", 7) ? ":" : "@", object);
	http_xfer_init(&x);
	x.method = "PUT";
	x.body = raw;
	x.body_len = len;
	x.has_body = true;
	x.max_body = 64 << 10;
	if (img_reg_url(r, &x, e, "%s/manifests/%s", repo, object) < 0 ||
	    http_xfer_header(&x, e, "Content-Type: %s", d->media_type) < 0 || img_reg_do(r, &x, scope, e) < 0)
		goto out;
	if (x.status != 201 && x.status != 200 && x.status != 204) {
		img_reg_error(r, &x, what, repo, e);
		goto out;
	}
	const char *dcd = http_header_get(&x, "Docker-Content-Digest");
	struct img_digest got;
	struct err ignore;
	if (dcd && img_digest_parse(dcd, &got, &ignore) == 0 && !img_digest_eq(&got, &d->digest)) {
		err_set(e, "%s: the registry stored it as %s, not %s (it changed the manifest?)", what, got.s, d->digest.s);
		goto out;
	}
	if (subject_done) {
		const char *os = http_header_get(&x, "OCI-Subject");
		*subject_done = os && *os;
	}
	rc = 0;
out:
	http_xfer_free(&x);
	return rc;
}

struct mdoc {
	const struct img_descriptor *d;
	char *raw;
	size_t len;
	struct img_manifest m;
};

static void mdoc_free(struct mdoc *m)
{
	free(m->raw);
	img_manifest_free(&m->m);
}

static int load_manifest(struct src *s, const struct img_descriptor *d, struct mdoc *out, struct err *e)
{
	*out = (struct mdoc){.d = d};
	if (src_read(s, d, &out->raw, &out->len, e) < 0)
		return -1;
	if (img_manifest_parse(out->raw, out->len, &out->m, e) < 0)
		return err_ctx(e, "manifest %s", d->digest.s);
	return 0;
}

static int add_blob(const struct img_descriptor ***v, size_t *n, const struct img_descriptor *d, struct err *e)
{
	for (size_t i = 0; i < *n; i++)
		if (img_digest_eq(&(*v)[i]->digest, &d->digest))
			return 0;
	const struct img_descriptor **nv = realloc(*v, (*n + 1) * sizeof *nv);
	if (!nv)
		return err_errno(e, ENOMEM, "push");
	*v = nv;
	nv[(*n)++] = d;
	return 0;
}

/* The repository of ref's registry a pulled image came from (its index.json
 * entry says), to mount its blobs from; NULL when there is none to use. */
static const char *pulled_from(const struct img_descriptor *top, const struct img_ref *ref)
{
	const char *src = img_kvs_get(&top->annotations, IMG_ANN_SOURCE_REPO);
	size_t n = strlen(ref->registry);
	if (!src || strncmp(src, ref->registry, n) || src[n] != '/')
		return NULL;
	src += n + 1;
	/* from an untrusted file: it goes into a URL and a token scope only when valid */
	return img_ref_valid_repo(src) && strcmp(src, ref->repo) ? src : NULL;
}

int img_push(struct img_registry *r, const char *path, const struct img_ref *ref, const struct img_push_opts *opts,
	     struct img_descriptor *out, struct err *e)
{
	struct img_push_opts po = *opts;
	const struct img_push_opts *o = &po;
	struct src s;
	struct img_index x = {0}, top_index = {0}, refs = {0};
	struct mdoc *docs = NULL; /* image manifests, then artifacts from arts_from on */
	size_t n_docs = 0, arts_from = 0;
	const struct img_descriptor **blobs = NULL;
	size_t n_blobs = 0;
	char *top_raw = NULL;
	size_t top_len = 0;
	_cleanup_free_ char *p = strdup(path);
	const char *name = NULL;
	int rc = -1;
	*out = (struct img_descriptor){0};
	if (!p)
		return err_errno(e, ENOMEM, "push");
	/* "path:name" when path itself does not exist, as img_image_open does */
	char *colon = strrchr(p, ':');
	if (!fs_exists(p) && colon) {
		*colon = '\0';
		name = colon + 1;
	}
	if (src_open(&s, p, e) < 0)
		goto out;
	if (img_index_parse(s.index, s.index_len, &x, e) < 0) {
		err_ctx(e, "\"%s\" index.json", p);
		goto out;
	}
	const struct img_descriptor *top;
	if (img_index_pick(&x, name, p, &top, e) < 0)
		goto out;
	if (ref->has_digest && !img_digest_eq(&ref->digest, &top->digest)) {
		err_set(e, "the image in \"%s\" is %s, not %s", p, top->digest.s, ref->digest.s);
		goto out;
	}
	/* pulled from another repository of this registry: mount from there first */
	if (!po.from_repo && (po.from_repo = pulled_from(top, ref)))
		log_debug("%s was pulled from %s/%s: mounting its blobs from there", p, ref->registry, po.from_repo);
	/* the manifests to push: the image's, or every platform's of an index */
	size_t cap = 1 + x.n;
	if (!(docs = calloc(cap, sizeof *docs))) {
		err_errno(e, ENOMEM, "push");
		goto out;
	}
	if (img_media_is_index(top->media_type)) {
		if (src_read(&s, top, &top_raw, &top_len, e) < 0 || img_index_parse(top_raw, top_len, &top_index, e) < 0)
			goto out;
		struct mdoc *nd = realloc(docs, (cap + top_index.n) * sizeof *nd);
		if (!nd) {
			err_errno(e, ENOMEM, "push");
			goto out;
		}
		docs = nd;
		for (size_t i = 0; i < top_index.n; i++) {
			if (!img_media_is_manifest(top_index.manifests[i].media_type)) {
				err_set(e, "index %s: entry %s is a \"%.100s\"; only image manifests are supported", top->digest.s,
					top_index.manifests[i].digest.s, top_index.manifests[i].media_type);
				goto out;
			}
			if (load_manifest(&s, &top_index.manifests[i], &docs[n_docs++], e) < 0)
				goto out;
		}
	} else {
		if (load_manifest(&s, top, &docs[n_docs++], e) < 0)
			goto out;
	}
	arts_from = n_docs;
	/* test records (the layout's referrers) whose subject is one of them */
	if (!o->no_referrers && src_referrers(&s, &x, &refs, e) < 0)
		goto out;
	struct mdoc *nd = refs.n ? realloc(docs, (n_docs + refs.n) * sizeof *nd) : docs;
	if (!nd) {
		err_errno(e, ENOMEM, "push");
		goto out;
	}
	docs = nd;
	for (size_t i = 0; i < refs.n; i++) {
		const struct img_descriptor *d = &refs.manifests[i];
		struct mdoc a;
		if (load_manifest(&s, d, &a, e) < 0)
			goto out;
		bool mine = false;
		for (size_t k = 0; a.m.subject && k < arts_from; k++)
			mine |= img_digest_eq(&a.m.subject->digest, &docs[k].d->digest);
		mine |= a.m.subject && img_digest_eq(&a.m.subject->digest, &top->digest);
		if (!mine) {
			mdoc_free(&a);
			continue;
		}
		docs[n_docs++] = a;
	}
	for (size_t i = 0; i < n_docs; i++) {
		if (add_blob(&blobs, &n_blobs, &docs[i].m.config, e) < 0)
			goto out;
		for (size_t k = 0; k < docs[i].m.n_layers; k++)
			if (add_blob(&blobs, &n_blobs, &docs[i].m.layers[k], e) < 0)
				goto out;
	}
	if (push_blobs(r, ref->repo, &s, o, blobs, n_blobs, e) < 0)
		goto out;
	/* manifests after their blobs; an index after its manifests */
	const char *object = ref->tag ? ref->tag : ref->digest.s;
	if (top_raw) {
		for (size_t i = 0; i < arts_from; i++)
			if (put_manifest(r, ref->repo, docs[i].d->digest.s, docs[i].d, docs[i].raw, docs[i].len, NULL, e) < 0)
				goto out;
		if (put_manifest(r, ref->repo, object, top, top_raw, top_len, NULL, e) < 0)
			goto out;
	} else if (put_manifest(r, ref->repo, object, top, docs[0].raw, docs[0].len, NULL, e) < 0) {
		goto out;
	}
	for (size_t i = arts_from; i < n_docs; i++) {
		bool done = false;
		if (put_manifest(r, ref->repo, docs[i].d->digest.s, docs[i].d, docs[i].raw, docs[i].len, &done, e) < 0)
			goto out;
		if (!done && img_referrers_tag_add(r, ref->repo, &docs[i].m.subject->digest, docs[i].d, e) < 0)
			goto out;
		log_info("test record %s pushed%s", docs[i].d->digest.s, done ? "" : " (referrers tag)");
	}
	if (img_descriptor_copy(out, top, e) < 0)
		goto out;
	rc = 0;
out:
	for (size_t i = 0; i < n_docs; i++)
		mdoc_free(&docs[i]);
	free(docs);
	free(blobs);
	free(top_raw);
	img_index_free(&top_index);
	img_index_free(&refs);
	img_index_free(&x);
	src_close(&s);
	return rc;
}

/* ---- one small artifact, from memory ---- */

/* Upload a small blob held in memory: POST for a session, PUT with the digest. */
static int put_small_blob(struct img_registry *r, const char *repo, const char *buf, size_t len,
			  struct img_digest *d, struct err *e)
{
	struct http_xfer x;
	char scope[400], what[200];
	_cleanup_free_ char *loc = NULL, *url = NULL;
	int rc = -1;
	img_sha256_buf(buf, len, d);
	snprintf(scope, sizeof scope, "repository:%s:pull,push", repo);
	snprintf(what, sizeof what, "blob %s", d->s);
	http_xfer_init(&x);
	x.method = "POST";
	x.max_body = 64 << 10;
	if (img_reg_url(r, &x, e, "%s/blobs/uploads/", repo) < 0 || img_reg_do(r, &x, scope, e) < 0)
		goto out;
	if (x.status != 202) {
		img_reg_error(r, &x, what, repo, e);
		goto out;
	}
	if (upload_location(&x, what, &loc, e) < 0)
		goto out;
	http_xfer_free(&x);
	http_xfer_init(&x);
	if (asprintf(&url, "%s%sdigest=%s", loc, strchr(loc, '?') ? "&" : "?", d->s) < 0) {
		url = NULL;
		err_errno(e, ENOMEM, "%s", what);
		goto out;
	}
	x.method = "PUT";
	x.has_body = true;
	x.body = buf;
	x.body_len = len;
	x.max_body = 64 << 10;
	if (http_xfer_url(&x, url, e) < 0 || http_xfer_header(&x, e, "Content-Type: application/octet-stream") < 0 ||
	    img_reg_do(r, &x, scope, e) < 0)
		goto out;
	if (x.status != 201 && x.status != 204) {
		img_reg_error(r, &x, what, repo, e);
		goto out;
	}
	rc = 0;
out:
	http_xfer_free(&x);
	return rc;
}

int img_push_referrer(struct img_registry *r, const char *repo, const struct img_descriptor *subject,
		      const char *artifact_type, const char *layer_type, const char *blob, size_t len,
		      struct img_digest *out, struct err *e)
{
	struct img_manifest m = {0};
	struct img_descriptor layer = {.media_type = (char *)layer_type, .size = (int64_t)len};
	struct img_descriptor d = {.media_type = IMG_MT_OCI_MANIFEST, .artifact_type = (char *)artifact_type};
	struct img_descriptor subj = {.media_type = subject->media_type, .digest = subject->digest,
				      .size = subject->size};
	_cleanup_free_ char *json = NULL;
	size_t jlen;
	bool done = false;
	m.artifact_type = (char *)artifact_type;
	m.config.media_type = IMG_MT_OCI_EMPTY;
	m.config.size = 2;
	m.layers = &layer;
	m.n_layers = 1;
	m.subject = &subj;
	if (put_small_blob(r, repo, "{}", 2, &m.config.digest, e) < 0 ||
	    put_small_blob(r, repo, blob, len, &layer.digest, e) < 0 || img_manifest_json(&m, &json, &jlen, e) < 0)
		return -1;
	img_sha256_buf(json, jlen, &d.digest);
	d.size = (int64_t)jlen;
	if (put_manifest(r, repo, d.digest.s, &d, json, jlen, &done, e) < 0)
		return -1;
	if (!done && img_referrers_tag_add(r, repo, &subject->digest, &d, e) < 0)
		return -1;
	*out = d.digest;
	return 0;
}
