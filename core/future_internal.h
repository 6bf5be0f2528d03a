/* core/future_internal.h — the future's layout, for the pools that size it. */
#ifndef TIDE_FUTURE_INTERNAL_H
#define TIDE_FUTURE_INTERNAL_H

#include <stdint.h>

#include "core/ready_queue.h"
#include "tide/future.h"

typedef struct tide__done_callback tide__done_callback;
struct tide__done_callback {
  tide__done_callback *next;
  tide_future_fn fn;
  void *arg;
};

typedef enum tide__future_kind {
  TIDE__FUTURE_PLAIN, /* from the loop's future pool */
  TIDE__FUTURE_TASK   /* a member of a tide__task, which lives on the task's stack */
} tide__future_kind;

struct tide_future {
  tide_loop *loop;
  void *value;
  int err; /* the failure, once FAILED */
  uint32_t refs;
  uint8_t state;            /* tide_future_state */
  uint8_t observed;         /* tide_future_result was called after it settled */
  uint8_t dispatch_queued;  /* `dispatch` sits in the loop's ready queue */
  uint8_t cancel_requested; /* the canceller has been called */
  uint8_t kind;             /* tide__future_kind: which pool it returns to */
  const char *label;        /* names it in reports (a task's name), or NULL */
  tide_future_fn first_fn;  /* the first done-callback, stored inline: no allocation */
  void *first_arg;
  tide__done_callback *more_head; /* the others, from the loop's done_pool */
  tide__done_callback *more_tail;
  tide_future_fn canceller;
  void *canceller_arg;
  tide__ready dispatch; /* runs the done-callbacks in a later tick */
};

/* Frees a task whose future's last reference went (task.c): its record and stack. */
void tide__task_free(tide_future *f);

/* Initialises a pending future with one reference, in memory the caller provides. */
void tide__future_init(tide_future *f, tide_loop *loop, tide__future_kind kind);

#endif
