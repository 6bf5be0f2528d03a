/* core/timer_heap.h — the loop's armed timers, in (deadline, sequence) order.
 *
 * Timers fire in (deadline, sequence) order: the sequence number is given at arming, so timers
 * with equal deadlines fire in the order they were armed, and the loop can tell timers armed
 * during the current firing round (sequence >= the round's start) from those due before it.
 *
 * Why not one heap. Equal deadlines are the rule, not the exception: every timer armed in one
 * tick with one delay has the same deadline, and such a cohort gathers at the top of a heap just
 * before it fires. A heap keyed by (deadline, sequence) must then compare sequence numbers at
 * nearly every level of every pop near the top. Read from the timers, which are cold, they made
 * a pop 70% slower on a million timers with a thousand distinct deadlines; kept beside the
 * deadlines, they made every slot 50% larger, and a burst of resets on 100,000 timers 30%
 * slower once the heap no longer fit in L2. So the timers are kept in three places:
 *
 *   far   an 8-ary heap of {deadline, timer} slots, ordered by deadline alone. It holds nearly
 *         every timer and never reads a sequence number; those stay in the timers.
 *   run   the cohort that fires next: timers with one deadline, sorted by sequence number, taken
 *         from the front. A cohort moves here from the far heap whole, when its deadline becomes
 *         the earliest, its sequence numbers read in one batch of independent loads, and then
 *         fires without a heap operation per timer. A timer armed later with the same deadline
 *         joins at the back.
 *   near  a 4-ary heap of {deadline, sequence, timer} entries ordered by both, for the rest of
 *         the near side: timers armed with a deadline no later than the near side's earliest,
 *         and cohorts that come due while the run is busy. Small, so it stays in cache.
 *
 * Invariant: the near side (run and near heap) is empty only if the far heap is, and every far
 * deadline is later than the near side's earliest. So the earlier of the run's head and the near
 * heap's root is the earliest timer. When a removal from the near side breaks the invariant, the
 * far heap's earliest deadline moves over whole, every timer with it (refill): each timer moves
 * at most once per arming, so removals are O(log n) amortised.
 *
 * Far heap layout. Slot i lives at far[i + LEAD] with LEAD = 7, which puts the eight children of
 * slot i (slots 8i+1 ... 8i+8) at positions 8(i+1) ... 8(i+1)+7: one 128-byte group that starts
 * on a 128-byte boundary (the array is aligned by hand), an aligned pair of cache lines, which
 * the adjacent-line prefetcher fetches together.
 *   - A pop walks one group per level from the root to a leaf. Beyond the cache every level is a
 *     miss whose address depends on the previous level's comparisons, so the depth is the cost:
 *     eight children make the heap a third shallower than four (7 levels for a million timers
 *     instead of 10), for comparisons on lines already fetched.
 *   - A stop or reset touches its slot (deadline and timer side by side: one line) and its
 *     parent's. At 16 bytes a slot, 100,000 timers' heap (1.6 MB) fits in a 2 MB L2 cache.
 *
 * The heap writes each timer's position into timer->private_heap_index (a far slot, or a run or
 * near position flagged with TIDE__TIMER_RUN or TIDE__TIMER_NEAR), which is what makes stop and
 * reset O(log n), and keeps the timer's sequence number in timer->private_seq. */
#ifndef TIDE_TIMER_HEAP_H
#define TIDE_TIMER_HEAP_H

#include <stddef.h>
#include <stdint.h>

#include "tide/timer.h"

#define TIDE__TIMER_INACTIVE UINT32_MAX
/* Flags in private_heap_index: a position in the near heap, or in the run. */
#define TIDE__TIMER_NEAR UINT32_C(0x80000000)
#define TIDE__TIMER_RUN UINT32_C(0x40000000)

/* Children of far slot i are far slots ARITY * i + 1 ... ARITY * i + ARITY. */
#define TIDE__TIMER_FAR_ARITY 8
/* Far slot i is at far[i + TIDE__TIMER_FAR_LEAD]. */
#define TIDE__TIMER_FAR_LEAD (TIDE__TIMER_FAR_ARITY - 1)
/* Children of near position j are near positions ARITY * j + 1 ... ARITY * j + ARITY. */
#define TIDE__TIMER_NEAR_ARITY 4

typedef struct tide__timer_slot {
  int64_t deadline;
  tide_timer *timer;
} tide__timer_slot;

typedef struct tide__timer_entry {
  int64_t deadline;
  uint64_t seq;
  tide_timer *timer;
} tide__timer_entry;

typedef struct tide__timer_heap {
  tide__timer_slot *far;   /* far[i + LEAD] is far slot i, for i < far_size */
  tide__timer_entry *near; /* near[j], for j < near_size */
  tide__timer_entry *run;  /* run[p], for run_head <= p < run_end; timer NULL once removed */
  uint32_t far_size;
  uint32_t near_size;
  uint32_t run_head; /* a live entry, unless the run is empty (then run_head == run_end == 0) */
  uint32_t run_end;
  uint32_t run_live; /* the run's entries that were not removed */
  uint32_t size;     /* every armed timer: far_size + near_size + run_live */
  uint32_t capacity; /* each array has room for this many */
  void *far_block;   /* the allocation far points into (aligned by hand) */
} tide__timer_heap;

void tide__timer_heap_init(tide__timer_heap *heap);
void tide__timer_heap_destroy(tide__timer_heap *heap);

/* Adds an inactive timer with key (deadline, seq), recording seq in timer->private_seq. Returns 0
 * or TIDE_ENOMEM (the heap could not grow; nothing changed). O(log n) amortised. */
int tide__timer_heap_insert(tide__timer_heap *heap, tide_timer *timer, int64_t deadline,
                            uint64_t seq);

/* Removes an active timer and marks it inactive. O(log n) amortised. */
void tide__timer_heap_remove(tide__timer_heap *heap, tide_timer *timer);

/* Gives an active timer the key (deadline, seq), recording seq in timer->private_seq, and moves
 * it where that key belongs: one sift when it stays in the far heap, the usual case for a
 * timeout pushed back. O(log n) amortised. */
void tide__timer_heap_update(tide__timer_heap *heap, tide_timer *timer, int64_t deadline,
                             uint64_t seq);

/* The earliest entry (its deadline, seq and timer): the earlier of the run's head and the near
 * heap's root, or NULL when the heap is empty. Valid until the heap next changes. */
static inline const tide__timer_entry *tide__timer_heap_min(const tide__timer_heap *heap) {
  const tide__timer_entry *run = heap->run_head < heap->run_end ? &heap->run[heap->run_head] : NULL;
  const tide__timer_entry *near = heap->near_size ? &heap->near[0] : NULL;
  if (run == NULL || near == NULL)
    return run ? run : near;
  if (near->deadline != run->deadline)
    return near->deadline < run->deadline ? near : run;
  return near->seq < run->seq ? near : run;
}

/* 1 if `timer` is active in this heap (its index points back at it), else 0. Distinguishes a
 * timer armed on another loop from one armed here. */
static inline int tide__timer_heap_contains(const tide__timer_heap *heap, const tide_timer *timer) {
  uint32_t i = timer->private_heap_index;
  if (i & TIDE__TIMER_NEAR) {
    i &= ~TIDE__TIMER_NEAR;
    return i < heap->near_size && heap->near[i].timer == timer;
  }
  if (i & TIDE__TIMER_RUN) {
    i &= ~TIDE__TIMER_RUN;
    return i >= heap->run_head && i < heap->run_end && heap->run[i].timer == timer;
  }
  return i < heap->far_size && heap->far[i + TIDE__TIMER_FAR_LEAD].timer == timer;
}

/* The common case of a reset, inline for the reset path: if `timer` is active in this heap, at a
 * far leaf, and `deadline` is no earlier than its parent's and later than the near side's
 * earliest, the timer keeps its slot. Then this gives it the key (deadline, seq), recording seq
 * in timer->private_seq, and returns 1; otherwise it changes nothing and returns 0, and the
 * caller validates the timer and calls tide__timer_heap_update. Every condition is cheap and
 * nearly always true, so the fewer instructions a reset takes, the more of them the processor
 * overlaps: what bounds a burst of resets is how many cache misses on timers are in flight. */
static inline int tide__timer_heap_update_in_place(tide__timer_heap *heap, tide_timer *timer,
                                                   int64_t deadline, uint64_t seq) {
  uint32_t i = timer->private_heap_index;
  /* In the far heap (a flagged or inactive index is above far_size), and a leaf. */
  if (i >= heap->far_size || i * TIDE__TIMER_FAR_ARITY + 1 < heap->far_size)
    return 0;
  tide__timer_slot *slot = &heap->far[i + TIDE__TIMER_FAR_LEAD];
  if (slot->timer != timer)
    return 0;
  if (i > 0 &&
      deadline < heap->far[(i - 1) / TIDE__TIMER_FAR_ARITY + TIDE__TIMER_FAR_LEAD].deadline)
    return 0;
  /* Later than the near side's earliest: than the near heap's root or the run's head. */
  if (!((heap->near_size > 0 && deadline > heap->near[0].deadline) ||
        (heap->run_head < heap->run_end && deadline > heap->run[heap->run_head].deadline)))
    return 0;
  slot->deadline = deadline;
  timer->private_seq = seq;
  return 1;
}

/* The deadline of an active timer of this heap. */
static inline int64_t tide__timer_heap_deadline_of(const tide__timer_heap *heap,
                                                   const tide_timer *timer) {
  uint32_t i = timer->private_heap_index;
  if (i & TIDE__TIMER_NEAR)
    return heap->near[i & ~TIDE__TIMER_NEAR].deadline;
  if (i & TIDE__TIMER_RUN)
    return heap->run[i & ~TIDE__TIMER_RUN].deadline;
  return heap->far[i + TIDE__TIMER_FAR_LEAD].deadline;
}

#endif
