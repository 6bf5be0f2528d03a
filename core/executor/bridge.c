/* core/executor/bridge.c — run_in_executor: a job on an executor whose result settles a future
 * on a loop.
 *
 * A record holds the job (embedded: no second allocation), the future and the links of the loop's
 * in-flight list; records come from a per-loop pool, so steady state allocates nothing. The job's
 * `complete` hook runs on whichever thread ends the job (a worker after running it, the loop
 * thread when a cancellation removed it from a queue) and posts the record back with
 * tide_call_soon_threadsafe: the loop's inbox batches posts from many workers and coalesces their
 * wake-ups, so a burst of completions costs the loop one wake-up and one lock per post.
 *
 * Lifetimes. Each record holds a tide_loop_ref until its delivery runs on the loop, so the loop
 * keeps running while jobs are in flight. After the post a worker touches nothing of the record
 * or the loop; its last access is the decrement of `unposted`, a counter in the bridge, which
 * the loop frees only after seeing it reach zero at close. So close can wait for "every
 * completion is in the inbox" without the workers ever touching freed memory.
 *
 * Cancellation (the future's canceller, loop thread): a job not yet started is removed and the
 * future cancelled at once; a running job cannot be stopped, so the record is marked, the job
 * runs to its end, and the delivery then cancels the future and drops the result. A job that had
 * already finished when the cancel came delivers its real result (nothing computed is lost). */
#include <stdlib.h>

#include "core/executor/bridge.h"
#include "core/executor/executor_internal.h"
#include "core/loop_internal.h"
#include "core/pool.h"
#include "tide/error.h"

typedef struct record record;
struct record {
  struct tide_job job; /* first: the complete hook gets the record back from the job */
  tide_loop *loop;
  struct tide__bridge *bridge;
  tide_future *future;
  record *prev;
  record *next;
  int cancel_requested; /* loop thread only */
};

struct tide__bridge {
  tide_executor *default_executor;
  tide__pool records;
  record *in_flight; /* submitted, not yet delivered (loop thread only) */
  size_t count;
  int closed;
  /* Jobs whose completion has not been posted yet. The only field workers touch. */
  atomic_uint unposted;
};

static const int64_t CLOSE_POLL_MAX_NS = 2 * 1000 * 1000;

static struct tide__bridge *bridge_of(tide_loop *loop) {
  if (loop->executor_bridge == NULL) {
    struct tide__bridge *b = calloc(1, sizeof *b);
    if (b == NULL)
      return NULL;
    tide__pool_init(&b->records, sizeof(record));
    atomic_init(&b->unposted, 0);
    loop->executor_bridge = b;
  }
  return loop->executor_bridge;
}

static void bridge_free(tide_loop *loop, struct tide__bridge *b) {
  tide__pool_destroy(&b->records);
  free(b);
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

static void unlink_record(struct tide__bridge *b, record *r) {
  if (r->prev != NULL)
    r->prev->next = r->next;
  else
    b->in_flight = r->next;
  if (r->next != NULL)
    r->next->prev = r->prev;
  b->count--;
}

/* Loop thread: the job has ended and its completion arrived. */
static void deliver(void *arg) {
  record *r = arg;
  struct tide__bridge *b = r->bridge;
  tide_loop *loop = r->loop;
  unsigned status = atomic_load_explicit(&r->job.state, memory_order_acquire) & TIDE__JOB_STATUS;
  if (status == TIDE__JOB_DONE && !r->cancel_requested)
    (void)tide_future_resolve(r->future, r->job.result);
  else
    (void)tide_future_fail(r->future, TIDE_ECANCELED); /* EALREADY if the canceller settled it */
  tide_future_release(r->future);
  unlink_record(b, r);
  tide__pool_put(&b->records, r);
  (void)tide_loop_unref(loop);
  if (b->closed && b->count == 0)
    bridge_free(loop, b);
}

/* Any thread: the job has ended (ran, or was cancelled). */
static void complete(tide_job *job) {
  record *r = (record *)job;
  struct tide__bridge *b = r->bridge;
  tide_loop *loop = r->loop;
  /* The inbox refuses posts only after tide__executor_loop_close has seen `unposted` reach zero,
   * which cannot happen before this post; so the only failure is a failed allocation, which a
   * retry outlives (the record cannot be dropped: the loop waits for it). */
  while (tide_call_soon_threadsafe(loop, deliver, r) != 0)
    tide__thread_sleep_ns(1000 * 1000);
  /* Release: the loop's acquire load of zero comes after this post. The last access to `b`. */
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
  unsigned status = atomic_load_explicit(&r->job.state, memory_order_acquire) & TIDE__JOB_STATUS;
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
  r->loop = loop;
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
  /* Counted before the submit: the job may end (and post) before tide__executor_submit
   * returns. */
  atomic_fetch_add_explicit(&b->unposted, 1, memory_order_relaxed);
  r->prev = NULL;
  r->next = b->in_flight;
  if (b->in_flight != NULL)
    b->in_flight->prev = r;
  b->in_flight = r;
  b->count++;
  (void)tide_loop_ref(loop);
  (void)tide_future_set_canceller(r->future, cancel_record, r);
  err = tide__executor_submit(ex, &r->job);
  if (err != 0) {
    (void)tide_loop_unref(loop);
    unlink_record(b, r);
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
  while (atomic_load_explicit(&b->unposted, memory_order_acquire) != 0) {
    tide__thread_sleep_ns(nap);
    if (nap < CLOSE_POLL_MAX_NS)
      nap *= 2;
  }
  if (b->default_executor != NULL) {
    (void)tide_executor_shutdown(b->default_executor, TIDE_EXECUTOR_CANCEL);
    b->default_executor = NULL;
  }
  if (b->count == 0)
    bridge_free(loop, b);
}
