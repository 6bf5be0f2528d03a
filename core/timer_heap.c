/* core/timer_heap.c — 4-ary min-heap of timers (see timer_heap.h).
 *
 * Sifts move a hole instead of swapping: the moving entry is held aside and written once at its
 * final slot, halving the stores of a swap-based sift. */
#include "timer_heap.h"

#include <assert.h>
#include <stdlib.h>

#include "tide/error.h"

enum { ARITY = 4, FIRST_CAPACITY = 64 };

void tide__timer_heap_init(tide__timer_heap *heap) {
  heap->entries = NULL;
  heap->size = 0;
  heap->capacity = 0;
}

void tide__timer_heap_destroy(tide__timer_heap *heap) {
  free(heap->entries);
  tide__timer_heap_init(heap);
}

static inline int earlier(const tide__timer_entry *a, const tide__timer_entry *b) {
  return a->deadline < b->deadline || (a->deadline == b->deadline && a->seq < b->seq);
}

static inline void place(tide__timer_heap *heap, uint32_t i, tide__timer_entry entry) {
  heap->entries[i] = entry;
  entry.timer->private_heap_index = i;
}

static void sift_up(tide__timer_heap *heap, uint32_t i, tide__timer_entry entry) {
  while (i > 0) {
    uint32_t parent = (i - 1) / ARITY;
    if (!earlier(&entry, &heap->entries[parent]))
      break;
    place(heap, i, heap->entries[parent]);
    i = parent;
  }
  place(heap, i, entry);
}

static void sift_down(tide__timer_heap *heap, uint32_t i, tide__timer_entry entry) {
  uint32_t size = heap->size;
  for (;;) {
    uint32_t first = i * ARITY + 1;
    if (first >= size)
      break;
    uint32_t last = first + ARITY < size ? first + ARITY : size;
    uint32_t best = first;
    for (uint32_t c = first + 1; c < last; c++) {
      if (earlier(&heap->entries[c], &heap->entries[best]))
        best = c;
    }
    if (!earlier(&heap->entries[best], &entry))
      break;
    place(heap, i, heap->entries[best]);
    i = best;
  }
  place(heap, i, entry);
}

/* Puts `entry` at slot i, moving it up or down as its key requires. */
static void settle(tide__timer_heap *heap, uint32_t i, tide__timer_entry entry) {
  if (i > 0 && earlier(&entry, &heap->entries[(i - 1) / ARITY]))
    sift_up(heap, i, entry);
  else
    sift_down(heap, i, entry);
}

int tide__timer_heap_insert(tide__timer_heap *heap, tide_timer *timer, int64_t deadline,
                            uint64_t seq) {
  assert(timer->private_heap_index == TIDE__TIMER_INACTIVE);
  if (heap->size == heap->capacity) {
    /* The index is 32 bits and UINT32_MAX means "inactive". */
    if (heap->capacity >= UINT32_MAX / 2)
      return TIDE_ENOMEM;
    uint32_t capacity = heap->capacity ? heap->capacity * 2 : FIRST_CAPACITY;
    tide__timer_entry *entries = realloc(heap->entries, (size_t)capacity * sizeof *entries);
    if (entries == NULL)
      return TIDE_ENOMEM;
    heap->entries = entries;
    heap->capacity = capacity;
  }
  tide__timer_entry entry = {deadline, seq, timer};
  sift_up(heap, heap->size++, entry);
  return 0;
}

void tide__timer_heap_remove(tide__timer_heap *heap, tide_timer *timer) {
  assert(tide__timer_heap_contains(heap, timer));
  uint32_t i = timer->private_heap_index;
  timer->private_heap_index = TIDE__TIMER_INACTIVE;
  uint32_t last = --heap->size;
  if (i != last)
    settle(heap, i, heap->entries[last]);
}

void tide__timer_heap_update(tide__timer_heap *heap, tide_timer *timer, int64_t deadline,
                             uint64_t seq) {
  assert(tide__timer_heap_contains(heap, timer));
  tide__timer_entry entry = {deadline, seq, timer};
  settle(heap, timer->private_heap_index, entry);
}
