/* tide/loop.h — the event loop.
 *
 * A loop is single-threaded: every function here must be called from the thread that runs the
 * loop (the "loop thread"), except the three marked "any thread": tide_loop_stop,
 * tide_call_soon_threadsafe and tide_loop_wake. A loop owns everything created on it (futures,
 * operations, pools); closing it releases all of that.
 *
 * One tick of the loop:
 *   1. run the callbacks that were ready when the tick began (those scheduled while they run wait
 *      for the next tick, so a callback that reschedules itself cannot starve I/O);
 *   2. poll the backend, blocking until the nearest timer's deadline (0 if callbacks are ready);
 *   3. complete the operations the backend reports (their futures' callbacks become ready);
 *   4. refresh the cached clock and fire the timers whose deadline has passed (timers armed during
 *      this step wait for the next tick, so a zero-delay timer cannot spin the loop).
 */
#ifndef TIDE_LOOP_H
#define TIDE_LOOP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tide_loop tide_loop;

/* Severity of a message sent to the loop's log hook. */
typedef enum tide_log_level {
  TIDE_LOG_DEBUG = 0,
  TIDE_LOG_INFO = 1,
  TIDE_LOG_WARN = 2, /* a problem in the program using tide: an unobserved failure, a leak */
  TIDE_LOG_ERROR = 3 /* tide could not do something it had to (e.g. the backend failed) */
} tide_log_level;

/* Receives tide's reports (an unobserved failed future, work left pending at close, ...).
 * Called on the loop thread; `message` is valid only during the call and has no newline. */
typedef void (*tide_log_fn)(void *user, tide_log_level level, const char *message);

/* Options for tide_loop_new. Initialise with tide_loop_options_init, then set what you need, so
 * that fields added later get their defaults. */
typedef struct tide_loop_options {
  tide_log_fn log;      /* NULL: write "tide: <message>" lines to stderr */
  void *log_user;       /* passed to `log` */
  unsigned poll_events; /* most events taken from the backend per poll; 0: default (256) */
  int64_t slow_step_ns; /* > 0: report (TIDE_LOG_WARN) any callback or task step that runs
                           longer than this without yielding to the loop — the task that
                           "freezes everything". 0 (default): off, and costs nothing. */
} tide_loop_options;

/* Fills *opts with the defaults. Any thread. */
void tide_loop_options_init(tide_loop_options *opts);

/* Creates a loop and stores it in *out. `opts` may be NULL for the defaults; it is copied.
 * Returns 0, TIDE_EINVAL (out is NULL), TIDE_ENOMEM, or the backend's error mapped to TIDE_E*
 * (e.g. TIDE_EMFILE when the poller's descriptor cannot be created). On failure *out is
 * untouched. The calling thread becomes the loop thread until tide_loop_close. */
int tide_loop_new(tide_loop **out, const tide_loop_options *opts);

/* Runs ticks until no work is left (no ready callback, armed referenced timer, pending
 * operation or tide_loop_ref hold) or until tide_loop_stop is called.
 * Returns 0 when it ran out of work, 1 when it was stopped, TIDE_EINVAL (loop is NULL),
 * TIDE_EBUSY (called from a callback of this loop: loops do not nest), TIDE_ECLOSED (the loop is
 * closing), or a backend error (then the loop is left as it was and can be closed). */
int tide_loop_run(tide_loop *loop);

/* Runs exactly one tick. `timeout_ns` bounds how long the poll may block: 0 never blocks, a
 * negative value blocks until an event or the nearest timer (or, while the loop holds more than
 * a few stacks of finished tasks, until it is time to give unused ones back: tide/task.h). Returns
 * 1 if work is left after the tick, 0 if none, or the errors of tide_loop_run. */
int tide_loop_run_once(tide_loop *loop, int64_t timeout_ns);

/* Asks a running loop to return from tide_loop_run after the current tick; if the loop is not
 * running, its next tide_loop_run returns after one tick. Any thread: wakes a blocked poll. */
void tide_loop_stop(tide_loop *loop);

/* Wakes the loop from its poll without scheduling anything. Any thread. Returns 0 or
 * TIDE_EINVAL. Cheap when a wake is already pending: wake-ups coalesce. */
int tide_loop_wake(tide_loop *loop);

/* Closes the loop and frees it with everything it owns. Pending operations are cancelled and
 * settle (TIDE_ECANCELED) before their memory is reused; ready callbacks (including those the
 * cancellations produce) run until none is left; then whatever is still outstanding is reported
 * through the log hook (armed timers, futures never released) and detached or freed. Streams,
 * listeners and UDP sockets (tide/net.h) the user never closed are reported with their count and
 * closed as tide_stream_close would (their descriptors are closed, their memory freed), since
 * nothing could close them after the loop is gone. Using a future, timer or handle of a closed
 * loop afterwards is undefined, which is why it is reported. A completion backend (IOCP) settles
 * cancelled operations through its queue: close waits for them (up to about 10 s); if the OS
 * has not completed them by then, the error is logged and the loop's memory is deliberately
 * left allocated, since the OS may still write into it.
 * Returns 0, TIDE_EINVAL (NULL), or TIDE_EBUSY (called while the loop runs; nothing changes). */
int tide_loop_close(tide_loop *loop);

/* The loop's cached monotonic clock in nanoseconds, refreshed once per tick (and by
 * tide_loop_update_time). Its origin is unspecified; only differences mean anything. */
int64_t tide_now(const tide_loop *loop);

/* Refreshes the cached clock from the OS clock now, e.g. after a long computation inside a
 * callback, and returns the new value. */
int64_t tide_loop_update_time(tide_loop *loop);

/* Schedules fn(arg) to run on the loop in the next tick (FIFO with other call_soon callbacks).
 * Does not allocate in steady state. Returns 0, TIDE_EINVAL (loop or fn NULL), TIDE_ENOMEM,
 * TIDE_ECLOSED (the loop has finished closing its queues). Loop thread only. */
int tide_call_soon(tide_loop *loop, void (*fn)(void *arg), void *arg);

/* The thread-safe twin of tide_call_soon: may be called from any thread, including while the
 * loop blocks in its poll. Posts are delivered exactly once, in the order each posting thread
 * made them, at the start of a later tick. A burst of posts costs one wake-up of the loop, not
 * one each. Returns 0, TIDE_EINVAL, TIDE_ENOMEM or TIDE_ECLOSED (the loop is closing; fn will
 * not run). The loop must not have been freed: the caller keeps it alive (e.g. with a
 * tide_loop_ref taken on the loop thread before handing work to another thread). */
int tide_call_soon_threadsafe(tide_loop *loop, void (*fn)(void *arg), void *arg);

/* Holds the loop alive: tide_loop_run does not return for lack of work while a hold is taken
 * (useful while another thread will post with tide_call_soon_threadsafe). Holds are counted;
 * tide_loop_unref drops one (TIDE_EINVAL if none is held). Loop thread only. */
int tide_loop_ref(tide_loop *loop);
int tide_loop_unref(tide_loop *loop);

/* Returns 1 if the loop has work left (see tide_loop_run), else 0. Loop thread only. */
int tide_loop_alive(const tide_loop *loop);

#ifdef __cplusplus
}
#endif
#endif
