/* bench/executor/fib_seq.c — fib(n), the plain recursive function: the floor every parallel
 * version is measured against. Prints "fib_seq <n> <ms>". */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>

#include "bench_clock.h"

static long fib(int n) {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

/* Keeps the compiler from folding the call away. */
static long (*volatile fib_ptr)(int) = fib;

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 32;
  (void)fib_ptr(20);
  int64_t t0 = bench_now_ns();
  long r = fib_ptr(n);
  int64_t t1 = bench_now_ns();
  printf("fib_seq %d %.3f ms (result %ld)\n", n, (double)(t1 - t0) / 1e6, r);
  return 0;
}
