/* tests/address_mapped.h — whether an address is still mapped in this process, to show that
 * memory a test saw in use (a task's stack, a fiber's) was given back to the OS. */
#ifndef TIDE_TESTS_ADDRESS_MAPPED_H
#define TIDE_TESTS_ADDRESS_MAPPED_H

/* mincore (not POSIX, but on every system tide runs on), msync and sysconf. */
#if !defined(_WIN32) && !defined(_DEFAULT_SOURCE)
#define _DEFAULT_SOURCE
#endif

#include <stdint.h>

#if defined(_WIN32)
#include <winsock2.h> /* before windows.h, which would pull in the old winsock.h */
#include <windows.h>
#else
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>
#endif

/* Whether the page holding p is still mapped (reserved or committed) in this process. */
static inline int address_is_mapped(const void *p) {
#if defined(_WIN32)
  MEMORY_BASIC_INFORMATION info;
  if (VirtualQuery(p, &info, sizeof info) == 0)
    return 0;
  return info.State != MEM_FREE;
#else
  uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  void *start = (void *)((uintptr_t)p & ~(page - 1));
#if defined(__APPLE__)
  /* macOS's mincore succeeds on unmapped addresses too (it reports them as not resident), so the
   * question goes to msync, which fails with ENOMEM on a hole (and succeeds on a guard page). */
  return !(msync(start, (size_t)page, MS_ASYNC) != 0 && errno == ENOMEM);
#else
  /* mincore fails with ENOMEM exactly when part of the range is not mapped (and, unlike msync,
   * valgrind does not take the question for an access). Its vector is unsigned char on Linux and
   * char on the BSDs, hence the void pointer. */
  unsigned char resident;
  return !(mincore(start, 1, (void *)&resident) != 0 && errno == ENOMEM);
#endif
#endif
}

#endif
