/* bench/executor/bench_clock.h — the one clock every executor benchmark program reads. */
#ifndef TIDE_BENCH_EXECUTOR_CLOCK_H
#define TIDE_BENCH_EXECUTOR_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t bench_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#endif
