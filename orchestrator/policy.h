/* policy.h: a release policy (--policy FILE, or FLEET.policy.json next to
 * the fleet file): freeze windows, when no rollout starts or goes on, and
 * blockers, commands that say whether something blocks a release now.
 *
 *   {"freezes": [
 *      {"name": "weekend", "reason": "nobody on call",
 *       "days": ["fri", "sat", "sun"], "from": "16:00", "to": "24:00",
 *       "timezone": "Europe/Berlin"},
 *      {"name": "year-end", "reason": "holidays",
 *       "from": "2026-12-20T00:00:00+01:00", "to": "2027-01-04T00:00:00+01:00"}],
 *    "blockers": [
 *      {"name": "release-blockers", "command": "docs/examples/blocker-bugs-dir.sh bugs",
 *       "timeout": 30}]}
 *
 * A recurring freeze holds on each of its days from `from` to `to`, local
 * wall-clock time of its zone (lib/tz.h: right across daylight-saving
 * changes); a one-time freeze from one instant to another. The parser is
 * strict: unknown keys, wrong types, bad values are errors naming their
 * place ("policy.json: freezes[2].days[1]: ..."). */
#ifndef RAMP_ORCH_POLICY_H
#define RAMP_ORCH_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "lib/tz.h"

#define ORCH_POLICY_MAX_BYTES (1 << 20)
#define ORCH_POLICY_MAX_ITEMS 256
#define ORCH_BLOCKER_TIMEOUT_S 60 /* the default */

struct orch_freeze {
	char *name, *reason;
	bool recurring;
	/* recurring */
	uint8_t days;           /* bit 0 Monday .. bit 6 Sunday */
	int from_min, to_min;   /* minutes of the local day, from < to <= 1440 */
	char *zone;
	struct tz *tz;
	/* one-time: Unix seconds, from < to */
	int64_t from, to;
};

struct orch_blocker {
	char *name, *command;
	int64_t timeout_ms;
};

struct orch_policy {
	struct orch_freeze *freezes;
	size_t n_freezes;
	struct orch_blocker *blockers;
	size_t n_blockers;
};

/* Parse a policy; where names it in messages (the file's path). */
int orch_policy_parse(const char *buf, size_t len, const char *where, struct orch_policy *p, struct err *e);
int orch_policy_load(const char *path, struct orch_policy *p, struct err *e);
void orch_policy_free(struct orch_policy *p);

/* The default policy of a fleet file: "FLEET.policy.json" (FLEET without a
 * .json/.txt ending) when it exists; NULL (and no error) when it does not. */
int orch_policy_default_path(const char *fleet_path, char **out, struct err *e);

/* Whether freeze f holds at Unix time t (seconds). */
bool orch_freeze_active(const struct orch_freeze *f, int64_t t);

/* The freeze in force at t: 1 with *which (the first one listed that holds)
 * and *until (when no freeze holds any more, all of them taken together;
 * INT64_MAX when that is more than a year away), 0 when none holds. */
int orch_policy_frozen(const struct orch_policy *p, int64_t t, size_t *which, int64_t *until);
/* The next freeze to begin after t (within a year): 1 with *which and *at, or 0. */
int orch_policy_next_freeze(const struct orch_policy *p, int64_t t, size_t *which, int64_t *at);

/* Run a blocker (orchestrator/exec.h) with env ("K=V", NULL-terminated, or
 * NULL): 0 clear (exit 0), 1 blocked (exit 1), -1 an error that blocks too
 * (any other status, its timeout, it could not run). *why (caller frees):
 * NULL when clear, else its output (the first lines) or what went wrong. */
int orch_blocker_run(const struct orch_blocker *b, char *const *env, char **why);

#endif
