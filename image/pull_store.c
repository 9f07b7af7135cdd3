/* pull_store.c: the layout blob store pulls write to (see pull.h).
 *
 * A blob is written to ingest/<hex> (locked, so two pulls never write the
 * same file; the loser writes a private temporary file instead). Its length
 * is the resume offset; a partial that does not verify in the end is thrown
 * away. Verified blobs stay there, their writeback started, until the pull
 * is complete: then each is fsync'd, all are renamed to blobs/sha256/<hex> in
 * the order they were committed (blobs before the manifests naming them),
 * and the directory is fsync'd once. A pull that fails before leaves them in
 * ingest/, complete, for the next one to verify and take; partial ones stay
 * for a resume, except when the disk (or the reserve) is full: then they
 * would keep it full. */
#include "image/pull.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/pull_store.h"
#include "lib/cleanup.h"
#include "lib/fs.h"

struct lw {
	struct img_layout_store *s;
	int fd;
	char *path;       /* in the ingest dir */
	bool private_tmp; /* not resumable: another process holds ingest/<hex> */
	struct img_digest digest;
	uint64_t written, flushed;
};

static void lw_free(struct lw *w)
{
	if (w->fd >= 0)
		close(w->fd);
	free(w->path);
	free(w);
}

int img_pull_hash_range(int fd, uint64_t off, uint64_t len, struct img_sha256 *h, const char *what, struct err *e)
{
	enum { BUF = 1 << 16 };
	uint64_t done = 0;
	/* on the heap for the call only: a static buffer would stay resident in every thread */
	_cleanup_free_ char *buf = len ? malloc(BUF) : NULL;
	if (len && !buf)
		return err_errno(e, ENOMEM, "read \"%s\"", what);
	while (done < len) {
		size_t want = len - done < BUF ? (size_t)(len - done) : BUF;
		ssize_t n = pread(fd, buf, want, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? err_sys(e, "read \"%s\"", what) : err_set(e, "\"%s\" shrank", what);
		img_sha256_update(h, buf, (size_t)n);
		done += (uint64_t)n;
	}
	return 0;
}

static int ls_open(struct img_blob_store *base, const struct img_descriptor *d, struct img_sha256 *h, uint64_t *have,
		   bool *present, void **out, struct err *e)
{
	struct img_layout_store *s = (struct img_layout_store *)base;
	struct stat st;
	*present = false;
	*have = 0;
	if (img_layout_has_blob(s->layout, &d->digest)) {
		*present = true;
		return 0;
	}
	if (fs_mkdir_p(s->ingest, 0755, e) < 0)
		return -1;
	struct lw *w = calloc(1, sizeof *w);
	if (!w)
		return err_errno(e, ENOMEM, "blob");
	w->s = s;
	w->digest = d->digest;
	w->fd = -1;
	/* the digest was validated: its hex is a safe file name */
	if (asprintf(&w->path, "%s/%s", s->ingest, img_digest_hex(&d->digest)) < 0) {
		w->path = NULL;
		lw_free(w);
		return err_errno(e, ENOMEM, "blob");
	}
	w->fd = open(w->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (w->fd < 0) {
		err_sys(e, "open \"%s\"", w->path);
		lw_free(w);
		return -1;
	}
	if (flock(w->fd, LOCK_EX | LOCK_NB) < 0) {
		/* someone else is fetching it: fetch our own copy, not resumable */
		close(w->fd);
		free(w->path);
		w->private_tmp = true;
		if (asprintf(&w->path, "%s/.%s-XXXXXX", s->ingest, img_digest_hex(&d->digest)) < 0 ||
		    (w->fd = mkostemp(w->path, O_CLOEXEC)) < 0) {
			err_sys(e, "create a temporary file in \"%s\"", s->ingest);
			lw_free(w);
			return -1;
		}
	}
	if (fstat(w->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		err_set(e, "\"%s\" is not a regular file", w->path);
		lw_free(w);
		return -1;
	}
	uint64_t len = (uint64_t)st.st_size;
	if (len > (uint64_t)d->size) {
		if (ftruncate(w->fd, 0) < 0) {
			err_sys(e, "truncate \"%s\"", w->path);
			lw_free(w);
			return -1;
		}
		len = 0;
	}
	if (len && img_pull_hash_range(w->fd, 0, len, h, w->path, e) < 0) {
		lw_free(w);
		return -1;
	}
	if (lseek(w->fd, (off_t)len, SEEK_SET) < 0) {
		err_sys(e, "seek \"%s\"", w->path);
		lw_free(w);
		return -1;
	}
	w->written = w->flushed = len;
	*have = len;
	*out = w;
	return 0;
}

/* Everything the pull will write that is not there yet must fit beside the reserve. */
static int ls_plan(struct img_blob_store *base, const struct img_descriptor *const *ds, size_t n, struct err *e)
{
	struct img_layout_store *s = (struct img_layout_store *)base;
	uint64_t need = 0;
	for (size_t i = 0; s->reserve && i < n; i++) {
		bool again = false;
		for (size_t k = 0; k < i && !again; k++)
			again = img_digest_eq(&ds[k]->digest, &ds[i]->digest);
		if (again || ds[i]->size < 0 || img_layout_has_blob(s->layout, &ds[i]->digest))
			continue;
		char p[PATH_MAX];
		struct stat st;
		snprintf(p, sizeof p, "%s/%s", s->ingest, img_digest_hex(&ds[i]->digest));
		uint64_t have = stat(p, &st) == 0 && st.st_size <= ds[i]->size ? (uint64_t)st.st_size : 0;
		need += (uint64_t)ds[i]->size - have;
	}
	if (!need)
		return 0;
	_cleanup_close_ int fd = open(s->layout->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, "open \"%s\"", s->layout->dir);
	if (fs_reserve_check(s->reserve, fd, need, 0, e) < 0)
		return err_ctx(e, "\"%s\" has no room for the pull, nothing was downloaded", s->layout->dir);
	return 0;
}

static int ls_write(void *wp, const void *buf, size_t len, struct err *e)
{
	struct lw *w = wp;
	if (fs_write_all(w->fd, buf, len, w->path, e) < 0) {
		w->s->full |= e->errnum == ENOSPC || e->errnum == EDQUOT;
		return -1;
	}
	w->written += len;
	/* start writeback early so the fsync at the end does not wait for it all;
	   and see that the disk keeps its reserve */
	if (w->written - w->flushed >= IMG_PULL_WRITEBACK_STEP) {
		if (w->s->durable)
			sync_file_range(w->fd, (off_t)w->flushed, (off_t)(w->written - w->flushed), SYNC_FILE_RANGE_WRITE);
		w->flushed = w->written;
		if (fs_reserve_check(w->s->reserve, w->fd, 0, 0, e) < 0) {
			w->s->full = true;
			return err_ctx(e, "\"%s\" is full, the partial download is removed", w->s->layout->dir);
		}
	}
	return 0;
}

static int ls_truncate(void *wp, struct err *e)
{
	struct lw *w = wp;
	if (ftruncate(w->fd, 0) < 0 || lseek(w->fd, 0, SEEK_SET) < 0)
		return err_sys(e, "truncate \"%s\"", w->path);
	w->written = w->flushed = 0;
	return 0;
}

static int ls_commit(void *wp, struct err *e)
{
	struct lw *w = wp;
	struct img_layout_store *s = w->s;
	void **nd = realloc(s->done, (s->n_done + 1) * sizeof *nd);
	if (!nd) {
		lw_free(w);
		return err_errno(e, ENOMEM, "blob");
	}
	s->done = nd;
	if (fchmod(w->fd, 0644) < 0) {
		err_sys(e, "chmod \"%s\"", w->path);
		lw_free(w);
		return -1;
	}
	/* the rest of its writeback starts now: the fsync in finish waits for little */
	if (s->durable)
		sync_file_range(w->fd, (off_t)w->flushed, 0, SYNC_FILE_RANGE_WRITE);
	nd[s->n_done++] = w;
	return 0;
}

/* Forget the committed blobs: renamed, or left in ingest/ for a resume (a
 * private temporary file, which no later pull would find, is removed). */
static void drop_done(struct img_layout_store *s)
{
	for (size_t i = 0; i < s->n_done; i++) {
		struct lw *w = s->done[i];
		if (w->private_tmp)
			unlink(w->path);
		lw_free(w);
	}
	free(s->done);
	s->done = NULL;
	s->n_done = 0;
}

static int ls_finish(struct img_blob_store *base, struct err *e)
{
	struct img_layout_store *s = (struct img_layout_store *)base;
	_cleanup_free_ char *dir = fs_join(s->layout->dir, "blobs/sha256");
	int rc = -1;
	if (!dir) {
		err_errno(e, ENOMEM, "blob");
		goto out;
	}
	for (size_t i = 0; s->durable && i < s->n_done; i++) {
		struct lw *w = s->done[i];
		if (fsync(w->fd) < 0) {
			err_sys(e, "fsync \"%s\"", w->path);
			goto out;
		}
	}
	for (size_t i = 0; i < s->n_done; i++) {
		struct lw *w = s->done[i];
		_cleanup_free_ char *dst = img_layout_blob_path(s->layout, &w->digest);
		if (!dst) {
			err_errno(e, ENOMEM, "blob");
			goto out;
		}
		if (rename(w->path, dst) < 0) {
			err_sys(e, "rename \"%s\" to \"%s\"", w->path, dst);
			goto out;
		}
	}
	rc = s->durable ? fs_fsync_dir(dir, e) : 0;
out:
	drop_done(s);
	return rc;
}

static void ls_abort(void *wp, bool keep)
{
	struct lw *w = wp;
	if (!keep || w->private_tmp || !w->written || w->s->full)
		unlink(w->path);
	lw_free(w);
}

static const struct img_blob_store_ops layout_ops = {
	.plan = ls_plan,
	.open = ls_open,
	.write = ls_write,
	.truncate = ls_truncate,
	.commit = ls_commit,
	.abort = ls_abort,
	.finish = ls_finish,
};

int img_layout_store_init(struct img_layout_store *s, const struct img_layout *l, const char *ingest_dir, bool durable,
			  struct err *e)
{
	*s = (struct img_layout_store){.base = {&layout_ops}, .layout = l, .durable = durable};
	if (!(s->ingest = strdup(ingest_dir)))
		return err_errno(e, ENOMEM, "store");
	return 0;
}

void img_layout_store_free(struct img_layout_store *s)
{
	drop_done(s); /* a failed pull: they stay in ingest/ */
	free(s->ingest);
	s->ingest = NULL;
}
