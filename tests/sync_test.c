/* tests/sync_test.c — the tasks' mutex, semaphore, event, condition and bounded queue
 * (tide/sync.h): behaviour, FIFO hand-off, try-variants, every cancellation and deadline path
 * (while queued, and in the same tick as the hand-off), invalid arguments, and many-task runs
 * that count every permit and every item.
 *
 * Most tests drive the loop one tick at a time (tide_loop_run_once with a zero timeout) and act
 * between ticks from the test body: the body runs on the loop thread outside any task, which is
 * exactly where a plain callback runs, so "in one callback" below means "between two ticks"
 * unless the test posts a real callback with tide_call_soon. */
#include <limits.h>
#include <stdint.h>

#include "harness.h"
#include "log_capture.h"

#define MS (1000 * 1000LL)
#define US (1000LL)

/* ---- fixture -------------------------------------------------------------------------------- */

struct fixture {
  tide_loop *loop;
  log_capture log;
  tide_mutex mutex;
  tide_semaphore sem;
  tide_event event;
  tide_condition cond;
  tide_queue queue;
  void *slots[4];
  char trace[64];
  int n;
};

/* A loop whose log is captured (the fixture fails a test that made tide report anything) and
 * one of each primitive: a free mutex, a semaphore with `permits`, a clear event, a condition on
 * the mutex, and a queue of `capacity` (at most 4). */
static void fixture_open(struct fixture *fx, unsigned permits, size_t capacity) {
  memset(fx, 0, sizeof *fx);
  fx->loop = new_loop_capturing(&fx->log);
  CHECK(capacity <= 4);
  CHECK_OK(tide_mutex_init(&fx->mutex, fx->loop));
  CHECK_OK(tide_semaphore_init(&fx->sem, fx->loop, permits));
  CHECK_OK(tide_event_init(&fx->event, fx->loop));
  CHECK_OK(tide_condition_init(&fx->cond, &fx->mutex));
  CHECK_OK(tide_queue_init(&fx->queue, fx->loop, fx->slots, capacity));
}

static void check_no_reports(const struct fixture *fx) {
  if (fx->log.warnings != 0)
    TIDE_TEST_FAIL("tide reported %d problem(s); the last: %s", fx->log.warnings, fx->log.last);
}

/* Destroys the primitives (so none may still be busy) and closes the loop, which must have
 * nothing left to report. */
static void fixture_close(struct fixture *fx) {
  CHECK_OK(tide_queue_destroy(&fx->queue));
  CHECK_OK(tide_condition_destroy(&fx->cond));
  CHECK_OK(tide_event_destroy(&fx->event));
  CHECK_OK(tide_semaphore_destroy(&fx->sem));
  CHECK_OK(tide_mutex_destroy(&fx->mutex));
  check_no_reports(fx);
  CHECK_OK(tide_loop_close(fx->loop));
  check_no_reports(fx);
}

static void record(struct fixture *fx, char c) {
  CHECK(fx->n < (int)sizeof fx->trace - 1);
  fx->trace[fx->n++] = c;
}

static void run_ticks(struct fixture *fx, int n) {
  for (int i = 0; i < n; i++)
    CHECK(tide_loop_run_once(fx->loop, 0) >= 0);
}

/* ---- a worker task: one waiting call, then one more await ------------------------------------
 *
 * The worker makes its blocking call (inside a deadline scope if deadline_ns > 0), records its id
 * in the trace on success, then awaits once more with tide_yield while it still holds what it
 * got: that is where a cancellation that lost the race to a hand-off must show up, and the other
 * waiters stay queued meanwhile. Then it gives back what it got (unless told to keep it) and
 * returns TIDE_ECANCELED if it saw a cancellation, 0 otherwise. */

struct worker;
typedef int (*worker_op)(struct worker *w);

struct worker {
  struct fixture *fx;
  worker_op op;
  worker_op give_back; /* NULL: nothing to give back */
  char id;
  int keep;            /* do not give back what the call got */
  int64_t deadline_ns; /* > 0: the call runs in a scope with this deadline */
  void *item;          /* queue: the item to put, or the one got */
  int started;
  int rc;              /* the waiting call's result */
  int scope_rc;        /* tide_scope_exit's result */
  int next_rc;         /* the await after it */
  int held;            /* condition: the worker held the mutex when wait returned */
  int64_t finished_at; /* tide_now when the waiting call returned */
  int finished;
  tide_future *task;
};

static int worker_body(tide_loop *loop, void *arg, void **result) {
  (void)result;
  struct worker *w = arg;
  w->started = 1;
  tide_scope scope;
  if (w->deadline_ns > 0)
    CHECK_OK(tide_scope_enter(loop, &scope, w->deadline_ns));
  w->rc = w->op(w);
  w->finished_at = tide_now(loop);
  if (w->deadline_ns > 0)
    w->scope_rc = tide_scope_exit(&scope);
  if (w->rc == 0)
    record(w->fx, w->id);
  w->next_rc = tide_yield(loop);
  if (w->rc == 0 && w->give_back != NULL && !w->keep)
    CHECK_OK(w->give_back(w));
  w->finished = 1;
  return w->rc == TIDE_ECANCELED || w->next_rc == TIDE_ECANCELED ? TIDE_ECANCELED : 0;
}

static int unlock_mutex(struct worker *w) {
  return tide_mutex_unlock(&w->fx->mutex);
}

static int release_permit(struct worker *w) {
  return tide_semaphore_release(&w->fx->sem);
}

static int op_lock(struct worker *w);
static int op_acquire(struct worker *w);

static void start(struct fixture *fx, struct worker *w, worker_op op, char id) {
  w->fx = fx;
  w->op = op;
  w->give_back = op == op_lock ? unlock_mutex : op == op_acquire ? release_permit : NULL;
  w->id = id;
  char name[8] = {'w', id, 0};
  CHECK_OK(tide_spawn(fx->loop, worker_body, w, &(tide_task_options){.name = name}, &w->task));
}

/* Checks how a worker's task ended, then gives its future back. */
static void finish(struct worker *w, int expected_task_rc) {
  CHECK_EQ(1, w->finished);
  CHECK_RC(expected_task_rc, tide_future_result(w->task, NULL));
  tide_future_release(w->task);
}

static void cancel(struct worker *w) {
  CHECK_OK(tide_future_cancel(w->task));
}

/* The ops. */

static int op_lock(struct worker *w) {
  return tide_mutex_lock(&w->fx->mutex);
}

static int op_acquire(struct worker *w) {
  return tide_semaphore_acquire(&w->fx->sem);
}

static int op_event_wait(struct worker *w) {
  return tide_event_wait(&w->fx->event);
}

/* Locks, waits on the condition, then unlocks: `held` says whether the unlock succeeded, i.e.
 * whether the wait returned with the mutex held by this task. */
static int op_cond_wait(struct worker *w) {
  CHECK_OK(tide_mutex_lock(&w->fx->mutex));
  int rc = tide_condition_wait(&w->fx->cond);
  w->held = tide_mutex_unlock(&w->fx->mutex) == 0;
  return rc;
}

static int op_get(struct worker *w) {
  return tide_queue_get(&w->fx->queue, &w->item);
}

static int op_put(struct worker *w) {
  return tide_queue_put(&w->fx->queue, w->item);
}

/* ---- same-tick races, as real callbacks ------------------------------------------------------ */

struct race {
  struct fixture *fx;
  struct worker *victim;
  void *item;
  int handoff_rc;
  int cancel_rc;
  int ran;
};

static void unlock_then_cancel(void *arg) {
  struct race *r = arg;
  r->handoff_rc = tide_mutex_unlock(&r->fx->mutex);
  r->cancel_rc = tide_future_cancel(r->victim->task);
  r->ran = 1;
}

static void cancel_then_unlock(void *arg) {
  struct race *r = arg;
  r->cancel_rc = tide_future_cancel(r->victim->task);
  r->handoff_rc = tide_mutex_unlock(&r->fx->mutex);
  r->ran = 1;
}

static void release_then_cancel(void *arg) {
  struct race *r = arg;
  r->handoff_rc = tide_semaphore_release(&r->fx->sem);
  r->cancel_rc = tide_future_cancel(r->victim->task);
  r->ran = 1;
}

static void cancel_then_release(void *arg) {
  struct race *r = arg;
  r->cancel_rc = tide_future_cancel(r->victim->task);
  r->handoff_rc = tide_semaphore_release(&r->fx->sem);
  r->ran = 1;
}

static void set_then_cancel(void *arg) {
  struct race *r = arg;
  r->handoff_rc = tide_event_set(&r->fx->event);
  r->cancel_rc = tide_future_cancel(r->victim->task);
  r->ran = 1;
}

static void notify_then_cancel(void *arg) {
  struct race *r = arg;
  CHECK_OK(tide_mutex_try_lock(&r->fx->mutex));
  r->handoff_rc = tide_condition_notify(&r->fx->cond, 1);
  r->cancel_rc = tide_future_cancel(r->victim->task);
  CHECK_OK(tide_mutex_unlock(&r->fx->mutex));
  r->ran = 1;
}

static void put_then_cancel(void *arg) {
  struct race *r = arg;
  r->handoff_rc = tide_queue_try_put(&r->fx->queue, r->item);
  r->cancel_rc = tide_future_cancel(r->victim->task);
  r->ran = 1;
}

static void get_then_cancel(void *arg) {
  struct race *r = arg;
  r->handoff_rc = tide_queue_try_get(&r->fx->queue, &r->item);
  r->cancel_rc = tide_future_cancel(r->victim->task);
  r->ran = 1;
}

static void run_race(struct fixture *fx, void (*fn)(void *), struct race *r) {
  CHECK_OK(tide_call_soon(fx->loop, fn, r));
  run_ticks(fx, 1);
  CHECK_EQ(1, r->ran);
}

/* ===== mutex ================================================================================= */

static int lock_uncontended(tide_loop *loop, void *arg, void **result) {
  (void)loop;
  (void)result;
  struct fixture *fx = arg;
  record(fx, 'a');
  CHECK_OK(tide_mutex_lock(&fx->mutex));
  record(fx, 'A'); /* no switch happened: b has not run */
  CHECK_EQ(1, tide_mutex_is_locked(&fx->mutex));
  CHECK_RC(TIDE_EAGAIN, tide_mutex_try_lock(&fx->mutex)); /* held, even by the caller */
  CHECK_RC(TIDE_EINVAL, tide_mutex_lock(&fx->mutex));     /* would wait for itself */
  CHECK_OK(tide_mutex_unlock(&fx->mutex));
  CHECK_EQ(0, tide_mutex_is_locked(&fx->mutex));
  CHECK_RC(TIDE_EINVAL, tide_mutex_unlock(&fx->mutex)); /* not locked */
  CHECK_OK(tide_mutex_try_lock(&fx->mutex));
  CHECK_OK(tide_mutex_unlock(&fx->mutex));
  return 0;
}

static int record_b(tide_loop *loop, void *arg, void **result) {
  (void)loop;
  (void)result;
  record(arg, 'b');
  return 0;
}

TIDE_TEST(sync, mutex_lock_of_a_free_mutex_takes_it_without_switching) {
  struct fixture fx;
  fixture_open(&fx, 0, 0);
  CHECK_OK(tide_spawn(fx.loop, lock_uncontended, &fx, NULL, NULL));
  CHECK_OK(tide_spawn(fx.loop, record_b, &fx, NULL, NULL));
  CHECK_EQ(0, tide_loop_run(fx.loop));
  CHECK_STR("aAb", fx.trace);
  fixture_close(&fx);
}

TIDE_TEST(sync, mutex_waiters_get_it_in_fifo_order_and_nobody_barges) {
  struct fixture fx;
  fixture_open(&fx, 0, 0);
  CHECK_OK(tide_mutex_try_lock(&fx.mutex)); /* held by the loop's callbacks (the test body) */
  struct worker w[4] = {{0}};
  for (int i = 0; i < 4; i++)
    start(&fx, &w[i], op_lock, (char)('a' + i));
  run_ticks(&fx, 2);
  CHECK_EQ(0, fx.n); /* all four wait */
  CHECK_OK(tide_mutex_unlock(&fx.mutex));
  /* Handed to 'a' at once: still locked, and a newcomer cannot take it before 'a' runs. */
  CHECK_EQ(1, tide_mutex_is_locked(&fx.mutex));
  CHECK_RC(TIDE_EAGAIN, tide_mutex_try_lock(&fx.mutex));
  CHECK_EQ(0, tide_loop_run(fx.loop));
  CHECK_STR("abcd", fx.trace);
  CHECK_EQ(0, tide_mutex_is_locked(&fx.mutex));
  for (int i = 0; i < 4; i++) {
    CHECK_OK(w[i].rc);
    finish(&w[i], 0);
  }
  fixture_close(&fx);
}

static int unlock_foreign(struct worker *w) {
  return tide_mutex_unlock(&w->fx->mutex);
}

TIDE_TEST(sync, mutex_unlock_by_anyone_but_the_holder_is_einval_and_changes_nothing) {
  struct fixture fx;
  fixture_open(&fx, 0, 0);
  /* Held by the loop's callbacks: a task may not unlock it. */
  CHECK_OK(tide_mutex_try_lock(&fx.mutex));
  struct worker stranger = {0};
  start(&fx, &stranger, unlock_foreign, 's');
  CHECK_EQ(0, tide_loop_run(fx.loop));
  CHECK_RC(TIDE_EINVAL, stranger.rc);
  CHECK_EQ(1, tide_mutex_is_locked(&fx.mutex));
  CHECK_OK(tide_mutex_unlock(&fx.mutex));
  finish(&stranger, 0);
  /* Held by a task: neither another task nor a callback may unlock it. */
  struct worker holder = {.keep = 1}, other = {0};
  start(&fx, &holder, op_lock, 'h');
  start(&fx, &other, unlock_foreign, 'o');
  CHECK_EQ(0, tide_loop_run(fx.loop));
  CHECK_OK(holder.rc);
  CHECK_RC(TIDE_EINVAL, other.rc);
  CHECK_RC(TIDE_EINVAL, tide_mutex_unlock(&fx.mutex));
  CHECK_EQ(1, tide_mutex_is_locked(&fx.mutex));
  CHECK_RC(TIDE_EBUSY, tide_mutex_destroy(&fx.mutex)); /* locked */
  /* The holder ended without unlocking, and nobody else may: re-initialise the mutex (nobody
   * waits on it) so that the fixture can destroy it. */
  CHECK_OK(tide_mutex_init(&fx.mutex, fx.loop));
  finish(&holder, 0);
  finish(&other, 0);
  fixture_close(&fx);
}

TIDE_TEST(sync, mutex_cancelled_waiter_is_unlinked_and_the_next_one_gets_it) {
  struct fixture fx;
  fixture_open(&fx, 0, 0);
  CHECK_OK(tide_mutex_try_lock(&fx.mutex));
  struct worker a = {0}, b = {0}, c = {0};
  start(&fx, &a, op_lock, 'a');
  start(&fx, &b, op_lock, 'b');
  start(&fx, &c, op_lock, 'c');
  run_ticks(&fx, 2);
  cancel(&b);
  run_ticks(&fx, 2);
  CHECK_RC(TIDE_ECANCELED, b.rc); /* returned while the mutex is still held: it left the queue */
  CHECK_EQ(1, b.finished);
  CHECK_OK(tide_mutex_unlock(&fx.mutex));
  CHECK_EQ(0, tide_loop_run(fx.loop));
  CHECK_STR("ac", fx.trace);
  CHECK_EQ(0, tide_mutex_is_locked(&fx.mutex));
  finish(&a, 0);
  finish(&b, TIDE_ECANCELED);
  finish(&c, 0);
  fixture_close(&fx);
}

TIDE_TEST(sync, mutex_unlock_then_cancel_in_one_callback_leaves_the_lock_with_the_waiter) {
  struct fixture fx;
  fixture_open(&fx, 0, 0);
  CHECK_OK(tide_mutex_try_lock(&fx.mutex));
  struct worker b = {0}, c = {0};
  start(&fx, &b, op_lock, 'b');
  start(&fx, &c, op_lock, 'c');
  run_ticks(&fx, 2);
  struct race r = {.fx = &fx, .victim = &b};
  run_race(&fx, unlock_then_cancel, &r);
  CHECK_OK(r.handoff_rc);
  CHECK_OK(r.cancel_rc);
  CHECK_EQ(0, tide_loop_run(fx.loop));
  CHECK_OK(b.rc);                      /* the hand-off won: b got the mutex ... */
  CHECK_RC(TIDE_ECANCELED, b.next_rc); /* ... and its cancellation came at the next await */
  CHECK_STR("bc", fx.trace);           /* b unlocked it, so c got it after */
  CHECK_EQ(0, tide_mutex_is_locked(&fx.mutex));
  finish(&b, TIDE_ECANCELED);
  finish(&c, 0);
  fixture_close(&fx);
}

TIDE_TEST(sync, mutex_cancel_then_unlock_in_one_callback_never_leaves_it_locked_by_nobody) {
  struct fixture fx;
  fixture_open(&fx, 0, 0);
  CHECK_OK(tide_mutex_try_lock(&fx.mutex));
  struct worker b = {0};
  start(&fx, &b, op_lock, 'b');
  run_ticks(&fx, 2);
  struct race r = {.fx = &fx, .victim = &b};
  run_race(&fx, cancel_then_unlock, &r);
  CHECK_OK(r.cancel_rc);
  CHECK_OK(r.handoff_rc);
  CHECK_EQ(0, tide_mutex_is_locked(&fx.mutex)); /* the only waiter had left: it is free */
  CHECK_EQ(0, tide_loop_run(fx.loop));
  CHECK_RC(TIDE_ECANCELED, b.rc);
  CHECK_EQ(0, fx.n);
  CHECK_OK(tide_mutex_try_lock(&fx.mutex));
  CHECK_OK(tide_mutex_unlock(&fx.mutex));
  finish(&b, TIDE_ECANCELED);
  fixture_close(&fx);
}

TIDE_TEST(sync, mutex_deadline_scope_expiring_while_waiting_returns_etimedout) {
  struct fixture fx;
  fixture_open(&fx, 0, 0);
  CHECK_OK(tide_mutex_try_lock(&fx.mutex));
  struct worker w = {.deadline_ns = 5 * MS};
  start(&fx, &w, op_lock, 'w');
  int64_t t0 = tide_loop_update_time(fx.loop);
  CHECK_EQ(0, tide_loop_run(fx.loop));
  CHECK(tide_now(fx.loop) - t0 >= 5 * MS);
  CHECK_RC(TIDE_ETIMEDOUT, w.rc);
  CHECK_RC(TIDE_ETIMEDOUT, w.scope_rc);
  CHECK_OK(w.next_rc);                    /* outside the scope, awaits work again */
  CHECK_OK(tide_mutex_unlock(&fx.mutex)); /* nobody waits any more: the mutex is free */
  CHECK_EQ(0, tide_mutex_is_locked(&fx.mutex));
  finish(&w, 0);
  fixture_close(&fx);
}

TIDE_TEST(sync, mutex_bad_arguments_calls_outside_a_task_and_busy_destroy) {
  struct fixture fx;
  fixture_open(&fx, 0, 0);
  tide_mutex m;
  CHECK_RC(TIDE_EINVAL, tide_mutex_init(NULL, fx.loop));
  CHECK_RC(TIDE_EINVAL, tide_mutex_init(&m, NULL));
  CHECK_RC(TIDE_EINVAL, tide_mutex_destroy(NULL));
  CHECK_RC(TIDE_EINVAL, tide_mutex_lock(NULL));
  CHECK_RC(TIDE_EINVAL, tide_mutex_try_lock(NULL));
  CHECK_RC(TIDE_EINVAL, tide_mutex_unlock(NULL));
  CHECK_EQ(0, tide_mutex_is_locked(NULL));
  CHECK_RC(TIDE_EINVAL, tide_mutex_lock(&fx.mutex)); /* not in a task */
  CHECK_EQ(0, tide_mutex_is_locked(&fx.mutex));
  /* Destroyed: every call is EINVAL. */
  CHECK_OK(tide_mutex_init(&m, fx.loop));
  CHECK_OK(tide_mutex_destroy(&m));
  CHECK_RC(TIDE_EINVAL, tide_mutex_destroy(&m));
  CHECK_RC(TIDE_EINVAL, tide_mutex_try_lock(&m));
  CHECK_RC(TIDE_EINVAL, tide_mutex_unlock(&m));
  /* A waiter makes destroy busy, and a lock held by the callbacks too. */
  CHECK_OK(tide_mutex_try_lock(&fx.mutex));
  CHECK_RC(TIDE_EBUSY, tide_mutex_destroy(&fx.mutex));
  struct worker w = {0};
  start(&fx, &w, op_lock, 'w');
  run_ticks(&fx, 2);
  CHECK_OK(tide_mutex_unlock(&fx.mutex)); /* handed to w, which has not run yet */
  CHECK_RC(TIDE_EBUSY, tide_mutex_destroy(&fx.mutex));
  CHECK_EQ(0, tide_loop_run(fx.loop));
  finish(&w, 0);
  fixture_close(&fx);
}

/* ===== semaphore ============================================================================= */

TIDE_TEST(sync, semaphore_counts_permits_and_try_acquire_fails_at_zero) {
  struct fixture fx;
  fixture_open(&fx, 2, 0);
  CHECK_EQ(2, tide_semaphore_value(&fx.sem));
  CHECK_OK(tide_semaphore_try_acquire(&fx.sem));
  CHECK_OK(tide_semaphore_try_acquire(&fx.sem));
  CHECK_RC(TIDE_EAGAIN, tide_semaphore_try_acquire(&fx.sem));
  CHECK_EQ(0, tide_semaphore_value(&fx.sem));
  CHECK_OK(tide_semaphore_release(&fx.sem));
  CHECK_EQ(1, tide_semaphore_value(&fx.sem));
  CHECK_OK(tide_semaphore_release(&fx.sem));
  CHECK_OK(tide_semaphore_release(&fx.sem)); /* unbounded: more than the initial count is fine */
  CHECK_EQ(3, tide_semaphore_value(&fx.sem));
  /* An acquire with permits free takes one without switching. */
  struct worker w = {.keep = 1};
  start(&fx, &w, op_acquire, 'w');
  CHECK_EQ(0, tide_loop_run(fx.loop));
  CHECK_OK(w.rc);
  CHECK_EQ(2, tide_semaphore_value(&fx.sem));
  finish(&w, 0);
  fixture_close(&fx);
}

TIDE_TEST(sync, semaphore_waiters_are_served_in_fifo_order_and_a_release_goes_to_the_first) {
  struct fixture fx;
  fixture_open(&fx, 0, 0);
  struct worker w[3] = {{.keep = 1}, {.keep = 1}, {.keep = 1}};
  for (int i = 0; i < 3; i++)
    start(&fx, &w[i], op_acquire, (char)('a' + i));
  run_ticks(&fx, 2);
  CHECK_OK(tide_semaphore_release(&fx.sem));
  CHECK_EQ(0, tide_semaphore_value(&fx.sem)); /* went to 'a', not to the count */
  CHECK_RC(TIDE_EAGAIN, tide_semaphore_try_acquire(&fx.sem));
  run_ticks(&fx, 2);
  CHECK_STR("a", fx.trace);
  CHECK_OK(tide_semaphore_release(&fx.sem));
  CHECK_OK(tide_semaphore_release(&fx.sem));
  CHECK_EQ(0, tide_loop_run(fx.loop));
  CHECK_STR("abc", fx.trace);
  CHECK_EQ(0, tide_semaphore_value(&fx.sem)); /* three released, three held by the workers */
  for (int i = 0; i < 3; i++)
    finish(&w[i], 0);
  fixture_close(&fx);
}

TIDE_TEST(sync, semaphore_cancelled_waiter_is_unlinked_and_leaks_no_permit) {
  struct fixture fx;
  fixture_open(&fx, 0, 0);
  struct worker a = {.keep = 1}, b = {.keep = 1};
  start(&fx, &a, op_acquire, 'a');
  start(&fx, &b, op_acquire, 'b');
  run_ticks(&fx, 2);
  cancel(&a);
  run_ticks(&fx, 2);
  CHECK_RC(TIDE_ECANCELED, a.rc);
  CHECK_OK(tide_semaphore_release(&fx.sem)); /* to b, the only waiter left */
  CHECK_OK(tide_semaphore_release(&fx.sem)); /* to the count */
  CHECK_EQ(0, tide_loop_run(fx.loop));
  CHECK_STR("b", fx.trace);
  CHECK_EQ(1, tide_semaphore_value(&fx.sem)); /* two released = b's + one free */
  finish(&a, TIDE_ECANCELED);
  finish(&b, 0);
  fixture_close(&fx);
}

TIDE_TEST(sync, semaphore_release_then_cancel_in_one_callback_gives_the_waiter_its_permit) {
  struct fixture fx;
  fixture_open(&fx, 0, 0);
  struct worker a = {0}; /* gives its permit back at the end */
  start(&fx, &a, op_acquire, 'a');
  run_ticks(&fx, 2);
  struct race r = {.fx = &fx, .victim = &a};
  run_race(&fx, release_then_cancel, &r);
  CHECK_OK(r.handoff_rc);
  CHECK_OK(r.cancel_rc);
  CHECK_EQ(0, tide_loop_run(fx.loop));
  CHECK_OK(a.rc);
  CHECK_RC(TIDE_ECANCELED, a.next_rc);
  CHECK_EQ(1, tide_semaphore_value(&fx.sem)); /* the one permit released came back */
  finish(&a, TIDE_ECANCELED);
  fixture_close(&fx);
}

TIDE_TEST(sync, semaphore_cancel_then_release_in_one_callback_keeps_the_permit_in_the_count) {
  struct fixture fx;
  fixture_open(&fx, 0, 0);
  struct worker a = {.keep = 1};
  start(&fx, &a, op_acquire, 'a');
  run_ticks(&fx, 2);
  struct race r = {.fx = &fx, .victim = &a};
  run_race(&fx, cancel_then_release, &r);
  CHECK_EQ(1, tide_semaphore_value(&fx.sem));
  CHECK_EQ(0, tide_loop_run(fx.loop));
  CHECK_RC(TIDE_ECANCELED, a.rc);
  CHECK_EQ(1, tide_semaphore_value(&fx.sem));
  finish(&a, TIDE_ECANCELED);
  fixture_close(&fx);
}

TIDE_TEST(sync, semaphore_deadline_scope_expiring_while_waiting_returns_etimedout) {
  struct fixture fx;
  fixture_open(&fx, 0, 0);
  struct worker w = {.keep = 1, .deadline_ns = 5 * MS};
  start(&fx, &w, op_acquire, 'w');
  CHECK_EQ(0, tide_loop_run(fx.loop));
  CHECK_RC(TIDE_ETIMEDOUT, w.rc);
  CHECK_RC(TIDE_ETIMEDOUT, w.scope_rc);
  CHECK_OK(tide_semaphore_release(&fx.sem)); /* nobody waits: it stays in the count */
  CHECK_EQ(1, tide_semaphore_value(&fx.sem));
  finish(&w, 0);
  fixture_close(&fx);
}

TIDE_TEST(sync, semaphore_bad_arguments_calls_outside_a_task_overflow_and_busy_destroy) {
  struct fixture fx;
  fixture_open(&fx, 0, 0);
  tide_semaphore s;
  CHECK_RC(TIDE_EINVAL, tide_semaphore_init(NULL, fx.loop, 1));
  CHECK_RC(TIDE_EINVAL, tide_semaphore_init(&s, NULL, 1));
  CHECK_RC(TIDE_EINVAL, tide_semaphore_destroy(NULL));
  CHECK_RC(TIDE_EINVAL, tide_semaphore_acquire(NULL));
  CHECK_RC(TIDE_EINVAL, tide_semaphore_try_acquire(NULL));
  CHECK_RC(TIDE_EINVAL, tide_semaphore_release(NULL));
  CHECK_EQ(0, tide_semaphore_value(NULL));
  CHECK_RC(TIDE_EINVAL, tide_semaphore_acquire(&fx.sem)); /* not in a task */
  CHECK_OK(tide_semaphore_init(&s, fx.loop, UINT_MAX));
  CHECK_RC(TIDE_ERANGE, tide_semaphore_release(&s));
  CHECK_EQ(UINT_MAX, tide_semaphore_value(&s));
  CHECK_OK(tide_semaphore_destroy(&s));
  CHECK_RC(TIDE_EINVAL, tide_semaphore_destroy(&s));
  CHECK_RC(TIDE_EINVAL, tide_semaphore_release(&s));
  CHECK_RC(TIDE_EINVAL, tide_semaphore_try_acquire(&s));
  struct worker w = {.keep = 1};
  start(&fx, &w, op_acquire, 'w');
  run_ticks(&fx, 2);
  CHECK_RC(TIDE_EBUSY, tide_semaphore_destroy(&fx.sem));
  CHECK_OK(tide_semaphore_release(&fx.sem));
  CHECK_EQ(0, tide_loop_run(fx.loop));
  finish(&w, 0);
  fixture_close(&fx);
}

/* ===== event ================================================================================= */

TIDE_TEST(sync, event_set_wakes_every_waiter_in_fifo_order_and_wait_on_a_set_event_returns) {
  struct fixture fx;
  fixture_open(&fx, 0, 0);
  struct worker w[3] = {{0}};
  for (int i = 0; i < 3; i++)
    start(&fx, &w[i], op_event_wait, (char)('a' + i));
  run_ticks(&fx, 2);
  CHECK_EQ(0, fx.n);
  CHECK_EQ(0, tide_event_is_set(&fx.event));
  CHECK_OK(tide_event_set(&fx.event));
  CHECK_EQ(1, tide_event_is_set(&fx.event));
  CHECK_OK(tide_event_set(&fx.event)); /* again: nothing more happens */
  CHECK_EQ(0, tide_loop_run(fx.loop));
  CHECK_STR("abc", fx.trace);
  /* While set, a wait returns at once; after clear it waits again. */
  struct worker d = {0}, e = {0};
  start(&fx, &d, op_event_wait, 'd');
  CHECK_EQ(0, tide_loop_run(fx.loop));
  CHECK_STR("abcd", fx.trace);
  CHECK_OK(tide_event_clear(&fx.event));
  start(&fx, &e, op_event_wait, 'e');
  run_ticks(&fx, 3);
  CHECK_EQ(0, e.finished);
  CHECK_OK(tide_event_set(&fx.event));
  CHECK_EQ(0, tide_loop_run(fx.loop));
  CHECK_STR("abcde", fx.trace);
  for (int i = 0; i < 3; i++)
    finish(&w[i], 0);
  finish(&d, 0);
  finish(&e, 0);
  fixture_close(&fx);
}

TIDE_TEST(sync, event_set_then_clear_still_wakes_the_tasks_that_were_waiting) {
  struct fixture fx;
  fixture_open(&fx, 0, 0);
  struct worker a = {0};
  start(&fx, &a, op_event_wait, 'a');
  run_ticks(&fx, 2);
  CHECK_OK(tide_event_set(&fx.event));
  CHECK_OK(tide_event_clear(&fx.event));
  CHECK_EQ(0, tide_loop_run(fx.loop));
  CHECK_OK(a.rc);
  CHECK_STR("a", fx.trace);
  finish(&a, 0);
  fixture_close(&fx);
}

TIDE_TEST(sync, event_cancelled_waiter_is_unlinked_and_the_others_still_wake) {
  struct fixture fx;
  fixture_open(&fx, 0, 0);
  struct worker a = {0}, b = {0}, c = {0};
  start(&fx, &a, op_event_wait, 'a');
  start(&fx, &b, op_event_wait, 'b');
  start(&fx, &c, op_event_wait, 'c');
  run_ticks(&fx, 2);
  cancel(&b);
  run_ticks(&fx, 2);
  CHECK_RC(TIDE_ECANCELED, b.rc);
  CHECK_OK(tide_event_set(&fx.event));
  CHECK_EQ(0, tide_loop_run(fx.loop));
  CHECK_STR("ac", fx.trace);
  finish(&a, 0);
  finish(&b, TIDE_ECANCELED);
  finish(&c, 0);
  fixture_close(&fx);
}

TIDE_TEST(sync, event_set_then_cancel_in_one_callback_returns_0_then_cancels_at_the_next_await) {
  struct fixture fx;
  fixture_open(&fx, 0, 0);
  struct worker a = {0};
  start(&fx, &a, op_event_wait, 'a');
  run_ticks(&fx, 2);
  struct race r = {.fx = &fx, .victim = &a};
  run_race(&fx, set_then_cancel, &r);
  CHECK_OK(r.cancel_rc);
  CHECK_EQ(0, tide_loop_run(fx.loop));
  CHECK_OK(a.rc);
  CHECK_RC(TIDE_ECANCELED, a.next_rc);
  finish(&a, TIDE_ECANCELED);
  fixture_close(&fx);
}

static int event_wait_with_await_timeout_scope(struct worker *w) {
  /* The shape of tide_await_timeout, for a call that is not a future: a scope around it. */
  tide_scope scope;
  CHECK_OK(tide_scope_enter(w->fx->loop, &scope, 3 * MS));
  int rc = tide_event_wait(&w->fx->event);
  w->scope_rc = tide_scope_exit(&scope);
  return rc;
}

TIDE_TEST(sync, event_deadline_scope_expiring_while_waiting_returns_etimedout) {
  struct fixture fx;
  fixture_open(&fx, 0, 0);
  struct worker a = {0};
  start(&fx, &a, event_wait_with_await_timeout_scope, 'a');
  CHECK_EQ(0, tide_loop_run(fx.loop));
  CHECK_RC(TIDE_ETIMEDOUT, a.rc);
  CHECK_RC(TIDE_ETIMEDOUT, a.scope_rc);
  CHECK_OK(tide_event_destroy(&fx.event)); /* nobody waits any more */
  CHECK_OK(tide_event_init(&fx.event, fx.loop));
  finish(&a, 0);
  fixture_close(&fx);
}

TIDE_TEST(sync, event_bad_arguments_calls_outside_a_task_and_busy_destroy) {
  struct fixture fx;
  fixture_open(&fx, 0, 0);
  tide_event e;
  CHECK_RC(TIDE_EINVAL, tide_event_init(NULL, fx.loop));
  CHECK_RC(TIDE_EINVAL, tide_event_init(&e, NULL));
  CHECK_RC(TIDE_EINVAL, tide_event_destroy(NULL));
  CHECK_RC(TIDE_EINVAL, tide_event_set(NULL));
  CHECK_RC(TIDE_EINVAL, tide_event_clear(NULL));
  CHECK_RC(TIDE_EINVAL, tide_event_wait(NULL));
  CHECK_EQ(0, tide_event_is_set(NULL));
  CHECK_RC(TIDE_EINVAL, tide_event_wait(&fx.event)); /* not in a task */
  CHECK_OK(tide_event_init(&e, fx.loop));
  CHECK_OK(tide_event_destroy(&e));
  CHECK_RC(TIDE_EINVAL, tide_event_destroy(&e));
  CHECK_RC(TIDE_EINVAL, tide_event_set(&e));
  struct worker w = {0};
  start(&fx, &w, op_event_wait, 'w');
  run_ticks(&fx, 2);
  CHECK_RC(TIDE_EBUSY, tide_event_destroy(&fx.event));
  CHECK_OK(tide_event_set(&fx.event));
  CHECK_EQ(0, tide_loop_run(fx.loop));
  finish(&w, 0);
  fixture_close(&fx);
}

/* ===== condition ============================================================================= */

TIDE_TEST(sync, condition_wait_releases_the_mutex_and_returns_holding_it_after_notify) {
  struct fixture fx;
  fixture_open(&fx, 0, 0);
  struct worker a = {0};
  start(&fx, &a, op_cond_wait, 'a');
  run_ticks(&fx, 2);
  CHECK_EQ(0, tide_mutex_is_locked(&fx.mutex)); /* released by the wait */
  CHECK_OK(tide_mutex_try_lock(&fx.mutex));
  CHECK_EQ(1, tide_condition_notify(&fx.cond, 1));
  run_ticks(&fx, 3);
  CHECK_EQ(0, a.finished); /* notified, but the mutex is still ours */
  CHECK_OK(tide_mutex_unlock(&fx.mutex));
  CHECK_EQ(0, tide_loop_run(fx.loop));
  CHECK_OK(a.rc);
  CHECK_EQ(1, a.held);
  CHECK_EQ(0, tide_mutex_is_locked(&fx.mutex));
  finish(&a, 0);
  fixture_close(&fx);
}

TIDE_TEST(sync, condition_notify_wakes_n_waiters_in_fifo_order_and_notify_all_the_rest) {
  struct fixture fx;
  fixture_open(&fx, 0, 0);
  struct worker w[4] = {{0}};
  for (int i = 0; i < 4; i++)
    start(&fx, &w[i], op_cond_wait, (char)('a' + i));
  run_ticks(&fx, 2);
  CHECK_OK(tide_mutex_try_lock(&fx.mutex));
  CHECK_EQ(2, tide_condition_notify(&fx.cond, 2));
  CHECK_EQ(0, tide_condition_notify(&fx.cond, 0));
  CHECK_OK(tide_mutex_unlock(&fx.mutex));
  CHECK_EQ(0, tide_loop_run(fx.loop));
  CHECK_STR("ab", fx.trace);
  CHECK_OK(tide_mutex_try_lock(&fx.mutex));
  CHECK_EQ(2, tide_condition_notify_all(&fx.cond));
  CHECK_EQ(0, tide_condition_notify_all(&fx.cond)); /* nobody left */
  CHECK_OK(tide_mutex_unlock(&fx.mutex));
  CHECK_EQ(0, tide_loop_run(fx.loop));
  CHECK_STR("abcd", fx.trace);
  for (int i = 0; i < 4; i++) {
    CHECK_EQ(1, w[i].held);
    finish(&w[i], 0);
  }
  fixture_close(&fx);
}

/* a is cancelled while waiting for a notification, at a moment the mutex is held elsewhere: it
 * must still return holding the mutex, and must not use up the notification meant for b. */
TIDE_TEST(sync, condition_cancelled_waiter_returns_holding_the_mutex_and_takes_no_notification) {
  struct fixture fx;
  fixture_open(&fx, 0, 0);
  struct worker a = {0}, b = {0};
  start(&fx, &a, op_cond_wait, 'a');
  start(&fx, &b, op_cond_wait, 'b');
  run_ticks(&fx, 2);
  CHECK_OK(tide_mutex_try_lock(&fx.mutex));
  cancel(&a);
  CHECK_EQ(1, tide_condition_notify(&fx.cond, 1)); /* b: a left the queue when cancelled */
  run_ticks(&fx, 3);
  CHECK_EQ(0, a.finished); /* cancelled, but waiting for the mutex first */
  CHECK_OK(tide_mutex_unlock(&fx.mutex));
  CHECK_EQ(0, tide_loop_run(fx.loop));
  CHECK_RC(TIDE_ECANCELED, a.rc);
  CHECK_EQ(1, a.held);
  CHECK_OK(b.rc);
  CHECK_EQ(1, b.held);
  CHECK_STR("b", fx.trace);
  CHECK_EQ(0, tide_mutex_is_locked(&fx.mutex));
  finish(&a, TIDE_ECANCELED);
  finish(&b, 0);
  fixture_close(&fx);
}

TIDE_TEST(sync, condition_notify_then_cancel_in_one_callback_keeps_the_notification) {
  struct fixture fx;
  fixture_open(&fx, 0, 0);
  struct worker a = {0}, b = {0};
  start(&fx, &a, op_cond_wait, 'a');
  start(&fx, &b, op_cond_wait, 'b');
  run_ticks(&fx, 2);
  struct race r = {.fx = &fx, .victim = &a};
  run_race(&fx, notify_then_cancel, &r);
  CHECK_EQ(1, r.handoff_rc);
  CHECK_OK(r.cancel_rc);
  CHECK_EQ(0, tide_loop_run(fx.loop));
  CHECK_OK(a.rc); /* notified before the cancellation: the wait succeeded */
  CHECK_EQ(1, a.held);
  CHECK_RC(TIDE_ECANCELED, a.next_rc);
  CHECK_EQ(0, b.finished); /* the one notification went to a, b still waits */
  CHECK_OK(tide_mutex_try_lock(&fx.mutex));
  CHECK_EQ(1, tide_condition_notify(&fx.cond, 1));
  CHECK_OK(tide_mutex_unlock(&fx.mutex));
  CHECK_EQ(0, tide_loop_run(fx.loop));
  CHECK_STR("ab", fx.trace);
  finish(&a, TIDE_ECANCELED);
  finish(&b, 0);
  fixture_close(&fx);
}

/* A task that holds the mutex for a while: it locks it in its first step (cancelling `victim`
 * right after, if set), sleeps `hold_ns` and unlocks. Timing cannot reorder what the tests below
 * check: a timer with a shorter deadline fires first even when both are overdue, and the victim
 * waiting for the mutex cannot get it before the holder's unlock. */
struct holder {
  struct fixture *fx;
  int64_t hold_ns;
  struct worker *victim;
  int64_t unlocked_at;
};

static int hold_mutex(tide_loop *loop, void *arg, void **result) {
  (void)result;
  struct holder *h = arg;
  CHECK_OK(tide_mutex_lock(&h->fx->mutex));
  if (h->victim != NULL)
    cancel(h->victim);
  CHECK_OK(tide_sleep(loop, h->hold_ns));
  h->unlocked_at = tide_now(loop);
  CHECK_OK(tide_mutex_unlock(&h->fx->mutex));
  return 0;
}

/* The deadline passes while the mutex is held elsewhere: the expired scope would fail every
 * ordinary await, but the wait still takes the mutex back before returning TIDE_ETIMEDOUT. */
TIDE_TEST(sync, condition_deadline_expiring_while_waiting_returns_etimedout_with_the_mutex) {
  struct fixture fx;
  fixture_open(&fx, 0, 0);
  struct worker a = {.deadline_ns = 3 * MS};
  struct holder h = {.fx = &fx, .hold_ns = 20 * MS};
  start(&fx, &a, op_cond_wait, 'a'); /* waits, and so frees the mutex for h in the same tick */
  tide_future *hf = NULL;
  CHECK_OK(tide_spawn(fx.loop, hold_mutex, &h, NULL, &hf));
  CHECK_EQ(0, tide_loop_run(fx.loop));
  CHECK_RC(TIDE_ETIMEDOUT, a.rc);
  CHECK_RC(TIDE_ETIMEDOUT, a.scope_rc);
  CHECK_EQ(1, a.held);
  CHECK(a.finished_at >= h.unlocked_at); /* it waited for the mutex after its deadline */
  CHECK_OK(a.next_rc);                   /* outside the expired scope, awaits work again */
  CHECK_EQ(0, tide_mutex_is_locked(&fx.mutex));
  CHECK_OK(tide_future_result(hf, NULL));
  tide_future_release(hf);
  finish(&a, 0);
  fixture_close(&fx);
}

/* Cancelled while waiting to be notified, then the deadline expires while it waits for the
 * mutex: neither stop interrupts the re-lock. */
TIDE_TEST(sync, condition_stops_during_the_relock_do_not_interrupt_it) {
  struct fixture fx;
  fixture_open(&fx, 0, 0);
  struct worker a = {.deadline_ns = 5 * MS};
  struct holder h = {.fx = &fx, .hold_ns = 20 * MS, .victim = &a};
  start(&fx, &a, op_cond_wait, 'a');
  tide_future *hf = NULL;
  CHECK_OK(tide_spawn(fx.loop, hold_mutex, &h, NULL, &hf));
  CHECK_EQ(0, tide_loop_run(fx.loop));
  CHECK_RC(TIDE_ECANCELED, a.rc);
  CHECK_RC(TIDE_ETIMEDOUT, a.scope_rc); /* the deadline passed during the re-lock */
  CHECK_EQ(1, a.held);
  CHECK(a.finished_at >= h.unlocked_at);
  CHECK_OK(tide_future_result(hf, NULL));
  tide_future_release(hf);
  finish(&a, TIDE_ECANCELED);
  fixture_close(&fx);
}

static int cond_wait_unheld(struct worker *w) {
  return tide_condition_wait(&w->fx->cond);
}

static int cond_notify_unheld(struct worker *w) {
  return tide_condition_notify(&w->fx->cond, 1);
}

TIDE_TEST(sync, condition_wait_or_notify_without_the_mutex_and_bad_arguments_are_einval) {
  struct fixture fx;
  fixture_open(&fx, 0, 0);
  tide_condition c;
  tide_mutex m;
  CHECK_RC(TIDE_EINVAL, tide_condition_init(NULL, &fx.mutex));
  CHECK_RC(TIDE_EINVAL, tide_condition_init(&c, NULL));
  CHECK_RC(TIDE_EINVAL, tide_condition_destroy(NULL));
  CHECK_RC(TIDE_EINVAL, tide_condition_wait(NULL));
  CHECK_RC(TIDE_EINVAL, tide_condition_notify(NULL, 1));
  CHECK_RC(TIDE_EINVAL, tide_condition_notify_all(NULL));
  CHECK_OK(tide_mutex_init(&m, fx.loop));
  CHECK_OK(tide_mutex_destroy(&m));
  CHECK_RC(TIDE_EINVAL, tide_condition_init(&c, &m)); /* destroyed mutex */
  /* Outside a task, and without the mutex. */
  CHECK_RC(TIDE_EINVAL, tide_condition_wait(&fx.cond));
  CHECK_RC(TIDE_EINVAL, tide_condition_notify(&fx.cond, 1));
  CHECK_OK(tide_mutex_try_lock(&fx.mutex));
  CHECK_RC(TIDE_EINVAL, tide_condition_wait(&fx.cond)); /* held, but not in a task */
  CHECK_RC(TIDE_EINVAL, tide_condition_notify(&fx.cond, -1));
  CHECK_EQ(0, tide_condition_notify(&fx.cond, 1));
  /* Tasks that do not hold it (the callbacks do). */
  struct worker waiter = {0}, notifier = {0};
  start(&fx, &waiter, cond_wait_unheld, 'w');
  start(&fx, &notifier, cond_notify_unheld, 'n');
  CHECK_EQ(0, tide_loop_run(fx.loop));
  CHECK_RC(TIDE_EINVAL, waiter.rc);
  CHECK_RC(TIDE_EINVAL, notifier.rc);
  CHECK_OK(tide_mutex_unlock(&fx.mutex));
  /* A waiter makes destroy busy. */
  struct worker a = {0};
  start(&fx, &a, op_cond_wait, 'a');
  run_ticks(&fx, 2);
  CHECK_RC(TIDE_EBUSY, tide_condition_destroy(&fx.cond));
  CHECK_OK(tide_mutex_try_lock(&fx.mutex));
  CHECK_EQ(1, tide_condition_notify_all(&fx.cond));
  CHECK_OK(tide_mutex_unlock(&fx.mutex));
  CHECK_EQ(0, tide_loop_run(fx.loop));
  CHECK_OK(tide_condition_init(&c, &fx.mutex));
  CHECK_OK(tide_condition_destroy(&c));
  CHECK_RC(TIDE_EINVAL, tide_condition_destroy(&c));
  CHECK_RC(TIDE_EINVAL, tide_condition_notify(&c, 1));
  finish(&waiter, 0);
  finish(&notifier, 0);
  finish(&a, 0);
  fixture_close(&fx);
}

/* ===== queue ================================================================================= */

static char letters[] = "ABCDEFGHIJ";
#define ITEM(c) ((void *)&letters[(c) - 'A'])

TIDE_TEST(sync, queue_keeps_fifo_order_across_wraparound_and_try_variants_report_eagain) {
  struct fixture fx;
  fixture_open(&fx, 0, 3);
  CHECK_EQ(3, tide_queue_capacity(&fx.queue));
  void *item = ITEM('J');
  CHECK_RC(TIDE_EAGAIN, tide_queue_try_get(&fx.queue, &item));
  CHECK(item == ITEM('J')); /* untouched */
  int next_in = 0, next_out = 0;
  for (int round = 0; round < 5; round++) {
    while (tide_queue_size(&fx.queue) < 3)
      CHECK_OK(tide_queue_try_put(&fx.queue, ITEM('A' + next_in++ % 10)));
    CHECK_RC(TIDE_EAGAIN, tide_queue_try_put(&fx.queue, ITEM('J')));
    for (int i = 0; i < 2; i++) {
      CHECK_OK(tide_queue_try_get(&fx.queue, &item));
      CHECK_EQ('A' + next_out++ % 10, *(char *)item);
    }
  }
  CHECK_EQ(1, tide_queue_size(&fx.queue));
  CHECK_OK(tide_queue_try_get(&fx.queue, &item));
  CHECK_EQ('A' + next_out++ % 10, *(char *)item);
  CHECK_EQ(next_in, next_out);
  CHECK_OK(tide_queue_try_put(&fx.queue, NULL)); /* NULL is an item like any other */
  CHECK_OK(tide_queue_try_get(&fx.queue, &item));
  CHECK(item == NULL);
  fixture_close(&fx);
}

struct producer {
  struct fixture *fx;
  int count;
  int done;
};

static int put_letters(tide_loop *loop, void *arg, void **result) {
  (void)loop;
  (void)result;
  struct producer *p = arg;
  for (int i = 0; i < p->count; i++) {
    CHECK_OK(tide_queue_put(&p->fx->queue, ITEM('A' + i)));
    p->done++;
  }
  return 0;
}

TIDE_TEST(sync, queue_put_waits_while_full_and_get_waits_while_empty) {
  struct fixture fx;
  fixture_open(&fx, 0, 2);
  struct producer p = {&fx, 5, 0};
  tide_future *pf = NULL;
  CHECK_OK(tide_spawn(fx.loop, put_letters, &p, NULL, &pf));
  run_ticks(&fx, 3);
  CHECK_EQ(2, p.done); /* A, B in; waits to put C */
  CHECK_EQ(2, tide_queue_size(&fx.queue));
  void *item = NULL;
  CHECK_OK(tide_queue_try_get(&fx.queue, &item));
  CHECK_EQ('A', *(char *)item);
  CHECK_EQ(2, tide_queue_size(&fx.queue)); /* C was admitted into the room at once */
  CHECK_RC(TIDE_EAGAIN, tide_queue_try_put(&fx.queue, ITEM('J'))); /* full again */
  CHECK_EQ(0, tide_loop_run(fx.loop));                             /* the producer waits with D */
  CHECK_EQ(3, p.done);
  for (char want = 'B'; want <= 'E'; want++) {
    CHECK_OK(tide_queue_try_get(&fx.queue, &item));
    CHECK_EQ(want, *(char *)item);
    CHECK(tide_loop_run(fx.loop) >= 0);
  }
  CHECK_EQ(5, p.done);
  CHECK_OK(tide_future_result(pf, NULL));
  tide_future_release(pf);
  /* A getter on an empty queue waits; a put hands the item over directly. */
  struct worker g = {0};
  start(&fx, &g, op_get, 'g');
  run_ticks(&fx, 2);
  CHECK_EQ(0, g.finished);
  CHECK_OK(tide_queue_try_put(&fx.queue, ITEM('F')));
  CHECK_EQ(0, tide_queue_size(&fx.queue));                     /* given to g, not put in the ring */
  CHECK_RC(TIDE_EAGAIN, tide_queue_try_get(&fx.queue, &item)); /* nobody can take it from g */
  CHECK_EQ(0, tide_loop_run(fx.loop));
  CHECK_OK(g.rc);
  CHECK(g.item == ITEM('F'));
  finish(&g, 0);
  fixture_close(&fx);
}

TIDE_TEST(sync, queue_getters_and_blocked_putters_are_served_in_fifo_order) {
  struct fixture fx;
  fixture_open(&fx, 0, 1);
  struct worker g[3] = {{0}};
  for (int i = 0; i < 3; i++)
    start(&fx, &g[i], op_get, (char)('a' + i));
  run_ticks(&fx, 2);
  CHECK_OK(tide_queue_try_put(&fx.queue, ITEM('A')));
  CHECK_OK(tide_queue_try_put(&fx.queue, ITEM('B')));
  CHECK_OK(tide_queue_try_put(&fx.queue, ITEM('C')));
  CHECK_EQ(0, tide_loop_run(fx.loop));
  CHECK_STR("abc", fx.trace);
  CHECK(g[0].item == ITEM('A') && g[1].item == ITEM('B') && g[2].item == ITEM('C'));
  /* Now the other way round: the ring is full and three putters wait. */
  CHECK_OK(tide_queue_try_put(&fx.queue, ITEM('D')));
  struct worker p[3] = {{.item = ITEM('E')}, {.item = ITEM('F')}, {.item = ITEM('G')}};
  for (int i = 0; i < 3; i++)
    start(&fx, &p[i], op_put, (char)('d' + i));
  run_ticks(&fx, 2);
  for (char want = 'D'; want <= 'G'; want++) {
    void *item = NULL;
    CHECK_OK(tide_queue_try_get(&fx.queue, &item));
    CHECK_EQ(want, *(char *)item);
  }
  CHECK_EQ(0, tide_loop_run(fx.loop));
  CHECK_STR("abcdef", fx.trace);
  for (int i = 0; i < 3; i++) {
    finish(&g[i], 0);
    finish(&p[i], 0);
  }
  fixture_close(&fx);
}

TIDE_TEST(sync, queue_cancelled_get_is_unlinked_and_never_takes_an_item) {
  struct fixture fx;
  fixture_open(&fx, 0, 2);
  struct worker a = {.item = ITEM('J')}, b = {0};
  start(&fx, &a, op_get, 'a');
  start(&fx, &b, op_get, 'b');
  run_ticks(&fx, 2);
  cancel(&a);
  run_ticks(&fx, 2);
  CHECK_RC(TIDE_ECANCELED, a.rc);
  CHECK(a.item == ITEM('J'));                         /* untouched */
  CHECK_OK(tide_queue_try_put(&fx.queue, ITEM('A'))); /* to b */
  CHECK_OK(tide_queue_try_put(&fx.queue, ITEM('B'))); /* into the ring: nobody else waits */
  CHECK_EQ(1, tide_queue_size(&fx.queue));
  CHECK_EQ(0, tide_loop_run(fx.loop));
  CHECK(b.item == ITEM('A'));
  void *item = NULL;
  CHECK_OK(tide_queue_try_get(&fx.queue, &item));
  CHECK(item == ITEM('B'));
  finish(&a, TIDE_ECANCELED);
  finish(&b, 0);
  fixture_close(&fx);
}

TIDE_TEST(sync, queue_put_then_cancel_in_one_callback_delivers_the_item_to_the_getter) {
  struct fixture fx;
  fixture_open(&fx, 0, 2);
  struct worker a = {0};
  start(&fx, &a, op_get, 'a');
  run_ticks(&fx, 2);
  struct race r = {.fx = &fx, .victim = &a, .item = ITEM('A')};
  run_race(&fx, put_then_cancel, &r);
  CHECK_OK(r.handoff_rc);
  CHECK_OK(r.cancel_rc);
  CHECK_EQ(0, tide_loop_run(fx.loop));
  CHECK_OK(a.rc);
  CHECK(a.item == ITEM('A')); /* not lost */
  CHECK_RC(TIDE_ECANCELED, a.next_rc);
  CHECK_EQ(0, tide_queue_size(&fx.queue)); /* and not duplicated */
  finish(&a, TIDE_ECANCELED);
  fixture_close(&fx);
}

TIDE_TEST(sync, queue_cancelled_put_adds_no_item) {
  struct fixture fx;
  fixture_open(&fx, 0, 1);
  CHECK_OK(tide_queue_try_put(&fx.queue, ITEM('A')));
  struct worker a = {.item = ITEM('B')}, b = {.item = ITEM('C')};
  start(&fx, &a, op_put, 'a');
  start(&fx, &b, op_put, 'b');
  run_ticks(&fx, 2);
  cancel(&a);
  run_ticks(&fx, 2);
  CHECK_RC(TIDE_ECANCELED, a.rc);
  void *item = NULL;
  CHECK_OK(tide_queue_try_get(&fx.queue, &item));
  CHECK(item == ITEM('A'));
  CHECK_OK(tide_queue_try_get(&fx.queue, &item)); /* b's item, admitted by the get above */
  CHECK(item == ITEM('C'));
  CHECK_RC(TIDE_EAGAIN, tide_queue_try_get(&fx.queue, &item)); /* B never went in */
  CHECK_EQ(0, tide_loop_run(fx.loop));
  CHECK_STR("b", fx.trace);
  finish(&a, TIDE_ECANCELED);
  finish(&b, 0);
  fixture_close(&fx);
}

TIDE_TEST(sync, queue_get_then_cancel_in_one_callback_keeps_the_putters_item_in_the_queue) {
  struct fixture fx;
  fixture_open(&fx, 0, 1);
  CHECK_OK(tide_queue_try_put(&fx.queue, ITEM('A')));
  struct worker a = {.item = ITEM('B')};
  start(&fx, &a, op_put, 'a');
  run_ticks(&fx, 2);
  struct race r = {.fx = &fx, .victim = &a};
  run_race(&fx, get_then_cancel, &r);
  CHECK_OK(r.handoff_rc);
  CHECK(r.item == ITEM('A'));
  CHECK_OK(r.cancel_rc);
  CHECK_EQ(0, tide_loop_run(fx.loop));
  CHECK_OK(a.rc); /* admitted before the cancellation: the put succeeded */
  CHECK_RC(TIDE_ECANCELED, a.next_rc);
  void *item = NULL;
  CHECK_OK(tide_queue_try_get(&fx.queue, &item));
  CHECK(item == ITEM('B'));
  CHECK_RC(TIDE_EAGAIN, tide_queue_try_get(&fx.queue, &item)); /* exactly once */
  finish(&a, TIDE_ECANCELED);
  fixture_close(&fx);
}

TIDE_TEST(sync, queue_deadline_scope_expiring_while_waiting_returns_etimedout_and_loses_nothing) {
  struct fixture fx;
  fixture_open(&fx, 0, 1);
  struct worker g = {.deadline_ns = 3 * MS, .item = ITEM('J')};
  start(&fx, &g, op_get, 'g');
  CHECK_EQ(0, tide_loop_run(fx.loop));
  CHECK_RC(TIDE_ETIMEDOUT, g.rc);
  CHECK_RC(TIDE_ETIMEDOUT, g.scope_rc);
  CHECK(g.item == ITEM('J'));
  CHECK_OK(tide_queue_try_put(&fx.queue, ITEM('A'))); /* into the ring, not to g */
  CHECK_EQ(1, tide_queue_size(&fx.queue));
  struct worker p = {.deadline_ns = 3 * MS, .item = ITEM('B')};
  start(&fx, &p, op_put, 'p');
  CHECK_EQ(0, tide_loop_run(fx.loop));
  CHECK_RC(TIDE_ETIMEDOUT, p.rc);
  void *item = NULL;
  CHECK_OK(tide_queue_try_get(&fx.queue, &item));
  CHECK(item == ITEM('A'));
  CHECK_RC(TIDE_EAGAIN, tide_queue_try_get(&fx.queue, &item)); /* B was not added */
  finish(&g, 0);
  finish(&p, 0);
  fixture_close(&fx);
}

TIDE_TEST(sync, queue_of_capacity_zero_is_a_rendezvous) {
  struct fixture fx;
  fixture_open(&fx, 0, 0);
  CHECK_RC(TIDE_EAGAIN, tide_queue_try_put(&fx.queue, ITEM('A'))); /* nobody to take it */
  struct worker p = {.item = ITEM('A')};
  start(&fx, &p, op_put, 'p');
  run_ticks(&fx, 2);
  CHECK_EQ(0, p.finished);
  CHECK_EQ(0, tide_queue_size(&fx.queue));
  void *item = NULL;
  CHECK_OK(tide_queue_try_get(&fx.queue, &item)); /* straight from the putter */
  CHECK(item == ITEM('A'));
  CHECK_EQ(0, tide_loop_run(fx.loop));
  CHECK_OK(p.rc);
  struct worker g = {0};
  start(&fx, &g, op_get, 'g');
  run_ticks(&fx, 2);
  CHECK_OK(tide_queue_try_put(&fx.queue, ITEM('B'))); /* straight to the getter */
  CHECK_EQ(0, tide_loop_run(fx.loop));
  CHECK(g.item == ITEM('B'));
  CHECK_STR("pg", fx.trace);
  finish(&p, 0);
  finish(&g, 0);
  fixture_close(&fx);
}

TIDE_TEST(sync, queue_bad_arguments_calls_outside_a_task_and_busy_destroy) {
  struct fixture fx;
  fixture_open(&fx, 0, 1);
  tide_queue q;
  void *slot = NULL, *item = NULL;
  CHECK_RC(TIDE_EINVAL, tide_queue_init(NULL, fx.loop, &slot, 1));
  CHECK_RC(TIDE_EINVAL, tide_queue_init(&q, NULL, &slot, 1));
  CHECK_RC(TIDE_EINVAL, tide_queue_init(&q, fx.loop, NULL, 1));
  CHECK_RC(TIDE_EINVAL, tide_queue_destroy(NULL));
  CHECK_RC(TIDE_EINVAL, tide_queue_put(NULL, NULL));
  CHECK_RC(TIDE_EINVAL, tide_queue_try_put(NULL, NULL));
  CHECK_RC(TIDE_EINVAL, tide_queue_get(NULL, &item));
  CHECK_RC(TIDE_EINVAL, tide_queue_try_get(NULL, &item));
  CHECK_RC(TIDE_EINVAL, tide_queue_try_get(&fx.queue, NULL));
  CHECK_EQ(0, tide_queue_size(NULL));
  CHECK_EQ(0, tide_queue_capacity(NULL));
  CHECK_RC(TIDE_EINVAL, tide_queue_put(&fx.queue, NULL)); /* not in a task */
  CHECK_RC(TIDE_EINVAL, tide_queue_get(&fx.queue, &item));
  CHECK_EQ(0, tide_queue_size(&fx.queue));
  CHECK_OK(tide_queue_init(&q, fx.loop, &slot, 1));
  CHECK_OK(tide_queue_destroy(&q));
  CHECK_RC(TIDE_EINVAL, tide_queue_destroy(&q));
  CHECK_RC(TIDE_EINVAL, tide_queue_try_put(&q, NULL));
  CHECK_RC(TIDE_EINVAL, tide_queue_try_get(&q, &item));
  /* Items left inside do not make destroy busy (they are the caller's); waiters do. */
  CHECK_OK(tide_queue_init(&q, fx.loop, &slot, 1));
  CHECK_OK(tide_queue_try_put(&q, ITEM('A')));
  CHECK_OK(tide_queue_destroy(&q));
  CHECK(slot == ITEM('A'));
  struct worker g = {0};
  start(&fx, &g, op_get, 'g');
  run_ticks(&fx, 2);
  CHECK_RC(TIDE_EBUSY, tide_queue_destroy(&fx.queue));
  CHECK_OK(tide_queue_try_put(&fx.queue, ITEM('A')));
  CHECK_OK(tide_queue_try_put(&fx.queue, ITEM('B')));
  struct worker p = {.item = ITEM('C')};
  start(&fx, &p, op_put, 'p');
  run_ticks(&fx, 3);
  CHECK_EQ(0, p.finished);
  CHECK_RC(TIDE_EBUSY, tide_queue_destroy(&fx.queue)); /* a putter waits */
  CHECK_OK(tide_queue_try_get(&fx.queue, &item));
  CHECK_OK(tide_queue_try_get(&fx.queue, &item));
  CHECK_EQ(0, tide_loop_run(fx.loop));
  finish(&g, 0);
  finish(&p, 0);
  fixture_close(&fx);
}

/* ===== pending stops at calls that need not wait ============================================= */

/* Like tide_await on a settled future: a call that need not wait completes without delivering a
 * pending stop; the first call that has to wait delivers it at once, without ever queueing. */

struct pending_probe {
  struct fixture *fx;
  int wait_rc, lock_rc, acquire_rc, get_rc, scope_rc, later_rc;
  void *item;
};

static int cancelled_then_lock_and_acquire(tide_loop *loop, void *arg, void **result) {
  (void)result;
  struct pending_probe *p = arg;
  p->wait_rc = tide_event_wait(&p->fx->event); /* set and cancelled in one callback */
  p->lock_rc = tide_mutex_lock(&p->fx->mutex); /* free: taken, the cancellation stays pending */
  CHECK_OK(tide_mutex_unlock(&p->fx->mutex));
  p->acquire_rc = tide_semaphore_acquire(&p->fx->sem); /* must wait: the cancellation lands */
  p->later_rc = tide_yield(loop);                      /* delivered once: awaits work again */
  return p->acquire_rc;
}

TIDE_TEST(sync, a_pending_cancellation_lands_at_the_first_call_that_has_to_wait) {
  struct fixture fx;
  fixture_open(&fx, 0, 0);
  struct pending_probe p = {.fx = &fx};
  tide_future *f = NULL;
  CHECK_OK(tide_spawn(fx.loop, cancelled_then_lock_and_acquire, &p, NULL, &f));
  run_ticks(&fx, 2);
  struct worker victim = {.task = f};
  struct race r = {.fx = &fx, .victim = &victim};
  run_race(&fx, set_then_cancel, &r);
  CHECK_EQ(0, tide_loop_run(fx.loop));
  CHECK_OK(p.wait_rc);
  CHECK_OK(p.lock_rc);
  CHECK_RC(TIDE_ECANCELED, p.acquire_rc);
  CHECK_OK(p.later_rc);
  CHECK_OK(tide_semaphore_release(&fx.sem)); /* the cancelled acquire left no waiter behind */
  CHECK_EQ(1, tide_semaphore_value(&fx.sem));
  CHECK_RC(TIDE_ECANCELED, tide_future_result(f, NULL));
  tide_future_release(f);
  fixture_close(&fx);
}

static int gets_in_an_expired_scope(tide_loop *loop, void *arg, void **result) {
  (void)result;
  struct pending_probe *p = arg;
  tide_scope scope;
  CHECK_OK(tide_scope_enter(loop, &scope, 1 * MS));
  CHECK_RC(TIDE_ETIMEDOUT, tide_sleep(loop, 60 * 1000 * MS));
  p->get_rc = tide_queue_get(&p->fx->queue, &p->item);  /* an item is there: 0 */
  p->wait_rc = tide_queue_get(&p->fx->queue, &p->item); /* empty: times out at once */
  p->lock_rc = tide_mutex_lock(&p->fx->mutex);          /* free: 0 */
  p->acquire_rc = tide_semaphore_acquire(&p->fx->sem);  /* none free: times out at once */
  p->scope_rc = tide_scope_exit(&scope);
  CHECK_OK(tide_mutex_unlock(&p->fx->mutex));
  p->later_rc = tide_yield(loop);
  return 0;
}

TIDE_TEST(sync, inside_an_expired_scope_calls_that_need_not_wait_succeed_and_others_time_out) {
  struct fixture fx;
  fixture_open(&fx, 0, 1);
  CHECK_OK(tide_queue_try_put(&fx.queue, ITEM('A')));
  struct pending_probe p = {.fx = &fx};
  tide_future *f = NULL;
  CHECK_OK(tide_spawn(fx.loop, gets_in_an_expired_scope, &p, NULL, &f));
  CHECK_EQ(0, tide_loop_run(fx.loop));
  CHECK_OK(p.get_rc);
  CHECK(p.item == ITEM('A'));
  CHECK_RC(TIDE_ETIMEDOUT, p.wait_rc);
  CHECK_OK(p.lock_rc);
  CHECK_RC(TIDE_ETIMEDOUT, p.acquire_rc);
  CHECK_RC(TIDE_ETIMEDOUT, p.scope_rc);
  CHECK_OK(p.later_rc);
  CHECK_OK(tide_queue_try_put(&fx.queue, ITEM('B'))); /* into the ring: no getter was left */
  CHECK_EQ(1, tide_queue_size(&fx.queue));
  CHECK_OK(tide_future_result(f, NULL));
  tide_future_release(f);
  fixture_close(&fx);
}

/* ===== many tasks ============================================================================ */

static uint32_t next_random(uint32_t *seed) {
  *seed = *seed * 1103515245u + 12345u;
  return *seed >> 8;
}

/* ---- producers and consumers through a small queue ---- */

enum { PC_ITEMS = 100000, PC_PRODUCERS = 4, PC_CONSUMERS = 4, PC_CAPACITY = 16 };

struct pc {
  tide_loop *loop;
  tide_queue queue;
  void *slots[PC_CAPACITY];
  unsigned char *seen; /* how often each item came out */
  uint64_t sum;
  size_t received;
  uint32_t seed;
};

struct pc_producer {
  struct pc *pc;
  size_t first, count;
};

static int pc_produce(tide_loop *loop, void *arg, void **result) {
  (void)result;
  struct pc_producer *p = arg;
  for (size_t i = p->first; i < p->first + p->count; i++) {
    CHECK_OK(tide_queue_put(&p->pc->queue, (void *)(uintptr_t)(i + 1)));
    if (next_random(&p->pc->seed) % 8 == 0)
      CHECK_OK(tide_yield(loop));
  }
  return 0;
}

static int pc_consume(tide_loop *loop, void *arg, void **result) {
  (void)result;
  struct pc *pc = arg;
  for (;;) {
    void *item = NULL;
    CHECK_OK(tide_queue_get(&pc->queue, &item));
    if (item == NULL)
      return 0; /* end of stream */
    uintptr_t v = (uintptr_t)item;
    CHECK(v >= 1 && v <= PC_ITEMS);
    pc->seen[v - 1]++;
    pc->sum += v;
    pc->received++;
    if (next_random(&pc->seed) % 8 == 0)
      CHECK_OK(tide_yield(loop));
  }
}

static int pc_coordinate(tide_loop *loop, void *arg, void **result) {
  (void)result;
  struct pc *pc = arg;
  struct pc_producer producers[PC_PRODUCERS];
  tide_future *done[PC_PRODUCERS];
  for (int i = 0; i < PC_PRODUCERS; i++) {
    producers[i] =
        (struct pc_producer){pc, (size_t)i * (PC_ITEMS / PC_PRODUCERS), PC_ITEMS / PC_PRODUCERS};
    CHECK_OK(tide_spawn(loop, pc_produce, &producers[i], NULL, &done[i]));
  }
  for (int i = 0; i < PC_PRODUCERS; i++) {
    CHECK_OK(tide_await(done[i], NULL));
    tide_future_release(done[i]);
  }
  for (int i = 0; i < PC_CONSUMERS; i++)
    CHECK_OK(tide_queue_put(&pc->queue, NULL));
  return 0;
}

TIDE_TEST(sync, queue_producers_and_consumers_pass_100k_items_without_loss_or_duplication) {
  log_capture log;
  struct pc pc = {.loop = new_loop_capturing(&log), .seed = 7};
  pc.seen = calloc(PC_ITEMS, 1);
  CHECK(pc.seen != NULL);
  CHECK_OK(tide_queue_init(&pc.queue, pc.loop, pc.slots, PC_CAPACITY));
  CHECK_OK(tide_spawn(pc.loop, pc_coordinate, &pc, NULL, NULL));
  for (int i = 0; i < PC_CONSUMERS; i++)
    CHECK_OK(tide_spawn(pc.loop, pc_consume, &pc, NULL, NULL));
  CHECK_EQ(0, tide_loop_run(pc.loop));
  CHECK_EQ(PC_ITEMS, pc.received);
  CHECK_EQ((uint64_t)PC_ITEMS * (PC_ITEMS + 1) / 2, pc.sum);
  for (size_t i = 0; i < PC_ITEMS; i++) {
    if (pc.seen[i] != 1)
      TIDE_TEST_FAIL("item %zu came out %d times, expected once", i + 1, pc.seen[i]);
  }
  CHECK_EQ(0, tide_queue_size(&pc.queue));
  CHECK_OK(tide_queue_destroy(&pc.queue));
  CHECK_EQ(0, log.warnings);
  CHECK_OK(tide_loop_close(pc.loop));
  CHECK_EQ(0, log.warnings);
  free(pc.seen);
}

/* ---- the same under chaos: tasks cancelled at random mid-put and mid-get ----
 *
 * A repeating timer cancels a random producer or consumer task and starts a replacement that
 * carries on where it left off (a producer slot's cursor only advances when a put returned 0).
 * Every item must still come out exactly once: a cancelled put must not have added its item
 * (the replacement puts it again), and a get that returned 0 must be counted even though its
 * task was cancelled in the same tick. */

enum { CH_ITEMS = 20000, CH_PRODUCERS = 3, CH_CONSUMERS = 3, CH_CAPACITY = 4 };

struct chaos;
struct chaos_slot {
  struct chaos *ch;
  tide_future *task;
  size_t cursor, end; /* producers: the next item to put, and the end of their range */
};

struct chaos {
  tide_loop *loop;
  tide_queue queue;
  void *slots[CH_CAPACITY];
  tide_event all_received;
  tide_timer chaos_timer;
  struct chaos_slot producers[CH_PRODUCERS];
  struct chaos_slot consumers[CH_CONSUMERS];
  unsigned char *seen;
  size_t received;
  size_t cancels, cancelled_puts, cancelled_gets, cancelled_after_item;
  uint32_t seed;
};

static int chaos_produce(tide_loop *loop, void *arg, void **result) {
  (void)result;
  struct chaos_slot *s = arg;
  while (s->cursor < s->end) {
    int rc = tide_queue_put(&s->ch->queue, (void *)(uintptr_t)(s->cursor + 1));
    if (rc == TIDE_ECANCELED) {
      s->ch->cancelled_puts++;
      return rc; /* not added: the replacement puts the same item */
    }
    CHECK_OK(rc);
    s->cursor++;
    /* Pace the producers like the consumers, so that both sides take turns waiting. */
    if (next_random(&s->ch->seed) % 2 && tide_yield(loop) == TIDE_ECANCELED)
      return TIDE_ECANCELED;
  }
  return 0;
}

static int chaos_consume(tide_loop *loop, void *arg, void **result) {
  (void)result;
  struct chaos_slot *s = arg;
  struct chaos *ch = s->ch;
  for (;;) {
    void *item = NULL;
    int rc = tide_queue_get(&ch->queue, &item);
    if (rc == TIDE_ECANCELED) {
      ch->cancelled_gets++;
      return rc;
    }
    CHECK_OK(rc);
    uintptr_t v = (uintptr_t)item;
    CHECK(v >= 1 && v <= CH_ITEMS);
    ch->seen[v - 1]++;
    if (++ch->received == CH_ITEMS)
      CHECK_OK(tide_event_set(&ch->all_received));
    /* An await after every item: where a cancellation that lost to the get shows up. */
    rc = tide_yield(loop);
    if (rc == TIDE_ECANCELED) {
      ch->cancelled_after_item++;
      return rc;
    }
    CHECK_OK(rc);
  }
}

static void chaos_spawn(struct chaos_slot *s, tide_task_fn fn) {
  CHECK_OK(tide_spawn(s->ch->loop, fn, s, NULL, &s->task));
}

/* Cancels the task of a random slot, or starts a replacement if it has ended. A replacement
 * never overlaps the task it replaces, so a producer slot's cursor has one writer at a time. */
static void chaos_strike(tide_timer *timer, void *arg) {
  (void)timer;
  struct chaos *ch = arg;
  uint32_t pick = next_random(&ch->seed) % (CH_PRODUCERS + CH_CONSUMERS);
  int producer = pick < CH_PRODUCERS;
  struct chaos_slot *s = producer ? &ch->producers[pick] : &ch->consumers[pick - CH_PRODUCERS];
  if (!tide_future_done(s->task)) {
    if (tide_future_cancel(s->task) == 0)
      ch->cancels++;
    return;
  }
  tide_future_release(s->task);
  chaos_spawn(s, producer ? chaos_produce : chaos_consume);
}

static int chaos_coordinate(tide_loop *loop, void *arg, void **result) {
  (void)loop;
  (void)result;
  struct chaos *ch = arg;
  CHECK_OK(tide_event_wait(&ch->all_received));
  CHECK_OK(tide_timer_stop(ch->loop, &ch->chaos_timer));
  for (int i = 0; i < CH_CONSUMERS; i++)
    tide_future_cancel(ch->consumers[i].task); /* they wait on an empty queue now */
  for (int i = 0; i < CH_PRODUCERS; i++) {
    /* Every item came out, so every producer's last put succeeded; wait for the task to see it
     * (cancelled ones may have ended with ECANCELED, after their last put or instead of it). */
    int rc = tide_await(ch->producers[i].task, NULL);
    CHECK(rc == 0 || rc == TIDE_ECANCELED);
    CHECK_EQ(ch->producers[i].end, ch->producers[i].cursor);
  }
  return 0;
}

TIDE_TEST(sync, queue_tasks_cancelled_at_random_mid_put_or_get_lose_and_duplicate_nothing) {
  log_capture log;
  struct chaos ch = {.loop = new_loop_capturing(&log), .seed = 99};
  ch.seen = calloc(CH_ITEMS, 1);
  CHECK(ch.seen != NULL);
  CHECK_OK(tide_queue_init(&ch.queue, ch.loop, ch.slots, CH_CAPACITY));
  CHECK_OK(tide_event_init(&ch.all_received, ch.loop));
  for (int i = 0; i < CH_PRODUCERS; i++) {
    size_t per = CH_ITEMS / CH_PRODUCERS;
    ch.producers[i] = (struct chaos_slot){&ch, NULL, (size_t)i * per,
                                          i == CH_PRODUCERS - 1 ? CH_ITEMS : (size_t)(i + 1) * per};
    chaos_spawn(&ch.producers[i], chaos_produce);
  }
  for (int i = 0; i < CH_CONSUMERS; i++) {
    ch.consumers[i] = (struct chaos_slot){.ch = &ch};
    chaos_spawn(&ch.consumers[i], chaos_consume);
  }
  tide_future *coordinator = NULL;
  CHECK_OK(tide_spawn(ch.loop, chaos_coordinate, &ch, NULL, &coordinator));
  tide_timer_init(&ch.chaos_timer, chaos_strike, &ch);
  CHECK_OK(tide_timer_start(ch.loop, &ch.chaos_timer, 20 * US, 20 * US));
  CHECK_EQ(0, tide_loop_run(ch.loop));
  CHECK_OK(tide_future_result(coordinator, NULL));
  tide_future_release(coordinator);
  CHECK_EQ(CH_ITEMS, ch.received);
  for (size_t i = 0; i < CH_ITEMS; i++) {
    if (ch.seen[i] != 1)
      TIDE_TEST_FAIL("item %zu came out %d times, expected once", i + 1, ch.seen[i]);
  }
  CHECK(ch.cancels > 0); /* the chaos really struck */
  printf("chaos: %zu cancellations: %zu puts and %zu gets cancelled while waiting, %zu consumers "
         "cancelled after an item\n",
         ch.cancels, ch.cancelled_puts, ch.cancelled_gets, ch.cancelled_after_item);
  for (int i = 0; i < CH_PRODUCERS; i++)
    tide_future_release(ch.producers[i].task);
  for (int i = 0; i < CH_CONSUMERS; i++)
    tide_future_release(ch.consumers[i].task);
  CHECK_OK(tide_queue_destroy(&ch.queue));
  CHECK_OK(tide_event_destroy(&ch.all_received));
  CHECK_EQ(0, log.warnings);
  CHECK_OK(tide_loop_close(ch.loop));
  CHECK_EQ(0, log.warnings);
  free(ch.seen);
}

/* ---- mutex and semaphore under random deadlines ---- */

enum { GUARD_TASKS = 16, GUARD_ROUNDS = 200 };

struct guard {
  tide_loop *loop;
  tide_mutex mutex;
  tide_semaphore sem;
  unsigned limit; /* the semaphore's permits */
  unsigned inside, most_inside;
  size_t entered, timed_out;
  uint32_t seed;
};

static void guarded_section(struct guard *g, tide_loop *loop) {
  g->inside++;
  if (g->inside > g->most_inside)
    g->most_inside = g->inside;
  CHECK(g->inside <= g->limit);
  g->entered++;
  if (next_random(&g->seed) % 2)
    CHECK_OK(tide_yield(loop));
  else
    CHECK_OK(tide_sleep(loop, (int64_t)(next_random(&g->seed) % 30) * US));
  g->inside--;
}

static int guard_round(struct guard *g, tide_loop *loop, int use_mutex) {
  tide_scope scope;
  CHECK_OK(tide_scope_enter(loop, &scope, (int64_t)(next_random(&g->seed) % 60) * US));
  int rc = use_mutex ? tide_mutex_lock(&g->mutex) : tide_semaphore_acquire(&g->sem);
  (void)tide_scope_exit(&scope); /* may say ETIMEDOUT although rc is 0: the lock won the race */
  if (rc == TIDE_ETIMEDOUT) {
    g->timed_out++;
    return 0;
  }
  CHECK_OK(rc);
  guarded_section(g, loop);
  return use_mutex ? tide_mutex_unlock(&g->mutex) : tide_semaphore_release(&g->sem);
}

static int guard_mutex_task(tide_loop *loop, void *arg, void **result) {
  (void)result;
  for (int i = 0; i < GUARD_ROUNDS; i++)
    CHECK_OK(guard_round(arg, loop, 1));
  return 0;
}

static int guard_semaphore_task(tide_loop *loop, void *arg, void **result) {
  (void)result;
  for (int i = 0; i < GUARD_ROUNDS; i++)
    CHECK_OK(guard_round(arg, loop, 0));
  return 0;
}

static void run_guard(tide_task_fn fn, unsigned limit) {
  log_capture log;
  struct guard g = {.loop = new_loop_capturing(&log), .limit = limit, .seed = 3};
  CHECK_OK(tide_mutex_init(&g.mutex, g.loop));
  CHECK_OK(tide_semaphore_init(&g.sem, g.loop, limit));
  for (int i = 0; i < GUARD_TASKS; i++)
    CHECK_OK(tide_spawn(g.loop, fn, &g, NULL, NULL));
  CHECK_EQ(0, tide_loop_run(g.loop));
  CHECK_EQ(0, g.inside);
  CHECK_EQ((size_t)GUARD_TASKS * GUARD_ROUNDS, g.entered + g.timed_out);
  CHECK(g.entered > 0);
  CHECK(g.timed_out > 0); /* the deadlines really struck */
  CHECK_EQ(limit, g.most_inside);
  CHECK_EQ(0, tide_mutex_is_locked(&g.mutex));
  CHECK_EQ(limit, tide_semaphore_value(&g.sem)); /* every permit came back */
  CHECK_OK(tide_mutex_destroy(&g.mutex));
  CHECK_OK(tide_semaphore_destroy(&g.sem));
  CHECK_EQ(0, log.warnings);
  CHECK_OK(tide_loop_close(g.loop));
}

TIDE_TEST(sync, mutex_under_random_deadlines_keeps_mutual_exclusion_and_ends_unlocked) {
  run_guard(guard_mutex_task, 1);
}

TIDE_TEST(sync, semaphore_under_random_deadlines_never_exceeds_or_leaks_its_permits) {
  run_guard(guard_semaphore_task, 3);
}
