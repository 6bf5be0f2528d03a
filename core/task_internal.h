/* core/task_internal.h — the task object, shared by task.c, scope.c and the loop's close. */
#ifndef TIDE_TASK_INTERNAL_H
#define TIDE_TASK_INTERNAL_H

#include <stdint.h>

#include "core/context/context.h"
#include "core/future_internal.h"
#include "core/sys/stack.h"
#include "tide/task.h"

typedef enum tide__task_state {
  TIDE__TASK_CREATED,   /* its first step is queued */
  TIDE__TASK_RUNNING,   /* on the CPU */
  TIDE__TASK_SUSPENDED, /* waiting for a future or a yield */
  TIDE__TASK_DONE       /* its future has settled; stack returned */
} tide__task_state;

typedef struct tide__task tide__task;
struct tide__task {
  /* The task's future is its first member: the task and its outcome are one pooled object that
   * lives until the last reference to the future goes (future.c returns it to the task pool). */
  tide_future future;
  tide__context context;
  tide_loop *loop;
  tide_task_fn fn;
  void *arg;
  tide_future *awaiting; /* what the suspended task waits for (NULL for a yield) */
  tide_scope *scopes;    /* innermost open deadline scope */
  tide__ready step;      /* queued to start or resume the task */
  tide__stack stack;
  int64_t suspended_at;   /* tide_now when it last suspended, for dumps */
  uint8_t state;          /* tide__task_state */
  uint8_t cancel_pending; /* cancellation requested, not yet delivered */
  uint8_t cancel_delivered;
  tide__task *live_prev; /* the loop's list of unfinished tasks */
  tide__task *live_next;
  char name[32];
};

/* Cancels every unfinished task of the loop, for tide_loop_close (task.c). */
void tide__tasks_cancel_all(tide_loop *loop);

/* Reports and frees tasks that did not finish during close (task.c). Returns how many. */
size_t tide__tasks_destroy_remaining(tide_loop *loop);

/* Frees the loop's cached stacks and what its context keeps for tasks (with fibers, the pooled
 * fibers), after the last task has finished or been destroyed (task.c). */
void tide__task_stacks_destroy(tide_loop *loop);

/* Records the expiry of a scope and interrupts the task's wait (scope.c → task.c). */
void tide__task_interrupt(tide__task *task);

/* The reason the running task's awaits must end now: TIDE_ECANCELED, TIDE_ETIMEDOUT or 0. */
int tide__task_stop_reason(const tide__task *task);

#endif
