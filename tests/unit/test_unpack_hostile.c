/* test_unpack_hostile.c: the hostile layer corpus made by tests/hostile/gen.py,
 * one test per case. Each case is either refused with the expected message or
 * unpacked with everything inside the target; in both cases nothing outside
 * the target changes: the canary directory next to it (contents, modes, times,
 * link counts), the directory holding both, and /etc/passwd (whose link count
 * a hard link would raise). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "runtime/unpack.h"

static char *tmp;      /* holds canary/, corpus/ and the target root/ */
static char *corpus;
static struct json *doc;

/* ---- what "outside" looks like ---- */

struct snap {
	char *buf;
	size_t len;
	FILE *f;
};

static void snap_stat(FILE *f, const char *p)
{
	struct stat st;
	if (lstat(p, &st) < 0) {
		fprintf(f, "%s missing\n", p);
		return;
	}
	fprintf(f, "%s %o %u:%u %lld %lld.%09ld %lld.%09ld %lu %lu\n", p, st.st_mode, st.st_uid, st.st_gid,
		(long long)st.st_size, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, (long long)st.st_ctim.tv_sec,
		st.st_ctim.tv_nsec, (unsigned long)st.st_ino, (unsigned long)st.st_nlink);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* names in dir (sorted), each stat'ed; recursing when deep */
static void snap_dir(FILE *f, const char *dir, bool deep, const char *skip)
{
	DIR *d = opendir(dir);
	char *names[4096];
	size_t n = 0;
	snap_stat(f, dir);
	if (!d)
		return;
	for (struct dirent *de; (de = readdir(d)) && n < ARRAY_SIZE(names);)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && (!skip || strcmp(de->d_name, skip)))
			names[n++] = strdup(de->d_name);
	closedir(d);
	qsort(names, n, sizeof *names, cmp_names);
	for (size_t i = 0; i < n; i++) {
		char *p = fs_join(dir, names[i]);
		struct stat st;
		if (deep && lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
			snap_dir(f, p, true, NULL);
		else
			snap_stat(f, p);
		free(p);
		free(names[i]);
	}
}

static char *snapshot(void)
{
	char *buf = NULL, *canary = fs_join(tmp, "canary");
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	snap_dir(f, canary, true, NULL);
	snap_dir(f, tmp, false, "root");
	snap_stat(f, "/etc/passwd");
	fclose(f);
	free(canary);
	return buf;
}

/* ---- checks inside the target ---- */

/* "hex:…" names carry bytes that are not UTF-8 */
static char *case_path(const char *root, const char *p)
{
	char rel[8192];
	if (!strncmp(p, "hex:", 4)) {
		size_t n = 0;
		for (const char *h = p + 4; h[0] && h[1] && n + 1 < sizeof rel; h += 2) {
			unsigned v;
			sscanf(h, "%2x", &v);
			rel[n++] = (char)v;
		}
		rel[n] = '\0';
	} else {
		snprintf(rel, sizeof rel, "%s", p);
	}
	return fs_join(root, rel);
}

static void check_one(const char *name, const char *root, const struct json *ck)
{
	const char *type = json_get_str(ck, "type"), *content = json_get_str(ck, "content"),
		   *target = json_get_str(ck, "target");
	const struct json *mode = json_get(ck, "mode"), *opaque = json_get(ck, "opaque"), *xattrs = json_get(ck, "xattr");
	_cleanup_free_ char *p = case_path(root, json_get_str(ck, "path"));
	struct stat st;
	if (!strcmp(type, "absent")) {
		if (lstat(p, &st) == 0)
			fail_msg("%s: \"%s\" should not exist", name, p);
		return;
	}
	if (lstat(p, &st) < 0)
		fail_msg("%s: \"%s\" is missing", name, p);
	mode_t want = !strcmp(type, "file")	 ? S_IFREG
		      : !strcmp(type, "dir")	 ? S_IFDIR
		      : !strcmp(type, "symlink") ? S_IFLNK
		      : !strcmp(type, "blk")	 ? S_IFBLK
		      : !strcmp(type, "fifo")	 ? S_IFIFO
						 : S_IFCHR;
	if ((st.st_mode & S_IFMT) != want)
		fail_msg("%s: \"%s\" has type 0%o, expected %s", name, p, st.st_mode & S_IFMT, type);
	if (!strcmp(type, "whiteout") && st.st_rdev != makedev(0, 0))
		fail_msg("%s: \"%s\" is not a 0/0 whiteout", name, p);
	if (mode && (st.st_mode & 07777) != (mode_t)mode->i)
		fail_msg("%s: \"%s\" has mode %o, expected %o", name, p, st.st_mode & 07777, (unsigned)mode->i);
	if (content) {
		_cleanup_free_ char *got = NULL;
		size_t len;
		struct err e;
		if (fs_read_file(p, 1 << 20, &got, &len, &e) < 0)
			fail_msg("%s: %s", name, e.msg);
		if (len != strlen(content) || memcmp(got, content, len))
			fail_msg("%s: \"%s\" holds \"%s\", expected \"%s\"", name, p, got, content);
	}
	if (target) {
		char buf[8192];
		ssize_t n = readlink(p, buf, sizeof buf - 1);
		assert_true(n > 0);
		buf[n] = '\0';
		if (strcmp(buf, target))
			fail_msg("%s: \"%s\" points to \"%s\", expected \"%s\"", name, p, buf, target);
	}
	if (opaque) {
		char v[8] = {0};
		if (lgetxattr(p, "trusted.overlay.opaque", v, sizeof v - 1) != 1 || v[0] != 'y')
			fail_msg("%s: \"%s\" is not opaque", name, p);
	}
	for (size_t i = 0; xattrs && i < xattrs->obj.n; i++) {
		char v[256] = {0};
		ssize_t n = lgetxattr(p, xattrs->obj.k[i], v, sizeof v - 1);
		if (n < 0 || strcmp(v, xattrs->obj.v[i]->str.s))
			fail_msg("%s: \"%s\": xattr %s is \"%s\", expected \"%s\"", name, p, xattrs->obj.k[i], v,
				 xattrs->obj.v[i]->str.s);
	}
}

/* ---- one case ---- */

static int unpack_file(const char *file, const char *root, const struct json *c, enum rt_unpack_mode mode,
		       bool with_checks, struct rt_unpack_result *r, struct err *e)
{
	struct rt_unpack_opts o;
	struct img_digest digest, diff_id;
	const char *s;
	_cleanup_free_ char *path = fs_join(corpus, file);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0 && dfd >= 0);
	rt_unpack_opts_init(&o);
	o.mode = mode;
	if (with_checks) {
		o.compression = json_get_str(c, "compression");
		if ((s = json_get_str(c, "digest"))) {
			assert_int_equal(img_digest_parse(s, &digest, e), 0);
			o.digest = &digest;
		}
		if ((s = json_get_str(c, "diff_id"))) {
			assert_int_equal(img_digest_parse(s, &diff_id, e), 0);
			o.diff_id = &diff_id;
		}
		if (json_get(c, "size"))
			o.size = json_get(c, "size")->i;
		if (json_get(c, "max_bytes"))
			o.max_bytes = (uint64_t)json_get(c, "max_bytes")->i;
		if (json_get(c, "max_entries"))
			o.max_entries = (uint64_t)json_get(c, "max_entries")->i;
	}
	return rt_unpack(fd, dfd, &o, r, e);
}

static void run_case(void **state)
{
	const struct json *c = *state;
	const char *name = json_get_str(c, "name"), *error = json_get_str(c, "error"), *lower = json_get_str(c, "lower");
	enum rt_unpack_mode mode = strcmp(json_get_str(c, "mode"), "flatten") ? RT_UNPACK_OVERLAY : RT_UNPACK_FLATTEN;
	_cleanup_free_ char *root = fs_join(tmp, "root");
	struct rt_unpack_result r;
	struct err e;
	assert_int_equal(fs_rm_rf(root, &e), 0);
	assert_int_equal(mkdir(root, 0755), 0);
	_cleanup_free_ char *before = snapshot();
	if (lower && unpack_file(lower, root, c, RT_UNPACK_FLATTEN, false, &r, &e) < 0)
		fail_msg("%s: lower layer: %s", name, e.msg);
	int rc = unpack_file(json_get_str(c, "file"), root, c, mode, true, &r, &e);
	if (error) {
		if (rc == 0)
			fail_msg("%s: accepted, expected an error with \"%s\"", name, error);
		if (!strstr(e.msg, error))
			fail_msg("%s: error \"%s\" does not say \"%s\"", name, e.msg, error);
		if (getenv("RAMP_TEST_VERBOSE"))
			print_message("%s: %s\n", name, e.msg);
	} else if (rc < 0) {
		fail_msg("%s: %s", name, e.msg);
	}
	const struct json *checks = json_get(c, "checks");
	for (size_t i = 0; i < checks->arr.n; i++)
		check_one(name, root, checks->arr.v[i]);
	if (json_get(c, "devices"))
		assert_true(r.has_devices);
	_cleanup_free_ char *after = snapshot();
	if (strcmp(before, after))
		fail_msg("%s: something outside the target changed:\nbefore:\n%s\nafter:\n%s", name, before, after);
}

static const char *gen_script(void)
{
	const char *src = getenv("RAMP_SRCDIR");
	static char p[4096];
	snprintf(p, sizeof p, "%s/tests/hostile/gen.py", src ? src : ".");
	return p;
}

int main(void)
{
	struct err e;
	char cmd[8192];
	_cleanup_free_ char *buf = NULL;
	size_t len;
	if (!(tmp = fs_mkdtemp("ramp-hostile", &e)))
		return fprintf(stderr, "%s\n", e.msg), 1;
	_cleanup_free_ char *canary = fs_join(tmp, "canary");
	_cleanup_free_ char *keep = fs_join(canary, "keep");
	corpus = fs_join(tmp, "corpus");
	if (mkdir(canary, 0755) < 0 || fs_write_atomic(keep, "canary\n", 7, 0644, &e) < 0)
		return fprintf(stderr, "canary: %s\n", e.msg), 1;
	snprintf(cmd, sizeof cmd, "python3 '%s' '%s' '%s' >/dev/null", gen_script(), corpus, canary);
	if (system(cmd) != 0)
		return fprintf(stderr, "%s failed\n", cmd), 1;
	_cleanup_free_ char *manifest = fs_join(corpus, "cases.json");
	if (fs_read_file(manifest, 16 << 20, &buf, &len, &e) < 0 || !(doc = json_parse(buf, len, &e)))
		return fprintf(stderr, "%s\n", e.msg), 1;
	const struct json *cases = json_get(doc, "cases");
	if (!cases || cases->arr.n < 30)
		return fprintf(stderr, "the corpus has fewer than 30 cases\n"), 1;
	struct CMUnitTest *tests = calloc(cases->arr.n, sizeof *tests);
	for (size_t i = 0; i < cases->arr.n; i++)
		tests[i] = (struct CMUnitTest){.name = json_get_str(cases->arr.v[i], "name"),
					       .test_func = run_case,
					       .initial_state = cases->arr.v[i]};
	int rc = _cmocka_run_group_tests("unpack_hostile", tests, cases->arr.n, NULL, NULL);
	free(tests);
	json_free(doc);
	fs_rm_rf(tmp, &e);
	free(corpus);
	free(tmp);
	return rc;
}
