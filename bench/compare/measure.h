/* bench/compare/measure.h — how each comparison program measures itself and reports.
 *
 * A program snapshots its CPU time before it creates its loop and again when the loop returns;
 * the difference (user + system) is its cost. Wall time is not reported: the fire workload sleeps
 * in the poller for about a second by design, and on a shared machine wall time measures the
 * neighbours. Memory is reported twice: the process's peak resident set (ru_maxrss), and the
 * resident growth across arming all timers divided by their number — the timer structs (in one
 * array the program mallocs) plus whatever the library keeps per timer (its heap).
 *
 * The result is one line on stdout that run_timers.sh parses:
 *   tide-bench lib=L workload=W link=K timers=N ops=M cpu_s=.. user_s=.. sys_s=.. maxrss_kb=..
 *              bytes_per_timer=.. status=ok|FAILED */
#ifndef TIDE_BENCH_MEASURE_H
#define TIDE_BENCH_MEASURE_H

#include <stddef.h>

typedef struct bench_cpu {
  double user_s;
  double sys_s;
} bench_cpu;

/* The process's CPU time so far. */
bench_cpu bench_cpu_now(void);

/* The process's current resident set in bytes (Linux: /proc/self/statm), or -1 where that is
 * not available (then bytes_per_timer is reported as -1). */
long long bench_rss_bytes(void);

typedef struct bench_result {
  const char *lib;      /* "tide", "libev", "libuv", "libevent" */
  const char *workload; /* "fire" or "reset" */
  size_t timers;
  size_t ops;           /* timers fired (fire) or resets done (reset) */
  bench_cpu start, end; /* bench_cpu_now before the loop was created and after it returned */
  long long rss_before; /* bench_rss_bytes before the timer array was allocated */
  long long rss_armed;  /* bench_rss_bytes once every timer was armed */
  int ok;               /* the program checked its outcome (e.g. every timer fired) */
} bench_result;

/* Prints the result line. Returns 0 if r->ok, else 1: the program's exit status. */
int bench_report(const bench_result *r);

#endif
