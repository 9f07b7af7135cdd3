/* init.h: a tiny init for PID 1 of a container.
 *
 * A namespace's PID 1 gets no default signal actions (SIGTERM is ignored unless
 * handled) and inherits every orphan. Apps are rarely written for that, so with
 * rt_spec.init the container's PID 1 is this loop instead: it forwards signals to the
 * app, reaps zombies, and exits with the app's status (128+signal when it was killed).
 * It is a function of the already running child, not an exec of another binary. */
#ifndef RAMP_RUNTIME_INIT_H
#define RAMP_RUNTIME_INIT_H

#include <sys/types.h>

/* Run as PID 1 with every signal blocked (blocked before app was forked, so none is
   lost); app is the child to forward signals to. Never returns. */
void rt_init_run(pid_t app) __attribute__((noreturn));

#endif
