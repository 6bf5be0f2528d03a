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
 *             tide__context_make is not used (see context_fiber.c). A context made and started
 *             from a root (a tide__context_init_current context) takes its fiber from the root's
 *             pool of finished fibers, and a finished context gives its fiber back to the pool, so
 *             steady state creates no fibers.
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
 *   - A context that started and will never finish (its task was destroyed while pending) must be
 *     given to tide__context_destroy, and a root to tide__context_fini_current once every context
 *     started from it has finished or been destroyed: with fibers, that is where the OS objects
 *     behind them are freed. Both do nothing in the other implementations.
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

#if defined(TIDE_CONTEXT_FIBER)
struct tide__fiber_run;
/* A root's fiber pool keeps at most this many finished fibers (as many as the task layer keeps
 * stacks), of at most TIDE__FIBER_POOL_SIZES distinct stack sizes at once (see context_fiber.c). */
#define TIDE__FIBER_POOL_LIMIT 1024
#define TIDE__FIBER_POOL_SIZES 4
#endif

struct tide__context {
#if defined(TIDE_CONTEXT_UCONTEXT)
  ucontext_t uc;
  tide__context *prev; /* set by whoever switches here: the context it left, for the sanitizers */
#elif defined(TIDE_CONTEXT_FIBER)
  /* The Win32 fiber. For a root (tide__context_init_current) the thread's running fiber, looked up
   * again at every switch away from it. For a made context the fiber it runs on, taken from its
   * root's pool or created at the first switch into it; NULL before that, and again once it has
   * finished (its fiber went back to the pool or was deleted) or was destroyed. */
  void *fiber;
  tide__context *prev; /* set by whoever switches here: the context it left */
  /* The root whose pool this context's fiber comes from: the root itself for a root; for a made
   * context, set at its first run to the root of the context that started it. */
  tide__context *root;
  /* A made context uses `made`, a root `root`. */
  union {
    struct {
      struct tide__fiber_run *run; /* the fiber's record of the body it runs (context_fiber.c) */
      /* The creator's FP control modes (MXCSR, x87 control word), which the context starts with. */
      unsigned fp_mxcsr;
      unsigned short fp_x87_cw;
    } made;
    struct {
      /* Finished fibers kept for reuse, a LIFO list per stack size (a fiber's stack cannot be
       * resized); TIDE__FIBER_POOL_SIZES sizes at a time, `pooled` fibers in all. */
      struct {
        size_t stack_size;
        struct tide__fiber_run *head;
      } sizes[TIDE__FIBER_POOL_SIZES];
      size_t pooled;
      size_t created; /* fibers CreateFiberEx made for contexts of this root, ever */
      size_t deleted; /* and DeleteFiber freed */
      int converted;  /* 1: this root converted the thread to a fiber, and converts it back */
    } root;
  } u;
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
 * sanitizers can release the fiber's fake stack, and with fibers so the fiber can go back to the
 * pool. It does not return. */
void tide__context_switch_final(tide__context *from, tide__context *to);

#if defined(TIDE_CONTEXT_FIBER)
/* Frees what a made context holds that will never finish: the fiber of one that started and is
 * suspended (deleted, not pooled: its stack still holds the body's frames, which are abandoned
 * without unwinding, as the other implementations abandon them with the tide__stack). Nothing to
 * do for a context that never ran or has finished. ctx must not be running; it may be made anew
 * afterwards. */
void tide__context_destroy(tide__context *ctx);

/* Undoes tide__context_init_current once every context started from root has finished or been
 * destroyed: deletes the pooled fibers, and converts the thread back from a fiber
 * (ConvertFiberToThread) if this root converted it and the thread still runs that fiber. The
 * counters stay readable (tide__context_fiber_stats); root may be initialised anew. */
void tide__context_fini_current(tide__context *root);

typedef struct tide__context_fiber_stats {
  size_t created; /* fibers created for contexts of this root, ever */
  size_t deleted; /* fibers deleted: pool full, destroyed while suspended, or at fini */
  size_t pooled;  /* finished fibers waiting in the pool now */
} tide__context_fiber_stats;

/* The fiber counters of a root (tide__context_init_current), for tests and diagnostics. Fibers
 * alive now = created - deleted; of those, `pooled` are idle. */
tide__context_fiber_stats tide__context_fiber_stats_of(const tide__context *root);
#else
/* Nothing to free: the caller frees the tide__stack, and the registers saved on it go with it. */
static inline void tide__context_destroy(tide__context *ctx) {
  (void)ctx;
}

/* Nothing to undo: a root holds no resources outside the implementation using fibers. */
static inline void tide__context_fini_current(tide__context *root) {
  (void)root;
}
#endif

#ifdef __cplusplus
}
#endif

#endif
