/* tests/executor_scale.h — how much work the executor's stress tests do.
 *
 * The full sizes (millions of deque items, thousands of wake-up rounds) run in a few seconds on
 * two cores. ThreadSanitizer slows threads 5-15x and valgrind serialises them, so there the
 * counts shrink — still large enough that each race the test hunts has many chances to show. */
#ifndef TIDE_TESTS_EXECUTOR_SCALE_H
#define TIDE_TESTS_EXECUTOR_SCALE_H

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define TIDE_TEST_UNDER_VALGRIND() (RUNNING_ON_VALGRIND != 0)
#endif
#endif
#ifndef TIDE_TEST_UNDER_VALGRIND
#define TIDE_TEST_UNDER_VALGRIND() 0
#endif

#if defined(__SANITIZE_THREAD__)
#define TIDE_TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TIDE_TEST_TSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define TIDE_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TIDE_TEST_ASAN 1
#endif
#endif

/* `full` under a plain build, a tenth under ASan, a fifth under TSan, a hundredth under
 * valgrind (never below `floor`). */
static inline long tide_test_scale(long full, long floor) {
  long n = full;
  if (TIDE_TEST_UNDER_VALGRIND())
    n = full / 100;
#if defined(TIDE_TEST_TSAN)
  else
    n = full / 5;
#elif defined(TIDE_TEST_ASAN)
  else
    n = full / 10;
#endif
  return n < floor ? floor : n;
}

#endif
