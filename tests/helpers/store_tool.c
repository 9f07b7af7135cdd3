/* store_tool.c: a small driver of the host store and the layer unpacker for
 * the integration tests and the benchmark (the store has no ramp verb: rampd
 * is its user).
 *
 *   store_tool import STORE IMAGE [--no-sync]   import; prints the layer dirs, lowest first
 *   store_tool open STORE                         open (repairs), list images and layers
 *   store_tool flatten STORE MANIFEST DIR         apply the image's layers onto DIR
 *   store_tool unpack BLOB DIR [overlay|flatten] [gzip|zstd|plain]
 *   store_tool switch STORE APP MANIFEST [--pin]  make MANIFEST the app's current version
 *   store_tool gc STORE [KEEP [IN_USE...]]
 * Exit status 0 on success, 1 with the error on stderr. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/image.h"
#include "lib/cleanup.h"
#include "lib/log.h"
#include "runtime/app_state.h"
#include "runtime/gc.h"
#include "runtime/store.h"
#include "runtime/unpack.h"

static int fail(const struct err *e)
{
	fprintf(stderr, "store_tool: %s\n", e->msg);
	return 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: store_tool import|open|flatten|unpack|switch|gc ... (see the source)\n");
	return 2;
}

static int cmd_import(int argc, char **argv)
{
	struct rt_store s;
	struct img_image img;
	struct rt_store_image im;
	struct err e;
	if (argc < 4)
		return usage();
	if (rt_store_open(&s, argv[2], &e) < 0)
		return fail(&e);
	s.sync = !(argc > 4 && !strcmp(argv[4], "--no-sync"));
	if (img_image_open(argv[3], NULL, NULL, &img, &e) < 0) {
		rt_store_close(&s);
		return fail(&e);
	}
	int rc = rt_store_import(&s, &img, &im, &e);
	img_image_close(&img);
	rt_store_close(&s);
	if (rc < 0)
		return fail(&e);
	printf("image %s\n", im.manifest.s);
	for (size_t i = 0; i < im.n_layer_dirs; i++)
		printf("%s\n", im.layer_dirs[i]);
	rt_store_image_free(&im);
	return 0;
}

static void list(const char *root, const char *sub)
{
	_cleanup_free_ char *p = fs_join(root, sub);
	_cleanup_closedir_ DIR *d = p ? opendir(p) : NULL;
	for (struct dirent *de; d && (de = readdir(d));)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			printf("%s/%s\n", sub, de->d_name);
}

static int cmd_open(int argc, char **argv)
{
	struct rt_store s;
	struct err e;
	if (argc < 3)
		return usage();
	if (rt_store_open(&s, argv[2], &e) < 0)
		return fail(&e);
	list(argv[2], "images");
	list(argv[2], "layers");
	list(argv[2], "blobs/sha256");
	list(argv[2], "ingest");
	rt_store_close(&s);
	return 0;
}

static int cmd_flatten(int argc, char **argv)
{
	struct rt_store s;
	struct rt_store_image im;
	struct img_digest d;
	struct err e;
	if (argc < 5)
		return usage();
	if (img_digest_parse(argv[3], &d, &e) < 0 || rt_store_open(&s, argv[2], &e) < 0)
		return fail(&e);
	int rc = rt_store_image_get(&s, &d, &im, &e);
	if (rc == 0) {
		rc = rt_store_flatten(&s, &im, argv[4], &e);
		rt_store_image_free(&im);
	}
	rt_store_close(&s);
	return rc < 0 ? fail(&e) : 0;
}

static int cmd_unpack(int argc, char **argv)
{
	struct rt_unpack_opts o;
	struct rt_unpack_result r;
	struct err e;
	if (argc < 4)
		return usage();
	rt_unpack_opts_init(&o);
	for (int i = 4; i < argc; i++) {
		if (!strcmp(argv[i], "flatten"))
			o.mode = RT_UNPACK_FLATTEN;
		else if (!strcmp(argv[i], "gzip") || !strcmp(argv[i], "zstd"))
			o.compression = argv[i];
		else if (strcmp(argv[i], "overlay") && strcmp(argv[i], "plain"))
			return usage();
	}
	_cleanup_close_ int fd = open(argv[2], O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int dfd = open(argv[3], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || dfd < 0) {
		perror("store_tool: open");
		return 1;
	}
	if (rt_unpack(fd, dfd, &o, &r, &e) < 0)
		return fail(&e);
	printf("entries %llu size %llu diff_id %s devices %d\n", (unsigned long long)r.entries,
	       (unsigned long long)r.tar_size, r.diff_id.s, r.has_devices);
	return 0;
}

static int cmd_switch(int argc, char **argv)
{
	struct rt_store s;
	struct rt_app_state st;
	struct rt_app_version v = {.since = 1};
	struct err e;
	if (argc < 5)
		return usage();
	v.image = argv[4]; /* the digest doubles as the reference here */
	if (img_digest_parse(argv[4], &v.manifest, &e) < 0)
		return fail(&e);
	if (rt_store_open(&s, argv[2], &e) < 0)
		return fail(&e);
	int rc = rt_app_state_read(&s, argv[3], &st, &e);
	if (rc == 0) {
		if (argc > 5 && !strcmp(argv[5], "--pin")) {
			struct rt_app_version *p = realloc(st.pinned, (st.n_pinned + 1) * sizeof *p);
			rc = p ? rt_app_version_copy(&p[st.n_pinned], &v, &e) : -1;
			if (p) {
				st.pinned = p;
				st.n_pinned += rc == 0;
			}
		} else {
			rc = rt_app_state_switch(&st, &v, &e);
		}
		st.generation++;
		if (rc == 0)
			rc = rt_app_state_write(&s, &st, &e);
		rt_app_state_free(&st);
	}
	rt_store_close(&s);
	return rc < 0 ? fail(&e) : 0;
}

static int cmd_gc(int argc, char **argv)
{
	struct rt_store s;
	struct rt_gc_opts o;
	struct rt_gc_stats st;
	struct err e;
	struct img_digest in_use[16];
	if (argc < 3)
		return usage();
	rt_gc_opts_init(&o);
	if (argc > 3)
		o.keep = (unsigned)atoi(argv[3]);
	for (int i = 4; i < argc && o.n_in_use < 16; i++)
		if (img_digest_parse(argv[i], &in_use[o.n_in_use++], &e) < 0)
			return fail(&e);
	o.in_use = in_use;
	if (rt_store_open(&s, argv[2], &e) < 0)
		return fail(&e);
	int rc = rt_gc(&s, &o, &st, &e);
	rt_store_close(&s);
	if (rc < 0)
		return fail(&e);
	printf("removed images %zu layers %zu blobs %zu ingests %zu kept %zu\n", st.images, st.layers, st.blobs,
	       st.ingests, st.kept_images);
	return 0;
}

int main(int argc, char **argv)
{
	log_init("store_tool");
	if (getenv("STORE_TOOL_DEBUG"))
		log_set_level(LOG_LVL_DEBUG);
	if (argc < 2)
		return usage();
	if (!strcmp(argv[1], "import"))
		return cmd_import(argc, argv);
	if (!strcmp(argv[1], "open"))
		return cmd_open(argc, argv);
	if (!strcmp(argv[1], "flatten"))
		return cmd_flatten(argc, argv);
	if (!strcmp(argv[1], "unpack"))
		return cmd_unpack(argc, argv);
	if (!strcmp(argv[1], "switch"))
		return cmd_switch(argc, argv);
	if (!strcmp(argv[1], "gc"))
		return cmd_gc(argc, argv);
	return usage();
}
