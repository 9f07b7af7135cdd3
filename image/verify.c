/* verify.c: content verification of a local image (see verify.h). */
#include "image/verify.h"

#include <archive.h>
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "lib/cleanup.h"

int img_layer_diff_id(const struct img_layout *l, const struct img_descriptor *d, struct img_digest *out,
		      struct err *e)
{
	_cleanup_close_ int fd = -1;
	struct archive *a = NULL;
	struct archive_entry *ent;
	struct img_sha256 h = {0};
	int rc = -1;
	if (img_layout_open_blob(l, &d->digest, &fd, NULL, e) < 0)
		return -1;
	if (!(a = archive_read_new()))
		return err_errno(e, ENOMEM, "decompressor");
	/* raw format: the filters undo the compression, the bytes come out as they are */
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_format_raw(a);
	if (img_sha256_init(&h, e) < 0)
		goto out;
	if (archive_read_open_fd(a, fd, 1 << 20) != ARCHIVE_OK || archive_read_next_header(a, &ent) != ARCHIVE_OK) {
		/* an empty plain layer has no header to read: its diff_id is the empty hash */
		if (d->size == 0) {
			img_sha256_final(&h, out);
			rc = 0;
			goto out;
		}
		err_set(e, "layer %s: %s", d->digest.s, archive_error_string(a));
		goto out;
	}
	for (;;) {
		const void *buf;
		size_t len;
		la_int64_t off;
		int r = archive_read_data_block(a, &buf, &len, &off);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK) {
			err_set(e, "layer %s: cannot decompress: %s", d->digest.s, archive_error_string(a));
			goto out;
		}
		img_sha256_update(&h, buf, len);
	}
	img_sha256_final(&h, out);
	rc = 0;
out:
	img_sha256_free(&h);
	archive_read_free(a);
	return rc;
}

static int check_blob(const struct img_layout *l, const struct img_descriptor *d, const char *what,
		      img_verify_report report, void *ctx, struct err *e)
{
	_cleanup_close_ int fd = -1;
	uint64_t size;
	struct img_digest got;
	char msg[512];
	if (img_layout_open_blob(l, &d->digest, &fd, NULL, e) < 0) {
		report(ctx, what, e->msg);
		return 1;
	}
	if (img_sha256_fd(fd, d->digest.s, &got, &size, e) < 0)
		return -1;
	int bad = 0;
	if (size != (uint64_t)d->size) {
		snprintf(msg, sizeof msg, "size is %llu bytes, the descriptor says %lld", (unsigned long long)size,
			 (long long)d->size);
		report(ctx, what, msg);
		bad++;
	}
	if (!img_digest_eq(&got, &d->digest)) {
		snprintf(msg, sizeof msg, "content hashes to %s, not %s", got.s, d->digest.s);
		report(ctx, what, msg);
		bad++;
	}
	return bad;
}

int img_verify(const struct img_image *img, img_verify_report report, void *ctx, struct err *e)
{
	int bad = 0, r;
	char what[128];
	if ((r = check_blob(&img->layout, &img->desc, "manifest", report, ctx, e)) < 0)
		return -1;
	bad += r;
	if ((r = check_blob(&img->layout, &img->manifest.config, "config", report, ctx, e)) < 0)
		return -1;
	bad += r;
	for (size_t i = 0; i < img->manifest.n_layers; i++) {
		const struct img_descriptor *d = &img->manifest.layers[i];
		snprintf(what, sizeof what, "layer %zu (%s)", i + 1, d->digest.s);
		if ((r = check_blob(&img->layout, d, what, report, ctx, e)) < 0)
			return -1;
		bad += r;
		if (r)
			continue;
		struct img_digest diff;
		if (img_layer_diff_id(&img->layout, d, &diff, e) < 0) {
			report(ctx, what, e->msg);
			bad++;
			continue;
		}
		if (!img_digest_eq(&diff, &img->config.diff_ids[i])) {
			char msg[256];
			snprintf(msg, sizeof msg, "uncompressed content hashes to %s, the config's diff_id is %s", diff.s,
				 img->config.diff_ids[i].s);
			report(ctx, what, msg);
			bad++;
		}
	}
	return bad;
}
