/* scratch.h: a scratch directory for the targets that write files (layer
 * and archive extraction), and the check that nothing outside it changed.
 *
 *   BASE/canary/…       files an escaping entry would reach ("../../../canary")
 *   BASE/input/         where a target may put its input as a file
 *   BASE/a/b/root/      the scratch directory, emptied after every input
 *
 * After each input everything under BASE but root's content (and input/) is
 * compared, by name, type, mode, owner, size, times and link count, with how
 * it was at the start, and so is /etc/passwd (whose link count a hard link to
 * it would raise). */
#ifndef RAMP_FUZZ_SCRATCH_H
#define RAMP_FUZZ_SCRATCH_H

#include <dirent.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "tests/fuzz/fuzz.h"

struct scratch {
	char *base, *root, *input;
	char *before; /* the snapshot of what must not change */
};

static void snap_stat(FILE *f, const char *p)
{
	struct stat st;
	if (lstat(p, &st) < 0) {
		fprintf(f, "%s missing\n", p);
		return;
	}
	fprintf(f, "%s %o %u:%u %lld %lld.%09ld %lld.%09ld %lu\n", p, st.st_mode, st.st_uid, st.st_gid,
		(long long)st.st_size, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, (long long)st.st_ctim.tv_sec,
		st.st_ctim.tv_nsec, (unsigned long)st.st_nlink);
}

static int snap_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* dir and what is in it, sorted; not into root or input, whose content changes */
static void snap_tree(FILE *f, const struct scratch *s, const char *dir)
{
	char *names[64];
	size_t n = 0;
	struct stat st;
	if (!strcmp(dir, s->root) || !strcmp(dir, s->input)) {
		/* its times and mode may change, not what it is */
		if (lstat(dir, &st) == 0)
			fprintf(f, "%s %o %lu\n", dir, st.st_mode & S_IFMT, (unsigned long)st.st_ino);
		return;
	}
	snap_stat(f, dir);
	DIR *d = opendir(dir);
	if (!d)
		return;
	for (struct dirent *de; (de = readdir(d));) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n == sizeof names / sizeof *names) {
			fprintf(f, "%s: more than %zu entries\n", dir, n);
			break;
		}
		names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof *names, snap_cmp);
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *p = fs_join(dir, names[i]);
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
			snap_tree(f, s, p);
		else
			snap_stat(f, p);
		free(names[i]);
	}
}

static char *snapshot(const struct scratch *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		abort();
	snap_tree(f, s, s->base);
	snap_stat(f, "/etc/passwd");
	fclose(f);
	return buf;
}

static void put(const char *dir, const char *name, const char *content)
{
	struct err e;
	_cleanup_free_ char *p = fs_join(dir, name);
	FUZZ_CHECK(fs_write_atomic(p, content, strlen(content), 0644, &e) == 0, "%s", e.msg);
}

static struct scratch scratch;

/* At a normal exit; after a finding the directory stays for a look. */
static void scratch_remove(void)
{
	struct err e;
	if (scratch.base && fs_rm_rf(scratch.base, &e) < 0)
		fprintf(stderr, "%s\n", e.msg);
	free(scratch.base);
	free(scratch.root);
	free(scratch.input);
	free(scratch.before);
}

/* Made once per process, in $TMPDIR or /var/tmp. */
static struct scratch *scratch_get(const char *what)
{
	struct scratch *s = &scratch;
	struct err e;
	if (s->base)
		return s;
	FUZZ_CHECK((s->base = fs_mkdtemp(what, &e)), "%s", e.msg);
	atexit(scratch_remove);
	_cleanup_free_ char *canary = fs_join(s->base, "canary"), *sub = fs_join(canary, "sub"),
			    *ab = fs_join(s->base, "a/b");
	s->root = fs_join(s->base, "a/b/root");
	s->input = fs_join(s->base, "input");
	FUZZ_CHECK(fs_mkdir_p(sub, 0755, &e) == 0 && fs_mkdir_p(s->root, 0755, &e) == 0 &&
			   fs_mkdir_p(s->input, 0755, &e) == 0,
		   "%s", e.msg);
	put(canary, "keep", "canary\n");
	put(sub, "x", "x\n");
	put(ab, "sibling", "sibling\n");
	s->before = snapshot(s);
	return s;
}

/* After an input: nothing outside root changed, and root is empty again. */
static void scratch_check(struct scratch *s)
{
	struct err e;
	_cleanup_free_ char *after = snapshot(s);
	FUZZ_CHECK(!strcmp(s->before, after), "something outside %s changed:\nbefore:\n%s\nafter:\n%s", s->root,
		   s->before, after);
	FUZZ_CHECK(fs_rm_rf(s->root, &e) == 0, "cannot clean up: %s", e.msg);
	FUZZ_CHECK(mkdir(s->root, 0755) == 0, "mkdir \"%s\": %m", s->root);
	free(s->before);
	s->before = snapshot(s); /* root's parent got a new mtime */
}

#endif
