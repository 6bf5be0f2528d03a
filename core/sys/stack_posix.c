/* core/sys/stack_posix.c — task stacks from mmap, with an inaccessible guard page below.
 *
 * Pitfalls of the API, worked around below:
 *   - MAP_ANONYMOUS is spelled MAP_ANON on older BSDs and macOS; MAP_NORESERVE (do not charge
 *     the whole stack against overcommit accounting up front) and MAP_STACK (OpenBSD refuses to
 *     switch to a stack mapped without it; Linux uses it as a hint for transparent huge pages)
 *     exist only on some systems, so each is used where it is defined. Except MAP_STACK on
 *     FreeBSD and DragonFly, where it means something else: a region that grows down on demand
 *     behind a guard of the kernel's own, which the guard page below would fight with.
 *   - A guard made with mprotect(PROT_NONE) splits the mapping in two, and Linux caps a process
 *     at vm.max_map_count mappings (65530 by default): about 32,700 stacks, far short of the
 *     100,000 sleeping tasks tide aims at. Linux 6.13 added guard regions
 *     (madvise MADV_GUARD_INSTALL): the page faults like PROT_NONE but the mapping stays whole,
 *     and the kernel even merges neighbouring stacks into one mapping. They are used where the
 *     kernel has them, mprotect elsewhere.
 *   - An emulator may accept MADV_GUARD_INSTALL and do nothing (qemu-user ignores advice it does
 *     not know and returns success). So a guard region is trusted only after MADV_POPULATE_READ
 *     on it fails with EFAULT, which only a real guard region does; otherwise mprotect is used.
 *   - The guard is made inside the stack's own mapping rather than mapped separately, so nothing
 *     can ever land between the guard and the stack.
 *   - sysconf(_SC_PAGESIZE) is the page size the kernel protects at; on AArch64 it may be 4, 16 or
 *     64 KiB, so sizes are rounded at run time, never with a constant. */
#define _DEFAULT_SOURCE
#include "stack.h"

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tide/error.h"

#if defined(TIDE_HAVE_VALGRIND_H)
#include <valgrind/valgrind.h>
#endif

#if !defined(MAP_ANONYMOUS) && defined(MAP_ANON)
#define MAP_ANONYMOUS MAP_ANON
#endif

/* Linux's values (uapi/asm-generic/mman-common.h), for C libraries whose headers predate them. */
#if defined(__linux__)
#if !defined(MADV_POPULATE_READ)
#define MADV_POPULATE_READ 22
#endif
#if !defined(MADV_GUARD_INSTALL)
#define MADV_GUARD_INSTALL 102
#endif
#endif

static size_t page_size(void) {
  long n = sysconf(_SC_PAGESIZE);
  return n > 0 ? (size_t)n : 4096;
}

static int map_flags(void) {
  int flags = MAP_PRIVATE | MAP_ANONYMOUS;
#if defined(MAP_NORESERVE)
  flags |= MAP_NORESERVE;
#endif
#if defined(MAP_STACK) && !defined(__FreeBSD__) && !defined(__DragonFly__)
  flags |= MAP_STACK;
#endif
  return flags;
}

/* Makes [guard, guard + size) fault on any access. Returns 1 for a guard region, 0 for PROT_NONE,
 * -1 on failure. */
static int make_guard(void *guard, size_t size) {
#if defined(__linux__)
  if (madvise(guard, size, MADV_GUARD_INSTALL) == 0 &&
      madvise(guard, size, MADV_POPULATE_READ) != 0 && errno == EFAULT)
    return 1;
#endif
  return mprotect(guard, size, PROT_NONE) == 0 ? 0 : -1;
}

int tide__stack_alloc(tide__stack *s, size_t size) {
  assert(s != NULL);
  memset(s, 0, sizeof *s);
  if (size == 0)
    return TIDE_EINVAL;
  size_t page = page_size();
  if (size > SIZE_MAX - 2 * page)
    return TIDE_ENOMEM;
  size_t usable = (size + page - 1) / page * page;
  size_t total = usable + page;

  void *mapping = mmap(NULL, total, PROT_READ | PROT_WRITE, map_flags(), -1, 0);
  if (mapping == MAP_FAILED)
    return TIDE_ENOMEM;
  int guard = make_guard(mapping, page);
  if (guard < 0) {
    (void)munmap(mapping, total);
    return TIDE_ENOMEM;
  }
  s->mapping = mapping;
  s->mapping_size = total;
  s->base = (char *)mapping + page;
  s->size = usable;
  s->guard_region = (unsigned)guard;
#if defined(TIDE_HAVE_VALGRIND_H)
  s->valgrind_id = VALGRIND_STACK_REGISTER(s->base, (char *)s->base + s->size);
#endif
  return 0;
}

void tide__stack_free(tide__stack *s) {
  assert(s != NULL);
  if (s->mapping == NULL)
    return;
#if defined(TIDE_HAVE_VALGRIND_H)
  if (s->valgrind_id != 0)
    VALGRIND_STACK_DEREGISTER(s->valgrind_id);
#endif
  /* munmap fails only for arguments mmap never returned; it removes a guard region too. */
  int rc = munmap(s->mapping, s->mapping_size);
  assert(rc == 0);
  (void)rc;
  memset(s, 0, sizeof *s);
}
