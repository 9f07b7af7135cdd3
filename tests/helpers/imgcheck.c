/* imgcheck.c: test fixture: open an image archive or layout with
 * img_image_open, verify every layer blob (size and digest), and print the
 * manifest digest and the number of test records in its referrers. With
 * -w, also write its layout as an archive with img_archive_write (what a
 * pulled archive must equal byte for byte).
 *
 * usage: imgcheck [-w ARCHIVE] PATH     exit 0 when everything verifies */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "image/archive.h"
#include "image/image.h"

int main(int argc, char **argv)
{
	struct img_image img;
	struct img_index x;
	struct err e;
	const char *rewrite = NULL;
	if (argc == 4 && !strcmp(argv[1], "-w")) {
		rewrite = argv[2];
		argv += 2;
		argc -= 2;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: imgcheck [-w ARCHIVE] PATH\n");
		return 2;
	}
	if (img_image_open(argv[1], NULL, NULL, &img, &e) < 0) {
		fprintf(stderr, "imgcheck: %s\n", e.msg);
		return 1;
	}
	for (size_t i = 0; i < img.manifest.n_layers; i++) {
		const struct img_descriptor *d = &img.manifest.layers[i];
		struct img_digest got;
		uint64_t size;
		int fd;
		if (img_layout_open_blob(&img.layout, &d->digest, &fd, NULL, &e) < 0 ||
		    img_sha256_fd(fd, d->digest.s, &got, &size, &e) < 0) {
			fprintf(stderr, "imgcheck: %s\n", e.msg);
			return 1;
		}
		close(fd);
		if (!img_digest_eq(&got, &d->digest) || size != (uint64_t)d->size) {
			fprintf(stderr, "imgcheck: layer %s does not verify\n", d->digest.s);
			return 1;
		}
	}
	struct img_index idx;
	if (img_layout_read_index(&img.layout, &idx, &e) < 0 || img_layout_referrers(&img.layout, &idx, &x, &e) < 0) {
		fprintf(stderr, "imgcheck: %s\n", e.msg);
		return 1;
	}
	img_index_free(&idx);
	size_t records = 0;
	for (size_t i = 0; i < x.n; i++)
		records += !strcmp(x.manifests[i].artifact_type, IMG_MT_TEST_RECORD);
	printf("%s\nrecords %zu\nlayers %zu\n", img.desc.digest.s, records, img.manifest.n_layers);
	if (rewrite && img_archive_write(img.layout.dir, rewrite, &e) < 0) {
		fprintf(stderr, "imgcheck: %s\n", e.msg);
		return 1;
	}
	img_index_free(&x);
	img_image_close(&img);
	return 0;
}
