/* core/scope.c — deadline scopes for tasks (see tide/task.h).
 *
 * A scope is a caller-owned timer linked into its task's scope chain. When the timer fires it
 * marks the scope expired and interrupts the task's current wait; task.c turns "a scope in my
 * chain has expired" into TIDE_ETIMEDOUT at every await until the scope is exited. */
#include "core/loop_internal.h"
#include "core/task_internal.h"
#include "tide/error.h"

static void scope_expired(tide_timer *timer, void *arg) {
  (void)timer;
  tide_scope *scope = arg;
  scope->private_expired = 1;
  tide__task_interrupt(scope->private_task);
}

int tide_scope_enter(tide_loop *loop, tide_scope *scope, int64_t timeout_ns) {
  if (!tide_in_task(loop) || scope == NULL || timeout_ns < 0)
    return TIDE_EINVAL;
  tide__task *task = loop->current_task;
  tide_timer_init(&scope->private_timer, scope_expired, scope);
  int err = tide_timer_start(loop, &scope->private_timer, timeout_ns, 0);
  if (err != 0)
    return err;
  scope->private_task = task;
  scope->private_expired = 0;
  scope->private_outer = task->scopes;
  task->scopes = scope;
  return 0;
}

int tide_scope_exit(tide_scope *scope) {
  if (scope == NULL || scope->private_task == NULL)
    return TIDE_EINVAL;
  tide__task *task = scope->private_task;
  if (task->scopes != scope || task->loop->current_task != task)
    return TIDE_EINVAL;
  tide_timer_stop(task->loop, &scope->private_timer);
  task->scopes = scope->private_outer;
  scope->private_task = NULL;
  return scope->private_expired ? TIDE_ETIMEDOUT : 0;
}

int tide_await_timeout(tide_future *f, int64_t timeout_ns, void **value) {
  if (f == NULL)
    return TIDE_EINVAL;
  tide_scope scope;
  int err = tide_scope_enter(tide_future_loop(f), &scope, timeout_ns);
  if (err != 0)
    return err;
  int rc = tide_await(f, value);
  tide_scope_exit(&scope);
  return rc;
}
