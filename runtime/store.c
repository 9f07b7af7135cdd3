/* store.c: the host store's directories, its lock, crash repair on open,
 * blobs and resumable ingest (see store.h). Images and layers are in
 * import.c, garbage collection in gc.c. */
#include "runtime/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/log.h"
#include "runtime/app_state.h"
#include "runtime/store_priv.h"
#include "runtime/unpack.h"

#define INGEST_RECORD_EVERY (64u << 20) /* bytes between two durable offsets */
#define STATE_MAX 4096
#define LOCK_WAIT_MS 3000 /* for the lock of a store in use */

/* pull/: rampd's downloads in progress (runtime/rampd/daemon_pull.c) */
static const char *const store_dirs[] = {"blobs", "blobs/sha256", "ingest", "layers", "images", "referrers", "apps", "pull"};

bool rt_is_hex64(const char *s)
{
	size_t i = 0;
	for (; s[i]; i++)
		if (i >= 64 || !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return i == 64;
}

char *rt_store_path(const struct rt_store *s, const char *fmt, ...)
{
	va_list ap;
	char *rel, *p;
	va_start(ap, fmt);
	int n = vasprintf(&rel, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	p = fs_join(s->root, rel);
	free(rel);
	return p;
}

char *rt_store_blob_path(const struct rt_store *s, const struct img_digest *d)
{
	return rt_store_path(s, "blobs/sha256/%s", img_digest_hex(d));
}

bool rt_store_has_blob(const struct rt_store *s, const struct img_digest *d)
{
	char rel[96];
	struct stat st;
	snprintf(rel, sizeof rel, "blobs/sha256/%s", img_digest_hex(d));
	return fstatat(s->fd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

int rt_store_put_blob(struct rt_store *s, const struct img_digest *d, const void *buf, size_t len, struct err *e)
{
	struct img_digest got;
	img_sha256_buf(buf, len, &got);
	if (!img_digest_eq(&got, d))
		return err_set(e, "blob %s: content hashes to %s, refusing it", d->s, got.s);
	if (rt_store_has_blob(s, d))
		return 0;
	_cleanup_free_ char *p = rt_store_blob_path(s, d);
	if (!p)
		return err_errno(e, ENOMEM, "blob path");
	return fs_write_atomic(p, buf, len, 0444, e);
}

/* ---- ingest ---- */

static int ingest_rel(char *out, size_t cap, const struct img_digest *d, const char *file)
{
	return snprintf(out, cap, "ingest/%s%s%s", img_digest_hex(d), file ? "/" : "", file ? file : "");
}

static int ingest_record(struct rt_ingest *in, struct err *e)
{
	struct jgen *g = jgen_new(false);
	const char *buf;
	size_t len;
	char rel[128];
	int rc = -1;
	if (!g)
		return err_errno(e, ENOMEM, "ingest state");
	jgen_obj_open(g);
	jgen_kstr(g, "digest", in->digest.s);
	jgen_kint(g, "size", in->size);
	jgen_kint(g, "offset", (int64_t)in->offset);
	jgen_obj_close(g);
	ingest_rel(rel, sizeof rel, &in->digest, "state");
	_cleanup_free_ char *p = fs_join(in->s->root, rel);
	if (!p)
		err_errno(e, ENOMEM, "ingest state");
	else if (jgen_result(g, &buf, &len, e) == 0)
		rc = fs_write_atomic(p, buf, len, 0600, e);
	jgen_free(g);
	if (rc == 0)
		in->recorded = in->offset;
	return rc;
}

/* The offset recorded for an ingest; -1 when there is no usable record. */
static int64_t ingest_recorded(const struct rt_store *s, const struct img_digest *d, int64_t size)
{
	char rel[128];
	_cleanup_free_ char *buf = NULL;
	size_t len;
	struct err e;
	int64_t off, sz, res = -1;
	const char *ds;
	ingest_rel(rel, sizeof rel, d, "state");
	_cleanup_free_ char *p = fs_join(s->root, rel);
	if (!p || fs_read_file(p, STATE_MAX, &buf, &len, &e) < 0)
		return -1;
	struct json *j = json_parse(buf, len, &e);
	if (j && json_field_str(j, "digest", true, &ds, &e) == 0 && !strcmp(ds, d->s) &&
	    json_field_int(j, "size", true, &sz, &e) == 0 && (size < 0 || sz == size) &&
	    json_field_int(j, "offset", true, &off, &e) == 0 && off >= 0 && (sz < 0 || off <= sz))
		res = off;
	json_free(j);
	return res;
}

int rt_ingest_open(struct rt_store *s, const struct img_digest *d, int64_t size, struct rt_ingest *in, struct err *e)
{
	enum { BUF = 1 << 16 };
	_cleanup_free_ char *buf = NULL;
	char rel[128];
	struct stat st;
	*in = (struct rt_ingest){.s = s, .digest = *d, .size = size, .fd = -1};
	if (rt_store_has_blob(s, d))
		return 1;
	ingest_rel(rel, sizeof rel, d, NULL);
	if (mkdirat(s->fd, rel, 0700) < 0 && errno != EEXIST)
		return err_sys(e, "mkdir \"%s/%s\"", s->root, rel);
	ingest_rel(rel, sizeof rel, d, "data");
	in->fd = openat(s->fd, rel, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (in->fd < 0 || fstat(in->fd, &st) < 0) {
		err_sys(e, "open \"%s/%s\"", s->root, rel);
		goto fail;
	}
	int64_t off = ingest_recorded(s, d, size);
	if (off < 0 || off > st.st_size)
		off = 0;
	/* bytes past the recorded offset were never synced: they may be garbage */
	if (ftruncate(in->fd, off) < 0 || lseek(in->fd, off, SEEK_SET) < 0) {
		err_sys(e, "resume \"%s/%s\"", s->root, rel);
		goto fail;
	}
	if (img_sha256_init(&in->h, e) < 0)
		goto fail;
	/* the hash state cannot be saved, so hash the kept prefix again (with a
	 * buffer for the call only: a static one would stay resident in every thread) */
	if (off > 0 && !(buf = malloc(BUF))) {
		err_errno(e, ENOMEM, "resume \"%s/%s\"", s->root, rel);
		goto fail;
	}
	for (uint64_t pos = 0; pos < (uint64_t)off;) {
		size_t want = (uint64_t)off - pos < BUF ? (size_t)((uint64_t)off - pos) : BUF;
		ssize_t n = pread(in->fd, buf, want, (off_t)pos);
		if (n <= 0) {
			err_sys(e, "read \"%s/%s\"", s->root, rel);
			goto fail;
		}
		img_sha256_update(&in->h, buf, (size_t)n);
		pos += (uint64_t)n;
	}
	in->offset = in->recorded = (uint64_t)off;
	if (off == 0 && ingest_record(in, e) < 0)
		goto fail;
	return 0;
fail:
	rt_ingest_close(in);
	return -1;
}

int rt_ingest_write(struct rt_ingest *in, const void *buf, size_t len, struct err *e)
{
	if (in->size >= 0 && in->offset + len > (uint64_t)in->size)
		return err_set(e, "blob %s: more than the %lld bytes expected", in->digest.s, (long long)in->size);
	if (fs_write_all(in->fd, buf, len, "ingest", e) < 0)
		return err_ctx(e, "blob %s", in->digest.s);
	img_sha256_update(&in->h, buf, len);
	in->offset += len;
	if (in->offset - in->recorded >= INGEST_RECORD_EVERY) {
		if (fs_reserve_check(&in->s->limits.reserve, in->fd, 0, 0, e) < 0)
			return err_ctx(e, "store \"%s\": blob %s", in->s->root, in->digest.s);
		if (fdatasync(in->fd) < 0)
			return err_sys(e, "fdatasync blob %s", in->digest.s);
		if (ingest_record(in, e) < 0)
			return -1;
	}
	return 0;
}

static void ingest_remove(struct rt_store *s, const struct img_digest *d)
{
	char rel[128];
	struct err e;
	ingest_rel(rel, sizeof rel, d, NULL);
	_cleanup_free_ char *p = fs_join(s->root, rel);
	if (p && fs_rm_rf(p, &e) < 0)
		log_warn("%s", e.msg);
}

int rt_ingest_commit(struct rt_ingest *in, struct err *e)
{
	struct img_digest got;
	char rel[128], dst[96];
	struct rt_store *s = in->s;
	_cleanup_free_ char *dir = NULL;
	img_sha256_final(&in->h, &got);
	if (in->size >= 0 && in->offset != (uint64_t)in->size) {
		err_set(e, "blob %s: %llu bytes, expected %lld", in->digest.s, (unsigned long long)in->offset,
			(long long)in->size);
		goto bad;
	}
	if (!img_digest_eq(&got, &in->digest)) {
		err_set(e, "blob %s: content hashes to %s, refusing it", in->digest.s, got.s);
		goto bad;
	}
	if (fsync(in->fd) < 0 || fchmod(in->fd, 0444) < 0) {
		err_sys(e, "sync blob %s", in->digest.s);
		rt_ingest_close(in);
		return -1;
	}
	rt_ingest_close(in);
	ingest_rel(rel, sizeof rel, &in->digest, "data");
	snprintf(dst, sizeof dst, "blobs/sha256/%s", img_digest_hex(&in->digest));
	if (renameat(s->fd, rel, s->fd, dst) < 0)
		return err_sys(e, "move blob %s into the store", in->digest.s);
	dir = rt_store_path(s, "blobs/sha256");
	if (!dir || fs_fsync_dir(dir, e) < 0)
		return dir ? -1 : err_errno(e, ENOMEM, "blob");
	ingest_remove(s, &in->digest);
	return 0;
bad:
	rt_ingest_close(in);
	ingest_remove(s, &in->digest);
	return -1;
}

void rt_ingest_close(struct rt_ingest *in)
{
	if (in->fd >= 0)
		close(in->fd);
	in->fd = -1;
	img_sha256_free(&in->h);
}

/* ---- open and repair ---- */

/* Keep an ingest that can be resumed; cut it back to its recorded offset. */
static bool ingest_keep(struct rt_store *s, int dfd, const char *name, void *ctx)
{
	(void)ctx;
	struct img_digest d;
	struct err e;
	struct stat st;
	char ds[80], rel[128];
	if (!rt_is_hex64(name))
		return false;
	snprintf(ds, sizeof ds, "sha256:%s", name);
	if (img_digest_parse(ds, &d, &e) < 0 || rt_store_has_blob(s, &d))
		return false;
	int64_t off = ingest_recorded(s, &d, -1);
	snprintf(rel, sizeof rel, "%s/data", name);
	_cleanup_close_ int fd = openat(dfd, rel, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (off < 0 || fd < 0 || fstat(fd, &st) < 0 || st.st_size < off)
		return false;
	return ftruncate(fd, off) == 0;
}

static bool layer_keep(struct rt_store *s, int dfd, const char *name, void *ctx)
{
	(void)ctx;
	char rel[96];
	(void)s;
	snprintf(rel, sizeof rel, "%.64s/layer.json", name);
	return rt_is_hex64(name) && faccessat(dfd, rel, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

static bool blob_keep(struct rt_store *s, int dfd, const char *name, void *ctx)
{
	(void)ctx;
	struct stat st;
	(void)s;
	return rt_is_hex64(name) && fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

static bool image_keep(struct rt_store *s, int dfd, const char *name, void *ctx)
{
	(void)ctx;
	char hex[65];
	(void)s;
	(void)dfd;
	size_t n = strlen(name);
	if (n != 69 || strcmp(name + 64, ".json"))
		return false;
	memcpy(hex, name, 64);
	hex[64] = '\0';
	return rt_is_hex64(hex);
}

static bool is_dir_at(int dfd, const char *name)
{
	struct stat st;
	return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

/* The store's directory sub, opened without following a symbolic link
 * anywhere in it and checked: root's or ours, writable by nobody else. */
static int open_sub(const struct rt_store *s, const char *sub, struct err *e)
{
	struct open_how how = {.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
			       .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
	struct stat st;
	_cleanup_free_ char *p = fs_join(s->root, sub);
	if (!p)
		return err_errno(e, ENOMEM, "store");
	int fd = (int)syscall(SYS_openat2, s->fd, sub, &how, sizeof how);
	if (fd < 0) {
		if (errno == ELOOP)
			return err_set(e, "store directory \"%s\" is reached through a symbolic link: the store is not "
					  "as rampd made it; move it away and start again",
				       p);
		return err_sys(e, "open \"%s\"", p);
	}
	if (fstat(fd, &st) < 0) {
		err_sys(e, "stat \"%s\"", p);
		close(fd);
		return -1;
	}
	if (fs_check_private(&st, "store directory", p, 022, e) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Remove every entry of sub/ that keep() refuses: temporary files and
 * directories of interrupted work (their names start with "."), and names
 * that are not the store's. */
int rt_store_sweep(struct rt_store *s, const char *sub, rt_keep_fn keep, void *ctx, size_t *removed, struct err *e)
{
	_cleanup_free_ char *dir = fs_join(s->root, sub);
	size_t removed_here = 0;
	if (!dir)
		return err_errno(e, ENOMEM, "store");
	int dfd = open_sub(s, sub, e);
	_cleanup_closedir_ DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!d) {
		if (dfd >= 0) {
			close(dfd);
			err_sys(e, "open \"%s\"", dir);
		}
		return -1;
	}
	for (struct dirent *de; (errno = 0, de = readdir(d));) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (keep(s, dirfd(d), de->d_name, ctx))
			continue;
		_cleanup_free_ char *p = fs_join(dir, de->d_name);
		if (!p)
			return err_errno(e, ENOMEM, "store");
		if (de->d_name[0] == '.') {
			log_info("store: removing \"%s\", left by interrupted work", p);
		} else if (de->d_type == DT_DIR || (de->d_type == DT_UNKNOWN && is_dir_at(dirfd(d), de->d_name))) {
			/* out of sight first: a half-removed layer must never look whole */
			char hidden[sizeof de->d_name + 8];
			snprintf(hidden, sizeof hidden, ".del-%s", de->d_name);
			free(p);
			if (!(p = fs_join(dir, hidden)))
				return err_errno(e, ENOMEM, "store");
			if (renameat(dirfd(d), de->d_name, dirfd(d), hidden) < 0)
				return err_sys(e, "rename \"%s/%s\"", dir, de->d_name);
			log_debug("store: removing \"%s/%s\"", dir, de->d_name);
		}
		if (fs_rm_rf(p, e) < 0)
			return -1;
		removed_here++;
		if (removed)
			(*removed)++;
	}
	if (errno)
		return err_sys(e, "read \"%s\"", dir);
	/* only a directory that changed needs its removals made durable */
	return removed_here ? fs_fsync_dir(dir, e) : 0;
}

static bool app_file_keep(struct rt_store *s, int dfd, const char *name, void *ctx)
{
	(void)ctx;
	(void)s;
	(void)dfd;
	return name[0] != '.'; /* ".state.json.tmp-…" from an interrupted write */
}

static bool app_keep(struct rt_store *s, int dfd, const char *name, void *ctx)
{
	(void)ctx;
	struct err e;
	char sub[300];
	(void)dfd;
	if (rt_app_name_check(name, &e) < 0) {
		log_warn("store: \"%s/apps/%.100s\" is not an app name; leaving it alone", s->root, name);
		return true;
	}
	snprintf(sub, sizeof sub, "apps/%s", name);
	if (rt_store_sweep(s, sub, app_file_keep, NULL, NULL, &e) < 0)
		log_warn("%s", e.msg);
	return true;
}

int rt_store_repair_imports(struct rt_store *s, struct err *e)
{
	if (rt_store_sweep(s, "layers", layer_keep, NULL, NULL, e) < 0 ||
	    rt_store_sweep(s, "blobs/sha256", blob_keep, NULL, NULL, e) < 0 ||
	    rt_store_sweep(s, "images", image_keep, NULL, NULL, e) < 0 ||
	    rt_store_sweep(s, "referrers", image_keep, NULL, NULL, e) < 0)
		return err_ctx(e, "repair the store");
	return 0;
}

static int repair(struct rt_store *s, struct err *e)
{
	if (rt_store_repair_imports(s, e) < 0 || rt_store_sweep(s, "ingest", ingest_keep, NULL, NULL, e) < 0 ||
	    rt_store_sweep(s, "apps", app_keep, NULL, NULL, e) < 0)
		return err_ctx(e, "repair the store");
	return 0;
}

static int open_root(struct rt_store *s, const char *root, bool create, struct err *e)
{
	*s = (struct rt_store){
		.fd = -1,
		.lock_fd = -1,
		.sync = true,
	};
	img_limits_init(&s->limits);
	if (!(s->root = strdup(root)))
		return err_errno(e, ENOMEM, "store");
	if (create && fs_mkdir_p(root, 0700, e) < 0)
		return -1;
	/* the store is used by its paths too: nobody else may change any
	   directory on the way to it */
	if (fs_check_private_path(root, "state directory", e) < 0)
		return -1;
	if ((s->fd = fs_open_private_dir(root, "state directory", e)) < 0)
		return -1;
	return 0;
}

int rt_store_open(struct rt_store *s, const char *root, struct err *e)
{
	if (open_root(s, root, true, e) < 0)
		goto fail;
	struct stat st;
	if ((s->lock_fd = openat(s->fd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0 ||
	    fstat(s->lock_fd, &st) < 0) {
		err_sys(e, "open \"%s/lock\"", root);
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		err_set(e, "\"%s/lock\" is not a regular file: the store is not as rampd made it", root);
		goto fail;
	}
	/* a pull helper of a rampd that was just killed holds the lock until
	   the kernel has ended it too: give it a moment */
	int rc;
	for (int i = 0; (rc = flock(s->lock_fd, LOCK_EX | LOCK_NB)) < 0 && errno == EWOULDBLOCK && i < LOCK_WAIT_MS / 50; i++)
		usleep(50 * 1000);
	if (rc < 0) {
		if (errno == EWOULDBLOCK)
			err_set(e, "store \"%s\" is in use by another process (rampd, ramp run, or a pull helper not ended yet)", root);
		else
			err_sys(e, "lock \"%s/lock\"", root);
		goto fail;
	}
	for (size_t i = 0; i < ARRAY_SIZE(store_dirs); i++) {
		if (mkdirat(s->fd, store_dirs[i], 0700) < 0 && errno != EEXIST) {
			err_sys(e, "mkdir \"%s/%s\"", root, store_dirs[i]);
			goto fail;
		}
		int fd = open_sub(s, store_dirs[i], e);
		if (fd < 0)
			goto fail;
		close(fd);
	}
	if (repair(s, e) < 0)
		goto fail;
	return 0;
fail:
	rt_store_close(s);
	return -1;
}

int rt_store_open_held(struct rt_store *s, const char *root, int lock_fd, struct err *e)
{
	if (open_root(s, root, false, e) < 0)
		goto fail;
	/* it must be this store's lock file, and held through this very open
	   file (then flock succeeds: or nobody holds it, and now we do) */
	struct stat want, got;
	if (fstatat(s->fd, "lock", &want, AT_SYMLINK_NOFOLLOW) < 0 || fstat(lock_fd, &got) < 0 ||
	    want.st_dev != got.st_dev || want.st_ino != got.st_ino) {
		err_set(e, "store \"%s\": descriptor %d is not its lock file", root, lock_fd);
		goto fail;
	}
	if (flock(lock_fd, LOCK_EX | LOCK_NB) < 0) {
		err_sys(e, "store \"%s\": the lock handed down as descriptor %d", root, lock_fd);
		goto fail;
	}
	/* whatever this process starts (a credential helper) must not keep it */
	if (fcntl(lock_fd, F_SETFD, FD_CLOEXEC) < 0) {
		err_sys(e, "store \"%s\": the lock's descriptor", root);
		goto fail;
	}
	s->lock_fd = lock_fd;
	return 0;
fail:
	rt_store_close(s);
	return -1;
}

void rt_store_close(struct rt_store *s)
{
	if (s->lock_fd >= 0)
		close(s->lock_fd); /* releases the flock */
	if (s->fd >= 0)
		close(s->fd);
	free(s->root);
	s->root = NULL;
	s->fd = s->lock_fd = -1;
}

char *rt_store_app_run_dir(struct rt_store *s, const char *name, struct err *e)
{
	if (rt_app_name_check(name, e) < 0)
		return NULL;
	char *p = rt_store_path(s, "apps/%s/run", name);
	if (!p) {
		err_errno(e, ENOMEM, "store");
		return NULL;
	}
	if (fs_mkdir_p(p, 0700, e) < 0) {
		free(p);
		return NULL;
	}
	return p;
}
