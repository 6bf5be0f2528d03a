/* tests/conformance/task_io_test.c — tasks suspended on I/O: many tasks each waiting on its own
 * stream and woken by the backend as data arrives, a task cancelled while it awaits a read (no
 * data lost), a deadline scope and tide_await_timeout ending reads that never complete (the
 * stream stays usable), and a task awaiting an accept. */
#include "net_util.h"

/* ---- many tasks, each awaiting its own stream ------------------------------------------------ */

enum { READERS = 64 };

typedef struct pipe_reader {
  tide_stream *r, *w;
  char got;
  int woke_order;
  int *woke_count;
} pipe_reader;

static int read_one_byte(tide_loop *loop, void *arg, void **result) {
  (void)loop;
  (void)result;
  pipe_reader *p = arg;
  size_t n;
  CHECK_OK(tide_stream_read(p->r, &p->got, 1, &n));
  CHECK_EQ(1, n);
  p->woke_order = (*p->woke_count)++;
  return 0;
}

static int many_readers_main(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  static pipe_reader readers[READERS];
  tide_future *tasks[READERS];
  int woke = 0;
  for (int i = 0; i < READERS; i++) {
    readers[i] = (pipe_reader){NULL, NULL, 0, -1, &woke};
    CHECK_OK(tide_pipe_open(loop, &readers[i].r, &readers[i].w));
    CHECK_OK(tide_spawn(loop, read_one_byte, &readers[i], NULL, &tasks[i]));
  }
  CHECK_OK(tide_sleep(loop, 10 * MS)); /* every reader is suspended in its read by now */
  CHECK_EQ(0, woke);
  /* Feed them one at a time, in reverse order, letting each wake before the next write: each
   * read must be woken by its own stream's data, and only by it. */
  for (int i = READERS - 1; i >= 0; i--) {
    char byte = (char)('A' + i % 26);
    CHECK_OK(tide_stream_write(readers[i].w, &byte, 1));
    int64_t give_up = net_mono_ns() + 5 * SECOND_NS;
    while (readers[i].woke_order < 0) {
      CHECK(net_mono_ns() < give_up);
      CHECK_OK(tide_yield(loop));
    }
    CHECK_EQ(READERS - 1 - i, readers[i].woke_order);
    CHECK_EQ(byte, readers[i].got);
  }
  for (int i = 0; i < READERS; i++) {
    CHECK_OK(tide_await(tasks[i], NULL));
    tide_future_release(tasks[i]);
    CHECK_OK(tide_stream_close(readers[i].r));
    CHECK_OK(tide_stream_close(readers[i].w));
  }
  return 0;
}

TIDE_TEST(task, tasks_suspended_on_reads_each_wake_for_their_own_stream) {
  net_run(many_readers_main, NULL, 20);
}

/* ---- cancellation of a task awaiting a read -------------------------------------------------- */

typedef struct cancel_reader {
  tide_stream *r;
  char buf[16];
  size_t got;
  int rc;
} cancel_reader;

static int read_until_cancelled(tide_loop *loop, void *arg, void **result) {
  (void)loop;
  (void)result;
  cancel_reader *c = arg;
  c->rc = tide_stream_read(c->r, c->buf, sizeof c->buf, &c->got);
  return c->rc;
}

static int cancel_task_read_main(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  tide_stream *r, *w;
  CHECK_OK(tide_pipe_open(loop, &r, &w));
  cancel_reader c = {r, {0}, 0, 1};
  tide_future *task;
  CHECK_OK(tide_spawn(loop, read_until_cancelled, &c, NULL, &task));
  CHECK_OK(tide_yield(loop)); /* the task is suspended in its read */
  CHECK_EQ(1, c.rc);
  /* Data and the cancellation arrive in the same tick: the task either got the bytes (its read
   * had completed) or was cancelled having consumed nothing, and then they are still there. */
  tide_future *wf;
  CHECK_OK(tide_stream_write_future(w, "precious", 8, &wf));
  CHECK_OK(tide_future_cancel(task));
  int rc = tide_await(task, NULL);
  tide_future_release(task);
  CHECK_EQ(8, net_await(wf));
  if (rc == TIDE_ECANCELED) {
    CHECK_RC(TIDE_ECANCELED, c.rc);
    CHECK_EQ(0, c.got);
    size_t n;
    CHECK_OK(tide_stream_read_exactly(r, c.buf, 8, &n));
    CHECK_EQ(8, n);
  } else {
    CHECK_OK(rc);
    CHECK_EQ(8, c.got);
  }
  CHECK(memcmp(c.buf, "precious", 8) == 0);
  CHECK_OK(tide_stream_close(r));
  CHECK_OK(tide_stream_close(w));
  return 0;
}

TIDE_TEST(task, cancelling_a_task_awaiting_a_read_loses_no_data) {
  net_run(cancel_task_read_main, NULL, 10);
}

/* ---- deadlines ------------------------------------------------------------------------------- */

static int deadline_read_main(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  tide_stream *r, *w;
  CHECK_OK(tide_pipe_open(loop, &r, &w));
  char buf[8];
  size_t n = 99;
  /* A scope's deadline ends a read nobody will ever satisfy... Deadlines count from the loop's
   * cached clock (tide_now), which may lag the OS clock by the current tick's work (much of it
   * under valgrind), so the "not early" check reads the same clock. */
  int64_t start = tide_now(loop);
  tide_scope scope;
  CHECK_OK(tide_scope_enter(loop, &scope, 20 * MS));
  CHECK_RC(TIDE_ETIMEDOUT, tide_stream_read(r, buf, sizeof buf, &n));
  CHECK_RC(TIDE_ETIMEDOUT, tide_scope_exit(&scope));
  CHECK(tide_now(loop) - start >= 20 * MS);
  /* ...as does tide_await_timeout on the read's future; neither consumed anything. */
  tide_future *f;
  CHECK_OK(tide_stream_read_future(r, buf, sizeof buf, &f));
  CHECK_RC(TIDE_ETIMEDOUT, tide_await_timeout(f, 20 * MS, NULL));
  CHECK(tide_future_done(f));
  tide_future_release(f);
  /* The stream still works. */
  CHECK_OK(tide_stream_write(w, "later", 5));
  CHECK_OK(tide_stream_read_exactly(r, buf, 5, &n));
  CHECK_EQ(5, n);
  CHECK(memcmp(buf, "later", 5) == 0);
  CHECK_OK(tide_stream_close(r));
  CHECK_OK(tide_stream_close(w));
  return 0;
}

TIDE_TEST(task, deadlines_end_reads_that_never_complete_and_the_stream_stays_usable) {
  net_run(deadline_read_main, NULL, 10);
}

/* ---- a task awaiting an accept --------------------------------------------------------------- */

typedef struct acceptor {
  tide_listener *l;
  int accepted;
} acceptor;

static int accept_and_greet(tide_loop *loop, void *arg, void **result) {
  (void)loop;
  (void)result;
  acceptor *a = arg;
  tide_stream *s;
  CHECK_OK(tide_listener_accept(a->l, &s));
  a->accepted = 1;
  CHECK_OK(tide_stream_write(s, "hi", 2));
  CHECK_OK(tide_stream_close(s));
  return 0;
}

static int accept_task_main(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  struct sockaddr_storage addr;
  acceptor a = {net_listen(loop, "127.0.0.1", &addr), 0};
  tide_future *task;
  CHECK_OK(tide_spawn(loop, accept_and_greet, &a, NULL, &task));
  CHECK_OK(tide_sleep(loop, 10 * MS));
  CHECK_EQ(0, a.accepted); /* suspended: nobody has connected */
  /* A plain blocking client: the handshake completes in the kernel, the backend wakes the task. */
  plat_socket c = plat_tcp_connect_blocking(&addr);
  CHECK_OK(tide_await(task, NULL));
  tide_future_release(task);
  CHECK_EQ(1, a.accepted);
  plat_socket_close(c);
  CHECK_OK(tide_listener_close(a.l));
  return 0;
}

TIDE_TEST(task, a_task_awaiting_an_accept_wakes_when_a_client_connects) {
  net_run(accept_task_main, NULL, 10);
}
