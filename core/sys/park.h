/* core/sys/park.h — waiting on a 32-bit word: the executor's only way to block a thread.
 *
 * The shape of Linux's futex and Windows' WaitOnAddress: a waiter sleeps while *word still holds
 * the value it expects; a waker changes the word first and then wakes. Because the check and the
 * sleep are one step (in the kernel, or under a bucket lock in the fallback), a wake between a
 * waiter's last look at the word and its sleep is never lost.
 *
 * Waking uses the word's address only and never reads the memory behind it, so a waker may wake
 * a word whose owner has already freed it (a job joined the instant it finished): at worst
 * another waiter on reused memory returns early, and every waiter re-checks its condition.
 *
 * Backends: park_linux.c (futex, no table needed: tide__park_table_new gives NULL) and
 * park_posix.c (a table of mutex + condition-variable buckets hashed by address, one table per
 * executor so that no state is global). Which one is built is chosen by CMake. */
#ifndef TIDE_SYS_PARK_H
#define TIDE_SYS_PARK_H

#include <stdint.h>

#include "core/sys/atomic.h"

typedef struct tide__park_table tide__park_table;

/* Creates the table a fallback needs (*out may be NULL when none is needed). Returns 0 or
 * TIDE_ENOMEM. */
int tide__park_table_new(tide__park_table **out);
void tide__park_table_free(tide__park_table *table);

/* Blocks while *word == expected, for at most timeout_ns (negative: no limit). Returns 0 when it
 * was woken or the word differed, TIDE_ETIMEDOUT when the time ran out. May return early for no
 * reason: callers loop on their own condition. */
int tide__park_wait(tide__park_table *table, atomic_uint *word, unsigned expected,
                    int64_t timeout_ns);

/* Wakes up to `count` threads waiting on `word` (count < 0: all of them). Call it after changing
 * the word. */
void tide__park_wake(tide__park_table *table, atomic_uint *word, int count);

#endif
