/* tests/resources/task_io_wake_test.c — how tasks waiting in task-form I/O are woken by the
 * loop's poll. What must hold however the loop schedules them: a woken task sees the time after
 * the poll's wait (not the time before it blocked), and what a woken task does while others
 * woken by the same poll have not run yet (closing another woken task's stream, reading again
 * from its own descriptor, writing to descriptors whose events are in the same batch) is safe
 * and loses nothing. (A prototype that resumed tasks from inside the poll's walk of its events
 * was measured and dropped, docs/perf/net-echo/NOTES.md; these tests pinned it.) */
#include "resources/resources_util.h"

#include <unistd.h>

#include "core/sys/thread.h" /* a portable thread for the late writer */

/* ---- the time a woken task sees ---------------------------------------------------------- */

enum { WRITE_DELAY_MS = 50 };

typedef struct timed_read {
  tide_stream *r;
  int wfd;
  int64_t seen; /* tide_now right after the read returned */
  int rc;
} timed_read;

static int read_then_note_time(tide_loop *loop, void *arg, void **result) {
  (void)result;
  timed_read *t = arg;
  char c;
  size_t n;
  t->rc = tide_stream_read(t->r, &c, 1, &n);
  t->seen = tide_now(loop);
  return 0;
}

static void write_later(void *arg) {
  timed_read *t = arg;
  tide__thread_sleep_ns(WRITE_DELAY_MS * RES_MS);
  ssize_t n = write(t->wfd, "x", 1);
  (void)n;
}

TIDE_TEST(taskio, a_task_woken_by_io_sees_the_time_after_the_poll_waited) {
  res_log log;
  tide_loop *loop = res_loop_new(&log);
  tide_stream *w;
  timed_read t = {NULL, -1, 0, 1};
  CHECK_OK(tide_pipe_open(loop, &t.r, &w));
  t.wfd = (int)tide_stream_fd(w);
  tide_future *f;
  CHECK_OK(tide_spawn(loop, read_then_note_time, &t, NULL, &f));
  CHECK(tide_loop_run_once(loop, 0) >= 0); /* the task is now waiting in its read */
  CHECK(!tide_future_done(f));
  int64_t before = tide_loop_update_time(loop);
  tide__thread writer;
  CHECK_OK(tide__thread_start(&writer, write_later, &t));
  /* No limit on the wait: one tick blocks in the poll until the write arrives. */
  for (int i = 0; i < 10 && !tide_future_done(f); i++)
    CHECK(tide_loop_run_once(loop, -1) >= 0);
  tide__thread_join(&writer);
  CHECK(tide_future_done(f));
  CHECK_OK(t.rc);
  /* A lower bound only, and a loose one (sleeps may end a little early on some systems): the
   * writer slept about WRITE_DELAY_MS before writing, while a task that saw the time from before
   * the poll blocked would see almost none of it. */
  CHECK(t.seen - before >= WRITE_DELAY_MS / 2 * RES_MS);
  tide_future_release(f);
  CHECK_OK(tide_stream_close(t.r));
  CHECK_OK(tide_stream_close(w));
  CHECK_OK(tide_loop_close(loop));
  CHECK_EQ(0, log.warnings);
}

/* ---- what a woken task may do before the others of its poll have run ---------------------- */

typedef struct pair {
  tide_stream *r1, *w1; /* A's pipe */
  tide_stream *r2, *w2; /* B's pipe; A closes r2 */
  char a_got[3];
  int a_rc;
  int b_rc;
  size_t b_n;
} pair;

/* A: waits for its first byte, then closes B's stream (B may be waiting on it, or may have
 * been woken by the same poll), then reads the rest of its own bytes, which are already there:
 * reads that finish at once, on a descriptor of the same batch. */
static int task_a(tide_loop *loop, void *arg, void **result) {
  (void)loop;
  (void)result;
  pair *p = arg;
  size_t n;
  p->a_rc = tide_stream_read(p->r1, &p->a_got[0], 1, &n);
  if (p->a_rc != 0 || n != 1)
    return 0;
  CHECK_OK(tide_stream_close(p->r2));
  p->a_rc = tide_stream_read_exactly(p->r1, &p->a_got[1], 2, &n);
  CHECK_EQ(2, n);
  return 0;
}

static int task_b(tide_loop *loop, void *arg, void **result) {
  (void)loop;
  (void)result;
  pair *p = arg;
  char c;
  p->b_rc = tide_stream_read(p->r2, &c, 1, &p->b_n);
  return p->b_rc == TIDE_ECANCELED ? 0 : p->b_rc;
}

TIDE_TEST(taskio, a_task_woken_by_the_poll_may_close_a_stream_another_woken_task_waits_on) {
  int fds_before = res_count_fds();
  res_log log;
  tide_loop *loop = res_loop_new(&log);
  pair p = {0};
  p.a_rc = p.b_rc = 1;
  CHECK_OK(tide_pipe_open(loop, &p.r1, &p.w1));
  CHECK_OK(tide_pipe_open(loop, &p.r2, &p.w2));
  tide_future *a, *b;
  CHECK_OK(tide_spawn(loop, task_a, &p, NULL, &a));
  CHECK_OK(tide_spawn(loop, task_b, &p, NULL, &b));
  CHECK(tide_loop_run_once(loop, 0) >= 0); /* both wait in their reads */
  CHECK(!tide_future_done(a) && !tide_future_done(b));
  /* Both descriptors become readable before the next poll: one poll wakes both tasks. */
  CHECK_EQ(1, write((int)tide_stream_fd(p.w2), "b", 1));
  CHECK_EQ(3, write((int)tide_stream_fd(p.w1), "abc", 3));
  res_run_until(loop, a);
  res_run_until(loop, b);
  CHECK_OK(tide_future_result(a, NULL));
  CHECK_OK(tide_future_result(b, NULL));
  CHECK_OK(p.a_rc);
  CHECK(memcmp(p.a_got, "abc", 3) == 0);
  /* B either read its byte (its event came first) or was cancelled by the close. */
  CHECK(p.b_rc == 0 ? p.b_n == 1 : p.b_rc == TIDE_ECANCELED);
  tide_future_release(a);
  tide_future_release(b);
  CHECK_OK(tide_stream_close(p.r1));
  CHECK_OK(tide_stream_close(p.w1));
  CHECK_OK(tide_stream_close(p.w2));
  CHECK_OK(tide_loop_close(loop));
  CHECK_EQ(0, log.warnings);
  CHECK_EQ(fds_before, res_count_fds());
}

/* ---- many tasks woken by one poll --------------------------------------------------------- */

enum { WOKEN = 64, ROUNDS = 20 };

typedef struct ring {
  tide_stream *r[WOKEN];
  tide_stream *w[WOKEN];
  int turns[WOKEN];
} ring;

typedef struct ring_member {
  ring *g;
  int index;
} ring_member;

/* Each task reads a byte and writes it to the next task's pipe: every poll wakes the tasks
 * whose bytes arrived, and the writes they make land on descriptors whose events the same
 * batch may hold. */
static int ring_task(tide_loop *loop, void *arg, void **result) {
  (void)loop;
  (void)result;
  ring_member *m = arg;
  ring *g = m->g;
  for (int round = 0; round < ROUNDS; round++) {
    char c;
    size_t n;
    CHECK_OK(tide_stream_read(g->r[m->index], &c, 1, &n));
    CHECK_EQ(1, n);
    /* Round k brings the byte that started k pipes upstream. */
    CHECK_EQ('0' + ((m->index - round) % WOKEN + WOKEN) % WOKEN, c);
    g->turns[m->index]++;
    CHECK_OK(tide_stream_write(g->w[(m->index + 1) % WOKEN], &c, 1));
  }
  return 0;
}

TIDE_TEST(taskio, tasks_woken_together_by_the_poll_pass_every_byte_in_order) {
  res_log log;
  tide_loop *loop = res_loop_new(&log);
  ring g;
  memset(&g, 0, sizeof g);
  ring_member members[WOKEN];
  tide_future *f[WOKEN];
  for (int i = 0; i < WOKEN; i++) {
    CHECK_OK(tide_pipe_open(loop, &g.r[i], &g.w[i]));
    members[i] = (ring_member){&g, i};
  }
  for (int i = 0; i < WOKEN; i++)
    CHECK_OK(tide_spawn(loop, ring_task, &members[i], NULL, &f[i]));
  CHECK(tide_loop_run_once(loop, 0) >= 0);
  /* One byte per pipe: every task has a byte to pass in every round. */
  for (int i = 0; i < WOKEN; i++) {
    char c = (char)('0' + i);
    CHECK_EQ(1, write((int)tide_stream_fd(g.w[i]), &c, 1));
  }
  for (int i = 0; i < WOKEN; i++)
    res_run_until(loop, f[i]);
  for (int i = 0; i < WOKEN; i++) {
    CHECK_OK(tide_future_result(f[i], NULL));
    CHECK_EQ(ROUNDS, g.turns[i]);
    tide_future_release(f[i]);
  }
  for (int i = 0; i < WOKEN; i++) {
    CHECK_OK(tide_stream_close(g.r[i]));
    CHECK_OK(tide_stream_close(g.w[i]));
  }
  CHECK_OK(tide_loop_close(loop));
  CHECK_EQ(0, log.warnings);
}
