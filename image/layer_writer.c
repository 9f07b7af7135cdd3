/* layer_writer.c: reproducible layer blobs from directory trees (see layer_writer.h). */
#include "image/layer_writer.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/log.h"

#define READ_BUF (1u << 20)
#define XATTR_MAX_LIST (64u << 10)
#define XATTR_MAX_VALUE (64u << 10)

/* hard link memory: (dev, ino) of files with more than one link → first path */
struct link_ent {
	dev_t dev;
	ino_t ino;
	char *path;
};

struct walk {
	const struct img_layer_opts *o;
	struct archive *a;
	struct img_compressor *comp;
	struct img_blob_writer bw;
	struct img_sha256 diff;
	struct err *e;
	int failed; /* a callback set e */
	char *buf;
	const char *root;
	struct link_ent *links;
	size_t n_links, cap_links;
	uint64_t entries, bytes;
};

/* ---- output pipeline: tar bytes → diff_id hash → compressor → blob ---- */

static int sink_to_blob(void *ctx, const void *buf, size_t len, struct err *e)
{
	struct walk *w = ctx;
	return img_blob_writer_write(&w->bw, buf, len, e);
}

static la_ssize_t tar_out(struct archive *a, void *ctx, const void *buf, size_t len)
{
	struct walk *w = ctx;
	(void)a;
	img_sha256_update(&w->diff, buf, len);
	if (img_compressor_write(w->comp, buf, len, w->e) < 0) {
		w->failed = 1;
		return -1;
	}
	return (la_ssize_t)len;
}

static int tar_fail(struct walk *w, const char *path)
{
	if (w->failed)
		return -1;
	w->failed = 1;
	return err_set(w->e, "write layer entry \"%s\": %s", path, archive_error_string(w->a));
}

/* ---- hard links ---- */

static const char *link_lookup(struct walk *w, const struct stat *st)
{
	for (size_t i = 0; i < w->n_links; i++)
		if (w->links[i].dev == st->st_dev && w->links[i].ino == st->st_ino)
			return w->links[i].path;
	return NULL;
}

static int link_remember(struct walk *w, const struct stat *st, const char *path)
{
	if (w->n_links == w->cap_links) {
		size_t cap = w->cap_links ? w->cap_links * 2 : 64;
		struct link_ent *n = realloc(w->links, cap * sizeof *n);
		if (!n)
			return err_errno(w->e, ENOMEM, "hard link table");
		w->links = n;
		w->cap_links = cap;
	}
	if (!(w->links[w->n_links].path = strdup(path)))
		return err_errno(w->e, ENOMEM, "hard link table");
	w->links[w->n_links].dev = st->st_dev;
	w->links[w->n_links].ino = st->st_ino;
	w->n_links++;
	return 0;
}

/* ---- xattrs ---- */

static bool xattr_kept(const char *name)
{
	/* ACLs and SELinux labels belong to the build host, trusted.* to overlayfs
	 * and the like: none of them is part of the tested tree */
	return !strncmp(name, "user.", 5) || (!strncmp(name, "security.", 9) && strcmp(name, "security.selinux"));
}

static int cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int add_xattrs(struct walk *w, struct archive_entry *ent, const char *full)
{
	char list[XATTR_MAX_LIST];
	ssize_t n = llistxattr(full, list, sizeof list);
	if (n < 0) {
		if (errno == ENOTSUP || errno == ENOSYS)
			return 0;
		return err_sys(w->e, "list extended attributes of \"%s\"", full);
	}
	const char *names[512];
	size_t cnt = 0;
	for (char *p = list; p < list + n; p += strlen(p) + 1) {
		if (!xattr_kept(p))
			continue;
		if (cnt == ARRAY_SIZE(names))
			return err_set(w->e, "\"%s\" has too many extended attributes", full);
		names[cnt++] = p;
	}
	qsort(names, cnt, sizeof *names, cmp_cstr);
	for (size_t i = 0; i < cnt; i++) {
		static __thread char val[XATTR_MAX_VALUE];
		ssize_t vl = lgetxattr(full, names[i], val, sizeof val);
		if (vl < 0)
			return err_sys(w->e, "read extended attribute \"%s\" of \"%s\"", names[i], full);
		archive_entry_xattr_add_entry(ent, names[i], val, (size_t)vl);
	}
	return 0;
}

/* ---- the walk ---- */

static int write_file_data(struct walk *w, int fd, const char *rel, int64_t size)
{
	int64_t left = size;
	while (left > 0) {
		ssize_t n = read(fd, w->buf, left < READ_BUF ? (size_t)left : READ_BUF);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return err_sys(w->e, "read \"%s/%s\"", w->root, rel);
		}
		if (n == 0)
			return err_set(w->e, "\"%s/%s\" shrank while it was read (it had %lld bytes); "
					     "build from a tree that nothing is writing to",
				       w->root, rel, (long long)size);
		if (archive_write_data(w->a, w->buf, (size_t)n) != n)
			return tar_fail(w, rel);
		left -= n;
		w->bytes += (uint64_t)n;
	}
	char extra;
	ssize_t n = read(fd, &extra, 1);
	if (n > 0)
		return err_set(w->e, "\"%s/%s\" grew while it was read (it had %lld bytes); "
				     "build from a tree that nothing is writing to",
			       w->root, rel, (long long)size);
	if (n < 0)
		return err_sys(w->e, "read \"%s/%s\"", w->root, rel);
	return 0;
}

static int walk_dir(struct walk *w, int dfd, char *rel, size_t rel_len, size_t rel_cap);

static int add_one(struct walk *w, int dfd, const char *name, char *rel, size_t rel_len, size_t rel_cap)
{
	struct stat st;
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *full = NULL;
	struct archive_entry *ent = NULL;
	int rc = -1;
	size_t nl = strlen(name);

	if (rel_len + nl + 2 > rel_cap)
		return err_set(w->e, "path \"%s/%s/%s\" is too long", w->root, rel, name);
	if (rel_len)
		rel[rel_len++] = '/';
	memcpy(rel + rel_len, name, nl + 1);
	rel_len += nl;
	if (asprintf(&full, "%s/%s", w->root, rel) < 0)
		return err_errno(w->e, ENOMEM, "path");

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return err_sys(w->e, "stat \"%s\"", full);
	if (S_ISSOCK(st.st_mode)) {
		log_warn("skipping socket \"%s\": sockets cannot be stored in an image", full);
		return 0;
	}
	if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
		fd = openat(dfd, name,
			    O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0));
		if (fd < 0)
			return err_sys(w->e, "open \"%s\"", full);
		/* the entry must be what was stat'ed, with the size it has now */
		struct stat st2;
		if (fstat(fd, &st2) < 0)
			return err_sys(w->e, "stat \"%s\"", full);
		if (st2.st_ino != st.st_ino || st2.st_dev != st.st_dev || (st2.st_mode & S_IFMT) != (st.st_mode & S_IFMT))
			return err_set(w->e, "\"%s\" was replaced while the tree was read", full);
		st = st2;
	}
	if (!(ent = archive_entry_new()))
		return err_errno(w->e, ENOMEM, "tar entry");
	archive_entry_set_pathname(ent, rel);
	archive_entry_set_mode(ent, st.st_mode);
	archive_entry_set_uid(ent, st.st_uid);
	archive_entry_set_gid(ent, st.st_gid);
	int64_t mtime = st.st_mtim.tv_sec;
	if (w->o->clamp && mtime > w->o->clamp_to)
		mtime = w->o->clamp_to;
	archive_entry_set_mtime(ent, mtime, 0);
	if (add_xattrs(w, ent, full) < 0)
		goto out;

	const char *first = NULL;
	if (S_ISREG(st.st_mode) && st.st_nlink > 1 && (first = link_lookup(w, &st))) {
		archive_entry_set_hardlink(ent, first);
		archive_entry_set_size(ent, 0);
	} else if (S_ISREG(st.st_mode)) {
		archive_entry_set_size(ent, st.st_size);
		if (st.st_nlink > 1 && link_remember(w, &st, rel) < 0)
			goto out;
	} else if (S_ISLNK(st.st_mode)) {
		char target[PATH_MAX + 1];
		ssize_t n = readlinkat(dfd, name, target, sizeof target);
		if (n < 0) {
			err_sys(w->e, "read link \"%s\"", full);
			goto out;
		}
		if ((size_t)n >= sizeof target) {
			err_set(w->e, "link \"%s\": target too long", full);
			goto out;
		}
		target[n] = '\0';
		archive_entry_set_symlink(ent, target);
	} else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
		archive_entry_set_rdevmajor(ent, major(st.st_rdev));
		archive_entry_set_rdevminor(ent, minor(st.st_rdev));
	}
	/* ARCHIVE_WARN: a name or link target that is not ASCII. ramp never calls
	 * setlocale, so libarchive converts from the C locale, fails on any byte
	 * over 0x7f and writes that entry's names as they are, under the pax
	 * record hdrcharset=BINARY: the bytes are kept exactly, in every locale
	 * (docs/IMAGE.md), and readers (libarchive, Go's archive/tar, GNU tar)
	 * give them back unchanged. */
	if (archive_write_header(w->a, ent) < ARCHIVE_WARN) {
		tar_fail(w, rel);
		goto out;
	}
	w->entries++;
	if (S_ISREG(st.st_mode) && !first && write_file_data(w, fd, rel, st.st_size) < 0)
		goto out;
	if (w->o->progress && (w->entries & 255) == 0)
		w->o->progress(w->o->progress_ctx, w->entries, w->bytes);
	rc = 0;
	if (S_ISDIR(st.st_mode))
		rc = walk_dir(w, fd, rel, rel_len, rel_cap);
out:
	archive_entry_free(ent);
	return rc;
}

static int walk_dir(struct walk *w, int dfd, char *rel, size_t rel_len, size_t rel_cap)
{
	int dup = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
	DIR *d;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = -1;
	if (dup < 0 || !(d = fdopendir(dup))) {
		if (dup >= 0)
			close(dup);
		return err_sys(w->e, "read directory \"%s/%s\"", w->root, rel);
	}
	for (;;) {
		errno = 0;
		struct dirent *de = readdir(d);
		if (!de) {
			if (errno) {
				err_sys(w->e, "read directory \"%s/%s\"", w->root, rel);
				goto out;
			}
			break;
		}
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			char **nn = realloc(names, cap * sizeof *nn);
			if (!nn) {
				err_errno(w->e, ENOMEM, "directory listing");
				goto out;
			}
			names = nn;
		}
		if (!(names[n] = strdup(de->d_name))) {
			err_errno(w->e, ENOMEM, "directory listing");
			goto out;
		}
		n++;
	}
	/* byte order, whatever order the file system lists entries in */
	if (n)
		qsort(names, n, sizeof *names, cmp_cstr);
	for (size_t i = 0; i < n; i++)
		if (add_one(w, dfd, names[i], rel, rel_len, rel_cap) < 0)
			goto out;
	rc = 0;
out:
	rel[rel_len] = '\0';
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return rc;
}

int img_layer_from_dir(const char *dir, const struct img_layer_opts *o, const struct img_layout *out,
		       struct img_layer_result *r, struct err *e)
{
	struct walk w = {.o = o, .e = e, .root = dir, .bw = {.a = {.fd = -1}}};
	_cleanup_close_ int dfd = -1;
	char rel[PATH_MAX * 2];
	int rc = -1;
	int level = o->level ? o->level : img_compression_default_level(o->comp);

	*r = (struct img_layer_result){0};
	struct stat st;
	if (stat(dir, &st) < 0)
		return err_sys(e, "layer directory \"%s\"", dir);
	if (!S_ISDIR(st.st_mode))
		return err_set(e, "layer directory \"%s\" is not a directory", dir);
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return err_sys(e, "open \"%s\"", dir);
	if (!(w.buf = malloc(READ_BUF)))
		return err_errno(e, ENOMEM, "read buffer");
	if (img_sha256_init(&w.diff, e) < 0)
		goto out;
	if (img_blob_writer_open(&w.bw, out, e) < 0)
		goto out;
	if (!(w.comp = img_compressor_new(o->comp, o->level, o->threads, sink_to_blob, &w, e)))
		goto out;
	if (!(w.a = archive_write_new())) {
		err_errno(e, ENOMEM, "tar writer");
		goto out;
	}
	/* pax only where ustar cannot say it (long names, big ids, xattrs);
	 * 10 KiB records, the last one not padded beyond the end marker */
	archive_write_set_format_pax_restricted(w.a);
	archive_write_set_bytes_per_block(w.a, 10240);
	archive_write_set_bytes_in_last_block(w.a, 1);
	if (archive_write_open2(w.a, &w, NULL, tar_out, NULL, NULL) != ARCHIVE_OK) {
		tar_fail(&w, dir);
		goto out;
	}
	rel[0] = '\0';
	if (walk_dir(&w, dfd, rel, 0, sizeof rel) < 0)
		goto out;
	if (archive_write_close(w.a) != ARCHIVE_OK) {
		tar_fail(&w, dir);
		goto out;
	}
	if (img_compressor_finish(w.comp, e) < 0)
		goto out;
	uint64_t size;
	if (img_blob_writer_commit(&w.bw, NULL, -1, &r->desc.digest, &size, e) < 0)
		goto out;
	img_sha256_final(&w.diff, &r->diff_id);
	r->desc.size = (int64_t)size;
	r->entries = w.entries;
	r->bytes = w.bytes;
	char mt[128], ann[32];
	snprintf(mt, sizeof mt, "%s%s", IMG_MT_OCI_LAYER, img_compression_media_suffix(o->comp));
	if (o->comp == IMG_COMP_NONE)
		snprintf(ann, sizeof ann, "none");
	else
		snprintf(ann, sizeof ann, "%s:%d", img_compression_name(o->comp), level);
	if (!(r->desc.media_type = strdup(mt)) || img_kvs_set(&r->desc.annotations, "io.ramp.compression", ann, e) < 0) {
		img_descriptor_free(&r->desc);
		err_errno(e, ENOMEM, "layer descriptor");
		goto out;
	}
	rc = 0;
out:
	if (w.a)
		archive_write_free(w.a);
	img_compressor_free(w.comp);
	if (rc < 0) {
		img_sha256_free(&w.diff);
		img_blob_writer_abort(&w.bw);
	}
	for (size_t i = 0; i < w.n_links; i++)
		free(w.links[i].path);
	free(w.links);
	free(w.buf);
	return rc;
}
