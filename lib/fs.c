/* fs.c: crash-safe writes, bounded reads and tree helpers (see fs.h). */
#include "lib/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "lib/buf.h"
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

int fs_tmpfile_at(int dir_fd, const char *what, const char *base, mode_t mode, char **name, struct err *e)
{
	for (int tries = 0; tries < 100; tries++) {
		uint32_t r;
		if (getrandom(&r, sizeof r, 0) != sizeof r)
			return err_sys(e, "getrandom");
		if (asprintf(name, ".%s.tmp-%08x", base, r) < 0)
			return err_errno(e, ENOMEM, "temporary name in \"%s\"", what);
		int fd = openat(dir_fd, *name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
		if (fd >= 0)
			return fd;
		int saved = errno;
		free(*name);
		*name = NULL;
		if (saved != EEXIST)
			return err_errno(e, saved, "create a temporary file in \"%s\"", what);
	}
	return err_errno(e, EEXIST, "create a temporary file in \"%s\"", what);
}

/* Takes dir_fd over, whatever happens. */
static int atomic_start(struct fs_atomic *a, int dir_fd, const char *what, const char *name, mode_t mode,
			struct err *e)
{
	*a = (struct fs_atomic){.fd = -1, .dir_fd = -1};
	if (dir_fd < 0)
		return err_sys(e, "open directory \"%s\"", what);
	if (asprintf(&a->dst, "%s/%s", what, name) < 0) {
		a->dst = NULL;
		close(dir_fd);
		return err_errno(e, ENOMEM, "temporary name for \"%s\"", name);
	}
	a->dir_fd = dir_fd;
	if ((a->fd = fs_tmpfile_at(dir_fd, what, name, 0600, &a->tmp, e)) < 0) {
		fs_atomic_abort(a);
		return -1;
	}
	if (fchmod(a->fd, mode) < 0) {
		err_sys(e, "prepare \"%s/%s\"", what, a->tmp);
		fs_atomic_abort(a);
		return -1;
	}
	return 0;
}

int fs_atomic_open(struct fs_atomic *a, const char *dst, mode_t mode, struct err *e)
{
	_cleanup_free_ char *dir = dir_of(dst);
	const char *base = strrchr(dst, '/') ? strrchr(dst, '/') + 1 : dst;
	if (!dir) {
		*a = (struct fs_atomic){.fd = -1, .dir_fd = -1};
		return err_errno(e, ENOMEM, "temporary name for \"%s\"", dst);
	}
	return atomic_start(a, open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), dir, base, mode, e);
}

int fs_atomic_openat(struct fs_atomic *a, int dir_fd, const char *what, const char *name, mode_t mode,
		     struct err *e)
{
	return atomic_start(a, fcntl(dir_fd, F_DUPFD_CLOEXEC, 0), what, name, mode, e);
}

int fs_atomic_commit(struct fs_atomic *a, struct err *e)
{
	const char *base = strrchr(a->dst, '/') + 1;
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
	if (renameat2(a->dir_fd, a->tmp, a->dir_fd, base, a->noreplace ? RENAME_NOREPLACE : 0) < 0) {
		if (errno == EEXIST)
			err_sys(e, "\"%s\" is there already; not replaced", a->dst);
		else
			err_sys(e, "rename \"%s\" to \"%s\"", a->tmp, a->dst);
		goto fail;
	}
	free(a->tmp);
	a->tmp = NULL;
	if (!a->nosync && fsync(a->dir_fd) < 0) {
		err_sys(e, "fsync the directory of \"%s\"", a->dst);
		goto fail;
	}
	fs_atomic_abort(a);
	return 0;
fail:
	fs_atomic_abort(a);
	return -1;
}

void fs_atomic_abort(struct fs_atomic *a)
{
	if (a->fd >= 0)
		close(a->fd);
	a->fd = -1;
	/* dst is set exactly while dir_fd is ours (a zeroed struct has neither) */
	if (a->dst) {
		if (a->tmp)
			unlinkat(a->dir_fd, a->tmp, 0);
		close(a->dir_fd);
	}
	a->dir_fd = -1;
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
	char *buf = NULL;
	size_t cap = 0, n = 0;
	for (;;) {
		/* room for the NUL, and to read one byte past the limit */
		if (buf_grow(&buf, &cap, n + 2, 4096, max + 2) < 0) {
			free(buf);
			return err_errno(e, ENOMEM, "read \"%s\"", what);
		}
		ssize_t r = read(fd, buf + n, cap - 1 - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			free(buf);
			return err_sys(e, "read \"%s\"", what);
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			free(buf);
			return err_set(e, "\"%s\" is larger than the limit of %zu bytes", what, max);
		}
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

int fs_check_private(const struct stat *st, const char *kind, const char *path, mode_t forbidden, struct err *e)
{
	uid_t me = geteuid();
	bool dir = S_ISDIR(st->st_mode);
	if (st->st_uid != me && st->st_uid != 0)
		return err_set(e, "%s \"%s\" belongs to uid %u, neither to you (uid %u) nor to root: %s", kind, path,
			       (unsigned)st->st_uid, (unsigned)me,
			       dir ? "its owner decides what is in it; use a directory of your own"
				   : "its owner can change it; use a file of your own (owned by you or root)");
	if (st->st_mode & forbidden)
		return err_set(e, "%s \"%s\" is %s by others than its owner (mode %04o): run \"chmod %s %s\"", kind, path,
			       (forbidden & 0044) ? "accessible" : "writable", (unsigned)(st->st_mode & 07777),
			       (forbidden & 0044) ? "600" : "go-w", path);
	return 0;
}

int fs_open_private_dir(const char *path, const char *kind, struct err *e)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if ((errno == ELOOP || errno == ENOTDIR) && lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
			return err_set(e, "%s \"%s\" is a symbolic link: name the directory itself", kind, path);
		return err_sys(e, "open %s \"%s\"", kind, path);
	}
	if (fstat(fd, &st) < 0) {
		err_sys(e, "stat %s \"%s\"", kind, path);
		close(fd);
		return -1;
	}
	if (fs_check_private(&st, kind, path, 022, e) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* path (absolute) and each directory above it: root's or ours, writable by
 * nobody else; above path itself a sticky directory may be (nobody can rename
 * what is ours in it); a symbolic link is judged by the directory holding it. */
static int check_chain(const char *path, const char *kind, struct err *e)
{
	_cleanup_free_ char *p = strdup(path);
	if (!p)
		return err_errno(e, ENOMEM, "check \"%s\"", path);
	for (bool leaf = true;; leaf = false) {
		struct stat st;
		if (lstat(p, &st) < 0)
			return err_sys(e, "stat \"%s\"", p);
		bool sticky = !leaf && (st.st_mode & S_ISVTX);
		if (!S_ISLNK(st.st_mode) &&
		    fs_check_private(&st, leaf ? kind : "directory", p, sticky ? 0 : 022, e) < 0)
			return leaf ? -1 : err_ctx(e, "%s \"%s\"", kind, path);
		char *slash = strrchr(p, '/');
		if (!slash || slash == p) {
			if (slash && p[1]) {
				p[1] = '\0';
				continue;
			}
			return 0;
		}
		*slash = '\0';
	}
}

int fs_check_private_path(const char *path, const char *kind, struct err *e)
{
	_cleanup_free_ char *real = realpath(path, NULL);
	if (!real)
		return err_sys(e, "%s \"%s\"", kind, path);
	if (path[0] == '/' && check_chain(path, kind, e) < 0)
		return -1;
	return check_chain(real, kind, e);
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
