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
#include <sys/stat.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/err.h"

/* An output file under construction. The temporary file is created
 * exclusively under a random name (never through a symlink), and both it and
 * the rename are relative to the destination's directory as opened once. */
struct fs_atomic {
	int fd;
	int dir_fd;  /* dst's directory */
	char *tmp;   /* temporary name, in that directory */
	char *dst;   /* as given (messages) */
	bool nosync; /* scratch files: rename without fsync */
	bool noreplace; /* fail with EEXIST rather than replace dst */
};

/* Create a temporary file next to dst. */
int fs_atomic_open(struct fs_atomic *a, const char *dst, mode_t mode, struct err *e);
/* The same for the name (one component) inside the open directory dir_fd
 * (duplicated; what = the directory's name for messages). */
int fs_atomic_openat(struct fs_atomic *a, int dir_fd, const char *what, const char *name, mode_t mode,
		     struct err *e);
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

/* A new file for writing, created exclusively in dir_fd under a random name
 * ".BASE.tmp-XXXXXXXX" (never through a symlink); *name gets that name. */
int fs_tmpfile_at(int dir_fd, const char *what, const char *base, mode_t mode, char **name, struct err *e);

/* What another user owns, or may write, can be changed under us: a file
 * replaced, a link planted in a directory. st (of path, a "kind" such as
 * "state directory" or "token file") must belong to root or the effective
 * user and have none of the forbidden mode bits (022 for directories: not
 * writable by group or others). The message names it and the remedy. */
int fs_check_private(const struct stat *st, const char *kind, const char *path, mode_t forbidden, struct err *e);
/* Open the directory path (O_DIRECTORY, a final symlink refused) and check it
 * with fs_check_private(022). Returns the descriptor. */
int fs_open_private_dir(const char *path, const char *kind, struct err *e);
/* Check path and every directory above it, as written and resolved (for
 * directories used by their paths, like the host store): each belongs to root
 * or us and is writable by nobody else, unless it is a sticky directory above
 * path (/tmp: nobody can rename what is ours in it). */
int fs_check_private_path(const char *path, const char *kind, struct err *e);

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
