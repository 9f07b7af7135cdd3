/* stdio_proxy.h: the caller's stdin, stdout and stderr passed to a container
 * through descriptors of its own, as `ramp run` and `ramp test` do.
 *
 * A container must not hold the caller's descriptors: as root it could
 * chmod, chown or truncate the files, terminals and devices behind them
 * through /proc/self/fd/N, reopen them for writing, or change flags of a
 * file description it shares with the caller's shell. So it gets:
 *
 * - when the caller's stdin and stdout are its foreground terminal: a
 *   pseudo-terminal made in the container's own devpts (RT_FD_PTY), whose
 *   master is copied to and from the caller's terminal, put in raw mode for
 *   the time (restored on every way out); its window size follows SIGWINCH;
 *   stderr goes there too when it is the terminal, else through a pipe;
 * - otherwise a pipe per descriptor, copied by a thread of the caller;
 *   the container's own /dev/null for a descriptor that is closed or is
 *   /dev/null, and for stdin when the caller is in the background of its
 *   terminal.
 *
 * From a regular file, stdin is read ahead of the container, and what the
 * container did not read is given back (the file offset is set back) at the
 * end; from a pipe or a terminal, what was read ahead is lost, as with any
 * program that buffers its input. */
#ifndef RAMP_RT_STDIO_PROXY_H
#define RAMP_RT_STDIO_PROXY_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <termios.h>

#include "lib/err.h"
#include "runtime/container.h"

struct rt_stdio {
	bool prepared, tty, raw, thread, winch_blocked;
	int ctr[3];     /* the container's ends, closed here once it started */
	int in;         /* write end of the container's stdin (the master with tty) */
	int out, err;   /* read ends of its stdout and stderr (out: the master with tty) */
	int in_peek;    /* a read end of the stdin pipe, to count what was not read */
	int stop;       /* eventfd: the container has ended */
	struct termios saved;
	struct sigaction oldpipe;
	pthread_t tid;
};

/* Choose the descriptors and set spec's stdin_fd, stdout_fd, stderr_fd (and the
   terminal's size). */
int rt_stdio_prepare(struct rt_stdio *io, struct rt_spec *s, struct err *e);
/* After rt_start: the container's ends closed here, the terminal raw, copying on. */
int rt_stdio_start(struct rt_stdio *io, struct rt_container *c, struct err *e);
/* When the container has ended (or could not start): its output copied to the end,
   unread stdin given back, the caller's terminal and signals as they were. Safe
   to call without a prepare. */
void rt_stdio_finish(struct rt_stdio *io);

#endif
