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
#include "image/docker_archive.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/log.h"

#define MAX_ENTRIES 100000
#define MAX_META (4u << 20) /* index.json, manifest.json, oci-layout */
#define MAX_PART 128        /* a component of a docker-archive name */

/* K_PART: a file of a docker archive (docker save, podman save): one or two
 * plain components, "manifest.json"'s config and layer files, "repositories",
 * the legacy "<id>/json", "<id>/VERSION", "<id>/layer.tar"; K_PART_DIR: the
 * directory of such a file. */
enum kind { K_SKIP, K_DIR, K_META, K_BLOB, K_PART, K_PART_DIR };

/* A component of a docker-archive name: no dot first, no slash, printable ASCII. */
static bool part_component(const char *c, size_t n)
{
	if (n == 0 || n > MAX_PART || c[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(c[i] >= 'a' && c[i] <= 'z') && !(c[i] >= 'A' && c[i] <= 'Z') && !(c[i] >= '0' && c[i] <= '9') &&
		    !strchr("._-+:", c[i]))
			return false;
	return true;
}

/* Decide what a (normalized) name is. */
static int kind_of(const char *name, bool is_dir, enum kind *k, struct err *e)
{
	size_t n = strlen(name);
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
			return -1;
		*k = K_BLOB;
	} else {
		const char *slash = strchr(name, '/');
		size_t first = slash ? (size_t)(slash - name) : n;
		if (part_component(name, first) && (!slash || part_component(slash + 1, n - first - 1)))
			*k = !is_dir ? K_PART : slash ? K_SKIP : K_PART_DIR;
	}
	return 0;
}

/* A relative name, lexically: "./a//b/" → "a/b"; ".." goes back one
 * component when up is set. 0, or -1: ".." (above the root when up is set),
 * -2: longer than cap. */
static int clean_name(const char *in, bool up, char *out, size_t cap)
{
	size_t n = 0;
	for (const char *p = in; *p;) {
		size_t len = strcspn(p, "/");
		if (len == 2 && p[0] == '.' && p[1] == '.') {
			if (!up || n == 0)
				return -1;
			while (n && out[n - 1] != '/')
				n--;
			n = n ? n - 1 : 0;
		} else if (len && !(len == 1 && p[0] == '.')) {
			if (n + len + 2 > cap)
				return -2;
			if (n)
				out[n++] = '/';
			memcpy(out + n, p, len);
			n += len;
		}
		p += len + (p[len] == '/');
	}
	out[n] = '\0';
	return 0;
}

/* An entry's name, cleaned; an absolute name or ".." is refused. */
static int normalize(const char *raw, char *name, size_t cap, struct err *e)
{
	if (raw[0] == '/')
		return err_set(e, "archive entry \"%.200s\" has an absolute path", raw);
	int r = clean_name(raw, false, name, cap);
	if (r == -1)
		return err_set(e, "archive entry \"%.200s\" climbs out with \"..\"", raw);
	return r < 0 ? err_set(e, "archive entry name is too long") : 0;
}

/* The name a docker archive's link entry stands for: a symbolic link's target
 * is relative to the link's directory, a hard link's to the archive's root.
 * Only another file of the archive may be named. */
static int link_target(const char *name, const char *target, bool symbolic, char *out, size_t cap, struct err *e)
{
	char joined[1024];
	const char *slash = strrchr(name, '/');
	int dir = symbolic && slash ? (int)(slash - name) : 0;
	if (target[0] == '/')
		return err_set(e, "archive entry \"%.200s\" links to the absolute path \"%.200s\"", name, target);
	snprintf(joined, sizeof joined, "%.*s%s%.900s", dir, name, dir ? "/" : "", target);
	int r = clean_name(joined, true, out, cap);
	if (r == -1)
		return err_set(e, "archive entry \"%.200s\" links out of the archive (\"%.200s\")", name, target);
	if (r < 0)
		return err_set(e, "archive entry \"%.200s\": link target too long", name);
	enum kind k;
	if (kind_of(out, false, &k, e) < 0 || (k != K_PART && k != K_BLOB))
		return err_set(e, "archive entry \"%.200s\" links to \"%.200s\", which is no file of an image archive",
			       name, target);
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

static int mkdir_in(int dfd, const char *dir, const char *name, struct err *e)
{
	if (mkdirat(dfd, name, 0755) < 0 && errno != EEXIST)
		return err_sys(e, "mkdir \"%s/%s\"", dir, name);
	return 0;
}

/* the parent directories of a file: blobs/sha256, or a docker archive's <id> */
static int make_parents(int dfd, const char *dir, const char *name, struct err *e)
{
	char parent[MAX_PART + 16];
	const char *slash = strrchr(name, '/');
	if (!slash)
		return 0;
	if (!strncmp(name, "blobs/sha256/", 13))
		return mkdir_in(dfd, dir, "blobs", e) < 0 ? -1 : mkdir_in(dfd, dir, "blobs/sha256", e);
	snprintf(parent, sizeof parent, "%.*s", (int)(slash - name), name);
	return mkdir_in(dfd, dir, parent, e);
}

/* A docker archive's link entries, made once every file is there. */
struct alias {
	char *name, *target;
};

static int make_aliases(int dfd, const char *archive, const char *dir, struct alias *al, size_t n, struct err *e)
{
	size_t left = n;
	/* a link may name another link: as many rounds as there are links */
	for (size_t round = 0; left && round < n; round++)
		for (size_t i = 0; i < n; i++) {
			if (!al[i].name)
				continue;
			if (make_parents(dfd, dir, al[i].name, e) < 0)
				return -1;
			if (linkat(dfd, al[i].target, dfd, al[i].name, 0) < 0) {
				if (errno == EEXIST)
					return err_set(e, "\"%s\": entry \"%s\" appears twice", archive, al[i].name);
				if (errno != ENOENT)
					return err_sys(e, "link \"%s/%s\"", dir, al[i].name);
				continue;
			}
			free(al[i].name);
			al[i].name = NULL;
			left--;
		}
	for (size_t i = 0; i < n; i++)
		if (al[i].name)
			return err_set(e, "\"%s\": entry \"%s\" links to \"%s\", which the archive does not hold", archive,
				       al[i].name, al[i].target);
	return 0;
}

static int add_alias(struct alias **al, size_t *n, const char *name, const char *target, struct err *e)
{
	struct alias *na = realloc(*al, (*n + 1) * sizeof *na);
	if (!na)
		return err_errno(e, ENOMEM, "archive");
	*al = na;
	if (!(na[*n].name = strdup(name)) || !(na[*n].target = strdup(target))) {
		free(na[*n].name);
		return err_errno(e, ENOMEM, "archive");
	}
	(*n)++;
	return 0;
}

/* libarchive could not read the first header: not a tar file, unless the
 * system said otherwise (libarchive's "file format" errno is EILSEQ). */
static int not_an_image(const char *archive, struct archive *a, struct err *e)
{
	int en = archive_errno(a);
	if (en > 0 && en != EILSEQ)
		return err_errno(e, en, "open \"%s\"", archive);
	return err_set(e, "\"%s\" is not an OCI archive, layout or docker archive (it is not a tar file)", archive);
}

int img_archive_extract(const char *archive, const char *dir, struct err *e)
{
	struct archive *a = archive_read_new();
	struct archive_entry *ent;
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct alias *al = NULL;
	size_t count = 0, n_al = 0;
	int rc = -1;
	if (!a)
		return err_errno(e, ENOMEM, "archive reader");
	if (dfd < 0) {
		archive_read_free(a);
		return err_sys(e, "open \"%s\"", dir);
	}
	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, archive, 1 << 16) != ARCHIVE_OK) {
		not_an_image(archive, a, e);
		goto out;
	}
	for (;;) {
		char name[512], target[512];
		enum kind k;
		int r = archive_read_next_header(a, &ent);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK) {
			if (count == 0)
				not_an_image(archive, a, e);
			else
				err_set(e, "\"%s\" is not a valid tar archive: %s", archive, archive_error_string(a));
			goto out;
		}
		if (++count > MAX_ENTRIES) {
			err_set(e, "\"%s\" has more than %d entries", archive, MAX_ENTRIES);
			goto out;
		}
		const char *raw = archive_entry_pathname(ent);
		mode_t type = archive_entry_filetype(ent);
		const char *hard = archive_entry_hardlink(ent);
		if (!raw || normalize(raw, name, sizeof name, e) < 0 || kind_of(name, type == AE_IFDIR, &k, e) < 0) {
			if (!raw)
				err_set(e, "archive entry without a name");
			else
				err_ctx(e, "archive entry \"%.200s\"", raw);
			err_ctx(e, "\"%s\"", archive);
			goto out;
		}
		if (k == K_SKIP) {
			log_warn("%s: ignoring \"%s\", which is part of neither an OCI layout nor a docker archive",
				 archive, raw);
			continue;
		}
		if (k == K_DIR || k == K_PART_DIR) {
			if (type != AE_IFDIR) {
				err_set(e, "\"%s\": entry \"%s\" must be a directory", archive, raw);
				goto out;
			}
			if (*name && strcmp(name, ".") && mkdir_in(dfd, dir, name, e) < 0)
				goto out;
			continue;
		}
		/* docker save links a layer it writes twice to the first copy */
		if (k == K_PART && (hard || type == AE_IFLNK)) {
			const char *t = hard ? hard : archive_entry_symlink(ent);
			if (!t || link_target(name, t, !hard, target, sizeof target, e) < 0 ||
			    add_alias(&al, &n_al, name, target, e) < 0) {
				if (!t)
					err_set(e, "archive entry \"%s\": link without a target", raw);
				err_ctx(e, "\"%s\"", archive);
				goto out;
			}
			continue;
		}
		if (type != AE_IFREG || hard) {
			err_set(e, "\"%s\": entry \"%s\" must be a regular file (links and devices are refused)", archive,
				raw);
			goto out;
		}
		if (make_parents(dfd, dir, name, e) < 0)
			goto out;
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
	if (count == 0) {
		err_set(e, "\"%s\" is not an OCI archive, layout or docker archive (it is an empty tar file)", archive);
		goto out;
	}
	if (make_aliases(dfd, archive, dir, al, n_al, e) < 0)
		goto out;
	/* an OCI layout, or a docker archive to turn into one */
	if (faccessat(dfd, "oci-layout", F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		rc = 0;
	else if (faccessat(dfd, "manifest.json", F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		rc = img_docker_archive_convert(dir, archive, e);
	else
		err_set(e, "\"%s\" is not an OCI archive, layout or docker archive: it has neither an oci-layout nor a "
			   "manifest.json file",
			archive);
out:
	for (size_t i = 0; i < n_al; i++) {
		free(al[i].name);
		free(al[i].target);
	}
	free(al);
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
