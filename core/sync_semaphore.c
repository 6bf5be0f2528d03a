/* core/sync_semaphore.c — the tasks' counting semaphore (see tide/sync.h).
 *
 * A released permit goes straight to the first waiter rather than to the count, so the count is
 * 0 whenever anyone waits and a newcomer cannot take the permit a waiter was woken for (no
 * barging, and no lost wakeup if that waiter is then cancelled: it already owns the permit and
 * tide_semaphore_acquire returns 0). A waiter cancelled while queued is unlinked before anything
 * was given to it, so its permit was never taken out of the count: none leaks either way. */
#include <limits.h>

#include "core/sync_internal.h"

_Static_assert(sizeof(void *) != 8 || sizeof(tide_semaphore) == 32,
               "tide/sync.h documents tide_semaphore as 32 bytes on 64-bit targets");

static int valid(const tide_semaphore *s) {
  return s != NULL && s->private_loop != NULL;
}

int tide_semaphore_init(tide_semaphore *sem, tide_loop *loop, unsigned permits) {
  if (sem == NULL || loop == NULL)
    return TIDE_EINVAL;
  sem->private_loop = loop;
  tide__wait_queue_init(&sem->private_waiters);
  sem->private_permits = permits;
  return 0;
}

int tide_semaphore_destroy(tide_semaphore *sem) {
  if (!valid(sem))
    return TIDE_EINVAL;
  if (!tide__wait_queue_empty(&sem->private_waiters))
    return TIDE_EBUSY;
  sem->private_loop = NULL;
  return 0;
}

int tide_semaphore_try_acquire(tide_semaphore *sem) {
  if (!valid(sem))
    return TIDE_EINVAL;
  if (sem->private_permits == 0)
    return TIDE_EAGAIN;
  assert(tide__wait_queue_empty(&sem->private_waiters));
  sem->private_permits--;
  return 0;
}

int tide_semaphore_acquire(tide_semaphore *sem) {
  if (!valid(sem) || !tide_in_task(sem->private_loop))
    return TIDE_EINVAL;
  if (tide_semaphore_try_acquire(sem) == 0)
    return 0;
  tide__waiter w;
  int err = tide__waiter_prepare(sem->private_loop, &w, TIDE__WAIT_INTERRUPTIBLE);
  if (err != 0)
    return err;
  return tide__waiter_wait(&sem->private_waiters, &w, NULL);
}

int tide_semaphore_release(tide_semaphore *sem) {
  if (!valid(sem))
    return TIDE_EINVAL;
  if (!tide__wait_queue_empty(&sem->private_waiters)) {
    tide__waiter_wake(tide__wait_queue_pop(&sem->private_waiters), NULL);
    return 0;
  }
  if (sem->private_permits == UINT_MAX)
    return TIDE_ERANGE;
  sem->private_permits++;
  return 0;
}

unsigned tide_semaphore_value(const tide_semaphore *sem) {
  return sem != NULL ? sem->private_permits : 0;
}
