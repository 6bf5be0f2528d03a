/* core/task.c — tasks: spawning, the switch in and out of a task, await, yield, cancellation.
 *
 * Every switch into a task happens on the loop's own stack, from a ready-queue callback: the
 * task's first step, a done-callback of the future it awaits, or the step a yield queued. A task
 * never switches directly into another task, so there is exactly one place (resume) that enters
 * a task and one (suspend) that leaves it, and the loop always knows which task is running.
 *
 * A task's record (tide__task, its future inside) lives at the top of its own stack,
 * so the stack goes back to the loop's cache when the future's last reference goes
 * (tide__task_free). A finished task cannot free the stack it is running on anyway: it settles
 * its future, marks itself done and switches away for the last time; resume, back on the loop's
 * stack, moves it to the loop's list of finished tasks and drops the task's own reference to its
 * future, which frees it unless someone else still holds the future.
 *
 * The task forms of I/O wait for an op on the task's stack rather than for a future
 * (tide__task_await_op): the op records its task, and its completion reschedules the task. */
#include <assert.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/loop_internal.h"
#include "core/op.h"
#include "core/sys/clock.h"
#include "core/task_internal.h"
#include "tide/error.h"

enum {
  DEFAULT_STACK_SIZE = 64 * 1024,
  /* Stacks of the default size that finished tasks leave are all kept for reuse: a burst of ten
   * thousand tasks is as often as not followed by another (a gather in a loop), and mapping a
   * stack, its guard page and its first pages costs microseconds (bench/compare/run_chain.sh).
   * Those that then sit unused for a whole trim period are unmapped, down to this many, kept for
   * sporadic spawns: the memory of a burst goes back one to two periods after it. */
  STACK_CACHE_KEEP = 64,
  STACK_TRIM_BATCH = 256, /* stacks a tick unmaps at most (tide__task_stacks_trim) */
  /* Task ops in a row that may complete without suspending before the task yields once: long
   * enough that a busy connection's reads and writes rarely pay a switch, short enough that
   * other tasks and the loop's poll are never kept waiting for long. */
  SYNC_RUN_LIMIT = 32
};

void tide_task_options_init(tide_task_options *opts) {
  if (opts == NULL)
    return;
  opts->name = NULL;
  opts->stack_size = 0;
}

const char *tide_task_name(const tide_future *f) {
  return f != NULL && f->kind == TIDE__FUTURE_TASK ? tide__task_of(f)->name : NULL;
}

int tide_in_task(const tide_loop *loop) {
  return loop != NULL && loop->current_task != NULL;
}

/* ---- stacks ---------------------------------------------------------------------------- */

/* Bytes at the top of every task's stack that hold the task record itself (see tide_spawn). */
enum { RECORD_BYTES = (sizeof(tide__task) + 63) / 64 * 64 };

static const int64_t STACK_TRIM_PERIOD_NS = 1000 * 1000 * 1000;

/* Gives back most of the cache array's room once a trim has left it mostly empty: it grew to
 * the largest burst (a pointer and a size per stack). */
static void shrink_stack_cache(tide_loop *loop) {
  size_t capacity = loop->stack_cache_capacity;
  if (capacity <= 64 || loop->stack_cache_count > capacity / 4)
    return;
  size_t smaller = loop->stack_cache_count * 2 > 16 ? loop->stack_cache_count * 2 : 16;
  tide__stack *cache = realloc(loop->stack_cache, smaller * sizeof *cache);
  if (cache == NULL)
    return; /* keeping the larger array is harmless */
  loop->stack_cache = cache;
  loop->stack_cache_capacity = smaller;
}

static int take_stack(tide_loop *loop, size_t size, tide__stack *out) {
  if (size == DEFAULT_STACK_SIZE && loop->stack_cache_count > 0) {
    *out = loop->stack_cache[--loop->stack_cache_count];
    if (loop->stack_cache_count < loop->stack_cache_low)
      loop->stack_cache_low = loop->stack_cache_count;
    return 0;
  }
  if (size > SIZE_MAX - RECORD_BYTES)
    return TIDE_ENOMEM;
  return tide__stack_alloc(out, size + RECORD_BYTES);
}

/* `stack` is a copy: the original lives inside the stack being given back. */
static void give_back_stack(tide_loop *loop, tide__stack stack, int default_size) {
  if (default_size) {
    if (loop->stack_cache_count == loop->stack_cache_capacity) {
      size_t capacity = loop->stack_cache_capacity ? loop->stack_cache_capacity * 2 : 16;
      tide__stack *cache = realloc(loop->stack_cache, capacity * sizeof *cache);
      if (cache == NULL) {
        tide__stack_free(&stack);
        return;
      }
      loop->stack_cache = cache;
      loop->stack_cache_capacity = capacity;
    }
    loop->stack_cache[loop->stack_cache_count++] = stack;
    return;
  }
  tide__stack_free(&stack);
}

void tide__task_stacks_trim(tide_loop *loop) {
  /* The cache is a stack: the bottom `low` entries were not taken once since the last trim.
   * They go first (the oldest, coldest), the recently used ones stay. A tick unmaps at most
   * STACK_TRIM_BATCH of them (unmapping 20,000 stacks at once stalled a tick for ~80 ms); the
   * rest go in the ticks right after, which the deadline left due makes immediate. */
  size_t idle = loop->stack_cache_low;
  size_t spare =
      loop->stack_cache_count > STACK_CACHE_KEEP ? loop->stack_cache_count - STACK_CACHE_KEEP : 0;
  size_t drop = idle < spare ? idle : spare;
  int more = drop > STACK_TRIM_BATCH;
  if (more)
    drop = STACK_TRIM_BATCH;
  if (drop > 0) {
    for (size_t i = 0; i < drop; i++)
      tide__stack_free(&loop->stack_cache[i]);
    loop->stack_cache_count -= drop;
    memmove(loop->stack_cache, loop->stack_cache + drop,
            loop->stack_cache_count * sizeof *loop->stack_cache);
    shrink_stack_cache(loop);
  }
  if (more) {
    loop->stack_cache_low = idle - drop; /* still idle, and due now */
    return;
  }
  loop->stack_cache_low = loop->stack_cache_count;
  loop->stack_trim_at = loop->now + STACK_TRIM_PERIOD_NS;
}

int64_t tide__task_stacks_trim_deadline(const tide_loop *loop) {
  return loop->stack_cache_count > STACK_CACHE_KEEP ? loop->stack_trim_at : INT64_MAX;
}

void tide__task_stacks_destroy(tide_loop *loop) {
  while (loop->stack_cache_count > 0)
    tide__stack_free(&loop->stack_cache[--loop->stack_cache_count]);
  free(loop->stack_cache);
  loop->stack_cache = NULL;
  loop->stack_cache_capacity = 0;
  /* Every task has finished or been destroyed by now: the loop's context can let go of what it
   * keeps for them (with fibers, the pooled fibers and the thread's conversion). */
  tide__context_fini_current(&loop->scheduler);
}

/* ---- the task lists ---------------------------------------------------------------------- */

/* Unfinished tasks are on loop->live_tasks (close cancels them, dumps list them); finished tasks
 * whose future is still referenced are on loop->done_tasks (close frees their stacks). */
static void link_task(tide__task **list, tide__task *t) {
  t->live_prev = NULL;
  t->live_next = *list;
  if (*list)
    (*list)->live_prev = t;
  *list = t;
}

static void unlink_task(tide__task **list, tide__task *t) {
  if (t->live_prev)
    t->live_prev->live_next = t->live_next;
  else
    *list = t->live_next;
  if (t->live_next)
    t->live_next->live_prev = t->live_prev;
  t->live_prev = t->live_next = NULL;
}

void tide__task_free(tide_future *f) {
  tide__task *t = tide__task_of(f);
  tide_loop *loop = t->loop;
  unlink_task(&loop->done_tasks, t);
  give_back_stack(loop, t->stack, t->default_stack); /* frees t: it lives in that stack */
}

size_t tide__tasks_free_done(tide_loop *loop) {
  size_t count = 0;
  while (loop->done_tasks != NULL) {
    tide__task *t = loop->done_tasks;
    unlink_task(&loop->done_tasks, t);
    tide__stack stack = t->stack;
    tide__stack_free(&stack);
    count++;
  }
  return count;
}

/* ---- entering and leaving a task -------------------------------------------------------- */

/* Back on the loop's stack after the task's last switch: frees what the task no longer needs. */
static void reap(tide__task *t) {
  tide_loop *loop = t->loop;
  unlink_task(&loop->live_tasks, t);
  link_task(&loop->done_tasks, t);
  tide_future_release(&t->future); /* the task's own reference; may free t and its stack */
}

static void resume(tide__task *t) {
  tide_loop *loop = t->loop;
  assert(loop->current_task == NULL);
  loop->current_task = t;
  t->state = TIDE__TASK_RUNNING;
  if (loop->options.slow_step_ns > 0) {
    int64_t start = tide__clock_now_ns();
    tide__context_switch(&loop->scheduler, &t->context);
    int64_t took = tide__clock_now_ns() - start;
    loop->task_step_ns_total += took;
    if (took > loop->options.slow_step_ns)
      tide__loop_log(loop, TIDE_LOG_WARN, "slow task step: task '%s' ran %.3f ms without awaiting",
                     t->name, (double)took / 1e6);
  } else {
    tide__context_switch(&loop->scheduler, &t->context);
  }
  loop->current_task = NULL;
  if (t->state == TIDE__TASK_DONE)
    reap(t);
}

/* Inside the task: hands the CPU back to the loop until something resumes the task. */
static void suspend(tide__task *t) {
  t->sync_run = 0;
  t->state = TIDE__TASK_SUSPENDED;
  t->suspended_at = t->loop->now;
  tide__context_switch(&t->context, &t->loop->scheduler);
}

static void close_forgotten_scopes(tide__task *t) {
  int open = 0;
  for (tide_scope *s = t->scopes; s != NULL; s = s->private_outer, open++)
    tide_timer_stop(t->loop, &s->private_timer);
  t->scopes = NULL;
  if (open)
    tide__loop_log(t->loop, TIDE_LOG_WARN, "task '%s' returned with %d deadline scope(s) open",
                   t->name, open);
}

static void settle_task(tide__task *t, int rc, void *result) {
  close_forgotten_scopes(t);
  if (t->cancel_delivered && rc != TIDE_ECANCELED)
    tide__loop_log(t->loop, TIDE_LOG_WARN,
                   "task '%s' was cancelled but returned %s: it swallowed its cancellation",
                   t->name, rc == 0 ? "success" : tide_err_name(rc));
  if (rc == 0)
    tide_future_resolve(&t->future, result);
  else
    tide_future_fail(&t->future, rc < 0 ? rc : TIDE_EINVAL);
  t->state = TIDE__TASK_DONE;
}

static void task_entry(void *arg) {
  tide__task *t = arg;
  void *result = NULL;
  int rc = t->fn(t->loop, t->arg, &result);
  settle_task(t, rc, result);
  tide__context_switch_final(&t->context, &t->loop->scheduler);
  abort(); /* unreachable: nothing ever switches back into a finished task */
}

/* The ready-queue step: a task's first run, or its return from a yield. */
static void task_step(void *arg) {
  tide__task *t = arg;
  if (t->state == TIDE__TASK_CREATED && t->cancel_pending) {
    /* Cancelled before it ever ran: there is nothing to clean up, so it never starts. */
    tide_future_fail(&t->future, TIDE_ECANCELED);
    t->state = TIDE__TASK_DONE;
    reap(t);
    return;
  }
  resume(t);
}

/* Done-callback of the awaited future. */
static void awaited_settled(tide_future *f, void *arg) {
  (void)f;
  resume(arg);
}

/* ---- cancellation and deadlines ---------------------------------------------------------- */

int tide__task_stop_reason(const tide__task *t) {
  if (t->cancel_pending)
    return TIDE_ECANCELED;
  for (const tide_scope *s = t->scopes; s != NULL; s = s->private_outer) {
    if (s->private_expired)
      return TIDE_ETIMEDOUT;
  }
  return 0;
}

void tide__task_interrupt(tide__task *t) {
  if (t->state != TIDE__TASK_SUSPENDED)
    return;
  if (t->awaiting != NULL)
    tide_future_cancel(t->awaiting);
  else if (t->awaiting_op != NULL && !t->op_cancel_sent) {
    /* Once per op: a second stop (a deadline after a cancel) must not ask a backend that
     * completes cancellations later to cancel the same op twice. */
    t->op_cancel_sent = 1;
    tide__backend_cancel(t->loop->backend, t->awaiting_op);
  }
}

static void cancel_task(tide_future *f, void *arg) {
  (void)f;
  tide__task *t = arg;
  if (t->state == TIDE__TASK_DONE)
    return;
  t->cancel_pending = 1;
  tide__task_interrupt(t);
}

/* Turns a stop reason into the await's return value, marking a cancellation delivered. */
static int deliver(tide__task *t, int reason) {
  if (reason == TIDE_ECANCELED) {
    t->cancel_pending = 0;
    t->cancel_delivered = 1;
  }
  return reason;
}

/* A bounded copy; snprintf would cost more than the rest of a spawn. */
static void copy_name(char *dst, size_t size, const char *src) {
  size_t i = 0;
  for (; i + 1 < size && src[i] != '\0'; i++)
    dst[i] = src[i];
  dst[i] = '\0';
}

/* ---- public ------------------------------------------------------------------------------ */

int tide_spawn(tide_loop *loop, tide_task_fn fn, void *arg, const tide_task_options *opts,
               tide_future **out) {
  if (loop == NULL || fn == NULL)
    return TIDE_EINVAL;
  if (loop->closing)
    return TIDE_ECLOSED;
  tide_task_options defaults;
  if (opts == NULL) {
    tide_task_options_init(&defaults);
    opts = &defaults;
  }
  size_t stack_size = opts->stack_size ? opts->stack_size : DEFAULT_STACK_SIZE;
  /* The task record lives at the top of its own stack, above the frames: it costs no memory of
   * its own (its page is the stack's first, touched anyway) and goes when the task's future is
   * released (tide__task_free). */
  tide__stack stack;
  int err = take_stack(loop, stack_size, &stack);
  if (err != 0)
    return err;
  tide__task *t = (tide__task *)((char *)stack.base + stack.size - RECORD_BYTES);
  memset(t, 0, sizeof *t);
  t->stack = stack;
  t->default_stack = stack_size == DEFAULT_STACK_SIZE;
  tide__future_init(&t->future, loop, TIDE__FUTURE_TASK);
  t->future.label = t->name;
  copy_name(t->name, sizeof t->name, opts->name ? opts->name : "task");
  t->loop = loop;
  t->fn = fn;
  t->arg = arg;
  t->state = TIDE__TASK_CREATED;
  tide__context_make(&t->context, stack.base, stack.size - RECORD_BYTES, task_entry, t);
  tide_future_set_canceller(&t->future, cancel_task, t);
  link_task(&loop->live_tasks, t);
  t->step.fn = task_step;
  t->step.arg = t;
  t->step.pooled = 0;
  tide__loop_schedule(loop, &t->step);
  if (out != NULL) {
    tide_future_retain(&t->future);
    *out = &t->future;
  }
  return 0;
}

int tide_await(tide_future *f, void **value) {
  if (f == NULL)
    return TIDE_EINVAL;
  tide__task *t = f->loop->current_task;
  if (t == NULL || f == &t->future)
    return TIDE_EINVAL; /* not in a task of f's loop, or a task awaiting itself */
  if (f->state == TIDE_FUTURE_PENDING) {
    if (tide__task_stop_reason(t) != 0)
      tide_future_cancel(f);
    if (f->state == TIDE_FUTURE_PENDING) {
      int err = tide_future_on_done(f, awaited_settled, t);
      if (err != 0)
        return err;
      t->awaiting = f;
      suspend(t);
      t->awaiting = NULL;
    }
  }
  int rc = tide_future_result(f, value);
  int reason = tide__task_stop_reason(t);
  /* The wait ended because of the stop only if the future was cancelled; a future that completed
   * anyway keeps its real result, and the stop waits for the next await. */
  if (reason != 0 && rc == TIDE_ECANCELED)
    return deliver(t, reason);
  return rc;
}

void tide__task_op_done(tide__op *op) {
  tide__task *t = op->task;
  op->task = NULL;
  /* A task suspended on the op resumes in a later tick, never inside the completion (which may
   * run inside the backend's walk of a queue). A task still inside tide__task_await_op's submit
   * sees op->task cleared and goes on without suspending. */
  if (t->awaiting_op == op)
    tide__loop_schedule(t->loop, &t->step);
}

/* tide__task_stop_reason without the call when nothing can stop the task: the common case,
 * checked twice per I/O operation. */
static int stop_reason(const tide__task *t) {
  return t->cancel_pending || t->scopes != NULL ? tide__task_stop_reason(t) : 0;
}

intptr_t tide__task_await_op(tide__op *op) {
  tide__task *t = op->loop->current_task;
  assert(t != NULL && op->future == NULL);
  op->task = t;
  /* tide__op_submit, without the call. */
  tide_loop *loop = t->loop;
  loop->pending_ops++;
  int err = tide__backend_submit(loop->backend, op);
  if (err != 0)
    tide__op_complete(op, err);
  if (op->task != NULL && stop_reason(t) != 0)
    tide__backend_cancel(t->loop->backend, op);
  if (op->task != NULL) {
    t->awaiting_op = op;
    t->op_cancel_sent = 0;
    suspend(t);
    t->awaiting_op = NULL;
  } else if (++t->sync_run >= SYNC_RUN_LIMIT) {
    tide__loop_schedule(t->loop, &t->step);
    suspend(t);
  }
  intptr_t rc = op->result;
  int reason = stop_reason(t);
  if (reason != 0 && rc == TIDE_ECANCELED)
    return deliver(t, reason);
  return rc;
}

int tide__task_try_op(tide__op *op, intptr_t *result) {
  if (!tide__backend_try_now(op->loop->backend, op, result))
    return 0;
  /* Finished without a switch: counted in the same run as tide__task_await_op's synchronous
   * completions, so that the bound on such runs holds whichever path the op took. */
  tide__task *t = op->loop->current_task;
  if (++t->sync_run >= SYNC_RUN_LIMIT) {
    tide__loop_schedule(t->loop, &t->step);
    suspend(t);
  }
  return 1;
}

int tide_yield(tide_loop *loop) {
  if (!tide_in_task(loop))
    return TIDE_EINVAL;
  tide__task *t = loop->current_task;
  int reason = tide__task_stop_reason(t);
  if (reason != 0)
    return deliver(t, reason);
  tide__loop_schedule(loop, &t->step);
  suspend(t);
  reason = tide__task_stop_reason(t);
  return reason != 0 ? deliver(t, reason) : 0;
}

int tide_sleep(tide_loop *loop, int64_t delay_ns) {
  if (!tide_in_task(loop) || delay_ns < 0)
    return TIDE_EINVAL;
  tide_future *f;
  int err = tide_sleep_future(loop, delay_ns, &f);
  if (err != 0)
    return err;
  err = tide_await(f, NULL);
  tide_future_release(f);
  return err;
}

/* ---- debugging ------------------------------------------------------------------------- */

static const char *state_name(const tide__task *t) {
  switch ((tide__task_state)t->state) {
    case TIDE__TASK_CREATED:
      return "created";
    case TIDE__TASK_RUNNING:
      return "running";
    case TIDE__TASK_SUSPENDED:
      return "suspended";
    case TIDE__TASK_DONE:
      return "done";
  }
  return "?";
}

int tide_loop_dump_tasks(tide_loop *loop, FILE *out) {
  if (loop == NULL || out == NULL)
    return TIDE_EINVAL;
  int count = 0;
  int64_t now = tide_loop_update_time(loop);
  for (const tide__task *t = loop->live_tasks; t != NULL; t = t->live_next, count++) {
    fprintf(out, "task '%s' %s", t->name, state_name(t));
    if (t->state == TIDE__TASK_SUSPENDED) {
      fprintf(out, " %.3f s", (double)(now - t->suspended_at) / 1e9);
      const char *awaited_task = tide_task_name(t->awaiting);
      if (t->awaiting_op != NULL)
        fprintf(out, " awaiting I/O");
      else if (t->awaiting == NULL)
        fprintf(out, " in a yield");
      else if (awaited_task != NULL)
        fprintf(out, " awaiting task '%s'", awaited_task);
      else
        fprintf(out, " awaiting future %p", (void *)t->awaiting);
    }
    if (t->cancel_pending)
      fprintf(out, " (cancellation pending)");
    fputc('\n', out);
  }
  return count;
}

/* ---- close ------------------------------------------------------------------------------- */

void tide__tasks_cancel_all(tide_loop *loop) {
  for (tide__task *t = loop->live_tasks; t != NULL; t = t->live_next) {
    tide__loop_log(loop, TIDE_LOG_WARN,
                   "task '%s' was still pending when the loop closed; "
                   "cancelling it",
                   t->name);
    tide_future_cancel(&t->future);
  }
}

size_t tide__tasks_destroy_remaining(tide_loop *loop) {
  size_t count = 0;
  while (loop->live_tasks != NULL) {
    tide__task *t = loop->live_tasks;
    tide__loop_log(loop, TIDE_LOG_WARN,
                   "task '%s' destroyed while pending: it did not finish after cancellation",
                   t->name);
    unlink_task(&loop->live_tasks, t);
    tide__context_destroy(&t->context); /* before its stack: with fibers, frees the fiber */
    tide__stack stack = t->stack;       /* the record lives on that stack: copy it out first */
    tide__stack_free(&stack);
    count++;
  }
  return count;
}
