/* bench/compare/timer_reset_libuv.c — the "reset" workload (workload.h) written for libuv.
 *
 * Idiomatic libuv: calling uv_timer_start on an active timer is libuv's documented way to push
 * a timeout back ("if the timer is already active, it is simply updated"); uv_timer_again would
 * do the same work (stop + start) but only with the repeat interval, not a new timeout. Batches of
 * resets run in a uv_idle_t callback, one batch per loop iteration, so libuv refreshes its cached
 * time between batches itself. */
#define _POSIX_C_SOURCE 200809L /* uv.h uses POSIX types (pthread_rwlock_t) that -std=c11 hides */
#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

#include "measure.h"
#include "workload.h"

typedef struct reset_run {
  uv_timer_t *timers;
  uv_idle_t driver; /* arms everything on its first call, then resets one batch per call */
  bench_prng prng;
  size_t count;
  size_t resets;
  size_t done;
  size_t fired; /* must stay 0: every timeout is far beyond the run */
  long long rss_before;
  long long rss_armed;
  int armed;
  int failed;
} reset_run;

static void on_timeout(uv_timer_t *timer) {
  reset_run *run = timer->loop->data;
  run->fired++;
}

static void stop_all(reset_run *run) {
  uv_idle_stop(&run->driver);
  for (size_t i = 0; run->timers != NULL && i < run->count; i++)
    uv_timer_stop(&run->timers[i]);
}

/* Allocates the timer array and arms every timer, measuring the resident growth around it. */
static void arm_all(uv_loop_t *loop, reset_run *run) {
  run->rss_before = bench_rss_bytes();
  run->timers = malloc(run->count * sizeof *run->timers);
  if (run->timers == NULL) {
    run->failed = 1;
    return;
  }
  for (size_t i = 0; i < run->count; i++) {
    if (uv_timer_init(loop, &run->timers[i]) != 0 ||
        uv_timer_start(&run->timers[i], on_timeout, reset_timeout_ms(&run->prng), 0) != 0)
      run->failed = 1;
  }
  run->rss_armed = bench_rss_bytes();
}

static void reset_batch(reset_run *run) {
  size_t n = run->resets - run->done < RESET_BATCH ? run->resets - run->done : RESET_BATCH;
  for (size_t i = 0; i < n; i++) {
    uv_timer_t *timer = &run->timers[reset_target(&run->prng, run->count)];
    if (uv_timer_start(timer, on_timeout, reset_timeout_ms(&run->prng), 0) != 0)
      run->failed = 1;
  }
  run->done += n;
}

static void drive(uv_idle_t *idle) {
  reset_run *run = idle->loop->data;
  if (!run->armed) {
    run->armed = 1;
    arm_all(idle->loop, run);
  } else {
    reset_batch(run);
  }
  if (run->failed || run->done == run->resets)
    stop_all(run);
}

int main(int argc, char **argv) {
  reset_run run = {.count = RESET_DEFAULT_TIMERS, .resets = RESET_DEFAULT_RESETS};
  if (bench_parse_counts(argc, argv, &run.count, &run.resets) != 0) {
    fprintf(stderr, "usage: %s [timers [resets]]\n", argv[0]);
    return 2;
  }
  run.prng = bench_prng_seeded(BENCH_SEED);
  bench_result r = {.lib = "libuv", .workload = "reset", .timers = run.count};
  r.start = bench_cpu_now();
  uv_loop_t *loop = uv_default_loop();
  int rc = loop != NULL ? 0 : -1;
  if (rc == 0) {
    loop->data = &run;
    rc = uv_idle_init(loop, &run.driver);
  }
  if (rc == 0)
    rc = uv_idle_start(&run.driver, drive);
  if (rc == 0)
    rc = uv_run(loop, UV_RUN_DEFAULT);
  r.end = bench_cpu_now();
  r.ops = run.done;
  r.rss_before = run.rss_before;
  r.rss_armed = run.rss_armed;
  r.ok = rc == 0 && !run.failed && run.fired == 0 && run.done == run.resets;
  /* Teardown is not part of the workload; process exit releases everything. */
  return bench_report(&r);
}
