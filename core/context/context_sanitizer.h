/* core/context/context_sanitizer.h — telling ASan and TSan about stack switches.
 *
 * Both implementations (context_asm.c, context_ucontext.c) call these around every switch; in a
 * build without sanitizers they are empty and compile to nothing.
 *
 * ASan keeps shadow state per stack: without being told, it takes the new stack for a wild
 * pointer area, reports false stack-buffer-overflows, and with detect_stack_use_after_return it
 * hands frames of one stack "fake stack" memory belonging to another. Its protocol
 * (sanitizer/common_interface_defs.h):
 *   - just before a switch, __sanitizer_start_switch_fiber(&save, to_bottom, to_size), where `save`
 *     keeps the leaving context's fake stack — or NULL when the leaving context will never run
 *     again, which lets ASan free that fake stack (hence tide__context_switch_final);
 *   - just after control arrives, __sanitizer_finish_switch_fiber(save, &from_bottom, &from_size),
 *     which also reports the bounds of the stack that was left. That is how the loop's own stack,
 *     whose bounds tide never knows, gets them before anything switches back to it.
 *
 * TSan keeps a shadow call stack and a vector clock per thread; a fiber must have its own, or
 * TSan's call stacks interleave and it misreports. __tsan_switch_to_fiber(fiber, 0) is called
 * just before each switch (flags 0: the switch synchronises, as it does on one thread). A fiber
 * is created lazily at the first switch into a context, so a context that never ran costs
 * nothing, and destroyed by whoever is resumed by its final switch, because a fiber cannot
 * destroy itself while it runs.
 *
 * Valgrind needs no call per switch: it recognises a stack switch by the jump of the stack pointer
 * as long as the stack is registered, which tide__stack_alloc does. */
#ifndef TIDE_CONTEXT_SANITIZER_H
#define TIDE_CONTEXT_SANITIZER_H

#include <stddef.h>
#include <stdint.h>

#include "context.h"

#if defined(__SANITIZE_ADDRESS__)
#define TIDE_CONTEXT_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__)
#define TIDE_CONTEXT_TSAN 1
#endif
#if defined(__has_feature)
#if __has_feature(address_sanitizer) && !defined(TIDE_CONTEXT_ASAN)
#define TIDE_CONTEXT_ASAN 1
#endif
#if __has_feature(thread_sanitizer) && !defined(TIDE_CONTEXT_TSAN)
#define TIDE_CONTEXT_TSAN 1
#endif
#endif

/* TSan requires __tsan_switch_to_fiber to be the last thing before the switch: a function return
 * between the two would be recorded on the new fiber's shadow call stack, which then underflows
 * (and crashes TSan). So these helpers are inlined even at -O0. */
#if defined(__GNUC__) || defined(__clang__)
#define TIDE_CONTEXT_INLINE __attribute__((always_inline)) static inline
#else
#define TIDE_CONTEXT_INLINE static inline
#endif

#if defined(TIDE_CONTEXT_ASAN)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#if defined(TIDE_CONTEXT_TSAN)
#include <sanitizer/tsan_interface.h>
#endif

/* A fresh stack may carry poisoned shadow left by frames of the previous context that used the
 * same memory and never returned (the last switch leaves them behind); clear it. */
TIDE_CONTEXT_INLINE void tide__san_stack_reset(void *base, size_t size) {
#if defined(TIDE_CONTEXT_ASAN)
  __asan_unpoison_memory_region(base, size);
#else
  (void)base;
  (void)size;
#endif
}

/* The running thread's stack as a context: TSan already has a fiber for it. */
TIDE_CONTEXT_INLINE void tide__san_init_current(tide__context *ctx) {
#if defined(TIDE_CONTEXT_TSAN)
  ctx->tsan_fiber = __tsan_get_current_fiber();
#else
  (void)ctx;
#endif
}

/* Just before switching from `from` to `to`; `is_final` when `from` will never run again. */
TIDE_CONTEXT_INLINE void tide__san_before_switch(tide__context *from, tide__context *to,
                                                 int is_final) {
#if defined(TIDE_CONTEXT_ASAN)
  __sanitizer_start_switch_fiber(is_final ? NULL : &from->asan_fake_stack, to->stack_base,
                                 to->stack_size);
#endif
#if defined(TIDE_CONTEXT_TSAN)
  if (to->tsan_fiber == NULL)
    to->tsan_fiber = __tsan_create_fiber(0);
  __tsan_switch_to_fiber(to->tsan_fiber, 0);
#endif
  (void)from;
  (void)to;
  (void)is_final;
}

/* Just after `self` has been resumed (or started, when is_first is nonzero) by a switch that left
 * `prev`. */
TIDE_CONTEXT_INLINE void tide__san_after_switch(tide__context *self, tide__context *prev,
                                                int is_first) {
#if defined(TIDE_CONTEXT_ASAN)
  const void *prev_bottom = NULL;
  size_t prev_size = 0;
  __sanitizer_finish_switch_fiber(is_first ? NULL : self->asan_fake_stack, &prev_bottom,
                                  &prev_size);
  if (prev->stack_base == NULL) {
    prev->stack_base = (void *)(uintptr_t)prev_bottom;
    prev->stack_size = prev_size;
  }
#endif
#if defined(TIDE_CONTEXT_TSAN)
  if (prev->finished && prev->tsan_fiber != NULL) {
    __tsan_destroy_fiber(prev->tsan_fiber);
    prev->tsan_fiber = NULL;
  }
#endif
  (void)self;
  (void)prev;
  (void)is_first;
}

#endif
