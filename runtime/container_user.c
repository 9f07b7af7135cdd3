/* container_user.c: user and group lookup in the image's /etc/passwd and /etc/group
 * (see container_user.h). Runs on the child side of clone: no allocation, no stdio. */
#include "runtime/container_user.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/container_int.h"

/* A field of a colon-separated line. */
struct field {
	const char *p;
	size_t n;
};

static bool field_is(struct field f, const char *s, size_t n)
{
	return f.n == n && memcmp(f.p, s, n) == 0;
}

/* Decimal id 0..4294967294 (-1 is "no id" for the kernel): digits only, at most 10. */
static bool parse_id(const char *p, size_t n, unsigned *out)
{
	unsigned long long v = 0;
	if (n == 0 || n > 10)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (unsigned)(p[i] - '0');
	}
	if (v >= 0xffffffffULL)
		return false;
	*out = (unsigned)v;
	return true;
}

/* Split line [p, p+n) at ':' into at most max fields; returns the count, or max+1 when
   there are more. */
static size_t split(const char *p, size_t n, struct field *f, size_t max)
{
	size_t k = 0, start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || p[i] == ':') {
			if (k == max)
				return max + 1;
			f[k].p = p + start;
			f[k].n = i - start;
			k++;
			start = i + 1;
		}
	}
	return k;
}

/* Iterate over the lines of a file's contents. */
struct lines {
	const char *p, *end;
	unsigned no;
};

static bool next_line(struct lines *it, const char **line, size_t *len)
{
	if (it->p >= it->end)
		return false;
	const char *nl = memchr(it->p, '\n', (size_t)(it->end - it->p));
	const char *stop = nl ? nl : it->end;
	*line = it->p;
	*len = (size_t)(stop - it->p);
	it->p = nl ? nl + 1 : it->end;
	it->no++;
	return true;
}

/* Whole-file checks shared by both files. */
static int check_file(const char *what, const char *data, size_t len, struct err *e)
{
	if (len > RT_USER_FILE_MAX)
		return rt_cerr(e, 0, "%s: larger than %d bytes", what, RT_USER_FILE_MAX);
	if (memchr(data, '\0', len))
		return rt_cerr(e, 0, "%s: contains a NUL byte", what);
	struct lines it = {data, data + len, 0};
	const char *l;
	size_t n;
	while (next_line(&it, &l, &n))
		if (n > RT_USER_LINE_MAX - 1)
			return rt_cerr(e, 0, "%s: line %u is longer than %d bytes", what, it.no, RT_USER_LINE_MAX - 1);
	return 0;
}

static bool skip_line(const char *l, size_t n)
{
	/* blank, comment, and NIS "+"/"-" compat lines are not entries */
	return n == 0 || l[0] == '#' || l[0] == '+' || l[0] == '-';
}

struct pw {
	unsigned uid, gid;
	struct field name, home;
};

/* Find a passwd entry by name (name != NULL) or by uid. 1 found, 0 not, -1 error. */
static int find_passwd(const char *data, size_t len, const char *name, size_t name_len, unsigned uid,
		       struct pw *out, struct err *e)
{
	struct lines it = {data, data + len, 0};
	const char *l;
	size_t n;
	while (next_line(&it, &l, &n)) {
		struct field f[7];
		if (skip_line(l, n))
			continue;
		size_t k = split(l, n, f, 7);
		bool ok = k == 7 && f[0].n > 0 && parse_id(f[2].p, f[2].n, &out->uid) &&
			  parse_id(f[3].p, f[3].n, &out->gid);
		bool wanted = name ? field_is(f[0], name, name_len) : ok && out->uid == uid;
		if (!ok && !name) {
			/* a broken line whose uid field reads as the wanted id */
			unsigned u;
			wanted = k >= 3 && parse_id(f[2].p, f[2].n, &u) && u == uid;
		}
		if (!wanted)
			continue;
		if (!ok)
			return rt_cerr(e, 0, "/etc/passwd line %u: malformed entry for the wanted user", it.no);
		out->name = f[0];
		out->home = f[5];
		return 1;
	}
	return 0;
}

/* Find a group's gid by name. 1 found, 0 not, -1 error. */
static int find_group(const char *data, size_t len, const char *name, size_t name_len, unsigned *gid,
		      struct err *e)
{
	struct lines it = {data, data + len, 0};
	const char *l;
	size_t n;
	while (next_line(&it, &l, &n)) {
		struct field f[4];
		if (skip_line(l, n))
			continue;
		size_t k = split(l, n, f, 4);
		if (k < 1 || !field_is(f[0], name, name_len))
			continue;
		if (k != 4 || !parse_id(f[2].p, f[2].n, gid))
			return rt_cerr(e, 0, "/etc/group line %u: malformed entry for the wanted group", it.no);
		return 1;
	}
	return 0;
}

static int add_group(struct rt_ids *ids, unsigned gid, struct err *e)
{
	for (size_t i = 0; i < ids->n_groups; i++)
		if (ids->groups[i] == gid)
			return 0;
	if (ids->n_groups == RT_USER_MAX_GROUPS)
		return rt_cerr(e, 0, "more than %d supplementary groups", RT_USER_MAX_GROUPS);
	ids->groups[ids->n_groups++] = gid;
	return 0;
}

/* Add every group that lists user as a member; malformed lines are skipped. */
static int member_groups(const char *data, size_t len, struct field user, struct rt_ids *ids, struct err *e)
{
	struct lines it = {data, data + len, 0};
	const char *l;
	size_t n;
	while (next_line(&it, &l, &n)) {
		struct field f[4];
		unsigned gid;
		if (skip_line(l, n) || split(l, n, f, 4) != 4 || !parse_id(f[2].p, f[2].n, &gid))
			continue;
		const char *m = f[3].p, *end = f[3].p + f[3].n;
		while (m < end) {
			const char *comma = memchr(m, ',', (size_t)(end - m));
			const char *stop = comma ? comma : end;
			if ((size_t)(stop - m) == user.n && memcmp(m, user.p, user.n) == 0 && add_group(ids, gid, e) < 0)
				return -1;
			m = comma ? comma + 1 : end;
		}
	}
	return 0;
}

int rt_user_lookup(const char *spec, const char *passwd, size_t passwd_len, const char *group,
		   size_t group_len, struct rt_ids *ids, struct err *e)
{
	if (!spec)
		spec = "0";
	if (!passwd)
		passwd = "", passwd_len = 0;
	if (!group)
		group = "", group_len = 0;
	if (check_file("/etc/passwd", passwd, passwd_len, e) < 0 || check_file("/etc/group", group, group_len, e) < 0)
		return -1;

	const char *colon = strchr(spec, ':');
	size_t ulen = colon ? (size_t)(colon - spec) : strlen(spec);
	const char *gpart = colon ? colon + 1 : NULL;
	if (ulen == 0 || (gpart && (!*gpart || strchr(gpart, ':'))) || strlen(spec) > 256)
		return rt_cerr(e, 0, "user \"%.256s\": expected user, uid, user:group or uid:gid", spec);

	struct pw pw;
	unsigned uid;
	int found;
	bool numeric = parse_id(spec, ulen, &uid);
	if (numeric)
		found = find_passwd(passwd, passwd_len, NULL, 0, uid, &pw, e);
	else
		found = find_passwd(passwd, passwd_len, spec, ulen, 0, &pw, e);
	if (found < 0)
		return -1;
	if (!found && !numeric)
		return rt_cerr(e, 0, "user \"%.*s\" not found in the image's /etc/passwd", (int)ulen, spec);

	ids->uid = found ? pw.uid : uid;
	ids->gid = found ? pw.gid : 0;
	ids->n_groups = 0;
	if (found && pw.home.n > 0) {
		memcpy(ids->home, pw.home.p, pw.home.n);
		ids->home[pw.home.n] = '\0';
	} else {
		strcpy(ids->home, "/");
	}
	if (gpart) {
		unsigned gid = 0;
		if (parse_id(gpart, strlen(gpart), &gid)) {
			ids->gid = gid;
		} else {
			int g = find_group(group, group_len, gpart, strlen(gpart), &gid, e);
			if (g < 0)
				return -1;
			if (g == 0)
				return rt_cerr(e, 0, "group \"%s\" not found in the image's /etc/group", gpart);
			ids->gid = gid;
		}
	}
	if (add_group(ids, ids->gid, e) < 0)
		return -1;
	if (found && member_groups(group, group_len, pw.name, ids, e) < 0)
		return -1;
	return 0;
}

/* Read a regular file of the current root into buf; *len = 0 and no error when missing.
   O_NONBLOCK so that a FIFO planted by the image cannot block the runtime; no magic
   links, so that a link to /proc/self/fd/N cannot make us read a file of the host
   through a descriptor still open at this point. */
static int read_small(const char *path, char *buf, size_t cap, size_t *len, struct err *e)
{
	struct open_how how = {.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY,
			       .resolve = RESOLVE_NO_MAGICLINKS};
	*len = 0;
	int fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how);
	if (fd < 0)
		return errno == ENOENT ? 0 : rt_cerr(e, errno, "open \"%s\"", path);
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return rt_cerr(e, 0, "\"%s\" is not a regular file", path);
	}
	for (;;) {
		ssize_t r = read(fd, buf + *len, cap - *len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int saved = errno;
			close(fd);
			return rt_cerr(e, saved, "read \"%s\"", path);
		}
		if (r == 0)
			break;
		*len += (size_t)r;
		if (*len == cap) {
			close(fd);
			return rt_cerr(e, 0, "%s: larger than %d bytes", path, RT_USER_FILE_MAX);
		}
	}
	close(fd);
	return 0;
}

int rt_user_resolve(const char *spec, struct rt_ids *ids, struct err *e)
{
	/* one byte more than the limit, to tell "at the limit" from "over it" */
	size_t cap = RT_USER_FILE_MAX + 1;
	char *buf = mmap(NULL, 2 * cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return rt_cerr(e, errno, "map a buffer for /etc/passwd");
	size_t plen, glen;
	int r = read_small("/etc/passwd", buf, cap, &plen, e);
	if (r == 0)
		r = read_small("/etc/group", buf + cap, cap, &glen, e);
	if (r == 0)
		r = rt_user_lookup(spec, buf, plen, buf + cap, glen, ids, e);
	munmap(buf, 2 * cap);
	return r;
}
