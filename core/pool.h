/* core/pool.h — fixed-size object pools, one per object kind per loop.
 *
 * Objects are carved from chunks that grow geometrically and are handed back to an intrusive free
 * list, so after warm-up getting and putting an object is a pointer swap and steady state
 * allocates nothing (DESIGN.md principle 6). A chunk is carved lazily, one object per get once
 * the free list is empty, so the part of a fresh chunk not yet handed out is never written and
 * costs no resident memory (the OS maps pages on first touch). Chunks are freed only when the
 * pool is destroyed with its loop. Single-threaded, like the loop that owns it. */
#ifndef TIDE_POOL_H
#define TIDE_POOL_H

#include <stddef.h>

typedef struct tide__pool_chunk tide__pool_chunk;

typedef struct tide__pool {
  void *free_list;          /* next free object; its first word links to the one after */
  size_t object_size;       /* rounded up to a multiple of max_align_t's alignment */
  size_t next_chunk_count;  /* objects in the next chunk allocated; doubles up to a cap */
  size_t live;              /* objects handed out and not yet put back */
  unsigned char *carve;     /* the newest chunk's first object never handed out */
  unsigned char *carve_end; /* the end of that chunk */
  tide__pool_chunk *chunks; /* every chunk, for destroy */
} tide__pool;

/* Prepares an empty pool of objects of `object_size` bytes (at least a pointer). */
void tide__pool_init(tide__pool *pool, size_t object_size);

/* Returns an object (uninitialised memory, aligned for any type), or NULL when out of memory. */
void *tide__pool_get(tide__pool *pool);

/* Returns `object`, which came from tide__pool_get on this pool, to the free list. */
void tide__pool_put(tide__pool *pool, void *object);

/* Frees every chunk; objects still live become invalid. The pool may be initialised again. */
void tide__pool_destroy(tide__pool *pool);

#endif
