/* tests/fiber_pool_test.c — the Win32 fibers of the fiber build (TIDE_CONTEXT=fiber), which a
 * loop pools (core/context/context_fiber.c). The tests drive the context layer and read its
 * counters; only that build has an OS object per context, so tests/CMakeLists.txt builds this
 * file there alone (the other builds' stack cache is task.c's, tested in task_stacks_test.c). */
#include "address_mapped.h" /* first: it selects the system interfaces */

#include <stdint.h>
#include <string.h>

#include "harness.h"
#include "log_capture.h"

#include "core/context/context.h"
#include "core/loop_internal.h"
#include "core/sys/stack.h"

/* ---- the fiber pool, through the context layer ----------------------------------------------
 * The fiber build does not run a context on the tide__stack given to tide__context_make, so one
 * stack serves every context below. */

#define STACK_SIZE (64 * 1024)

/* GCC 12's -Warray-bounds takes mingw-w64's inline GetCurrentFiber (a read at gs:0x20) for an
 * access through a near-null pointer, as core/context/context_fiber.c notes too. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Warray-bounds"
#endif
static void *current_fiber(void) {
  return GetCurrentFiber();
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

struct body {
  tide__context *root;
  tide__context ctx;
  void *fiber;       /* the fiber the body ran on */
  const void *frame; /* an address on its stack */
  int ran;
  int suspend; /* switch back to the root once before finishing */
};

static void body_entry(void *arg) {
  struct body *b = arg;
  b->fiber = current_fiber();
  b->frame = __builtin_frame_address(0);
  b->ran++;
  if (b->suspend)
    tide__context_switch(&b->ctx, b->root);
  tide__context_switch_final(&b->ctx, b->root);
}

static void body_make(struct body *b, tide__context *root, tide__stack *stack, size_t size) {
  memset(b, 0, sizeof *b);
  b->root = root;
  tide__context_make(&b->ctx, stack->base, size, body_entry, b);
}

static size_t fibers_alive(const tide__context *root) {
  tide__context_fiber_stats s = tide__context_fiber_stats_of(root);
  return s.created - s.deleted;
}

static void sequential_contexts_run_on_one_recycled_fiber(void) {
  tide__stack stack;
  CHECK_OK(tide__stack_alloc(&stack, STACK_SIZE));
  tide__context root;
  tide__context_init_current(&root);
  struct body b;
  void *first_fiber = NULL;
  for (int i = 0; i < 1000; i++) {
    body_make(&b, &root, &stack, stack.size);
    tide__context_switch(&root, &b.ctx);
    CHECK_EQ(1, b.ran);
    CHECK_EQ(1, b.ctx.finished);
    if (i == 0)
      first_fiber = b.fiber;
    CHECK(b.fiber == first_fiber);
  }
  tide__context_fiber_stats s = tide__context_fiber_stats_of(&root);
  CHECK_EQ(1, s.created);
  CHECK_EQ(0, s.deleted);
  CHECK_EQ(1, s.pooled);
  tide__context_fini_current(&root);
  s = tide__context_fiber_stats_of(&root);
  CHECK_EQ(1, s.deleted);
  CHECK_EQ(0, s.pooled);
  CHECK(!address_is_mapped(b.frame));
  tide__stack_free(&stack);
}

static void pool_is_bounded_and_fibers_beyond_it_are_deleted(void) {
  enum { EXTRA = 10, N = TIDE__FIBER_POOL_LIMIT + EXTRA };
  tide__stack stack;
  CHECK_OK(tide__stack_alloc(&stack, STACK_SIZE));
  tide__context root;
  tide__context_init_current(&root);
  struct body *bodies = calloc(N, sizeof *bodies);
  CHECK(bodies != NULL);
  /* All N alive at once (each suspends after starting), then all finish. */
  for (int i = 0; i < N; i++) {
    body_make(&bodies[i], &root, &stack, stack.size);
    bodies[i].suspend = 1;
    tide__context_switch(&root, &bodies[i].ctx);
  }
  CHECK_EQ(N, fibers_alive(&root));
  for (int i = 0; i < N; i++)
    tide__context_switch(&root, &bodies[i].ctx);
  tide__context_fiber_stats s = tide__context_fiber_stats_of(&root);
  CHECK_EQ(N, s.created);
  CHECK_EQ(TIDE__FIBER_POOL_LIMIT, s.pooled);
  CHECK_EQ(EXTRA, s.deleted);
  /* The next N reuse the pooled fibers and create only what the pool lacks. */
  for (int i = 0; i < N; i++) {
    body_make(&bodies[i], &root, &stack, stack.size);
    bodies[i].suspend = 1;
    tide__context_switch(&root, &bodies[i].ctx);
  }
  for (int i = 0; i < N; i++)
    tide__context_switch(&root, &bodies[i].ctx);
  s = tide__context_fiber_stats_of(&root);
  CHECK_EQ(N + EXTRA, s.created);
  CHECK_EQ(TIDE__FIBER_POOL_LIMIT, s.pooled);
  tide__context_fini_current(&root);
  CHECK_EQ(0, fibers_alive(&root));
  free(bodies);
  tide__stack_free(&stack);
}

static void destroying_suspended_contexts_deletes_their_fibers(void) {
  enum { N = 3 };
  tide__stack stack;
  CHECK_OK(tide__stack_alloc(&stack, STACK_SIZE));
  tide__context root;
  tide__context_init_current(&root);
  struct body b[N], never;
  for (int i = 0; i < N; i++) {
    body_make(&b[i], &root, &stack, stack.size);
    b[i].suspend = 1;
    tide__context_switch(&root, &b[i].ctx);
  }
  body_make(&never, &root, &stack, stack.size);
  tide__context_destroy(&never.ctx); /* never ran: nothing to free */
  CHECK_EQ(N, fibers_alive(&root));
  for (int i = 0; i < N; i++) {
    CHECK(address_is_mapped(b[i].frame));
    tide__context_destroy(&b[i].ctx);
    CHECK(!address_is_mapped(b[i].frame));
  }
  tide__context_fiber_stats s = tide__context_fiber_stats_of(&root);
  CHECK_EQ(N, s.created);
  CHECK_EQ(N, s.deleted);
  CHECK_EQ(0, s.pooled); /* a suspended fiber's stack holds its body's frames: never pooled */
  /* A destroyed context can be made anew and run. */
  body_make(&b[0], &root, &stack, stack.size);
  tide__context_switch(&root, &b[0].ctx);
  CHECK_EQ(1, b[0].ctx.finished);
  tide__context_fini_current(&root);
  CHECK_EQ(0, fibers_alive(&root));
  tide__stack_free(&stack);
}

/* Recursion that uses about `kib` KiB of stack, so a fiber too small for it overflows. */
static volatile char deep_sink;

__attribute__((noinline)) static void use_stack(int kib) {
  volatile char frame[1024];
  frame[0] = (char)kib;
  frame[sizeof frame - 1] = (char)kib;
  if (kib > 1)
    use_stack(kib - 1);
  deep_sink = frame[0];
}

struct sized {
  tide__context *root;
  tide__context ctx;
  int kib;
};

static void sized_entry(void *arg) {
  struct sized *z = arg;
  use_stack(z->kib);
  tide__context_switch_final(&z->ctx, z->root);
}

static void fibers_are_pooled_by_stack_size(void) {
  tide__stack stack;
  CHECK_OK(tide__stack_alloc(&stack, STACK_SIZE));
  tide__context root;
  tide__context_init_current(&root);
  /* More sizes than the pool keeps apart; each body uses three quarters of its size, so one
   * given a smaller pooled fiber would overflow it. */
  static const size_t sizes[TIDE__FIBER_POOL_SIZES + 1] = {64 * 1024, 256 * 1024, 512 * 1024,
                                                           128 * 1024, 192 * 1024};
  struct sized z;
  memset(&z, 0, sizeof z);
  z.root = &root;
  for (int round = 0; round < 3; round++) {
    for (int i = 0; i < TIDE__FIBER_POOL_SIZES + 1; i++) {
      z.kib = (int)(sizes[i] / 1024 * 3 / 4);
      tide__context_make(&z.ctx, stack.base, sizes[i], sized_entry, &z);
      tide__context_switch(&root, &z.ctx);
      CHECK_EQ(1, z.ctx.finished);
    }
    tide__context_fiber_stats s = tide__context_fiber_stats_of(&root);
    /* The first four sizes are created once and pooled; the fifth finds every list taken by
     * other sizes, so its fiber is created and deleted each round. */
    CHECK_EQ(TIDE__FIBER_POOL_SIZES + round + 1, s.created);
    CHECK_EQ(round + 1, s.deleted);
    CHECK_EQ(TIDE__FIBER_POOL_SIZES, s.pooled);
  }
  tide__context_fini_current(&root);
  CHECK_EQ(0, fibers_alive(&root));
  tide__stack_free(&stack);
}

#if defined(__x86_64__)
#include "fp_modes.h"

static void set_rounding(unsigned mxcsr_round, unsigned fpucw_round) {
  set_modes((struct fp_modes){mxcsr_round, fpucw_round});
}

struct fp_body {
  tide__context *root;
  tide__context ctx;
  int leave_rounding_up; /* switch both units to round-upward, then finish */
  unsigned mxcsr_round;  /* the rounding the body started with */
  unsigned short fpucw_round;
};

static void fp_entry(void *arg) {
  struct fp_body *f = arg;
  f->mxcsr_round = get_mxcsr() & MXCSR_ROUND_MASK;
  f->fpucw_round = (unsigned short)(get_fpucw() & FPUCW_ROUND_MASK);
  if (f->leave_rounding_up)
    set_rounding(MXCSR_ROUND_UP, FPUCW_ROUND_UP);
  tide__context_switch_final(&f->ctx, f->root);
}
#endif

static void a_body_on_a_recycled_fiber_starts_with_its_creators_fp_modes(void) {
#if defined(__x86_64__)
  tide__stack stack;
  CHECK_OK(tide__stack_alloc(&stack, STACK_SIZE));
  tide__context root;
  tide__context_init_current(&root);
  unsigned mxcsr0 = get_mxcsr();
  unsigned short fpucw0 = get_fpucw();
  struct fp_body f;
  memset(&f, 0, sizeof f);
  f.root = &root;
  /* The first body leaves its fiber rounding upward, and the fiber goes to the pool. */
  set_rounding(0, 0); /* to nearest */
  f.leave_rounding_up = 1;
  tide__context_make(&f.ctx, stack.base, stack.size, fp_entry, &f);
  tide__context_switch(&root, &f.ctx);
  CHECK_EQ(0, get_mxcsr() & MXCSR_ROUND_MASK); /* the root has its own modes back */
  CHECK_EQ(0, get_fpucw() & FPUCW_ROUND_MASK);
  /* The second is made while the root rounds toward zero and started while it rounds to
   * nearest: it must start with its creator's modes, neither the switcher's nor the ones its
   * recycled fiber was left with. */
  set_rounding(MXCSR_ROUND_ZERO, FPUCW_ROUND_ZERO);
  f.leave_rounding_up = 0;
  tide__context_make(&f.ctx, stack.base, stack.size, fp_entry, &f);
  set_rounding(0, 0);
  tide__context_switch(&root, &f.ctx);
  CHECK_EQ(1, tide__context_fiber_stats_of(&root).created); /* the same fiber ran both */
  CHECK_EQ(MXCSR_ROUND_ZERO, f.mxcsr_round);
  CHECK_EQ(FPUCW_ROUND_ZERO, f.fpucw_round);
  set_mxcsr(mxcsr0);
  set_fpucw(fpucw0);
  tide__context_fini_current(&root);
  tide__stack_free(&stack);
#else
  TIDE_SKIP("FP control modes are switched only on x86-64");
#endif
}

static void fini_converts_the_thread_back_only_if_it_converted_it(void) {
  tide__stack stack;
  CHECK_OK(tide__stack_alloc(&stack, STACK_SIZE));
  CHECK(!IsThreadAFiber());
  tide__context root;
  struct body b;
  /* tide converts the thread at the first switch, and converts it back. */
  tide__context_init_current(&root);
  CHECK(!IsThreadAFiber()); /* not before a context runs */
  body_make(&b, &root, &stack, stack.size);
  tide__context_switch(&root, &b.ctx);
  CHECK(IsThreadAFiber());
  tide__context_fini_current(&root);
  CHECK(!IsThreadAFiber());
  /* The application converted it: tide uses that fiber and leaves it. */
  void *mine = ConvertThreadToFiber(NULL);
  CHECK(mine != NULL);
  tide__context_init_current(&root);
  body_make(&b, &root, &stack, stack.size);
  tide__context_switch(&root, &b.ctx);
  CHECK_EQ(1, b.ran);
  tide__context_fini_current(&root);
  CHECK(IsThreadAFiber());
  CHECK(current_fiber() == mine);
  CHECK(ConvertFiberToThread());
  tide__stack_free(&stack);
}

static void a_root_survives_another_root_converting_the_thread_back(void) {
  tide__stack stack;
  CHECK_OK(tide__stack_alloc(&stack, STACK_SIZE));
  tide__context first, second;
  struct body a, b;
  tide__context_init_current(&first);
  tide__context_init_current(&second);
  body_make(&a, &first, &stack, stack.size);
  tide__context_switch(&first, &a.ctx); /* converts the thread */
  body_make(&b, &second, &stack, stack.size);
  b.suspend = 1;
  tide__context_switch(&second, &b.ctx); /* adopts that fiber; b suspends */
  tide__context_fini_current(&first);
  CHECK(!IsThreadAFiber());              /* `first` converted it, so it converted it back */
  tide__context_switch(&second, &b.ctx); /* converts again, and b finishes */
  CHECK_EQ(1, b.ctx.finished);
  CHECK(IsThreadAFiber());
  tide__context_fini_current(&second);
  CHECK(!IsThreadAFiber());
  CHECK_EQ(0, fibers_alive(&second));
  tide__stack_free(&stack);
}

/* ---- the fiber pool, through tasks ---------------------------------------------------------- */

static int count_run(tide_loop *loop, void *arg, void **result) {
  (void)loop;
  (void)result;
  (*(int *)arg)++;
  return 0;
}

static int yield_once(tide_loop *loop, void *arg, void **result) {
  (void)result;
  (*(int *)arg)++;
  return tide_yield(loop);
}

static void sequential_tasks_reuse_one_fiber(void) {
  tide_loop *loop = NULL;
  CHECK_OK(tide_loop_new(&loop, NULL));
  int runs = 0;
  for (int i = 0; i < 1000; i++) {
    CHECK_OK(tide_spawn(loop, count_run, &runs, NULL, NULL));
    CHECK_EQ(0, tide_loop_run(loop));
  }
  CHECK_EQ(1000, runs);
  tide__context_fiber_stats s = tide__context_fiber_stats_of(&loop->scheduler);
  CHECK_EQ(1, s.created);
  CHECK_EQ(0, s.deleted);
  CHECK_EQ(1, s.pooled);
  /* A hundred alive at once (each yields once): the pool grows to a hundred and stays there. */
  for (int round = 0; round < 3; round++) {
    for (int i = 0; i < 100; i++)
      CHECK_OK(tide_spawn(loop, yield_once, &runs, NULL, NULL));
    CHECK_EQ(0, tide_loop_run(loop));
  }
  s = tide__context_fiber_stats_of(&loop->scheduler);
  CHECK_EQ(1300, runs);
  CHECK_EQ(100, s.created);
  CHECK_EQ(100, s.pooled);
  CHECK_OK(tide_loop_close(loop));
}

static void loop_close_converts_back_only_a_thread_tide_converted(void) {
  CHECK(!IsThreadAFiber());
  int runs = 0;
  tide_loop *loop = NULL;
  CHECK_OK(tide_loop_new(&loop, NULL));
  CHECK_OK(tide_spawn(loop, yield_once, &runs, NULL, NULL));
  CHECK_EQ(0, tide_loop_run(loop));
  CHECK(IsThreadAFiber());
  CHECK_OK(tide_loop_close(loop));
  CHECK(!IsThreadAFiber());

  void *mine = ConvertThreadToFiber(NULL);
  CHECK(mine != NULL);
  CHECK_OK(tide_loop_new(&loop, NULL));
  CHECK_OK(tide_spawn(loop, yield_once, &runs, NULL, NULL));
  CHECK_EQ(0, tide_loop_run(loop));
  CHECK_OK(tide_loop_close(loop));
  CHECK_EQ(2, runs);
  CHECK(IsThreadAFiber());
  CHECK(current_fiber() == mine);
  CHECK(ConvertFiberToThread());
}

static int yield_twice(tide_loop *loop, void *arg, void **result) {
  (void)result;
  int *runs = arg;
  (*runs)++;
  CHECK_OK(tide_yield(loop));
  (*runs)++;
  return 0;
}

static void closing_the_loop_that_converted_the_thread_leaves_another_loop_working(void) {
  tide_loop *first = NULL, *second = NULL;
  CHECK_OK(tide_loop_new(&first, NULL));
  CHECK_OK(tide_loop_new(&second, NULL));
  int first_runs = 0, second_runs = 0;
  CHECK_OK(tide_spawn(first, count_run, &first_runs, NULL, NULL));
  CHECK_EQ(0, tide_loop_run(first)); /* converts the thread */
  CHECK_OK(tide_spawn(second, yield_twice, &second_runs, NULL, NULL));
  CHECK_EQ(1, tide_loop_run_once(second, 0)); /* the task starts on that fiber and yields */
  CHECK_EQ(1, second_runs);
  CHECK_OK(tide_loop_close(first)); /* converts it back under the second loop's feet */
  CHECK(!IsThreadAFiber());
  CHECK_EQ(0, tide_loop_run(second));
  CHECK_EQ(2, second_runs);
  CHECK_OK(tide_loop_close(second));
  CHECK(!IsThreadAFiber());
}

/* ---- the tests ---------------------------------------------------------------------------- */

TIDE_TEST(fiber_pool, sequential_contexts_run_on_one_recycled_fiber) {
  sequential_contexts_run_on_one_recycled_fiber();
}

TIDE_TEST(fiber_pool, pool_is_bounded_and_fibers_beyond_it_are_deleted) {
  pool_is_bounded_and_fibers_beyond_it_are_deleted();
}

TIDE_TEST(fiber_pool, destroying_suspended_contexts_deletes_their_fibers) {
  destroying_suspended_contexts_deletes_their_fibers();
}

TIDE_TEST(fiber_pool, fibers_are_pooled_by_stack_size) {
  fibers_are_pooled_by_stack_size();
}

TIDE_TEST(fiber_pool, a_body_on_a_recycled_fiber_starts_with_its_creators_fp_modes) {
  a_body_on_a_recycled_fiber_starts_with_its_creators_fp_modes();
}

TIDE_TEST(fiber_pool, fini_converts_the_thread_back_only_if_it_converted_it) {
  fini_converts_the_thread_back_only_if_it_converted_it();
}

TIDE_TEST(fiber_pool, a_root_survives_another_root_converting_the_thread_back) {
  a_root_survives_another_root_converting_the_thread_back();
}

TIDE_TEST(fiber_pool, sequential_tasks_reuse_one_fiber) {
  sequential_tasks_reuse_one_fiber();
}

TIDE_TEST(fiber_pool, loop_close_converts_back_only_a_thread_tide_converted) {
  loop_close_converts_back_only_a_thread_tide_converted();
}

TIDE_TEST(fiber_pool, closing_the_loop_that_converted_the_thread_leaves_another_loop_working) {
  closing_the_loop_that_converted_the_thread_leaves_another_loop_working();
}
