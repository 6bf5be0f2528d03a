/* tests/backend/uring_test.c — the io_uring backend's own risks (backends/uring/), driven through
 * the op layer and, where a race must be set up exactly, through the ring itself:
 *  - a cancel that races a receive the kernel has already completed delivers the bytes;
 *  - a descriptor detached (and closed) with ops in flight, whose number is reused at once, gets
 *    no stale completion, whether or not its SQEs had reached the kernel;
 *  - an SQE neutralised before submission never touches its descriptor;
 *  - more SQEs in one tick than the submission queue holds;
 *  - a wake from another thread ends a blocked poll (run under TSan too);
 *  - a poll from a thread other than the ring's creator gives TIDE_EINVAL (SINGLE_ISSUER);
 *  - a native op the kernel answers with -EAGAIN waits for readiness instead of failing;
 *  - CONNECT runs connect() and waits with a POLL_ADD, never as IORING_OP_CONNECT;
 *  - a completion run from the backlog that detaches a later backlogged op's descriptor, and the
 *    backlog under many cancels and detaches (the early flush refused by a seccomp filter);
 *  - io_uring refused by a seccomp filter makes tide_loop_new fail with TIDE_ENOTSUP.
 * The conformance suite (tests/conformance/) covers everything the backends share. */
#define _GNU_SOURCE
#include <errno.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backends/uring/uring.h"
#include "core/loop_internal.h"
#include "core/op.h"
#include "harness.h"
#include "op_util.h"
#include "seccomp_util.h"

#define MS INT64_C(1000000)
#define SECOND_NS INT64_C(1000000000)

/* ---- helpers ------------------------------------------------------------------------------- */

static tide_loop *open_loop(unsigned poll_events) {
  tide_loop_options opts;
  tide_loop_options_init(&opts);
  opts.poll_events = poll_events;
  tide_loop *loop = NULL;
  int err = tide_loop_new(&loop, &opts);
  if (err == TIDE_ENOTSUP)
    TIDE_SKIP("io_uring is not available here (tide_loop_new gave TIDE_ENOTSUP)");
  CHECK_OK(err);
  return loop;
}

static void socket_pair(int sv[2]) {
  CHECK_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
}

/* Waits for f and returns its outcome (a byte count or a TIDE_E* code), releasing it. */
static intptr_t result_of(tide_loop *loop, tide_future *f) {
  wait_done(loop, f);
  intptr_t result = op_result(f);
  tide_future_release(f);
  return result;
}

static void send_all(int fd, const char *s) {
  size_t len = strlen(s);
  CHECK_EQ((ssize_t)len, send(fd, s, len, MSG_NOSIGNAL));
}

/* ---- cancellation races -------------------------------------------------------------------- */

TIDE_TEST(uring, cancel_racing_a_completed_recv_delivers_the_data) {
  tide_loop *loop = open_loop(0);
  int sv[2];
  socket_pair(sv);
  CHECK_OK(tide__backend_attach(loop->backend, sv[0]));
  char buf[16] = {0};
  tide__op *op = NULL;
  tide_future *f = submit_op(loop, TIDE__OP_READ, sv[0], buf, sizeof buf, &op);
  CHECK(tide_loop_run_once(loop, 0) >= 0); /* the RECV is now waiting in the kernel */
  CHECK(!tide_future_done(f));
  send_all(sv[1], "precious");
  /* Let the kernel finish the RECV and post its CQE, without reaping it: the op is done in the
   * kernel's eyes while tide still sees it in flight. The cancel asked now can only lose. */
  int64_t give_up = tide__clock_now_ns() + 5 * SECOND_NS;
  while (tide__ring_peek(&loop->backend->ring) == NULL) {
    if (tide__clock_now_ns() > give_up)
      TIDE_TEST_FAIL("the RECV's CQE did not appear within 5 s");
    CHECK_OK(tide__ring_submit_and_wait(&loop->backend->ring, 10 * MS));
  }
  tide__backend_cancel(loop->backend, op);
  expect_result(loop, f, 8);
  CHECK(memcmp(buf, "precious", 8) == 0);
  CHECK_OK(tide__backend_detach(loop->backend, sv[0]));
  close(sv[0]);
  close(sv[1]);
  CHECK_OK(tide_loop_close(loop));
}

TIDE_TEST(uring, cancel_of_a_recv_submitted_with_data_waiting_loses_nothing) {
  tide_loop *loop = open_loop(0);
  int sv[2];
  socket_pair(sv);
  CHECK_OK(tide__backend_attach(loop->backend, sv[0]));
  send_all(sv[1], "abc");
  char buf[16] = {0};
  tide__op *op = NULL;
  tide_future *f = submit_op(loop, TIDE__OP_READ, sv[0], buf, sizeof buf, &op);
  /* The RECV and its cancel reach the kernel in the same io_uring_enter, the RECV first: it
   * finds the bytes at once, and the cancel finds nothing left to stop. Either way no byte may
   * vanish: if the read was cancelled, the next read must see them. */
  tide__backend_cancel(loop->backend, op);
  intptr_t got = result_of(loop, f);
  if (got != 3) {
    CHECK_EQ(TIDE_ECANCELED, got);
    expect_result(loop, submit_op(loop, TIDE__OP_READ, sv[0], buf, sizeof buf, NULL), 3);
  }
  CHECK(memcmp(buf, "abc", 3) == 0);
  CHECK_OK(tide__backend_detach(loop->backend, sv[0]));
  close(sv[0]);
  close(sv[1]);
  CHECK_OK(tide_loop_close(loop));
}

/* ---- detach with ops in flight, then the number reused ------------------------------------- */

/* Detaches and closes a socket with a read in flight (polled first or not, per `polled_first`),
 * takes the same descriptor number for a new socket at once, and checks that the new socket's
 * read gets the new peer's bytes while the old read ends cancelled. */
static void detach_then_reuse(int polled_first) {
  tide_loop *loop = open_loop(0);
  int old_pair[2];
  socket_pair(old_pair);
  int old_fd = old_pair[0];
  CHECK_OK(tide__backend_attach(loop->backend, old_fd));
  char old_buf[16] = {0};
  tide_future *old_read = submit_op(loop, TIDE__OP_READ, old_fd, old_buf, sizeof old_buf, NULL);
  if (polled_first)
    CHECK(tide_loop_run_once(loop, 0) >= 0);
  CHECK(!tide_future_done(old_read));
  CHECK_OK(tide__backend_detach(loop->backend, old_fd));
  CHECK_EQ(0, close(old_fd));

  int new_pair[2];
  socket_pair(new_pair);
  int new_fd = new_pair[0];
  if (new_fd != old_fd) { /* make the reuse certain */
    CHECK_EQ(old_fd, dup2(new_fd, old_fd));
    close(new_fd);
    new_fd = old_fd;
  }
  CHECK_OK(tide__backend_attach(loop->backend, new_fd));
  char new_buf[16] = {0};
  tide_future *new_read = submit_op(loop, TIDE__OP_READ, new_fd, new_buf, sizeof new_buf, NULL);
  send_all(new_pair[1], "fresh");
  /* The old op's buffer stays untouched and it ends cancelled; the new one gets the bytes. */
  expect_result(loop, old_read, TIDE_ECANCELED);
  expect_result(loop, new_read, 5);
  CHECK(memcmp(new_buf, "fresh", 5) == 0);
  CHECK_EQ(0, old_buf[0]);
  CHECK_OK(tide__backend_detach(loop->backend, new_fd));
  close(new_fd);
  close(new_pair[1]);
  close(old_pair[1]);
  CHECK_OK(tide_loop_close(loop));
}

TIDE_TEST(uring, detach_with_a_recv_in_the_kernel_then_reuse_of_the_number_gets_no_stale_cqe) {
  detach_then_reuse(1);
}

TIDE_TEST(uring, detach_before_the_sqe_was_submitted_then_reuse_of_the_number_is_safe) {
  detach_then_reuse(0);
}

TIDE_TEST(uring, a_neutralised_sqe_completes_as_a_nop_without_touching_its_descriptor) {
  tide_loop *loop = open_loop(0);
  tide__ring *ring = &loop->backend->ring;
  int sv[2];
  socket_pair(sv);
  send_all(sv[1], "kept");
  char buf[8] = {0};
  const uint64_t tag = 0x1000; /* neither an op of this loop nor a reserved tag */
  struct io_uring_sqe *sqe = tide__ring_get_sqe(ring, tag);
  CHECK(sqe != NULL);
  sqe->opcode = IORING_OP_RECV;
  sqe->fd = sv[0];
  sqe->addr = (uint64_t)(uintptr_t)buf;
  sqe->len = sizeof buf;
  CHECK_EQ(1, tide__ring_neutralise(ring, tag));
  CHECK_OK(tide__ring_submit_and_wait(ring, SECOND_NS));
  struct io_uring_cqe *cqe = tide__ring_peek(ring);
  CHECK(cqe != NULL);
  CHECK_EQ(tag, cqe->user_data);
  CHECK_EQ(0, cqe->res);
  tide__ring_cqe_seen(ring);
  CHECK_EQ(0, buf[0]); /* the RECV never ran: the bytes are still in the socket */
  CHECK_EQ(4, recv(sv[0], buf, sizeof buf, MSG_DONTWAIT));
  CHECK(memcmp(buf, "kept", 4) == 0);
  close(sv[0]);
  close(sv[1]);
  CHECK_OK(tide_loop_close(loop));
}

/* ---- partial transfers ------------------------------------------------------------------- */

TIDE_TEST(uring, writev_resumes_inside_a_buffer_and_past_iov_max_with_every_byte_in_order) {
  /* More buffers than one SENDMSG takes (IOV_MAX, 1024), some empty, about 2 MiB in all: far
   * more than the socket buffer, so the kernel sends it in parts that end inside buffers. */
  enum { PARTS = 1500 };
  static tide__iov parts[PARTS];
  size_t total = 0;
  uint32_t x = 12345;
  for (int i = 0; i < PARTS; i++) {
    x = x * 1103515245u + 12345u;
    size_t len = i % 97 == 0 ? 0 : 1 + (x >> 8) % 2800;
    parts[i].base = malloc(len ? len : 1);
    CHECK(parts[i].base != NULL);
    for (size_t k = 0; k < len; k++)
      ((unsigned char *)parts[i].base)[k] = (unsigned char)(total + k);
    parts[i].len = len;
    total += len;
  }
  tide_loop *loop = open_loop(0);
  int sv[2];
  socket_pair(sv);
  CHECK_OK(tide__backend_attach(loop->backend, sv[0]));
  tide_future *f = submit_op(loop, TIDE__OP_WRITEV, sv[0], parts, PARTS, NULL);
  unsigned char *got = malloc(total);
  CHECK(got != NULL);
  size_t have = 0;
  int64_t give_up = tide__clock_now_ns() + 20 * SECOND_NS;
  while (have < total) {
    if (tide__clock_now_ns() > give_up)
      TIDE_TEST_FAIL("only %zu of %zu bytes arrived within 20 s", have, total);
    CHECK(tide_loop_run_once(loop, MS) >= 0);
    ssize_t n = recv(sv[1], got + have, total - have, MSG_DONTWAIT);
    if (n > 0)
      have += (size_t)n;
    else if (tide_future_done(f))
      break; /* finished (or failed) with bytes missing: the check below says how */
  }
  expect_result(loop, f, (intptr_t)total);
  CHECK_EQ(total, have);
  for (size_t k = 0; k < total; k++)
    if (got[k] != (unsigned char)k)
      TIDE_TEST_FAIL("byte %zu: expected %u, got %u", k, (unsigned)(unsigned char)k, got[k]);
  free(got);
  for (int i = 0; i < PARTS; i++)
    free(parts[i].base);
  CHECK_OK(tide__backend_detach(loop->backend, sv[0]));
  close(sv[0]);
  close(sv[1]);
  CHECK_OK(tide_loop_close(loop));
}

/* ---- -EAGAIN from the kernel ----------------------------------------------------------------- */

/* IORING_NOP_INJECT_RESULT (Linux 6.10): a NOP completes with sqe->len as its res. The build
 * needs only 6.1 headers, so the bit is spelled here. */
enum { NOP_INJECT_RESULT = 1u << 0 };

TIDE_TEST(uring, a_recv_answered_with_eagain_waits_for_data_instead_of_failing) {
  tide_loop *loop = open_loop(0);
  CHECK(tide_loop_run_once(loop, 0) >= 0); /* the wake read goes in now */
  int sv[2];
  socket_pair(sv);
  CHECK_OK(tide__backend_attach(loop->backend, sv[0]));
  char buf[8];
  tide__op *op = NULL;
  tide_future *f = submit_op(loop, TIDE__OP_READ, sv[0], buf, sizeof buf, &op);
  /* The RECV's SQE is still ours: it becomes a NOP whose CQE carries -EAGAIN, as io-wq may
   * answer a RECV on a non-blocking socket on some kernels (not this one, on demand). */
  tide__ring *r = &loop->backend->ring;
  CHECK_EQ(1, tide__ring_unsubmitted(r));
  struct io_uring_sqe *sqe = &r->sqes[(r->sq_local_tail - 1) & r->sq_mask];
  CHECK(sqe->user_data == (uint64_t)(uintptr_t)op);
  CHECK_EQ(IORING_OP_RECV, sqe->opcode);
  memset(sqe, 0, sizeof *sqe);
  sqe->opcode = IORING_OP_NOP;
  sqe->user_data = (uint64_t)(uintptr_t)op;
  sqe->rw_flags = NOP_INJECT_RESULT; /* the nop_flags of newer headers */
  sqe->len = (uint32_t)-EAGAIN;
  for (int i = 0; i < 5; i++)
    CHECK(tide_loop_run_once(loop, 10 * MS) >= 0);
  if (tide_future_done(f)) {
    int err = tide_future_result(f, NULL);
    /* Before 6.10 the kernel ignores the flag (res 0: end of file) or refuses it. */
    if (err == 0 || err == TIDE_EINVAL) {
      tide_future_release(f);
      CHECK_OK(tide__backend_detach(loop->backend, sv[0]));
      close(sv[0]);
      close(sv[1]);
      CHECK_OK(tide_loop_close(loop));
      TIDE_SKIP("this kernel cannot inject a NOP's result (IORING_NOP_INJECT_RESULT, 6.10)");
    }
    TIDE_TEST_FAIL("the read settled with no data sent: %s", tide_err_name(err));
  }
  CHECK(op->flags & TIDE__URING_POLLING); /* waiting for POLLIN */
  send_all(sv[1], "hello");
  expect_result(loop, f, 5);
  CHECK(memcmp(buf, "hello", 5) == 0);
  CHECK_OK(tide__backend_detach(loop->backend, sv[0]));
  close(sv[0]);
  close(sv[1]);
  CHECK_OK(tide_loop_close(loop));
}

/* ---- connect ------------------------------------------------------------------------------- */

TIDE_TEST(uring, connect_runs_connect_then_waits_with_poll_add_not_the_native_op) {
  tide_loop *loop = open_loop(0);
  CHECK(tide_loop_run_once(loop, 0) >= 0);
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  CHECK(listener >= 0);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof addr;
  CHECK_EQ(0, bind(listener, (struct sockaddr *)&addr, len));
  CHECK_EQ(0, listen(listener, 8));
  CHECK_EQ(0, getsockname(listener, (struct sockaddr *)&addr, &len));
  int client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  CHECK(client >= 0);
  CHECK_OK(tide__backend_attach(loop->backend, client));
  tide__op *op = NULL;
  tide_future *f = NULL;
  CHECK_OK(tide__op_new(loop, TIDE__OP_CONNECT, client, NULL, 0, &op, &f));
  op->addr = &addr;
  op->addrlen = len;
  tide__op_submit(op);
  /* connect() ran in the submit (IORING_OP_CONNECT can report -EAGAIN, or -EINPROGRESS and
   * -EISCONN after success on 5.11-6.2): either it finished, or a POLL_ADD waits for POLLOUT. */
  if (!tide_future_done(f)) {
    tide__ring *r = &loop->backend->ring;
    CHECK_EQ(1, tide__ring_unsubmitted(r));
    struct io_uring_sqe *sqe = &r->sqes[(r->sq_local_tail - 1) & r->sq_mask];
    CHECK(sqe->user_data == (uint64_t)(uintptr_t)op);
    CHECK_EQ(IORING_OP_POLL_ADD, sqe->opcode);
  }
  expect_result(loop, f, 0);
  int server = accept(listener, NULL, NULL);
  CHECK(server >= 0);
  CHECK_OK(tide__backend_detach(loop->backend, client));
  close(server);
  close(client);
  close(listener);
  CHECK_OK(tide_loop_close(loop));
}

/* ---- a full submission queue --------------------------------------------------------------- */

/* Raises RLIMIT_NOFILE to at least `need`, or skips the test. */
static void need_descriptors(rlim_t need) {
  struct rlimit rl;
  CHECK_EQ(0, getrlimit(RLIMIT_NOFILE, &rl));
  if (rl.rlim_cur >= need)
    return;
  rl.rlim_cur = rl.rlim_max;
  (void)setrlimit(RLIMIT_NOFILE, &rl);
  CHECK_EQ(0, getrlimit(RLIMIT_NOFILE, &rl));
  if (rl.rlim_cur < need)
    TIDE_SKIP("RLIMIT_NOFILE is below %d descriptors", (int)need);
}

/* Makes every io_uring_enter with flags == 0 fail with EBUSY, as under CQ overflow: that is the
 * early flush of a full SQ (ring.c), so SQEs then wait in the backlog; the poll's own enter
 * (GETEVENTS) still goes through. */
static void refuse_early_flushes(void) {
  if (seccomp_refuse(__NR_io_uring_enter, SECCOMP_ARG_ZERO, 3, EBUSY) != 0)
    exit(CHILD_NO_SECCOMP);
}

/* Runs body in a child process (it installs a seccomp filter) and passes on its verdict. */
static void run_in_child(void (*body)(void)) {
  fflush(NULL);
  pid_t child = fork();
  CHECK(child >= 0);
  if (child == 0) {
    body();
    exit(0); /* exit, not _exit: the sanitizers' checks at exit run in the child too */
  }
  int status = 0;
  CHECK_EQ(child, waitpid(child, &status, 0));
  if (WIFSIGNALED(status))
    TIDE_TEST_FAIL("the child died of signal %d", WTERMSIG(status));
  CHECK(WIFEXITED(status));
  if (WEXITSTATUS(status) == CHILD_NO_SECCOMP)
    TIDE_SKIP("seccomp filters are not available here");
  if (WEXITSTATUS(status) == TIDE_SKIP_EXIT_CODE)
    TIDE_SKIP("skipped in the child (see its output)");
  CHECK_EQ(0, WEXITSTATUS(status));
}

/* Counts an op's completions in the int its owner points at. */
static intptr_t count_completion(tide__op *op, intptr_t result) {
  ++*(int *)op->owner;
  return result;
}

static tide__op *new_op(tide_loop *loop, tide__op_kind kind, int fd, void *buf, size_t len,
                        tide_future **f) {
  tide__op *op = NULL;
  CHECK_OK(tide__op_new(loop, kind, fd, buf, len, &op, f));
  return op;
}

static tide_loop *hook_loop;
static int hook_victim;

static intptr_t detach_the_victim(tide__op *op, intptr_t result) {
  (void)op;
  CHECK_OK(tide__backend_detach(hook_loop->backend, hook_victim));
  return result;
}

/* A's completion (run from the backlog's drain) detaches the descriptor of B, which waits behind
 * A in the backlog. B must leave the backlog then: otherwise the drain reaches B after B has
 * completed and its memory has gone back to the op pool, and cancels whatever op lives there
 * next. */
static void detach_from_a_backlog_completion(void) {
  enum { PAIRS = 128 };
  need_descriptors(2 * PAIRS + 64);
  tide_loop *loop = open_loop(1); /* the smallest ring: 256 SQEs */
  hook_loop = loop;
  CHECK(loop->backend->ring.sq_entries <= 2 * PAIRS);
  CHECK(tide_loop_run_once(loop, 0) >= 0); /* the wake read goes in now */
  static int pairs[PAIRS][2];
  static char bufs[2 * PAIRS][8];
  static tide_future *fill[2 * PAIRS];
  for (int i = 0; i < PAIRS; i++) {
    socket_pair(pairs[i]);
    CHECK_OK(tide__backend_attach(loop->backend, pairs[i][0]));
    CHECK_OK(tide__backend_attach(loop->backend, pairs[i][1]));
  }
  int victim[2], c1_pair[2], c2_pair[2], p[2];
  socket_pair(victim);
  socket_pair(c1_pair);
  socket_pair(c2_pair);
  CHECK_EQ(0, pipe2(p, O_CLOEXEC));
  CHECK_OK(tide__backend_attach(loop->backend, victim[0]));
  CHECK_OK(tide__backend_attach(loop->backend, c1_pair[0]));
  CHECK_OK(tide__backend_attach(loop->backend, c2_pair[0]));
  CHECK_OK(tide__backend_attach(loop->backend, p[0]));
  refuse_early_flushes();

  for (int i = 0; i < 2 * PAIRS; i++) /* fills the SQ */
    tide__op_submit(new_op(loop, TIDE__OP_READ, pairs[i / 2][i % 2], bufs[i], 8, &fill[i]));
  char a_buf[8], b_buf[8], c1_buf[8], c2_buf[8];
  tide_future *fa, *fb, *fc1, *fc2;
  tide__op *a = new_op(loop, TIDE__OP_READ, p[0], a_buf, 8, &fa);
  a->finish = detach_the_victim;
  hook_victim = victim[0];
  tide__op_submit(a); /* the pipe is empty: A's POLL_ADD waits in the backlog */
  tide__op *b = new_op(loop, TIDE__OP_READ, victim[0], b_buf, 8, &fb);
  tide__op_submit(b);
  CHECK(loop->backend->backlog_head == a && a->backend.backlog_next == b);

  CHECK_EQ(1, write(p[1], "x", 1));
  CHECK(tide_loop_run_once(loop, 0) >= 0); /* the drain: A reads, its hook detaches B's fd */
  CHECK(tide_future_done(fa));
  CHECK(tide_future_done(fb));
  CHECK(loop->backend->backlog_head == NULL);
  CHECK_RC(TIDE_ECANCELED, tide_future_result(fb, NULL));
  tide_future_release(fa);
  tide_future_release(fb);

  /* New ops take A's and B's memory: nobody cancels them, and no data comes, so they wait. */
  tide__op_submit(new_op(loop, TIDE__OP_READ, c1_pair[0], c1_buf, 8, &fc1));
  tide__op_submit(new_op(loop, TIDE__OP_READ, c2_pair[0], c2_buf, 8, &fc2));
  for (int i = 0; i < 5; i++)
    CHECK(tide_loop_run_once(loop, 0) >= 0);
  if (tide_future_done(fc1) || tide_future_done(fc2))
    TIDE_TEST_FAIL("an op nobody cancelled settled: C1 %s, C2 %s",
                   tide_future_done(fc1) ? tide_err_name(tide_future_result(fc1, NULL)) : "-",
                   tide_future_done(fc2) ? tide_err_name(tide_future_result(fc2, NULL)) : "-");

  /* Data for every read, then everything is taken down. */
  CHECK_EQ(1, write(c1_pair[1], "c", 1));
  CHECK_EQ(1, write(c2_pair[1], "c", 1));
  for (int i = 0; i < 2 * PAIRS; i++)
    CHECK_EQ(1, write(pairs[i / 2][1 - i % 2], "f", 1));
  expect_result(loop, fc1, 1);
  expect_result(loop, fc2, 1);
  for (int i = 0; i < 2 * PAIRS; i++)
    expect_result(loop, fill[i], 1);
  for (int i = 0; i < PAIRS; i++) {
    CHECK_OK(tide__backend_detach(loop->backend, pairs[i][0]));
    CHECK_OK(tide__backend_detach(loop->backend, pairs[i][1]));
    close(pairs[i][0]);
    close(pairs[i][1]);
  }
  CHECK_OK(tide__backend_detach(loop->backend, c1_pair[0]));
  CHECK_OK(tide__backend_detach(loop->backend, c2_pair[0]));
  CHECK_OK(tide__backend_detach(loop->backend, p[0]));
  int rest[] = {victim[0], victim[1], c1_pair[0], c1_pair[1], c2_pair[0], c2_pair[1], p[0], p[1]};
  for (size_t i = 0; i < sizeof rest / sizeof rest[0]; i++)
    close(rest[i]);
  CHECK_OK(tide_loop_close(loop));
}

TIDE_TEST(uring, a_completion_from_the_backlog_that_detaches_a_later_backlogged_op_is_safe) {
  run_in_child(detach_from_a_backlog_completion);
}

/* 300 READ_EXACTs with the early flush refused (most wait in the backlog), 100 of them cancelled
 * (many cancels wait in the backlog too), 10 descriptors detached, then the writes: every op
 * completes exactly once, with its own data or as cancelled. */
static void backlog_under_cancel_and_detach(void) {
  enum { PAIRS = 300 };
  need_descriptors(2 * PAIRS + 64);
  tide_loop *loop = open_loop(1);
  CHECK(tide_loop_run_once(loop, 0) >= 0);
  static int pairs[PAIRS][2];
  static char in[PAIRS][4];
  static uint32_t out[PAIRS];
  static int read_count[PAIRS], write_count[PAIRS];
  static tide_future *reads[PAIRS], *writes[PAIRS];
  static tide__op *read_ops[PAIRS];
  for (int i = 0; i < PAIRS; i++) {
    socket_pair(pairs[i]);
    CHECK_OK(tide__backend_attach(loop->backend, pairs[i][0]));
    CHECK_OK(tide__backend_attach(loop->backend, pairs[i][1]));
  }
  refuse_early_flushes();
  for (int i = 0; i < PAIRS; i++) {
    tide__op *op = new_op(loop, TIDE__OP_READ_EXACT, pairs[i][0], in[i], 4, &reads[i]);
    op->finish = count_completion;
    op->owner = &read_count[i];
    read_ops[i] = op;
    tide__op_submit(op);
  }
  CHECK(loop->backend->backlog_head != NULL);
  for (int i = 0; i < 200; i += 2)
    tide__backend_cancel(loop->backend, read_ops[i]);
  for (int i = 1; i < 20; i += 2)
    CHECK_OK(tide__backend_detach(loop->backend, pairs[i][0]));
  for (int i = 0; i < PAIRS; i++) {
    out[i] = 0xA5000000u | (uint32_t)i; /* differs per pair: a crossed buffer shows */
    tide__op *op = new_op(loop, TIDE__OP_WRITE, pairs[i][1], &out[i], 4, &writes[i]);
    op->finish = count_completion;
    op->owner = &write_count[i];
    tide__op_submit(op);
  }
  int64_t give_up = tide__clock_now_ns() + 20 * SECOND_NS;
  while (loop->pending_ops > 0) {
    if (tide__clock_now_ns() > give_up)
      TIDE_TEST_FAIL("%zu ops still pending after 20 s", (size_t)loop->pending_ops);
    CHECK(tide_loop_run_once(loop, 10 * MS) >= 0);
  }
  CHECK(loop->backend->backlog_head == NULL);
  for (int i = 0; i < PAIRS; i++) {
    CHECK_EQ(1, read_count[i]);
    CHECK_EQ(1, write_count[i]);
    expect_result(loop, writes[i], 4);
    int cancelled = (i < 200 && i % 2 == 0) || (i < 20 && i % 2 == 1);
    intptr_t r = result_of(loop, reads[i]);
    if (cancelled && r == TIDE_ECANCELED)
      continue;
    CHECK_EQ(4, r);
    uint32_t got;
    memcpy(&got, in[i], 4);
    CHECK_EQ(out[i], got);
  }
  for (int i = 0; i < PAIRS; i++) {
    if (!(i < 20 && i % 2 == 1))
      CHECK_OK(tide__backend_detach(loop->backend, pairs[i][0]));
    CHECK_OK(tide__backend_detach(loop->backend, pairs[i][1]));
    close(pairs[i][0]);
    close(pairs[i][1]);
  }
  CHECK_OK(tide_loop_close(loop));
}

TIDE_TEST(uring, backlog_with_cancels_and_detaches_completes_every_op_exactly_once) {
  run_in_child(backlog_under_cancel_and_detach);
}

TIDE_TEST(uring, more_sqes_in_one_tick_than_the_ring_holds_all_complete) {
  /* poll_events 1 gives the smallest ring (256 SQEs); 300 pairs put 600 SQEs in one tick. */
  enum { PAIRS = 300 };
  struct rlimit rl;
  CHECK_EQ(0, getrlimit(RLIMIT_NOFILE, &rl));
  if (rl.rlim_cur < 2 * PAIRS + 64) {
    rl.rlim_cur = rl.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &rl);
    CHECK_EQ(0, getrlimit(RLIMIT_NOFILE, &rl));
    if (rl.rlim_cur < 2 * PAIRS + 64)
      TIDE_SKIP("RLIMIT_NOFILE is below %d descriptors", 2 * PAIRS + 64);
  }
  tide_loop *loop = open_loop(1);
  CHECK(loop->backend->ring.sq_entries < 2 * PAIRS);
  static int pairs[PAIRS][2];
  static char in[PAIRS][4];
  static tide_future *reads[PAIRS], *writes[PAIRS];
  for (int i = 0; i < PAIRS; i++) {
    socket_pair(pairs[i]);
    CHECK_OK(tide__backend_attach(loop->backend, pairs[i][0]));
    CHECK_OK(tide__backend_attach(loop->backend, pairs[i][1]));
  }
  unsigned head_before = __atomic_load_n(loop->backend->ring.sq_head, __ATOMIC_ACQUIRE);
  for (int i = 0; i < PAIRS; i++) {
    reads[i] = submit_op(loop, TIDE__OP_READ_EXACT, pairs[i][0], in[i], 4, NULL);
  }
  static uint32_t out[PAIRS];
  for (int i = 0; i < PAIRS; i++) {
    out[i] = 0xA5000000u | (uint32_t)i; /* differs per pair: a crossed buffer shows */
    writes[i] = submit_op(loop, TIDE__OP_WRITE, pairs[i][1], &out[i], 4, NULL);
  }
  /* The SQ overflowed before any poll: the kernel has consumed SQEs already (the flush). */
  CHECK(__atomic_load_n(loop->backend->ring.sq_head, __ATOMIC_ACQUIRE) != head_before);
  for (int i = 0; i < PAIRS; i++) {
    expect_result(loop, writes[i], 4);
    expect_result(loop, reads[i], 4);
    uint32_t got;
    memcpy(&got, in[i], 4);
    CHECK_EQ(out[i], got);
  }
  for (int i = 0; i < PAIRS; i++) {
    CHECK_OK(tide__backend_detach(loop->backend, pairs[i][0]));
    CHECK_OK(tide__backend_detach(loop->backend, pairs[i][1]));
    close(pairs[i][0]);
    close(pairs[i][1]);
  }
  CHECK_OK(tide_loop_close(loop));
}

TIDE_TEST(uring, a_huge_poll_events_gets_the_largest_ring_the_kernel_allows) {
  tide_loop *loop = open_loop(1u << 24);
  CHECK(loop->backend->ring.sq_entries >= 256);
  CHECK_OK(tide_loop_close(loop));
}

/* ---- wake from another thread -------------------------------------------------------------- */

typedef struct waker {
  tide_loop *loop;
  int ran; /* set by the posted callback, on the loop thread */
} waker;

static void posted(void *arg) {
  ((waker *)arg)->ran = 1;
}

static void *wake_later(void *arg) {
  waker *w = arg;
  struct timespec pause = {0, 50 * 1000 * 1000};
  nanosleep(&pause, NULL);
  CHECK_OK(tide_call_soon_threadsafe(w->loop, posted, w));
  return NULL;
}

/* Runs the loop in blocking ticks until waker thread t's posted callback has run, then joins t.
 * The blocking tick returns when the wake arrives; the posted callback runs at the start of the
 * next tick, which must not block for it. */
static void wait_for_the_wake(tide_loop *loop, waker *w, pthread_t t) {
  int64_t start = tide__clock_now_ns();
  int64_t give_up = start + 30 * SECOND_NS;
  while (!w->ran && tide__clock_now_ns() < give_up) {
    CHECK(tide_loop_run_once(loop, 20 * SECOND_NS) >= 0);
    CHECK(tide_loop_run_once(loop, 0) >= 0);
  }
  int64_t took = tide__clock_now_ns() - start;
  CHECK_EQ(0, pthread_join(t, NULL));
  CHECK_EQ(1, w->ran);
  if (took > 10 * SECOND_NS) /* generous: the wake comes after 50 ms */
    TIDE_TEST_FAIL("the wake took %lld ms to end the poll", (long long)(took / MS));
}

TIDE_TEST(uring, wake_from_another_thread_ends_a_blocked_poll) {
  tide_loop *loop = open_loop(0);
  waker w = {loop, 0};
  for (int round = 0; round < 3; round++) { /* the eventfd read is re-armed each time */
    w.ran = 0;
    CHECK_OK(tide_loop_ref(loop)); /* keeps run_once blocking with nothing else to wait for */
    pthread_t t;
    CHECK_EQ(0, pthread_create(&t, NULL, wake_later, &w));
    wait_for_the_wake(loop, &w, t);
    CHECK_OK(tide_loop_unref(loop));
  }
  CHECK_OK(tide_loop_close(loop));
}

/* Makes every io_uring_enter that submits (to_submit != 0) fail with EAGAIN, as when the kernel
 * has no memory for new requests: the wake-up's eventfd read, re-armed after each wake, then never
 * reaches the kernel. */
static void refuse_submissions(void) {
  if (seccomp_refuse(__NR_io_uring_enter, SECCOMP_ARG_NON_ZERO, 1, EAGAIN) != 0)
    exit(CHILD_NO_SECCOMP);
}

static void wake_while_submissions_are_refused(void) {
  tide_loop *loop = open_loop(0);
  refuse_submissions();
  waker w = {loop, 0};
  CHECK_OK(tide_loop_ref(loop));
  pthread_t t;
  CHECK_EQ(0, pthread_create(&t, NULL, wake_later, &w));
  wait_for_the_wake(loop, &w, t);
  CHECK_OK(tide_loop_unref(loop));
  CHECK_OK(tide_loop_close(loop));
}

TIDE_TEST(uring, a_wake_ends_the_poll_while_the_kernel_refuses_submissions) {
  run_in_child(wake_while_submissions_are_refused);
}

/* ---- the wrong thread ---------------------------------------------------------------------- */

typedef struct foreign_poll {
  tide__backend *backend;
  int result;
} foreign_poll;

static void *poll_from_here(void *arg) {
  foreign_poll *fp = arg;
  fp->result = tide__backend_poll(fp->backend, 0);
  return NULL;
}

TIDE_TEST(uring, a_poll_from_a_thread_other_than_the_creator_gives_einval) {
  tide_loop *loop = open_loop(0);
  if (!(loop->backend->ring.setup_flags & IORING_SETUP_SINGLE_ISSUER)) {
    CHECK_OK(tide_loop_close(loop));
    TIDE_SKIP("the kernel did not accept IORING_SETUP_SINGLE_ISSUER (Linux 6.0)");
  }
  CHECK(tide_loop_run_once(loop, 0) >= 0);
  int sv[2];
  socket_pair(sv);
  CHECK_OK(tide__backend_attach(loop->backend, sv[0]));
  char buf[4];
  tide_future *f = submit_op(loop, TIDE__OP_READ, sv[0], buf, sizeof buf, NULL);
  CHECK_EQ(1, tide__ring_unsubmitted(&loop->backend->ring)); /* something to submit */
  foreign_poll fp = {loop->backend, 1};
  pthread_t t;
  CHECK_EQ(0, pthread_create(&t, NULL, poll_from_here, &fp));
  CHECK_EQ(0, pthread_join(t, NULL));
  CHECK_RC(TIDE_EINVAL, fp.result);
  /* The loop's own thread carries on: the SQE is still queued and goes in now. */
  send_all(sv[1], "ok");
  expect_result(loop, f, 2);
  CHECK_OK(tide__backend_detach(loop->backend, sv[0]));
  close(sv[0]);
  close(sv[1]);
  CHECK_OK(tide_loop_close(loop));
}

/* ---- io_uring refused ------------------------------------------------------------------------ */

/* Fails io_uring_setup with EPERM, as a container runtime's default profile does. */
static int refuse_io_uring(void) {
  return seccomp_refuse(__NR_io_uring_setup, SECCOMP_ALWAYS, 0, EPERM);
}

TIDE_TEST(uring, loop_new_gives_enotsup_where_io_uring_is_refused) {
  pid_t child = fork();
  CHECK(child >= 0);
  if (child == 0) {
    if (refuse_io_uring() != 0)
      _exit(3); /* no seccomp here: nothing to test */
    tide_loop *loop = NULL;
    int err = tide_loop_new(&loop, NULL);
    _exit(err == TIDE_ENOTSUP && loop == NULL ? 0 : 1);
  }
  int status = 0;
  CHECK_EQ(child, waitpid(child, &status, 0));
  CHECK(WIFEXITED(status));
  if (WEXITSTATUS(status) == 3)
    TIDE_SKIP("seccomp filters are not available here");
  CHECK_EQ(0, WEXITSTATUS(status));
}
