/* tide/timer.h — timers, in two styles.
 *
 * Caller-owned timers (tide_timer) cost no allocation: the struct lives wherever the caller puts
 * it (typically inside a connection object), and start/stop/reset are O(log n) (amortised) on the
 * loop's timer heap. They suit code that resets many idle timeouts.
 *
 * Timer futures (tide_sleep_future) settle after a delay and compose with everything else that
 * takes a future.
 *
 * Both guarantee: a timer never fires before its deadline; timers with equal deadlines fire in the
 * order they were started; a timer started from a timer callback fires in a later tick, never in
 * the tick that started it. Loop thread only.
 */
#ifndef TIDE_TIMER_H
#define TIDE_TIMER_H

#include "future.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tide_timer tide_timer;

/* Called on the loop thread when the timer expires. The timer is inactive during the call
 * unless it repeats; the callback may start, stop or reset it (or other timers) freely. */
typedef void (*tide_timer_fn)(tide_timer *timer, void *arg);

/* A caller-owned timer: 40 bytes on 64-bit targets. Its fields are private to tide; use only the
 * functions below. It must stay at the same address while active. */
struct tide_timer {
  uint64_t private_seq;        /* arming order: orders equal deadlines (see core/timer_heap.h) */
  uint32_t private_heap_index; /* position in the loop's heap, or UINT32_MAX when inactive */
  uint32_t private_flags;
  tide_timer_fn private_cb;
  void *private_arg;
  int64_t private_repeat_ns;
};

/* Prepares a timer with its callback and argument, without reading the struct (it may be fresh,
 * uninitialised memory). Must be called before the first start. Calling it on an active timer is
 * a contract violation tide cannot detect without reading the struct: stop the timer first.
 * Returns 0 or TIDE_EINVAL (timer or cb NULL). */
int tide_timer_init(tide_timer *timer, tide_timer_fn cb, void *arg);

/* Arms the timer to fire once `delay_ns` after the loop's cached clock (tide_now), then every
 * `repeat_ns` if that is positive. Starting an active timer restarts it. Returns 0, TIDE_EINVAL
 * (NULL, negative delay or repeat, timer not initialised, or active on another loop) or
 * TIDE_ENOMEM (the heap could not grow; the timer is then inactive). */
int tide_timer_start(tide_loop *loop, tide_timer *timer, int64_t delay_ns, int64_t repeat_ns);

/* Re-arms the timer `delay_ns` from now, keeping its repeat interval: the idle-timeout pattern.
 * Same errors as tide_timer_start. */
int tide_timer_reset(tide_loop *loop, tide_timer *timer, int64_t delay_ns);

/* Disarms the timer; its callback will not run. Stopping an inactive timer does nothing.
 * Returns 0, or TIDE_EINVAL (NULL, or the timer is active on another loop). */
int tide_timer_stop(tide_loop *loop, tide_timer *timer);

/* 1 if the timer is armed, 0 if not. */
int tide_timer_is_active(const tide_timer *timer);

/* Chooses whether the armed timer keeps tide_loop_run going (the default, 1) or not (0: a
 * housekeeping timer that should not by itself keep the program alive). May be called in any
 * state; applies to the current and later arming. Returns 0 or TIDE_EINVAL. */
int tide_timer_set_keepalive(tide_loop *loop, tide_timer *timer, int keep_alive);

/* Creates a future that resolves (with a NULL value) `delay_ns` after tide_now(loop). Cancelling
 * it disarms the timer and settles it as cancelled. The caller owns one reference. Returns 0,
 * TIDE_EINVAL (NULL, negative delay) or TIDE_ENOMEM. */
int tide_sleep_future(tide_loop *loop, int64_t delay_ns, tide_future **out);

#ifdef __cplusplus
}
#endif
#endif
