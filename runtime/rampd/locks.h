/* locks.h: rampd's three mutexes of the lock order (daemon.h) for clang's
 * thread-safety analysis (`make lockcheck`: clang -Wthread-safety
 * -Wthread-safety-beta -Werror over runtime/rampd/; nothing under gcc).
 *
 * Clang (up to at least 16) cannot name, in C, a mutex that is a member of
 * the same struct as the field it guards, so each lock of the order has a
 * name of its own, a capability declared here and never defined: fields say
 * RT_GUARDED_BY(rt_lock_app), and rt_app_lock(&a->mu) acquires rt_lock_app.
 * For the daemon's two locks that is exact (one daemon per process); for the
 * apps' it means "an app's lock": the analysis sees a field of app B touched
 * under app A's lock as locked (the order forbids holding two anyway, and
 * holding two is an error here: acquired twice). */
#ifndef RAMP_RT_LOCKS_H
#define RAMP_RT_LOCKS_H

#include <pthread.h>

#ifdef __clang__
#define RT_TSA(x) __attribute__((x))
#else
#define RT_TSA(x)
#endif
#define RT_GUARDED_BY(l) RT_TSA(guarded_by(l))
#define RT_REQUIRES(l) RT_TSA(requires_capability(l))
#define RT_EXCLUDES(l) RT_TSA(locks_excluded(l))
#define RT_ACQUIRE(l) RT_TSA(acquire_capability(l))
#define RT_RELEASE(l) RT_TSA(release_capability(l))
/* returns non-NULL (or true) with the lock held */
#define RT_TRY_ACQUIRE(l) RT_TSA(try_acquire_capability(1, l))
/* the function is left out of the analysis (say why where it is used) */
#define RT_NO_LOCK_ANALYSIS RT_TSA(no_thread_safety_analysis)

struct RT_TSA(capability("mutex")) rt_lock_name {
	char unused;
};
/* the order: store, daemon, app (-Wthread-safety-beta checks it) */
extern struct rt_lock_name rt_lock_store;
extern struct rt_lock_name rt_lock_daemon RT_TSA(acquired_after(rt_lock_store));
extern struct rt_lock_name rt_lock_app RT_TSA(acquired_after(rt_lock_daemon));

/* d->store_mu, d->mu and a->mu are taken and released only through these */
static inline void rt_store_lock(pthread_mutex_t *m) RT_ACQUIRE(rt_lock_store) RT_NO_LOCK_ANALYSIS
{
	pthread_mutex_lock(m);
}
static inline void rt_store_unlock(pthread_mutex_t *m) RT_RELEASE(rt_lock_store) RT_NO_LOCK_ANALYSIS
{
	pthread_mutex_unlock(m);
}
static inline void rt_daemon_lock(pthread_mutex_t *m) RT_ACQUIRE(rt_lock_daemon) RT_NO_LOCK_ANALYSIS
{
	pthread_mutex_lock(m);
}
static inline void rt_daemon_unlock(pthread_mutex_t *m) RT_RELEASE(rt_lock_daemon) RT_NO_LOCK_ANALYSIS
{
	pthread_mutex_unlock(m);
}
static inline void rt_app_lock(pthread_mutex_t *m) RT_ACQUIRE(rt_lock_app) RT_NO_LOCK_ANALYSIS
{
	pthread_mutex_lock(m);
}
static inline void rt_app_unlock(pthread_mutex_t *m) RT_RELEASE(rt_lock_app) RT_NO_LOCK_ANALYSIS
{
	pthread_mutex_unlock(m);
}

#endif
