/* tests/resources/task_io_test.c — the task forms of stream I/O run their op on the task's own
 * stack (core/task_internal.h: tide__task_await_op), and a task's record lives at the top of its
 * stack. These tests pin the behaviour that must not change with that: cancellation, deadlines,
 * fairness between tasks whose data is always ready, dumps, and the lifetime of a finished
 * task's future. */
#include "resources/resources_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

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
  res_log log;
  tide_loop *loop = res_loop_new(&log);
  fair f = {NULL, 0, 0};
  tide_stream *w;
  CHECK_OK(tide_pipe_open(loop, &f.r, &w));
  char data[BYTES_READY];
  for (int i = 0; i < BYTES_READY; i++)
    data[i] = (char)('a' + i % 26);
  /* Straight into the pipe, so that every read of the task finds its byte at once. */
  CHECK_EQ(BYTES_READY, write((int)tide_stream_fd(w), data, sizeof data));
  tide_future *reader, *other;
  CHECK_OK(tide_spawn(loop, read_bytewise, &f, NULL, &reader));
  CHECK_OK(tide_spawn(loop, count_turns, &f, NULL, &other));
  res_run_until(loop, reader);
  res_run_until(loop, other);
  CHECK_OK(tide_future_result(reader, NULL));
  CHECK_OK(tide_future_result(other, NULL));
  /* Without a bound on synchronous completions the reader would finish in one turn. The bound
   * is an internal tuning figure; a few dozen turns is what "not starved" means here. */
  CHECK(f.yields_meanwhile >= 16);
  tide_future_release(reader);
  tide_future_release(other);
  CHECK_OK(tide_stream_close(f.r));
  CHECK_OK(tide_stream_close(w));
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
  res_log log;
  tide_loop *loop = res_loop_new(&log);
  tide_stream *wr;
  waiter w = {NULL, 1, 0};
  CHECK_OK(tide_pipe_open(loop, &w.s, &wr));
  tide_future *f;
  CHECK_OK(tide_spawn(loop, wait_in_read, &w, NULL, &f));
  for (int i = 0; i < 3; i++)
    CHECK(tide_loop_run_once(loop, 0) >= 0);
  CHECK_EQ(1, w.rc);
  CHECK_OK(tide_future_cancel(f));
  res_run_until(loop, f);
  CHECK_EQ(TIDE_ECANCELED, w.rc);
  CHECK_EQ(TIDE_ECANCELED, tide_future_result(f, NULL));
  tide_future_release(f);
  /* The cancelled read consumed nothing: what is written now is all there. */
  CHECK_EQ(5, write((int)tide_stream_fd(wr), "after", 5));
  char buf[8];
  CHECK_EQ(5, read((int)tide_stream_fd(w.s), buf, sizeof buf));
  CHECK(memcmp(buf, "after", 5) == 0);
  CHECK_OK(tide_stream_close(w.s));
  CHECK_OK(tide_stream_close(wr));
  CHECK_OK(tide_loop_close(loop));
  CHECK_EQ(0, log.warnings);
}

TIDE_TEST(taskio, a_deadline_passing_during_a_read_returns_etimedout) {
  res_log log;
  tide_loop *loop = res_loop_new(&log);
  tide_stream *wr;
  waiter w = {NULL, 1, 5 * RES_MS};
  CHECK_OK(tide_pipe_open(loop, &w.s, &wr));
  tide_future *f;
  CHECK_OK(tide_spawn(loop, wait_in_read, &w, NULL, &f));
  res_run_until(loop, f);
  CHECK_EQ(TIDE_ETIMEDOUT, w.rc);
  CHECK_OK(tide_future_result(f, NULL));
  tide_future_release(f);
  CHECK_OK(tide_stream_close(w.s));
  CHECK_OK(tide_stream_close(wr));
  CHECK_OK(tide_loop_close(loop));
  CHECK_EQ(0, log.warnings);
}

/* A write that cannot start (the pipe is full) is cancelled by a close from another task: it
 * returns TIDE_ECANCELED, and the stream's memory outlives the op (valgrind/ASan check that). */
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
  res_log log;
  tide_loop *loop = res_loop_new(&log);
  tide_stream *r;
  blocked_writer b = {NULL, 1};
  CHECK_OK(tide_pipe_open(loop, &r, &b.w));
  int wfd = (int)tide_stream_fd(b.w);
  char chunk[4096] = {0};
  while (write(wfd, chunk, sizeof chunk) > 0) {
  }
  CHECK(errno == EAGAIN || errno == EWOULDBLOCK);
  tide_future *f;
  CHECK_OK(tide_spawn(loop, write_into_full_pipe, &b, NULL, &f));
  for (int i = 0; i < 3; i++)
    CHECK(tide_loop_run_once(loop, 0) >= 0);
  CHECK_EQ(1, b.rc);
  CHECK_EQ(1, (int)tide_stream_write_queue_size(b.w));
  CHECK_OK(tide_stream_close(b.w));
  res_run_until(loop, f);
  CHECK_EQ(TIDE_ECANCELED, b.rc);
  tide_future_release(f);
  CHECK_OK(tide_stream_close(r));
  CHECK_OK(tide_loop_close(loop));
  CHECK_EQ(0, log.warnings);
}

TIDE_TEST(taskio, a_dump_shows_a_task_waiting_for_io) {
  res_log log;
  tide_loop *loop = res_loop_new(&log);
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
  char *text = NULL;
  size_t size = 0;
  FILE *out = open_memstream(&text, &size);
  CHECK(out != NULL);
  CHECK_EQ(1, tide_loop_dump_tasks(loop, out));
  fclose(out);
  CHECK(strstr(text, "task 'pipe-reader' suspended") != NULL);
  CHECK(strstr(text, "awaiting I/O") != NULL);
  free(text);
  CHECK_OK(tide_stream_close(w.s)); /* the read settles with TIDE_ECANCELED */
  res_run_until(loop, f);
  CHECK_EQ(TIDE_ECANCELED, w.rc);
  tide_future_release(f);
  CHECK_OK(tide_stream_close(wr));
  CHECK_OK(tide_loop_close(loop));
  CHECK_EQ(0, log.warnings);
}

/* ---- a task's record lives on its stack until its future is released ---------------------- */

static int answer(tide_loop *loop, void *arg, void **result) {
  (void)loop;
  *result = arg;
  return 0;
}

TIDE_TEST(taskio, a_finished_task_future_keeps_its_result_and_name_while_others_run) {
  res_log log;
  tide_loop *loop = res_loop_new(&log);
  tide_task_options opts;
  tide_task_options_init(&opts);
  opts.name = "the-answer";
  tide_future *kept;
  CHECK_OK(tide_spawn(loop, answer, (void *)(intptr_t)42, &opts, &kept));
  res_run_until(loop, kept);
  /* Many tasks come and go meanwhile, reusing whatever stacks the loop has cached. */
  for (int i = 0; i < 50; i++) {
    tide_future *f;
    CHECK_OK(tide_spawn(loop, answer, (void *)(intptr_t)i, NULL, &f));
    res_run_until(loop, f);
    void *v = NULL;
    CHECK_OK(tide_future_result(f, &v));
    CHECK_EQ(i, (intptr_t)v);
    tide_future_release(f);
  }
  void *v = NULL;
  CHECK_OK(tide_future_result(kept, &v));
  CHECK_EQ(42, (intptr_t)v);
  CHECK_STR("the-answer", tide_task_name(kept));
  tide_future_release(kept);
  CHECK_OK(tide_loop_close(loop));
  CHECK_EQ(0, log.warnings);
}

TIDE_TEST(taskio, loop_close_frees_and_reports_finished_task_futures_never_released) {
  res_log log;
  tide_loop *loop = res_loop_new(&log);
  tide_future *forgotten;
  CHECK_OK(tide_spawn(loop, answer, NULL, NULL, &forgotten));
  res_run_until(loop, forgotten);
  CHECK_OK(tide_loop_close(loop)); /* valgrind and ASan check that its stack was unmapped */
  CHECK_EQ(1, log.warnings);
  CHECK(strstr(log.all, "1 finished task future(s) never released") != NULL);
}
