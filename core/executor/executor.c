/* core/executor/executor.c — creating an executor, shutting it down, and its statistics.
 *
 * Shutdown is "close the door, wait for quiet, stop the threads". Closing refuses outside
 * submissions (under the lock, so no submission can slip in after the door closed) and, in cancel
 * mode, cancels everything in the locked lists; workers cancel whatever they take from a deque
 * from then on. Quiet means every worker parked, both lists empty and no blocking job running:
 * a running job lives on an unparked worker or counts in blocking_running, and a worker parks
 * only with its own deque empty, so quiet means no job is left anywhere. Every thread that goes
 * idle while closing bumps quiesce_seq, which the shutting-down thread sleeps on. */
#include <stdlib.h>
#include <string.h>

#include "core/executor/executor_internal.h"
#include "core/sys/aligned.h"
#include "tide/error.h"

enum {
  MAX_WORKERS = 4096,
  DEFAULT_BLOCKING_MAX = 64,
  DEQUE_INITIAL = 256,
  QUIESCE_CHECK_NS = 100 * 1000 * 1000 /* backstop: re-check even if no wake arrives */
};

static const int64_t DEFAULT_BLOCKING_IDLE_NS = 10LL * 1000 * 1000 * 1000;
static const int64_t DEFAULT_SPIN_NS = 50 * 1000;

void tide_executor_options_init(tide_executor_options *opts) {
  if (opts == NULL)
    return;
  opts->workers = 0;
  opts->max_searching = 0;
  opts->blocking_max = 0;
  opts->blocking_idle_ns = 0;
  opts->spin_ns = 0;
}

static void *zalloc_aligned(size_t size) {
  size = (size + 63) / 64 * 64;
  void *p = tide__aligned_alloc(64, size);
  if (p != NULL)
    memset(p, 0, size);
  return p;
}

static void destroy(tide_executor *ex, unsigned deques) {
  for (unsigned i = 0; i < deques; i++)
    tide__deque_destroy(&ex->workers[i].deque);
  tide__park_table_free(ex->park);
  tide__mutex_destroy(&ex->lock);
  free(ex->slots);
  free(ex->sleepers);
  tide__aligned_free(ex->workers);
  tide__aligned_free(ex);
}

static int apply_options(tide_executor *ex, const tide_executor_options *opts) {
  tide_executor_options o;
  if (opts != NULL)
    o = *opts;
  else
    tide_executor_options_init(&o);
  if (o.workers > MAX_WORKERS || o.blocking_idle_ns < 0 || o.max_searching > MAX_WORKERS ||
      o.blocking_max > 65536)
    return TIDE_EINVAL;
  ex->n_workers = o.workers ? o.workers : tide__cpu_count();
  if (ex->n_workers > MAX_WORKERS)
    ex->n_workers = MAX_WORKERS;
  ex->max_searching = o.max_searching ? o.max_searching : (ex->n_workers + 1) / 2;
  ex->blocking_max = o.blocking_max ? o.blocking_max : DEFAULT_BLOCKING_MAX;
  ex->blocking_idle_ns = o.blocking_idle_ns ? o.blocking_idle_ns : DEFAULT_BLOCKING_IDLE_NS;
  ex->spin_ns = o.spin_ns ? o.spin_ns : DEFAULT_SPIN_NS;
  return 0;
}

static int init_workers(tide_executor *ex, unsigned *deques) {
  for (unsigned i = 0; i < ex->n_workers; i++) {
    tide__worker *w = &ex->workers[i];
    if (tide__deque_init(&w->deque, DEQUE_INITIAL) != 0)
      return TIDE_ENOMEM;
    (*deques)++;
    w->ex = ex;
    w->index = i;
    w->rng = 0x9E3779B97F4A7C15ull * (i + 1) | 1;
    atomic_init(&w->park_word, 0);
    atomic_init(&w->taken, 0);
    atomic_init(&w->jobs_run, 0);
    atomic_init(&w->steals, 0);
    atomic_init(&w->parks, 0);
  }
  return 0;
}

static void stop_threads(tide_executor *ex, unsigned started) {
  tide__mutex_lock(&ex->lock);
  atomic_store_explicit(&ex->stop, 1, memory_order_seq_cst);
  tide__mutex_unlock(&ex->lock);
  tide__idle_wake_all(ex);
  tide__blocking_join_all(ex);
  for (unsigned i = 0; i < started; i++)
    tide__thread_join(&ex->workers[i].thread);
}

int tide_executor_new(tide_executor **out, const tide_executor_options *opts) {
  if (out == NULL)
    return TIDE_EINVAL;
  tide_executor *ex = zalloc_aligned(sizeof *ex);
  if (ex == NULL)
    return TIDE_ENOMEM;
  int err = apply_options(ex, opts);
  if (err != 0) {
    tide__aligned_free(ex);
    return err;
  }
  if (tide__mutex_init(&ex->lock) != 0) {
    tide__aligned_free(ex);
    return TIDE_ENOMEM;
  }
  unsigned deques = 0;
  ex->workers = zalloc_aligned(ex->n_workers * sizeof(tide__worker));
  ex->sleepers = malloc(ex->n_workers * sizeof(unsigned));
  ex->slots = calloc(ex->blocking_max, sizeof(tide__blocking_slot));
  err = TIDE_ENOMEM;
  if (ex->workers == NULL || ex->sleepers == NULL || ex->slots == NULL ||
      tide__park_table_new(&ex->park) != 0 || init_workers(ex, &deques) != 0)
    goto fail;
  atomic_init(&ex->idle_state, ex->n_workers << 16);
  atomic_init(&ex->inject_len, 0);
  atomic_init(&ex->incoming, 0);
  atomic_init(&ex->closing, TIDE__OPEN);
  atomic_init(&ex->stop, 0);
  atomic_init(&ex->blocking_seq, 0);
  atomic_init(&ex->quiesce_seq, 0);
  atomic_init(&ex->injected, 0);
  atomic_init(&ex->cancelled, 0);
  atomic_init(&ex->blocking_run, 0);
  unsigned started = 0;
  for (; started < ex->n_workers; started++) {
    err =
        tide__thread_start(&ex->workers[started].thread, tide__worker_main, &ex->workers[started]);
    if (err != 0) {
      stop_threads(ex, started);
      goto fail;
    }
  }
  *out = ex;
  return 0;

fail:
  destroy(ex, deques);
  return err;
}

static int quiet(tide_executor *ex) {
  tide__mutex_lock(&ex->lock);
  int q = tide__idle_unparked(atomic_load_explicit(&ex->idle_state, memory_order_relaxed)) == 0 &&
          ex->inject.count == 0 && ex->blocking.count == 0 && ex->blocking_running == 0;
  tide__mutex_unlock(&ex->lock);
  return q;
}

/* Cancels every job still in the locked lists (the door is already closed). */
static void cancel_listed(tide_executor *ex) {
  tide__job_list taken = {NULL, NULL, 0};
  tide__mutex_lock(&ex->lock);
  tide_job *job;
  while ((job = tide__job_list_pop(&ex->inject)) != NULL) {
    job->lane = TIDE__LANE_NONE;
    tide__job_list_push(&taken, job);
  }
  atomic_store_explicit(&ex->inject_len, 0, memory_order_relaxed);
  while ((job = tide__job_list_pop(&ex->blocking)) != NULL) {
    job->lane = TIDE__LANE_NONE;
    tide__job_list_push(&taken, job);
  }
  tide__mutex_unlock(&ex->lock);
  while ((job = tide__job_list_pop(&taken)) != NULL)
    tide__job_cancel_unlinked(NULL, job);
}

int tide_executor_shutdown(tide_executor *ex, tide_executor_shutdown_mode mode) {
  if (ex == NULL || (mode != TIDE_EXECUTOR_DRAIN && mode != TIDE_EXECUTOR_CANCEL))
    return TIDE_EINVAL;
  if (tide__executor_inside(ex))
    return TIDE_EBUSY;
  tide__mutex_lock(&ex->lock);
  atomic_store_explicit(&ex->closing,
                        mode == TIDE_EXECUTOR_CANCEL ? TIDE__CANCELLING : TIDE__DRAINING,
                        memory_order_seq_cst);
  /* From now on every submission takes the locked path and sees `closing` (submit.c). */
  tide__incoming_move_locked(ex, 1);
  tide__mutex_unlock(&ex->lock);
  if (mode == TIDE_EXECUTOR_CANCEL)
    cancel_listed(ex);
  for (;;) {
    unsigned seq = atomic_load_explicit(&ex->quiesce_seq, memory_order_acquire);
    if (quiet(ex))
      break;
    (void)tide__park_wait(ex->park, &ex->quiesce_seq, seq, QUIESCE_CHECK_NS);
  }
  stop_threads(ex, ex->n_workers);
  destroy(ex, ex->n_workers);
  return 0;
}

int tide_executor_stats_get(tide_executor *ex, tide_executor_stats *out) {
  if (ex == NULL || out == NULL)
    return TIDE_EINVAL;
  memset(out, 0, sizeof *out);
  out->workers = ex->n_workers;
  for (unsigned i = 0; i < ex->n_workers; i++) {
    tide__worker *w = &ex->workers[i];
    out->jobs_run += atomic_load_explicit(&w->jobs_run, memory_order_relaxed);
    out->steals += atomic_load_explicit(&w->steals, memory_order_relaxed);
    out->parks += atomic_load_explicit(&w->parks, memory_order_relaxed);
    out->local_depth += tide__deque_size(&w->deque);
  }
  out->blocking_jobs_run = atomic_load_explicit(&ex->blocking_run, memory_order_relaxed);
  out->jobs_cancelled = atomic_load_explicit(&ex->cancelled, memory_order_relaxed);
  out->injected = atomic_load_explicit(&ex->injected, memory_order_relaxed);
  uint64_t taken = 0; /* off the incoming stack, by workers */
  for (unsigned i = 0; i < ex->n_workers; i++)
    taken += atomic_load_explicit(&ex->workers[i].taken, memory_order_relaxed);
  unsigned s = atomic_load_explicit(&ex->idle_state, memory_order_relaxed);
  out->searching = tide__idle_searching(s);
  unsigned unparked = tide__idle_unparked(s);
  out->parked = unparked < ex->n_workers ? ex->n_workers - unparked : 0;
  tide__mutex_lock(&ex->lock);
  /* The stack's depth is what was pushed less what left it, clamped: the counters are read
   * one by one while jobs come and go. */
  uint64_t left = taken + ex->moved;
  out->injection_depth = ex->inject.count + (out->injected > left ? out->injected - left : 0);
  out->blocking_depth = ex->blocking.count;
  out->blocking_threads = ex->blocking_threads;
  out->blocking_idle = ex->blocking_idle + ex->blocking_tokens;
  tide__mutex_unlock(&ex->lock);
  return 0;
}
