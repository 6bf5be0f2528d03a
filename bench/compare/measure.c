/* bench/compare/measure.c — CPU, memory and the result line (see measure.h).
 *
 * Resident memory comes from /proc/self/statm rather than getrusage, because ru_maxrss is a
 * high-water mark: the growth across arming must be a difference of current values. glibc
 * serves large arrays (the timer array, the libraries' heaps) with mmap and grows them with
 * mremap, so their pages count once they are touched and never twice. */
#define _POSIX_C_SOURCE 200809L
#include "measure.h"

#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

/* Which flavour of the library was linked (static archive or shared object), set by CMake. */
#ifndef BENCH_LINK
#define BENCH_LINK "unknown"
#endif

static double seconds(struct timeval tv) {
  return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

bench_cpu bench_cpu_now(void) {
  struct rusage ru;
  bench_cpu cpu = {0, 0};
  if (getrusage(RUSAGE_SELF, &ru) == 0) {
    cpu.user_s = seconds(ru.ru_utime);
    cpu.sys_s = seconds(ru.ru_stime);
  }
  return cpu;
}

long long bench_rss_bytes(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  if (f == NULL)
    return -1;
  long long size_pages, resident_pages;
  int n = fscanf(f, "%lld %lld", &size_pages, &resident_pages);
  fclose(f);
  if (n != 2)
    return -1;
  return resident_pages * (long long)sysconf(_SC_PAGESIZE);
}

static long peak_rss_kb(void) {
  struct rusage ru;
  return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1; /* Linux reports KiB */
}

int bench_report(const bench_result *r) {
  double user = r->end.user_s - r->start.user_s;
  double sys = r->end.sys_s - r->start.sys_s;
  double per_timer = -1;
  if (r->rss_before >= 0 && r->rss_armed >= 0 && r->timers > 0)
    per_timer = (double)(r->rss_armed - r->rss_before) / (double)r->timers;
  printf("tide-bench lib=%s workload=%s link=%s timers=%zu ops=%zu cpu_s=%.6f user_s=%.6f "
         "sys_s=%.6f maxrss_kb=%ld bytes_per_timer=%.1f status=%s\n",
         r->lib, r->workload, BENCH_LINK, r->timers, r->ops, user + sys, user, sys, peak_rss_kb(),
         per_timer, r->ok ? "ok" : "FAILED");
  fflush(stdout);
  return r->ok ? 0 : 1;
}
