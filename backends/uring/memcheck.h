/* backends/uring/memcheck.h — what the io_uring backend tells valgrind.
 *
 * Two things valgrind cannot see by itself:
 *  - The kernel stores received bytes (and a datagram's source address) when it consumes an SQE,
 *    inside an io_uring_enter that names none of that memory. memcheck would take those bytes
 *    for uninitialised ever after. Each completion that received something marks what it filled.
 *  - valgrind runs one thread at a time, and (3.19, Debian 12's) does not count io_uring_enter
 *    among the calls that may block: a loop waiting inside it keeps every other thread from
 *    running, so a wake from another thread could never arrive. Under valgrind the backend
 *    therefore waits in short slices and yields the CPU between them (backend.c).
 *
 * Built where valgrind's headers were found at configure time (cmake/TideBackend.cmake), these are
 * valgrind's client requests: a few instructions outside valgrind, never a run-time dependency.
 * Elsewhere they do nothing. */
#ifndef TIDE_URING_MEMCHECK_H
#define TIDE_URING_MEMCHECK_H

#include <stddef.h>

#if defined(TIDE_HAVE_MEMCHECK_H)
#include <valgrind/memcheck.h>
#endif

/* Marks n bytes at p as written: the kernel filled them. */
static inline void tide__uring_mark_filled(const void *p, size_t n) {
#if defined(TIDE_HAVE_MEMCHECK_H)
  if (n > 0)
    (void)VALGRIND_MAKE_MEM_DEFINED(p, n);
#else
  (void)p;
  (void)n;
#endif
}

/* Whether the process runs under valgrind (asked once, when a backend opens). */
static inline int tide__uring_under_valgrind(void) {
#if defined(TIDE_HAVE_MEMCHECK_H)
  return RUNNING_ON_VALGRIND != 0;
#else
  return 0;
#endif
}

#endif
