/* tide/sync.h — synchronisation primitives for the tasks of one loop (asyncio.Lock, Semaphore,
 * Event, Condition and Queue).
 *
 * They coordinate tasks that share a loop; they are not thread-safe and never block the thread.
 * Every struct is caller-owned (usually embedded in the object it guards, or a local of the
 * task that owns it) and its fields are private: use only the functions below. A primitive must
 * stay at the same address from init to destroy. Waiting tasks are linked through nodes on their
 * own stacks, so no call here allocates memory of its own; a call that has to wait takes one
 * future from the loop's pool (two for tide_condition_wait), which is all steady state costs.
 *
 * Waiting calls (tide_mutex_lock, tide_semaphore_acquire, tide_event_wait, tide_condition_wait,
 * tide_queue_put, tide_queue_get) are await points: they may be called only inside a task of the
 * primitive's loop (TIDE_EINVAL otherwise), and they return
 *   0               the caller got what it waited for;
 *   TIDE_ECANCELED  the task was cancelled while it waited;
 *   TIDE_ETIMEDOUT  a deadline scope of the task expired while it waited (tide_scope_enter);
 *   TIDE_ENOMEM     no future could be taken from the pool to wait on (nothing changed);
 *   TIDE_EINVAL     a broken contract, as each function says.
 * When the call need not wait (the mutex is free, an item is there), it completes at once without
 * switching, exactly as tide_await does on a future that has already settled: a cancellation or
 * an expired deadline then stays pending for the next await that has to wait.
 *
 * Cancellation never loses anything (DESIGN.md principle 3). A waiter that is cancelled or times
 * out is unlinked at once and is never handed anything afterwards: a cancelled tide_mutex_lock
 * leaves the mutex to the next waiter, a cancelled acquire leaks no permit, a cancelled get takes
 * no item, a cancelled put adds none. Hand-offs are ownership transfers: the releasing call gives
 * the lock, the permit or the item to the first waiter there and then. If that waiter is
 * cancelled before it runs again (the hand-off won the race), its call still returns 0 with what
 * it was given, and the cancellation or deadline is delivered at its next await.
 *
 * Waiters are served first come, first served; nobody barges past a queued waiter (a try-variant
 * called while others wait fails with TIDE_EAGAIN, even if the primitive just changed hands).
 *
 * Try-variants (tide_mutex_try_lock, tide_semaphore_try_acquire, tide_queue_try_put,
 * tide_queue_try_get) never wait: callable anywhere on the loop thread, in a task or in a plain
 * callback, they return TIDE_EAGAIN where the waiting call would have waited.
 *
 * Every function here: loop thread only. Destroying a primitive that tasks still wait on is
 * TIDE_EBUSY. Tasks left waiting when their loop closes are cancelled by the close, which unlinks
 * them (except a tide_condition_wait re-locking its mutex: that waits for the holder's unlock), so
 * keep the primitives alive until the loop is closed.
 */
#ifndef TIDE_SYNC_H
#define TIDE_SYNC_H

#include <stddef.h>

#include "loop.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A FIFO of waiting tasks, embedded in each primitive. Private. */
struct tide__waiter;
typedef struct tide_wait_queue {
  struct tide__waiter *private_head;
  struct tide__waiter *private_tail;
} tide_wait_queue;

/* ---- mutex (asyncio.Lock) -------------------------------------------------------------------
 * Not recursive. Owned by the task that locked it (or, after tide_mutex_try_lock from a plain
 * callback, by "the loop's callbacks", which any callback may unlock). 40 bytes on 64-bit. */
typedef struct tide_mutex {
  tide_loop *private_loop;
  void *private_owner; /* the holding task, NULL for callbacks */
  tide_wait_queue private_waiters;
  int private_locked;
} tide_mutex;

/* Prepares an unlocked mutex bound to `loop`, without reading *mutex (it may be fresh memory).
 * Re-initialising a mutex that is in use is a contract violation tide cannot detect. Returns 0
 * or TIDE_EINVAL (NULL argument). */
int tide_mutex_init(tide_mutex *mutex, tide_loop *loop);

/* Ends the mutex's life; its memory is the caller's again. Returns 0, TIDE_EINVAL (NULL, not
 * initialised or already destroyed) or TIDE_EBUSY (locked, or tasks wait for it: nothing
 * changes). */
int tide_mutex_destroy(tide_mutex *mutex);

/* Inside a task: locks the mutex, waiting in FIFO order while another holder has it. On 0 the
 * calling task holds it and must tide_mutex_unlock it; on any error it does not hold it.
 * Returns 0, TIDE_ECANCELED, TIDE_ETIMEDOUT, TIDE_ENOMEM, or TIDE_EINVAL (NULL or destroyed,
 * outside a task of the mutex's loop, or the calling task already holds it: waiting for itself
 * would never end). */
int tide_mutex_lock(tide_mutex *mutex);

/* Locks the mutex if it is free, for the calling task (or, outside a task, for the loop's
 * callbacks). Returns 0, TIDE_EAGAIN (held, by anyone including the caller; nothing changes) or
 * TIDE_EINVAL (NULL or destroyed). In a task or a callback. */
int tide_mutex_try_lock(tide_mutex *mutex);

/* Releases the mutex held by the caller. If tasks wait, the first of them becomes the holder
 * now (it resumes in a later tick), so the mutex never sits unlocked while someone waits.
 * Returns 0 or TIDE_EINVAL (NULL or destroyed, not locked, or locked by someone else than the
 * caller: another task, or a task while the caller is a plain callback, or vice versa). */
int tide_mutex_unlock(tide_mutex *mutex);

/* 1 if the mutex is held (including by a waiter it was just handed to), 0 if free or NULL. */
int tide_mutex_is_locked(const tide_mutex *mutex);

/* ---- semaphore (asyncio.Semaphore) ----------------------------------------------------------
 * A count of permits. 32 bytes on 64-bit. */
typedef struct tide_semaphore {
  tide_loop *private_loop;
  tide_wait_queue private_waiters;
  unsigned private_permits;
} tide_semaphore;

/* Prepares a semaphore on `loop` holding `permits` permits, without reading *sem. Returns 0 or
 * TIDE_EINVAL (NULL argument). */
int tide_semaphore_init(tide_semaphore *sem, tide_loop *loop, unsigned permits);

/* Ends the semaphore's life. Returns 0, TIDE_EINVAL (NULL, not initialised or destroyed) or
 * TIDE_EBUSY (tasks wait on it: nothing changes). Permits still out are not tracked. */
int tide_semaphore_destroy(tide_semaphore *sem);

/* Inside a task: takes one permit, waiting in FIFO order while there is none. On 0 the caller
 * owns a permit and gives it back with tide_semaphore_release; on an error it owns none.
 * Returns 0, TIDE_ECANCELED, TIDE_ETIMEDOUT, TIDE_ENOMEM, or TIDE_EINVAL (NULL or destroyed,
 * outside a task of the semaphore's loop). */
int tide_semaphore_acquire(tide_semaphore *sem);

/* Takes one permit if one is free and nobody waits. Returns 0, TIDE_EAGAIN or TIDE_EINVAL (NULL
 * or destroyed). In a task or a callback. */
int tide_semaphore_try_acquire(tide_semaphore *sem);

/* Gives back one permit: to the first waiting task if there is one (it owns it from now on and
 * resumes in a later tick), else to the count. Any code on the loop thread may release (the
 * count is not tied to tasks). Returns 0, TIDE_EINVAL (NULL or destroyed) or TIDE_ERANGE (the
 * count is already UINT_MAX: nothing changes). */
int tide_semaphore_release(tide_semaphore *sem);

/* The permits free now (0 while tasks wait). 0 for NULL. */
unsigned tide_semaphore_value(const tide_semaphore *sem);

/* ---- event (asyncio.Event) ------------------------------------------------------------------
 * A flag tasks can wait to see set. 32 bytes on 64-bit. */
typedef struct tide_event {
  tide_loop *private_loop;
  tide_wait_queue private_waiters;
  int private_set;
} tide_event;

/* Prepares a clear event on `loop`, without reading *event. Returns 0 or TIDE_EINVAL. */
int tide_event_init(tide_event *event, tide_loop *loop);

/* Ends the event's life. Returns 0, TIDE_EINVAL (NULL, not initialised or destroyed) or
 * TIDE_EBUSY (tasks wait on it: nothing changes). */
int tide_event_destroy(tide_event *event);

/* Sets the flag and wakes every waiting task, in the order they began to wait; each of them
 * returns 0 even if the flag is cleared again before it runs. Setting a set event does nothing.
 * Returns 0 or TIDE_EINVAL (NULL or destroyed). In a task or a callback. */
int tide_event_set(tide_event *event);

/* Clears the flag; later waits wait again. Returns 0 or TIDE_EINVAL. */
int tide_event_clear(tide_event *event);

/* 1 if the flag is set, 0 if clear or NULL. This is the event's try-variant. */
int tide_event_is_set(const tide_event *event);

/* Inside a task: returns at once if the flag is set, else waits until tide_event_set. Returns 0,
 * TIDE_ECANCELED, TIDE_ETIMEDOUT, TIDE_ENOMEM, or TIDE_EINVAL (NULL or destroyed, outside a task
 * of the event's loop). */
int tide_event_wait(tide_event *event);

/* ---- condition (asyncio.Condition) ----------------------------------------------------------
 * Tasks wait, with a mutex held, until another notifies them. 24 bytes on 64-bit. */
typedef struct tide_condition {
  tide_mutex *private_mutex;
  tide_wait_queue private_waiters;
} tide_condition;

/* Prepares a condition that works with `mutex`, an initialised mutex that must outlive it and
 * that every wait and notify of it holds. Does not read *cond. Returns 0 or TIDE_EINVAL (NULL
 * argument, or mutex destroyed). */
int tide_condition_init(tide_condition *cond, tide_mutex *mutex);

/* Ends the condition's life (the mutex stays). Returns 0, TIDE_EINVAL (NULL, not initialised or
 * destroyed) or TIDE_EBUSY (tasks wait on it: nothing changes). */
int tide_condition_destroy(tide_condition *cond);

/* Inside a task that holds the condition's mutex: releases the mutex, waits to be notified,
 * then locks the mutex again before it returns. Whatever it returns except TIDE_EINVAL and
 * TIDE_ENOMEM, the caller holds the mutex again: after a cancellation or an expired deadline it
 * still waits for the mutex first (that last wait cannot be interrupted, like a cleanup that
 * must finish), so code after it may always unlock. A waiter that is notified and cancelled in
 * the same tick returns 0 (the notification is not lost) and sees the cancellation at its next
 * await; a waiter cancelled before any notification is unlinked and never consumes one. As with
 * any condition variable, re-check the predicate in a loop after it returns. Returns 0,
 * TIDE_ECANCELED, TIDE_ETIMEDOUT, TIDE_ENOMEM (the mutex was not released), or TIDE_EINVAL
 * (NULL or destroyed, outside a task of the mutex's loop, or the caller does not hold the
 * mutex). */
int tide_condition_wait(tide_condition *cond);

/* Wakes up to `n` waiting tasks, in the order they began to wait; each returns from its wait
 * once it has the mutex again, so none runs before the caller unlocks. The caller must hold the
 * mutex (a task, or a callback after tide_mutex_try_lock). Returns how many it woke (0 or more),
 * or TIDE_EINVAL (NULL or destroyed, n < 0, or the caller does not hold the mutex). */
int tide_condition_notify(tide_condition *cond, int n);

/* Wakes every waiting task; as tide_condition_notify with no limit. */
int tide_condition_notify_all(tide_condition *cond);

/* ---- bounded queue (asyncio.Queue(maxsize)) -------------------------------------------------
 * A FIFO of void * items in a ring the caller provides: put waits while it is full, get waits
 * while it is empty. Capacity 0 makes a rendezvous channel: each put waits for a get to take its
 * item. tide stores the pointers and never dereferences or frees them; items still inside at
 * destroy are simply the caller's. 72 bytes on 64-bit, plus the ring. */
typedef struct tide_queue {
  tide_loop *private_loop;
  void **private_slots;
  size_t private_capacity;
  size_t private_head; /* the oldest item's slot */
  size_t private_count;
  tide_wait_queue private_getters; /* non-empty only while the ring is empty */
  tide_wait_queue private_putters; /* non-empty only while the ring is full */
} tide_queue;

/* Prepares an empty queue on `loop` whose items live in `slots`, an array of `capacity` void *
 * that the caller owns and keeps alive until tide_queue_destroy (NULL when capacity is 0). Does
 * not read *queue or the slots. Returns 0 or TIDE_EINVAL (NULL queue or loop, NULL slots with
 * capacity > 0). */
int tide_queue_init(tide_queue *queue, tide_loop *loop, void **slots, size_t capacity);

/* Ends the queue's life; the slots and any items left in them are the caller's again (drain
 * them first with tide_queue_try_get if they own memory). Returns 0, TIDE_EINVAL (NULL, not
 * initialised or destroyed) or TIDE_EBUSY (tasks wait to put or get: nothing changes). */
int tide_queue_destroy(tide_queue *queue);

/* Inside a task: appends `item` (any pointer, NULL included), waiting in FIFO order while the
 * queue is full. On 0 the queue has it (in the ring, or already handed to a waiting getter); on
 * an error it was not added and the caller still owns it. Returns 0, TIDE_ECANCELED,
 * TIDE_ETIMEDOUT, TIDE_ENOMEM, or TIDE_EINVAL (NULL queue or destroyed, outside a task of the
 * queue's loop). */
int tide_queue_put(tide_queue *queue, void *item);

/* Appends `item` if it fits now without passing a waiting putter (with capacity 0: if a getter
 * waits for it). Returns 0, TIDE_EAGAIN (full; the caller keeps the item) or TIDE_EINVAL. In a
 * task or a callback. */
int tide_queue_try_put(tide_queue *queue, void *item);

/* Inside a task: removes the oldest item into *item, waiting in FIFO order while the queue is
 * empty. On 0 the caller owns the item; on an error nothing was removed and *item is untouched.
 * Returns 0, TIDE_ECANCELED, TIDE_ETIMEDOUT, TIDE_ENOMEM, or TIDE_EINVAL (NULL queue or item,
 * destroyed, outside a task of the queue's loop). */
int tide_queue_get(tide_queue *queue, void **item);

/* Removes the oldest item into *item if there is one (with capacity 0: if a putter waits).
 * Returns 0, TIDE_EAGAIN (empty; *item untouched) or TIDE_EINVAL (NULL queue or item,
 * destroyed). In a task or a callback. */
int tide_queue_try_get(tide_queue *queue, void **item);

/* The number of items in the ring now (not counting the items of waiting putters). 0 for
 * NULL. */
size_t tide_queue_size(const tide_queue *queue);

/* The capacity given to tide_queue_init. 0 for NULL. */
size_t tide_queue_capacity(const tide_queue *queue);

#ifdef __cplusplus
}
#endif
#endif
