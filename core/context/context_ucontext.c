/* core/context/context_ucontext.c — contexts over POSIX makecontext/swapcontext
 * (TIDE_CONTEXT=ucontext), for POSIX systems without a hand-written switch.
 *
 * Pitfalls of the API, worked around below:
 *   - makecontext passes its function only int arguments; a pointer is split into two unsigned
 *     halves and joined again (the portable idiom; glibc happens to pass 64-bit values whole,
 *     other libcs do not).
 *   - swapcontext saves and restores the signal mask, which costs a system call per switch
 *     (sigprocmask): roughly a hundred times the hand-written switch. Correct, not fast.
 *   - Returning from the function given to makecontext resumes uc_link, or exits the thread when it
 *     is NULL; tide's entry functions never return, so uc_link is NULL and a return aborts.
 *   - POSIX.1-2008 removed these functions (they remain in glibc, musl has none, macOS deprecates
 *     them); that is why they are only the fallback. */
#define _XOPEN_SOURCE 700
#define _DEFAULT_SOURCE
#include "context.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "context_sanitizer.h"

static void context_start(unsigned hi, unsigned lo) {
  uintptr_t bits = (uintptr_t)lo;
#if UINTPTR_MAX > 0xffffffffu
  bits |= (uintptr_t)hi << 32;
#else
  (void)hi;
#endif
  tide__context *self = (tide__context *)bits;
  tide__san_after_switch(self, self->prev, 1);
  self->entry(self->arg);
  /* entry must end with tide__context_switch_final; there is nothing to return to. */
  abort();
}

void tide__context_make(tide__context *ctx, void *stack_base, size_t stack_size,
                        void (*entry)(void *arg), void *arg) {
  assert(ctx != NULL && stack_base != NULL && entry != NULL);
  assert(stack_size >= 1024);
  memset(ctx, 0, sizeof *ctx);
  ctx->stack_base = stack_base;
  ctx->stack_size = stack_size;
  ctx->entry = entry;
  ctx->arg = arg;
  tide__san_stack_reset(stack_base, stack_size);
  /* getcontext fills in what makecontext leaves alone (the signal mask, the FP environment); it
   * cannot fail with a valid pointer. */
  if (getcontext(&ctx->uc) != 0)
    abort();
  ctx->uc.uc_stack.ss_sp = stack_base;
  ctx->uc.uc_stack.ss_size = stack_size;
  ctx->uc.uc_link = NULL;
  uintptr_t bits = (uintptr_t)ctx;
  unsigned lo = (unsigned)(bits & 0xffffffffu);
  unsigned hi = 0;
#if UINTPTR_MAX > 0xffffffffu
  hi = (unsigned)(bits >> 32);
#endif
  /* Casting to void (*)(void) is what makecontext's prototype demands; the function is called with
   * the two int arguments given here. */
  makecontext(&ctx->uc, (void (*)(void))context_start, 2, hi, lo);
}

void tide__context_init_current(tide__context *ctx) {
  assert(ctx != NULL);
  memset(ctx, 0, sizeof *ctx);
  tide__san_init_current(ctx);
}

void tide__context_switch(tide__context *from, tide__context *to) {
  assert(from != to && !to->finished);
  to->prev = from;
  tide__san_before_switch(from, to, 0);
  /* swapcontext fails only for an invalid context; ours are always valid. */
  if (swapcontext(&from->uc, &to->uc) != 0)
    abort();
  tide__san_after_switch(from, from->prev, 0);
}

void tide__context_switch_final(tide__context *from, tide__context *to) {
  assert(from != to && !to->finished);
  from->finished = 1;
  to->prev = from;
  tide__san_before_switch(from, to, 1);
  (void)setcontext(&to->uc);
  abort(); /* setcontext returns only on failure */
}
