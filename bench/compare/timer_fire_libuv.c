/* bench/compare/timer_fire_libuv.c — the "fire" workload (workload.h) written for libuv.
 *
 * Idiomatic libuv: uv_timer_t handles in the program's own memory, uv_timer_init then
 * uv_timer_start from a callback (a uv_idle_t that stops itself), then uv_run(UV_RUN_DEFAULT)
 * until no active handle is left. The per-loop state hangs off loop->data. */
#define _POSIX_C_SOURCE 200809L /* uv.h uses POSIX types (pthread_rwlock_t) that -std=c11 hides */
#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

#include "measure.h"
#include "workload.h"

typedef struct fire_run {
  uv_timer_t *timers;
  uv_idle_t arm;
  size_t count;
  size_t fired;
  long long rss_before;
  long long rss_armed;
  int failed;
} fire_run;

static void on_timeout(uv_timer_t *timer) {
  fire_run *run = timer->loop->data;
  run->fired++;
}

/* Allocates the timer array and arms every timer, measuring the resident growth around it. */
static void arm_all(uv_idle_t *idle) {
  fire_run *run = idle->loop->data;
  uv_idle_stop(idle);
  bench_prng prng = bench_prng_seeded(BENCH_SEED);
  run->rss_before = bench_rss_bytes();
  run->timers = malloc(run->count * sizeof *run->timers);
  if (run->timers == NULL) {
    run->failed = 1;
    return;
  }
  for (size_t i = 0; i < run->count; i++) {
    uint64_t ms = fire_timeout_ms(&prng);
    if (uv_timer_init(idle->loop, &run->timers[i]) != 0 ||
        uv_timer_start(&run->timers[i], on_timeout, ms, 0) != 0) {
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
  bench_result r = {.lib = "libuv", .workload = "fire", .timers = run.count};
  r.start = bench_cpu_now();
  uv_loop_t *loop = uv_default_loop();
  int rc = loop != NULL ? 0 : -1;
  if (rc == 0) {
    loop->data = &run;
    rc = uv_idle_init(loop, &run.arm);
  }
  if (rc == 0)
    rc = uv_idle_start(&run.arm, arm_all);
  if (rc == 0)
    rc = uv_run(loop, UV_RUN_DEFAULT);
  r.end = bench_cpu_now();
  r.ops = run.fired;
  r.rss_before = run.rss_before;
  r.rss_armed = run.rss_armed;
  r.ok = rc == 0 && !run.failed && run.fired == run.count;
  /* Teardown (uv_close on every handle, uv_loop_close) is not part of the workload; process exit
   * releases everything. */
  return bench_report(&r);
}
