/* examples/timeline.h — the "[0.501s] ..." prefix the asyncio article's examples print. */
#ifndef TIDE_EXAMPLES_TIMELINE_H
#define TIDE_EXAMPLES_TIMELINE_H

#include <stdarg.h>
#include <stdio.h>

#include "tide.h"

/* Seconds since `start_ns` on the loop's clock (refreshed, so it is exact even mid-tick). */
static inline double seconds_since(tide_loop *loop, int64_t start_ns) {
  return (double)(tide_loop_update_time(loop) - start_ns) / 1e9;
}

/* Prints "[1.001s] <message>" and flushes, so the timeline shows as it happens. */
static inline void say(tide_loop *loop, int64_t start_ns, const char *format, ...) {
  va_list args;
  va_start(args, format);
  printf("[%.3fs] ", seconds_since(loop, start_ns));
  vprintf(format, args);
  putchar('\n');
  fflush(stdout);
  va_end(args);
}

#define SECONDS(s) ((int64_t)((s)*1e9))

#endif
