/* core/executor/deque.h — the Chase–Lev work-stealing deque (internal).
 *
 * One owner thread pushes and pops at the bottom (LIFO: the job it just spawned is the one whose
 * data is still in cache); any thread steals from the top (FIFO: the oldest job, usually the
 * biggest piece of a divide-and-conquer tree). The memory orderings are those of Lê, Pop, Cohen
 * and Zappa Nardelli, "Correct and Efficient Work-Stealing for Weak Memory Models" (PPoPP 2013),
 * proven there for C11; deque.c says where and why it departs from the paper's text.
 *
 * The buffer grows (doubling) when full and never shrinks. A thief may still be reading a slot
 * of the old buffer after the owner has installed the new one, so old buffers are retired, not
 * freed: the owner frees them once no thief is inside a steal (see deque.c), and at the latest
 * when the deque is destroyed. Items are opaque non-NULL pointers. */
#ifndef TIDE_EXECUTOR_DEQUE_H
#define TIDE_EXECUTOR_DEQUE_H

#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>

#include "core/sys/atomic.h"

typedef struct tide__deque_buffer tide__deque_buffer;

typedef struct tide__deque {
  /* top is written by thieves, bottom by the owner: separate cache lines. */
  alignas(64) TIDE__ATOMIC(int64_t) top;
  alignas(64) TIDE__ATOMIC(int64_t) bottom;
  TIDE__ATOMIC(tide__deque_buffer *) buffer;
  atomic_uint thieves;         /* thieves between loading `buffer` and reading their slot */
  tide__deque_buffer *retired; /* owner only: replaced buffers not yet freed */
} tide__deque;

enum tide__steal_result { TIDE__STEAL_EMPTY = 0, TIDE__STEAL_OK = 1, TIDE__STEAL_RETRY = 2 };

/* Prepares an empty deque with room for `capacity` items (rounded up to a power of two, at least
 * 2). Returns 0 or TIDE_ENOMEM. */
int tide__deque_init(tide__deque *d, size_t capacity);

/* Frees the buffers. No thread may use the deque any more. */
void tide__deque_destroy(tide__deque *d);

/* Owner only. Pushes `item` at the bottom, growing the buffer if it is full. Returns 0 or
 * TIDE_ENOMEM (the item was not pushed). */
int tide__deque_push(tide__deque *d, void *item);

/* Owner only. Pops the most recently pushed item, or returns NULL if the deque is empty (or a
 * thief took the last item first). */
void *tide__deque_pop(tide__deque *d);

/* Any thread. Takes the oldest item into *out: TIDE__STEAL_OK, TIDE__STEAL_EMPTY, or
 * TIDE__STEAL_RETRY when another thread won the race for that item (the deque may well hold
 * more). */
int tide__deque_steal(tide__deque *d, void **out);

/* Any thread: the number of items, a snapshot that may be stale by the time it returns. */
size_t tide__deque_size(tide__deque *d);

#endif
