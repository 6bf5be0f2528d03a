/* core/executor/job.c — a job's life: allocation, running, ending, cancelling, and the public
 * handle calls (spawn, join, cancel, detach).
 *
 * The state word (executor_internal.h) is where the threads that may touch a job agree: the one
 * that runs it, a canceller, a joiner and a detacher. Every change to it is an RMW, so exactly one
 * thread sees each transition. The thread that ends a job reads what it needs from the job
 * *before* its RMW: from that instant a joiner may free the job. */
#include <assert.h>
#include <stdlib.h>

#include "core/executor/executor_internal.h"
#include "tide/error.h"

enum {
  JOIN_SPIN = 64,          /* looks at a joined job before sleeping on it */
  JOIN_NAP_NS = 200 * 1000 /* a joining worker naps this long, then looks for work again */
};

tide_job *tide__job_alloc(tide__worker *w) {
  if (w != NULL && w->free_jobs != NULL) {
    tide_job *job = w->free_jobs;
    w->free_jobs = job->next;
    w->free_count--;
    return job;
  }
  return malloc(sizeof(tide_job));
}

void tide__job_free(tide__worker *w, tide_job *job) {
  if (w != NULL && w->free_count < TIDE__FREE_JOBS_MAX) {
    job->next = w->free_jobs;
    w->free_jobs = job;
    w->free_count++;
    return;
  }
  free(job);
}

static int has_ended(unsigned state) {
  unsigned s = state & TIDE__JOB_STATUS;
  return s == TIDE__JOB_DONE || s == TIDE__JOB_CANCELLED;
}

/* Moves the status by `delta` to DONE or CANCELLED (RUNNING+1, DROPPING+1, QUEUED+4) and does
 * what ending requires: tell the owner of an embedded job, wake joiners, free a detached job. */
static void end_job(tide__worker *w, tide_job *job, unsigned delta) {
  void (*complete)(tide_job *) = job->complete;
  tide__park_table *park = job->ex->park;
  /* Release: publishes job->result to the joiner's acquire load. Acquire: pairs with a
   * detacher's release, so freeing below comes after everything the detacher did. */
  unsigned old = atomic_fetch_add_explicit(&job->state, delta, memory_order_acq_rel);
  if (complete != NULL) {
    complete(job);
    return;
  }
  if (old & TIDE__JOB_WAITER)
    tide__park_wake(park, &job->state, -1); /* address only: safe if the joiner freed it */
  if (old & TIDE__JOB_DETACHED)
    tide__job_free(w, job);
}

/* QUEUED -> DROPPING, if it is still queued. Returns 1 if this call did it. */
static int mark_dropping(tide_job *job) {
  unsigned s = atomic_load_explicit(&job->state, memory_order_relaxed);
  do {
    if ((s & TIDE__JOB_STATUS) != TIDE__JOB_QUEUED)
      return 0;
  } while (!atomic_compare_exchange_weak_explicit(&job->state, &s,
                                                  s - TIDE__JOB_QUEUED + TIDE__JOB_DROPPING,
                                                  memory_order_relaxed, memory_order_relaxed));
  return 1;
}

int tide__job_claim(tide__worker *w, tide_job *job) {
  tide_executor *ex = job->ex;
  if (atomic_load_explicit(&ex->closing, memory_order_relaxed) == TIDE__CANCELLING)
    (void)mark_dropping(job);
  unsigned s = atomic_load_explicit(&job->state, memory_order_relaxed);
  do {
    if ((s & TIDE__JOB_STATUS) != TIDE__JOB_QUEUED) {
      assert((s & TIDE__JOB_STATUS) == TIDE__JOB_DROPPING);
      atomic_fetch_add_explicit(&ex->cancelled, 1, memory_order_relaxed);
      end_job(w, job, 1);
      return 0;
    }
  } while (!atomic_compare_exchange_weak_explicit(&job->state, &s, s + 1, memory_order_acquire,
                                                  memory_order_relaxed));
  return 1;
}

static void count_run(tide__worker *w, tide_executor *ex) {
  if (w != NULL) /* owner-only counter: load and store, no RMW */
    atomic_store_explicit(&w->jobs_run,
                          atomic_load_explicit(&w->jobs_run, memory_order_relaxed) + 1,
                          memory_order_relaxed);
  else
    atomic_fetch_add_explicit(&ex->blocking_run, 1, memory_order_relaxed);
}

void tide__job_run(tide__worker *w, tide_job *job) {
  if (!tide__job_claim(w, job))
    return;
  job->result = job->fn(job->arg);
  count_run(w, job->ex);
  end_job(w, job, 1);
}

void tide__job_cancel_unlinked(tide__worker *w, tide_job *job) {
  assert((atomic_load_explicit(&job->state, memory_order_relaxed) & TIDE__JOB_STATUS) ==
         TIDE__JOB_QUEUED);
  atomic_fetch_add_explicit(&job->ex->cancelled, 1, memory_order_relaxed);
  end_job(w, job, TIDE__JOB_CANCELLED - TIDE__JOB_QUEUED);
}

int tide__job_cancel(tide_job *job) {
  tide_executor *ex = job->ex;
  tide__mutex_lock(&ex->lock);
  if (job->lane == TIDE__LANE_NONE && !job->blocking)
    tide__incoming_move_locked(ex, 0); /* if it is on the incoming stack, it is listed now */
  if (job->lane != TIDE__LANE_NONE) {
    /* Still in a locked list: nobody else can claim it, so remove it and end it here. */
    if (job->lane == TIDE__LANE_INJECT) {
      tide__job_list_remove(&ex->inject, job);
      atomic_fetch_sub_explicit(&ex->inject_len, 1, memory_order_relaxed);
    } else {
      tide__job_list_remove(&ex->blocking, job);
    }
    job->lane = TIDE__LANE_NONE;
    tide__mutex_unlock(&ex->lock);
    tide__job_cancel_unlinked(tide__worker_current(ex), job);
    return 0;
  }
  tide__mutex_unlock(&ex->lock);
  /* In a deque (or just taken from a list or the stack): the worker that takes it will drop
   * it. */
  return mark_dropping(job) ? 0 : TIDE_EALREADY;
}

/* --- the public handle calls ---------------------------------------------------------------- */

int tide_executor_spawn(tide_executor *ex, tide_job_fn fn, void *arg, unsigned flags,
                        tide_job **out) {
  if (ex == NULL || fn == NULL || (flags & ~(unsigned)TIDE_JOB_BLOCKING) != 0)
    return TIDE_EINVAL;
  tide__worker *w = tide__worker_current(ex);
  tide_job *job = tide__job_alloc(w);
  if (job == NULL)
    return TIDE_ENOMEM;
  job->fn = fn;
  job->arg = arg;
  job->result = NULL;
  job->complete = NULL;
  job->ex = ex;
  job->lane = TIDE__LANE_NONE;
  job->blocking = (flags & TIDE_JOB_BLOCKING) != 0;
  atomic_store_explicit(&job->state, out != NULL ? TIDE__JOB_QUEUED : TIDE__JOB_DETACHED,
                        memory_order_relaxed);
  int err = tide__executor_submit_from(ex, w, job);
  if (err != 0) {
    tide__job_free(w, job);
    return err;
  }
  if (out != NULL)
    *out = job;
  return 0;
}

int tide_job_join(tide_job *job, void **result) {
  if (job == NULL)
    return TIDE_EINVAL;
  tide_executor *ex = job->ex;
  tide__worker *w = tide__worker_current(ex);
  unsigned spins = 0;
  /* Acquire: pairs with end_job's release, so job->result is read after fn wrote it. */
  unsigned s = atomic_load_explicit(&job->state, memory_order_acquire);
  while (!has_ended(s)) {
    if (w != NULL) {
      tide_job *other = tide__worker_find_for_join(w);
      if (other == job) {
        /* Our own child, popped back from our deque: the common case of fork-join. Nobody
         * else holds the job now and only this handle can wait on it or drop it, so it runs
         * with no further synchronisation and is never published as DONE. Not even the claim
         * needs an RMW: a thief cannot have it (the pop gave it to us alone), and a cancel or
         * detach through the handle is never concurrent with this join (executor.h), so a
         * relaxed load sees any that came before. A cancelled job takes the general path. */
        unsigned own = atomic_load_explicit(&job->state, memory_order_relaxed);
        if (((own & TIDE__JOB_STATUS) != TIDE__JOB_QUEUED ||
             atomic_load_explicit(&ex->closing, memory_order_relaxed) == TIDE__CANCELLING) &&
            !tide__job_claim(w, job))
          break;
        void *value = job->fn(job->arg);
        count_run(w, ex);
        if (result != NULL)
          *result = value;
        tide__job_free(w, job);
        return 0;
      }
      if (other != NULL) {
        tide__job_run(w, other);
        spins = 0;
        s = atomic_load_explicit(&job->state, memory_order_acquire);
        continue;
      }
    }
    if (spins < JOIN_SPIN) {
      spins++;
      tide__cpu_relax();
      s = atomic_load_explicit(&job->state, memory_order_acquire);
      continue;
    }
    if (!(s & TIDE__JOB_WAITER)) {
      if (!atomic_compare_exchange_weak_explicit(&job->state, &s, s | TIDE__JOB_WAITER,
                                                 memory_order_acquire, memory_order_acquire))
        continue;
      s |= TIDE__JOB_WAITER;
    }
    /* A worker naps rather than sleeps: new work for it to run while it waits may appear in
     * the queues without anyone waking this word. */
    (void)tide__park_wait(ex->park, &job->state, s, w != NULL ? JOIN_NAP_NS : -1);
    s = atomic_load_explicit(&job->state, memory_order_acquire);
  }
  s = atomic_load_explicit(&job->state, memory_order_acquire);
  int rc = TIDE_ECANCELED;
  if ((s & TIDE__JOB_STATUS) == TIDE__JOB_DONE) {
    rc = 0;
    if (result != NULL)
      *result = job->result;
  }
  tide__job_free(w, job);
  return rc;
}

int tide_job_cancel(tide_job *job) {
  if (job == NULL)
    return TIDE_EINVAL;
  return tide__job_cancel(job);
}

void tide_job_detach(tide_job *job) {
  if (job == NULL)
    return;
  tide_executor *ex = job->ex; /* read first: once the flag is set the worker may free the job */
  unsigned old = atomic_fetch_or_explicit(&job->state, TIDE__JOB_DETACHED, memory_order_acq_rel);
  if (has_ended(old))
    tide__job_free(tide__worker_current(ex), job);
}
