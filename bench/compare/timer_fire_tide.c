/* bench/compare/timer_fire_tide.c — the "fire" workload (workload.h) written for tide.
 *
 * Idiomatic tide: caller-owned tide_timer structs (no allocation per timer), armed with
 * tide_timer_start from a callback the loop runs (tide_call_soon), then tide_loop_run until the
 * loop runs out of work, i.e. until the last timer has fired. */
#include <stdio.h>
#include <stdlib.h>

#include "measure.h"
#include "tide.h"
#include "workload.h"

typedef struct fire_run {
  tide_loop *loop;
  tide_timer *timers;
  size_t count;
  size_t fired;
  long long rss_before;
  long long rss_armed;
  int failed;
} fire_run;

static void on_timeout(tide_timer *timer, void *arg) {
  (void)timer;
  fire_run *run = arg;
  run->fired++;
}

/* Allocates the timer array and arms every timer, measuring the resident growth around it. */
static void arm_all(void *arg) {
  fire_run *run = arg;
  bench_prng prng = bench_prng_seeded(BENCH_SEED);
  run->rss_before = bench_rss_bytes();
  run->timers = malloc(run->count * sizeof *run->timers);
  if (run->timers == NULL) {
    run->failed = 1;
    return;
  }
  for (size_t i = 0; i < run->count; i++) {
    int64_t ms = (int64_t)fire_timeout_ms(&prng);
    if (tide_timer_init(&run->timers[i], on_timeout, run) != 0 ||
        tide_timer_start(run->loop, &run->timers[i], ms * 1000000, 0) != 0) {
      run->failed = 1;
      return;
    }
  }
  run->rss_armed = bench_rss_bytes();
}

int main(int argc, char **argv) {
  fire_run run = {.count = FIRE_DEFAULT_TIMERS};
  size_t unused = 0;
  if (bench_parse_counts(argc, argv, &run.count, &unused) != 0) {
    fprintf(stderr, "usage: %s [timers]\n", argv[0]);
    return 2;
  }
  bench_result r = {.lib = "tide", .workload = "fire", .timers = run.count};
  r.start = bench_cpu_now();
  int rc = tide_loop_new(&run.loop, NULL);
  if (rc == 0)
    rc = tide_call_soon(run.loop, arm_all, &run);
  if (rc == 0)
    rc = tide_loop_run(run.loop);
  r.end = bench_cpu_now();
  r.ops = run.fired;
  r.rss_before = run.rss_before;
  r.rss_armed = run.rss_armed;
  r.ok = rc == 0 && !run.failed && run.fired == run.count;
  /* Teardown is not part of the workload; process exit releases everything. */
  return bench_report(&r);
}
