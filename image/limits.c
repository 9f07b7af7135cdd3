/* limits.c: an image's resource limits (see limits.h). */
#include "image/limits.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"

void img_limits_init(struct img_limits *l)
{
	*l = (struct img_limits){
		.layers = IMG_LIMIT_LAYERS,
		.blob_size = IMG_LIMIT_BLOB_SIZE,
		.image_size = IMG_LIMIT_IMAGE_SIZE,
		.entries = IMG_LIMIT_ENTRIES,
		.reserve = {.pct = IMG_LIMIT_RESERVE_PCT},
	};
}

int img_parse_size(const char *s, uint64_t *out, struct err *e)
{
	char *end;
	if (*s < '0' || *s > '9')
		goto bad;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		goto bad;
	unsigned shift = 0;
	if (*end) {
		const char *u = "KMGT", *p = strchr(u, *end);
		if (!p || end[1])
			goto bad;
		shift = 10 * (unsigned)(p - u + 1);
	}
	if (v > (UINT64_MAX >> shift))
		goto bad;
	*out = (uint64_t)v << shift;
	return 0;
bad:
	return err_set(e, "size \"%.40s\": expected a number of bytes, optionally with K, M, G or T", s);
}

static int count(const char *key, const char *v, uint64_t max, uint64_t *out, struct err *e)
{
	char *end;
	errno = 0;
	unsigned long long n = *v >= '0' && *v <= '9' ? strtoull(v, &end, 10) : 0;
	if (*v < '0' || *v > '9' || *end || errno || n < 1 || n > max)
		return err_set(e, "limit %s=%.40s: expected a number from 1 to %llu", key, v, (unsigned long long)max);
	*out = n;
	return 0;
}

int img_limits_set(struct img_limits *l, const char *kv, struct err *e)
{
	const char *eq = strchr(kv, '=');
	char key[16];
	if (!eq || eq == kv || (size_t)(eq - kv) >= sizeof key)
		return err_set(e, "limit \"%.60s\": expected KEY=VALUE (layers, blob_size, image_size, entries, reserve)",
			       kv);
	snprintf(key, sizeof key, "%.*s", (int)(eq - kv), kv);
	const char *v = eq + 1;
	if (!strcmp(key, "layers"))
		return count(key, v, IMG_MAX_LAYERS, &l->layers, e);
	if (!strcmp(key, "entries"))
		return count(key, v, UINT32_MAX, &l->entries, e);
	uint64_t *size = !strcmp(key, "blob_size") ? &l->blob_size : !strcmp(key, "image_size") ? &l->image_size : NULL;
	if (size) {
		if (img_parse_size(v, size, e) < 0 || *size == 0)
			return err_set(e, "limit %s=%.40s: expected a size above 0 such as 512M or 8G", key, v);
		return 0;
	}
	if (strcmp(key, "reserve"))
		return err_set(e, "limit \"%s\": unknown (layers, blob_size, image_size, entries, reserve)", key);
	size_t n = strlen(v);
	if (n && v[n - 1] == '%') {
		char *end;
		errno = 0;
		unsigned long p = *v >= '0' && *v <= '9' ? strtoul(v, &end, 10) : 100;
		if (*v < '0' || *v > '9' || end != v + n - 1 || errno || p > 90)
			return err_set(e, "limit reserve=%.40s: expected a percentage from 0%% to 90%%, or a size", v);
		l->reserve = (struct fs_reserve){.pct = (unsigned)p};
		return 0;
	}
	uint64_t b;
	if (img_parse_size(v, &b, e) < 0)
		return err_set(e, "limit reserve=%.40s: expected a percentage such as 5%% or a size such as 2G", v);
	l->reserve = (struct fs_reserve){.bytes = b};
	return 0;
}

int img_limits_set_list(struct img_limits *l, const char *list, struct err *e)
{
	_cleanup_free_ char *copy = strdup(list);
	char *save = NULL;
	if (!copy)
		return err_errno(e, ENOMEM, "limits");
	for (char *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save))
		if (img_limits_set(l, kv, e) < 0)
			return -1;
	return 0;
}

int img_limits_check(const struct img_limits *l, const struct img_manifest *m, struct err *e)
{
	uint64_t total = 0;
	if (m->n_layers > l->layers)
		return err_set(e, "the image has %zu layers, more than the limit of %llu (limit layers=N raises it)",
			       m->n_layers, (unsigned long long)l->layers);
	for (size_t i = 0; i < m->n_layers; i++) {
		const struct img_descriptor *d = &m->layers[i];
		bool again = false;
		for (size_t k = 0; k < i && !again; k++)
			again = img_digest_eq(&m->layers[k].digest, &d->digest);
		if (again)
			continue; /* downloaded and unpacked once */
		if (d->size < 0 || (uint64_t)d->size > l->blob_size)
			return err_set(e, "layer %zu (%s) is declared as %lld bytes, more than the limit of %llu "
					  "(limit blob_size=SIZE raises it)",
				       i + 1, d->digest.s, (long long)d->size, (unsigned long long)l->blob_size);
		total += (uint64_t)d->size;
		if (total > l->image_size)
			return err_set(e, "the image's layers are declared as more than %llu bytes together, the limit "
					  "of its unpacked size (limit image_size=SIZE raises it)",
				       (unsigned long long)l->image_size);
	}
	return 0;
}
