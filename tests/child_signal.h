/* tests/child_signal.h — running a piece of a test in a child process that is expected to die.
 *
 * Used to pin "a stack overflow hits the guard page": the child overflows and the parent checks it
 * was killed by SIGSEGV (SIGBUS on macOS). Being killed is not proof enough (an overflow that ran
 * past the guard into unmapped memory would be killed too), so the child also checks where it
 * faulted: a handler on an alternate signal stack looks at the fault address and, if it lies in
 * the expected range, restores the default action and returns, so the faulting instruction runs
 * again and kills the child with the same signal; anywhere else, the child exits with
 * TIDE_TEST_FAULT_ELSEWHERE instead. Installing our own handler also displaces the one sanitizer
 * runtimes install, which would turn the fault into a report and exit(1). */
#ifndef TIDE_TESTS_CHILD_SIGNAL_H
#define TIDE_TESTS_CHILD_SIGNAL_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#if defined(_WIN32)
#define TIDE_TEST_HAVE_FORK 0
#include <winsock2.h> /* before <windows.h>, as tide.h's socket headers need */
#include <windows.h>
#else
#define TIDE_TEST_HAVE_FORK 1
#include <errno.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

/* The size of a memory page (what stacks and their guards are made of). */
static inline size_t tide_test_page_size(void) {
#if defined(_WIN32)
  SYSTEM_INFO info;
  GetSystemInfo(&info);
  return (size_t)info.dwPageSize;
#else
  return (size_t)sysconf(_SC_PAGESIZE);
#endif
}

/* The child's exit status when it faulted outside the expected range. */
#define TIDE_TEST_FAULT_ELSEWHERE 85

/* Whether `sig` is what touching an inaccessible (guard) page raises: SIGSEGV, or on macOS
 * SIGBUS, which its kernel raises for a page that is mapped but protected (SIGSEGV is for an
 * address with nothing mapped). The fault address is checked in the child either way. */
static inline int tide_test_is_guard_fault(int sig) {
#if defined(__APPLE__)
  return sig == SIGSEGV || sig == SIGBUS;
#else
  return sig == SIGSEGV;
#endif
}

#if TIDE_TEST_HAVE_FORK
static uintptr_t tide_test_fault_lo, tide_test_fault_hi;

static void tide_test_on_fault(int sig, siginfo_t *info, void *uctx) {
  (void)uctx;
  uintptr_t addr = (uintptr_t)info->si_addr;
  if (addr < tide_test_fault_lo || addr >= tide_test_fault_hi)
    _exit(TIDE_TEST_FAULT_ELSEWHERE);
  signal(sig, SIG_DFL); /* async-signal-safe; the fault repeats and now kills the child */
}
#endif

/* Runs fn(arg) in a forked child, expecting it to fault on an address in [fault_lo, fault_hi).
 * Returns the signal that killed the child (one tide_test_is_guard_fault accepts when it faulted
 * in the range), 0 if it exited (then *status holds its exit status: 0 if fn returned,
 * TIDE_TEST_FAULT_ELSEWHERE if it faulted outside the range), or -1 if there is no fork here. */
static inline int tide_test_run_in_child(void (*fn)(void *), void *arg, const void *fault_lo,
                                         const void *fault_hi, int *status) {
  *status = 0;
#if TIDE_TEST_HAVE_FORK
  fflush(NULL); /* or buffered output would be written twice */
  pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    exit(1);
  }
  if (pid == 0) {
    static char altstack[64 * 1024];
    stack_t ss;
    memset(&ss, 0, sizeof ss);
    ss.ss_sp = altstack;
    ss.ss_size = sizeof altstack;
    if (sigaltstack(&ss, NULL) != 0)
      _exit(2);
    tide_test_fault_lo = (uintptr_t)fault_lo;
    tide_test_fault_hi = (uintptr_t)fault_hi;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = tide_test_on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, NULL) != 0 || sigaction(SIGBUS, &sa, NULL) != 0)
      _exit(2);
    fn(arg);
    _exit(0);
  }
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0) {
    if (errno != EINTR) {
      perror("waitpid");
      exit(1);
    }
  }
  if (WIFSIGNALED(wstatus))
    return WTERMSIG(wstatus);
  *status = WEXITSTATUS(wstatus);
  return 0;
#else
  (void)fn;
  (void)arg;
  (void)fault_lo;
  (void)fault_hi;
  return -1;
#endif
}

#endif
