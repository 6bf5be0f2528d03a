/* bench/executor/fib_tide.c — fork-join fib(n) on tide's executor, one job per call: spawn
 * fib(n-1) as a child job, compute fib(n-2) in place, join. The executor has one worker per CPU
 * (the default). Prints "fib_tide <n> <ms>". */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>

#include "bench_clock.h"
#include "tide.h"

typedef struct fib_call {
  tide_executor *ex;
  int n;
  long result;
} fib_call;

static void *fib(void *arg) {
  fib_call *c = arg;
  if (c->n < 2) {
    c->result = c->n;
    return NULL;
  }
  fib_call left = {c->ex, c->n - 1, 0}, right = {c->ex, c->n - 2, 0};
  tide_job *job;
  if (tide_executor_spawn(c->ex, fib, &left, 0, &job) != 0)
    abort();
  fib(&right);
  if (tide_job_join(job, NULL) != 0)
    abort();
  c->result = left.result + right.result;
  return NULL;
}

static long run(tide_executor *ex, int n) {
  fib_call root = {ex, n, 0};
  tide_job *job;
  if (tide_executor_spawn(ex, fib, &root, 0, &job) != 0 || tide_job_join(job, NULL) != 0)
    abort();
  return root.result;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 32;
  tide_executor *ex;
  if (tide_executor_new(&ex, NULL) != 0)
    return 1;
  (void)run(ex, 20); /* warm-up: threads started, job caches filled */
  int64_t t0 = bench_now_ns();
  long r = run(ex, n);
  int64_t t1 = bench_now_ns();
  tide_executor_stats st;
  tide_executor_stats_get(ex, &st);
  printf("fib_tide %d %.3f ms (result %ld, %u workers, %llu steals)\n", n, (double)(t1 - t0) / 1e6,
         r, st.workers, (unsigned long long)st.steals);
  tide_executor_shutdown(ex, TIDE_EXECUTOR_DRAIN);
  return 0;
}
