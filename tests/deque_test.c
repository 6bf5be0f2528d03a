/* tests/deque_test.c — the Chase–Lev deque: order, and every item taken exactly once while one
 * owner pushes and pops and up to seven thieves steal, including while the buffer grows. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>

#include "core/executor/deque.h"
#include "executor_scale.h"
#include "harness.h"

static void *item_of(long i) {
  return (void *)(uintptr_t)(i + 1);
}

static long index_of(void *item) {
  return (long)(uintptr_t)item - 1;
}

TIDE_TEST(deque, pop_is_lifo_and_steal_is_fifo) {
  tide__deque d;
  CHECK_OK(tide__deque_init(&d, 4));
  for (long i = 0; i < 10; i++) /* past the initial capacity: grows twice */
    CHECK_OK(tide__deque_push(&d, item_of(i)));
  CHECK_EQ(10, tide__deque_size(&d));
  void *got = NULL;
  CHECK_EQ(TIDE__STEAL_OK, tide__deque_steal(&d, &got));
  CHECK_EQ(0, index_of(got));
  CHECK_EQ(9, index_of(tide__deque_pop(&d)));
  CHECK_EQ(8, index_of(tide__deque_pop(&d)));
  CHECK_EQ(TIDE__STEAL_OK, tide__deque_steal(&d, &got));
  CHECK_EQ(1, index_of(got));
  for (long i = 7; i >= 2; i--)
    CHECK_EQ(i, index_of(tide__deque_pop(&d)));
  CHECK(tide__deque_pop(&d) == NULL);
  CHECK_EQ(TIDE__STEAL_EMPTY, tide__deque_steal(&d, &got));
  CHECK_EQ(0, tide__deque_size(&d));
  tide__deque_destroy(&d);
}

typedef struct race {
  tide__deque deque;
  long items;
  atomic_uchar *taken; /* per item: how many times it was taken */
  atomic_int done;     /* the owner has finished */
  atomic_long stolen;
  int burst; /* pushes between the owner's pops */
} race;

static void take(race *r, void *item) {
  long i = index_of(item);
  if (i < 0 || i >= r->items)
    TIDE_TEST_FAIL("took a value that was never pushed: %ld", i);
  atomic_fetch_add_explicit(&r->taken[i], 1, memory_order_relaxed);
}

static void *thief(void *arg) {
  race *r = arg;
  long mine = 0;
  for (;;) {
    int done = atomic_load_explicit(&r->done, memory_order_acquire);
    void *item;
    int rc = tide__deque_steal(&r->deque, &item);
    if (rc == TIDE__STEAL_OK) {
      take(r, item);
      mine++;
    } else if (rc == TIDE__STEAL_EMPTY) {
      if (done)
        break;       /* the owner stopped before this look, and the deque was empty at it */
      sched_yield(); /* 2 cores, up to 8 threads: let the owner push */
    }
  }
  atomic_fetch_add_explicit(&r->stolen, mine, memory_order_relaxed);
  return NULL;
}

/* The owner pushes `burst` items, pops one, and repeats; at the end it pops what is left. */
static void own(race *r) {
  long next = 0;
  unsigned seed = 12345;
  while (next < r->items) {
    int n = r->burst > 1 ? 1 + (int)((seed = seed * 1103515245u + 12345u) >> 16) % r->burst : 1;
    for (int k = 0; k < n && next < r->items; k++)
      CHECK_OK(tide__deque_push(&r->deque, item_of(next++)));
    void *item = tide__deque_pop(&r->deque);
    if (item != NULL)
      take(r, item);
  }
  void *item;
  while ((item = tide__deque_pop(&r->deque)) != NULL)
    take(r, item);
  atomic_store_explicit(&r->done, 1, memory_order_release);
}

static void run_race(int threads, long items, size_t capacity, int burst) {
  race r;
  CHECK_OK(tide__deque_init(&r.deque, capacity));
  r.items = items;
  r.taken = calloc((size_t)items, sizeof *r.taken);
  CHECK(r.taken != NULL);
  atomic_init(&r.done, 0);
  atomic_init(&r.stolen, 0);
  r.burst = burst;
  pthread_t t[8];
  for (int i = 0; i < threads - 1; i++)
    CHECK_EQ(0, pthread_create(&t[i], NULL, thief, &r));
  own(&r);
  for (int i = 0; i < threads - 1; i++)
    CHECK_EQ(0, pthread_join(t[i], NULL));
  for (long i = 0; i < items; i++) {
    int n = atomic_load_explicit(&r.taken[i], memory_order_relaxed);
    if (n != 1)
      TIDE_TEST_FAIL("%d thread(s): item %ld was taken %d times, expected exactly 1", threads, i,
                     n);
  }
  if (threads == 1)
    CHECK_EQ(0, atomic_load(&r.stolen));
  free(r.taken);
  tide__deque_destroy(&r.deque);
}

TIDE_TEST(deque, owner_and_thieves_take_every_item_exactly_once_with_1_to_8_threads) {
  long items = tide_test_scale(1000000, 20000);
  for (int threads = 1; threads <= 8; threads++)
    run_race(threads, items, 64, 8);
}

TIDE_TEST(deque, grows_while_thieves_steal) {
  /* A tiny initial buffer and bursts of up to 4096 pushes between pops: the buffer doubles many
   * times with thieves reading the old ones; every item still comes out exactly once, and the
   * retired buffers are freed (ASan and valgrind check the leak). */
  long items = tide_test_scale(2000000, 20000);
  run_race(4, items, 2, 4096);
  run_race(8, items / 2, 2, 4096);
}
