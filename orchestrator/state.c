/* state.c: state directory, rollout ids and locks (see state.h). */
#include "orchestrator/state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "image/digest.h"
#include "lib/cleanup.h"
#include "lib/fs.h"

int orch_state_dir(const char *opt, char **out, struct err *e)
{
	const char *xdg = getenv("XDG_STATE_HOME");
	_cleanup_free_ char *d = NULL;
	if (opt)
		d = strdup(opt);
	else if (xdg && *xdg == '/')
		d = fs_join(xdg, "ramp");
	else
		d = strdup(".ramp");
	if (!d)
		return err_errno(e, ENOMEM, "state directory");
	_cleanup_free_ char *r = fs_join(d, "rollouts"), *l = fs_join(d, "locks");
	if (!r || !l)
		return err_errno(e, ENOMEM, "state directory");
	if (fs_mkdir_p(r, 0755, e) < 0 || fs_mkdir_p(l, 0755, e) < 0)
		return err_ctx(e, "state directory");
	const char *const check[] = {d, r, l};
	for (size_t i = 0; i < ARRAY_SIZE(check); i++) {
		int fd = fs_open_private_dir(check[i], "state directory", e);
		if (fd < 0)
			return -1;
		close(fd);
	}
	*out = steal_ptr(d);
	return 0;
}

int orch_state_dir_of(const char *path, const char **base, struct err *e)
{
	const char *slash = strrchr(path, '/');
	_cleanup_free_ char *dir = slash ? strndup(path, (size_t)(slash - path)) : strdup(".");
	if (!dir)
		return err_errno(e, ENOMEM, "state directory");
	*base = slash ? slash + 1 : path;
	return fs_open_private_dir(*dir ? dir : "/", "state directory", e);
}

int orch_state_open(const char *path, int flags, mode_t mode, struct err *e)
{
	const char *base;
	struct stat st;
	_cleanup_close_ int dfd = orch_state_dir_of(path, &base, e);
	if (dfd < 0)
		return err_ctx(e, "open \"%s\"", path);
	flags |= O_NOFOLLOW | O_CLOEXEC;
	int fd = openat(dfd, base, flags | ((flags & O_CREAT) ? O_EXCL : 0), mode);
	if (fd < 0 && errno == EEXIST)
		fd = openat(dfd, base, flags & ~O_CREAT);
	if (fd < 0) {
		if (errno == ELOOP)
			return err_set(e, "\"%s\" is a symbolic link: someone else put it there; remove it", path);
		return err_sys(e, "open \"%s\"", path);
	}
	if (fstat(fd, &st) < 0) {
		err_sys(e, "stat \"%s\"", path);
		goto fail;
	}
	if (!S_ISREG(st.st_mode) || st.st_nlink != 1) {
		err_set(e, "\"%s\" is not a regular file with one name: someone else put it there; remove it", path);
		goto fail;
	}
	if (fs_check_private(&st, "state file", path, 022, e) < 0)
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

bool orch_id_valid(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > ORCH_ID_MAX || id[0] == '.' || id[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("_.-", c)))
			return false;
	}
	return true;
}

char *orch_journal_path(const char *dir, const char *id, struct err *e)
{
	char *p;
	if (!orch_id_valid(id)) {
		err_set(e, "rollout id \"%.80s\": letters, digits, '_', '.' and '-' only", id);
		return NULL;
	}
	if (asprintf(&p, "%s/rollouts/%s.jsonl", dir, id) < 0) {
		err_errno(e, ENOMEM, "journal path");
		return NULL;
	}
	return p;
}

int orch_new_id(const char *app, char *out, size_t n, struct err *e)
{
	unsigned char rnd[2];
	time_t t = time(NULL);
	struct tm tm;
	char ts[32];
	if (getrandom(rnd, sizeof rnd, 0) != sizeof rnd)
		return err_sys(e, "getrandom");
	gmtime_r(&t, &tm);
	strftime(ts, sizeof ts, "%Y%m%dT%H%M%SZ", &tm);
	if ((size_t)snprintf(out, n, "%s-%s-%02x%02x", ts, app, rnd[0], rnd[1]) >= n)
		return err_set(e, "rollout id too long");
	return 0;
}

static char *lock_path(const char *dir, const char *app, const char *fleet)
{
	struct img_digest d;
	char *key, *p;
	if (asprintf(&key, "%s\n%s", app, fleet) < 0)
		return NULL;
	img_sha256_buf(key, strlen(key), &d);
	free(key);
	if (asprintf(&p, "%s/locks/%s-%.16s.lock", dir, app, img_digest_hex(&d)) < 0)
		return NULL;
	return p;
}

int orch_lock_open(const char *dir, const char *app, const char *fleet, struct orch_lock *l, struct err *e)
{
	_cleanup_free_ char *p = lock_path(dir, app, fleet);
	*l = (struct orch_lock){.fd = -1};
	if (!p)
		return err_errno(e, ENOMEM, "lock");
	if ((l->fd = orch_state_open(p, O_RDWR | O_CREAT, 0644, e)) < 0)
		return err_ctx(e, "lock");
	if (flock(l->fd, LOCK_EX | LOCK_NB) == 0)
		l->held = true;
	else if (errno != EWOULDBLOCK)
		return err_sys(e, "lock \"%s\"", p);
	ssize_t r = pread(l->fd, l->holder, ORCH_ID_MAX, 0);
	l->holder[r > 0 ? r : 0] = '\0';
	l->holder[strcspn(l->holder, "\n")] = '\0';
	if (!orch_id_valid(l->holder))
		l->holder[0] = '\0';
	return 0;
}

int orch_lock_set(struct orch_lock *l, const char *id, struct err *e)
{
	size_t n = strlen(id);
	if (ftruncate(l->fd, 0) < 0 || pwrite(l->fd, id, n, 0) != (ssize_t)n || fsync(l->fd) < 0)
		return err_sys(e, "write lock");
	snprintf(l->holder, sizeof l->holder, "%s", id);
	return 0;
}

void orch_lock_clear(struct orch_lock *l, const char *id)
{
	char cur[ORCH_ID_MAX + 1];
	if (l->fd < 0)
		return;
	ssize_t r = pread(l->fd, cur, ORCH_ID_MAX, 0);
	cur[r > 0 ? r : 0] = '\0';
	if (!strcmp(cur, id) && ftruncate(l->fd, 0) == 0)
		fsync(l->fd);
}

void orch_lock_close(struct orch_lock *l)
{
	if (l->fd >= 0)
		close(l->fd); /* releases the flock */
	l->fd = -1;
	l->held = false;
}

bool orch_lock_busy(const char *dir, const char *app, const char *fleet)
{
	_cleanup_free_ char *p = lock_path(dir, app, fleet);
	struct err e;
	_cleanup_close_ int fd = p ? orch_state_open(p, O_RDONLY, 0, &e) : -1;
	if (fd < 0)
		return false;
	if (flock(fd, LOCK_SH | LOCK_NB) == 0)
		return false;
	return errno == EWOULDBLOCK;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int orch_list_ids(const char *dir, char ***ids, size_t *n, struct err *e)
{
	_cleanup_free_ char *p = fs_join(dir, "rollouts");
	int fd = p ? fs_open_private_dir(p, "state directory", e) : err_errno(e, ENOMEM, "list");
	_cleanup_closedir_ DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	char **v = NULL;
	size_t k = 0;
	struct dirent *de;
	*ids = NULL;
	*n = 0;
	if (!d) {
		if (fd >= 0) {
			close(fd);
			err_sys(e, "open \"%s\"", p);
		}
		return -1;
	}
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (l < 7 || strcmp(de->d_name + l - 6, ".jsonl"))
			continue;
		char *id = strndup(de->d_name, l - 6);
		char **nv = id ? realloc(v, (k + 1) * sizeof *v) : NULL;
		if (!nv) {
			free(id);
			for (size_t i = 0; i < k; i++)
				free(v[i]);
			free(v);
			return err_errno(e, ENOMEM, "list");
		}
		v = nv;
		if (orch_id_valid(id))
			v[k++] = id;
		else
			free(id);
	}
	/* ids start with their UTC start time: name order is time order */
	if (k)
		qsort(v, k, sizeof *v, cmp_str);
	*ids = v;
	*n = k;
	return 0;
}
