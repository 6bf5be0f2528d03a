/* tests/conformance/task_io_stack_test.c — the task forms of stream I/O run their op on the
 * task's own stack (core/task_internal.h: tide__task_await_op). These tests pin the behaviour
 * that must not change with that: cancellation, deadlines, fairness between tasks whose data is
 * always ready, a close completing a waiting write, and dumps. (The lifetime of a finished
 * task's record, on its stack too, is tested in tests/task_stacks_test.c.) */
#include <stdio.h>
#include <string.h>

#include "net_util.h"

/* ---- fairness ------------------------------------------------------------------------------ */

enum { BYTES_READY = 4096 };

typedef struct fair {
  tide_stream *r;
  int reader_done;
  int yields_meanwhile; /* the other task's turns before the reader finished */
} fair;

/* Reads BYTES_READY bytes one at a time: every read finds its byte already there. */
static int read_bytewise(tide_loop *loop, void *arg, void **result) {
  (void)loop;
  (void)result;
  fair *f = arg;
  for (int i = 0; i < BYTES_READY; i++) {
    char c;
    size_t n;
    CHECK_OK(tide_stream_read(f->r, &c, 1, &n));
    CHECK_EQ(1, n);
    CHECK_EQ((char)('a' + i % 26), c);
  }
  f->reader_done = 1;
  return 0;
}

static int count_turns(tide_loop *loop, void *arg, void **result) {
  (void)result;
  fair *f = arg;
  while (!f->reader_done) {
    f->yields_meanwhile++;
    CHECK_OK(tide_yield(loop));
  }
  return 0;
}

TIDE_TEST(taskio, reads_that_complete_at_once_still_let_other_tasks_run) {
  const char *unsupported = plat_native_descriptors_unsupported();
  if (unsupported != NULL)
    TIDE_SKIP("%s", unsupported);
  log_capture log;
  tide_loop *loop = new_loop_capturing(&log);
  fair f = {NULL, 0, 0};
  intptr_t fds[2];
  plat_native_pipe(fds);
  CHECK_OK(tide_stream_open_fd(loop, fds[0], &f.r));
  char data[BYTES_READY];
  for (int i = 0; i < BYTES_READY; i++)
    data[i] = (char)('a' + i % 26);
  /* Straight into the pipe, so that every read of the task finds its byte at once. */
  CHECK_EQ(BYTES_READY, plat_native_write(fds[1], data, sizeof data));
  tide_future *reader, *other;
  CHECK_OK(tide_spawn(loop, read_bytewise, &f, NULL, &reader));
  CHECK_OK(tide_spawn(loop, count_turns, &f, NULL, &other));
  net_run_until(loop, reader);
  net_run_until(loop, other);
  CHECK_OK(tide_future_result(reader, NULL));
  CHECK_OK(tide_future_result(other, NULL));
  /* Without a bound on synchronous completions the reader would finish in one turn. The bound
   * is an internal tuning figure; a few dozen turns is what "not starved" means here. */
  CHECK(f.yields_meanwhile >= 16);
  tide_future_release(reader);
  tide_future_release(other);
  CHECK_OK(tide_stream_close(f.r));
  plat_native_close(fds[1]);
  CHECK_OK(tide_loop_close(loop));
  CHECK_EQ(0, log.warnings);
}

/* ---- cancellation and deadlines while waiting in a task-form operation -------------------- */

typedef struct waiter {
  tide_stream *s;
  int rc;
  int64_t timeout_ns; /* > 0: wait inside a deadline scope of this length */
} waiter;

static int wait_in_read(tide_loop *loop, void *arg, void **result) {
  (void)result;
  waiter *w = arg;
  char buf[32];
  size_t n = 99;
  tide_scope scope;
  if (w->timeout_ns > 0)
    CHECK_OK(tide_scope_enter(loop, &scope, w->timeout_ns));
  w->rc = tide_stream_read(w->s, buf, sizeof buf, &n);
  if (w->timeout_ns > 0)
    CHECK_RC(w->rc == TIDE_ETIMEDOUT ? TIDE_ETIMEDOUT : 0, tide_scope_exit(&scope));
  CHECK_EQ(0, n);
  return w->rc == TIDE_ECANCELED ? w->rc : 0;
}

TIDE_TEST(taskio, cancelling_a_task_waiting_in_a_read_returns_ecanceled_and_loses_no_data) {
  log_capture log;
  tide_loop *loop = new_loop_capturing(&log);
  tide_stream *wr;
  waiter w = {NULL, 1, 0};
  CHECK_OK(tide_pipe_open(loop, &w.s, &wr));
  tide_future *f;
  CHECK_OK(tide_spawn(loop, wait_in_read, &w, NULL, &f));
  for (int i = 0; i < 3; i++)
    CHECK(tide_loop_run_once(loop, 0) >= 0);
  CHECK_EQ(1, w.rc);
  CHECK_OK(tide_future_cancel(f));
  net_run_until(loop, f);
  CHECK_EQ(TIDE_ECANCELED, w.rc);
  CHECK_EQ(TIDE_ECANCELED, tide_future_result(f, NULL));
  tide_future_release(f);
  /* The cancelled read consumed nothing: what is written now is all there. */
  tide_future *wf, *rf;
  CHECK_OK(tide_stream_write_future(wr, "after", 5, &wf));
  char buf[8];
  CHECK_OK(tide_stream_read_exactly_future(w.s, buf, 5, &rf));
  net_run_until(loop, rf);
  net_run_until(loop, wf);
  CHECK_EQ(5, net_result(wf));
  CHECK_EQ(5, net_result(rf));
  CHECK(memcmp(buf, "after", 5) == 0);
  CHECK_OK(tide_stream_close(w.s));
  CHECK_OK(tide_stream_close(wr));
  CHECK_OK(tide_loop_close(loop));
  CHECK_EQ(0, log.warnings);
}

TIDE_TEST(taskio, a_deadline_passing_during_a_read_returns_etimedout) {
  log_capture log;
  tide_loop *loop = new_loop_capturing(&log);
  tide_stream *wr;
  waiter w = {NULL, 1, 5 * MS};
  CHECK_OK(tide_pipe_open(loop, &w.s, &wr));
  tide_future *f;
  CHECK_OK(tide_spawn(loop, wait_in_read, &w, NULL, &f));
  net_run_until(loop, f);
  CHECK_EQ(TIDE_ETIMEDOUT, w.rc);
  CHECK_OK(tide_future_result(f, NULL));
  tide_future_release(f);
  CHECK_OK(tide_stream_close(w.s));
  CHECK_OK(tide_stream_close(wr));
  CHECK_OK(tide_loop_close(loop));
  CHECK_EQ(0, log.warnings);
}

/* A write that cannot start (the pipe is full, and a large write queued before it) is cancelled by
 * a close from another task: it returns TIDE_ECANCELED, and the stream's memory outlives the op
 * (valgrind/ASan check that). */
typedef struct blocked_writer {
  tide_stream *w;
  int rc;
} blocked_writer;

static int write_into_full_pipe(tide_loop *loop, void *arg, void **result) {
  (void)loop;
  (void)result;
  blocked_writer *b = arg;
  b->rc = tide_stream_write(b->w, "x", 1);
  return 0;
}

TIDE_TEST(taskio, closing_a_stream_completes_a_task_write_waiting_on_it) {
  log_capture log;
  tide_loop *loop = new_loop_capturing(&log);
  tide_stream *r;
  blocked_writer b = {NULL, 1};
  CHECK_OK(tide_pipe_open(loop, &r, &b.w));
  /* Far more than any pipe buffer, with nobody reading: it fills the pipe and stays queued. The
   * high-water mark above it lets the task's write go past the back-pressure wait into its op. */
  enum { BIG = 1 << 20 };
  CHECK_OK(tide_stream_set_write_high_water(b.w, 2 * BIG));
  static char big[BIG];
  tide_future *fill;
  CHECK_OK(tide_stream_write_future(b.w, big, sizeof big, &fill));
  tide_future *f;
  CHECK_OK(tide_spawn(loop, write_into_full_pipe, &b, NULL, &f));
  for (int i = 0; i < 3; i++)
    CHECK(tide_loop_run_once(loop, 0) >= 0);
  CHECK_EQ(1, b.rc);
  CHECK(!tide_future_done(fill));
  CHECK_EQ(BIG + 1, tide_stream_write_queue_size(b.w));
  CHECK_OK(tide_stream_close(b.w));
  net_run_until(loop, f);
  net_run_until(loop, fill);
  CHECK_EQ(TIDE_ECANCELED, b.rc);
  intptr_t filled = net_result(fill); /* short: the part that went in (or nothing) */
  CHECK(filled == TIDE_ECANCELED || (filled >= 0 && filled < BIG));
  tide_future_release(f);
  CHECK_OK(tide_stream_close(r));
  CHECK_OK(tide_loop_close(loop));
  CHECK_EQ(0, log.warnings);
}

TIDE_TEST(taskio, a_dump_shows_a_task_waiting_for_io) {
  log_capture log;
  tide_loop *loop = new_loop_capturing(&log);
  tide_stream *wr;
  waiter w = {NULL, 1, 0};
  CHECK_OK(tide_pipe_open(loop, &w.s, &wr));
  tide_task_options opts;
  tide_task_options_init(&opts);
  opts.name = "pipe-reader";
  tide_future *f;
  CHECK_OK(tide_spawn(loop, wait_in_read, &w, &opts, &f));
  for (int i = 0; i < 3; i++)
    CHECK(tide_loop_run_once(loop, 0) >= 0);
  char text[1024];
  CHECK_EQ(1, dump_tasks_text(loop, "tide_taskio_dump_test.txt", text, sizeof text));
  CHECK(strstr(text, "task 'pipe-reader' suspended") != NULL);
  CHECK(strstr(text, "awaiting I/O") != NULL);
  CHECK_OK(tide_stream_close(w.s)); /* the read settles with TIDE_ECANCELED */
  net_run_until(loop, f);
  CHECK_EQ(TIDE_ECANCELED, w.rc);
  tide_future_release(f);
  CHECK_OK(tide_stream_close(wr));
  CHECK_OK(tide_loop_close(loop));
  CHECK_EQ(0, log.warnings);
}
