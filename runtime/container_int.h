/* container_int.h: what the container modules share for the child side of clone.
 *
 * A child cloned from a possibly multithreaded process gets a copy of memory in which
 * another thread may have held a libc lock (malloc, gettext, stdio) at clone time. So
 * code that runs there allocates nothing and takes no libc locks: the parent prepares
 * everything it needs, and its errors are formatted without strerror (the parent adds
 * the errno text when it reads the error back). */
#ifndef RAMP_RUNTIME_CONTAINER_INT_H
#define RAMP_RUNTIME_CONTAINER_INT_H

#include <stdint.h>
#include <sys/types.h>

#include "lib/err.h"

/* Child-side error: message and errnum only; returns -1. */
int rt_cerr(struct err *e, int errnum, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* fork-like clone3: flags are CLONE_* (namespaces, CLONE_PARENT...); *pidfd receives a
   pidfd when pidfd is not NULL; cgroup_fd >= 0 starts the child in that cgroup v2 dir.
   Returns the pid in the parent, 0 in the child, -1 with errno. */
pid_t rt_clone(uint64_t flags, int *pidfd, int cgroup_fd);

#endif
