/* tests/executor_util.h — what the executor's tests (tests/executor_test.c) and its bridge's
 * (tests/conformance/executor_bridge_test.c) share: an executor made to measure, a bounded wait
 * for a flag another thread sets, and trivial jobs. */
#ifndef TIDE_TESTS_EXECUTOR_UTIL_H
#define TIDE_TESTS_EXECUTOR_UTIL_H

#include <stdatomic.h>
#include <stdint.h>

#include "harness.h"
#include "tide.h"

#include "core/sys/clock.h"
#include "core/sys/thread.h"

static inline tide_executor *new_executor(unsigned workers, unsigned blocking_max,
                                          int64_t spin_ns) {
  tide_executor_options o;
  tide_executor_options_init(&o);
  o.workers = workers;
  o.blocking_max = blocking_max;
  o.spin_ns = spin_ns;
  tide_executor *ex = NULL;
  CHECK_OK(tide_executor_new(&ex, &o));
  CHECK(ex != NULL);
  return ex;
}

/* Waits (bounded) until *flag becomes nonzero; fails the test after `ms`. */
static inline void await_flag(atomic_int *flag, int ms, const char *what) {
  int64_t deadline = tide__clock_now_ns() + (int64_t)ms * 1000000;
  while (atomic_load(flag) == 0) {
    if (tide__clock_now_ns() > deadline)
      TIDE_TEST_FAIL("timed out after %d ms waiting for %s", ms, what);
    tide__thread_yield();
  }
}

/* Jobs: one that returns its argument, one that sets the flag it points to. */
static inline void *return_arg(void *arg) {
  return arg;
}

static inline void *set_flag(void *arg) {
  atomic_store((atomic_int *)arg, 1);
  return arg;
}

#endif
