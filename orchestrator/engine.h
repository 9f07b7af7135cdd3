/* engine.h: the rollout engine: one thread, one loop, the decisions.
 *
 * Every host is a small state machine (hoststate.h) driven by the answers of
 * its agent (callbacks of the transport, transport.h) and by timers checked
 * in a scan of all hosts a few hundred times a second. Phases: precheck
 * (every host's current version and generation, its platform for the test
 * records), waves (deploy, bake, checks; the hosts of earlier waves are
 * watched), final bake, and on failure the revert of every host that may
 * have been touched. Decisions that must survive a crash are journaled
 * (fsync'd) before they are acted on.
 *
 * The modules of the engine:
 *   engine.c          the loop and the phases: precheck → wave → check → … →
 *                     final bake → end, or → revert → end; gates, resume
 *   engine_host.c     one host: its requests, the answers, its timers, the
 *                     failure budgets and fencing
 *   engine_events.c   the events the decisions make (event.h), journaled
 *                     and handed to the ui, with their human text
 *   engine_policy.c   the release policy (policy.h): freezes and blockers
 *                     before the precheck, at --resume, between waves
 *   hoststate.c       the legal transitions of a host's state
 *   transport.h       how hosts are reached and time is read (client.c in
 *                     production, a script in tests/unit/test_engine.c)
 *
 * orch_engine_run() is what the entry points of rollout.h call once the
 * stage is set, and what the engine's unit tests call with a scripted
 * transport. */
#ifndef RAMP_ORCH_ENGINE_H
#define RAMP_ORCH_ENGINE_H

#include <signal.h>

#include "lib/err.h"
#include "orchestrator/client.h"
#include "orchestrator/journal.h"
#include "orchestrator/resolve.h"
#include "orchestrator/rollout.h"
#include "orchestrator/transport.h"

enum orch_mode {
	ORCH_MODE_START,        /* a new rollout: gates, precheck, waves */
	ORCH_MODE_RESUME,       /* continue a journaled rollout where it stopped */
	ORCH_MODE_ABORT,        /* revert every host a journaled rollout touched */
	ORCH_MODE_FLEET_REVERT, /* every host that has the app back on a kept version, at once */
};

struct orch_run {
	enum orch_mode mode;
	struct orch_rollout *r;   /* the plan (start), the replayed journal (resume, abort), the fleet in
				   * one wave (fleet revert); the engine records its progress there */
	struct orch_journal *j;   /* where events go (NULL: nowhere, as for a fleet revert); a new
				   * rollout's is created here, its first line the start event */
	const char *journal_path; /* start: where the journal is created */
	const char *takeover_path; /* start: the journal of r->takeover, closed as superseded once ours exists */
	struct orch_transport *t; /* NULL: an orch_client for r's hosts and options */
	const struct orch_resolved *img; /* test records to check against the hosts' platforms, outcome
					  * records and vetoes to refuse a known-bad digest; or NULL */
	bool outcome;             /* attach an outcome record to the digest at the end */
	const struct img_registry_opts *reg; /* where it goes (NULL: defaults) */
	const char *revert_to;    /* fleet revert: the digest to go to, or NULL for each host's newest kept */
	const struct orch_ui *ui; /* may be NULL */
	volatile sig_atomic_t *stop; /* set (by a signal): stop cleanly, the journal says where */
};

/* Run to the end (or until stopped). Returns the exit code (ORCH_EXIT_*),
 * or -1 with e set when it could not even start. */
int orch_engine_run(const struct orch_run *run, struct err *e);

/* The client the engine would make for r's hosts and options (orch_run.t
 * NULL); it reads every token file, so an entry point can check those before
 * it asks the registry anything. */
struct orch_client *orch_engine_client(const struct orch_rollout *r, struct err *e);

#endif
