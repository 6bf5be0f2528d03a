/* core/sync_mutex.c — the tasks' mutex (see tide/sync.h).
 *
 * Unlock hands the mutex straight to the first waiter instead of freeing it and letting the
 * waiters race for it (asyncio.Lock's way, which lets a newcomer barge in between, and which
 * needs a cancelled-after-wakeup waiter to pass the wakeup on). Here the mutex is never free
 * while someone waits: `locked` stays set and only the owner changes. A waiter that is cancelled
 * while queued is unlinked by its canceller and was never the owner, so it owes nothing; one
 * that is cancelled after the hand-off is the owner, gets 0 from tide_mutex_lock, and unlocks
 * as usual. Either way the mutex is never left locked by nobody. */
#include "core/sync_internal.h"

_Static_assert(sizeof(void *) != 8 || sizeof(tide_mutex) == 40,
               "tide/sync.h documents tide_mutex as 40 bytes on 64-bit targets");

/* The code on the CPU: its task, or NULL for the loop's callbacks. */
static void *caller(const tide_mutex *m) {
  return m->private_loop->current_task;
}

static int valid(const tide_mutex *m) {
  return m != NULL && m->private_loop != NULL;
}

static int held_by_caller(const tide_mutex *m) {
  return m->private_locked && m->private_owner == caller(m);
}

int tide_mutex_init(tide_mutex *mutex, tide_loop *loop) {
  if (mutex == NULL || loop == NULL)
    return TIDE_EINVAL;
  mutex->private_loop = loop;
  mutex->private_owner = NULL;
  tide__wait_queue_init(&mutex->private_waiters);
  mutex->private_locked = 0;
  return 0;
}

int tide_mutex_destroy(tide_mutex *mutex) {
  if (!valid(mutex))
    return TIDE_EINVAL;
  if (mutex->private_locked || !tide__wait_queue_empty(&mutex->private_waiters))
    return TIDE_EBUSY;
  mutex->private_loop = NULL;
  return 0;
}

int tide_mutex_try_lock(tide_mutex *mutex) {
  if (!valid(mutex))
    return TIDE_EINVAL;
  if (mutex->private_locked)
    return TIDE_EAGAIN;
  assert(tide__wait_queue_empty(&mutex->private_waiters));
  mutex->private_locked = 1;
  mutex->private_owner = caller(mutex);
  return 0;
}

int tide_mutex_lock(tide_mutex *mutex) {
  if (!valid(mutex) || !tide_in_task(mutex->private_loop) || held_by_caller(mutex))
    return TIDE_EINVAL;
  if (tide_mutex_try_lock(mutex) == 0)
    return 0;
  tide__waiter w;
  int err = tide__waiter_prepare(mutex->private_loop, &w, TIDE__WAIT_INTERRUPTIBLE);
  if (err != 0)
    return err;
  int rc = tide__waiter_wait(&mutex->private_waiters, &w, NULL);
  assert(rc != 0 || held_by_caller(mutex));
  return rc;
}

int tide__mutex_lock_shielded(tide_mutex *mutex, tide__waiter *prepared) {
  if (tide_mutex_try_lock(mutex) == 0) {
    tide__waiter_discard(prepared);
    return 0;
  }
  int rc = tide__waiter_wait(&mutex->private_waiters, prepared, NULL);
  assert(rc == 0 && held_by_caller(mutex)); /* a shielded wait ends only at the hand-off */
  return rc;
}

int tide_mutex_unlock(tide_mutex *mutex) {
  if (!valid(mutex) || !held_by_caller(mutex))
    return TIDE_EINVAL;
  if (tide__wait_queue_empty(&mutex->private_waiters)) {
    mutex->private_locked = 0;
    mutex->private_owner = NULL;
    return 0;
  }
  tide__waiter *next = tide__wait_queue_pop(&mutex->private_waiters);
  mutex->private_owner = next->task;
  tide__waiter_wake(next, NULL);
  return 0;
}

int tide_mutex_is_locked(const tide_mutex *mutex) {
  return mutex != NULL && mutex->private_locked;
}

int tide__mutex_held_by_caller(const tide_mutex *mutex) {
  return valid(mutex) && held_by_caller(mutex);
}
