/* replay.c: runs a fuzz target over its committed corpus, as a regression
 * test of `make check` (built with the normal compiler, and the sanitizers
 * under SANITIZE=1). Every file of tests/fuzz/corpus/NAME (or of the
 * directories and files given as arguments) is fed to LLVMFuzzerTestOneInput
 * in name order; the result is one TAP line. A crash, a sanitizer report or a
 * broken invariant ends the program with a non-zero status; the last
 * "replay:" line on stderr names the input that did it. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "tests/fuzz/fuzz.h"

#define REPLAY_MAX (16u << 20)

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int replay_file(const char *path, size_t *n)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	struct err e;
	if (fs_read_file(path, REPLAY_MAX, &buf, &len, &e) < 0) {
		fprintf(stderr, "replay: %s\n", e.msg);
		return -1;
	}
	fprintf(stderr, "replay: %s\n", path);
	/* an exact-size copy, so ASan sees reads past the end of the input */
	uint8_t *copy = malloc(len ? len : 1);
	if (!copy)
		return -1;
	memcpy(copy, buf, len);
	LLVMFuzzerTestOneInput(copy, len);
	free(copy);
	(*n)++;
	return 0;
}

static int replay_dir(const char *dir, size_t *n)
{
	DIR *d = opendir(dir);
	char **names = NULL;
	size_t k = 0;
	int rc = 0;
	if (!d) {
		fprintf(stderr, "replay: open \"%s\": %m\n", dir);
		return -1;
	}
	for (struct dirent *de; (de = readdir(d));) {
		if (de->d_name[0] == '.')
			continue;
		char **grown = realloc(names, (k + 1) * sizeof *names);
		if (!grown || !(grown[k] = strdup(de->d_name))) {
			names = grown ? grown : names;
			rc = -1;
			break;
		}
		names = grown;
		k++;
	}
	closedir(d);
	qsort(names, k, sizeof *names, cmp_names);
	for (size_t i = 0; i < k; i++) {
		_cleanup_free_ char *p = fs_join(dir, names[i]);
		if (rc == 0 && replay_file(p, n) < 0)
			rc = -1;
		free(names[i]);
	}
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	const char *src = getenv("RAMP_SRCDIR");
	char def[4096];
	size_t n = 0;
	int rc = 0;
	snprintf(def, sizeof def, "%s/tests/fuzz/corpus/%s", src ? src : ".", FUZZ_NAME);
	char *defv[] = {def};
	char **paths = argc > 1 ? argv + 1 : defv;
	int np = argc > 1 ? argc - 1 : 1;
	printf("1..1\n");
	for (int i = 0; i < np && rc == 0; i++) {
		struct stat st;
		if (stat(paths[i], &st) == 0 && S_ISDIR(st.st_mode))
			rc = replay_dir(paths[i], &n);
		else
			rc = replay_file(paths[i], &n);
	}
	if (rc == 0 && n == 0) {
		fprintf(stderr, "replay: no inputs in %s\n", paths[0]);
		rc = -1;
	}
	printf("%sok 1 - fuzz corpus %s: %zu inputs\n", rc ? "not " : "", FUZZ_NAME, n);
	return rc ? 1 : 0;
}
