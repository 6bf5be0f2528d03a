/* core/future.c — futures (see tide/future.h).
 *
 * Settling never runs user code: it records the outcome and, if callbacks are waiting, queues the
 * future's embedded ready node. The node is part of the future, so settling cannot fail for lack
 * of memory, and the dispatch holds a reference so callbacks can release the future freely. */
#include <assert.h>
#include <stddef.h>

#include "core/future_internal.h"
#include "core/loop_internal.h"
#include "tide/error.h"

static void dispatch(void *arg);

int tide_future_new(tide_loop *loop, tide_future **out) {
  if (loop == NULL || out == NULL)
    return TIDE_EINVAL;
  tide_future *f = tide__pool_get(&loop->future_pool);
  if (f == NULL)
    return TIDE_ENOMEM;
  tide__future_init(f, loop, TIDE__FUTURE_PLAIN);
  *out = f;
  return 0;
}

void tide__future_init(tide_future *f, tide_loop *loop, tide__future_kind kind) {
  *f = (tide_future){.loop = loop, .refs = 1, .state = TIDE_FUTURE_PENDING};
  f->kind = (uint8_t)kind;
  f->dispatch.fn = dispatch;
  f->dispatch.arg = f;
}

static int has_callbacks(const tide_future *f) {
  return f->first_fn != NULL || f->more_head != NULL;
}

static void queue_dispatch(tide_future *f) {
  if (f->dispatch_queued)
    return;
  f->dispatch_queued = 1;
  f->refs++; /* released at the end of dispatch */
  tide__loop_schedule(f->loop, &f->dispatch);
}

static int settle(tide_future *f, tide_future_state state, void *value, int err) {
  if (f == NULL)
    return TIDE_EINVAL;
  if (f->state != TIDE_FUTURE_PENDING)
    return TIDE_EALREADY;
  f->state = (uint8_t)state;
  f->value = value;
  f->err = err;
  f->canceller = NULL;
  if (has_callbacks(f))
    queue_dispatch(f);
  return 0;
}

int tide_future_resolve(tide_future *f, void *value) {
  return settle(f, TIDE_FUTURE_RESOLVED, value, 0);
}

int tide_future_fail(tide_future *f, int err) {
  if (err >= 0)
    return TIDE_EINVAL;
  if (err == TIDE_ECANCELED)
    return settle(f, TIDE_FUTURE_CANCELLED, NULL, TIDE_ECANCELED);
  return settle(f, TIDE_FUTURE_FAILED, NULL, err);
}

int tide_future_cancel(tide_future *f) {
  if (f == NULL)
    return TIDE_EINVAL;
  if (f->state != TIDE_FUTURE_PENDING)
    return TIDE_EALREADY;
  if (f->canceller == NULL)
    return settle(f, TIDE_FUTURE_CANCELLED, NULL, TIDE_ECANCELED);
  if (f->cancel_requested)
    return 0;
  f->cancel_requested = 1;
  /* The canceller may settle f at once and its producer may drop its reference; keep f alive
   * until the call returns. */
  f->refs++;
  f->canceller(f, f->canceller_arg);
  tide_future_release(f);
  return 0;
}

int tide_future_set_canceller(tide_future *f, tide_future_fn fn, void *arg) {
  if (f == NULL)
    return TIDE_EINVAL;
  if (f->state != TIDE_FUTURE_PENDING)
    return TIDE_EALREADY;
  f->canceller = fn;
  f->canceller_arg = arg;
  return 0;
}

int tide_future_on_done(tide_future *f, tide_future_fn fn, void *arg) {
  if (f == NULL || fn == NULL)
    return TIDE_EINVAL;
  if (f->first_fn == NULL && f->more_head == NULL) {
    f->first_fn = fn;
    f->first_arg = arg;
  } else {
    tide__done_callback *cb = tide__pool_get(&f->loop->done_pool);
    if (cb == NULL)
      return TIDE_ENOMEM;
    *cb = (tide__done_callback){NULL, fn, arg};
    if (f->more_tail)
      f->more_tail->next = cb;
    else
      f->more_head = cb;
    f->more_tail = cb;
  }
  if (f->state != TIDE_FUTURE_PENDING)
    queue_dispatch(f);
  return 0;
}

/* Runs every done-callback registered so far, in order. Callbacks added while these run find
 * the future settled and not queued, so they queue a fresh dispatch for the next tick. */
static void dispatch(void *arg) {
  tide_future *f = arg;
  tide_future_fn first = f->first_fn;
  void *first_arg = f->first_arg;
  tide__done_callback *more = f->more_head;
  f->first_fn = NULL;
  f->more_head = f->more_tail = NULL;
  f->dispatch_queued = 0;
  if (first)
    first(f, first_arg);
  while (more != NULL) {
    tide__done_callback *cb = more;
    more = cb->next;
    tide_future_fn fn = cb->fn;
    void *cb_arg = cb->arg;
    tide__pool_put(&f->loop->done_pool, cb);
    fn(f, cb_arg);
  }
  tide_future_release(f);
}

tide_future_state tide_future_state_of(const tide_future *f) {
  return (tide_future_state)f->state;
}

int tide_future_done(const tide_future *f) {
  return f->state != TIDE_FUTURE_PENDING;
}

int tide_future_result(tide_future *f, void **value) {
  if (f == NULL)
    return TIDE_EINVAL;
  switch ((tide_future_state)f->state) {
    case TIDE_FUTURE_PENDING:
      return TIDE_EPENDING;
    case TIDE_FUTURE_RESOLVED:
      f->observed = 1;
      if (value)
        *value = f->value;
      return 0;
    case TIDE_FUTURE_FAILED:
      f->observed = 1;
      return f->err;
    case TIDE_FUTURE_CANCELLED:
      f->observed = 1;
      return TIDE_ECANCELED;
  }
  return TIDE_EINVAL;
}

tide_loop *tide_future_loop(const tide_future *f) {
  return f ? f->loop : NULL;
}

void tide_future_retain(tide_future *f) {
  if (f != NULL)
    f->refs++;
}

void tide_future_release(tide_future *f) {
  if (f == NULL)
    return;
  assert(f->refs > 0);
  if (--f->refs > 0)
    return;
  /* The dispatch holds a reference while queued, so callbacks can only remain on a future that
   * never settled: they can never run, which is worth saying. */
  assert(!f->dispatch_queued);
  if (has_callbacks(f)) {
    tide__loop_log(f->loop, TIDE_LOG_WARN,
                   "future %p was released while pending: its done-callbacks will never run",
                   (void *)f);
    while (f->more_head != NULL) {
      tide__done_callback *cb = f->more_head;
      f->more_head = cb->next;
      tide__pool_put(&f->loop->done_pool, cb);
    }
  }
  if (f->state == TIDE_FUTURE_FAILED && !f->observed) {
    if (f->label != NULL)
      tide__loop_log(f->loop, TIDE_LOG_WARN,
                     "task '%s' failed with %s (%s) and its result was never retrieved", f->label,
                     tide_err_name(f->err), tide_strerror(f->err));
    else
      tide__loop_log(f->loop, TIDE_LOG_WARN,
                     "future %p failed with %s (%s) and its result was never retrieved", (void *)f,
                     tide_err_name(f->err), tide_strerror(f->err));
  }
  if (f->kind == TIDE__FUTURE_TASK)
    tide__task_free(f); /* the task is the object around its future (task.c) */
  else
    tide__pool_put(&f->loop->future_pool, f);
}
