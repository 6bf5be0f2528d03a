/* backends/posix/fd_table.h — the per-descriptor tables of the POSIX backends (the readiness
 * reactor's and io_uring's), indexed by descriptor number: growing one to fit a new number.
 *
 * Descriptor numbers are small and dense (the kernel hands out the lowest free one), so a plain
 * array beats a hash; it doubles from 64 entries and never shrinks. */
#ifndef TIDE_POSIX_FD_TABLE_H
#define TIDE_POSIX_FD_TABLE_H

#include <stdlib.h>
#include <string.h>

/* Returns `table` (entries of `entry_size` bytes, *capacity of them) if `index` fits, else a
 * grown copy whose new entries are zero, with *capacity updated; NULL when out of memory (the
 * old table is untouched). */
static inline void *tide__fd_table_fit(void *table, size_t *capacity, size_t entry_size,
                                       size_t index) {
  if (index < *capacity)
    return table;
  size_t grown_capacity = *capacity ? *capacity : 64;
  while (grown_capacity <= index)
    grown_capacity *= 2;
  char *grown = realloc(table, grown_capacity * entry_size);
  if (grown == NULL)
    return NULL;
  memset(grown + *capacity * entry_size, 0, (grown_capacity - *capacity) * entry_size);
  *capacity = grown_capacity;
  return grown;
}

#endif
