/* tests/timer_heap_test.c — the loop's timer heap (core/timer_heap.[ch]), tested directly.
 *
 * The randomised tests drive the heap and a reference model side by side: the model is a plain
 * array of (active, deadline, seq) per timer, whose minimum is found by a linear scan. After
 * every operation the heap's size and minimum must match the model's; periodically the whole
 * structure is audited: the far heap's order by deadline over TIDE__TIMER_FAR_ARITY children,
 * the near heap's order by (deadline, seq), the run's single deadline and rising seqs, the
 * invariant that ties the far heap to the near side (every far deadline later than the near
 * side's earliest, no far timer while the near side is empty), every active timer's
 * private_heap_index pointing back at its own slot with the model's key, and every inactive timer
 * marked TIDE__TIMER_INACTIVE. Deadlines are drawn from a small range so that ties are frequent
 * and the (deadline, seq) tie-break — FIFO among equal deadlines — is exercised constantly, as
 * are the moves of whole cohorts of equal deadlines from the far heap to the near side. */
#include <stdint.h>

#include "core/timer_heap.h"
#include "harness.h"

/* On Windows, tide.h's socket headers bring in <windef.h>, which defines `near` and `far` as
 * empty (16-bit pointer qualifiers): they would erase the heap's field names used below. */
#undef near
#undef far

/* ---- helpers ---------------------------------------------------------------------------- */

static uint64_t rng_next(uint64_t *state) {
  /* splitmix64: tiny, good enough, and identical on every platform. */
  uint64_t z = (*state += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

static uint32_t rng_below(uint64_t *state, uint32_t n) {
  return (uint32_t)(rng_next(state) % n);
}

static void noop_cb(tide_timer *t, void *arg) {
  (void)t;
  (void)arg;
}

static void prepare(tide_timer *t) {
  CHECK_OK(tide_timer_init(t, noop_cb, NULL));
  CHECK_EQ(TIDE__TIMER_INACTIVE, t->private_heap_index);
}

static int key_before(int64_t da, uint64_t sa, int64_t db, uint64_t sb) {
  return da < db || (da == db && sa < sb);
}

enum {
  FAR_ARITY = TIDE__TIMER_FAR_ARITY,
  NEAR_ARITY = TIDE__TIMER_NEAR_ARITY,
  LEAD = TIDE__TIMER_FAR_LEAD
};

/* The timer in far slot i and in near position j. */
static tide_timer *far_timer(const tide__timer_heap *h, uint32_t i) {
  return h->far[i + LEAD].timer;
}

static tide_timer *near_timer(const tide__timer_heap *h, uint32_t j) {
  return h->near[j].timer;
}

/* Checks both heaps' order for every parent/child pair, the run's order, the invariant between
 * the far heap and the near side, that every slot's timer points back at its slot and every near
 * or run entry carries its timer's seq, and that the far slots are laid out as timer_heap.h
 * promises: each group of siblings starts on a 128-byte boundary. */
static void audit_heap_shape(const tide__timer_heap *h) {
  CHECK(h->size <= h->capacity);
  uint32_t run_live = 0;
  if (h->run_head == h->run_end && h->run_head != 0)
    TIDE_TEST_FAIL("an empty run is at %u, not reset to 0", h->run_head);
  if (h->run_head < h->run_end && h->run[h->run_head].timer == NULL)
    TIDE_TEST_FAIL("the run's head %u is a removed entry", h->run_head);
  uint64_t last_seq = 0;
  for (uint32_t p = h->run_head; p < h->run_end; p++) {
    const tide__timer_entry *e = &h->run[p];
    if (e->timer == NULL)
      continue;
    run_live++;
    if (e->timer->private_heap_index != (TIDE__TIMER_RUN | p))
      TIDE_TEST_FAIL("run position %u: timer's private_heap_index is %#x", p,
                     e->timer->private_heap_index);
    if (e->seq != e->timer->private_seq)
      TIDE_TEST_FAIL("run position %u: entry's seq %llu, timer's seq %llu", p,
                     (unsigned long long)e->seq, (unsigned long long)e->timer->private_seq);
    if (e->deadline != h->run[h->run_head].deadline)
      TIDE_TEST_FAIL("run position %u: deadline %lld, the head's is %lld", p,
                     (long long)e->deadline, (long long)h->run[h->run_head].deadline);
    if (run_live > 1 && e->seq <= last_seq)
      TIDE_TEST_FAIL("run order broken at position %u: seq %llu after %llu", p,
                     (unsigned long long)e->seq, (unsigned long long)last_seq);
    last_seq = e->seq;
  }
  CHECK_EQ(h->run_live, run_live);
  CHECK_EQ(h->size, h->far_size + h->near_size + run_live);
  const tide__timer_entry *near_min = tide__timer_heap_min(h);
  if (near_min == NULL && h->far_size != 0)
    TIDE_TEST_FAIL("the near side is empty but the far heap holds %u timers", h->far_size);
  if (h->far_size > 1 && (uintptr_t)&h->far[1 + LEAD] % 128 != 0)
    TIDE_TEST_FAIL("the first sibling group starts at offset %u of a 128-byte block, not 0",
                   (unsigned)((uintptr_t)&h->far[1 + LEAD] % 128));
  for (uint32_t i = 0; i < h->far_size; i++) {
    const tide_timer *t = far_timer(h, i);
    int64_t d = h->far[i + LEAD].deadline;
    if (t->private_heap_index != i)
      TIDE_TEST_FAIL("far slot %u: timer's private_heap_index is %#x", i, t->private_heap_index);
    if (d <= near_min->deadline)
      TIDE_TEST_FAIL("far slot %u: deadline %lld is not later than the near minimum %lld", i,
                     (long long)d, (long long)near_min->deadline);
    if (i > 0) {
      uint32_t pi = (i - 1) / FAR_ARITY;
      int64_t pd = h->far[pi + LEAD].deadline;
      if (d < pd)
        TIDE_TEST_FAIL("far order broken: slot %u (%lld) before its parent %u (%lld)", i,
                       (long long)d, pi, (long long)pd);
    }
  }
  for (uint32_t j = 0; j < h->near_size; j++) {
    const tide__timer_entry *e = &h->near[j];
    if (e->timer->private_heap_index != (TIDE__TIMER_NEAR | j))
      TIDE_TEST_FAIL("near position %u: timer's private_heap_index is %#x", j,
                     e->timer->private_heap_index);
    if (e->seq != e->timer->private_seq)
      TIDE_TEST_FAIL("near position %u: entry's seq %llu, timer's seq %llu", j,
                     (unsigned long long)e->seq, (unsigned long long)e->timer->private_seq);
    if (j > 0) {
      const tide__timer_entry *p = &h->near[(j - 1) / NEAR_ARITY];
      if (key_before(e->deadline, e->seq, p->deadline, p->seq))
        TIDE_TEST_FAIL("near order broken: position %u (%lld,%llu) before its parent %u "
                       "(%lld,%llu)",
                       j, (long long)e->deadline, (unsigned long long)e->seq, (j - 1) / NEAR_ARITY,
                       (long long)p->deadline, (unsigned long long)p->seq);
    }
  }
}

/* ---- the reference model ------------------------------------------------------------------ */

typedef struct model_slot {
  int active;
  int64_t deadline;
  uint64_t seq;
} model_slot;

/* key[i] packs (deadline, seq) into one integer with the same order, so the reference minimum
 * is a scan with one comparison per timer (cheap enough for valgrind); UINT64_MAX is inactive.
 * Deadlines stay below 2^23 and seqs below 2^40, which the randomised runs respect. */
typedef struct model {
  size_t n;
  tide_timer *timers;
  model_slot *slots;
  uint64_t *key;
  size_t active;
  uint64_t next_seq;
} model;

enum { KEY_SEQ_BITS = 40 };
#define KEY_MAX_DEADLINE (INT64_C(1) << 23)

static void model_init(model *m, size_t n) {
  m->n = n;
  m->timers = calloc(n, sizeof *m->timers);
  m->slots = calloc(n, sizeof *m->slots);
  m->key = malloc(n * sizeof *m->key);
  CHECK(m->timers != NULL && m->slots != NULL && m->key != NULL);
  for (size_t i = 0; i < n; i++) {
    prepare(&m->timers[i]);
    m->key[i] = UINT64_MAX;
  }
  m->active = 0;
  m->next_seq = 0;
}

static void model_free(model *m) {
  free(m->timers);
  free(m->slots);
  free(m->key);
}

/* Records timer i as active with (deadline, seq). */
static void model_set(model *m, size_t i, int64_t deadline, uint64_t seq) {
  CHECK(deadline >= 0 && deadline < KEY_MAX_DEADLINE && seq < (UINT64_C(1) << KEY_SEQ_BITS));
  if (!m->slots[i].active)
    m->active++;
  m->slots[i] = (model_slot){1, deadline, seq};
  m->key[i] = (uint64_t)deadline << KEY_SEQ_BITS | seq;
}

static void model_clear(model *m, size_t i) {
  CHECK(m->slots[i].active);
  m->slots[i].active = 0;
  m->key[i] = UINT64_MAX;
  m->active--;
}

/* The index of the model's earliest active timer, or SIZE_MAX. */
static size_t model_min(const model *m) {
  size_t best = SIZE_MAX;
  uint64_t best_key = UINT64_MAX;
  for (size_t i = 0; i < m->n; i++) {
    if (m->key[i] < best_key) {
      best_key = m->key[i];
      best = i;
    }
  }
  return best;
}

/* Picks a random timer that is active (want_active) or inactive, or SIZE_MAX if none is. */
static size_t model_pick(const model *m, uint64_t *rng, int want_active) {
  size_t have = want_active ? m->active : m->n - m->active;
  if (have == 0)
    return SIZE_MAX;
  for (;;) { /* rejection sampling: expected n / have tries */
    size_t i = rng_below(rng, (uint32_t)m->n);
    if ((m->slots[i].active != 0) == (want_active != 0))
      return i;
  }
}

/* Size and minimum, after every operation. */
static void check_min_and_size(const tide__timer_heap *h, const model *m, size_t op) {
  if (h->size != m->active)
    TIDE_TEST_FAIL("op %zu: heap size %u, model size %zu", op, h->size, m->active);
  const tide__timer_entry *min = tide__timer_heap_min(h);
  size_t want = model_min(m);
  if (want == SIZE_MAX) {
    if (min != NULL)
      TIDE_TEST_FAIL("op %zu: model empty but heap min is not NULL", op);
    return;
  }
  if (min == NULL)
    TIDE_TEST_FAIL("op %zu: heap min is NULL, model min is timer %zu", op, want);
  if (min->timer != &m->timers[want] || min->deadline != m->slots[want].deadline ||
      min->seq != m->slots[want].seq)
    TIDE_TEST_FAIL("op %zu: heap min is timer %td (%lld,%llu), model min is timer %zu (%lld,%llu)",
                   op, min->timer - m->timers, (long long)min->deadline,
                   (unsigned long long)min->seq, want, (long long)m->slots[want].deadline,
                   (unsigned long long)m->slots[want].seq);
}

/* Every timer: active ones are in the heap under the model's key, inactive ones are marked. */
static void check_all(const tide__timer_heap *h, const model *m, size_t op) {
  audit_heap_shape(h);
  for (size_t i = 0; i < m->n; i++) {
    const tide_timer *t = &m->timers[i];
    if (!m->slots[i].active) {
      if (t->private_heap_index != TIDE__TIMER_INACTIVE || tide__timer_heap_contains(h, t))
        TIDE_TEST_FAIL("op %zu: inactive timer %zu has heap index %u", op, i,
                       t->private_heap_index);
      continue;
    }
    if (!tide__timer_heap_contains(h, t))
      TIDE_TEST_FAIL("op %zu: active timer %zu not found through its index %u", op, i,
                     t->private_heap_index);
    int64_t deadline = tide__timer_heap_deadline_of(h, t);
    if (deadline != m->slots[i].deadline || t->private_seq != m->slots[i].seq)
      TIDE_TEST_FAIL("op %zu: timer %zu has key (%lld,%llu) in the heap, (%lld,%llu) in the model",
                     op, i, (long long)deadline, (unsigned long long)t->private_seq,
                     (long long)m->slots[i].deadline, (unsigned long long)m->slots[i].seq);
  }
}

/* Runs `ops` random operations on `n` timers with deadlines in [0, deadline_range). The mix
 * drifts between growing and shrinking phases so that the heap is sometimes nearly full and
 * sometimes nearly empty (and pops from an empty heap are exercised). */
static void run_random(uint64_t seed, size_t n, size_t ops, uint32_t deadline_range) {
  tide__timer_heap h;
  tide__timer_heap_init(&h);
  model m;
  model_init(&m, n);
  uint64_t rng = seed;
  const size_t audit_every = n < 64 ? 1 : n;
  int grow = 1;
  for (size_t op = 0; op < ops; op++) {
    if (op % 4096 == 0)
      grow = !grow;
    uint32_t dice = rng_below(&rng, 100);
    uint32_t insert_share = grow ? 45 : 20;
    if (dice < insert_share) {
      size_t i = model_pick(&m, &rng, 0);
      if (i != SIZE_MAX) {
        int64_t d = (int64_t)rng_below(&rng, deadline_range);
        uint64_t s = m.next_seq++;
        CHECK_OK(tide__timer_heap_insert(&h, &m.timers[i], d, s));
        model_set(&m, i, d, s);
      }
    } else if (dice < insert_share + 20) {
      size_t i = model_pick(&m, &rng, 1);
      if (i != SIZE_MAX) {
        tide__timer_heap_remove(&h, &m.timers[i]);
        model_clear(&m, i);
      }
    } else if (dice < insert_share + 45) {
      size_t i = model_pick(&m, &rng, 1);
      if (i != SIZE_MAX) {
        /* Half the updates move the timer later, half anywhere (often earlier). */
        int64_t d = (int64_t)rng_below(&rng, deadline_range);
        if (rng_below(&rng, 2)) {
          d = m.slots[i].deadline + (int64_t)rng_below(&rng, 8);
          if (d >= 2 * (int64_t)deadline_range)
            d = m.slots[i].deadline;
        }
        uint64_t s = m.next_seq++;
        /* Half the time through the reset path's inline case first, which must either apply
         * the update exactly as tide__timer_heap_update would or leave everything alone. */
        if (!(rng_below(&rng, 2) && tide__timer_heap_update_in_place(&h, &m.timers[i], d, s)))
          tide__timer_heap_update(&h, &m.timers[i], d, s);
        model_set(&m, i, d, s);
      }
    } else {
      /* pop-min: what the loop's firing step does. */
      size_t want = model_min(&m);
      const tide__timer_entry *min = tide__timer_heap_min(&h);
      if (want == SIZE_MAX) {
        CHECK(min == NULL);
      } else {
        CHECK(min != NULL);
        if (min->timer != &m.timers[want])
          TIDE_TEST_FAIL("op %zu: pop-min got timer %td, model says %zu", op, min->timer - m.timers,
                         want);
        tide__timer_heap_remove(&h, min->timer);
        model_clear(&m, want);
      }
    }
    check_min_and_size(&h, &m, op);
    if (op % audit_every == 0)
      check_all(&h, &m, op);
  }
  check_all(&h, &m, ops);
  tide__timer_heap_destroy(&h);
  model_free(&m);
}

/* ---- randomised tests ------------------------------------------------------------------- */

TIDE_TEST(timer_heap, random_ops_match_reference_model) {
  /* 64 timers: up to three levels of the far heap (a full first group, a partial second level)
   * and of the near heap, so sifts cross levels and partial sibling groups, and cohorts of equal
   * deadlines keep moving from the far heap to the near side. */
  run_random(0x7469646500000001u, 64, 300000, 64);
}

TIDE_TEST(timer_heap, random_ops_match_reference_model_other_seeds) {
  /* Other seeds, heap sizes from shallow to deep (4000 timers: five levels of the far heap), and
   * deadline ranges from "nearly all equal" to "nearly all distinct". */
  static const struct {
    uint64_t seed;
    size_t timers;
    size_t ops;
    uint32_t deadline_range;
  } runs[] = {
      {1, 20, 60000, 3},
      {42, 64, 50000, 1000},
      {0xdeadbeefu, 150, 30000, 16},
      {0x0123456789abcdefu, 300, 15000, 100000},
      {987654321, 1000, 6000, 50},
      {0x5eed, 4000, 6000, 20},
  };
  for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++)
    run_random(runs[i].seed, runs[i].timers, runs[i].ops, runs[i].deadline_range);
}

TIDE_TEST(timer_heap, random_ops_on_tiny_heap_audited_every_op) {
  /* A handful of timers: every operation hits the root, the last slot or both, which is where
   * off-by-one sifts hide. The full audit runs after every op. */
  run_random(7, 6, 100000, 4);
}

TIDE_TEST(timer_heap, random_ops_with_all_deadlines_equal) {
  /* One deadline for everyone: the order is decided by seq alone, i.e. pure FIFO. */
  run_random(99, 64, 100000, 1);
}

TIDE_TEST(timer_heap, drain_of_large_heap_is_sorted_by_deadline_then_seq) {
  /* A deep heap (several levels past the first realloc): insert, remove a third, move a third,
   * then pop everything and check the order against the keys. */
  enum { N = 50000 };
  tide__timer_heap h;
  tide__timer_heap_init(&h);
  model m;
  model_init(&m, N);
  uint64_t rng = 12345;
  for (size_t i = 0; i < N; i++) {
    int64_t d = (int64_t)rng_below(&rng, 1000);
    uint64_t s = m.next_seq++;
    CHECK_OK(tide__timer_heap_insert(&h, &m.timers[i], d, s));
    model_set(&m, i, d, s);
  }
  check_all(&h, &m, 0);
  for (size_t i = 0; i < N; i += 3) {
    tide__timer_heap_remove(&h, &m.timers[i]);
    model_clear(&m, i);
  }
  for (size_t i = 1; i < N; i += 3) {
    int64_t d = (int64_t)rng_below(&rng, 1000);
    uint64_t s = m.next_seq++;
    tide__timer_heap_update(&h, &m.timers[i], d, s);
    model_set(&m, i, d, s);
  }
  check_all(&h, &m, 1);
  CHECK_EQ(m.active, h.size);
  const size_t expected = m.active;
  int64_t last_d = INT64_MIN;
  uint64_t last_s = 0;
  size_t popped = 0;
  const tide__timer_entry *min;
  while ((min = tide__timer_heap_min(&h)) != NULL) {
    size_t i = (size_t)(min->timer - m.timers);
    CHECK(m.slots[i].active);
    CHECK_EQ(m.slots[i].deadline, min->deadline);
    CHECK_EQ(m.slots[i].seq, min->seq);
    if (popped > 0 && !key_before(last_d, last_s, min->deadline, min->seq))
      TIDE_TEST_FAIL("pop %zu: (%lld,%llu) came after (%lld,%llu)", popped,
                     (long long)min->deadline, (unsigned long long)min->seq, (long long)last_d,
                     (unsigned long long)last_s);
    last_d = min->deadline;
    last_s = min->seq;
    tide__timer_heap_remove(&h, min->timer);
    CHECK_EQ(TIDE__TIMER_INACTIVE, m.timers[i].private_heap_index);
    model_clear(&m, i);
    popped++;
  }
  CHECK_EQ(expected, popped);
  CHECK_EQ(0, m.active);
  CHECK_EQ(0, h.size);
  tide__timer_heap_destroy(&h);
  model_free(&m);
}

/* ---- focused tests ---------------------------------------------------------------------- */

TIDE_TEST(timer_heap, empty_heap_has_no_min) {
  tide__timer_heap h;
  tide__timer_heap_init(&h);
  CHECK(tide__timer_heap_min(&h) == NULL);
  CHECK_EQ(0, h.size);
  tide_timer t;
  prepare(&t);
  CHECK(!tide__timer_heap_contains(&h, &t));
  tide__timer_heap_destroy(&h);
  CHECK(tide__timer_heap_min(&h) == NULL);
}

TIDE_TEST(timer_heap, single_timer_insert_then_remove) {
  tide__timer_heap h;
  tide__timer_heap_init(&h);
  tide_timer t;
  prepare(&t);
  CHECK_OK(tide__timer_heap_insert(&h, &t, 500, 1));
  CHECK_EQ(1, h.size);
  CHECK_EQ(TIDE__TIMER_NEAR | 0, t.private_heap_index); /* the first timer is the near root */
  CHECK(tide__timer_heap_contains(&h, &t));
  const tide__timer_entry *min = tide__timer_heap_min(&h);
  CHECK(min != NULL && min->timer == &t);
  CHECK_EQ(500, min->deadline);
  CHECK_EQ(1, min->seq);
  tide__timer_heap_remove(&h, &t);
  CHECK_EQ(0, h.size);
  CHECK_EQ(TIDE__TIMER_INACTIVE, t.private_heap_index);
  CHECK(!tide__timer_heap_contains(&h, &t));
  CHECK(tide__timer_heap_min(&h) == NULL);
  /* The same timer can be inserted again. */
  CHECK_OK(tide__timer_heap_insert(&h, &t, 7, 2));
  CHECK(tide__timer_heap_contains(&h, &t));
  tide__timer_heap_destroy(&h);
}

TIDE_TEST(timer_heap, equal_deadlines_pop_in_seq_order_whatever_the_insert_order) {
  enum { N = 200 };
  static tide_timer timers[N];
  uint64_t seqs[N];
  for (size_t i = 0; i < N; i++)
    seqs[i] = i;
  uint64_t rng = 3;
  for (size_t i = N - 1; i > 0; i--) { /* Fisher-Yates shuffle of the seqs */
    size_t j = rng_below(&rng, (uint32_t)(i + 1));
    uint64_t tmp = seqs[i];
    seqs[i] = seqs[j];
    seqs[j] = tmp;
  }
  tide__timer_heap h;
  tide__timer_heap_init(&h);
  for (size_t i = 0; i < N; i++) {
    prepare(&timers[i]);
    CHECK_OK(tide__timer_heap_insert(&h, &timers[i], 1000, seqs[i]));
  }
  audit_heap_shape(&h);
  for (uint64_t want = 0; want < N; want++) {
    const tide__timer_entry *min = tide__timer_heap_min(&h);
    CHECK(min != NULL);
    CHECK_EQ(want, min->seq);
    CHECK_EQ(1000, min->deadline);
    tide__timer_heap_remove(&h, min->timer);
  }
  CHECK(tide__timer_heap_min(&h) == NULL);
  tide__timer_heap_destroy(&h);
}

TIDE_TEST(timer_heap, cohort_moved_from_far_heap_fires_in_seq_order) {
  /* A cohort of equal deadlines armed in an order unrelated to its seqs waits in the far heap
   * behind an earlier timer; when that one goes, the whole cohort moves to the run, sorted by
   * seq (seqs that differ in three bytes, so the sort takes three passes), and pops in seq
   * order with nothing moving. */
  enum { N = 300 };
  static tide_timer timers[N];
  uint64_t seqs[N];
  for (size_t i = 0; i < N; i++)
    seqs[i] = 10 + i * 0x10101u;
  uint64_t rng = 11;
  for (size_t i = N - 1; i > 0; i--) {
    size_t j = rng_below(&rng, (uint32_t)(i + 1));
    uint64_t tmp = seqs[i];
    seqs[i] = seqs[j];
    seqs[j] = tmp;
  }
  tide__timer_heap h;
  tide__timer_heap_init(&h);
  tide_timer first;
  prepare(&first);
  CHECK_OK(tide__timer_heap_insert(&h, &first, 5, 0));
  for (size_t i = 0; i < N; i++) {
    prepare(&timers[i]);
    CHECK_OK(tide__timer_heap_insert(&h, &timers[i], 1000, seqs[i]));
  }
  CHECK_EQ(N, h.far_size);
  audit_heap_shape(&h);
  tide__timer_heap_remove(&h, &first);
  CHECK_EQ(N, h.run_live);
  CHECK_EQ(0, h.far_size);
  audit_heap_shape(&h);
  uint64_t last = 0;
  for (size_t popped = 0; popped < N; popped++) {
    const tide__timer_entry *min = tide__timer_heap_min(&h);
    CHECK(min != NULL);
    CHECK_EQ(1000, min->deadline);
    if (popped > 0 && min->seq <= last)
      TIDE_TEST_FAIL("pop %zu: seq %llu after %llu", popped, (unsigned long long)min->seq,
                     (unsigned long long)last);
    last = min->seq;
    tide__timer_heap_remove(&h, min->timer);
    if (popped % 37 == 0)
      audit_heap_shape(&h);
  }
  CHECK(tide__timer_heap_min(&h) == NULL);
  tide__timer_heap_destroy(&h);
}

TIDE_TEST(timer_heap, update_with_newer_seq_moves_behind_equal_deadlines) {
  /* The restart rule: re-arming a timer gives it a new seq, so among equal deadlines it now comes
   * last, even though it was first. */
  tide_timer a, b, c;
  prepare(&a);
  prepare(&b);
  prepare(&c);
  tide__timer_heap h;
  tide__timer_heap_init(&h);
  CHECK_OK(tide__timer_heap_insert(&h, &a, 10, 0));
  CHECK_OK(tide__timer_heap_insert(&h, &b, 10, 1));
  CHECK_OK(tide__timer_heap_insert(&h, &c, 10, 2));
  CHECK(tide__timer_heap_min(&h)->timer == &a);
  tide__timer_heap_update(&h, &a, 10, 3);
  audit_heap_shape(&h);
  tide_timer *order[3];
  for (int i = 0; i < 3; i++) {
    order[i] = tide__timer_heap_min(&h)->timer;
    tide__timer_heap_remove(&h, order[i]);
  }
  CHECK(order[0] == &b);
  CHECK(order[1] == &c);
  CHECK(order[2] == &a);
  tide__timer_heap_destroy(&h);
}

TIDE_TEST(timer_heap, update_moves_up_and_down) {
  enum { N = 100 };
  static tide_timer timers[N];
  tide__timer_heap h;
  tide__timer_heap_init(&h);
  for (int i = 0; i < N; i++) {
    prepare(&timers[i]);
    CHECK_OK(tide__timer_heap_insert(&h, &timers[i], 100 + i, (uint64_t)i));
  }
  uint64_t seq = N;
  /* The deepest timer becomes the earliest. */
  tide__timer_heap_update(&h, &timers[N - 1], 0, seq++);
  audit_heap_shape(&h);
  CHECK(tide__timer_heap_min(&h)->timer == &timers[N - 1]);
  /* The root becomes the latest: the old second-earliest takes over. */
  tide__timer_heap_update(&h, &timers[N - 1], 100000, seq++);
  audit_heap_shape(&h);
  CHECK(tide__timer_heap_min(&h)->timer == &timers[0]);
  /* An update that keeps the key where it is changes nothing visible. */
  uint32_t idx = timers[50].private_heap_index;
  tide__timer_heap_update(&h, &timers[50], 150, 50);
  CHECK_EQ(idx, timers[50].private_heap_index);
  audit_heap_shape(&h);
  CHECK_EQ(N, h.size);
  tide__timer_heap_destroy(&h);
}

TIDE_TEST(timer_heap, remove_root_last_and_middle_keep_indices_right) {
  enum { N = 30 };
  static tide_timer timers[2 * N];
  tide__timer_heap h;
  tide__timer_heap_init(&h);
  for (int i = 0; i < N; i++) {
    prepare(&timers[i]);
    /* Descending deadlines: each is a new minimum, so each goes to the near heap and sifts all
     * the way up there. */
    CHECK_OK(tide__timer_heap_insert(&h, &timers[i], 1000 - i, (uint64_t)i));
    audit_heap_shape(&h);
  }
  CHECK_EQ(N, h.near_size);
  for (int i = N; i < 2 * N; i++) {
    prepare(&timers[i]);
    /* Later deadlines, descending too: these go to the far heap, each sifting all the way up. */
    CHECK_OK(tide__timer_heap_insert(&h, &timers[i], 3000 - i, (uint64_t)i));
    audit_heap_shape(&h);
  }
  CHECK_EQ(N, h.far_size);
  CHECK(tide__timer_heap_min(&h)->timer == &timers[N - 1]);
  tide__timer_heap_remove(&h, tide__timer_heap_min(&h)->timer); /* near root */
  audit_heap_shape(&h);
  tide__timer_heap_remove(&h, near_timer(&h, h.near_size - 1)); /* near last: no sift at all */
  audit_heap_shape(&h);
  tide__timer_heap_remove(&h, near_timer(&h, h.near_size / 2)); /* near middle */
  audit_heap_shape(&h);
  tide__timer_heap_remove(&h, far_timer(&h, 0)); /* far root */
  audit_heap_shape(&h);
  tide__timer_heap_remove(&h, far_timer(&h, h.far_size - 1)); /* far last: no sift at all */
  audit_heap_shape(&h);
  tide__timer_heap_remove(&h, far_timer(&h, h.far_size / 2)); /* far middle */
  audit_heap_shape(&h);
  CHECK_EQ(2 * N - 6, h.size);
  int found = 0;
  for (int i = 0; i < 2 * N; i++)
    found += tide__timer_heap_contains(&h, &timers[i]);
  CHECK_EQ(2 * N - 6, found);
  tide__timer_heap_destroy(&h);
}

TIDE_TEST(timer_heap, growth_past_first_capacity_keeps_indices_valid) {
  /* The array is realloc()ed as it grows; indices, not pointers, are stored in the timers, so
   * they must stay right across every move. */
  enum { N = 64 * 16 + 3 };
  static tide_timer timers[N];
  tide__timer_heap h;
  tide__timer_heap_init(&h);
  for (int i = 0; i < N; i++) {
    prepare(&timers[i]);
    CHECK_OK(tide__timer_heap_insert(&h, &timers[i], (i * 7919) % 1009, (uint64_t)i));
  }
  CHECK_EQ(N, h.size);
  CHECK(h.capacity >= N);
  audit_heap_shape(&h);
  for (int i = 0; i < N; i++)
    CHECK(tide__timer_heap_contains(&h, &timers[i]));
  tide__timer_heap_destroy(&h);
  CHECK_EQ(0, h.size);
  CHECK(h.far == NULL && h.near == NULL && h.run == NULL);
}

TIDE_TEST(timer_heap, extreme_deadlines_order_correctly) {
  tide_timer lo, mid, hi, hi2;
  prepare(&lo);
  prepare(&mid);
  prepare(&hi);
  prepare(&hi2);
  tide__timer_heap h;
  tide__timer_heap_init(&h);
  CHECK_OK(tide__timer_heap_insert(&h, &hi, INT64_MAX, 0));
  CHECK_OK(tide__timer_heap_insert(&h, &mid, 0, 1));
  CHECK_OK(tide__timer_heap_insert(&h, &hi2, INT64_MAX, 2));
  CHECK_OK(tide__timer_heap_insert(&h, &lo, INT64_MIN, 3));
  tide_timer *want[] = {&lo, &mid, &hi, &hi2};
  for (int i = 0; i < 4; i++) {
    const tide__timer_entry *min = tide__timer_heap_min(&h);
    CHECK(min != NULL);
    if (min->timer != want[i])
      TIDE_TEST_FAIL("pop %d: got deadline %lld seq %llu", i, (long long)min->deadline,
                     (unsigned long long)min->seq);
    tide__timer_heap_remove(&h, min->timer);
  }
  tide__timer_heap_destroy(&h);
}

TIDE_TEST(timer_heap, contains_rejects_a_timer_of_another_heap) {
  /* What tide_timer_stop relies on to refuse a timer armed on another loop. */
  tide_timer a, b;
  prepare(&a);
  prepare(&b);
  tide__timer_heap h1, h2;
  tide__timer_heap_init(&h1);
  tide__timer_heap_init(&h2);
  CHECK_OK(tide__timer_heap_insert(&h1, &a, 5, 0));
  CHECK(tide__timer_heap_contains(&h1, &a));
  CHECK(!tide__timer_heap_contains(&h2, &a)); /* h2 is empty */
  CHECK_OK(tide__timer_heap_insert(&h2, &b, 5, 0));
  /* Both timers sit at the near root of their heaps; the entry's pointer tells them apart. */
  CHECK_EQ(TIDE__TIMER_NEAR | 0, a.private_heap_index);
  CHECK_EQ(TIDE__TIMER_NEAR | 0, b.private_heap_index);
  CHECK(!tide__timer_heap_contains(&h2, &a));
  CHECK(!tide__timer_heap_contains(&h1, &b));
  tide__timer_heap_destroy(&h1);
  tide__timer_heap_destroy(&h2);
}
