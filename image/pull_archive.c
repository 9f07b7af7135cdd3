/* pull_archive.c: pull into an oci-archive by writing the archive directly
 * (see img_pull_archive in pull.h).
 *
 * An oci-archive's bytes are fixed by its blobs' names and sizes, which the
 * manifests give before any blob arrives. img_archive_write's entries are
 * "blobs/", "blobs/sha256/", the blobs sorted by name, "index.json",
 * "oci-layout" (no manifest.json for a pulled image), each a header made by
 * libarchive's pax_restricted writer (owner 0, mode 0755 or 0644, time 0),
 * data padded to 512 bytes, and two zero blocks at the end. The same
 * libarchive writer with the same settings makes each header here; the blobs'
 * data goes straight from the network to its offset with pwrite; index.json
 * comes after the blobs, so it is written last. One fsync, one rename: every
 * blob is written once.
 *
 * Resume: the partial archive sits beside the output (the same file system,
 * so the final rename is atomic) as ".NAME.ramp-partial", locked while a pull
 * writes it, with ".NAME.ramp-partial.state": lines "<hex> <offset> <bytes>",
 * how much of which blob is at which offset. It is saved as writeback starts
 * (every few MiB of a blob) and when a pull fails. The next pull to the same
 * path keeps whatever lands at the same offset; the kept bytes are hashed
 * again, and a blob that does not verify is downloaded afresh. */
#include "image/pull.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/pull_store.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/log.h"

/* what image/layout.c writes as oci-layout */
#define OCI_LAYOUT_JSON "{\"imageLayoutVersion\":\"1.0.0\"}"
#define STATE_MAX (1u << 20)
/* a blob, or the whole archive, beyond this is refused (offsets stay far inside off_t) */
#define BLOB_MAX (1ull << 50)

struct astore;

struct ablob {
	struct astore *s;
	struct img_digest digest;
	uint64_t size, off; /* off: where its data starts in the archive */
	uint64_t have;      /* bytes of it in place from off */
	uint64_t flushed;   /* writeback started up to here */
	bool done;
};

struct kept {
	struct img_digest digest;
	uint64_t off, have;
};

struct astore {
	struct img_blob_store base;
	char *out, *dir, *tmp, *state;
	int fd;
	bool resumable; /* tmp is the well-known partial, locked by us */
	bool fresh;     /* tmp was empty when we opened it */
	struct kept *kept;
	size_t n_kept;
	struct ablob *b; /* sorted by digest; NULL until planned */
	size_t n;
	uint64_t tail; /* where index.json's header goes */
	const struct fs_reserve *reserve; /* free space left on the file system (NULL: none) */
};

static int pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const char *p = buf;
	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* ---- tar headers, as img_archive_write writes them ---- */

struct hdr {
	char buf[4096];
	size_t len;
	bool sealed; /* the header is complete: refuse the rest */
};

static la_ssize_t hdr_write(struct archive *a, void *ctx, const void *buf, size_t len)
{
	struct hdr *h = ctx;
	(void)a;
	if (h->sealed || len > sizeof h->buf - h->len)
		return -1;
	memcpy(h->buf + h->len, buf, len);
	h->len += len;
	return (la_ssize_t)len;
}

/* The header (ustar, with a pax header before it when one is needed) of one
 * entry. Blocks of 512 bytes make the header (a multiple of 512) reach
 * hdr_write whole as soon as it is written; what the writer would write after
 * it (the entry's data as zeros, when it is closed) is refused at once. */
static int tar_header(const char *name, mode_t type, uint64_t size, struct hdr *h, struct err *e)
{
	struct archive *a = archive_write_new();
	struct archive_entry *ent = archive_entry_new();
	int rc = -1;
	h->len = 0;
	h->sealed = false;
	if (!a || !ent) {
		err_errno(e, ENOMEM, "archive header");
		goto out;
	}
	archive_write_set_format_pax_restricted(a);
	archive_write_set_bytes_per_block(a, 512);
	archive_entry_set_pathname(ent, name);
	archive_entry_set_filetype(ent, type);
	archive_entry_set_perm(ent, type == AE_IFDIR ? 0755 : 0644);
	archive_entry_set_uid(ent, 0);
	archive_entry_set_gid(ent, 0);
	archive_entry_set_mtime(ent, 0, 0);
	archive_entry_set_size(ent, (la_int64_t)size);
	if (archive_write_open2(a, h, NULL, hdr_write, NULL, NULL) != ARCHIVE_OK ||
	    archive_write_header(a, ent) != ARCHIVE_OK) {
		err_set(e, "archive entry \"%s\": %s", name, archive_error_string(a));
		goto out;
	}
	if (!h->len || h->len % 512) {
		err_set(e, "archive entry \"%s\": a header of %zu bytes", name, h->len);
		goto out;
	}
	rc = 0;
out:
	h->sealed = true;
	if (a)
		archive_write_free(a);
	if (ent)
		archive_entry_free(ent);
	return rc;
}

static const char zeros[1024];

/* An entry's header at *pos; its data (size bytes) follows, then zeros to a
 * 512 boundary. data NULL: the data is written elsewhere (a blob). */
static int put_entry(struct astore *s, uint64_t *pos, const char *name, mode_t type, const void *data, uint64_t size,
		     uint64_t *data_off, struct err *e)
{
	struct hdr h;
	if (tar_header(name, type, size, &h, e) < 0)
		return err_ctx(e, "\"%s\"", s->out);
	uint64_t off = *pos + h.len, pad = (512 - size % 512) % 512;
	if (pwrite_all(s->fd, h.buf, h.len, *pos) < 0 || (data && pwrite_all(s->fd, data, size, off) < 0) ||
	    pwrite_all(s->fd, zeros, pad, off + size) < 0)
		return err_sys(e, "write \"%s\"", s->tmp);
	if (data_off)
		*data_off = off;
	*pos = off + size + pad;
	return 0;
}

/* ---- resume state ---- */

static void save_state(struct astore *s)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct fs_atomic a;
	struct err e;
	if (!f)
		return;
	for (size_t i = 0; i < s->n; i++)
		if (s->b[i].have)
			fprintf(f, "%s %" PRIu64 " %" PRIu64 "\n", img_digest_hex(&s->b[i].digest), s->b[i].off,
				s->b[i].have);
	if (fclose(f) != 0)
		return;
	/* no fsync: after a power loss a kept blob that does not verify is fetched again */
	if (fs_atomic_open(&a, s->state, 0644, &e) < 0)
		goto fail;
	a.nosync = true;
	if (fs_write_all(a.fd, text, len, a.tmp, &e) < 0) {
		fs_atomic_abort(&a);
		goto fail;
	}
	if (fs_atomic_commit(&a, &e) == 0)
		return;
fail:
	log_debug("resume state: %s", e.msg);
}

/* What an earlier pull left, bounded by the partial file's length. A state
 * that does not parse is ignored: everything is downloaded again. */
static void load_state(struct astore *s, uint64_t file_len)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	struct err e;
	if (fs_read_file(s->state, STATE_MAX, &text, &len, &e) < 0) {
		if (e.errnum != ENOENT)
			log_debug("resume state: %s", e.msg);
		return;
	}
	for (char *line = text, *next; *line; line = next) {
		char hex[65], ds[80], end;
		uint64_t off, have;
		struct img_digest d;
		next = strchr(line, '\n');
		if (!next)
			break;
		*next++ = '\0';
		snprintf(ds, sizeof ds, "sha256:%.64s", line);
		if (sscanf(line, "%64[0-9a-f] %" SCNu64 " %" SCNu64 "%c", hex, &off, &have, &end) != 3 ||
		    img_digest_parse(ds, &d, &e) < 0) {
			log_debug("\"%s\": not a resume state; starting over", s->state);
			s->n_kept = 0;
			return;
		}
		struct kept *nk = realloc(s->kept, (s->n_kept + 1) * sizeof *nk);
		if (!nk)
			return;
		s->kept = nk;
		if (off >= file_len)
			continue;
		nk[s->n_kept++] = (struct kept){d, off, have < file_len - off ? have : file_len - off};
	}
}

/* ---- the store ---- */

static int cmp_blob(const void *x, const void *y)
{
	return strcmp(((const struct ablob *)x)->digest.s, ((const struct ablob *)y)->digest.s);
}

static int as_plan(struct img_blob_store *base, const struct img_descriptor *const *ds, size_t n, struct err *e)
{
	struct astore *s = (struct astore *)base;
	uint64_t pos = 0, kept = 0;
	if (!(s->b = calloc(n ? n : 1, sizeof *s->b)))
		return err_errno(e, ENOMEM, "archive");
	for (size_t i = 0; i < n; i++) {
		if (ds[i]->size < 0 || (uint64_t)ds[i]->size > BLOB_MAX)
			return err_set(e, "blob %s: a size of %lld bytes is out of range", ds[i]->digest.s,
				       (long long)ds[i]->size);
		s->b[i] = (struct ablob){.s = s, .digest = ds[i]->digest, .size = (uint64_t)ds[i]->size};
	}
	qsort(s->b, n, sizeof *s->b, cmp_blob);
	for (size_t i = 0; i < n; i++) {
		struct ablob *last = s->n ? &s->b[s->n - 1] : NULL;
		if (!last || !img_digest_eq(&last->digest, &s->b[i].digest))
			s->b[s->n++] = s->b[i];
		else if (last->size != s->b[i].size)
			return err_set(e, "blob %s is named with two sizes, %" PRIu64 " and %" PRIu64, last->digest.s,
				       last->size, s->b[i].size);
	}
	if (put_entry(s, &pos, "blobs/", AE_IFDIR, NULL, 0, NULL, e) < 0 ||
	    put_entry(s, &pos, "blobs/sha256/", AE_IFDIR, NULL, 0, NULL, e) < 0)
		return -1;
	for (size_t i = 0; i < s->n; i++) {
		struct ablob *b = &s->b[i];
		char name[128];
		snprintf(name, sizeof name, "blobs/sha256/%s", img_digest_hex(&b->digest));
		if (put_entry(s, &pos, name, AE_IFREG, NULL, b->size, &b->off, e) < 0)
			return -1;
		if (pos > BLOB_MAX)
			return err_set(e, "the image is larger than ramp pulls into an archive (%llu bytes)", BLOB_MAX);
		for (size_t k = 0; k < s->n_kept; k++)
			if (img_digest_eq(&s->kept[k].digest, &b->digest) && s->kept[k].off == b->off)
				b->have = b->flushed = s->kept[k].have < b->size ? s->kept[k].have : b->size;
		kept += b->have;
	}
	s->tail = pos;
	if (fs_reserve_check(s->reserve, s->fd, pos - kept, 0, e) < 0)
		return err_ctx(e, "\"%s\" has no room for the archive, nothing was downloaded", s->dir);
	return 0;
}

static int as_open(struct img_blob_store *base, const struct img_descriptor *d, struct img_sha256 *h, uint64_t *have,
		   bool *present, void **w, struct err *e)
{
	struct astore *s = (struct astore *)base;
	struct ablob key = {.digest = d->digest};
	struct ablob *b = s->b ? bsearch(&key, s->b, s->n, sizeof *s->b, cmp_blob) : NULL;
	*present = false;
	*have = 0;
	if (!b)
		return err_set(e, "blob %s is not one the archive was laid out for", d->digest.s);
	if (b->done) {
		*present = true;
		return 0;
	}
	if (b->have && img_pull_hash_range(s->fd, b->off, b->have, h, s->tmp, e) < 0)
		return -1;
	*have = b->have;
	*w = b;
	return 0;
}

static int as_write(void *wp, const void *buf, size_t len, struct err *e)
{
	struct ablob *b = wp;
	struct astore *s = b->s;
	if (len > b->size - b->have)
		return err_set(e, "blob %s: more than its %" PRIu64 " bytes", b->digest.s, b->size);
	if (pwrite_all(s->fd, buf, len, b->off + b->have) < 0)
		return err_sys(e, "write \"%s\"", s->tmp);
	b->have += len;
	if (b->have - b->flushed >= IMG_PULL_WRITEBACK_STEP) {
		/* start writeback so the fsync at the end waits for little */
		sync_file_range(s->fd, (off_t)(b->off + b->flushed), (off_t)(b->have - b->flushed), SYNC_FILE_RANGE_WRITE);
		b->flushed = b->have;
		if (s->resumable)
			save_state(s); /* a pull killed from now on resumes from here */
		if (fs_reserve_check(s->reserve, s->fd, 0, 0, e) < 0)
			return err_ctx(e, "\"%s\" is full, the partial archive is removed", s->dir);
	}
	return 0;
}

static int as_truncate(void *wp, struct err *e)
{
	struct ablob *b = wp;
	(void)e;
	b->have = b->flushed = 0;
	return 0;
}

static int as_commit(void *wp, struct err *e)
{
	struct ablob *b = wp;
	(void)e;
	b->done = true;
	return 0;
}

static void as_abort(void *wp, bool keep)
{
	struct ablob *b = wp;
	if (!keep)
		b->have = b->flushed = 0;
}

static const struct img_blob_store_ops archive_ops = {
	.plan = as_plan,
	.open = as_open,
	.write = as_write,
	.truncate = as_truncate,
	.commit = as_commit,
	.abort = as_abort,
};

static void as_free(struct astore *s)
{
	if (s->fd >= 0)
		close(s->fd);
	free(s->out);
	free(s->dir);
	free(s->tmp);
	free(s->state);
	free(s->kept);
	free(s->b);
}

static char *str_printf(const char *fmt, const char *a, const char *b)
{
	char *p;
	return asprintf(&p, fmt, a, b) < 0 ? NULL : p;
}

/* Open (or create) the partial archive for path, and lock it. */
static int as_init(struct astore *s, const char *path, struct err *e)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	struct stat st;
	*s = (struct astore){.base = {&archive_ops}, .fd = -1};
	if (!*base)
		return err_set(e, "\"%s\" is a directory name, not a file name", path);
	s->out = strdup(path);
	s->dir = slash ? (slash == path ? strdup("/") : strndup(path, (size_t)(slash - path))) : strdup(".");
	s->tmp = s->dir ? str_printf("%s/.%s.ramp-partial", s->dir, base) : NULL;
	s->state = s->tmp ? str_printf("%s%s", s->tmp, ".state") : NULL;
	if (!s->out || !s->state)
		return err_errno(e, ENOMEM, "pull");
	s->fd = open(s->tmp, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (s->fd < 0)
		return err_sys(e, "open \"%s\"", s->tmp);
	if (fstat(s->fd, &st) < 0 || !S_ISREG(st.st_mode))
		return err_set(e, "\"%s\" is not a regular file", s->tmp);
	if (flock(s->fd, LOCK_EX | LOCK_NB) == 0) {
		s->resumable = true;
		s->fresh = st.st_size == 0;
		load_state(s, (uint64_t)st.st_size);
		return 0;
	}
	/* another pull writes the same file: write a private one, not resumable */
	close(s->fd);
	free(s->tmp);
	if (!(s->tmp = str_printf("%s/.%s.ramp-partial-XXXXXX", s->dir, base)))
		return err_errno(e, ENOMEM, "pull");
	if ((s->fd = mkostemp(s->tmp, O_CLOEXEC)) < 0) {
		free(s->tmp);
		s->tmp = NULL;
		return err_sys(e, "create a temporary file in \"%s\"", s->dir);
	}
	s->fresh = true;
	return 0;
}

/* The tail after the blobs, then make the archive durable and visible. */
static int as_finish(struct astore *s, const char *index, size_t len, struct err *e)
{
	uint64_t pos = s->tail;
	if (put_entry(s, &pos, "index.json", AE_IFREG, index, len, NULL, e) < 0 ||
	    put_entry(s, &pos, "oci-layout", AE_IFREG, OCI_LAYOUT_JSON, strlen(OCI_LAYOUT_JSON), NULL, e) < 0)
		return -1;
	if (pwrite_all(s->fd, zeros, sizeof zeros, pos) < 0 || ftruncate(s->fd, (off_t)(pos + sizeof zeros)) < 0 ||
	    fchmod(s->fd, 0644) < 0)
		return err_sys(e, "write \"%s\"", s->tmp);
	if (fsync(s->fd) < 0)
		return err_sys(e, "fsync \"%s\"", s->tmp);
	if (rename(s->tmp, s->out) < 0)
		return err_sys(e, "rename \"%s\" to \"%s\"", s->tmp, s->out);
	unlink(s->state);
	free(s->tmp);
	s->tmp = NULL;
	return fs_fsync_dir(s->dir, e);
}

/* After a failure: keep what a later pull can resume, else leave nothing
 * (an earlier pull's partial that was never laid out again stays as it was).
 * On a full disk nothing is kept: a partial would keep it full. */
static void as_fail(struct astore *s, bool disk_full)
{
	bool any = false;
	for (size_t i = 0; i < s->n; i++)
		any |= s->b[i].have > 0;
	if (!s->tmp)
		return;
	if (s->resumable && any && !disk_full) {
		save_state(s);
		log_notice("the partial archive stays in \"%s\" for the next pull to resume", s->tmp);
	} else if (disk_full || !s->resumable || s->b || s->fresh) {
		unlink(s->tmp);
		if (s->resumable)
			unlink(s->state);
	}
}

int img_pull_archive(struct img_registry *r, const struct img_ref *ref, const struct img_pull_opts *o,
		     const char *path, struct img_pull_result *res, struct err *e)
{
	struct astore s;
	struct img_index x = {0};
	_cleanup_free_ char *json = NULL;
	size_t len;
	int rc = -1;
	*res = (struct img_pull_result){0};
	if (as_init(&s, path, e) < 0) {
		as_free(&s);
		return -1;
	}
	s.reserve = o->limits ? &o->limits->reserve : NULL;
	if (img_pull(r, ref, o, &s.base, res, e) < 0)
		goto out;
	if (img_pull_index_add(&x, ref, res, e) < 0 ||
	    (res->referrers.media_type && img_kvs_set(&x.annotations, IMG_ANN_REFERRERS, res->referrers.digest.s, e) < 0) ||
	    img_index_json(&x, &json, &len, e) < 0 ||
	    as_finish(&s, json, len, e) < 0) {
		img_pull_result_free(res);
		goto out;
	}
	rc = 0;
out:
	if (rc < 0)
		as_fail(&s, e->errnum == ENOSPC || e->errnum == EDQUOT);
	img_index_free(&x);
	as_free(&s);
	return rc;
}
