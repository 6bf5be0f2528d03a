/* bench/compare/timer_reset_libevent.c — the "reset" workload (workload.h) written for libevent.
 *
 * Idiomatic libevent 2: evtimer_add on an event that is already pending replaces its timeout,
 * which libevent does by adjusting the event in place in its min-heap. Batches of resets run in
 * the callback of a zero-timeout evtimer that re-adds itself, one batch per loop iteration: inside
 * a callback libevent uses its cached time instead of reading the clock on every add, as it would
 * in a server. */
#define _POSIX_C_SOURCE 200809L /* struct timeval's suseconds_t is POSIX, hidden by -std=c11 */
#include <event2/event.h>
#include <event2/event_struct.h>
#include <stdio.h>
#include <stdlib.h>

#include "measure.h"
#include "workload.h"

typedef struct reset_run {
  struct event_base *base;
  struct event *timers;
  struct event driver; /* arms everything on its first call, then resets one batch per call */
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

static struct timeval timeval_of_ms(uint64_t ms) {
  struct timeval tv;
  tv.tv_sec = (time_t)(ms / 1000);
  tv.tv_usec = (suseconds_t)(ms % 1000 * 1000);
  return tv;
}

static void on_timeout(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  reset_run *run = arg;
  run->fired++;
}

static void stop_all(reset_run *run) {
  for (size_t i = 0; run->timers != NULL && i < run->count; i++)
    evtimer_del(&run->timers[i]);
}

/* Allocates the timer array and arms every timer, measuring the resident growth around it. */
static void arm_all(reset_run *run) {
  run->rss_before = bench_rss_bytes();
  run->timers = malloc(run->count * sizeof *run->timers);
  if (run->timers == NULL) {
    run->failed = 1;
    return;
  }
  for (size_t i = 0; i < run->count; i++) {
    struct timeval tv = timeval_of_ms(reset_timeout_ms(&run->prng));
    if (evtimer_assign(&run->timers[i], run->base, on_timeout, run) != 0 ||
        evtimer_add(&run->timers[i], &tv) != 0)
      run->failed = 1;
  }
  run->rss_armed = bench_rss_bytes();
}

static void reset_batch(reset_run *run) {
  size_t n = run->resets - run->done < RESET_BATCH ? run->resets - run->done : RESET_BATCH;
  for (size_t i = 0; i < n; i++) {
    struct event *timer = &run->timers[reset_target(&run->prng, run->count)];
    struct timeval tv = timeval_of_ms(reset_timeout_ms(&run->prng));
    if (evtimer_add(timer, &tv) != 0)
      run->failed = 1;
  }
  run->done += n;
}

static void drive(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  reset_run *run = arg;
  if (!run->armed) {
    run->armed = 1;
    arm_all(run);
  } else {
    reset_batch(run);
  }
  struct timeval now = {0, 0};
  if (run->failed || run->done == run->resets || evtimer_add(&run->driver, &now) != 0)
    stop_all(run);
}

int main(int argc, char **argv) {
  reset_run run = {.count = RESET_DEFAULT_TIMERS, .resets = RESET_DEFAULT_RESETS};
  if (bench_parse_counts(argc, argv, &run.count, &run.resets) != 0) {
    fprintf(stderr, "usage: %s [timers [resets]]\n", argv[0]);
    return 2;
  }
  run.prng = bench_prng_seeded(BENCH_SEED);
  bench_result r = {.lib = "libevent", .workload = "reset", .timers = run.count};
  r.start = bench_cpu_now();
  run.base = event_base_new();
  int rc = run.base != NULL ? 0 : -1;
  struct timeval now = {0, 0};
  if (rc == 0)
    rc = evtimer_assign(&run.driver, run.base, drive, &run);
  if (rc == 0)
    rc = evtimer_add(&run.driver, &now);
  if (rc == 0)
    rc = event_base_dispatch(run.base); /* 1: returned because no event was left */
  r.end = bench_cpu_now();
  r.ops = run.done;
  r.rss_before = run.rss_before;
  r.rss_armed = run.rss_armed;
  r.ok = rc >= 0 && !run.failed && run.fired == 0 && run.done == run.resets;
  /* Teardown is not part of the workload; process exit releases everything. */
  return bench_report(&r);
}
