/* caps.h: the container's capabilities and the ordered drop of privileges.
 *
 * The default set is podman's: CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL,
 * NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP, SETUID, SYS_CHROOT. The bounding set is
 * cut to it; a root user keeps it as permitted and effective; any other user starts
 * with none (the kernel clears them on the uid change). Inheritable and ambient sets
 * are empty, so nothing is passed on through execve beyond the bounding set. */
#ifndef RAMP_RUNTIME_CAPS_H
#define RAMP_RUNTIME_CAPS_H

#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "runtime/container_user.h"

/* Mask (bit n = capability n) of names such as "CAP_CHOWN" or "chown", via libcap. */
int rt_caps_mask(const char *const *names, size_t n, uint64_t *mask, struct err *e);

/* Podman's default set. */
int rt_caps_default(uint64_t *mask, struct err *e);

/* Child side, as root with full capabilities: cut the bounding set to mask, clear the
   ambient set, switch to ids (groups, gid, uid), then set permitted and effective to
   mask for uid 0 and to nothing otherwise, inheritable to nothing. */
int rt_caps_become(uint64_t mask, const struct rt_ids *ids, struct err *e);

#endif
