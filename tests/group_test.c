/* tests/group_test.c — task groups: wait for all, first failure cancels siblings, every failure
 * reported, the owner's cancellation and deadline reach the members. */
#include "harness.h"
#include "log_capture.h"

#define MS (1000 * 1000LL)

struct member {
  int64_t sleep_ns; /* < 0: do not sleep at all */
  int fail_with;    /* returned after the sleep when nonzero */
  int rc;           /* what the sleep returned */
  int finished;
  int started;
};

static int member_body(tide_loop *loop, void *arg, void **result) {
  (void)result;
  struct member *m = arg;
  m->started = 1;
  m->rc = m->sleep_ns >= 0 ? tide_sleep(loop, m->sleep_ns) : 0;
  m->finished = 1;
  if (m->rc != 0)
    return m->rc;
  return m->fail_with;
}

struct owner {
  struct member *members;
  int n;
  int wait_rc;
  int64_t timeout_ns; /* > 0: wait inside a deadline scope */
  int spawn_after_rc;
  int running_after_wait; /* members started but not finished when the wait returned */
};

static int owner_body(tide_loop *loop, void *arg, void **result) {
  (void)result;
  struct owner *o = arg;
  tide_group group;
  CHECK_OK(tide_group_init(&group, loop));
  for (int i = 0; i < o->n; i++)
    CHECK_OK(tide_group_spawn(&group, member_body, &o->members[i],
                              &(tide_task_options){.name = i == 0 ? "first" : "other"}, NULL));
  tide_scope scope;
  if (o->timeout_ns > 0)
    CHECK_OK(tide_scope_enter(loop, &scope, o->timeout_ns));
  o->wait_rc = tide_group_wait(&group);
  for (int i = 0; i < o->n; i++)
    o->running_after_wait += o->members[i].started && !o->members[i].finished;
  if (o->timeout_ns > 0)
    tide_scope_exit(&scope);
  o->spawn_after_rc = tide_group_spawn(&group, member_body, &o->members[0], NULL, NULL);
  /* Pass a cancellation on rather than swallow it. */
  return o->wait_rc == TIDE_ECANCELED ? TIDE_ECANCELED : 0;
}

static void run_owner(tide_loop *loop, struct owner *o) {
  tide_future *f = NULL;
  CHECK_OK(tide_spawn(loop, owner_body, o, NULL, &f));
  CHECK_EQ(0, tide_loop_run(loop));
  CHECK_OK(tide_future_result(f, NULL));
  tide_future_release(f);
}

TIDE_TEST(group, wait_returns_after_every_member_finished) {
  tide_loop *loop = NULL;
  CHECK_OK(tide_loop_new(&loop, NULL));
  struct member m[3] = {{5 * MS, 0, 0, 0, 0}, {1 * MS, 0, 0, 0, 0}, {10 * MS, 0, 0, 0, 0}};
  struct owner o = {m, 3, -1, 0, 0, 0};
  run_owner(loop, &o);
  CHECK_OK(o.wait_rc);
  for (int i = 0; i < 3; i++) {
    CHECK_EQ(1, m[i].finished);
    CHECK_OK(m[i].rc);
  }
  CHECK_RC(TIDE_EINVAL, o.spawn_after_rc); /* closed once waited */
  CHECK_OK(tide_loop_close(loop));
}

TIDE_TEST(group, first_failure_cancels_siblings_and_is_returned) {
  log_capture capture;
  tide_loop *loop = new_loop_capturing(&capture);
  struct member m[3] = {
      {1 * MS, TIDE_ECONNRESET, 0, 0, 0}, {60000 * MS, 0, 0, 0, 0}, {60000 * MS, 0, 0, 0, 0}};
  struct owner o = {m, 3, -1, 0, 0, 0};
  run_owner(loop, &o);
  CHECK_RC(TIDE_ECONNRESET, o.wait_rc);
  CHECK_EQ(0, o.running_after_wait);
  for (int i = 1; i < 3; i++)
    CHECK(!m[i].started || (m[i].finished && m[i].rc == TIDE_ECANCELED));
  CHECK_EQ(0, capture.count); /* the one failure was returned, nothing else to report */
  CHECK_OK(tide_loop_close(loop));
}

TIDE_TEST(group, every_further_failure_is_reported_by_name) {
  log_capture capture;
  tide_loop *loop = new_loop_capturing(&capture);
  /* Neither sleeps, so both fail in their first step, in the same tick: the second failure
   * happens before the first one's cancellation can reach it. */
  struct member m[2] = {{-1, TIDE_EIO, 0, 0, 0}, {-1, TIDE_EPIPE, 0, 0, 0}};
  struct owner o = {m, 2, -1, 0, 0, 0};
  run_owner(loop, &o);
  CHECK_RC(TIDE_EIO, o.wait_rc);
  CHECK_EQ(1, capture.warnings);
  CHECK(strstr(capture.last, "'other'") != NULL);
  CHECK(strstr(capture.last, "TIDE_EPIPE") != NULL);
  CHECK_OK(tide_loop_close(loop));
}

TIDE_TEST(group, owner_deadline_cancels_members_and_waits_for_them) {
  tide_loop *loop = NULL;
  CHECK_OK(tide_loop_new(&loop, NULL));
  struct member m[2] = {{60000 * MS, 0, 0, 0, 0}, {60000 * MS, 0, 0, 0, 0}};
  struct owner o = {m, 2, -1, 5 * MS, 0, 0};
  run_owner(loop, &o);
  CHECK_RC(TIDE_ETIMEDOUT, o.wait_rc);
  CHECK_EQ(0, o.running_after_wait);
  for (int i = 0; i < 2; i++)
    CHECK(!m[i].started || (m[i].finished && m[i].rc == TIDE_ECANCELED));
  CHECK_OK(tide_loop_close(loop));
}

static void cancel_cb(tide_timer *t, void *arg) {
  (void)t;
  CHECK_OK(tide_future_cancel(arg));
}

TIDE_TEST(group, cancelling_the_owner_cancels_the_group) {
  tide_loop *loop = NULL;
  CHECK_OK(tide_loop_new(&loop, NULL));
  struct member m[2] = {{60000 * MS, 0, 0, 0, 0}, {60000 * MS, 0, 0, 0, 0}};
  struct owner o = {m, 2, -1, 0, 0, 0};
  tide_future *f = NULL;
  CHECK_OK(tide_spawn(loop, owner_body, &o, NULL, &f));
  tide_timer timer;
  tide_timer_init(&timer, cancel_cb, f);
  CHECK_OK(tide_timer_start(loop, &timer, 2 * MS, 0));
  CHECK_EQ(0, tide_loop_run(loop));
  CHECK_RC(TIDE_ECANCELED, o.wait_rc);
  /* A member may have been cancelled before its first step (then it never runs); one that ran
   * had finished before the owner's wait returned. */
  CHECK_EQ(0, o.running_after_wait);
  for (int i = 0; i < 2; i++)
    CHECK(!m[i].started || (m[i].finished && m[i].rc == TIDE_ECANCELED));
  CHECK_RC(TIDE_ECANCELED, tide_future_result(f, NULL));
  tide_future_release(f);
  CHECK_OK(tide_loop_close(loop));
}

TIDE_TEST(group, invalid_use_is_einval) {
  tide_loop *loop = NULL;
  CHECK_OK(tide_loop_new(&loop, NULL));
  tide_group group;
  CHECK_RC(TIDE_EINVAL, tide_group_init(NULL, loop));
  CHECK_RC(TIDE_EINVAL, tide_group_init(&group, NULL));
  CHECK_OK(tide_group_init(&group, loop));
  CHECK_RC(TIDE_EINVAL, tide_group_wait(&group)); /* not inside a task */
  CHECK_RC(TIDE_EINVAL, tide_group_spawn(&group, NULL, NULL, NULL, NULL));
  CHECK_RC(TIDE_EINVAL, tide_group_cancel(NULL));
  CHECK_OK(tide_loop_close(loop));
}
