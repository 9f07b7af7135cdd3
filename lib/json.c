/* json.c: strict JSON tree parser on yajl's event parser, and a generator on
 * yajl_gen (see json.h). */
#include "lib/json.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_parse.h>

/* A parsed tree lives in one arena (a list of chunks handed out in order
 * and freed together): one malloc per chunk instead of one per node, key and
 * string. The root is the first thing in the first chunk. */
struct chunk {
	struct chunk *next;
	size_t used, cap;
	max_align_t data[];
};
#define CHUNK_MIN 2048
#define CHUNK_MAX (64u << 10)

struct pstate {
	struct chunk *first, *cur;
	struct json *root;
	struct json *stack[JSON_MAX_DEPTH + 1];
	char *pending_key; /* key waiting for its value */
	int depth;
	int fail;          /* 1 nomem, 2 too deep, 3 duplicate key */
	char dupkey[128];
};

static void chunks_free(struct chunk *c)
{
	while (c) {
		struct chunk *next = c->next;
		free(c);
		c = next;
	}
}

void json_free(struct json *j)
{
	if (j)
		chunks_free((struct chunk *)((char *)j - offsetof(struct chunk, data)));
}

static void *alloc(struct pstate *p, size_t n)
{
	const size_t al = sizeof(max_align_t);
	n = (n + al - 1) / al * al;
	struct chunk *c = p->cur;
	if (!c || c->cap - c->used < n) {
		size_t cap = c ? (c->cap < CHUNK_MAX ? c->cap * 2 : CHUNK_MAX) : CHUNK_MIN;
		if (cap < n)
			cap = n;
		if (!(c = malloc(sizeof *c + cap)))
			return NULL;
		*c = (struct chunk){.cap = cap};
		if (p->cur)
			p->cur->next = c;
		else
			p->first = c;
		p->cur = c;
	}
	void *r = (char *)c->data + c->used;
	c->used += n;
	return r;
}

/* Attach a new value to the current container (or make it the root). */
static int add_value(struct pstate *p, struct json *v)
{
	if (!v) {
		p->fail = 1;
		return 0;
	}
	if (p->depth == 0) {
		p->root = v;
		return 1;
	}
	struct json *c = p->stack[p->depth - 1];
	if (c->type == JSON_ARRAY) {
		if ((c->arr.n & (c->arr.n - 1)) == 0) { /* grow at powers of two */
			size_t cap = c->arr.n ? c->arr.n * 2 : 4;
			struct json **nv = alloc(p, cap * sizeof *nv);
			if (!nv)
				goto nomem;
			if (c->arr.n)
				memcpy(nv, c->arr.v, c->arr.n * sizeof *nv);
			c->arr.v = nv;
		}
		c->arr.v[c->arr.n++] = v;
		return 1;
	}
	if ((c->obj.n & (c->obj.n - 1)) == 0) {
		size_t cap = c->obj.n ? c->obj.n * 2 : 4;
		char **nk = alloc(p, cap * sizeof *nk);
		struct json **nv = alloc(p, cap * sizeof *nv);
		if (!nk || !nv)
			goto nomem;
		if (c->obj.n) {
			memcpy(nk, c->obj.k, c->obj.n * sizeof *nk);
			memcpy(nv, c->obj.v, c->obj.n * sizeof *nv);
		}
		c->obj.k = nk;
		c->obj.v = nv;
	}
	c->obj.k[c->obj.n] = p->pending_key;
	c->obj.v[c->obj.n++] = v;
	p->pending_key = NULL;
	return 1;
nomem:
	p->fail = 1;
	return 0;
}

static struct json *mk(struct pstate *p, enum json_type t)
{
	struct json *j = alloc(p, sizeof *j);
	if (j)
		*j = (struct json){.type = t};
	return j;
}

static int cb_null(void *ctx)
{
	return add_value(ctx, mk(ctx, JSON_NULL));
}

static int cb_bool(void *ctx, int b)
{
	struct json *j = mk(ctx, JSON_BOOL);
	if (j)
		j->b = b;
	return add_value(ctx, j);
}

static int cb_number(void *ctx, const char *s, size_t len)
{
	char tmp[64];
	struct json *j;
	if (len >= sizeof tmp)
		return 0;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	if (!(j = mk(ctx, JSON_INT)))
		return add_value(ctx, NULL);
	if (!memchr(tmp, '.', len) && !memchr(tmp, 'e', len) && !memchr(tmp, 'E', len)) {
		char *end;
		errno = 0;
		long long v = strtoll(tmp, &end, 10);
		if (errno == 0 && *end == '\0') {
			j->i = v;
			return add_value(ctx, j);
		}
	}
	j->type = JSON_REAL;
	j->d = strtod(tmp, NULL);
	return add_value(ctx, j);
}

static int cb_string(void *ctx, const unsigned char *s, size_t len)
{
	struct json *j = mk(ctx, JSON_STRING);
	/* all len bytes, even past a NUL ("\u0000"): the users that care compare
	 * strlen with len, and the generator writes len bytes back */
	if (j && !(j->str.s = alloc(ctx, len + 1)))
		j = NULL;
	if (j) {
		memcpy(j->str.s, s, len);
		j->str.s[len] = '\0';
		j->str.len = len;
	}
	return add_value(ctx, j);
}

static int open_container(struct pstate *p, enum json_type t)
{
	if (p->depth >= JSON_MAX_DEPTH) {
		p->fail = 2;
		return 0;
	}
	struct json *j = mk(p, t);
	if (!add_value(p, j))
		return 0;
	p->stack[p->depth++] = j;
	return 1;
}

static int cb_start_map(void *ctx)
{
	return open_container(ctx, JSON_OBJECT);
}

static int cb_map_key(void *ctx, const unsigned char *k, size_t len)
{
	struct pstate *p = ctx;
	struct json *c = p->stack[p->depth - 1];
	for (size_t i = 0; i < c->obj.n; i++) {
		if (strlen(c->obj.k[i]) == len && memcmp(c->obj.k[i], k, len) == 0) {
			/* Two parsers could pick different values for a duplicate key;
			 * refusing it removes that ambiguity. */
			snprintf(p->dupkey, sizeof p->dupkey, "%.*s", (int)(len < 100 ? len : 100), k);
			p->fail = 3;
			return 0;
		}
	}
	if (memchr(k, '\0', len)) {
		p->fail = 4;
		return 0;
	}
	if (!(p->pending_key = alloc(p, len + 1))) {
		p->fail = 1;
		return 0;
	}
	memcpy(p->pending_key, k, len);
	p->pending_key[len] = '\0';
	return 1;
}

static int cb_end(void *ctx)
{
	struct pstate *p = ctx;
	p->depth--;
	return 1;
}

static int cb_start_array(void *ctx)
{
	return open_container(ctx, JSON_ARRAY);
}

static const yajl_callbacks callbacks = {
	.yajl_null = cb_null,
	.yajl_boolean = cb_bool,
	.yajl_number = cb_number,
	.yajl_string = cb_string,
	.yajl_start_map = cb_start_map,
	.yajl_map_key = cb_map_key,
	.yajl_end_map = cb_end,
	.yajl_start_array = cb_start_array,
	.yajl_end_array = cb_end,
};

struct json *json_parse(const char *buf, size_t len, struct err *e)
{
	struct pstate p = {0};
	yajl_handle h = yajl_alloc(&callbacks, NULL, &p);
	if (!h) {
		err_errno(e, ENOMEM, "JSON parser");
		return NULL;
	}
	yajl_status st = yajl_parse(h, (const unsigned char *)buf, len);
	if (st == yajl_status_ok)
		st = yajl_complete_parse(h);
	if (st != yajl_status_ok) {
		if (p.fail == 1)
			err_errno(e, ENOMEM, "JSON");
		else if (p.fail == 2)
			err_set(e, "JSON nested deeper than %d levels", JSON_MAX_DEPTH);
		else if (p.fail == 3)
			err_set(e, "JSON object has the key \"%s\" twice", p.dupkey);
		else if (p.fail == 4)
			err_set(e, "JSON object key contains a NUL character");
		else {
			unsigned char *msg = yajl_get_error(h, 0, NULL, 0);
			size_t at = yajl_get_bytes_consumed(h);
			err_set(e, "invalid JSON at byte %zu: %s", at, msg ? (char *)msg : "parse error");
			/* yajl_get_error's message ends with a newline */
			size_t ml = strlen(e->msg);
			while (ml && (e->msg[ml - 1] == '\n' || e->msg[ml - 1] == ' '))
				e->msg[--ml] = '\0';
			if (msg)
				yajl_free_error(h, msg);
		}
		yajl_free(h);
		chunks_free(p.first);
		return NULL;
	}
	yajl_free(h);
	if (!p.root)
		err_set(e, "empty JSON document");
	return p.root;
}

const struct json *json_get(const struct json *obj, const char *key)
{
	if (!obj || obj->type != JSON_OBJECT)
		return NULL;
	for (size_t i = 0; i < obj->obj.n; i++)
		if (strcmp(obj->obj.k[i], key) == 0)
			return obj->obj.v[i];
	return NULL;
}

const char *json_get_str(const struct json *obj, const char *key)
{
	const struct json *v = json_get(obj, key);
	return v && v->type == JSON_STRING ? v->str.s : NULL;
}

const char *json_type_name(enum json_type t)
{
	static const char *names[] = {"null", "boolean", "integer", "number", "string", "array", "object"};
	return names[t];
}

int json_only_keys(const struct json *obj, const char *const *allowed, const char *what, struct err *e)
{
	if (!obj || obj->type != JSON_OBJECT)
		return err_set(e, "%s: expected a JSON object", what);
	for (size_t i = 0; i < obj->obj.n; i++) {
		const char *const *a;
		for (a = allowed; *a; a++)
			if (strcmp(*a, obj->obj.k[i]) == 0)
				break;
		if (!*a)
			return err_set(e, "%s: unknown field \"%.100s\"", what, obj->obj.k[i]);
	}
	return 0;
}

int json_field(const struct json *obj, const char *key, enum json_type t, bool required, const struct json **out,
	       struct err *e)
{
	const struct json *v = json_get(obj, key);
	*out = NULL;
	if (!v || (v->type == JSON_NULL && !required)) {
		if (required)
			return err_set(e, "missing field \"%s\"", key);
		return 0;
	}
	if (v->type != t && !(t == JSON_REAL && v->type == JSON_INT))
		return err_set(e, "field \"%s\": expected %s, got %s", key, json_type_name(t), json_type_name(v->type));
	*out = v;
	return 0;
}

int json_field_str(const struct json *obj, const char *key, bool required, const char **out, struct err *e)
{
	const struct json *v;
	if (json_field(obj, key, JSON_STRING, required, &v, e) < 0)
		return -1;
	if (v && strlen(v->str.s) != v->str.len)
		return err_set(e, "field \"%s\": string contains a NUL character", key);
	if (v)
		*out = v->str.s;
	return 0;
}

int json_field_int(const struct json *obj, const char *key, bool required, int64_t *out, struct err *e)
{
	const struct json *v;
	if (json_field(obj, key, JSON_INT, required, &v, e) < 0)
		return -1;
	if (v)
		*out = v->i;
	return 0;
}

int json_field_bool(const struct json *obj, const char *key, bool required, bool *out, struct err *e)
{
	const struct json *v;
	if (json_field(obj, key, JSON_BOOL, required, &v, e) < 0)
		return -1;
	if (v)
		*out = v->b;
	return 0;
}

/* ---- generator ---- */

struct jgen {
	yajl_gen g;
	int status; /* first yajl_gen_status that was not ok */
};

struct jgen *jgen_new(bool pretty)
{
	struct jgen *g = calloc(1, sizeof *g);
	if (!g)
		return NULL;
	if (!(g->g = yajl_gen_alloc(NULL))) {
		free(g);
		return NULL;
	}
	yajl_gen_config(g->g, yajl_gen_validate_utf8, 1);
	if (pretty) {
		yajl_gen_config(g->g, yajl_gen_beautify, 1);
		yajl_gen_config(g->g, yajl_gen_indent_string, "  ");
	}
	return g;
}

void jgen_free(struct jgen *g)
{
	if (!g)
		return;
	yajl_gen_free(g->g);
	free(g);
}

static void track(struct jgen *g, yajl_gen_status s)
{
	if (s != yajl_gen_status_ok && !g->status)
		g->status = (int)s;
}

void jgen_obj_open(struct jgen *g)
{
	track(g, yajl_gen_map_open(g->g));
}
void jgen_obj_close(struct jgen *g)
{
	track(g, yajl_gen_map_close(g->g));
}
void jgen_arr_open(struct jgen *g)
{
	track(g, yajl_gen_array_open(g->g));
}
void jgen_arr_close(struct jgen *g)
{
	track(g, yajl_gen_array_close(g->g));
}
void jgen_key(struct jgen *g, const char *k)
{
	jgen_str(g, k);
}
void jgen_str(struct jgen *g, const char *s)
{
	jgen_strn(g, s, strlen(s));
}
void jgen_strn(struct jgen *g, const char *s, size_t n)
{
	track(g, yajl_gen_string(g->g, (const unsigned char *)s, n));
}
void jgen_int(struct jgen *g, int64_t v)
{
	track(g, yajl_gen_integer(g->g, (long long)v));
}
void jgen_real(struct jgen *g, double v)
{
	if (!isfinite(v))
		track(g, yajl_gen_null(g->g));
	else
		track(g, yajl_gen_double(g->g, v));
}
void jgen_bool(struct jgen *g, bool v)
{
	track(g, yajl_gen_bool(g->g, v));
}
void jgen_null(struct jgen *g)
{
	track(g, yajl_gen_null(g->g));
}
void jgen_kstr(struct jgen *g, const char *k, const char *v)
{
	jgen_key(g, k);
	jgen_str(g, v);
}
void jgen_kint(struct jgen *g, const char *k, int64_t v)
{
	jgen_key(g, k);
	jgen_int(g, v);
}
void jgen_kbool(struct jgen *g, const char *k, bool v)
{
	jgen_key(g, k);
	jgen_bool(g, v);
}

void jgen_value(struct jgen *g, const struct json *j)
{
	switch (j->type) {
	case JSON_NULL:
		jgen_null(g);
		break;
	case JSON_BOOL:
		jgen_bool(g, j->b);
		break;
	case JSON_INT:
		jgen_int(g, j->i);
		break;
	case JSON_REAL:
		track(g, yajl_gen_double(g->g, j->d));
		break;
	case JSON_STRING:
		jgen_strn(g, j->str.s, j->str.len);
		break;
	case JSON_ARRAY:
		jgen_arr_open(g);
		for (size_t i = 0; i < j->arr.n; i++)
			jgen_value(g, j->arr.v[i]);
		jgen_arr_close(g);
		break;
	case JSON_OBJECT:
		jgen_obj_open(g);
		for (size_t i = 0; i < j->obj.n; i++) {
			jgen_key(g, j->obj.k[i]);
			jgen_value(g, j->obj.v[i]);
		}
		jgen_obj_close(g);
		break;
	}
}

int jgen_result(struct jgen *g, const char **buf, size_t *len, struct err *e)
{
	static const char *why[] = {"ok", "key expected", "nesting too deep", "document already complete",
				    "generation failed", "invalid number", "misplaced value", "invalid UTF-8 string"};
	if (g->status) {
		int s = g->status;
		return err_set(e, "writing JSON: %s", s < (int)(sizeof why / sizeof *why) ? why[s] : "error");
	}
	const unsigned char *b;
	size_t l;
	yajl_gen_get_buf(g->g, &b, &l);
	*buf = (const char *)b;
	*len = l;
	return 0;
}
