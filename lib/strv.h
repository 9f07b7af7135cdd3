/* strv.h: a growable list of strings, owned by the list and kept
 * NULL-terminated (v[n] == NULL), so that v can be handed to execv() and
 * friends as it is. A zeroed struct is an empty list. */
#ifndef RAMP_STRV_H
#define RAMP_STRV_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/err.h"

struct strv {
	char **v;
	size_t n;
};

/* Append a copy of s. */
int strv_push(struct strv *l, const char *s, struct err *e);
/* Append a copy of s unless the list holds it already. */
int strv_add_unique(struct strv *l, const char *s, struct err *e);
bool strv_contains(const struct strv *l, const char *s);
/* dst becomes a copy of src (dst's old contents are not freed). */
int strv_copy(struct strv *dst, const struct strv *src, struct err *e);
void strv_free(struct strv *l);

#endif
