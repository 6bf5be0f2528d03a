/* core/sys/thread_posix.c — tide__thread over pthreads.
 *
 * Pitfalls handled here: pthread_create reports errors as a return value, not errno; a new thread
 * inherits the creator's signal mask, so the mask is blocked around the create (the worker starts
 * with every signal blocked and the creator's mask is restored); sysconf(_SC_NPROCESSORS_ONLN)
 * counts the machine's CPUs, not those of the affinity mask, so on Linux sched_getaffinity is
 * asked first (a container pinned to 2 CPUs of 64 wants 2 workers). */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#endif
#include "core/sys/thread.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "tide/error.h"

typedef struct start_info {
  void (*fn)(void *arg);
  void *arg;
} start_info;

static void *trampoline(void *p) {
  start_info info = *(start_info *)p;
  free(p);
  info.fn(info.arg);
  return NULL;
}

int tide__thread_start(tide__thread *t, void (*fn)(void *arg), void *arg) {
  start_info *info = malloc(sizeof *info);
  if (info == NULL)
    return TIDE_ENOMEM;
  info->fn = fn;
  info->arg = arg;
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int rc = pthread_create(&t->handle, NULL, trampoline, info);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (rc != 0) {
    free(info);
    return rc == EAGAIN ? TIDE_EAGAIN : TIDE_ENOMEM;
  }
  return 0;
}

void tide__thread_join(tide__thread *t) {
  (void)pthread_join(t->handle, NULL);
}

unsigned tide__cpu_count(void) {
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0)
      return (unsigned)n;
  }
#endif
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (unsigned)n : 1u;
}

void tide__thread_yield(void) {
  (void)sched_yield();
}

void tide__thread_sleep_ns(int64_t ns) {
  if (ns < 0)
    ns = 0;
  struct timespec ts = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}
