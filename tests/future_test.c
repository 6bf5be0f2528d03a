/* tests/future_test.c — the future state machine, done-callbacks, cancellation and reporting. */
#include "harness.h"
#include "log_capture.h"

static tide_loop *new_loop(void) {
  tide_loop *loop = NULL;
  CHECK_OK(tide_loop_new(&loop, NULL));
  return loop;
}

static tide_future *new_future(tide_loop *loop) {
  tide_future *f = NULL;
  CHECK_OK(tide_future_new(loop, &f));
  return f;
}

TIDE_TEST(future, new_future_is_pending) {
  tide_loop *loop = new_loop();
  tide_future *f = new_future(loop);
  CHECK_EQ(TIDE_FUTURE_PENDING, tide_future_state_of(f));
  CHECK_EQ(0, tide_future_done(f));
  void *value = (void *)1;
  CHECK_RC(TIDE_EPENDING, tide_future_result(f, &value));
  CHECK(value == (void *)1);
  CHECK(tide_future_loop(f) == loop);
  tide_future_release(f);
  CHECK_OK(tide_loop_close(loop));
}

TIDE_TEST(future, settles_exactly_once) {
  tide_loop *loop = new_loop();
  tide_future *f = new_future(loop);
  int payload = 7;
  CHECK_OK(tide_future_resolve(f, &payload));
  CHECK_RC(TIDE_EALREADY, tide_future_resolve(f, NULL));
  CHECK_RC(TIDE_EALREADY, tide_future_fail(f, TIDE_EIO));
  CHECK_RC(TIDE_EALREADY, tide_future_cancel(f));
  CHECK_EQ(TIDE_FUTURE_RESOLVED, tide_future_state_of(f));
  void *value = NULL;
  CHECK_OK(tide_future_result(f, &value));
  CHECK(value == &payload);
  CHECK_OK(tide_future_result(f, NULL));
  tide_future_release(f);
  CHECK_OK(tide_loop_close(loop));
}

TIDE_TEST(future, fail_takes_a_negative_code_only) {
  tide_loop *loop = new_loop();
  tide_future *f = new_future(loop);
  CHECK_RC(TIDE_EINVAL, tide_future_fail(f, 0));
  CHECK_RC(TIDE_EINVAL, tide_future_fail(f, 5));
  CHECK_EQ(TIDE_FUTURE_PENDING, tide_future_state_of(f));
  CHECK_OK(tide_future_fail(f, TIDE_ECONNRESET));
  CHECK_EQ(TIDE_FUTURE_FAILED, tide_future_state_of(f));
  CHECK_RC(TIDE_ECONNRESET, tide_future_result(f, NULL));
  tide_future_release(f);
  CHECK_OK(tide_loop_close(loop));
}

TIDE_TEST(future, failing_with_ecanceled_means_cancelled) {
  tide_loop *loop = new_loop();
  tide_future *f = new_future(loop);
  CHECK_OK(tide_future_fail(f, TIDE_ECANCELED));
  CHECK_EQ(TIDE_FUTURE_CANCELLED, tide_future_state_of(f));
  CHECK_RC(TIDE_ECANCELED, tide_future_result(f, NULL));
  tide_future_release(f);
  CHECK_OK(tide_loop_close(loop));
}

TIDE_TEST(future, cancel_without_canceller_settles_at_once) {
  tide_loop *loop = new_loop();
  tide_future *f = new_future(loop);
  CHECK_OK(tide_future_cancel(f));
  CHECK_EQ(TIDE_FUTURE_CANCELLED, tide_future_state_of(f));
  CHECK_RC(TIDE_EALREADY, tide_future_cancel(f));
  tide_future_release(f);
  CHECK_OK(tide_loop_close(loop));
}

struct canceller_probe {
  int calls;
  int settle_now;
};

static void probe_canceller(tide_future *f, void *arg) {
  struct canceller_probe *p = arg;
  p->calls++;
  if (p->settle_now)
    CHECK_OK(tide_future_fail(f, TIDE_ECANCELED));
}

TIDE_TEST(future, cancel_asks_the_producer_once_and_a_raced_result_stands) {
  tide_loop *loop = new_loop();
  tide_future *f = new_future(loop);
  struct canceller_probe probe = {0, 0};
  CHECK_OK(tide_future_set_canceller(f, probe_canceller, &probe));
  CHECK_OK(tide_future_cancel(f));
  CHECK_EQ(1, probe.calls);
  /* The producer has not answered: still pending, and asking again does not call it again. */
  CHECK_EQ(TIDE_FUTURE_PENDING, tide_future_state_of(f));
  CHECK_OK(tide_future_cancel(f));
  CHECK_EQ(1, probe.calls);
  /* The operation finished before it could stop: its real result is kept. */
  int data = 42;
  CHECK_OK(tide_future_resolve(f, &data));
  void *value = NULL;
  CHECK_OK(tide_future_result(f, &value));
  CHECK(value == &data);
  tide_future_release(f);
  CHECK_OK(tide_loop_close(loop));
}

TIDE_TEST(future, canceller_may_settle_the_future_immediately) {
  tide_loop *loop = new_loop();
  tide_future *f = new_future(loop);
  struct canceller_probe probe = {0, 1};
  CHECK_OK(tide_future_set_canceller(f, probe_canceller, &probe));
  CHECK_OK(tide_future_cancel(f));
  CHECK_EQ(1, probe.calls);
  CHECK_EQ(TIDE_FUTURE_CANCELLED, tide_future_state_of(f));
  CHECK_RC(TIDE_EALREADY, tide_future_set_canceller(f, probe_canceller, &probe));
  tide_future_release(f);
  CHECK_OK(tide_loop_close(loop));
}

struct order_log {
  int seen[16];
  int count;
};

static void record(tide_future *f, void *arg) {
  (void)f;
  struct order_log *log = arg;
  log->seen[log->count] = log->count;
  log->count++;
}

struct tagged {
  struct order_log *log;
  int tag;
};

static void record_tagged(tide_future *f, void *arg) {
  (void)f;
  struct tagged *t = arg;
  t->log->seen[t->log->count++] = t->tag;
}

TIDE_TEST(future, callbacks_run_in_a_later_tick_never_inside_resolve) {
  tide_loop *loop = new_loop();
  tide_future *f = new_future(loop);
  struct order_log log = {{0}, 0};
  CHECK_OK(tide_future_on_done(f, record, &log));
  CHECK_OK(tide_future_resolve(f, NULL));
  CHECK_EQ(0, log.count);
  CHECK_EQ(0, tide_loop_run_once(loop, 0));
  CHECK_EQ(1, log.count);
  tide_future_release(f);
  CHECK_OK(tide_loop_close(loop));
}

TIDE_TEST(future, callbacks_run_in_the_order_they_were_added) {
  tide_loop *loop = new_loop();
  tide_future *f = new_future(loop);
  struct order_log log = {{0}, 0};
  struct tagged tags[8];
  for (int i = 0; i < 8; i++) {
    tags[i] = (struct tagged){&log, 100 + i};
    CHECK_OK(tide_future_on_done(f, record_tagged, &tags[i]));
  }
  CHECK_OK(tide_future_fail(f, TIDE_EIO));
  CHECK_EQ(0, tide_loop_run_once(loop, 0));
  CHECK_EQ(8, log.count);
  for (int i = 0; i < 8; i++)
    CHECK_EQ(100 + i, log.seen[i]);
  CHECK_RC(TIDE_EIO, tide_future_result(f, NULL));
  tide_future_release(f);
  CHECK_OK(tide_loop_close(loop));
}

TIDE_TEST(future, on_done_after_settling_runs_in_the_next_tick) {
  tide_loop *loop = new_loop();
  tide_future *f = new_future(loop);
  CHECK_OK(tide_future_resolve(f, NULL));
  struct order_log log = {{0}, 0};
  CHECK_OK(tide_future_on_done(f, record, &log));
  CHECK_EQ(0, log.count);
  tide_loop_run_once(loop, 0);
  CHECK_EQ(1, log.count);
  tide_future_release(f);
  CHECK_OK(tide_loop_close(loop));
}

static void add_another_callback(tide_future *f, void *arg) {
  CHECK_OK(tide_future_on_done(f, record, arg));
}

TIDE_TEST(future, callback_added_by_a_callback_runs_in_the_following_tick) {
  tide_loop *loop = new_loop();
  tide_future *f = new_future(loop);
  struct order_log log = {{0}, 0};
  CHECK_OK(tide_future_on_done(f, add_another_callback, &log));
  CHECK_OK(tide_future_resolve(f, NULL));
  tide_loop_run_once(loop, 0);
  CHECK_EQ(0, log.count);
  tide_loop_run_once(loop, 0);
  CHECK_EQ(1, log.count);
  tide_future_release(f);
  CHECK_OK(tide_loop_close(loop));
}

static void release_in_callback(tide_future *f, void *arg) {
  int *ran = arg;
  (*ran)++;
  CHECK_OK(tide_future_result(f, NULL));
  tide_future_release(f);
}

TIDE_TEST(future, a_callback_may_release_the_last_user_reference) {
  tide_loop *loop = new_loop();
  tide_future *f = new_future(loop);
  int ran = 0;
  CHECK_OK(tide_future_on_done(f, release_in_callback, &ran));
  CHECK_OK(tide_future_on_done(f, release_in_callback, &ran));
  tide_future_retain(f); /* two callbacks each drop one reference */
  CHECK_OK(tide_future_resolve(f, NULL));
  tide_loop_run_once(loop, 0);
  CHECK_EQ(2, ran);
  CHECK_OK(tide_loop_close(loop));
}

TIDE_TEST(future, unobserved_failure_is_reported_when_released) {
  log_capture capture;
  tide_loop *loop = new_loop_capturing(&capture);
  tide_future *f = new_future(loop);
  CHECK_OK(tide_future_fail(f, TIDE_ECONNREFUSED));
  CHECK_EQ(0, capture.count);
  tide_future_release(f);
  CHECK_EQ(1, capture.warnings);
  CHECK(strstr(capture.last, "never retrieved") != NULL);
  CHECK(strstr(capture.last, "TIDE_ECONNREFUSED") != NULL);
  CHECK_OK(tide_loop_close(loop));
  CHECK_EQ(1, capture.count);
}

TIDE_TEST(future, observed_failure_and_cancellation_are_not_reported) {
  log_capture capture;
  tide_loop *loop = new_loop_capturing(&capture);
  tide_future *failed = new_future(loop);
  tide_future *cancelled = new_future(loop);
  tide_future *resolved = new_future(loop);
  CHECK_OK(tide_future_fail(failed, TIDE_EIO));
  CHECK_RC(TIDE_EIO, tide_future_result(failed, NULL));
  CHECK_OK(tide_future_cancel(cancelled));
  CHECK_OK(tide_future_resolve(resolved, NULL));
  tide_future_release(failed);
  tide_future_release(cancelled);
  tide_future_release(resolved);
  CHECK_OK(tide_loop_close(loop));
  CHECK_EQ(0, capture.count);
}

TIDE_TEST(future, releasing_a_pending_future_with_callbacks_is_reported) {
  log_capture capture;
  tide_loop *loop = new_loop_capturing(&capture);
  tide_future *f = new_future(loop);
  struct order_log log = {{0}, 0};
  CHECK_OK(tide_future_on_done(f, record, &log));
  CHECK_OK(tide_future_on_done(f, record, &log));
  tide_future_release(f);
  CHECK_EQ(1, capture.warnings);
  CHECK(strstr(capture.last, "will never run") != NULL);
  CHECK_OK(tide_loop_close(loop));
  CHECK_EQ(0, log.count);
}

TIDE_TEST(future, invalid_arguments_are_einval) {
  tide_loop *loop = new_loop();
  tide_future *f = NULL;
  CHECK_RC(TIDE_EINVAL, tide_future_new(NULL, &f));
  CHECK_RC(TIDE_EINVAL, tide_future_new(loop, NULL));
  CHECK_RC(TIDE_EINVAL, tide_future_resolve(NULL, NULL));
  CHECK_RC(TIDE_EINVAL, tide_future_fail(NULL, TIDE_EIO));
  CHECK_RC(TIDE_EINVAL, tide_future_cancel(NULL));
  CHECK_RC(TIDE_EINVAL, tide_future_result(NULL, NULL));
  CHECK_RC(TIDE_EINVAL, tide_future_set_canceller(NULL, NULL, NULL));
  f = new_future(loop);
  CHECK_RC(TIDE_EINVAL, tide_future_on_done(f, NULL, NULL));
  CHECK_RC(TIDE_EINVAL, tide_future_on_done(NULL, record, NULL));
  CHECK(tide_future_loop(NULL) == NULL);
  tide_future_release(NULL);
  tide_future_retain(NULL);
  tide_future_release(f);
  CHECK_OK(tide_loop_close(loop));
}

TIDE_TEST(future, released_futures_are_reused_from_the_pool) {
  tide_loop *loop = new_loop();
  tide_future *first = new_future(loop);
  tide_future_release(first);
  for (int i = 0; i < 1000; i++) {
    tide_future *f = new_future(loop);
    CHECK(f == first); /* a warm pool hands back the same object: no allocation */
    CHECK_EQ(TIDE_FUTURE_PENDING, tide_future_state_of(f));
    CHECK_OK(tide_future_resolve(f, NULL));
    tide_future_release(f);
  }
  CHECK_OK(tide_loop_close(loop));
}
