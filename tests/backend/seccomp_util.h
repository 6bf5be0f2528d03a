/* tests/backend/seccomp_util.h — making one system call fail in a test's child process, to play a
 * kernel or sandbox the machine is not (an old kernel without a call, a container that refuses
 * io_uring, a kernel out of memory for requests). Linux only; what the backend tests share.
 *
 * A seccomp filter is permanent for the process and inherited by its threads, so the tests
 * install it in a forked child and pass the child's verdict on. */
#ifndef TIDE_TESTS_SECCOMP_UTIL_H
#define TIDE_TESTS_SECCOMP_UTIL_H

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>

/* What a child exits with when it could not install a filter (the test then skips). */
enum { CHILD_NO_SECCOMP = 3 };

/* Which calls of system call `nr` the filter refuses. */
typedef enum seccomp_when {
  SECCOMP_ALWAYS,       /* every call */
  SECCOMP_ARG_ZERO,     /* calls whose argument number `arg` is 0 (its low 32 bits) */
  SECCOMP_ARG_NON_ZERO, /* calls whose argument number `arg` is not 0 */
} seccomp_when;

/* Makes system call `nr` fail with `err` for the calls `when` selects, from now on, for this
 * process. Returns 0, or -1 where seccomp filters cannot be installed. */
static inline int seccomp_refuse(unsigned nr, seccomp_when when, unsigned arg, int err) {
  unsigned char refuse_if_zero = when == SECCOMP_ARG_ZERO;
  struct sock_filter code[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 3),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
               (unsigned)offsetof(struct seccomp_data, args[0]) + 8 * arg),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, refuse_if_zero ? 0 : 1, refuse_if_zero ? 1 : 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((unsigned)err & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {.len = sizeof code / sizeof code[0], .filter = code};
  if (when == SECCOMP_ALWAYS) {
    /* Skip the argument test: straight from the number match to the refusal. */
    code[1] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 2, 3);
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return -1;
  return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0 ? 0 : -1;
}

#endif
