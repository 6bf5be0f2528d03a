/* core/executor/deque.c — the Chase–Lev deque (deque.h) with the C11 orderings of Lê et al.
 *
 * Departures from the paper's figure, each no weaker than the original:
 *   - push publishes `bottom` with a release store instead of a release fence followed by a
 *     relaxed store. The two are equivalent for the thief's acquire load of `bottom`, the store is
 *     a plain MOV on x86 and a STLR on AArch64, and ThreadSanitizer (which does not model
 *     stand-alone fences) then sees the happens-before edge that publishes the job's fields.
 *   - the thief reads `buffer` with acquire rather than consume (compilers promote consume to
 *     acquire anyway).
 *   - reclamation of grown-out buffers, which the paper leaves to a garbage collector, is done
 *     with a count of thieves inside a steal (below).
 *   - take (tide__deque_pop) replaces "relaxed store to bottom; seq_cst fence; relaxed load of
 *     top" by a seq_cst exchange of bottom and a seq_cst load of top. Under the seq_cst rules as
 *     C++20 states them (P0668, what compilers implement) the bad outcome is still impossible:
 *     if a thief read a bottom older than the exchange, its fence precedes the exchange in the
 *     single order S; the CAS that wrote the top it read happens before that fence, so it
 *     precedes the fence in S too; the owner's seq_cst load of top comes after the exchange in
 *     S and therefore reads that top or a later one, and the last item goes through the CAS on
 *     top. The exchange is one locked instruction, measured at about half the cost of the fence
 *     (LOCK OR / MFENCE) on x86, and a pop is paid for every job of a fork-join.
 *
 * Reclamation. A thief that saw top < bottom increments `thieves`, loads `buffer`, reads its slot,
 * and decrements `thieves` before its CAS on top (it touches no buffer after that read). The owner,
 * after installing a new buffer, may free the retired ones when it reads `thieves` == 0. The
 * increment, the buffer load, the buffer store and the owner's load are all seq_cst, so they
 * are totally ordered: if the owner reads 0, any thief whose increment comes later also loads
 * `buffer` later and so sees the new one; a thief whose increment came earlier has already
 * decremented (with release, pairing with the owner's load), so its read of the old buffer
 * happened before the free. Empty steals never touch the counter, so it costs two uncontended
 * RMWs only on steals that find an item, which already pay for a CAS. */
#include "core/executor/deque.h"

#include <stdlib.h>

#include "tide/error.h"

struct tide__deque_buffer {
  int64_t capacity; /* a power of two */
  tide__deque_buffer *retired_next;
  TIDE__ATOMIC(void *) slots[];
};

static tide__deque_buffer *buffer_new(int64_t capacity) {
  tide__deque_buffer *b = malloc(sizeof *b + (size_t)capacity * sizeof(TIDE__ATOMIC(void *)));
  if (b == NULL)
    return NULL;
  b->capacity = capacity;
  b->retired_next = NULL;
  for (int64_t i = 0; i < capacity; i++)
    atomic_init(&b->slots[i], NULL);
  return b;
}

static inline void *slot_load(tide__deque_buffer *b, int64_t i) {
  return atomic_load_explicit(&b->slots[i & (b->capacity - 1)], memory_order_relaxed);
}

static inline void slot_store(tide__deque_buffer *b, int64_t i, void *item) {
  atomic_store_explicit(&b->slots[i & (b->capacity - 1)], item, memory_order_relaxed);
}

int tide__deque_init(tide__deque *d, size_t capacity) {
  int64_t cap = 2;
  while ((size_t)cap < capacity)
    cap *= 2;
  tide__deque_buffer *b = buffer_new(cap);
  if (b == NULL)
    return TIDE_ENOMEM;
  atomic_init(&d->top, 0);
  atomic_init(&d->bottom, 0);
  atomic_init(&d->buffer, b);
  atomic_init(&d->thieves, 0);
  d->retired = NULL;
  return 0;
}

static void free_retired(tide__deque *d) {
  while (d->retired != NULL) {
    tide__deque_buffer *next = d->retired->retired_next;
    free(d->retired);
    d->retired = next;
  }
}

void tide__deque_destroy(tide__deque *d) {
  free_retired(d);
  free(atomic_load_explicit(&d->buffer, memory_order_relaxed));
}

/* Owner only: frees retired buffers if no thief can be reading one (see the file comment). */
static void try_reclaim(tide__deque *d) {
  if (d->retired != NULL && atomic_load_explicit(&d->thieves, memory_order_seq_cst) == 0)
    free_retired(d);
}

/* Owner only: replaces a full buffer by one twice its size holding the same items at the same
 * indices, so a thief that read `top` before the switch finds its item in either buffer. */
static tide__deque_buffer *grow(tide__deque *d, tide__deque_buffer *old, int64_t top,
                                int64_t bottom) {
  tide__deque_buffer *b = buffer_new(old->capacity * 2);
  if (b == NULL)
    return NULL;
  for (int64_t i = top; i < bottom; i++)
    slot_store(b, i, slot_load(old, i));
  atomic_store_explicit(&d->buffer, b, memory_order_seq_cst);
  old->retired_next = d->retired;
  d->retired = old;
  try_reclaim(d);
  return b;
}

int tide__deque_push(tide__deque *d, void *item) {
  int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
  int64_t t = atomic_load_explicit(&d->top, memory_order_acquire);
  tide__deque_buffer *buf = atomic_load_explicit(&d->buffer, memory_order_relaxed);
  if (b - t > buf->capacity - 1) {
    buf = grow(d, buf, t, b);
    if (buf == NULL)
      return TIDE_ENOMEM;
  }
  slot_store(buf, b, item);
  /* Release: pairs with the thief's acquire load of bottom, publishing the slot and the item. */
  atomic_store_explicit(&d->bottom, b + 1, memory_order_release);
  return 0;
}

void *tide__deque_pop(tide__deque *d) {
  int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed) - 1;
  tide__deque_buffer *buf = atomic_load_explicit(&d->buffer, memory_order_relaxed);
  /* The store to bottom must be ordered before top is read, or the owner and a thief could both
   * take the last item (see the file comment for why an exchange and a seq_cst load do what the
   * paper's fence does). Pairs with the thief's seq_cst fence between its loads of top and
   * bottom. */
  (void)atomic_exchange_explicit(&d->bottom, b, memory_order_seq_cst);
  int64_t t = atomic_load_explicit(&d->top, memory_order_seq_cst);
  void *item = NULL;
  if (t <= b) {
    item = slot_load(buf, b);
    if (t == b) {
      /* The last item: race the thieves for it through top. */
      if (!atomic_compare_exchange_strong_explicit(&d->top, &t, t + 1, memory_order_seq_cst,
                                                   memory_order_relaxed))
        item = NULL;
      atomic_store_explicit(&d->bottom, b + 1, memory_order_relaxed);
    }
  } else {
    atomic_store_explicit(&d->bottom, b + 1, memory_order_relaxed);
  }
  if (d->retired != NULL)
    try_reclaim(d);
  return item;
}

int tide__deque_steal(tide__deque *d, void **out) {
  int64_t t = atomic_load_explicit(&d->top, memory_order_acquire);
  atomic_thread_fence(memory_order_seq_cst);
  /* Acquire: pairs with push's release store of bottom. */
  int64_t b = atomic_load_explicit(&d->bottom, memory_order_acquire);
  if (t >= b)
    return TIDE__STEAL_EMPTY;
  atomic_fetch_add_explicit(&d->thieves, 1, memory_order_seq_cst);
  tide__deque_buffer *buf = atomic_load_explicit(&d->buffer, memory_order_seq_cst);
  void *item = slot_load(buf, t);
  /* Release: pairs with try_reclaim's load; the slot read above happens before any free. */
  atomic_fetch_sub_explicit(&d->thieves, 1, memory_order_release);
  if (!atomic_compare_exchange_strong_explicit(&d->top, &t, t + 1, memory_order_seq_cst,
                                               memory_order_relaxed))
    return TIDE__STEAL_RETRY;
  *out = item;
  return TIDE__STEAL_OK;
}

size_t tide__deque_size(tide__deque *d) {
  int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
  int64_t t = atomic_load_explicit(&d->top, memory_order_relaxed);
  return b > t ? (size_t)(b - t) : 0;
}
