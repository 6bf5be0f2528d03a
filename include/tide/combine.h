/* tide/combine.h — combinators: futures made of other futures.
 *
 * They work with any future (timer futures, I/O, tasks) and from plain callbacks as well as from
 * tasks; inside a task, await the future they return. Each keeps a reference to its inputs until
 * it settles, and settles only after every input it cancelled has settled, so no operation it
 * started stopping is still running when you see its outcome (DESIGN.md principle 3). Loop thread
 * only. */
#ifndef TIDE_COMBINE_H
#define TIDE_COMBINE_H

#include "future.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Flags for tide_gather. */
enum {
  /* Wait for every input whatever happens, like asyncio.gather(return_exceptions=True): the
   * gather resolves when all have settled and each input holds its own outcome. Without it, the
   * first failure (or cancellation) of an input cancels the others and fails the gather with
   * that error once they have all settled. */
  TIDE_GATHER_ALL_OUTCOMES = 1u << 0
};

/* Creates a future that resolves (with a NULL value) when all `n` inputs have resolved; the
 * results stay in the inputs, in argument order, for tide_future_result. Cancelling it cancels
 * every input. `inputs` is copied; the caller keeps its references. n == 0 resolves at once. A
 * failure it does not propagate (a second failing input) stays unobserved in its input and is
 * reported if nobody retrieves it. Returns 0, TIDE_EINVAL (NULL loop/out, NULL inputs with n > 0,
 * a NULL input, an input of another loop, unknown flags) or TIDE_ENOMEM. */
int tide_gather(tide_loop *loop, tide_future *const *inputs, size_t n, unsigned flags,
                tide_future **out);

/* Creates a future that settles like `input`, unless `input` is still pending `timeout_ns` after
 * now: then `input` is cancelled and the future fails with TIDE_ETIMEDOUT once `input` has
 * settled — or, if `input` completed before it could stop, settles with its real result.
 * Cancelling the returned future cancels `input`. The caller keeps its reference to `input`.
 * Returns 0, TIDE_EINVAL (NULL, negative timeout) or TIDE_ENOMEM. */
int tide_wait_for(tide_future *input, int64_t timeout_ns, tide_future **out);

/* Modes for tide_wait (asyncio.wait's return_when). */
typedef enum tide_wait_mode {
  TIDE_WAIT_FIRST_COMPLETED = 0, /* any input settled */
  TIDE_WAIT_FIRST_FAILURE = 1,   /* any input failed or was cancelled, or all settled */
  TIDE_WAIT_ALL_COMPLETED = 2    /* every input settled */
} tide_wait_mode;

/* Creates a future that resolves (with a NULL value) when `mode` is met; it never cancels or
 * fails because of its inputs — inspect them with tide_future_done / tide_future_result.
 * Cancelling it settles it cancelled at once and leaves the inputs alone (asyncio.wait). n == 0
 * resolves at once. Returns 0, TIDE_EINVAL (as tide_gather, or an unknown mode) or TIDE_ENOMEM. */
int tide_wait(tide_loop *loop, tide_future *const *inputs, size_t n, tide_wait_mode mode,
              tide_future **out);

/* asyncio.shield: creates a future that settles like `input`, but cancelling it does not cancel
 * `input` (the returned future settles cancelled at once; `input` goes on). Returns 0,
 * TIDE_EINVAL or TIDE_ENOMEM. */
int tide_shield(tide_future *input, tide_future **out);

/* asyncio.as_completed: yields the inputs in the order they settle. Caller-owned; init, then
 * call tide_as_completed_next from a task until it returns TIDE_ENOENT, then destroy. */
typedef struct tide_as_completed {
  void *private_state; /* shared with the inputs' callbacks, which may outlive the struct */
} tide_as_completed;

/* Starts watching `n` inputs (the caller keeps its references; tide holds its own until
 * destroy). Returns 0, TIDE_EINVAL or TIDE_ENOMEM. */
int tide_as_completed_init(tide_as_completed *ac, tide_loop *loop, tide_future *const *inputs,
                           size_t n);

/* Inside a task: waits for the next input to settle and stores it in *next (a borrowed
 * reference, valid until destroy). Returns 0, TIDE_ENOENT when every input has been returned,
 * TIDE_ECANCELED / TIDE_ETIMEDOUT (the task's cancellation or deadline; the inputs go on), or
 * TIDE_EINVAL (NULL, outside a task). */
int tide_as_completed_next(tide_as_completed *ac, tide_future **next);

/* Releases tide's references. Inputs not yet settled go on; their late settling is ignored. */
void tide_as_completed_destroy(tide_as_completed *ac);

#ifdef __cplusplus
}
#endif
#endif
