/* applog.c: the apps' output through pipes into their app.log (see applog.h).
 *
 * The drain thread owns the streams (one per container: its pipe and partial
 * line) and only ever reads pipes and appends to queues in memory; the writer
 * thread owns the files' descriptors and sizes and is the only one to write,
 * rotate and close them. Queues, limits and the lists are under mu. */
#include "runtime/rampd/applog.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "runtime/rampd/supervisor.h"

#define CHUNK 16384
#define LOG_MAX_DEFAULT (8u << 20)
#define FILES_DEFAULT 2

struct chunk {
	struct chunk *next;
	size_t len, cap;
	char data[];
};

struct rt_applog_file {
	struct rt_applog *l;
	struct rt_applog_file *next;
	char app[64];
	int dirfd, fd;      /* the writer's (and the opener's, before it is listed) */
	uint64_t size;      /* the writer's */
	uint64_t lost;      /* the writer's: bytes a failed write dropped */
	int lost_errno;
	/* under mu */
	uint64_t max;
	unsigned files;
	struct chunk *head, *tail;
	size_t queued;
	uint64_t dropped;   /* bytes refused: the queue was full */
	unsigned streams;
	bool closing, done;
};

struct stream {
	struct stream *next;
	struct rt_applog_file *f;
	int fd;
	char id[40];
	int64_t part_since; /* monotonic ms of the oldest byte of a partial line, 0: none */
	struct rt_applog_lines lines;
};

struct rt_applog {
	pthread_mutex_t mu;
	pthread_cond_t work, done;
	struct rt_applog_file *files;
	struct stream *streams;
	int epfd, wakefd;
	bool quit;
	pthread_t drain, writer;
};

/* ---- line assembly ---- */

void rt_applog_split(struct rt_applog_lines *s, const char *buf, size_t len, rt_applog_emit_fn *emit, void *ctx)
{
	size_t i = 0;
	while (i < len) {
		const char *nl = memchr(buf + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - buf) : len;
		/* whole pieces of a line too long to keep */
		while (end - i > RT_APPLOG_LINE_MAX - s->n) {
			size_t k = RT_APPLOG_LINE_MAX - s->n;
			if (s->n) {
				memcpy(s->part + s->n, buf + i, k);
				emit(ctx, s->part, RT_APPLOG_LINE_MAX);
				s->n = 0;
			} else {
				emit(ctx, buf + i, k);
			}
			i += k;
		}
		if (!nl) {
			memcpy(s->part + s->n, buf + i, end - i);
			s->n += end - i;
			return;
		}
		if (s->n) {
			memcpy(s->part + s->n, buf + i, end - i);
			emit(ctx, s->part, s->n + end - i);
			s->n = 0;
		} else {
			emit(ctx, buf + i, end - i);
		}
		i = end + 1;
	}
}

void rt_applog_split_flush(struct rt_applog_lines *s, rt_applog_emit_fn *emit, void *ctx)
{
	if (s->n)
		emit(ctx, s->part, s->n);
	s->n = 0;
}

/* ---- queues (under mu) ---- */

/* One line a + b + "\n"; refused (and counted) when the app's queue is full. */
static void enqueue(struct rt_applog_file *f, const char *a, size_t alen, const char *b, size_t blen)
{
	size_t need = alen + blen + 1;
	struct chunk *c = f->tail;
	if (f->queued + need > RT_APPLOG_BUFFER) {
		f->dropped += need;
		return;
	}
	if (!c || c->cap - c->len < need) {
		size_t cap = need > CHUNK ? need : CHUNK;
		if (!(c = malloc(sizeof *c + cap))) {
			f->dropped += need;
			return;
		}
		c->next = NULL;
		c->len = 0;
		c->cap = cap;
		if (f->tail)
			f->tail->next = c;
		else
			f->head = c;
		f->tail = c;
	}
	memcpy(c->data + c->len, a, alen);
	memcpy(c->data + c->len + alen, b, blen);
	c->data[c->len + need - 1] = '\n';
	c->len += need;
	f->queued += need;
	pthread_cond_signal(&f->l->work);
}

static size_t stamp(char *buf, size_t cap, const char *who)
{
	char t[32];
	clk_rfc3339(clk_wall_ms(), false, t, sizeof t);
	int n = snprintf(buf, cap, "%s %s ", t, who);
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

static void wake(struct rt_applog *l)
{
	uint64_t one = 1;
	if (write(l->wakefd, &one, sizeof one) < 0 && errno != EAGAIN)
		log_debug("app log: wake: %s", strerror(errno));
}

/* ---- the drain thread ---- */

struct emit_ctx {
	struct rt_applog_file *f;
	char prefix[80];
	size_t plen;
};

static void emit_line(void *ctx, const char *line, size_t len)
{
	struct emit_ctx *c = ctx;
	enqueue(c->f, c->prefix, c->plen, line, len);
}

static void prefix_of(struct stream *s, struct emit_ctx *c)
{
	char who[48];
	snprintf(who, sizeof who, "[%s]", s->id);
	c->f = s->f;
	c->plen = stamp(c->prefix, sizeof c->prefix, who);
}

/* Its partial line written, its pipe closed (under mu). When its app's log closes
   before the pipe's end, what is in the pipe is read first (at most what it holds). */
static void finish_stream(struct rt_applog *l, struct stream *s, bool rest)
{
	struct emit_ctx c;
	char buf[16384];
	ssize_t n;
	prefix_of(s, &c);
	for (size_t got = 0; rest && got < RT_APPLOG_PIPE_SIZE && (n = read(s->fd, buf, sizeof buf)) > 0; got += (size_t)n)
		rt_applog_split(&s->lines, buf, (size_t)n, emit_line, &c);
	rt_applog_split_flush(&s->lines, emit_line, &c);
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, s->fd, NULL);
	close(s->fd);
	for (struct stream **p = &l->streams; *p; p = &(*p)->next)
		if (*p == s) {
			*p = s->next;
			break;
		}
	s->f->streams--;
	pthread_cond_signal(&l->work); /* a closing file may be done now */
	pthread_cond_broadcast(&l->done);
	free(s);
}

static void read_stream(struct rt_applog *l, struct stream *s, char *buf, size_t cap, int64_t now)
{
	ssize_t n = read(s->fd, buf, cap);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	struct emit_ctx c;
	pthread_mutex_lock(&l->mu);
	if (n > 0) {
		prefix_of(s, &c);
		rt_applog_split(&s->lines, buf, (size_t)n, emit_line, &c);
		s->part_since = s->lines.n ? (s->part_since ? s->part_since : now) : 0;
	} else {
		finish_stream(l, s, false); /* the end: every writer is gone */
	}
	pthread_mutex_unlock(&l->mu);
}

static void *drain_main(void *arg)
{
	struct rt_applog *l = arg;
	char buf[65536];
	struct epoll_event ev[16];
	for (;;) {
		int timeout = -1;
		int64_t now = clk_mono_ms();
		pthread_mutex_lock(&l->mu);
		for (struct stream *s = l->streams, *next; s; s = next) {
			next = s->next;
			if (s->f->closing || l->quit) {
				finish_stream(l, s, true);
			} else if (s->part_since && now - s->part_since >= RT_APPLOG_FLUSH_MS) {
				struct emit_ctx c;
				prefix_of(s, &c);
				rt_applog_split_flush(&s->lines, emit_line, &c);
				s->part_since = 0;
			} else if (s->part_since) {
				int64_t left = s->part_since + RT_APPLOG_FLUSH_MS - now;
				if (timeout < 0 || left < timeout)
					timeout = (int)left;
			}
		}
		bool quit = l->quit;
		pthread_mutex_unlock(&l->mu);
		if (quit)
			return NULL;
		int n = epoll_wait(l->epfd, ev, 16, timeout);
		now = clk_mono_ms();
		for (int i = 0; i < n; i++) {
			if (!ev[i].data.ptr) {
				uint64_t v;
				if (read(l->wakefd, &v, sizeof v) < 0 && errno != EAGAIN)
					log_debug("app log: %s", strerror(errno));
				continue;
			}
			read_stream(l, ev[i].data.ptr, buf, sizeof buf, now);
		}
	}
}

/* ---- the writer thread ---- */

/* app.log → app.log.1 → … app.log.(files-1); a new app.log. */
static void rotate(struct rt_applog_file *f, unsigned files)
{
	char from[32], to[32];
	if (files <= 1) {
		if (ftruncate(f->fd, 0) == 0)
			f->size = 0;
		return;
	}
	for (unsigned i = files; i <= RT_APPLOG_FILES_MAX; i++) {
		snprintf(to, sizeof to, "app.log.%u", i);
		unlinkat(f->dirfd, to, 0); /* kept before the setting was lowered */
	}
	for (unsigned i = files - 1; i >= 1; i--) {
		if (i == 1)
			snprintf(from, sizeof from, "app.log");
		else
			snprintf(from, sizeof from, "app.log.%u", i - 1);
		snprintf(to, sizeof to, "app.log.%u", i);
		if (renameat(f->dirfd, from, f->dirfd, to) < 0 && errno != ENOENT)
			log_warn("app %s: rotate its log: rename %s: %s", f->app, from, strerror(errno));
	}
	int fd = openat(f->dirfd, "app.log", O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		log_warn("app %s: rotate its log: %s", f->app, strerror(errno));
		return;
	}
	close(f->fd);
	f->fd = fd;
	f->size = 0;
}

static void write_out(struct rt_applog_file *f, const char *p, size_t n, uint64_t max, unsigned files)
{
	struct err e = {0};
	if (f->size > 0 && f->size + n > max)
		rotate(f, files);
	if (f->lost) {
		/* said once it can be written again */
		char line[256];
		size_t k = stamp(line, sizeof line, "rampd:");
		k += (size_t)snprintf(line + k, sizeof line - k, "%" PRIu64 " bytes of output were lost: app.log could not be written (%s)\n",
				      f->lost, strerror(f->lost_errno));
		if (k < sizeof line && fs_write_all(f->fd, line, k, "app.log", &e) == 0) {
			f->size += k;
			f->lost = 0;
		}
	}
	if (!f->lost && fs_write_all(f->fd, p, n, "app.log", &e) == 0) {
		f->size += n;
		return;
	}
	if (!f->lost) {
		f->lost_errno = e.errnum;
		log_warn("app %s: its log cannot be written (%s): its output is dropped until it can", f->app,
			 strerror(e.errnum));
	}
	f->lost += n;
}

static struct rt_applog_file *next_work(struct rt_applog *l)
{
	for (struct rt_applog_file *f = l->files; f; f = f->next)
		if (f->head || f->dropped || (f->closing && !f->streams))
			return f;
	return NULL;
}

static void unlist(struct rt_applog *l, struct rt_applog_file *f)
{
	for (struct rt_applog_file **p = &l->files; *p; p = &(*p)->next)
		if (*p == f) {
			*p = f->next;
			break;
		}
}

static void *writer_main(void *arg)
{
	struct rt_applog *l = arg;
	pthread_mutex_lock(&l->mu);
	for (;;) {
		struct rt_applog_file *f = next_work(l);
		if (!f) {
			if (l->quit)
				break;
			pthread_cond_wait(&l->work, &l->mu);
			continue;
		}
		struct chunk *list = f->head;
		uint64_t dropped = f->dropped, max = f->max;
		unsigned files = f->files;
		f->head = f->tail = NULL;
		f->dropped = 0;
		/* to the end of the list: a busy app does not starve the others */
		unlist(l, f);
		struct rt_applog_file **end = &l->files;
		while (*end)
			end = &(*end)->next;
		*end = f;
		f->next = NULL;
		pthread_mutex_unlock(&l->mu);
		size_t written = 0;
		for (struct chunk *c = list, *next; c; c = next) {
			next = c->next;
			write_out(f, c->data, c->len, max, files);
			written += c->len;
			free(c);
		}
		if (dropped) {
			char line[256];
			size_t k = stamp(line, sizeof line, "rampd:");
			k += (size_t)snprintf(line + k, sizeof line - k,
					      "%" PRIu64 " bytes of output were dropped: they came faster than they could be written\n",
					      dropped);
			if (k < sizeof line)
				write_out(f, line, k, max, files);
		}
		pthread_mutex_lock(&l->mu);
		f->queued -= written;
		if (f->closing && !f->streams && !f->head && !f->dropped) {
			close(f->fd);
			close(f->dirfd);
			unlist(l, f);
			f->done = true;
			pthread_cond_broadcast(&l->done);
		}
	}
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

/* ---- the interface ---- */

int rt_applog_new(struct rt_applog **out, struct err *e)
{
	struct rt_applog *l = calloc(1, sizeof *l);
	if (!l)
		return err_errno(e, ENOMEM, "app log");
	l->epfd = l->wakefd = -1;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->work, NULL);
	pthread_cond_init(&l->done, &ca);
	pthread_condattr_destroy(&ca);
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	if ((l->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 || (l->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0 ||
	    epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->wakefd, &ev) < 0) {
		err_sys(e, "app log");
		goto fail;
	}
	if (pthread_create(&l->drain, NULL, drain_main, l) != 0) {
		err_set(e, "app log: cannot start its thread");
		goto fail;
	}
	if (pthread_create(&l->writer, NULL, writer_main, l) != 0) {
		pthread_mutex_lock(&l->mu);
		l->quit = true;
		pthread_mutex_unlock(&l->mu);
		wake(l);
		pthread_join(l->drain, NULL);
		err_set(e, "app log: cannot start its thread");
		goto fail;
	}
	pthread_setname_np(l->drain, "app log read");
	pthread_setname_np(l->writer, "app log write");
	*out = l;
	return 0;
fail:
	if (l->epfd >= 0)
		close(l->epfd);
	if (l->wakefd >= 0)
		close(l->wakefd);
	free(l);
	return -1;
}

void rt_applog_free(struct rt_applog *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->mu);
	l->quit = true;
	pthread_cond_broadcast(&l->work);
	pthread_mutex_unlock(&l->mu);
	wake(l);
	pthread_join(l->drain, NULL);
	pthread_join(l->writer, NULL);
	close(l->epfd);
	close(l->wakefd);
	pthread_cond_destroy(&l->work);
	pthread_cond_destroy(&l->done);
	pthread_mutex_destroy(&l->mu);
	free(l);
}

struct rt_applog_file *rt_applog_open(struct rt_applog *l, const char *dir, const char *app, struct err *e)
{
	struct rt_applog_file *f = calloc(1, sizeof *f);
	struct stat st;
	if (!f) {
		err_errno(e, ENOMEM, "app log");
		return NULL;
	}
	f->l = l;
	f->max = LOG_MAX_DEFAULT;
	f->files = FILES_DEFAULT;
	snprintf(f->app, sizeof f->app, "%s", app);
	f->fd = -1;
	if ((f->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)) < 0 ||
	    (f->fd = openat(f->dirfd, "app.log", O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0 ||
	    fstat(f->fd, &st) < 0) {
		err_sys(e, "open \"%s/app.log\"", dir);
		if (f->dirfd >= 0)
			close(f->dirfd);
		if (f->fd >= 0)
			close(f->fd);
		free(f);
		return NULL;
	}
	f->size = (uint64_t)st.st_size;
	pthread_mutex_lock(&l->mu);
	f->next = l->files;
	l->files = f;
	pthread_mutex_unlock(&l->mu);
	return f;
}

void rt_applog_limits(struct rt_applog_file *f, uint64_t max, unsigned files)
{
	pthread_mutex_lock(&f->l->mu);
	f->max = max;
	f->files = files < 1 ? 1 : files > RT_APPLOG_FILES_MAX ? RT_APPLOG_FILES_MAX : files;
	pthread_mutex_unlock(&f->l->mu);
}

void rt_applog_close(struct rt_applog_file *f)
{
	if (!f)
		return;
	struct rt_applog *l = f->l;
	pthread_mutex_lock(&l->mu);
	f->closing = true;
	pthread_cond_signal(&l->work);
	pthread_mutex_unlock(&l->mu);
	wake(l);
	pthread_mutex_lock(&l->mu);
	while (!f->done)
		pthread_cond_wait(&l->done, &l->mu);
	pthread_mutex_unlock(&l->mu);
	free(f);
}

void rt_applog_note(struct rt_applog_file *f, const char *fmt, ...)
{
	char prefix[64], msg[600];
	va_list ap;
	size_t plen = stamp(prefix, sizeof prefix, "rampd:");
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	pthread_mutex_lock(&f->l->mu);
	enqueue(f, prefix, plen, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1);
	pthread_mutex_unlock(&f->l->mu);
}

void rt_applog_wait_end(struct rt_applog_file *f, const char *id, int timeout_ms)
{
	struct rt_applog *l = f->l;
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&l->mu);
	for (;;) {
		bool open = false;
		for (struct stream *s = l->streams; s && !open; s = s->next)
			open = s->f == f && !strcmp(s->id, id);
		if (!open || pthread_cond_timedwait(&l->done, &l->mu, &until) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&l->mu);
}

int rt_applog_attach(struct rt_applog_file *f, int fd, const char *id, struct err *e)
{
	struct rt_applog *l = f->l;
	struct stream *s = calloc(1, sizeof *s);
	if (!s) {
		close(fd);
		return err_errno(e, ENOMEM, "app log");
	}
	s->f = f;
	s->fd = fd;
	snprintf(s->id, sizeof s->id, "%s", id);
	int fl = fcntl(fd, F_GETFL);
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = s};
	pthread_mutex_lock(&l->mu);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 || epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		pthread_mutex_unlock(&l->mu);
		err_sys(e, "read the output of %s", id);
		close(fd);
		free(s);
		return -1;
	}
	s->next = l->streams;
	l->streams = s;
	f->streams++;
	pthread_mutex_unlock(&l->mu);
	return 0;
}
