/* examples/production_patterns.c — the article's three failure modes, handled in C with tide:
 *
 *   1. A timeout that returns a default: a 5 s "third-party API" awaited with a 2 s deadline;
 *      the call is cancelled (and has settled) before the caller gets "no result".
 *   2. Cancellation with cleanup: a task holding a "connection" is cancelled after 0.1 s; its
 *      sleep returns TIDE_ECANCELED, it releases the resource and returns TIDE_ECANCELED.
 *   3. A fire-and-forget task that fails: a done-callback surfaces the failure with the task's
 *      name instead of letting it vanish.
 *
 *   [0.000s] INFO === Pattern 1: Timeout ===
 *   [2.001s] WARNING API call to '/api/recommendations' timed out after 2.0s
 *   [2.001s] INFO Result: None
 *   [2.001s] INFO === Pattern 2: Cancellation ===
 *   [2.001s] INFO Acquired resource: postgres_connection
 *   [2.102s] INFO Cancelled! Releasing resource: postgres_connection
 *   [2.102s] INFO Cleanup complete for: postgres_connection
 *   [2.102s] INFO db_task cancellation confirmed
 *   [2.102s] INFO === Pattern 3: Fire-and-forget safety ===
 *   [2.203s] ERROR Task 'background-job' failed with error: TIDE_EIO (input/output error)
 *   [2.603s] INFO Main coroutine continued unaffected
 */
#include <stdio.h>

#include "timeline.h"

static int64_t start;

/* Pattern 1 ---------------------------------------------------------------------------------- */

static int slow_third_party_api(tide_loop *loop, void *arg, void **result) {
  int err = tide_sleep(loop, SECONDS(5.0)); /* way too long */
  if (err != 0)
    return err;
  *result = arg; /* the "payload" */
  return 0;
}

/* Returns the API's payload, or NULL when it did not answer within the timeout. */
static const char *fetch_with_timeout(tide_loop *loop, const char *endpoint, double timeout_s) {
  tide_future *call = NULL;
  if (tide_spawn(loop, slow_third_party_api, "some payload", NULL, &call) != 0)
    return NULL;
  void *payload = NULL;
  int err = tide_await_timeout(call, SECONDS(timeout_s), &payload);
  tide_future_release(call);
  if (err == TIDE_ETIMEDOUT) {
    say(loop, start, "WARNING API call to '%s' timed out after %.1fs", endpoint, timeout_s);
    return NULL; /* the caller gets a default, not a crash */
  }
  return err == 0 ? payload : NULL;
}

/* Pattern 2 ---------------------------------------------------------------------------------- */

static int resource_holding_task(tide_loop *loop, void *arg, void **result) {
  const char *resource = arg;
  say(loop, start, "INFO Acquired resource: %s", resource);
  int err = tide_sleep(loop, SECONDS(10.0)); /* a long operation */
  if (err == TIDE_ECANCELED)
    say(loop, start, "INFO Cancelled! Releasing resource: %s", resource);
  /* Cleanup runs whether cancelled or finished: plain C, one exit path. */
  say(loop, start, "INFO Cleanup complete for: %s", resource);
  if (err == 0)
    *result = (void *)resource;
  return err; /* TIDE_ECANCELED propagates: never swallow a cancellation */
}

/* Pattern 3 ---------------------------------------------------------------------------------- */

static int buggy_background_job(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  int err = tide_sleep(loop, SECONDS(0.1));
  return err != 0 ? err : TIDE_EIO; /* "something went wrong in the background" */
}

static void log_task_failure(tide_future *task, void *arg) {
  tide_loop *loop = arg;
  int err = tide_future_result(task, NULL);
  if (err == 0 || err == TIDE_ECANCELED)
    return; /* success, or an intentional cancellation */
  say(loop, start, "ERROR Task '%s' failed with error: %s (%s)", tide_task_name(task),
      tide_err_name(err), tide_strerror(err));
}

static int main_task(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  start = tide_loop_update_time(loop);

  say(loop, start, "INFO === Pattern 1: Timeout ===");
  const char *payload = fetch_with_timeout(loop, "/api/recommendations", 2.0);
  say(loop, start, "INFO Result: %s", payload ? payload : "None");

  say(loop, start, "INFO === Pattern 2: Cancellation ===");
  tide_future *db_task = NULL;
  int err = tide_spawn(loop, resource_holding_task, "postgres_connection",
                       &(tide_task_options){.name = "db-task"}, &db_task);
  if (err != 0)
    return err;
  tide_sleep(loop, SECONDS(0.1)); /* let the task start */
  tide_future_cancel(db_task);    /* delivered at the task's next await */
  if (tide_await(db_task, NULL) == TIDE_ECANCELED)
    say(loop, start, "INFO db_task cancellation confirmed");
  tide_future_release(db_task);

  say(loop, start, "INFO === Pattern 3: Fire-and-forget safety ===");
  tide_future *background = NULL;
  err = tide_spawn(loop, buggy_background_job, NULL, &(tide_task_options){.name = "background-job"},
                   &background);
  if (err != 0)
    return err;
  tide_future_on_done(background, log_task_failure, loop);
  tide_future_release(background); /* the callback still fires: the task keeps itself alive */
  tide_sleep(loop, SECONDS(0.5));
  say(loop, start, "INFO Main coroutine continued unaffected");
  return 0;
}

int main(void) {
  int err = tide_run(main_task, NULL, NULL, NULL);
  if (err != 0)
    fprintf(stderr, "error: %s\n", tide_strerror(err));
  return err == 0 ? 0 : 1;
}
