/* core/sys/mutex_win32.c — tide__mutex over a Win32 slim reader/writer lock, taken exclusively.
 *
 * Why an SRW lock rather than a CRITICAL_SECTION: it is one pointer, needs no destruction and no
 * allocation (InitializeSRWLock cannot fail), and its uncontended acquire is a single interlocked
 * instruction in user mode. Pitfalls: it is not recursive (a thread that takes it twice
 * deadlocks), and it must be released by the thread that acquired it — tide's critical sections
 * are short and never nest, so neither applies. */
#include "mutex.h"

int tide__mutex_init(tide__mutex *m) {
  InitializeSRWLock(&m->lock);
  return 0;
}

void tide__mutex_destroy(tide__mutex *m) {
  (void)m; /* an SRW lock owns no resources */
}

void tide__mutex_lock(tide__mutex *m) {
  AcquireSRWLockExclusive(&m->lock);
}

void tide__mutex_unlock(tide__mutex *m) {
  ReleaseSRWLockExclusive(&m->lock);
}
