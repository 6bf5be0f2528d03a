/* tide/future.h — futures: the one way every asynchronous result is delivered.
 *
 * A future is pending, then settles exactly once: resolved (with a void * value), failed (with a
 * negative TIDE_E* code) or cancelled. Callbacks added with tide_future_on_done run on the loop
 * in a later tick, never inside the call that settled the future, so a producer can settle a
 * future in the middle of its own bookkeeping without being re-entered.
 *
 * Futures are reference counted. tide_future_new hands the caller one reference; every function
 * that returns a future (tide_sleep_future, the I/O calls, ...) hands over one reference too,
 * which the caller gives back with tide_future_release. A future that failed and was released
 * without anyone retrieving its result (tide_future_result) is reported through the loop's log
 * hook, the way asyncio reports "exception was never retrieved": a failure is never silent.
 *
 * Futures belong to one loop and are used on its thread only. They come from a per-loop pool, so
 * steady state allocates nothing. The value is the caller's: tide stores the pointer and never
 * dereferences or frees it.
 */
#ifndef TIDE_FUTURE_H
#define TIDE_FUTURE_H

#include "loop.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tide_future tide_future;

typedef enum tide_future_state {
  TIDE_FUTURE_PENDING = 0,
  TIDE_FUTURE_RESOLVED = 1,
  TIDE_FUTURE_FAILED = 2,
  TIDE_FUTURE_CANCELLED = 3
} tide_future_state;

/* A done-callback. `f` is valid for the duration of the call; retain it to keep it longer. */
typedef void (*tide_future_fn)(tide_future *f, void *arg);

/* Creates a pending future on `loop`; the caller owns the one reference. Returns 0, TIDE_EINVAL
 * (NULL argument) or TIDE_ENOMEM (*out untouched). */
int tide_future_new(tide_loop *loop, tide_future **out);

/* Settles a pending future as resolved with `value`. Returns 0, TIDE_EINVAL (f is NULL) or
 * TIDE_EALREADY (it had settled: the first outcome stands). */
int tide_future_resolve(tide_future *f, void *value);

/* Settles a pending future as failed with `err`, a negative TIDE_E* code; failing with
 * TIDE_ECANCELED marks it cancelled. Returns 0, TIDE_EINVAL (f NULL or err >= 0) or
 * TIDE_EALREADY. */
int tide_future_fail(tide_future *f, int err);

/* Asks a pending future to cancel. With no canceller set (a plain future), it settles as
 * cancelled at once. With a canceller (an operation in flight), the canceller is called to ask
 * the producer to stop; the future then settles when the producer says so, either cancelled or,
 * if the operation raced and completed, with its real result (nothing is lost). Calling it again
 * while the request is outstanding is harmless. Returns 0 (requested or done), TIDE_EINVAL, or
 * TIDE_EALREADY (it had settled). */
int tide_future_cancel(tide_future *f);

/* Producer side: `fn(f, arg)` is called (once, on the loop thread) when tide_future_cancel is
 * first called on the pending future. It must make the future settle, now or later. Setting it
 * again replaces it; fn NULL removes it. Returns 0, TIDE_EINVAL or TIDE_EALREADY. */
int tide_future_set_canceller(tide_future *f, tide_future_fn fn, void *arg);

/* Adds a done-callback: fn(f, arg) runs on the loop thread in a later tick once the future has
 * settled (if it already has, in the next tick). Callbacks run in the order they were added. The
 * future keeps itself alive until its callbacks have run. Returns 0, TIDE_EINVAL (NULL f or fn)
 * or TIDE_ENOMEM. The first callback of a future is stored inline and never allocates. */
int tide_future_on_done(tide_future *f, tide_future_fn fn, void *arg);

/* The current state. `f` must not be NULL. */
tide_future_state tide_future_state_of(const tide_future *f);

/* 1 if the future has settled, 0 if it is pending. `f` must not be NULL. */
int tide_future_done(const tide_future *f);

/* Retrieves the outcome and marks it observed. Returns 0 and stores the value in *value (value
 * may be NULL) if the future resolved; the failure code if it failed; TIDE_ECANCELED if it was
 * cancelled; TIDE_EPENDING if it has not settled; TIDE_EINVAL if f is NULL. */
int tide_future_result(tide_future *f, void **value);

/* The loop the future belongs to. */
tide_loop *tide_future_loop(const tide_future *f);

/* Takes one more reference. */
void tide_future_retain(tide_future *f);

/* Gives back one reference; the last one returns the future to its loop's pool. Releasing a
 * pending future does not cancel it: its producer still holds its own reference. NULL is
 * ignored. */
void tide_future_release(tide_future *f);

#ifdef __cplusplus
}
#endif
#endif
