/* tests/combine_test.c — tide_gather and tide_wait_for, driven by plain futures and timers. */
#include "harness.h"

#define MS (1000 * 1000LL)

static tide_loop *new_loop(void) {
  tide_loop *loop = NULL;
  CHECK_OK(tide_loop_new(&loop, NULL));
  return loop;
}

static tide_future *sleep_for(tide_loop *loop, int64_t ns) {
  tide_future *f = NULL;
  CHECK_OK(tide_sleep_future(loop, ns, &f));
  return f;
}

TIDE_TEST(combine, gather_resolves_when_all_inputs_have_and_keeps_argument_order) {
  tide_loop *loop = new_loop();
  tide_future *in[3];
  int values[3] = {0, 1, 2};
  for (int i = 0; i < 3; i++)
    CHECK_OK(tide_future_new(loop, &in[i]));
  tide_future *all = NULL;
  CHECK_OK(tide_gather(loop, in, 3, 0, &all));
  CHECK_OK(tide_future_resolve(in[2], &values[2]));
  CHECK_OK(tide_future_resolve(in[0], &values[0]));
  tide_loop_run_once(loop, 0);
  CHECK_EQ(TIDE_FUTURE_PENDING, tide_future_state_of(all));
  CHECK_OK(tide_future_resolve(in[1], &values[1]));
  CHECK_EQ(0, tide_loop_run(loop));
  CHECK_OK(tide_future_result(all, NULL));
  for (int i = 0; i < 3; i++) {
    void *v = NULL;
    CHECK_OK(tide_future_result(in[i], &v));
    CHECK(v == &values[i]);
    tide_future_release(in[i]);
  }
  tide_future_release(all);
  CHECK_OK(tide_loop_close(loop));
}

TIDE_TEST(combine, gather_first_failure_cancels_the_rest_and_waits_for_them) {
  tide_loop *loop = new_loop();
  tide_future *in[3] = {sleep_for(loop, 60000 * MS), NULL, sleep_for(loop, 60000 * MS)};
  CHECK_OK(tide_future_new(loop, &in[1]));
  tide_future *all = NULL;
  CHECK_OK(tide_gather(loop, in, 3, 0, &all));
  CHECK_OK(tide_future_fail(in[1], TIDE_ECONNRESET));
  CHECK_EQ(0, tide_loop_run(loop));
  CHECK_RC(TIDE_ECONNRESET, tide_future_result(all, NULL));
  CHECK_EQ(TIDE_FUTURE_CANCELLED, tide_future_state_of(in[0]));
  CHECK_EQ(TIDE_FUTURE_CANCELLED, tide_future_state_of(in[2]));
  for (int i = 0; i < 3; i++)
    tide_future_release(in[i]);
  tide_future_release(all);
  CHECK_OK(tide_loop_close(loop));
}

TIDE_TEST(combine, gather_all_outcomes_waits_for_everything) {
  tide_loop *loop = new_loop();
  tide_future *in[2] = {NULL, sleep_for(loop, 2 * MS)};
  CHECK_OK(tide_future_new(loop, &in[0]));
  tide_future *all = NULL;
  CHECK_OK(tide_gather(loop, in, 2, TIDE_GATHER_ALL_OUTCOMES, &all));
  CHECK_OK(tide_future_fail(in[0], TIDE_EIO));
  CHECK_EQ(0, tide_loop_run(loop));
  CHECK_OK(tide_future_result(all, NULL));
  CHECK_RC(TIDE_EIO, tide_future_result(in[0], NULL));
  CHECK_OK(tide_future_result(in[1], NULL));
  for (int i = 0; i < 2; i++)
    tide_future_release(in[i]);
  tide_future_release(all);
  CHECK_OK(tide_loop_close(loop));
}

TIDE_TEST(combine, gather_of_nothing_resolves_at_once) {
  tide_loop *loop = new_loop();
  tide_future *all = NULL;
  CHECK_OK(tide_gather(loop, NULL, 0, 0, &all));
  CHECK_OK(tide_future_result(all, NULL));
  tide_future_release(all);
  CHECK_OK(tide_loop_close(loop));
}

TIDE_TEST(combine, gather_rejects_bad_arguments) {
  tide_loop *loop = new_loop();
  tide_loop *other = new_loop();
  tide_future *foreign = NULL, *all = NULL;
  CHECK_OK(tide_future_new(other, &foreign));
  tide_future *in[1] = {foreign};
  CHECK_RC(TIDE_EINVAL, tide_gather(loop, in, 1, 0, &all));
  CHECK_RC(TIDE_EINVAL, tide_gather(loop, NULL, 1, 0, &all));
  CHECK_RC(TIDE_EINVAL, tide_gather(NULL, in, 1, 0, &all));
  CHECK_RC(TIDE_EINVAL, tide_gather(other, in, 1, 0, NULL));
  CHECK_RC(TIDE_EINVAL, tide_gather(other, in, 1, 0x80, &all));
  tide_future *nulls[1] = {NULL};
  CHECK_RC(TIDE_EINVAL, tide_gather(loop, nulls, 1, 0, &all));
  tide_future_release(foreign);
  CHECK_OK(tide_loop_close(other));
  CHECK_OK(tide_loop_close(loop));
}

TIDE_TEST(combine, cancelling_a_gather_cancels_its_inputs) {
  tide_loop *loop = new_loop();
  tide_future *in[2] = {sleep_for(loop, 60000 * MS), sleep_for(loop, 60000 * MS)};
  tide_future *all = NULL;
  CHECK_OK(tide_gather(loop, in, 2, 0, &all));
  CHECK_OK(tide_future_cancel(all));
  CHECK_EQ(0, tide_loop_run(loop));
  CHECK_RC(TIDE_ECANCELED, tide_future_result(all, NULL));
  CHECK_EQ(TIDE_FUTURE_CANCELLED, tide_future_state_of(in[0]));
  CHECK_EQ(TIDE_FUTURE_CANCELLED, tide_future_state_of(in[1]));
  tide_future_release(in[0]);
  tide_future_release(in[1]);
  tide_future_release(all);
  CHECK_OK(tide_loop_close(loop));
}

TIDE_TEST(combine, wait_for_passes_an_in_time_result_through) {
  tide_loop *loop = new_loop();
  tide_future *in = NULL, *w = NULL;
  CHECK_OK(tide_future_new(loop, &in));
  CHECK_OK(tide_wait_for(in, 60000 * MS, &w));
  int payload = 3;
  CHECK_OK(tide_future_resolve(in, &payload));
  CHECK_EQ(0, tide_loop_run(loop)); /* the stopped timer no longer keeps the loop alive */
  void *v = NULL;
  CHECK_OK(tide_future_result(w, &v));
  CHECK(v == &payload);
  tide_future_release(in);
  tide_future_release(w);
  CHECK_OK(tide_loop_close(loop));
}

TIDE_TEST(combine, wait_for_times_out_and_cancels_the_input_first) {
  tide_loop *loop = new_loop();
  tide_future *in = sleep_for(loop, 60000 * MS), *w = NULL;
  CHECK_OK(tide_wait_for(in, 5 * MS, &w));
  CHECK_EQ(0, tide_loop_run(loop));
  CHECK_RC(TIDE_ETIMEDOUT, tide_future_result(w, NULL));
  CHECK_EQ(TIDE_FUTURE_CANCELLED, tide_future_state_of(in));
  tide_future_release(in);
  tide_future_release(w);
  CHECK_OK(tide_loop_close(loop));
}

static void finish_instead_of_cancelling(tide_future *f, void *arg) {
  CHECK_OK(tide_future_resolve(f, arg)); /* the operation raced the cancel and won */
}

TIDE_TEST(combine, wait_for_keeps_a_result_that_raced_the_timeout) {
  tide_loop *loop = new_loop();
  tide_future *in = NULL, *w = NULL;
  int payload = 4;
  CHECK_OK(tide_future_new(loop, &in));
  CHECK_OK(tide_future_set_canceller(in, finish_instead_of_cancelling, &payload));
  CHECK_OK(tide_wait_for(in, 1 * MS, &w));
  CHECK_EQ(0, tide_loop_run(loop));
  void *v = NULL;
  CHECK_OK(tide_future_result(w, &v));
  CHECK(v == &payload);
  tide_future_release(in);
  tide_future_release(w);
  CHECK_OK(tide_loop_close(loop));
}

TIDE_TEST(combine, wait_for_rejects_bad_arguments) {
  tide_loop *loop = new_loop();
  tide_future *in = NULL, *w = NULL;
  CHECK_OK(tide_future_new(loop, &in));
  CHECK_RC(TIDE_EINVAL, tide_wait_for(NULL, MS, &w));
  CHECK_RC(TIDE_EINVAL, tide_wait_for(in, -1, &w));
  CHECK_RC(TIDE_EINVAL, tide_wait_for(in, MS, NULL));
  tide_future_release(in);
  CHECK_OK(tide_loop_close(loop));
}

TIDE_TEST(combine, wait_first_completed_resolves_on_the_first_and_cancels_nothing) {
  tide_loop *loop = new_loop();
  /* in[1] is settled by hand, so no scheduling delay can make it finish early. */
  tide_future *in[2] = {sleep_for(loop, 1 * MS), NULL};
  CHECK_OK(tide_future_new(loop, &in[1]));
  tide_future *w = NULL;
  CHECK_OK(tide_wait(loop, in, 2, TIDE_WAIT_FIRST_COMPLETED, &w));
  CHECK_EQ(0, tide_loop_run(loop));
  CHECK_OK(tide_future_result(w, NULL));
  CHECK_EQ(1, tide_future_done(in[0]));
  CHECK_EQ(TIDE_FUTURE_PENDING, tide_future_state_of(in[1])); /* not cancelled, still running */
  CHECK_OK(tide_future_resolve(in[1], NULL));
  CHECK_EQ(0, tide_loop_run(loop));
  CHECK_OK(tide_future_result(in[1], NULL));
  tide_future_release(in[0]);
  tide_future_release(in[1]);
  tide_future_release(w);
  CHECK_OK(tide_loop_close(loop));
}

TIDE_TEST(combine, wait_first_failure_and_all_completed) {
  tide_loop *loop = new_loop();
  tide_future *in[2] = {NULL, sleep_for(loop, 5 * MS)};
  CHECK_OK(tide_future_new(loop, &in[0]));
  tide_future *first_failure = NULL, *all = NULL;
  CHECK_OK(tide_wait(loop, in, 2, TIDE_WAIT_FIRST_FAILURE, &first_failure));
  CHECK_OK(tide_wait(loop, in, 2, TIDE_WAIT_ALL_COMPLETED, &all));
  CHECK_OK(tide_future_fail(in[0], TIDE_EIO));
  tide_loop_run_once(loop, 0);
  CHECK_EQ(1, tide_future_done(first_failure));
  CHECK_EQ(0, tide_future_done(all));
  CHECK_EQ(0, tide_loop_run(loop));
  CHECK_EQ(1, tide_future_done(all));
  CHECK_RC(TIDE_EIO, tide_future_result(in[0], NULL));
  CHECK_RC(TIDE_EINVAL, tide_wait(loop, in, 2, (tide_wait_mode)7, &all));
  tide_future_release(in[0]);
  tide_future_release(in[1]);
  tide_future_release(first_failure);
  tide_future_release(all);
  CHECK_OK(tide_loop_close(loop));
}

TIDE_TEST(combine, shield_protects_its_input_from_cancellation) {
  tide_loop *loop = new_loop();
  tide_future *in = sleep_for(loop, 5 * MS), *s = NULL, *s2 = NULL;
  CHECK_OK(tide_shield(in, &s));
  CHECK_OK(tide_shield(in, &s2));
  CHECK_OK(tide_future_cancel(s));
  CHECK_EQ(TIDE_FUTURE_CANCELLED, tide_future_state_of(s));
  CHECK_EQ(0, tide_loop_run(loop));
  CHECK_OK(tide_future_result(in, NULL)); /* the input ran to completion */
  CHECK_OK(tide_future_result(s2, NULL)); /* and an uncancelled shield follows it */
  tide_future_release(in);
  tide_future_release(s);
  tide_future_release(s2);
  CHECK_OK(tide_loop_close(loop));
}

struct completion_order {
  tide_future *in[3];
  int order[3];
  int count;
  int end_rc;
};

static int collect_in_completion_order(tide_loop *loop, void *arg, void **result) {
  (void)result;
  struct completion_order *c = arg;
  tide_as_completed ac;
  CHECK_OK(tide_as_completed_init(&ac, loop, c->in, 3));
  tide_future *next = NULL;
  while (tide_as_completed_next(&ac, &next) == 0) {
    for (int i = 0; i < 3; i++)
      if (next == c->in[i])
        c->order[c->count++] = i;
  }
  c->end_rc = tide_as_completed_next(&ac, &next);
  tide_as_completed_destroy(&ac);
  return 0;
}

TIDE_TEST(combine, as_completed_yields_inputs_in_settling_order) {
  tide_loop *loop = new_loop();
  struct completion_order c = {
      {sleep_for(loop, 20 * MS), sleep_for(loop, 1 * MS), sleep_for(loop, 10 * MS)}, {0}, 0, 0};
  tide_future *t = NULL;
  CHECK_OK(tide_spawn(loop, collect_in_completion_order, &c, NULL, &t));
  CHECK_EQ(0, tide_loop_run(loop));
  CHECK_OK(tide_future_result(t, NULL));
  CHECK_EQ(3, c.count);
  CHECK_EQ(1, c.order[0]);
  CHECK_EQ(2, c.order[1]);
  CHECK_EQ(0, c.order[2]);
  CHECK_RC(TIDE_ENOENT, c.end_rc);
  for (int i = 0; i < 3; i++)
    tide_future_release(c.in[i]);
  tide_future_release(t);
  CHECK_OK(tide_loop_close(loop));
}

TIDE_TEST(combine, as_completed_destroyed_early_leaves_inputs_safe) {
  tide_loop *loop = new_loop();
  tide_future *in[2] = {sleep_for(loop, 1 * MS), sleep_for(loop, 2 * MS)};
  tide_as_completed ac;
  CHECK_OK(tide_as_completed_init(&ac, loop, in, 2));
  tide_future *next = NULL;
  CHECK_RC(TIDE_EINVAL, tide_as_completed_next(&ac, &next)); /* not in a task */
  tide_as_completed_destroy(&ac);
  CHECK_EQ(0, tide_loop_run(loop)); /* the late callbacks find the detached state */
  tide_future_release(in[0]);
  tide_future_release(in[1]);
  CHECK_OK(tide_loop_close(loop));
}
