/* bench/executor/fib_omp.c — fork-join fib(n) with OpenMP tasks, one task per call, the way the
 * OpenMP examples write it: `omp task shared(x)` for fib(n-1), fib(n-2) in place, `omp
 * taskwait`; one `parallel` region whose `single` thread starts the recursion. Threads: the
 * runtime's default (one per CPU). Prints "fib_omp <n> <ms>". */
#define _POSIX_C_SOURCE 200809L
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_clock.h"

static long fib(int n) {
  if (n < 2)
    return n;
  long x, y;
#pragma omp task shared(x)
  x = fib(n - 1);
  y = fib(n - 2);
#pragma omp taskwait
  return x + y;
}

static long run(int n) {
  long r = 0;
#pragma omp parallel
#pragma omp single
  r = fib(n);
  return r;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 32;
  (void)run(20); /* warm-up: the thread team exists */
  int64_t t0 = bench_now_ns();
  long r = run(n);
  int64_t t1 = bench_now_ns();
  printf("fib_omp %d %.3f ms (result %ld, %d threads)\n", n, (double)(t1 - t0) / 1e6, r,
         omp_get_max_threads());
  return 0;
}
