/* core/sys/clock_win32.c — the monotonic clock on Windows: QueryPerformanceCounter.
 *
 * Pitfalls of the API, handled below:
 *   - The counter ticks at QueryPerformanceFrequency, which is fixed at boot (10 MHz on current
 *     Windows, the TSC rate or 3.579545 MHz on older systems) and never 0 on Windows XP or later,
 *     so both calls cannot fail. The frequency is asked each time rather than cached: caching it
 *     would be global state, and the call only reads a value the kernel keeps in shared user
 *     memory.
 *   - ticks * 1e9 overflows int64 after 2^63 / 1e9 ticks, which at 10 MHz is 15 minutes of uptime.
 *     The conversion splits ticks into whole seconds and a remainder below the frequency; the
 *     remainder times 1e9 stays below 2^63 for any frequency under 9.2 GHz.
 *   - Unlike GetTickCount64 (10-16 ms steps) the counter has sub-microsecond resolution, and
 *     unlike the system time it is not adjusted by NTP or by the user, so it never goes backwards.
 */
#include "clock.h"

#include <windows.h>

int64_t tide__clock_now_ns(void) {
  LARGE_INTEGER now, freq;
  (void)QueryPerformanceCounter(&now);
  (void)QueryPerformanceFrequency(&freq);
  int64_t seconds = now.QuadPart / freq.QuadPart;
  int64_t rest = now.QuadPart % freq.QuadPart;
  return seconds * 1000000000 + rest * 1000000000 / freq.QuadPart;
}
