/* fuzz_archive.c: oci-archive files (image/archive.h), as `ramp push`,
 * `ramp test` and `ramp run` take them from the user: extracted into a
 * scratch directory, then opened as an image (index, manifest, config),
 * verified blob by blob, and searched for attached test records. Nothing
 * outside the scratch directory may change (scratch.h). */
#include <fcntl.h>

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scratch *s = scratch_get("ramp-fuzz-archive");
	struct err e;
	fuzz_quiet();
	_cleanup_free_ char *in = fs_join(s->input, "in.tar");
	_cleanup_close_ int fd = open(in, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	FUZZ_CHECK(fd >= 0 && fs_write_all(fd, data, size, in, &e) == 0, "write \"%s\": %m", in);
	if (img_archive_extract(in, s->root, &e) == 0)
		open_image(s->root);
	else
		FUZZ_CHECK(e.msg[0], "archive refused without a message");
	scratch_check(s);
	return 0;
}
