/* core/executor/submit.c — where a new job goes, and the locked lists behind the injection queue
 * and the blocking lane.
 *
 * A job spawned on a worker goes to that worker's own deque: no lock, and the worker will most
 * likely run it itself while its data is hot. A job from any other thread goes to the injection
 * queue, a mutex-guarded FIFO: submitters from outside are rarely hot enough for the lock to
 * matter next to the cost of waking a thread, and a locked list lets a not-yet-started job be
 * removed outright when it is cancelled. */
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
  return atomic_load_explicit(&ex->closing, memory_order_relaxed) != TIDE__OPEN &&
         !tide__executor_inside(ex);
}

static int submit_blocking(tide_executor *ex, tide_job *job) {
  tide__mutex_lock(&ex->lock);
  int err = refused(ex) ? TIDE_ECLOSED : tide__blocking_submit_locked(ex, job);
  tide__mutex_unlock(&ex->lock);
  return err;
}

static int submit_injected(tide_executor *ex, tide_job *job) {
  tide__mutex_lock(&ex->lock);
  if (refused(ex)) {
    tide__mutex_unlock(&ex->lock);
    return TIDE_ECLOSED;
  }
  tide__job_list_push(&ex->inject, job);
  job->lane = TIDE__LANE_INJECT;
  /* seq_cst: ordered before the idle_state load in notify_one; a parking worker does the
   * mirror image (idle_state RMW, then this counter), so one of the two sees the other. */
  atomic_fetch_add_explicit(&ex->inject_len, 1, memory_order_seq_cst);
  tide__mutex_unlock(&ex->lock);
  atomic_fetch_add_explicit(&ex->injected, 1, memory_order_relaxed);
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
