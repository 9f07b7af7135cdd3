/* pull_store.h: what the blob stores of pulls share (internal to
 * pull_store.c and pull_archive.c). */
#ifndef RAMP_IMG_PULL_STORE_H
#define RAMP_IMG_PULL_STORE_H

#include <stdint.h>

#include "image/digest.h"
#include "lib/err.h"

/* Writeback of a durable blob starts every this many bytes, so the fsync at
 * the end waits for little. */
#define IMG_PULL_WRITEBACK_STEP (8u << 20)

/* Feed len bytes of fd from off to h (the part of a blob an earlier attempt kept). */
int img_pull_hash_range(int fd, uint64_t off, uint64_t len, struct img_sha256 *h, const char *what, struct err *e);

#endif
