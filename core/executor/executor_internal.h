/* core/executor/executor_internal.h — the executor's state, shared by core/executor's files.
 *
 * Who touches what:
 *   - a worker's deque, free-job cache and counters belong to that worker (thieves only steal);
 *   - the injection queue is two parts: `incoming`, a lock-free stack outside submitters push onto
 *     with one CAS and workers take whole with one exchange (submit.c), and `inject`, a locked
 *     list that holds what a cancellation or the shutdown moved off the stack (so that a job not
 *     yet started can be removed outright);
 *   - `lock` guards `inject`, the blocking lane, the list of parked workers and the closing
 *     state; it is held for a few pointer moves at a time, never while a job runs;
 *   - `idle_state` is read without the lock by submitters deciding whether to wake a worker. */
#ifndef TIDE_EXECUTOR_INTERNAL_H
#define TIDE_EXECUTOR_INTERNAL_H

#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>

#include "core/executor/deque.h"
#include "core/sys/atomic.h"
#include "core/sys/mutex.h"
#include "core/sys/park.h"
#include "core/sys/thread.h"
#include "tide/executor.h"

/* A job's state word (the futex word joiners wait on): a status in the low bits, flags above.
 * Status moves QUEUED -> RUNNING -> DONE, or QUEUED -> CANCELLED (removed from a locked list), or
 * QUEUED -> DROPPING -> CANCELLED (cancelled while in a deque: the worker that later takes it
 * from the deque drops it). RUNNING -> DONE and DROPPING -> CANCELLED are both "+1", so the
 * worker finishes a job with one fetch_add whatever it found. */
enum {
  TIDE__JOB_QUEUED = 0,
  TIDE__JOB_RUNNING = 1,
  TIDE__JOB_DONE = 2,
  TIDE__JOB_DROPPING = 3,
  TIDE__JOB_CANCELLED = 4,
  TIDE__JOB_STATUS = 7,
  TIDE__JOB_DETACHED = 8, /* the handle was given up: whoever ends the job frees it */
  TIDE__JOB_WAITER = 16   /* someone sleeps on the word: the finisher must wake it */
};

/* Where a queued job sits, for cancellation (guarded by the executor's lock). A job on the
 * incoming stack or in a deque is in no locked list: TIDE__LANE_NONE. */
enum { TIDE__LANE_NONE = 0, TIDE__LANE_INJECT = 1, TIDE__LANE_BLOCKING = 2 };

/* The incoming stack's head carries this bit once the executor shuts down: pushes then fail and
 * take the locked path, which decides under the lock whether the submitter may still submit. */
#define TIDE__INCOMING_CLOSED ((uintptr_t)1)

/* A job. Handle jobs (tide_executor_spawn) are allocated by the executor and freed by whoever
 * ends them last (join, detach, or the worker). Embedded jobs (run_in_executor) live inside their
 * owner's record and have a `complete` hook instead of a handle: it is called exactly once, on
 * whichever thread ends the job, and the owner's memory is the owner's business from then on. */
struct tide_job {
  tide_job *next; /* intrusive links: the lane lists, and the free-job caches */
  tide_job *prev;
  tide_job_fn fn;
  void *arg;
  void *result;
  void (*complete)(tide_job *job); /* NULL for handle jobs */
  tide_executor *ex;
  atomic_uint state;
  uint8_t lane;     /* TIDE__LANE_*, guarded by ex->lock */
  uint8_t blocking; /* submitted with TIDE_JOB_BLOCKING */
};

typedef struct tide__job_list {
  tide_job *head;
  tide_job *tail;
  size_t count;
} tide__job_list;

enum { TIDE__FREE_JOBS_MAX = 256 };

typedef struct tide__worker {
  tide__deque deque;
  tide_executor *ex;
  unsigned index;
  int searching;       /* counted in the executor's searching workers */
  uint64_t rng;        /* xorshift state for choosing victims */
  unsigned tick;       /* jobs run, for the injection-queue fairness check */
  tide_job *free_jobs; /* cache of freed handle jobs (owner only) */
  unsigned free_count;
  atomic_uint park_word; /* 0 while parked, set to 1 by the waker */
  /* Statistics: written by the owner only (relaxed load + store, no RMW), read by anyone. */
  TIDE__ATOMIC(uint64_t) taken; /* jobs this worker took off the incoming stack */
  TIDE__ATOMIC(uint64_t) jobs_run;
  TIDE__ATOMIC(uint64_t) steals;
  TIDE__ATOMIC(uint64_t) parks;
  tide__thread thread;
} tide__worker;

typedef struct tide__blocking_slot {
  tide__thread thread;
  tide_executor *ex;
  int state; /* TIDE__SLOT_FREE, _LIVE, _EXITED (guarded by ex->lock) */
} tide__blocking_slot;

enum { TIDE__SLOT_FREE = 0, TIDE__SLOT_LIVE = 1, TIDE__SLOT_EXITED = 2 };

/* closing: */
enum { TIDE__OPEN = 0, TIDE__DRAINING = 1, TIDE__CANCELLING = 2 };

struct tide_executor {
  tide__worker *workers;
  unsigned n_workers;
  unsigned max_searching;
  int64_t spin_ns;

  /* unparked workers << 16 | searching workers. Changed under `lock` when a worker parks or is
   * woken; searching also changes lock-free as workers start and stop searching. */
  alignas(64) atomic_uint idle_state;
  atomic_size_t inject_len; /* mirrors inject.count, for lock-free emptiness checks */
  atomic_int closing;       /* TIDE__OPEN / DRAINING / CANCELLING */
  atomic_int stop;          /* set after quiescence: threads exit */

  /* The incoming stack (newest first, linked through job->next; TIDE__INCOMING_CLOSED in the
   * head once shut down) and the count of its pushes, written by outside submitters. */
  alignas(64) TIDE__ATOMIC(uintptr_t) incoming;
  TIDE__ATOMIC(uint64_t) injected;

  alignas(64) tide__mutex lock;
  tide__job_list inject;
  uint64_t moved;     /* jobs moved from the incoming stack to `inject` (guarded by lock) */
  unsigned *sleepers; /* indices of parked workers (a stack) */
  unsigned n_sleepers;

  /* The blocking lane (guarded by lock, except the futex word). */
  tide__job_list blocking;
  tide__blocking_slot *slots;
  unsigned blocking_max;
  unsigned blocking_threads; /* live threads */
  unsigned blocking_idle;    /* waiting threads not yet handed a wake-up token */
  unsigned blocking_tokens;  /* wake-ups handed to idle threads and not yet taken */
  unsigned blocking_running;
  int64_t blocking_idle_ns;
  atomic_uint blocking_seq; /* futex word idle blocking threads wait on */

  atomic_uint quiesce_seq; /* bumped when a thread goes idle while closing; shutdown waits on it */
  tide__park_table *park;

  /* Statistics kept outside the workers. */
  TIDE__ATOMIC(uint64_t) cancelled;
  TIDE__ATOMIC(uint64_t) blocking_run;
};

/* --- job.c --- */

/* Takes a job from the worker's cache, or from malloc. */
tide_job *tide__job_alloc(tide__worker *w);
/* Returns a handle job to the calling worker's cache (w may be NULL: free). */
void tide__job_free(tide__worker *w, tide_job *job);
/* Runs a job taken from a queue: claims it (QUEUED -> RUNNING), calls fn, and ends it. A job
 * found DROPPING (cancelled while queued), or any job while the executor is cancelling, is
 * ended as cancelled instead. `w` is the calling worker or NULL (blocking lane). */
void tide__job_run(tide__worker *w, tide_job *job);
/* Claims a queued job (QUEUED -> RUNNING). Returns 0 if it was cancelled instead (DROPPING, or
 * the executor is cancelling): then it has been ended as cancelled. */
int tide__job_claim(tide__worker *w, tide_job *job);
/* Ends a job just unlinked from a lane list (status QUEUED) as cancelled. */
void tide__job_cancel_unlinked(tide__worker *w, tide_job *job);
/* Cancels a job that has not started. Returns 0 (it will never run; `complete` or the waiters
 * have been told, or will be by the worker holding it), TIDE_EALREADY (running or ended). */
int tide__job_cancel(tide_job *job);

/* --- submit.c --- */

/* Queues a prepared job (state QUEUED, ex set): the blocking lane, the calling worker's deque, or
 * the injection queue; wakes a worker or a blocking thread if needed. Returns 0, TIDE_ECLOSED
 * (shut down, and not called from inside the executor) or TIDE_ENOMEM. */
int tide__executor_submit(tide_executor *ex, tide_job *job);
/* The same, for a caller that already knows its worker (w: tide__worker_current(ex)). */
int tide__executor_submit_from(tide_executor *ex, tide__worker *w, tide_job *job);

/* Takes every job off the incoming stack: a list linked through job->next, newest first, or
 * NULL. Any thread. */
tide_job *tide__incoming_take(tide_executor *ex);
/* Moves every job on the incoming stack to the end of `inject`, oldest first (caller holds
 * ex->lock); with `close`, also marks the stack closed so that later pushes take the locked
 * path. */
void tide__incoming_move_locked(tide_executor *ex, int close);
/* The incoming stack is non-empty (a snapshot; seq_cst for the idle protocol, idle.c). */
static inline int tide__incoming_nonempty(tide_executor *ex) {
  return (atomic_load_explicit(&ex->incoming, memory_order_seq_cst) & ~TIDE__INCOMING_CLOSED) != 0;
}

/* Unlinks a queued job from its lane list (caller holds ex->lock). */
void tide__job_list_remove(tide__job_list *list, tide_job *job);
void tide__job_list_push(tide__job_list *list, tide_job *job);
tide_job *tide__job_list_pop(tide__job_list *list);

/* --- idle.c: who searches, who sleeps --- */

/* A worker with nothing local may search (steal) only while fewer than max_searching do. Returns
 * 1 if the caller is now counted as searching. */
int tide__idle_begin_search(tide_executor *ex);
/* A searching worker found work. Returns 1 if it was the last searcher: it must then wake
 * another worker, which will look for the rest of the work. */
int tide__idle_end_search(tide_executor *ex);
/* Wakes one parked worker if no worker is searching and some are parked. The submitter must have
 * made its job visible (seq_cst) before calling. */
void tide__idle_notify_one(tide_executor *ex);
/* Puts the worker on the parked list and uncounts it. Returns 1 if it was the last searcher:
 * then it must look for work once more (tide__idle_work_visible) before sleeping. */
int tide__idle_park(tide_executor *ex, tide__worker *w);
/* Any queue non-empty (injection or some worker's deque). */
int tide__idle_work_visible(tide_executor *ex);
/* Wakes every parked worker (shutdown). */
void tide__idle_wake_all(tide_executor *ex);
/* The counts packed in idle_state. */
static inline unsigned tide__idle_searching(unsigned state) {
  return state & 0xffffu;
}
static inline unsigned tide__idle_unparked(unsigned state) {
  return state >> 16;
}

/* --- worker.c --- */

void tide__worker_main(void *arg);
/* The calling thread's worker if it is a worker of `ex`, else NULL. */
tide__worker *tide__worker_current(const tide_executor *ex);
/* 1 if the calling thread is a worker or a blocking thread of `ex`. */
int tide__executor_inside(const tide_executor *ex);
/* Marks the calling thread as a blocking thread of ex (blocking.c). */
void tide__worker_enter_blocking(tide_executor *ex);
/* One attempt at finding a job for a worker that is joining: own deque, injection, one steal
 * round. */
tide_job *tide__worker_find_for_join(tide__worker *w);
/* Wakes the shutdown waiter if the executor is closing (a thread just went idle). */
void tide__executor_note_idle(tide_executor *ex);

/* --- blocking.c --- */

/* Queues a blocking job (caller holds ex->lock) and hands it a thread: an idle one, or a new one
 * below the limit. Returns 0 or the error of starting a thread when none is running at all. */
int tide__blocking_submit_locked(tide_executor *ex, tide_job *job);
/* Stops and joins every blocking thread (shutdown, after quiescence). */
void tide__blocking_join_all(tide_executor *ex);

#endif
