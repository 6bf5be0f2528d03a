/* core/pool.c — fixed-size object pools (see pool.h). */
#include "pool.h"

#include <assert.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>

struct tide__pool_chunk {
  tide__pool_chunk *next;
  size_t count;
  alignas(max_align_t) unsigned char objects[];
};

enum { FIRST_CHUNK_COUNT = 32, MAX_CHUNK_COUNT = 4096 };

void tide__pool_init(tide__pool *pool, size_t object_size) {
  size_t align = alignof(max_align_t);
  if (object_size < sizeof(void *))
    object_size = sizeof(void *);
  pool->free_list = NULL;
  pool->object_size = (object_size + align - 1) / align * align;
  pool->next_chunk_count = FIRST_CHUNK_COUNT;
  pool->live = 0;
  pool->chunks = NULL;
  pool->carve = NULL;
  pool->carve_end = NULL;
}

/* Objects whose size is a multiple of a cache line start on one, so that none straddles two. */
enum { CACHE_LINE = 64 };

/* Allocates one chunk to carve from. */
static int grow(tide__pool *pool) {
  size_t count = pool->next_chunk_count;
  size_t pad = pool->object_size % CACHE_LINE == 0 ? CACHE_LINE : 0;
  if (count > (SIZE_MAX - sizeof(tide__pool_chunk) - pad) / pool->object_size)
    return -1;
  tide__pool_chunk *chunk = malloc(sizeof *chunk + pad + count * pool->object_size);
  if (chunk == NULL)
    return -1;
  chunk->count = count;
  chunk->next = pool->chunks;
  pool->chunks = chunk;
  unsigned char *first = chunk->objects;
  if (pad != 0)
    first += (CACHE_LINE - (uintptr_t)first % CACHE_LINE) % CACHE_LINE;
  pool->carve = first;
  pool->carve_end = first + count * pool->object_size;
  if (pool->next_chunk_count < MAX_CHUNK_COUNT)
    pool->next_chunk_count *= 2;
  return 0;
}

void *tide__pool_get(tide__pool *pool) {
  void **object = pool->free_list;
  if (object != NULL) {
    pool->free_list = *object;
  } else {
    if (pool->carve == pool->carve_end && grow(pool) != 0)
      return NULL;
    object = (void **)pool->carve;
    pool->carve += pool->object_size;
  }
  pool->live++;
  return object;
}

void tide__pool_put(tide__pool *pool, void *object) {
  assert(pool->live > 0);
  *(void **)object = pool->free_list;
  pool->free_list = object;
  pool->live--;
}

void tide__pool_destroy(tide__pool *pool) {
  tide__pool_chunk *chunk = pool->chunks;
  while (chunk != NULL) {
    tide__pool_chunk *next = chunk->next;
    free(chunk);
    chunk = next;
  }
  tide__pool_init(pool, pool->object_size);
}
