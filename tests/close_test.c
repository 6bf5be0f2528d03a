/* tests/close_test.c — tide_loop_close: cancels, drains, reports what was left. (Posts from other
 * threads accepted before close: tests/conformance/loop_test.c.) */
#include "harness.h"
#include "log_capture.h"

struct outcome {
  int calls;
  int result;
  tide_loop *loop;
  int sleep_rc;
};

static void record_outcome(tide_future *f, void *arg) {
  struct outcome *o = arg;
  o->calls++;
  o->result = tide_future_result(f, NULL);
  tide_future *g = NULL;
  o->sleep_rc = tide_sleep_future(tide_future_loop(f), 1000, &g);
}

TIDE_TEST(close, pending_timer_future_is_cancelled_and_its_callback_runs) {
  log_capture capture;
  tide_loop *loop = new_loop_capturing(&capture);
  tide_future *f = NULL;
  CHECK_OK(tide_sleep_future(loop, 60LL * 1000000000, &f));
  struct outcome o = {0, 0, loop, 0};
  CHECK_OK(tide_future_on_done(f, record_outcome, &o));
  tide_future_release(f);
  CHECK_OK(tide_loop_close(loop));
  CHECK_EQ(1, o.calls);
  CHECK_RC(TIDE_ECANCELED, o.result);
  /* A callback run by close cannot start new timed work. */
  CHECK_RC(TIDE_ECLOSED, o.sleep_rc);
  CHECK_EQ(0, capture.count);
}

static void never_called(tide_timer *t, void *arg) {
  (void)t;
  (void)arg;
  TIDE_TEST_FAIL("a timer fired during close");
}

TIDE_TEST(close, armed_user_timer_is_reported_and_disarmed) {
  log_capture capture;
  tide_loop *loop = new_loop_capturing(&capture);
  tide_timer timer;
  CHECK_OK(tide_timer_init(&timer, never_called, NULL));
  CHECK_OK(tide_timer_start(loop, &timer, 0, 0));
  CHECK_OK(tide_loop_close(loop));
  CHECK_EQ(0, tide_timer_is_active(&timer));
  CHECK_EQ(1, capture.warnings);
  CHECK(strstr(capture.last, "1 timer(s) still armed") != NULL);
}

TIDE_TEST(close, unreleased_future_is_reported) {
  log_capture capture;
  tide_loop *loop = new_loop_capturing(&capture);
  tide_future *f = NULL;
  CHECK_OK(tide_future_new(loop, &f));
  CHECK_OK(tide_loop_close(loop));
  CHECK_EQ(1, capture.warnings);
  CHECK(strstr(capture.last, "1 future(s) never released") != NULL);
}

TIDE_TEST(close, a_clean_loop_reports_nothing) {
  log_capture capture;
  tide_loop *loop = new_loop_capturing(&capture);
  tide_future *f = NULL;
  CHECK_OK(tide_sleep_future(loop, 1000, &f));
  CHECK_EQ(0, tide_loop_run(loop));
  CHECK_OK(tide_future_result(f, NULL));
  tide_future_release(f);
  CHECK_OK(tide_loop_close(loop));
  CHECK_EQ(0, capture.count);
}

struct forever {
  tide_loop *loop;
  long runs;
};

static void reschedule_forever(void *arg) {
  struct forever *f = arg;
  f->runs++;
  CHECK_OK(tide_call_soon(f->loop, reschedule_forever, f));
}

TIDE_TEST(close, endless_rescheduling_is_cut_off_and_reported) {
  log_capture capture;
  tide_loop *loop = new_loop_capturing(&capture);
  struct forever f = {loop, 0};
  CHECK_OK(tide_call_soon(loop, reschedule_forever, &f));
  CHECK_OK(tide_loop_close(loop));
  CHECK(f.runs > 1);
  CHECK_EQ(1, capture.warnings);
  CHECK(strstr(capture.last, "kept scheduling") != NULL);
}
