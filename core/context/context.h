/* core/context/context.h — switching between stacks: the lowest layer under tide's tasks.
 *
 * A tide__context is a suspended execution: a stack and what is needed to resume on it. A task is
 * made with tide__context_make on a stack from tide__stack_alloc (core/sys/stack.h); the loop's own
 * stack becomes a context with tide__context_init_current; tide__context_switch saves the running
 * one and resumes another. Nothing here allocates (but the fiber build, whose fibers the OS
 * allocates), and nothing here is thread-safe: a context is resumed only on the thread that runs
 * its loop.
 *
 * Implementations, chosen at configure time by cmake/TideContext.cmake (TIDE_CONTEXT=auto|asm|
 * ucontext|fiber), which defines TIDE_CONTEXT_ASM, TIDE_CONTEXT_UCONTEXT or TIDE_CONTEXT_FIBER for
 * tide and its tests:
 *   asm       hand-written switches: switch_x86_64_sysv.S, switch_aarch64.S, switch_x86_64_win64.S
 *             (context_asm.c is their C side). A switch saves only what the ABI says a call
 *             preserves, on the stack being left, so it costs about as much as a function call.
 *   ucontext  POSIX makecontext/swapcontext (context_ucontext.c), for other POSIX systems. Correct
 *             but slow: glibc's swapcontext makes a sigprocmask system call on every switch.
 *   fiber     Win32 fibers (context_fiber.c), Windows only: the build option for compilers that
 *             cannot assemble the GNU-syntax switch (MSVC) or targets without one. Each context
 *             runs on a stack the OS allocates for its fiber; the tide__stack given to
 *             tide__context_make is not used (see context_fiber.c).
 *
 * Sanitizers and tools are told about every switch (context_sanitizer.h): ASan's fiber API, TSan's
 * fiber API; valgrind learns the stacks when they are allocated (core/sys/stack_posix.c). The fiber
 * build does not tell them and refuses to compile under them (context_fiber.c).
 *
 * Pitfalls the callers must respect:
 *   - A context must stay at the same address from tide__context_make until it has finished: the
 *     new stack's first frame points back at it. Do not copy a tide__context.
 *   - The entry function never returns; its last act is tide__context_switch_final. Returning from
 *     it aborts the process, because there is nowhere to return to.
 *   - A context that has finished (switched away with tide__context_switch_final) is never switched
 *     to again; make it anew to reuse it and its stack.
 */
#ifndef TIDE_CONTEXT_CONTEXT_H
#define TIDE_CONTEXT_CONTEXT_H

#include <stddef.h>

/* The build defines one of these; a build that does not (say, a vendoring project compiling the
 * sources by hand) gets what TIDE_CONTEXT=auto would have chosen. */
#if !defined(TIDE_CONTEXT_ASM) && !defined(TIDE_CONTEXT_UCONTEXT) && !defined(TIDE_CONTEXT_FIBER)
#if (defined(__x86_64__) && !defined(_MSC_VER)) || defined(__aarch64__)
#define TIDE_CONTEXT_ASM 1
#elif defined(_WIN32)
#define TIDE_CONTEXT_FIBER 1
#else
#define TIDE_CONTEXT_UCONTEXT 1
#endif
#endif

#if defined(TIDE_CONTEXT_UCONTEXT)
#include <ucontext.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tide__context tide__context;

struct tide__context {
#if defined(TIDE_CONTEXT_UCONTEXT)
  ucontext_t uc;
  tide__context *prev; /* set by whoever switches here: the context it left, for the sanitizers */
#elif defined(TIDE_CONTEXT_FIBER)
  /* The Win32 fiber: the running thread's (tide__context_init_current), or one created at the
   * first switch into a made context and deleted by whichever context its final switch resumes.
   * NULL for a made context that has not run yet or has been deleted. */
  void *fiber;
  tide__context *prev; /* set by whoever switches here: the context it left, deleted if finished */
  /* The creator's FP control modes (MXCSR, x87 control word), which a new context starts with. */
  unsigned fp_mxcsr;
  unsigned short fp_x87_cw;
#else
  /* The saved stack pointer while suspended; the switch code reads and writes only this. */
  void *sp;
#endif
  /* The stack, lowest address first. For a context made by tide__context_init_current it is
   * unknown (NULL, 0) until ASan reports it at the first switch away; nothing else needs it.
   * With fibers the base is NULL and the size is what the fiber's own stack is sized from. */
  void *stack_base;
  size_t stack_size;
  void (*entry)(void *arg);
  void *arg;
  /* Sanitizer state; always present so the layout does not depend on the flags an includer was
   * compiled with. Unused (NULL) in a build without sanitizers. */
  void *asan_fake_stack; /* ASan's fake stack for this context while it is switched out */
  void *tsan_fiber;      /* TSan's fiber, created lazily at the first switch into the context */
  int finished;          /* set by tide__context_switch_final */
};

/* Prepares ctx so that the first switch into it runs entry(arg) on the stack
 * [stack_base, stack_base + stack_size) (stack_base is the LOWEST address; the stack grows down
 * from the top). entry must never return: it must switch away for the last time, with
 * tide__context_switch_final. The stack must be at least a few KiB and stays the caller's: free it
 * only after the context has finished (or was never switched to). ctx must not move meanwhile. */
void tide__context_make(tide__context *ctx, void *stack_base, size_t stack_size,
                        void (*entry)(void *arg), void *arg);

/* Prepares ctx to represent the currently running thread stack (the loop's own stack) so it can be
 * a `from` and later a `to`. */
void tide__context_init_current(tide__context *ctx);

/* Saves the current execution into `from` and resumes `to`. Returns when something switches back
 * into `from`. `from` must be the context that is running; `to` one that is suspended (made and
 * not yet finished, or saved by an earlier switch). */
void tide__context_switch(tide__context *from, tide__context *to);

/* When the current context finishes for good (entry's last switch), call this variant so
 * sanitizers can release the fiber's fake stack. It does not return. */
void tide__context_switch_final(tide__context *from, tide__context *to);

#ifdef __cplusplus
}
#endif

#endif
