/* core/sys/aligned.h — memory aligned beyond malloc's guarantee (cache-line aligned structures).
 *
 * C11's aligned_alloc is missing from Microsoft's C runtime (its free() cannot release such a
 * block, so the CRT offers _aligned_malloc with its own _aligned_free instead), and mingw-w64
 * inherits that. So every such block is released with tide__aligned_free, never free(). */
#ifndef TIDE_SYS_ALIGNED_H
#define TIDE_SYS_ALIGNED_H

#include <stdlib.h>

#if defined(_WIN32)
#include <malloc.h>
#endif

/* Returns `size` bytes aligned to `align` (a power of two; size a multiple of it), or NULL. */
static inline void *tide__aligned_alloc(size_t align, size_t size) {
#if defined(_WIN32)
  return _aligned_malloc(size, align);
#else
  return aligned_alloc(align, size);
#endif
}

/* Releases a block from tide__aligned_alloc. NULL is ignored. */
static inline void tide__aligned_free(void *p) {
#if defined(_WIN32)
  _aligned_free(p);
#else
  free(p);
#endif
}

#endif
