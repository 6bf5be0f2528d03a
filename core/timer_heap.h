/* core/timer_heap.h — the loop's timers: a 4-ary min-heap in one array.
 *
 * Each entry caches its timer's deadline beside the pointer, so sifting compares entries that sit
 * next to each other in memory and never dereferences a timer (libev's "cached at" heap). A
 * 4-ary heap is half as deep as a binary one and its four children share a cache line or two, so
 * it wins on the pops and the resets that dominate a server's timeouts.
 *
 * Order is (deadline, sequence): the sequence number is given at arming, so timers with equal
 * deadlines fire in the order they were armed, and the loop can tell timers armed during the
 * current firing round (sequence >= the round's start) from those that were due before it.
 *
 * The heap writes each timer's position into timer->private_heap_index, which is what makes stop
 * and reset O(log n). */
#ifndef TIDE_TIMER_HEAP_H
#define TIDE_TIMER_HEAP_H

#include <stddef.h>
#include <stdint.h>

#include "tide/timer.h"

#define TIDE__TIMER_INACTIVE UINT32_MAX

typedef struct tide__timer_entry {
  int64_t deadline;
  uint64_t seq;
  tide_timer *timer;
} tide__timer_entry;

typedef struct tide__timer_heap {
  tide__timer_entry *entries;
  uint32_t size;
  uint32_t capacity;
} tide__timer_heap;

void tide__timer_heap_init(tide__timer_heap *heap);
void tide__timer_heap_destroy(tide__timer_heap *heap);

/* Adds an inactive timer. Returns 0 or TIDE_ENOMEM (the array could not grow; nothing changed). */
int tide__timer_heap_insert(tide__timer_heap *heap, tide_timer *timer, int64_t deadline,
                            uint64_t seq);

/* Removes an active timer and marks it inactive. */
void tide__timer_heap_remove(tide__timer_heap *heap, tide_timer *timer);

/* Moves an active timer to a new (deadline, seq) in place: one sift instead of remove + insert. */
void tide__timer_heap_update(tide__timer_heap *heap, tide_timer *timer, int64_t deadline,
                             uint64_t seq);

/* The earliest entry, or NULL when empty. */
static inline const tide__timer_entry *tide__timer_heap_min(const tide__timer_heap *heap) {
  return heap->size ? &heap->entries[0] : NULL;
}

/* 1 if `timer` is active in this heap (its index points back at it), else 0. Distinguishes a
 * timer armed on another loop from one armed here. */
static inline int tide__timer_heap_contains(const tide__timer_heap *heap, const tide_timer *timer) {
  uint32_t i = timer->private_heap_index;
  return i < heap->size && heap->entries[i].timer == timer;
}

#endif
