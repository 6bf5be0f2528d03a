/* tests/conformance/timer_test.c — timers firing through the backend's poll: never before their
 * deadline (which needs the poll timeout rounded up, never down), also for delays that straddle
 * millisecond boundaries, and repeating on schedule. The timer API's bookkeeping (ordering,
 * restart, reset, invalid arguments) is tested once, backend-independently, in tests/timer_test.c.
 *
 * "Not before the deadline" is checked exactly, against the loop's clock and against the OS's
 * monotonic clock (plat_mono_ns, the clock tide reads); any other bound is a generous sanity
 * bound in seconds. */
#include <stdint.h>

#include "harness.h"
#include "platform.h"

enum { MS = 1000000 };
#define SECOND_NS INT64_C(1000000000)

/* ---- helpers --------------------------------------------------------------------------------- */

static int64_t mono_ns(void) {
  return plat_mono_ns();
}

/* Counts what the loop reports, so that a test can assert it reported nothing (or something). */
typedef struct log_capture {
  int warnings;
  char last[512];
} log_capture;

static void capture_log(void *user, tide_log_level level, const char *message) {
  log_capture *c = user;
  if (level >= TIDE_LOG_WARN)
    c->warnings++;
  snprintf(c->last, sizeof c->last, "%s", message);
}

static tide_loop *new_loop(log_capture *cap) {
  tide_loop_options opts;
  tide_loop_options_init(&opts);
  if (cap != NULL) {
    memset(cap, 0, sizeof *cap);
    opts.log = capture_log;
    opts.log_user = cap;
  }
  tide_loop *loop = NULL;
  CHECK_OK(tide_loop_new(&loop, &opts));
  CHECK(loop != NULL);
  return loop;
}

static void close_loop_quietly(tide_loop *loop, const log_capture *cap) {
  CHECK_OK(tide_loop_close(loop));
  if (cap != NULL && cap->warnings != 0)
    TIDE_TEST_FAIL("the loop reported %d warning(s) at close, last: %s", cap->warnings, cap->last);
}

/* Runs tide_loop_run and checks it ran out of work within a sanity bound. */
static void run_to_completion(tide_loop *loop, int64_t bound_ns) {
  int64_t t0 = mono_ns();
  CHECK_RC(0, tide_loop_run(loop));
  int64_t took = mono_ns() - t0;
  if (took > bound_ns)
    TIDE_TEST_FAIL("tide_loop_run took %lld ms, sanity bound %lld ms", (long long)(took / MS),
                   (long long)(bound_ns / MS));
}

/* The current tick number, for callbacks to record when they ran (0 here: the tests below run
 * whole loops, not single ticks). */
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

static void record_fire(tide_timer *t, void *arg) {
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

static void start_record(tide_loop *loop, fire_record *r, int64_t delay, int64_t repeat) {
  r->loop = loop;
  r->delay = delay;
  CHECK_OK(tide_timer_init(&r->timer, record_fire, r));
  r->start_now = tide_now(loop);
  CHECK_OK(tide_timer_start(loop, &r->timer, delay, repeat));
  CHECK(tide_timer_is_active(&r->timer));
}

static void check_not_early(const fire_record *r, int64_t deadline) {
  if (r->fired_now < deadline)
    TIDE_TEST_FAIL("timer fired %lld ns early by the loop clock (deadline %lld, now %lld)",
                   (long long)(deadline - r->fired_now), (long long)deadline,
                   (long long)r->fired_now);
  if (r->fired_mono < deadline)
    TIDE_TEST_FAIL("timer fired %lld ns early by CLOCK_MONOTONIC (deadline %lld, clock %lld)",
                   (long long)(deadline - r->fired_mono), (long long)deadline,
                   (long long)r->fired_mono);
}

/* ---- firing time ----------------------------------------------------------------------------- */

TIDE_TEST(timer, never_fires_before_its_deadline) {
  static const int64_t delays[] = {0,       1,       1000,   999999, 1 * MS,
                                   1000001, 1500000, 3 * MS, 7 * MS, 20 * MS};
  enum { N = sizeof delays / sizeof delays[0] };
  log_capture cap;
  tide_loop *loop = new_loop(&cap);
  fire_record r[N];
  memset(r, 0, sizeof r);
  tide_loop_update_time(loop);
  for (int i = 0; i < N; i++)
    start_record(loop, &r[i], delays[i], 0);
  run_to_completion(loop, 5 * SECOND_NS);
  for (int i = 0; i < N; i++) {
    CHECK_EQ(1, r[i].fires);
    check_not_early(&r[i], r[i].start_now + delays[i]);
    CHECK_EQ(0, r[i].was_active); /* a one-shot timer is inactive during its callback */
  }
  close_loop_quietly(loop, &cap);
}

TIDE_TEST(timer, random_short_delays_never_fire_early) {
  /* Started at different moments (the clock moves between rounds), with delays that straddle
   * millisecond boundaries where a rounding error in the poll timeout would show. */
  log_capture cap;
  tide_loop *loop = new_loop(&cap);
  uint64_t rng = 0x5eed;
  for (int round = 0; round < 20; round++) {
    enum { N = 8 };
    fire_record r[N];
    memset(r, 0, sizeof r);
    for (int i = 0; i < N; i++) {
      rng = rng * 6364136223846793005u + 1442695040888963407u;
      int64_t delay = (int64_t)((rng >> 33) % (3 * MS));
      tide_loop_update_time(loop);
      start_record(loop, &r[i], delay, 0);
    }
    run_to_completion(loop, 5 * SECOND_NS);
    for (int i = 0; i < N; i++) {
      CHECK_EQ(1, r[i].fires);
      check_not_early(&r[i], r[i].start_now + r[i].delay);
    }
  }
  close_loop_quietly(loop, &cap);
}

/* ---- repeat ---------------------------------------------------------------------------------- */

typedef struct repeat_log {
  tide_loop *loop;
  tide_timer timer;
  int64_t fired_now[16];
  int fires;
  int stop_after;
  int active_in_cb;
} repeat_log;

static void log_repeat(tide_timer *t, void *arg) {
  repeat_log *r = arg;
  if (r->fires < 16)
    r->fired_now[r->fires] = tide_now(r->loop);
  r->fires++;
  r->active_in_cb &= tide_timer_is_active(t);
  if (r->fires >= r->stop_after)
    CHECK_OK(tide_timer_stop(r->loop, t));
}

TIDE_TEST(timer, repeat_timer_fires_on_schedule_until_stopped) {
  log_capture cap;
  tide_loop *loop = new_loop(&cap);
  repeat_log r;
  memset(&r, 0, sizeof r);
  r.loop = loop;
  r.stop_after = 5;
  r.active_in_cb = 1;
  CHECK_OK(tide_timer_init(&r.timer, log_repeat, &r));
  tide_loop_update_time(loop);
  int64_t start = tide_now(loop);
  CHECK_OK(tide_timer_start(loop, &r.timer, 1 * MS, 2 * MS));
  run_to_completion(loop, 5 * SECOND_NS);
  CHECK_EQ(5, r.fires);
  CHECK_EQ(1, r.active_in_cb); /* a repeating timer stays active during its callback */
  CHECK(!tide_timer_is_active(&r.timer));
  for (int k = 0; k < 5; k++) {
    int64_t deadline = start + 1 * MS + (int64_t)k * 2 * MS;
    if (r.fired_now[k] < deadline)
      TIDE_TEST_FAIL("firing %d came %lld ns before its deadline", k,
                     (long long)(deadline - r.fired_now[k]));
  }
  close_loop_quietly(loop, &cap);
}
