/* tests/timer_test.c — the public timer API (tide/timer.h) through a real loop. Firing through
 * the backend's poll (never early, repeating on schedule) is in tests/conformance/timer_test.c.
 *
 * Timing assertions come in two kinds only: "not before the deadline", which tide promises
 * exactly and is checked exactly (against the loop's clock and against CLOCK_MONOTONIC, the
 * clock tide reads), and generous sanity bounds (seconds) that catch a timer that never fires or
 * a loop that hangs, never "fired within N ms". */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <time.h>

#include "timer_util.h"

/* ---- helpers ---------------------------------------------------------------------------- */

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * SECOND_NS + ts.tv_nsec;
}

/* Runs ticks with tide_loop_run_once until no work is left or `max` ticks; returns the count. */
static int run_ticks(tide_loop *loop, int max, int64_t timeout_ns) {
  int n = 0;
  while (n < max) {
    current_tick = n;
    int rc = tide_loop_run_once(loop, timeout_ns);
    CHECK(rc >= 0);
    n++;
    if (rc == 0)
      break;
  }
  return n;
}

/* An order log shared by the callbacks of one test. */
typedef struct order_log {
  int *seen;
  int count;
  int capacity;
} order_log;

static order_log g_order;

static void order_reset(int capacity) {
  free(g_order.seen);
  g_order.seen = calloc((size_t)capacity, sizeof(int));
  CHECK(g_order.seen != NULL);
  g_order.count = 0;
  g_order.capacity = capacity;
}

static void order_free(void) {
  free(g_order.seen);
  g_order = (order_log){NULL, 0, 0};
}

static void order_push(int id) {
  if (g_order.count >= g_order.capacity)
    TIDE_TEST_FAIL("more firings than expected (%d)", g_order.capacity);
  g_order.seen[g_order.count++] = id;
}

/* ---- ordering ----------------------------------------------------------------------------- */

static void log_order_cb(tide_timer *t, void *arg) {
  (void)t;
  order_push((int)(intptr_t)arg);
}

TIDE_TEST(timer, equal_deadlines_fire_in_start_order) {
  enum { N = 64 };
  log_capture cap;
  tide_loop *loop = new_loop_capturing(&cap);
  static tide_timer timers[N];
  order_reset(N);
  /* The cached clock does not move between these starts, so all deadlines are equal. Start in a
   * scrambled index order; the firing order must be the start order. */
  int start_order[N];
  for (int i = 0; i < N; i++)
    start_order[i] = (i * 37) % N; /* 37 is coprime with 64: a permutation */
  for (int k = 0; k < N; k++) {
    int i = start_order[k];
    CHECK_OK(tide_timer_init(&timers[i], log_order_cb, (void *)(intptr_t)i));
    CHECK_OK(tide_timer_start(loop, &timers[i], 2 * MS, 0));
  }
  run_to_completion(loop, 5 * SECOND_NS);
  CHECK_EQ(N, g_order.count);
  for (int k = 0; k < N; k++) {
    if (g_order.seen[k] != start_order[k])
      TIDE_TEST_FAIL("firing %d: expected timer %d, got timer %d", k, start_order[k],
                     g_order.seen[k]);
  }
  order_free();
  close_loop_quietly(loop, &cap);
}

TIDE_TEST(timer, restarting_moves_a_timer_behind_equal_deadlines) {
  log_capture cap;
  tide_loop *loop = new_loop_capturing(&cap);
  tide_timer a, b, c;
  order_reset(3);
  CHECK_OK(tide_timer_init(&a, log_order_cb, (void *)(intptr_t)0));
  CHECK_OK(tide_timer_init(&b, log_order_cb, (void *)(intptr_t)1));
  CHECK_OK(tide_timer_init(&c, log_order_cb, (void *)(intptr_t)2));
  CHECK_OK(tide_timer_start(loop, &a, 1 * MS, 0));
  CHECK_OK(tide_timer_start(loop, &b, 1 * MS, 0));
  CHECK_OK(tide_timer_start(loop, &c, 1 * MS, 0));
  CHECK_OK(tide_timer_start(loop, &a, 1 * MS, 0)); /* restarted: now started last */
  run_to_completion(loop, 5 * SECOND_NS);
  CHECK_EQ(3, g_order.count);
  CHECK_EQ(1, g_order.seen[0]);
  CHECK_EQ(2, g_order.seen[1]);
  CHECK_EQ(0, g_order.seen[2]);
  order_free();
  close_loop_quietly(loop, &cap);
}

/* ---- ticks: no spinning --------------------------------------------------------------------- */

typedef struct chain {
  tide_loop *loop;
  fire_record first;
  fire_record second;
} chain;

static void start_second_from_callback(tide_timer *t, void *arg) {
  chain *c = arg;
  (void)t;
  c->first.fires++;
  c->first.fired_tick = current_tick;
  c->second.loop = c->loop;
  CHECK_OK(tide_timer_init(&c->second.timer, record_fire, &c->second));
  CHECK_OK(tide_timer_start(c->loop, &c->second.timer, 0, 0));
}

TIDE_TEST(timer, zero_delay_timer_started_from_callback_fires_in_a_later_tick) {
  log_capture cap;
  tide_loop *loop = new_loop_capturing(&cap);
  chain c;
  memset(&c, 0, sizeof c);
  c.loop = loop;
  CHECK_OK(tide_timer_init(&c.first.timer, start_second_from_callback, &c));
  CHECK_OK(tide_timer_start(loop, &c.first.timer, 0, 0));
  run_ticks(loop, 100, -1);
  CHECK_EQ(1, c.first.fires);
  CHECK_EQ(1, c.second.fires);
  if (c.second.fired_tick <= c.first.fired_tick)
    TIDE_TEST_FAIL("second timer fired in tick %d, the tick that started it was %d",
                   c.second.fired_tick, c.first.fired_tick);
  close_loop_quietly(loop, &cap);
}

typedef struct self_restart {
  tide_loop *loop;
  tide_timer timer;
  int fires_this_tick;
  int max_per_tick;
  int total;
} self_restart;

static void restart_self(tide_timer *t, void *arg) {
  self_restart *s = arg;
  s->fires_this_tick++;
  s->total++;
  if (s->fires_this_tick > s->max_per_tick)
    s->max_per_tick = s->fires_this_tick;
  if (s->fires_this_tick > 1000)
    TIDE_TEST_FAIL("a self-restarting zero-delay timer is spinning inside one tick");
  CHECK_OK(tide_timer_start(s->loop, t, 0, 0));
}

TIDE_TEST(timer, self_restarting_zero_delay_timer_fires_once_per_tick) {
  log_capture cap;
  tide_loop *loop = new_loop_capturing(&cap);
  self_restart s = {.loop = loop};
  CHECK_OK(tide_timer_init(&s.timer, restart_self, &s));
  CHECK_OK(tide_timer_start(loop, &s.timer, 0, 0));
  for (int tick = 0; tick < 20; tick++) {
    s.fires_this_tick = 0;
    CHECK_RC(1, tide_loop_run_once(loop, 0));
    CHECK_EQ(1, s.fires_this_tick);
  }
  CHECK_EQ(20, s.total);
  CHECK_OK(tide_timer_stop(loop, &s.timer));
  CHECK_RC(0, tide_loop_alive(loop));
  close_loop_quietly(loop, &cap);
}

typedef struct per_tick {
  int fires_this_tick;
  int max_per_tick;
  int total;
} per_tick;

static void count_per_tick(tide_timer *t, void *arg) {
  (void)t;
  per_tick *p = arg;
  p->total++;
  if (++p->fires_this_tick > p->max_per_tick)
    p->max_per_tick = p->fires_this_tick;
  if (p->fires_this_tick > 1000)
    TIDE_TEST_FAIL("a 1 ns repeating timer is spinning inside one tick");
}

TIDE_TEST(timer, tiny_repeat_interval_fires_at_most_once_per_tick) {
  log_capture cap;
  tide_loop *loop = new_loop_capturing(&cap);
  per_tick p = {0, 0, 0};
  tide_timer t;
  CHECK_OK(tide_timer_init(&t, count_per_tick, &p));
  CHECK_OK(tide_timer_start(loop, &t, 0, 1));
  for (int tick = 0; tick < 50; tick++) {
    p.fires_this_tick = 0;
    CHECK_RC(1, tide_loop_run_once(loop, 1 * MS));
  }
  CHECK_EQ(1, p.max_per_tick);
  CHECK(p.total >= 1);
  CHECK_OK(tide_timer_stop(loop, &t));
  close_loop_quietly(loop, &cap);
}

/* ---- stopping from callbacks ------------------------------------------------------------- */

typedef struct stopper {
  tide_loop *loop;
  tide_timer *victims;
  int n_victims;
  int fires[128];
} stopper;

static stopper g_stopper;

static void stop_odd_ones(tide_timer *t, void *arg) {
  int id = (int)(intptr_t)arg;
  g_stopper.fires[id]++;
  (void)t;
  if (id == 0) {
    for (int i = 1; i < g_stopper.n_victims; i += 2)
      CHECK_OK(tide_timer_stop(g_stopper.loop, &g_stopper.victims[i]));
  }
}

TIDE_TEST(timer, callback_stopping_a_timer_due_in_the_same_round_prevents_it) {
  enum { N = 101 };
  log_capture cap;
  tide_loop *loop = new_loop_capturing(&cap);
  static tide_timer timers[N];
  g_stopper = (stopper){.loop = loop, .victims = timers, .n_victims = N};
  /* All due in the same round (equal deadlines); timer 0 fires first and stops every odd one,
   * some of which sit deep in the heap and some right behind it. */
  for (int i = 0; i < N; i++) {
    CHECK_OK(tide_timer_init(&timers[i], stop_odd_ones, (void *)(intptr_t)i));
    CHECK_OK(tide_timer_start(loop, &timers[i], 1 * MS, 0));
  }
  run_to_completion(loop, 5 * SECOND_NS);
  for (int i = 0; i < N; i++) {
    int want = i % 2 == 0 ? 1 : 0;
    if (g_stopper.fires[i] != want)
      TIDE_TEST_FAIL("timer %d fired %d time(s), expected %d", i, g_stopper.fires[i], want);
    CHECK(!tide_timer_is_active(&timers[i]));
  }
  close_loop_quietly(loop, &cap);
}

typedef struct restarter {
  tide_loop *loop;
  tide_timer a;
  fire_record b;
  int restarted_tick;
} restarter;

static void restart_b(tide_timer *t, void *arg) {
  (void)t;
  restarter *r = arg;
  CHECK_EQ(0, r->b.fires); /* a was started first, so it fires first */
  CHECK_OK(tide_timer_stop(r->loop, &r->b.timer));
  CHECK_OK(tide_timer_start(r->loop, &r->b.timer, 0, 0));
  r->restarted_tick = current_tick;
}

TIDE_TEST(timer, callback_restarting_a_due_timer_defers_it_to_a_later_tick) {
  log_capture cap;
  tide_loop *loop = new_loop_capturing(&cap);
  restarter r;
  memset(&r, 0, sizeof r);
  r.loop = loop;
  r.b.loop = loop;
  CHECK_OK(tide_timer_init(&r.a, restart_b, &r));
  CHECK_OK(tide_timer_init(&r.b.timer, record_fire, &r.b));
  CHECK_OK(tide_timer_start(loop, &r.a, 0, 0));
  CHECK_OK(tide_timer_start(loop, &r.b.timer, 0, 0)); /* due in the same round as a */
  run_ticks(loop, 100, -1);
  CHECK_EQ(1, r.b.fires);
  if (r.b.fired_tick <= r.restarted_tick)
    TIDE_TEST_FAIL("b fired in tick %d, restarted in tick %d", r.b.fired_tick, r.restarted_tick);
  close_loop_quietly(loop, &cap);
}

/* ---- repeat and reset ------------------------------------------------------------------- */

TIDE_TEST(timer, repeat_with_huge_interval_does_not_overflow) {
  /* A repeat interval near INT64_MAX means "practically never again"; computing the next
   * deadline must saturate instead of overflowing a signed integer (undefined behaviour, which
   * the sanitizer build turns into a failure). */
  log_capture cap;
  tide_loop *loop = new_loop_capturing(&cap);
  per_tick p = {0, 0, 0};
  tide_timer t;
  CHECK_OK(tide_timer_init(&t, count_per_tick, &p));
  CHECK_OK(tide_timer_start(loop, &t, 0, INT64_MAX));
  for (int tick = 0; tick < 5; tick++)
    CHECK_RC(1, tide_loop_run_once(loop, 0));
  CHECK_EQ(1, p.total);
  CHECK(tide_timer_is_active(&t));
  CHECK_OK(tide_timer_stop(loop, &t));
  /* The same with a one-shot delay near INT64_MAX: armed, never due. */
  CHECK_OK(tide_timer_start(loop, &t, INT64_MAX, 0));
  CHECK_RC(1, tide_loop_run_once(loop, 0));
  CHECK_EQ(1, p.total);
  CHECK_OK(tide_timer_stop(loop, &t));
  close_loop_quietly(loop, &cap);
}

typedef struct idle_conn {
  tide_loop *loop;
  tide_timer idle;     /* the idle timeout */
  tide_timer activity; /* simulated traffic that resets it */
  int activity_count;
  int activity_limit;
  int64_t last_reset_now;
  int idle_fires;
  int64_t idle_fired_now;
  int activity_at_idle;
} idle_conn;

static void on_idle(tide_timer *t, void *arg) {
  (void)t;
  idle_conn *c = arg;
  c->idle_fires++;
  c->idle_fired_now = tide_now(c->loop);
  c->activity_at_idle = c->activity_count;
}

static void on_activity(tide_timer *t, void *arg) {
  idle_conn *c = arg;
  c->activity_count++;
  c->last_reset_now = tide_now(c->loop);
  CHECK_OK(tide_timer_reset(c->loop, &c->idle, 40 * MS));
  if (c->activity_count >= c->activity_limit)
    CHECK_OK(tide_timer_stop(c->loop, t));
}

TIDE_TEST(timer, reset_postpones_the_idle_timeout) {
  log_capture cap;
  tide_loop *loop = new_loop_capturing(&cap);
  idle_conn c;
  memset(&c, 0, sizeof c);
  c.loop = loop;
  c.activity_limit = 6;
  CHECK_OK(tide_timer_init(&c.idle, on_idle, &c));
  CHECK_OK(tide_timer_init(&c.activity, on_activity, &c));
  CHECK_OK(tide_timer_start(loop, &c.idle, 40 * MS, 0));
  CHECK_OK(tide_timer_start(loop, &c.activity, 10 * MS, 10 * MS));
  run_to_completion(loop, 5 * SECOND_NS);
  CHECK_EQ(6, c.activity_count);
  CHECK_EQ(1, c.idle_fires);
  CHECK_EQ(6, c.activity_at_idle); /* it did not fire while traffic kept resetting it */
  if (c.idle_fired_now < c.last_reset_now + 40 * MS)
    TIDE_TEST_FAIL("idle timeout fired %lld ns after the last reset, expected >= 40 ms",
                   (long long)(c.idle_fired_now - c.last_reset_now));
  close_loop_quietly(loop, &cap);
}

TIDE_TEST(timer, reset_keeps_the_repeat_interval) {
  log_capture cap;
  tide_loop *loop = new_loop_capturing(&cap);
  repeat_log r;
  memset(&r, 0, sizeof r);
  r.loop = loop;
  r.stop_after = 3;
  r.active_in_cb = 1;
  CHECK_OK(tide_timer_init(&r.timer, log_repeat, &r));
  tide_loop_update_time(loop);
  int64_t start = tide_now(loop);
  CHECK_OK(tide_timer_start(loop, &r.timer, 1 * MS, 3 * MS));
  CHECK_OK(tide_timer_reset(loop, &r.timer, 10 * MS));
  run_to_completion(loop, 5 * SECOND_NS);
  CHECK_EQ(3, r.fires); /* still repeating after the reset */
  if (r.fired_now[0] < start + 10 * MS)
    TIDE_TEST_FAIL("first firing %lld ns after start: the reset to 10 ms was not applied",
                   (long long)(r.fired_now[0] - start));
  if (r.fired_now[2] < start + 16 * MS)
    TIDE_TEST_FAIL("third firing %lld ns after start, expected >= 16 ms",
                   (long long)(r.fired_now[2] - start));
  close_loop_quietly(loop, &cap);
}

/* ---- stop, validation ------------------------------------------------------------------- */

static void never_called(tide_timer *t, void *arg) {
  (void)t;
  (void)arg;
  TIDE_TEST_FAIL("a timer that should not have fired fired");
}

static void count_fire(tide_timer *t, void *arg) {
  (void)t;
  (*(int *)arg)++;
}

TIDE_TEST(timer, stop_of_an_inactive_timer_is_a_noop) {
  log_capture cap;
  tide_loop *loop = new_loop_capturing(&cap);
  int fired = 0;
  tide_timer t;
  CHECK_OK(tide_timer_init(&t, count_fire, &fired));
  CHECK_OK(tide_timer_stop(loop, &t)); /* never started */
  CHECK(!tide_timer_is_active(&t));
  CHECK_RC(0, tide_loop_alive(loop));
  CHECK_OK(tide_timer_start(loop, &t, 10 * SECOND_NS, 0));
  CHECK_OK(tide_timer_start(loop, &t, 10 * SECOND_NS, 0)); /* restart: still one timer */
  CHECK_RC(1, tide_loop_alive(loop));
  CHECK_OK(tide_timer_stop(loop, &t));
  CHECK_OK(tide_timer_stop(loop, &t));
  CHECK_OK(tide_timer_stop(loop, &t));
  CHECK(!tide_timer_is_active(&t));
  /* Repeated stops must not have driven the keep-alive count below zero (it would wrap and keep
   * the loop "alive" forever). */
  CHECK_RC(0, tide_loop_alive(loop));
  CHECK_OK(tide_timer_start(loop, &t, 0, 0));
  run_to_completion(loop, 5 * SECOND_NS);
  CHECK_EQ(1, fired);
  CHECK_OK(tide_timer_stop(loop, &t)); /* after it fired */
  CHECK_RC(0, tide_loop_alive(loop));
  close_loop_quietly(loop, &cap);
}

TIDE_TEST(timer, stop_before_the_deadline_prevents_firing) {
  log_capture cap;
  tide_loop *loop = new_loop_capturing(&cap);
  tide_timer t;
  CHECK_OK(tide_timer_init(&t, never_called, NULL));
  CHECK_OK(tide_timer_start(loop, &t, 0, 0));
  CHECK_OK(tide_timer_stop(loop, &t));
  run_to_completion(loop, 5 * SECOND_NS);
  close_loop_quietly(loop, &cap);
}

TIDE_TEST(timer, invalid_arguments_give_einval) {
  log_capture cap;
  tide_loop *loop = new_loop_capturing(&cap);
  tide_timer t;
  CHECK_RC(TIDE_EINVAL, tide_timer_init(NULL, never_called, NULL));
  CHECK_RC(TIDE_EINVAL, tide_timer_init(&t, NULL, NULL));
  CHECK_OK(tide_timer_init(&t, never_called, NULL));
  CHECK_RC(TIDE_EINVAL, tide_timer_start(NULL, &t, 0, 0));
  CHECK_RC(TIDE_EINVAL, tide_timer_start(loop, NULL, 0, 0));
  CHECK_RC(TIDE_EINVAL, tide_timer_start(loop, &t, -1, 0));
  CHECK_RC(TIDE_EINVAL, tide_timer_start(loop, &t, 0, -1));
  CHECK_RC(TIDE_EINVAL, tide_timer_start(loop, &t, INT64_MIN, 0));
  CHECK_RC(TIDE_EINVAL, tide_timer_reset(NULL, &t, 0));
  CHECK_RC(TIDE_EINVAL, tide_timer_reset(loop, NULL, 0));
  CHECK_RC(TIDE_EINVAL, tide_timer_reset(loop, &t, -1));
  CHECK_RC(TIDE_EINVAL, tide_timer_stop(NULL, &t));
  CHECK_RC(TIDE_EINVAL, tide_timer_stop(loop, NULL));
  CHECK_RC(TIDE_EINVAL, tide_timer_set_keepalive(NULL, &t, 0));
  CHECK_RC(TIDE_EINVAL, tide_timer_set_keepalive(loop, NULL, 0));
  CHECK(!tide_timer_is_active(NULL));
  CHECK(!tide_timer_is_active(&t)); /* none of the failed calls armed it */
  CHECK_RC(0, tide_loop_alive(loop));

  /* A failed restart leaves an active timer as it was. */
  CHECK_OK(tide_timer_start(loop, &t, 10 * SECOND_NS, 0));
  CHECK_RC(TIDE_EINVAL, tide_timer_start(loop, &t, -5, 0));
  CHECK_RC(TIDE_EINVAL, tide_timer_reset(loop, &t, -5));
  CHECK(tide_timer_is_active(&t));
  CHECK_OK(tide_timer_stop(loop, &t));

  tide_future *f = NULL;
  CHECK_RC(TIDE_EINVAL, tide_sleep_future(NULL, 0, &f));
  CHECK_RC(TIDE_EINVAL, tide_sleep_future(loop, 0, NULL));
  CHECK_RC(TIDE_EINVAL, tide_sleep_future(loop, -1, &f));
  CHECK(f == NULL);
  CHECK_RC(0, tide_loop_alive(loop));
  close_loop_quietly(loop, &cap);
}

TIDE_TEST(timer, uninitialised_timer_gives_einval) {
  log_capture cap;
  tide_loop *loop = new_loop_capturing(&cap);
  tide_timer *t = calloc(1, sizeof *t); /* zero-filled, never passed to tide_timer_init */
  CHECK(t != NULL);
  CHECK_RC(TIDE_EINVAL, tide_timer_start(loop, t, 0, 0));
  CHECK_RC(TIDE_EINVAL, tide_timer_reset(loop, t, 0));
  CHECK_RC(TIDE_EINVAL, tide_timer_stop(loop, t));
  CHECK_RC(TIDE_EINVAL, tide_timer_set_keepalive(loop, t, 0));
  CHECK(!tide_timer_is_active(t));
  CHECK_RC(0, tide_loop_alive(loop));
  run_to_completion(loop, 5 * SECOND_NS);
  /* Once initialised it works. */
  CHECK_OK(tide_timer_init(t, never_called, NULL));
  CHECK_OK(tide_timer_start(loop, t, SECOND_NS, 0));
  CHECK_OK(tide_timer_stop(loop, t));
  free(t);
  close_loop_quietly(loop, &cap);
}

TIDE_TEST(timer, init_of_an_inactive_timer_replaces_its_callback) {
  log_capture cap;
  tide_loop *loop = new_loop_capturing(&cap);
  int first = 0, second = 0;
  tide_timer t;
  CHECK_OK(tide_timer_init(&t, count_fire, &first));
  CHECK_OK(tide_timer_start(loop, &t, 1 * MS, 0));
  run_to_completion(loop, 5 * SECOND_NS);
  CHECK_EQ(1, first);
  CHECK_OK(tide_timer_init(&t, count_fire, &second)); /* inactive after firing: allowed */
  CHECK(!tide_timer_is_active(&t));
  CHECK_OK(tide_timer_start(loop, &t, 0, 0));
  run_to_completion(loop, 5 * SECOND_NS);
  CHECK_EQ(1, first);
  CHECK_EQ(1, second);
  close_loop_quietly(loop, &cap);
}

TIDE_TEST(timer, timer_active_on_another_loop_gives_einval) {
  log_capture cap_a, cap_b;
  tide_loop *a = new_loop_capturing(&cap_a);
  tide_loop *b = new_loop_capturing(&cap_b);
  /* Loop b has timers of its own, so the stray timer's index is in range of b's heap. */
  enum { NB = 8 };
  tide_timer others[NB];
  for (int i = 0; i < NB; i++) {
    CHECK_OK(tide_timer_init(&others[i], never_called, NULL));
    CHECK_OK(tide_timer_start(b, &others[i], 10 * SECOND_NS, 0));
  }
  int fired = 0;
  tide_timer t;
  CHECK_OK(tide_timer_init(&t, count_fire, &fired));
  CHECK_OK(tide_timer_start(a, &t, 1 * MS, 0));
  CHECK_RC(TIDE_EINVAL, tide_timer_stop(b, &t));
  CHECK_RC(TIDE_EINVAL, tide_timer_reset(b, &t, 0));
  CHECK_RC(TIDE_EINVAL, tide_timer_start(b, &t, 0, 0));
  CHECK_RC(TIDE_EINVAL, tide_timer_set_keepalive(b, &t, 0));
  CHECK(tide_timer_is_active(&t));
  /* Neither loop was disturbed: t fires on a, b's timers are all still there. */
  run_to_completion(a, 5 * SECOND_NS);
  CHECK_EQ(1, fired);
  for (int i = 0; i < NB; i++)
    CHECK(tide_timer_is_active(&others[i]));
  /* Inactive again, it may be armed on the other loop. */
  CHECK_OK(tide_timer_start(b, &t, 0, 0));
  for (int i = 0; i < NB; i++)
    CHECK_OK(tide_timer_stop(b, &others[i]));
  run_to_completion(b, 5 * SECOND_NS);
  CHECK_EQ(2, fired);
  close_loop_quietly(a, &cap_a);
  close_loop_quietly(b, &cap_b);
}

/* ---- keep-alive ------------------------------------------------------------------------- */

TIDE_TEST(timer, keepalive_zero_lets_run_return) {
  log_capture cap;
  tide_loop *loop = new_loop_capturing(&cap);
  tide_timer t;
  CHECK_OK(tide_timer_init(&t, never_called, NULL));
  CHECK_OK(tide_timer_start(loop, &t, 10 * SECOND_NS, 0));
  CHECK_RC(1, tide_loop_alive(loop));
  CHECK_OK(tide_timer_set_keepalive(loop, &t, 0));
  CHECK_OK(tide_timer_set_keepalive(loop, &t, 0)); /* twice: still counted once */
  CHECK_RC(0, tide_loop_alive(loop));
  run_to_completion(loop, 2 * SECOND_NS); /* returns at once, not after 10 s */
  CHECK(tide_timer_is_active(&t));
  CHECK_OK(tide_timer_set_keepalive(loop, &t, 1));
  CHECK_RC(1, tide_loop_alive(loop));
  CHECK_OK(tide_timer_set_keepalive(loop, &t, 0));
  CHECK_OK(tide_timer_stop(loop, &t));
  CHECK_RC(0, tide_loop_alive(loop));
  /* Chosen before arming, it applies to the arming. */
  CHECK_OK(tide_timer_start(loop, &t, 10 * SECOND_NS, 5 * SECOND_NS));
  CHECK_RC(0, tide_loop_alive(loop));
  CHECK_OK(tide_timer_stop(loop, &t));
  close_loop_quietly(loop, &cap);
}

TIDE_TEST(timer, housekeeping_timer_runs_while_other_work_keeps_the_loop) {
  log_capture cap;
  tide_loop *loop = new_loop_capturing(&cap);
  int housekeeping = 0;
  tide_timer hk;
  CHECK_OK(tide_timer_init(&hk, count_fire, &housekeeping));
  CHECK_OK(tide_timer_set_keepalive(loop, &hk, 0)); /* set while inactive */
  CHECK_OK(tide_timer_start(loop, &hk, 1 * MS, 1 * MS));
  fire_record work;
  memset(&work, 0, sizeof work);
  start_record(loop, &work, 30 * MS, 0);
  run_to_completion(loop, 5 * SECOND_NS);
  CHECK_EQ(1, work.fires);
  CHECK(housekeeping >= 1);
  CHECK(tide_timer_is_active(&hk)); /* it repeats, but did not keep the loop running */
  CHECK_OK(tide_timer_stop(loop, &hk));
  close_loop_quietly(loop, &cap);
}

/* ---- timer futures ------------------------------------------------------------------------ */

typedef struct sleep_watch {
  tide_loop *loop;
  int calls;
  int rc;
  void *value;
  int64_t done_now;
} sleep_watch;

static void on_sleep_done(tide_future *f, void *arg) {
  sleep_watch *w = arg;
  w->calls++;
  w->value = (void *)&w->value; /* sentinel: overwritten by a resolved result */
  w->rc = tide_future_result(f, &w->value);
  w->done_now = tide_now(w->loop);
}

TIDE_TEST(timer, sleep_future_resolves_after_its_delay) {
  log_capture cap;
  tide_loop *loop = new_loop_capturing(&cap);
  sleep_watch w = {.loop = loop};
  tide_loop_update_time(loop);
  int64_t start = tide_now(loop);
  tide_future *f = NULL;
  CHECK_OK(tide_sleep_future(loop, 5 * MS, &f));
  CHECK(f != NULL);
  CHECK(!tide_future_done(f));
  CHECK_OK(tide_future_on_done(f, on_sleep_done, &w));
  run_to_completion(loop, 5 * SECOND_NS);
  CHECK_EQ(1, w.calls);
  CHECK_RC(0, w.rc);
  CHECK(w.value == NULL);
  if (w.done_now < start + 5 * MS)
    TIDE_TEST_FAIL("sleep future settled %lld ns before its deadline",
                   (long long)(start + 5 * MS - w.done_now));
  CHECK_EQ(TIDE_FUTURE_RESOLVED, tide_future_state_of(f));
  CHECK_RC(TIDE_EALREADY, tide_future_cancel(f));
  tide_future_release(f);
  close_loop_quietly(loop, &cap);
}

TIDE_TEST(timer, sleep_futures_settle_in_deadline_order) {
  enum { N = 5 };
  static const int64_t delays[N] = {4 * MS, 1 * MS, 3 * MS, 1 * MS, 0};
  log_capture cap;
  tide_loop *loop = new_loop_capturing(&cap);
  sleep_watch w[N];
  tide_future *f[N];
  memset(w, 0, sizeof w);
  for (int i = 0; i < N; i++) {
    w[i].loop = loop;
    CHECK_OK(tide_sleep_future(loop, delays[i], &f[i]));
    CHECK_OK(tide_future_on_done(f[i], on_sleep_done, &w[i]));
  }
  run_to_completion(loop, 5 * SECOND_NS);
  for (int i = 0; i < N; i++) {
    CHECK_EQ(1, w[i].calls);
    CHECK_RC(0, w[i].rc);
    for (int j = 0; j < N; j++) {
      if (delays[i] < delays[j] && w[i].done_now > w[j].done_now)
        TIDE_TEST_FAIL("sleep %d (%lld ns) settled after sleep %d (%lld ns)", i,
                       (long long)delays[i], j, (long long)delays[j]);
    }
    tide_future_release(f[i]);
  }
  close_loop_quietly(loop, &cap);
}

TIDE_TEST(timer, sleep_future_cancel_gives_ecanceled_and_releases_the_loop) {
  log_capture cap;
  tide_loop *loop = new_loop_capturing(&cap);
  sleep_watch w = {.loop = loop};
  tide_future *f = NULL;
  CHECK_OK(tide_sleep_future(loop, 10 * SECOND_NS, &f));
  CHECK_OK(tide_future_on_done(f, on_sleep_done, &w));
  CHECK_RC(1, tide_loop_alive(loop));
  CHECK_OK(tide_future_cancel(f));
  CHECK_EQ(TIDE_FUTURE_CANCELLED, tide_future_state_of(f));
  CHECK_RC(TIDE_ECANCELED, tide_future_result(f, NULL));
  CHECK_RC(TIDE_EALREADY, tide_future_cancel(f));
  /* The timer no longer keeps the loop alive: run returns promptly, not after 10 s. The only
   * work left is the done-callback. */
  run_to_completion(loop, 2 * SECOND_NS);
  CHECK_EQ(1, w.calls);
  CHECK_RC(TIDE_ECANCELED, w.rc);
  CHECK_RC(0, tide_loop_alive(loop));
  tide_future_release(f);
  close_loop_quietly(loop, &cap);
}

TIDE_TEST(timer, sleep_future_released_unawaited_still_fires_and_frees) {
  log_capture cap;
  tide_loop *loop = new_loop_capturing(&cap);
  tide_future *f = NULL;
  CHECK_OK(tide_sleep_future(loop, 1 * MS, &f));
  tide_future_release(f); /* the producer keeps its own reference until it fires */
  CHECK_RC(1, tide_loop_alive(loop));
  run_to_completion(loop, 5 * SECOND_NS);
  CHECK_RC(0, tide_loop_alive(loop));
  close_loop_quietly(loop, &cap); /* no "future never released" report */
}

TIDE_TEST(timer, close_cancels_a_pending_sleep_future) {
  log_capture cap;
  tide_loop *loop = new_loop_capturing(&cap);
  sleep_watch w = {.loop = loop};
  tide_future *f = NULL;
  CHECK_OK(tide_sleep_future(loop, 10 * SECOND_NS, &f));
  CHECK_OK(tide_future_on_done(f, on_sleep_done, &w));
  tide_future_release(f);
  close_loop_quietly(loop, &cap);
  CHECK_EQ(1, w.calls);
  CHECK_RC(TIDE_ECANCELED, w.rc);
}

TIDE_TEST(timer, close_after_sleep_future_settled_by_its_owner_returns) {
  /* tide_future_resolve accepts any pending future, including a timer future. Settling it by
   * hand leaves its timer armed; tide_loop_close must still disarm that timer and return,
   * instead of asking a settled future to cancel over and over (a hang: CTest's timeout then
   * fails the test). */
  log_capture cap;
  tide_loop *loop = new_loop_capturing(&cap);
  tide_future *f = NULL;
  CHECK_OK(tide_sleep_future(loop, 10 * SECOND_NS, &f));
  CHECK_OK(tide_future_resolve(f, NULL));
  tide_future_release(f);
  close_loop_quietly(loop, &cap); /* and nothing to report: the future was released */
}

/* ---- many timers -------------------------------------------------------------------------- */

typedef struct many {
  tide_loop *loop;
  int64_t start_now;
  int64_t *deadline_of;
  uint64_t *seq_of; /* the order in which each was (last) started */
  char *stopped;
  int *fired_order;
  size_t fired;
  size_t early;
} many;

static many g_many;

static void many_fire(tide_timer *t, void *arg) {
  (void)t;
  size_t i = (size_t)(uintptr_t)arg;
  if (tide_now(g_many.loop) < g_many.deadline_of[i])
    g_many.early++;
  g_many.fired_order[g_many.fired++] = (int)i;
}

TIDE_TEST(timer, many_random_timers_all_fire_in_deadline_order) {
  enum { N = 100000 };
  log_capture cap;
  tide_loop *loop = new_loop_capturing(&cap);
  tide_timer *timers = calloc(N, sizeof *timers);
  g_many = (many){.loop = loop};
  g_many.deadline_of = calloc(N, sizeof *g_many.deadline_of);
  g_many.seq_of = calloc(N, sizeof *g_many.seq_of);
  g_many.stopped = calloc(N, 1);
  g_many.fired_order = calloc(N, sizeof *g_many.fired_order);
  CHECK(timers && g_many.deadline_of && g_many.seq_of && g_many.stopped && g_many.fired_order);
  tide_loop_update_time(loop);
  int64_t now = tide_now(loop); /* the cached clock does not move while we start them */
  uint64_t rng = 0x1de;
  uint64_t seq = 0;
  for (size_t i = 0; i < N; i++) {
    rng = rng * 6364136223846793005u + 1442695040888963407u;
    /* 20 ms range in 10 us steps: plenty of equal deadlines. */
    int64_t delay = (int64_t)((rng >> 33) % 2000) * 10000;
    CHECK_OK(tide_timer_init(&timers[i], many_fire, (void *)(uintptr_t)i));
    CHECK_OK(tide_timer_start(loop, &timers[i], delay, 0));
    g_many.deadline_of[i] = now + delay;
    g_many.seq_of[i] = seq++;
  }
  /* Stop one in ten and reset another one in ten to a new delay: reset timers count as started
   * last among equal deadlines. */
  size_t expected = N;
  for (size_t i = 0; i < N; i += 10) {
    CHECK_OK(tide_timer_stop(loop, &timers[i]));
    g_many.stopped[i] = 1;
    expected--;
  }
  for (size_t i = 5; i < N; i += 10) {
    rng = rng * 6364136223846793005u + 1442695040888963407u;
    int64_t delay = (int64_t)((rng >> 33) % 2000) * 10000;
    CHECK_OK(tide_timer_reset(loop, &timers[i], delay));
    g_many.deadline_of[i] = now + delay;
    g_many.seq_of[i] = seq++;
  }
  CHECK_EQ(now, tide_now(loop));
  run_to_completion(loop, 10 * SECOND_NS);
  CHECK_EQ(expected, g_many.fired);
  CHECK_EQ(0, g_many.early);
  for (size_t k = 0; k < g_many.fired; k++) {
    int i = g_many.fired_order[k];
    if (g_many.stopped[i])
      TIDE_TEST_FAIL("stopped timer %d fired", i);
    if (k == 0)
      continue;
    int p = g_many.fired_order[k - 1];
    int64_t dp = g_many.deadline_of[p], di = g_many.deadline_of[i];
    if (di < dp || (di == dp && g_many.seq_of[i] < g_many.seq_of[p]))
      TIDE_TEST_FAIL("firing %zu: timer %d (deadline +%lld, start #%llu) fired after timer %d "
                     "(deadline +%lld, start #%llu)",
                     k, i, (long long)(di - now), (unsigned long long)g_many.seq_of[i], p,
                     (long long)(dp - now), (unsigned long long)g_many.seq_of[p]);
  }
  free(timers);
  free(g_many.deadline_of);
  free(g_many.seq_of);
  free(g_many.stopped);
  free(g_many.fired_order);
  close_loop_quietly(loop, &cap);
}
