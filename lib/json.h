/* json.h: JSON parse (into a small tree) and generation, behind one interface.
 *
 * yajl does the lexing and the writing; nothing outside lib/json.c includes
 * yajl headers. Parsing is strict, for untrusted input: a size limit chosen by
 * the caller, a nesting limit, duplicate object keys refused, trailing garbage
 * refused, and numbers that are integers kept exactly as int64. */
#ifndef RAMP_JSON_H
#define RAMP_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

#define JSON_MAX_DEPTH 64

enum json_type { JSON_NULL, JSON_BOOL, JSON_INT, JSON_REAL, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

struct json {
	enum json_type type;
	union {
		bool b;
		int64_t i;
		double d;
		struct {
			char *s; /* NUL-terminated; len excludes the NUL */
			size_t len;
		} str;
		struct {
			struct json **v;
			size_t n;
		} arr;
		struct {
			char **k;
			struct json **v;
			size_t n;
		} obj;
	};
};

/* Parse len bytes. Returns NULL and fills e on error (the message says where). */
struct json *json_parse(const char *buf, size_t len, struct err *e);
/* Frees the whole tree: only a root json_parse returned. */
void json_free(struct json *j);

/* Lookups return NULL when j is not of the right kind or the key is missing. */
const struct json *json_get(const struct json *obj, const char *key);
const char *json_get_str(const struct json *obj, const char *key);
const char *json_type_name(enum json_type t);

/* Refuse keys not in the NULL-terminated list `allowed`; `what` names the object. */
int json_only_keys(const struct json *obj, const char *const *allowed, const char *what, struct err *e);

/* Typed field access with messages naming the field. `required` says whether a
 * missing field is an error; a present field of the wrong type always is. */
int json_field_str(const struct json *obj, const char *key, bool required, const char **out, struct err *e);
int json_field_int(const struct json *obj, const char *key, bool required, int64_t *out, struct err *e);
int json_field_bool(const struct json *obj, const char *key, bool required, bool *out, struct err *e);
/* Object or array member of the given type, or NULL when absent (error if wrong type). */
int json_field(const struct json *obj, const char *key, enum json_type t, bool required, const struct json **out,
	       struct err *e);

/* Generator. Keys and values are written in call order: the caller's order is
 * the output order, which is what makes image JSON reproducible. */
struct jgen;
struct jgen *jgen_new(bool pretty);
void jgen_free(struct jgen *g);
void jgen_obj_open(struct jgen *g);
void jgen_obj_close(struct jgen *g);
void jgen_arr_open(struct jgen *g);
void jgen_arr_close(struct jgen *g);
void jgen_key(struct jgen *g, const char *k);
void jgen_str(struct jgen *g, const char *s);
void jgen_strn(struct jgen *g, const char *s, size_t n);
void jgen_int(struct jgen *g, int64_t v);
/* a finite double; NaN and infinities (not JSON) are written as null */
void jgen_real(struct jgen *g, double v);
void jgen_bool(struct jgen *g, bool v);
void jgen_null(struct jgen *g);
/* Write a parsed value back out (object keys in their parsed order). */
void jgen_value(struct jgen *g, const struct json *j);
/* Convenience: key then value. */
void jgen_kstr(struct jgen *g, const char *k, const char *v);
void jgen_kint(struct jgen *g, const char *k, int64_t v);
void jgen_kbool(struct jgen *g, const char *k, bool v);
/* The document so far; returns -1 with e set if any call failed (invalid
 * UTF-8, unbalanced nesting). */
int jgen_result(struct jgen *g, const char **buf, size_t *len, struct err *e);

#endif
