/* unpack.c: secure extraction of image layers (see unpack.h).
 *
 * Two threads: the producer reads the blob, hashes it, decompresses it
 * (libarchive's raw format behind its gzip/zstd filter), hashes the tar stream
 * and hands it over in large chunks; the caller's thread parses the tar
 * (libarchive, reading from those chunks) and writes the files. Every file
 * system operation is relative to a directory descriptor we resolved
 * ourselves, so nothing the layer contains can steer a write elsewhere. */
#include "runtime/unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "image/limits.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/log.h"

#define CHUNK (1u << 20) /* bytes per hand-over buffer */
#define NCHUNK 8
#define MAX_LINKS 40    /* symlinks followed for one name, as the kernel allows */
#define MAX_DEPTH 1024  /* nesting of a directory tree we remove */
#define PHYS_MAX 4096   /* a resolved path inside the root */
#define OPAQUE_XATTR "trusted.overlay.opaque"
#define SPACE_BYTES (8u << 20) /* the reserve is checked every this many bytes written */
#define SPACE_ENTRIES 1024      /* and every this many entries */

void rt_unpack_opts_init(struct rt_unpack_opts *o)
{
	*o = (struct rt_unpack_opts){
		.mode = RT_UNPACK_OVERLAY,
		.compression = "",
		.size = -1,
		.max_bytes = IMG_LIMIT_IMAGE_SIZE,
		.max_entries = IMG_LIMIT_ENTRIES,
		.max_path = RT_UNPACK_MAX_PATH,
	};
}

/* ---- the decompressing producer ---- */

struct pipe {
	int fd;
	const struct rt_unpack_opts *o;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char *buf[NCHUNK];
	size_t len[NCHUNK];
	uint64_t head, tail; /* chunks released by the reader, chunks filled */
	bool held;           /* the reader (libarchive) still uses buf[head] */
	bool eof, failed, stop;
	bool over_limit; /* it failed on max_bytes */
	struct err err;  /* why the producer failed */
	/* the producer's own */
	bool own_err;
	char *zbuf;
	struct img_sha256 zh, th;
	uint64_t zsize, tsize;
	struct img_digest digest, diff_id;
};

static void pipe_signal(struct pipe *p, bool *flag)
{
	pthread_mutex_lock(&p->mu);
	*flag = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

/* Read the blob, hashing it and holding it to its descriptor's size. */
static ssize_t read_blob(struct pipe *p, char *buf, size_t cap, bool hash)
{
	for (;;) {
		ssize_t n = read(p->fd, buf, cap);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			p->own_err = true;
			return err_sys(&p->err, "read the layer blob");
		}
		p->zsize += (uint64_t)n;
		if (hash)
			img_sha256_update(&p->zh, buf, (size_t)n);
		if (p->o->size >= 0 && p->zsize > (uint64_t)p->o->size) {
			p->own_err = true;
			return err_set(&p->err, "the layer blob is larger than the %lld bytes its descriptor says",
				       (long long)p->o->size);
		}
		return n;
	}
}

static la_ssize_t blob_cb(struct archive *a, void *arg, const void **buf)
{
	struct pipe *p = arg;
	(void)a;
	*buf = p->zbuf;
	return read_blob(p, p->zbuf, CHUNK, true);
}

/* Fill one chunk with uncompressed bytes; 0 at the end of the stream. */
static ssize_t fill(struct pipe *p, struct archive *raw, char *b)
{
	size_t got = 0;
	while (got < CHUNK) {
		ssize_t n = raw ? archive_read_data(raw, b + got, CHUNK - got) : read_blob(p, b + got, CHUNK - got, false);
		if (n < 0) {
			if (!p->own_err)
				err_set(&p->err, "the layer blob does not decompress (%s): %s", p->o->compression,
					archive_error_string(raw));
			p->own_err = true;
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static int open_raw(struct pipe *p, struct archive **out)
{
	struct archive *raw = archive_read_new();
	struct archive_entry *ent;
	int code;
	*out = raw;
	if (!raw)
		return err_errno(&p->err, ENOMEM, "decompressor");
	if (!strcmp(p->o->compression, "gzip")) {
		archive_read_support_filter_gzip(raw);
		code = ARCHIVE_FILTER_GZIP;
	} else if (!strcmp(p->o->compression, "zstd")) {
		archive_read_support_filter_zstd(raw);
		code = ARCHIVE_FILTER_ZSTD;
	} else {
		return err_set(&p->err, "unsupported layer compression \"%.40s\"", p->o->compression);
	}
	archive_read_support_format_raw(raw);
	if (archive_read_open(raw, p, NULL, blob_cb, NULL) != ARCHIVE_OK ||
	    archive_read_next_header(raw, &ent) != ARCHIVE_OK) {
		if (!p->own_err)
			err_set(&p->err, "the layer blob is not a %s stream: %s", p->o->compression,
				archive_error_string(raw));
		return -1;
	}
	/* libarchive falls back to "no filter" on data that is not what we enabled */
	if (archive_filter_count(raw) < 2 || archive_filter_code(raw, 0) != code)
		return err_set(&p->err, "the layer blob is not %s-compressed, though its media type says so",
			       p->o->compression);
	return 0;
}

static int check_end(struct pipe *p)
{
	const struct rt_unpack_opts *o = p->o;
	bool plain = !*o->compression;
	img_sha256_final(&p->th, &p->diff_id);
	if (plain)
		p->digest = p->diff_id;
	else
		img_sha256_final(&p->zh, &p->digest);
	if (o->size >= 0 && p->zsize != (uint64_t)o->size)
		return err_set(&p->err, "the layer blob has %llu bytes, its descriptor says %lld",
			       (unsigned long long)p->zsize, (long long)o->size);
	if (o->digest && !img_digest_eq(o->digest, &p->digest))
		return err_set(&p->err, "the layer blob hashes to %s, not to its digest %s", p->digest.s, o->digest->s);
	if (o->diff_id && !img_digest_eq(o->diff_id, &p->diff_id))
		return err_set(&p->err, "the layer's uncompressed content hashes to %s, not to its diff_id %s",
			       p->diff_id.s, o->diff_id->s);
	return 0;
}

static void *produce(void *arg)
{
	struct pipe *p = arg;
	struct archive *raw = NULL;
	if (*p->o->compression && open_raw(p, &raw) < 0)
		goto fail;
	for (;;) {
		pthread_mutex_lock(&p->mu);
		while (!p->stop && p->tail - p->head >= NCHUNK)
			pthread_cond_wait(&p->cv, &p->mu);
		bool stop = p->stop;
		pthread_mutex_unlock(&p->mu);
		if (stop)
			goto out;
		char *b = p->buf[p->tail % NCHUNK];
		ssize_t n = fill(p, raw, b);
		if (n < 0)
			goto fail;
		if (n == 0)
			break;
		img_sha256_update(&p->th, b, (size_t)n);
		p->tsize += (uint64_t)n;
		if (p->tsize > p->o->max_bytes) {
			p->over_limit = true;
			err_set(&p->err, "the layer expands to more than the limit of %llu bytes (a decompression bomb?)",
				(unsigned long long)p->o->max_bytes);
			goto fail;
		}
		pthread_mutex_lock(&p->mu);
		p->len[p->tail % NCHUNK] = (size_t)n;
		p->tail++;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
	}
	if (check_end(p) < 0)
		goto fail;
	pipe_signal(p, &p->eof);
	goto out;
fail:
	pipe_signal(p, &p->failed);
out:
	archive_read_free(raw);
	return NULL;
}

/* libarchive's tar reader pulls the uncompressed stream through here. The
 * chunk handed out stays valid until the next call. */
static ssize_t take(struct pipe *p, const void **buf)
{
	ssize_t n = 0;
	pthread_mutex_lock(&p->mu);
	if (p->held) {
		p->head++;
		p->held = false;
		pthread_cond_broadcast(&p->cv);
	}
	while (p->head == p->tail && !p->eof && !p->failed)
		pthread_cond_wait(&p->cv, &p->mu);
	if (p->failed)
		n = -1;
	else if (p->head != p->tail) {
		*buf = p->buf[p->head % NCHUNK];
		n = (ssize_t)p->len[p->head % NCHUNK];
		p->held = true;
	}
	pthread_mutex_unlock(&p->mu);
	return n;
}

static la_ssize_t tar_cb(struct archive *a, void *arg, const void **buf)
{
	ssize_t n = take(arg, buf);
	if (n < 0)
		archive_set_error(a, EIO, "the layer stream failed");
	return n;
}

static int pipe_start(struct pipe *p, pthread_t *t, struct err *e)
{
	int rc;
	for (size_t i = 0; i < NCHUNK; i++)
		if (!(p->buf[i] = malloc(CHUNK)))
			return err_errno(e, ENOMEM, "layer buffers");
	if (*p->o->compression && !(p->zbuf = malloc(CHUNK)))
		return err_errno(e, ENOMEM, "layer buffers");
	if (img_sha256_init(&p->zh, e) < 0 || img_sha256_init(&p->th, e) < 0)
		return -1;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	if ((rc = pthread_create(t, NULL, produce, p)) != 0) {
		pthread_mutex_destroy(&p->mu);
		pthread_cond_destroy(&p->cv);
		return err_errno(e, rc, "start the decompressing thread");
	}
	return 0;
}

/* Stop (after an error of ours) or drain (after the tar's end: the digests
 * cover the whole stream) the producer and collect its verdict. */
static int pipe_finish(struct pipe *p, pthread_t t, bool ok, struct err *e)
{
	if (ok) {
		const void *b;
		ssize_t n;
		while ((n = take(p, &b)) > 0)
			;
	} else {
		pipe_signal(p, &p->stop);
	}
	pthread_join(t, NULL);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	if (p->failed) {
		*e = p->err; /* the root cause, even when the tar reader failed first */
		return -1;
	}
	return ok ? 0 : -1;
}

static void pipe_free(struct pipe *p)
{
	for (size_t i = 0; i < NCHUNK; i++)
		free(p->buf[i]);
	free(p->zbuf);
	img_sha256_free(&p->zh);
	img_sha256_free(&p->th);
}

/* ---- the set of paths a layer made (flatten mode) ---- */

struct strset {
	char **v;
	size_t cap, n;
};

static size_t str_hash(const char *s)
{
	size_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static bool strset_has(const struct strset *s, const char *k)
{
	if (!s->cap)
		return false;
	for (size_t i = str_hash(k) & (s->cap - 1); s->v[i]; i = (i + 1) & (s->cap - 1))
		if (!strcmp(s->v[i], k))
			return true;
	return false;
}

static int strset_add(struct strset *s, const char *k, struct err *e)
{
	if (strset_has(s, k))
		return 0;
	if (2 * (s->n + 1) > s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 1024;
		char **v = calloc(cap, sizeof *v);
		if (!v)
			return err_errno(e, ENOMEM, "layer bookkeeping");
		for (size_t i = 0; i < s->cap; i++) {
			if (!s->v[i])
				continue;
			size_t j = str_hash(s->v[i]) & (cap - 1);
			while (v[j])
				j = (j + 1) & (cap - 1);
			v[j] = s->v[i];
		}
		free(s->v);
		s->v = v;
		s->cap = cap;
	}
	size_t i = str_hash(k) & (s->cap - 1);
	while (s->v[i])
		i = (i + 1) & (s->cap - 1);
	if (!(s->v[i] = strdup(k)))
		return err_errno(e, ENOMEM, "layer bookkeeping");
	s->n++;
	return 0;
}

static void strset_free(struct strset *s)
{
	for (size_t i = 0; i < s->cap; i++)
		free(s->v[i]);
	free(s->v);
}

/* ---- the extractor ---- */

struct dirtime {
	char *phys;
	ino_t ino;
	struct timespec ts[2];
};

struct unpacker {
	int root;
	const struct rt_unpack_opts *o;
	struct rt_unpack_result *r;
	struct archive *a;
	struct archive_entry *ent;
	char name[PHYS_MAX]; /* the entry's normalized name */
	char q[300];         /* the entry's raw name, printable, for messages */
	char phys[PHYS_MAX]; /* the entry's resolved path */
	/* the parent directory of the previous entry: most entries share it */
	char c_req[PHYS_MAX], c_phys[PHYS_MAX];
	int c_fd;
	struct strset made; /* flatten: what this layer created, by resolved path */
	struct strset kept; /* flatten: directories below whose times are restored */
	struct dirtime *dirs;
	size_t n_dirs, cap_dirs;
	uint64_t content;
	uint64_t written, checked; /* bytes written, and when the reserve was last checked */
	bool warned_xattr;
};

/* Printable copy of an untrusted name for messages: other bytes as \xNN. */
static void quote(char *out, size_t cap, const char *s)
{
	size_t n = 0;
	for (; *s && n + 8 < cap; s++) {
		unsigned char c = (unsigned char)*s;
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			out[n++] = (char)c;
		else
			n += (size_t)snprintf(out + n, cap - n, "\\x%02x", c);
	}
	if (*s && n + 4 <= cap) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
}

static int open_beneath(int dirfd, const char *name, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
	};
	for (int i = 0;; i++) {
		int fd = (int)syscall(SYS_openat2, dirfd, name, &how, sizeof how);
		if (fd >= 0 || errno != EAGAIN || i > 8)
			return fd;
	}
}

static int made(struct unpacker *u, const char *phys, struct err *e)
{
	return u->o->mode == RT_UNPACK_FLATTEN ? strset_add(&u->made, phys, e) : 0;
}

static int join_phys(char *out, const char *dir, const char *name, struct err *e)
{
	int n = *dir ? snprintf(out, PHYS_MAX, "%s/%s", dir, name) : snprintf(out, PHYS_MAX, "%s", name);
	if (n < 0 || n >= PHYS_MAX)
		return err_errno(e, ENAMETOOLONG, "resolved path");
	return 0;
}

static void cache_drop(struct unpacker *u)
{
	if (u->c_fd >= 0)
		close(u->c_fd);
	u->c_fd = -1;
}

static void cache_set(struct unpacker *u, const char *req, int fd, const char *phys)
{
	cache_drop(u);
	if (strlen(req) >= PHYS_MAX)
		return;
	if ((u->c_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0)
		return;
	strcpy(u->c_req, req);
	strcpy(u->c_phys, phys);
}

/* Directory times are set last (every entry written into a directory
 * changes them): from its own entry, from the lower layers for an implicit
 * directory, or back to what it was for a directory of the tree below. */
static int record_times(struct unpacker *u, const char *phys, ino_t ino, const struct timespec ts[2], struct err *e)
{
	if (u->n_dirs == u->cap_dirs) {
		size_t cap = u->cap_dirs ? 2 * u->cap_dirs : 256;
		struct dirtime *v = realloc(u->dirs, cap * sizeof *v);
		if (!v)
			return err_errno(e, ENOMEM, "layer bookkeeping");
		u->dirs = v;
		u->cap_dirs = cap;
	}
	struct dirtime *d = &u->dirs[u->n_dirs];
	if (!(d->phys = strdup(phys)))
		return err_errno(e, ENOMEM, "layer bookkeeping");
	d->ino = ino;
	d->ts[0] = ts[0];
	d->ts[1] = ts[1];
	u->n_dirs++;
	return 0;
}

/* Flatten: a directory of the tree below that this layer writes into keeps
 * its times (as umoci and a merged overlay show them). */
static int keep_times(struct unpacker *u, int fd, const char *phys, struct err *e)
{
	struct stat st;
	if (u->o->mode != RT_UNPACK_FLATTEN || strset_has(&u->made, phys) || strset_has(&u->kept, phys))
		return 0;
	if (fstat(fd, &st) < 0)
		return err_sys(e, "stat \"%s\"", phys);
	if (record_times(u, phys, st.st_ino, (struct timespec[2]){st.st_atim, st.st_mtim}, e) < 0)
		return -1;
	return strset_add(&u->kept, phys, e);
}

/* Overlay: a directory made only to hold an entry takes the owner, mode and
 * times of the same directory in the layers below, so that the merged view
 * still shows those. */
static int inherit(struct unpacker *u, int pfd, const char *name, const char *phys, struct err *e)
{
	struct stat st, own;
	for (size_t i = 0; i < u->o->n_lowers; i++) {
		int fd = open_beneath(u->o->lowers[i], *phys ? phys : ".", O_PATH | O_NOFOLLOW);
		if (fd < 0 && errno == ENOENT)
			continue;
		if (fd < 0)
			return 0; /* a symlink or non-directory on the way: hidden below */
		int rc = fstat(fd, &st);
		close(fd);
		if (rc < 0 || !S_ISDIR(st.st_mode))
			return 0; /* a whiteout or a file hides the lower ones */
		if (fchownat(pfd, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0 ||
		    fchmodat(pfd, name, st.st_mode & 07777, 0) < 0 || fstatat(pfd, name, &own, AT_SYMLINK_NOFOLLOW) < 0)
			return err_sys(e, "set the attributes of \"%s\"", phys);
		return record_times(u, phys, own.st_ino, (struct timespec[2]){st.st_atim, st.st_mtim}, e);
	}
	return 0;
}

enum { W_FOLLOW = 1, W_CREATE = 2 };

/* Open the directory `path` (relative to the root) one component at a time.
 * With W_FOLLOW a symlink is resolved as if the root were "/" (an absolute
 * target restarts at the root, ".." stops there), otherwise it is an error;
 * W_CREATE makes missing directories. `phys` gets the resolved path. */
static int walk(struct unpacker *u, const char *path, int flags, int *out, char *phys, struct err *e)
{
	_cleanup_free_ char *todo = strdup(path);
	_cleanup_close_ int cur = fcntl(u->root, F_DUPFD_CLOEXEC, 3);
	size_t plen = 0;
	int links = 0;
	char qpath[300];
	quote(qpath, sizeof qpath, path);
	phys[0] = '\0';
	if (!todo || cur < 0)
		return err_sys(e, "resolve \"%s\"", qpath);
	for (const char *p = todo; *p;) {
		size_t n = strcspn(p, "/");
		char comp[NAME_MAX + 1];
		if (n == 0) {
			p++;
			continue;
		}
		if (n > NAME_MAX) {
			char qc[64];
			snprintf(comp, sizeof comp, "%.40s", p);
			quote(qc, sizeof qc, comp);
			return err_errno(e, ENAMETOOLONG, "\"%s...\"", qc);
		}
		memcpy(comp, p, n);
		comp[n] = '\0';
		p += n;
		if (!strcmp(comp, "."))
			continue;
		if (!strcmp(comp, "..")) { /* from a symlink target: ".." of the root is the root */
			char *s = strrchr(phys, '/');
			plen = s ? (size_t)(s - phys) : 0;
			phys[plen] = '\0';
			int fd = open_beneath(u->root, plen ? phys : ".", O_RDONLY | O_DIRECTORY);
			if (fd < 0)
				return err_sys(e, "resolve \"%s\"", qpath);
			close(cur);
			cur = fd;
			continue;
		}
		int fd = open_beneath(cur, comp, O_RDONLY | O_DIRECTORY);
		if (fd < 0 && errno == ENOENT && (flags & W_CREATE)) {
			char made_path[PHYS_MAX];
			if (join_phys(made_path, phys, comp, e) < 0 || keep_times(u, cur, phys, e) < 0)
				return -1;
			if (mkdirat(cur, comp, 0755) < 0 && errno != EEXIST)
				return err_sys(e, "mkdir while resolving \"%s\"", qpath);
			if (fchmodat(cur, comp, 0755, 0) < 0) /* whatever the umask */
				return err_sys(e, "chmod while resolving \"%s\"", qpath);
			if (made(u, made_path, e) < 0 || inherit(u, cur, comp, made_path, e) < 0)
				return -1;
			fd = open_beneath(cur, comp, O_RDONLY | O_DIRECTORY);
		}
		if (fd < 0 && errno == ELOOP && (flags & W_FOLLOW)) {
			char target[PATH_MAX];
			if (++links > MAX_LINKS)
				return err_errno(e, ELOOP, "\"%s\": more than %d symbolic links", qpath, MAX_LINKS);
			ssize_t tl = readlinkat(cur, comp, target, sizeof target - 1);
			if (tl <= 0)
				return err_sys(e, "read a symbolic link while resolving \"%s\"", qpath);
			target[tl] = '\0';
			char *next;
			if (asprintf(&next, "%s/%s", target, p) < 0)
				return err_errno(e, ENOMEM, "resolve \"%s\"", qpath);
			free(todo);
			todo = next;
			p = todo;
			if (target[0] == '/') {
				close(cur);
				if ((cur = fcntl(u->root, F_DUPFD_CLOEXEC, 3)) < 0)
					return err_sys(e, "resolve \"%s\"", qpath);
				plen = 0;
				phys[0] = '\0';
			}
			continue;
		}
		if (fd < 0) {
			int err = errno;
			char shown[PHYS_MAX + 4], qs[600];
			snprintf(shown, sizeof shown, "%s%s%s", phys, plen ? "/" : "", comp);
			quote(qs, sizeof qs, shown);
			if (err == ELOOP)
				return err_set(e, "\"%s\" is a symbolic link, which is not followed here", qs);
			if (err == ENOTDIR)
				return err_errno(e, ENOTDIR, "\"%s\" is not a directory", qs);
			if (err == EXDEV)
				return err_set(e, "\"%s\" is a mount point", qs);
			return err_errno(e, err, "open directory \"%s\"", qs);
		}
		if (plen + n + 2 > PHYS_MAX) {
			close(fd);
			return err_errno(e, ENAMETOOLONG, "resolving \"%s\"", qpath);
		}
		if (plen)
			phys[plen++] = '/';
		memcpy(phys + plen, comp, n + 1);
		plen += n;
		close(cur);
		cur = fd;
	}
	*out = steal_fd(cur);
	return 0;
}

/* The parent directory of a new entry: symlinks resolved inside the root,
 * missing directories made. */
static int parent_dir(struct unpacker *u, const char *parent, int *out, char *phys, struct err *e)
{
	if (u->c_fd >= 0 && !strcmp(u->c_req, parent)) {
		if ((*out = fcntl(u->c_fd, F_DUPFD_CLOEXEC, 3)) < 0)
			return err_sys(e, "dup");
		strcpy(phys, u->c_phys);
		return 0;
	}
	if (walk(u, parent, W_FOLLOW | W_CREATE, out, phys, e) < 0)
		return -1;
	if (keep_times(u, *out, phys, e) < 0) {
		close(*out);
		return -1;
	}
	cache_set(u, parent, *out, phys);
	return 0;
}

/* Remove a tree without following anything. */
static int rmtree(int pfd, const char *name, int depth, struct err *e)
{
	if (unlinkat(pfd, name, AT_REMOVEDIR) == 0)
		return 0;
	if (errno != ENOTEMPTY && errno != EEXIST)
		return err_sys(e, "remove directory \"%s\"", name);
	if (depth > MAX_DEPTH)
		return err_set(e, "remove \"%s\": nested more than %d deep", name, MAX_DEPTH);
	int fd = open_beneath(pfd, name, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return err_sys(e, "open directory \"%s\"", name);
	_cleanup_closedir_ DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return err_sys(e, "read directory \"%s\"", name);
	}
	for (struct dirent *de; (errno = 0, de = readdir(d));) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (unlinkat(fd, de->d_name, 0) == 0)
			continue;
		if (errno != EISDIR)
			return err_sys(e, "remove \"%s\"", de->d_name);
		if (rmtree(fd, de->d_name, depth + 1, e) < 0)
			return -1;
	}
	if (errno)
		return err_sys(e, "read directory \"%s\"", name);
	if (unlinkat(pfd, name, AT_REMOVEDIR) < 0)
		return err_sys(e, "remove directory \"%s\"", name);
	return 0;
}

/* Make room for a new entry `name`: remove what is there, except a
 * directory when keep_dir. Returns 1 when a directory was kept, 0 otherwise. */
static int clear(struct unpacker *u, int pfd, const char *name, bool keep_dir, bool *was_nondir, struct err *e)
{
	struct stat st;
	if (was_nondir)
		*was_nondir = false;
	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : err_sys(e, "stat");
	if (S_ISDIR(st.st_mode)) {
		if (keep_dir)
			return 1;
		cache_drop(u);
		return rmtree(pfd, name, 0, e) < 0 ? -1 : 0;
	}
	cache_drop(u);
	if (was_nondir)
		*was_nondir = true;
	if (unlinkat(pfd, name, 0) < 0)
		return err_sys(e, "remove the existing entry");
	return 0;
}

static bool xattr_kept(const char *name)
{
	return !strncmp(name, "user.", 5) || !strcmp(name, "security.capability");
}

static int check_entry(struct unpacker *u, struct archive_entry *ent, struct err *e)
{
	const char *name;
	const void *val;
	size_t size;
	la_int64_t uid = archive_entry_uid(ent), gid = archive_entry_gid(ent);
	if (uid < 0 || uid >= UINT32_MAX || gid < 0 || gid >= UINT32_MAX)
		return err_set(e, "owner %lld:%lld is out of range", (long long)uid, (long long)gid);
	archive_entry_xattr_reset(ent);
	while (archive_entry_xattr_next(ent, &name, &val, &size) == ARCHIVE_OK) {
		char qn[200];
		quote(qn, sizeof qn, name);
		if (!strncmp(name, "trusted.", 8))
			return err_set(e, "xattr \"%s\" refused: trusted.* belongs to the host (overlayfs keeps "
					  "whiteouts and redirects there)",
				       qn);
		if (!xattr_kept(name) && !u->warned_xattr) {
			log_warn("layer entry \"%s\": ignoring xattr \"%s\" (only user.* and security.capability are "
				 "kept; further ones are ignored silently)",
				 u->q, qn);
			u->warned_xattr = true;
		}
	}
	return 0;
}

/* Owner, then mode (chown clears setuid), then xattrs (chown clears
 * security.capability). `proc` is set for nodes we must not open. */
static int set_attrs(struct unpacker *u, int fd, const char *proc, struct archive_entry *ent, struct err *e)
{
	const char *name;
	const void *val;
	size_t size;
	(void)u;
	if (!proc) {
		if (fchown(fd, (uid_t)archive_entry_uid(ent), (gid_t)archive_entry_gid(ent)) < 0)
			return err_sys(e, "chown");
		if (fchmod(fd, archive_entry_perm(ent) & 07777) < 0)
			return err_sys(e, "chmod");
	}
	archive_entry_xattr_reset(ent);
	while (archive_entry_xattr_next(ent, &name, &val, &size) == ARCHIVE_OK) {
		if (!xattr_kept(name))
			continue;
		if ((proc ? setxattr(proc, name, val, size, 0) : fsetxattr(fd, name, val, size, 0)) < 0) {
			char qn[200];
			quote(qn, sizeof qn, name);
			return err_sys(e, "set xattr \"%s\"", qn);
		}
	}
	return 0;
}

static void entry_times(struct archive_entry *ent, struct timespec ts[2])
{
	ts[1].tv_sec = archive_entry_mtime(ent);
	ts[1].tv_nsec = archive_entry_mtime_nsec(ent);
	if (archive_entry_atime_is_set(ent)) {
		ts[0].tv_sec = archive_entry_atime(ent);
		ts[0].tv_nsec = archive_entry_atime_nsec(ent);
	} else {
		ts[0] = ts[1];
	}
}

static int tar_error(struct unpacker *u, const char *what, struct err *e)
{
	return err_set(e, "%s: %s", what, archive_error_string(u->a));
}

/* The file system keeps the caller's reserve (bytes and inodes). */
static int check_space(struct unpacker *u, struct err *e)
{
	u->checked = u->written;
	return fs_reserve_check(u->o->reserve, u->root, 0, 0, e);
}

static int write_data(struct unpacker *u, int fd, int64_t size, struct err *e)
{
	const void *buf;
	size_t len;
	la_int64_t off;
	int64_t pos = 0;
	for (;;) {
		int r = archive_read_data_block(u->a, &buf, &len, &off);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
			return tar_error(u, "read the file's data", e);
		if (off != pos) { /* a sparse file: leave a hole */
			if (off < pos || lseek(fd, off, SEEK_SET) < 0)
				return err_set(e, "bad sparse file offset %lld", (long long)off);
			pos = off;
		}
		if (fs_write_all(fd, buf, len, "file", e) < 0)
			return -1;
		pos += (int64_t)len;
		u->written += len;
		if (u->written - u->checked >= SPACE_BYTES && check_space(u, e) < 0)
			return -1;
	}
	if (pos < size && ftruncate(fd, size) < 0)
		return err_sys(e, "extend to %lld bytes", (long long)size);
	return 0;
}

static int do_file(struct unpacker *u, int pfd, const char *base, struct err *e)
{
	struct timespec ts[2];
	_cleanup_close_ int fd = -1;
	for (int tries = 0;; tries++) {
		fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0)
			break;
		if (errno != EEXIST || tries)
			return err_sys(e, "create");
		if (clear(u, pfd, base, false, NULL, e) < 0)
			return -1;
	}
	if (write_data(u, fd, archive_entry_size(u->ent), e) < 0 || set_attrs(u, fd, NULL, u->ent, e) < 0)
		return -1;
	/* start the write-back now: the caller's final sync then has little to wait for */
	if (u->o->writeback && sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE) < 0)
		return err_sys(e, "start write-back");
	entry_times(u->ent, ts);
	if (futimens(fd, ts) < 0)
		return err_sys(e, "set times");
	return made(u, u->phys, e);
}

static int record_dir(struct unpacker *u, int fd, struct err *e)
{
	struct stat st;
	struct timespec ts[2];
	if (fstat(fd, &st) < 0)
		return err_sys(e, "stat");
	entry_times(u->ent, ts);
	return record_times(u, u->phys, st.st_ino, ts, e);
}

static int do_dir(struct unpacker *u, int pfd, const char *base, struct err *e)
{
	_cleanup_close_ int fd = -1;
	bool replaced = false;
	if (!*base) {
		fd = fcntl(u->root, F_DUPFD_CLOEXEC, 3);
	} else {
		if (mkdirat(pfd, base, 0700) < 0) {
			int kept;
			if (errno != EEXIST)
				return err_sys(e, "mkdir");
			if ((kept = clear(u, pfd, base, true, &replaced, e)) < 0)
				return -1;
			if (!kept && mkdirat(pfd, base, 0700) < 0)
				return err_sys(e, "mkdir");
		}
		fd = open_beneath(pfd, base, O_RDONLY | O_DIRECTORY);
	}
	if (fd < 0)
		return err_sys(e, "open the directory");
	if (set_attrs(u, fd, NULL, u->ent, e) < 0)
		return -1;
	/* in overlay form a directory that replaced a non-directory must hide
	 * what the lower layers have under that name */
	if (replaced && u->o->mode == RT_UNPACK_OVERLAY && fsetxattr(fd, OPAQUE_XATTR, "y", 1, 0) < 0)
		return err_sys(e, "set " OPAQUE_XATTR);
	if (record_dir(u, fd, e) < 0)
		return -1;
	cache_set(u, u->name, fd, u->phys);
	return made(u, u->phys, e);
}

static int do_symlink(struct unpacker *u, int pfd, const char *base, struct err *e)
{
	const char *target = archive_entry_symlink(u->ent);
	struct timespec ts[2];
	if (!target || !*target)
		return err_set(e, "symbolic link without a target");
	if (strlen(target) > u->o->max_path)
		return err_set(e, "symbolic link target of %zu bytes, more than the limit of %zu", strlen(target),
			       u->o->max_path);
	for (int tries = 0;; tries++) {
		if (symlinkat(target, pfd, base) == 0)
			break;
		if (errno != EEXIST || tries)
			return err_sys(e, "create the symbolic link");
		if (clear(u, pfd, base, false, NULL, e) < 0)
			return -1;
	}
	if (fchownat(pfd, base, (uid_t)archive_entry_uid(u->ent), (gid_t)archive_entry_gid(u->ent),
		     AT_SYMLINK_NOFOLLOW) < 0)
		return err_sys(e, "chown");
	entry_times(u->ent, ts);
	if (utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return err_sys(e, "set times");
	return made(u, u->phys, e);
}

static int do_node(struct unpacker *u, int pfd, const char *base, mode_t type, struct err *e)
{
	dev_t dev = type == S_IFIFO ? 0 : archive_entry_rdev(u->ent);
	struct timespec ts[2];
	for (int tries = 0;; tries++) {
		if (mknodat(pfd, base, type | 0600, dev) == 0)
			break;
		if (errno != EEXIST || tries)
			return err_sys(e, "mknod");
		if (clear(u, pfd, base, false, NULL, e) < 0)
			return -1;
	}
	if (fchownat(pfd, base, (uid_t)archive_entry_uid(u->ent), (gid_t)archive_entry_gid(u->ent),
		     AT_SYMLINK_NOFOLLOW) < 0)
		return err_sys(e, "chown");
	/* the node was just made by us in a tree nobody else writes: no symlink here */
	if (fchmodat(pfd, base, archive_entry_perm(u->ent) & 07777, 0) < 0)
		return err_sys(e, "chmod");
	archive_entry_xattr_reset(u->ent);
	if (archive_entry_xattr_count(u->ent)) { /* never open a device: go through /proc */
		_cleanup_close_ int fd = openat(pfd, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		char proc[64];
		if (fd < 0)
			return err_sys(e, "open");
		snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
		if (set_attrs(u, fd, proc, u->ent, e) < 0)
			return -1;
	}
	entry_times(u->ent, ts);
	if (utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return err_sys(e, "set times");
	if (type != S_IFIFO && dev != 0)
		u->r->has_devices = true;
	return made(u, u->phys, e);
}

static int normalize(const char *raw, char *out, size_t cap, struct err *e);

/* Overlay: a hard link to a file of a layer below (podman and umoci, which
 * apply layers onto one tree, accept it). Layers are separate lowerdirs, so
 * the file is copied into this layer: content, owner, mode, kept xattrs and
 * times. 0, or 1 when no layer below has a regular file there. */
static int link_from_lower(struct unpacker *u, int pfd, const char *base, const char *target, struct err *e)
{
	_cleanup_close_ int src = -1, dst = -1;
	struct stat st;
	char names[4096], val[4096];
	size_t i = 0;
	for (; src < 0 && i < u->o->n_lowers; i++) {
		src = open_beneath(u->o->lowers[i], target, O_PATH | O_NOFOLLOW);
		if (src < 0 && errno != ENOENT)
			return 1; /* a symlink on the way, or a non-directory: hidden below */
	}
	/* only a regular file is opened for reading (never a device of a layer) */
	if (src < 0 || fstat(src, &st) < 0 || !S_ISREG(st.st_mode))
		return 1;
	close(src);
	if ((src = open_beneath(u->o->lowers[i - 1], target, O_RDONLY | O_NOFOLLOW)) < 0)
		return err_sys(e, "open the file below");
	if (clear(u, pfd, base, false, NULL, e) < 0)
		return -1;
	if ((dst = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
		return err_sys(e, "create");
	for (off_t left = st.st_size; left > 0;) {
		ssize_t n = copy_file_range(src, NULL, dst, NULL, (size_t)left, 0);
		if (n <= 0)
			return err_sys(e, "copy the file below");
		left -= n;
	}
	if (fchown(dst, st.st_uid, st.st_gid) < 0 || fchmod(dst, st.st_mode & 07777) < 0)
		return err_sys(e, "set the owner and mode");
	/* after chown, which clears security.capability */
	ssize_t len = flistxattr(src, names, sizeof names);
	for (ssize_t k = 0; k < len; k += (ssize_t)strlen(names + k) + 1) {
		ssize_t vl = xattr_kept(names + k) ? fgetxattr(src, names + k, val, sizeof val) : -1;
		if (vl >= 0 && fsetxattr(dst, names + k, val, (size_t)vl, 0) < 0)
			return err_sys(e, "set xattr");
	}
	if (futimens(dst, (struct timespec[2]){st.st_atim, st.st_mtim}) < 0)
		return err_sys(e, "set times");
	return made(u, u->phys, e);
}

static int do_link(struct unpacker *u, int pfd, const char *base, struct err *e)
{
	const char *raw = archive_entry_hardlink(u->ent);
	char target[PHYS_MAX], tphys[PHYS_MAX], qt[300];
	struct stat st, cur;
	quote(qt, sizeof qt, raw);
	if (strlen(raw) > u->o->max_path)
		return err_set(e, "hard link target of %zu bytes, more than the limit of %zu", strlen(raw),
			       u->o->max_path);
	if (normalize(raw, target, sizeof target, e) < 0)
		return err_ctx(e, "hard link target \"%s\"", qt);
	if (!*target)
		return err_set(e, "hard link to the root directory");
	char *slash = strrchr(target, '/');
	const char *tbase = slash ? slash + 1 : target;
	if (slash)
		*slash = '\0';
	_cleanup_close_ int tfd = -1;
	bool missing = false;
	if (walk(u, slash ? target : "", 0, &tfd, tphys, e) < 0) {
		if (e->errnum != ENOENT)
			return err_ctx(e, "hard link target \"%s\"", qt);
		missing = true;
	} else if (fstatat(tfd, tbase, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT)
			return err_sys(e, "hard link target \"%s\"", qt);
		missing = true;
	}
	if (missing && u->o->mode == RT_UNPACK_OVERLAY) {
		if (slash)
			*slash = '/';
		int r = link_from_lower(u, pfd, base, target, e);
		if (r <= 0)
			return r < 0 ? err_ctx(e, "hard link to \"%s\" of a layer below", qt) : 0;
	}
	if (missing)
		return err_set(e, "hard link target \"%s\" does not exist (it must be an earlier entry, or a file "
				  "of a layer below)",
			       qt);
	if (S_ISDIR(st.st_mode))
		return err_set(e, "hard link target \"%s\" is a directory", qt);
	for (int tries = 0;; tries++) {
		if (linkat(tfd, tbase, pfd, base, 0) == 0)
			break;
		if (errno != EEXIST || tries)
			return err_sys(e, "hard link to \"%s\"", qt);
		if (fstatat(pfd, base, &cur, AT_SYMLINK_NOFOLLOW) == 0 && cur.st_ino == st.st_ino &&
		    cur.st_dev == st.st_dev)
			break; /* already that file */
		if (clear(u, pfd, base, false, NULL, e) < 0)
			return -1;
	}
	return made(u, u->phys, e);
}

static int whiteout(struct unpacker *u, const char *parent, const char *victim, struct err *e)
{
	bool overlay = u->o->mode == RT_UNPACK_OVERLAY;
	_cleanup_close_ int pfd = -1;
	char phys[PHYS_MAX], key[PHYS_MAX];
	struct stat st;
	/* never through a symlink: in overlay form it would land elsewhere than
	 * the name it hides */
	if (walk(u, parent, overlay ? W_CREATE : 0, &pfd, phys, e) < 0) {
		/* nothing there to delete, or a non-directory of this layer already
		 * hides everything below it */
		if (e->errnum == ENOTDIR || (!overlay && e->errnum == ENOENT))
			return 0;
		return err_ctx(e, "whiteout");
	}
	if (keep_times(u, pfd, phys, e) < 0)
		return -1;
	if (overlay) {
		if (fstatat(pfd, victim, &st, AT_SYMLINK_NOFOLLOW) == 0)
			return 0; /* an entry of this same layer: a whiteout hides lower layers only */
		if (errno != ENOENT)
			return err_sys(e, "whiteout");
		if (mknodat(pfd, victim, S_IFCHR, makedev(0, 0)) < 0)
			return err_sys(e, "make the whiteout");
		return 0;
	}
	if (join_phys(key, phys, victim, e) < 0)
		return -1;
	if (strset_has(&u->made, key))
		return 0;
	return clear(u, pfd, victim, false, NULL, e) < 0 ? err_ctx(e, "whiteout") : 0;
}

static int opaque(struct unpacker *u, const char *parent, struct err *e)
{
	bool overlay = u->o->mode == RT_UNPACK_OVERLAY;
	_cleanup_close_ int dfd = -1;
	char phys[PHYS_MAX], key[PHYS_MAX];
	if (walk(u, parent, overlay ? W_CREATE : 0, &dfd, phys, e) < 0) {
		if (e->errnum == ENOTDIR || (!overlay && e->errnum == ENOENT))
			return 0;
		return err_ctx(e, "opaque directory");
	}
	if (keep_times(u, dfd, phys, e) < 0)
		return -1;
	if (overlay)
		return fsetxattr(dfd, OPAQUE_XATTR, "y", 1, 0) < 0 ? err_sys(e, "set " OPAQUE_XATTR) : 0;
	/* flatten: remove what the lower layers have in it */
	int fd = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
	_cleanup_closedir_ DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return err_sys(e, "read directory \"%s\"", phys);
	}
	cache_drop(u);
	for (struct dirent *de; (errno = 0, de = readdir(d));) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (join_phys(key, phys, de->d_name, e) < 0)
			return -1;
		if (strset_has(&u->made, key))
			continue;
		if (clear(u, dfd, de->d_name, false, NULL, e) < 0)
			return err_ctx(e, "opaque directory");
	}
	return errno ? err_sys(e, "read directory \"%s\"", phys) : 0;
}

/* "./a//b/" → "a/b"; a leading "/" is dropped (the root is "/"); ".." is
 * refused, as is a whiteout name with children. */
static int normalize(const char *raw, char *out, size_t cap, struct err *e)
{
	size_t n = 0;
	bool prev_wh = false;
	for (const char *p = raw; *p;) {
		size_t len = strcspn(p, "/");
		if (len == 0 || (len == 1 && p[0] == '.')) {
			p += len ? len : 1;
			continue;
		}
		if (len == 2 && p[0] == '.' && p[1] == '.')
			return err_set(e, "\"..\" would climb out of the layer");
		if (prev_wh)
			return err_set(e, "a whiteout (\".wh.\" name) cannot have children");
		if (n + len + 2 > cap)
			return err_errno(e, ENAMETOOLONG, "name");
		if (n)
			out[n++] = '/';
		memcpy(out + n, p, len);
		n += len;
		prev_wh = len >= 4 && !strncmp(p, ".wh.", 4);
		p += len;
	}
	out[n] = '\0';
	return 0;
}

static int entry(struct unpacker *u, struct err *e)
{
	struct archive_entry *ent = u->ent;
	const char *raw = archive_entry_pathname(ent);
	if (!raw)
		return err_set(e, "layer entry without a name");
	quote(u->q, sizeof u->q, raw);
	size_t rl = strlen(raw);
	if (rl > u->o->max_path)
		return err_set(e, "layer entry \"%s\": the name has %zu bytes, more than the limit of %zu", u->q, rl,
			       u->o->max_path);
	if (normalize(raw, u->name, sizeof u->name, e) < 0)
		return err_ctx(e, "layer entry \"%s\"", u->q);

	char parent[PHYS_MAX];
	const char *slash = strrchr(u->name, '/'), *base = slash ? slash + 1 : u->name;
	size_t plen = slash ? (size_t)(slash - u->name) : 0;
	memcpy(parent, u->name, plen);
	parent[plen] = '\0';

	int rc = 0;
	if (!strncmp(base, ".wh.", 4)) {
		const char *victim = base + 4;
		if (!strcmp(base, ".wh..wh..opq"))
			rc = opaque(u, parent, e);
		else if (!strncmp(victim, ".wh.", 4))
			log_debug("layer entry \"%s\": ignoring aufs metadata", u->q);
		else if (!*victim || !strcmp(victim, ".") || !strcmp(victim, ".."))
			rc = err_set(e, "a whiteout must name an entry of its directory (\"%s\" does not)", base);
		else
			rc = whiteout(u, parent, victim, e);
		return rc < 0 ? err_ctx(e, "layer entry \"%s\"", u->q) : 0;
	}

	mode_t type = archive_entry_filetype(ent);
	const char *link = archive_entry_hardlink(ent);
	if (type == AE_IFREG && !link) {
		int64_t size = archive_entry_size(ent);
		if (size < 0 || (uint64_t)size > u->o->max_bytes - u->content) {
			u->r->over_limit = size >= 0;
			return err_set(e, "layer entry \"%s\": %lld bytes would make the layer larger than the limit of %llu",
				       u->q, (long long)size, (unsigned long long)u->o->max_bytes);
		}
		u->content += (uint64_t)size;
	}
	if (check_entry(u, ent, e) < 0)
		return err_ctx(e, "layer entry \"%s\"", u->q);

	_cleanup_close_ int pfd = -1;
	char pphys[PHYS_MAX];
	if (!*u->name) {
		if (type != AE_IFDIR || link)
			return err_set(e, "layer entry \"%s\" names the root directory but is not a directory", u->q);
		u->phys[0] = '\0';
		rc = do_dir(u, -1, "", e);
	} else if (parent_dir(u, parent, &pfd, pphys, e) < 0 || join_phys(u->phys, pphys, base, e) < 0) {
		rc = -1;
	} else if (link) {
		rc = do_link(u, pfd, base, e);
	} else {
		switch (type) {
		case AE_IFREG:
			rc = do_file(u, pfd, base, e);
			break;
		case AE_IFDIR:
			rc = do_dir(u, pfd, base, e);
			break;
		case AE_IFLNK:
			rc = do_symlink(u, pfd, base, e);
			break;
		case AE_IFCHR:
		case AE_IFBLK:
		case AE_IFIFO:
			rc = do_node(u, pfd, base, type, e);
			break;
		default:
			rc = err_set(e, "unsupported file type 0%o", (unsigned)type);
		}
	}
	return rc < 0 ? err_ctx(e, "layer entry \"%s\"", u->q) : 0;
}

/* Directory times last: every entry written into a directory changes them. */
static int set_dir_times(struct unpacker *u, struct err *e)
{
	for (size_t i = 0; i < u->n_dirs; i++) {
		struct dirtime *d = &u->dirs[i];
		struct stat st;
		_cleanup_close_ int fd = *d->phys ? open_beneath(u->root, d->phys, O_RDONLY | O_DIRECTORY)
						  : fcntl(u->root, F_DUPFD_CLOEXEC, 3);
		if (fd < 0 || fstat(fd, &st) < 0 || st.st_ino != d->ino)
			continue; /* replaced by a later entry, which set its own */
		if (futimens(fd, d->ts) < 0)
			return err_sys(e, "set the times of directory \"%s\"", d->phys);
	}
	return 0;
}

static int extract(struct unpacker *u, struct err *e)
{
	for (;;) {
		int r = archive_read_next_header(u->a, &u->ent);
		if (r == ARCHIVE_EOF)
			break;
		if (r == ARCHIVE_WARN)
			log_debug("layer: %s", archive_error_string(u->a));
		else if (r != ARCHIVE_OK)
			return err_set(e, "the layer is not a valid tar stream (after %llu entries): %s",
				       (unsigned long long)u->r->entries, archive_error_string(u->a));
		if (++u->r->entries > u->o->max_entries) {
			u->r->over_limit = true;
			return err_set(e, "the layer has more than the limit of %llu entries",
				       (unsigned long long)u->o->max_entries);
		}
		if (u->r->entries % SPACE_ENTRIES == 0 && check_space(u, e) < 0)
			return -1;
		if (entry(u, e) < 0)
			return -1;
	}
	return set_dir_times(u, e);
}

int rt_unpack(int blob_fd, int dir_fd, const struct rt_unpack_opts *o, struct rt_unpack_result *r, struct err *e)
{
	struct rt_unpack_opts lim = *o;
	struct pipe p = {.fd = blob_fd, .o = &lim};
	struct unpacker u = {.root = dir_fd, .o = &lim, .r = r, .c_fd = -1};
	pthread_t t;
	int rc = -1;
	*r = (struct rt_unpack_result){0};
	if (!lim.compression)
		lim.compression = "";
	if (lim.max_path >= PHYS_MAX)
		lim.max_path = PHYS_MAX - 1;
	if (pipe_start(&p, &t, e) < 0) {
		pipe_free(&p);
		return -1;
	}
	if (!(u.a = archive_read_new())) {
		err_errno(e, ENOMEM, "tar reader");
		pipe_finish(&p, t, false, e);
		goto out;
	}
	archive_read_support_format_tar(u.a);
	if (archive_read_open(u.a, &p, NULL, tar_cb, NULL) != ARCHIVE_OK) {
		err_set(e, "the layer is not a tar stream: %s", archive_error_string(u.a));
		pipe_finish(&p, t, false, e);
		goto out;
	}
	/* the root too is implied unless the layer has a "./" entry */
	rc = lim.mode == RT_UNPACK_OVERLAY ? inherit(&u, dir_fd, ".", "", e) : 0;
	if (rc == 0)
		rc = extract(&u, e);
	rc = pipe_finish(&p, t, rc == 0, e);
	if (rc == 0) {
		r->tar_size = p.tsize;
		r->blob_size = p.zsize;
		r->digest = p.digest;
		r->diff_id = p.diff_id;
	}
out:
	r->over_limit |= p.over_limit;
	archive_read_free(u.a);
	cache_drop(&u);
	strset_free(&u.made);
	strset_free(&u.kept);
	for (size_t i = 0; i < u.n_dirs; i++)
		free(u.dirs[i].phys);
	free(u.dirs);
	pipe_free(&p);
	return rc;
}
