/* core/sync_condition.c — the tasks' condition variable (see tide/sync.h).
 *
 * A wait is two waits: for the notification (interruptible) and then for the mutex again
 * (shielded). The second must not be interruptible: tide_condition_wait promises the mutex is
 * held when it returns, so that the caller's cleanup can unlock it, and inside an expired
 * deadline scope every ordinary await would fail at once. Both futures are taken before the
 * mutex is given up, so once it is released nothing can fail any more.
 *
 * Notification is a hand-off like the others: the notified waiter is unlinked and resolved in
 * the notifier's step, so a waiter cancelled before it is unlinked never uses up a notification
 * meant for someone else (asyncio has to re-notify for that case), and one cancelled after it
 * keeps the notification and returns 0. Notified waiters then queue for the mutex behind
 * whoever already waits for it, in the order they were notified. */
#include <limits.h>

#include "core/sync_internal.h"

_Static_assert(sizeof(void *) != 8 || sizeof(tide_condition) == 24,
               "tide/sync.h documents tide_condition as 24 bytes on 64-bit targets");

static int valid(const tide_condition *c) {
  return c != NULL && c->private_mutex != NULL && c->private_mutex->private_loop != NULL;
}

int tide_condition_init(tide_condition *cond, tide_mutex *mutex) {
  if (cond == NULL || mutex == NULL || mutex->private_loop == NULL)
    return TIDE_EINVAL;
  cond->private_mutex = mutex;
  tide__wait_queue_init(&cond->private_waiters);
  return 0;
}

int tide_condition_destroy(tide_condition *cond) {
  if (cond == NULL || cond->private_mutex == NULL)
    return TIDE_EINVAL;
  if (!tide__wait_queue_empty(&cond->private_waiters))
    return TIDE_EBUSY;
  cond->private_mutex = NULL;
  return 0;
}

int tide_condition_wait(tide_condition *cond) {
  if (!valid(cond))
    return TIDE_EINVAL;
  tide_mutex *mutex = cond->private_mutex;
  tide_loop *loop = mutex->private_loop;
  if (!tide_in_task(loop) || !tide__mutex_held_by_caller(mutex))
    return TIDE_EINVAL;
  tide__waiter notified, relock;
  int err = tide__waiter_prepare(loop, &notified, TIDE__WAIT_INTERRUPTIBLE);
  if (err != 0)
    return err;
  err = tide__waiter_prepare(loop, &relock, TIDE__WAIT_SHIELDED);
  if (err != 0) {
    tide__waiter_discard(&notified);
    return err;
  }
  err = tide_mutex_unlock(mutex);
  assert(err == 0); /* held by the caller, checked above */
  (void)err;
  int rc = tide__waiter_wait(&cond->private_waiters, &notified, NULL);
  tide__mutex_lock_shielded(mutex, &relock);
  return rc;
}

int tide_condition_notify(tide_condition *cond, int n) {
  if (!valid(cond) || n < 0 || !tide__mutex_held_by_caller(cond->private_mutex))
    return TIDE_EINVAL;
  int woken = 0;
  while (woken < n && !tide__wait_queue_empty(&cond->private_waiters)) {
    tide__waiter_wake(tide__wait_queue_pop(&cond->private_waiters), NULL);
    woken++;
  }
  return woken;
}

int tide_condition_notify_all(tide_condition *cond) {
  return tide_condition_notify(cond, INT_MAX);
}
