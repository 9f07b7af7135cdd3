/* test_compress.c: the streaming layer compressors (image/compress): round
 * trips through zlib, libzstd, libarchive and gzip(1), the gzip framing bytes,
 * byte-identical output across thread counts and write chunkings, sink failure
 * propagation, and the parsing of compression names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <signal.h>
#include <archive.h>
#include <zlib.h>
#include <zstd.h>

#include "image/compress.h"

#define BLOCK (128 * 1024) /* the gzip block size of image/compress.c: sizes around it are edge cases */

struct out {
	unsigned char *p;
	size_t len, cap;
	size_t calls;
	size_t fail_at; /* fail the call with this number (1-based); 0 never */
};

static int out_sink(void *ctx, const void *buf, size_t len, struct err *e)
{
	struct out *o = ctx;
	assert_true(len > 0);
	if (++o->calls == o->fail_at) {
		return err_errno(e, ENOSPC, "write \"/test/blob\"");
	}
	if (o->len + len > o->cap) {
		o->cap = (o->len + len) * 2;
		o->p = realloc(o->p, o->cap);
		assert_non_null(o->p);
	}
	memcpy(o->p + o->len, buf, len);
	o->len += len;
	return 0;
}

/* xorshift64: the same "random" bytes on every run and machine */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static unsigned char *random_data(size_t n, uint64_t seed)
{
	unsigned char *p = malloc(n ? n : 1);
	assert_non_null(p);
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(rnd(&seed) >> 24);
	return p;
}

/* Text-like words plus copies of earlier stretches from up to 40 KiB back, so
 * that matches cross the gzip block boundaries and reach into the dictionary. */
static unsigned char *compressible_data(size_t n, uint64_t seed)
{
	static const char *words[] = { "usr/", "lib/", "share/", "doc/", "x86_64-linux-gnu/", "ustar\0",
				       "00644\0", "root\0", "\0\0\0\0\0\0\0\0", ".so.6", "#!/bin/sh\n" };
	unsigned char *p = malloc(n ? n : 1);
	assert_non_null(p);
	size_t i = 0;
	while (i < n) {
		uint64_t r = rnd(&seed);
		if (i > 1000 && r % 4 == 0) {
			size_t back = 1 + (size_t)(r >> 8) % (i < 40000 ? i : 40000);
			size_t len = 4 + (size_t)(r >> 40) % 300;
			for (size_t k = 0; k < len && i < n; k++, i++)
				p[i] = p[i - back];
		} else {
			const char *w = words[(r >> 8) % (sizeof words / sizeof *words)];
			size_t wl = strlen(w) + 1;
			for (size_t k = 0; k < wl && i < n; k++, i++)
				p[i] = (unsigned char)w[k];
		}
	}
	return p;
}

/* Compresses data written in chunks of `chunk` bytes (0: random sizes up to 200 KiB). */
static struct out compress_chunked(enum img_compression kind, int level, int threads,
				   const unsigned char *data, size_t n, size_t chunk)
{
	struct err e;
	struct out o = { 0 };
	struct img_compressor *c = img_compressor_new(kind, level, threads, out_sink, &o, &e);
	if (!c)
		fail_msg("img_compressor_new: %s", e.msg);
	uint64_t seed = 42;
	for (size_t off = 0; off < n;) {
		size_t k = chunk ? chunk : (size_t)(rnd(&seed) % (200 * 1024));
		if (k > n - off)
			k = n - off;
		if (img_compressor_write(c, data + off, k, &e) < 0)
			fail_msg("write: %s", e.msg);
		off += k;
	}
	if (img_compressor_finish(c, &e) < 0)
		fail_msg("finish: %s", e.msg);
	img_compressor_free(c);
	return o;
}

static struct out compress_default(enum img_compression kind, int threads, const unsigned char *data, size_t n)
{
	return compress_chunked(kind, IMG_COMP_LEVEL_DEFAULT, threads, data, n, 64 * 1024 + 3);
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Inflates with zlib as a gzip stream and checks it is one member with our fixed header. */
static void check_gunzip(const struct out *o, const unsigned char *data, size_t n)
{
	static const unsigned char hdr[10] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255 };
	assert_true(o->len >= 18);
	assert_memory_equal(o->p, hdr, sizeof hdr);
	assert_int_equal(le32(o->p + o->len - 4), (uint32_t)n);
	assert_int_equal(le32(o->p + o->len - 8), (uint32_t)crc32(0, data, (uInt)n));

	z_stream s = { 0 };
	assert_int_equal(inflateInit2(&s, 16 + 15), Z_OK);
	unsigned char *got = malloc(n + 1);
	s.next_in = o->p;
	s.avail_in = (uInt)o->len;
	s.next_out = got;
	s.avail_out = (uInt)n + 1;
	int zr = inflate(&s, Z_FINISH);
	if (zr != Z_STREAM_END)
		fail_msg("inflate: %d %s", zr, s.msg ? s.msg : "");
	assert_int_equal(s.avail_in, 0); /* a single member, nothing after it */
	assert_int_equal(s.total_out, n);
	assert_memory_equal(got, data, n);
	inflateEnd(&s);
	free(got);
}

static void check_unzstd(const struct out *o, const unsigned char *data, size_t n)
{
	assert_true(o->len >= 5);
	assert_int_equal(le32(o->p), 0xFD2FB528);
	assert_true(o->p[4] & 0x04);                /* content checksum flag */
	assert_true(ZSTD_getFrameContentSize(o->p, o->len) == ZSTD_CONTENTSIZE_UNKNOWN);
	ZSTD_DStream *d = ZSTD_createDStream();
	unsigned char *got = malloc(n + 1);
	ZSTD_inBuffer in = { o->p, o->len, 0 };
	ZSTD_outBuffer outb = { got, n + 1, 0 };
	size_t r;
	do {
		r = ZSTD_decompressStream(d, &outb, &in);
		if (ZSTD_isError(r))
			fail_msg("ZSTD_decompressStream: %s", ZSTD_getErrorName(r));
	} while (r != 0 && in.pos < in.size);
	assert_int_equal(r, 0); /* frame complete, checksum verified */
	assert_int_equal(in.pos, in.size);
	assert_int_equal(outb.pos, n);
	assert_memory_equal(got, data, n);
	ZSTD_freeDStream(d);
	free(got);
}

static void check_roundtrip(enum img_compression kind, const struct out *o, const unsigned char *data, size_t n)
{
	if (kind == IMG_COMP_GZIP) {
		check_gunzip(o, data, n);
	} else if (kind == IMG_COMP_ZSTD) {
		check_unzstd(o, data, n);
	} else {
		assert_int_equal(o->len, n);
		assert_memory_equal(o->p, data, n);
	}
}

static const size_t sizes[] = { 0, 1, BLOCK - 1, BLOCK, BLOCK + 1, 2 * BLOCK, 7 * BLOCK + 12345 };

static void roundtrip_sizes(enum img_compression kind)
{
	static const int threads[] = { 1, 2, 4 };
	for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
		for (int kindof = 0; kindof < 2; kindof++) {
			size_t n = sizes[i];
			unsigned char *data = kindof ? random_data(n, n + 1) : compressible_data(n, n + 1);
			for (size_t t = 0; t < sizeof threads / sizeof *threads; t++) {
				struct out o = compress_default(kind, threads[t], data, n);
				check_roundtrip(kind, &o, data, n);
				if (kindof == 0 && n > BLOCK && kind != IMG_COMP_NONE)
					assert_true(o.len < n / 3);
				free(o.p);
			}
			free(data);
		}
	}
}

static void test_gzip_roundtrip(void **state)
{
	(void)state;
	roundtrip_sizes(IMG_COMP_GZIP);
}

static void test_zstd_roundtrip(void **state)
{
	(void)state;
	roundtrip_sizes(IMG_COMP_ZSTD);
}

static void test_none_roundtrip(void **state)
{
	(void)state;
	roundtrip_sizes(IMG_COMP_NONE);
}

/* Every level of gzip decodes; higher levels are not larger on compressible data. */
static void test_gzip_levels(void **state)
{
	(void)state;
	size_t n = 3 * BLOCK + 99;
	unsigned char *data = compressible_data(n, 7);
	size_t l1 = 0;
	for (int level = 1; level <= 9; level++) {
		struct out o = compress_chunked(IMG_COMP_GZIP, level, 2, data, n, 50000);
		check_gunzip(&o, data, n);
		if (level == 1)
			l1 = o.len;
		else if (level >= 6)
			assert_true(o.len < l1);
		free(o.p);
	}
	free(data);
}

/* A 16 KiB random string repeated: only the preset dictionary lets a block
 * start with a match, so without it each block would cost 16 KiB. */
static void test_gzip_uses_dictionary(void **state)
{
	(void)state;
	size_t n = 8 * BLOCK, piece = 16 * 1024;
	unsigned char *data = random_data(n, 77);
	for (size_t i = piece; i < n; i++)
		data[i] = data[i - piece];
	struct out o = compress_default(IMG_COMP_GZIP, 2, data, n);
	check_gunzip(&o, data, n);
	if (o.len > 3 * piece) /* ~2 * piece with it: a match is at most 258 bytes */
		fail_msg("%zu bytes: blocks do not refer to the previous block's data", o.len);
	free(o.p);
	free(data);
}

/* The same bytes out whatever the threads and the write() chunking. */
static void determinism(enum img_compression kind, int level)
{
	static const int threads[] = { 1, 2, 3, 4 };
	static const size_t chunks[] = { 0, 1000, 4096, BLOCK, BLOCK + 1, 1 << 20 };
	size_t n = 20 * BLOCK + 777; /* ~2.6 MB: several zstd jobs, many gzip blocks */
	unsigned char *data = compressible_data(n, 99);
	unsigned char *rand = random_data(3 * BLOCK, 5);
	memcpy(data + 9 * BLOCK + 17, rand, 3 * BLOCK); /* an incompressible stretch in the middle */
	free(rand);
	struct out ref = compress_chunked(kind, level, 1, data, n, n);
	check_roundtrip(kind, &ref, data, n);
	for (size_t t = 0; t < sizeof threads / sizeof *threads; t++) {
		for (size_t k = 0; k < sizeof chunks / sizeof *chunks; k++) {
			struct out o = compress_chunked(kind, level, threads[t], data, n, chunks[k]);
			if (o.len != ref.len || memcmp(o.p, ref.p, o.len) != 0)
				fail_msg("%s level %d: threads %d chunk %zu gave different bytes (%zu vs %zu)",
					 img_compression_name(kind), level, threads[t], chunks[k], o.len, ref.len);
			free(o.p);
		}
	}
	/* byte-by-byte writes of a smaller input match one big write */
	size_t m = BLOCK + 4000;
	struct out a = compress_chunked(kind, level, 2, data, m, 1);
	struct out b = compress_chunked(kind, level, 4, data, m, m);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.p, b.p, a.len);
	free(a.p);
	free(b.p);
	free(ref.p);
	free(data);
}

static void test_gzip_deterministic(void **state)
{
	(void)state;
	determinism(IMG_COMP_GZIP, IMG_COMP_LEVEL_DEFAULT);
	determinism(IMG_COMP_GZIP, 6);
}

static void test_zstd_deterministic(void **state)
{
	(void)state;
	determinism(IMG_COMP_ZSTD, IMG_COMP_LEVEL_DEFAULT);
	determinism(IMG_COMP_ZSTD, 1);
}

/* Other decoders: libarchive (what the unpackers here use) and gzip(1)/zstd(1). */
static void check_libarchive(const struct out *o, const unsigned char *data, size_t n)
{
	struct archive *a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_raw(a);
	assert_int_equal(archive_read_open_memory(a, o->p, o->len), ARCHIVE_OK);
	struct archive_entry *ent;
	assert_int_equal(archive_read_next_header(a, &ent), ARCHIVE_OK);
	unsigned char *got = malloc(n + 1);
	size_t len = 0;
	la_ssize_t r;
	while ((r = archive_read_data(a, got + len, n + 1 - len)) > 0)
		len += (size_t)r;
	if (r < 0)
		fail_msg("libarchive: %s", archive_error_string(a));
	assert_int_equal(len, n);
	assert_memory_equal(got, data, n);
	archive_read_free(a);
	free(got);
}

static void check_tool(const struct out *o, const char *tool)
{
	char path[] = "/tmp/ramp-test-compress-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, o->p, o->len), (ssize_t)o->len);
	close(fd);
	char cmd[256];
	snprintf(cmd, sizeof cmd, "%s -t -q '%s' 2>&1", tool, path);
	int rc = system(cmd);
	unlink(path);
	if (rc != 0)
		fail_msg("%s rejected our output (status %d)", tool, rc);
}

static void test_other_decoders(void **state)
{
	(void)state;
	size_t n = 6 * BLOCK + 3;
	unsigned char *data = compressible_data(n, 3);
	struct out g = compress_default(IMG_COMP_GZIP, 2, data, n);
	struct out z = compress_default(IMG_COMP_ZSTD, 2, data, n);
	check_libarchive(&g, data, n);
	check_libarchive(&z, data, n);
	check_tool(&g, "gzip");
	if (system("command -v zstd >/dev/null") == 0)
		check_tool(&z, "zstd");
	free(g.p);
	free(z.p);
	free(data);
}

/* A failing sink fails the write or finish that called it, with the sink's
 * error, and every later call too; free() then stops everything cleanly. */
static void test_sink_failure(void **state)
{
	(void)state;
	static const enum img_compression kinds[] = { IMG_COMP_GZIP, IMG_COMP_ZSTD, IMG_COMP_NONE };
	static const int threads[] = { 1, 2 };
	size_t n = 12 * BLOCK;
	unsigned char *data = random_data(n, 11);
	for (size_t k = 0; k < 3; k++) {
		for (size_t t = 0; t < 2; t++) {
			/* how many sink calls a full run makes, then fail each in turn (first, middle, last) */
			struct out full = compress_chunked(kinds[k], 0, threads[t], data, n, 100000);
			size_t fails[] = { 1, full.calls / 2 + 1, full.calls };
			free(full.p);
			for (size_t f = 0; f < 3; f++) {
				struct err e;
				struct out o = { .fail_at = fails[f] };
				struct img_compressor *c = img_compressor_new(kinds[k], 0, threads[t], out_sink, &o, &e);
				assert_non_null(c);
				int r = 0;
				for (size_t off = 0; off < n && r == 0; off += 100000)
					r = img_compressor_write(c, data + off, n - off < 100000 ? n - off : 100000, &e);
				if (r == 0)
					r = img_compressor_finish(c, &e);
				assert_int_equal(r, -1);
				assert_string_equal(e.msg, "write \"/test/blob\": No space left on device");
				assert_int_equal(e.errnum, ENOSPC);
				err_clear(&e);
				assert_int_equal(img_compressor_write(c, data, 10, &e), -1);
				assert_int_equal(e.errnum, ENOSPC);
				err_clear(&e);
				assert_int_equal(img_compressor_finish(c, &e), -1);
				assert_int_equal(e.errnum, ENOSPC);
				img_compressor_free(c);
				free(o.p);
			}
		}
	}
	free(data);
}

/* Freed mid-stream, with blocks in flight, or right after creation: no hang, no leak. */
static void test_free_midstream(void **state)
{
	(void)state;
	size_t n = 40 * BLOCK;
	unsigned char *data = compressible_data(n, 1);
	for (int kind = IMG_COMP_NONE; kind <= IMG_COMP_ZSTD; kind++) {
		struct err e;
		struct out o = { 0 };
		struct img_compressor *c = img_compressor_new(kind, 0, 4, out_sink, &o, &e);
		assert_non_null(c);
		assert_int_equal(img_compressor_write(c, data, n, &e), 0);
		img_compressor_free(c);
		free(o.p);
		c = img_compressor_new(kind, 0, 0, out_sink, &o, &e);
		assert_non_null(c);
		img_compressor_free(c);
	}
	img_compressor_free(NULL);
	free(data);
}

/* Threads of this process other than the calling one, and how many of them
 * block SIGINT and SIGTERM (read from /proc/self/task/N/status SigBlk). */
static int other_threads(int *blocking)
{
	DIR *d = opendir("/proc/self/task");
	assert_non_null(d);
	struct dirent *de;
	int n = 0;
	*blocking = 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || atoi(de->d_name) == gettid())
			continue;
		n++;
		char path[300], line[256];
		snprintf(path, sizeof path, "/proc/self/task/%s/status", de->d_name);
		FILE *f = fopen(path, "re");
		if (!f)
			continue; /* it just ended */
		unsigned long long blk = 0;
		while (fgets(line, sizeof line, f))
			if (sscanf(line, "SigBlk: %llx", &blk) == 1)
				break;
		fclose(f);
		unsigned long long want = 1ULL << (SIGINT - 1) | 1ULL << (SIGTERM - 1);
		if ((blk & want) == want)
			(*blocking)++;
	}
	closedir(d);
	return n;
}

/* Workers run with signals blocked (the caller's mask is left as it was) and
 * are all gone after free, finished or not. */
static void test_threads(void **state)
{
	(void)state;
	static const struct { enum img_compression kind; int threads, expect; } cases[] = {
		{ IMG_COMP_GZIP, 1, 0 }, { IMG_COMP_GZIP, 3, 3 }, { IMG_COMP_ZSTD, 1, 1 }, { IMG_COMP_ZSTD, 2, 2 },
	};
	int blocking;
	assert_int_equal(other_threads(&blocking), 0);
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		for (int finish = 0; finish < 2; finish++) {
			struct err e;
			struct out o = { 0 };
			struct img_compressor *c =
				img_compressor_new(cases[i].kind, 0, cases[i].threads, out_sink, &o, &e);
			assert_non_null(c);
			assert_int_equal(img_compressor_write(c, "data", 4, &e), 0);
			assert_int_equal(other_threads(&blocking), cases[i].expect);
			assert_int_equal(blocking, cases[i].expect);
			sigset_t cur;
			pthread_sigmask(SIG_SETMASK, NULL, &cur);
			assert_false(sigismember(&cur, SIGINT));
			if (finish)
				assert_int_equal(img_compressor_finish(c, &e), 0);
			img_compressor_free(c);
			assert_int_equal(other_threads(&blocking), 0);
			free(o.p);
		}
	}
}

static void test_finish_twice(void **state)
{
	(void)state;
	struct err e;
	struct out o = { 0 };
	struct img_compressor *c = img_compressor_new(IMG_COMP_GZIP, 0, 2, out_sink, &o, &e);
	assert_int_equal(img_compressor_write(c, "abc", 3, &e), 0);
	assert_int_equal(img_compressor_finish(c, &e), 0);
	assert_int_equal(img_compressor_finish(c, &e), -1);
	assert_string_equal(e.msg, "compressor already finished");
	assert_int_equal(img_compressor_write(c, "abc", 3, &e), -1);
	img_compressor_free(c);
	check_gunzip(&o, (const unsigned char *)"abc", 3);
	free(o.p);
}

static void test_parse(void **state)
{
	(void)state;
	struct err e;
	enum img_compression k;
	int level = -5;
	assert_int_equal(img_compression_parse("gzip", &k, &level, &e), 0);
	assert_int_equal(k, IMG_COMP_GZIP);
	assert_int_equal(level, IMG_COMP_LEVEL_DEFAULT);
	assert_int_equal(img_compression_parse("zstd", &k, NULL, &e), 0);
	assert_int_equal(k, IMG_COMP_ZSTD);
	assert_int_equal(img_compression_parse("none", &k, &level, &e), 0);
	assert_int_equal(k, IMG_COMP_NONE);
	assert_int_equal(img_compression_parse("zstd:19", &k, &level, &e), 0);
	assert_int_equal(k, IMG_COMP_ZSTD);
	assert_int_equal(level, 19);
	assert_int_equal(img_compression_parse("gzip:9", &k, &level, &e), 0);
	assert_int_equal(level, 9);

	static const struct { const char *spec, *msg; } bad[] = {
		{ "gz", "unknown compression \"gz\" (expected gzip, zstd or none, optionally with :LEVEL)" },
		{ "", "unknown compression \"\"" },
		{ "GZIP", "unknown compression" },
		{ "gzip ", "unknown compression" },
		{ "zstdx", "unknown compression" },
		{ ":3", "unknown compression" },
		{ "zstd:99", "compression \"zstd:99\": zstd compression level 99 out of range 1..19" },
		{ "gzip:10", "compression \"gzip:10\": gzip compression level 10 out of range 1..9" },
		{ "gzip:0", "level out of range" },
		{ "gzip:", "level is not a number" },
		{ "gzip:-1", "level is not a number" },
		{ "gzip:+1", "level is not a number" },
		{ "gzip: 1", "level is not a number" },
		{ "gzip:1x", "level is not a number" },
		{ "gzip:1:2", "level is not a number" },
		{ "zstd:99999999999999999999", "level out of range" },
		{ "zstd:4294967299", "level out of range" },
		{ "none:1", "compression \"none\" takes no level" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		err_clear(&e);
		if (img_compression_parse(bad[i].spec, &k, &level, &e) == 0)
			fail_msg("accepted \"%s\"", bad[i].spec);
		if (!strstr(e.msg, bad[i].msg))
			fail_msg("\"%s\": message \"%s\" lacks \"%s\"", bad[i].spec, e.msg, bad[i].msg);
	}
	/* a level where the caller takes none */
	assert_int_equal(img_compression_parse("gzip:3", &k, NULL, &e), -1);
	assert_non_null(strstr(e.msg, "no level allowed"));
}

static void test_names_and_levels(void **state)
{
	(void)state;
	struct err e;
	struct out o = { 0 };
	assert_string_equal(img_compression_name(IMG_COMP_GZIP), "gzip");
	assert_string_equal(img_compression_name(IMG_COMP_ZSTD), "zstd");
	assert_string_equal(img_compression_name(IMG_COMP_NONE), "none");
	assert_string_equal(img_compression_media_suffix(IMG_COMP_GZIP), "+gzip");
	assert_string_equal(img_compression_media_suffix(IMG_COMP_ZSTD), "+zstd");
	assert_string_equal(img_compression_media_suffix(IMG_COMP_NONE), "");
	assert_int_equal(img_compression_default_level(IMG_COMP_ZSTD), 3);
	int gl = img_compression_default_level(IMG_COMP_GZIP);
	assert_true(gl >= 1 && gl <= 9);
	assert_null(img_compressor_new(IMG_COMP_GZIP, 10, 1, out_sink, &o, &e));
	assert_non_null(strstr(e.msg, "out of range 1..9"));
	assert_null(img_compressor_new(IMG_COMP_ZSTD, -1, 1, out_sink, &o, &e));
	assert_null(img_compressor_new(IMG_COMP_NONE, 1, 1, out_sink, &o, &e));
	assert_null(img_compressor_new(IMG_COMP_GZIP, 1, -1, out_sink, &o, &e));
	assert_non_null(strstr(e.msg, "threads -1"));
	assert_null(img_compressor_new(IMG_COMP_GZIP, 1, 100000, out_sink, &o, &e));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gzip_roundtrip),     cmocka_unit_test(test_zstd_roundtrip),
		cmocka_unit_test(test_none_roundtrip),     cmocka_unit_test(test_gzip_levels),
		cmocka_unit_test(test_gzip_uses_dictionary),
		cmocka_unit_test(test_gzip_deterministic), cmocka_unit_test(test_zstd_deterministic),
		cmocka_unit_test(test_other_decoders),     cmocka_unit_test(test_sink_failure),
		cmocka_unit_test(test_free_midstream),     cmocka_unit_test(test_threads),
		cmocka_unit_test(test_finish_twice),
		cmocka_unit_test(test_parse),              cmocka_unit_test(test_names_and_levels),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
