/* test_store.c: the host store (runtime/store, import, app_state, gc): chain
 * ids, import of real image layouts (layers unpacked once, shared between
 * images), crash repair on open, the lock, resumable ingest, app state files
 * (round trip, hostile input), and garbage collection rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "image/image.h"
#include "image/layout.h"
#include "image/record.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "runtime/app_state.h"
#include "runtime/gc.h"
#include "runtime/store.h"
#include "tests/unit/tar_build.h"

static char *tmp;

static char *path(const char *a, const char *b)
{
	char *p = fs_join(a, b);
	assert_non_null(p);
	return p;
}

static char *fresh(const char *name)
{
	struct err e;
	char *p = path(tmp, name);
	assert_int_equal(fs_rm_rf(p, &e), 0);
	return p;
}

struct layer_spec {
	const struct tb_entry *ents;
	size_t n;
	const char *comp; /* "", "gzip", "zstd" */
};

/* An OCI layout at dir holding one image of these layers; `label`
 * distinguishes images with the same layers. A wrong diff_id for layer
 * bad_layer (-1: none) makes a lying config. */
static void make_image(const char *dir, const struct layer_spec *ls, size_t n, const char *label, int bad_layer,
		       struct img_digest *manifest)
{
	struct img_layout l;
	struct img_config c = {0};
	struct img_manifest m = {0};
	struct img_index x = {0};
	struct img_descriptor md = {0};
	struct err e;
	char *buf;
	size_t len;
	assert_int_equal(img_layout_create(&l, dir, &e), 0);
	img_platform_host(&c.platform);
	assert_int_equal(img_kvs_set(&c.labels, "test", label, &e), 0);
	c.diff_ids = calloc(n + 1, sizeof *c.diff_ids);
	c.n_diff_ids = n;
	m.layers = calloc(n + 1, sizeof *m.layers);
	m.n_layers = n;
	for (size_t i = 0; i < n; i++) {
		char *plain, *blob;
		size_t plen, blen;
		tb_tar(ls[i].ents, ls[i].n, &plain, &plen);
		img_sha256_buf(plain, plen, &c.diff_ids[i]);
		if ((int)i == bad_layer)
			img_sha256_buf("lie", 3, &c.diff_ids[i]);
		if (*ls[i].comp) {
			tb_compress(plain, plen, ls[i].comp, &blob, &blen);
			free(plain);
		} else {
			blob = plain;
			blen = plen;
		}
		assert_int_equal(img_layout_put_blob(&l, blob, blen, &m.layers[i].digest, &e), 0);
		m.layers[i].size = (int64_t)blen;
		assert_int_equal(asprintf(&m.layers[i].media_type, "%s%s%s", IMG_MT_OCI_LAYER, *ls[i].comp ? "+" : "",
					  ls[i].comp) > 0,
				 1);
		free(blob);
	}
	assert_int_equal(img_config_json(&c, &buf, &len, &e), 0);
	assert_int_equal(img_layout_put_blob(&l, buf, len, &m.config.digest, &e), 0);
	m.config.size = (int64_t)len;
	m.config.media_type = strdup(IMG_MT_OCI_CONFIG);
	free(buf);
	assert_int_equal(img_manifest_json(&m, &buf, &len, &e), 0);
	assert_int_equal(img_layout_put_blob(&l, buf, len, &md.digest, &e), 0);
	md.size = (int64_t)len;
	md.media_type = strdup(IMG_MT_OCI_MANIFEST);
	free(buf);
	assert_int_equal(img_layout_read_index(&l, &x, &e), 0);
	assert_int_equal(img_index_add(&x, &md, &e), 0);
	assert_int_equal(img_layout_write_index(&l, &x, &e), 0);
	*manifest = md.digest;
	img_index_free(&x);
	img_descriptor_free(&md);
	img_manifest_free(&m);
	img_config_free(&c);
	img_layout_close(&l);
}

static int import_dir(struct rt_store *s, const char *dir, struct rt_store_image *im, struct err *e)
{
	struct img_image img;
	if (img_image_open(dir, NULL, NULL, &img, e) < 0)
		return -1;
	int rc = rt_store_import(s, &img, im, e);
	img_image_close(&img);
	return rc;
}

static const struct tb_entry base_ents[] = {
	{.name = "etc/", .type = 'd'},
	{.name = "etc/os-release", .type = 'f', .data = "ID=test\n"},
	{.name = "bin/sh", .type = 'f', .data = "sh", .mode = 0755},
	{.name = "old/", .type = 'd'},
	{.name = "old/file", .type = 'f', .data = "old"},
};
static const struct tb_entry app_ents[] = {
	{.name = "app/", .type = 'd'},
	{.name = "app/run", .type = 'f', .data = "v1", .mode = 0755},
	{.name = ".wh.old", .type = 'f'},
	{.name = "etc/.wh..wh..opq", .type = 'f'},
	{.name = "etc/app.conf", .type = 'f', .data = "conf"},
};
static const struct tb_entry app2_ents[] = {
	{.name = "app/run", .type = 'f', .data = "v2", .mode = 0755},
};

static void test_chain_ids(void **state)
{
	(void)state;
	struct img_digest d[3], c[3];
	img_sha256_buf("a", 1, &d[0]);
	img_sha256_buf("b", 1, &d[1]);
	img_sha256_buf("c", 1, &d[2]);
	rt_chain_ids(d, 3, c);
	assert_string_equal(c[0].s, d[0].s);
	assert_string_equal(c[1].s, "sha256:51c0c8ace48498d6f5fee6b0592cc06f2da0f3cbe09c5a34a97dce85c3889676");
	assert_string_equal(c[2].s, "sha256:2fce7f8ce91bcf0a1428b36e1024639fdbd9469eea762dba98aa749631885106");
}

static void test_import(void **state)
{
	(void)state;
	_cleanup_free_ char *root = fresh("store-import");
	_cleanup_free_ char *lay1 = fresh("img1"), *lay2 = fresh("img2");
	struct rt_store s;
	struct rt_store_image im, again, other;
	struct img_digest d1, d2;
	struct err e;
	const struct layer_spec l1[] = {{base_ents, ARRAY_SIZE(base_ents), "gzip"}, {app_ents, ARRAY_SIZE(app_ents), "zstd"}};
	const struct layer_spec l2[] = {{base_ents, ARRAY_SIZE(base_ents), "gzip"}, {app2_ents, ARRAY_SIZE(app2_ents), ""}};
	make_image(lay1, l1, 2, "one", -1, &d1);
	make_image(lay2, l2, 2, "two", -1, &d2);
	assert_int_equal(rt_store_open(&s, root, &e), 0);
	if (import_dir(&s, lay1, &im, &e) < 0)
		fail_msg("%s", e.msg);
	assert_true(img_digest_eq(&im.manifest, &d1));
	assert_int_equal(im.n_layers, 2);
	assert_false(im.has_devices);
	_cleanup_free_ char *run = path(im.layer_dirs[1], "app/run");
	_cleanup_free_ char *wh = path(im.layer_dirs[1], "old");
	_cleanup_free_ char *etc = path(im.layer_dirs[1], "etc");
	_cleanup_free_ char *sh = path(im.layer_dirs[0], "bin/sh");
	struct stat st;
	char v[4];
	assert_true(fs_exists(run) && fs_exists(sh));
	assert_int_equal(lstat(wh, &st), 0);
	assert_true(S_ISCHR(st.st_mode) && st.st_rdev == 0);
	assert_int_equal(lgetxattr(etc, "trusted.overlay.opaque", v, sizeof v), 1);
	/* the layer dirs are keyed by chain id */
	_cleanup_free_ char *want0 = NULL;
	assert_true(asprintf(&want0, "%s/layers/%s/fs", root, img_digest_hex(&im.chain_ids[0])) > 0);
	assert_string_equal(im.layer_dirs[0], want0);
	assert_true(img_digest_eq(&im.chain_ids[0], &im.diff_ids[0]));
	/* blobs kept: layers, config, manifest */
	assert_true(rt_store_has_blob(&s, &im.digests[0]) && rt_store_has_blob(&s, &im.digests[1]));
	assert_true(rt_store_has_blob(&s, &im.config) && rt_store_has_blob(&s, &im.manifest));
	struct img_config cfg;
	assert_int_equal(rt_store_image_config(&s, &im, &cfg, &e), 0);
	assert_string_equal(img_kvs_get(&cfg.labels, "test"), "one");
	img_config_free(&cfg);

	/* a second import and a second image reuse the unpacked base layer */
	struct stat before, after;
	assert_int_equal(stat(im.layer_dirs[0], &before), 0);
	assert_int_equal(import_dir(&s, lay1, &again, &e), 0);
	if (import_dir(&s, lay2, &other, &e) < 0)
		fail_msg("%s", e.msg);
	assert_int_equal(stat(other.layer_dirs[0], &after), 0);
	assert_string_equal(other.layer_dirs[0], im.layer_dirs[0]);
	assert_int_equal(before.st_ino, after.st_ino);
	assert_string_not_equal(other.layer_dirs[1], im.layer_dirs[1]);

	/* the image can be found again after a reopen, without the layout */
	rt_store_image_free(&again);
	rt_store_close(&s);
	assert_int_equal(fs_rm_rf(lay1, &e), 0);
	assert_int_equal(rt_store_open(&s, root, &e), 0);
	assert_int_equal(rt_store_image_get(&s, &d1, &again, &e), 0);
	assert_string_equal(again.layer_dirs[1], im.layer_dirs[1]);

	/* the flattened copy is the merged view */
	_cleanup_free_ char *flat = fresh("flat");
	assert_int_equal(mkdir(flat, 0755), 0);
	if (rt_store_flatten(&s, &again, flat, &e) < 0)
		fail_msg("%s", e.msg);
	_cleanup_free_ char *f_old = path(flat, "old"), *f_os = path(flat, "etc/os-release"),
			    *f_conf = path(flat, "etc/app.conf"), *f_run = path(flat, "app/run");
	assert_false(fs_exists(f_old));
	assert_false(fs_exists(f_os));
	assert_true(fs_exists(f_conf) && fs_exists(f_run));

	/* an image that is not there */
	struct img_digest none;
	rt_store_image_free(&other);
	img_sha256_buf("none", 4, &none);
	assert_int_equal(rt_store_image_get(&s, &none, &other, &e), -1);
	assert_int_equal(e.errnum, ENOENT);
	rt_store_image_free(&im);
	rt_store_image_free(&again);
	rt_store_close(&s);
}

/* Entries of root/sub, "." and ".." aside. */
static size_t entries(const char *root, const char *sub)
{
	_cleanup_free_ char *p = path(root, sub);
	size_t n = 0;
	DIR *dir = opendir(p);
	assert_non_null(dir);
	for (struct dirent *de; (de = readdir(dir));)
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(dir);
	return n;
}

static void test_import_bad_diff_id(void **state)
{
	(void)state;
	_cleanup_free_ char *root = fresh("store-bad");
	_cleanup_free_ char *lay = fresh("img-bad");
	struct rt_store s;
	struct rt_store_image im;
	struct img_digest d;
	struct err e;
	const struct layer_spec ls[] = {{base_ents, ARRAY_SIZE(base_ents), "gzip"}, {app_ents, ARRAY_SIZE(app_ents), ""}};
	make_image(lay, ls, 2, "bad", 1, &d);
	assert_int_equal(rt_store_open(&s, root, &e), 0);
	assert_int_equal(import_dir(&s, lay, &im, &e), -1);
	assert_non_null(strstr(e.msg, "not to its diff_id"));
	/* nothing stays: neither the good first layer nor any blob, no record, no temp */
	assert_int_equal(entries(root, "layers"), 0);
	assert_int_equal(entries(root, "blobs/sha256"), 0);
	assert_int_equal(entries(root, "images"), 0);
	assert_int_equal(rt_store_image_get(&s, &d, &im, &e), -1);
	rt_store_close(&s);
}

/* The store's limits hold for the whole image (issue 13): its layers count
 * against one budget of bytes and entries, and what the manifest declares is
 * refused before anything is copied or unpacked. Each refusal leaves nothing. */
static void test_import_limits(void **state)
{
	(void)state;
	_cleanup_free_ char *root = fresh("store-limits");
	_cleanup_free_ char *lay = fresh("img-limits");
	struct rt_store s;
	struct rt_store_image im;
	struct img_digest d;
	struct err e;
	/* 5 + 3 entries */
	const struct layer_spec ls[] = {{base_ents, ARRAY_SIZE(base_ents), "gzip"}, {app2_ents, 1, ""}};
	make_image(lay, ls, 2, "limits", -1, &d);
	assert_int_equal(rt_store_open(&s, root, &e), 0);
	const char *refusals[][2] = {
		/* each layer is within 5 entries, the image is not */
		{"entries=5", "more than the limit of 0 entries"},
		{"entries=5", "the image's limits"},
		{"image_size=12K", "the image's limits"},
		{"layers=1", "the image has 2 layers, more than the limit of 1"},
		{"blob_size=100", "more than the limit of 100"},
		{"image_size=200", "declared as more than 200 bytes together"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(refusals); i++) {
		img_limits_init(&s.limits);
		assert_int_equal(img_limits_set(&s.limits, refusals[i][0], &e), 0);
		assert_int_equal(import_dir(&s, lay, &im, &e), -1);
		if (!strstr(e.msg, refusals[i][1]))
			fail_msg("%s: \"%s\" does not say \"%s\"", refusals[i][0], e.msg, refusals[i][1]);
		assert_int_equal(entries(root, "layers"), 0);
		assert_int_equal(entries(root, "blobs/sha256"), 0);
		assert_int_equal(entries(root, "images"), 0);
	}
	/* no room beside the reserve: refused before anything is unpacked */
	img_limits_init(&s.limits);
	s.limits.reserve = (struct fs_reserve){.bytes = UINT64_MAX / 4};
	assert_int_equal(import_dir(&s, lay, &im, &e), -1);
	assert_int_equal(e.errnum, ENOSPC);
	assert_non_null(strstr(e.msg, "nothing was unpacked"));
	assert_int_equal(entries(root, "layers"), 0);
	/* exactly at the limits: imported */
	img_limits_init(&s.limits);
	assert_int_equal(img_limits_set(&s.limits, "entries=6", &e), 0);
	assert_int_equal(img_limits_set(&s.limits, "layers=2", &e), 0);
	assert_int_equal(import_dir(&s, lay, &im, &e), 0);
	rt_store_image_free(&im);
	rt_store_close(&s);
}

/* A layer listed again higher up is downloaded and unpacked once, and the
 * image's tree is what applying every layer in order gives (OCI): the upper
 * copy's entries win over the layers between. */
static void test_import_repeated(void **state)
{
	(void)state;
	_cleanup_free_ char *root = fresh("store-repeat");
	_cleanup_free_ char *lay = fresh("img-repeat");
	_cleanup_free_ char *flat = fresh("flat-repeat");
	struct rt_store s;
	struct rt_store_image im;
	struct img_digest d;
	struct err e;
	const struct tb_entry x_ents[] = {{.name = "app/run", .type = 'f', .data = "x", .mode = 0755},
					  {.name = ".wh.old", .type = 'f'}};
	const struct tb_entry mid_ents[] = {{.name = "app/run", .type = 'f', .data = "mid"},
					    {.name = "old/back", .type = 'f', .data = "b"}};
	const struct layer_spec ls[] = {{base_ents, ARRAY_SIZE(base_ents), "gzip"},
					{x_ents, 2, "gzip"},
					{mid_ents, 2, "gzip"},
					{x_ents, 2, "gzip"},
					{x_ents, 2, "gzip"}};
	make_image(lay, ls, 5, "repeat", -1, &d);
	assert_int_equal(rt_store_open(&s, root, &e), 0);
	/* 5 + 2 + 2 entries: the repeated layer counts once */
	assert_int_equal(img_limits_set(&s.limits, "entries=9", &e), 0);
	assert_int_equal(import_dir(&s, lay, &im, &e), 0);
	assert_int_equal(im.n_layers, 5);
	assert_int_equal(im.n_layer_dirs, 3);
	assert_int_equal(entries(root, "layers"), 3);
	_cleanup_free_ char *top = path(im.layer_dirs[2], "app/run");
	assert_true(fs_exists(top));
	/* the tree: x's file over mid's, and x's whiteout hides mid's directory again */
	assert_int_equal(mkdir(flat, 0755), 0);
	assert_int_equal(rt_store_flatten(&s, &im, flat, &e), 0);
	_cleanup_free_ char *run = path(flat, "app/run"), *old = path(flat, "old");
	_cleanup_free_ char *buf = NULL;
	assert_int_equal(fs_read_file(run, 16, &buf, NULL, &e), 0);
	assert_string_equal(buf, "x");
	assert_false(fs_exists(old));
	rt_store_image_free(&im);
	/* read back from its record: the same three trees */
	assert_int_equal(rt_store_image_get(&s, &d, &im, &e), 0);
	assert_int_equal(im.n_layer_dirs, 3);
	rt_store_image_free(&im);
	rt_store_close(&s);
}

static void put(const char *root, const char *rel, const char *content)
{
	_cleanup_free_ char *p = path(root, rel);
	struct err e;
	_cleanup_free_ char *dir = strdup(p);
	*strrchr(dir, '/') = '\0';
	assert_int_equal(fs_mkdir_p(dir, 0700, &e), 0);
	assert_int_equal(fs_write_atomic(p, content, strlen(content), 0600, &e), 0);
}

static bool there(const char *root, const char *rel)
{
	_cleanup_free_ char *p = path(root, rel);
	return fs_exists(p);
}

static void test_repair(void **state)
{
	(void)state;
	_cleanup_free_ char *root = fresh("store-repair");
	struct rt_store s;
	struct err e;
	struct img_digest a, b;
	char rel[256], hex_a[65], hex_b[65];
	img_sha256_buf("0123456789abcdefghij", 20, &a);
	img_sha256_buf("other", 5, &b);
	strcpy(hex_a, img_digest_hex(&a));
	strcpy(hex_b, img_digest_hex(&b));
	assert_int_equal(rt_store_open(&s, root, &e), 0);
	rt_store_close(&s);
	/* what interrupted work leaves */
	put(root, "layers/.tmp-abc-123456/fs/etc/passwd", "half");
	put(root, "layers/.del-abc/fs/x", "half-removed");
	snprintf(rel, sizeof rel, "layers/%s/fs/x", hex_b);
	put(root, rel, "no layer.json: never renamed into place by us");
	put(root, "layers/not-a-layer/x", "?");
	put(root, "blobs/sha256/.abc.tmp-XyZ123", "partial");
	put(root, "blobs/sha256/nothex", "?");
	put(root, "images/.x.json.tmp-abcdef", "{");
	put(root, "ingest/" "0000/data", "?");
	snprintf(rel, sizeof rel, "ingest/%s.link", hex_a);
	put(root, rel, "link");
	/* an ingest with 20 bytes written, 10 recorded durable */
	snprintf(rel, sizeof rel, "ingest/%s/data", hex_a);
	put(root, rel, "0123456789XXXXXXXXXX");
	snprintf(rel, sizeof rel, "ingest/%s/state", hex_a);
	char st[256];
	snprintf(st, sizeof st, "{\"digest\":\"%s\",\"size\":20,\"offset\":10}", a.s);
	put(root, rel, st);
	/* an ingest without a state */
	snprintf(rel, sizeof rel, "ingest/%s/data", hex_b);
	put(root, rel, "zz");
	put(root, "apps/web/.state.json.tmp-123456", "{");
	put(root, "apps/web/keep", "k");

	assert_int_equal(rt_store_open(&s, root, &e), 0);
	assert_false(there(root, "layers/.tmp-abc-123456"));
	assert_false(there(root, "layers/.del-abc"));
	snprintf(rel, sizeof rel, "layers/%s", hex_b);
	assert_false(there(root, rel));
	assert_false(there(root, "layers/not-a-layer"));
	assert_false(there(root, "blobs/sha256/.abc.tmp-XyZ123"));
	assert_false(there(root, "blobs/sha256/nothex"));
	assert_false(there(root, "images/.x.json.tmp-abcdef"));
	assert_false(there(root, "ingest/0000"));
	snprintf(rel, sizeof rel, "ingest/%s.link", hex_a);
	assert_false(there(root, rel));
	snprintf(rel, sizeof rel, "ingest/%s", hex_b);
	assert_false(there(root, rel));
	assert_false(there(root, "apps/web/.state.json.tmp-123456"));
	assert_true(there(root, "apps/web/keep"));

	/* the ingest resumes at its durable offset and completes */
	struct rt_ingest in;
	assert_int_equal(rt_ingest_open(&s, &a, 20, &in, &e), 0);
	assert_int_equal(in.offset, 10);
	assert_int_equal(rt_ingest_write(&in, "abcdefghij", 10, &e), 0);
	if (rt_ingest_commit(&in, &e) < 0)
		fail_msg("%s", e.msg);
	assert_true(rt_store_has_blob(&s, &a));
	snprintf(rel, sizeof rel, "ingest/%s", hex_a);
	assert_false(there(root, rel));
	assert_int_equal(rt_ingest_open(&s, &a, 20, &in, &e), 1); /* already there */

	/* a blob that does not verify is dropped, the next attempt starts over */
	assert_int_equal(rt_ingest_open(&s, &b, 5, &in, &e), 0);
	assert_int_equal(rt_ingest_write(&in, "OTHER", 5, &e), 0);
	assert_int_equal(rt_ingest_commit(&in, &e), -1);
	assert_non_null(strstr(e.msg, "refusing it"));
	assert_false(rt_store_has_blob(&s, &b));
	assert_int_equal(rt_ingest_open(&s, &b, 5, &in, &e), 0);
	assert_int_equal(in.offset, 0);
	assert_int_equal(rt_ingest_write(&in, "too long", 8, &e), -1);
	rt_ingest_close(&in);
	rt_store_close(&s);
}

static void test_lock(void **state)
{
	(void)state;
	_cleanup_free_ char *root = fresh("store-lock");
	struct rt_store s, t;
	struct err e;
	assert_int_equal(rt_store_open(&s, root, &e), 0);
	assert_int_equal(rt_store_open(&t, root, &e), -1);
	assert_non_null(strstr(e.msg, "in use by another process"));
	rt_store_close(&s);
	assert_int_equal(rt_store_open(&t, root, &e), 0);
	rt_store_close(&t);
}

static void version(struct rt_app_version *v, const char *what)
{
	*v = (struct rt_app_version){.image = (char *)what, .since = 100};
	img_sha256_buf(what, strlen(what), &v->manifest);
}

static void test_app_state(void **state)
{
	(void)state;
	_cleanup_free_ char *root = fresh("store-state");
	struct rt_store s;
	struct rt_app_state st, back;
	struct rt_app_version a, b, c;
	struct err e;
	assert_int_equal(rt_store_open(&s, root, &e), 0);
	assert_int_equal(rt_app_state_read(&s, "web", &st, &e), 0);
	assert_false(st.has_current);
	assert_int_equal(st.generation, 0);
	version(&a, "reg/web@a");
	version(&b, "reg/web@b");
	version(&c, "reg/web@c");
	assert_int_equal(rt_app_state_switch(&st, &a, &e), 0);
	assert_int_equal(rt_app_state_switch(&st, &b, &e), 0);
	assert_int_equal(rt_app_state_switch(&st, &c, &e), 0);
	assert_int_equal(rt_app_state_switch(&st, &a, &e), 0); /* a revert: a leaves previous */
	assert_string_equal(st.current.image, "reg/web@a");
	assert_int_equal(st.n_previous, 2);
	assert_string_equal(st.previous[0].image, "reg/web@c");
	assert_string_equal(st.previous[1].image, "reg/web@b");
	st.generation = 7;
	st.rollout = strdup("r-42");
	assert_int_equal(rt_app_version_copy(&st.desired, &c, &e), 0);
	st.has_desired = true;
	st.pinned = calloc(1, sizeof *st.pinned);
	assert_int_equal(rt_app_version_copy(&st.pinned[0], &b, &e), 0);
	st.n_pinned = 1;
	assert_int_equal(rt_app_state_write(&s, &st, &e), 0);
	assert_int_equal(rt_app_state_read(&s, "web", &back, &e), 0);
	assert_int_equal(back.generation, 7);
	assert_true(back.has_desired);
	assert_string_equal(back.desired.image, "reg/web@c");
	assert_string_equal(back.rollout, "r-42");
	assert_true(img_digest_eq(&back.current.manifest, &a.manifest));
	assert_int_equal(back.n_previous, 2);
	assert_int_equal(back.n_pinned, 1);
	assert_string_equal(back.pinned[0].image, "reg/web@b");
	struct strv apps;
	assert_int_equal(rt_app_list(&s, &apps, &e), 0);
	assert_int_equal(apps.n, 1);
	assert_string_equal(apps.v[0], "web");
	strv_free(&apps);
	rt_app_state_free(&st);
	rt_app_state_free(&back);

	/* names */
	assert_int_equal(rt_app_state_read(&s, "../etc", &st, &e), -1);
	assert_int_equal(rt_app_state_read(&s, "", &st, &e), -1);
	assert_int_equal(rt_app_state_read(&s, ".hidden", &st, &e), -1);
	assert_int_equal(rt_app_name_check("web-1.prod_a", &e), 0);
	assert_int_equal(rt_app_name_check("Web", &e), -1);
	char longname[RT_APP_NAME_MAX + 2];
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	assert_int_equal(rt_app_name_check(longname, &e), -1);
	longname[RT_APP_NAME_MAX] = '\0';
	assert_int_equal(rt_app_name_check(longname, &e), 0);
	_cleanup_free_ char *rd = rt_store_app_run_dir(&s, "web", &e);
	assert_non_null(rd);
	assert_true(fs_exists(rd));
	rt_store_close(&s);
}

static void test_app_state_hostile(void **state)
{
	(void)state;
	struct rt_app_state st;
	struct err e;
	const char *D = "sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb";
	char ok[512];
	snprintf(ok, sizeof ok,
		 "{\"schemaVersion\":1,\"name\":\"web\",\"generation\":3,\"current\":{\"image\":\"r/w@x\",\"digest\":\"%s\"},"
		 "\"previous\":[],\"pinned\":[]}",
		 D);
	assert_int_equal(rt_app_state_parse(ok, strlen(ok), &st, &e), 0);
	rt_app_state_free(&st);
	static const struct {
		const char *doc, *says;
	} bad[] = {
		{"", "JSON"},
		{"[]", "expected a JSON object"},
		{"{\"schemaVersion\":2,\"name\":\"web\",\"generation\":1}", "schemaVersion"},
		{"{\"schemaVersion\":1,\"name\":\"../x\",\"generation\":1}", "invalid app name"},
		{"{\"schemaVersion\":1,\"name\":\"web\",\"generation\":-1}", "negative"},
		{"{\"schemaVersion\":1,\"name\":\"web\",\"generation\":\"1\"}", "generation"},
		{"{\"schemaVersion\":1,\"name\":\"web\",\"generation\":1,\"extra\":1}", "unknown field"},
		{"{\"schemaVersion\":1,\"name\":\"web\",\"generation\":1,\"current\":{\"image\":\"x\",\"digest\":\"md5:x\"}}",
		 "unsupported algorithm"},
		{"{\"schemaVersion\":1,\"name\":\"web\",\"generation\":1,\"current\":{\"image\":\"\",\"digest\":\"sha256:"
		 "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb\"}}",
		 "empty"},
		{"{\"schemaVersion\":1,\"name\":\"web\",\"generation\":1,\"previous\":{}}", "previous"},
		{"{\"schemaVersion\":1,\"name\":\"web\",\"generation\":1,\"pinned\":[{\"image\":\"x\"}]}", "pinned[0]"},
		{"{\"schemaVersion\":1,\"name\":\"web\",\"name\":\"web\",\"generation\":1}", "twice"},
		{"{\"schemaVersion\":1,\"name\":\"Web\",\"generation\":1}", "invalid app name"},
		{"{\"schemaVersion\":1,\"name\":\"web\",\"generation\":1,\"desired\":[]}", "desired"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (rt_app_state_parse(bad[i].doc, strlen(bad[i].doc), &st, &e) == 0)
			fail_msg("accepted bad state #%zu", i);
		if (!strstr(e.msg, bad[i].says))
			fail_msg("bad state #%zu: \"%s\" does not say \"%s\"", i, e.msg, bad[i].says);
	}
	/* too many versions */
	size_t cap = 64 + (RT_APP_VERSIONS_MAX + 1) * 120;
	char *big = malloc(cap);
	size_t n = (size_t)snprintf(big, cap, "{\"schemaVersion\":1,\"name\":\"web\",\"generation\":1,\"previous\":[");
	for (int i = 0; i <= RT_APP_VERSIONS_MAX; i++)
		n += (size_t)snprintf(big + n, cap - n, "%s{\"image\":\"x\",\"digest\":\"%s\"}", i ? "," : "", D);
	n += (size_t)snprintf(big + n, cap - n, "]}");
	assert_int_equal(rt_app_state_parse(big, n, &st, &e), -1);
	assert_non_null(strstr(e.msg, "more than"));
	free(big);
}

static void test_gc(void **state)
{
	(void)state;
	_cleanup_free_ char *root = fresh("store-gc");
	struct rt_store s;
	struct rt_store_image im[6];
	struct img_digest d[6];
	struct err e;
	const char *labels[] = {"v0", "v1", "v2", "v3", "v4", "extra"};
	assert_int_equal(rt_store_open(&s, root, &e), 0);
	/* six images sharing the base layer, each with its own top layer */
	for (int i = 0; i < 6; i++) {
		struct tb_entry top[] = {{.name = "version", .type = 'f', .data = labels[i]}};
		const struct layer_spec ls[] = {{base_ents, ARRAY_SIZE(base_ents), "gzip"}, {top, 1, "gzip"}};
		_cleanup_free_ char *lay = fresh(labels[i]);
		make_image(lay, ls, 2, labels[i], -1, &d[i]);
		if (import_dir(&s, lay, &im[i], &e) < 0)
			fail_msg("%s", e.msg);
	}
	/* app "web" went v0 → v1 → v2 → v3 → v4 and pinned v0; "extra" is in use */
	struct rt_app_state st;
	assert_int_equal(rt_app_state_read(&s, "web", &st, &e), 0);
	for (int i = 0; i < 5; i++) {
		struct rt_app_version v = {.image = (char *)labels[i], .manifest = d[i]};
		assert_int_equal(rt_app_state_switch(&st, &v, &e), 0);
	}
	st.pinned = calloc(1, sizeof *st.pinned);
	st.pinned[0] = (struct rt_app_version){.image = strdup("v0"), .manifest = d[0]};
	st.n_pinned = 1;
	assert_int_equal(rt_app_state_write(&s, &st, &e), 0);
	rt_app_state_free(&st);
	/* a stale download and a fresh one */
	struct img_digest stale, fresh_dl;
	struct rt_ingest in;
	img_sha256_buf("stale", 5, &stale);
	img_sha256_buf("fresh", 5, &fresh_dl);
	assert_int_equal(rt_ingest_open(&s, &stale, 5, &in, &e), 0);
	rt_ingest_close(&in);
	assert_int_equal(rt_ingest_open(&s, &fresh_dl, 5, &in, &e), 0);
	rt_ingest_close(&in);
	char rel[128];
	snprintf(rel, sizeof rel, "ingest/%s/state", img_digest_hex(&stale));
	struct timespec old[2] = {{.tv_sec = 1000}, {.tv_sec = 1000}};
	assert_int_equal(utimensat(s.fd, rel, old, 0), 0);

	struct rt_gc_opts o;
	struct rt_gc_stats gs;
	rt_gc_opts_init(&o);
	o.in_use = &d[5];
	o.n_in_use = 1;
	if (rt_gc(&s, &o, &gs, &e) < 0)
		fail_msg("%s", e.msg);
	/* kept: v4 (current), v3 and v2 (previous), v0 (pinned), extra (in use); gone: v1 */
	assert_int_equal(gs.kept_images, 5);
	assert_int_equal(gs.images, 1);
	assert_int_equal(gs.layers, 1);
	assert_int_equal(gs.blobs, 3); /* v1's manifest, config and top layer */
	assert_int_equal(gs.ingests, 1);
	struct rt_store_image got;
	for (int i = 0; i < 6; i++) {
		int rc = rt_store_image_get(&s, &d[i], &got, &e);
		if (i == 1) {
			assert_int_equal(rc, -1);
			assert_false(fs_exists(im[1].layer_dirs[1]));
			assert_false(rt_store_has_blob(&s, &im[1].digests[1]));
			continue;
		}
		if (rc < 0)
			fail_msg("v%d: %s", i, e.msg);
		rt_store_image_free(&got);
	}
	assert_true(fs_exists(im[1].layer_dirs[0])); /* the shared base stays */
	/* the previous list was cut to what is kept */
	assert_int_equal(rt_app_state_read(&s, "web", &st, &e), 0);
	assert_int_equal(st.n_previous, 2);
	assert_string_equal(st.previous[0].image, "v3");
	assert_string_equal(st.previous[1].image, "v2");
	rt_app_state_free(&st);

	/* keep 1, nothing in use: current, pinned and desired (being deployed) stay */
	assert_int_equal(rt_app_state_read(&s, "web", &st, &e), 0);
	st.desired = (struct rt_app_version){.image = strdup("extra"), .manifest = d[5]};
	st.has_desired = true;
	assert_int_equal(rt_app_state_write(&s, &st, &e), 0);
	rt_app_state_free(&st);
	o.keep = 1;
	o.n_in_use = 0;
	assert_int_equal(rt_gc(&s, &o, &gs, &e), 0);
	assert_int_equal(gs.kept_images, 3);
	assert_int_equal(gs.images, 2);
	assert_int_equal(rt_store_image_get(&s, &d[5], &got, &e), 0);
	rt_store_image_free(&got);
	o.keep = 0;
	assert_int_equal(rt_gc(&s, &o, &gs, &e), -1);
	for (int i = 0; i < 6; i++)
		rt_store_image_free(&im[i]);
	rt_store_close(&s);
}

/* An image's test records in the store (the pull helper's rt_store_referrers_put):
 * read back, kept by the GC with the image, collected with it, repaired. */
static void test_referrers(void **state)
{
	(void)state;
	_cleanup_free_ char *root = fresh("store-referrers"), *lay = fresh("referrers-image");
	struct rt_store s;
	struct img_digest d;
	struct img_image img;
	struct img_referrer *refs;
	size_t n_refs;
	struct err e;
	struct tb_entry top[] = {{.name = "version", .type = 'f', .data = "r"}};
	const struct layer_spec ls[] = {{top, 1, ""}};
	make_image(lay, ls, 1, "records", -1, &d);
	assert_int_equal(img_image_open(lay, NULL, NULL, &img, &e), 0);
	struct img_record r = {.image = d, .kernel = "k", .time = "t", .version = "v"};
	img_platform_host(&r.platform);
	struct img_privkey k;
	assert_int_equal(img_key_generate(&k, &e), 0);
	assert_int_equal(img_record_attach(&img, &r, &k, &e), 0);
	img_platform_free(&r.platform);
	assert_int_equal(img_image_referrers(&img, &refs, &n_refs, &e), 0);
	assert_int_equal(n_refs, 1);
	struct img_digest rec_layer = refs[0].manifest.layers[0].digest, rec_manifest = refs[0].desc.digest;

	assert_int_equal(rt_store_open(&s, root, &e), 0);
	struct img_index x;
	assert_int_equal(rt_store_referrers_get(&s, &d, &x, &e), -1);
	assert_int_equal(e.errnum, ENOENT);
	assert_int_equal(rt_store_import(&s, &img, NULL, &e), 0);
	if (rt_store_referrers_put(&s, &img.layout, &d, &refs[0].desc, 1, &e) < 0)
		fail_msg("%s", e.msg);
	assert_int_equal(rt_store_referrers_get(&s, &d, &x, &e), 0);
	assert_int_equal(x.n, 1);
	assert_true(img_digest_eq(&x.manifests[0].digest, &rec_manifest));
	img_index_free(&x);
	assert_true(rt_store_has_blob(&s, &rec_layer));
	/* kept with the image */
	struct rt_gc_opts o;
	struct rt_gc_stats gs;
	rt_gc_opts_init(&o);
	o.in_use = &d;
	o.n_in_use = 1;
	assert_int_equal(rt_gc(&s, &o, &gs, &e), 0);
	assert_true(rt_store_has_blob(&s, &rec_layer) && rt_store_has_blob(&s, &rec_manifest));
	assert_int_equal(rt_store_referrers_get(&s, &d, &x, &e), 0);
	img_index_free(&x);
	/* an interrupted write is repaired at the next open */
	rt_store_close(&s);
	_cleanup_free_ char *tmpf = path(root, "referrers/.x.json.tmp-123456");
	put(root, "referrers/.x.json.tmp-123456", "{");
	assert_int_equal(rt_store_open(&s, root, &e), 0);
	assert_false(fs_exists(tmpf));
	/* collected with the image */
	o.n_in_use = 0;
	assert_int_equal(rt_gc(&s, &o, &gs, &e), 0);
	assert_int_equal(rt_store_referrers_get(&s, &d, &x, &e), -1);
	assert_int_equal(e.errnum, ENOENT);
	assert_false(rt_store_has_blob(&s, &rec_layer) || rt_store_has_blob(&s, &rec_manifest));
	img_referrers_free(refs, n_refs);
	img_image_close(&img);
	rt_store_close(&s);
}

static int setup(void **state)
{
	struct err e;
	(void)state;
	return (tmp = fs_mkdtemp("ramp-store", &e)) ? 0 : -1;
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
		cmocka_unit_test(test_chain_ids), cmocka_unit_test(test_import),	    cmocka_unit_test(test_import_bad_diff_id),
		cmocka_unit_test(test_repair),	  cmocka_unit_test(test_lock),	    cmocka_unit_test(test_app_state),
		cmocka_unit_test(test_app_state_hostile), cmocka_unit_test(test_gc), cmocka_unit_test(test_referrers),
		cmocka_unit_test(test_import_limits), cmocka_unit_test(test_import_repeated),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
