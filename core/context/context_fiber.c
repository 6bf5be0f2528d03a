/* core/context/context_fiber.c — contexts over Win32 fibers (TIDE_CONTEXT=fiber), Windows only.
 *
 * The build option for Windows toolchains that cannot assemble switch_x86_64_win64.S (MSVC) or
 * have no tide switch at all (Windows on ARM64): the OS does the switching, including the TIB
 * fields (stack bounds, fiber-local storage) the hand-written switch has to swap itself. It costs
 * a call into kernelbase per switch. Creating a fiber costs much more (a stack reservation, its
 * guard page, the OS's fiber block, the first touches of fresh stack pages: several microseconds
 * on Windows, ~15 under wine), so fibers are pooled per root, as the task layer pools stacks:
 *
 *   A root is a context from tide__context_init_current (a loop's own stack). A context made and
 *   first switched to from a context descending from a root takes a fiber from that root's pool,
 *   or creates one. A fiber runs bodies in a loop (fiber_loop): run a context's entry; when it
 *   ends with tide__context_switch_final, jump back to the top of the loop (discarding the body's
 *   frames), put the fiber in the pool and switch to the final switch's target; when a later
 *   context takes the fiber from the pool, it wakes there and runs that context's entry. The pool
 *   is bounded (TIDE__FIBER_POOL_LIMIT fibers of TIDE__FIBER_POOL_SIZES distinct stack sizes);
 *   a fiber that does not fit is deleted. tide__context_fini_current deletes the pooled fibers,
 *   and tide__context_destroy the fiber of a context that will never finish.
 *
 * Pitfalls of the API, worked around below:
 *   - A fiber owns its stack: CreateFiberEx reserves it and DeleteFiber frees it, and no API runs
 *     a fiber on memory the caller provides. So the tide__stack given to tide__context_make is
 *     not used; only its size is, as the fiber's reservation (plus the pages Windows keeps at the
 *     bottom for itself, so the task still gets the size it asked for). The caller's stack costs
 *     commit charge but no physical pages, since nothing touches it. Windows rounds the
 *     reservation up to 64 KiB; wine to at least 1 MiB. Both commit it page by page on first touch
 *     through a PAGE_GUARD page, so an overflow is the OS's EXCEPTION_STACK_OVERFLOW. A pooled
 *     fiber keeps the pages earlier bodies touched, as a pooled tide__stack does.
 *   - No API restarts a fiber at its start routine, and a body ends deep in its own frames (entry
 *     never returns; its last act is the final switch). The final switch therefore jumps back to
 *     fiber_loop's frame with a setjmp/longjmp pair. GCC gets its builtin pair, which restores the
 *     stack and frame pointers without unwinding: the frames it skips are tide's and the task's C
 *     frames, which hold no SEH handlers, so there is nothing to unwind. Elsewhere the C library's
 *     longjmp unwinds through them (RtlUnwindEx), which is correct, only slower (under wine about
 *     1 us a task against 0.15 us; either is far below a CreateFiberEx).
 *   - DeleteFiber on the running fiber exits the thread, so a fiber cannot delete itself. One that
 *     finds the pool full is deleted by the context its final switch resumes, as soon as that one
 *     runs again (reap_finished): the switcher leaves its context in to->prev, and the resumed
 *     side deletes the fiber if that context finished and still holds it.
 *   - Fibers are taken or created at the first switch into a context, not by tide__context_make:
 *     a context that never runs (a task cancelled before it started) then costs nothing.
 *   - tide__context_make and tide__context_switch cannot fail, so a CreateFiberEx or
 *     ConvertThreadToFiberEx that fails (out of address space or commit) aborts the process.
 *   - Only a fiber can switch to a fiber: the thread must be converted (ConvertThreadToFiberEx),
 *     and converting it again fails with ERROR_ALREADY_FIBER. The application, or another loop on
 *     the thread, may have converted it already, and either may convert it back while this root
 *     lives. So a root learns the running fiber at every switch away from it (IsThreadAFiber, then
 *     GetCurrentFiber, two reads of the TEB), converts the thread only if it is not a fiber then,
 *     and converts it back at tide__context_fini_current only if it did the conversion and the
 *     thread still runs that fiber (from inside another fiber the conversion cannot be undone; it
 *     then lasts as long as the thread, a small block).
 *   - FIBER_FLAG_FLOAT_SWITCH asks the OS to switch the floating-point control modes, which the
 *     ABI says a call preserves. Wine ignores it (a FIXME in its SwitchToFiber), and a thread the
 *     application converted may lack it, so tide saves and restores MXCSR's control bits and the
 *     x87 control word around every switch itself, and starts each body with its creator's modes
 *     as the hand-written switches do, whichever fiber it runs on.
 *   - Fiber-local storage (FlsAlloc, and the C runtime's per-fiber data behind errno) belongs to
 *     the fiber, so a body on a pooled fiber sees what the previous body on it left there, as a
 *     job on a thread pool sees its thread's. Tasks must not rely on FLS starting empty.
 *   - GetCurrentFiber is meaningful only on a thread that is a fiber (elsewhere it reads whatever
 *     the TIB holds in that slot).
 *
 * Sanitizers are not told about the switches: the fiber's stack bounds are known only once it
 * runs, after the switch ASan would need them for. A sanitizer build refuses this file rather than
 * report false errors; use TIDE_CONTEXT=asm under sanitizers. */
#include "context.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#include "context_sanitizer.h"

#if defined(TIDE_CONTEXT_ASAN) || defined(TIDE_CONTEXT_TSAN)
#error "TIDE_CONTEXT=fiber does not tell sanitizers about stack switches; use TIDE_CONTEXT=asm"
#endif

#if defined(__x86_64__) || defined(_M_X64)
#include <xmmintrin.h>
#define FIBER_SWITCH_FP_MODES 1
#endif

/* Added to the requested size: the bottom of a fiber's reservation that Windows keeps, the
 * PAGE_GUARD page that grows the stack and the space it guarantees to the handler of a stack
 * overflow (SetThreadStackGuarantee). */
#define FIBER_STACK_HEADROOM (16 * 1024)

/* MXCSR's control bits (rounding, flush-to-zero, denormals-are-zero, exception masks); the low six
 * are sticky status flags, which a call does not preserve. */
#define MXCSR_CONTROL_MASK 0xffc0u

/* The jump from a finished body back to the top of its fiber's loop (see the pitfalls above).
 * Not clang's builtin pair: on x86-64 Windows its longjmp restores a frame pointer offset from
 * the one the receiver addresses its spills by (clang 14, mingw target: the jump lands with a
 * wrong frame and crashes). */
#if defined(__GNUC__) && !defined(__clang__)
typedef void *fiber_jmp_buf[5]; /* the size GCC documents for the builtins */
#define FIBER_SETJMP(buf) __builtin_setjmp(buf)
#define FIBER_LONGJMP(buf) __builtin_longjmp(buf, 1)
#else
#include <setjmp.h>
typedef jmp_buf fiber_jmp_buf;
#define FIBER_SETJMP(buf) setjmp(buf)
#define FIBER_LONGJMP(buf) longjmp(buf, 1)
#endif
#if defined(_MSC_VER) && !defined(__clang__)
#define FIBER_NOINLINE __declspec(noinline)
#else
#define FIBER_NOINLINE __attribute__((noinline))
#endif

/* One per fiber, on the fiber's own stack (in fiber_main's frame), so it lives exactly as long as
 * the fiber and costs no allocation. */
struct tide__fiber_run {
  void *fiber;
  tide__context *root;          /* whose pool the fiber returns to */
  tide__context *ctx;           /* the context whose body the fiber runs, or runs next */
  tide__context *exit_to;       /* where the finished body's final switch goes */
  size_t stack_size;            /* the size the fiber's stack was reserved for */
  struct tide__fiber_run *next; /* the next idle fiber of the same size, while pooled */
  fiber_jmp_buf top;            /* fiber_loop's frame, where a finished body jumps back to */
};

/* ---- floating-point control modes ----------------------------------------------------------- */

struct fp_modes {
  unsigned mxcsr;
  unsigned short x87_cw;
};

static struct fp_modes fp_modes_get(void) {
  struct fp_modes m = {0, 0};
#if defined(FIBER_SWITCH_FP_MODES)
  m.mxcsr = _mm_getcsr();
#if defined(__GNUC__) || defined(__clang__)
  __asm__ volatile("fnstcw %0" : "=m"(m.x87_cw));
#endif
#endif
  return m;
}

/* Loads the control modes of m where they differ from the running ones: ldmxcsr and fldcw cost
 * more than a comparison. MSVC's x64 code never uses the x87 unit and has no inline assembly, so
 * there only MXCSR is switched. */
static void fp_modes_restore(struct fp_modes m) {
#if defined(FIBER_SWITCH_FP_MODES)
  unsigned now = _mm_getcsr();
  if ((now ^ m.mxcsr) & MXCSR_CONTROL_MASK)
    _mm_setcsr((m.mxcsr & MXCSR_CONTROL_MASK) | (now & ~MXCSR_CONTROL_MASK));
#if defined(__GNUC__) || defined(__clang__)
  unsigned short cw;
  __asm__ volatile("fnstcw %0" : "=m"(cw));
  if (cw != m.x87_cw)
    __asm__ volatile("fldcw %0" : : "m"(m.x87_cw));
#endif
#else
  (void)m;
#endif
}

/* ---- fibers --------------------------------------------------------------------------------- */

/* GCC 12's -Warray-bounds takes mingw-w64's inline GetCurrentFiber (a read at gs:0x20) for an
 * access through a near-null pointer. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Warray-bounds"
#endif
static void *running_fiber(void) {
  return GetCurrentFiber();
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

static void delete_fiber(tide__context *root, void *fiber) {
  assert(fiber != running_fiber());
  DeleteFiber(fiber);
  root->u.root.deleted++;
}

/* Called by a context as soon as it runs after a switch: deletes the fiber of the context that
 * switched here if that switch was its final one and the pool had no room for the fiber. */
static void reap_finished(tide__context *prev) {
  if (prev != NULL && prev->finished && prev->fiber != NULL) {
    delete_fiber(prev->root, prev->fiber);
    prev->fiber = NULL;
  }
}

/* Makes root->fiber the running fiber, converting the thread if it is not a fiber (see the
 * pitfalls above: someone may have converted it back since the last switch). */
static void root_refresh(tide__context *root) {
  if (IsThreadAFiber()) {
    root->fiber = running_fiber();
    return;
  }
  /* Not a fiber, so this cannot fail with ERROR_ALREADY_FIBER: only for lack of memory. */
  root->fiber = ConvertThreadToFiberEx(NULL, FIBER_FLAG_FLOAT_SWITCH);
  if (root->fiber == NULL)
    abort(); /* there is no error path to report it on */
  root->u.root.converted = 1;
}

/* ---- the pool ------------------------------------------------------------------------------- */

/* Keeps a fiber whose body finished, if the pool has room for it and for its size. */
static int pool_put(tide__context *root, struct tide__fiber_run *run) {
  if (root->u.root.pooled >= TIDE__FIBER_POOL_LIMIT)
    return 0;
  int empty = -1;
  for (int i = 0; i < TIDE__FIBER_POOL_SIZES; i++) {
    if (root->u.root.sizes[i].head == NULL) {
      if (empty < 0)
        empty = i;
    } else if (root->u.root.sizes[i].stack_size == run->stack_size) {
      empty = i;
      break;
    }
  }
  if (empty < 0)
    return 0; /* every list holds fibers of other sizes */
  run->next = root->u.root.sizes[empty].head;
  root->u.root.sizes[empty].head = run;
  root->u.root.sizes[empty].stack_size = run->stack_size;
  root->u.root.pooled++;
  return 1;
}

static struct tide__fiber_run *pool_take(tide__context *root, size_t stack_size) {
  for (int i = 0; i < TIDE__FIBER_POOL_SIZES; i++) {
    struct tide__fiber_run *run = root->u.root.sizes[i].head;
    if (run != NULL && root->u.root.sizes[i].stack_size == stack_size) {
      root->u.root.sizes[i].head = run->next;
      root->u.root.pooled--;
      run->next = NULL;
      return run;
    }
  }
  return NULL;
}

/* ---- a fiber's life ------------------------------------------------------------------------- */

static void fiber_assign(tide__context *ctx, tide__context *root);

/* On a fiber whose body has finished, back in fiber_loop's frame: gives the fiber to the pool (or
 * leaves it to be deleted) and leaves for the final switch's target. Returns when a later context
 * takes the fiber from the pool, with run->ctx set to it. */
static void fiber_park(struct tide__fiber_run *run) {
  tide__context *done = run->ctx, *to = run->exit_to;
  assert(done->finished && done->fiber == run->fiber && to != done && !to->finished);
  done->u.made.run = NULL;
  /* Before the put: a `to` that has never run must not be handed this very fiber. */
  if (to->fiber == NULL)
    fiber_assign(to, done->root);
  int pooled = pool_put(run->root, run);
  if (pooled)
    done->fiber = NULL; /* else reap_finished, on the side resumed, deletes it */
  to->prev = done;
  SwitchToFiber(to->fiber);
  if (!pooled)
    abort(); /* deleted while switched out: nothing can switch back here */
}

/* Runs bodies: one per pass, until the fiber is deleted. Not inlined into fiber_main, so the run
 * record lives in the caller's frame and no local of this one is live across the setjmp. */
static FIBER_NOINLINE void fiber_loop(struct tide__fiber_run *run) {
  if (FIBER_SETJMP(run->top) != 0)
    fiber_park(run); /* a body's final switch jumped here */
  tide__context *self = run->ctx;
  self->u.made.run = run;
  struct fp_modes creator;
  creator.mxcsr = self->u.made.fp_mxcsr;
  creator.x87_cw = self->u.made.fp_x87_cw;
  fp_modes_restore(creator);
  reap_finished(self->prev);
  self->entry(self->arg);
  /* entry must end with tide__context_switch_final, which never returns here. */
  abort();
}

/* The first code a new fiber runs; param is the context it was created for. Returning from a
 * fiber's start routine would exit the thread, and fiber_loop never returns. */
static VOID CALLBACK fiber_main(LPVOID param) {
  tide__context *first = param;
  struct tide__fiber_run run;
  memset(&run, 0, sizeof run);
  run.fiber = first->fiber;
  run.root = first->root;
  run.ctx = first;
  run.stack_size = first->stack_size;
  fiber_loop(&run);
  abort();
}

/* Gives a context that is about to run for the first time its fiber: a pooled one, or a new one. */
static void fiber_assign(tide__context *ctx, tide__context *root) {
  assert(ctx->entry != NULL && ctx->stack_size <= SIZE_MAX - FIBER_STACK_HEADROOM);
  ctx->root = root;
  struct tide__fiber_run *run = pool_take(root, ctx->stack_size);
  if (run != NULL) {
    run->ctx = ctx;
    ctx->fiber = run->fiber;
    return;
  }
  /* Commit 0: the executable's default initial commit (a page or two); the rest on first touch. */
  ctx->fiber = CreateFiberEx(0, ctx->stack_size + FIBER_STACK_HEADROOM, FIBER_FLAG_FLOAT_SWITCH,
                             fiber_main, ctx);
  if (ctx->fiber == NULL)
    abort(); /* see the pitfalls above: there is no error path to report it on */
  root->u.root.created++;
}

/* ---- the interface -------------------------------------------------------------------------- */

void tide__context_make(tide__context *ctx, void *stack_base, size_t stack_size,
                        void (*entry)(void *arg), void *arg) {
  assert(ctx != NULL && stack_base != NULL && entry != NULL);
  assert(stack_size >= 1024);
  memset(ctx, 0, sizeof *ctx);
  /* The fiber's own stack is used; stack_base is not (see the pitfalls above). */
  (void)stack_base;
  ctx->stack_size = stack_size;
  ctx->entry = entry;
  ctx->arg = arg;
  struct fp_modes creator = fp_modes_get();
  ctx->u.made.fp_mxcsr = creator.mxcsr;
  ctx->u.made.fp_x87_cw = creator.x87_cw;
}

void tide__context_init_current(tide__context *ctx) {
  assert(ctx != NULL);
  memset(ctx, 0, sizeof *ctx);
  /* The thread is converted at the first switch away, if it is not a fiber by then: a loop that
   * never runs a task never touches the thread's fiber state. */
  ctx->root = ctx;
}

void tide__context_switch(tide__context *from, tide__context *to) {
  assert(from != to && !to->finished && from->root != NULL);
  /* A local survives the switch: it is on from's stack, which nothing else runs on meanwhile. */
  struct fp_modes mine = fp_modes_get();
  if (from->root == from)
    root_refresh(from);
  assert(from->fiber != NULL && from->fiber == running_fiber());
  if (to->fiber == NULL)
    fiber_assign(to, from->root);
  to->prev = from;
  SwitchToFiber(to->fiber);
  fp_modes_restore(mine);
  reap_finished(from->prev);
}

void tide__context_switch_final(tide__context *from, tide__context *to) {
  /* Only a made context finishes: a root has no entry to end. */
  assert(from != to && !to->finished && from->root != from && from->u.made.run != NULL);
  assert(from->fiber == running_fiber() && from->u.made.run->ctx == from);
  from->finished = 1;
  struct tide__fiber_run *run = from->u.made.run;
  run->exit_to = to;
  FIBER_LONGJMP(run->top); /* to fiber_loop, which parks the fiber and switches to `to` */
}

void tide__context_destroy(tide__context *ctx) {
  assert(ctx != NULL);
  if (ctx->fiber == NULL || ctx->root == ctx)
    return; /* never ran, or finished; a root is undone by tide__context_fini_current */
  /* Started and suspended: its stack holds the body's frames, so the fiber cannot be pooled. */
  delete_fiber(ctx->root, ctx->fiber);
  ctx->fiber = NULL;
  ctx->u.made.run = NULL;
}

void tide__context_fini_current(tide__context *root) {
  assert(root != NULL && root->root == root);
  for (int i = 0; i < TIDE__FIBER_POOL_SIZES; i++) {
    while (root->u.root.sizes[i].head != NULL) {
      /* The record is on the fiber's stack, which DeleteFiber frees: unlink it first. */
      struct tide__fiber_run *run = root->u.root.sizes[i].head;
      void *fiber = run->fiber;
      root->u.root.sizes[i].head = run->next;
      delete_fiber(root, fiber);
    }
    root->u.root.sizes[i].stack_size = 0;
  }
  root->u.root.pooled = 0;
  if (root->u.root.converted && IsThreadAFiber() && running_fiber() == root->fiber)
    ConvertFiberToThread();
  root->u.root.converted = 0;
  root->fiber = NULL;
}

tide__context_fiber_stats tide__context_fiber_stats_of(const tide__context *root) {
  tide__context_fiber_stats s;
  assert(root != NULL && root->root == root);
  s.created = root->u.root.created;
  s.deleted = root->u.root.deleted;
  s.pooled = root->u.root.pooled;
  return s;
}
