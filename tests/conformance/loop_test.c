/* tests/conformance/loop_test.c — what a loop needs from its backend beside I/O: a poll that
 * blocks for its timeout (rounded up, never down), and wake-ups from other threads:
 * tide_loop_wake, tide_loop_stop and tide_call_soon_threadsafe ending a blocked poll, many
 * threads posting at once, posts made while the loop is busy, and posts accepted just before
 * close. */
#include <stdatomic.h>

#include "harness.h"
#include "platform.h"

static tide_loop *new_loop(void) {
  tide_loop *loop = NULL;
  CHECK_OK(tide_loop_new(&loop, NULL));
  return loop;
}

/* ---- poll timeout ---------------------------------------------------------------------------- */

TIDE_TEST(loop, run_once_blocks_no_longer_than_its_timeout) {
  tide_loop *loop = new_loop();
  CHECK_OK(tide_loop_ref(loop)); /* alive, with nothing that will ever happen */
  int64_t start = plat_mono_ns();
  CHECK_EQ(1, tide_loop_run_once(loop, 20 * 1000000));
  int64_t waited = plat_mono_ns() - start;
  CHECK(waited >= 19 * 1000000); /* the poll rounds up, never down */
  CHECK(waited < 5 * 1000000000LL);
  start = plat_mono_ns();
  CHECK_EQ(1, tide_loop_run_once(loop, 0));
  CHECK(plat_mono_ns() - start < 2000000000);
  CHECK_OK(tide_loop_unref(loop));
  CHECK_EQ(0, tide_loop_run_once(loop, 0));
  CHECK_OK(tide_loop_close(loop));
}

/* ---- wake-ups from other threads ------------------------------------------------------------- */

static void stop_after_50ms(void *arg) {
  plat_sleep_ms(50);
  tide_loop_stop(arg);
}

TIDE_TEST(loop, stop_from_another_thread_wakes_a_blocked_run) {
  tide_loop *loop = new_loop();
  CHECK_OK(tide_loop_ref(loop)); /* without stop, run would block forever */
  plat_thread *thread = plat_thread_start(stop_after_50ms, loop);
  CHECK_EQ(1, tide_loop_run(loop));
  plat_thread_join(thread);
  CHECK_OK(tide_loop_unref(loop));
  CHECK_OK(tide_loop_close(loop));
}

static void wake_after_50ms(void *arg) {
  plat_sleep_ms(50);
  CHECK_OK(tide_loop_wake(arg));
}

TIDE_TEST(loop, wake_from_another_thread_ends_a_blocking_poll) {
  tide_loop *loop = new_loop();
  CHECK_OK(tide_loop_ref(loop));
  plat_thread *thread = plat_thread_start(wake_after_50ms, loop);
  CHECK_EQ(1, tide_loop_run_once(loop, -1));
  plat_thread_join(thread);
  CHECK_RC(TIDE_EINVAL, tide_loop_wake(NULL));
  CHECK_OK(tide_loop_unref(loop));
  CHECK_OK(tide_loop_close(loop));
}

/* ---- call_soon_threadsafe -------------------------------------------------------------------- */

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

static void post_many(void *arg) {
  struct poster *ps = arg;
  for (int i = 0; i < POSTS_PER_THREAD; i++) {
    struct post *p = &ps->posts[i];
    *p = (struct post){ps->tally, ps->thread, i};
    CHECK_OK(tide_call_soon_threadsafe(ps->tally->loop, receive_post, p));
  }
}

TIDE_TEST(loop, call_soon_threadsafe_from_many_threads_delivers_each_post_once_in_order) {
  tide_loop *loop = new_loop();
  static struct post_tally tally;
  tally.loop = loop;
  struct post *posts = calloc((size_t)POSTERS * POSTS_PER_THREAD, sizeof *posts);
  CHECK(posts != NULL);
  struct poster posters[POSTERS];
  plat_thread *threads[POSTERS];
  CHECK_OK(tide_loop_ref(loop)); /* dropped by the last post */
  for (int i = 0; i < POSTERS; i++) {
    posters[i] = (struct poster){&tally, posts + (size_t)i * POSTS_PER_THREAD, i};
    threads[i] = plat_thread_start(post_many, &posters[i]);
  }
  CHECK_EQ(0, tide_loop_run(loop));
  for (int i = 0; i < POSTERS; i++)
    plat_thread_join(threads[i]);
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
  plat_thread *thread;
};

static void count_delivery(void *arg) {
  struct burst *b = arg;
  b->delivered++;
}

static void post_burst(void *arg) {
  struct burst *b = arg;
  for (int i = 0; i < 1000; i++)
    CHECK_OK(tide_call_soon_threadsafe(b->loop, count_delivery, b));
  atomic_store(&b->posted, 1);
}

/* Runs on the loop: starts the posting thread only now, so every post lands while the loop is
 * busy here, and waits for all of them. */
static void wait_for_burst(void *arg) {
  struct burst *b = arg;
  b->thread = plat_thread_start(post_burst, b);
  while (!atomic_load(&b->posted))
    plat_sleep_ms(1);
}

TIDE_TEST(loop, burst_of_threadsafe_posts_is_delivered_in_one_tick) {
  tide_loop *loop = new_loop();
  struct burst b = {.loop = loop};
  CHECK_OK(tide_call_soon(loop, wait_for_burst, &b));
  tide_loop_run_once(loop, 0); /* busy in wait_for_burst while the thread posts */
  plat_thread_join(b.thread);
  CHECK_EQ(0, b.delivered);
  tide_loop_run_once(loop, 0);
  CHECK_EQ(1000, b.delivered);
  CHECK_OK(tide_loop_close(loop));
}

/* ---- close ----------------------------------------------------------------------------------- */

static void count_call(void *arg) {
  (*(int *)arg)++;
}

static void post_one(void *arg) {
  void **args = arg;
  CHECK_OK(tide_call_soon_threadsafe(args[0], count_call, args[1]));
}

TIDE_TEST(close, posts_accepted_before_close_still_run) {
  tide_loop *loop = NULL;
  CHECK_OK(tide_loop_new(&loop, NULL));
  int calls = 0;
  int soon_calls = 0;
  void *args[2] = {loop, &calls};
  plat_thread *thread = plat_thread_start(post_one, args);
  plat_thread_join(thread);
  CHECK_OK(tide_call_soon(loop, count_call, &soon_calls));
  CHECK_OK(tide_loop_close(loop));
  CHECK_EQ(1, calls);
  CHECK_EQ(1, soon_calls);
}
