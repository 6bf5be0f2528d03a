/* tide/task.h — tasks: stackful coroutines that await futures.
 *
 * A task is a function running on its own small stack, bound to one loop. Inside it,
 * tide_await(f) suspends the task (not the thread) until f settles, and the loop runs other
 * tasks and callbacks meanwhile, so sequential-looking code waits concurrently. A task's outcome
 * is a future (tide_spawn hands it to you): await it, add done-callbacks to it, cancel it.
 *
 * Cancellation (DESIGN.md principles 3 and 4). Cancelling a task's future asks the task to stop.
 * The request is delivered at the task's current or next await point: the future it awaits is
 * cancelled, and the await returns only after that future has settled — TIDE_ECANCELED if it
 * was cancelled, or its real result if it completed first (then the request stays pending for
 * the next await, so no completed read is ever thrown away). Once an await has returned
 * TIDE_ECANCELED the request is delivered: later awaits work normally, so cleanup may await
 * (close a connection, flush a log). The task then returns TIDE_ECANCELED; a task that returns
 * anything else after being cancelled has swallowed its cancellation, which is reported.
 *
 * Deadlines are scopes (Trio's cancel scopes, asyncio.timeout): tide_scope_enter arms a deadline
 * for the awaits between it and tide_scope_exit; when it passes, the awaited future is cancelled
 * and the await returns TIDE_ETIMEDOUT once it settled, and so does every later await inside the
 * expired scope (do cleanup after tide_scope_exit). Scopes nest; the nearest deadline wins.
 *
 * Await-only functions called outside a task of that loop return TIDE_EINVAL. Loop thread only.
 */
#ifndef TIDE_TASK_H
#define TIDE_TASK_H

#include <stdio.h>

#include "future.h"
#include "timer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A task's body. `loop` is the loop it runs on (pass it to tide_sleep, tide_spawn, ...: tide
 * keeps no thread-local "current loop"). Return 0 and set *result (initially NULL) to resolve the
 * task's future with it, or return a negative TIDE_E* code to fail it (TIDE_ECANCELED:
 * cancelled). */
typedef int (*tide_task_fn)(tide_loop *loop, void *arg, void **result);

typedef struct tide_task_options {
  const char *name;  /* shown in reports and dumps; copied (up to 31 bytes); NULL: "task" */
  size_t stack_size; /* bytes of stack; 0: the default (64 KiB). Rounded up to pages; a guard
                        page below it turns an overflow into a crash, never silent corruption. */
} tide_task_options;

/* Fills *opts with the defaults. */
void tide_task_options_init(tide_task_options *opts);

/* Creates a task that runs fn(arg) on `loop`, starting in the next tick. If `out` is not NULL it
 * receives a reference to the task's future (release it when done); with NULL the task runs
 * fire-and-forget and a failure of it is still reported (as an unobserved failure, with the
 * task's name). Stacks of the default size are pooled and reused, however many tasks a burst
 * had; those left unused for about a second are unmapped, a few (64) excepted, so the memory of a
 * burst goes back within two seconds of its end while the loop runs, even idle (it wakes for
 * that); a loop that is not running (tide_loop_run has returned) keeps them until it runs again
 * or is closed. The
 * task's own bookkeeping lives at the top of its stack, so a finished task's stack is reused only
 * once the last reference to its future is released (keep task futures no longer than needed).
 * Returns 0, TIDE_EINVAL (NULL loop or fn), TIDE_ENOMEM or TIDE_ECLOSED. Loop thread only; may be
 * called from a task. */
int tide_spawn(tide_loop *loop, tide_task_fn fn, void *arg, const tide_task_options *opts,
               tide_future **out);

/* Inside a task: suspends until `f` settles (no switch if it already has), then returns what
 * tide_future_result would (storing the value in *value if value is not NULL), or
 * TIDE_ECANCELED / TIDE_ETIMEDOUT when the task's cancellation or a deadline scope ended the wait
 * (see above). The caller keeps its reference to f. Returns TIDE_EINVAL if not called from a task
 * of f's loop, or if f is NULL. */
int tide_await(tide_future *f, void **value);

/* Inside a task: lets every other ready callback and task run, then resumes. An await point:
 * returns 0, or TIDE_ECANCELED / TIDE_ETIMEDOUT as tide_await does, or TIDE_EINVAL outside a task.
 */
int tide_yield(tide_loop *loop);

/* Inside a task: sleeps for `delay_ns` (>= 0). Returns 0, TIDE_ECANCELED, TIDE_ETIMEDOUT,
 * TIDE_ENOMEM or TIDE_EINVAL (outside a task, negative delay). */
int tide_sleep(tide_loop *loop, int64_t delay_ns);

/* Inside a task: awaits f for at most timeout_ns. On timeout f is cancelled and this returns
 * TIDE_ETIMEDOUT once f has settled (or f's real result if it completed first). */
int tide_await_timeout(tide_future *f, int64_t timeout_ns, void **value);

/* The name of the task whose future `f` is (as given to tide_spawn), or NULL if f is not a
 * task's future. Valid as long as the caller holds its reference to f. */
const char *tide_task_name(const tide_future *f);

/* 1 if the calling code runs inside a task of `loop`, else 0. */
int tide_in_task(const tide_loop *loop);

/* A deadline scope: caller-owned (usually a local variable in the task), entered and exited in
 * LIFO order by the same task. Fields are private. */
typedef struct tide_scope tide_scope;
struct tide_scope {
  tide_timer private_timer;
  tide_scope *private_outer;
  void *private_task;
  int private_expired;
};

/* Inside a task: opens a scope whose deadline is timeout_ns from now. Returns 0, TIDE_EINVAL
 * (outside a task, NULL, negative timeout) or TIDE_ENOMEM. */
int tide_scope_enter(tide_loop *loop, tide_scope *scope, int64_t timeout_ns);

/* Closes the innermost scope. Returns TIDE_ETIMEDOUT if its deadline passed while it was open,
 * 0 if not, TIDE_EINVAL if `scope` is not the task's innermost open scope. */
int tide_scope_exit(tide_scope *scope);

/* Writes one line per unfinished task of `loop` to `out`: its name, its state (created, running,
 * suspended), what it awaits (a task's name, a future's address, or a yield) and for how long,
 * e.g. "task 'db-task' suspended 1.250 s awaiting future 0x5581c0". For debugging a program that
 * seems stuck. Returns the number of tasks listed, or TIDE_EINVAL. Loop thread only. */
int tide_loop_dump_tasks(tide_loop *loop, FILE *out);

/* asyncio.run: creates a loop, runs main_fn(arg) as its main task until it finishes, closes the
 * loop (cancelling whatever tasks are left, and reporting them), and returns the task's return
 * code; its result goes to *result if result is not NULL. `opts` may be NULL. Returns the loop's
 * creation error, TIDE_ENOMEM, or what main_fn returned. */
int tide_run(tide_task_fn main_fn, void *arg, const tide_loop_options *opts, void **result);

#ifdef __cplusplus
}
#endif
#endif
