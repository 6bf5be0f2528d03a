/* core/inbox.h — the loop's thread-safe queue of posted callbacks (tide_call_soon_threadsafe).
 *
 * A short-lock queue: posters append (fn, arg) pairs to a growable array under a mutex; the loop
 * swaps the whole array for an empty spare in O(1) under the same mutex, then runs the batch with
 * the lock released. Posters never wait for callbacks to run, and the loop never holds the lock
 * for longer than a pointer swap. Arrays are kept and reused, so steady state allocates nothing.
 *
 * Wake-ups are coalesced by the loop (loop.c), not here. */
#ifndef TIDE_INBOX_H
#define TIDE_INBOX_H

#include <stddef.h>

#include "core/sys/mutex.h"

typedef struct tide__posted {
  void (*fn)(void *arg);
  void *arg;
} tide__posted;

typedef struct tide__posted_batch {
  tide__posted *items;
  size_t count;
  size_t capacity;
} tide__posted_batch;

typedef struct tide__inbox {
  tide__mutex lock;
  tide__posted_batch incoming; /* guarded by lock */
  int closed;                  /* guarded by lock: posts are refused once set */
} tide__inbox;

/* Returns 0 or TIDE_ENOMEM. */
int tide__inbox_init(tide__inbox *inbox);
void tide__inbox_destroy(tide__inbox *inbox);

/* Any thread. Returns 0, TIDE_ENOMEM or TIDE_ECLOSED. */
int tide__inbox_post(tide__inbox *inbox, void (*fn)(void *), void *arg);

/* Loop thread. Swaps everything posted so far into *batch (which must be empty, and whose array
 * is given to the inbox for reuse). */
void tide__inbox_take(tide__inbox *inbox, tide__posted_batch *batch);

/* Loop thread. Refuses later posts; what was posted before stays to be taken. */
void tide__inbox_close(tide__inbox *inbox);

#endif
