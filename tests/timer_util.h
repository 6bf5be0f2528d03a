/* tests/timer_util.h — what the timer tests (tests/timer_test.c, tests/conformance/timer_test.c)
 * share: time units, a sanity-bounded run, and records of timers' firings.
 *
 * The including file defines `static int64_t mono_ns(void)`: the OS's monotonic clock (the one
 * tide reads), read directly rather than through tide so that "not before the deadline" is
 * checked against something tide cannot get wrong. */
#ifndef TIDE_TESTS_TIMER_UTIL_H
#define TIDE_TESTS_TIMER_UTIL_H

#include <stdint.h>
#include <string.h>

#include "harness.h"
#include "log_capture.h"

enum { MS = 1000000 };
#define SECOND_NS INT64_C(1000000000)

static int64_t mono_ns(void);

/* Runs tide_loop_run and checks it ran out of work within a sanity bound. */
static inline void run_to_completion(tide_loop *loop, int64_t bound_ns) {
  int64_t t0 = mono_ns();
  CHECK_RC(0, tide_loop_run(loop));
  int64_t took = mono_ns() - t0;
  if (took > bound_ns)
    TIDE_TEST_FAIL("tide_loop_run took %lld ms, sanity bound %lld ms", (long long)(took / MS),
                   (long long)(bound_ns / MS));
}

/* The current tick number, for callbacks to record when they ran (tests that run single ticks
 * advance it; those that run whole loops leave it 0). */
static int current_tick;

/* A record of one timer's firings. */
typedef struct fire_record {
  tide_loop *loop;
  tide_timer timer;
  int64_t delay;     /* as passed to start */
  int64_t start_now; /* tide_now when it was started */
  int fires;
  int64_t fired_now;  /* tide_now at the last firing */
  int64_t fired_mono; /* CLOCK_MONOTONIC at the last firing */
  int fired_tick;     /* current_tick at the last firing */
  int was_active;     /* tide_timer_is_active inside the callback */
  int stop_after;     /* > 0: stop the timer from its callback after this many firings */
} fire_record;

static inline void record_fire(tide_timer *t, void *arg) {
  fire_record *r = arg;
  CHECK(t == &r->timer);
  r->fires++;
  r->fired_now = tide_now(r->loop);
  r->fired_mono = mono_ns();
  r->fired_tick = current_tick;
  r->was_active = tide_timer_is_active(t);
  if (r->stop_after > 0 && r->fires >= r->stop_after)
    CHECK_OK(tide_timer_stop(r->loop, t));
}

static inline void start_record(tide_loop *loop, fire_record *r, int64_t delay, int64_t repeat) {
  r->loop = loop;
  r->delay = delay;
  CHECK_OK(tide_timer_init(&r->timer, record_fire, r));
  r->start_now = tide_now(loop);
  CHECK_OK(tide_timer_start(loop, &r->timer, delay, repeat));
  CHECK(tide_timer_is_active(&r->timer));
}

/* Fails the test if the record's last firing came before `deadline`, by either clock. */
static inline void check_not_early(const fire_record *r, int64_t deadline) {
  if (r->fired_now < deadline)
    TIDE_TEST_FAIL("timer fired %lld ns early by the loop clock (deadline %lld, now %lld)",
                   (long long)(deadline - r->fired_now), (long long)deadline,
                   (long long)r->fired_now);
  if (r->fired_mono < deadline)
    TIDE_TEST_FAIL("timer fired %lld ns early by CLOCK_MONOTONIC (deadline %lld, clock %lld)",
                   (long long)(deadline - r->fired_mono), (long long)deadline,
                   (long long)r->fired_mono);
}

/* A record of a repeating timer's first 16 firings; it stops itself after `stop_after`. */
typedef struct repeat_log {
  tide_loop *loop;
  tide_timer timer;
  int64_t fired_now[16];
  int fires;
  int stop_after;
  int active_in_cb;
} repeat_log;

static inline void log_repeat(tide_timer *t, void *arg) {
  repeat_log *r = arg;
  if (r->fires < 16)
    r->fired_now[r->fires] = tide_now(r->loop);
  r->fires++;
  r->active_in_cb &= tide_timer_is_active(t);
  if (r->fires >= r->stop_after)
    CHECK_OK(tide_timer_stop(r->loop, t));
}

#endif
