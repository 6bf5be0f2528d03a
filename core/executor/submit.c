/* core/executor/submit.c — where a new job goes: the injection queue (its lock-free incoming
 * stack and its locked list) and the blocking lane.
 *
 * A job spawned on a worker goes to that worker's own deque: no lock, and the worker will most
 * likely run it itself while its data is hot. A job from any other thread is pushed onto the
 * incoming stack with one CAS; a worker looking for work takes the whole stack with one exchange
 * and keeps it in its deque, where other workers can steal from it. A loop submitting a burst of
 * run_in_executor jobs while workers take them used to meet them on the executor's mutex for
 * every job (and sleep on it, measured: a futex call every other job); now neither side waits.
 *
 * A stack cannot give up one job from its middle, which cancellation needs ("a job that has not
 * started is removed at once"): a canceller therefore moves the whole stack, under the lock, to
 * the locked list `inject` (oldest first) and removes its job there. Workers look at that list
 * before the stack, so the moved jobs keep their place. Shutdown moves the stack the same way and
 * marks it closed (TIDE__INCOMING_CLOSED in the head), so that every later submission takes the
 * locked path, where refusing it or not is decided under the lock that closed the door. */
#include <assert.h>

#include "core/executor/executor_internal.h"
#include "tide/error.h"

void tide__job_list_push(tide__job_list *list, tide_job *job) {
  job->next = NULL;
  job->prev = list->tail;
  if (list->tail != NULL)
    list->tail->next = job;
  else
    list->head = job;
  list->tail = job;
  list->count++;
}

tide_job *tide__job_list_pop(tide__job_list *list) {
  tide_job *job = list->head;
  if (job != NULL)
    tide__job_list_remove(list, job);
  return job;
}

void tide__job_list_remove(tide__job_list *list, tide_job *job) {
  if (job->prev != NULL)
    job->prev->next = job->next;
  else
    list->head = job->next;
  if (job->next != NULL)
    job->next->prev = job->prev;
  else
    list->tail = job->prev;
  job->next = job->prev = NULL;
  assert(list->count > 0);
  list->count--;
}

/* Outside submissions are refused once shutdown has begun; jobs of the executor itself may still
 * spawn (a draining fork-join tree must be able to finish). */
static int refused(tide_executor *ex) {
  /* Relaxed: called under ex->lock, which the shutdown holds while it changes `closing`. */
  return atomic_load_explicit(&ex->closing, memory_order_relaxed) != TIDE__OPEN &&
         !tide__executor_inside(ex);
}

static int submit_blocking(tide_executor *ex, tide_job *job) {
  tide__mutex_lock(&ex->lock);
  int err = refused(ex) ? TIDE_ECLOSED : tide__blocking_submit_locked(ex, job);
  tide__mutex_unlock(&ex->lock);
  return err;
}

/* Pushes onto the incoming stack. Returns 0, or 1 if the stack is closed (nothing pushed). */
static int push_incoming(tide_executor *ex, tide_job *job) {
  /* Relaxed: only the CAS's first guess; the CAS itself checks it. */
  uintptr_t head = atomic_load_explicit(&ex->incoming, memory_order_relaxed);
  do {
    if (head & TIDE__INCOMING_CLOSED)
      return 1;
    job->next = (tide_job *)head;
    /* seq_cst: publishes the job (release, to the taker's exchange) and is ordered before the
     * idle_state load in notify_one; a parking worker does the mirror image (idle_state RMW,
     * then a look at this head), so one of the two sees the other. A failed CAS only reloads
     * the head: relaxed. */
  } while (!atomic_compare_exchange_weak_explicit(&ex->incoming, &head, (uintptr_t)job,
                                                  memory_order_seq_cst, memory_order_relaxed));
  return 0;
}

tide_job *tide__incoming_take(tide_executor *ex) {
  /* Relaxed: a first guess (an empty stack is left alone); the CAS below acquires. */
  uintptr_t head = atomic_load_explicit(&ex->incoming, memory_order_relaxed);
  do {
    if ((head & ~TIDE__INCOMING_CLOSED) == 0)
      return NULL;
    /* Acquire: pairs with the pushes' release, so the jobs' fields (and next links) are read
     * after they were written. The closed bit stays. Only whole stacks are taken, never single
     * jobs, so a head that was taken and pushed again in between (ABA) is harmless: the CAS then
     * takes the stack as it is now. */
  } while (!atomic_compare_exchange_weak_explicit(&ex->incoming, &head,
                                                  head & TIDE__INCOMING_CLOSED,
                                                  memory_order_acquire, memory_order_relaxed));
  return (tide_job *)(head & ~TIDE__INCOMING_CLOSED);
}

void tide__incoming_move_locked(tide_executor *ex, int close) {
  tide_job *newest;
  if (close) /* acquire: as in tide__incoming_take */
    newest = (tide_job *)(atomic_exchange_explicit(&ex->incoming, TIDE__INCOMING_CLOSED,
                                                   memory_order_acquire) &
                          ~TIDE__INCOMING_CLOSED);
  else
    newest = tide__incoming_take(ex);
  tide_job *oldest = NULL;
  while (newest != NULL) { /* reverse: the list is FIFO */
    tide_job *next = newest->next;
    newest->next = oldest;
    oldest = newest;
    newest = next;
  }
  size_t n = 0;
  while (oldest != NULL) {
    tide_job *next = oldest->next;
    tide__job_list_push(&ex->inject, oldest);
    oldest->lane = TIDE__LANE_INJECT;
    oldest = next;
    n++;
  }
  if (n == 0)
    return;
  ex->moved += n;
  /* seq_cst: the jobs stay visible to the idle protocol while they move from the stack (whose
   * head the take cleared) to the list. */
  atomic_fetch_add_explicit(&ex->inject_len, n, memory_order_seq_cst);
}

/* The locked path: a closed incoming stack. The caller may still submit if it is one of the
 * executor's own threads (a blocking-lane job feeding a draining executor). */
static int submit_listed(tide_executor *ex, tide_job *job) {
  tide__mutex_lock(&ex->lock);
  if (refused(ex)) {
    tide__mutex_unlock(&ex->lock);
    return TIDE_ECLOSED;
  }
  tide__job_list_push(&ex->inject, job);
  job->lane = TIDE__LANE_INJECT;
  ex->moved++; /* counted in `injected` below as if pushed, and as moved off the stack */
  /* seq_cst: ordered before the idle_state load in notify_one (see push_incoming). */
  atomic_fetch_add_explicit(&ex->inject_len, 1, memory_order_seq_cst);
  tide__mutex_unlock(&ex->lock);
  return 0;
}

static int submit_injected(tide_executor *ex, tide_job *job) {
  if (push_incoming(ex, job) != 0) {
    int err = submit_listed(ex, job);
    if (err != 0)
      return err;
  }
  atomic_fetch_add_explicit(&ex->injected, 1, memory_order_relaxed); /* a statistic */
  tide__idle_notify_one(ex);
  return 0;
}

int tide__executor_submit_from(tide_executor *ex, tide__worker *w, tide_job *job) {
  if (job->blocking)
    return submit_blocking(ex, job);
  if (w == NULL)
    return submit_injected(ex, job);
  int err = tide__deque_push(&w->deque, job);
  if (err != 0)
    return err;
  /* Unlike the injection path, no seq_cst fence orders the push before this look at
   * idle_state, so a worker parking at this very moment may miss the job (idle.c). That costs
   * parallelism, never progress: the job sits in the deque of a running worker, which pops it
   * itself (at the latest when it joins), and the next spawn looks again. The fence would cost
   * every fork-join spawn a full barrier for that rare case. */
  tide__idle_notify_one(ex);
  return 0;
}

int tide__executor_submit(tide_executor *ex, tide_job *job) {
  return tide__executor_submit_from(ex, tide__worker_current(ex), job);
}
