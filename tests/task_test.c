/* tests/task_test.c — tasks: spawn, await, yield, sleep, cancellation paths, deadline scopes,
 * tide_run, and what close does with tasks still pending. */
#include "harness.h"
#include "log_capture.h"

#define MS (1000 * 1000LL)

static tide_loop *new_loop(void) {
  tide_loop *loop = NULL;
  CHECK_OK(tide_loop_new(&loop, NULL));
  return loop;
}

static tide_future *spawn(tide_loop *loop, tide_task_fn fn, void *arg, const char *name) {
  tide_future *f = NULL;
  tide_task_options opts;
  tide_task_options_init(&opts);
  opts.name = name;
  CHECK_OK(tide_spawn(loop, fn, arg, &opts, &f));
  return f;
}

/* ---- basics -------------------------------------------------------------------------------- */

static int return_arg(tide_loop *loop, void *arg, void **result) {
  (void)loop;
  *result = arg;
  return 0;
}

TIDE_TEST(task, runs_in_a_later_tick_and_resolves_with_its_result) {
  tide_loop *loop = new_loop();
  int payload = 5;
  tide_future *f = spawn(loop, return_arg, &payload, "t");
  CHECK_EQ(TIDE_FUTURE_PENDING, tide_future_state_of(f));
  CHECK_EQ(0, tide_loop_run(loop));
  void *value = NULL;
  CHECK_OK(tide_future_result(f, &value));
  CHECK(value == &payload);
  tide_future_release(f);
  CHECK_OK(tide_loop_close(loop));
}

static int fail_with_eio(tide_loop *loop, void *arg, void **result) {
  (void)loop;
  (void)arg;
  (void)result;
  return TIDE_EIO;
}

TIDE_TEST(task, a_returned_error_fails_its_future) {
  tide_loop *loop = new_loop();
  tide_future *f = spawn(loop, fail_with_eio, NULL, "failing");
  CHECK_EQ(0, tide_loop_run(loop));
  CHECK_RC(TIDE_EIO, tide_future_result(f, NULL));
  tide_future_release(f);
  CHECK_OK(tide_loop_close(loop));
}

TIDE_TEST(task, fire_and_forget_failure_is_reported_with_the_task_name) {
  log_capture capture;
  tide_loop *loop = new_loop_capturing(&capture);
  CHECK_OK(
      tide_spawn(loop, fail_with_eio, NULL, &(tide_task_options){.name = "background-job"}, NULL));
  CHECK_EQ(0, tide_loop_run(loop));
  CHECK_EQ(1, capture.warnings);
  CHECK(strstr(capture.last, "'background-job'") != NULL);
  CHECK(strstr(capture.last, "TIDE_EIO") != NULL);
  CHECK_OK(tide_loop_close(loop));
}

TIDE_TEST(task, await_only_calls_outside_a_task_are_einval) {
  tide_loop *loop = new_loop();
  tide_future *f = NULL;
  CHECK_OK(tide_future_new(loop, &f));
  CHECK_RC(TIDE_EINVAL, tide_await(f, NULL));
  CHECK_RC(TIDE_EINVAL, tide_await(NULL, NULL));
  CHECK_RC(TIDE_EINVAL, tide_yield(loop));
  CHECK_RC(TIDE_EINVAL, tide_sleep(loop, 0));
  CHECK_RC(TIDE_EINVAL, tide_await_timeout(f, MS, NULL));
  tide_scope scope;
  CHECK_RC(TIDE_EINVAL, tide_scope_enter(loop, &scope, MS));
  CHECK_EQ(0, tide_in_task(loop));
  CHECK_RC(TIDE_EINVAL, tide_spawn(NULL, return_arg, NULL, NULL, NULL));
  CHECK_RC(TIDE_EINVAL, tide_spawn(loop, NULL, NULL, NULL, NULL));
  tide_future_release(f);
  CHECK_OK(tide_loop_close(loop));
}

/* ---- interleaving --------------------------------------------------------------------------- */

struct trace {
  char events[64];
  int n;
};

struct actor {
  struct trace *trace;
  tide_loop *loop;
  char id;
  int64_t sleep_ns;
};

static int yield_three_times(tide_loop *loop, void *arg, void **result) {
  (void)loop;
  (void)result;
  struct actor *a = arg;
  for (int i = 0; i < 3; i++) {
    a->trace->events[a->trace->n++] = a->id;
    CHECK_OK(tide_yield(a->loop));
  }
  return 0;
}

TIDE_TEST(task, yield_interleaves_tasks_round_robin) {
  tide_loop *loop = new_loop();
  struct trace trace = {{0}, 0};
  struct actor a = {&trace, loop, 'a', 0}, b = {&trace, loop, 'b', 0};
  tide_future *fa = spawn(loop, yield_three_times, &a, "a");
  tide_future *fb = spawn(loop, yield_three_times, &b, "b");
  CHECK_EQ(0, tide_loop_run(loop));
  CHECK_STR("ababab", trace.events);
  tide_future_release(fa);
  tide_future_release(fb);
  CHECK_OK(tide_loop_close(loop));
}

static int sleep_then_record(tide_loop *loop, void *arg, void **result) {
  (void)loop;
  (void)result;
  struct actor *a = arg;
  CHECK_OK(tide_sleep(a->loop, a->sleep_ns));
  a->trace->events[a->trace->n++] = a->id;
  return 0;
}

TIDE_TEST(task, sleeping_tasks_wait_concurrently_and_wake_in_deadline_order) {
  tide_loop *loop = new_loop();
  struct trace trace = {{0}, 0};
  struct actor slow = {&trace, loop, 's', 60 * MS}, fast = {&trace, loop, 'f', 20 * MS};
  int64_t start = tide_loop_update_time(loop);
  tide_future *fs = spawn(loop, sleep_then_record, &slow, "slow");
  tide_future *ff = spawn(loop, sleep_then_record, &fast, "fast");
  CHECK_EQ(0, tide_loop_run(loop));
  CHECK_STR("fs", trace.events);
  int64_t took = tide_now(loop) - start;
  CHECK(took >= 60 * MS);                      /* never early */
  CHECK(took < 60 * MS + 20 * MS + 5000 * MS); /* concurrent, not 80 ms in sequence (generous) */
  tide_future_release(fs);
  tide_future_release(ff);
  CHECK_OK(tide_loop_close(loop));
}

static int await_child(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  int payload = 9;
  tide_future *child = spawn(loop, return_arg, &payload, "child");
  void *value = NULL;
  int rc = tide_await(child, &value);
  tide_future_release(child);
  *result = value == &payload ? (void *)1 : NULL;
  return rc;
}

TIDE_TEST(task, a_task_can_await_a_task_it_spawned) {
  tide_loop *loop = new_loop();
  tide_future *f = spawn(loop, await_child, loop, "parent");
  CHECK_EQ(0, tide_loop_run(loop));
  void *value = NULL;
  CHECK_OK(tide_future_result(f, &value));
  CHECK(value == (void *)1);
  tide_future_release(f);
  CHECK_OK(tide_loop_close(loop));
}

/* ---- cancellation ------------------------------------------------------------------------- */

struct cancel_probe {
  tide_loop *loop;
  int started;
  int first_rc;
  int cleanup_rc;
  int returned;
  tide_future *awaited; /* a future the test controls */
  int second_rc;
};

static int sleep_long_then_clean_up(tide_loop *loop, void *arg, void **result) {
  (void)loop;
  (void)result;
  struct cancel_probe *p = arg;
  p->started = 1;
  p->first_rc = tide_sleep(p->loop, 60 * 1000 * MS);
  /* Cleanup may await: the cancellation has been delivered. */
  p->cleanup_rc = tide_sleep(p->loop, 1 * MS);
  p->returned = 1;
  return p->first_rc;
}

static void cancel_timer_cb(tide_timer *t, void *arg) {
  (void)t;
  CHECK_OK(tide_future_cancel(arg));
}

TIDE_TEST(task, cancel_while_sleeping_delivers_ecanceled_and_cleanup_can_await) {
  tide_loop *loop = new_loop();
  struct cancel_probe p = {.loop = loop};
  tide_future *f = spawn(loop, sleep_long_then_clean_up, &p, "sleeper");
  tide_timer timer;
  tide_timer_init(&timer, cancel_timer_cb, f);
  CHECK_OK(tide_timer_start(loop, &timer, 5 * MS, 0));
  CHECK_EQ(0, tide_loop_run(loop));
  CHECK_RC(TIDE_ECANCELED, p.first_rc);
  CHECK_OK(p.cleanup_rc);
  CHECK_EQ(1, p.returned);
  CHECK_EQ(TIDE_FUTURE_CANCELLED, tide_future_state_of(f));
  tide_future_release(f);
  CHECK_OK(tide_loop_close(loop));
}

TIDE_TEST(task, cancel_before_the_first_run_never_runs_the_body) {
  tide_loop *loop = new_loop();
  struct cancel_probe p = {.loop = loop};
  tide_future *f = spawn(loop, sleep_long_then_clean_up, &p, "never");
  CHECK_OK(tide_future_cancel(f));
  CHECK_EQ(0, tide_loop_run(loop));
  CHECK_EQ(0, p.started);
  CHECK_RC(TIDE_ECANCELED, tide_future_result(f, NULL));
  tide_future_release(f);
  CHECK_OK(tide_loop_close(loop));
}

struct slow_producer {
  int cancel_requests;
};

static void note_cancel_request(tide_future *f, void *arg) {
  (void)f;
  struct slow_producer *sp = arg;
  sp->cancel_requests++; /* does not settle: the operation is still finishing */
}

static int await_controlled_then_sleep(tide_loop *loop, void *arg, void **result) {
  (void)loop;
  (void)result;
  struct cancel_probe *p = arg;
  void *value = NULL;
  p->first_rc = tide_await(p->awaited, &value);
  p->returned = value == (void *)p ? 1 : 0;
  p->second_rc = tide_sleep(p->loop, 60 * 1000 * MS);
  return p->second_rc;
}

static void resolve_awaited(tide_timer *t, void *arg) {
  (void)t;
  struct cancel_probe *p = arg;
  CHECK_OK(tide_future_resolve(p->awaited, p));
}

/* The awaited operation completes although the task was cancelled: its result is delivered (no
 * data lost) and the cancellation arrives at the next await. */
TIDE_TEST(task, cancel_while_awaiting_an_op_waits_for_it_and_keeps_a_raced_result) {
  tide_loop *loop = new_loop();
  struct cancel_probe p = {.loop = loop};
  struct slow_producer sp = {0};
  CHECK_OK(tide_future_new(loop, &p.awaited));
  CHECK_OK(tide_future_set_canceller(p.awaited, note_cancel_request, &sp));
  tide_future *f = spawn(loop, await_controlled_then_sleep, &p, "reader");
  tide_timer cancel_timer, resolve_timer;
  tide_timer_init(&cancel_timer, cancel_timer_cb, f);
  tide_timer_init(&resolve_timer, resolve_awaited, &p);
  CHECK_OK(tide_timer_start(loop, &cancel_timer, 2 * MS, 0));
  CHECK_OK(tide_timer_start(loop, &resolve_timer, 20 * MS, 0));
  CHECK_EQ(0, tide_loop_run(loop));
  CHECK_EQ(1, sp.cancel_requests);
  CHECK_OK(p.first_rc);
  CHECK_EQ(1, p.returned);
  CHECK_RC(TIDE_ECANCELED, p.second_rc);
  CHECK_RC(TIDE_ECANCELED, tide_future_result(f, NULL));
  tide_future_release(p.awaited);
  tide_future_release(f);
  CHECK_OK(tide_loop_close(loop));
}

static int swallow_cancellation(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  (void)tide_sleep(loop, 60 * 1000 * MS);
  return 0;
}

TIDE_TEST(task, a_task_that_swallows_its_cancellation_is_reported) {
  log_capture capture;
  tide_loop *loop = new_loop_capturing(&capture);
  tide_future *f = spawn(loop, swallow_cancellation, loop, "stubborn");
  tide_timer timer;
  tide_timer_init(&timer, cancel_timer_cb, f);
  CHECK_OK(tide_timer_start(loop, &timer, 1 * MS, 0));
  CHECK_EQ(0, tide_loop_run(loop));
  CHECK_EQ(1, capture.warnings);
  CHECK(strstr(capture.last, "'stubborn'") != NULL);
  CHECK(strstr(capture.last, "swallowed") != NULL);
  CHECK_OK(tide_future_result(f, NULL));
  tide_future_release(f);
  CHECK_OK(tide_loop_close(loop));
}

static int cleanup_sleeps(tide_loop *loop, void *arg, void **result) {
  (void)loop;
  (void)result;
  struct cancel_probe *p = arg;
  p->first_rc = tide_sleep(p->loop, 60 * 1000 * MS);
  p->cleanup_rc = tide_sleep(p->loop, 10 * MS);
  return p->first_rc;
}

static void cancel_again(tide_timer *t, void *arg) {
  (void)t;
  struct cancel_probe *p = arg;
  p->second_rc = tide_future_cancel(p->awaited);
}

TIDE_TEST(task, cancelling_again_during_cleanup_does_not_interrupt_the_cleanup) {
  tide_loop *loop = new_loop();
  struct cancel_probe p = {.loop = loop};
  tide_future *f = spawn(loop, cleanup_sleeps, &p, "cleaner");
  p.awaited = f;
  tide_timer first, second;
  tide_timer_init(&first, cancel_timer_cb, f);
  tide_timer_init(&second, cancel_again, &p);
  CHECK_OK(tide_timer_start(loop, &first, 1 * MS, 0));
  CHECK_OK(tide_timer_start(loop, &second, 5 * MS, 0)); /* lands during the cleanup sleep */
  CHECK_EQ(0, tide_loop_run(loop));
  CHECK_RC(TIDE_ECANCELED, p.first_rc);
  CHECK_OK(p.second_rc);
  CHECK_OK(p.cleanup_rc);
  CHECK_RC(TIDE_ECANCELED, tide_future_result(f, NULL));
  tide_future_release(f);
  CHECK_OK(tide_loop_close(loop));
}

struct gather_probe {
  tide_loop *loop;
  tide_future *inputs[2];
  int rc;
};

static int await_gather_of_sleeps(tide_loop *loop, void *arg, void **result) {
  (void)loop;
  (void)result;
  struct gather_probe *g = arg;
  CHECK_OK(tide_sleep_future(g->loop, 60 * 1000 * MS, &g->inputs[0]));
  CHECK_OK(tide_sleep_future(g->loop, 60 * 1000 * MS, &g->inputs[1]));
  tide_future *all = NULL;
  CHECK_OK(tide_gather(g->loop, g->inputs, 2, 0, &all));
  g->rc = tide_await(all, NULL);
  tide_future_release(all);
  return g->rc;
}

TIDE_TEST(task, cancel_while_awaiting_a_gather_cancels_every_input) {
  tide_loop *loop = new_loop();
  struct gather_probe g = {.loop = loop};
  tide_future *f = spawn(loop, await_gather_of_sleeps, &g, "gatherer");
  tide_timer timer;
  tide_timer_init(&timer, cancel_timer_cb, f);
  CHECK_OK(tide_timer_start(loop, &timer, 2 * MS, 0));
  CHECK_EQ(0, tide_loop_run(loop));
  CHECK_RC(TIDE_ECANCELED, g.rc);
  CHECK_EQ(TIDE_FUTURE_CANCELLED, tide_future_state_of(g.inputs[0]));
  CHECK_EQ(TIDE_FUTURE_CANCELLED, tide_future_state_of(g.inputs[1]));
  tide_future_release(g.inputs[0]);
  tide_future_release(g.inputs[1]);
  tide_future_release(f);
  CHECK_OK(tide_loop_close(loop));
}

/* ---- deadlines ---------------------------------------------------------------------------- */

struct deadline_probe {
  tide_loop *loop;
  int inner_rc, after_rc, exit_rc, later_rc, outer_exit_rc;
};

static int sleep_in_a_scope(tide_loop *loop, void *arg, void **result) {
  (void)loop;
  (void)result;
  struct deadline_probe *d = arg;
  tide_scope scope;
  CHECK_OK(tide_scope_enter(d->loop, &scope, 5 * MS));
  d->inner_rc = tide_sleep(d->loop, 60 * 1000 * MS);
  d->after_rc = tide_sleep(d->loop, 0); /* still inside the expired scope */
  d->exit_rc = tide_scope_exit(&scope);
  d->later_rc = tide_sleep(d->loop, 1 * MS); /* outside it: works */
  return 0;
}

TIDE_TEST(task, scope_deadline_times_out_every_await_inside_it) {
  tide_loop *loop = new_loop();
  struct deadline_probe d = {.loop = loop};
  tide_future *f = spawn(loop, sleep_in_a_scope, &d, "scoped");
  CHECK_EQ(0, tide_loop_run(loop));
  CHECK_RC(TIDE_ETIMEDOUT, d.inner_rc);
  CHECK_RC(TIDE_ETIMEDOUT, d.after_rc);
  CHECK_RC(TIDE_ETIMEDOUT, d.exit_rc);
  CHECK_OK(d.later_rc);
  CHECK_OK(tide_future_result(f, NULL));
  tide_future_release(f);
  CHECK_OK(tide_loop_close(loop));
}

static int nested_scopes(tide_loop *loop, void *arg, void **result) {
  (void)loop;
  (void)result;
  struct deadline_probe *d = arg;
  tide_scope outer, inner;
  CHECK_OK(tide_scope_enter(d->loop, &outer, 5 * MS));
  CHECK_OK(tide_scope_enter(d->loop, &inner, 60 * 1000 * MS));
  CHECK_RC(TIDE_EINVAL, tide_scope_exit(&outer)); /* not innermost */
  d->inner_rc = tide_sleep(d->loop, 60 * 1000 * MS);
  d->exit_rc = tide_scope_exit(&inner);
  d->outer_exit_rc = tide_scope_exit(&outer);
  return 0;
}

TIDE_TEST(task, nested_scopes_the_nearest_deadline_wins) {
  tide_loop *loop = new_loop();
  struct deadline_probe d = {.loop = loop};
  tide_future *f = spawn(loop, nested_scopes, &d, "nested");
  CHECK_EQ(0, tide_loop_run(loop));
  CHECK_RC(TIDE_ETIMEDOUT, d.inner_rc);
  CHECK_OK(d.exit_rc); /* the inner scope's own deadline did not pass */
  CHECK_RC(TIDE_ETIMEDOUT, d.outer_exit_rc);
  tide_future_release(f);
  CHECK_OK(tide_loop_close(loop));
}

static int await_with_timeouts(tide_loop *loop, void *arg, void **result) {
  (void)loop;
  (void)result;
  struct deadline_probe *d = arg;
  tide_future *quick = NULL, *slow = NULL;
  CHECK_OK(tide_sleep_future(d->loop, 1 * MS, &quick));
  CHECK_OK(tide_sleep_future(d->loop, 60 * 1000 * MS, &slow));
  d->inner_rc = tide_await_timeout(quick, 60 * 1000 * MS, NULL);
  d->after_rc = tide_await_timeout(slow, 5 * MS, NULL);
  CHECK_EQ(TIDE_FUTURE_CANCELLED, tide_future_state_of(slow)); /* settled before the return */
  tide_future_release(quick);
  tide_future_release(slow);
  return 0;
}

TIDE_TEST(task, await_timeout_returns_the_result_in_time_and_etimedout_after) {
  tide_loop *loop = new_loop();
  struct deadline_probe d = {.loop = loop};
  tide_future *f = spawn(loop, await_with_timeouts, &d, "timeouts");
  CHECK_EQ(0, tide_loop_run(loop));
  CHECK_OK(d.inner_rc);
  CHECK_RC(TIDE_ETIMEDOUT, d.after_rc);
  CHECK_OK(tide_future_result(f, NULL));
  tide_future_release(f);
  CHECK_OK(tide_loop_close(loop));
}

/* ---- tide_run and close ------------------------------------------------------------------- */

static int main_task(tide_loop *loop, void *arg, void **result) {
  (void)loop;
  int *calls = arg;
  (*calls)++;
  *result = arg;
  return 0;
}

TIDE_TEST(task, run_returns_the_main_task_result) {
  int calls = 0;
  void *result = NULL;
  CHECK_OK(tide_run(main_task, &calls, NULL, &result));
  CHECK_EQ(1, calls);
  CHECK(result == &calls);
  CHECK_RC(TIDE_EINVAL, tide_run(NULL, NULL, NULL, NULL));
}

static int main_that_fails(tide_loop *loop, void *arg, void **result) {
  (void)loop;
  (void)arg;
  (void)result;
  return TIDE_ECONNREFUSED;
}

TIDE_TEST(task, run_returns_the_main_task_error) {
  CHECK_RC(TIDE_ECONNREFUSED, tide_run(main_that_fails, NULL, NULL, NULL));
}

TIDE_TEST(task, close_cancels_pending_tasks_lets_them_clean_up_and_reports_them) {
  log_capture capture;
  tide_loop *loop = new_loop_capturing(&capture);
  struct cancel_probe p = {.loop = loop};
  tide_future *f = spawn(loop, sleep_long_then_clean_up, &p, "db-task");
  CHECK_EQ(1, tide_loop_run_once(loop, 0)); /* started, now sleeping */
  CHECK_EQ(1, p.started);
  CHECK_OK(tide_loop_close(loop));
  CHECK_RC(TIDE_ECANCELED, p.first_rc);
  CHECK_EQ(1, p.returned);
  CHECK(capture.warnings >= 1);
  (void)f; /* freed by close, which reported it as never released */
}

/* ---- many tasks --------------------------------------------------------------------------- */

static int sleep_arg_ms(tide_loop *loop, void *arg, void **result) {
  (void)loop;
  (void)result;
  struct actor *a = arg;
  return tide_sleep(a->loop, a->sleep_ns);
}

TIDE_TEST(task, ten_thousand_tasks_sleep_concurrently_and_all_finish) {
  tide_loop *loop = new_loop();
  enum { N = 10000 };
  struct actor *actors = calloc(N, sizeof *actors);
  CHECK(actors != NULL);
  uint32_t seed = 12345;
  for (int i = 0; i < N; i++) {
    seed = seed * 1103515245u + 12345u;
    actors[i] = (struct actor){NULL, loop, 'x', (int64_t)(seed % 20) * MS};
    CHECK_OK(tide_spawn(loop, sleep_arg_ms, &actors[i], NULL, NULL));
  }
  CHECK_EQ(0, tide_loop_run(loop));
  CHECK_OK(tide_loop_close(loop));
  free(actors);
}

/* ---- debugging aids ----------------------------------------------------------------------- */

static int sleep_forever_named(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  return tide_sleep(loop, 60 * 1000 * MS);
}

TIDE_TEST(task, dump_lists_every_live_task_with_state_and_what_it_awaits) {
  tide_loop *loop = new_loop();
  tide_future *a = spawn(loop, sleep_forever_named, NULL, "db-task");
  tide_future *b = spawn(loop, sleep_forever_named, NULL, "cache-task");
  CHECK_EQ(1, tide_loop_run_once(loop, 0));
  char buffer[1024];
  CHECK_EQ(2, dump_tasks_text(loop, "tide_task_dump_test.txt", buffer, sizeof buffer));
  CHECK(strstr(buffer, "task 'db-task' suspended") != NULL);
  CHECK(strstr(buffer, "task 'cache-task' suspended") != NULL);
  CHECK(strstr(buffer, "awaiting future") != NULL);
  CHECK_RC(TIDE_EINVAL, tide_loop_dump_tasks(NULL, stdout));
  CHECK_OK(tide_future_cancel(a));
  CHECK_OK(tide_future_cancel(b));
  CHECK_EQ(0, tide_loop_run(loop));
  tide_future_release(a);
  tide_future_release(b);
  CHECK_OK(tide_loop_close(loop));
}

static void busy_wait_ms(tide_loop *loop, int ms) {
  int64_t until = tide_loop_update_time(loop) + ms * MS;
  while (tide_loop_update_time(loop) < until) {
  }
}

static int hog_the_loop(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  busy_wait_ms(loop, 30); /* CPU work with no await: freezes every other task */
  return 0;
}

/* Counts the slow-step reports that name the hog; other steps may be reported too when the
 * machine is loaded (or under valgrind), which is not what this test is about. */
static void count_hog_reports(void *user, tide_log_level level, const char *message) {
  if (level == TIDE_LOG_WARN && strstr(message, "slow task step: task 'hog'") != NULL)
    (*(int *)user)++;
}

TIDE_TEST(task, slow_step_detector_names_the_task_that_froze_the_loop) {
  int hog_reports = 0;
  tide_loop_options opts;
  tide_loop_options_init(&opts);
  opts.log = count_hog_reports;
  opts.log_user = &hog_reports;
  opts.slow_step_ns = 10 * MS;
  tide_loop *loop = NULL;
  CHECK_OK(tide_loop_new(&loop, &opts));
  tide_future *f = spawn(loop, hog_the_loop, NULL, "hog");
  CHECK_EQ(0, tide_loop_run(loop));
  CHECK_EQ(1, hog_reports);
  tide_future_release(f);
  CHECK_OK(tide_loop_close(loop));
}

TIDE_TEST(task, slow_step_detector_is_silent_for_quick_steps_and_off_by_default) {
  log_capture capture;
  tide_loop *loop = new_loop_capturing(&capture); /* default options: detector off */
  tide_future *f = spawn(loop, hog_the_loop, NULL, "hog");
  CHECK_EQ(0, tide_loop_run(loop));
  CHECK_EQ(0, capture.count);
  tide_future_release(f);
  CHECK_OK(tide_loop_close(loop));
}
