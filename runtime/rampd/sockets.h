/* sockets.h: the listening sockets rampd opens for an app and hands to every
 * version of it (LISTEN_FDS, as systemd does).
 *
 * rampd, not the app, owns each socket: a new version starts on the very same
 * socket while the old one still holds it, so a switch or a revert never
 * refuses a connection (at worst one waits in the accept queue for a moment).
 * After a restart of rampd the sockets are taken back from the running app
 * (pidfd_getfd), since a second bind of the same address would fail. */
#ifndef RAMP_RT_SOCKETS_H
#define RAMP_RT_SOCKETS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "lib/err.h"

struct rt_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/* "IP:PORT" or "[IPv6]:PORT"; without need_port also a bare "IP" or "[IPv6]"
 * (port 0). Only numeric addresses: a host name would make binding depend on
 * the resolver at boot. */
int rt_addr_parse(const char *s, bool need_port, struct rt_addr *a, struct err *e);
/* "1.2.3.4:80", "[::1]:80" */
void rt_addr_format(const struct rt_addr *a, char *buf, size_t cap);
unsigned rt_addr_port(const struct rt_addr *a);
void rt_addr_set_port(struct rt_addr *a, unsigned port);
/* The address to connect to for reaching a socket bound on a: the loopback
 * address of the family when a is the wildcard. */
void rt_addr_connectable(const struct rt_addr *a, struct rt_addr *out);

/* A port as images write it: "8080", "8080/tcp", "53/udp", "9/sctp".
 * *canon gets "8080/tcp" (at least 16 bytes). */
int rt_port_parse(const char *s, unsigned *port, int *type, int *proto, char *canon, size_t cap, struct err *e);

/* One socket of an app: a container port bound on a host address. */
struct rt_socket {
	char name[16]; /* the container port, "8080/tcp": its LISTEN_FDNAMES name */
	struct rt_addr addr;
	int type, proto; /* SOCK_STREAM/IPPROTO_TCP, SOCK_DGRAM/IPPROTO_UDP, SOCK_STREAM/IPPROTO_SCTP */
	int fd;          /* -1 until opened */
};

/* Open, bind and (stream sockets) listen; close-on-exec, blocking, as handed
 * sockets conventionally are. */
int rt_socket_open(struct rt_socket *s, struct err *e);
/* True when fd is a socket of s's kind bound to s's address (and listening,
 * for stream sockets): used to recognise a socket taken back from an app. */
bool rt_socket_matches(int fd, const struct rt_socket *s);
/* Take the sockets back from a running app: for each s[i] not yet open, look
 * at fds 3.. of pid (and of its children: the app under the container's init)
 * for one that matches. Returns how many are open afterwards. */
size_t rt_sockets_recover(pid_t pid, struct rt_socket *s, size_t n);
void rt_sockets_close(struct rt_socket *s, size_t n);

#endif
