/* core/context/context_fiber.c — contexts over Win32 fibers (TIDE_CONTEXT=fiber), Windows only.
 *
 * The build option for Windows toolchains that cannot assemble switch_x86_64_win64.S (MSVC) or
 * have no tide switch at all (Windows on ARM64): the OS does the switching, including the TIB
 * fields (stack bounds, SEH chain, fiber-local storage) the hand-written switch has to swap itself.
 * It costs a call into kernelbase per switch and a VirtualAlloc/VirtualFree per context.
 *
 * Pitfalls of the API, worked around below:
 *   - A fiber owns its stack: CreateFiberEx reserves it and DeleteFiber frees it, and no API runs
 *     a fiber on memory the caller provides. So the tide__stack given to tide__context_make is
 *     not used; only its size is, as the fiber's reservation (plus the pages Windows keeps at the
 *     bottom for itself, so the task still gets the size it asked for). The caller's stack costs
 *     commit charge but no physical pages, since nothing touches it. Windows rounds the
 *     reservation up to 64 KiB; wine to at least 1 MiB. Both commit it page by page on first touch
 *     through a PAGE_GUARD page, so an overflow is the OS's EXCEPTION_STACK_OVERFLOW.
 *   - DeleteFiber on the running fiber exits the thread. A finished fiber is therefore deleted by
 *     the context its final switch resumes, as soon as that one runs again (reap_finished): the
 *     switcher leaves its context in to->prev, and the resumed side deletes it if it finished.
 *   - Fibers are created at the first switch into a context, not by tide__context_make: a context
 *     that never runs (a task cancelled before it started) then costs nothing, and there is no
 *     call that could delete its fiber (the interface has none). A context that started and never
 *     finishes leaks its fiber, where the other implementations only lose the stack's contents.
 *   - tide__context_make and tide__context_switch cannot fail, so a CreateFiberEx that fails (out
 *     of address space or commit) aborts the process.
 *   - Only a fiber can switch to a fiber: the thread must be converted once
 *     (ConvertThreadToFiberEx), and converting it again fails with ERROR_ALREADY_FIBER. The
 *     application may have converted it already, so tide__context_init_current asks IsThreadAFiber
 *     first and adopts the running fiber. tide never converts back (ConvertFiberToThread): it
 *     cannot know it is the last user on the thread, and the small block the conversion allocates
 *     lives as long as the thread.
 *   - FIBER_FLAG_FLOAT_SWITCH asks the OS to switch the floating-point control modes, which the
 *     ABI says a call preserves. Wine ignores it (a FIXME in its SwitchToFiber), and a thread the
 *     application converted may lack it, so tide saves and restores MXCSR and the x87 control word
 *     around every switch itself, and starts a new context with its creator's modes as the
 *     hand-written switches do.
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

/* Called by a context as soon as it runs after a switch: deletes the fiber of the context that
 * switched here if that switch was its final one. */
static void reap_finished(tide__context *prev) {
  if (prev != NULL && prev->finished && prev->fiber != NULL) {
    DeleteFiber(prev->fiber);
    prev->fiber = NULL;
  }
}

/* The first code a new fiber runs. */
static VOID CALLBACK fiber_start(LPVOID param) {
  tide__context *self = param;
  struct fp_modes creator;
  creator.mxcsr = self->fp_mxcsr;
  creator.x87_cw = self->fp_x87_cw;
  fp_modes_restore(creator);
  reap_finished(self->prev);
  self->entry(self->arg);
  /* entry must end with tide__context_switch_final; returning from a fiber's start routine exits
   * the thread. */
  abort();
}

static void create_fiber(tide__context *ctx) {
  assert(ctx->entry != NULL && ctx->stack_size <= SIZE_MAX - FIBER_STACK_HEADROOM);
  /* Commit 0: the executable's default initial commit (a page or two); the rest on first touch. */
  ctx->fiber = CreateFiberEx(0, ctx->stack_size + FIBER_STACK_HEADROOM, FIBER_FLAG_FLOAT_SWITCH,
                             fiber_start, ctx);
  if (ctx->fiber == NULL)
    abort(); /* see the pitfalls above: there is no error path to report it on */
}

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
  ctx->fp_mxcsr = creator.mxcsr;
  ctx->fp_x87_cw = creator.x87_cw;
}

void tide__context_init_current(tide__context *ctx) {
  assert(ctx != NULL);
  memset(ctx, 0, sizeof *ctx);
  if (IsThreadAFiber()) {
    ctx->fiber = running_fiber();
    return;
  }
  /* Not a fiber yet, so this cannot fail with ERROR_ALREADY_FIBER: only for lack of memory. */
  ctx->fiber = ConvertThreadToFiberEx(NULL, FIBER_FLAG_FLOAT_SWITCH);
  if (ctx->fiber == NULL)
    abort(); /* there is no error path to report it on */
}

/* Both switches: leaves `from` for `to`, creating to's fiber at its first run. */
static void switch_to(tide__context *from, tide__context *to) {
  assert(from != to && !to->finished);
  assert(from->fiber != NULL && from->fiber == running_fiber());
  if (to->fiber == NULL)
    create_fiber(to);
  to->prev = from;
  SwitchToFiber(to->fiber);
}

void tide__context_switch(tide__context *from, tide__context *to) {
  /* A local survives the switch: it is on from's stack, which nothing else runs on meanwhile. */
  struct fp_modes mine = fp_modes_get();
  switch_to(from, to);
  fp_modes_restore(mine);
  reap_finished(from->prev);
}

void tide__context_switch_final(tide__context *from, tide__context *to) {
  from->finished = 1;
  switch_to(from, to);
  abort(); /* nothing switches into a finished context; the resumed side deletes this fiber */
}
