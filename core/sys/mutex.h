/* core/sys/mutex.h — a plain mutex for the few short critical sections tide has (the loop's
 * thread-safe inbox, the executor's injection queue). POSIX threads (mutex_posix.c), or a Win32
 * slim reader/writer lock taken exclusively (mutex_win32.c). */
#ifndef TIDE_SYS_MUTEX_H
#define TIDE_SYS_MUTEX_H

#if defined(_WIN32)
/* Lean: a full <windows.h> drags in the old <winsock.h>, which then clashes with the
 * <winsock2.h> that tide/net.h and the IOCP backend include after this header. */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#define TIDE__MUTEX_LEAN
#endif
#include <windows.h>
#ifdef TIDE__MUTEX_LEAN
#undef WIN32_LEAN_AND_MEAN
#undef TIDE__MUTEX_LEAN
#endif
/* minwindef.h's empty `near` and `far` macros (16-bit relics) would erase the timer heap's
 * fields of those names in every core file that includes this header first. */
#undef near
#undef far
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
