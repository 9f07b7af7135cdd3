/* app_state.c: per-app state files of the store (see app_state.h). */
#include "runtime/app_state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "runtime/store.h"
#include "runtime/store_priv.h"

#define STATE_MAX (1u << 20)
#define STATE_SCHEMA 1

int rt_app_name_check(const char *name, struct err *e)
{
	size_t n = strnlen(name, RT_APP_NAME_MAX + 1);
	if (n == 0 || n > RT_APP_NAME_MAX)
		return err_set(e, "app name must have 1 to %d characters", RT_APP_NAME_MAX);
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
			return err_set(e, "invalid app name \"%.*s\": lowercase letters, digits, \".\", \"_\" and \"-\", "
					  "starting with a letter or digit",
				       RT_APP_NAME_MAX, name);
	}
	return 0;
}

void rt_app_version_free(struct rt_app_version *v)
{
	free(v->image);
	free(v->rollout);
	*v = (struct rt_app_version){0};
}

static void versions_free(struct rt_app_version *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		rt_app_version_free(&v[i]);
	free(v);
}

void rt_app_state_free(struct rt_app_state *st)
{
	free(st->name);
	free(st->rollout);
	rt_app_version_free(&st->desired);
	rt_app_version_free(&st->current);
	versions_free(st->previous, st->n_previous);
	versions_free(st->pinned, st->n_pinned);
	*st = (struct rt_app_state){0};
}

int rt_app_version_copy(struct rt_app_version *dst, const struct rt_app_version *src, struct err *e)
{
	*dst = (struct rt_app_version){.manifest = src->manifest, .since = src->since};
	if ((src->image && !(dst->image = strdup(src->image))) || (src->rollout && !(dst->rollout = strdup(src->rollout)))) {
		rt_app_version_free(dst);
		return err_errno(e, ENOMEM, "app version");
	}
	return 0;
}

/* ---- JSON ---- */

static int parse_version(const struct json *j, struct rt_app_version *v, struct err *e)
{
	static const char *const keys[] = {"image", "digest", "rollout", "since", NULL};
	const char *image = NULL, *manifest = NULL, *rollout = NULL;
	*v = (struct rt_app_version){0};
	if (json_only_keys(j, keys, "version", e) < 0 || json_field_str(j, "image", true, &image, e) < 0 ||
	    json_field_str(j, "digest", true, &manifest, e) < 0 || json_field_str(j, "rollout", false, &rollout, e) < 0 ||
	    json_field_int(j, "since", false, &v->since, e) < 0 || img_digest_parse(manifest, &v->manifest, e) < 0)
		return -1;
	if (!*image)
		return err_set(e, "field \"image\" is empty");
	if (!(v->image = strdup(image)) || (rollout && !(v->rollout = strdup(rollout)))) {
		rt_app_version_free(v);
		return err_errno(e, ENOMEM, "app version");
	}
	return 0;
}

static int parse_versions(const struct json *obj, const char *key, struct rt_app_version **out, size_t *n,
			  struct err *e)
{
	const struct json *a;
	*out = NULL;
	*n = 0;
	if (json_field(obj, key, JSON_ARRAY, false, &a, e) < 0)
		return -1;
	if (!a)
		return 0;
	if (a->arr.n > RT_APP_VERSIONS_MAX)
		return err_set(e, "field \"%s\": more than %d entries", key, RT_APP_VERSIONS_MAX);
	if (a->arr.n && !(*out = calloc(a->arr.n, sizeof **out)))
		return err_errno(e, ENOMEM, "app state");
	for (size_t i = 0; i < a->arr.n; i++) {
		if (parse_version(a->arr.v[i], &(*out)[i], e) < 0) {
			versions_free(*out, i);
			*out = NULL;
			return err_ctx(e, "%s[%zu]", key, i);
		}
	}
	*n = a->arr.n;
	return 0;
}

int rt_app_state_parse(const char *buf, size_t len, struct rt_app_state *st, struct err *e)
{
	static const char *const keys[] = {"schemaVersion", "name",	"generation", "rollout", "desired",
					   "current",	    "previous", "pinned",     NULL};
	const char *name = NULL, *rollout = NULL;
	const struct json *cur, *want;
	int64_t schema;
	int rc = -1;
	*st = (struct rt_app_state){0};
	struct json *j = json_parse(buf, len, e);
	if (!j)
		return -1;
	if (json_only_keys(j, keys, "app state", e) < 0 || json_field_int(j, "schemaVersion", true, &schema, e) < 0)
		goto out;
	if (schema != STATE_SCHEMA) {
		err_set(e, "app state: unsupported schemaVersion %lld", (long long)schema);
		goto out;
	}
	if (json_field_str(j, "name", true, &name, e) < 0 || rt_app_name_check(name, e) < 0 ||
	    json_field_int(j, "generation", true, &st->generation, e) < 0 ||
	    json_field_str(j, "rollout", false, &rollout, e) < 0 || json_field(j, "current", JSON_OBJECT, false, &cur, e) < 0 ||
	    json_field(j, "desired", JSON_OBJECT, false, &want, e) < 0)
		goto out;
	if (st->generation < 0) {
		err_set(e, "field \"generation\" is negative");
		goto out;
	}
	if (!(st->name = strdup(name)) || (rollout && !(st->rollout = strdup(rollout)))) {
		err_errno(e, ENOMEM, "app state");
		goto out;
	}
	if (want) {
		if (parse_version(want, &st->desired, e) < 0) {
			err_ctx(e, "desired");
			goto out;
		}
		st->has_desired = true;
	}
	if (cur) {
		if (parse_version(cur, &st->current, e) < 0) {
			err_ctx(e, "current");
			goto out;
		}
		st->has_current = true;
	}
	if (parse_versions(j, "previous", &st->previous, &st->n_previous, e) < 0 ||
	    parse_versions(j, "pinned", &st->pinned, &st->n_pinned, e) < 0)
		goto out;
	rc = 0;
out:
	json_free(j);
	if (rc < 0) {
		rt_app_state_free(st);
		err_ctx(e, "app state");
	}
	return rc;
}

static void gen_version(struct jgen *g, const struct rt_app_version *v)
{
	jgen_obj_open(g);
	jgen_kstr(g, "image", v->image ? v->image : "");
	jgen_kstr(g, "digest", v->manifest.s);
	if (v->rollout)
		jgen_kstr(g, "rollout", v->rollout);
	jgen_kint(g, "since", v->since);
	jgen_obj_close(g);
}

int rt_app_state_json(const struct rt_app_state *st, char **out, size_t *len, struct err *e)
{
	struct jgen *g = jgen_new(true);
	const char *buf;
	int rc = -1;
	if (!g)
		return err_errno(e, ENOMEM, "app state");
	jgen_obj_open(g);
	jgen_kint(g, "schemaVersion", STATE_SCHEMA);
	jgen_kstr(g, "name", st->name);
	jgen_kint(g, "generation", st->generation);
	if (st->rollout)
		jgen_kstr(g, "rollout", st->rollout);
	if (st->has_desired) {
		jgen_key(g, "desired");
		gen_version(g, &st->desired);
	}
	if (st->has_current) {
		jgen_key(g, "current");
		gen_version(g, &st->current);
	}
	jgen_key(g, "previous");
	jgen_arr_open(g);
	for (size_t i = 0; i < st->n_previous; i++)
		gen_version(g, &st->previous[i]);
	jgen_arr_close(g);
	jgen_key(g, "pinned");
	jgen_arr_open(g);
	for (size_t i = 0; i < st->n_pinned; i++)
		gen_version(g, &st->pinned[i]);
	jgen_arr_close(g);
	jgen_obj_close(g);
	if (jgen_result(g, &buf, len, e) == 0) {
		if ((*out = malloc(*len + 1))) {
			memcpy(*out, buf, *len);
			(*out)[*len] = '\0';
			rc = 0;
		} else {
			err_errno(e, ENOMEM, "app state");
		}
	}
	jgen_free(g);
	return rc;
}

/* ---- files ---- */

int rt_app_state_read(struct rt_store *s, const char *name, struct rt_app_state *st, struct err *e)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	*st = (struct rt_app_state){0};
	if (rt_app_name_check(name, e) < 0)
		return -1;
	_cleanup_free_ char *p = rt_store_path(s, "apps/%s/state.json", name);
	if (!p)
		return err_errno(e, ENOMEM, "app state");
	if (fs_read_file(p, STATE_MAX, &buf, &len, e) < 0) {
		if (e->errnum != ENOENT)
			return -1;
		if (!(st->name = strdup(name)))
			return err_errno(e, ENOMEM, "app state");
		return 0;
	}
	if (rt_app_state_parse(buf, len, st, e) < 0)
		return err_ctx(e, "\"%s\"", p);
	if (strcmp(st->name, name)) {
		rt_app_state_free(st);
		return err_set(e, "\"%s\" names app \"%s\"", p, st->name);
	}
	return 0;
}

int rt_app_state_write(struct rt_store *s, const struct rt_app_state *st, struct err *e)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	if (!st->name || rt_app_name_check(st->name, e) < 0)
		return st->name ? -1 : err_set(e, "app state without a name");
	_cleanup_free_ char *dir = rt_store_path(s, "apps/%s", st->name);
	_cleanup_free_ char *p = rt_store_path(s, "apps/%s/state.json", st->name);
	if (!dir || !p)
		return err_errno(e, ENOMEM, "app state");
	if (rt_app_state_json(st, &buf, &len, e) < 0)
		return -1;
	if (!fs_exists(dir)) {
		_cleanup_free_ char *apps = rt_store_path(s, "apps");
		if (!apps || fs_mkdir_p(dir, 0700, e) < 0 || fs_fsync_dir(apps, e) < 0)
			return apps ? -1 : err_errno(e, ENOMEM, "app state");
	}
	return fs_write_atomic(p, buf, len, 0600, e);
}

int rt_app_state_switch(struct rt_app_state *st, const struct rt_app_version *v, struct err *e)
{
	struct rt_app_version nv;
	if (rt_app_version_copy(&nv, v, e) < 0)
		return -1;
	/* v leaves the previous list: it is current now */
	size_t k = 0;
	for (size_t i = 0; i < st->n_previous; i++) {
		if (img_digest_eq(&st->previous[i].manifest, &v->manifest))
			rt_app_version_free(&st->previous[i]);
		else
			st->previous[k++] = st->previous[i];
	}
	st->n_previous = k;
	if (st->has_current && !img_digest_eq(&st->current.manifest, &v->manifest)) {
		if (st->n_previous >= RT_APP_VERSIONS_MAX)
			rt_app_version_free(&st->previous[--st->n_previous]);
		struct rt_app_version *p = realloc(st->previous, (st->n_previous + 1) * sizeof *p);
		if (!p) {
			rt_app_version_free(&nv);
			return err_errno(e, ENOMEM, "app state");
		}
		memmove(p + 1, p, st->n_previous * sizeof *p);
		p[0] = st->current;
		st->previous = p;
		st->n_previous++;
	} else {
		rt_app_version_free(&st->current);
	}
	st->current = nv;
	st->has_current = true;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int rt_app_list(struct rt_store *s, struct strv *names, struct err *e)
{
	_cleanup_free_ char *dir = rt_store_path(s, "apps");
	*names = (struct strv){0};
	if (!dir)
		return err_errno(e, ENOMEM, "apps");
	_cleanup_closedir_ DIR *d = opendir(dir);
	if (!d)
		return err_sys(e, "open \"%s\"", dir);
	for (struct dirent *de; (errno = 0, de = readdir(d));) {
		struct err ignored;
		char rel[sizeof de->d_name + 16];
		if (rt_app_name_check(de->d_name, &ignored) < 0)
			continue;
		snprintf(rel, sizeof rel, "%s/state.json", de->d_name);
		if (faccessat(dirfd(d), rel, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (strv_push(names, de->d_name, e) < 0) {
			strv_free(names);
			return -1;
		}
	}
	if (errno) {
		strv_free(names);
		return err_sys(e, "read \"%s\"", dir);
	}
	if (names->n)
		qsort(names->v, names->n, sizeof *names->v, cmp_str);
	return 0;
}
