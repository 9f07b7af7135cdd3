/* host_pull.h: bringing a version into the host store, the work of rampd's
 * pull helper (cmd/rampd-pull.c; rampd's side is daemon_pull.c). It runs in a
 * process of its own so that rampd never loads libcurl, OpenSSL or libarchive
 * (docs/ARCHITECTURE.md, "rampd and its pull helper"). */
#ifndef RAMP_RT_HOST_PULL_H
#define RAMP_RT_HOST_PULL_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/err.h"
#include "runtime/store.h"

struct rt_host_pull {
	const char *app;             /* named in log lines */
	const char *image;           /* registry/repo@sha256:…, pinned to an image manifest */
	const char *dir;             /* this pull's resumable layout (rampd: state_dir/pull/<hex>) */
	const char *const *mirrors;  /* tried first, in order; NULL-terminated */
	const char *const *insecure; /* registries allowed over plain HTTP; NULL-terminated */
	const char *cacert;          /* CA file for the registry (NULL: the system's) */
	const char *auth_file;       /* credentials (auth.json form; NULL: none) */
	bool records;                /* fetch the image's test records into the store too */
	/* Called once everything is downloaded, before the store is touched
	   (a failure ends the pull there), and once the image is in the store. */
	int (*before_import)(void *ctx, uint64_t bytes, struct err *e);
	void (*imported)(void *ctx);
	void *ctx;
};

/* Pull p->image from the mirrors, then from its registry (the digest pins
 * the bytes, so any of them will do), into p->dir, skipping the layers the
 * store has; then import it into the store (layers unpacked once), keep its
 * test records with it when p->records (even when the image was there), and
 * remove p->dir. A failed pull keeps p->dir for the next attempt to resume, except
 * on a full disk, where it would keep the disk full. *bytes: downloaded, also
 * when the pull fails. */
int rt_host_pull(struct rt_store *store, const struct rt_host_pull *p, uint64_t *bytes, struct err *e);

#endif
