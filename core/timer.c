/* core/timer.c — caller-owned timers, timer futures, and the loop's firing step.
 *
 * Firing uses the heap's sequence numbers to keep the "no spin" promise without a side list: a
 * round fires only timers whose sequence is older than the round, so a callback that arms a
 * zero-delay timer (or a repeating timer re-armed by the round itself) waits for the next tick,
 * and a callback may stop any other timer, including one due in the same round, safely. */
#include <stdint.h>

#include "core/future_internal.h"
#include "core/loop_internal.h"
#include "tide/error.h"

/* private_flags: a marker that tide_timer_init ran, and two option bits. */
#define TIMER_MAGIC 0x71de0000u
#define TIMER_MAGIC_MASK 0xffff0000u
#define TIMER_NO_KEEPALIVE (1u << 0)
#define TIMER_INTERNAL (1u << 1) /* belongs to a timer future (sleep_op) */

static int is_initialised(const tide_timer *t) {
  return (t->private_flags & TIMER_MAGIC_MASK) == TIMER_MAGIC;
}

static int keeps_alive(const tide_timer *t) {
  return !(t->private_flags & TIMER_NO_KEEPALIVE);
}

int tide_timer_init(tide_timer *timer, tide_timer_fn cb, void *arg) {
  /* The struct is not read: it is typically fresh, uninitialised memory. */
  if (timer == NULL || cb == NULL)
    return TIDE_EINVAL;
  timer->private_cb = cb;
  timer->private_arg = arg;
  timer->private_repeat_ns = 0;
  timer->private_heap_index = TIDE__TIMER_INACTIVE;
  timer->private_flags = TIMER_MAGIC;
  return 0;
}

int tide_timer_is_active(const tide_timer *timer) {
  return timer != NULL && is_initialised(timer) &&
         timer->private_heap_index != TIDE__TIMER_INACTIVE;
}

static int64_t deadline_after(const tide_loop *loop, int64_t delay_ns) {
  return delay_ns > INT64_MAX - loop->now ? INT64_MAX : loop->now + delay_ns;
}

/* Validates a timer handed to a public function: initialised, and if active then on this loop. */
static int check(const tide_loop *loop, const tide_timer *timer) {
  if (loop == NULL || timer == NULL || !is_initialised(timer))
    return TIDE_EINVAL;
  if (timer->private_heap_index != TIDE__TIMER_INACTIVE &&
      !tide__timer_heap_contains(&loop->timers, timer))
    return TIDE_EINVAL;
  return 0;
}

static int arm(tide_loop *loop, tide_timer *timer, int64_t delay_ns) {
  int64_t deadline = deadline_after(loop, delay_ns);
  uint64_t seq = loop->timer_seq++;
  if (timer->private_heap_index != TIDE__TIMER_INACTIVE) {
    tide__timer_heap_update(&loop->timers, timer, deadline, seq);
    return 0;
  }
  int err = tide__timer_heap_insert(&loop->timers, timer, deadline, seq);
  if (err == 0 && keeps_alive(timer))
    loop->keepalive_timers++;
  return err;
}

static void disarm(tide_loop *loop, tide_timer *timer) {
  tide__timer_heap_remove(&loop->timers, timer);
  if (keeps_alive(timer))
    loop->keepalive_timers--;
}

int tide_timer_start(tide_loop *loop, tide_timer *timer, int64_t delay_ns, int64_t repeat_ns) {
  int err = check(loop, timer);
  if (err != 0)
    return err;
  if (delay_ns < 0 || repeat_ns < 0)
    return TIDE_EINVAL;
  timer->private_repeat_ns = repeat_ns;
  return arm(loop, timer, delay_ns);
}

int tide_timer_reset(tide_loop *loop, tide_timer *timer, int64_t delay_ns) {
  /* The idle-timeout pattern's common case in one pass: the validation of check(), and arm()'s
   * update of an active timer that keeps its place in the heap. Half the instructions of the
   * general path, which matters because a burst of resets is bound by how many of their cache
   * misses the processor can overlap (see tide__timer_heap_update_in_place). */
  if (loop != NULL && timer != NULL && delay_ns >= 0 && is_initialised(timer) &&
      tide__timer_heap_update_in_place(&loop->timers, timer, deadline_after(loop, delay_ns),
                                       loop->timer_seq)) {
    loop->timer_seq++;
    return 0;
  }
  int err = check(loop, timer);
  if (err != 0)
    return err;
  if (delay_ns < 0)
    return TIDE_EINVAL;
  return arm(loop, timer, delay_ns);
}

int tide_timer_stop(tide_loop *loop, tide_timer *timer) {
  int err = check(loop, timer);
  if (err != 0)
    return err;
  if (timer->private_heap_index != TIDE__TIMER_INACTIVE)
    disarm(loop, timer);
  return 0;
}

int tide_timer_set_keepalive(tide_loop *loop, tide_timer *timer, int keep_alive) {
  int err = check(loop, timer);
  if (err != 0)
    return err;
  int was = keeps_alive(timer);
  int now = keep_alive != 0;
  if (now)
    timer->private_flags &= ~(uint32_t)TIMER_NO_KEEPALIVE;
  else
    timer->private_flags |= TIMER_NO_KEEPALIVE;
  if (timer->private_heap_index != TIDE__TIMER_INACTIVE && was != now) {
    if (now)
      loop->keepalive_timers++;
    else
      loop->keepalive_timers--;
  }
  return 0;
}

void tide__timers_fire(tide_loop *loop) {
  const uint64_t round = loop->timer_seq;
  for (;;) {
    const tide__timer_entry *due = tide__timer_heap_min(&loop->timers);
    if (due == NULL || due->deadline > loop->now || due->seq >= round)
      return;
    tide_timer *timer = due->timer;
    if (timer->private_repeat_ns > 0) {
      /* Keep the period anchored to the schedule, unless the loop fell a whole period behind:
       * then restart from now rather than fire a burst of catch-up calls. */
      int64_t repeat = timer->private_repeat_ns;
      int64_t next = due->deadline > INT64_MAX - repeat ? INT64_MAX : due->deadline + repeat;
      if (next <= loop->now)
        next = deadline_after(loop, timer->private_repeat_ns);
      tide__timer_heap_update(&loop->timers, timer, next, loop->timer_seq++);
    } else {
      disarm(loop, timer);
    }
    timer->private_cb(timer, timer->private_arg);
  }
}

/* A timer future: the timer that settles it, and the producer's reference to it. */
typedef struct sleep_op {
  tide_timer timer;
  tide_future *future;
} sleep_op;

size_t tide__sleep_op_size(void) {
  return sizeof(sleep_op);
}

static void finish_sleep(tide_loop *loop, sleep_op *op) {
  tide_future_release(op->future);
  tide__pool_put(&loop->sleep_pool, op);
}

static void sleep_fired(tide_timer *timer, void *arg) {
  (void)timer;
  sleep_op *op = arg;
  tide_loop *loop = op->future->loop;
  tide_future_resolve(op->future, NULL);
  finish_sleep(loop, op);
}

static void sleep_cancelled(tide_future *f, void *arg) {
  sleep_op *op = arg;
  disarm(f->loop, &op->timer);
  tide_future_fail(f, TIDE_ECANCELED);
  finish_sleep(f->loop, op);
}

int tide_sleep_future(tide_loop *loop, int64_t delay_ns, tide_future **out) {
  if (loop == NULL || out == NULL || delay_ns < 0)
    return TIDE_EINVAL;
  if (loop->closing)
    return TIDE_ECLOSED;
  sleep_op *op = tide__pool_get(&loop->sleep_pool);
  if (op == NULL)
    return TIDE_ENOMEM;
  int err = tide_future_new(loop, &op->future);
  if (err != 0)
    goto fail_op;
  tide_timer_init(&op->timer, sleep_fired, op);
  op->timer.private_flags |= TIMER_INTERNAL;
  err = arm(loop, &op->timer, delay_ns);
  if (err != 0)
    goto fail_future;
  tide_future_set_canceller(op->future, sleep_cancelled, op);
  tide_future_retain(op->future); /* the caller's reference; the op keeps its own */
  *out = op->future;
  return 0;

fail_future:
  tide_future_release(op->future);
fail_op:
  tide__pool_put(&loop->sleep_pool, op);
  return err;
}

size_t tide__timers_close(tide_loop *loop) {
  size_t user_timers = 0;
  const tide__timer_entry *min;
  while ((min = tide__timer_heap_min(&loop->timers)) != NULL) {
    tide_timer *timer = min->timer;
    if (timer->private_flags & TIMER_INTERNAL) {
      sleep_op *op = timer->private_arg;
      /* Cancelling disarms the timer, unless someone settled the future directly (nothing stops
       * a caller from resolving a timer future): then its canceller is gone, so disarm here. */
      if (tide_future_cancel(op->future) == TIDE_EALREADY) {
        disarm(loop, timer);
        finish_sleep(loop, op);
      }
    } else {
      disarm(loop, timer);
      user_timers++;
    }
  }
  return user_timers;
}
