/* crashrec.c: an LD_PRELOAD library that records, in order, what a program does to the
 * files under one directory: the writes (with their bytes), truncations, fsyncs,
 * renames and unlinks. tests/helpers/crashstates.py replays the record into the
 * states a power cut could leave (unsynced data and directory entries lost, in part or
 * whole, a write torn) and checks each. It interposes the libc calls only, so it knows
 * nothing of the writer it watches (lib/fs.c or any other).
 *
 *   CRASHREC_ROOT=DIR CRASHREC_LOG=FILE LD_PRELOAD=crashrec.so PROGRAM...
 *
 * One line per event, paths absolute (resolved through /proc/self/fd):
 *   create PATH         an open with O_TRUNC, or of a file first seen (mkostemp's
 *                       open is inside libc: the first use of its fd stands for it)
 *   w PATH OFFSET HEX   bytes written at OFFSET
 *   trunc PATH LEN
 *   fsync PATH          fsync or fdatasync of a file or a directory
 *   rename OLD NEW
 *   unlink PATH
 *   link OLD NEW        a hard link made under the root
 *   have PATH HEX       a hard link to a file from outside the root: its bytes, durable
 *   syncfs              every file and directory entry durable
 * It lives in its own directory: the programs directly in tests/helpers are executables. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_FD 4096
static char seen[MAX_FD]; /* fds whose file was logged as created or opened */

static void out(const char *s, size_t n)
{
	static int fd = -2;
	if (fd == -2) {
		const char *p = getenv("CRASHREC_LOG");
		fd = p ? (int)syscall(SYS_openat, AT_FDCWD, p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600) : -1;
	}
	while (fd >= 0 && n) {
		long w = syscall(SYS_write, fd, s, n);
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

static bool under_root(const char *p)
{
	const char *r = getenv("CRASHREC_ROOT");
	size_t n = r ? strlen(r) : 0;
	return n && !strncmp(p, r, n) && (p[n] == '/' || !p[n]);
}

/* an fd's path, "" when it is none under the root */
static void fd_path(int fd, char *buf, size_t n)
{
	char l[64];
	snprintf(l, sizeof l, "/proc/self/fd/%d", fd);
	ssize_t k = readlink(l, buf, n - 1);
	buf[k > 0 ? k : 0] = '\0';
	if (k <= 0 || !under_root(buf) || strstr(buf, " (deleted)"))
		buf[0] = '\0';
}

/* a path argument made absolute (its directory resolved, the last name kept) */
static void arg_path(int dirfd, const char *p, char *buf, size_t n)
{
	char dir[PATH_MAX], d[PATH_MAX];
	const char *slash = strrchr(p, '/'), *base = slash ? slash + 1 : p;
	snprintf(d, sizeof d, "%.*s", slash ? (int)(slash - p) + (slash == p) : 1, slash ? p : ".");
	buf[0] = '\0';
	if (d[0] != '/' && dirfd != AT_FDCWD) {
		fd_path(dirfd, dir, sizeof dir);
		if (!dir[0])
			return;
		char j[PATH_MAX * 2];
		snprintf(j, sizeof j, "%s/%s", dir, d);
		if (!realpath(j, dir))
			return;
	} else if (!realpath(d, dir))
		return;
	snprintf(buf, n, "%s/%s", dir, base);
	if (!under_root(buf))
		buf[0] = '\0';
}

static void logf_(const char *fmt, ...)
{
	char line[PATH_MAX * 2 + 64];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n < sizeof line)
		out(line, (size_t)n);
}

/* the first use of an fd not opened through us: it was created empty by libc */
static void first_use(int fd, const char *path)
{
	if (fd >= 0 && fd < MAX_FD && !seen[fd]) {
		seen[fd] = 1;
		struct stat st;
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0)
			logf_("create %s\n", path);
	}
}

static void log_write(int fd, const void *buf, ssize_t n, off_t off)
{
	char p[PATH_MAX];
	if (n <= 0)
		return;
	fd_path(fd, p, sizeof p);
	if (!p[0])
		return;
	first_use(fd, p);
	size_t len = strlen(p);
	char *line = malloc(len + (size_t)n * 2 + 48);
	if (!line)
		return;
	int k = sprintf(line, "w %s %lld ", p, (long long)off);
	for (ssize_t i = 0; i < n; i++)
		k += sprintf(line + k, "%02x", ((const unsigned char *)buf)[i]);
	line[k++] = '\n';
	out(line, (size_t)k);
	free(line);
}

#define REAL(ret, name, ...)                                   \
	static ret (*real_##name)(__VA_ARGS__);                \
	if (!real_##name)                                      \
		real_##name = (ret(*)(__VA_ARGS__))dlsym(RTLD_NEXT, #name)

static void after_open(int fd, int dirfd, const char *path, int flags)
{
	char p[PATH_MAX];
	if (fd < 0 || fd >= MAX_FD)
		return;
	seen[fd] = 0;
	if (!(flags & (O_WRONLY | O_RDWR)))
		return;
	arg_path(dirfd, path, p, sizeof p);
	if (!p[0])
		return;
	seen[fd] = 1;
	struct stat st;
	if ((flags & O_TRUNC) || (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0))
		logf_("create %s\n", p);
}

int open(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t m = (mode_t)va_arg(ap, int);
	va_end(ap);
	REAL(int, open, const char *, int, ...);
	int fd = real_open(path, flags, m);
	after_open(fd, AT_FDCWD, path, flags);
	return fd;
}
int open64(const char *path, int flags, ...) __attribute__((alias("open")));

int openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t m = (mode_t)va_arg(ap, int);
	va_end(ap);
	REAL(int, openat, int, const char *, int, ...);
	int fd = real_openat(dirfd, path, flags, m);
	after_open(fd, dirfd, path, flags);
	return fd;
}
int openat64(int dirfd, const char *path, int flags, ...) __attribute__((alias("openat")));

ssize_t write(int fd, const void *buf, size_t n)
{
	REAL(ssize_t, write, int, const void *, size_t);
	ssize_t r = real_write(fd, buf, n);
	if (r > 0) {
		off_t end = lseek(fd, 0, SEEK_CUR);
		if (end >= 0)
			log_write(fd, buf, r, end - r);
	}
	return r;
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	REAL(ssize_t, pwrite, int, const void *, size_t, off_t);
	ssize_t r = real_pwrite(fd, buf, n, off);
	log_write(fd, buf, r, off);
	return r;
}
ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off) __attribute__((alias("pwrite")));

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	REAL(ssize_t, writev, int, const struct iovec *, int);
	off_t start = lseek(fd, 0, SEEK_CUR);
	ssize_t r = real_writev(fd, iov, cnt);
	if (r > 0 && start >= 0) {
		off_t end = lseek(fd, 0, SEEK_CUR);
		ssize_t left = r;
		for (int i = 0; i < cnt && left > 0; i++) {
			ssize_t k = (ssize_t)iov[i].iov_len < left ? (ssize_t)iov[i].iov_len : left;
			log_write(fd, iov[i].iov_base, k, end - left);
			left -= k;
		}
	}
	return r;
}

int ftruncate(int fd, off_t len)
{
	REAL(int, ftruncate, int, off_t);
	int r = real_ftruncate(fd, len);
	char p[PATH_MAX];
	fd_path(fd, p, sizeof p);
	if (r == 0 && p[0]) {
		first_use(fd, p);
		logf_("trunc %s %lld\n", p, (long long)len);
	}
	return r;
}
int ftruncate64(int fd, off_t len) __attribute__((alias("ftruncate")));

static void log_sync(int fd)
{
	char p[PATH_MAX];
	fd_path(fd, p, sizeof p);
	if (p[0])
		logf_("fsync %s\n", p);
}

int fsync(int fd)
{
	REAL(int, fsync, int);
	int r = real_fsync(fd);
	if (r == 0)
		log_sync(fd);
	return r;
}

int fdatasync(int fd)
{
	REAL(int, fdatasync, int);
	int r = real_fdatasync(fd);
	if (r == 0)
		log_sync(fd);
	return r;
}

static void log_rename(int r, int ofd, const char *o, int nfd, const char *n)
{
	char a[PATH_MAX], b[PATH_MAX];
	if (r < 0)
		return;
	arg_path(nfd, n, b, sizeof b);
	/* the old name is gone: resolve its directory, which still is */
	arg_path(ofd, o, a, sizeof a);
	if (a[0] && b[0])
		logf_("rename %s %s\n", a, b);
}

int rename(const char *o, const char *n)
{
	REAL(int, rename, const char *, const char *);
	int r = real_rename(o, n);
	log_rename(r, AT_FDCWD, o, AT_FDCWD, n);
	return r;
}

int renameat(int ofd, const char *o, int nfd, const char *n)
{
	REAL(int, renameat, int, const char *, int, const char *);
	int r = real_renameat(ofd, o, nfd, n);
	log_rename(r, ofd, o, nfd, n);
	return r;
}

int renameat2(int ofd, const char *o, int nfd, const char *n, unsigned flags)
{
	REAL(int, renameat2, int, const char *, int, const char *, unsigned);
	int r = real_renameat2(ofd, o, nfd, n, flags);
	log_rename(r, ofd, o, nfd, n);
	return r;
}

static void log_unlink(int r, int dirfd, const char *path)
{
	char p[PATH_MAX];
	if (r < 0)
		return;
	arg_path(dirfd, path, p, sizeof p);
	if (p[0])
		logf_("unlink %s\n", p);
}

int unlink(const char *path)
{
	REAL(int, unlink, const char *);
	int r = real_unlink(path);
	log_unlink(r, AT_FDCWD, path);
	return r;
}

int unlinkat(int dirfd, const char *path, int flags)
{
	REAL(int, unlinkat, int, const char *, int);
	int r = real_unlinkat(dirfd, path, flags);
	if (!(flags & AT_REMOVEDIR))
		log_unlink(r, dirfd, path);
	return r;
}

int close(int fd)
{
	REAL(int, close, int);
	if (fd >= 0 && fd < MAX_FD)
		seen[fd] = 0;
	return real_close(fd);
}

int syncfs(int fd)
{
	REAL(int, syncfs, int);
	int r = real_syncfs(fd);
	if (r == 0)
		logf_("syncfs\n");
	return r;
}

int linkat(int ofd, const char *o, int nfd, const char *n, int flags)
{
	REAL(int, linkat, int, const char *, int, const char *, int);
	int r = real_linkat(ofd, o, nfd, n, flags);
	char a[PATH_MAX], b[PATH_MAX];
	if (r < 0)
		return r;
	arg_path(nfd, n, b, sizeof b);
	arg_path(ofd, o, a, sizeof a);
	if (!b[0])
		return r;
	if (a[0]) {
		logf_("link %s %s\n", a, b);
		return r;
	}
	/* from outside: its bytes as they are on disk now */
	int fd = (int)syscall(SYS_openat, AT_FDCWD, b, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd >= 0 && fstat(fd, &st) == 0) {
		char *buf = malloc((size_t)st.st_size + 1), *line = malloc(strlen(b) + (size_t)st.st_size * 2 + 16);
		if (buf && line && pread(fd, buf, (size_t)st.st_size, 0) == st.st_size) {
			int k = sprintf(line, "have %s ", b);
			for (off_t i = 0; i < st.st_size; i++)
				k += sprintf(line + k, "%02x", (unsigned char)buf[i]);
			line[k++] = '\n';
			out(line, (size_t)k);
		}
		free(buf);
		free(line);
	}
	if (fd >= 0)
		syscall(SYS_close, fd);
	return r;
}
