/* bench/compare/timer_fire_libev.c — the "fire" workload (workload.h) written for libev.
 *
 * Idiomatic libev: ev_timer watchers embedded in the program's own memory, initialised with
 * ev_timer_init and armed with ev_timer_start from a callback (an ev_idle watcher that stops
 * itself), then ev_run until no active watcher is left. The per-loop state is reached through
 * ev_userdata, as libev's documentation suggests. */
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>

#include "measure.h"
#include "workload.h"

typedef struct fire_run {
  ev_timer *timers;
  ev_idle arm;
  size_t count;
  size_t fired;
  long long rss_before;
  long long rss_armed;
  int failed;
} fire_run;

static void on_timeout(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)w;
  (void)revents;
  fire_run *run = ev_userdata(loop);
  run->fired++;
}

/* Allocates the timer array and arms every timer, measuring the resident growth around it. */
static void arm_all(struct ev_loop *loop, ev_idle *w, int revents) {
  (void)revents;
  fire_run *run = ev_userdata(loop);
  ev_idle_stop(loop, w);
  bench_prng prng = bench_prng_seeded(BENCH_SEED);
  run->rss_before = bench_rss_bytes();
  run->timers = malloc(run->count * sizeof *run->timers);
  if (run->timers == NULL) {
    run->failed = 1;
    return;
  }
  for (size_t i = 0; i < run->count; i++) {
    double ms = (double)fire_timeout_ms(&prng);
    ev_timer_init(&run->timers[i], on_timeout, ms / 1000.0, 0.0);
    ev_timer_start(loop, &run->timers[i]);
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
  bench_result r = {.lib = "libev", .workload = "fire", .timers = run.count};
  r.start = bench_cpu_now();
  struct ev_loop *loop = ev_default_loop(EVFLAG_AUTO);
  if (loop != NULL) {
    ev_set_userdata(loop, &run);
    ev_idle_init(&run.arm, arm_all);
    ev_idle_start(loop, &run.arm);
    ev_run(loop, 0);
  }
  r.end = bench_cpu_now();
  r.ops = run.fired;
  r.rss_before = run.rss_before;
  r.rss_armed = run.rss_armed;
  r.ok = loop != NULL && !run.failed && run.fired == run.count;
  /* Teardown is not part of the workload; process exit releases everything. */
  return bench_report(&r);
}
