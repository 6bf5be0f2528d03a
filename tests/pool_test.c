/* tests/pool_test.c — the per-loop object pool (core/pool.h) that handles are carved from:
 * address order, last-in-first-out reuse, alignment, and growth by larger chunks. */
#include <stdint.h>
#include <string.h>

#include "harness.h"

#include "core/pool.h"

TIDE_TEST(pool, objects_are_carved_in_address_order_and_recycled_last_in_first_out) {
  tide__pool pool;
  tide__pool_init(&pool, 40);
  CHECK_EQ(48, pool.object_size); /* rounded up to max_align_t's alignment */
  unsigned char *first = tide__pool_get(&pool);
  CHECK(first != NULL);
  unsigned char *prev = first;
  for (int i = 1; i < 20; i++) {
    unsigned char *o = tide__pool_get(&pool);
    CHECK(o == prev + pool.object_size); /* carved one by one from the same chunk */
    prev = o;
  }
  CHECK_EQ(20, pool.live);
  tide__pool_put(&pool, first + 5 * pool.object_size);
  tide__pool_put(&pool, first);
  CHECK(tide__pool_get(&pool) == first);
  CHECK(tide__pool_get(&pool) == first + 5 * pool.object_size);
  CHECK(tide__pool_get(&pool) == prev + pool.object_size); /* free list empty: carving resumes */
  CHECK_EQ(21, pool.live);
  tide__pool_destroy(&pool);
  CHECK_EQ(0, pool.live);
}

TIDE_TEST(pool, objects_of_whole_cache_lines_start_on_a_cache_line) {
  tide__pool pool;
  tide__pool_init(&pool, 64);
  for (int i = 0; i < 100; i++)
    CHECK_EQ(0, (uintptr_t)tide__pool_get(&pool) % 64);
  tide__pool_destroy(&pool);
}

TIDE_TEST(pool, a_full_chunk_is_followed_by_a_larger_one) {
  tide__pool pool;
  tide__pool_init(&pool, 16);
  /* Past the first chunks (32, then 64 objects), every object is distinct and writable. */
  enum { N = 200 };
  unsigned char *objects[N];
  for (int i = 0; i < N; i++) {
    objects[i] = tide__pool_get(&pool);
    CHECK(objects[i] != NULL);
    memset(objects[i], i, 16);
  }
  for (int i = 0; i < N; i++)
    CHECK_EQ((unsigned char)i, objects[i][15]);
  for (int i = 0; i < N; i++)
    tide__pool_put(&pool, objects[i]);
  CHECK_EQ(0, pool.live);
  tide__pool_destroy(&pool);
}
