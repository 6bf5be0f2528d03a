/* tests/task_stacks_test.c — what tasks run on, and that it is recycled and released: the
 * tide__stacks of the asm and ucontext builds, or the Win32 fibers of the fiber build, in any
 * build. The fiber pool itself is tested in tests/fiber_pool_test.c, built only in the fiber
 * build. */
#include "address_mapped.h" /* first: it selects the system interfaces */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "log_capture.h"

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

/* ---- a burst's stacks are kept for the next burst, then given back ------------------------- */

/* Sits through one yield, so that every task of a burst is alive at once: each needs a stack. */
static int yield_once(tide_loop *loop, void *arg, void **result) {
  (void)result;
  struct stack_probe *p = arg;
  p->frame = __builtin_frame_address(0);
  return tide_yield(loop);
}

enum { BURST = 3000 }; /* well beyond the 1024 stacks a loop once kept at most */

static size_t mapped_count(const struct stack_probe *probes, size_t n) {
  size_t mapped = 0;
  for (size_t i = 0; i < n; i++)
    mapped += address_is_mapped(probes[i].frame) ? 1 : 0;
  return mapped;
}

static tide_loop *new_loop(void) {
  tide_loop *loop = NULL;
  CHECK_OK(tide_loop_new(&loop, NULL));
  return loop;
}

static struct stack_probe *run_burst(tide_loop *loop) {
  struct stack_probe *probes = calloc(BURST, sizeof *probes);
  CHECK(probes != NULL);
  for (size_t i = 0; i < BURST; i++)
    CHECK_OK(tide_spawn(loop, yield_once, &probes[i], NULL, NULL));
  CHECK_EQ(0, tide_loop_run(loop));
  for (size_t i = 0; i < BURST; i++)
    CHECK(probes[i].frame != NULL);
  return probes;
}

TIDE_TEST(task, stacks_of_a_burst_of_thousands_stay_mapped_for_the_next_burst) {
#if defined(TIDE_CONTEXT_FIBER)
  TIDE_SKIP("the fiber build runs tasks on pooled fibers (tests/fiber_pool_test.c), not stacks");
#endif
  tide_loop *loop = new_loop();
  struct stack_probe *probes = run_burst(loop);
  /* Every task has finished: their stacks wait in the loop's cache, none unmapped. */
  size_t mapped = mapped_count(probes, BURST);
  if (mapped != BURST)
    TIDE_TEST_FAIL("%zu of %d finished tasks' stacks were unmapped at once", BURST - mapped, BURST);
  /* The next burst runs on them. */
  struct stack_probe *again = run_burst(loop);
  for (size_t i = 0; i < BURST; i++)
    if (!address_is_mapped(again[i].frame))
      TIDE_TEST_FAIL("task %zu of the second burst ran on a stack already unmapped", i);
  CHECK_OK(tide_loop_close(loop));
  free(again);
  free(probes);
}

TIDE_TEST(task, stacks_left_unused_for_a_while_are_unmapped_but_a_few) {
#if defined(TIDE_CONTEXT_FIBER)
  TIDE_SKIP("the fiber build runs tasks on pooled fibers (tests/fiber_pool_test.c), not stacks");
#endif
  tide_loop *loop = new_loop();
  struct stack_probe *probes = run_burst(loop);
  /* The loop stays alive with nothing to do: each run_once may block for ever, unless the loop
   * wakes by itself to give the stacks back (within two trim periods of a second each; 20 s is
   * the generous bound). */
  CHECK_OK(tide_loop_ref(loop));
  int64_t start = tide_now(loop);
  size_t mapped = BURST;
  int wakes = 0;
  while (mapped > 64 && tide_now(loop) - start < 20 * (int64_t)1000000000) {
    CHECK(tide_loop_run_once(loop, -1) >= 0);
    wakes++;
    mapped = mapped_count(probes, BURST);
  }
  if (mapped > 64)
    TIDE_TEST_FAIL("%zu of %d stacks still mapped after 20 s unused", mapped, BURST);
  CHECK(mapped > 0); /* a few are kept for the next spawns */
  /* Unmapped a batch per tick: a handful of wakes and ticks, not a spin. */
  CHECK(wakes < 100);
  CHECK_OK(tide_loop_unref(loop));
  CHECK_OK(tide_loop_close(loop));
  CHECK_EQ(0, mapped_count(probes, BURST));
  free(probes);
}

/* ---- a task's record lives on its stack until its future is released ---------------------- */

static int answer(tide_loop *loop, void *arg, void **result) {
  (void)loop;
  *result = arg;
  return 0;
}

TIDE_TEST(taskio, a_finished_task_future_keeps_its_result_and_name_while_others_run) {
  log_capture log;
  tide_loop *loop = new_loop_capturing(&log);
  tide_task_options opts;
  tide_task_options_init(&opts);
  opts.name = "the-answer";
  tide_future *kept;
  CHECK_OK(tide_spawn(loop, answer, (void *)(intptr_t)42, &opts, &kept));
  CHECK_EQ(0, tide_loop_run(loop));
  /* Many tasks come and go meanwhile, reusing whatever stacks the loop has cached. */
  for (int i = 0; i < 50; i++) {
    tide_future *f;
    CHECK_OK(tide_spawn(loop, answer, (void *)(intptr_t)i, NULL, &f));
    CHECK_EQ(0, tide_loop_run(loop));
    void *v = NULL;
    CHECK_OK(tide_future_result(f, &v));
    CHECK_EQ(i, (intptr_t)v);
    tide_future_release(f);
  }
  void *v = NULL;
  CHECK_OK(tide_future_result(kept, &v));
  CHECK_EQ(42, (intptr_t)v);
  CHECK_STR("the-answer", tide_task_name(kept));
  tide_future_release(kept);
  CHECK_OK(tide_loop_close(loop));
  CHECK_EQ(0, log.warnings);
}

TIDE_TEST(taskio, loop_close_frees_and_reports_finished_task_futures_never_released) {
  log_capture log;
  tide_loop *loop = new_loop_capturing(&log);
  tide_future *forgotten;
  CHECK_OK(tide_spawn(loop, answer, NULL, NULL, &forgotten));
  CHECK_EQ(0, tide_loop_run(loop));
  CHECK_OK(tide_loop_close(loop)); /* valgrind and ASan check that its stack was unmapped */
  CHECK_EQ(1, log.warnings);
  CHECK(strstr(log.last, "1 finished task future(s) never released") != NULL);
}
