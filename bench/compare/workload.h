/* bench/compare/workload.h — the two timer workloads, defined once for every peer program.
 *
 * Every program draws its timeouts and reset targets through the functions below, in the same
 * order, from the same seed, so the four libraries are handed identical work:
 *
 *   fire   N timers (default 1,000,000), each armed once with a timeout of 1..1000 ms; the loop
 *          runs until every one has fired. Measures arming into a growing heap plus popping it
 *          empty: the "million timers" workload of libuv's own benchmarks.
 *   reset  N timers (default 100,000) armed with 10..20 s timeouts, so none fires during the run,
 *          then M resets (default 5,000,000) of a pseudo-random timer to a new 10..20 s timeout:
 *          the idle-timeout pattern of a busy server. The resets run inside the loop in batches of
 *          RESET_BATCH, one batch per loop iteration, so each library refreshes its cached clock
 *          between batches exactly as it would in a server (and libevent, which reads the clock on
 *          every add made outside a callback, is not penalised). Then every timer is stopped.
 *
 * Timeouts are whole milliseconds because libuv's timers have millisecond resolution; each
 * program converts them to its library's unit. */
#ifndef TIDE_BENCH_WORKLOAD_H
#define TIDE_BENCH_WORKLOAD_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "prng.h"

enum {
  FIRE_DEFAULT_TIMERS = 1000000,
  FIRE_MIN_MS = 1,
  FIRE_MAX_MS = 1000,
  RESET_DEFAULT_TIMERS = 100000,
  RESET_DEFAULT_RESETS = 5000000,
  RESET_MIN_MS = 10000,
  RESET_MAX_MS = 20000,
  RESET_BATCH = 1000
};

#define BENCH_SEED UINT64_C(0x7469646562656e63) /* "tidebenc" */

/* The counts of one run: argv[1] overrides the timer count and argv[2] the reset count (both
 * optional, for quick trials); the defaults are the workload's. Returns 0, or -1 when an argument
 * is not a positive integer. */
static inline int bench_parse_counts(int argc, char **argv, size_t *timers, size_t *resets) {
  for (int i = 1; i < argc && i <= 2; i++) {
    char *end;
    unsigned long long v = strtoull(argv[i], &end, 10);
    if (*argv[i] == '\0' || *end != '\0' || v == 0)
      return -1;
    *(i == 1 ? timers : resets) = (size_t)v;
  }
  return 0;
}

/* fire: the timeout of the next timer, in ms. */
static inline uint64_t fire_timeout_ms(bench_prng *p) {
  return bench_prng_range(p, FIRE_MIN_MS, FIRE_MAX_MS);
}

/* reset: the timeout of the next timer armed or reset, in ms. */
static inline uint64_t reset_timeout_ms(bench_prng *p) {
  return bench_prng_range(p, RESET_MIN_MS, RESET_MAX_MS);
}

/* reset: which of the `timers` timers the next reset targets. Draw it before its timeout. */
static inline size_t reset_target(bench_prng *p, size_t timers) {
  return (size_t)(bench_prng_next(p) % timers);
}

#endif
