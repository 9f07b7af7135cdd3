/* fs.h: file helpers: crash-safe writes, bounded reads, directory trees.
 *
 * Anything that must survive a crash is written to a temporary file in the
 * destination directory, fsync'd, renamed over the destination, and the
 * directory fsync'd: after a kill -9 either the old or the new file is there,
 * never a torn one. */
#ifndef RAMP_FS_H
#define RAMP_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/err.h"

/* An output file under construction. */
struct fs_atomic {
	int fd;
	char *tmp; /* temporary path, in dst's directory */
	char *dst;
	bool nosync; /* scratch files: rename without fsync */
};

/* Create a temporary file next to dst. */
int fs_atomic_open(struct fs_atomic *a, const char *dst, mode_t mode, struct err *e);
/* fsync, rename over dst, fsync the directory; closes fd. */
int fs_atomic_commit(struct fs_atomic *a, struct err *e);
/* Remove the temporary file (safe to call after commit or on a zeroed struct). */
void fs_atomic_abort(struct fs_atomic *a);

/* Whole-buffer convenience around the three above. */
int fs_write_atomic(const char *dst, const void *data, size_t len, mode_t mode, struct err *e);
/* write(2) all of buf, retrying on EINTR and short writes. */
int fs_write_all(int fd, const void *buf, size_t len, const char *what, struct err *e);
int fs_fsync_dir(const char *dir, struct err *e);

/* Read a whole file, refusing more than max bytes. *out is NUL-terminated. */
int fs_read_file(const char *path, size_t max, char **out, size_t *len, struct err *e);
int fs_read_fd(int fd, const char *what, size_t max, char **out, size_t *len, struct err *e);

int fs_mkdir_p(const char *path, mode_t mode, struct err *e);
/* Remove a tree without following symlinks; a missing path is not an error. */
int fs_rm_rf(const char *path, struct err *e);
/* mkdtemp under $TMPDIR (or /var/tmp) with the given name prefix. Caller frees. */
char *fs_mkdtemp(const char *prefix, struct err *e);
bool fs_exists(const char *path);
/* "a" + "/" + "b", or NULL on allocation failure. */
char *fs_join(const char *a, const char *b);

/* Free space a writer leaves on a file system: `bytes`, or when that is 0,
 * `pct` percent of its blocks and of its inodes (as an unprivileged user
 * sees them free: the file system's own reserve for root is not counted). */
struct fs_reserve {
	uint64_t bytes;
	unsigned pct;
};
/* Fails with errnum ENOSPC when `need` more bytes and `inodes` more files
 * written on fd's file system would cut into the reserve (NULL: none);
 * called before a write starts and again while it goes on. */
int fs_reserve_check(const struct fs_reserve *r, int fd, uint64_t need, uint64_t inodes, struct err *e);

#endif
