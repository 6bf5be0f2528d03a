/* core/task_internal.h — the task object, shared by task.c, scope.c and the loop's close. */
#ifndef TIDE_TASK_INTERNAL_H
#define TIDE_TASK_INTERNAL_H

#include <stddef.h>
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
  /* Hot: what every switch and every wake-up touches, first, so that a task waking up after a
   * long sleep (one of a thousand connections) costs two cache misses here, not five. The record
   * sits at a 64-byte boundary (task.c). */
  tide__ready step; /* queued to start or resume the task */
  tide_loop *loop;
  struct tide__op *awaiting_op; /* the task op (on this stack) the task waits for */
  tide_scope *scopes;           /* innermost open deadline scope */
  uint8_t state;                /* tide__task_state */
  uint8_t cancel_pending;       /* cancellation requested, not yet delivered */
  uint8_t sync_run;             /* task ops in a row that completed without suspending */
  uint8_t op_cancel_sent;       /* awaiting_op has been asked to stop */
  tide__context context;        /* its saved stack pointer comes first */
  /* Cold. The task and its outcome are one object, placed at the top of the task's own stack
   * (task.c), that lives until the last reference to the future goes (future.c calls
   * tide__task_free, which gives the stack back). */
  tide_future future;
  tide_task_fn fn;
  void *arg;
  tide_future *awaiting; /* what the suspended task waits for (NULL for a yield or an op) */
  tide__stack stack;
  int64_t suspended_at; /* tide_now when it last suspended, for dumps */
  uint8_t cancel_delivered;
  uint8_t default_stack; /* the stack has the default size: it goes back to the loop's cache */
  tide__task *live_prev; /* the loop's list of unfinished tasks, or of finished ones whose future
                            is still referenced */
  tide__task *live_next;
  char name[32];
};

/* The task whose future is `f` (f->kind is TIDE__FUTURE_TASK). */
static inline tide__task *tide__task_of(const tide_future *f) {
  return (tide__task *)((char *)(uintptr_t)f - offsetof(tide__task, future));
}

/* Inside a task: submits `op`, a task op (future NULL, fields set as for tide__op_submit, living
 * on the running task's stack), and waits until it has completed, with tide_await's rules for
 * cancellation and deadlines: a stop request cancels the op, and the task resumes only once the
 * backend has completed it (later, on a completion backend), so the op and its buffer stay valid
 * until then. Returns the op's result (>= 0 bytes, or a TIDE_E* code; TIDE_ECANCELED or
 * TIDE_ETIMEDOUT when a stop ended it). An op that completes at once does not suspend the task,
 * but a run of such completions is cut with a yield, so a task whose data is always ready
 * neither starves the other tasks nor the loop's poll. Loop thread, inside a task only. */
intptr_t tide__task_await_op(struct tide__op *op);

/* Inside a task: performs `op` (a task-op write, not yet submitted, fields set as for
 * tide__task_await_op) at once if the backend can finish it without waiting
 * (tide__backend_try_now). Returns 1 with the op's result in *result; the op was never
 * submitted, so no finish hook ran and the caller does its bookkeeping itself. Returns 0 when the
 * op must be awaited with tide__task_await_op (op->done keeps a partial transfer's progress).
 * Completions on this path count towards the same bound as tide__task_await_op's synchronous
 * ones: a run of them yields once. Loop thread, inside a task only. */
int tide__task_try_op(struct tide__op *op, intptr_t *result);

/* Called by tide__op_complete for a task op: wakes its task (op.c → task.c). */
void tide__task_op_done(struct tide__op *op);

/* Cancels every unfinished task of the loop, for tide_loop_close (task.c). */
void tide__tasks_cancel_all(tide_loop *loop);

/* Reports and frees tasks that did not finish during close (task.c). Returns how many. */
size_t tide__tasks_destroy_remaining(tide_loop *loop);

/* Frees the stacks (and so the records) of finished tasks whose futures were never released, for
 * tide_loop_close (task.c). Returns how many. */
size_t tide__tasks_free_done(tide_loop *loop);

/* Frees the loop's cached stacks and what its context keeps for tasks (with fibers, the pooled
 * fibers), after the last task has finished or been destroyed (task.c). */
void tide__task_stacks_destroy(tide_loop *loop);

/* Once loop->now has reached loop->stack_trim_at: unmaps the cached stacks that sat unused since
 * the previous trim (down to a few kept for sporadic spawns) and schedules the next trim. */
void tide__task_stacks_trim(tide_loop *loop);

/* When the loop must wake to trim its cached stacks, even with nothing else to do (loop time);
 * INT64_MAX when there is nothing to trim. */
int64_t tide__task_stacks_trim_deadline(const tide_loop *loop);

/* Records the expiry of a scope and interrupts the task's wait (scope.c → task.c). */
void tide__task_interrupt(tide__task *task);

/* The reason the running task's awaits must end now: TIDE_ECANCELED, TIDE_ETIMEDOUT or 0. */
int tide__task_stop_reason(const tide__task *task);

#endif
