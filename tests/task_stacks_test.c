/* mincore (not POSIX, but on every system tide runs on) and sysconf. */
#define _DEFAULT_SOURCE
/* tests/task_stacks_test.c — what tasks run on, and that it is recycled and released: the
 * tide__stacks of the asm and ucontext builds, and the Win32 fibers of the fiber build
 * (TIDE_CONTEXT=fiber), which a loop pools (core/context/context_fiber.c). The fiber_pool tests
 * drive the context layer and read its counters; they need the fiber build and are skipped in
 * the others, where no OS object stands behind a context (their stack cache is task.c's). */
#include <stdint.h>
#include <string.h>

#include "harness.h"
#include "log_capture.h"

#include "core/context/context.h"
#include "core/loop_internal.h"
#include "core/sys/stack.h"

#if defined(_WIN32)
#include <windows.h>
#else
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>
#endif

#define FIBER_ONLY_REASON                                                                          \
  "only the fiber build (TIDE_CONTEXT=fiber) has an OS object per context to pool; this build "    \
  "switches on tide__stacks, which task.c caches"

/* Whether the page holding p is still mapped (reserved or committed) in this process. */
static int address_is_mapped(const void *p) {
#if defined(_WIN32)
  MEMORY_BASIC_INFORMATION info;
  if (VirtualQuery(p, &info, sizeof info) == 0)
    return 0;
  return info.State != MEM_FREE;
#else
  uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  void *start = (void *)((uintptr_t)p & ~(page - 1));
  /* mincore fails with ENOMEM exactly when part of the range is not mapped (and, unlike msync,
   * valgrind does not take the question for an access). Its vector is unsigned char on Linux and
   * char on macOS, hence the void pointer. */
  unsigned char resident;
  return !(mincore(start, 1, (void *)&resident) != 0 && errno == ENOMEM);
#endif
}

/* ---- any build: close releases the memory tasks ran on ------------------------------------ */

struct stack_probe {
  const void *frame; /* an address on the task's stack (a frame, not a local: ASan may move
                        locals to its fake stack) */
  int cancelled;
};

static int finish_at_once(tide_loop *loop, void *arg, void **result) {
  (void)loop;
  (void)result;
  struct stack_probe *p = arg;
  p->frame = __builtin_frame_address(0);
  return 0;
}

/* Ignores the cancellation close delivers and waits again, on a future nothing settles: close
 * must destroy it while it is suspended. */
static int outlive_close(tide_loop *loop, void *arg, void **result) {
  (void)result;
  struct stack_probe *p = arg;
  p->frame = __builtin_frame_address(0);
  tide_future *f = NULL;
  CHECK_OK(tide_future_new(loop, &f));
  int rc = tide_await(f, NULL);
  tide_future_release(f);
  if (rc != TIDE_ECANCELED)
    return rc;
  p->cancelled = 1;
  CHECK_OK(tide_future_new(loop, &f));
  return tide_await(f, NULL); /* never returns: the task is destroyed here */
}

TIDE_TEST(task, loop_close_releases_the_stacks_of_finished_and_destroyed_tasks) {
  log_capture capture; /* close reports the stuck tasks; the test need not see it */
  tide_loop *loop = new_loop_capturing(&capture);
  enum { FINISHED = 3, STUCK = 4 };
  struct stack_probe done[FINISHED], stuck[STUCK];
  memset(done, 0, sizeof done);
  memset(stuck, 0, sizeof stuck);
  /* The stuck tasks start first, so the finished ones cannot run on their stacks. */
  for (int i = 0; i < STUCK; i++)
    CHECK_OK(tide_spawn(loop, outlive_close, &stuck[i], NULL, NULL));
  CHECK_EQ(0, tide_loop_run(loop)); /* they wait on futures, which keep no work pending */
  for (int i = 0; i < FINISHED; i++)
    CHECK_OK(tide_spawn(loop, finish_at_once, &done[i], NULL, NULL));
  CHECK_EQ(0, tide_loop_run(loop));
  for (int i = 0; i < FINISHED; i++)
    CHECK(done[i].frame != NULL && address_is_mapped(done[i].frame));
  for (int i = 0; i < STUCK; i++)
    CHECK(stuck[i].frame != NULL && address_is_mapped(stuck[i].frame));
  CHECK_OK(tide_loop_close(loop));
  for (int i = 0; i < STUCK; i++)
    CHECK_EQ(1, stuck[i].cancelled);
  for (int i = 0; i < FINISHED; i++)
    if (address_is_mapped(done[i].frame))
      TIDE_TEST_FAIL("finished task %d's stack (%p) is still mapped after close", i, done[i].frame);
  for (int i = 0; i < STUCK; i++)
    if (address_is_mapped(stuck[i].frame))
      TIDE_TEST_FAIL("stack of task %d, destroyed while pending, (%p) still mapped after close", i,
                     stuck[i].frame);
}

#if defined(TIDE_CONTEXT_FIBER)

/* ---- the fiber pool, through the context layer ----------------------------------------------
 * The fiber build does not run a context on the tide__stack given to tide__context_make, so one
 * stack serves every context below. */

#define STACK_SIZE (64 * 1024)

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
  b->fiber = GetCurrentFiber();
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
/* MXCSR's rounding control (bits 13-14) and the x87 control word's (bits 10-11). */
#define MXCSR_ROUND_MASK 0x6000u
#define MXCSR_ROUND_UP 0x4000u
#define MXCSR_ROUND_ZERO 0x6000u
#define FPUCW_ROUND_MASK 0x0c00u
#define FPUCW_ROUND_UP 0x0800u
#define FPUCW_ROUND_ZERO 0x0c00u

static unsigned get_mxcsr(void) {
  unsigned v;
  __asm__ volatile("stmxcsr %0" : "=m"(v));
  return v;
}
static void set_mxcsr(unsigned v) {
  __asm__ volatile("ldmxcsr %0" : : "m"(v));
}
static unsigned short get_fpucw(void) {
  unsigned short v;
  __asm__ volatile("fnstcw %0" : "=m"(v));
  return v;
}
static void set_fpucw(unsigned short v) {
  __asm__ volatile("fldcw %0" : : "m"(v));
}
static void set_rounding(unsigned mxcsr_round, unsigned short fpucw_round) {
  set_mxcsr((get_mxcsr() & ~MXCSR_ROUND_MASK) | mxcsr_round);
  set_fpucw((unsigned short)((get_fpucw() & ~FPUCW_ROUND_MASK) | fpucw_round));
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
  CHECK(GetCurrentFiber() == mine);
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
  CHECK(GetCurrentFiber() == mine);
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

#endif /* TIDE_CONTEXT_FIBER */

/* The fiber_pool tests, each skipped outside the fiber build. */

TIDE_TEST(fiber_pool, sequential_contexts_run_on_one_recycled_fiber) {
#if defined(TIDE_CONTEXT_FIBER)
  sequential_contexts_run_on_one_recycled_fiber();
#else
  TIDE_SKIP(FIBER_ONLY_REASON);
#endif
}

TIDE_TEST(fiber_pool, pool_is_bounded_and_fibers_beyond_it_are_deleted) {
#if defined(TIDE_CONTEXT_FIBER)
  pool_is_bounded_and_fibers_beyond_it_are_deleted();
#else
  TIDE_SKIP(FIBER_ONLY_REASON);
#endif
}

TIDE_TEST(fiber_pool, destroying_suspended_contexts_deletes_their_fibers) {
#if defined(TIDE_CONTEXT_FIBER)
  destroying_suspended_contexts_deletes_their_fibers();
#else
  TIDE_SKIP(FIBER_ONLY_REASON);
#endif
}

TIDE_TEST(fiber_pool, fibers_are_pooled_by_stack_size) {
#if defined(TIDE_CONTEXT_FIBER)
  fibers_are_pooled_by_stack_size();
#else
  TIDE_SKIP(FIBER_ONLY_REASON);
#endif
}

TIDE_TEST(fiber_pool, a_body_on_a_recycled_fiber_starts_with_its_creators_fp_modes) {
#if defined(TIDE_CONTEXT_FIBER)
  a_body_on_a_recycled_fiber_starts_with_its_creators_fp_modes();
#else
  TIDE_SKIP(FIBER_ONLY_REASON);
#endif
}

TIDE_TEST(fiber_pool, fini_converts_the_thread_back_only_if_it_converted_it) {
#if defined(TIDE_CONTEXT_FIBER)
  fini_converts_the_thread_back_only_if_it_converted_it();
#else
  TIDE_SKIP(FIBER_ONLY_REASON);
#endif
}

TIDE_TEST(fiber_pool, a_root_survives_another_root_converting_the_thread_back) {
#if defined(TIDE_CONTEXT_FIBER)
  a_root_survives_another_root_converting_the_thread_back();
#else
  TIDE_SKIP(FIBER_ONLY_REASON);
#endif
}

TIDE_TEST(fiber_pool, sequential_tasks_reuse_one_fiber) {
#if defined(TIDE_CONTEXT_FIBER)
  sequential_tasks_reuse_one_fiber();
#else
  TIDE_SKIP(FIBER_ONLY_REASON);
#endif
}

TIDE_TEST(fiber_pool, loop_close_converts_back_only_a_thread_tide_converted) {
#if defined(TIDE_CONTEXT_FIBER)
  loop_close_converts_back_only_a_thread_tide_converted();
#else
  TIDE_SKIP(FIBER_ONLY_REASON);
#endif
}

TIDE_TEST(fiber_pool, closing_the_loop_that_converted_the_thread_leaves_another_loop_working) {
#if defined(TIDE_CONTEXT_FIBER)
  closing_the_loop_that_converted_the_thread_leaves_another_loop_working();
#else
  TIDE_SKIP(FIBER_ONLY_REASON);
#endif
}
