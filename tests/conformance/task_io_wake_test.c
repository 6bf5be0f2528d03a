/* tests/conformance/task_io_wake_test.c — how tasks waiting in task-form I/O are woken by the
 * loop's poll. What must hold however the loop schedules them: a woken task sees the time after
 * the poll's wait (not the time before it blocked), and what a woken task does while others
 * woken by the same poll have not run yet (closing another woken task's stream, reading again
 * from its own descriptor, writing to descriptors whose events are in the same batch) is safe
 * and loses nothing. (A prototype that resumed tasks from inside the poll's walk of its events
 * was measured and dropped, docs/perf/net-echo/NOTES.md; these tests pinned it.) */
#include <string.h>

#include "net_util.h"

/* ---- the time a woken task sees ---------------------------------------------------------- */

enum { WRITE_DELAY_MS = 50 };

typedef struct timed_read {
  tide_stream *r;
  intptr_t wfd; /* the pipe's native write end */
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
  plat_sleep_ms(WRITE_DELAY_MS);
  CHECK_EQ(1, plat_native_write(t->wfd, "x", 1));
}

TIDE_TEST(taskio, a_task_woken_by_io_sees_the_time_after_the_poll_waited) {
  const char *unsupported = plat_native_descriptors_unsupported();
  if (unsupported != NULL)
    TIDE_SKIP("%s", unsupported);
  log_capture log;
  tide_loop *loop = new_loop_capturing(&log);
  timed_read t = {NULL, -1, 0, 1};
  /* The write end stays native, so that another thread can write to it without tide. */
  intptr_t fds[2];
  plat_native_pipe(fds);
  CHECK_OK(tide_stream_open_fd(loop, fds[0], &t.r));
  t.wfd = fds[1];
  tide_future *f;
  CHECK_OK(tide_spawn(loop, read_then_note_time, &t, NULL, &f));
  CHECK(tide_loop_run_once(loop, 0) >= 0); /* the task is now waiting in its read */
  CHECK(!tide_future_done(f));
  int64_t before = tide_loop_update_time(loop);
  plat_thread *writer = plat_thread_start(write_later, &t);
  /* No limit on the wait: one tick blocks in the poll until the write arrives. */
  for (int i = 0; i < 10 && !tide_future_done(f); i++)
    CHECK(tide_loop_run_once(loop, -1) >= 0);
  plat_thread_join(writer);
  CHECK(tide_future_done(f));
  CHECK_OK(t.rc);
  /* A lower bound only, and a loose one (sleeps may end a little early on some systems): the
   * writer slept about WRITE_DELAY_MS before writing, while a task that saw the time from before
   * the poll blocked would see almost none of it. */
  CHECK(t.seen - before >= WRITE_DELAY_MS / 2 * MS);
  tide_future_release(f);
  CHECK_OK(tide_stream_close(t.r));
  plat_native_close(t.wfd);
  CHECK_OK(tide_loop_close(loop));
  CHECK_EQ(0, log.warnings);
}

/* ---- what a woken task may do before the others of its poll have run ---------------------- */

typedef struct pair {
  tide_stream *r1, *r2; /* A's and B's read ends; A closes r2 */
  intptr_t w1, w2;      /* their native write ends */
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
  const char *unsupported = plat_native_descriptors_unsupported();
  if (unsupported != NULL)
    TIDE_SKIP("%s", unsupported);
  int fds_before = net_count_fds();
  log_capture log;
  tide_loop *loop = new_loop_capturing(&log);
  pair p = {0};
  p.a_rc = p.b_rc = 1;
  intptr_t fds[2];
  plat_native_pipe(fds);
  CHECK_OK(tide_stream_open_fd(loop, fds[0], &p.r1));
  p.w1 = fds[1];
  plat_native_pipe(fds);
  CHECK_OK(tide_stream_open_fd(loop, fds[0], &p.r2));
  p.w2 = fds[1];
  tide_future *a, *b;
  CHECK_OK(tide_spawn(loop, task_a, &p, NULL, &a));
  CHECK_OK(tide_spawn(loop, task_b, &p, NULL, &b));
  CHECK(tide_loop_run_once(loop, 0) >= 0); /* both wait in their reads */
  CHECK(!tide_future_done(a) && !tide_future_done(b));
  /* Both descriptors become readable before the next poll: one poll wakes both tasks. */
  CHECK_EQ(1, plat_native_write(p.w2, "b", 1));
  CHECK_EQ(3, plat_native_write(p.w1, "abc", 3));
  net_run_until(loop, a);
  net_run_until(loop, b);
  CHECK_OK(tide_future_result(a, NULL));
  CHECK_OK(tide_future_result(b, NULL));
  CHECK_OK(p.a_rc);
  CHECK(memcmp(p.a_got, "abc", 3) == 0);
  /* B either read its byte (its event came first) or was cancelled by the close. */
  CHECK(p.b_rc == 0 ? p.b_n == 1 : p.b_rc == TIDE_ECANCELED);
  tide_future_release(a);
  tide_future_release(b);
  CHECK_OK(tide_stream_close(p.r1));
  plat_native_close(p.w1);
  plat_native_close(p.w2);
  CHECK_OK(tide_loop_close(loop));
  CHECK_EQ(0, log.warnings);
  CHECK_EQ(fds_before, net_count_fds());
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
  log_capture log;
  tide_loop *loop = new_loop_capturing(&log);
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
  /* One byte per pipe: every task has a byte to pass in every round. The pipes' write ends are
   * tide's (the tasks write to them), so the bytes go in through tide too, all before the next
   * poll: each write finds an empty pipe, which a backend finishes at once or in that poll. */
  char seed[WOKEN];
  tide_future *seeding[WOKEN];
  for (int i = 0; i < WOKEN; i++) {
    seed[i] = (char)('0' + i);
    CHECK_OK(tide_stream_write_future(g.w[i], &seed[i], 1, &seeding[i]));
  }
  for (int i = 0; i < WOKEN; i++) {
    net_run_until(loop, seeding[i]);
    CHECK_EQ(1, net_result(seeding[i]));
  }
  for (int i = 0; i < WOKEN; i++)
    net_run_until(loop, f[i]);
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
