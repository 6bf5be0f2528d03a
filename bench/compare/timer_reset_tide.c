/* bench/compare/timer_reset_tide.c — the "reset" workload (workload.h) written for tide.
 *
 * Idiomatic tide: caller-owned tide_timer structs re-armed with tide_timer_reset, the call made
 * for the idle-timeout pattern (it moves the timer within the heap in one sift). Batches of
 * resets run as tide_call_soon callbacks, one per tick, so the cached clock is refreshed between
 * batches by the loop itself. */
#include <stdio.h>
#include <stdlib.h>

#include "measure.h"
#include "tide.h"
#include "workload.h"

typedef struct reset_run {
  tide_loop *loop;
  tide_timer *timers;
  bench_prng prng;
  size_t count;
  size_t resets;
  size_t done;
  size_t fired; /* must stay 0: every timeout is far beyond the run */
  long long rss_before;
  long long rss_armed;
  int failed;
} reset_run;

static const int64_t NS_PER_MS = 1000000;

static void on_timeout(tide_timer *timer, void *arg) {
  (void)timer;
  reset_run *run = arg;
  run->fired++;
}

static void stop_all(reset_run *run) {
  for (size_t i = 0; i < run->count; i++)
    tide_timer_stop(run->loop, &run->timers[i]);
}

/* Resets one batch of pseudo-random timers, then yields to the loop until the next tick. */
static void reset_batch(void *arg) {
  reset_run *run = arg;
  size_t n = run->resets - run->done < RESET_BATCH ? run->resets - run->done : RESET_BATCH;
  for (size_t i = 0; i < n; i++) {
    tide_timer *timer = &run->timers[reset_target(&run->prng, run->count)];
    int64_t ms = (int64_t)reset_timeout_ms(&run->prng);
    if (tide_timer_reset(run->loop, timer, ms * NS_PER_MS) != 0)
      run->failed = 1;
  }
  run->done += n;
  if (run->done < run->resets && !run->failed && tide_call_soon(run->loop, reset_batch, run) == 0)
    return;
  stop_all(run);
}

/* Allocates the timer array and arms every timer, measuring the resident growth around it. */
static void arm_all(void *arg) {
  reset_run *run = arg;
  run->rss_before = bench_rss_bytes();
  run->timers = malloc(run->count * sizeof *run->timers);
  if (run->timers == NULL) {
    run->failed = 1;
    return;
  }
  for (size_t i = 0; i < run->count; i++) {
    int64_t ms = (int64_t)reset_timeout_ms(&run->prng);
    if (tide_timer_init(&run->timers[i], on_timeout, run) != 0 ||
        tide_timer_start(run->loop, &run->timers[i], ms * NS_PER_MS, 0) != 0)
      run->failed = 1;
  }
  run->rss_armed = bench_rss_bytes();
  if (run->failed || tide_call_soon(run->loop, reset_batch, run) != 0)
    stop_all(run);
}

int main(int argc, char **argv) {
  reset_run run = {.count = RESET_DEFAULT_TIMERS, .resets = RESET_DEFAULT_RESETS};
  if (bench_parse_counts(argc, argv, &run.count, &run.resets) != 0) {
    fprintf(stderr, "usage: %s [timers [resets]]\n", argv[0]);
    return 2;
  }
  run.prng = bench_prng_seeded(BENCH_SEED);
  bench_result r = {.lib = "tide", .workload = "reset", .timers = run.count};
  r.start = bench_cpu_now();
  int rc = tide_loop_new(&run.loop, NULL);
  if (rc == 0)
    rc = tide_call_soon(run.loop, arm_all, &run);
  if (rc == 0)
    rc = tide_loop_run(run.loop);
  r.end = bench_cpu_now();
  r.ops = run.done;
  r.rss_before = run.rss_before;
  r.rss_armed = run.rss_armed;
  r.ok = rc == 0 && !run.failed && run.fired == 0 && run.done == run.resets;
  /* Teardown is not part of the workload; process exit releases everything. */
  return bench_report(&r);
}
