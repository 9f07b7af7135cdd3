/* archive.c: read and write oci-archive files with libarchive (see archive.h). */
#include "image/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/digest.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/log.h"

#define MAX_ENTRIES 100000
#define MAX_META (4u << 20) /* index.json, manifest.json, oci-layout */

enum kind { K_SKIP, K_DIR, K_META, K_BLOB };

/* Decide what an entry name is. Refuses names that try to leave the tree. */
static int classify(const char *raw, char *name, size_t cap, enum kind *k, struct err *e)
{
	const char *s = raw;
	while (s[0] == '.' && s[1] == '/')
		s += 2;
	size_t n = strlen(s);
	if (n >= cap)
		return err_set(e, "archive entry name is too long");
	memcpy(name, s, n + 1);
	while (n && name[n - 1] == '/')
		name[--n] = '\0';
	if (raw[0] == '/')
		return err_set(e, "archive entry \"%.200s\" has an absolute path", raw);
	for (const char *c = name; *c; c = strchr(c, '/') ? strchr(c, '/') + 1 : c + strlen(c))
		if (c[0] == '.' && c[1] == '.' && (c[2] == '/' || c[2] == '\0'))
			return err_set(e, "archive entry \"%.200s\" climbs out with \"..\"", raw);
	*k = K_SKIP;
	if (n == 0 || !strcmp(name, ".") || !strcmp(name, "blobs") || !strcmp(name, "blobs/sha256"))
		*k = K_DIR;
	else if (!strcmp(name, "oci-layout") || !strcmp(name, "index.json") || !strcmp(name, "manifest.json"))
		*k = K_META;
	else if (!strncmp(name, "blobs/sha256/", 13)) {
		struct img_digest d;
		char ds[IMG_DIGEST_LEN + 8];
		snprintf(ds, sizeof ds, "sha256:%.70s", name + 13);
		if (img_digest_parse(ds, &d, e) < 0)
			return err_ctx(e, "archive entry \"%.200s\"", raw);
		*k = K_BLOB;
	}
	return 0;
}

static int copy_data(struct archive *a, int fd, const char *name, size_t max, struct err *e)
{
	const void *buf;
	size_t len;
	la_int64_t off, total = 0;
	for (;;) {
		int r = archive_read_data_block(a, &buf, &len, &off);
		if (r == ARCHIVE_EOF)
			return 0;
		if (r != ARCHIVE_OK)
			return err_set(e, "archive entry \"%s\": %s", name, archive_error_string(a));
		/* sparse entries jump ahead; a layout file has no holes */
		if (off != total)
			return err_set(e, "archive entry \"%s\" is sparse, which a layout never is", name);
		total += (la_int64_t)len;
		if ((size_t)total > max)
			return err_set(e, "archive entry \"%s\" is larger than the limit of %zu bytes", name, max);
		if (fs_write_all(fd, buf, len, name, e) < 0)
			return -1;
	}
}

int img_archive_extract(const char *archive, const char *dir, struct err *e)
{
	struct archive *a = archive_read_new();
	struct archive_entry *ent;
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	size_t count = 0;
	int rc = -1;
	if (!a)
		return err_errno(e, ENOMEM, "archive reader");
	if (dfd < 0) {
		archive_read_free(a);
		return err_sys(e, "open \"%s\"", dir);
	}
	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, archive, 1 << 16) != ARCHIVE_OK) {
		err_errno(e, archive_errno(a) > 0 ? archive_errno(a) : 0, "open \"%s\"", archive);
		if (archive_errno(a) <= 0)
			err_set(e, "\"%s\": %s", archive, archive_error_string(a));
		goto out;
	}
	for (;;) {
		char name[512];
		enum kind k;
		int r = archive_read_next_header(a, &ent);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK) {
			err_set(e, "\"%s\" is not a valid tar archive: %s", archive, archive_error_string(a));
			goto out;
		}
		if (++count > MAX_ENTRIES) {
			err_set(e, "\"%s\" has more than %d entries", archive, MAX_ENTRIES);
			goto out;
		}
		const char *raw = archive_entry_pathname(ent);
		if (!raw || classify(raw, name, sizeof name, &k, e) < 0) {
			if (!raw)
				err_set(e, "archive entry without a name");
			err_ctx(e, "\"%s\"", archive);
			goto out;
		}
		mode_t type = archive_entry_filetype(ent);
		if (k == K_SKIP) {
			log_warn("%s: ignoring \"%s\", which is not part of an OCI layout", archive, raw);
			continue;
		}
		if (k == K_DIR) {
			if (type != AE_IFDIR) {
				err_set(e, "\"%s\": entry \"%s\" must be a directory", archive, raw);
				goto out;
			}
			if (*name && strcmp(name, ".") && mkdirat(dfd, name, 0755) < 0 && errno != EEXIST) {
				err_sys(e, "mkdir \"%s/%s\"", dir, name);
				goto out;
			}
			continue;
		}
		if (type != AE_IFREG) {
			err_set(e, "\"%s\": entry \"%s\" must be a regular file (links and devices are refused)", archive,
				raw);
			goto out;
		}
		if (k == K_BLOB && mkdirat(dfd, "blobs", 0755) < 0 && errno != EEXIST) {
			err_sys(e, "mkdir \"%s/blobs\"", dir);
			goto out;
		}
		if (k == K_BLOB && mkdirat(dfd, "blobs/sha256", 0755) < 0 && errno != EEXIST) {
			err_sys(e, "mkdir \"%s/blobs/sha256\"", dir);
			goto out;
		}
		_cleanup_close_ int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd < 0) {
			if (errno == EEXIST)
				err_set(e, "\"%s\": entry \"%s\" appears twice", archive, raw);
			else
				err_sys(e, "create \"%s/%s\"", dir, name);
			goto out;
		}
		if (copy_data(a, fd, raw, k == K_META ? MAX_META : SIZE_MAX, e) < 0) {
			err_ctx(e, "\"%s\"", archive);
			goto out;
		}
	}
	rc = 0;
out:
	archive_read_free(a);
	return rc;
}

/* ---- writing ---- */

/* libarchive's message, with the errno it saw (ENOSPC, EIO, …) when there is one */
static int arch_err(struct err *e, struct archive *a, const char *what, const char *name)
{
	int en = archive_errno(a);
	if (en > 0)
		return err_errno(e, en, "%s \"%s\"", what, name);
	return err_set(e, "%s \"%s\": %s", what, name, archive_error_string(a));
}

static int add_entry(struct archive *a, int out_fd, const char *name, mode_t type, int fd, int64_t size, struct err *e)
{
	enum { BUF = 1 << 20 };
	struct archive_entry *ent = archive_entry_new();
	/* on the heap for the call only: a static buffer would stay resident in every thread */
	_cleanup_free_ char *buf = type == AE_IFREG && size > 0 ? malloc(size < BUF ? (size_t)size : BUF) : NULL;
	int rc = -1;
	if (!ent || (type == AE_IFREG && size > 0 && !buf)) {
		archive_entry_free(ent);
		return err_errno(e, ENOMEM, "archive entry");
	}
	archive_entry_set_pathname(ent, name);
	archive_entry_set_filetype(ent, type);
	archive_entry_set_perm(ent, type == AE_IFDIR ? 0755 : 0644);
	archive_entry_set_uid(ent, 0);
	archive_entry_set_gid(ent, 0);
	archive_entry_set_mtime(ent, 0, 0);
	archive_entry_set_size(ent, type == AE_IFREG ? size : 0);
	if (archive_write_header(a, ent) != ARCHIVE_OK) {
		arch_err(e, a, "write archive entry", name);
		goto out;
	}
	int64_t left = size;
	while (type == AE_IFREG && left > 0) {
		ssize_t n = read(fd, buf, left < BUF ? (size_t)left : BUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_sys(e, "read \"%s\"", name);
			goto out;
		}
		if (n == 0) {
			err_set(e, "\"%s\" shrank while it was being archived", name);
			goto out;
		}
		if (archive_write_data(a, buf, (size_t)n) != n) {
			arch_err(e, a, "write archive entry", name);
			goto out;
		}
		left -= n;
		/* start writeback as we go: the fsync at the end then waits for little */
		if (out_fd >= 0 && ((size - left) & ((8 << 20) - 1)) < n)
			sync_file_range(out_fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	}
	rc = 0;
out:
	archive_entry_free(ent);
	return rc;
}

static int add_file(struct archive *a, int out_fd, const char *dir, const char *name, struct err *e)
{
	_cleanup_free_ char *p = fs_join(dir, name);
	struct stat st;
	if (!p)
		return err_errno(e, ENOMEM, "archive");
	_cleanup_close_ int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st) < 0)
		return err_sys(e, "open \"%s\"", p);
	if (!S_ISREG(st.st_mode))
		return err_set(e, "\"%s\" is not a regular file", p);
	return add_entry(a, out_fd, name, AE_IFREG, fd, st.st_size, e);
}

static int cmp_name(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

int img_archive_write(const char *dir, const char *out, struct err *e)
{
	_cleanup_free_ char *blobdir = fs_join(dir, "blobs/sha256");
	_cleanup_free_ char *dm = fs_join(dir, "manifest.json");
	_cleanup_closedir_ DIR *d = NULL;
	struct fs_atomic fa = {.fd = -1};
	char **names = NULL;
	size_t n = 0;
	struct archive *a = NULL;
	int rc = -1;

	if (!blobdir || !dm)
		return err_errno(e, ENOMEM, "archive");
	if (!(d = opendir(blobdir)))
		return err_sys(e, "open \"%s\"", blobdir);
	for (struct dirent *de; (de = readdir(d));) {
		if (de->d_name[0] == '.')
			continue;
		char **nn = realloc(names, (n + 1) * sizeof *nn);
		if (!nn || !(nn[n] = strdup(de->d_name))) {
			names = nn ? nn : names;
			err_errno(e, ENOMEM, "archive");
			goto out;
		}
		names = nn;
		n++;
	}
	if (n)
		qsort(names, n, sizeof *names, cmp_name);

	if (fs_atomic_open(&fa, out, 0644, e) < 0)
		goto out;
	if (!(a = archive_write_new())) {
		err_errno(e, ENOMEM, "archive writer");
		goto out;
	}
	archive_write_set_format_pax_restricted(a);
	archive_write_set_bytes_in_last_block(a, 1);
	if (archive_write_open_fd(a, fa.fd) != ARCHIVE_OK) {
		arch_err(e, a, "write", out);
		goto out;
	}
	if (add_entry(a, -1, "blobs/", AE_IFDIR, -1, 0, e) < 0 || add_entry(a, -1, "blobs/sha256/", AE_IFDIR, -1, 0, e) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		char name[128];
		snprintf(name, sizeof name, "blobs/sha256/%.100s", names[i]);
		if (add_file(a, fa.fd, dir, name, e) < 0)
			goto out;
	}
	if (add_file(a, fa.fd, dir, "index.json", e) < 0 || (fs_exists(dm) && add_file(a, fa.fd, dir, "manifest.json", e) < 0) ||
	    add_file(a, fa.fd, dir, "oci-layout", e) < 0)
		goto out;
	if (archive_write_close(a) != ARCHIVE_OK) {
		arch_err(e, a, "write", out);
		goto out;
	}
	if (fs_atomic_commit(&fa, e) < 0)
		goto out;
	rc = 0;
out:
	if (a)
		archive_write_free(a);
	fs_atomic_abort(&fa);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}
