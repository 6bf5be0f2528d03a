/* core/sys/mutex.h — a plain mutex for the few short critical sections tide has (the loop's
 * thread-safe inbox). POSIX threads here; Win32 SRW locks when the Windows port arrives. */
#ifndef TIDE_SYS_MUTEX_H
#define TIDE_SYS_MUTEX_H

#if defined(_WIN32)
#include <windows.h>
typedef struct tide__mutex {
  SRWLOCK lock;
} tide__mutex;
#else
#include <pthread.h>
typedef struct tide__mutex {
  pthread_mutex_t lock;
} tide__mutex;
#endif

/* Returns 0 or TIDE_ENOMEM (the OS could not create it). */
int tide__mutex_init(tide__mutex *m);
void tide__mutex_destroy(tide__mutex *m);
void tide__mutex_lock(tide__mutex *m);
void tide__mutex_unlock(tide__mutex *m);

#endif
