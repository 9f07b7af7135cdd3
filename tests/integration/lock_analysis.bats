#!/usr/bin/env bats
# lock_analysis.bats: clang's thread-safety analysis of rampd's three locks
# (runtime/rampd/locks.h, docs/ARCHITECTURE.md): rampd's sources pass
# `make lockcheck`, and code that breaks the rules, checked with the very
# same command, is refused with the rule it breaks.

load helpers

setup() {
	common_setup
	TOP=$BATS_TEST_DIRNAME/../..
}
teardown() { common_teardown; }

# check FILE's C (after rampd's headers) with make lockcheck
check() {
	{
		printf '#include "runtime/rampd/daemon.h"\n#include "runtime/rampd/supervisor.h"\n'
		cat
	} >"$T/$1.c"
	run make -s -C "$TOP" lockcheck LOCKCHECK_SRCS="$T/$1.c"
}

@test "locks: rampd's sources pass clang's thread-safety analysis" {
	run make -s -C "$TOP" lockcheck
	[ "$status" -eq 0 ]
}

@test "locks: the rules kept, as in rampd, pass" {
	check good <<'EOF'
void want_gc(struct rt_daemon *d)
{
	rt_daemon_lock(&d->mu);
	d->gc_wanted = true;
	rt_daemon_unlock(&d->mu);
}
void gc(struct rt_daemon *d)
{
	rt_store_lock(&d->store_mu);
	rt_daemon_lock(&d->mu);
	for (size_t i = 0; i < d->n_apps; i++) {
		rt_app_lock(&d->apps[i]->mu);
		d->apps[i]->switches++;
		rt_app_unlock(&d->apps[i]->mu);
	}
	rt_daemon_unlock(&d->mu);
	rt_store_unlock(&d->store_mu);
}
void status(struct rt_daemon *d, struct jgen *g, struct rt_outcome *o, struct err *e)
{
	struct rt_app *a = rt_daemon_lock_app(d, "web", o, e);
	if (!a)
		return;
	rt_app_status_json(a, g);
	rt_app_unlock(&a->mu);
}
EOF
	[ "$status" -eq 0 ]
}

@test "locks: a field of the daemon touched without its lock is refused" {
	check daemon_field <<'EOF'
void want_gc(struct rt_daemon *d)
{
	d->gc_wanted = true;
}
EOF
	[ "$status" -ne 0 ]
	[[ "$output" == *"writing variable 'gc_wanted' requires holding mutex 'rt_lock_daemon' exclusively"* ]]
}

@test "locks: a field of an app read without the app's lock is refused" {
	check app_field <<'EOF'
bool deleting(struct rt_daemon *d, size_t i)
{
	rt_daemon_lock(&d->mu);
	bool r = d->apps[i]->deleting;
	rt_daemon_unlock(&d->mu);
	return r;
}
EOF
	[ "$status" -ne 0 ]
	[[ "$output" == *"reading variable 'deleting' requires holding mutex 'rt_lock_app'"* ]]
}

@test "locks: a function that needs the app's lock called without it is refused" {
	check requires <<'EOF'
void status(struct rt_app *a, struct jgen *g)
{
	rt_app_status_json(a, g);
}
EOF
	[ "$status" -ne 0 ]
	[[ "$output" == *"calling function 'rt_app_status_json' requires holding mutex 'rt_lock_app'"* ]]
}

@test "locks: the store's lock taken under the daemon's (against the order) is refused" {
	check order <<'EOF'
void gc(struct rt_daemon *d)
{
	rt_daemon_lock(&d->mu);
	rt_store_lock(&d->store_mu);
	rt_store_unlock(&d->store_mu);
	rt_daemon_unlock(&d->mu);
}
EOF
	[ "$status" -ne 0 ]
	[[ "$output" == *"mutex 'rt_lock_store' must be acquired before 'rt_lock_daemon'"* ]]
}

@test "locks: an app left locked (rt_daemon_lock_app without unlock) is refused" {
	check held <<'EOF'
void status(struct rt_daemon *d, struct jgen *g, struct rt_outcome *o, struct err *e)
{
	struct rt_app *a = rt_daemon_lock_app(d, "web", o, e);
	if (a)
		rt_app_status_json(a, g);
}
EOF
	[ "$status" -ne 0 ]
	[[ "$output" == *"mutex 'rt_lock_app' is not held on every path through here"* ]]
}
