/* core/sys/thread.h — OS threads for the executor: start, join, the CPU count, yielding, the
 * spin-wait hint and thread-local storage. POSIX threads (thread_posix.c) or Win32 threads
 * (thread_win32.c). */
#ifndef TIDE_SYS_THREAD_H
#define TIDE_SYS_THREAD_H

#include <stdint.h>

#if defined(_WIN32)
/* As in mutex.h: lean, so that the old <winsock.h> stays out (it clashes with <winsock2.h>), and
 * without minwindef.h's empty `near` / `far` macros. */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#define TIDE__THREAD_LEAN
#endif
#include <windows.h>
#ifdef TIDE__THREAD_LEAN
#undef WIN32_LEAN_AND_MEAN
#undef TIDE__THREAD_LEAN
#endif
#undef near
#undef far
typedef struct tide__thread {
  HANDLE handle;
} tide__thread;
#else
#include <pthread.h>
typedef struct tide__thread {
  pthread_t handle;
} tide__thread;
#endif

/* C11's _Thread_local, which MSVC's C compiler spells __declspec(thread). */
#if defined(_MSC_VER) && !defined(__clang__)
#define TIDE__THREAD_LOCAL __declspec(thread)
#else
#define TIDE__THREAD_LOCAL _Thread_local
#endif

/* Starts a thread running fn(arg). Returns 0, TIDE_ENOMEM or TIDE_EAGAIN (the OS refused another
 * thread). On POSIX systems every signal is blocked in the new thread: signals belong to the
 * program's own threads (and, later, to a loop's signal handling), never to an executor worker
 * (Windows has no signals to block). */
int tide__thread_start(tide__thread *t, void (*fn)(void *arg), void *arg);

/* Waits for the thread to return and releases it. */
void tide__thread_join(tide__thread *t);

/* The number of CPUs this process may run on (at least 1). */
unsigned tide__cpu_count(void);

/* Gives the CPU to another runnable thread, if there is one. */
void tide__thread_yield(void);

/* Sleeps for about `ns` nanoseconds (>= 0). */
void tide__thread_sleep_ns(int64_t ns);

/* Tells the CPU the caller is spinning (x86 PAUSE, AArch64 YIELD): cheaper for the sibling
 * hyper-thread and for the memory bus than an empty loop. */
static inline void tide__cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __asm__ __volatile__("pause");
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#elif defined(_MSC_VER)
  YieldProcessor();
#endif
}

#endif
