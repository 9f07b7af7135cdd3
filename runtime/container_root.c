/* container_root.c: mounts of the container's tree (see container_root.h). The plan is
 * made in the parent; rt_root_setup runs in the child and only makes system calls. */
#include "runtime/container_root.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "runtime/container_int.h"

/* One page is the limit of mount(2) data. */
#define MOUNT_DATA_MAX 4095
/* digits of a layer's descriptor number counted for the options' length (the child checks the real one) */
#define LAYER_FD_DIGITS 4

/* Overlay options separate layers with ':' and options with ','; escaping them is
   not supported by every kernel, so such paths are refused. */
static int check_dir(const char *what, const char *p, bool overlay, struct err *e)
{
	if (!p || p[0] != '/')
		return err_set(e, "%s \"%s\": expected an absolute path", what, p ? p : "");
	if (overlay && strpbrk(p, ":,\\"))
		return err_set(e, "%s \"%s\": ':', ',' and '\\' cannot be used in overlay paths", what, p);
	struct stat st;
	if (stat(p, &st) < 0)
		return err_sys(e, "%s \"%s\"", what, p);
	if (!S_ISDIR(st.st_mode))
		return err_set(e, "%s \"%s\": not a directory", what, p);
	return 0;
}

int rt_root_plan(const struct rt_spec *s, struct rt_root_plan *p, struct err *e)
{
	memset(p, 0, sizeof *p);
	p->readonly = s->readonly_root;
	p->nodev = !s->allow_devices;
	if (s->n_lower == 0) {
		if (!s->rootfs)
			return err_set(e, "no root: give layer directories or a rootfs directory");
		if (s->upper || s->work)
			return err_set(e, "upper and work dirs need layer directories");
		if (check_dir("rootfs", s->rootfs, false, e) < 0)
			return -1;
		p->target = s->rootfs;
		return 0;
	}
	if (s->rootfs)
		return err_set(e, "give either layer directories or a rootfs directory, not both");
	if (!s->upper != !s->work)
		return err_set(e, "overlay: upper and work dirs go together");
	if (!s->upper && !s->readonly_root)
		return err_set(e, "overlay: a writable root needs upper and work dirs");
	for (size_t i = 0; i < s->n_lower; i++)
		if (check_dir("layer", s->lower[i], false, e) < 0)
			return -1;
	if (s->upper && (check_dir("upper dir", s->upper, true, e) < 0 || check_dir("work dir", s->work, true, e) < 0))
		return -1;
	if (!s->upper && s->n_lower == 1) {
		/* one read-only layer: overlayfs needs two lower dirs without an upper */
		p->target = s->lower[0];
		return 0;
	}
	/* "lowerdir=" and each layer's descriptor number (a few digits) and separator */
	size_t len = strlen("lowerdir=") + s->n_lower * (LAYER_FD_DIGITS + 1);
	if (s->upper && asprintf(&p->overlay_rest, ",upperdir=%s,workdir=%s%s", s->upper, s->work,
				 s->volatile_upper ? ",volatile" : "") < 0) {
		p->overlay_rest = NULL;
		return err_errno(e, ENOMEM, "overlay options");
	}
	len += p->overlay_rest ? strlen(p->overlay_rest) : 0;
	if (len > MOUNT_DATA_MAX)
		return err_set(e, "overlay: %zu layers need about %zu bytes of mount options, more than the kernel's %d",
			       s->n_lower, len, MOUNT_DATA_MAX);
	if (!(p->overlay_opts = malloc(MOUNT_DATA_MAX + 1)) || !(p->lower_fds = calloc(s->n_lower, sizeof *p->lower_fds)))
		return err_errno(e, ENOMEM, "overlay options");
	p->lowers = s->lower;
	p->n_lowers = s->n_lower;
	if (s->upper && asprintf(&p->volatile_mark, "%s/work/incompat/volatile", s->work) < 0) {
		p->volatile_mark = NULL;
		return err_errno(e, ENOMEM, "overlay options");
	}
	/* the overlay is attached over its own upper dir (or a layer when read-only):
	   inside the private mount namespace any directory serves, and this one is ours */
	p->target = s->upper ? s->upper : s->lower[0];
	return 0;
}

void rt_root_plan_free(struct rt_root_plan *p)
{
	free(p->overlay_opts);
	free(p->overlay_rest);
	free(p->lower_fds);
	free(p->volatile_mark);
	memset(p, 0, sizeof *p);
}

/* Child side: append s to the options at *w, within the page. */
static bool opts_put(char **w, const char *end, const char *s)
{
	size_t n = strlen(s);
	if ((size_t)(end - *w) < n + 1)
		return false;
	memcpy(*w, s, n + 1);
	*w += n;
	return true;
}

/* Child side: open the layers and write "lowerdir=FD:FD:…" (top-most first)
 * and the rest of the options; no allocation after the clone. */
static int overlay_opts(const struct rt_root_plan *p, struct err *e)
{
	char *w = p->overlay_opts, *end = p->overlay_opts + MOUNT_DATA_MAX + 1;
	bool ok = opts_put(&w, end, "lowerdir=");
	for (size_t i = p->n_lowers; ok && i-- > 0;) {
		char num[16], *d = num + sizeof num;
		int fd = open(p->lowers[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return rt_cerr(e, errno, "open layer \"%s\"", p->lowers[i]);
		p->lower_fds[i] = fd;
		*--d = '\0';
		if (i)
			*--d = ':';
		do
			*--d = (char)('0' + fd % 10);
		while ((fd /= 10));
		ok = opts_put(&w, end, d);
	}
	if (!ok || (p->overlay_rest && !opts_put(&w, end, p->overlay_rest)))
		return rt_cerr(e, 0, "overlay: %zu layers need more mount options than the kernel's %d bytes", p->n_lowers,
			       MOUNT_DATA_MAX);
	return 0;
}

static int do_mount(const char *src, const char *dst, const char *type, unsigned long flags, const char *data,
		    struct err *e)
{
	if (mount(src, dst, type, flags, data) < 0)
		return rt_cerr(e, errno, "mount %s on \"%s\"", type ? type : src ? src : "(remount)", dst);
	return 0;
}

/* A directory to mount on: made when missing; an image's symlink there is refused so
   that the mount lands where its name says. */
static int mount_point(const char *p, mode_t mode, struct err *e)
{
	struct stat st;
	if (lstat(p, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			return rt_cerr(e, 0, "\"%s\" in the image is not a directory", p);
		return 0;
	}
	if (errno != ENOENT || mkdir(p, mode) < 0)
		return rt_cerr(e, errno, "create mount point \"%s\"", p);
	return 0;
}

static int make_dev(struct err *e)
{
	static const struct {
		const char *path;
		unsigned maj, min;
	} nodes[] = {{"/dev/null", 1, 3},    {"/dev/zero", 1, 5},    {"/dev/full", 1, 7},
		     {"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0}};
	static const char *const links[][2] = {{"/proc/self/fd", "/dev/fd"},
					       {"/proc/self/fd/0", "/dev/stdin"},
					       {"/proc/self/fd/1", "/dev/stdout"},
					       {"/proc/self/fd/2", "/dev/stderr"},
					       {"pts/ptmx", "/dev/ptmx"}};
	if (mount_point("/dev", 0755, e) < 0 ||
	    do_mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k", e) < 0)
		return -1;
	for (size_t i = 0; i < sizeof nodes / sizeof *nodes; i++)
		if (mknod(nodes[i].path, S_IFCHR | 0666, makedev(nodes[i].maj, nodes[i].min)) < 0)
			return rt_cerr(e, errno, "mknod \"%s\"", nodes[i].path);
	for (size_t i = 0; i < sizeof links / sizeof *links; i++)
		if (symlink(links[i][0], links[i][1]) < 0)
			return rt_cerr(e, errno, "symlink \"%s\"", links[i][1]);
	if (mkdir("/dev/pts", 0755) < 0 || mkdir("/dev/shm", 01777) < 0 || mkdir("/dev/mqueue", 0755) < 0)
		return rt_cerr(e, errno, "mkdir in /dev");
	if (do_mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5", e) < 0 ||
	    do_mount("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k", e) < 0 ||
	    do_mount("mqueue", "/dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, e) < 0)
		return -1;
	return 0;
}

/* podman's defaults: kernel information and controls a container has no business with */
static const char *const masked[] = {
	"/proc/acpi",        "/proc/asound",     "/proc/interrupts", "/proc/kcore",    "/proc/keys",
	"/proc/latency_stats", "/proc/sched_debug", "/proc/scsi",    "/proc/timer_list", "/proc/timer_stats",
	"/sys/dev/block",    "/sys/devices/virtual/powercap", "/sys/firmware", "/sys/fs/selinux",
};
static const char *const readonly[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};

static int mask_paths(struct err *e)
{
	for (size_t i = 0; i < sizeof masked / sizeof *masked; i++) {
		struct stat st;
		const char *p = masked[i];
		if (lstat(p, &st) < 0) {
			if (errno == ENOENT)
				continue;
			return rt_cerr(e, errno, "stat \"%s\"", p);
		}
		if (S_ISDIR(st.st_mode)) {
			if (do_mount("tmpfs", p, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k", e) < 0)
				return -1;
		} else if (do_mount("/dev/null", p, NULL, MS_BIND, NULL, e) < 0) {
			return -1;
		}
	}
	for (size_t i = 0; i < sizeof readonly / sizeof *readonly; i++) {
		const char *p = readonly[i];
		if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0) {
			if (errno == ENOENT)
				continue;
			return rt_cerr(e, errno, "bind \"%s\"", p);
		}
		if (do_mount(NULL, p, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, e) < 0)
			return -1;
	}
	return 0;
}

int rt_root_setup(const struct rt_root_plan *p, struct err *e)
{
	/* nothing we mount propagates back to the host, nor the host's mounts to us */
	if (do_mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL, e) < 0)
		return -1;
	unsigned long nodev = p->nodev ? MS_NODEV : 0;
	if (p->overlay_opts) {
		struct stat st;
		/* the options name the layers by descriptor, found from here */
		if (overlay_opts(p, e) < 0)
			return -1;
		if (chdir("/proc/self/fd") < 0)
			return rt_cerr(e, errno, "chdir /proc/self/fd (the layers are mounted from there)");
		int r = do_mount("overlay", p->target, "overlay", nodev, p->overlay_opts, e);
		for (size_t i = 0; i < p->n_lowers; i++)
			close(p->lower_fds[i]);
		if (r < 0) {
			if (p->volatile_mark && lstat(p->volatile_mark, &st) == 0)
				return rt_cerr(e, 0, "upper dir \"%s\" was used with volatile_upper before and "
						     "overlayfs refuses it again: give a fresh upper and work dir",
					       p->target);
			return -1;
		}
	} else if (do_mount(p->target, p->target, NULL, MS_BIND | MS_REC, NULL, e) < 0) {
		return -1;
	}
	/* pivot_root(".", ".") stacks the old root on the new one; detaching it leaves no
	   host path reachable, unlike chroot */
	if (chdir(p->target) < 0)
		return rt_cerr(e, errno, "chdir \"%s\"", p->target);
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return rt_cerr(e, errno, "pivot_root to \"%s\"", p->target);
	if (umount2(".", MNT_DETACH) < 0)
		return rt_cerr(e, errno, "detach the old root");
	if (chdir("/") < 0)
		return rt_cerr(e, errno, "chdir /");

	mode_t old = umask(0);
	int r = -1;
	if (mount_point("/proc", 0555, e) < 0 ||
	    do_mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, e) < 0 ||
	    mount_point("/sys", 0555, e) < 0 ||
	    do_mount("sysfs", "/sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, e) < 0 ||
	    make_dev(e) < 0 || mask_paths(e) < 0)
		goto out;
	/* last, so that the mount points above could still be made */
	if ((p->readonly || (!p->overlay_opts && p->nodev)) &&
	    do_mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | nodev | (p->readonly ? MS_RDONLY : 0), NULL, e) < 0)
		goto out;
	r = 0;
out:
	umask(old);
	return r;
}
