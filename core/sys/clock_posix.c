/* core/sys/clock_posix.c — the monotonic clock on POSIX systems.
 *
 * CLOCK_MONOTONIC, not CLOCK_MONOTONIC_RAW: the raw clock is not slewed by NTP, so its seconds
 * drift from real seconds, and users' timeouts are real seconds. On Linux it is served from the
 * vDSO (no syscall), which matters because the loop reads it twice per tick. */
#define _POSIX_C_SOURCE 200809L
#include "clock.h"

#include <time.h>

int64_t tide__clock_now_ns(void) {
  struct timespec ts;
  /* CLOCK_MONOTONIC cannot fail with a valid pointer on any supported system. */
  (void)clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
