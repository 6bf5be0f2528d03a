/* tests/loop_test.c — run modes, call_soon ordering and fairness, stop from a callback, ref and
 * unref, nesting, the cached clock. What needs the backend (poll timeouts, wake-ups and posts
 * from other threads) is in the conformance suite, tests/conformance/loop_test.c. */
#define _POSIX_C_SOURCE 200809L
#include <time.h>

#include "harness.h"

static tide_loop *new_loop(void) {
  tide_loop *loop = NULL;
  CHECK_OK(tide_loop_new(&loop, NULL));
  return loop;
}

static int64_t wall_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

struct sequence {
  int order[64];
  int count;
};

struct step {
  struct sequence *seq;
  int id;
};

static void append_step(void *arg) {
  struct step *s = arg;
  s->seq->order[s->seq->count++] = s->id;
}

TIDE_TEST(loop, new_and_close_with_defaults) {
  tide_loop *loop = NULL;
  CHECK_RC(TIDE_EINVAL, tide_loop_new(NULL, NULL));
  tide_loop_options opts;
  tide_loop_options_init(&opts);
  opts.poll_events = 1;
  CHECK_OK(tide_loop_new(&loop, &opts));
  CHECK(loop != NULL);
  CHECK_EQ(0, tide_loop_alive(loop));
  CHECK_OK(tide_loop_close(loop));
  CHECK_RC(TIDE_EINVAL, tide_loop_close(NULL));
  CHECK_RC(TIDE_EINVAL, tide_loop_run(NULL));
  CHECK_RC(TIDE_EINVAL, tide_loop_run_once(NULL, 0));
}

TIDE_TEST(loop, run_without_work_returns_zero_at_once) {
  tide_loop *loop = new_loop();
  int64_t start = wall_ns();
  CHECK_EQ(0, tide_loop_run(loop));
  CHECK(wall_ns() - start < 2000000000); /* generous: it must not block */
  CHECK_OK(tide_loop_close(loop));
}

TIDE_TEST(loop, call_soon_runs_callbacks_in_fifo_order) {
  tide_loop *loop = new_loop();
  struct sequence seq = {{0}, 0};
  struct step steps[10];
  for (int i = 0; i < 10; i++) {
    steps[i] = (struct step){&seq, i};
    CHECK_OK(tide_call_soon(loop, append_step, &steps[i]));
  }
  CHECK_EQ(0, tide_loop_run(loop));
  CHECK_EQ(10, seq.count);
  for (int i = 0; i < 10; i++)
    CHECK_EQ(i, seq.order[i]);
  CHECK_OK(tide_loop_close(loop));
}

struct chain {
  tide_loop *loop;
  int runs;
};

static void schedule_again(void *arg) {
  struct chain *c = arg;
  c->runs++;
  CHECK_OK(tide_call_soon(c->loop, schedule_again, c));
}

TIDE_TEST(loop, callback_scheduled_by_a_callback_runs_in_the_next_tick) {
  tide_loop *loop = new_loop();
  struct chain c = {loop, 0};
  CHECK_OK(tide_call_soon(loop, schedule_again, &c));
  CHECK_EQ(1, tide_loop_run_once(loop, 0));
  CHECK_EQ(1, c.runs);
  CHECK_EQ(1, tide_loop_run_once(loop, 0));
  CHECK_EQ(2, c.runs);
  CHECK_OK(tide_loop_close(loop)); /* the endless chain is cut off and reported by close */
}

static void stop_loop_timer(tide_timer *t, void *arg) {
  (void)t;
  tide_loop_stop(arg);
}

TIDE_TEST(loop, self_rescheduling_callback_does_not_starve_timers) {
  tide_loop *loop = new_loop();
  struct chain c = {loop, 0};
  CHECK_OK(tide_call_soon(loop, schedule_again, &c));
  tide_timer timer;
  CHECK_OK(tide_timer_init(&timer, stop_loop_timer, loop));
  CHECK_OK(tide_timer_start(loop, &timer, 10 * 1000000, 0));
  CHECK_EQ(1, tide_loop_run(loop));
  CHECK(c.runs > 0);
  CHECK_OK(tide_loop_close(loop));
}

TIDE_TEST(loop, ref_holds_the_loop_alive_until_unref) {
  tide_loop *loop = new_loop();
  CHECK_RC(TIDE_EINVAL, tide_loop_unref(loop));
  CHECK_OK(tide_loop_ref(loop));
  CHECK_OK(tide_loop_ref(loop));
  CHECK_EQ(1, tide_loop_alive(loop));
  CHECK_OK(tide_loop_unref(loop));
  CHECK_EQ(1, tide_loop_alive(loop));
  CHECK_OK(tide_loop_unref(loop));
  CHECK_EQ(0, tide_loop_alive(loop));
  CHECK_OK(tide_loop_close(loop));
}

static void stop_from_callback(void *arg) {
  tide_loop_stop(arg);
}

TIDE_TEST(loop, stop_from_a_callback_makes_run_return_one) {
  tide_loop *loop = new_loop();
  CHECK_OK(tide_loop_ref(loop));
  CHECK_OK(tide_call_soon(loop, stop_from_callback, loop));
  CHECK_EQ(1, tide_loop_run(loop));
  CHECK_OK(tide_loop_unref(loop));
  CHECK_OK(tide_loop_close(loop));
}

TIDE_TEST(loop, stop_before_run_returns_after_one_tick) {
  tide_loop *loop = new_loop();
  CHECK_OK(tide_loop_ref(loop));
  struct sequence seq = {{0}, 0};
  struct step step = {&seq, 1};
  CHECK_OK(tide_call_soon(loop, append_step, &step));
  tide_loop_stop(loop);
  CHECK_EQ(1, tide_loop_run(loop));
  CHECK_EQ(1, seq.count);
  CHECK_OK(tide_loop_unref(loop));
  CHECK_OK(tide_loop_close(loop));
}

struct nesting {
  tide_loop *loop;
  int run_rc;
  int once_rc;
  int close_rc;
};

static void try_to_nest(void *arg) {
  struct nesting *n = arg;
  n->run_rc = tide_loop_run(n->loop);
  n->once_rc = tide_loop_run_once(n->loop, 0);
  n->close_rc = tide_loop_close(n->loop);
}

TIDE_TEST(loop, loops_do_not_nest_and_cannot_close_while_running) {
  tide_loop *loop = new_loop();
  struct nesting n = {loop, 0, 0, 0};
  CHECK_OK(tide_call_soon(loop, try_to_nest, &n));
  CHECK_EQ(0, tide_loop_run(loop));
  CHECK_RC(TIDE_EBUSY, n.run_rc);
  CHECK_RC(TIDE_EBUSY, n.once_rc);
  CHECK_RC(TIDE_EBUSY, n.close_rc);
  CHECK_OK(tide_loop_close(loop));
}

struct clock_probe {
  tide_loop *loop;
  int64_t first, second, updated;
};

static void read_clock(void *arg) {
  struct clock_probe *p = arg;
  p->first = tide_now(p->loop);
  sleep_ms(5);
  p->second = tide_now(p->loop);
  p->updated = tide_loop_update_time(p->loop);
}

TIDE_TEST(loop, now_is_cached_per_tick_and_update_time_refreshes_it) {
  tide_loop *loop = new_loop();
  struct clock_probe p = {loop, 0, 0, 0};
  CHECK_OK(tide_call_soon(loop, read_clock, &p));
  CHECK_EQ(0, tide_loop_run(loop));
  CHECK_EQ(p.first, p.second);
  CHECK(p.updated - p.first >= 5 * 1000000);
  CHECK(tide_now(loop) >= p.updated);
  CHECK_OK(tide_loop_close(loop));
}

TIDE_TEST(loop, call_soon_rejects_null_arguments) {
  tide_loop *loop = new_loop();
  CHECK_RC(TIDE_EINVAL, tide_call_soon(NULL, append_step, NULL));
  CHECK_RC(TIDE_EINVAL, tide_call_soon(loop, NULL, NULL));
  CHECK_RC(TIDE_EINVAL, tide_call_soon_threadsafe(NULL, append_step, NULL));
  CHECK_RC(TIDE_EINVAL, tide_call_soon_threadsafe(loop, NULL, NULL));
  CHECK_RC(TIDE_EINVAL, tide_loop_ref(NULL));
  CHECK_RC(TIDE_EINVAL, tide_loop_unref(NULL));
  CHECK_OK(tide_loop_close(loop));
}
