/* tests/conformance/timer_test.c — timers firing through the backend's poll: never before their
 * deadline (which needs the poll timeout rounded up, never down), also for delays that straddle
 * millisecond boundaries, and repeating on schedule. The timer API's bookkeeping (ordering,
 * restart, reset, invalid arguments) is tested once, backend-independently, in tests/timer_test.c.
 *
 * "Not before the deadline" is checked exactly, against the loop's clock and against the OS's
 * monotonic clock (plat_mono_ns, the clock tide reads); any other bound is a generous sanity
 * bound in seconds. */
#include <stdint.h>

#include "platform.h"
#include "timer_util.h"

/* ---- helpers --------------------------------------------------------------------------------- */

static int64_t mono_ns(void) {
  return plat_mono_ns();
}

/* ---- firing time ----------------------------------------------------------------------------- */

TIDE_TEST(timer, never_fires_before_its_deadline) {
  static const int64_t delays[] = {0,       1,       1000,   999999, 1 * MS,
                                   1000001, 1500000, 3 * MS, 7 * MS, 20 * MS};
  enum { N = sizeof delays / sizeof delays[0] };
  log_capture cap;
  tide_loop *loop = new_loop_capturing(&cap);
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
  tide_loop *loop = new_loop_capturing(&cap);
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

TIDE_TEST(timer, repeat_timer_fires_on_schedule_until_stopped) {
  log_capture cap;
  tide_loop *loop = new_loop_capturing(&cap);
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
