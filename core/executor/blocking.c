/* core/executor/blocking.c — the blocking lane: threads for jobs that block (a synchronous
 * database driver, getaddrinfo, file I/O), apart from the CPU workers.
 *
 * Threads start on demand: a blocking job goes to an idle lane thread if there is one, else to a
 * new thread while fewer than blocking_max run, else it waits in the lane's FIFO for the first
 * thread to come free. A thread idle for blocking_idle_ns exits, so a burst does not leave
 * hundreds of threads behind. The CPU workers never run blocking jobs and lane threads never run
 * CPU jobs: a lane full of sleeping jobs cannot delay CPU work, and CPU work cannot delay a
 * blocking call.
 *
 * Hand-off without lost wake-ups: a submitter that finds an idle thread gives it a token (under
 * the lock) and bumps the futex word the idle threads sleep on; an idle thread takes a token
 * under the lock before it leaves its wait, and reads the word under the lock before sleeping, so
 * a bump after that read makes its sleep return at once. An exiting thread leaves its slot marked
 * EXITED; the slot's thread is joined when the slot is reused or at shutdown (never detached: the
 * executor must know when no thread touches its memory any more). */
#include "core/executor/executor_internal.h"
#include "core/sys/clock.h"
#include "tide/error.h"

/* Waits (lock held on entry and exit) for a token, the stop or the idle timeout. Returns 1 with a
 * token taken, 0 when the thread should exit. */
static int wait_for_token(tide_executor *ex) {
  ex->blocking_idle++;
  int64_t deadline = tide__clock_now_ns() + ex->blocking_idle_ns;
  for (;;) {
    if (ex->blocking_tokens > 0) {
      ex->blocking_tokens--; /* the submitter already took us off blocking_idle */
      return 1;
    }
    int64_t left = deadline - tide__clock_now_ns();
    if (atomic_load_explicit(&ex->stop, memory_order_relaxed) || left <= 0) {
      ex->blocking_idle--;
      return 0;
    }
    unsigned seq = atomic_load_explicit(&ex->blocking_seq, memory_order_relaxed);
    tide__mutex_unlock(&ex->lock);
    (void)tide__park_wait(ex->park, &ex->blocking_seq, seq, left);
    tide__mutex_lock(&ex->lock);
  }
}

static void lane_main(void *arg) {
  tide__blocking_slot *slot = arg;
  tide_executor *ex = slot->ex;
  tide__worker_enter_blocking(ex);
  tide__mutex_lock(&ex->lock);
  for (;;) {
    tide_job *job = tide__job_list_pop(&ex->blocking);
    if (job != NULL) {
      job->lane = TIDE__LANE_NONE;
      ex->blocking_running++;
      tide__mutex_unlock(&ex->lock);
      tide__job_run(NULL, job);
      tide__mutex_lock(&ex->lock);
      ex->blocking_running--;
      continue;
    }
    if (atomic_load_explicit(&ex->stop, memory_order_relaxed))
      break;
    tide__executor_note_idle(ex);
    if (!wait_for_token(ex))
      break;
  }
  ex->blocking_threads--;
  slot->state = TIDE__SLOT_EXITED;
  tide__mutex_unlock(&ex->lock);
}

static int start_thread(tide_executor *ex) {
  tide__blocking_slot *slot = NULL;
  for (unsigned i = 0; i < ex->blocking_max && slot == NULL; i++)
    if (ex->slots[i].state != TIDE__SLOT_LIVE)
      slot = &ex->slots[i];
  if (slot == NULL)
    return TIDE_EAGAIN;
  if (slot->state == TIDE__SLOT_EXITED) {
    /* It marked itself under the lock and is returning: the join is short. */
    tide__thread_join(&slot->thread);
    slot->state = TIDE__SLOT_FREE;
  }
  slot->ex = ex;
  int err = tide__thread_start(&slot->thread, lane_main, slot);
  if (err != 0)
    return err;
  slot->state = TIDE__SLOT_LIVE;
  ex->blocking_threads++;
  return 0;
}

int tide__blocking_submit_locked(tide_executor *ex, tide_job *job) {
  tide__job_list_push(&ex->blocking, job);
  job->lane = TIDE__LANE_BLOCKING;
  if (ex->blocking_idle > 0) {
    ex->blocking_idle--;
    ex->blocking_tokens++;
    atomic_fetch_add_explicit(&ex->blocking_seq, 1, memory_order_relaxed);
    tide__park_wake(ex->park, &ex->blocking_seq, 1);
    return 0;
  }
  if (ex->blocking_threads >= ex->blocking_max)
    return 0; /* queued: the first lane thread to finish takes it */
  int err = start_thread(ex);
  if (err != 0 && ex->blocking_threads == 0) {
    /* Nobody would ever run it. With threads running, it just waits for one of them. */
    tide__job_list_remove(&ex->blocking, job);
    job->lane = TIDE__LANE_NONE;
    return err;
  }
  return 0;
}

void tide__blocking_join_all(tide_executor *ex) {
  tide__mutex_lock(&ex->lock);
  atomic_fetch_add_explicit(&ex->blocking_seq, 1, memory_order_relaxed);
  tide__park_wake(ex->park, &ex->blocking_seq, -1);
  tide__mutex_unlock(&ex->lock);
  /* stop is set, so no slot becomes LIVE any more; a LIVE one turns EXITED under the lock. */
  for (unsigned i = 0; i < ex->blocking_max; i++) {
    tide__mutex_lock(&ex->lock);
    int state = ex->slots[i].state;
    tide__mutex_unlock(&ex->lock);
    if (state != TIDE__SLOT_FREE) {
      tide__thread_join(&ex->slots[i].thread);
      tide__mutex_lock(&ex->lock);
      ex->slots[i].state = TIDE__SLOT_FREE;
      tide__mutex_unlock(&ex->lock);
    }
  }
}
