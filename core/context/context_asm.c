/* core/context/context_asm.c — the C side of the hand-written switches (TIDE_CONTEXT=asm).
 *
 * Each switch_<arch>.S file provides two functions and owns the layout of the frame it saves:
 *
 *   void *tide__context_swap(void **from_sp, void *to_sp, void *transfer);
 *     pushes the callee-saved registers on the running stack, stores the stack pointer in
 *     *from_sp, loads to_sp, pops the registers saved there and returns into that context.
 *     `transfer` crosses over: the resumed context's own tide__context_swap call returns it (and a
 *     context resumed for the first time receives it as the first argument of its start
 *     function). tide passes the context being left, which the sanitizer hooks need.
 *
 *   void *tide__context_prepare(void *stack_base, void *stack_top,
 *                               void (*start)(void *transfer, void *self), void *self);
 *     writes at the top of a fresh stack a frame that tide__context_swap can "return" into: a
 *     trampoline that calls start(transfer, self) with the stack aligned as the ABI requires and
 *     with unwind info that ends backtraces there. Returns the stack pointer to swap to.
 *
 * Keeping everything else in C means the assembly is the minimum that cannot be C, and the
 * sanitizer calls are written once for every architecture. */
#include "context.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "context_sanitizer.h"

void *tide__context_swap(void **from_sp, void *to_sp, void *transfer);
void *tide__context_prepare(void *stack_base, void *stack_top,
                            void (*start)(void *transfer, void *self), void *self);

/* The first code a new context runs, called by the trampoline. */
static void context_start(void *transfer, void *self_arg) {
  tide__context *self = self_arg;
  tide__san_after_switch(self, transfer, 1);
  self->entry(self->arg);
  /* entry must end with tide__context_switch_final; there is no frame to return into. */
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
  ctx->sp = tide__context_prepare(stack_base, (char *)stack_base + stack_size, context_start, ctx);
}

void tide__context_init_current(tide__context *ctx) {
  assert(ctx != NULL);
  memset(ctx, 0, sizeof *ctx);
  tide__san_init_current(ctx);
}

void tide__context_switch(tide__context *from, tide__context *to) {
  assert(from != to && to->sp != NULL && !to->finished);
  tide__san_before_switch(from, to, 0);
  tide__context *prev = tide__context_swap(&from->sp, to->sp, from);
  tide__san_after_switch(from, prev, 0);
}

void tide__context_switch_final(tide__context *from, tide__context *to) {
  assert(from != to && to->sp != NULL && !to->finished);
  from->finished = 1;
  tide__san_before_switch(from, to, 1);
  (void)tide__context_swap(&from->sp, to->sp, from);
  abort(); /* nothing switches into a finished context */
}
