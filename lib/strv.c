/* strv.c: lists of strings (see strv.h). */
#include "lib/strv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int strv_push(struct strv *l, const char *s, struct err *e)
{
	char **nv = realloc(l->v, (l->n + 2) * sizeof *nv);
	if (!nv)
		return err_errno(e, ENOMEM, "string list");
	l->v = nv;
	if (!(l->v[l->n] = strdup(s))) {
		l->v[l->n] = NULL;
		return err_errno(e, ENOMEM, "string list");
	}
	l->v[++l->n] = NULL;
	return 0;
}

bool strv_contains(const struct strv *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i], s))
			return true;
	return false;
}

int strv_add_unique(struct strv *l, const char *s, struct err *e)
{
	return strv_contains(l, s) ? 0 : strv_push(l, s, e);
}

int strv_copy(struct strv *dst, const struct strv *src, struct err *e)
{
	*dst = (struct strv){0};
	for (size_t i = 0; i < src->n; i++)
		if (strv_push(dst, src->v[i], e) < 0) {
			strv_free(dst);
			return -1;
		}
	return 0;
}

void strv_free(struct strv *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}
