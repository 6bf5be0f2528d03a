/* tests/backend/reactor_test.c — the readiness reactor (backends/posix/reactor.c) through the op
 * layer: ops are created with tide__op_new, handed over with tide__op_submit, and driven by a
 * real loop, exactly as the I/O layer above will use them.
 *
 * Pipes and socketpairs stand in for streams. The end under test is attached to the loop's
 * backend (which makes it non-blocking); the other end is usually written or read directly.
 * Every wait is bounded, so an op that never completes fails the test instead of hanging it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/loop_internal.h"
#include "core/op.h"
#include "harness.h"
#include "op_util.h"

#define MS INT64_C(1000000)
#define SECOND_NS INT64_C(1000000000)

/* ---- helpers ---------------------------------------------------------------------------- */

/* Probed with fcntl: /proc/self/fd is Linux's alone. */
static int count_open_fds(void) {
  int n = 0;
  for (int fd = 0; fd < 4096; fd++)
    n += fcntl(fd, F_GETFD) >= 0;
  return n;
}

typedef struct log_capture {
  int warnings;
  char last[512];
} log_capture;

static void capture_log(void *user, tide_log_level level, const char *message) {
  log_capture *c = user;
  if (level >= TIDE_LOG_WARN)
    c->warnings++;
  snprintf(c->last, sizeof c->last, "%s", message);
}

static tide_loop *new_loop(log_capture *cap) {
  memset(cap, 0, sizeof *cap);
  tide_loop_options opts;
  tide_loop_options_init(&opts);
  opts.log = capture_log;
  opts.log_user = cap;
  tide_loop *loop = NULL;
  CHECK_OK(tide_loop_new(&loop, &opts));
  return loop;
}

static void close_loop_quietly(tide_loop *loop, const log_capture *cap) {
  CHECK_OK(tide_loop_close(loop));
  if (cap->warnings != 0)
    TIDE_TEST_FAIL("the loop reported %d warning(s), last: %s", cap->warnings, cap->last);
}

/* A pipe whose both ends are blocking (attach makes the attached end non-blocking). */
static void make_pipe(int fds[2]) {
  CHECK_EQ(0, pipe(fds)); /* not pipe2, which macOS lacks */
  CHECK_EQ(0, fcntl(fds[0], F_SETFD, FD_CLOEXEC));
  CHECK_EQ(0, fcntl(fds[1], F_SETFD, FD_CLOEXEC));
}

static void attach(tide_loop *loop, int fd) {
  CHECK_OK(tide__backend_attach(loop->backend, fd));
}

static void detach(tide_loop *loop, int fd) {
  CHECK_OK(tide__backend_detach(loop->backend, fd));
}

static tide_future *submit_read(tide_loop *loop, int fd, void *buf, size_t len) {
  return submit_op(loop, TIDE__OP_READ, fd, buf, len, NULL);
}

static tide_future *submit_write(tide_loop *loop, int fd, const void *buf, size_t len) {
  return submit_op(loop, TIDE__OP_WRITE, fd, (void *)(uintptr_t)buf, len, NULL);
}

static void write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR)
      continue;
    CHECK(n > 0);
    p += n;
    len -= (size_t)n;
  }
}

/* FNV-1a over 64-bit words (plus a byte tail): cheap enough for megabytes under valgrind. */
static uint64_t checksum(const unsigned char *p, size_t n) {
  uint64_t h = UINT64_C(0xcbf29ce484222325);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    memcpy(&w, p + i, 8);
    h = (h ^ w) * UINT64_C(0x100000001b3);
  }
  for (; i < n; i++)
    h = (h ^ p[i]) * UINT64_C(0x100000001b3);
  return h;
}

/* Fills buf with a pseudo-random pattern, a word at a time. */
static void fill_pattern(unsigned char *buf, size_t n, uint64_t seed) {
  uint64_t x = seed | 1;
  for (size_t i = 0; i < n; i += 8) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    memcpy(buf + i, &x, n - i < 8 ? n - i : 8);
  }
}

/* ---- reads ---------------------------------------------------------------------------------- */

TIDE_TEST(reactor, read_completes_when_data_is_written_later) {
  log_capture cap;
  tide_loop *loop = new_loop(&cap);
  int fds[2];
  make_pipe(fds);
  attach(loop, fds[0]);
  char buf[16] = {0};
  tide_future *f = submit_read(loop, fds[0], buf, sizeof buf);
  CHECK(!tide_future_done(f));
  CHECK_RC(1, tide_loop_run_once(loop, 10 * MS)); /* nothing to read yet; the op keeps it alive */
  CHECK(!tide_future_done(f));
  write_all(fds[1], "hello", 5);
  expect_result(loop, f, 5);
  CHECK(memcmp(buf, "hello", 5) == 0);
  CHECK_RC(0, tide_loop_alive(loop)); /* the completed op no longer counts as pending */
  detach(loop, fds[0]);
  close(fds[0]);
  close(fds[1]);
  close_loop_quietly(loop, &cap);
}

typedef struct done_count {
  int calls;
  intptr_t result;
} done_count;

static void count_done(tide_future *f, void *arg) {
  done_count *d = arg;
  d->calls++;
  d->result = op_result(f);
}

TIDE_TEST(reactor, read_completes_at_once_when_data_is_already_there) {
  log_capture cap;
  tide_loop *loop = new_loop(&cap);
  int fds[2];
  make_pipe(fds);
  write_all(fds[1], "ready", 5);
  attach(loop, fds[0]);
  char buf[16] = {0};
  tide_future *f = submit_read(loop, fds[0], buf, sizeof buf);
  /* A freshly attached descriptor is presumed ready: the read is done inside submit, without a
   * poll round trip. The done-callback still waits for a tick (futures never re-enter). */
  CHECK(tide_future_done(f));
  done_count d = {0, 0};
  CHECK_OK(tide_future_on_done(f, count_done, &d));
  CHECK_EQ(0, d.calls);
  CHECK(tide_loop_run_once(loop, 0) >= 0);
  CHECK_EQ(1, d.calls);
  CHECK_EQ(5, d.result);
  CHECK(memcmp(buf, "ready", 5) == 0);
  /* That read came back short (5 of 16 bytes), which on a pipe means the kernel buffer is
   * empty: the reactor stops presuming readiness instead of paying for a read that would say
   * EAGAIN. Bytes written now raise a fresh edge, so the next read completes one poll later. */
  write_all(fds[1], "again", 5);
  tide_future *g = submit_read(loop, fds[0], buf, sizeof buf);
  CHECK(!tide_future_done(g));
  expect_result(loop, g, 5);
  tide_future *h = submit_read(loop, fds[0], buf, sizeof buf);
  CHECK(!tide_future_done(h));
  CHECK_OK(tide_future_cancel(h));
  expect_result(loop, h, TIDE_ECANCELED);
  tide_future_release(f);
  detach(loop, fds[0]);
  close(fds[0]);
  close(fds[1]);
  close_loop_quietly(loop, &cap);
}

TIDE_TEST(reactor, eof_gives_zero) {
  log_capture cap;
  tide_loop *loop = new_loop(&cap);
  int fds[2];
  make_pipe(fds);
  attach(loop, fds[0]);
  char buf[8];
  /* Pending when the writer goes away. */
  tide_future *f = submit_read(loop, fds[0], buf, sizeof buf);
  CHECK(tide_loop_run_once(loop, 0) >= 0);
  CHECK(!tide_future_done(f));
  close(fds[1]);
  expect_result(loop, f, 0);
  /* And again after EOF was seen: end of file stays end of file. */
  expect_result(loop, submit_read(loop, fds[0], buf, sizeof buf), 0);
  detach(loop, fds[0]);
  close(fds[0]);
  close_loop_quietly(loop, &cap);
}

TIDE_TEST(reactor, data_then_eof_gives_data_then_zero) {
  log_capture cap;
  tide_loop *loop = new_loop(&cap);
  int fds[2];
  make_pipe(fds);
  attach(loop, fds[0]);
  write_all(fds[1], "tail", 4);
  close(fds[1]);
  char buf[8];
  expect_result(loop, submit_read(loop, fds[0], buf, sizeof buf), 4);
  expect_result(loop, submit_read(loop, fds[0], buf, sizeof buf), 0);
  detach(loop, fds[0]);
  close(fds[0]);
  close_loop_quietly(loop, &cap);
}

TIDE_TEST(reactor, queued_reads_complete_in_submission_order) {
  log_capture cap;
  tide_loop *loop = new_loop(&cap);
  int fds[2];
  make_pipe(fds);
  attach(loop, fds[0]);
  char bufs[3][2];
  tide_future *f[3];
  for (int i = 0; i < 3; i++)
    f[i] = submit_read(loop, fds[0], bufs[i], 2);
  write_all(fds[1], "aabbcc", 6);
  for (int i = 0; i < 3; i++) {
    expect_result(loop, f[i], 2);
    CHECK_EQ('a' + i, bufs[i][0]);
    CHECK_EQ('a' + i, bufs[i][1]);
  }
  detach(loop, fds[0]);
  close(fds[0]);
  close(fds[1]);
  close_loop_quietly(loop, &cap);
}

TIDE_TEST(reactor, readiness_seen_with_no_op_queued_is_remembered) {
  /* Edge-triggered polling reports the arrival of data once. If that edge is consumed by a poll
   * while no read is queued, the reactor must remember it: the kernel will not say it again. */
  log_capture cap;
  tide_loop *loop = new_loop(&cap);
  int fds[2];
  make_pipe(fds);
  attach(loop, fds[0]);
  char buf[8] = {0};
  tide_future *f = submit_read(loop, fds[0], buf, sizeof buf); /* hits EAGAIN: "not ready" */
  CHECK(!tide_future_done(f));
  CHECK_OK(tide_future_cancel(f));
  expect_result(loop, f, TIDE_ECANCELED);
  write_all(fds[1], "xyz", 3);
  /* Hold the loop so that its poll actually runs and fetches the edge, with no op queued. */
  CHECK_OK(tide_loop_ref(loop));
  CHECK(tide_loop_run_once(loop, 20 * MS) >= 0);
  CHECK(tide_loop_run_once(loop, 20 * MS) >= 0);
  CHECK_OK(tide_loop_unref(loop));
  expect_result(loop, submit_read(loop, fds[0], buf, sizeof buf), 3);
  CHECK(memcmp(buf, "xyz", 3) == 0);
  detach(loop, fds[0]);
  close(fds[0]);
  close(fds[1]);
  close_loop_quietly(loop, &cap);
}

TIDE_TEST(reactor, short_reads_leave_the_rest_for_the_next_op) {
  log_capture cap;
  tide_loop *loop = new_loop(&cap);
  int fds[2];
  make_pipe(fds);
  attach(loop, fds[0]);
  char buf[4];
  tide_future *f = submit_read(loop, fds[0], buf, sizeof buf);
  write_all(fds[1], "0123456789", 10);
  expect_result(loop, f, 4);
  CHECK(memcmp(buf, "0123", 4) == 0);
  expect_result(loop, submit_read(loop, fds[0], buf, sizeof buf), 4);
  CHECK(memcmp(buf, "4567", 4) == 0);
  expect_result(loop, submit_read(loop, fds[0], buf, sizeof buf), 2);
  CHECK(memcmp(buf, "89", 2) == 0);
  tide_future *g = submit_read(loop, fds[0], buf, sizeof buf);
  CHECK(tide_loop_run_once(loop, 10 * MS) >= 0);
  CHECK(!tide_future_done(g));
  write_all(fds[1], "!", 1);
  expect_result(loop, g, 1);
  CHECK_EQ('!', buf[0]);
  detach(loop, fds[0]);
  close(fds[0]);
  close(fds[1]);
  close_loop_quietly(loop, &cap);
}

/* ---- writes ------------------------------------------------------------------------------- */

typedef struct pump {
  tide_loop *loop;
  int fd;
  unsigned char *received;
  size_t capacity;
  size_t total;
  size_t chunk;
  int reads;
  int eof;
  int error;
} pump;

static void pump_read_done(tide_future *f, void *arg);

static void pump_next(pump *p) {
  /* The buffer has one spare byte beyond what is expected: a read that lands in it means the
   * reader got more than was written. */
  size_t room = p->capacity - p->total;
  CHECK(room > 0);
  size_t len = room < p->chunk ? room : p->chunk;
  tide_future *f = submit_read(p->loop, p->fd, p->received + p->total, len);
  CHECK_OK(tide_future_on_done(f, pump_read_done, p));
  tide_future_release(f);
}

static void pump_read_done(tide_future *f, void *arg) {
  pump *p = arg;
  intptr_t n = op_result(f);
  p->reads++;
  if (n < 0) {
    p->error = (int)n;
    return;
  }
  if (n == 0) {
    p->eof = 1;
    return;
  }
  p->total += (size_t)n;
  if (p->total == p->capacity)
    TIDE_TEST_FAIL("the reader received more bytes than were written");
  pump_next(p);
}

TIDE_TEST(reactor, large_writes_complete_across_partial_writes_with_bytes_intact) {
  /* Two writes queued back to back, 2 MiB each, into a 64 KiB pipe: each is written in
   * many partial steps as the reader (odd-sized reads, one per tick) drains the other end. The
   * second must not start before the first is finished, or the bytes would interleave. */
  enum { A = 2 * 1024 * 1024 + 17, B = 2 * 1024 * 1024 + 5 };
  log_capture cap;
  tide_loop *loop = new_loop(&cap);
  int fds[2];
  make_pipe(fds);
  attach(loop, fds[0]);
  attach(loop, fds[1]);
  unsigned char *data = malloc(A + B);
  unsigned char *received = malloc(A + B + 1);
  CHECK(data != NULL && received != NULL);
  fill_pattern(data, A + B, 0x9e3779b97f4a7c15u);
  pump p = {.loop = loop, .fd = fds[0], .received = received, .capacity = A + B + 1, .chunk = 7001};
  pump_next(&p);
  tide_future *w1 = submit_write(loop, fds[1], data, A);
  tide_future *w2 = submit_write(loop, fds[1], data + A, B);
  CHECK(!tide_future_done(w1)); /* 2 MiB cannot fit in a pipe at once */
  expect_result(loop, w1, A);
  expect_result(loop, w2, B);
  /* Writer done: detach before closing, then the reader sees end of file. */
  detach(loop, fds[1]);
  close(fds[1]);
  int64_t give_up = tide__clock_now_ns() + 10 * SECOND_NS;
  while (!p.eof && p.error == 0 && tide__clock_now_ns() < give_up)
    CHECK(tide_loop_run_once(loop, 50 * MS) >= 0);
  CHECK_RC(0, p.error);
  CHECK_EQ(1, p.eof);
  CHECK_EQ(A + B, p.total);
  uint64_t want = checksum(data, A + B), got = checksum(received, A + B);
  if (want != got) {
    size_t i = 0;
    while (i < A + B && data[i] == received[i])
      i++;
    TIDE_TEST_FAIL("checksum %016llx, expected %016llx: first difference at byte %zu",
                   (unsigned long long)got, (unsigned long long)want, i);
  }
  CHECK(p.reads >= (A + B) / 7001); /* one read per op, each at most 7001 bytes */
  free(data);
  free(received);
  detach(loop, fds[0]);
  close(fds[0]);
  close_loop_quietly(loop, &cap);
}

TIDE_TEST(reactor, write_completes_at_once_when_there_is_room) {
  log_capture cap;
  tide_loop *loop = new_loop(&cap);
  int fds[2];
  make_pipe(fds);
  attach(loop, fds[1]);
  tide_future *f = submit_write(loop, fds[1], "abc", 3);
  CHECK(tide_future_done(f));
  expect_result(loop, f, 3);
  expect_result(loop, submit_write(loop, fds[1], "", 0), 0);
  char buf[8];
  CHECK_EQ(3, read(fds[0], buf, sizeof buf));
  CHECK(memcmp(buf, "abc", 3) == 0);
  detach(loop, fds[1]);
  close(fds[0]);
  close(fds[1]);
  close_loop_quietly(loop, &cap);
}

TIDE_TEST(reactor, write_to_socket_with_closed_peer_gives_epipe_without_sigpipe) {
  /* SIGPIPE keeps its default disposition (which kills the process): the reactor must avoid
   * raising it for sockets, not rely on the program ignoring it. */
  struct sigaction sa;
  CHECK_EQ(0, sigaction(SIGPIPE, NULL, &sa));
  CHECK(sa.sa_handler == SIG_DFL);
  log_capture cap;
  tide_loop *loop = new_loop(&cap);
  int sv[2];
  CHECK_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
  attach(loop, sv[0]);
  close(sv[1]);
  expect_result(loop, submit_write(loop, sv[0], "x", 1), TIDE_EPIPE);
  CHECK_EQ(0, sigaction(SIGPIPE, NULL, &sa));
  CHECK(sa.sa_handler == SIG_DFL); /* and tide did not change it either */
  detach(loop, sv[0]);
  close(sv[0]);
  close_loop_quietly(loop, &cap);
}

TIDE_TEST(reactor, pending_write_fails_with_epipe_when_the_peer_closes) {
  log_capture cap;
  tide_loop *loop = new_loop(&cap);
  int sv[2];
  CHECK_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
  attach(loop, sv[0]);
  enum { BIG = 8 * 1024 * 1024 };
  unsigned char *data = calloc(1, BIG);
  CHECK(data != NULL);
  tide_future *f = submit_write(loop, sv[0], data, BIG); /* fills the socket buffer */
  CHECK(tide_loop_run_once(loop, 0) >= 0);
  CHECK(!tide_future_done(f));
  close(sv[1]);
  expect_result(loop, f, TIDE_EPIPE);
  free(data);
  detach(loop, sv[0]);
  close(sv[0]);
  close_loop_quietly(loop, &cap);
}

/* ---- cancellation and detach ---------------------------------------------------------------- */

TIDE_TEST(reactor, cancel_pending_read_gives_ecanceled_and_loses_no_data) {
  log_capture cap;
  tide_loop *loop = new_loop(&cap);
  int fds[2];
  make_pipe(fds);
  attach(loop, fds[0]);
  char buf[16] = {0};
  tide_future *f = submit_read(loop, fds[0], buf, sizeof buf);
  CHECK(tide_loop_run_once(loop, 0) >= 0);
  CHECK(!tide_future_done(f));
  /* The data arrives in the kernel, but the cancel comes before the loop handles the event. */
  write_all(fds[1], "keep me", 7);
  CHECK_OK(tide_future_cancel(f));
  expect_result(loop, f, TIDE_ECANCELED);
  CHECK_EQ(0, buf[0]); /* the cancelled read wrote nothing into its buffer */
  CHECK_RC(0, tide_loop_alive(loop));
  /* The bytes are all there for the next read. */
  char next[16] = {0};
  expect_result(loop, submit_read(loop, fds[0], next, sizeof next), 7);
  CHECK(memcmp(next, "keep me", 7) == 0);
  detach(loop, fds[0]);
  close(fds[0]);
  close(fds[1]);
  close_loop_quietly(loop, &cap);
}

TIDE_TEST(reactor, cancel_after_the_read_completed_keeps_its_data) {
  log_capture cap;
  tide_loop *loop = new_loop(&cap);
  int fds[2];
  make_pipe(fds);
  attach(loop, fds[0]);
  write_all(fds[1], "won", 3);
  char buf[8] = {0};
  tide_future *f = submit_read(loop, fds[0], buf, sizeof buf);
  CHECK(tide_future_done(f));
  CHECK_RC(TIDE_EALREADY, tide_future_cancel(f)); /* raced and lost: the result stands */
  expect_result(loop, f, 3);
  CHECK(memcmp(buf, "won", 3) == 0);
  detach(loop, fds[0]);
  close(fds[0]);
  close(fds[1]);
  close_loop_quietly(loop, &cap);
}

TIDE_TEST(reactor, cancel_in_the_middle_of_the_queue_keeps_the_others_in_order) {
  log_capture cap;
  tide_loop *loop = new_loop(&cap);
  int fds[2];
  make_pipe(fds);
  attach(loop, fds[0]);
  char b1[2], b2[2], b3[2], b4[2];
  tide_future *f1 = submit_read(loop, fds[0], b1, 2);
  tide_future *f2 = submit_read(loop, fds[0], b2, 2);
  tide_future *f3 = submit_read(loop, fds[0], b3, 2);
  CHECK_OK(tide_future_cancel(f2)); /* the middle one */
  CHECK_OK(tide_future_cancel(f3)); /* then the tail, twice over: the queue's tail moves back */
  tide_future *f4 = submit_read(loop, fds[0], b4, 2); /* linked after the new tail, f1 */
  write_all(fds[1], "1144", 4);
  expect_result(loop, f2, TIDE_ECANCELED);
  expect_result(loop, f3, TIDE_ECANCELED);
  expect_result(loop, f1, 2);
  expect_result(loop, f4, 2);
  CHECK(memcmp(b1, "11", 2) == 0);
  CHECK(memcmp(b4, "44", 2) == 0);
  detach(loop, fds[0]);
  close(fds[0]);
  close(fds[1]);
  close_loop_quietly(loop, &cap);
}

TIDE_TEST(reactor, cancel_of_a_partly_done_write_reports_the_bytes_sent) {
  log_capture cap;
  tide_loop *loop = new_loop(&cap);
  int fds[2];
  make_pipe(fds);
  attach(loop, fds[1]);
  enum { BIG = 1024 * 1024 };
  unsigned char *data = calloc(1, BIG);
  CHECK(data != NULL);
  tide_future *f = submit_write(loop, fds[1], data, BIG);
  CHECK(!tide_future_done(f)); /* the pipe took some, not all */
  CHECK_OK(tide_future_cancel(f));
  wait_done(loop, f);
  intptr_t sent = op_result(f);
  tide_future_release(f);
  if (sent <= 0 || sent >= BIG)
    TIDE_TEST_FAIL("a cancelled partial write reported %lld, expected the bytes sent (0 < n < %d)",
                   (long long)sent, BIG);
  /* Exactly that many bytes are in the pipe. */
  detach(loop, fds[1]);
  close(fds[1]);
  size_t in_pipe = 0;
  char sink[65536];
  ssize_t n;
  while ((n = read(fds[0], sink, sizeof sink)) > 0)
    in_pipe += (size_t)n;
  CHECK_EQ(sent, in_pipe);
  free(data);
  close(fds[0]);
  close_loop_quietly(loop, &cap);
}

TIDE_TEST(reactor, detach_cancels_pending_ops) {
  log_capture cap;
  tide_loop *loop = new_loop(&cap);
  int fds[2];
  make_pipe(fds);
  attach(loop, fds[0]);
  char buf[8];
  tide_future *r1 = submit_read(loop, fds[0], buf, sizeof buf);
  tide_future *r2 = submit_read(loop, fds[0], buf, sizeof buf);
  CHECK(tide_loop_run_once(loop, 0) >= 0);
  CHECK(!tide_future_done(r1));
  detach(loop, fds[0]);
  expect_result(loop, r1, TIDE_ECANCELED);
  expect_result(loop, r2, TIDE_ECANCELED);
  CHECK_RC(0, tide_loop_alive(loop));
  /* Detached: submitting fails, detaching again fails, attaching again works. */
  expect_result(loop, submit_read(loop, fds[0], buf, sizeof buf), TIDE_EBADF);
  CHECK_RC(TIDE_EBADF, tide__backend_detach(loop->backend, fds[0]));
  attach(loop, fds[0]);
  write_all(fds[1], "re", 2);
  expect_result(loop, submit_read(loop, fds[0], buf, sizeof buf), 2);
  detach(loop, fds[0]);
  close(fds[0]);
  close(fds[1]);
  close_loop_quietly(loop, &cap);
}

TIDE_TEST(reactor, detach_of_a_partly_done_write_reports_the_bytes_sent) {
  log_capture cap;
  tide_loop *loop = new_loop(&cap);
  int fds[2];
  make_pipe(fds);
  attach(loop, fds[1]);
  enum { BIG = 1024 * 1024 };
  unsigned char *data = calloc(1, BIG);
  CHECK(data != NULL);
  tide_future *w1 = submit_write(loop, fds[1], data, BIG); /* partly written */
  tide_future *w2 = submit_write(loop, fds[1], data, 10);  /* queued behind, nothing sent */
  CHECK(!tide_future_done(w1));
  detach(loop, fds[1]);
  wait_done(loop, w1);
  intptr_t sent = op_result(w1);
  tide_future_release(w1);
  CHECK(sent > 0 && sent < BIG);
  expect_result(loop, w2, TIDE_ECANCELED);
  free(data);
  close(fds[0]);
  close(fds[1]);
  close_loop_quietly(loop, &cap);
}

TIDE_TEST(reactor, submit_on_a_non_attached_fd_fails_with_ebadf) {
  log_capture cap;
  tide_loop *loop = new_loop(&cap);
  int fds[2];
  make_pipe(fds);
  char buf[4];
  expect_result(loop, submit_read(loop, fds[0], buf, sizeof buf), TIDE_EBADF);
  expect_result(loop, submit_write(loop, fds[1], "x", 1), TIDE_EBADF);
  expect_result(loop, submit_read(loop, -1, buf, sizeof buf), TIDE_EBADF);
  expect_result(loop, submit_read(loop, 1 << 20, buf, sizeof buf), TIDE_EBADF);
  CHECK_RC(0, tide_loop_alive(loop)); /* the failed ops are not left counted as pending */
  /* Nothing was read from the descriptor behind tide's back. */
  write_all(fds[1], "z", 1);
  CHECK_EQ(1, read(fds[0], buf, sizeof buf));
  close(fds[0]);
  close(fds[1]);
  close_loop_quietly(loop, &cap);
}

TIDE_TEST(reactor, attach_errors) {
  log_capture cap;
  tide_loop *loop = new_loop(&cap);
  int fds[2];
  make_pipe(fds);
  attach(loop, fds[0]);
  CHECK_RC(TIDE_EALREADY, tide__backend_attach(loop->backend, fds[0]));
  CHECK_RC(TIDE_EINVAL, tide__backend_attach(loop->backend, -1));
  CHECK_RC(TIDE_EBADF, tide__backend_detach(loop->backend, fds[1]));
  close(fds[1]);
  int closed = fds[1];
  CHECK_RC(TIDE_EBADF, tide__backend_attach(loop->backend, closed));
  char path[] = "/tmp/tide_reactor_test_XXXXXX";
  int file = mkstemp(path);
  CHECK(file >= 0);
  unlink(path);
  CHECK_RC(TIDE_ENOTSUP, tide__backend_attach(loop->backend, file));
  char buf[4];
  expect_result(loop, submit_read(loop, file, buf, sizeof buf), TIDE_EBADF);
  close(file);
  detach(loop, fds[0]);
  close(fds[0]);
  close_loop_quietly(loop, &cap);
}

/* ---- close ---------------------------------------------------------------------------------- */

TIDE_TEST(reactor, loop_close_completes_a_pending_read_with_ecanceled) {
  log_capture cap;
  tide_loop *loop = new_loop(&cap);
  int rp[2], wp[2]; /* a pipe to read from (kept empty), another to write into (kept full) */
  make_pipe(rp);
  make_pipe(wp);
  attach(loop, rp[0]);
  attach(loop, wp[1]);
  char buf[8];
  done_count d = {0, 0};
  tide_future *f = submit_read(loop, rp[0], buf, sizeof buf);
  CHECK_OK(tide_future_on_done(f, count_done, &d));
  tide_future_release(f); /* the op's own reference keeps it until it settles */
  /* A partly done write too: it settles with its byte count. */
  enum { BIG = 1024 * 1024 };
  unsigned char *data = calloc(1, BIG);
  CHECK(data != NULL);
  done_count dw = {0, 0};
  tide_future *w = submit_write(loop, wp[1], data, BIG);
  CHECK_OK(tide_future_on_done(w, count_done, &dw));
  tide_future_release(w);
  CHECK(tide_loop_run_once(loop, 0) >= 0);
  CHECK_EQ(0, d.calls);
  CHECK_EQ(0, dw.calls);
  close_loop_quietly(loop, &cap); /* the done-callbacks run during close */
  CHECK_EQ(1, d.calls);
  CHECK_RC(TIDE_ECANCELED, (int)d.result);
  CHECK_EQ(1, dw.calls);
  if (dw.result <= 0 || dw.result >= BIG)
    TIDE_TEST_FAIL("the partly done write settled with %lld at close, expected 0 < n < %d",
                   (long long)dw.result, BIG);
  free(data);
  close(rp[0]);
  close(rp[1]);
  close(wp[0]);
  close(wp[1]);
}

TIDE_TEST(reactor, no_descriptor_is_leaked) {
  int before = count_open_fds();
  for (int round = 0; round < 3; round++) {
    log_capture cap;
    tide_loop *loop = new_loop(&cap);
    int fds[2], sv[2];
    make_pipe(fds);
    CHECK_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    attach(loop, fds[0]);
    attach(loop, fds[1]);
    attach(loop, sv[0]);
    attach(loop, sv[1]);
    char buf[8];
    expect_result(loop, submit_write(loop, fds[1], "ab", 2), 2);
    expect_result(loop, submit_read(loop, fds[0], buf, sizeof buf), 2);
    expect_result(loop, submit_write(loop, sv[0], "cd", 2), 2);
    expect_result(loop, submit_read(loop, sv[1], buf, sizeof buf), 2);
    tide_future *pending = submit_read(loop, sv[0], buf, sizeof buf);
    tide_future_release(pending);
    if (round == 0) {
      /* Detach everything before closing the loop... */
      detach(loop, fds[0]);
      detach(loop, fds[1]);
      detach(loop, sv[0]);
      detach(loop, sv[1]);
    } /* ...or leave them attached and let the loop's close cancel what is pending. */
    close_loop_quietly(loop, &cap);
    close(fds[0]);
    close(fds[1]);
    close(sv[0]);
    close(sv[1]);
  }
  CHECK_EQ(before, count_open_fds());
}
