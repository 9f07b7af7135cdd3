/* state.h: the orchestrator's state directory: rollout journals and the
 * locks that keep two rollouts of one app on one fleet apart.
 *
 *   STATE/rollouts/ID.jsonl   one journal per rollout
 *   STATE/locks/KEY.lock      KEY = hash of app and fleet file; flock(2)'d by
 *                             the process running a rollout, and holding the
 *                             id of the unfinished rollout, if any
 *
 * STATE is --state-dir, else $XDG_STATE_HOME/ramp, else ./.ramp. It and its
 * two directories must belong to the user (or root) and be writable by nobody
 * else, or they are refused: another user could plant links in them. Every
 * file there is opened relative to its checked directory, never through a
 * symbolic link, and created exclusively. */
#ifndef RAMP_ORCH_STATE_H
#define RAMP_ORCH_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "lib/err.h"

#define ORCH_ID_MAX 128

/* Resolve, create and check the state directory. Caller frees *out. */
int orch_state_dir(const char *opt, char **out, struct err *e);
/* The directory of path (a file of the state directory), opened and checked;
 * *base points into path at the file's name. */
int orch_state_dir_of(const char *path, const char **base, struct err *e);
/* Open path (a file of the state directory) in its checked directory, never
 * through a symbolic link: a regular file of root or the user with one link.
 * With O_CREAT it is created exclusively when it does not exist. */
int orch_state_open(const char *path, int flags, mode_t mode, struct err *e);
/* STATE/rollouts/ID.jsonl (id validated). Caller frees. */
char *orch_journal_path(const char *dir, const char *id, struct err *e);
bool orch_id_valid(const char *id);
/* "20261126T101500Z-web-4f2a" */
int orch_new_id(const char *app, char *out, size_t n, struct err *e);

struct orch_lock {
	int fd;
	bool held;                 /* we hold the flock */
	char holder[ORCH_ID_MAX + 1]; /* the id written in the lock file ("" if none) */
};
/* Open the lock of (app, fleet) and try to take it. */
int orch_lock_open(const char *dir, const char *app, const char *fleet, struct orch_lock *l, struct err *e);
/* Write id as the holder (fsync'd). */
int orch_lock_set(struct orch_lock *l, const char *id, struct err *e);
/* Forget the holder if it is still id. */
void orch_lock_clear(struct orch_lock *l, const char *id);
void orch_lock_close(struct orch_lock *l);
/* Whether a process holds the lock of (app, fleet) right now. */
bool orch_lock_busy(const char *dir, const char *app, const char *fleet);

/* Rollout ids in the state directory, oldest first. */
int orch_list_ids(const char *dir, char ***ids, size_t *n, struct err *e);

#endif
