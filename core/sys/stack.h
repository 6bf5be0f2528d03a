/* core/sys/stack.h — memory for task stacks, with a guard page below each.
 *
 * A stack is one private mapping: the lowest page(s) inaccessible (the guard), the rest readable
 * and writable. Stacks grow down, so a task that overflows its stack touches the guard and the
 * process gets SIGSEGV (an access violation on Windows) at the faulting instruction, rather than
 * silently writing over whatever lies below.
 *
 * Pages are provided as they are first touched, so a task that uses 3 KiB of a 64 KiB stack costs
 * about one page of resident memory (POSIX reserves without committing; Windows commits, which
 * counts against the commit limit, but still maps pages on first touch). The loop pools
 * stacks: tide__stack_alloc makes a few system calls, reuse makes none.
 *
 * Pitfalls:
 *   - The guard catches a frame that steps onto it, not one that jumps over it: a function with
 *     more than a page of locals can skip the guard unless the compiler probes its frame
 *     (-fstack-clash-protection; MSVC and mingw always probe). Keep big buffers off task stacks.
 *   - Linux caps a process at vm.max_map_count mappings (65530 by default). A PROT_NONE guard
 *     splits each stack into two, so about 32,700 live stacks fit; on Linux 6.13 and later the
 *     guard is a guard region (MADV_GUARD_INSTALL), which splits nothing, and 100,000 stacks
 *     cost a few dozen mappings (stack_posix.c). On older kernels, raise vm.max_map_count for
 *     more than ~32,000 tasks.
 *   - Valgrind is told about each stack (VALGRIND_STACK_REGISTER) when its header was found at
 *     configure time; the call costs a few instructions when the program does not run under it. */
#ifndef TIDE_SYS_STACK_H
#define TIDE_SYS_STACK_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tide__stack {
  void *base;    /* the usable region's lowest address; the stack grows down from base + size */
  size_t size;   /* usable bytes: the requested size rounded up to whole pages */
  void *mapping; /* the whole mapping, guard included, for the free */
  size_t mapping_size;
  unsigned valgrind_id; /* valgrind's handle for the registered stack; 0 when not registered */
  /* 1: the guard is a Linux guard region, which costs no kernel mapping of its own; 0: an
   * inaccessible page (PROT_NONE; reserved and never committed on Windows). */
  unsigned guard_region;
} tide__stack;

/* Maps a stack of at least `size` usable bytes (rounded up to pages) with a guard page below it
 * and fills in *s. Returns 0, TIDE_EINVAL (size is 0) or TIDE_ENOMEM (no address space or memory,
 * or a size so large that rounding overflows); *s is left zeroed on failure. Any thread. */
int tide__stack_alloc(tide__stack *s, size_t size);

/* Unmaps a stack from tide__stack_alloc and zeroes *s; a zeroed *s is ignored, so freeing twice
 * or freeing after a failed alloc is harmless. No context may still run on it. Any thread. */
void tide__stack_free(tide__stack *s);

#ifdef __cplusplus
}
#endif

#endif
