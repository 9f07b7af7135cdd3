/* compress_bench.c: feeds stdin through an image/compress compressor the way
 * `ramp build` does (SHA-256 of the input and of the output on the calling
 * thread) and reports the throughput, for tests/bench/compress.sh.
 *
 *   compress_bench SPEC THREADS [OUT]     SPEC: gzip, zstd:1, none, ...
 * prints one line: "<in bytes> <out bytes> <seconds> <MB/s of input> <sha256 of output>";
 * OUT, when given, receives the compressed stream. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "image/compress.h"
#include "image/digest.h"

struct sink {
	struct img_sha256 md;
	int fd;
	unsigned long long bytes;
};

static int sink_fn(void *ctx, const void *buf, size_t len, struct err *e)
{
	struct sink *s = ctx;
	img_sha256_update(&s->md, buf, len);
	s->bytes += len;
	for (const char *p = buf; s->fd >= 0 && len;) {
		ssize_t n = write(s->fd, p, len);
		if (n < 0)
			return err_sys(e, "write output");
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct err e;
	enum img_compression kind;
	int level;
	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: compress_bench SPEC THREADS [OUT]\n");
		return 2;
	}
	if (img_compression_parse(argv[1], &kind, &level, &e) < 0) {
		fprintf(stderr, "compress_bench: %s\n", e.msg);
		return 2;
	}
	struct sink s = {.fd = -1};
	struct img_sha256 in_md;
	if (img_sha256_init(&s.md, &e) < 0 || img_sha256_init(&in_md, &e) < 0) {
		fprintf(stderr, "compress_bench: %s\n", e.msg);
		return 1;
	}
	if (argc == 4 && (s.fd = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
		perror(argv[3]);
		return 1;
	}
	double t0 = now();
	struct img_compressor *c = img_compressor_new(kind, level, atoi(argv[2]), sink_fn, &s, &e);
	if (!c) {
		fprintf(stderr, "compress_bench: %s\n", e.msg);
		return 1;
	}
	static char buf[1 << 16];
	unsigned long long in = 0;
	for (;;) {
		ssize_t n = read(0, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			perror("read stdin");
			return 1;
		}
		if (n == 0)
			break;
		img_sha256_update(&in_md, buf, (size_t)n);
		in += (unsigned long long)n;
		if (img_compressor_write(c, buf, (size_t)n, &e) < 0) {
			fprintf(stderr, "compress_bench: %s\n", e.msg);
			return 1;
		}
	}
	if (img_compressor_finish(c, &e) < 0) {
		fprintf(stderr, "compress_bench: %s\n", e.msg);
		return 1;
	}
	img_compressor_free(c);
	struct img_digest din, dout;
	img_sha256_final(&in_md, &din);
	img_sha256_final(&s.md, &dout);
	double t = now() - t0;
	printf("%llu %llu %.3f %.1f %s\n", in, s.bytes, t, (double)in / 1e6 / t, img_digest_hex(&dout));
	if (s.fd >= 0 && close(s.fd) < 0) {
		perror(argv[3]);
		return 1;
	}
	return 0;
}
