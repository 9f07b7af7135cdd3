/* tar_build.h: layers made in memory for the unit tests of the unpacker and
 * the store (libarchive's pax writer, gzip and zstd filters). Header-only:
 * each test program includes it once. */
#ifndef RAMP_TEST_TAR_BUILD_H
#define RAMP_TEST_TAR_BUILD_H

#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

/* type: 'f' file, 'd' dir, 'l' symlink, 'h' hard link, 'c'/'b' devices, 'p' fifo */
struct tb_entry {
	const char *name;
	char type;
	unsigned mode;
	const char *data; /* file content */
	const char *link; /* symlink or hard link target */
	unsigned uid, gid;
	long long mtime;
	long nsec;
	unsigned major, minor;
	const char *xname; /* one xattr */
	const void *xval;
	size_t xlen;
	long long sparse_size; /* file: logical size, with data at sparse_at */
	long long sparse_at;
};

static void tb_fail(struct archive *a)
{
	fprintf(stderr, "tar_build: %s\n", archive_error_string(a));
	abort();
}

static void tb_entry_write(struct archive *a, const struct tb_entry *t)
{
	struct archive_entry *e = archive_entry_new();
	static const struct {
		char c;
		mode_t t;
	} types[] = {{'f', AE_IFREG}, {'h', AE_IFREG}, {'d', AE_IFDIR}, {'l', AE_IFLNK},
		     {'c', AE_IFCHR}, {'b', AE_IFBLK}, {'p', AE_IFIFO}};
	mode_t type = AE_IFREG;
	for (size_t i = 0; i < sizeof types / sizeof *types; i++)
		if (types[i].c == t->type)
			type = types[i].t;
	size_t len = t->data ? strlen(t->data) : 0;
	archive_entry_set_pathname(e, t->name);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, t->mode ? t->mode : (t->type == 'd' ? 0755 : 0644));
	archive_entry_set_uid(e, t->uid);
	archive_entry_set_gid(e, t->gid);
	archive_entry_set_mtime(e, t->mtime ? t->mtime : 1700000000, t->nsec);
	if (t->type == 'l')
		archive_entry_set_symlink(e, t->link);
	if (t->type == 'h') {
		archive_entry_set_hardlink(e, t->link);
		archive_entry_set_size(e, 0);
	}
	if (t->type == 'c' || t->type == 'b')
		archive_entry_set_rdev(e, makedev(t->major, t->minor));
	if (t->type == 'f') {
		archive_entry_set_size(e, t->sparse_size ? t->sparse_size : (la_int64_t)len);
		if (t->sparse_size)
			archive_entry_sparse_add_entry(e, t->sparse_at, (la_int64_t)len);
	}
	if (t->xname)
		archive_entry_xattr_add_entry(e, t->xname, t->xval, t->xlen);
	if (archive_write_header(a, e) != ARCHIVE_OK)
		tb_fail(a);
	if (t->sparse_size) { /* the writer takes the logical content and drops the hole */
		char *zeros = calloc(1, (size_t)t->sparse_at);
		if (archive_write_data(a, zeros, (size_t)t->sparse_at) != (la_ssize_t)t->sparse_at)
			tb_fail(a);
		free(zeros);
	}
	if (t->type == 'f' && len && archive_write_data(a, t->data, len) != (la_ssize_t)len)
		tb_fail(a);
	archive_entry_free(e);
}

/* A plain pax tar of the entries; *out is malloc'd. */
static void tb_tar(const struct tb_entry *ents, size_t n, char **out, size_t *len)
{
	FILE *f = open_memstream(out, len);
	struct archive *a = archive_write_new();
	archive_write_set_format_pax(a);
	if (archive_write_open_FILE(a, f) != ARCHIVE_OK)
		tb_fail(a);
	for (size_t i = 0; i < n; i++)
		tb_entry_write(a, &ents[i]);
	archive_write_close(a);
	archive_write_free(a);
	fclose(f);
}

/* buf compressed with "gzip" or "zstd"; *out is malloc'd. */
static void tb_compress(const char *buf, size_t len, const char *comp, char **out, size_t *olen)
{
	FILE *f = open_memstream(out, olen);
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	archive_write_set_format_raw(a);
	if (!strcmp(comp, "gzip"))
		archive_write_add_filter_gzip(a);
	else
		archive_write_add_filter_zstd(a);
	archive_write_set_bytes_in_last_block(a, 1);
	if (archive_write_open_FILE(a, f) != ARCHIVE_OK)
		tb_fail(a);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_pathname(e, "data");
	if (archive_write_header(a, e) != ARCHIVE_OK || archive_write_data(a, buf, len) != (la_ssize_t)len)
		tb_fail(a);
	archive_entry_free(e);
	archive_write_close(a);
	archive_write_free(a);
	fclose(f);
}

#endif
