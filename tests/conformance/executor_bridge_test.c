/* tests/conformance/executor_bridge_test.c — run_in_executor through a loop's backend: results
 * that come back to a task on the loop thread, workers waking a loop blocked in its poll, a
 * cancelled running job whose await returns only once the job ended, loop close waiting for
 * running jobs, bursts of completions from many workers, and posts from another thread while the
 * loop spins before its poll. The executor's own tests and the bridge's bookkeeping stay in
 * tests/executor_test.c. */
#include <stdatomic.h>
#include <stdint.h>

#include "executor_scale.h"
#include "executor_util.h"
#include "harness.h"
#include "platform.h"

static void *sleep_20ms(void *arg) {
  plat_sleep_ms(20);
  return arg;
}

static void *square(void *arg) {
  long v = (long)(intptr_t)arg;
  return (void *)(intptr_t)(v * v);
}

static int await_squares(tide_loop *loop, void *arg, void **result) {
  (void)result;
  long n = (long)(intptr_t)arg;
  tide_future **fs = calloc((size_t)n, sizeof *fs);
  if (fs == NULL)
    return TIDE_ENOMEM;
  for (long i = 0; i < n; i++) {
    int err = i % 3 == 2 ? tide_run_blocking(loop, NULL, square, (void *)(intptr_t)i, &fs[i])
                         : tide_run_in_executor(loop, NULL, square, (void *)(intptr_t)i, &fs[i]);
    if (err != 0)
      TIDE_TEST_FAIL("run_in_executor #%ld: %s", i, tide_err_name(err));
  }
  for (long i = 0; i < n; i++) {
    void *v = NULL;
    int err = tide_await(fs[i], &v);
    if (err != 0 || (long)(intptr_t)v != i * i)
      TIDE_TEST_FAIL("job %ld: expected 0 and %ld, got %s and %ld", i, i * i, tide_err_name(err),
                     (long)(intptr_t)v);
    tide_future_release(fs[i]);
  }
  free(fs);
  return 0;
}

TIDE_TEST(bridge, run_in_executor_from_a_task_settles_on_the_loop_with_the_result) {
  CHECK_OK(tide_run(await_squares, (void *)(intptr_t)tide_test_scale(2000, 50), NULL, NULL));
}

typedef struct on_thread {
  uintptr_t loop_thread;
  atomic_int settled_elsewhere;
  int settled;
} on_thread;

static void check_thread(tide_future *f, void *arg) {
  on_thread *o = arg;
  if (plat_thread_self() != o->loop_thread)
    atomic_store(&o->settled_elsewhere, 1);
  CHECK(tide_future_done(f));
  o->settled++;
}

TIDE_TEST(bridge, futures_settle_on_the_loop_thread_and_keep_the_loop_alive) {
  tide_loop *loop;
  CHECK_OK(tide_loop_new(&loop, NULL));
  tide_executor *ex = new_executor(2, 0, 0);
  on_thread o = {plat_thread_self(), 0, 0};
  tide_future *f[16];
  for (int i = 0; i < 16; i++) {
    CHECK_OK(tide_run_in_executor(loop, ex, sleep_20ms, NULL, &f[i]));
    CHECK_OK(tide_future_on_done(f[i], check_thread, &o));
  }
  CHECK_EQ(1, tide_loop_alive(loop)); /* nothing else to do: only the jobs keep it running */
  CHECK_EQ(0, tide_loop_run(loop));
  CHECK_EQ(16, o.settled);
  CHECK_EQ(0, atomic_load(&o.settled_elsewhere));
  for (int i = 0; i < 16; i++)
    tide_future_release(f[i]);
  CHECK_EQ(0, tide_loop_alive(loop));
  CHECK_OK(tide_loop_close(loop));
  CHECK_OK(tide_executor_shutdown(ex, TIDE_EXECUTOR_DRAIN));
}

typedef struct slow_job {
  atomic_int started;
  atomic_int release;
  atomic_int finished;
  long output; /* written by the job at its very end */
} slow_job;

static void *slow(void *arg) {
  slow_job *s = arg;
  atomic_store(&s->started, 1);
  while (atomic_load(&s->release) == 0)
    plat_yield_thread();
  s->output = 7;
  atomic_store(&s->finished, 1);
  return s;
}

typedef struct cancel_running {
  slow_job job;
  tide_future *task;
  int await_rc;
  int finished_at_return;
} cancel_running;

static int await_slow(tide_loop *loop, void *arg, void **result) {
  (void)result;
  cancel_running *c = arg;
  tide_future *f;
  int err = tide_run_in_executor(loop, NULL, slow, &c->job, &f);
  if (err != 0)
    return err;
  c->await_rc = tide_await(f, NULL);
  c->finished_at_return = atomic_load(&c->job.finished);
  tide_future_release(f);
  return c->await_rc;
}

static void release_later(void *arg) {
  slow_job *s = arg;
  while (atomic_load(&s->started) == 0)
    plat_yield_thread();
  plat_sleep_ms(30);
  atomic_store(&s->release, 1);
}

static void cancel_task(void *arg) {
  cancel_running *c = arg;
  if (atomic_load(&c->job.started) == 0) { /* not yet: look again next tick */
    plat_yield_thread();
    if (tide_call_soon(tide_future_loop(c->task), cancel_task, c) != 0)
      abort();
    return;
  }
  CHECK_OK(tide_future_cancel(c->task));
}

TIDE_TEST(bridge, cancel_of_a_running_job_settles_only_after_it_ends_and_drops_the_result) {
  tide_loop *loop;
  CHECK_OK(tide_loop_new(&loop, NULL));
  cancel_running c;
  memset(&c, 0, sizeof c);
  CHECK_OK(tide_spawn(loop, await_slow, &c, NULL, &c.task));
  plat_thread *t = plat_thread_start(release_later, &c.job);
  CHECK_OK(tide_call_soon(loop, cancel_task, &c));
  CHECK_EQ(0, tide_loop_run(loop));
  plat_thread_join(t);
  CHECK_RC(TIDE_ECANCELED, c.await_rc);
  CHECK_EQ(1, c.finished_at_return); /* the await returned only after the job stopped writing */
  CHECK_EQ(7, c.job.output);
  CHECK_RC(TIDE_ECANCELED, tide_future_result(c.task, NULL));
  tide_future_release(c.task);
  CHECK_OK(tide_loop_close(loop)); /* also shuts the default executor down */
}

TIDE_TEST(bridge, cancel_after_the_job_finished_delivers_its_real_result) {
  tide_loop *loop;
  CHECK_OK(tide_loop_new(&loop, NULL));
  atomic_int flag = 0;
  tide_future *f;
  CHECK_OK(tide_run_in_executor(loop, NULL, set_flag, &flag, &f));
  await_flag(&flag, 5000, "the job");
  plat_sleep_ms(5);                /* let it post its completion */
  CHECK_OK(tide_future_cancel(f)); /* a request: the job has finished, nothing to stop */
  CHECK_EQ(0, tide_loop_run(loop));
  void *v = NULL;
  CHECK_OK(tide_future_result(f, &v));
  CHECK(v == &flag);
  tide_future_release(f);
  CHECK_OK(tide_loop_close(loop));
}

TIDE_TEST(bridge, loop_close_waits_for_running_jobs_and_cancels_queued_ones) {
  tide_loop *loop;
  CHECK_OK(tide_loop_new(&loop, NULL));
  tide_executor *ex = new_executor(1, 0, 0);
  slow_job s;
  memset(&s, 0, sizeof s);
  atomic_int ran = 0;
  tide_future *running, *queued;
  CHECK_OK(tide_run_in_executor(loop, ex, slow, &s, &running));
  CHECK_OK(tide_run_in_executor(loop, ex, set_flag, &ran, &queued));
  while (atomic_load(&s.started) == 0)
    plat_yield_thread();
  plat_thread *t = plat_thread_start(release_later, &s);
  tide_future_release(running); /* the loop still tracks them */
  tide_future_release(queued);
  CHECK_OK(tide_loop_close(loop)); /* returns only once `slow` has stopped touching `s` */
  CHECK_EQ(1, atomic_load(&s.finished));
  CHECK_EQ(0, atomic_load(&ran));
  plat_thread_join(t);
  CHECK_OK(tide_executor_shutdown(ex, TIDE_EXECUTOR_DRAIN));
}

static void *sleep_50us_then_return_arg(void *arg) {
  plat_sleep_us(50);
  return arg;
}

typedef struct stream stream;

typedef struct stream_job {
  stream *s;
  long index;
  int settled; /* how many times its future settled */
} stream_job;

struct stream {
  tide_loop *loop;
  tide_executor *ex;
  long next; /* the next job's number */
  long total;
  long completed;
  long wrong; /* futures that settled with another job's result, or failed */
  stream_job *jobs;
};

static void stream_submit(stream *s);

static void stream_done(tide_future *f, void *arg) {
  stream_job *j = arg;
  stream *s = j->s;
  void *v = NULL;
  if (tide_future_result(f, &v) != 0 || v != (void *)j)
    s->wrong++;
  j->settled++;
  tide_future_release(f);
  s->completed++;
  if (s->next < s->total)
    stream_submit(s);
}

static void stream_submit(stream *s) {
  stream_job *j = &s->jobs[s->next];
  *j = (stream_job){s, s->next++, 0};
  tide_future *f;
  /* Every 64th job sleeps, so the loop goes through every path: completions found by the spin,
   * spins that end empty-handed, and blocking polls woken by a worker. */
  tide_job_fn fn = j->index % 64 == 63 ? sleep_50us_then_return_arg : return_arg;
  CHECK_OK(tide_run_in_executor(s->loop, s->ex, fn, j, &f));
  CHECK_OK(tide_future_on_done(f, stream_done, j));
}

static stream new_stream(tide_loop *loop, unsigned workers, long total) {
  stream s = {loop, new_executor(workers, 0, 0), 0, total, 0, 0, NULL};
  s.jobs = calloc((size_t)total, sizeof *s.jobs);
  CHECK(s.jobs != NULL);
  return s;
}

static void run_stream(unsigned workers, int in_flight, long total) {
  tide_loop *loop;
  CHECK_OK(tide_loop_new(&loop, NULL));
  stream s = new_stream(loop, workers, total);
  for (int i = 0; i < in_flight && s.next < total; i++)
    stream_submit(&s);
  CHECK_EQ(0, tide_loop_run(loop));
  CHECK_EQ(total, s.completed);
  CHECK_EQ(0, s.wrong);
  for (long i = 0; i < total; i++)
    if (s.jobs[i].settled != 1)
      TIDE_TEST_FAIL("job %ld: expected its future to settle once, got %d", i, s.jobs[i].settled);
  CHECK_OK(tide_loop_close(loop));
  CHECK_OK(tide_executor_shutdown(s.ex, TIDE_EXECUTOR_DRAIN));
  free(s.jobs);
}

TIDE_TEST(bridge, completions_from_many_workers_each_settle_their_own_future_once) {
  run_stream(4, 64, tide_test_scale(100000, 2000)); /* bursts from every worker */
  run_stream(2, 1, tide_test_scale(20000, 500));    /* one at a time: the spin's ground */
}

typedef struct spin_poster {
  tide_loop *loop;
  long posts;
  atomic_long received;
  atomic_int gate;  /* holds a CPU job in flight, so the loop spins before it polls */
  int64_t worst_ns; /* the longest a post waited to be run */
} spin_poster;

static void count_post(void *arg) {
  atomic_fetch_add(&((spin_poster *)arg)->received, 1);
}

/* Waits for the gate without taking a CPU from the loop and the poster. */
static void *nap_until_gate(void *arg) {
  while (atomic_load((atomic_int *)arg) == 0)
    plat_sleep_ms(1);
  return arg;
}

/* Posts one callback at a time and waits for the loop to run it before the next: nothing else
 * wakes the loop, so a wake lost between its spin and its poll would leave a post unrun. */
static void post_one_at_a_time(void *arg) {
  spin_poster *p = arg;
  for (long i = 0; i < p->posts; i++) {
    if (i % 16 == 15) { /* now and then once the loop has blocked */
      plat_sleep_us(50);
    } else { /* mostly within the loop's spin of a few microseconds, at varied points */
      int64_t until = plat_mono_ns() + (i % 5) * 1000;
      while (plat_mono_ns() < until)
        ;
    }
    int64_t start = plat_mono_ns();
    CHECK_OK(tide_call_soon_threadsafe(p->loop, count_post, p));
    while (atomic_load(&p->received) <= i) { /* busy: be ready at once to post the next */
      if (plat_mono_ns() - start > 5000000000LL)
        TIDE_TEST_FAIL("post %ld of %ld not run after 5 s: a lost wake-up", i + 1, p->posts);
    }
    if (plat_mono_ns() - start > p->worst_ns)
      p->worst_ns = plat_mono_ns() - start;
  }
  atomic_store(&p->gate, 1); /* the job ends: the loop runs out of work */
}

/* While a CPU job is in flight the loop spins before it polls, holding its wake flag in a third
 * state (core/loop.c); a post from another thread during the spin, or just after it, must still
 * wake the loop. */
TIDE_TEST(bridge, threadsafe_posts_made_while_the_loop_spins_for_completions_are_never_lost) {
  tide_loop *loop;
  CHECK_OK(tide_loop_new(&loop, NULL));
  tide_executor *ex = new_executor(1, 0, 0);
  spin_poster p = {loop, tide_test_scale(5000, 300), 0, 0, 0};
  tide_future *f;
  CHECK_OK(tide_run_in_executor(loop, ex, nap_until_gate, &p.gate, &f));
  plat_thread *t = plat_thread_start(post_one_at_a_time, &p);
  CHECK_EQ(0, tide_loop_run(loop));
  plat_thread_join(t);
  CHECK_EQ(p.posts, atomic_load(&p.received));
  CHECK_OK(tide_future_result(f, NULL));
  tide_future_release(f);
  CHECK_OK(tide_loop_close(loop));
  CHECK_OK(tide_executor_shutdown(ex, TIDE_EXECUTOR_DRAIN));
}

/* The loop's spin before its poll (core/loop.c) is granted by the bridge: only while CPU jobs
 * are in flight, and after n spins in a row that ended without a wake, the next 2^n - 1 chances
 * are passed up (at most 63), so a loop waiting for long jobs soon stops spinning; one spin that
 * catches a wake restores it. */
