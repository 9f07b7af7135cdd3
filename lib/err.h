/* err.h: error objects carried up the call chain.
 *
 * Every fallible function takes a `struct err *` and, on failure, fills it with
 * the errno (0 when there is none) and a message naming the thing that failed.
 * Callers add context on the way up with err_ctx(). All setters return -1 so a
 * failure is reported in one line: `return err_sys(e, "open \"%s\"", p);`. */
#ifndef RAMP_ERR_H
#define RAMP_ERR_H

#include <stddef.h>

struct err {
	int errnum;     /* errno of the root cause, 0 when none */
	char msg[2048]; /* "context: context: cause" */
};

/* Set a message without an errno. */
int err_set(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Set a message with errno appended as ": strerror(errno)". Uses the current errno. */
int err_sys(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Same with an explicit errno value. */
int err_errno(struct err *e, int errnum, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Prepend context: "ctx: previous message". */
int err_ctx(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reset to "no error". */
void err_clear(struct err *e);

#endif
