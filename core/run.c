/* core/run.c — tide_run, the asyncio.run of tide: one loop, one main task, then close. */
#include "core/loop_internal.h"
#include "tide/error.h"
#include "tide/task.h"

static void stop_when_main_is_done(tide_future *f, void *arg) {
  (void)arg;
  tide_loop_stop(tide_future_loop(f));
}

int tide_run(tide_task_fn main_fn, void *arg, const tide_loop_options *opts, void **result) {
  if (main_fn == NULL)
    return TIDE_EINVAL;
  tide_loop *loop;
  int err = tide_loop_new(&loop, opts);
  if (err != 0)
    return err;
  tide_future *main_task = NULL;
  err = tide_spawn(loop, main_fn, arg, &(tide_task_options){.name = "main"}, &main_task);
  if (err == 0)
    err = tide_future_on_done(main_task, stop_when_main_is_done, NULL);
  if (err == 0) {
    /* Runs until the main task finishes (its done-callback stops the loop) or, if it waits for
     * something that can never happen, until no work is left. */
    int rc = tide_loop_run(loop);
    err = rc < 0 ? rc : tide_future_result(main_task, result);
    if (err == TIDE_EPENDING)
      tide__loop_log(loop, TIDE_LOG_ERROR,
                     "tide_run: the main task is waiting for something that can never happen");
  }
  if (main_task != NULL)
    tide_future_release(main_task);
  tide_loop_close(loop);
  return err;
}
