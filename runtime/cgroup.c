/* cgroup.c: cgroup v2 leaf per container (see cgroup.h). */
#include "runtime/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/log.h"

int rt_cgroup_v2_mount(char **out, struct err *e)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	*out = NULL;
	if (!f)
		return err_sys(e, "open /proc/self/mountinfo");
	while (getline(&line, &cap, f) > 0) {
		/* "id parent maj:min root mountpoint opts [tags] - fstype source superopts" */
		char mnt[4096], fstype[64];
		const char *dash = strstr(line, " - ");
		if (!dash || sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1 || sscanf(dash, " - %63s", fstype) != 1)
			continue;
		if (strcmp(fstype, "cgroup2") != 0)
			continue;
		/* mountinfo escapes space, tab, newline and backslash as \ooo */
		char *w = mnt;
		for (const char *r = mnt; *r; r++) {
			unsigned o;
			if (r[0] == '\\' && sscanf(r + 1, "%3o", &o) == 1 && o > 0 && o < 256) {
				*w++ = (char)o;
				r += 3;
			} else {
				*w++ = *r;
			}
		}
		*w = '\0';
		if (!(*out = strdup(mnt)))
			return err_errno(e, ENOMEM, "cgroup2 mount point");
		return 0;
	}
	return 0;
}

static int write_file(const char *dir, const char *file, const char *value, struct err *e)
{
	_cleanup_free_ char *path = fs_join(dir, file);
	if (!path)
		return err_errno(e, ENOMEM, "cgroup path");
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, "open \"%s\"", path);
	if (write(fd, value, strlen(value)) < 0)
		return err_sys(e, "write \"%s\" to \"%s\"", value, path);
	return 0;
}

/* A relative path of plain names: no "", ".", ".." component, no leading '/'. */
static bool safe_relative(const char *p)
{
	if (!*p || *p == '/')
		return false;
	for (const char *c = p; c;) {
		const char *slash = strchr(c, '/');
		size_t n = slash ? (size_t)(slash - c) : strlen(c);
		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		c = slash ? slash + 1 : NULL;
	}
	return true;
}

static bool has_word(const char *list, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = list; (p = strstr(p, word)); p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' ' || p[n] == '\n'))
			return true;
	return false;
}

static void warn_once(int idx, const char *ctrl, const char *v2root)
{
	static int warned[4];
	if (__atomic_exchange_n(&warned[idx], 1, __ATOMIC_RELAXED))
		return;
	if (!v2root)
		log_warn("no cgroup v2 hierarchy is mounted: memory, cpu and pids limits are not applied");
	else
		log_warn("cgroup v2 controller \"%s\" is not available in %s (a cgroup v1 hierarchy holds it?): "
		 "its limits are not applied",
		 ctrl, v2root);
}

int rt_cgroup_create(const char *v2root, const char *parent, bool explicit, const char *name,
		     const struct rt_cgroup_limits *l, struct rt_cgroup *cg, struct err *e)
{
	cg->path = NULL;
	cg->fd = -1;
	if (!v2root) {
		warn_once(3, NULL, NULL);
		return 0;
	}
	if (!safe_relative(parent))
		return err_set(e, "cgroup parent \"%s\": expected a relative path of plain names", parent);
	if (!safe_relative(name) || strchr(name, '/'))
		return err_set(e, "cgroup name \"%s\": expected a plain name", name);

	_cleanup_free_ char *root_ctl = fs_join(v2root, "cgroup.controllers");
	_cleanup_free_ char *avail = NULL;
	if (!root_ctl)
		return err_errno(e, ENOMEM, "cgroup path");
	if (fs_read_file(root_ctl, 4096, &avail, NULL, e) < 0)
		return -1;
	const struct {
		const char *name;
		bool wanted;
	} ctrls[] = {{"memory", l->memory_max > 0}, {"cpu", l->cpu_quota_us > 0}, {"pids", l->pids_max > 0}};
	bool use[3];
	int n_use = 0;
	for (int i = 0; i < 3; i++) {
		use[i] = ctrls[i].wanted && has_word(avail, ctrls[i].name);
		if (ctrls[i].wanted && !use[i])
			warn_once(i, ctrls[i].name, v2root);
		n_use += use[i];
	}
	if (n_use == 0 && !explicit)
		return 0;

	/* enable the controllers from the root down to the parent, creating the parent */
	_cleanup_free_ char *dir = strdup(v2root);
	_cleanup_free_ char *rest = strdup(parent);
	if (!dir || !rest)
		return err_errno(e, ENOMEM, "cgroup path");
	for (char *save = NULL, *comp = strtok_r(rest, "/", &save);; comp = strtok_r(NULL, "/", &save)) {
		for (int i = 0; i < 3; i++) {
			char v[16];
			snprintf(v, sizeof v, "+%s", ctrls[i].name);
			if (use[i] && write_file(dir, "cgroup.subtree_control", v, e) < 0)
				return err_ctx(e, "enable the %s controller", ctrls[i].name);
		}
		if (!comp)
			break;
		char *next = fs_join(dir, comp);
		if (!next)
			return err_errno(e, ENOMEM, "cgroup path");
		free(dir);
		dir = next;
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return err_sys(e, "mkdir \"%s\"", dir);
	}

	_cleanup_free_ char *leaf = fs_join(dir, name);
	if (!leaf)
		return err_errno(e, ENOMEM, "cgroup path");
	if (mkdir(leaf, 0755) < 0)
		return err_sys(e, "mkdir \"%s\"", leaf);
	char v[64];
	int r = 0;
	if (use[0]) {
		snprintf(v, sizeof v, "%" PRIu64, l->memory_max);
		r = write_file(leaf, "memory.max", v, e);
	}
	if (r == 0 && use[1]) {
		snprintf(v, sizeof v, "%" PRIu64 " %" PRIu64, l->cpu_quota_us, l->cpu_period_us ? l->cpu_period_us : 100000);
		r = write_file(leaf, "cpu.max", v, e);
	}
	if (r == 0 && use[2]) {
		snprintf(v, sizeof v, "%" PRIu64, l->pids_max);
		r = write_file(leaf, "pids.max", v, e);
	}
	if (r == 0 && (cg->fd = open(leaf, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		r = err_sys(e, "open \"%s\"", leaf);
	if (r < 0) {
		rmdir(leaf);
		return -1;
	}
	cg->path = steal_ptr(leaf);
	return 0;
}

int rt_cgroup_destroy(struct rt_cgroup *cg, struct err *e)
{
	int r = 0;
	if (cg->fd >= 0)
		close(cg->fd);
	cg->fd = -1;
	if (!cg->path)
		return 0;
	/* processes may linger briefly after PID 1 (exec'd probes, or the namespace being
	   torn down): kill them and wait up to a second for the cgroup to empty */
	bool killed = false;
	for (int i = 0; rmdir(cg->path) < 0; i++) {
		if (errno != EBUSY || i == 1000) {
			r = err_sys(e, "remove cgroup \"%s\"", cg->path);
			break;
		}
		if (!killed) {
			struct err ignored;
			write_file(cg->path, "cgroup.kill", "1", &ignored); /* absent before Linux 5.14 */
			killed = true;
		}
		nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
	}
	free(cg->path);
	cg->path = NULL;
	return r;
}
