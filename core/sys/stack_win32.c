/* core/sys/stack_win32.c — task stacks from VirtualAlloc, with an inaccessible guard page below.
 *
 * Pitfalls of the API, worked around below:
 *   - VirtualAlloc reserves address space in 64 KiB units (the allocation granularity) but
 *     protects and commits in pages; the sizes here are in pages, and the reservation's tail
 *     beyond them is simply never committed.
 *   - Windows grows a thread's own stack by committing pages below a PAGE_GUARD page on first
 *     touch, but only for the stack described by the TIB (StackLimit, DeallocationStack), and
 *     only if the stack probes (__chkstk) find it that way. Rather than depend on that machinery
 *     for stacks that are switched in and out, the usable region is committed at allocation: the
 *     commit charge is the stack's size, while physical pages are still provided on first touch.
 *   - The guard page is reserved and never committed, so any access to it is an access violation
 *     (like PAGE_NOACCESS), never a one-shot PAGE_GUARD exception that a second overflow would
 *     then walk past. */
#include "stack.h"

#include <assert.h>
#include <stdint.h>
#include <string.h>
#include <windows.h>

#include "tide/error.h"

static size_t page_size(void) {
  SYSTEM_INFO info;
  GetSystemInfo(&info);
  return info.dwPageSize > 0 ? (size_t)info.dwPageSize : 4096;
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

  char *mapping = VirtualAlloc(NULL, total, MEM_RESERVE, PAGE_NOACCESS);
  if (mapping == NULL)
    return TIDE_ENOMEM;
  if (VirtualAlloc(mapping + page, usable, MEM_COMMIT, PAGE_READWRITE) == NULL) {
    (void)VirtualFree(mapping, 0, MEM_RELEASE);
    return TIDE_ENOMEM;
  }
  s->mapping = mapping;
  s->mapping_size = total;
  s->base = mapping + page;
  s->size = usable;
  return 0;
}

void tide__stack_free(tide__stack *s) {
  assert(s != NULL);
  if (s->mapping == NULL)
    return;
  /* MEM_RELEASE with size 0 frees the whole reservation; it fails only for a bad address. */
  BOOL ok = VirtualFree(s->mapping, 0, MEM_RELEASE);
  assert(ok);
  (void)ok;
  memset(s, 0, sizeof *s);
}
