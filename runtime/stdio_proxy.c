/* stdio_proxy.c: the caller's stdio copied to and from a container's own
 * descriptors (see stdio_proxy.h). One thread copies; the caller's own
 * descriptors are never made non-blocking (their descriptions are shared
 * with the shell), so writes to them may block, as the container's would. */
#include "runtime/stdio_proxy.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "lib/cleanup.h"

#define BUF 65536
#define LINGER_MS 1000 /* after the end, output still coming is waited for this long */

static bool is_devnull(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3);
}

static bool open_fd(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

/* A pipe: the container's end in ctr[t], ours returned (close-on-exec, non-blocking). */
static int make_pipe(struct rt_stdio *io, int t, struct err *e)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return err_sys(e, "pipe for fd %d", t);
	int mine = t == 0 ? p[1] : p[0];
	io->ctr[t] = t == 0 ? p[0] : p[1];
	if (fcntl(mine, F_SETFL, O_NONBLOCK) < 0) {
		err_sys(e, "pipe for fd %d", t);
		close(mine);
		return -1;
	}
	return mine;
}

int rt_stdio_prepare(struct rt_stdio *io, struct rt_spec *s, struct err *e)
{
	memset(io, 0, sizeof *io);
	io->prepared = true;
	io->ctr[0] = io->ctr[1] = io->ctr[2] = -1;
	io->in = io->out = io->err = io->in_peek = -1;
	if ((io->stop = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		return err_sys(e, "eventfd");
	/* a write to a reader that went away is an EPIPE here, handed on to the container */
	struct sigaction ign = {.sa_handler = SIG_IGN};
	sigaction(SIGPIPE, &ign, &io->oldpipe);
	bool fg = !isatty(0) || tcgetpgrp(0) == getpgrp();
	io->tty = fg && isatty(0) && isatty(1);
	int *spec_fd[3] = {&s->stdin_fd, &s->stdout_fd, &s->stderr_fd};
	if (io->tty) {
		struct winsize ws;
		if (ioctl(1, TIOCGWINSZ, &ws) == 0) {
			s->tty_rows = ws.ws_row;
			s->tty_cols = ws.ws_col;
		}
		s->stdin_fd = s->stdout_fd = RT_FD_PTY;
		if (isatty(2))
			s->stderr_fd = RT_FD_PTY;
		else if (!open_fd(2) || is_devnull(2))
			s->stderr_fd = RT_FD_NULL;
		else if ((io->err = make_pipe(io, 2, e)) < 0)
			return -1;
		else
			s->stderr_fd = io->ctr[2];
		/* SIGWINCH goes to the copying thread's signalfd, not to this thread */
		sigset_t winch, old;
		sigemptyset(&winch);
		sigaddset(&winch, SIGWINCH);
		pthread_sigmask(SIG_BLOCK, &winch, &old);
		io->winch_blocked = !sigismember(&old, SIGWINCH);
		return 0;
	}
	for (int t = 0; t < 3; t++) {
		int *mine = t == 0 ? &io->in : t == 1 ? &io->out : &io->err;
		if (!open_fd(t) || is_devnull(t) || (t == 0 && !fg)) {
			*spec_fd[t] = RT_FD_NULL;
			continue;
		}
		if ((*mine = make_pipe(io, t, e)) < 0)
			return -1;
		*spec_fd[t] = io->ctr[t];
	}
	struct stat st;
	if (io->in >= 0 && fstat(0, &st) == 0 && S_ISREG(st.st_mode) && (io->in_peek = dup(io->ctr[0])) >= 0)
		fcntl(io->in_peek, F_SETFD, FD_CLOEXEC);
	return 0;
}

/* Write all of p to the caller's fd (which may be non-blocking); -1 when it is gone. */
static int put(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EAGAIN) {
			struct pollfd pf = {.fd = fd, .events = POLLOUT};
			poll(&pf, 1, -1);
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Copy what one of the container's outputs has to the caller's fd; false at its end
   (or when the caller's side is gone: the container then gets EPIPE itself). */
static bool copy_out(int *from, int to, char *buf)
{
	ssize_t n = read(*from, buf, BUF);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return true;
	if (n > 0 && put(to, buf, (size_t)n) == 0)
		return true;
	close(*from); /* end of file, or EIO: the terminal's last slave closed */
	*from = -1;
	return false;
}

static void set_winsize(struct rt_stdio *io)
{
	struct winsize ws;
	if (ioctl(1, TIOCGWINSZ, &ws) == 0)
		ioctl(io->in, TIOCSWINSZ, &ws);
}

static void *copy_main(void *arg)
{
	struct rt_stdio *io = arg;
	char ibuf[BUF], obuf[BUF];
	size_t ilen = 0, ioff = 0;
	bool in_open = io->in >= 0, gone = false;
	int wfd = -1;
	if (io->tty) {
		sigset_t winch;
		sigemptyset(&winch);
		sigaddset(&winch, SIGWINCH);
		wfd = signalfd(-1, &winch, SFD_CLOEXEC | SFD_NONBLOCK);
	}
	for (;;) {
		enum { P_STOP, P_STDIN, P_IN, P_OUT, P_ERR, P_WINCH, P_N };
		struct pollfd p[P_N];
		for (int i = 0; i < P_N; i++)
			p[i] = (struct pollfd){.fd = -1};
		p[P_STOP] = (struct pollfd){.fd = gone ? -1 : io->stop, .events = POLLIN};
		if (in_open && !gone && ilen == ioff)
			p[P_STDIN] = (struct pollfd){.fd = 0, .events = POLLIN};
		if (in_open && !gone && ilen > ioff)
			p[P_IN] = (struct pollfd){.fd = io->in, .events = POLLOUT};
		p[P_OUT] = (struct pollfd){.fd = io->out, .events = POLLIN};
		p[P_ERR] = (struct pollfd){.fd = io->err, .events = POLLIN};
		p[P_WINCH] = (struct pollfd){.fd = wfd, .events = POLLIN};
		if (io->out < 0 && io->err < 0 && gone)
			break;
		int n = poll(p, P_N, gone ? LINGER_MS : -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* after the end, nothing came for a while: a descriptor was passed on */
		if (p[P_STOP].revents)
			gone = true;
		if (p[P_WINCH].revents) {
			struct signalfd_siginfo si;
			while (read(wfd, &si, sizeof si) == sizeof si)
				;
			set_winsize(io);
		}
		if (p[P_OUT].revents && !copy_out(&io->out, 1, obuf) && io->tty) {
			io->in = -1; /* the same master */
			in_open = false;
		}
		if (p[P_ERR].revents)
			copy_out(&io->err, 2, obuf);
		if (p[P_STDIN].revents) {
			ssize_t r = read(0, ibuf, BUF);
			if (r > 0) {
				ilen = (size_t)r;
				ioff = 0;
			} else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
				/* the end of the caller's stdin is the end of the container's (a
				   terminal's master stays open: it is the output too) */
				in_open = false;
				if (!io->tty) {
					close(io->in);
					io->in = -1;
				}
			}
		}
		if (p[P_IN].revents) {
			ssize_t w = write(io->in, ibuf + ioff, ilen - ioff);
			if (w > 0)
				ioff += (size_t)w;
			else if (w < 0 && errno != EAGAIN && errno != EINTR)
				in_open = false; /* the container closed its stdin */
		}
	}
	/* from a regular file, what the container did not read goes back to the caller */
	int queued = 0;
	if (io->in_peek >= 0 && ioctl(io->in_peek, FIONREAD, &queued) == 0 &&
	    (queued > 0 || ilen > ioff))
		lseek(0, -(off_t)(queued + (ilen - ioff)), SEEK_CUR);
	if (wfd >= 0)
		close(wfd);
	return NULL;
}

int rt_stdio_start(struct rt_stdio *io, struct rt_container *c, struct err *e)
{
	for (int t = 0; t < 3; t++)
		if (io->ctr[t] >= 0)
			close(steal_fd(io->ctr[t]));
	if (io->tty) {
		io->in = io->out = steal_fd(c->pty);
		if (fcntl(io->in, F_SETFL, O_NONBLOCK) < 0)
			return err_sys(e, "terminal");
		struct termios raw;
		if (tcgetattr(0, &io->saved) == 0) {
			raw = io->saved;
			cfmakeraw(&raw);
			/* keystrokes go to the container's terminal, which echoes and
			   signals itself; this one only passes bytes on */
			io->raw = tcsetattr(0, TCSADRAIN, &raw) == 0;
		}
		set_winsize(io);
	}
	if (pthread_create(&io->tid, NULL, copy_main, io) != 0)
		return err_set(e, "cannot start the thread that copies the container's stdio");
	io->thread = true;
	return 0;
}

void rt_stdio_finish(struct rt_stdio *io)
{
	if (!io->prepared)
		return;
	uint64_t one = 1;
	if (io->thread) {
		(void)!write(io->stop, &one, sizeof one);
		pthread_join(io->tid, NULL);
	}
	if (io->raw)
		tcsetattr(0, TCSADRAIN, &io->saved);
	int *fds[] = {&io->ctr[0], &io->ctr[1], &io->ctr[2], &io->out, &io->err, &io->in_peek, &io->stop};
	if (io->in >= 0 && io->in != io->out)
		close(io->in);
	for (size_t i = 0; i < sizeof fds / sizeof *fds; i++)
		if (*fds[i] >= 0)
			close(*fds[i]);
	if (io->winch_blocked) {
		sigset_t winch;
		sigemptyset(&winch);
		sigaddset(&winch, SIGWINCH);
		pthread_sigmask(SIG_UNBLOCK, &winch, NULL);
	}
	sigaction(SIGPIPE, &io->oldpipe, NULL);
	io->prepared = false;
}
