/* cgroup.h: a cgroup v2 leaf per container for memory, cpu and pids limits.
 *
 * Only cgroup v2 is used. The v2 mount is found in /proc/self/mountinfo (/sys/fs/cgroup
 * on a unified host, /sys/fs/cgroup/unified on a hybrid one); a controller that its
 * cgroup.controllers does not list (on hybrid hosts cgroup v1 holds them) gets a
 * one-time warning and its limit is not applied. The container is started directly
 * in the leaf (clone3 CLONE_INTO_CGROUP). */
#ifndef RAMP_RUNTIME_CGROUP_H
#define RAMP_RUNTIME_CGROUP_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/err.h"

struct rt_cgroup_limits {
	uint64_t memory_max, cpu_quota_us, cpu_period_us, pids_max; /* 0 = unset */
};

struct rt_cgroup {
	char *path; /* the leaf directory, NULL when none was made */
	int fd;     /* open leaf directory for CLONE_INTO_CGROUP, -1 when none */
};

/* The cgroup v2 mount point (caller frees), or NULL without error when there is none. */
int rt_cgroup_v2_mount(char **out, struct err *e);

/* Make v2root/parent/name with the limits that its controllers allow; enables the
   controllers on the way down. Leaves cg empty (no error) when no limit can apply and
   no parent was asked for explicitly (explicit = true), or when v2root is NULL (no v2
   hierarchy: a one-time warning). */
int rt_cgroup_create(const char *v2root, const char *parent, bool explicit, const char *name,
		     const struct rt_cgroup_limits *l, struct rt_cgroup *cg, struct err *e);

/* Remove the leaf (killing what is left in it, cgroup.kill); frees cg. */
int rt_cgroup_destroy(struct rt_cgroup *cg, struct err *e);

#endif
