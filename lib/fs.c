/* fs.c: crash-safe writes, bounded reads and tree helpers (see fs.h). */
#include "lib/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "lib/cleanup.h"

char *fs_join(const char *a, const char *b)
{
	char *p;
	if (asprintf(&p, "%s/%s", a, b) < 0)
		return NULL;
	return p;
}

static char *dir_of(const char *path)
{
	_cleanup_free_ char *copy = strdup(path);
	if (!copy)
		return NULL;
	return strdup(dirname(copy));
}

int fs_fsync_dir(const char *dir, struct err *e)
{
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, "open directory \"%s\"", dir);
	if (fsync(fd) < 0)
		return err_sys(e, "fsync directory \"%s\"", dir);
	return 0;
}

int fs_atomic_open(struct fs_atomic *a, const char *dst, mode_t mode, struct err *e)
{
	_cleanup_free_ char *dir = dir_of(dst);
	const char *base = strrchr(dst, '/') ? strrchr(dst, '/') + 1 : dst;
	*a = (struct fs_atomic){.fd = -1};
	if (!dir || asprintf(&a->tmp, "%s/.%s.tmp-XXXXXX", dir, base) < 0)
		return err_errno(e, ENOMEM, "temporary name for \"%s\"", dst);
	a->fd = mkostemp(a->tmp, O_CLOEXEC);
	if (a->fd < 0) {
		int saved = errno;
		free(a->tmp);
		a->tmp = NULL;
		return err_errno(e, saved, "create a temporary file in \"%s\"", dir);
	}
	if (fchmod(a->fd, mode) < 0 || !(a->dst = strdup(dst))) {
		err_sys(e, "prepare \"%s\"", a->tmp);
		fs_atomic_abort(a);
		return -1;
	}
	return 0;
}

int fs_atomic_commit(struct fs_atomic *a, struct err *e)
{
	_cleanup_free_ char *dir = dir_of(a->dst);
	if (!a->nosync && fsync(a->fd) < 0) {
		err_sys(e, "fsync \"%s\"", a->tmp);
		goto fail;
	}
	if (close(a->fd) < 0) {
		a->fd = -1;
		err_sys(e, "close \"%s\"", a->tmp);
		goto fail;
	}
	a->fd = -1;
	if (rename(a->tmp, a->dst) < 0) {
		err_sys(e, "rename \"%s\" to \"%s\"", a->tmp, a->dst);
		goto fail;
	}
	free(a->tmp);
	a->tmp = NULL;
	free(a->dst);
	a->dst = NULL;
	if (a->nosync)
		return 0;
	return dir ? fs_fsync_dir(dir, e) : err_errno(e, ENOMEM, "fsync");
fail:
	fs_atomic_abort(a);
	return -1;
}

void fs_atomic_abort(struct fs_atomic *a)
{
	if (a->fd >= 0)
		close(a->fd);
	a->fd = -1;
	if (a->tmp)
		unlink(a->tmp);
	free(a->tmp);
	free(a->dst);
	a->tmp = a->dst = NULL;
}

int fs_write_all(int fd, const void *buf, size_t len, const char *what, struct err *e)
{
	const char *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return err_sys(e, "write \"%s\"", what);
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int fs_write_atomic(const char *dst, const void *data, size_t len, mode_t mode, struct err *e)
{
	struct fs_atomic a;
	if (fs_atomic_open(&a, dst, mode, e) < 0)
		return -1;
	if (fs_write_all(a.fd, data, len, a.tmp, e) < 0) {
		fs_atomic_abort(&a);
		return -1;
	}
	return fs_atomic_commit(&a, e);
}

int fs_read_fd(int fd, const char *what, size_t max, char **out, size_t *len, struct err *e)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap + 1);
	if (!buf)
		return err_errno(e, ENOMEM, "read \"%s\"", what);
	for (;;) {
		if (n == cap) {
			if (cap > max) {
				free(buf);
				return err_set(e, "\"%s\" is larger than the limit of %zu bytes", what, max);
			}
			cap *= 2;
			char *nb = realloc(buf, cap + 1);
			if (!nb) {
				free(buf);
				return err_errno(e, ENOMEM, "read \"%s\"", what);
			}
			buf = nb;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			free(buf);
			return err_sys(e, "read \"%s\"", what);
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > max) {
		free(buf);
		return err_set(e, "\"%s\" is larger than the limit of %zu bytes", what, max);
	}
	buf[n] = '\0';
	*out = buf;
	if (len)
		*len = n;
	return 0;
}

int fs_read_file(const char *path, size_t max, char **out, size_t *len, struct err *e)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return err_sys(e, "open \"%s\"", path);
	return fs_read_fd(fd, path, max, out, len, e);
}

int fs_mkdir_p(const char *path, mode_t mode, struct err *e)
{
	_cleanup_free_ char *p = strdup(path);
	if (!p)
		return err_errno(e, ENOMEM, "mkdir \"%s\"", path);
	for (char *s = p + 1;; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;
			*s = '\0';
			if (mkdir(p, mode) < 0 && errno != EEXIST)
				return err_sys(e, "mkdir \"%s\"", p);
			*s = c;
			if (!c)
				break;
		}
	}
	struct stat st;
	if (stat(path, &st) < 0)
		return err_sys(e, "stat \"%s\"", path);
	if (!S_ISDIR(st.st_mode))
		return err_errno(e, ENOTDIR, "mkdir \"%s\"", path);
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;
	return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

int fs_rm_rf(const char *path, struct err *e)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : err_sys(e, "stat \"%s\"", path);
	if (!S_ISDIR(st.st_mode))
		return unlink(path) < 0 ? err_sys(e, "remove \"%s\"", path) : 0;
	if (nftw(path, rm_one, 64, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0)
		return err_sys(e, "remove \"%s\"", path);
	return 0;
}

char *fs_mkdtemp(const char *prefix, struct err *e)
{
	const char *base = getenv("TMPDIR");
	char *p;
	if (!base || !*base)
		base = "/var/tmp";
	if (asprintf(&p, "%s/%s-XXXXXX", base, prefix) < 0) {
		err_errno(e, ENOMEM, "temporary directory");
		return NULL;
	}
	if (!mkdtemp(p)) {
		err_sys(e, "create a temporary directory in \"%s\"", base);
		free(p);
		return NULL;
	}
	return p;
}

bool fs_exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

int fs_reserve_check(const struct fs_reserve *r, int fd, uint64_t need, uint64_t inodes, struct err *e)
{
	struct statvfs v;
	if (!r || (!r->bytes && !r->pct))
		return 0;
	if (fstatvfs(fd, &v) < 0)
		return err_sys(e, "statvfs");
	uint64_t unit = v.f_frsize ? v.f_frsize : v.f_bsize;
	uint64_t avail = (uint64_t)v.f_bavail * unit;
	uint64_t keep = r->bytes ? r->bytes : (uint64_t)v.f_blocks * unit / 100 * r->pct;
	char how[32] = "";
	if (!r->bytes)
		snprintf(how, sizeof how, "=%u%%", r->pct);
	if (avail < keep || avail - keep < need)
		return err_errno(e, ENOSPC,
				 "%.1f MiB free, %.1f MiB more to write, and the reserve%s keeps %.1f MiB free "
				 "(free some space or lower the reserve)",
				 avail / 1048576.0, need / 1048576.0, how, keep / 1048576.0);
	/* a file system without a fixed number of inodes reports none */
	uint64_t ikeep = r->bytes || !v.f_files ? 0 : (uint64_t)v.f_files / 100 * r->pct;
	if (v.f_files && ((uint64_t)v.f_favail < ikeep || (uint64_t)v.f_favail - ikeep < inodes))
		return err_errno(e, ENOSPC,
				 "%llu inodes free, %llu more to make, and the reserve%s keeps %llu free "
				 "(free some or lower the reserve)",
				 (unsigned long long)v.f_favail, (unsigned long long)inodes, how,
				 (unsigned long long)ikeep);
	return 0;
}
