/* core/sys/park_win32.c — tide__park over WaitOnAddress / WakeByAddress (Windows 8 and later).
 *
 * The Win32 counterpart of futex: the kernel keeps the waiters, so no table is needed
 * (tide__park_table_new gives NULL). Pitfalls of the API, handled below:
 *   - It lives in the API set api-ms-win-core-synch-l1-2-0, whose import library is
 *     synchronization.lib (mingw-w64: libsynchronization.a); CMake links it.
 *   - The timeout is a DWORD of milliseconds, where INFINITE (0xFFFFFFFF) means no limit. A
 *     nanosecond timeout is rounded up (a 10 µs wait must not become a 0 ms poll that returns at
 *     once, which would make a caller's timed loop spin) and clamped below INFINITE.
 *   - WaitOnAddress may return TRUE without a wake (and, like futex, returns at once when the word
 *     already differs); only FALSE with ERROR_TIMEOUT means the time ran out. Callers loop on
 *     their own condition, as park.h requires.
 *   - WakeByAddressSingle / WakeByAddressAll never read the memory behind the address: waking a
 *     word whose owner has already freed it is safe, which park.h promises.
 *   - The word is compared as 4 bytes, so the atomics waited on must be 4 bytes (asserted). */
#include "core/sys/park.h"

#include <windows.h>

#include "tide/error.h"

_Static_assert(sizeof(atomic_uint) == 4, "WaitOnAddress compares 4-byte words here");

int tide__park_table_new(tide__park_table **out) {
  *out = NULL;
  return 0;
}

void tide__park_table_free(tide__park_table *table) {
  (void)table;
}

static DWORD timeout_ms(int64_t timeout_ns) {
  if (timeout_ns < 0)
    return INFINITE;
  int64_t ms = timeout_ns / 1000000 + (timeout_ns % 1000000 != 0);
  return ms >= (int64_t)INFINITE ? INFINITE - 1 : (DWORD)ms;
}

int tide__park_wait(tide__park_table *table, atomic_uint *word, unsigned expected,
                    int64_t timeout_ns) {
  (void)table;
  if (!WaitOnAddress((volatile void *)word, &expected, sizeof expected, timeout_ms(timeout_ns)) &&
      GetLastError() == ERROR_TIMEOUT)
    return TIDE_ETIMEDOUT;
  return 0;
}

void tide__park_wake(tide__park_table *table, atomic_uint *word, int count) {
  (void)table;
  if (count < 0) {
    WakeByAddressAll((void *)word);
    return;
  }
  for (int i = 0; i < count; i++)
    WakeByAddressSingle((void *)word);
}
