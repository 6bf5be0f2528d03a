/* core/sync_internal.h — the wait queue the sync primitives share (core/sync_*.c).
 *
 * A waiter is a node on the waiting task's own stack, linked into the primitive's FIFO, and a
 * future from the loop's pool that the task awaits. Two things settle that future, and each
 * unlinks the node in the same step, so "linked" and "future pending" are the same fact:
 *
 *   - a hand-off: the releasing side pops the first waiter, gives it the lock / permit / item
 *     there and then (the primitive's bookkeeping already counts it as the waiter's), and
 *     resolves the future, with the item as its value for a queue get;
 *   - a stop: cancelling the task (or its deadline scope expiring) cancels the awaited future;
 *     its canceller unlinks the node and settles it cancelled, so nothing can be handed to it
 *     afterwards.
 *
 * Whichever comes first wins, because settling is final. A hand-off that lands before the stop
 * leaves the future resolved; the stop's tide_future_cancel then finds it settled and tide_await
 * returns the real result, with the cancellation left pending for the next await (task.c). That
 * is the whole of the primitives' cancellation safety: there is no state in which something was
 * given to a waiter that will never learn of it, and none in which a stopped waiter can still
 * receive something.
 *
 * The node is only touched while linked, and tide_await returns only after the future settled,
 * i.e. after the node was unlinked: the task's stack frame outlives every use of it.
 */
#ifndef TIDE_SYNC_INTERNAL_H
#define TIDE_SYNC_INTERNAL_H

#include <assert.h>
#include <stddef.h>

#include "core/loop_internal.h"
#include "tide/error.h"
#include "tide/future.h"
#include "tide/sync.h"
#include "tide/task.h"

typedef struct tide__waiter tide__waiter;
struct tide__waiter {
  tide__waiter *prev;
  tide__waiter *next;
  tide_wait_queue *queue; /* the FIFO it is linked on; NULL once unlinked */
  tide_future *future;    /* what the task awaits; settles exactly when the node is unlinked */
  void *task;             /* the waiting task (struct tide__task *): a mutex's next holder */
  void *item;             /* a queue putter's item */
};

/* How a wait reacts to its task being cancelled or timing out. */
typedef enum tide__wait_kind {
  TIDE__WAIT_INTERRUPTIBLE, /* the stop unlinks the waiter and ends the wait */
  TIDE__WAIT_SHIELDED       /* the wait goes on until the hand-off (a condition's re-lock) */
} tide__wait_kind;

static inline void tide__wait_queue_init(tide_wait_queue *q) {
  q->private_head = NULL;
  q->private_tail = NULL;
}

static inline int tide__wait_queue_empty(const tide_wait_queue *q) {
  return q->private_head == NULL;
}

static inline void tide__wait_queue_push(tide_wait_queue *q, tide__waiter *w) {
  w->queue = q;
  w->next = NULL;
  w->prev = q->private_tail;
  if (q->private_tail)
    q->private_tail->next = w;
  else
    q->private_head = w;
  q->private_tail = w;
}

static inline void tide__waiter_unlink(tide__waiter *w) {
  tide_wait_queue *q = w->queue;
  assert(q != NULL);
  if (w->prev)
    w->prev->next = w->next;
  else
    q->private_head = w->next;
  if (w->next)
    w->next->prev = w->prev;
  else
    q->private_tail = w->prev;
  w->prev = w->next = NULL;
  w->queue = NULL;
}

/* Unlinks the first waiter of a non-empty queue and returns it; the caller then hands it what it
 * waits for (its bookkeeping first), and finally calls tide__waiter_wake. */
static inline tide__waiter *tide__wait_queue_pop(tide_wait_queue *q) {
  tide__waiter *w = q->private_head;
  assert(w != NULL);
  tide__waiter_unlink(w);
  return w;
}

/* Completes the hand-off to a waiter tide__wait_queue_pop returned: its task resumes in a later
 * tick and its wait returns 0 with `value`. Settling runs no user code (future.c), so the caller
 * may go on changing the primitive after this. */
static inline void tide__waiter_wake(tide__waiter *w, void *value) {
  int err = tide_future_resolve(w->future, value);
  assert(err == 0); /* a linked waiter's future is pending: the canceller unlinks before it */
  (void)err;
}

/* Canceller of an interruptible wait: the stop wins, so the waiter leaves the queue before its
 * future settles cancelled. Runs from tide_future_cancel, on the loop's stack (a cancel callback
 * or a scope timer) or on the task's own stack (tide_await finding a stop already pending). */
static inline void tide__waiter_cancelled(tide_future *f, void *arg) {
  tide__waiter *w = arg;
  if (w->queue != NULL)
    tide__waiter_unlink(w);
  tide_future_fail(f, TIDE_ECANCELED);
}

/* Canceller of a shielded wait: ignores the request. The future settles at the hand-off, which
 * the holder of the resource guarantees by releasing it (tide_future_set_canceller's contract:
 * "settle, now or later"). */
static inline void tide__waiter_shielded(tide_future *f, void *arg) {
  (void)f;
  (void)arg;
}

/* Takes the future a wait will await, before anything changes: the only step of a wait that can
 * fail. The calling code must be a task of `loop`. Returns 0 or TIDE_ENOMEM. */
static inline int tide__waiter_prepare(tide_loop *loop, tide__waiter *w, tide__wait_kind kind) {
  int err = tide_future_new(loop, &w->future);
  if (err != 0)
    return err;
  w->prev = w->next = NULL;
  w->queue = NULL;
  w->task = loop->current_task;
  w->item = NULL;
  tide_future_set_canceller(
      w->future, kind == TIDE__WAIT_SHIELDED ? tide__waiter_shielded : tide__waiter_cancelled, w);
  return 0;
}

/* Gives back the future of a prepared waiter that did not wait. */
static inline void tide__waiter_discard(tide__waiter *w) {
  tide_future_release(w->future);
  w->future = NULL;
}

/* Links a prepared waiter at the tail of `q` and suspends the task until the waiter is handed
 * off (returns 0 and stores the hand-off's value in *value if value is not NULL) or stopped
 * (TIDE_ECANCELED / TIDE_ETIMEDOUT, unlinked). Gives the future back either way. */
static inline int tide__waiter_wait(tide_wait_queue *q, tide__waiter *w, void **value) {
  tide__wait_queue_push(q, w);
  int rc = tide_await(w->future, value);
  if (w->queue != NULL) {
    /* tide_await refused before suspending (it cannot, for a task on the future's loop with
     * the future's first callback slot free; kept so a future change there cannot leave a
     * dangling node behind). */
    assert(!tide_future_done(w->future));
    tide__waiter_unlink(w);
  }
  tide__waiter_discard(w);
  return rc;
}

/* For the condition (sync_condition.c → sync_mutex.c). */

/* Locks `mutex` for the calling task, waiting for it on `prepared` (a TIDE__WAIT_SHIELDED waiter
 * the caller prepared before giving the mutex up, so this step cannot fail): neither a
 * cancellation nor a deadline ends the wait, the mutex's next unlock does. Always returns 0, and
 * always consumes `prepared`. */
int tide__mutex_lock_shielded(tide_mutex *mutex, tide__waiter *prepared);

/* 1 if `mutex` is valid and held by the code on the CPU (its task, or the loop's callbacks). */
int tide__mutex_held_by_caller(const tide_mutex *mutex);

#endif
