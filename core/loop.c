/* core/loop.c — the event loop: creation, the tick, run modes, stop, wake, close.
 *
 * Thread-safety lives in exactly two atomics and the inbox mutex. `wake_pending` coalesces
 * wake-ups: whoever flips it from 0 to 1 pays for the backend wake (an eventfd write); everyone
 * else rides along until the loop flips it back at the start of its next tick, before it takes the
 * inbox, so a post that lands after the take always finds the flag clear and wakes the loop. (The
 * executor bridge's completion stack, taken in the same place, relies on the same order.) While
 * the loop spins before its poll (spin_for_wake) the flag holds WAKE_SPINNING: a waker's exchange
 * then finds it nonzero and skips the backend wake, and the 1 it leaves is the wake. */
#include "core/sys/atomic.h"
#include <stdlib.h>

#include "core/executor/bridge.h"
#include "core/future_internal.h"
#include "core/loop_internal.h"
#include "core/net_internal.h"
#include "core/sys/clock.h"
#include "core/sys/thread.h"
#include "core/task_internal.h"
#include "tide/error.h"

enum {
  DEFAULT_POLL_EVENTS = 256,
  /* tide_loop_close runs callbacks until none is left; callbacks that keep scheduling more are
   * cut off after this many rounds so that close always returns. */
  CLOSE_DRAIN_ROUNDS = 10000,
  /* When only completions of cancelled ops are left to come (a completion backend delivers
   * them through its queue, later), each drain round waits this long for them instead of
   * spinning: CLOSE_DRAIN_ROUNDS such rounds give the OS 10 s to settle them. */
  CLOSE_SETTLE_POLL_NS = 1000000
};

/* The values of wake_pending. */
enum { WAKE_NONE = 0, WAKE_PENDING = 1, WAKE_SPINNING = 2 };

void tide_loop_options_init(tide_loop_options *opts) {
  if (opts == NULL)
    return;
  opts->log = NULL;
  opts->log_user = NULL;
  opts->poll_events = DEFAULT_POLL_EVENTS;
  opts->slow_step_ns = 0;
}

int tide_loop_new(tide_loop **out, const tide_loop_options *opts) {
  if (out == NULL)
    return TIDE_EINVAL;
  tide_loop *loop = calloc(1, sizeof *loop);
  if (loop == NULL)
    return TIDE_ENOMEM;
  if (opts)
    loop->options = *opts;
  else
    tide_loop_options_init(&loop->options);
  if (loop->options.poll_events == 0)
    loop->options.poll_events = DEFAULT_POLL_EVENTS;
  int err = tide__inbox_init(&loop->inbox);
  if (err != 0)
    goto fail_loop;
  err = tide__backend_open(loop, loop->options.poll_events, &loop->backend);
  if (err != 0)
    goto fail_inbox;
  atomic_init(&loop->wake_pending, 0);
  atomic_init(&loop->stop_requested, 0);
  tide__timer_heap_init(&loop->timers);
  tide__pool_init(&loop->ready_pool, sizeof(tide__ready));
  tide__pool_init(&loop->future_pool, sizeof(tide_future));
  tide__pool_init(&loop->done_pool, sizeof(tide__done_callback));
  tide__pool_init(&loop->sleep_pool, tide__sleep_op_size());
  tide__pool_init(&loop->op_pool, sizeof(tide__op));
  tide__pool_init(&loop->handle_pool, tide__handle_size());
  tide__context_init_current(&loop->scheduler);
  loop->now = tide__clock_now_ns();
  *out = loop;
  return 0;

fail_inbox:
  tide__inbox_destroy(&loop->inbox);
fail_loop:
  free(loop);
  return err;
}

int64_t tide_now(const tide_loop *loop) {
  return loop ? loop->now : 0;
}

int64_t tide_loop_update_time(tide_loop *loop) {
  if (loop == NULL)
    return 0;
  loop->now = tide__clock_now_ns();
  return loop->now;
}

int tide_call_soon(tide_loop *loop, void (*fn)(void *), void *arg) {
  if (loop == NULL || fn == NULL)
    return TIDE_EINVAL;
  tide__ready *node = tide__pool_get(&loop->ready_pool);
  if (node == NULL)
    return TIDE_ENOMEM;
  node->fn = fn;
  node->arg = arg;
  node->pooled = 1;
  tide__ready_queue_push(&loop->ready, node);
  return 0;
}

int tide_loop_wake(tide_loop *loop) {
  if (loop == NULL)
    return TIDE_EINVAL;
  /* Only the 0 -> 1 transition wakes: a 1 means a wake is in flight and the loop has not yet
   * cleared the flag, which it does before taking the inbox (see run_posted); a 2 means the loop
   * is spinning on the flag and sees this 1 without a backend wake (see spin_for_wake). */
  if (atomic_exchange_explicit(&loop->wake_pending, WAKE_PENDING, memory_order_acq_rel) ==
      WAKE_NONE)
    return tide__backend_wake(loop->backend);
  return 0;
}

int tide_call_soon_threadsafe(tide_loop *loop, void (*fn)(void *), void *arg) {
  if (loop == NULL || fn == NULL)
    return TIDE_EINVAL;
  int err = tide__inbox_post(&loop->inbox, fn, arg);
  if (err != 0)
    return err;
  /* A failed wake cannot lose the post: it sits in the inbox for the next tick. */
  (void)tide_loop_wake(loop);
  return 0;
}

void tide_loop_stop(tide_loop *loop) {
  if (loop == NULL)
    return;
  atomic_store_explicit(&loop->stop_requested, 1, memory_order_release);
  (void)tide_loop_wake(loop);
}

int tide_loop_ref(tide_loop *loop) {
  if (loop == NULL)
    return TIDE_EINVAL;
  loop->refs++;
  return 0;
}

int tide_loop_unref(tide_loop *loop) {
  if (loop == NULL || loop->refs == 0)
    return TIDE_EINVAL;
  loop->refs--;
  return 0;
}

/* tide_loop_alive without the call: the loop asks twice a tick. */
static inline int loop_alive(const tide_loop *loop) {
  return !tide__ready_queue_empty(&loop->ready) || loop->keepalive_timers > 0 ||
         loop->pending_ops > 0 || loop->refs > 0 ||
         atomic_load_explicit(&loop->wake_pending, memory_order_relaxed) != 0;
}

int tide_loop_alive(const tide_loop *loop) {
  return loop != NULL && loop_alive(loop);
}

/* Runs what other threads posted before this point. */
static void run_posted(tide_loop *loop) {
  if (atomic_load_explicit(&loop->wake_pending, memory_order_relaxed) == 0)
    return;
  /* Cleared before the take: the inbox mutex orders this store before any post that misses the
   * take, so that poster's exchange reads 0 and wakes the loop again. */
  atomic_store_explicit(&loop->wake_pending, 0, memory_order_relaxed);
  tide__inbox_take(&loop->inbox, &loop->posted);
  for (size_t i = 0; i < loop->posted.count; i++)
    loop->posted.items[i].fn(loop->posted.items[i].arg);
  loop->posted.count = 0;
  tide__executor_run_completions(loop); /* the executor's completions, after the same clear */
}

/* Runs fn(arg) and reports it if it ran longer than the slow-step threshold. Task steps inside
 * it are timed (and reported) by the task layer itself and subtracted here. */
static void run_timed(tide_loop *loop, void (*fn)(void *), void *arg) {
  int64_t task_time_before = loop->task_step_ns_total;
  int64_t start = tide__clock_now_ns();
  fn(arg);
  int64_t took = tide__clock_now_ns() - start - (loop->task_step_ns_total - task_time_before);
  if (took > loop->options.slow_step_ns)
    tide__loop_log(loop, TIDE_LOG_WARN,
                   "slow callback: a callback (argument %p) ran %.3f ms without returning to "
                   "the loop",
                   arg, (double)took / 1e6);
}

/* Runs the callbacks that were ready when this was called, and only those. */
static void run_ready(tide_loop *loop) {
  tide__ready *node = tide__ready_queue_take_all(&loop->ready);
  while (node != NULL) {
    tide__ready *next = node->next;
    void (*fn)(void *) = node->fn;
    void *arg = node->arg;
    if (node->pooled)
      tide__pool_put(&loop->ready_pool, node);
    if (loop->options.slow_step_ns > 0)
      run_timed(loop, fn, arg);
    else
      fn(arg);
    node = next;
  }
}

/* How long the poll may block: not at all when something is ready or nothing could ever wake
 * the loop (the callbacks just run may have finished the last of its work), else until the
 * nearest timer, capped by the caller's limit (negative: none). */
static int64_t poll_timeout(const tide_loop *loop, int64_t limit_ns) {
  if (!loop_alive(loop) || !tide__ready_queue_empty(&loop->ready) ||
      atomic_load_explicit(&loop->stop_requested, memory_order_relaxed) ||
      atomic_load_explicit(&loop->wake_pending, memory_order_relaxed))
    return 0;
  /* An idle loop still wakes to give back the stacks of a past burst (task.c). */
  int64_t deadline = tide__task_stacks_trim_deadline(loop);
  const tide__timer_entry *next = tide__timer_heap_min(&loop->timers);
  if (next != NULL && next->deadline < deadline)
    deadline = next->deadline;
  if (deadline == INT64_MAX)
    return limit_ns;
  int64_t until = deadline > loop->now ? deadline - loop->now : 0;
  return limit_ns >= 0 && limit_ns < until ? limit_ns : until;
}

/* A tick whose callbacks left more callbacks ready would poll with a zero timeout: a system call
 * that usually finds nothing. Such busy ticks skip the poll, except every this-many-th one, so
 * I/O is never starved (Tokio's "event interval" does the same, with the same number). */
enum { POLL_EVERY_BUSY_TICKS = 61 };

static int should_poll(tide_loop *loop) {
  if (tide__ready_queue_empty(&loop->ready) ||
      atomic_load_explicit(&loop->stop_requested, memory_order_relaxed)) {
    loop->busy_ticks = 0;
    return 1;
  }
  if (++loop->busy_ticks < POLL_EVERY_BUSY_TICKS)
    return 0;
  loop->busy_ticks = 0;
  return 1;
}

/* Spinning before the poll. A loop waiting for executor jobs that take a microsecond would block
 * in the poll and be woken by the worker's eventfd write: a system call on the worker and a
 * context switch on the loop, several microseconds each, more than the job. So while such jobs
 * are in flight (the executor bridge decides, and backs off when spins keep finding nothing) the
 * loop first spins on its wake flag, holding it at WAKE_SPINNING so that wakers skip the backend
 * wake. The spin is bounded by the bridge's budget (a few microseconds) and by the poll
 * timeout, so timers are not late; I/O readiness is seen by the poll that follows, at most that
 * budget later. Returns 1 if a wake came (the poll must not block). Relaxed orderings: the flag
 * carries no data; what a waker posted is taken by run_posted under the inbox mutex or the
 * completion stack's acq_rel exchange, and the CASes keep the wake protocol because every change
 * of the flag is an RMW in one modification order (a waker after the final CAS reads 0 and wakes
 * the backend; one before it makes the CAS fail). */
static int spin_for_wake(tide_loop *loop, int64_t timeout_ns) {
  if (loop->executor_bridge == NULL)
    return 0; /* no executor jobs can be in flight: nothing to spin for (the common case) */
  int64_t budget = tide__executor_spin_ns(loop);
  if (budget <= 0)
    return 0;
  if (timeout_ns >= 0 && timeout_ns < budget)
    budget = timeout_ns;
  int flag = WAKE_NONE;
  if (!atomic_compare_exchange_strong_explicit(&loop->wake_pending, &flag, WAKE_SPINNING,
                                               memory_order_relaxed, memory_order_relaxed))
    return 1;
  int64_t deadline = tide__clock_now_ns() + budget;
  int woken = 0;
  for (unsigned i = 1; !woken; i++) {
    woken = atomic_load_explicit(&loop->wake_pending, memory_order_relaxed) != WAKE_SPINNING;
    if (!woken && i % 64 == 0 && tide__clock_now_ns() >= deadline)
      break;
    tide__cpu_relax();
  }
  flag = WAKE_SPINNING;
  if (!woken)
    woken = !atomic_compare_exchange_strong_explicit(&loop->wake_pending, &flag, WAKE_NONE,
                                                     memory_order_relaxed, memory_order_relaxed);
  tide__executor_spin_ended(loop, woken);
  return woken;
}

static int tick(tide_loop *loop, int64_t limit_ns) {
  run_posted(loop);
  run_ready(loop);
  int n = 0;
  if (should_poll(loop)) {
    int64_t timeout = poll_timeout(loop, limit_ns);
    if (timeout != 0 && spin_for_wake(loop, timeout))
      timeout = 0;
    n = tide__backend_poll(loop->backend, timeout);
  }
  loop->now = tide__clock_now_ns();
  if (loop->now >= loop->stack_trim_at)
    tide__task_stacks_trim(loop);
  if (n < 0) {
    tide__loop_log(loop, TIDE_LOG_ERROR, "backend poll failed: %s", tide_strerror(n));
    return n;
  }
  if (tide__timer_heap_min(&loop->timers) != NULL) /* most ticks of an I/O loop have none */
    tide__timers_fire(loop);
  return 0;
}

static int enter(tide_loop *loop) {
  if (loop == NULL)
    return TIDE_EINVAL;
  if (loop->running)
    return TIDE_EBUSY;
  if (loop->closing)
    return TIDE_ECLOSED;
  loop->running = 1;
  loop->now = tide__clock_now_ns();
  return 0;
}

int tide_loop_run(tide_loop *loop) {
  int err = enter(loop);
  if (err != 0)
    return err;
  int rc = 0;
  while (loop_alive(loop)) {
    rc = tick(loop, -1);
    if (rc < 0)
      break;
    /* Looked at first, so that the usual tick pays a plain load, not a locked exchange. */
    if (atomic_load_explicit(&loop->stop_requested, memory_order_relaxed) &&
        atomic_exchange_explicit(&loop->stop_requested, 0, memory_order_acquire)) {
      rc = 1;
      break;
    }
  }
  loop->running = 0;
  return rc;
}

int tide_loop_run_once(tide_loop *loop, int64_t timeout_ns) {
  int err = enter(loop);
  if (err != 0)
    return err;
  int rc = tick(loop, timeout_ns < 0 ? -1 : timeout_ns);
  atomic_store_explicit(&loop->stop_requested, 0, memory_order_relaxed);
  loop->running = 0;
  return rc < 0 ? rc : tide_loop_alive(loop);
}

/* Runs callbacks (and completes cancelled ops) until nothing is left, within a bound. Returns 1
 * if it drained everything. */
static int drain(tide_loop *loop) {
  for (int round = 0; round < CLOSE_DRAIN_ROUNDS; round++) {
    run_posted(loop);
    run_ready(loop);
    int idle = tide__ready_queue_empty(&loop->ready) &&
               atomic_load_explicit(&loop->wake_pending, memory_order_acquire) == 0;
    if (loop->pending_ops > 0)
      (void)tide__backend_poll(loop->backend, idle ? CLOSE_SETTLE_POLL_NS : 0);
    if (tide__ready_queue_empty(&loop->ready) && loop->pending_ops == 0 &&
        atomic_load_explicit(&loop->wake_pending, memory_order_acquire) == 0)
      return 1;
  }
  return 0;
}

/* Returns the nodes left in the ready queue to the pool (undrainable work at close). */
static size_t drop_ready(tide_loop *loop) {
  size_t dropped = 0;
  tide__ready *node = tide__ready_queue_take_all(&loop->ready);
  while (node != NULL) {
    tide__ready *next = node->next;
    if (node->pooled)
      tide__pool_put(&loop->ready_pool, node);
    node = next;
    dropped++;
  }
  return dropped;
}

static void report_leftovers(tide_loop *loop, size_t armed_timers, size_t task_futures) {
  if (armed_timers > 0)
    tide__loop_log(loop, TIDE_LOG_WARN, "loop closed with %zu timer(s) still armed; disarmed",
                   armed_timers);
  if (loop->future_pool.live > 0)
    tide__loop_log(loop, TIDE_LOG_WARN,
                   "loop closed with %zu future(s) never released; they are freed now",
                   loop->future_pool.live);
  if (task_futures > 0)
    tide__loop_log(loop, TIDE_LOG_WARN,
                   "loop closed with %zu finished task future(s) never released; they are freed "
                   "now",
                   task_futures);
  if (loop->refs > 0)
    tide__loop_log(loop, TIDE_LOG_WARN, "loop closed with %u tide_loop_ref hold(s) still taken",
                   loop->refs);
}

int tide_loop_close(tide_loop *loop) {
  if (loop == NULL)
    return TIDE_EINVAL;
  if (loop->running)
    return TIDE_EBUSY;
  loop->running = 1; /* callbacks run during close must not re-enter the loop */
  loop->closing = 1;
  loop->now = tide__clock_now_ns();
  tide__tasks_cancel_all(loop);
  tide__executor_loop_close(loop); /* run_in_executor jobs end before their memory goes */
  size_t armed = tide__timers_close(loop);
  tide__backend_cancel_all(loop->backend);
  int drained = drain(loop);
  /* What the tasks did not close on their way out is closed now: the loop's memory goes, so a
   * handle left open could never be closed later (its descriptor would leak). */
  (void)tide__handles_close_all(loop);
  tide__inbox_close(&loop->inbox);
  drained = drain(loop) && drained;
  armed += tide__timers_close(loop); /* timers armed by callbacks during the drain */
  if (loop->pending_ops > 0) {
    /* The OS still owns the memory of these ops (an OVERLAPPED, the buffer on a task's stack):
     * IOCP writes a cancelled op's status, and any data that raced in, whenever the cancellation
     * lands. Freeing now could let the kernel write into freed memory, so the loop and all it
     * owns are left allocated — a leak, reported, instead of a corruption. */
    tide__loop_log(loop, TIDE_LOG_ERROR,
                   "loop closed with %zu cancelled I/O operation(s) the OS did not complete; "
                   "the loop's memory is left allocated so that it never writes into freed "
                   "memory",
                   loop->pending_ops);
    return 0;
  }
  if (!drained)
    tide__loop_log(loop, TIDE_LOG_WARN,
                   "loop closed while callbacks kept scheduling more; %zu dropped",
                   drop_ready(loop));
  tide__tasks_destroy_remaining(loop);
  report_leftovers(loop, armed, tide__tasks_free_done(loop));
  tide__backend_close(loop->backend);
  tide__inbox_destroy(&loop->inbox);
  free(loop->posted.items);
  tide__timer_heap_destroy(&loop->timers);
  tide__task_stacks_destroy(loop);
  tide__pool_destroy(&loop->op_pool);
  tide__pool_destroy(&loop->handle_pool);
  tide__pool_destroy(&loop->sleep_pool);
  tide__pool_destroy(&loop->done_pool);
  tide__pool_destroy(&loop->future_pool);
  tide__pool_destroy(&loop->ready_pool);
  free(loop);
  return 0;
}
