/* sockets.c: addresses, ports and the listening sockets of apps (see sockets.h). */
#include "runtime/rampd/sockets.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <unistd.h>

#include "lib/cleanup.h"

#define RECOVER_MAX_FD 64 /* fds of an app searched for its handed sockets */

static int parse_port(const char *s, unsigned *port)
{
	char *end;
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (*end || errno || v > 65535)
		return -1;
	*port = (unsigned)v;
	return 0;
}

int rt_addr_parse(const char *s, bool need_port, struct rt_addr *a, struct err *e)
{
	char host[64];
	const char *h = s, *port = NULL;
	bool v6 = s[0] == '[';
	size_t hl;
	memset(a, 0, sizeof *a);
	if (v6) {
		const char *close = strchr(s, ']');
		if (!close)
			goto bad;
		h = s + 1;
		hl = (size_t)(close - h);
		if (close[1] == ':')
			port = close + 2;
		else if (close[1])
			goto bad;
	} else {
		const char *colon = strchr(s, ':');
		hl = colon ? (size_t)(colon - s) : strlen(s);
		if (colon)
			port = colon + 1;
	}
	if (hl == 0 || hl >= sizeof host)
		goto bad;
	memcpy(host, h, hl);
	host[hl] = '\0';
	unsigned p = 0;
	if (port ? parse_port(port, &p) < 0 : need_port)
		goto bad;
	struct sockaddr_in *in4 = (struct sockaddr_in *)&a->ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a->ss;
	if (!v6 && inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)p);
		a->len = sizeof *in4;
		return 0;
	}
	if (v6 && inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)p);
		a->len = sizeof *in6;
		return 0;
	}
bad:
	return err_set(e, "address \"%.80s\": expected %s", s,
		       need_port ? "IPv4:PORT or [IPv6]:PORT (numeric)" : "a numeric IPv4 or [IPv6] address");
}

void rt_addr_format(const struct rt_addr *a, char *buf, size_t cap)
{
	char host[INET6_ADDRSTRLEN];
	if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&a->ss;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
		snprintf(buf, cap, "[%s]:%u", host, rt_addr_port(a));
	} else {
		const struct sockaddr_in *in4 = (const struct sockaddr_in *)&a->ss;
		inet_ntop(AF_INET, &in4->sin_addr, host, sizeof host);
		snprintf(buf, cap, "%s:%u", host, rt_addr_port(a));
	}
}

unsigned rt_addr_port(const struct rt_addr *a)
{
	if (a->ss.ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
	return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
}

void rt_addr_set_port(struct rt_addr *a, unsigned port)
{
	if (a->ss.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&a->ss)->sin6_port = htons((uint16_t)port);
	else
		((struct sockaddr_in *)&a->ss)->sin_port = htons((uint16_t)port);
}

void rt_addr_connectable(const struct rt_addr *a, struct rt_addr *out)
{
	*out = *a;
	if (a->ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&out->ss;
		if (IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr))
			in6->sin6_addr = in6addr_loopback;
	} else {
		struct sockaddr_in *in4 = (struct sockaddr_in *)&out->ss;
		if (in4->sin_addr.s_addr == htonl(INADDR_ANY))
			in4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	}
}

int rt_port_parse(const char *s, unsigned *port, int *type, int *proto, char *canon, size_t cap, struct err *e)
{
	char num[8];
	const char *slash = strchr(s, '/');
	size_t nl = slash ? (size_t)(slash - s) : strlen(s);
	const char *pr = slash ? slash + 1 : "tcp";
	if (nl == 0 || nl >= sizeof num)
		goto bad;
	memcpy(num, s, nl);
	num[nl] = '\0';
	if (parse_port(num, port) < 0 || *port == 0)
		goto bad;
	if (!strcmp(pr, "tcp")) {
		*type = SOCK_STREAM;
		*proto = IPPROTO_TCP;
	} else if (!strcmp(pr, "udp")) {
		*type = SOCK_DGRAM;
		*proto = IPPROTO_UDP;
	} else if (!strcmp(pr, "sctp")) {
		*type = SOCK_STREAM;
		*proto = IPPROTO_SCTP;
	} else {
		goto bad;
	}
	snprintf(canon, cap, "%u/%s", *port, pr);
	return 0;
bad:
	return err_set(e, "port \"%.40s\": expected a number from 1 to 65535, optionally /tcp, /udp or /sctp", s);
}

int rt_socket_open(struct rt_socket *s, struct err *e)
{
	char where[80];
	int one = 1;
	rt_addr_format(&s->addr, where, sizeof where);
	_cleanup_close_ int fd = socket(s->addr.ss.ss_family, s->type | SOCK_CLOEXEC, s->proto);
	if (fd < 0)
		return err_sys(e, "socket for %s %s", s->name, where);
	/* a restarted rampd must bind again while old connections linger in TIME_WAIT */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
		return err_sys(e, "SO_REUSEADDR on %s", where);
	/* [::]:80 next to 0.0.0.0:80 needs v6-only */
	if (s->addr.ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0)
		return err_sys(e, "IPV6_V6ONLY on %s", where);
	if (bind(fd, (const struct sockaddr *)&s->addr.ss, s->addr.len) < 0)
		return err_sys(e, "bind %s (%s)", where, s->name);
	if (s->type == SOCK_STREAM && listen(fd, SOMAXCONN) < 0)
		return err_sys(e, "listen on %s", where);
	s->fd = steal_fd(fd);
	return 0;
}

bool rt_socket_matches(int fd, const struct rt_socket *s)
{
	int v;
	socklen_t l = sizeof v;
	struct rt_addr a;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &l) < 0 || v != s->type)
		return false;
	l = sizeof v;
	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &v, &l) < 0 || v != s->proto)
		return false;
	l = sizeof v;
	if (s->type == SOCK_STREAM && (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &l) < 0 || !v))
		return false;
	a.len = sizeof a.ss;
	if (getsockname(fd, (struct sockaddr *)&a.ss, &a.len) < 0)
		return false;
	return a.len == s->addr.len && !memcmp(&a.ss, &s->addr.ss, a.len);
}

static size_t recover_from(pid_t pid, struct rt_socket *s, size_t n)
{
	size_t got = 0;
	_cleanup_close_ int pfd = pidfd_open(pid, 0);
	if (pfd < 0)
		return 0;
	for (int fd = 3; fd < RECOVER_MAX_FD; fd++) {
		int mine = pidfd_getfd(pfd, fd, 0); /* comes back close-on-exec */
		if (mine < 0)
			continue;
		size_t i;
		for (i = 0; i < n; i++)
			if (s[i].fd < 0 && rt_socket_matches(mine, &s[i]))
				break;
		if (i < n) {
			s[i].fd = mine;
			got++;
		} else {
			close(mine);
		}
	}
	return got;
}

size_t rt_sockets_recover(pid_t pid, struct rt_socket *s, size_t n)
{
	char path[64];
	size_t open = 0;
	for (size_t i = 0; i < n; i++)
		open += s[i].fd >= 0;
	if (open < n)
		open += recover_from(pid, s, n);
	/* under the container's init the app is a child of pid */
	snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)pid, (int)pid);
	_cleanup_fclose_ FILE *f = open < n ? fopen(path, "re") : NULL;
	int child;
	while (f && open < n && fscanf(f, "%d", &child) == 1)
		open += recover_from(child, s, n);
	return open;
}

void rt_sockets_close(struct rt_socket *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i].fd >= 0)
			close(s[i].fd);
		s[i].fd = -1;
	}
}
