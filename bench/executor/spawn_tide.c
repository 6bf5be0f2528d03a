/* bench/executor/spawn_tide.c — spawn throughput of empty jobs on tide's executor.
 *
 *   spawn_tide outside <jobs>   the main thread (not a worker) spawns detached empty jobs into
 *                               the injection queue; timed until the last one has run.
 *   spawn_tide inside <jobs>    one job on a worker spawns them into its own deque (the other
 *                               workers steal); timed the same way.
 * Prints millions of jobs per second. Each job does one relaxed atomic increment, the least a
 * job can do for its completion to be observable. */
#define _POSIX_C_SOURCE 200809L
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_clock.h"
#include "tide.h"

static atomic_long done;
static tide_executor *ex;
static long jobs;

static void *empty_job(void *arg) {
  atomic_fetch_add_explicit(&done, 1, memory_order_relaxed);
  return arg;
}

static void spawn_all(void) {
  for (long i = 0; i < jobs; i++)
    if (tide_executor_spawn(ex, empty_job, NULL, 0, NULL) != 0)
      abort();
}

static void *spawner(void *arg) {
  spawn_all();
  return arg;
}

static double run(int inside) {
  atomic_store(&done, 0);
  int64_t t0 = bench_now_ns();
  if (inside) {
    if (tide_executor_spawn(ex, spawner, NULL, 0, NULL) != 0)
      abort();
  } else {
    spawn_all();
  }
  while (atomic_load_explicit(&done, memory_order_relaxed) < jobs)
    sched_yield();
  int64_t t1 = bench_now_ns();
  return (double)jobs * 1e3 / (double)(t1 - t0);
}

int main(int argc, char **argv) {
  int inside = argc > 1 && strcmp(argv[1], "inside") == 0;
  jobs = argc > 2 ? atol(argv[2]) : 1000000;
  if (tide_executor_new(&ex, NULL) != 0)
    return 1;
  long full = jobs;
  jobs = full / 10 + 1;
  (void)run(inside); /* warm-up */
  jobs = full;
  printf("spawn_tide %s %.2f Mjobs/s\n", inside ? "inside" : "outside", run(inside));
  tide_executor_shutdown(ex, TIDE_EXECUTOR_DRAIN);
  return 0;
}
