/* compress.c: streaming layer compressors (see compress.h).
 *
 * Parallel gzip: blocks of GZ_BLOCK input bytes, numbered in input order, go
 * round-robin into a ring of slots. Block n lives in slots[n % nslots]; the
 * calling thread fills it, workers deflate it, and the calling thread hands
 * the finished blocks to the sink strictly in order, which frees their slots.
 * A block's output depends only on its bytes, the 32 KiB before it (the preset
 * dictionary, copied in front of the block's data) and whether it is the last
 * one, so the concatenation is the same whatever thread did what, when. */
#include "image/compress.h"
#include "lib/cleanup.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#define GZ_BLOCK (128 * 1024) /* fixed: part of the output format, never derived from threads */
#define GZ_DICT (32 * 1024)   /* deflate's window: all the history a block can refer to */
#define MAX_THREADS 64
#define ZSTD_MAX_LEVEL 19     /* above needs ZSTD's "ultra" mode and far more memory */
/* Level 1: on a Debian tar, 2 cores, it is 1.9x faster than umoci repack; level 2
 * saves 1.4% of the size for ~25% more time, level 3 2.4% for ~30%, level 6
 * 6.4% for 3x the time (tests/bench/compress.sh). Who wants small layers uses zstd. */
#define GZIP_DEFAULT_LEVEL 1
#define ZSTD_DEFAULT_LEVEL 3
#define ZSTD_JOB_SIZE (2 << 20)

struct gz_slot {
	unsigned char *in; /* GZ_DICT bytes of dictionary, then up to GZ_BLOCK bytes of data */
	size_t dict_len, len;
	bool last;
	unsigned char *out;
	size_t out_len, out_cap;
	uLong crc;
	bool done;   /* set by the compressing thread, under mu */
	bool failed; /* with err; set before done */
	struct err err;
};

struct img_compressor {
	enum img_compression kind;
	int level;
	img_sink_fn sink;
	void *sink_ctx;
	bool finished, failed;
	struct err fail; /* the sticky error once failed */

	/* gzip */
	struct gz_slot *slots;
	size_t nslots;
	z_stream *strms; /* one per worker, or one for the calling thread when nworkers == 0 */
	size_t nstrms;   /* initialised ones */
	pthread_t *workers;
	size_t nworkers, nstarted;
	pthread_mutex_t mu;
	pthread_cond_t work_cv, done_cv;
	bool sync_init, stop;
	uint64_t filling;  /* number of the block being filled = blocks submitted so far */
	uint64_t next_job; /* next submitted block no worker took yet (under mu) */
	uint64_t written;  /* blocks delivered to the sink */
	uLong crc;
	uint64_t isize;

	/* zstd */
	ZSTD_CCtx *zc;
	unsigned char *zout;
	size_t zout_cap;
};

struct worker_arg {
	struct img_compressor *c;
	z_stream *strm;
};

const char *img_compression_name(enum img_compression kind)
{
	switch (kind) {
	case IMG_COMP_NONE: return "none";
	case IMG_COMP_GZIP: return "gzip";
	case IMG_COMP_ZSTD: return "zstd";
	}
	return "unknown";
}

const char *img_compression_media_suffix(enum img_compression kind)
{
	switch (kind) {
	case IMG_COMP_GZIP: return "+gzip";
	case IMG_COMP_ZSTD: return "+zstd";
	default: return "";
	}
}

int img_compression_default_level(enum img_compression kind)
{
	switch (kind) {
	case IMG_COMP_GZIP: return GZIP_DEFAULT_LEVEL;
	case IMG_COMP_ZSTD: return ZSTD_DEFAULT_LEVEL;
	default: return 0;
	}
}

int img_compression_check_level(enum img_compression kind, int level, struct err *e)
{
	if (level == IMG_COMP_LEVEL_DEFAULT)
		return 0;
	switch (kind) {
	case IMG_COMP_GZIP:
		if (level >= 1 && level <= 9)
			return 0;
		return err_set(e, "gzip compression level %d out of range 1..9", level);
	case IMG_COMP_ZSTD:
		if (level >= 1 && level <= ZSTD_MAX_LEVEL)
			return 0;
		return err_set(e, "zstd compression level %d out of range 1..%d", level, ZSTD_MAX_LEVEL);
	case IMG_COMP_NONE:
		return err_set(e, "compression \"none\" takes no level");
	}
	return err_set(e, "unknown compression kind %d", (int)kind);
}

int img_compression_parse(const char *spec, enum img_compression *kind, int *level, struct err *e)
{
	static const enum img_compression kinds[] = { IMG_COMP_GZIP, IMG_COMP_ZSTD, IMG_COMP_NONE };
	const char *colon = strchr(spec, ':');
	size_t nlen = colon ? (size_t)(colon - spec) : strlen(spec);
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		const char *name = img_compression_name(kinds[i]);
		if (strlen(name) != nlen || memcmp(spec, name, nlen) != 0)
			continue;
		int lvl = IMG_COMP_LEVEL_DEFAULT;
		if (colon) {
			const char *s = colon + 1;
			char *end;
			if (!level)
				return err_set(e, "compression \"%s\": no level allowed here", spec);
			/* digits only: no sign, no blanks, nothing after */
			if (*s < '0' || *s > '9')
				return err_set(e, "compression \"%s\": level is not a number", spec);
			errno = 0;
			long v = strtol(s, &end, 10);
			if (*end != '\0')
				return err_set(e, "compression \"%s\": level is not a number", spec);
			if (errno == ERANGE || v > INT_MAX || v == IMG_COMP_LEVEL_DEFAULT)
				return err_set(e, "compression \"%s\": level out of range", spec);
			lvl = (int)v;
			if (img_compression_check_level(kinds[i], lvl, e) < 0)
				return err_ctx(e, "compression \"%s\"", spec);
		}
		*kind = kinds[i];
		if (level)
			*level = lvl;
		return 0;
	}
	return err_set(e, "unknown compression \"%s\" (expected gzip, zstd or none, optionally with :LEVEL)",
		       spec);
}

/* Remembers the first failure: every later call returns it again. */
static int fail(struct img_compressor *c, struct err *e)
{
	c->failed = true;
	c->fail = *e;
	return -1;
}

static int sticky(struct img_compressor *c, struct err *e)
{
	if (c->failed) {
		*e = c->fail;
		return -1;
	}
	if (c->finished)
		return err_set(e, "compressor already finished");
	return 0;
}

static int sink(struct img_compressor *c, const void *buf, size_t len, struct err *e)
{
	if (len == 0)
		return 0;
	if (c->sink(c->sink_ctx, buf, len, e) < 0)
		return fail(c, e);
	return 0;
}

/* Compressing threads start with every signal blocked, so that signals meant
 * for the program (SIGINT, SIGTERM) interrupt the caller's thread, not a worker. */
static void signals_block(sigset_t *old)
{
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, old);
}

static void signals_restore(const sigset_t *old)
{
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

/* ---- gzip ---- */

/* Raw deflate of one block. Runs on a worker (or the calling thread); touches
 * only the slot and its own stream. */
static int gz_deflate_block(z_stream *s, struct gz_slot *b, struct err *e)
{
	int zr = deflateReset(s);
	if (zr == Z_OK && b->dict_len)
		zr = deflateSetDictionary(s, b->in + GZ_DICT - b->dict_len, (uInt)b->dict_len);
	if (zr != Z_OK)
		return err_set(e, "deflate: cannot start a block (zlib error %d)", zr);
	s->next_in = b->in + GZ_DICT;
	s->avail_in = (uInt)b->len;
	b->out_len = 0;
	int flush = b->last ? Z_FINISH : Z_SYNC_FLUSH;
	for (;;) {
		if (b->out_len == b->out_cap) { /* not expected: out_cap is deflateBound plus margin */
			unsigned char *n = realloc(b->out, b->out_cap * 2);
			if (!n)
				return err_sys(e, "deflate: growing the output buffer");
			b->out = n;
			b->out_cap *= 2;
		}
		s->next_out = b->out + b->out_len;
		s->avail_out = (uInt)(b->out_cap - b->out_len);
		zr = deflate(s, flush);
		b->out_len = b->out_cap - s->avail_out;
		if (zr == Z_STREAM_END || (zr == Z_OK && !b->last && s->avail_out != 0))
			break; /* all input consumed and flushed */
		/* otherwise only "out of space" is a reason to go round again */
		if ((zr != Z_OK && zr != Z_BUF_ERROR) || s->avail_out != 0)
			return err_set(e, "deflate: zlib error %d%s%s", zr, s->msg ? ": " : "",
				       s->msg ? s->msg : "");
	}
	b->crc = crc32(0, b->in + GZ_DICT, (uInt)b->len);
	return 0;
}

static void *gz_worker(void *arg)
{
	struct worker_arg *w = arg;
	struct img_compressor *c = w->c;
	pthread_mutex_lock(&c->mu);
	for (;;) {
		while (!c->stop && c->next_job == c->filling)
			pthread_cond_wait(&c->work_cv, &c->mu);
		if (c->stop)
			break;
		struct gz_slot *b = &c->slots[c->next_job++ % c->nslots];
		pthread_mutex_unlock(&c->mu);
		b->failed = gz_deflate_block(w->strm, b, &b->err) < 0;
		pthread_mutex_lock(&c->mu);
		b->done = true;
		pthread_cond_broadcast(&c->done_cv);
	}
	pthread_mutex_unlock(&c->mu);
	free(w);
	return NULL;
}

static const unsigned char gzip_header[10] = {
	0x1f, 0x8b, 8 /* deflate */, 0 /* no flags */, 0, 0, 0, 0 /* mtime */, 0 /* XFL */, 255 /* OS */,
};

/* Delivers block number c->written once it is compressed; waits for it when wait is set.
 * Returns 1 when one was delivered, 0 when not ready, -1 on error. */
static int gz_deliver_one(struct img_compressor *c, bool wait, struct err *e)
{
	struct gz_slot *b = &c->slots[c->written % c->nslots];
	if (c->nworkers) {
		pthread_mutex_lock(&c->mu);
		while (wait && !b->done)
			pthread_cond_wait(&c->done_cv, &c->mu);
		bool done = b->done;
		pthread_mutex_unlock(&c->mu);
		if (!done)
			return 0;
	} else if (!b->done) {
		return 0;
	}
	if (b->failed) {
		*e = b->err;
		return fail(c, e);
	}
	if (c->written == 0 && sink(c, gzip_header, sizeof gzip_header, e) < 0)
		return -1;
	if (sink(c, b->out, b->out_len, e) < 0)
		return -1;
	c->crc = crc32_combine(c->crc, b->crc, (z_off_t)b->len);
	c->isize += b->len;
	c->written++;
	return 1;
}

/* Hands the filled block to a worker (or deflates it here), then readies the
 * next slot: waits until its previous block is delivered, puts the last 32 KiB
 * of this block in front of it, and delivers whatever else is finished. */
static int gz_submit(struct img_compressor *c, bool last, struct err *e)
{
	struct gz_slot *b = &c->slots[c->filling % c->nslots];
	b->last = last;
	if (c->nworkers) {
		pthread_mutex_lock(&c->mu);
		c->filling++;
		pthread_cond_signal(&c->work_cv);
		pthread_mutex_unlock(&c->mu);
	} else {
		b->failed = gz_deflate_block(&c->strms[0], b, &b->err) < 0;
		b->done = true;
		c->filling++;
	}
	if (last)
		return 0;
	/* the next block reuses the slot of block filling - nslots */
	while (c->written + c->nslots <= c->filling)
		if (gz_deliver_one(c, true, e) < 0)
			return -1;
	struct gz_slot *n = &c->slots[c->filling % c->nslots];
	memcpy(n->in, b->in + GZ_DICT + GZ_BLOCK - GZ_DICT, GZ_DICT); /* b is full: only the last block is short */
	n->dict_len = GZ_DICT;
	n->len = 0;
	n->done = n->failed = false; /* no worker looks at it until it is submitted */
	int r;
	while ((r = gz_deliver_one(c, false, e)) > 0)
		;
	return r;
}

static int gz_write(struct img_compressor *c, const unsigned char *p, size_t len, struct err *e)
{
	while (len) {
		struct gz_slot *b = &c->slots[c->filling % c->nslots];
		size_t n = GZ_BLOCK - b->len;
		if (n > len)
			n = len;
		memcpy(b->in + GZ_DICT + b->len, p, n);
		b->len += n;
		p += n;
		len -= n;
		if (b->len == GZ_BLOCK && gz_submit(c, false, e) < 0)
			return -1;
	}
	return 0;
}

static int gz_finish(struct img_compressor *c, struct err *e)
{
	if (gz_submit(c, true, e) < 0)
		return -1;
	while (c->written < c->filling)
		if (gz_deliver_one(c, true, e) < 0)
			return -1;
	unsigned char t[8];
	for (int i = 0; i < 4; i++) {
		t[i] = (unsigned char)(c->crc >> (8 * i));
		t[4 + i] = (unsigned char)(c->isize >> (8 * i)); /* ISIZE is the size modulo 2^32 */
	}
	return sink(c, t, sizeof t, e);
}

static int gz_init(struct img_compressor *c, size_t threads, struct err *e)
{
	c->nworkers = threads > 1 ? threads : 0;
	size_t nstrms = c->nworkers ? c->nworkers : 1;
	/* enough blocks in flight to keep every worker busy while the caller fills and delivers */
	c->nslots = c->nworkers ? 2 * c->nworkers + 2 : 2;
	c->crc = crc32(0, NULL, 0);
	c->strms = calloc(nstrms, sizeof *c->strms);
	c->slots = calloc(c->nslots, sizeof *c->slots);
	if (!c->strms || !c->slots)
		return err_sys(e, "gzip: allocating %zu blocks", c->nslots);
	for (; c->nstrms < nstrms; c->nstrms++) {
		/* raw deflate (windowBits -15): the gzip framing is ours */
		int zr = deflateInit2(&c->strms[c->nstrms], c->level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
		if (zr != Z_OK)
			return err_set(e, "gzip: deflateInit2 level %d: zlib error %d", c->level, zr);
	}
	/* the margin covers the sync-flush marker, which deflateBound leaves out */
	size_t cap = deflateBound(&c->strms[0], GZ_BLOCK) + 64;
	for (size_t i = 0; i < c->nslots; i++) {
		c->slots[i].in = malloc(GZ_DICT + GZ_BLOCK);
		c->slots[i].out = malloc(cap);
		c->slots[i].out_cap = cap;
		if (!c->slots[i].in || !c->slots[i].out)
			return err_sys(e, "gzip: allocating %zu blocks", c->nslots);
	}
	if (!c->nworkers)
		return 0;
	int r = pthread_mutex_init(&c->mu, NULL);
	if (!r && (r = pthread_cond_init(&c->work_cv, NULL)) != 0)
		pthread_mutex_destroy(&c->mu);
	if (!r && (r = pthread_cond_init(&c->done_cv, NULL)) != 0) {
		pthread_cond_destroy(&c->work_cv);
		pthread_mutex_destroy(&c->mu);
	}
	if (r)
		return err_errno(e, r, "gzip: initialising locks");
	c->sync_init = true;
	c->workers = calloc(c->nworkers, sizeof *c->workers);
	if (!c->workers)
		return err_sys(e, "gzip: allocating %zu threads", c->nworkers);
	sigset_t old;
	signals_block(&old);
	for (; c->nstarted < c->nworkers; c->nstarted++) {
		struct worker_arg *w = malloc(sizeof *w);
		if (!w) {
			err_sys(e, "gzip: starting a thread");
			break;
		}
		*w = (struct worker_arg){ c, &c->strms[c->nstarted] };
		r = pthread_create(&c->workers[c->nstarted], NULL, gz_worker, w);
		if (r) {
			free(w);
			err_errno(e, r, "gzip: starting thread %zu of %zu", c->nstarted + 1, c->nworkers);
			break;
		}
	}
	signals_restore(&old);
	return c->nstarted == c->nworkers ? 0 : -1;
}

static void gz_free(struct img_compressor *c)
{
	if (c->sync_init) {
		pthread_mutex_lock(&c->mu);
		c->stop = true;
		pthread_cond_broadcast(&c->work_cv);
		pthread_mutex_unlock(&c->mu);
		for (size_t i = 0; i < c->nstarted; i++)
			pthread_join(c->workers[i], NULL);
		pthread_cond_destroy(&c->done_cv);
		pthread_cond_destroy(&c->work_cv);
		pthread_mutex_destroy(&c->mu);
	}
	free(c->workers);
	for (size_t i = 0; i < c->nstrms; i++)
		deflateEnd(&c->strms[i]);
	free(c->strms);
	for (size_t i = 0; c->slots && i < c->nslots; i++) {
		free(c->slots[i].in);
		free(c->slots[i].out);
	}
	free(c->slots);
}

/* ---- zstd ---- */

static int zs_init(struct img_compressor *c, size_t threads, struct err *e)
{
	c->zc = ZSTD_createCCtx();
	c->zout_cap = ZSTD_CStreamOutSize();
	c->zout = malloc(c->zout_cap);
	if (!c->zc || !c->zout)
		return err_set(e, "zstd: out of memory");
	size_t r = ZSTD_CCtx_setParameter(c->zc, ZSTD_c_compressionLevel, c->level);
	if (!ZSTD_isError(r))
		r = ZSTD_CCtx_setParameter(c->zc, ZSTD_c_checksumFlag, 1);
	/* the size is never known up front; saying so keeps one-shot and streamed output equal */
	if (!ZSTD_isError(r))
		r = ZSTD_CCtx_setParameter(c->zc, ZSTD_c_contentSizeFlag, 0);
	/* a fixed job size (part of the output format, like gzip's block size)
	 * small enough to keep memory bounded well under 64 MB with every worker busy */
	if (!ZSTD_isError(r))
		r = ZSTD_CCtx_setParameter(c->zc, ZSTD_c_jobSize, ZSTD_JOB_SIZE);
	if (ZSTD_isError(r))
		return err_set(e, "zstd: setting parameters: %s", ZSTD_getErrorName(r));
	/* nbWorkers >= 1 always, even for one thread: multi-threaded zstd writes the
	 * same bytes for any worker count, but not the same as single-threaded mode */
	r = ZSTD_CCtx_setParameter(c->zc, ZSTD_c_nbWorkers, (int)threads);
	if (ZSTD_isError(r))
		return err_set(e, "zstd: %zu worker threads: %s (libzstd without multi-threading?)",
			       threads, ZSTD_getErrorName(r));
	/* libzstd starts its threads on the first call: make it now, with signals
	 * blocked; no room for output, and an empty input, so nothing is lost */
	ZSTD_inBuffer in = { NULL, 0, 0 };
	ZSTD_outBuffer out = { c->zout, 0, 0 };
	sigset_t old;
	signals_block(&old);
	r = ZSTD_compressStream2(c->zc, &out, &in, ZSTD_e_continue);
	signals_restore(&old);
	if (ZSTD_isError(r))
		return err_set(e, "zstd: starting: %s", ZSTD_getErrorName(r));
	return 0;
}

/* Runs the stream with directive op until the input is consumed (and, for
 * ZSTD_e_end, the frame is complete), handing output to the sink as it comes. */
static int zs_run(struct img_compressor *c, const void *buf, size_t len, ZSTD_EndDirective op,
		  struct err *e)
{
	ZSTD_inBuffer in = { buf, len, 0 };
	for (;;) {
		ZSTD_outBuffer out = { c->zout, c->zout_cap, 0 };
		size_t r = ZSTD_compressStream2(c->zc, &out, &in, op);
		if (ZSTD_isError(r)) {
			err_set(e, "zstd: %s", ZSTD_getErrorName(r));
			return fail(c, e);
		}
		if (sink(c, c->zout, out.pos, e) < 0)
			return -1;
		if (op == ZSTD_e_end ? r == 0 : in.pos == in.size)
			return 0;
	}
}

/* ---- common ---- */

struct img_compressor *img_compressor_new(enum img_compression kind, int level, int threads,
					  img_sink_fn sink_fn, void *sink_ctx, struct err *e)
{
	if (img_compression_check_level(kind, level, e) < 0)
		return NULL;
	if (threads < 0 || threads > MAX_THREADS) {
		err_set(e, "compression threads %d out of range 0..%d", threads, MAX_THREADS);
		return NULL;
	}
	if (threads == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		threads = n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : (int)n;
	}
	struct img_compressor *c = calloc(1, sizeof *c);
	if (!c) {
		err_sys(e, "allocating a compressor");
		return NULL;
	}
	c->kind = kind;
	c->level = level == IMG_COMP_LEVEL_DEFAULT ? img_compression_default_level(kind) : level;
	c->sink = sink_fn;
	c->sink_ctx = sink_ctx;
	int r = 0;
	if (kind == IMG_COMP_GZIP)
		r = gz_init(c, (size_t)threads, e);
	else if (kind == IMG_COMP_ZSTD)
		r = zs_init(c, (size_t)threads, e);
	if (r < 0) {
		img_compressor_free(c);
		return NULL;
	}
	return c;
}

int img_compressor_write(struct img_compressor *c, const void *buf, size_t len, struct err *e)
{
	if (sticky(c, e) < 0)
		return -1;
	if (len == 0)
		return 0;
	switch (c->kind) {
	case IMG_COMP_GZIP: return gz_write(c, buf, len, e);
	case IMG_COMP_ZSTD: return zs_run(c, buf, len, ZSTD_e_continue, e);
	default: return sink(c, buf, len, e);
	}
}

int img_compressor_finish(struct img_compressor *c, struct err *e)
{
	if (sticky(c, e) < 0)
		return -1;
	int r = 0;
	if (c->kind == IMG_COMP_GZIP)
		r = gz_finish(c, e);
	else if (c->kind == IMG_COMP_ZSTD)
		r = zs_run(c, NULL, 0, ZSTD_e_end, e);
	if (r == 0)
		c->finished = true;
	return r;
}

void img_compressor_free(struct img_compressor *c)
{
	if (!c)
		return;
	if (c->kind == IMG_COMP_GZIP)
		gz_free(c);
	ZSTD_freeCCtx(c->zc);
	free(c->zout);
	free(c);
}
