/* core/combine.c — tide_gather and tide_wait_for (see tide/combine.h).
 *
 * Both are small state machines driven by their inputs' done-callbacks. They hold a reference to
 * each input and to their own future until the last input has settled, which is what lets them
 * promise that nothing they cancelled is still running once they settle. */
#include <stdlib.h>

#include "core/future_internal.h"
#include "core/loop_internal.h"
#include "tide/combine.h"
#include "tide/error.h"
#include "tide/task.h"
#include "tide/timer.h"

/* The argument check every combinator shares: a loop, and n non-NULL futures of that loop. */
static int inputs_are_valid(const tide_loop *loop, tide_future *const *inputs, size_t n) {
  if (loop == NULL || (n > 0 && inputs == NULL))
    return 0;
  for (size_t i = 0; i < n; i++) {
    if (inputs[i] == NULL || inputs[i]->loop != loop)
      return 0;
  }
  return 1;
}

/* ---- gather ------------------------------------------------------------------------------ */

typedef struct gather_op {
  tide_future *result;
  size_t pending;  /* inputs not yet settled */
  int first_error; /* the outcome that decided the gather, or 0 */
  unsigned flags;
  size_t n;
  tide_future *inputs[];
} gather_op;

static void cancel_pending_inputs(gather_op *op) {
  for (size_t i = 0; i < op->n; i++) {
    if (!tide_future_done(op->inputs[i]))
      tide_future_cancel(op->inputs[i]);
  }
}

static void gather_finish(gather_op *op) {
  if (op->first_error != 0)
    tide_future_fail(op->result, op->first_error);
  else
    tide_future_resolve(op->result, NULL);
  for (size_t i = 0; i < op->n; i++)
    tide_future_release(op->inputs[i]);
  tide_future_release(op->result);
  free(op);
}

static void gather_input_done(tide_future *input, void *arg) {
  gather_op *op = arg;
  if (tide_future_state_of(input) != TIDE_FUTURE_RESOLVED &&
      !(op->flags & TIDE_GATHER_ALL_OUTCOMES) && op->first_error == 0) {
    op->first_error = tide_future_result(input, NULL); /* propagated: observed */
    cancel_pending_inputs(op);
  }
  if (--op->pending == 0)
    gather_finish(op);
}

static void gather_cancelled(tide_future *f, void *arg) {
  (void)f;
  gather_op *op = arg;
  if (op->first_error == 0)
    op->first_error = TIDE_ECANCELED;
  cancel_pending_inputs(op);
}

int tide_gather(tide_loop *loop, tide_future *const *inputs, size_t n, unsigned flags,
                tide_future **out) {
  if (out == NULL || (flags & ~(unsigned)TIDE_GATHER_ALL_OUTCOMES) ||
      !inputs_are_valid(loop, inputs, n))
    return TIDE_EINVAL;
  if (n > (SIZE_MAX - sizeof(gather_op)) / sizeof(tide_future *))
    return TIDE_ENOMEM;
  gather_op *op = malloc(sizeof *op + n * sizeof(tide_future *));
  if (op == NULL)
    return TIDE_ENOMEM;
  int err = tide_future_new(loop, &op->result);
  if (err != 0) {
    free(op);
    return err;
  }
  op->pending = n;
  op->first_error = 0;
  op->flags = flags;
  op->n = n;
  for (size_t i = 0; i < n; i++) {
    op->inputs[i] = inputs[i];
    tide_future_retain(inputs[i]);
  }
  tide_future_retain(op->result); /* the caller's reference; op keeps its own */
  *out = op->result;
  if (n == 0) {
    gather_finish(op);
    return 0;
  }
  tide_future_set_canceller(op->result, gather_cancelled, op);
  /* From here on the op is driven by callbacks; an allocation failure for one of them would
   * strand the gather, so every input's callback is registered first-in-line where possible and
   * a failure cancels the lot. */
  for (size_t i = 0; i < n; i++) {
    err = tide_future_on_done(inputs[i], gather_input_done, op);
    if (err != 0) {
      /* This input will never report: count it as settled with the error. */
      op->first_error = op->first_error ? op->first_error : err;
      cancel_pending_inputs(op);
      if (--op->pending == 0)
        gather_finish(op);
    }
  }
  return 0;
}

/* ---- wait_for ---------------------------------------------------------------------------- */

typedef struct wait_for_op {
  tide_future *result;
  tide_future *input;
  tide_timer timer;
  int timed_out;
} wait_for_op;

static void wait_for_input_done(tide_future *input, void *arg) {
  wait_for_op *op = arg;
  tide_loop *loop = input->loop;
  tide_timer_stop(loop, &op->timer);
  void *value = NULL;
  int rc = tide_future_result(input, &value);
  if (rc == 0)
    tide_future_resolve(op->result, value);
  else if (rc == TIDE_ECANCELED && op->timed_out)
    tide_future_fail(op->result, TIDE_ETIMEDOUT);
  else
    tide_future_fail(op->result, rc);
  tide_future_release(op->input);
  tide_future_release(op->result);
  free(op);
}

static void wait_for_expired(tide_timer *timer, void *arg) {
  (void)timer;
  wait_for_op *op = arg;
  op->timed_out = 1;
  tide_future_cancel(op->input);
}

static void wait_for_cancelled(tide_future *f, void *arg) {
  (void)f;
  wait_for_op *op = arg;
  tide_future_cancel(op->input);
}

int tide_wait_for(tide_future *input, int64_t timeout_ns, tide_future **out) {
  if (input == NULL || out == NULL || timeout_ns < 0)
    return TIDE_EINVAL;
  tide_loop *loop = input->loop;
  wait_for_op *op = malloc(sizeof *op);
  if (op == NULL)
    return TIDE_ENOMEM;
  int err = tide_future_new(loop, &op->result);
  if (err != 0)
    goto fail_op;
  op->input = input;
  op->timed_out = 0;
  tide_timer_init(&op->timer, wait_for_expired, op);
  err = tide_timer_start(loop, &op->timer, timeout_ns, 0);
  if (err != 0)
    goto fail_result;
  err = tide_future_on_done(input, wait_for_input_done, op);
  if (err != 0)
    goto fail_timer;
  tide_future_retain(input);
  tide_future_set_canceller(op->result, wait_for_cancelled, op);
  tide_future_retain(op->result);
  *out = op->result;
  return 0;

fail_timer:
  tide_timer_stop(loop, &op->timer);
fail_result:
  tide_future_release(op->result);
fail_op:
  free(op);
  return err;
}

/* ---- wait -------------------------------------------------------------------------------- */

typedef struct wait_op {
  tide_future *result; /* NULL once settled and released */
  tide_wait_mode mode;
  size_t pending; /* inputs whose callback has not run: the op lives until it is 0 */
} wait_op;

static void wait_settle(wait_op *op) {
  if (op->result == NULL)
    return;
  tide_future_resolve(op->result, NULL); /* EALREADY if it was cancelled: that stands */
  tide_future_release(op->result);
  op->result = NULL;
}

static void wait_input_done(tide_future *input, void *arg) {
  wait_op *op = arg;
  op->pending--;
  int failed = tide_future_state_of(input) != TIDE_FUTURE_RESOLVED;
  if (op->mode == TIDE_WAIT_FIRST_COMPLETED || (op->mode == TIDE_WAIT_FIRST_FAILURE && failed) ||
      op->pending == 0)
    wait_settle(op);
  tide_future_release(input);
  if (op->pending == 0)
    free(op);
}

int tide_wait(tide_loop *loop, tide_future *const *inputs, size_t n, tide_wait_mode mode,
              tide_future **out) {
  if (out == NULL || !inputs_are_valid(loop, inputs, n) ||
      (mode != TIDE_WAIT_FIRST_COMPLETED && mode != TIDE_WAIT_FIRST_FAILURE &&
       mode != TIDE_WAIT_ALL_COMPLETED))
    return TIDE_EINVAL;
  tide_future *result;
  int err = tide_future_new(loop, &result);
  if (err != 0)
    return err;
  if (n == 0) {
    tide_future_resolve(result, NULL);
    *out = result;
    return 0;
  }
  wait_op *op = malloc(sizeof *op);
  if (op == NULL) {
    tide_future_release(result);
    return TIDE_ENOMEM;
  }
  op->result = result;
  op->mode = mode;
  op->pending = n;
  tide_future_retain(result); /* the caller's reference */
  *out = result;
  for (size_t i = 0; i < n; i++) {
    tide_future_retain(inputs[i]);
    if (tide_future_on_done(inputs[i], wait_input_done, op) != 0) {
      /* Cannot watch this input: settle now rather than wait forever, and account for it. */
      tide_future_release(inputs[i]);
      wait_settle(op);
      if (--op->pending == 0)
        free(op);
    }
  }
  return 0;
}

/* ---- shield ------------------------------------------------------------------------------ */

typedef struct shield_op {
  tide_future *result;
} shield_op;

static void shield_input_done(tide_future *input, void *arg) {
  shield_op *op = arg;
  /* Peek at the outcome without marking the input observed: the shield passes it on, and an
   * unobserved failure is reported on the shield's future if nobody looks there either. */
  if (input->state == TIDE_FUTURE_RESOLVED)
    tide_future_resolve(op->result, input->value);
  else
    tide_future_fail(op->result, input->state == TIDE_FUTURE_FAILED ? input->err : TIDE_ECANCELED);
  if (input->state == TIDE_FUTURE_FAILED)
    input->observed = 1;
  tide_future_release(op->result);
  tide_future_release(input);
  free(op);
}

int tide_shield(tide_future *input, tide_future **out) {
  if (input == NULL || out == NULL)
    return TIDE_EINVAL;
  shield_op *op = malloc(sizeof *op);
  if (op == NULL)
    return TIDE_ENOMEM;
  int err = tide_future_new(input->loop, &op->result);
  if (err == 0)
    err = tide_future_on_done(input, shield_input_done, op);
  if (err != 0) {
    tide_future_release(op->result);
    free(op);
    return err;
  }
  tide_future_retain(input);
  tide_future_retain(op->result);
  *out = op->result; /* no canceller: cancelling it settles it alone */
  return 0;
}

/* ---- as_completed ------------------------------------------------------------------------ */

typedef struct as_completed_state {
  tide_loop *loop;
  size_t n;
  size_t settled;        /* entries filled in order[] */
  size_t taken;          /* entries returned by next() */
  size_t callbacks_left; /* the state lives until every input's callback has run */
  int detached;          /* destroy was called */
  tide_future *waiter;   /* what next() awaits while nothing new has settled */
  tide_future *order[];
} as_completed_state;

static void as_completed_free_if_done(as_completed_state *st) {
  if (!st->detached || st->callbacks_left > 0)
    return;
  for (size_t i = 0; i < st->settled; i++)
    tide_future_release(st->order[i]);
  free(st);
}

static void as_completed_input_done(tide_future *input, void *arg) {
  as_completed_state *st = arg;
  st->order[st->settled++] = input; /* the reference taken at init moves here */
  st->callbacks_left--;
  if (st->waiter != NULL)
    tide_future_resolve(st->waiter, NULL);
  as_completed_free_if_done(st);
}

int tide_as_completed_init(tide_as_completed *ac, tide_loop *loop, tide_future *const *inputs,
                           size_t n) {
  if (ac == NULL || !inputs_are_valid(loop, inputs, n))
    return TIDE_EINVAL;
  if (n > (SIZE_MAX - sizeof(as_completed_state)) / sizeof(tide_future *))
    return TIDE_ENOMEM;
  as_completed_state *st = calloc(1, sizeof *st + n * sizeof(tide_future *));
  if (st == NULL)
    return TIDE_ENOMEM;
  st->loop = loop;
  st->n = n;
  for (size_t i = 0; i < n; i++) {
    int err = tide_future_on_done(inputs[i], as_completed_input_done, st);
    if (err != 0) {
      /* Callbacks already registered will run later and need the state: detach it instead of
       * freeing it, and report the failure. */
      st->detached = 1;
      as_completed_free_if_done(st);
      return err;
    }
    tide_future_retain(inputs[i]);
    st->callbacks_left++;
  }
  ac->private_state = st;
  return 0;
}

int tide_as_completed_next(tide_as_completed *ac, tide_future **next) {
  if (ac == NULL || ac->private_state == NULL || next == NULL)
    return TIDE_EINVAL;
  as_completed_state *st = ac->private_state;
  if (!tide_in_task(st->loop))
    return TIDE_EINVAL;
  if (st->taken == st->n)
    return TIDE_ENOENT;
  while (st->taken == st->settled) {
    int err = tide_future_new(st->loop, &st->waiter);
    if (err != 0)
      return err;
    err = tide_await(st->waiter, NULL);
    tide_future_release(st->waiter);
    st->waiter = NULL;
    if (err != 0)
      return err;
  }
  *next = st->order[st->taken++];
  return 0;
}

void tide_as_completed_destroy(tide_as_completed *ac) {
  if (ac == NULL || ac->private_state == NULL)
    return;
  as_completed_state *st = ac->private_state;
  ac->private_state = NULL;
  st->detached = 1;
  as_completed_free_if_done(st);
}
