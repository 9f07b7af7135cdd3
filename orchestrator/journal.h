/* journal.h: the rollout journal: one event per line (event.h), appended
 * and fsync'd, enough to resume or abort a rollout after the orchestrator
 * died; and its replay into the record of the rollout (rollout.h).
 *
 * The same lines are the `--json` output of `ramp rollout`; their fields are
 * documented in docs/ROLLOUT.md and stable. Lines that must be on disk before
 * the engine acts (a wave starts, a revert starts, the end) are written with
 * sync; the others are gathered and written and fsync'd within
 * ORCH_JOURNAL_LAG_MS (whole lines in one write: O_APPEND keeps them whole
 * even next to another writer).
 *
 * A journal is untrusted input when replayed: a torn last line (a crash in
 * the middle of a write) is tolerated and reported, anything else that is not
 * a well-formed event is refused with its line number. */
#ifndef RAMP_ORCH_JOURNAL_H
#define RAMP_ORCH_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "orchestrator/event.h"
#include "orchestrator/rollout.h"

#define ORCH_JOURNAL_MAX_BYTES (512u << 20)
#define ORCH_JOURNAL_LAG_MS 100

struct orch_journal {
	int fd;
	char *path;
	char *buf;          /* whole lines not yet written */
	size_t len, cap;
	bool dirty;         /* not yet written and fsync'd */
	int64_t synced_ms;
};

/* A new journal holding its first line (the start event): the file appears
 * with that line in it or not at all, and never replaces another. */
int orch_journal_create(const char *path, const char *first, size_t len, struct orch_journal *j, struct err *e);
/* Reopen for appending, cutting a torn last line off first. */
int orch_journal_reopen(const char *path, size_t valid_len, struct orch_journal *j, struct err *e);
/* Append one line (a newline is added); with sync, it and every line before
 * it are on disk when this returns. */
int orch_journal_write(struct orch_journal *j, const char *line, size_t len, bool sync, struct err *e);
/* Write what is gathered and fsync. */
int orch_journal_sync(struct orch_journal *j, struct err *e);
/* Write and fsync what was gathered ORCH_JOURNAL_LAG_MS ago or earlier. */
int orch_journal_tick(struct orch_journal *j, struct err *e);
/* Append an event (its time is now), as orch_journal_write. */
int orch_journal_event(struct orch_journal *j, struct orch_event *ev, bool sync, struct err *e);
void orch_journal_close(struct orch_journal *j);

/* The start event of r (hosts with their wave and labels, waves, options);
 * its arrays live in ev (orch_event_free). Its replay into a record is right
 * below it in journal.c. */
int orch_start_event(const struct orch_rollout *r, struct orch_event *ev, struct err *e);
/* A rollout taken over by another (its process is gone): its journal ends
 * with "superseded" by `by` and "end", so that it can never act again. */
void orch_journal_supersede(const char *path, const char *id, const char *by);

/* Replay a journal into r. */
int orch_journal_replay(const char *buf, size_t len, const char *what, struct orch_rollout *r, struct err *e);
int orch_journal_load(const char *path, struct orch_rollout *r, struct err *e);

#endif
