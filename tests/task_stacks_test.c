/* tests/task_stacks_test.c — what tasks run on, and that it is recycled and released: the
 * tide__stacks of the asm and ucontext builds, or the Win32 fibers of the fiber build, in any
 * build. The fiber pool itself is tested in tests/fiber_pool_test.c, built only in the fiber
 * build. */
#include "address_mapped.h" /* first: it selects the system interfaces */

#include <stdint.h>
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
