/* fuzz_docker_archive.c: the manifest.json of a docker archive (`docker
 * save`, `podman save`; image/docker_archive.h), as extraction leaves it in a
 * directory beside the files it names. The input is manifest.json; the
 * directory also holds a config (as c.json, sub/c.json and under its digest's
 * name <hex>.json) whose diff_ids are those of two plain layers l1.tar and
 * l2.tar, and sub/l1.tar, a hard link to l1.tar.
 *
 * Invariants: nothing outside the scratch directory changes (scratch.h); an
 * accepted archive is a layout whose index.json entries each open as an
 * image with a layer blob per layer, and whose rewritten manifest.json is
 * accepted again giving the same index.json. */
#include <fcntl.h>

#include "image/docker_archive.h"
#include "image/image.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "tests/fuzz/scratch.h"

static const char L1[] = "layer one, plain\n", L2[] = "layer two, plain\n";

static void fixture(const char *root)
{
	struct img_digest d1, d2, dc;
	char cfg[512], name[80];
	img_sha256_buf(L1, sizeof L1 - 1, &d1);
	img_sha256_buf(L2, sizeof L2 - 1, &d2);
	snprintf(cfg, sizeof cfg,
		 "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Cmd\":[\"/bin/sh\"]},"
		 "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\",\"%s\"]}}",
		 d1.s, d2.s);
	img_sha256_buf(cfg, strlen(cfg), &dc);
	snprintf(name, sizeof name, "%s.json", img_digest_hex(&dc));
	_cleanup_free_ char *sub = fs_join(root, "sub"), *l1 = fs_join(root, "l1.tar"),
			    *sl1 = fs_join(root, "sub/l1.tar");
	FUZZ_CHECK(mkdir(sub, 0755) == 0, "mkdir: %m");
	put(root, "l1.tar", L1);
	put(root, "l2.tar", L2);
	put(root, "c.json", cfg);
	put(root, name, cfg);
	put(sub, "c.json", cfg);
	FUZZ_CHECK(link(l1, sl1) == 0, "link: %m");
}

static char *read_index(const char *root)
{
	struct err e;
	_cleanup_free_ char *p = fs_join(root, "index.json");
	char *buf = NULL;
	size_t len;
	FUZZ_CHECK(fs_read_file(p, 16u << 20, &buf, &len, &e) == 0, "index.json: %s", e.msg);
	return buf;
}

static void check_layout(const char *root)
{
	struct img_layout l;
	struct img_index x;
	struct err e;
	FUZZ_CHECK(img_layout_open(&l, root, &e) == 0, "accepted, but no layout: %s", e.msg);
	FUZZ_CHECK(img_layout_read_index(&l, &x, &e) == 0, "accepted, but index.json: %s", e.msg);
	FUZZ_CHECK(x.n > 0, "accepted, but no image in index.json");
	for (size_t i = 0; i < x.n; i++) {
		struct img_image img;
		FUZZ_CHECK(img_image_open_desc(root, &x.manifests[i], NULL, &img, &e) == 0, "image %zu does not open: %s", i,
			   e.msg);
		FUZZ_CHECK(img.manifest.n_layers == img.config.n_diff_ids, "image %zu: %zu layers, %zu diff_ids", i,
			   img.manifest.n_layers, img.config.n_diff_ids);
		for (size_t k = 0; k < img.manifest.n_layers; k++) {
			_cleanup_free_ char *p = img_layout_blob_path(&img.layout, &img.manifest.layers[k].digest);
			struct stat st;
			FUZZ_CHECK(p && stat(p, &st) == 0 && st.st_size == img.manifest.layers[k].size,
				   "image %zu: layer %zu has no blob of its size", i, k);
		}
		img_image_close(&img);
	}
	img_index_free(&x);
	img_layout_close(&l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scratch *s = scratch_get("ramp-fuzz-docker-archive");
	struct err e;
	fuzz_quiet();
	fixture(s->root);
	_cleanup_free_ char *mp = fs_join(s->root, "manifest.json");
	{
		_cleanup_close_ int fd = open(mp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		FUZZ_CHECK(fd >= 0 && fs_write_all(fd, data, size, mp, &e) == 0, "write \"%s\": %m", mp);
	}
	if (img_docker_archive_convert(s->root, "fuzz", &e) == 0) {
		check_layout(s->root);
		/* the manifest.json written for docker load converts again to the same index */
		_cleanup_free_ char *first = read_index(s->root), *again = NULL;
		FUZZ_CHECK(img_docker_archive_convert(s->root, "fuzz", &e) == 0, "rewritten manifest.json refused: %s",
			   e.msg);
		again = read_index(s->root);
		FUZZ_CHECK(!strcmp(first, again), "index.json changed on a second conversion:\n%s\n%s", first, again);
	} else {
		FUZZ_CHECK(e.msg[0], "docker archive refused without a message");
	}
	scratch_check(s);
	return 0;
}
