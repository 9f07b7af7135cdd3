/* mkimage.c: test fixture: write an OCI layout (and optionally an archive of
 * it) holding one image of N layers of seeded pseudo-random content, each a
 * real gzip'd tar, plus optionally a ramp test record that refers to the image.
 *
 * usage: mkimage DIR [-n LAYERS] [-s BYTES] [-S SEED] [-t TAG] [-r] [-a ARCHIVE]
 * prints the image manifest digest (and the record's on a second line). */
#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/archive.h"
#include "image/layout.h"
#include "image/oci.h"
#include "image/record.h"

static void die(const struct err *e)
{
	fprintf(stderr, "mkimage: %s\n", e->msg);
	exit(1);
}

static size_t tar_len, tar_cap;
static char *tar_buf;

static la_ssize_t on_write(struct archive *a, void *ud, const void *buf, size_t n)
{
	(void)a;
	(void)ud;
	if (tar_len + n > tar_cap) {
		/* doubling: libarchive writes 10 KiB blocks, and growing by each
		 * copied the whole buffer again (minutes for 24 MB under ASan) */
		while (tar_len + n > tar_cap)
			tar_cap = tar_cap ? tar_cap * 2 : 1 << 16;
		if (!(tar_buf = realloc(tar_buf, tar_cap))) {
			fprintf(stderr, "mkimage: out of memory\n");
			exit(1);
		}
	}
	memcpy(tar_buf + tar_len, buf, n);
	tar_len += n;
	return (la_ssize_t)n;
}

/* A tar holding one file of `size` pseudo-random bytes, gzip'd when gz. */
static void make_layer(unsigned seed, size_t size, int gz)
{
	struct archive *a = archive_write_new();
	struct archive_entry *ent = archive_entry_new();
	char *data = malloc(size ? size : 1), name[64];
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
	for (size_t i = 0; i < size; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		data[i] = (char)x;
	}
	tar_len = 0;
	archive_write_set_format_pax_restricted(a);
	/* no padding to a whole block: the gzip'd stream holds exactly the tar the diff_id is of */
	archive_write_set_bytes_in_last_block(a, 1);
	if (gz) {
		archive_write_add_filter_gzip(a);
		archive_write_set_filter_option(a, "gzip", "timestamp", NULL);
	}
	archive_write_open(a, NULL, NULL, on_write, NULL);
	snprintf(name, sizeof name, "file-%u", seed);
	archive_entry_set_pathname(ent, name);
	archive_entry_set_filetype(ent, AE_IFREG);
	archive_entry_set_perm(ent, 0644);
	archive_entry_set_size(ent, (la_int64_t)size);
	archive_write_header(a, ent);
	archive_write_data(a, data, size);
	archive_write_close(a);
	archive_write_free(a);
	archive_entry_free(ent);
	free(data);
}

static void desc(struct img_descriptor *d, const char *mt, const struct img_digest *dg, size_t size)
{
	*d = (struct img_descriptor){.media_type = strdup(mt), .digest = *dg, .size = (int64_t)size};
}

int main(int argc, char **argv)
{
	unsigned layers = 2, seed = 1;
	size_t size = 100000;
	const char *tag = "latest", *archive = NULL;
	int record = 0, opt;
	struct err e;
	while ((opt = getopt(argc, argv, "n:s:S:t:ra:")) != -1) {
		switch (opt) {
		case 'n': layers = (unsigned)atoi(optarg); break;
		case 's': size = (size_t)atoll(optarg); break;
		case 'S': seed = (unsigned)atoi(optarg); break;
		case 't': tag = optarg; break;
		case 'r': record = 1; break;
		case 'a': archive = optarg; break;
		default: fprintf(stderr, "usage: mkimage DIR [-n N] [-s BYTES] [-S SEED] [-t TAG] [-r] [-a ARCHIVE]\n"); return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "mkimage: expected DIR\n");
		return 2;
	}
	struct img_layout l;
	if (img_layout_create(&l, argv[optind], &e) < 0)
		die(&e);
	struct img_manifest m = {0};
	struct img_config c = {0};
	img_platform_host(&c.platform);
	c.created = strdup("2024-01-01T00:00:00Z");
	c.diff_ids = calloc(layers + 1, sizeof *c.diff_ids);
	m.layers = calloc(layers + 1, sizeof *m.layers);
	for (unsigned i = 0; i < layers; i++) {
		struct img_digest d;
		make_layer(seed * 1000 + i, size, 0);
		img_sha256_buf(tar_buf, tar_len, &c.diff_ids[i]);
		make_layer(seed * 1000 + i, size, 1);
		if (img_layout_put_blob(&l, tar_buf, tar_len, &d, &e) < 0)
			die(&e);
		desc(&m.layers[i], IMG_MT_OCI_LAYER "+gzip", &d, tar_len);
	}
	c.n_diff_ids = m.n_layers = layers;
	char *buf;
	size_t len;
	struct img_digest d;
	if (img_config_json(&c, &buf, &len, &e) < 0 || img_layout_put_blob(&l, buf, len, &d, &e) < 0)
		die(&e);
	desc(&m.config, IMG_MT_OCI_CONFIG, &d, len);
	free(buf);
	if (img_manifest_json(&m, &buf, &len, &e) < 0 || img_layout_put_blob(&l, buf, len, &d, &e) < 0)
		die(&e);
	struct img_index x = {0};
	struct img_descriptor md;
	desc(&md, IMG_MT_OCI_MANIFEST, &d, len);
	free(buf);
	if (img_layout_read_index(&l, &x, &e) < 0)
		die(&e);
	struct img_descriptor named;
	img_descriptor_copy(&named, &md, &e);
	img_kvs_set(&named.annotations, IMG_ANN_REF_NAME, tag, &e);
	img_index_add(&x, &named, &e);
	printf("%s\n", d.s);
	if (record) {
		/* a test record: an artifact manifest whose subject is the image */
		struct img_manifest rm = {0};
		struct img_digest cd, ld, rd;
		struct img_record r = {.image = d, .kernel = "6.1.0-test", .duration_ms = 1,
				       .time = "2024-01-01T00:00:00Z", .version = "test"};
		char *rec;
		size_t n;
		img_platform_host(&r.platform);
		strv_push(&r.command, "true", &e);
		if (img_record_json(&r, &rec, &n, &e) < 0 || img_layout_put_blob(&l, "{}", 2, &cd, &e) < 0 ||
		    img_layout_put_blob(&l, rec, n, &ld, &e) < 0)
			die(&e);
		free(rec);
		img_platform_free(&r.platform);
		strv_free(&r.command);
		rm.artifact_type = strdup(IMG_MT_TEST_RECORD);
		desc(&rm.config, IMG_MT_OCI_EMPTY, &cd, 2);
		rm.layers = calloc(1, sizeof *rm.layers);
		desc(&rm.layers[0], IMG_MT_TEST_RECORD, &ld, n);
		rm.n_layers = 1;
		rm.subject = calloc(1, sizeof *rm.subject);
		img_descriptor_copy(rm.subject, &md, &e);
		if (img_manifest_json(&rm, &buf, &len, &e) < 0 || img_layout_put_blob(&l, buf, len, &rd, &e) < 0)
			die(&e);
		struct img_descriptor ad;
		desc(&ad, IMG_MT_OCI_MANIFEST, &rd, len);
		ad.artifact_type = strdup(IMG_MT_TEST_RECORD);
		if (img_layout_add_referrers(&l, &x, &ad, 1, &e) < 0)
			die(&e);
		printf("%s\n", rd.s);
		free(buf);
		img_descriptor_free(&ad);
		img_manifest_free(&rm);
	}
	if (img_layout_write_index(&l, &x, &e) < 0)
		die(&e);
	if (archive && img_archive_write(argv[optind], archive, &e) < 0)
		die(&e);
	img_descriptor_free(&named);
	img_descriptor_free(&md);
	img_index_free(&x);
	img_manifest_free(&m);
	img_config_free(&c);
	img_layout_close(&l);
	free(tar_buf);
	return 0;
}
