/* core/sys/park_posix.c — tide__park for systems without a futex: a table of buckets, each a
 * mutex and a condition variable, hashed by the word's address (the scheme of WebKit's
 * ParkingLot and of Rust's std on such systems, scoped to one table per executor).
 *
 * Pitfalls handled here: a condition variable has no memory, so the waiter checks the word under
 * the bucket's mutex and the waker takes the same mutex after changing the word — the wake can
 * then never fall between the check and the sleep; several words share a bucket, so a wake is a
 * broadcast and waiters re-check; pthread_cond_timedwait takes an absolute time on the
 * condition's clock, which is set to CLOCK_MONOTONIC so that wall-clock jumps do not stretch or
 * cut a timeout. macOS has no pthread_condattr_setclock (its conditions measure absolute times on
 * the wall clock); there the wait takes a relative time instead
 * (pthread_cond_timedwait_relative_np), which no clock jump affects either. */
#define _POSIX_C_SOURCE 200809L
#if defined(__APPLE__)
#define _DARWIN_C_SOURCE /* pthread_cond_timedwait_relative_np, hidden by _POSIX_C_SOURCE */
#endif
#include "core/sys/park.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "tide/error.h"

enum { BUCKETS = 64 };

typedef struct bucket {
  pthread_mutex_t lock;
  pthread_cond_t cond;
} bucket;

struct tide__park_table {
  bucket buckets[BUCKETS];
};

int tide__park_table_new(tide__park_table **out) {
  tide__park_table *t = malloc(sizeof *t);
  if (t == NULL)
    return TIDE_ENOMEM;
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
#if !defined(__APPLE__)
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
#endif
  for (int i = 0; i < BUCKETS; i++) {
    pthread_mutex_init(&t->buckets[i].lock, NULL);
    pthread_cond_init(&t->buckets[i].cond, &attr);
  }
  pthread_condattr_destroy(&attr);
  *out = t;
  return 0;
}

void tide__park_table_free(tide__park_table *t) {
  if (t == NULL)
    return;
  for (int i = 0; i < BUCKETS; i++) {
    pthread_mutex_destroy(&t->buckets[i].lock);
    pthread_cond_destroy(&t->buckets[i].cond);
  }
  free(t);
}

static bucket *bucket_of(tide__park_table *t, atomic_uint *word) {
  uintptr_t a = (uintptr_t)word;
  a ^= a >> 17;
  a *= 0x9E3779B97F4A7C15ull & UINTPTR_MAX;
  return &t->buckets[(a >> 7) % BUCKETS];
}

/* Waits on b's condition until `deadline` (absolute, or relative on macOS: see the top). */
static int timed_wait(bucket *b, const struct timespec *deadline) {
#if defined(__APPLE__)
  return pthread_cond_timedwait_relative_np(&b->cond, &b->lock, deadline);
#else
  return pthread_cond_timedwait(&b->cond, &b->lock, deadline);
#endif
}

int tide__park_wait(tide__park_table *t, atomic_uint *word, unsigned expected, int64_t timeout_ns) {
  bucket *b = bucket_of(t, word);
  struct timespec deadline;
#if defined(__APPLE__)
  deadline.tv_sec = (time_t)(timeout_ns / 1000000000); /* relative, see the top of the file */
  deadline.tv_nsec = (long)(timeout_ns % 1000000000);
#else
  if (timeout_ns >= 0) {
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    int64_t ns = deadline.tv_nsec + timeout_ns % 1000000000;
    deadline.tv_sec += (time_t)(timeout_ns / 1000000000 + ns / 1000000000);
    deadline.tv_nsec = (long)(ns % 1000000000);
  }
#endif
  int rc = 0;
  pthread_mutex_lock(&b->lock);
  if (atomic_load_explicit(word, memory_order_acquire) == expected) {
    if (timeout_ns < 0)
      pthread_cond_wait(&b->cond, &b->lock);
    else if (timed_wait(b, &deadline) != 0)
      rc = TIDE_ETIMEDOUT;
  }
  pthread_mutex_unlock(&b->lock);
  return rc;
}

void tide__park_wake(tide__park_table *t, atomic_uint *word, int count) {
  (void)count; /* buckets are shared: always a broadcast */
  bucket *b = bucket_of(t, word);
  pthread_mutex_lock(&b->lock);
  pthread_cond_broadcast(&b->cond);
  pthread_mutex_unlock(&b->lock);
}
