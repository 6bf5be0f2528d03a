// bench/executor/fib_tbb.cc — fork-join fib(n) with oneTBB's task_group, one task per call, as
// oneTBB's own documentation writes it: g.run() for fib(n-1), fib(n-2) in place, g.wait().
// Threads: oneTBB's default arena (one per CPU). Prints "fib_tbb <n> <ms>".
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>

#include <cstdio>
#include <cstdlib>

extern "C" {
#include "bench_clock.h"
}

static long fib(int n) {
  if (n < 2)
    return n;
  long x, y;
  tbb::task_group g;
  g.run([&] { x = fib(n - 1); });
  y = fib(n - 2);
  g.wait();
  return x + y;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? std::atoi(argv[1]) : 32;
  (void)fib(20);  // warm-up: the arena's workers exist
  int64_t t0 = bench_now_ns();
  long r = fib(n);
  int64_t t1 = bench_now_ns();
  std::printf("fib_tbb %d %.3f ms (result %ld, %d threads)\n", n, (double)(t1 - t0) / 1e6, r,
              tbb::this_task_arena::max_concurrency());
  return 0;
}
