/* core/sync_event.c — the tasks' event flag (see tide/sync.h).
 *
 * Setting the flag resolves every waiter's future at once: each waiter then returns 0 whatever
 * happens to the flag before it runs (a set-then-clear pulse still wakes everyone who was
 * waiting, as in asyncio), and a waiter cancelled in that window returns 0 too, its
 * cancellation left for its next await. Waiters resume in the order they began to wait, because
 * their futures' callbacks are queued in the order they are resolved. */
#include "core/sync_internal.h"

_Static_assert(sizeof(void *) != 8 || sizeof(tide_event) == 32,
               "tide/sync.h documents tide_event as 32 bytes on 64-bit targets");

static int valid(const tide_event *e) {
  return e != NULL && e->private_loop != NULL;
}

int tide_event_init(tide_event *event, tide_loop *loop) {
  if (event == NULL || loop == NULL)
    return TIDE_EINVAL;
  event->private_loop = loop;
  tide__wait_queue_init(&event->private_waiters);
  event->private_set = 0;
  return 0;
}

int tide_event_destroy(tide_event *event) {
  if (!valid(event))
    return TIDE_EINVAL;
  if (!tide__wait_queue_empty(&event->private_waiters))
    return TIDE_EBUSY;
  event->private_loop = NULL;
  return 0;
}

int tide_event_set(tide_event *event) {
  if (!valid(event))
    return TIDE_EINVAL;
  event->private_set = 1;
  while (!tide__wait_queue_empty(&event->private_waiters))
    tide__waiter_wake(tide__wait_queue_pop(&event->private_waiters), NULL);
  return 0;
}

int tide_event_clear(tide_event *event) {
  if (!valid(event))
    return TIDE_EINVAL;
  event->private_set = 0;
  return 0;
}

int tide_event_is_set(const tide_event *event) {
  return event != NULL && event->private_set;
}

int tide_event_wait(tide_event *event) {
  if (!valid(event) || !tide_in_task(event->private_loop))
    return TIDE_EINVAL;
  if (event->private_set)
    return 0;
  tide__waiter w;
  int err = tide__waiter_prepare(event->private_loop, &w, TIDE__WAIT_INTERRUPTIBLE);
  if (err != 0)
    return err;
  return tide__waiter_wait(&event->private_waiters, &w, NULL);
}
