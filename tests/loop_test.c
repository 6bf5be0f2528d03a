/* tests/loop_test.c — run modes, call_soon ordering and fairness, stop, wake, and
 * call_soon_threadsafe from many threads. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "harness.h"

static tide_loop *new_loop(void) {
  tide_loop *loop = NULL;
  CHECK_OK(tide_loop_new(&loop, NULL));
  return loop;
}

static int64_t wall_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

struct sequence {
  int order[64];
  int count;
};

struct step {
  struct sequence *seq;
  int id;
};

static void append_step(void *arg) {
  struct step *s = arg;
  s->seq->order[s->seq->count++] = s->id;
}

TIDE_TEST(loop, new_and_close_with_defaults) {
  tide_loop *loop = NULL;
  CHECK_RC(TIDE_EINVAL, tide_loop_new(NULL, NULL));
  tide_loop_options opts;
  tide_loop_options_init(&opts);
  opts.poll_events = 1;
  CHECK_OK(tide_loop_new(&loop, &opts));
  CHECK(loop != NULL);
  CHECK_EQ(0, tide_loop_alive(loop));
  CHECK_OK(tide_loop_close(loop));
  CHECK_RC(TIDE_EINVAL, tide_loop_close(NULL));
  CHECK_RC(TIDE_EINVAL, tide_loop_run(NULL));
  CHECK_RC(TIDE_EINVAL, tide_loop_run_once(NULL, 0));
}

TIDE_TEST(loop, run_without_work_returns_zero_at_once) {
  tide_loop *loop = new_loop();
  int64_t start = wall_ns();
  CHECK_EQ(0, tide_loop_run(loop));
  CHECK(wall_ns() - start < 2000000000); /* generous: it must not block */
  CHECK_OK(tide_loop_close(loop));
}

TIDE_TEST(loop, call_soon_runs_callbacks_in_fifo_order) {
  tide_loop *loop = new_loop();
  struct sequence seq = {{0}, 0};
  struct step steps[10];
  for (int i = 0; i < 10; i++) {
    steps[i] = (struct step){&seq, i};
    CHECK_OK(tide_call_soon(loop, append_step, &steps[i]));
  }
  CHECK_EQ(0, tide_loop_run(loop));
  CHECK_EQ(10, seq.count);
  for (int i = 0; i < 10; i++)
    CHECK_EQ(i, seq.order[i]);
  CHECK_OK(tide_loop_close(loop));
}

struct chain {
  tide_loop *loop;
  int runs;
};

static void schedule_again(void *arg) {
  struct chain *c = arg;
  c->runs++;
  CHECK_OK(tide_call_soon(c->loop, schedule_again, c));
}

TIDE_TEST(loop, callback_scheduled_by_a_callback_runs_in_the_next_tick) {
  tide_loop *loop = new_loop();
  struct chain c = {loop, 0};
  CHECK_OK(tide_call_soon(loop, schedule_again, &c));
  CHECK_EQ(1, tide_loop_run_once(loop, 0));
  CHECK_EQ(1, c.runs);
  CHECK_EQ(1, tide_loop_run_once(loop, 0));
  CHECK_EQ(2, c.runs);
  CHECK_OK(tide_loop_close(loop)); /* the endless chain is cut off and reported by close */
}

static void stop_loop_timer(tide_timer *t, void *arg) {
  (void)t;
  tide_loop_stop(arg);
}

TIDE_TEST(loop, self_rescheduling_callback_does_not_starve_timers) {
  tide_loop *loop = new_loop();
  struct chain c = {loop, 0};
  CHECK_OK(tide_call_soon(loop, schedule_again, &c));
  tide_timer timer;
  CHECK_OK(tide_timer_init(&timer, stop_loop_timer, loop));
  CHECK_OK(tide_timer_start(loop, &timer, 10 * 1000000, 0));
  CHECK_EQ(1, tide_loop_run(loop));
  CHECK(c.runs > 0);
  CHECK_OK(tide_loop_close(loop));
}

TIDE_TEST(loop, run_once_blocks_no_longer_than_its_timeout) {
  tide_loop *loop = new_loop();
  CHECK_OK(tide_loop_ref(loop)); /* alive, with nothing that will ever happen */
  int64_t start = wall_ns();
  CHECK_EQ(1, tide_loop_run_once(loop, 20 * 1000000));
  int64_t waited = wall_ns() - start;
  CHECK(waited >= 19 * 1000000); /* the poll rounds up, never down */
  CHECK(waited < 5 * 1000000000LL);
  start = wall_ns();
  CHECK_EQ(1, tide_loop_run_once(loop, 0));
  CHECK(wall_ns() - start < 2000000000);
  CHECK_OK(tide_loop_unref(loop));
  CHECK_EQ(0, tide_loop_run_once(loop, 0));
  CHECK_OK(tide_loop_close(loop));
}

TIDE_TEST(loop, ref_holds_the_loop_alive_until_unref) {
  tide_loop *loop = new_loop();
  CHECK_RC(TIDE_EINVAL, tide_loop_unref(loop));
  CHECK_OK(tide_loop_ref(loop));
  CHECK_OK(tide_loop_ref(loop));
  CHECK_EQ(1, tide_loop_alive(loop));
  CHECK_OK(tide_loop_unref(loop));
  CHECK_EQ(1, tide_loop_alive(loop));
  CHECK_OK(tide_loop_unref(loop));
  CHECK_EQ(0, tide_loop_alive(loop));
  CHECK_OK(tide_loop_close(loop));
}

static void stop_from_callback(void *arg) {
  tide_loop_stop(arg);
}

TIDE_TEST(loop, stop_from_a_callback_makes_run_return_one) {
  tide_loop *loop = new_loop();
  CHECK_OK(tide_loop_ref(loop));
  CHECK_OK(tide_call_soon(loop, stop_from_callback, loop));
  CHECK_EQ(1, tide_loop_run(loop));
  CHECK_OK(tide_loop_unref(loop));
  CHECK_OK(tide_loop_close(loop));
}

TIDE_TEST(loop, stop_before_run_returns_after_one_tick) {
  tide_loop *loop = new_loop();
  CHECK_OK(tide_loop_ref(loop));
  struct sequence seq = {{0}, 0};
  struct step step = {&seq, 1};
  CHECK_OK(tide_call_soon(loop, append_step, &step));
  tide_loop_stop(loop);
  CHECK_EQ(1, tide_loop_run(loop));
  CHECK_EQ(1, seq.count);
  CHECK_OK(tide_loop_unref(loop));
  CHECK_OK(tide_loop_close(loop));
}

static void *stop_after_50ms(void *arg) {
  sleep_ms(50);
  tide_loop_stop(arg);
  return NULL;
}

TIDE_TEST(loop, stop_from_another_thread_wakes_a_blocked_run) {
  tide_loop *loop = new_loop();
  CHECK_OK(tide_loop_ref(loop)); /* without stop, run would block forever */
  pthread_t thread;
  CHECK_EQ(0, pthread_create(&thread, NULL, stop_after_50ms, loop));
  CHECK_EQ(1, tide_loop_run(loop));
  pthread_join(thread, NULL);
  CHECK_OK(tide_loop_unref(loop));
  CHECK_OK(tide_loop_close(loop));
}

static void *wake_after_50ms(void *arg) {
  sleep_ms(50);
  CHECK_OK(tide_loop_wake(arg));
  return NULL;
}

TIDE_TEST(loop, wake_from_another_thread_ends_a_blocking_poll) {
  tide_loop *loop = new_loop();
  CHECK_OK(tide_loop_ref(loop));
  pthread_t thread;
  CHECK_EQ(0, pthread_create(&thread, NULL, wake_after_50ms, loop));
  CHECK_EQ(1, tide_loop_run_once(loop, -1));
  pthread_join(thread, NULL);
  CHECK_RC(TIDE_EINVAL, tide_loop_wake(NULL));
  CHECK_OK(tide_loop_unref(loop));
  CHECK_OK(tide_loop_close(loop));
}

struct nesting {
  tide_loop *loop;
  int run_rc;
  int once_rc;
  int close_rc;
};

static void try_to_nest(void *arg) {
  struct nesting *n = arg;
  n->run_rc = tide_loop_run(n->loop);
  n->once_rc = tide_loop_run_once(n->loop, 0);
  n->close_rc = tide_loop_close(n->loop);
}

TIDE_TEST(loop, loops_do_not_nest_and_cannot_close_while_running) {
  tide_loop *loop = new_loop();
  struct nesting n = {loop, 0, 0, 0};
  CHECK_OK(tide_call_soon(loop, try_to_nest, &n));
  CHECK_EQ(0, tide_loop_run(loop));
  CHECK_RC(TIDE_EBUSY, n.run_rc);
  CHECK_RC(TIDE_EBUSY, n.once_rc);
  CHECK_RC(TIDE_EBUSY, n.close_rc);
  CHECK_OK(tide_loop_close(loop));
}

struct clock_probe {
  tide_loop *loop;
  int64_t first, second, updated;
};

static void read_clock(void *arg) {
  struct clock_probe *p = arg;
  p->first = tide_now(p->loop);
  sleep_ms(5);
  p->second = tide_now(p->loop);
  p->updated = tide_loop_update_time(p->loop);
}

TIDE_TEST(loop, now_is_cached_per_tick_and_update_time_refreshes_it) {
  tide_loop *loop = new_loop();
  struct clock_probe p = {loop, 0, 0, 0};
  CHECK_OK(tide_call_soon(loop, read_clock, &p));
  CHECK_EQ(0, tide_loop_run(loop));
  CHECK_EQ(p.first, p.second);
  CHECK(p.updated - p.first >= 5 * 1000000);
  CHECK(tide_now(loop) >= p.updated);
  CHECK_OK(tide_loop_close(loop));
}

TIDE_TEST(loop, call_soon_rejects_null_arguments) {
  tide_loop *loop = new_loop();
  CHECK_RC(TIDE_EINVAL, tide_call_soon(NULL, append_step, NULL));
  CHECK_RC(TIDE_EINVAL, tide_call_soon(loop, NULL, NULL));
  CHECK_RC(TIDE_EINVAL, tide_call_soon_threadsafe(NULL, append_step, NULL));
  CHECK_RC(TIDE_EINVAL, tide_call_soon_threadsafe(loop, NULL, NULL));
  CHECK_RC(TIDE_EINVAL, tide_loop_ref(NULL));
  CHECK_RC(TIDE_EINVAL, tide_loop_unref(NULL));
  CHECK_OK(tide_loop_close(loop));
}

/* call_soon_threadsafe from many threads: every post runs exactly once, and each thread's posts
 * run in the order that thread made them. */
enum { POSTERS = 8, POSTS_PER_THREAD = 20000 };

struct post_tally {
  tide_loop *loop;
  int next_expected[POSTERS];
  int out_of_order;
  long received;
};

struct post {
  struct post_tally *tally;
  int thread;
  int seq;
};

static void receive_post(void *arg) {
  struct post *p = arg;
  struct post_tally *t = p->tally;
  if (p->seq != t->next_expected[p->thread])
    t->out_of_order++;
  t->next_expected[p->thread] = p->seq + 1;
  if (++t->received == (long)POSTERS * POSTS_PER_THREAD)
    CHECK_OK(tide_loop_unref(t->loop));
}

struct poster {
  struct post_tally *tally;
  struct post *posts;
  int thread;
};

static void *post_many(void *arg) {
  struct poster *ps = arg;
  for (int i = 0; i < POSTS_PER_THREAD; i++) {
    struct post *p = &ps->posts[i];
    *p = (struct post){ps->tally, ps->thread, i};
    CHECK_OK(tide_call_soon_threadsafe(ps->tally->loop, receive_post, p));
  }
  return NULL;
}

TIDE_TEST(loop, call_soon_threadsafe_from_many_threads_delivers_each_post_once_in_order) {
  tide_loop *loop = new_loop();
  static struct post_tally tally;
  tally.loop = loop;
  struct post *posts = calloc((size_t)POSTERS * POSTS_PER_THREAD, sizeof *posts);
  CHECK(posts != NULL);
  struct poster posters[POSTERS];
  pthread_t threads[POSTERS];
  CHECK_OK(tide_loop_ref(loop)); /* dropped by the last post */
  for (int i = 0; i < POSTERS; i++) {
    posters[i] = (struct poster){&tally, posts + (size_t)i * POSTS_PER_THREAD, i};
    CHECK_EQ(0, pthread_create(&threads[i], NULL, post_many, &posters[i]));
  }
  CHECK_EQ(0, tide_loop_run(loop));
  for (int i = 0; i < POSTERS; i++)
    pthread_join(threads[i], NULL);
  CHECK_EQ((long)POSTERS * POSTS_PER_THREAD, tally.received);
  CHECK_EQ(0, tally.out_of_order);
  for (int i = 0; i < POSTERS; i++)
    CHECK_EQ(POSTS_PER_THREAD, tally.next_expected[i]);
  CHECK_OK(tide_loop_close(loop));
  free(posts);
}

/* A burst of posts made while the loop is busy is delivered in one tick. */
struct burst {
  tide_loop *loop;
  atomic_int posted;
  int delivered;
  pthread_t thread;
};

static void count_delivery(void *arg) {
  struct burst *b = arg;
  b->delivered++;
}

static void *post_burst(void *arg) {
  struct burst *b = arg;
  for (int i = 0; i < 1000; i++)
    CHECK_OK(tide_call_soon_threadsafe(b->loop, count_delivery, b));
  atomic_store(&b->posted, 1);
  return NULL;
}

/* Runs on the loop: starts the posting thread only now, so every post lands while the loop is
 * busy here, and waits for all of them. */
static void wait_for_burst(void *arg) {
  struct burst *b = arg;
  CHECK_EQ(0, pthread_create(&b->thread, NULL, post_burst, b));
  while (!atomic_load(&b->posted))
    sleep_ms(1);
}

TIDE_TEST(loop, burst_of_threadsafe_posts_is_delivered_in_one_tick) {
  tide_loop *loop = new_loop();
  struct burst b = {.loop = loop};
  CHECK_OK(tide_call_soon(loop, wait_for_burst, &b));
  tide_loop_run_once(loop, 0); /* busy in wait_for_burst while the thread posts */
  pthread_join(b.thread, NULL);
  CHECK_EQ(0, b.delivered);
  tide_loop_run_once(loop, 0);
  CHECK_EQ(1000, b.delivered);
  CHECK_OK(tide_loop_close(loop));
}
