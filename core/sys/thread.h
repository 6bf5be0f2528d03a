/* core/sys/thread.h — OS threads for the executor: start, join, the CPU count, yielding, and the
 * spin-wait hint. POSIX threads here; Win32 threads when the Windows port arrives. */
#ifndef TIDE_SYS_THREAD_H
#define TIDE_SYS_THREAD_H

#include <stdint.h>

#if defined(_WIN32)
#include <windows.h>
typedef struct tide__thread {
  HANDLE handle;
} tide__thread;
#else
#include <pthread.h>
typedef struct tide__thread {
  pthread_t handle;
} tide__thread;
#endif

/* Starts a thread running fn(arg). Returns 0, TIDE_ENOMEM or TIDE_EAGAIN (the OS refused another
 * thread). Every signal is blocked in the new thread: signals belong to the program's own
 * threads (and, later, to a loop's signal handling), never to an executor worker. */
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
