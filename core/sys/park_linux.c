/* core/sys/park_linux.c — tide__park over the futex system call.
 *
 * futex(2) pitfalls handled here: glibc has no wrapper, so it is syscall(SYS_futex, ...); the
 * PRIVATE variants skip the cross-process hash (every waiter here is in one process); FUTEX_WAIT
 * takes a *relative* timeout and fails with EAGAIN when the word already differs, EINTR on a
 * signal, ETIMEDOUT when the time ran out — the first two are early returns the caller's loop
 * absorbs; the word is a 32-bit int, so the atomics that are waited on are atomic_uint (static
 * assert below). No table is needed: the kernel is the table. */
#if !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* syscall */
#endif
#include "core/sys/park.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "tide/error.h"

_Static_assert(sizeof(atomic_uint) == 4, "futex words are 32 bits");

int tide__park_table_new(tide__park_table **out) {
  *out = NULL;
  return 0;
}

void tide__park_table_free(tide__park_table *table) {
  (void)table;
}

int tide__park_wait(tide__park_table *table, atomic_uint *word, unsigned expected,
                    int64_t timeout_ns) {
  (void)table;
  struct timespec ts, *tsp = NULL;
  if (timeout_ns >= 0) {
    ts.tv_sec = (time_t)(timeout_ns / 1000000000);
    ts.tv_nsec = (long)(timeout_ns % 1000000000);
    tsp = &ts;
  }
  long rc = syscall(SYS_futex, (void *)word, FUTEX_WAIT_PRIVATE, expected, tsp, NULL, 0);
  if (rc != 0 && errno == ETIMEDOUT)
    return TIDE_ETIMEDOUT;
  return 0;
}

void tide__park_wake(tide__park_table *table, atomic_uint *word, int count) {
  (void)table;
  (void)syscall(SYS_futex, (void *)word, FUTEX_WAKE_PRIVATE, count < 0 ? INT_MAX : count, NULL,
                NULL, 0);
}
