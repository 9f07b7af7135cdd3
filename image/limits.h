/* limits.h: what one image may cost a host, and the free space it must leave.
 *
 * An image's manifest declares its layers and their compressed sizes: those
 * are checked before anything is downloaded (img_limits_check). What the
 * layers expand to (bytes, tar entries) is only known while they are
 * unpacked: the store counts every layer of the image against one budget
 * (runtime/import.c). The reserve is checked before a download or an unpack
 * starts and again as it writes (lib/fs.h fs_reserve_check).
 *
 * One vocabulary everywhere: "--limit KEY=VALUE" for ramp run, test and pull,
 * RAMP_LIMITS="KEY=VALUE,..." in their environment, and the same keys in the
 * "limits" object of rampd.json (docs/SECURITY.md "Resource limits"). */
#ifndef RAMP_IMG_LIMITS_H
#define RAMP_IMG_LIMITS_H

#include <stdint.h>

#include "image/oci.h"
#include "lib/err.h"
#include "lib/fs.h"

struct img_limits {
	uint64_t layers;      /* layers of one manifest */
	uint64_t blob_size;   /* declared (compressed) size of one blob */
	uint64_t image_size;  /* uncompressed bytes of all layers together; also bounds their declared sizes */
	uint64_t entries;     /* tar entries of all layers together */
	struct fs_reserve reserve; /* free space left on the file system written to */
};

/* The defaults, sized for real images (a Debian root: 206 MB, 6,768 entries;
 * node and python images: 1 to 2 GB, tens of thousands of entries). */
#define IMG_LIMIT_LAYERS 256
#define IMG_LIMIT_BLOB_SIZE (8ull << 30)
#define IMG_LIMIT_IMAGE_SIZE (16ull << 30)
#define IMG_LIMIT_ENTRIES 500000ull
#define IMG_LIMIT_RESERVE_PCT 5

void img_limits_init(struct img_limits *l);
/* Set one limit: "layers=N", "blob_size=SIZE", "image_size=SIZE",
 * "entries=N", "reserve=N%" or "reserve=SIZE" (SIZE: bytes, or with K, M,
 * G, T). */
int img_limits_set(struct img_limits *l, const char *kv, struct err *e);
/* Apply a comma-separated list of the same ("layers=300,reserve=2G"). */
int img_limits_set_list(struct img_limits *l, const char *list, struct err *e);

/* Refuse an image whose manifest already says it is over the limits: more
 * layers, a blob declared larger than blob_size, or declared sizes that add
 * up (each distinct blob once) to more than image_size. */
int img_limits_check(const struct img_limits *l, const struct img_manifest *m, struct err *e);

/* "512", "64K", "2G" → bytes (K, M, G, T are powers of 1024). */
int img_parse_size(const char *s, uint64_t *out, struct err *e);

#endif
