/* caps.c: capability sets and the privilege drop (see caps.h). libcap names the
 * capabilities; the drop itself is prctl and capset, which are safe in a cloned child. */
#include "runtime/caps.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <strings.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "runtime/container_int.h"

int rt_caps_mask(const char *const *names, size_t n, uint64_t *mask, struct err *e)
{
	*mask = 0;
	for (size_t i = 0; i < n; i++) {
		cap_value_t v;
		char full[64];
		/* libcap wants the "cap_" prefix; Docker-style names may leave it out */
		bool prefixed = strncasecmp(names[i], "cap_", 4) == 0;
		snprintf(full, sizeof full, "%s%s", prefixed ? "" : "cap_", names[i]);
		if (cap_from_name(full, &v) < 0 || v < 0 || v > 63)
			return err_set(e, "unknown capability \"%s\"", names[i]);
		*mask |= UINT64_C(1) << v;
	}
	return 0;
}

int rt_caps_default(uint64_t *mask, struct err *e)
{
	static const char *const names[] = {
		"CAP_CHOWN",  "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",       "CAP_NET_BIND_SERVICE",
		"CAP_SETFCAP", "CAP_SETGID",      "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT",
	};
	return rt_caps_mask(names, ARRAY_SIZE(names), mask, e);
}

int rt_caps_become(uint64_t mask, const struct rt_ids *ids, struct err *e)
{
	/* the bounding set first: dropping it needs CAP_SETPCAP, which we still hold */
	for (int cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++)
		if (!(cap < 64 && (mask >> cap) & 1) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			return rt_cerr(e, errno, "drop capability %d from the bounding set", cap);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return rt_cerr(e, errno, "clear the ambient capabilities");
	/* raw system calls: libc's wrappers would try to change the ids of every thread of
	   the process we were cloned from, threads that do not exist in this child */
	if (syscall(SYS_setgroups, ids->n_groups, ids->groups) < 0)
		return rt_cerr(e, errno, "setgroups (%zu groups)", ids->n_groups);
	if (syscall(SYS_setresgid, ids->gid, ids->gid, ids->gid) < 0)
		return rt_cerr(e, errno, "setresgid %u", (unsigned)ids->gid);
	/* without PR_SET_KEEPCAPS a change away from uid 0 empties permitted and effective */
	if (syscall(SYS_setresuid, ids->uid, ids->uid, ids->uid) < 0)
		return rt_cerr(e, errno, "setresuid %u", (unsigned)ids->uid);
	uint64_t keep = ids->uid == 0 ? mask : 0;
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[2] = {
		{.effective = (uint32_t)keep, .permitted = (uint32_t)keep, .inheritable = 0},
		{.effective = (uint32_t)(keep >> 32), .permitted = (uint32_t)(keep >> 32), .inheritable = 0},
	};
	if (syscall(SYS_capset, &hdr, data) < 0)
		return rt_cerr(e, errno, "capset");
	return 0;
}
