/* seccomp.h: the container's default seccomp filter.
 *
 * An allowlist in the spirit of podman's default profile: listed system calls are
 * allowed, a list of dangerous ones (mount, module loading, clock setting, reboot,
 * kexec, bpf, perf, ptrace, keyrings, namespace creation...) fails with EPERM, and
 * anything else fails with ENOSYS so programs fall back as on an older kernel. The
 * filter is compiled with libseccomp once per process and loaded as plain BPF in each
 * container's child, which keeps libseccomp out of the start path. */
#ifndef RAMP_RUNTIME_SECCOMP_H
#define RAMP_RUNTIME_SECCOMP_H

#include "lib/err.h"

struct sock_fprog;

/* The default filter, compiled on first use (thread-safe) and kept for the process. */
int rt_seccomp_default(const struct sock_fprog **prog, struct err *e);

/* Child side: set no_new_privs and load prog into the calling thread. */
int rt_seccomp_load(const struct sock_fprog *prog, struct err *e);

#endif
