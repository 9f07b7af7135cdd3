/* daemon_notify.c: the systemd notification protocol, written directly (no
 * libsystemd): a datagram of "KEY=VALUE" lines to the unix socket named by
 * $NOTIFY_SOCKET ('@' for the abstract namespace). */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "runtime/rampd/daemon.h"

int rt_notify(const char *msg, struct err *e)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (!path || !*path)
		return 0;
	size_t n = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || n >= sizeof sa.sun_path)
		return err_set(e, "NOTIFY_SOCKET \"%.80s\": not a unix socket address", path);
	memcpy(sa.sun_path, path, n);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_sys(e, "notify socket");
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] == '/'));
	if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa, len) < 0)
		return err_sys(e, "notify \"%.80s\"", path);
	return 0;
}

int64_t rt_watchdog_interval_ms(void)
{
	const char *us = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
	char *end;
	if (!us || (pid && strtol(pid, NULL, 10) != (long)getpid()))
		return 0;
	long long v = strtoll(us, &end, 10);
	if (*end || v <= 0)
		return 0;
	/* half the period, as sd_watchdog_enabled advises, and at least every ms */
	return v / 2000 > 0 ? v / 2000 : 1;
}
