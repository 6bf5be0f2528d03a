/* core/sys/stack_posix.c — task stacks from mmap, with a PROT_NONE guard page below.
 *
 * Pitfalls of the API, worked around below:
 *   - MAP_ANONYMOUS is spelled MAP_ANON on older BSDs and macOS; MAP_NORESERVE (do not charge
 *     the whole stack against overcommit accounting up front) and MAP_STACK (OpenBSD refuses to
 *     switch to a stack mapped without it; Linux uses it as a hint for transparent huge pages)
 *     exist only on some systems, so each is used where it is defined.
 *   - The guard is made with mprotect after the mapping rather than mapped separately, so it and
 *     the stack can never be split by another mapping landing between them.
 *   - sysconf(_SC_PAGESIZE) is the page size the kernel protects at; on AArch64 it may be 4, 16 or
 *     64 KiB, so sizes are rounded at run time, never with a constant. */
#define _DEFAULT_SOURCE
#include "stack.h"

#include <assert.h>
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

static size_t page_size(void) {
  long n = sysconf(_SC_PAGESIZE);
  return n > 0 ? (size_t)n : 4096;
}

static int map_flags(void) {
  int flags = MAP_PRIVATE | MAP_ANONYMOUS;
#if defined(MAP_NORESERVE)
  flags |= MAP_NORESERVE;
#endif
#if defined(MAP_STACK)
  flags |= MAP_STACK;
#endif
  return flags;
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
  if (mprotect(mapping, page, PROT_NONE) != 0) {
    (void)munmap(mapping, total);
    return TIDE_ENOMEM;
  }
  s->mapping = mapping;
  s->mapping_size = total;
  s->base = (char *)mapping + page;
  s->size = usable;
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
  /* munmap fails only for arguments mmap never returned. */
  int rc = munmap(s->mapping, s->mapping_size);
  assert(rc == 0);
  (void)rc;
  memset(s, 0, sizeof *s);
}
