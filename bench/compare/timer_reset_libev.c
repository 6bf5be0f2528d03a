/* bench/compare/timer_reset_libev.c — the "reset" workload (workload.h) written for libev.
 *
 * Idiomatic libev, as its manual's "Be smart about timeouts" section recommends for a timeout
 * that is pushed back on activity: set the watcher's `repeat` to the new timeout and call
 * ev_timer_again, which adjusts an active timer in place in the heap (no stop + start). The
 * manual's cheaper "let it expire and re-arm lazily" strategy is not used: it replaces the reset
 * with an application-side timestamp, which any library could do and which would then measure no
 * library at all. Batches of resets run in an ev_idle watcher, one batch per loop iteration, so
 * libev refreshes its cached time between batches itself. */
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>

#include "measure.h"
#include "workload.h"

typedef struct reset_run {
  ev_timer *timers;
  ev_idle driver; /* arms everything on its first call, then resets one batch per call */
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

static void on_timeout(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)w;
  (void)revents;
  reset_run *run = ev_userdata(loop);
  run->fired++;
}

static void stop_all(struct ev_loop *loop, reset_run *run) {
  ev_idle_stop(loop, &run->driver);
  for (size_t i = 0; run->timers != NULL && i < run->count; i++)
    ev_timer_stop(loop, &run->timers[i]);
}

/* Allocates the timer array and arms every timer, measuring the resident growth around it. */
static void arm_all(struct ev_loop *loop, reset_run *run) {
  run->rss_before = bench_rss_bytes();
  run->timers = malloc(run->count * sizeof *run->timers);
  if (run->timers == NULL) {
    run->failed = 1;
    return;
  }
  for (size_t i = 0; i < run->count; i++) {
    ev_init(&run->timers[i], on_timeout);
    run->timers[i].repeat = (double)reset_timeout_ms(&run->prng) / 1000.0;
    ev_timer_again(loop, &run->timers[i]);
  }
  run->rss_armed = bench_rss_bytes();
}

static void reset_batch(struct ev_loop *loop, reset_run *run) {
  size_t n = run->resets - run->done < RESET_BATCH ? run->resets - run->done : RESET_BATCH;
  for (size_t i = 0; i < n; i++) {
    ev_timer *timer = &run->timers[reset_target(&run->prng, run->count)];
    timer->repeat = (double)reset_timeout_ms(&run->prng) / 1000.0;
    ev_timer_again(loop, timer);
  }
  run->done += n;
}

static void drive(struct ev_loop *loop, ev_idle *w, int revents) {
  (void)w;
  (void)revents;
  reset_run *run = ev_userdata(loop);
  if (!run->armed) {
    run->armed = 1;
    arm_all(loop, run);
  } else {
    reset_batch(loop, run);
  }
  if (run->failed || run->done == run->resets)
    stop_all(loop, run);
}

int main(int argc, char **argv) {
  reset_run run = {.count = RESET_DEFAULT_TIMERS, .resets = RESET_DEFAULT_RESETS};
  if (bench_parse_counts(argc, argv, &run.count, &run.resets) != 0) {
    fprintf(stderr, "usage: %s [timers [resets]]\n", argv[0]);
    return 2;
  }
  run.prng = bench_prng_seeded(BENCH_SEED);
  bench_result r = {.lib = "libev", .workload = "reset", .timers = run.count};
  r.start = bench_cpu_now();
  struct ev_loop *loop = ev_default_loop(EVFLAG_AUTO);
  if (loop != NULL) {
    ev_set_userdata(loop, &run);
    ev_idle_init(&run.driver, drive);
    ev_idle_start(loop, &run.driver);
    ev_run(loop, 0);
  }
  r.end = bench_cpu_now();
  r.ops = run.done;
  r.rss_before = run.rss_before;
  r.rss_armed = run.rss_armed;
  r.ok = loop != NULL && !run.failed && run.fired == 0 && run.done == run.resets;
  /* Teardown is not part of the workload; process exit releases everything. */
  return bench_report(&r);
}
