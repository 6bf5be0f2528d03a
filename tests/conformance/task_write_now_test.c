/* tests/conformance/task_write_now_test.c — a task-form write is first offered to the backend to
 * finish at once (core/net.c, tide__task_try_op; a readiness backend tries the syscall there, a
 * completion backend never finishes it so and submits it), and only submitted when it cannot.
 * These tests pin what must hold whichever path a write takes: a run of writes that finish at
 * once still yields to other tasks, a write that fills the descriptor's buffer carries on
 * through the queue from where the first attempt stopped (no byte lost, repeated or reordered),
 * the write queue counts only a write that has to wait, and cancelling such a write stops it. */
#include <stdlib.h>
#include <string.h>

#include "net_util.h"

/* ---- fairness ------------------------------------------------------------------------------ */

enum { SMALL_WRITES = 4096 };

typedef struct fair_writer {
  tide_stream *w;
  int writer_done;
  int turns_meanwhile; /* the other task's turns before the writer finished */
  size_t queued_max;   /* the largest write queue the writer saw after a write */
} fair_writer;

/* Writes SMALL_WRITES single bytes into an empty pipe: each one finishes at once. */
static int write_bytewise(tide_loop *loop, void *arg, void **result) {
  (void)loop;
  (void)result;
  fair_writer *f = arg;
  for (int i = 0; i < SMALL_WRITES; i++) {
    char c = (char)('a' + i % 26);
    CHECK_OK(tide_stream_write(f->w, &c, 1));
    size_t queued = tide_stream_write_queue_size(f->w);
    if (queued > f->queued_max)
      f->queued_max = queued;
  }
  f->writer_done = 1;
  return 0;
}

static int count_writer_turns(tide_loop *loop, void *arg, void **result) {
  (void)result;
  fair_writer *f = arg;
  while (!f->writer_done) {
    f->turns_meanwhile++;
    CHECK_OK(tide_yield(loop));
  }
  return 0;
}

TIDE_TEST(taskio, writes_that_finish_at_once_still_let_other_tasks_run) {
  const char *unsupported = plat_native_descriptors_unsupported();
  if (unsupported != NULL)
    TIDE_SKIP("%s", unsupported);
  log_capture log;
  tide_loop *loop = new_loop_capturing(&log);
  fair_writer f = {NULL, 0, 0, 0};
  /* tide writes, and the bytes are read back straight from the OS, not through tide. */
  intptr_t fds[2];
  plat_native_pipe_from_tide(fds);
  CHECK_OK(tide_stream_open_fd(loop, fds[1], &f.w));
  tide_future *writer, *other;
  CHECK_OK(tide_spawn(loop, write_bytewise, &f, NULL, &writer));
  CHECK_OK(tide_spawn(loop, count_writer_turns, &f, NULL, &other));
  net_run_until(loop, writer);
  net_run_until(loop, other);
  CHECK_OK(tide_future_result(writer, NULL));
  CHECK_OK(tide_future_result(other, NULL));
  /* The bound on synchronous completions is an internal tuning figure; a few dozen turns is
   * what "not starved" means here. */
  CHECK(f.turns_meanwhile >= 16);
  CHECK_EQ(0, f.queued_max); /* nothing waited, so nothing was ever counted as queued */
  /* Closed first, so that the reads below end at end of file rather than block if a byte is
   * missing; every write has returned, so every byte is already in the pipe. */
  CHECK_OK(tide_stream_close(f.w));
  char got[SMALL_WRITES + 1];
  size_t total = 0;
  long n;
  while ((n = plat_native_read(fds[0], got + total, sizeof got - total)) > 0)
    total += (size_t)n;
  CHECK_EQ(0, n);
  CHECK_EQ(SMALL_WRITES, total);
  for (int i = 0; i < SMALL_WRITES; i++)
    CHECK_EQ((char)('a' + i % 26), got[i]);
  tide_future_release(writer);
  tide_future_release(other);
  plat_native_close(fds[0]);
  CHECK_OK(tide_loop_close(loop));
  CHECK_EQ(0, log.warnings);
}

/* ---- a write larger than the buffer ------------------------------------------------------- */

enum {
  BIG = 1 << 20
}; /* far more than any pipe buffer: 64 KiB on Linux, macOS and tide's
      Windows pipes */

typedef struct big_transfer {
  tide_stream *r;
  tide_stream *w;
  unsigned char *out;
  unsigned char *in;
  size_t received;
  size_t queued_seen; /* the write queue the reader saw while the writer waited */
  int write_rc;
} big_transfer;

static int write_big(tide_loop *loop, void *arg, void **result) {
  (void)loop;
  (void)result;
  big_transfer *b = arg;
  b->write_rc = tide_stream_write(b->w, b->out, BIG);
  return 0;
}

static int read_all(tide_loop *loop, void *arg, void **result) {
  (void)loop;
  (void)result;
  big_transfer *b = arg;
  while (b->received < BIG) {
    size_t queued = tide_stream_write_queue_size(b->w);
    if (queued > b->queued_seen)
      b->queued_seen = queued;
    size_t n;
    CHECK_OK(tide_stream_read(b->r, b->in + b->received, 4096, &n));
    CHECK(n > 0);
    b->received += n;
  }
  return 0;
}

TIDE_TEST(taskio, a_write_that_fills_the_buffer_carries_on_through_the_queue_in_order) {
  log_capture log;
  tide_loop *loop = new_loop_capturing(&log);
  big_transfer b = {0};
  b.write_rc = 1;
  b.out = malloc(BIG);
  b.in = malloc(BIG);
  CHECK(b.out != NULL && b.in != NULL);
  uint32_t x = 12345;
  for (size_t i = 0; i < BIG; i++) {
    x = x * 1103515245u + 12345u;
    b.out[i] = (unsigned char)(x >> 16);
  }
  CHECK_OK(tide_pipe_open(loop, &b.r, &b.w));
  tide_future *writer, *reader;
  /* The writer first: its first attempt fills the pipe and the rest waits in the queue. */
  CHECK_OK(tide_spawn(loop, write_big, &b, NULL, &writer));
  CHECK_OK(tide_spawn(loop, read_all, &b, NULL, &reader));
  net_run_until(loop, writer);
  net_run_until(loop, reader);
  CHECK_EQ(0, b.write_rc);
  CHECK_EQ(BIG, b.received);
  CHECK(memcmp(b.out, b.in, BIG) == 0);
  CHECK_EQ(BIG, b.queued_seen); /* the waiting write counts whole, as a future-form one does */
  CHECK_EQ(0, tide_stream_write_queue_size(b.w));
  tide_future_release(writer);
  tide_future_release(reader);
  CHECK_OK(tide_stream_close(b.r));
  CHECK_OK(tide_stream_close(b.w));
  CHECK_OK(tide_loop_close(loop));
  CHECK_EQ(0, log.warnings);
  free(b.out);
  free(b.in);
}

/* ---- cancelling a write that had to wait -------------------------------------------------- */

typedef struct stalled_writer {
  tide_stream *w;
  const unsigned char *data;
  int rc;
} stalled_writer;

static int write_more_than_the_pipe_holds(tide_loop *loop, void *arg, void **result) {
  (void)loop;
  (void)result;
  stalled_writer *s = arg;
  s->rc = tide_stream_write(s->w, s->data, BIG);
  return s->rc == TIDE_ECANCELED ? s->rc : 0;
}

TIDE_TEST(taskio, cancelling_a_task_whose_write_waits_after_a_partial_attempt_stops_it) {
  log_capture log;
  tide_loop *loop = new_loop_capturing(&log);
  tide_stream *r;
  stalled_writer s = {NULL, NULL, 1};
  unsigned char *data = calloc(1, BIG);
  CHECK(data != NULL);
  s.data = data;
  CHECK_OK(tide_pipe_open(loop, &r, &s.w));
  /* Nobody reads and the pipe holds far less than the write: a readiness backend's attempt moves
   * what fits at once, then the rest waits; a completion backend's write waits in the kernel. */
  tide_future *f;
  CHECK_OK(tide_spawn(loop, write_more_than_the_pipe_holds, &s, NULL, &f));
  for (int i = 0; i < 3; i++)
    CHECK(tide_loop_run_once(loop, 0) >= 0);
  CHECK_EQ(1, s.rc); /* still waiting */
  CHECK_EQ(BIG, tide_stream_write_queue_size(s.w));
  CHECK_OK(tide_future_cancel(f));
  net_run_until(loop, f);
  /* A write that had moved bytes reports them (the backend's rule: no caller loses track of
   * data that left), which the task form turns into success; one that had moved none is
   * cancelled. Either way the task ends and the queue is empty. */
  CHECK(s.rc == 0 || s.rc == TIDE_ECANCELED);
  CHECK_EQ(0, tide_stream_write_queue_size(s.w));
  tide_future_release(f);
  CHECK_OK(tide_stream_close(r));
  CHECK_OK(tide_stream_close(s.w));
  CHECK_OK(tide_loop_close(loop));
  free(data);
}
