/* fuzz_archive.c: oci-archive files (image/archive.h), as `ramp push`,
 * `ramp test` and `ramp run` take them from the user: extracted into a
 * scratch directory, then opened as an image (index, manifest, config),
 * verified blob by blob, and searched for attached test records. Nothing
 * outside the scratch directory may change (scratch.h).
 *
 * `ramp push` reads an uncompressed archive in place instead, finding each
 * blob's offset itself (image/push.c, private, hence included here): the
 * bytes it would upload for a blob must be the bytes extraction wrote. */
#include <fcntl.h>

#include "image/push.c"

#include "image/archive.h"
#include "image/image.h"
#include "image/record.h"
#include "image/verify.h"
#include "tests/fuzz/scratch.h"

static void on_problem(void *ctx, const char *what, const char *msg)
{
	(void)what;
	(void)msg;
	(*(int *)ctx)++;
}

static void open_image(const char *dir)
{
	struct img_image img;
	struct img_referrer *refs;
	struct img_record *records;
	size_t n;
	struct err e;
	int problems = 0;
	if (img_image_open(dir, NULL, NULL, &img, &e) < 0) {
		FUZZ_CHECK(e.msg[0], "image refused without a message");
		return;
	}
	int rc = img_verify(&img, on_problem, &problems, &e);
	FUZZ_CHECK(rc < 0 || rc == problems, "verify counted %d problems, reported %d", rc, problems);
	if (img_image_referrers(&img, &refs, &n, &e) == 0)
		img_referrers_free(refs, n);
	if (img_record_list(&img, &records, &n, &e) == 0)
		img_records_free(records, n);
	img_image_close(&img);
}

static void check_push_scan(const char *in, const char *dir, bool extracted)
{
	struct src src;
	struct err e;
	struct stat st;
	if (src_open(&src, in, &e) == 0 && !src.is_layout) {
		FUZZ_CHECK(fstat(src.tar_fd, &st) == 0, "stat: %m");
		for (size_t i = 0; i < src.n_blobs; i++) {
			const struct tar_blob *b = &src.blobs[i];
			FUZZ_CHECK(b->off + b->size <= (uint64_t)st.st_size, "blob %s at %llu+%llu past the end", b->d.s,
				   (unsigned long long)b->off, (unsigned long long)b->size);
			if (!extracted)
				continue;
			_cleanup_free_ char *p = NULL, *want = NULL, *got = malloc(b->size + 1);
			size_t len;
			FUZZ_CHECK(asprintf(&p, "%s/blobs/sha256/%s", dir, img_digest_hex(&b->d)) > 0 && got, "memory");
			FUZZ_CHECK(fs_read_file(p, 64u << 20, &want, &len, &e) == 0, "extracted blob: %s", e.msg);
			FUZZ_CHECK(pread(src.tar_fd, got, b->size, (off_t)b->off) == (ssize_t)b->size, "pread: %m");
			FUZZ_CHECK(len == b->size && !memcmp(want, got, len), "push would send other bytes for %s", b->d.s);
		}
	}
	src_close(&src);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scratch *s = scratch_get("ramp-fuzz-archive");
	struct err e;
	fuzz_quiet();
	_cleanup_free_ char *in = fs_join(s->input, "in.tar");
	_cleanup_close_ int fd = open(in, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	FUZZ_CHECK(fd >= 0 && fs_write_all(fd, data, size, in, &e) == 0, "write \"%s\": %m", in);
	bool extracted = img_archive_extract(in, s->root, &e) == 0;
	if (extracted)
		open_image(s->root);
	else
		FUZZ_CHECK(e.msg[0], "archive refused without a message");
	check_push_scan(in, s->root, extracted);
	scratch_check(s);
	return 0;
}
