/* fuzz_unpack.c: image layers (runtime/unpack.h), the most hostile input a
 * host takes: a tar stream, plain or gzip or zstd (by its magic bytes),
 * unpacked into a scratch directory three times: flattened into the empty
 * directory, flattened again over what that made (existing files, symlinks
 * and directories in the way; whiteouts that delete), and in overlay form
 * over a lower layer. After each, nothing outside the scratch directory may
 * have changed (scratch.h), the lower included. */
#include <fcntl.h>
#include <sys/mman.h>

#include "image/digest.h"
#include "runtime/unpack.h"
#include "tests/fuzz/scratch.h"

static int unpack(int fd, const struct scratch *s, enum rt_unpack_mode mode, const char *compression,
		  const struct img_digest *digest, int64_t size, const int *lower)
{
	struct rt_unpack_opts o;
	struct rt_unpack_result r;
	struct err e;
	_cleanup_close_ int dfd = open(s->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	FUZZ_CHECK(dfd >= 0, "open \"%s\": %m", s->root);
	FUZZ_CHECK(lseek(fd, 0, SEEK_SET) == 0, "seek: %m");
	rt_unpack_opts_init(&o);
	o.mode = mode;
	o.compression = compression;
	o.digest = digest;
	o.size = size;
	o.diff_id = *compression ? NULL : digest;
	/* small limits, so that inputs reach them */
	o.max_bytes = 1u << 20;
	o.max_entries = 2000;
	if (lower) {
		o.lowers = lower;
		o.n_lowers = 1;
	}
	int rc = rt_unpack(fd, dfd, &o, &r, &e);
	FUZZ_CHECK(rc == 0 || e.msg[0], "refused without a message");
	FUZZ_CHECK(rc < 0 || img_digest_eq(&r.digest, digest), "accepted with digest %s", r.digest.s);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scratch *s = scratch_get("ramp-fuzz-unpack");
	struct img_digest digest;
	const char *compression = "";
	fuzz_quiet();
	if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b)
		compression = "gzip";
	else if (size >= 4 && !memcmp(data, "\x28\xb5\x2f\xfd", 4))
		compression = "zstd";
	img_sha256_buf(data, size, &digest);

	_cleanup_close_ int fd = memfd_create("layer", MFD_CLOEXEC);
	FUZZ_CHECK(fd >= 0 && write(fd, data, size) == (ssize_t)size, "memfd: %m");
	_cleanup_free_ char *canary = fs_join(s->base, "canary");
	_cleanup_close_ int lower = open(canary, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	FUZZ_CHECK(lower >= 0, "open \"%s\": %m", canary);

	if (unpack(fd, s, RT_UNPACK_FLATTEN, compression, &digest, (int64_t)size, NULL) == 0)
		unpack(fd, s, RT_UNPACK_FLATTEN, compression, &digest, (int64_t)size, NULL);
	scratch_check(s);
	unpack(fd, s, RT_UNPACK_OVERLAY, compression, &digest, (int64_t)size, &lower);
	scratch_check(s);
	return 0;
}
