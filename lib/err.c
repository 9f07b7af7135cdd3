/* err.c: formatting of error objects (see err.h). */
#include "lib/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void vset(struct err *e, int errnum, const char *fmt, va_list ap)
{
	int n = vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	if (n < 0)
		n = 0;
	if (errnum && (size_t)n < sizeof e->msg)
		snprintf(e->msg + n, sizeof e->msg - (size_t)n, ": %s", strerror(errnum));
	e->errnum = errnum;
}

int err_set(struct err *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vset(e, 0, fmt, ap);
	va_end(ap);
	return -1;
}

int err_sys(struct err *e, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	vset(e, saved, fmt, ap);
	va_end(ap);
	errno = saved;
	return -1;
}

int err_errno(struct err *e, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vset(e, errnum, fmt, ap);
	va_end(ap);
	return -1;
}

int err_ctx(struct err *e, const char *fmt, ...)
{
	char ctx[512], old[sizeof e->msg];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ctx, sizeof ctx, fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof old);
	size_t n = strlen(ctx);
	if (n + 2 < sizeof e->msg) {
		memcpy(e->msg, ctx, n);
		memcpy(e->msg + n, ": ", 2);
		size_t rest = sizeof e->msg - n - 3, ol = strnlen(old, rest);
		memcpy(e->msg + n + 2, old, ol);
		e->msg[n + 2 + ol] = '\0';
	}
	return -1;
}

void err_clear(struct err *e)
{
	e->errnum = 0;
	e->msg[0] = '\0';
}
