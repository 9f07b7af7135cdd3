/* applog.h: the apps' output, collected by rampd through pipes.
 *
 * An app's stdout and stderr are the write end of a pipe, never a host file:
 * nothing the app does through its descriptors (chmod, chown, truncate, a
 * reopen through /proc/self/fd, fcntl) reaches apps/NAME/run/app.log, which
 * only rampd writes. Each line the app writes becomes "TIME [ID] LINE" there
 * (ID: the container), rampd's own lines are "TIME rampd: MESSAGE", so an app
 * cannot write a line that reads as rampd's.
 *
 * Two threads serve every app: one drains the pipes into memory at once (at
 * most RT_APPLOG_BUFFER per app waiting to be written; beyond it output is
 * dropped and counted, never waited for), the other writes to the files and
 * rotates them (app.log → app.log.1 → … beyond the app's log_max bytes,
 * log_files files kept). A full disk or a slow one therefore never stalls an
 * app or rampd: what cannot be written is dropped and a rampd line says how
 * much. */
#ifndef RAMP_RT_APPLOG_H
#define RAMP_RT_APPLOG_H

#include <stdint.h>

#include "lib/err.h"

#define RT_APPLOG_BUFFER (1u << 20)   /* per app, waiting to be written */
#define RT_APPLOG_LINE_MAX 16384      /* longer lines are cut into lines of this size */
#define RT_APPLOG_FLUSH_MS 1000       /* a line without its end is written after this */
#define RT_APPLOG_FILES_MAX 10
#define RT_APPLOG_PIPE_SIZE (1 << 20) /* what an app may write while rampd restarts */

struct rt_applog;
struct rt_applog_file;

/* The collector's threads (started with the caller's signal mask). */
int rt_applog_new(struct rt_applog **out, struct err *e);
/* After every file is closed: stops the threads. */
void rt_applog_free(struct rt_applog *l);

/* An app's log: DIR/app.log (made 0600 if missing, never through a symlink). */
struct rt_applog_file *rt_applog_open(struct rt_applog *l, const char *dir, const char *app, struct err *e);
/* Rotate beyond max bytes, keeping `files` files (1: app.log is emptied instead). */
void rt_applog_limits(struct rt_applog_file *f, uint64_t max, unsigned files);
/* Stop reading its pipes, write what is queued, close and free it. */
void rt_applog_close(struct rt_applog_file *f);

/* rampd's own line. */
void rt_applog_note(struct rt_applog_file *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Read fd (a pipe's read end, taken over) until its end: each line of the
   container `id` goes to the log. */
int rt_applog_attach(struct rt_applog_file *f, int fd, const char *id, struct err *e);

/* Wait (at most timeout_ms) until the pipe of container `id` has been read to its end,
   so that a line about its exit comes after its last words. */
void rt_applog_wait_end(struct rt_applog_file *f, const char *id, int timeout_ms);

/* The line assembly of one pipe, on its own for the tests: bytes in, whole lines
   out through emit (without their "\n"; a "\r" before it is kept), a line longer
   than RT_APPLOG_LINE_MAX cut into pieces of that size. */
struct rt_applog_lines {
	char part[RT_APPLOG_LINE_MAX];
	size_t n;
};
typedef void rt_applog_emit_fn(void *ctx, const char *line, size_t len);
void rt_applog_split(struct rt_applog_lines *s, const char *buf, size_t len, rt_applog_emit_fn *emit, void *ctx);
/* The partial line, if any, as a line. */
void rt_applog_split_flush(struct rt_applog_lines *s, rt_applog_emit_fn *emit, void *ctx);

#endif
