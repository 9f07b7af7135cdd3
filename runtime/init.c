/* init.c: the container's PID 1 loop (see init.h). Only system calls: it runs in a
 * clone of the runtime, where libc locks may be in any state. */
#include "runtime/init.h"

#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

void rt_init_run(pid_t app)
{
	sigset_t all;
	sigfillset(&all);
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&all, &si);
		if (sig < 0)
			continue; /* EINTR */
		if (sig != SIGCHLD) {
			kill(app, sig);
			continue;
		}
		/* reap every exited child: the app and any orphan re-parented to us */
		int st;
		pid_t p;
		while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
			if (p != app)
				continue;
			/* the kernel kills what is left in the namespace when PID 1 exits */
			_exit(WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st));
		}
	}
}
