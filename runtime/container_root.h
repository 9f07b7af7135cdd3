/* container_root.h: the container's file system tree, made in its mount namespace.
 *
 * The root (overlay of the layers, or the flat directory) is mounted over a directory
 * that belongs to the container (the overlay over its own upper dir, the flat root over
 * itself), made the root with pivot_root, and the old root detached: after that no
 * host path can be reached by name, so every later mount is resolved inside the new
 * root. Then /proc, read-only /sys, a tmpfs /dev with the standard nodes and links,
 * devpts, /dev/shm, /dev/mqueue, podman's masked and read-only paths, and last the
 * root itself read-only when asked. Propagation is private throughout. */
#ifndef RAMP_RUNTIME_CONTAINER_ROOT_H
#define RAMP_RUNTIME_CONTAINER_ROOT_H

#include <stdbool.h>

#include "lib/err.h"
#include "runtime/container.h"

/* Everything the child needs, prepared by the parent. The child opens the
 * layers (O_PATH, in its own mount namespace, as overlayfs requires) and names
 * them in the mount options by their descriptor numbers, relative to
 * /proc/self/fd: a few bytes each, so that the one page of mount options
 * holds as many layers as overlayfs stacks (500), where the layers' paths in
 * the store would fill it at about 45. */
struct rt_root_plan {
	const char *target;    /* where the root is mounted before pivot_root */
	char *overlay_opts;    /* overlay mount data (the child writes it), NULL for a bind mount of target */
	char *overlay_rest;    /* what follows the lowerdir list: ",upperdir=…,workdir=…" */
	const char *const *lowers; /* the layers' paths, lowest first */
	int *lower_fds;        /* the child's descriptors of them */
	size_t n_lowers;
	char *volatile_mark;   /* where overlayfs marks a work dir once used with "volatile" */
	bool readonly, nodev;
};

/* Validate the spec's root fields and prepare the plan. */
int rt_root_plan(const struct rt_spec *s, struct rt_root_plan *p, struct err *e);
void rt_root_plan_free(struct rt_root_plan *p);

/* Child side, in a new mount namespace: build the tree and pivot into it. */
int rt_root_setup(const struct rt_root_plan *p, struct err *e);

#endif
