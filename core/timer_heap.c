/* core/timer_heap.c — the loop's armed timers: far heap, run and near heap (the design, and why,
 * are in timer_heap.h).
 *
 * Sifts move a hole instead of swapping: the moving entry is held aside and written once at its
 * final slot. The far heap's root is removed bottom-up, because that is what moving a cohort to
 * the near side does, a million times in a row when a million timers fire: the hole walks down
 * to a leaf along the earliest children without comparing against the entry that will fill it,
 * and that entry, the former last one, which came from the bottom and nearly always belongs near
 * it, then sifts up from there (Wegener's bottom-up heapsort). That saves a comparison and an
 * unpredictable "stop here?" branch per level. Picking the earliest of eight children keeps the
 * minimum with conditional moves rather than branches (which child wins is a coin toss a branch
 * predictor would lose), and the walk asks for the groups two levels down ahead of time, so that
 * one level's cache miss overlaps the next level's comparisons.
 *
 * Branches that decide where a timer goes are arranged so that the common outcome is the one
 * predicted: a mispredicted branch costs more than its own cycles, since it throws away the work
 * the processor had started speculatively, such as the next reset's cache miss. */
#include "timer_heap.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "tide/error.h"

enum {
  FAR_ARITY = TIDE__TIMER_FAR_ARITY,
  LEAD = TIDE__TIMER_FAR_LEAD,
  NEAR_ARITY = TIDE__TIMER_NEAR_ARITY,
  FIRST_CAPACITY = 64,
  GROUP_BYTES = FAR_ARITY * sizeof(tide__timer_slot) /* 128: an aligned pair of cache lines */
};

#define NEAR TIDE__TIMER_NEAR
#define RUN TIDE__TIMER_RUN
#define NONE UINT32_MAX

/* prefetch: a hint, never a fault; a macro rather than a function, since GCC deems a function
 * whose only effect is a prefetch "const" and may drop its calls. NOINLINE: keeps a cold path,
 * and the registers it needs saved, out of a hot caller. */
#if defined(__GNUC__) || defined(__clang__)
#define prefetch(p) __builtin_prefetch(p)
#define NOINLINE __attribute__((noinline))
#else
#define prefetch(p) ((void)(p))
#define NOINLINE
#endif

void tide__timer_heap_init(tide__timer_heap *heap) {
  heap->far = NULL;
  heap->near = NULL;
  heap->run = NULL;
  heap->far_size = 0;
  heap->near_size = 0;
  heap->run_head = 0;
  heap->run_end = 0;
  heap->run_live = 0;
  heap->size = 0;
  heap->capacity = 0;
  heap->far_block = NULL;
}

void tide__timer_heap_destroy(tide__timer_heap *heap) {
  free(heap->far_block);
  free(heap->near);
  free(heap->run);
  tide__timer_heap_init(heap);
}

/* Far positions for `slots` slots: the lead, rounded up to whole groups. */
static size_t far_positions(uint32_t slots) {
  return ((size_t)slots + LEAD + FAR_ARITY - 1) / FAR_ARITY * FAR_ARITY;
}

/* Resizes an array that must start on an `align` boundary to `bytes`, keeping its first `used`
 * bytes. *block is the allocation (or NULL) and *data the aligned start within it. The block is
 * over-allocated and aligned by hand (C11's aligned_alloc has no realloc, MSVC has no
 * aligned_alloc): realloc keeps the bytes but not their alignment, so they are moved into place
 * when the new block's alignment differs. Returns 0, or TIDE_ENOMEM with nothing changed. */
static int resize_aligned(void **block, void **data, size_t used, size_t bytes, size_t align) {
  size_t offset = *block ? (size_t)((uintptr_t)*data - (uintptr_t)*block) : 0;
  char *grown = realloc(*block, bytes + align - 1);
  if (grown == NULL)
    return TIDE_ENOMEM;
  char *aligned = (char *)(((uintptr_t)grown + align - 1) & ~(uintptr_t)(align - 1));
  if (used > 0 && aligned != grown + offset)
    memmove(aligned, grown + offset, used);
  *block = grown;
  *data = aligned;
  return 0;
}

/* Resizes an entry array to `capacity` entries, keeping its first `used`. Not realloc: the near
 * heap and the run hold a few entries but have room for every timer, and realloc, which cannot
 * know how little of the old block matters, would copy all of it, making the copy resident.
 * Returns 0, or TIDE_ENOMEM with nothing changed. */
static int resize_entries(tide__timer_entry **entries, uint32_t used, uint32_t capacity) {
  tide__timer_entry *grown = malloc((size_t)capacity * sizeof *grown);
  if (grown == NULL)
    return TIDE_ENOMEM;
  if (used > 0)
    memcpy(grown, *entries, (size_t)used * sizeof *grown);
  free(*entries);
  *entries = grown;
  return 0;
}

/* Doubles the capacity of all three arrays: any of them may have to hold every timer, and a
 * removal, which cannot fail, may move timers from the far heap to the near side. Returns 0 or
 * TIDE_ENOMEM, the contents unchanged either way (an array that did grow is merely larger than
 * needed). Room that is reserved but never written costs address space, not resident memory. */
static int grow(tide__timer_heap *heap) {
  /* Indices are 30 bits (TIDE__TIMER_RUN and TIDE__TIMER_NEAR are the other two). */
  if (heap->capacity >= (RUN - 1) / 2)
    return TIDE_ENOMEM;
  uint32_t capacity = heap->capacity ? heap->capacity * 2 : FIRST_CAPACITY;
  if (resize_entries(&heap->near, heap->near_size, capacity) != 0 ||
      resize_entries(&heap->run, heap->run_end, capacity) != 0)
    return TIDE_ENOMEM;
  void *far = heap->far;
  if (resize_aligned(&heap->far_block, &far,
                     far_positions(heap->far_size) * sizeof(tide__timer_slot),
                     far_positions(capacity) * sizeof(tide__timer_slot), GROUP_BYTES) != 0)
    return TIDE_ENOMEM;
  heap->far = far;
  heap->capacity = capacity;
  return 0;
}

/* ---- the far heap: by deadline alone ------------------------------------------------------ */

static inline void far_place(tide__timer_heap *heap, uint32_t i, int64_t deadline,
                             tide_timer *timer) {
  heap->far[i + LEAD].deadline = deadline;
  heap->far[i + LEAD].timer = timer;
  timer->private_heap_index = i;
}

static inline void far_move(tide__timer_heap *heap, uint32_t to, uint32_t from) {
  far_place(heap, to, heap->far[from + LEAD].deadline, heap->far[from + LEAD].timer);
}

/* The child of far slot i with the earliest deadline (any of them, on a tie), or NONE. Every
 * group but the last is full, and the full case gets its own loop with a constant trip count. */
static inline uint32_t far_earliest_child(const tide__timer_heap *heap, uint32_t size, uint32_t i) {
  uint32_t first = i * FAR_ARITY + 1;
  if (first >= size)
    return NONE;
  const tide__timer_slot *group = &heap->far[first + LEAD];
  uint32_t count = size - first < FAR_ARITY ? size - first : FAR_ARITY;
  uint32_t best = 0;
  int64_t min = group[0].deadline;
  if (count == FAR_ARITY) {
    for (uint32_t k = 1; k < FAR_ARITY; k++) {
      int64_t d = group[k].deadline;
      best = d < min ? k : best;
      min = d < min ? d : min;
    }
  } else {
    for (uint32_t k = 1; k < count; k++) {
      int64_t d = group[k].deadline;
      best = d < min ? k : best;
      min = d < min ? d : min;
    }
  }
  return first + best;
}

static void far_sift_up(tide__timer_heap *heap, uint32_t i, int64_t deadline, tide_timer *timer) {
  while (i > 0) {
    uint32_t parent = (i - 1) / FAR_ARITY;
    if (deadline >= heap->far[parent + LEAD].deadline)
      break;
    far_move(heap, i, parent);
    i = parent;
  }
  far_place(heap, i, deadline, timer);
}

static void far_sift_down(tide__timer_heap *heap, uint32_t i, int64_t deadline, tide_timer *timer) {
  uint32_t size = heap->far_size;
  uint32_t c;
  while ((c = far_earliest_child(heap, size, i)) != NONE &&
         heap->far[c + LEAD].deadline < deadline) {
    far_move(heap, i, c);
    i = c;
  }
  far_place(heap, i, deadline, timer);
}

/* Puts (deadline, timer) at slot i, moving it up or down as its deadline requires. The parent is
 * compared first, not the entry being replaced: that would tell the direction as well, but for a
 * timeout pushed back to a random new deadline it is a coin toss the branch predictor loses,
 * and a mispredicted branch throws away the reset the processor had started on the next timer;
 * "earlier than the parent" is rare, so predicted. */
static void far_settle(tide__timer_heap *heap, uint32_t i, int64_t deadline, tide_timer *timer) {
  if (i > 0 && deadline < heap->far[(i - 1) / FAR_ARITY + LEAD].deadline)
    far_sift_up(heap, i, deadline, timer);
  else
    far_sift_down(heap, i, deadline, timer);
}

/* Refills the far root after far_size was decremented; the entry to re-place is at far_size. */
static void far_pop_root(tide__timer_heap *heap) {
  const uint32_t size = heap->far_size;
  const tide__timer_slot last = heap->far[size + LEAD];
  uint32_t i = 0;
  uint32_t c;
  for (;;) {
    /* The groups of the children's children, in flight while this level compares. */
    uint64_t grandchildren = ((uint64_t)i * FAR_ARITY + 1) * FAR_ARITY + 1;
    if (grandchildren < size) {
      const tide__timer_slot *group = &heap->far[grandchildren + LEAD];
      for (uint32_t k = 0; k < FAR_ARITY; k++)
        prefetch(&group[k * FAR_ARITY]);
    }
    if ((c = far_earliest_child(heap, size, i)) == NONE)
      break;
    far_move(heap, i, c);
    i = c;
  }
  far_sift_up(heap, i, last.deadline, last.timer);
}

/* Takes far slot i out (its timer's index is left for the caller to set). */
static void far_remove_at(tide__timer_heap *heap, uint32_t i) {
  uint32_t last = --heap->far_size;
  if (i == last)
    return;
  if (i == 0)
    far_pop_root(heap);
  else
    far_settle(heap, i, heap->far[last + LEAD].deadline, heap->far[last + LEAD].timer);
}

/* ---- the near heap: by deadline, then sequence ------------------------------------------- */

/* Entries travel as three scalars rather than as a struct passed by value: compilers copy such a
 * struct through the stack with stores and loads of different widths, which defeats store
 * forwarding, and the load then waits for the stores to reach the cache, behind the far heap's
 * stores to cold timers (measured: a third of a refill's time). */

static inline int near_before(int64_t deadline, uint64_t seq, const tide__timer_entry *other) {
  return deadline < other->deadline || (deadline == other->deadline && seq < other->seq);
}

static inline void near_place(tide__timer_heap *heap, uint32_t j, int64_t deadline, uint64_t seq,
                              tide_timer *timer) {
  heap->near[j].deadline = deadline;
  heap->near[j].seq = seq;
  heap->near[j].timer = timer;
  timer->private_heap_index = NEAR | j;
}

static inline void near_move(tide__timer_heap *heap, uint32_t to, uint32_t from) {
  const tide__timer_entry *e = &heap->near[from];
  near_place(heap, to, e->deadline, e->seq, e->timer);
}

static void near_sift_up(tide__timer_heap *heap, uint32_t j, int64_t deadline, uint64_t seq,
                         tide_timer *timer) {
  while (j > 0) {
    uint32_t parent = (j - 1) / NEAR_ARITY;
    if (!near_before(deadline, seq, &heap->near[parent]))
      break;
    near_move(heap, j, parent);
    j = parent;
  }
  near_place(heap, j, deadline, seq, timer);
}

static void near_sift_down(tide__timer_heap *heap, uint32_t j, int64_t deadline, uint64_t seq,
                           tide_timer *timer) {
  const uint32_t size = heap->near_size;
  for (;;) {
    uint32_t first = j * NEAR_ARITY + 1;
    if (first >= size)
      break;
    uint32_t end = size - first < NEAR_ARITY ? size : first + NEAR_ARITY;
    uint32_t best = first;
    for (uint32_t c = first + 1; c < end; c++) {
      if (near_before(heap->near[c].deadline, heap->near[c].seq, &heap->near[best]))
        best = c;
    }
    if (near_before(deadline, seq, &heap->near[best]))
      break;
    near_move(heap, j, best);
    j = best;
  }
  near_place(heap, j, deadline, seq, timer);
}

/* Takes near position j out (its timer's index is left for the caller to set). */
static void near_remove_at(tide__timer_heap *heap, uint32_t j) {
  uint32_t last = --heap->near_size;
  if (j == last)
    return;
  const tide__timer_entry *e = &heap->near[last];
  int64_t deadline = e->deadline;
  uint64_t seq = e->seq;
  tide_timer *timer = e->timer;
  if (j > 0 && near_before(deadline, seq, &heap->near[(j - 1) / NEAR_ARITY]))
    near_sift_up(heap, j, deadline, seq, timer);
  else
    near_sift_down(heap, j, deadline, seq, timer);
}

/* ---- the run: one cohort, sorted -------------------------------------------------------- */

static inline int run_empty(const tide__timer_heap *heap) {
  return heap->run_head == heap->run_end;
}

/* Takes run position p out: a removed entry stays as a hole (timer NULL) until the head passes
 * it, so nothing moves. */
static void run_remove_at(tide__timer_heap *heap, uint32_t p) {
  heap->run[p].timer = NULL;
  heap->run_live--;
  while (heap->run_head < heap->run_end && heap->run[heap->run_head].timer == NULL)
    heap->run_head++;
  if (heap->run_head == heap->run_end)
    heap->run_head = heap->run_end = 0;
}

/* Appends an entry to the run; the caller checked that it sorts last. The run's end only moves
 * forward while the run lives, so when it reaches the array's end the live entries are moved to
 * the front, if that frees half of it (which makes the moves O(1) amortised); if it would not,
 * returns 0 and the caller uses the near heap instead. */
static int run_append(tide__timer_heap *heap, int64_t deadline, uint64_t seq, tide_timer *timer) {
  if (heap->run_end == heap->capacity) {
    if (heap->run_live > heap->capacity / 2)
      return 0;
    uint32_t to = 0;
    for (uint32_t p = heap->run_head; p < heap->run_end; p++) {
      if (heap->run[p].timer == NULL)
        continue;
      heap->run[to] = heap->run[p];
      heap->run[to].timer->private_heap_index = RUN | to;
      to++;
    }
    heap->run_head = 0;
    heap->run_end = to;
  }
  uint32_t p = heap->run_end++;
  heap->run[p].deadline = deadline;
  heap->run[p].seq = seq;
  heap->run[p].timer = timer;
  heap->run_live++;
  timer->private_heap_index = RUN | p;
  return 1;
}

/* Sorts n entries by seq from src into dst (src is clobbered). LSD radix sort on the bytes in
 * which the seqs differ (three for a million armings), linear where a heap would take O(n log n)
 * with a branch misprediction per level; insertion sort for the short cohorts of every day. */
static void sort_by_seq(tide__timer_entry *src, tide__timer_entry *dst, uint32_t n) {
  if (n <= 16) {
    for (uint32_t k = 0; k < n; k++) {
      tide__timer_entry e = src[k];
      uint32_t at = k;
      while (at > 0 && dst[at - 1].seq > e.seq) {
        dst[at] = dst[at - 1];
        at--;
      }
      dst[at] = e;
    }
    return;
  }
  uint64_t differ = 0;
  for (uint32_t k = 1; k < n; k++)
    differ |= src[k].seq ^ src[0].seq;
  unsigned bytes = 0;
  while (differ != 0) {
    differ >>= 8;
    bytes++;
  }
  tide__timer_entry *from = src, *to = dst;
  for (unsigned b = 0; b < bytes; b++) {
    uint32_t count[256] = {0};
    unsigned shift = 8 * b;
    for (uint32_t k = 0; k < n; k++)
      count[(from[k].seq >> shift) & 0xff]++;
    uint32_t at = 0;
    for (unsigned d = 0; d < 256; d++) {
      uint32_t c = count[d];
      count[d] = at;
      at += c;
    }
    for (uint32_t k = 0; k < n; k++)
      to[count[(from[k].seq >> shift) & 0xff]++] = from[k];
    tide__timer_entry *t = from;
    from = to;
    to = t;
  }
  if (from != dst)
    memcpy(dst, from, (size_t)n * sizeof *dst);
}

/* ---- between the far heap and the near side ---------------------------------------------- */

/* The near side's earliest deadline; it must not be empty. */
static inline int64_t near_min_deadline(const tide__timer_heap *heap) {
  return tide__timer_heap_min(heap)->deadline;
}

/* 1 if `deadline` is later than the near side's earliest (0 if the near side is empty): where a
 * timer must go to the far heap. Cheaper than near_min_deadline() on the reset path: either of
 * the near heap's root and the run's head being earlier settles it. */
static inline int after_near(const tide__timer_heap *heap, int64_t deadline) {
  return (heap->near_size > 0 && deadline > heap->near[0].deadline) ||
         (heap->run_head < heap->run_end && deadline > heap->run[heap->run_head].deadline);
}

/* Restores the invariant after the near side lost its minimum or emptied: while the far heap's
 * earliest deadline is no later than the near side's, every far timer with that deadline moves
 * over. The timers are taken out of the far heap first and their sequence numbers read in a
 * second pass (the timers are cold, and independent loads overlap where one load per move would
 * wait for each in turn); the spare near slots hold them meanwhile. Then they are sorted into
 * the run if it is empty, which is how a cohort of timers armed with the same deadline fires
 * without a heap operation per timer, and otherwise go into the near heap. */
static void refill(tide__timer_heap *heap) {
  while (heap->far_size > 0 && (tide__timer_heap_min(heap) == NULL ||
                                heap->far[LEAD].deadline <= near_min_deadline(heap))) {
    const int64_t deadline = heap->far[LEAD].deadline;
    tide__timer_entry *const spare = &heap->near[heap->near_size];
    uint32_t taken = 0;
    do {
      spare[taken++].timer = heap->far[LEAD].timer;
      far_remove_at(heap, 0);
    } while (heap->far_size > 0 && heap->far[LEAD].deadline == deadline);
    for (uint32_t k = 0; k < taken; k++) {
      spare[k].seq = spare[k].timer->private_seq;
      spare[k].deadline = deadline;
    }
    if (run_empty(heap)) {
      sort_by_seq(spare, heap->run, taken);
      for (uint32_t p = 0; p < taken; p++)
        heap->run[p].timer->private_heap_index = RUN | p;
      heap->run_head = 0;
      heap->run_end = taken;
      heap->run_live = taken;
      continue;
    }
    for (uint32_t k = 0; k < taken; k++) {
      /* spare[k] is at or past the hole the sift starts from, so the sift never overwrites a
       * spare slot still to be read; and its fields are read one by one, like they were
       * written, for the reason given with the near heap. */
      near_sift_up(heap, heap->near_size++, deadline, spare[k].seq, spare[k].timer);
    }
  }
}

/* Adds an inactive timer (private_seq set) where the invariant asks for it. */
static void add(tide__timer_heap *heap, tide_timer *timer, int64_t deadline, uint64_t seq) {
  if (after_near(heap, deadline)) {
    far_sift_up(heap, heap->far_size++, deadline, timer);
    return;
  }
  /* A timer armed behind the run's cohort, with its deadline, joins it: appending keeps the run
   * sorted. (An empty run is left for refill(), which fills it with the next cohort to fire: a
   * run started here could hold a later deadline and keep the cohorts before it out.) */
  int joins_run = !run_empty(heap) && deadline == heap->run[heap->run_head].deadline &&
                  seq > heap->run[heap->run_end - 1].seq;
  if (joins_run && run_append(heap, deadline, seq, timer))
    return;
  near_sift_up(heap, heap->near_size++, deadline, seq, timer);
}

/* ---- the interface ------------------------------------------------------------------------ */

int tide__timer_heap_insert(tide__timer_heap *heap, tide_timer *timer, int64_t deadline,
                            uint64_t seq) {
  assert(timer->private_heap_index == TIDE__TIMER_INACTIVE);
  if (heap->size == heap->capacity) {
    int err = grow(heap);
    if (err != 0)
      return err;
  }
  heap->size++;
  timer->private_seq = seq;
  /* An empty near side means an empty far heap: either way the invariant holds afterwards. */
  add(heap, timer, deadline, seq);
  return 0;
}

void tide__timer_heap_remove(tide__timer_heap *heap, tide_timer *timer) {
  assert(tide__timer_heap_contains(heap, timer));
  uint32_t i = timer->private_heap_index;
  timer->private_heap_index = TIDE__TIMER_INACTIVE;
  heap->size--;
  if (i & NEAR) {
    near_remove_at(heap, i & ~NEAR);
    refill(heap);
  } else if (i & RUN) {
    run_remove_at(heap, i & ~RUN);
    refill(heap);
  } else {
    far_remove_at(heap, i);
  }
}

/* update() for a timer in the near heap or the run, or leaving the far heap: out of line, to keep
 * the reset path below short. */
NOINLINE static void update_slow(tide__timer_heap *heap, tide_timer *timer, uint32_t i,
                                 int64_t deadline, uint64_t seq) {
  if (i & NEAR)
    near_remove_at(heap, i & ~NEAR);
  else if (i & RUN)
    run_remove_at(heap, i & ~RUN);
  else
    far_remove_at(heap, i);
  add(heap, timer, deadline, seq);
  refill(heap);
}

void tide__timer_heap_update(tide__timer_heap *heap, tide_timer *timer, int64_t deadline,
                             uint64_t seq) {
  assert(tide__timer_heap_contains(heap, timer));
  uint32_t i = timer->private_heap_index;
  timer->private_seq = seq;
  /* The common case, a timeout pushed back: it stays in the far heap, one sift. (A far heap that
   * is not empty means a near side that is not.) */
  if (!(i & (NEAR | RUN)) && after_near(heap, deadline))
    far_settle(heap, i, deadline, timer);
  else
    update_slow(heap, timer, i, deadline, seq);
}
