/* core/executor/idle.c — which workers search for work and which sleep (Tokio's scheme, itself
 * Go's): a bounded number of workers search at once, a submission wakes a sleeper only when
 * nobody searches, and a searcher that finds work wakes the next one if it was the last.
 *
 * No lost wake-ups. A submitter makes its job visible and then reads idle_state (both seq_cst);
 * a worker going to sleep updates idle_state and then, if it was the last searcher, looks at the
 * queues once more (both seq_cst). In any interleaving one of them sees the other: either the
 * submitter sees no searcher and wakes a sleeper, or the last searcher sees the job and wakes
 * one (possibly itself). A worker that parks while others still search leaves the job to them,
 * and the last of them does the final look.
 *
 * No thundering herd: a submission wakes at most one worker, and none while one searches. */
#include "core/executor/executor_internal.h"

enum { UNPARKED_ONE = 1u << 16 };

int tide__idle_begin_search(tide_executor *ex) {
  unsigned s = atomic_load_explicit(&ex->idle_state, memory_order_relaxed);
  if (tide__idle_searching(s) >= ex->max_searching)
    return 0;
  /* A racing pair may both pass the check: the bound is soft by at most the racers. */
  atomic_fetch_add_explicit(&ex->idle_state, 1, memory_order_seq_cst);
  return 1;
}

int tide__idle_end_search(tide_executor *ex) {
  unsigned prev = atomic_fetch_sub_explicit(&ex->idle_state, 1, memory_order_seq_cst);
  return tide__idle_searching(prev) == 1;
}

static void unpark(tide_executor *ex, unsigned index) {
  tide__worker *w = &ex->workers[index];
  /* Release: the wakee's acquire load of the word sees the idle_state change made for it. */
  atomic_store_explicit(&w->park_word, 1, memory_order_release);
  tide__park_wake(ex->park, &w->park_word, 1);
}

void tide__idle_notify_one(tide_executor *ex) {
  /* Read on every spawn: a plain load on x86 and AArch64 (seq_cst loads are), and the line is
   * written only when workers start or stop searching or parking. */
  unsigned s = atomic_load_explicit(&ex->idle_state, memory_order_seq_cst);
  if (tide__idle_searching(s) != 0 || tide__idle_unparked(s) >= ex->n_workers)
    return;
  tide__mutex_lock(&ex->lock);
  s = atomic_load_explicit(&ex->idle_state, memory_order_relaxed);
  if (tide__idle_searching(s) != 0 || ex->n_sleepers == 0) {
    tide__mutex_unlock(&ex->lock);
    return;
  }
  unsigned index = ex->sleepers[--ex->n_sleepers];
  /* The woken worker starts out searching: counting it now stops other submitters from waking a
   * second worker for the same job. */
  atomic_fetch_add_explicit(&ex->idle_state, UNPARKED_ONE + 1, memory_order_seq_cst);
  tide__mutex_unlock(&ex->lock);
  unpark(ex, index);
}

int tide__idle_park(tide_executor *ex, tide__worker *w) {
  unsigned was_searching = w->searching ? 1u : 0u;
  tide__mutex_lock(&ex->lock);
  atomic_store_explicit(&w->park_word, 0, memory_order_relaxed);
  ex->sleepers[ex->n_sleepers++] = w->index;
  unsigned prev = atomic_fetch_sub_explicit(&ex->idle_state, UNPARKED_ONE + was_searching,
                                            memory_order_seq_cst);
  tide__mutex_unlock(&ex->lock);
  w->searching = 0;
  return was_searching && tide__idle_searching(prev) == 1;
}

int tide__idle_work_visible(tide_executor *ex) {
  atomic_thread_fence(memory_order_seq_cst); /* orders the idle_state RMW before these loads */
  if (tide__incoming_nonempty(ex) ||
      atomic_load_explicit(&ex->inject_len, memory_order_seq_cst) != 0)
    return 1;
  for (unsigned i = 0; i < ex->n_workers; i++)
    if (tide__deque_size(&ex->workers[i].deque) != 0)
      return 1;
  return 0;
}

void tide__idle_wake_all(tide_executor *ex) {
  tide__mutex_lock(&ex->lock);
  while (ex->n_sleepers > 0) {
    unsigned index = ex->sleepers[--ex->n_sleepers];
    atomic_fetch_add_explicit(&ex->idle_state, UNPARKED_ONE + 1, memory_order_seq_cst);
    unpark(ex, index);
  }
  tide__mutex_unlock(&ex->lock);
}
