/* bench/compare/timer_fire_libevent.c — the "fire" workload (workload.h) written for libevent.
 *
 * Idiomatic libevent 2: struct event embedded in the program's own memory (event_struct.h),
 * evtimer_assign + evtimer_add from a callback (a zero-timeout evtimer that kicks things off, so
 * libevent's cached time is in force as it is in any server), then event_base_dispatch until no
 * event is pending. */
#define _POSIX_C_SOURCE 200809L /* struct timeval's suseconds_t is POSIX, hidden by -std=c11 */
#include <event2/event.h>
#include <event2/event_struct.h>
#include <stdio.h>
#include <stdlib.h>

#include "measure.h"
#include "workload.h"

typedef struct fire_run {
  struct event_base *base;
  struct event *timers;
  struct event arm;
  size_t count;
  size_t fired;
  long long rss_before;
  long long rss_armed;
  int failed;
} fire_run;

static struct timeval timeval_of_ms(uint64_t ms) {
  struct timeval tv;
  tv.tv_sec = (time_t)(ms / 1000);
  tv.tv_usec = (suseconds_t)(ms % 1000 * 1000);
  return tv;
}

static void on_timeout(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  fire_run *run = arg;
  run->fired++;
}

/* Allocates the timer array and arms every timer, measuring the resident growth around it. */
static void arm_all(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  fire_run *run = arg;
  bench_prng prng = bench_prng_seeded(BENCH_SEED);
  run->rss_before = bench_rss_bytes();
  run->timers = malloc(run->count * sizeof *run->timers);
  if (run->timers == NULL) {
    run->failed = 1;
    return;
  }
  for (size_t i = 0; i < run->count; i++) {
    struct timeval tv = timeval_of_ms(fire_timeout_ms(&prng));
    if (evtimer_assign(&run->timers[i], run->base, on_timeout, run) != 0 ||
        evtimer_add(&run->timers[i], &tv) != 0) {
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
  bench_result r = {.lib = "libevent", .workload = "fire", .timers = run.count};
  r.start = bench_cpu_now();
  run.base = event_base_new();
  int rc = run.base != NULL ? 0 : -1;
  struct timeval now = {0, 0};
  if (rc == 0)
    rc = evtimer_assign(&run.arm, run.base, arm_all, &run);
  if (rc == 0)
    rc = evtimer_add(&run.arm, &now);
  if (rc == 0)
    rc = event_base_dispatch(run.base); /* 1: returned because no event was left */
  r.end = bench_cpu_now();
  r.ops = run.fired;
  r.rss_before = run.rss_before;
  r.rss_armed = run.rss_armed;
  r.ok = rc >= 0 && !run.failed && run.fired == run.count;
  /* Teardown is not part of the workload; process exit releases everything. */
  return bench_report(&r);
}
