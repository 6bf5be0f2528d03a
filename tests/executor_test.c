/* tests/executor_test.c — the executor (spawn, join, fork-join, cancel, shutdown, wake-ups, the
 * blocking lane, stats) and the bookkeeping of its bridge to a loop (run_in_executor); the
 * bridge's round trips through a loop's backend are in tests/conformance/executor_bridge_test.c. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "core/executor/bridge.h"
#include "executor_scale.h"
#include "executor_util.h"
#include "harness.h"

static int64_t wall_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static void *add_one(void *arg) {
  atomic_fetch_add((atomic_long *)arg, 1);
  return NULL;
}

/* Spins until the gate opens. */
static void *wait_gate(void *arg) {
  atomic_int *gate = arg;
  while (atomic_load(gate) == 0)
    sched_yield();
  return arg;
}

/* ---- the executor on its own ---------------------------------------------------------------- */

/* Work queued behind gate jobs that hold the threads until the test opens the gate. */
typedef struct queued_work {
  tide_executor *ex;
  atomic_int gate;
  atomic_long counter;
  atomic_long children;
  atomic_int started; /* gate jobs running */
} queued_work;

static void *lane_gate(void *p);

TIDE_TEST(executor, new_and_shutdown_validate_arguments) {
  CHECK_RC(TIDE_EINVAL, tide_executor_new(NULL, NULL));
  tide_executor_options o;
  tide_executor_options_init(&o);
  o.workers = 100000;
  tide_executor *ex = NULL;
  CHECK_RC(TIDE_EINVAL, tide_executor_new(&ex, &o));
  CHECK(ex == NULL);
  CHECK_OK(tide_executor_new(&ex, NULL));
  tide_executor_stats st;
  CHECK_OK(tide_executor_stats_get(ex, &st));
  CHECK(st.workers >= 1);
  CHECK_RC(TIDE_EINVAL, tide_executor_spawn(ex, NULL, NULL, 0, NULL));
  CHECK_RC(TIDE_EINVAL, tide_executor_spawn(ex, return_arg, NULL, 0x80, NULL));
  CHECK_RC(TIDE_EINVAL, tide_executor_spawn(NULL, return_arg, NULL, 0, NULL));
  CHECK_RC(TIDE_EINVAL, tide_job_join(NULL, NULL));
  CHECK_RC(TIDE_EINVAL, tide_job_cancel(NULL));
  CHECK_RC(TIDE_EINVAL, tide_executor_stats_get(NULL, &st));
  CHECK_EQ(-1, tide_executor_worker_index(ex));
  CHECK_RC(TIDE_EINVAL, tide_executor_shutdown(ex, (tide_executor_shutdown_mode)7));
  CHECK_RC(TIDE_EINVAL, tide_executor_shutdown(NULL, TIDE_EXECUTOR_DRAIN));
  CHECK_OK(tide_executor_shutdown(ex, TIDE_EXECUTOR_DRAIN));
}

TIDE_TEST(executor, spawn_from_outside_and_join_returns_the_result) {
  tide_executor *ex = new_executor(2, 0, 0);
  int value = 42;
  tide_job *job = NULL;
  CHECK_OK(tide_executor_spawn(ex, return_arg, &value, 0, &job));
  void *got = NULL;
  CHECK_OK(tide_job_join(job, &got));
  CHECK(got == &value);
  CHECK_OK(tide_executor_spawn(ex, return_arg, &value, TIDE_JOB_BLOCKING, &job));
  CHECK_OK(tide_job_join(job, &got));
  CHECK(got == &value);
  CHECK_OK(tide_executor_shutdown(ex, TIDE_EXECUTOR_DRAIN));
}

typedef struct fib_arg {
  tide_executor *ex;
  int n;
  long result;
} fib_arg;

static long fib_seq(int n) {
  return n < 2 ? n : fib_seq(n - 1) + fib_seq(n - 2);
}

/* A job per call: spawn fib(n-1), compute fib(n-2) here, join. */
static void *fib_job(void *p) {
  fib_arg *a = p;
  if (a->n < 2) {
    a->result = a->n;
    return NULL;
  }
  fib_arg left = {a->ex, a->n - 1, 0}, right = {a->ex, a->n - 2, 0};
  tide_job *job;
  if (tide_executor_spawn(a->ex, fib_job, &left, 0, &job) != 0)
    abort();
  fib_job(&right);
  if (tide_job_join(job, NULL) != 0)
    abort();
  a->result = left.result + right.result;
  return NULL;
}

TIDE_TEST(executor, fork_join_inside_workers_computes_fib_with_a_job_per_call) {
  int n = TIDE_TEST_UNDER_VALGRIND() ? 16 : (int)tide_test_scale(25, 20);
  for (unsigned workers = 1; workers <= 4; workers++) {
    tide_executor *ex = new_executor(workers, 0, 0);
    fib_arg root = {ex, n, 0};
    tide_job *job;
    CHECK_OK(tide_executor_spawn(ex, fib_job, &root, 0, &job));
    CHECK_OK(tide_job_join(job, NULL));
    CHECK_EQ(fib_seq(n), root.result);
    tide_executor_stats st;
    CHECK_OK(tide_executor_stats_get(ex, &st));
    if (st.jobs_run < (uint64_t)fib_seq(n))
      TIDE_TEST_FAIL("expected at least %ld jobs run, got %llu", fib_seq(n),
                     (unsigned long long)st.jobs_run);
    CHECK_OK(tide_executor_shutdown(ex, TIDE_EXECUTOR_DRAIN));
  }
}

static void wait_all_parked(tide_executor *ex, unsigned workers) {
  int64_t deadline = wall_ns() + 5000000000LL;
  for (;;) {
    tide_executor_stats st;
    CHECK_OK(tide_executor_stats_get(ex, &st));
    if (st.parked == workers && st.searching == 0)
      return;
    if (wall_ns() > deadline)
      TIDE_TEST_FAIL("workers never all parked: %u of %u parked, %u searching", st.parked, workers,
                     st.searching);
    sched_yield();
  }
}

static void idle_then_one_submission(int64_t spin_ns, long rounds) {
  unsigned workers = 2;
  tide_executor *ex = new_executor(workers, 0, spin_ns);
  for (long round = 0; round < rounds; round++) {
    wait_all_parked(ex, workers);
    atomic_int flag = 0;
    tide_job *job;
    CHECK_OK(tide_executor_spawn(ex, set_flag, &flag, 0, &job));
    await_flag(&flag, 5000, "the only job submitted to an idle executor (lost wake-up?)");
    CHECK_OK(tide_job_join(job, NULL));
  }
  tide_executor_stats st;
  CHECK_OK(tide_executor_stats_get(ex, &st));
  if (st.parks < (uint64_t)rounds)
    TIDE_TEST_FAIL("expected at least %ld parks, got %llu", rounds, (unsigned long long)st.parks);
  CHECK_OK(tide_executor_shutdown(ex, TIDE_EXECUTOR_DRAIN));
}

TIDE_TEST(executor, no_lost_wakeup_over_thousands_of_idle_then_one_submission_rounds) {
  idle_then_one_submission(-1, tide_test_scale(3000, 150)); /* sleep at once */
  idle_then_one_submission(0, tide_test_scale(1000, 50));   /* spin first, then sleep */
}

static void *submit_from_thread(void *arg) {
  void **a = arg;
  tide_executor *ex = a[0];
  long n = (long)(intptr_t)a[2];
  for (long i = 0; i < n; i++)
    if (tide_executor_spawn(ex, add_one, a[1], 0, NULL) != 0)
      abort();
  return NULL;
}

TIDE_TEST(executor, jobs_from_many_threads_each_run_exactly_once) {
  tide_executor *ex = new_executor(2, 0, 0);
  atomic_long counter = 0;
  long per = tide_test_scale(50000, 500);
  void *a[3] = {ex, &counter, (void *)(intptr_t)per};
  pthread_t t[4];
  for (int i = 0; i < 4; i++)
    CHECK_EQ(0, pthread_create(&t[i], NULL, submit_from_thread, a));
  for (int i = 0; i < 4; i++)
    CHECK_EQ(0, pthread_join(t[i], NULL));
  CHECK_OK(tide_executor_shutdown(ex, TIDE_EXECUTOR_DRAIN)); /* drain: every job runs */
  CHECK_EQ(4 * per, atomic_load(&counter));
}

TIDE_TEST(executor, blocking_jobs_run_while_every_cpu_worker_is_busy) {
  tide_executor *ex = new_executor(2, 4, 0);
  atomic_int gate = 0;
  tide_job *busy[2];
  for (int i = 0; i < 2; i++)
    CHECK_OK(tide_executor_spawn(ex, wait_gate, &gate, 0, &busy[i]));
  /* Both CPU workers now spin on the gate; only the blocking lane can open it. */
  tide_job *opener;
  CHECK_OK(tide_executor_spawn(ex, set_flag, &gate, TIDE_JOB_BLOCKING, &opener));
  await_flag(&gate, 5000, "a blocking job while the CPU workers are busy");
  CHECK_OK(tide_job_join(opener, NULL));
  for (int i = 0; i < 2; i++)
    CHECK_OK(tide_job_join(busy[i], NULL));
  CHECK_OK(tide_executor_shutdown(ex, TIDE_EXECUTOR_DRAIN));
}

TIDE_TEST(executor, cpu_jobs_run_while_the_blocking_lane_is_full) {
  tide_executor *ex = new_executor(1, 2, 0);
  atomic_int gate = 0;
  tide_job *blocked[3];
  for (int i = 0; i < 3; i++) /* two fill the lane, the third waits for a lane thread */
    CHECK_OK(tide_executor_spawn(ex, wait_gate, &gate, TIDE_JOB_BLOCKING, &blocked[i]));
  tide_executor_stats st;
  CHECK_OK(tide_executor_stats_get(ex, &st));
  if (st.blocking_threads > 2)
    TIDE_TEST_FAIL("blocking lane limit is 2, got %u threads", st.blocking_threads);
  tide_job *opener;
  CHECK_OK(tide_executor_spawn(ex, set_flag, &gate, 0, &opener));
  await_flag(&gate, 5000, "a CPU job while the blocking lane is full");
  CHECK_OK(tide_job_join(opener, NULL));
  for (int i = 0; i < 3; i++)
    CHECK_OK(tide_job_join(blocked[i], NULL));
  CHECK_EQ(-1, tide_executor_worker_index(ex));
  CHECK_OK(tide_executor_shutdown(ex, TIDE_EXECUTOR_DRAIN));
}

static void *sleep_20ms(void *arg) {
  sleep_ms(20);
  return arg;
}

TIDE_TEST(executor, blocking_lane_grows_on_demand_to_its_limit_and_idle_threads_exit) {
  tide_executor_options o;
  tide_executor_options_init(&o);
  o.workers = 1;
  o.blocking_max = 4;
  o.blocking_idle_ns = 50 * 1000000LL;
  tide_executor *ex = NULL;
  CHECK_OK(tide_executor_new(&ex, &o));
  tide_executor_stats st;
  CHECK_OK(tide_executor_stats_get(ex, &st));
  CHECK_EQ(0, st.blocking_threads); /* none until a blocking job comes */
  tide_job *jobs[12];
  for (int i = 0; i < 12; i++)
    CHECK_OK(tide_executor_spawn(ex, sleep_20ms, NULL, TIDE_JOB_BLOCKING, &jobs[i]));
  CHECK_OK(tide_executor_stats_get(ex, &st));
  CHECK_EQ(4, st.blocking_threads);
  for (int i = 0; i < 12; i++)
    CHECK_OK(tide_job_join(jobs[i], NULL));
  int64_t deadline = wall_ns() + 5000000000LL;
  do {
    sleep_ms(10);
    CHECK_OK(tide_executor_stats_get(ex, &st));
  } while (st.blocking_threads > 0 && wall_ns() < deadline);
  CHECK_EQ(0, st.blocking_threads);
  CHECK_EQ(12, st.blocking_jobs_run);
  /* The lane starts again after its threads have gone. */
  CHECK_OK(tide_executor_spawn(ex, sleep_20ms, NULL, TIDE_JOB_BLOCKING, &jobs[0]));
  CHECK_OK(tide_job_join(jobs[0], NULL));
  CHECK_OK(tide_executor_shutdown(ex, TIDE_EXECUTOR_DRAIN));
}

TIDE_TEST(executor, cancel_in_each_state_of_a_job) {
  tide_executor *ex = new_executor(1, 1, 0);
  queued_work q = {ex, 0, 0, 0, 0};
  atomic_int ran = 0, blocking_ran = 0;
  tide_job *running, *queued, *blocking_queued, *blocking_gate;
  CHECK_OK(tide_executor_spawn(ex, lane_gate, &q, 0, &running));
  CHECK_OK(tide_executor_spawn(ex, lane_gate, &q, TIDE_JOB_BLOCKING, &blocking_gate));
  CHECK_OK(tide_executor_spawn(ex, set_flag, &ran, 0, &queued));
  CHECK_OK(tide_executor_spawn(ex, set_flag, &blocking_ran, TIDE_JOB_BLOCKING, &blocking_queued));
  while (atomic_load(&q.started) < 2) /* both gate jobs hold their thread */
    sched_yield();
  /* `queued` waits in the injection queue or, taken in a batch, in the worker's deque: either
   * way it has not started and cancelling it succeeds. */
  CHECK_OK(tide_job_cancel(queued));
  CHECK_RC(TIDE_EALREADY, tide_job_cancel(queued));  /* already cancelled */
  CHECK_OK(tide_job_cancel(blocking_queued));        /* queued on the lane: removed */
  CHECK_RC(TIDE_EALREADY, tide_job_cancel(running)); /* running: cannot */
  atomic_store(&q.gate, 1);
  CHECK_OK(tide_job_join(running, NULL));
  CHECK_OK(tide_job_join(blocking_gate, NULL));
  CHECK_RC(TIDE_ECANCELED, tide_job_join(queued, NULL));
  CHECK_RC(TIDE_ECANCELED, tide_job_join(blocking_queued, NULL));
  atomic_int finished = 0;
  tide_job *done;
  CHECK_OK(tide_executor_spawn(ex, set_flag, &finished, 0, &done));
  await_flag(&finished, 5000, "a job to run");
  CHECK_RC(TIDE_EALREADY, tide_job_cancel(done)); /* started or ended: too late */
  CHECK_OK(tide_job_join(done, NULL));
  CHECK_EQ(0, atomic_load(&ran));
  CHECK_EQ(0, atomic_load(&blocking_ran));
  tide_executor_stats st;
  CHECK_OK(tide_executor_stats_get(ex, &st));
  CHECK_EQ(2, st.jobs_cancelled);
  CHECK_OK(tide_executor_shutdown(ex, TIDE_EXECUTOR_DRAIN));
}

typedef struct child_cancel {
  tide_executor *ex;
  atomic_int child_ran;
  int cancel_rc;
  int join_rc;
} child_cancel;

static void *spawn_cancel_join(void *p) {
  child_cancel *c = p;
  tide_job *child;
  if (tide_executor_spawn(c->ex, set_flag, &c->child_ran, 0, &child) != 0)
    abort();
  c->cancel_rc = tide_job_cancel(child); /* still in this worker's deque (1 worker) */
  c->join_rc = tide_job_join(child, NULL);
  return NULL;
}

TIDE_TEST(executor, cancel_of_a_job_in_a_worker_deque_drops_it_when_taken) {
  tide_executor *ex = new_executor(1, 0, 0);
  child_cancel c = {ex, 0, 1, 1};
  tide_job *parent;
  CHECK_OK(tide_executor_spawn(ex, spawn_cancel_join, &c, 0, &parent));
  CHECK_OK(tide_job_join(parent, NULL));
  CHECK_RC(0, c.cancel_rc);
  CHECK_RC(TIDE_ECANCELED, c.join_rc);
  CHECK_EQ(0, atomic_load(&c.child_ran));
  CHECK_OK(tide_executor_shutdown(ex, TIDE_EXECUTOR_DRAIN));
}

typedef struct shutdown_probe {
  tide_executor *ex;
  int rc;
} shutdown_probe;

static void *try_shutdown(void *p) {
  shutdown_probe *s = p;
  s->rc = tide_executor_shutdown(s->ex, TIDE_EXECUTOR_DRAIN);
  return NULL;
}

TIDE_TEST(executor, shutdown_from_its_own_job_is_ebusy) {
  tide_executor *ex = new_executor(1, 2, 0);
  shutdown_probe a = {ex, 1}, b = {ex, 1};
  tide_job *j1, *j2;
  CHECK_OK(tide_executor_spawn(ex, try_shutdown, &a, 0, &j1));
  CHECK_OK(tide_executor_spawn(ex, try_shutdown, &b, TIDE_JOB_BLOCKING, &j2));
  CHECK_OK(tide_job_join(j1, NULL));
  CHECK_OK(tide_job_join(j2, NULL));
  CHECK_RC(TIDE_EBUSY, a.rc);
  CHECK_RC(TIDE_EBUSY, b.rc);
  CHECK_OK(tide_executor_shutdown(ex, TIDE_EXECUTOR_DRAIN));
}

static void *count_child(void *p) {
  atomic_fetch_add(&((queued_work *)p)->children, 1);
  return NULL;
}

/* Waits for the gate, then spawns a child (accepted during a drain: it is the executor's own). */
static void *gate_then_spawn(void *p) {
  queued_work *q = p;
  atomic_fetch_add(&q->started, 1);
  while (atomic_load(&q->gate) == 0)
    sched_yield();
  if (tide_executor_spawn(q->ex, count_child, q, 0, NULL) != 0)
    abort();
  return NULL;
}

static void *lane_gate(void *p) {
  queued_work *q = p;
  atomic_fetch_add(&q->started, 1);
  return wait_gate(&q->gate);
}

static void *count_job(void *p) {
  atomic_fetch_add(&((queued_work *)p)->counter, 1);
  return NULL;
}

static void *shutdown_thread(void *p) {
  void **a = p;
  *(int *)a[2] = tide_executor_shutdown(a[0], (tide_executor_shutdown_mode)(intptr_t)a[1]);
  return NULL;
}

/* Starts shutdown(mode) in a thread while a gate job holds the only worker and `n` jobs wait
 * behind it (plus `n` on the blocking lane behind a gated lane thread), then checks that outside
 * submissions are refused, opens the gate and joins everything. Returns the handles' outcomes. */
static void shutdown_with_queued_work(tide_executor_shutdown_mode mode, long n, long *ran,
                                      long *cancelled) {
  tide_executor *ex = new_executor(1, 1, 0);
  queued_work q = {ex, 0, 0, 0, 0};
  tide_job *gate_job, *lane_gate_job;
  CHECK_OK(tide_executor_spawn(ex, gate_then_spawn, &q, 0, &gate_job));
  CHECK_OK(tide_executor_spawn(ex, lane_gate, &q, TIDE_JOB_BLOCKING, &lane_gate_job));
  while (atomic_load(&q.started) < 2) /* both gates hold their thread */
    sched_yield();
  tide_job **jobs = calloc((size_t)(2 * n), sizeof *jobs);
  CHECK(jobs != NULL);
  for (long i = 0; i < 2 * n; i++)
    CHECK_OK(tide_executor_spawn(ex, count_job, &q, i % 2 ? TIDE_JOB_BLOCKING : 0, &jobs[i]));
  int rc = 1;
  void *a[3] = {ex, (void *)(intptr_t)mode, &rc};
  pthread_t t;
  CHECK_EQ(0, pthread_create(&t, NULL, shutdown_thread, a));
  /* Once shutdown has begun, outside submissions are refused. */
  int64_t deadline = wall_ns() + 5000000000LL;
  int err;
  while ((err = tide_executor_spawn(ex, return_arg, NULL, 0, NULL)) == 0) {
    if (wall_ns() > deadline)
      TIDE_TEST_FAIL("shutdown never refused an outside submission");
    sched_yield();
  }
  CHECK_RC(TIDE_ECLOSED, err);
  atomic_store(&q.gate, 1);
  CHECK_EQ(0, pthread_join(t, NULL));
  CHECK_OK(rc);
  CHECK_OK(tide_job_join(gate_job, NULL)); /* handles outlive the executor */
  CHECK_OK(tide_job_join(lane_gate_job, NULL));
  *ran = 0;
  *cancelled = 0;
  for (long i = 0; i < 2 * n; i++) {
    int r = tide_job_join(jobs[i], NULL);
    if (r == 0)
      (*ran)++;
    else if (r == TIDE_ECANCELED)
      (*cancelled)++;
    else
      TIDE_TEST_FAIL("join: expected 0 or TIDE_ECANCELED, got %s", tide_err_name(r));
  }
  free(jobs);
  /* Every job that ran counted, and so did each child spawned by the gate job if it ran. */
  CHECK_EQ(*ran, atomic_load(&q.counter));
  CHECK_EQ(mode == TIDE_EXECUTOR_DRAIN ? 1 : 0, atomic_load(&q.children));
}

TIDE_TEST(executor, shutdown_drain_runs_every_queued_job_and_their_children) {
  long ran, cancelled, n = tide_test_scale(2000, 100);
  shutdown_with_queued_work(TIDE_EXECUTOR_DRAIN, n, &ran, &cancelled);
  CHECK_EQ(2 * n, ran);
  CHECK_EQ(0, cancelled);
}

TIDE_TEST(executor, shutdown_cancel_cancels_every_job_not_started) {
  long ran, cancelled, n = tide_test_scale(2000, 100);
  shutdown_with_queued_work(TIDE_EXECUTOR_CANCEL, n, &ran, &cancelled);
  CHECK_EQ(0, ran);
  CHECK_EQ(2 * n, cancelled);
}

typedef struct steal_me {
  tide_executor *ex;
  atomic_int child_ran;
  int thief;
  int parent;
} steal_me;

static void *note_thief(void *p) {
  steal_me *s = p;
  s->thief = tide_executor_worker_index(s->ex);
  atomic_store(&s->child_ran, 1);
  return NULL;
}

/* Spawns a child into this worker's deque and spins (without joining) until it ran: only the
 * other worker can run it, by stealing it. */
static void *spawn_and_wait_for_a_thief(void *p) {
  steal_me *s = p;
  s->parent = tide_executor_worker_index(s->ex);
  tide_job *child;
  if (tide_executor_spawn(s->ex, note_thief, s, 0, &child) != 0)
    abort();
  while (atomic_load(&s->child_ran) == 0)
    sched_yield();
  return tide_job_join(child, NULL) == 0 ? s : NULL;
}

TIDE_TEST(executor, stats_count_jobs_steals_and_parks) {
  tide_executor *ex = new_executor(2, 0, 0);
  int n = (int)tide_test_scale(22, 16);
  fib_arg root = {ex, n, 0};
  tide_job *job;
  CHECK_OK(tide_executor_spawn(ex, fib_job, &root, 0, &job));
  CHECK_OK(tide_job_join(job, NULL));
  steal_me s = {ex, 0, -1, -1};
  CHECK_OK(tide_executor_spawn(ex, spawn_and_wait_for_a_thief, &s, 0, &job));
  void *got = NULL;
  CHECK_OK(tide_job_join(job, &got));
  CHECK(got == &s);
  CHECK(s.parent >= 0 && s.thief >= 0 && s.parent != s.thief);
  tide_job *blocking;
  CHECK_OK(tide_executor_spawn(ex, return_arg, NULL, TIDE_JOB_BLOCKING, &blocking));
  CHECK_OK(tide_job_join(blocking, NULL));
  wait_all_parked(ex, 2);
  tide_executor_stats st;
  CHECK_OK(tide_executor_stats_get(ex, &st));
  CHECK_EQ(2, st.workers);
  CHECK_EQ(2, st.parked);
  CHECK_EQ(2, st.injected);
  CHECK_EQ(1, st.blocking_jobs_run);
  CHECK_EQ(1, st.blocking_threads);
  CHECK_EQ(0, st.injection_depth + st.local_depth + st.blocking_depth);
  if (st.jobs_run < (uint64_t)fib_seq(n) + 2 || st.parks < 2 || st.steals < 1)
    TIDE_TEST_FAIL("implausible stats: %llu jobs run (expected >= %ld), %llu parks, %llu steals",
                   (unsigned long long)st.jobs_run, fib_seq(n), (unsigned long long)st.parks,
                   (unsigned long long)st.steals);
  CHECK_OK(tide_executor_shutdown(ex, TIDE_EXECUTOR_DRAIN));
}

/* ---- the bridge: run_in_executor's bookkeeping ------------------------------------------------
 * (round trips through the loop's poll, and wake-ups from workers, are in the conformance suite:
 * tests/conformance/executor_bridge_test.c) */

TIDE_TEST(bridge, cancel_of_a_job_not_started_removes_it_and_cancels_the_future_at_once) {
  tide_loop *loop;
  CHECK_OK(tide_loop_new(&loop, NULL));
  tide_executor *ex = new_executor(1, 1, 0);
  atomic_int gate = 0, ran = 0, lane_ran = 0;
  tide_job *busy, *lane_busy;
  CHECK_OK(tide_executor_spawn(ex, wait_gate, &gate, 0, &busy));
  CHECK_OK(tide_executor_spawn(ex, wait_gate, &gate, TIDE_JOB_BLOCKING, &lane_busy));
  tide_future *f, *g;
  CHECK_OK(tide_run_in_executor(loop, ex, set_flag, &ran, &f));
  CHECK_OK(tide_run_blocking(loop, ex, set_flag, &lane_ran, &g));
  CHECK_OK(tide_future_cancel(f));
  CHECK_OK(tide_future_cancel(g));
  CHECK_EQ(TIDE_FUTURE_CANCELLED, tide_future_state_of(f)); /* at once: it will never run */
  CHECK_EQ(TIDE_FUTURE_CANCELLED, tide_future_state_of(g));
  atomic_store(&gate, 1);
  CHECK_OK(tide_job_join(busy, NULL));
  CHECK_OK(tide_job_join(lane_busy, NULL));
  CHECK_EQ(0, tide_loop_run(loop)); /* the removed jobs' records come back and are freed */
  CHECK_RC(TIDE_ECANCELED, tide_future_result(f, NULL));
  CHECK_RC(TIDE_ECANCELED, tide_future_result(g, NULL));
  CHECK_EQ(0, atomic_load(&ran));
  CHECK_EQ(0, atomic_load(&lane_ran));
  tide_future_release(f);
  tide_future_release(g);
  CHECK_OK(tide_loop_close(loop));
  CHECK_OK(tide_executor_shutdown(ex, TIDE_EXECUTOR_DRAIN));
}

static int use_default(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  tide_executor *a = NULL, *b = NULL;
  CHECK_RC(TIDE_EINVAL, tide_loop_default_executor(NULL, &a));
  CHECK_OK(tide_loop_default_executor(loop, &a));
  CHECK_OK(tide_loop_default_executor(loop, &b));
  CHECK(a != NULL && a == b); /* one per loop */
  tide_future *f;
  CHECK_RC(TIDE_EINVAL, tide_run_in_executor(loop, NULL, NULL, NULL, &f));
  CHECK_RC(TIDE_EINVAL, tide_run_in_executor(NULL, NULL, return_arg, NULL, &f));
  CHECK_RC(TIDE_EINVAL, tide_run_in_executor(loop, NULL, return_arg, NULL, NULL));
  return 0;
}

TIDE_TEST(bridge, default_executor_is_created_once_per_loop_and_closed_with_it) {
  CHECK_OK(tide_run(use_default, NULL, NULL, NULL));
}

/* ---- the lock-free paths: the incoming stack, the completion stack, the loop's spin --------- */

typedef struct cancel_race_job {
  atomic_int ran;
} cancel_race_job;

static void *mark_ran(void *arg) {
  atomic_fetch_add(&((cancel_race_job *)arg)->ran, 1);
  return NULL;
}

/* Jobs pushed from outside while workers take the incoming stack, each cancelled at once: a
 * cancel that succeeded means the job never runs and its join says so; one that came too late
 * means it ran, exactly once. */
TIDE_TEST(executor, cancel_racing_with_workers_taking_jobs_either_removes_a_job_or_lets_it_run) {
  tide_executor *ex = new_executor(2, 0, 0);
  long n = tide_test_scale(20000, 400);
  cancel_race_job *jobs = calloc((size_t)n, sizeof *jobs);
  tide_job **handles = calloc((size_t)n, sizeof *handles);
  int *cancel_rc = calloc((size_t)n, sizeof *cancel_rc);
  CHECK(jobs != NULL && handles != NULL && cancel_rc != NULL);
  for (long i = 0; i < n; i++) {
    CHECK_OK(tide_executor_spawn(ex, mark_ran, &jobs[i], 0, &handles[i]));
    if (i % 2 == 0)
      cancel_rc[i] = tide_job_cancel(handles[i]);
    else
      cancel_rc[i] = TIDE_EALREADY; /* left alone: it must run */
  }
  long cancelled = 0;
  for (long i = 0; i < n; i++) {
    int rc = tide_job_join(handles[i], NULL);
    int ran = atomic_load(&jobs[i].ran);
    if (cancel_rc[i] == 0 && (rc != TIDE_ECANCELED || ran != 0))
      TIDE_TEST_FAIL("job %ld cancelled: expected join TIDE_ECANCELED and 0 runs, got %s and %d", i,
                     tide_err_name(rc), ran);
    if (cancel_rc[i] != 0 && (cancel_rc[i] != TIDE_EALREADY || rc != 0 || ran != 1))
      TIDE_TEST_FAIL("job %ld not cancelled (%s): expected join 0 and 1 run, got %s and %d", i,
                     tide_err_name(cancel_rc[i]), tide_err_name(rc), ran);
    cancelled += cancel_rc[i] == 0;
  }
  tide_executor_stats st;
  CHECK_OK(tide_executor_stats_get(ex, &st));
  CHECK_EQ(cancelled, (long)st.jobs_cancelled);
  CHECK_EQ(n, (long)st.injected);
  CHECK_OK(tide_executor_shutdown(ex, TIDE_EXECUTOR_DRAIN));
  free(cancel_rc);
  free(handles);
  free(jobs);
}

typedef struct door {
  tide_executor *ex;
  atomic_long *counter;
  long accepted;
  int last_err;
} door;

static void *spawn_until_refused(void *arg) {
  door *d = arg;
  for (;;) {
    int err = tide_executor_spawn(d->ex, add_one, d->counter, 0, NULL);
    if (err != 0) {
      d->last_err = err;
      return NULL;
    }
    d->accepted++;
  }
}

/* Outside submitters push onto the incoming stack while the executor shuts down: every job it
 * accepted runs (drain), and from the close on it refuses with TIDE_ECLOSED. A gate job keeps
 * the shutdown from finishing (and freeing the executor) until the submitters have stopped. */
TIDE_TEST(executor, shutdown_drain_runs_every_job_accepted_while_it_closed_the_door) {
  for (int round = 0; round < (int)tide_test_scale(20, 3); round++) {
    tide_executor *ex = new_executor(2, 0, 0);
    atomic_int gate = 0;
    CHECK_OK(tide_executor_spawn(ex, wait_gate, &gate, 0, NULL));
    atomic_long counter = 0;
    door d[2] = {{ex, &counter, 0, 0}, {ex, &counter, 0, 0}};
    pthread_t t[2], closer;
    for (int i = 0; i < 2; i++)
      CHECK_EQ(0, pthread_create(&t[i], NULL, spawn_until_refused, &d[i]));
    sleep_ms(2);
    int rc = 1;
    void *a[3] = {ex, (void *)(intptr_t)TIDE_EXECUTOR_DRAIN, &rc};
    CHECK_EQ(0, pthread_create(&closer, NULL, shutdown_thread, a));
    for (int i = 0; i < 2; i++) {
      CHECK_EQ(0, pthread_join(t[i], NULL));
      CHECK_RC(TIDE_ECLOSED, d[i].last_err);
    }
    atomic_store(&gate, 1);
    CHECK_EQ(0, pthread_join(closer, NULL));
    CHECK_OK(rc);
    CHECK_EQ(d[0].accepted + d[1].accepted, atomic_load(&counter));
  }
}

TIDE_TEST(bridge, spin_before_poll_is_granted_only_for_cpu_jobs_and_backs_off_when_empty) {
  tide_loop *loop;
  CHECK_OK(tide_loop_new(&loop, NULL));
  CHECK_EQ(0, tide__executor_spin_ns(loop)); /* never used the executor */
  tide_executor *ex = new_executor(1, 1, 0);
  atomic_int gate = 0;
  tide_future *blocking, *cpu;
  CHECK_OK(tide_run_blocking(loop, ex, wait_gate, &gate, &blocking));
  CHECK_EQ(0, tide__executor_spin_ns(loop)); /* blocking jobs are long: no spin */
  CHECK_OK(tide_run_in_executor(loop, ex, wait_gate, &gate, &cpu));
  CHECK(tide__executor_spin_ns(loop) > 0);
  for (unsigned misses = 1; misses <= 8; misses++) {
    tide__executor_spin_ended(loop, 0);
    unsigned skip = (1u << (misses < 6 ? misses : 6)) - 1;
    for (unsigned i = 0; i < skip; i++)
      if (tide__executor_spin_ns(loop) != 0)
        TIDE_TEST_FAIL("after %u empty spins: expected chance %u of %u passed up", misses, i + 1,
                       skip);
    CHECK(tide__executor_spin_ns(loop) > 0);
  }
  tide__executor_spin_ended(loop, 1); /* a wake: spinning pays again */
  CHECK(tide__executor_spin_ns(loop) > 0);
  tide__executor_spin_ended(loop, 0);
  CHECK_EQ(0, tide__executor_spin_ns(loop)); /* one miss: one chance passed up */
  CHECK(tide__executor_spin_ns(loop) > 0);
  atomic_store(&gate, 1);
  CHECK_EQ(0, tide_loop_run(loop));
  CHECK_OK(tide_future_result(cpu, NULL));
  CHECK_OK(tide_future_result(blocking, NULL));
  tide_future_release(cpu);
  tide_future_release(blocking);
  CHECK_OK(tide_loop_close(loop));
  CHECK_OK(tide_executor_shutdown(ex, TIDE_EXECUTOR_DRAIN));
}
