/* core/sys/mutex_posix.c — tide__mutex over pthreads.
 *
 * Lock and unlock cannot fail on a valid, initialised, non-recursive mutex used correctly, so they
 * return nothing; a failure there is a tide bug and trips the assert. */
#include "mutex.h"

#include <assert.h>

#include "tide/error.h"

int tide__mutex_init(tide__mutex *m) {
  return pthread_mutex_init(&m->lock, NULL) == 0 ? 0 : TIDE_ENOMEM;
}

void tide__mutex_destroy(tide__mutex *m) {
  (void)pthread_mutex_destroy(&m->lock);
}

void tide__mutex_lock(tide__mutex *m) {
  int rc = pthread_mutex_lock(&m->lock);
  assert(rc == 0);
  (void)rc;
}

void tide__mutex_unlock(tide__mutex *m) {
  int rc = pthread_mutex_unlock(&m->lock);
  assert(rc == 0);
  (void)rc;
}
