/* core/executor/bridge.c — run_in_executor: a job on an executor whose result settles a future
 * on a loop.
 *
 * A record holds the job (embedded: no second allocation), the future and the links of the loop's
 * in-flight list; records come from a per-loop pool, so steady state allocates nothing. The job's
 * `complete` hook runs on whichever thread ends the job (a worker after running it, the loop
 * thread when a cancellation removed it from a queue) and pushes the record onto the bridge's
 * completion stack with one CAS. The loop takes the whole stack with one exchange when it runs
 * its posted work (loop.c calls tide__executor_run_completions from run_posted), so a burst of
 * completions from many workers costs the loop one exchange and one wake-up, and the workers no
 * lock. Only the push that finds the stack empty wakes the loop (tide_loop_wake, itself coalesced
 * with every other wake): the pushes after it ride on that wake until the loop takes the stack.
 *
 * Why that wake is never lost. The loop clears its wake flag and then exchanges the stack head
 * (acq_rel); a worker pushes with an acq_rel CAS and then, if it found the stack empty, wakes.
 * Both are RMWs of the head, so they are ordered: if the push comes first, the exchange takes the
 * record; if the exchange comes first, the first push after it finds the stack empty and reads
 * from the exchange (or from pushes that continue its release sequence), so the clear
 * happens-before that push's wake, which sees the cleared flag (or a later wake's) and wakes the
 * loop again for the records pushed since. (The same argument, with the inbox mutex in place of
 * the head, is loop.c's.)
 *
 * Lifetimes. Each record holds a tide_loop_ref until its delivery runs on the loop, so the loop
 * keeps running while jobs are in flight. After its push a worker touches nothing of the record
 * (the loop may already have reused it): it wakes the loop if it must, and its last access is the
 * decrement of `unposted`, a counter in the bridge, which the loop frees only after seeing it
 * reach zero at close. So close can wait for "every completion is on the stack" without the
 * workers ever touching freed memory.
 *
 * Cancellation (the future's canceller, loop thread): a job not yet started is removed and the
 * future cancelled at once; a running job cannot be stopped, so the record is marked, the job
 * runs to its end, and the delivery then cancels the future and drops the result. A job that had
 * already finished when the cancel came delivers its real result (nothing computed is lost).
 *
 * Spinning. A loop with short jobs in flight would block in its poll and be woken (a system call
 * on the worker, a context switch on the loop) a microsecond later; tide__executor_spin_ns lets
 * it spin for a short bound instead, while CPU jobs are in flight, backing off when spins keep
 * ending empty-handed (long jobs), so a loop waiting for slow jobs soon stops burning the CPU. */
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "core/executor/bridge.h"
#include "core/executor/executor_internal.h"
#include "core/loop_internal.h"
#include "core/pool.h"
#include "core/sys/aligned.h"
#include "tide/error.h"

typedef struct record record;
struct record {
  struct tide_job job; /* first: the complete hook gets the record back from the job */
  struct tide__bridge *bridge;
  tide_future *future;
  record *prev; /* the in-flight list (loop thread only) */
  record *next;
  record *done_next;    /* the completion stack; written by the pusher before its CAS */
  int cancel_requested; /* loop thread only */
};

struct tide__bridge {
  /* Shared with the workers, on a line of its own: every completion touches both. */
  alignas(64) TIDE__ATOMIC(record *) done; /* completed records, newest first */
  atomic_uint unposted;                    /* jobs whose completion has not been pushed yet */

  /* The loop thread's. */
  alignas(64) tide_loop *loop;
  tide_executor *default_executor;
  tide__pool records;
  record *in_flight; /* submitted, not yet delivered */
  size_t count;
  size_t cpu_count;     /* of which on the CPU workers (spinning is for those) */
  unsigned spin_misses; /* spins in a row that ended without a wake */
  unsigned spin_skip;   /* spin opportunities still to pass up (the back-off) */
  int closed;
};

enum {
  /* How long the loop spins for a completion before it blocks: a few times the ~1 us a
   * searching worker takes to pick up a job, run an empty one and push it back. Longer spins
   * do not catch more (a job still running after 5 us is rarely about to end) and cost dearly
   * when the loop shares its CPU with the worker it waits for, which then cannot run at all:
   * measured with the loop and both workers pinned to one CPU, 64 jobs in flight, a 20 us
   * budget cut throughput from 1.9 to 0.6 M jobs/s, 12 us to 1.0, 5 us left it at 1.9. */
  SPIN_NS = 5 * 1000,
  /* After n empty spins in a row the loop passes up the next 2^n - 1 chances, up to 2^6 - 1: a
   * loop that waits for long jobs spins at most one chance in 64. */
  SPIN_BACKOFF_MAX = 6
};

static const int64_t CLOSE_POLL_MAX_NS = 2 * 1000 * 1000;

static struct tide__bridge *bridge_of(tide_loop *loop) {
  if (loop->executor_bridge == NULL) {
    size_t size = (sizeof(struct tide__bridge) + 63) / 64 * 64;
    struct tide__bridge *b = tide__aligned_alloc(64, size);
    if (b == NULL)
      return NULL;
    memset(b, 0, size);
    atomic_init(&b->done, NULL);
    atomic_init(&b->unposted, 0);
    b->loop = loop;
    tide__pool_init(&b->records, sizeof(record));
    loop->executor_bridge = b;
  }
  return loop->executor_bridge;
}

static void bridge_free(tide_loop *loop, struct tide__bridge *b) {
  tide__pool_destroy(&b->records);
  tide__aligned_free(b);
  loop->executor_bridge = NULL;
}

int tide_loop_default_executor(tide_loop *loop, tide_executor **out) {
  if (loop == NULL || out == NULL)
    return TIDE_EINVAL;
  if (loop->closing)
    return TIDE_ECLOSED;
  struct tide__bridge *b = bridge_of(loop);
  if (b == NULL)
    return TIDE_ENOMEM;
  if (b->closed)
    return TIDE_ECLOSED;
  if (b->default_executor == NULL) {
    int err = tide_executor_new(&b->default_executor, NULL);
    if (err != 0)
      return err;
  }
  *out = b->default_executor;
  return 0;
}

static void link_record(struct tide__bridge *b, record *r) {
  r->prev = NULL;
  r->next = b->in_flight;
  if (b->in_flight != NULL)
    b->in_flight->prev = r;
  b->in_flight = r;
  b->count++;
  b->cpu_count += !r->job.blocking;
}

static void unlink_record(struct tide__bridge *b, record *r) {
  if (r->prev != NULL)
    r->prev->next = r->next;
  else
    b->in_flight = r->next;
  if (r->next != NULL)
    r->next->prev = r->prev;
  b->count--;
  b->cpu_count -= !r->job.blocking;
}

/* Loop thread: the job has ended and its completion arrived. */
static void deliver(struct tide__bridge *b, record *r) {
  tide_loop *loop = b->loop;
  /* The exchange that took the record from the stack already made the job's result visible;
   * relaxed is enough for a status the loop only reads. */
  unsigned status = atomic_load_explicit(&r->job.state, memory_order_relaxed) & TIDE__JOB_STATUS;
  if (status == TIDE__JOB_DONE && !r->cancel_requested)
    (void)tide_future_resolve(r->future, r->job.result);
  else
    (void)tide_future_fail(r->future, TIDE_ECANCELED); /* EALREADY if the canceller settled it */
  tide_future_release(r->future);
  unlink_record(b, r);
  tide__pool_put(&b->records, r);
  (void)tide_loop_unref(loop);
}

void tide__executor_run_completions(tide_loop *loop) {
  struct tide__bridge *b = loop->executor_bridge;
  if (b == NULL)
    return;
  /* Acquire: pairs with the pushers' release CAS, so each record's job result is visible.
   * Release: a pusher whose CAS reads this exchange's NULL sees the loop's cleared wake flag
   * (sequenced before this call in run_posted), so its wake is not skipped (see the top). */
  record *top = atomic_exchange_explicit(&b->done, NULL, memory_order_acq_rel);
  if (top == NULL)
    return;
  /* Newest first on the stack: reversed, futures settle in the order the jobs ended. */
  record *oldest = NULL;
  while (top != NULL) {
    record *next = top->done_next;
    top->done_next = oldest;
    oldest = top;
    top = next;
  }
  while (oldest != NULL) {
    record *next = oldest->done_next;
    deliver(b, oldest);
    oldest = next;
  }
  if (b->closed && b->count == 0)
    bridge_free(loop, b);
}

/* Any thread: the job has ended (ran, or was cancelled). */
static void complete(tide_job *job) {
  record *r = (record *)job;
  struct tide__bridge *b = r->bridge;
  tide_loop *loop = b->loop;
  /* Relaxed: only the CAS's first guess; the CAS itself checks it. */
  record *head = atomic_load_explicit(&b->done, memory_order_relaxed);
  do
    r->done_next = head;
  /* Release: publishes the record (and the job's result) to the loop's acquire exchange.
   * Acquire: pairs with that exchange's release, see the top of the file. A failed CAS only
   * reloads the head for the next attempt: relaxed. */
  while (!atomic_compare_exchange_weak_explicit(&b->done, &head, r, memory_order_acq_rel,
                                                memory_order_relaxed));
  /* From here `r` may already be delivered and reused: only `b` and `loop` are touched. A
   * non-empty stack has a wake in flight from the push that found it empty. */
  if (head == NULL)
    (void)tide_loop_wake(loop); /* cannot fail on a valid loop; a failed backend wake would
                                   leave the record on the stack for the next tick anyway */
  /* Release: the loop's acquire load of zero at close comes after this push and this wake. The
   * last access to `b` or the loop. */
  atomic_fetch_sub_explicit(&b->unposted, 1, memory_order_release);
}

/* Loop thread: tide_future_cancel on a job's future. */
static void cancel_record(tide_future *f, void *arg) {
  (void)f;
  record *r = arg;
  if (tide__job_cancel(&r->job) == 0) {
    /* It will never run, so `arg` is free again: settle now. Its completion still comes (from
     * this thread, or from the worker holding it in a deque) and frees the record. */
    (void)tide_future_fail(r->future, TIDE_ECANCELED);
    return;
  }
  /* Relaxed: the status only decides whether the delivery to come drops the result, and the
   * cancel above has just read the state (this load sees that value or a later one). */
  unsigned status = atomic_load_explicit(&r->job.state, memory_order_relaxed) & TIDE__JOB_STATUS;
  if (status == TIDE__JOB_RUNNING)
    r->cancel_requested = 1; /* settles when it ends, with the result dropped */
}

static int submit(tide_loop *loop, tide_executor *ex, tide_job_fn fn, void *arg, int blocking,
                  tide_future **out) {
  if (loop == NULL || fn == NULL || out == NULL)
    return TIDE_EINVAL;
  if (loop->closing)
    return TIDE_ECLOSED;
  if (ex == NULL) {
    int err = tide_loop_default_executor(loop, &ex);
    if (err != 0)
      return err;
  }
  struct tide__bridge *b = bridge_of(loop);
  if (b == NULL)
    return TIDE_ENOMEM;
  record *r = tide__pool_get(&b->records);
  if (r == NULL)
    return TIDE_ENOMEM;
  int err = tide_future_new(loop, &r->future);
  if (err != 0) {
    tide__pool_put(&b->records, r);
    return err;
  }
  r->bridge = b;
  r->cancel_requested = 0;
  r->job.fn = fn;
  r->job.arg = arg;
  r->job.result = NULL;
  r->job.complete = complete;
  r->job.ex = ex;
  r->job.lane = TIDE__LANE_NONE;
  r->job.blocking = (uint8_t)blocking;
  atomic_init(&r->job.state, TIDE__JOB_QUEUED);
  /* Counted before the submit: the job may end (and push) before tide__executor_submit
   * returns. Relaxed: the submit's own synchronisation (the queue) orders it before the
   * worker's decrement. */
  atomic_fetch_add_explicit(&b->unposted, 1, memory_order_relaxed);
  link_record(b, r);
  (void)tide_loop_ref(loop);
  (void)tide_future_set_canceller(r->future, cancel_record, r);
  err = tide__executor_submit(ex, &r->job);
  if (err != 0) {
    (void)tide_loop_unref(loop);
    unlink_record(b, r);
    /* Relaxed: the job was never queued, so no other thread counted on it. */
    atomic_fetch_sub_explicit(&b->unposted, 1, memory_order_relaxed);
    tide_future_release(r->future);
    tide__pool_put(&b->records, r);
    return err;
  }
  tide_future_retain(r->future); /* one reference for the caller, one for the record */
  *out = r->future;
  return 0;
}

int tide_run_in_executor(tide_loop *loop, tide_executor *ex, tide_job_fn fn, void *arg,
                         tide_future **out) {
  return submit(loop, ex, fn, arg, 0, out);
}

int tide_run_blocking(tide_loop *loop, tide_executor *ex, tide_job_fn fn, void *arg,
                      tide_future **out) {
  return submit(loop, ex, fn, arg, 1, out);
}

int64_t tide__executor_spin_ns(tide_loop *loop) {
  struct tide__bridge *b = loop->executor_bridge;
  if (b == NULL || b->cpu_count == 0)
    return 0;
  if (b->spin_skip > 0) {
    b->spin_skip--;
    return 0;
  }
  return SPIN_NS;
}

void tide__executor_spin_ended(tide_loop *loop, int woken) {
  struct tide__bridge *b = loop->executor_bridge;
  if (b == NULL)
    return;
  if (woken) {
    b->spin_misses = 0;
    return;
  }
  if (b->spin_misses < SPIN_BACKOFF_MAX)
    b->spin_misses++;
  b->spin_skip = (1u << b->spin_misses) - 1;
}

void tide__executor_loop_close(tide_loop *loop) {
  struct tide__bridge *b = loop->executor_bridge;
  if (b == NULL)
    return;
  b->closed = 1;
  for (record *r = b->in_flight; r != NULL; r = r->next)
    if (!tide_future_done(r->future))
      (void)tide_future_cancel(r->future);
  size_t running = 0;
  for (record *r = b->in_flight; r != NULL; r = r->next)
    running += r->cancel_requested;
  if (running > 0)
    tide__loop_log(loop, TIDE_LOG_INFO,
                   "loop closing: waiting for %zu running executor job(s) to finish", running);
  /* Nothing wakes this wait (no worker may touch the bridge after its decrement), so it polls,
   * backing off to a couple of milliseconds: close is rare, and a running job is usually long. */
  int64_t nap = 1000;
  /* Acquire: pairs with each worker's release decrement, after its push and its wake. */
  while (atomic_load_explicit(&b->unposted, memory_order_acquire) != 0) {
    tide__thread_sleep_ns(nap);
    if (nap < CLOSE_POLL_MAX_NS)
      nap *= 2;
  }
  if (b->default_executor != NULL) {
    (void)tide_executor_shutdown(b->default_executor, TIDE_EXECUTOR_CANCEL);
    b->default_executor = NULL;
  }
  /* Every completion is on the stack now (and the loop's wake flag is set): the close's drain
   * delivers them, and the last delivery frees the bridge. */
  if (b->count == 0)
    bridge_free(loop, b);
}
