/* container_user.h: the container's user and groups, from the image's own files.
 *
 * A user spec is "user" or "user:group", each part a number or a name. Names are
 * looked up in the image's /etc/passwd and /etc/group (never the host's), which are
 * untrusted input: bounded in size, NUL bytes and over-long lines refused, and an
 * entry that matches the wanted name or id but does not parse is an error. Other
 * malformed lines are skipped, as glibc does. */
#ifndef RAMP_RUNTIME_CONTAINER_USER_H
#define RAMP_RUNTIME_CONTAINER_USER_H

#include <stddef.h>
#include <sys/types.h>

#include "lib/err.h"

#define RT_USER_FILE_MAX (1024 * 1024) /* bytes per file */
#define RT_USER_LINE_MAX 4096
#define RT_USER_MAX_GROUPS 256

struct rt_ids {
	uid_t uid;
	gid_t gid;
	size_t n_groups; /* supplementary groups, the primary gid first */
	gid_t groups[RT_USER_MAX_GROUPS];
	char home[RT_USER_LINE_MAX]; /* from passwd, "/" when the user has no entry */
};

/* Resolve spec (NULL means "0") against the contents of passwd and group; either may be
   NULL when the file does not exist. Allocates nothing. */
int rt_user_lookup(const char *spec, const char *passwd, size_t passwd_len, const char *group,
		   size_t group_len, struct rt_ids *ids, struct err *e);

/* Read /etc/passwd and /etc/group of the current root (the container's, after
   pivot_root or setns) and resolve spec. Safe on the child side (rt_cerr errors). */
int rt_user_resolve(const char *spec, struct rt_ids *ids, struct err *e);

#endif
