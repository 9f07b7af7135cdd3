/* openat2_shim.c: preloaded into the unit tests by `make valgrind` only.
 *
 * valgrind 3.19 (Debian 12's) does not know the openat2 system call and
 * fails it with ENOSYS, so the unpacker and the user lookup could not run
 * under memcheck at all. This library interposes libc's syscall() and, when
 * openat2 fails with ENOSYS, answers it itself, one component at a time with
 * O_NOFOLLOW, for
 * the resolve flags ramp uses: RESOLVE_BENEATH, RESOLVE_NO_SYMLINKS,
 * RESOLVE_NO_MAGICLINKS and RESOLVE_NO_XDEV (any other flag gives
 * EINVAL). It stands in for the kernel only so that memcheck sees the code
 * around the calls; the real semantics are tested by `make check`. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define KNOWN (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)

static int fail(int fd, int err)
{
	if (fd >= 0)
		close(fd);
	errno = err;
	return -1;
}

static int emulate(int dirfd, const char *path, const struct open_how *how, size_t size)
{
	int flags = (int)how->flags;
	if (size < sizeof *how || (how->resolve & ~(uint64_t)KNOWN) || how->mode > 07777)
		return fail(-1, EINVAL);
	if (!(how->resolve & RESOLVE_NO_SYMLINKS)) {
		if (how->resolve & RESOLVE_BENEATH)
			return fail(-1, EINVAL); /* following links beneath: ramp never asks for it */
		return openat(dirfd, path, flags, (mode_t)how->mode);
	}
	if (!*path)
		return fail(-1, ENOENT);
	if ((how->resolve & RESOLVE_BENEATH) && path[0] == '/')
		return fail(-1, EXDEV);
	char *copy = strdup(path), *save = NULL;
	if (!copy)
		return fail(-1, ENOMEM);
	struct stat top, st;
	int cur = path[0] == '/' ? open("/", O_PATH | O_CLOEXEC) : openat(dirfd, ".", O_PATH | O_CLOEXEC);
	if (cur < 0 || fstat(cur, &top) < 0) {
		free(copy);
		return fail(cur, errno);
	}
	/* every component without following links; the last with the caller's flags */
	char *comp = strtok_r(copy, "/", &save), *next;
	for (; comp; comp = next) {
		next = strtok_r(NULL, "/", &save);
		int err = 0;
		if (!strcmp(comp, "..") && (how->resolve & RESOLVE_BENEATH))
			err = EXDEV;
		else if (fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode) &&
			 (next || !(flags & O_PATH) || !(flags & O_NOFOLLOW)))
			err = ELOOP;
		if (err) {
			free(copy);
			return fail(cur, err);
		}
		int fd = next ? openat(cur, comp, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC)
			      : openat(cur, comp, flags | O_NOFOLLOW, (mode_t)how->mode);
		err = errno;
		close(cur);
		if (fd < 0) {
			free(copy);
			return fail(-1, err);
		}
		if ((how->resolve & RESOLVE_NO_XDEV) && fstat(fd, &st) == 0 && st.st_dev != top.st_dev) {
			free(copy);
			return fail(fd, EXDEV);
		}
		cur = fd;
	}
	free(copy);
	return cur; /* only "/" components: the starting directory, as O_PATH */
}

long syscall(long number, ...)
{
	static long (*real)(long, ...);
	va_list ap;
	long a[6];
	va_start(ap, number);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	static bool no_openat2;
	if (!real)
		real = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
	if (number == SYS_openat2 && no_openat2)
		return emulate((int)a[0], (const char *)a[1], (const struct open_how *)a[2], (size_t)a[3]);
	long rc = real(number, a[0], a[1], a[2], a[3], a[4], a[5]);
	/* the kernel's own answer wherever there is one (children outside valgrind) */
	if (rc < 0 && errno == ENOSYS && number == SYS_openat2) {
		no_openat2 = true;
		return emulate((int)a[0], (const char *)a[1], (const struct open_how *)a[2], (size_t)a[3]);
	}
	return rc;
}
