/* core/sys/thread_win32.c — tide__thread over Win32 threads.
 *
 * Pitfalls of the API, handled below:
 *   - Threads are started with the C runtime's _beginthreadex, not CreateThread: the CRT then sets
 *     up and frees its per-thread state (errno, strtok, locale) itself. It returns 0 on failure
 *     with errno set (EAGAIN: too many threads; EACCES: out of resources), not a HANDLE of -1 like
 *     _beginthread. The handle must be closed after the join, or it leaks (a thread object stays
 *     alive as long as a handle to it does).
 *   - The CPU count: GetSystemInfo's dwNumberOfProcessors counts only the caller's processor group
 *     (at most 64 CPUs) and ignores the process affinity. A process restricted with an affinity
 *     mask (start /affinity, a job object) gets the bits of that mask. A process whose threads
 *     run in several processor groups (machines with more than 64 CPUs) gets the active CPUs of
 *     every group it spans: GetProcessAffinityMask reports zero masks for such a process, which is
 *     how that case is recognised.
 *   - Sleep takes milliseconds and, at the default timer resolution, sleeps until the next
 *     15.6 ms tick; a high-resolution waitable timer (Windows 10 1803 and later) honours short
 *     sleeps. It is created per call: the one caller (a loop closing while executor jobs run)
 *     sleeps rarely, and no timer handle then outlives the call or needs a global.
 *   - No signals to block: Windows delivers console events on a thread of their own. */
#include "core/sys/thread.h"

#include <errno.h>
#include <process.h>
#include <stdlib.h>

#include "tide/error.h"

#ifndef CREATE_WAITABLE_TIMER_HIGH_RESOLUTION
#define CREATE_WAITABLE_TIMER_HIGH_RESOLUTION 0x00000002 /* older SDK headers lack it */
#endif

typedef struct start_info {
  void (*fn)(void *arg);
  void *arg;
} start_info;

static unsigned __stdcall trampoline(void *p) {
  start_info info = *(start_info *)p;
  free(p);
  info.fn(info.arg);
  return 0;
}

int tide__thread_start(tide__thread *t, void (*fn)(void *arg), void *arg) {
  start_info *info = malloc(sizeof *info);
  if (info == NULL)
    return TIDE_ENOMEM;
  info->fn = fn;
  info->arg = arg;
  uintptr_t h = _beginthreadex(NULL, 0, trampoline, info, 0, NULL);
  if (h == 0) {
    int err = errno;
    free(info);
    return err == EAGAIN ? TIDE_EAGAIN : TIDE_ENOMEM;
  }
  t->handle = (HANDLE)h;
  return 0;
}

void tide__thread_join(tide__thread *t) {
  (void)WaitForSingleObject(t->handle, INFINITE);
  (void)CloseHandle(t->handle);
  t->handle = NULL;
}

static unsigned count_bits(ULONG_PTR mask) {
  unsigned n = 0;
  for (; mask != 0; mask &= mask - 1)
    n++;
  return n;
}

/* The active CPUs of every processor group the process spans; 0 if that cannot be learned. */
static unsigned count_group_cpus(void) {
  USHORT groups[64]; /* Windows has at most 20 groups today; 64 leaves room */
  USHORT count = (USHORT)(sizeof groups / sizeof groups[0]);
  if (!GetProcessGroupAffinity(GetCurrentProcess(), &count, groups))
    return 0;
  unsigned n = 0;
  for (USHORT i = 0; i < count; i++)
    n += GetActiveProcessorCount(groups[i]);
  return n;
}

unsigned tide__cpu_count(void) {
  DWORD_PTR process_mask = 0, system_mask = 0;
  if (GetProcessAffinityMask(GetCurrentProcess(), &process_mask, &system_mask) && process_mask != 0)
    return count_bits(process_mask);
  unsigned n = count_group_cpus();
  if (n > 0)
    return n;
  n = GetActiveProcessorCount(ALL_PROCESSOR_GROUPS);
  return n > 0 ? n : 1u;
}

void tide__thread_yield(void) {
  (void)SwitchToThread();
}

/* Sleep rounds down to the timer tick; the rounding up to whole milliseconds here keeps the
 * "at least about ns" of the contract when no high-resolution timer is available. */
static void sleep_ms(int64_t ns) {
  int64_t ms = (ns + 999999) / 1000000;
  Sleep(ms >= (int64_t)INFINITE ? INFINITE - 1 : (DWORD)ms);
}

void tide__thread_sleep_ns(int64_t ns) {
  if (ns <= 0) {
    Sleep(0);
    return;
  }
  HANDLE timer =
      CreateWaitableTimerExW(NULL, NULL, CREATE_WAITABLE_TIMER_HIGH_RESOLUTION, TIMER_ALL_ACCESS);
  if (timer == NULL) {
    sleep_ms(ns);
    return;
  }
  LARGE_INTEGER due;
  /* Negative: relative, in 100 ns units, rounded up. INT64_MAX ns is far below the limit. */
  due.QuadPart = -((ns + 99) / 100);
  if (SetWaitableTimer(timer, &due, 0, NULL, NULL, FALSE))
    (void)WaitForSingleObject(timer, INFINITE);
  else
    sleep_ms(ns);
  (void)CloseHandle(timer);
}
