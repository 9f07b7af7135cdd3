/* test_unpack.c: layer extraction (runtime/unpack) with real content: every
 * entry type and attribute, both whiteout forms, layers applied in sequence,
 * symlinked parents, directory times, sparse files, compression and digests.
 * The hostile inputs are in test_unpack_hostile.c. Needs root (devices,
 * owners, trusted.* xattrs), as rampd does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "runtime/unpack.h"
#include "tests/unit/tar_build.h"

static char *tmp;

static char *fresh(const char *name)
{
	struct err e;
	char *p = fs_join(tmp, name);
	assert_int_equal(fs_rm_rf(p, &e), 0);
	assert_int_equal(mkdir(p, 0755), 0);
	return p;
}

static int unpack_buf(const char *buf, size_t len, const char *dir, const struct rt_unpack_opts *o,
		      struct rt_unpack_result *r, struct err *e)
{
	_cleanup_close_ int fd = memfd_create("layer", MFD_CLOEXEC);
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0 && dfd >= 0);
	assert_int_equal(fs_write_all(fd, buf, len, "memfd", e), 0);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return rt_unpack(fd, dfd, o, r, e);
}

/* Build and unpack entries; fails the test on an error. */
static void unpack_ents(const struct tb_entry *ents, size_t n, const char *dir, enum rt_unpack_mode mode,
			struct rt_unpack_result *r)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	struct rt_unpack_opts o;
	struct rt_unpack_result ignored;
	struct err e;
	tb_tar(ents, n, &buf, &len);
	rt_unpack_opts_init(&o);
	o.mode = mode;
	if (unpack_buf(buf, len, dir, &o, r ? r : &ignored, &e) < 0)
		fail_msg("unpack: %s", e.msg);
}

static struct stat must_lstat(const char *dir, const char *rel)
{
	_cleanup_free_ char *p = fs_join(dir, rel);
	struct stat st;
	if (lstat(p, &st) < 0)
		fail_msg("\"%s\" is missing", p);
	return st;
}

static bool exists(const char *dir, const char *rel)
{
	_cleanup_free_ char *p = fs_join(dir, rel);
	return fs_exists(p);
}

static void assert_content(const char *dir, const char *rel, const char *want)
{
	_cleanup_free_ char *p = fs_join(dir, rel);
	_cleanup_free_ char *got = NULL;
	size_t len;
	struct err e;
	if (fs_read_file(p, 1 << 20, &got, &len, &e) < 0)
		fail_msg("%s", e.msg);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(got, want, len);
}

static void assert_xattr(const char *dir, const char *rel, const char *name, const void *val, size_t len)
{
	_cleanup_free_ char *p = fs_join(dir, rel);
	char buf[256];
	ssize_t n = lgetxattr(p, name, buf, sizeof buf);
	if (n < 0)
		fail_msg("\"%s\": no xattr %s", p, name);
	assert_int_equal((size_t)n, len);
	assert_memory_equal(buf, val, len);
}

/* v2 file capabilities: cap_net_bind_service permitted and effective */
static const unsigned char caps[20] = {0x01, 0x00, 0x00, 0x02, 0x00, 0x04};

static void test_entry_types(void **state)
{
	(void)state;
	_cleanup_free_ char *d = fresh("types");
	struct rt_unpack_result r;
	const struct tb_entry ents[] = {
		{.name = "./", .type = 'd', .mode = 0751, .mtime = 1000},
		{.name = "etc/", .type = 'd', .mtime = 2000},
		{.name = "etc/hosts", .type = 'f', .data = "127.0.0.1 localhost\n", .mtime = 3000, .nsec = 123456789},
		{.name = "bin/su", .type = 'f', .data = "#!/bin/sh\n", .mode = 04755},
		{.name = "bin/wall", .type = 'f', .data = "x", .mode = 02755, .gid = 5},
		{.name = "tmp/", .type = 'd', .mode = 01777},
		{.name = "home/user/", .type = 'd', .mode = 0700, .uid = 1000, .gid = 1000},
		{.name = "home/user/file", .type = 'f', .data = "mine", .mode = 0600, .uid = 1000, .gid = 1000},
		{.name = "usr/lib/", .type = 'd'},
		{.name = "lib", .type = 'l', .link = "usr/lib", .uid = 7, .gid = 8, .mtime = 4000},
		{.name = "lib/libc.so", .type = 'f', .data = "elf"},
		{.name = "bin/sh", .type = 'f', .data = "shell", .mode = 0755},
		{.name = "bin/sh2", .type = 'h', .link = "bin/sh"},
		{.name = "dev/null", .type = 'c', .mode = 0666, .major = 1, .minor = 3},
		{.name = "dev/sda", .type = 'b', .mode = 0660, .major = 8, .minor = 0, .gid = 6},
		{.name = "run/fifo", .type = 'p', .mode = 0600},
		{.name = "empty/", .type = 'd', .mode = 0700},
		{.name = "bin/ping", .type = 'f', .data = "p", .mode = 0755, .xname = "security.capability",
		 .xval = caps, .xlen = sizeof caps},
		{.name = "notes", .type = 'f', .data = "n", .xname = "user.comment", .xval = "hello", .xlen = 5},
	};
	unpack_ents(ents, ARRAY_SIZE(ents), d, RT_UNPACK_OVERLAY, &r);
	assert_int_equal(r.entries, ARRAY_SIZE(ents));
	assert_true(r.has_devices);

	struct stat st = must_lstat(d, ".");
	assert_int_equal(st.st_mode & 07777, 0751);
	assert_int_equal(st.st_mtim.tv_sec, 1000);
	assert_content(d, "etc/hosts", "127.0.0.1 localhost\n");
	st = must_lstat(d, "etc/hosts");
	assert_int_equal(st.st_mtim.tv_sec, 3000);
	assert_int_equal(st.st_mtim.tv_nsec, 123456789);
	assert_int_equal(must_lstat(d, "etc").st_mtim.tv_sec, 2000);
	assert_int_equal(must_lstat(d, "bin/su").st_mode & 07777, 04755);
	st = must_lstat(d, "bin/wall");
	assert_int_equal(st.st_mode & 07777, 02755);
	assert_int_equal(st.st_gid, 5);
	assert_int_equal(must_lstat(d, "bin").st_mode & 07777, 0755); /* implicit parent */
	assert_int_equal(must_lstat(d, "tmp").st_mode & 07777, 01777);
	st = must_lstat(d, "home/user/file");
	assert_true(st.st_uid == 1000 && st.st_gid == 1000 && (st.st_mode & 07777) == 0600);
	st = must_lstat(d, "lib");
	assert_true(S_ISLNK(st.st_mode) && st.st_uid == 7 && st.st_gid == 8 && st.st_mtim.tv_sec == 4000);
	assert_content(d, "usr/lib/libc.so", "elf"); /* written through the symlink, inside */
	assert_int_equal(must_lstat(d, "bin/sh").st_ino, must_lstat(d, "bin/sh2").st_ino);
	assert_int_equal(must_lstat(d, "bin/sh").st_nlink, 2);
	st = must_lstat(d, "dev/null");
	assert_true(S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3) && (st.st_mode & 07777) == 0666);
	st = must_lstat(d, "dev/sda");
	assert_true(S_ISBLK(st.st_mode) && st.st_rdev == makedev(8, 0) && st.st_gid == 6);
	assert_true(S_ISFIFO(must_lstat(d, "run/fifo").st_mode));
	assert_true(S_ISDIR(must_lstat(d, "empty").st_mode));
	assert_xattr(d, "bin/ping", "security.capability", caps, sizeof caps);
	assert_xattr(d, "notes", "user.comment", "hello", 5);
}

static void test_overlay_form(void **state)
{
	(void)state;
	_cleanup_free_ char *d = fresh("overlay");
	char v[4];
	const struct tb_entry ents[] = {
		{.name = ".wh.gone", .type = 'f'},
		{.name = "d/", .type = 'd', .mode = 0700},
		{.name = "d/keep", .type = 'f', .data = "k"},
		{.name = "d/.wh..wh..opq", .type = 'f'},
		{.name = "x/y/.wh.z", .type = 'f'},
		{.name = "a/.wh..wh.plnk", .type = 'd'}, /* aufs metadata: ignored */
	};
	unpack_ents(ents, ARRAY_SIZE(ents), d, RT_UNPACK_OVERLAY, NULL);
	struct stat st = must_lstat(d, "gone");
	assert_true(S_ISCHR(st.st_mode) && st.st_rdev == 0);
	assert_true(S_ISCHR(must_lstat(d, "x/y/z").st_mode));
	assert_int_equal(must_lstat(d, "x/y").st_mode & 07777, 0755);
	assert_content(d, "d/keep", "k");
	_cleanup_free_ char *dd = fs_join(d, "d");
	assert_int_equal(lgetxattr(dd, "trusted.overlay.opaque", v, sizeof v), 1);
	assert_int_equal(v[0], 'y');
	assert_false(exists(d, ".wh.gone"));
	assert_false(exists(d, "a/.wh..wh.plnk"));
}

static void test_flatten_sequence(void **state)
{
	(void)state;
	_cleanup_free_ char *d = fresh("flatten");
	const struct tb_entry l1[] = {
		{.name = "a/", .type = 'd'},	   {.name = "a/1", .type = 'f', .data = "1"},
		{.name = "a/2", .type = 'f', .data = "2"}, {.name = "b/sub/deep", .type = 'f', .data = "b"},
		{.name = "c", .type = 'f', .data = "c"},	   {.name = "keep", .type = 'f', .data = "kept"},
	};
	const struct tb_entry l2[] = {
		{.name = "a/new", .type = 'f', .data = "new"}, /* before the opaque marker: still kept */
		{.name = "a/.wh..wh..opq", .type = 'f'},
		{.name = ".wh.b", .type = 'f'},
		{.name = "c/", .type = 'd'},
		{.name = "c/f", .type = 'f', .data = "f"},
		{.name = ".wh.missing", .type = 'f'},
	};
	const struct tb_entry l3[] = {
		{.name = ".wh.a", .type = 'f'},
		{.name = "b/", .type = 'd', .mode = 0700},
	};
	unpack_ents(l1, ARRAY_SIZE(l1), d, RT_UNPACK_FLATTEN, NULL);
	unpack_ents(l2, ARRAY_SIZE(l2), d, RT_UNPACK_FLATTEN, NULL);
	assert_content(d, "a/new", "new");
	assert_false(exists(d, "a/1"));
	assert_false(exists(d, "a/2"));
	assert_false(exists(d, "b"));
	assert_true(S_ISDIR(must_lstat(d, "c").st_mode));
	assert_content(d, "c/f", "f");
	assert_content(d, "keep", "kept");
	unpack_ents(l3, ARRAY_SIZE(l3), d, RT_UNPACK_FLATTEN, NULL);
	assert_false(exists(d, "a"));
	assert_false(exists(d, "b/sub"));
	assert_int_equal(must_lstat(d, "b").st_mode & 07777, 0700);
}

static void test_symlinked_parents(void **state)
{
	(void)state;
	_cleanup_free_ char *d = fresh("parents");
	const struct tb_entry ents[] = {
		{.name = "usr/lib/", .type = 'd'},
		{.name = "lib", .type = 'l', .link = "usr/lib"},
		{.name = "abs", .type = 'l', .link = "/usr/lib"},
		{.name = "up", .type = 'l', .link = "../../../.."},
		{.name = "dangling", .type = 'l', .link = "/opt/new"},
		{.name = "lib/a", .type = 'f', .data = "a"},
		{.name = "abs/b", .type = 'f', .data = "b"},
		{.name = "up/usr/lib/c", .type = 'f', .data = "c"},
		{.name = "dangling/d", .type = 'f', .data = "d"},
	};
	unpack_ents(ents, ARRAY_SIZE(ents), d, RT_UNPACK_OVERLAY, NULL);
	assert_content(d, "usr/lib/a", "a");
	assert_content(d, "usr/lib/b", "b");
	assert_content(d, "usr/lib/c", "c");
	assert_content(d, "opt/new/d", "d");
	assert_true(S_ISLNK(must_lstat(d, "lib").st_mode));
}

static void test_replacing(void **state)
{
	(void)state;
	_cleanup_free_ char *d = fresh("replace");
	const struct tb_entry ents[] = {
		{.name = "a", .type = 'f', .data = "one"},
		{.name = "b", .type = 'h', .link = "a"},
		{.name = "a", .type = 'f', .data = "two"}, /* a new file: b keeps the old content */
		{.name = "s", .type = 'l', .link = "/etc/passwd"},
		{.name = "s", .type = 'f', .data = "file"},
		{.name = "same", .type = 'f', .data = "x"},
		{.name = "same", .type = 'h', .link = "same"},
	};
	unpack_ents(ents, ARRAY_SIZE(ents), d, RT_UNPACK_OVERLAY, NULL);
	assert_content(d, "a", "two");
	assert_content(d, "b", "one");
	assert_content(d, "s", "file");
	assert_content(d, "same", "x");
}

static void test_dir_times(void **state)
{
	(void)state;
	_cleanup_free_ char *d = fresh("times");
	const struct tb_entry ents[] = {
		{.name = "d/", .type = 'd', .mtime = 1000},
		{.name = "d/sub/", .type = 'd', .mtime = 1500},
		{.name = "d/sub/g", .type = 'f', .data = "g", .mtime = 3000},
		{.name = "d/f", .type = 'f', .data = "f", .mtime = 2000},
		{.name = "d/sub/.wh.h", .type = 'f'},
	};
	unpack_ents(ents, ARRAY_SIZE(ents), d, RT_UNPACK_OVERLAY, NULL);
	assert_int_equal(must_lstat(d, "d").st_mtim.tv_sec, 1000);
	assert_int_equal(must_lstat(d, "d/sub").st_mtim.tv_sec, 1500);
	assert_int_equal(must_lstat(d, "d/f").st_mtim.tv_sec, 2000);
}

static void test_implied_dirs(void **state)
{
	(void)state;
	_cleanup_free_ char *lower = fresh("implied-lower"), *upper = fresh("implied-upper"), *flat = fresh("implied-flat");
	const struct tb_entry base[] = {
		{.name = "home/", .type = 'd', .mode = 0751, .mtime = 900},
		{.name = "home/user/", .type = 'd', .mode = 0700, .uid = 1000, .gid = 1000, .mtime = 1000},
		{.name = "home/user/x", .type = 'f', .data = "x"},
	};
	const struct tb_entry change[] = {
		{.name = "home/user/.wh.x", .type = 'f'},
		{.name = "home/user/new", .type = 'f', .data = "n", .mtime = 5000},
		{.name = "other/dir/f", .type = 'f', .data = "o"},
	};
	unpack_ents(base, ARRAY_SIZE(base), lower, RT_UNPACK_OVERLAY, NULL);
	/* overlay: the implied directories look like the ones below */
	_cleanup_free_ char *buf = NULL;
	size_t len;
	struct rt_unpack_opts o;
	struct rt_unpack_result r;
	struct err e;
	_cleanup_close_ int lfd = open(lower, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	tb_tar(change, ARRAY_SIZE(change), &buf, &len);
	rt_unpack_opts_init(&o);
	o.lowers = &lfd;
	o.n_lowers = 1;
	if (unpack_buf(buf, len, upper, &o, &r, &e) < 0)
		fail_msg("%s", e.msg);
	struct stat st = must_lstat(upper, "home/user");
	assert_true((st.st_mode & 07777) == 0700 && st.st_uid == 1000 && st.st_gid == 1000);
	assert_int_equal(st.st_mtim.tv_sec, 1000);
	st = must_lstat(upper, "home");
	assert_true((st.st_mode & 07777) == 0751 && st.st_mtim.tv_sec == 900);
	assert_int_equal(must_lstat(upper, "other/dir").st_mode & 07777, 0755); /* nothing below: defaults */
	/* flatten: the directories of the tree keep their times */
	unpack_ents(base, ARRAY_SIZE(base), flat, RT_UNPACK_FLATTEN, NULL);
	unpack_ents(change, ARRAY_SIZE(change), flat, RT_UNPACK_FLATTEN, NULL);
	assert_false(exists(flat, "home/user/x"));
	assert_int_equal(must_lstat(flat, "home/user").st_mtim.tv_sec, 1000);
	assert_int_equal(must_lstat(flat, "home").st_mtim.tv_sec, 900);
	assert_int_equal(must_lstat(flat, "home/user/new").st_mtim.tv_sec, 5000);
}

/* A hard link to a file of a layer below (podman and umoci accept it): in
 * overlay form the file is copied into the layer; devices, names through a
 * symlink and names missing below are still refused. */
static void test_hardlink_to_lower(void **state)
{
	(void)state;
	_cleanup_free_ char *lower = fresh("hl-lower"), *upper = fresh("hl-upper");
	const struct tb_entry base[] = {
		{.name = "bin/", .type = 'd', .mode = 0755},
		{.name = "bin/tool", .type = 'f', .data = "tool body", .mode = 04750, .uid = 7, .gid = 8, .mtime = 1234,
		 .xname = "user.note", .xval = "v", .xlen = 1},
		{.name = "dev/", .type = 'd', .mode = 0755},
		{.name = "dev/null", .type = 'c', .mode = 0666, .major = 1, .minor = 3},
		{.name = "via", .type = 'l', .link = "bin"},
	};
	unpack_ents(base, ARRAY_SIZE(base), lower, RT_UNPACK_OVERLAY, NULL);
	_cleanup_close_ int lfd = open(lower, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct rt_unpack_opts o;
	struct rt_unpack_result r;
	struct err e;
	rt_unpack_opts_init(&o);
	o.lowers = &lfd;
	o.n_lowers = 1;
	const struct tb_entry good[] = {{.name = "usr/bin/tool2", .type = 'h', .link = "bin/tool"},
					{.name = "bin/tool", .type = 'h', .link = "/bin/tool"}};
	_cleanup_free_ char *buf = NULL;
	size_t len;
	tb_tar(good, ARRAY_SIZE(good), &buf, &len);
	if (unpack_buf(buf, len, upper, &o, &r, &e) < 0)
		fail_msg("%s", e.msg);
	for (int i = 0; i < 2; i++) {
		const char *n = i ? "bin/tool" : "usr/bin/tool2";
		assert_content(upper, n, "tool body");
		struct stat st = must_lstat(upper, n);
		assert_true(S_ISREG(st.st_mode) && (st.st_mode & 07777) == 04750 && st.st_uid == 7 && st.st_gid == 8);
		assert_int_equal(st.st_mtim.tv_sec, 1234);
		assert_xattr(upper, n, "user.note", "v", 1);
	}
	assert_int_equal(must_lstat(lower, "bin/tool").st_nlink, 1); /* the layer below is not touched */
	const struct {
		const char *link, *want;
	} bad[] = {{"dev/null", "does not exist"}, {"via/tool", "does not exist"}, {"bin/none", "does not exist"},
		   {"bin", "does not exist"}};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		_cleanup_free_ char *b = NULL, *up = fresh("hl-bad");
		const struct tb_entry ent[] = {{.name = "x", .type = 'h', .link = bad[i].link}};
		tb_tar(ent, 1, &b, &len);
		assert_int_equal(unpack_buf(b, len, up, &o, &r, &e), -1);
		if (!strstr(e.msg, bad[i].want))
			fail_msg("link to %s: %s", bad[i].link, e.msg);
		assert_false(exists(up, "x"));
	}
}

static void test_sparse(void **state)
{
	(void)state;
	_cleanup_free_ char *d = fresh("sparse");
	static char data[4096];
	memset(data, 'S', sizeof data - 1);
	const struct tb_entry ents[] = {
		{.name = "holes", .type = 'f', .data = data, .sparse_size = 1 << 20, .sparse_at = 512 << 10},
	};
	unpack_ents(ents, ARRAY_SIZE(ents), d, RT_UNPACK_OVERLAY, NULL);
	struct stat st = must_lstat(d, "holes");
	assert_int_equal(st.st_size, 1 << 20);
	assert_true(st.st_blocks * 512 < (1 << 20));
	_cleanup_free_ char *p = fs_join(d, "holes");
	_cleanup_close_ int fd = open(p, O_RDONLY | O_CLOEXEC);
	char buf[8];
	assert_int_equal(pread(fd, buf, 4, 512 << 10), 4);
	assert_memory_equal(buf, "SSSS", 4);
	assert_int_equal(pread(fd, buf, 4, 4096), 4);
	assert_memory_equal(buf, "\0\0\0\0", 4);
}

static void test_compression_and_digests(void **state)
{
	(void)state;
	const struct tb_entry ents[] = {
		{.name = "f", .type = 'f', .data = "content"},
		{.name = "g/h", .type = 'f', .data = "more content"},
	};
	_cleanup_free_ char *plain = NULL;
	size_t plen;
	struct img_digest diff_id, wrong;
	tb_tar(ents, ARRAY_SIZE(ents), &plain, &plen);
	img_sha256_buf(plain, plen, &diff_id);
	img_sha256_buf("x", 1, &wrong);
	static const char *const comps[] = {"", "gzip", "zstd"};
	for (size_t i = 0; i < ARRAY_SIZE(comps); i++) {
		_cleanup_free_ char *blob = NULL;
		size_t blen = plen;
		struct img_digest digest;
		struct rt_unpack_opts o;
		struct rt_unpack_result r;
		struct err e;
		if (*comps[i])
			tb_compress(plain, plen, comps[i], &blob, &blen);
		else
			blob = memcpy(malloc(plen), plain, plen);
		img_sha256_buf(blob, blen, &digest);
		rt_unpack_opts_init(&o);
		o.compression = comps[i];
		o.digest = &digest;
		o.diff_id = &diff_id;
		o.size = (int64_t)blen;
		_cleanup_free_ char *d = fresh("comp");
		if (unpack_buf(blob, blen, d, &o, &r, &e) < 0)
			fail_msg("%s: %s", comps[i], e.msg);
		assert_true(img_digest_eq(&r.digest, &digest));
		assert_true(img_digest_eq(&r.diff_id, &diff_id));
		assert_int_equal(r.tar_size, plen);
		assert_int_equal(r.blob_size, blen);
		assert_content(d, "g/h", "more content");
		/* a wrong diff_id is caught after the whole stream was read */
		o.diff_id = &wrong;
		_cleanup_free_ char *d2 = fresh("comp2");
		assert_int_equal(unpack_buf(blob, blen, d2, &o, &r, &e), -1);
		assert_non_null(strstr(e.msg, "not to its diff_id"));
	}
}

static void test_umask_and_limits(void **state)
{
	(void)state;
	_cleanup_free_ char *d = fresh("umask");
	const struct tb_entry ents[] = {
		{.name = "deep/dir/file", .type = 'f', .data = "x", .mode = 0644},
		{.name = "abcdefghijk", .type = 'f'},
	};
	mode_t old = umask(077);
	unpack_ents(ents, 1, d, RT_UNPACK_OVERLAY, NULL);
	umask(old);
	assert_int_equal(must_lstat(d, "deep/dir/file").st_mode & 07777, 0644);
	assert_int_equal(must_lstat(d, "deep").st_mode & 07777, 0755);

	_cleanup_free_ char *buf = NULL;
	size_t len;
	struct rt_unpack_opts o;
	struct rt_unpack_result r;
	struct err e;
	tb_tar(ents, ARRAY_SIZE(ents), &buf, &len);
	rt_unpack_opts_init(&o);
	o.max_path = 10;
	assert_int_equal(unpack_buf(buf, len, d, &o, &r, &e), -1);
	assert_non_null(strstr(e.msg, "more than the limit of 10"));
	rt_unpack_opts_init(&o);
	o.max_entries = 1;
	assert_int_equal(unpack_buf(buf, len, d, &o, &r, &e), -1);
	assert_non_null(strstr(e.msg, "more than the limit of 1 entries"));
}

static int setup(void **state)
{
	struct err e;
	(void)state;
	return (tmp = fs_mkdtemp("ramp-unpack", &e)) ? 0 : -1;
}

static int teardown(void **state)
{
	struct err e;
	(void)state;
	fs_rm_rf(tmp, &e);
	free(tmp);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_entry_types),	cmocka_unit_test(test_overlay_form),
		cmocka_unit_test(test_flatten_sequence), cmocka_unit_test(test_symlinked_parents),
		cmocka_unit_test(test_replacing),	cmocka_unit_test(test_dir_times),
		cmocka_unit_test(test_sparse),		cmocka_unit_test(test_compression_and_digests),
		cmocka_unit_test(test_umask_and_limits),	cmocka_unit_test(test_implied_dirs), cmocka_unit_test(test_hardlink_to_lower),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
