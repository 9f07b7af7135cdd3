/* compress_bench.c: feeds stdin through an image/compress compressor the way
 * `ramp build` does (SHA-256 of the input and of the output on the calling
 * thread) and reports the throughput, for tests/bench/compress.sh.
 *
 *   compress_bench SPEC THREADS [OUT]     SPEC: gzip, zstd:1, none, ...
 * prints one line: "<in bytes> <out bytes> <seconds> <MB/s of input> <sha256 of output>";
 * OUT, when given, receives the compressed stream. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "image/compress.h"

struct sink {
	EVP_MD_CTX *md;
	int fd;
	unsigned long long bytes;
};

static int sink_fn(void *ctx, const void *buf, size_t len, struct err *e)
{
	struct sink *s = ctx;
	EVP_DigestUpdate(s->md, buf, len);
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
	struct sink s = { EVP_MD_CTX_new(), -1, 0 };
	EVP_MD_CTX *in_md = EVP_MD_CTX_new();
	EVP_DigestInit_ex(s.md, EVP_sha256(), NULL);
	EVP_DigestInit_ex(in_md, EVP_sha256(), NULL);
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
		EVP_DigestUpdate(in_md, buf, (size_t)n);
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
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned dl;
	EVP_DigestFinal_ex(in_md, d, &dl);
	EVP_DigestFinal_ex(s.md, d, &dl);
	double t = now() - t0;
	printf("%llu %llu %.3f %.1f ", in, s.bytes, t, (double)in / 1e6 / t);
	for (unsigned i = 0; i < dl; i++)
		printf("%02x", d[i]);
	printf("\n");
	EVP_MD_CTX_free(in_md);
	EVP_MD_CTX_free(s.md);
	if (s.fd >= 0 && close(s.fd) < 0) {
		perror(argv[3]);
		return 1;
	}
	return 0;
}
