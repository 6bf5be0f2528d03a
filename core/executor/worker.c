/* core/executor/worker.c — a CPU worker's loop: run local work, then shared work, then steal
 * from a random victim while searching is allowed, then sleep.
 *
 * Order of looking, and why:
 *   1. its own deque, LIFO (the freshest job, whose data is in this core's cache); every 61st
 *      job the injection queue is looked at first, so a worker whose jobs keep spawning more
 *      cannot starve outside submissions (Tokio uses the same interval);
 *   2. the injection queue;
 *   3. stealing, only as one of at most max_searching searchers: victims are tried from a random
 *      start so that thieves spread over victims instead of all hitting worker 0;
 *   4. a searcher that found nothing keeps looking for spin_ns (a job submitted in that window is
 *      taken without any thread being woken), then sleeps in the kernel.
 *
 * The thread-local `current` tells spawn, join and submit which worker (if any) calls them. It is
 * per thread, not per process: two executors, or two copies of tide, never share it. */
#include "core/executor/executor_internal.h"
#include "core/sys/clock.h"

enum {
  INJECT_CHECK_INTERVAL = 61,
  BATCH_MAX = 16,    /* most jobs a worker moves to its deque per steal or injection-queue take */
  STEAL_RETRIES = 4, /* a lost CAS means the victim still had items: try it again */
  SPIN_RELAX = 32,
  SPIN_YIELD_EVERY = 16
};

static TIDE__THREAD_LOCAL struct {
  const tide_executor *ex;
  tide__worker *worker;
} current;

tide__worker *tide__worker_current(const tide_executor *ex) {
  return current.ex == ex ? current.worker : NULL;
}

int tide__executor_inside(const tide_executor *ex) {
  return current.ex == ex;
}

void tide__worker_enter_blocking(tide_executor *ex) {
  current.ex = ex;
  current.worker = NULL;
}

int tide_executor_worker_index(const tide_executor *ex) {
  tide__worker *w = ex != NULL ? tide__worker_current(ex) : NULL;
  return w != NULL ? (int)w->index : -1;
}

static uint64_t next_random(tide__worker *w) {
  uint64_t x = w->rng; /* xorshift64 */
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  w->rng = x;
  return x;
}

static void count(TIDE__ATOMIC(uint64_t) *counter) {
  /* Owner-only counters: a load and a store, no RMW; readers see a recent value. */
  atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + 1,
                        memory_order_relaxed);
}

/* Runs jobs that could not be queued locally (the deque could not grow): running a job early is
 * always allowed, dropping one never is. */
static void run_overflow(tide__worker *w, tide_job **jobs, unsigned n) {
  for (unsigned i = 0; i < n; i++)
    tide__job_run(w, jobs[i]);
}

/* Moves extra jobs into the worker's own deque, where its later pops are lock-free and where
 * other workers can steal them (a sleeping one is woken if nobody searches, as for a spawn). */
static void keep_local(tide__worker *w, tide_job **jobs, unsigned n) {
  for (unsigned i = 0; i < n; i++) {
    if (tide__deque_push(&w->deque, jobs[i]) != 0) {
      run_overflow(w, jobs + i, n - i);
      return;
    }
  }
  if (n > 0)
    tide__idle_notify_one(w->ex);
}

/* Takes a job from the injection queue's locked list and a share of the rest (its fair part, at
 * most BATCH_MAX), so that a worker takes the lock once per batch instead of once per job (Tokio
 * does the same). The list holds only what cancellations and shutdown moved off the stack. */
static tide_job *pop_listed(tide__worker *w) {
  tide_executor *ex = w->ex;
  if (atomic_load_explicit(&ex->inject_len, memory_order_relaxed) == 0)
    return NULL;
  tide_job *extra[BATCH_MAX];
  unsigned n_extra = 0;
  tide__mutex_lock(&ex->lock);
  tide_job *job = tide__job_list_pop(&ex->inject);
  if (job != NULL) {
    job->lane = TIDE__LANE_NONE;
    size_t share = ex->inject.count / ex->n_workers;
    while (n_extra < share && n_extra < BATCH_MAX) {
      tide_job *more = tide__job_list_pop(&ex->inject);
      more->lane = TIDE__LANE_NONE;
      extra[n_extra++] = more;
    }
    atomic_fetch_sub_explicit(&ex->inject_len, 1 + n_extra, memory_order_relaxed);
  }
  tide__mutex_unlock(&ex->lock);
  keep_local(w, extra, n_extra);
  return job;
}

/* Takes the whole incoming stack: returns its oldest job and keeps the others in this worker's
 * deque, pushed newest first, so that this worker pops them oldest first while thieves take the
 * newest. Taking everything keeps the exchange the only contended step; the deque spreads the
 * jobs over the other workers through stealing, woken as for a spawn. */
static tide_job *pop_incoming(tide__worker *w) {
  tide_job *job = tide__incoming_take(w->ex);
  if (job == NULL)
    return NULL;
  uint64_t n = 1;
  int pushed = 0;
  while (job->next != NULL) {
    tide_job *next = job->next; /* read first: once pushed, a thief may take and end it */
    if (tide__deque_push(&w->deque, job) == 0)
      pushed = 1;
    else
      tide__job_run(w, job); /* the deque could not grow: run it now rather than drop it */
    job = next;
    n++;
  }
  atomic_store_explicit(&w->taken, atomic_load_explicit(&w->taken, memory_order_relaxed) + n,
                        memory_order_relaxed); /* owner-only statistic */
  if (pushed)
    tide__idle_notify_one(w->ex);
  return job;
}

static tide_job *pop_injected(tide__worker *w) {
  tide_job *job = pop_listed(w);
  return job != NULL ? job : pop_incoming(w);
}

/* Steals one job from `victim` and then up to half of what it has left (at most BATCH_MAX) into
 * the thief's own deque: a thief that found work probably wants more, and each later job is then
 * a local pop instead of another search. */
static tide_job *steal_from(tide__worker *w, tide__worker *victim) {
  void *first = NULL;
  for (int attempt = 0; attempt < STEAL_RETRIES; attempt++) {
    int r = tide__deque_steal(&victim->deque, &first);
    if (r == TIDE__STEAL_OK)
      break;
    first = NULL;
    if (r == TIDE__STEAL_EMPTY)
      return NULL;
    tide__cpu_relax();
  }
  if (first == NULL)
    return NULL;
  tide_job *extra[BATCH_MAX];
  unsigned n_extra = 0;
  size_t want = tide__deque_size(&victim->deque) / 2;
  while (n_extra < want && n_extra < BATCH_MAX) {
    void *item;
    if (tide__deque_steal(&victim->deque, &item) != TIDE__STEAL_OK)
      break;
    extra[n_extra++] = item;
  }
  atomic_store_explicit(&w->steals,
                        atomic_load_explicit(&w->steals, memory_order_relaxed) + 1 + n_extra,
                        memory_order_relaxed);
  keep_local(w, extra, n_extra);
  return first;
}

static tide_job *steal_round(tide__worker *w) {
  tide_executor *ex = w->ex;
  unsigned n = ex->n_workers;
  if (n < 2)
    return NULL;
  unsigned start = (unsigned)(next_random(w) % n);
  for (unsigned i = 0; i < n; i++) {
    unsigned victim = (start + i) % n;
    if (victim == w->index)
      continue;
    tide_job *job = steal_from(w, &ex->workers[victim]);
    if (job != NULL)
      return job;
  }
  return NULL;
}

tide_job *tide__worker_find_for_join(tide__worker *w) {
  tide_job *job = tide__deque_pop(&w->deque);
  if (job == NULL)
    job = pop_injected(w);
  if (job == NULL)
    job = steal_round(w);
  return job;
}

static tide_job *next_local(tide__worker *w) {
  if (++w->tick % INJECT_CHECK_INTERVAL == 0) {
    tide_job *job = pop_injected(w);
    if (job != NULL)
      return job;
  }
  tide_job *job = tide__deque_pop(&w->deque);
  return job != NULL ? job : pop_injected(w);
}

static void spin_pause(unsigned round) {
  if (round % SPIN_YIELD_EVERY == SPIN_YIELD_EVERY - 1) {
    tide__thread_yield();
    return;
  }
  for (int i = 0; i < SPIN_RELAX; i++)
    tide__cpu_relax();
}

/* Steals and polls the injection queue for up to spin_ns, as a counted searcher. */
static tide_job *search(tide__worker *w) {
  tide_executor *ex = w->ex;
  if (!w->searching) {
    if (!tide__idle_begin_search(ex))
      return NULL;
    w->searching = 1;
  }
  int64_t deadline = ex->spin_ns > 0 ? tide__clock_now_ns() + ex->spin_ns : 0;
  for (unsigned round = 0;; round++) {
    tide_job *job = pop_injected(w);
    if (job == NULL)
      job = steal_round(w);
    if (job != NULL)
      return job;
    if (ex->spin_ns <= 0 || atomic_load_explicit(&ex->stop, memory_order_relaxed) ||
        tide__clock_now_ns() >= deadline)
      return NULL;
    spin_pause(round);
  }
}

static void run(tide__worker *w, tide_job *job) {
  if (w->searching) {
    w->searching = 0;
    /* The last searcher found work: there may be more, so hand the search on. (Even when
     * nothing more is visible now: the job may spawn children at once, and a spawn's wake-up
     * can miss a worker that is parking at that moment, see submit.c; this hand-off is the
     * other chance that a sleeping worker comes to steal them.) */
    if (tide__idle_end_search(w->ex))
      tide__idle_notify_one(w->ex);
  }
  tide__job_run(w, job);
}

void tide__executor_note_idle(tide_executor *ex) {
  if (atomic_load_explicit(&ex->closing, memory_order_seq_cst) == TIDE__OPEN)
    return;
  atomic_fetch_add_explicit(&ex->quiesce_seq, 1, memory_order_release);
  tide__park_wake(ex->park, &ex->quiesce_seq, -1);
}

static void park(tide__worker *w) {
  tide_executor *ex = w->ex;
  count(&w->parks); /* before the worker shows as parked, so stats never see parked > parks */
  if (tide__idle_park(ex, w) && tide__idle_work_visible(ex))
    tide__idle_notify_one(ex); /* may pick this very worker, which then does not sleep */
  tide__executor_note_idle(ex);
  /* stop is set before the shutdown wakes the parked workers, and the wake takes the lock
   * tide__idle_park took: a worker that registered after that wake sees stop here. */
  while (atomic_load_explicit(&w->park_word, memory_order_acquire) == 0 &&
         !atomic_load_explicit(&ex->stop, memory_order_acquire))
    (void)tide__park_wait(ex->park, &w->park_word, 0, -1);
  w->searching = 1; /* the waker counted this worker as searching */
}

void tide__worker_main(void *arg) {
  tide__worker *w = arg;
  tide_executor *ex = w->ex;
  current.ex = ex;
  current.worker = w;
  for (;;) {
    tide_job *job = next_local(w);
    if (job == NULL)
      job = search(w);
    if (job != NULL) {
      run(w, job);
      continue;
    }
    if (atomic_load_explicit(&ex->stop, memory_order_acquire))
      break;
    park(w);
  }
  while (w->free_jobs != NULL) {
    tide_job *job = w->free_jobs;
    w->free_jobs = job->next;
    tide__job_free(NULL, job);
  }
  w->free_count = 0;
  current.ex = NULL;
  current.worker = NULL;
}
