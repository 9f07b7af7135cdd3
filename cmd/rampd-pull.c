/* rampd-pull.c: main() of rampd's pull helper. rampd starts one per pull
 * (runtime/rampd/daemon_pull.c) so that the daemon itself never loads the registry
 * client's and unpacker's libraries; the work is runtime/host_pull.c.
 *
 * Its conversation with rampd, a line at a time:
 *   stdout  "downloaded BYTES"  all blobs are here; waiting to import
 *   stdin   "import"            go ahead (rampd holds its store mutex now);
 *                               end of file instead: stop, keep the download
 *   stdout  "imported"          the image is in the store (rampd lets go of the mutex)
 *   stdout  "bytes BYTES", then "error MESSAGE"   the pull failed (exit status 1)
 * With --records the image's test records are kept in the store with it (for
 * rampd's trust gate), also when the image was there already.
 * The store's lock is descriptor --lock-fd, inherited from rampd. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/log.h"
#include "runtime/host_pull.h"
#include "runtime/store.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: rampd-pull --store DIR --lock-fd N --dir DIR [--app NAME] [--mirror HOST]...\n"
		   "                  [--insecure HOST]... [--cacert FILE] [--auth-file FILE] [--log-level N]\n"
		   "                  [--records] [--limit KEY=VALUE]...\n"
		   "                  --rampd-version V IMAGE@DIGEST\n\n"
		   "rampd's pull helper: rampd starts it for each pull, holding the store's lock (docs/ARCHITECTURE.md).\n"
		   "It pulls IMAGE (mirrors first) into DIR, tells rampd on stdout, waits for \"import\" on stdin,\n"
		   "and imports the image into the store. It is not meant to be run by hand.\n");
}

static int say_downloaded(void *ctx, uint64_t bytes, struct err *e)
{
	(void)ctx;
	char line[16];
	printf("downloaded %llu\n", (unsigned long long)bytes);
	if (fflush(stdout) != 0)
		return err_sys(e, "tell rampd");
	if (!fgets(line, sizeof line, stdin) || strcmp(line, "import\n") != 0)
		return err_set(e, "called off by rampd before the import");
	return 0;
}

static void say_imported(void *ctx)
{
	(void)ctx;
	printf("imported\n");
	fflush(stdout);
}

int main(int argc, char **argv)
{
	/* as many as the arguments: NULL-terminated lists */
	_cleanup_free_ const char **mirrors = calloc((size_t)argc, sizeof *mirrors);
	_cleanup_free_ const char **insecure = calloc((size_t)argc, sizeof *insecure);
	size_t n_mirrors = 0, n_insecure = 0;
	uint64_t bytes = 0;
	const char *root = NULL, *version = NULL;
	int lock_fd = -1;
	struct rt_host_pull p = {.app = "-", .mirrors = mirrors, .insecure = insecure, .before_import = say_downloaded, .imported = say_imported};
	struct err e = {0};
	struct img_limits limits;
	img_limits_init(&limits);
	log_init("rampd-pull");
	if (!mirrors || !insecure) {
		fprintf(stderr, "rampd-pull: out of memory\n");
		return 1;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int bad = 0;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "--version")) {
			printf("rampd-pull %s\n", RAMP_VERSION);
			return 0;
		} else if (!strcmp(a, "--records")) {
			p.records = true;
			continue;
		} else if (a[0] != '-' && !p.image) {
			p.image = a;
			continue;
		} else if (!v) {
			bad = 1;
		} else if (!strcmp(a, "--store")) {
			root = v;
		} else if (!strcmp(a, "--lock-fd")) {
			lock_fd = atoi(v);
		} else if (!strcmp(a, "--dir")) {
			p.dir = v;
		} else if (!strcmp(a, "--app")) {
			p.app = v;
		} else if (!strcmp(a, "--mirror")) {
			mirrors[n_mirrors++] = v;
		} else if (!strcmp(a, "--insecure")) {
			insecure[n_insecure++] = v;
		} else if (!strcmp(a, "--cacert")) {
			p.cacert = v;
		} else if (!strcmp(a, "--auth-file")) {
			p.auth_file = v;
		} else if (!strcmp(a, "--log-level")) {
			log_set_level((enum log_level)atoi(v));
		} else if (!strcmp(a, "--rampd-version")) {
			version = v;
		} else if (!strcmp(a, "--limit")) {
			if (img_limits_set(&limits, v, &e) < 0) {
				fprintf(stderr, "rampd-pull: %s\n", e.msg);
				return 2;
			}
		} else {
			bad = 1;
		}
		if (bad) {
			fprintf(stderr, "rampd-pull: bad or missing argument at \"%s\"\n", a);
			usage(stderr);
			return 2;
		}
		i++;
	}
	if (!root || lock_fd < 3 || !p.dir || !p.image || !version) {
		fprintf(stderr, "rampd-pull: --store, --lock-fd (3 or more), --dir, --rampd-version and IMAGE are needed\n");
		usage(stderr);
		return 2;
	}
	struct rt_store s;
	int rc = -1;
	if (strcmp(version, RAMP_VERSION) != 0)
		err_set(&e, "rampd-pull is version %s but rampd is %s: restart rampd after an upgrade", RAMP_VERSION,
			version);
	else if (rt_store_open_held(&s, root, lock_fd, &e) == 0) {
		s.limits = limits;
		rc = rt_host_pull(&s, &p, &bytes, &e);
		rt_store_close(&s);
	}
	if (rc < 0) {
		/* one line: rampd reads the message up to its end */
		for (char *c = e.msg; *c; c++)
			if (*c == '\n')
				*c = ' ';
		printf("bytes %llu\nerror %s\n", (unsigned long long)bytes, e.msg);
		fflush(stdout);
		return 1;
	}
	return 0;
}
