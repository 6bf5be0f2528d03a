/* backends/uring/backend.c — the io_uring backend (backends/backend.h): the descriptor table,
 * the per-direction queues, submit, cancel, detach, poll and wake. How each kind becomes an SQE
 * is in sockets.c (native) and polled.c (readiness fallback); the model is in uring.h.
 *
 * io_uring pitfalls handled here:
 *  - An SQE names a descriptor *number*, resolved when the kernel consumes the SQE, which tide
 *    does lazily (in the next poll's io_uring_enter). The core closes a descriptor right after
 *    detaching it, and the number may be reused at once, so an SQE still queued for a detached
 *    descriptor would act on whatever file has the number by then. Detach therefore hands such
 *    SQEs to the kernel before it returns (or, if the kernel refuses them, turns them into NOPs:
 *    ring.c). SQEs the kernel has consumed hold their own file reference, and are asked to stop
 *    with IORING_OP_ASYNC_CANCEL.
 *  - The kernel owns an op's buffer (and its msghdr, in the op) until the CQE is reaped, even
 *    after a cancel and after the descriptor is closed: the op completes to the core only from
 *    its CQE. A detached descriptor's ops in flight become orphans (in no queue) so that its
 *    number can be attached again at once, and their CQEs never look at the table.
 *  - A cancel races the operation: ASYNC_CANCEL may find it already finished (ENOENT/EALREADY,
 *    ignored) and the op's own CQE then carries the real result, which wins — data received or
 *    sent is reported, never dropped (core/op.h).
 *  - The wake-up: another thread writes an eventfd whose read is kept in the ring. The eventfd is
 *    blocking on purpose: io_uring honours O_NONBLOCK on read/write ops and would complete the
 *    read with -EAGAIN at once instead of waiting in the kernel, which would spin the loop.
 *    IORING_OP_MSG_RING cannot serve: it needs a ring on the sending thread, and wakers are any
 *    thread. The read's 8-byte buffer is in the backend, so close writes the eventfd (the read
 *    then completes within a tick on every kernel; a cancel alone may wait for an io-wq worker
 *    blocked in it), cancels it too, and waits for its CQE before freeing the buffer.
 *  - Full rings: an SQE that finds the SQ full after a flush waits in a backlog and is retried at
 *    the next poll; the CQ is four times the SQ and the kernel keeps overflow (FEAT_NODROP). The
 *    backlog is drained from the live list, one op at a time: a completion run meanwhile may
 *    detach a descriptor, and must find that descriptor's ops there to unlink them. */
#define _GNU_SOURCE
#include "backends/uring/uring.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backends/posix/io.h"
#include "backends/posix/fd_table.h"
#include "backends/uring/memcheck.h"
#include "core/sys/clock.h"
#include "core/sys/errno_map.h"
#include "tide/error.h"

enum {
  MIN_ENTRIES = 256,                /* SQEs; see tide__backend_open */
  CLOSE_WAIT_ROUNDS = 1000,         /* close: at most this many waits for the wake read's CQE */
  CLOSE_WAIT_NS = 10 * 1000 * 1000, /* ... of 10 ms each */
  UNARMED_WAIT_NS = 1000 * 1000,    /* the longest wait while the wake read is not armed */
  VALGRIND_SLICE_NS = 1000 * 1000,  /* under valgrind, the longest wait without a yield */
  IN_KERNEL = TIDE__URING_ISSUED | TIDE__URING_NEEDS_SQE
};

/* Whether tide__backend_try_now performs a write with a plain send() at once. The measurement
 * behind the choice is in docs/decisions.md ("The io_uring backend"); build with
 * -DTIDE_URING_TRY_WRITES_NOW=0 to repeat it. */
#ifndef TIDE_URING_TRY_WRITES_NOW
#define TIDE_URING_TRY_WRITES_NOW 1
#endif
enum { TRY_WRITES_NOW = TIDE_URING_TRY_WRITES_NOW };

/* ---- the descriptor table ------------------------------------------------------------------ */

static tide__uring_fd *state_of(tide__backend *b, tide__fd fd) {
  if (fd < 0 || (size_t)fd >= b->fd_capacity || !b->fds[fd].attached)
    return NULL;
  return &b->fds[fd];
}

static int reserve_fd_slot(tide__backend *b, size_t fd) {
  tide__uring_fd *fds = tide__fd_table_fit(b->fds, &b->fd_capacity, sizeof *fds, fd);
  if (fds == NULL)
    return TIDE_ENOMEM;
  b->fds = fds;
  return 0;
}

static tide__op_queue *queue_of(tide__uring_fd *fs, const tide__op *op) {
  return tide__op_is_read_side(op->kind) ? &fs->reads : &fs->writes;
}

/* ---- the backlog of ops waiting for an SQE --------------------------------------------------- */

static void backlog_push(tide__backend *b, tide__op *op) {
  op->flags |= TIDE__URING_BACKLOG;
  op->backend.backlog_next = NULL;
  if (b->backlog_tail != NULL)
    b->backlog_tail->backend.backlog_next = op;
  else
    b->backlog_head = op;
  b->backlog_tail = op;
}

/* Takes op out of the backlog; it must be there (flagged BACKLOG). */
static void backlog_unlink(tide__backend *b, tide__op *op) {
  assert(op->flags & TIDE__URING_BACKLOG);
  tide__op *prev = NULL;
  for (tide__op *it = b->backlog_head; it != NULL; prev = it, it = it->backend.backlog_next) {
    if (it != op)
      continue;
    if (prev != NULL)
      prev->backend.backlog_next = op->backend.backlog_next;
    else
      b->backlog_head = op->backend.backlog_next;
    if (b->backlog_tail == op)
      b->backlog_tail = prev;
    op->backend.backlog_next = NULL;
    op->flags &= ~(uint32_t)TIDE__URING_BACKLOG;
    return;
  }
  assert(!"an op flagged BACKLOG is not in the backlog");
}

struct io_uring_sqe *tide__uring_sqe(tide__backend *b, tide__op *op) {
  struct io_uring_sqe *sqe = tide__ring_get_sqe(&b->ring, (uint64_t)(uintptr_t)op);
  op->flags |= TIDE__URING_ISSUED;
  if (sqe == NULL) {
    op->flags |= TIDE__URING_NEEDS_SQE;
    backlog_push(b, op);
  }
  return sqe;
}

/* Asks the kernel to stop op (in flight). Without an SQE slot the request waits in the backlog:
 * an op there without NEEDS_SQE is one whose cancel is pending. */
static void request_cancel(tide__backend *b, tide__op *op) {
  struct io_uring_sqe *sqe = tide__ring_get_sqe(&b->ring, TIDE__URING_TAG_CANCEL);
  if (sqe == NULL) {
    backlog_push(b, op);
    return;
  }
  sqe->opcode = IORING_OP_ASYNC_CANCEL;
  sqe->fd = -1;
  sqe->addr = (uint64_t)(uintptr_t)op;
}

/* ---- running queues ------------------------------------------------------------------------ */

/* CONNECT takes the polled path on sockets too: connect(), then POLLOUT, then SO_ERROR
 * (backends/posix/io.c). IORING_OP_CONNECT on a non-blocking socket can complete with -EAGAIN
 * (a full AF_UNIX backlog, through io-wq), and kernels 5.11-6.2 can post -EINPROGRESS or -EISCONN
 * after a connection that succeeded; io.c's answers are the epoll backend's. */
static tide__uring_step start(tide__backend *b, tide__uring_fd *fs, tide__op *op,
                              intptr_t *result) {
  return fs->is_socket && op->kind != TIDE__OP_CONNECT
             ? tide__uring_start_socket(b, op, result)
             : tide__uring_start_polled(b, fs, op, result);
}

/* Starts the head of one queue, completes what finishes at once, and carries on with the next op
 * until one is in the kernel or the queue is empty. A completion's finish hook may detach or
 * attach descriptors (the table may move), so the state is looked up again every round. */
static void run_queue(tide__backend *b, tide__fd fd, int read_side) {
  for (;;) {
    tide__uring_fd *fs = state_of(b, fd);
    if (fs == NULL)
      return;
    tide__op_queue *q = read_side ? &fs->reads : &fs->writes;
    tide__op *op = q->head;
    if (op == NULL || (op->flags & IN_KERNEL))
      return;
    intptr_t result = 0;
    if (start(b, fs, op, &result) == TIDE__URING_PENDING)
      return;
    fs = state_of(b, fd); /* again, as after any call that could attach and grow the table */
    q = read_side ? &fs->reads : &fs->writes;
    (void)tide__op_queue_pop(q);
    tide__op_complete(op, result);
  }
}

/* Completes op, which has left the kernel, and starts the next op of its queue. */
static void complete_head(tide__backend *b, tide__op *op, intptr_t result) {
  if (op->flags & TIDE__URING_ORPHAN) {
    tide__op_complete(op, result);
    return;
  }
  tide__fd fd = op->fd;
  int read_side = tide__op_is_read_side(op->kind);
  tide__uring_fd *fs = state_of(b, fd);
  assert(fs != NULL && queue_of(fs, op)->head == op);
  (void)tide__op_queue_pop(queue_of(fs, op));
  tide__op_complete(op, result);
  run_queue(b, fd, read_side);
}

/* ---- open, close, attach, detach ----------------------------------------------------------- */

static void arm_wake(tide__backend *b) {
  struct io_uring_sqe *sqe = tide__ring_get_sqe(&b->ring, TIDE__URING_TAG_WAKE);
  if (sqe == NULL)
    return; /* the next poll tries again */
  sqe->opcode = IORING_OP_READ;
  sqe->fd = b->wake_fd;
  sqe->addr = (uint64_t)(uintptr_t)&b->wake_value;
  sqe->len = sizeof b->wake_value;
  sqe->off = (uint64_t)-1; /* the current position: an eventfd has none to give */
  b->wake_read = 1;
}

int tide__backend_open(tide_loop *loop, unsigned max_events, tide__backend **out) {
  (void)loop; /* completions go to each op's own loop (tide__op_complete) */
  tide__backend *b = calloc(1, sizeof *b);
  if (b == NULL)
    return TIDE_ENOMEM;
  b->reserve_fd = -1;
  b->under_valgrind = (uint8_t)tide__uring_under_valgrind();
  b->max_events = max_events > 0 ? max_events : MIN_ENTRIES;
  /* A tick reaps at most max_events CQEs, and the ops they finish are mostly issued again before
   * the next poll (tasks resumed, the rest of partial transfers): twice that many SQEs lets a
   * tick's submissions wait for the next io_uring_enter instead of forcing a flush of a full SQ
   * (an extra syscall, seen in profiles with 1000 connections and a 256-entry SQ). */
  unsigned entries = b->max_events <= UINT32_MAX / 2 ? 2 * b->max_events : UINT32_MAX;
  b->ring.fd = -1;
  b->wake_fd = -1;
  int err = tide__ring_open(&b->ring, entries > MIN_ENTRIES ? entries : MIN_ENTRIES);
  if (err != 0)
    goto fail;
  b->wake_fd = eventfd(0, EFD_CLOEXEC); /* blocking: see the top of this file */
  if (b->wake_fd < 0) {
    err = tide__err_from_errno(errno);
    goto fail;
  }
  *out = b;
  return 0;
fail:
  if (b->ring.fd >= 0)
    tide__ring_close(&b->ring);
  free(b);
  return err;
}

static void on_cqe(tide__backend *b, uint64_t user_data, int res);

/* Reaps every CQE ready now, at most `limit`. Returns how many. */
static int reap(tide__backend *b, int limit) {
  int n = 0;
  struct io_uring_cqe *cqe;
  while (n < limit && (cqe = tide__ring_peek(&b->ring)) != NULL) {
    uint64_t user_data = cqe->user_data;
    int res = cqe->res;
    tide__ring_cqe_seen(&b->ring); /* before handling: handlers may submit and flush */
    on_cqe(b, user_data, res);
    n++;
  }
  return n;
}

void tide__backend_close(tide__backend *b) {
#ifndef NDEBUG
  for (size_t fd = 0; fd < b->fd_capacity; fd++)
    assert(b->fds[fd].reads.head == NULL && b->fds[fd].writes.head == NULL);
  assert(b->backlog_head == NULL);
#endif
  /* The kernel may still write the wake read's buffer (inside b) until its CQE: stop it and wait
   * for that CQE. Every op has completed (the loop waits for them), so no other CQE is for an
   * op. A read whose SQE the kernel never took (it refused the submissions) is not the
   * kernel's: rewritten into a NOP, it will never be submitted. */
  if (b->wake_read && tide__ring_neutralise(&b->ring, TIDE__URING_TAG_WAKE) > 0)
    b->wake_read = 0;
  if (b->wake_read) {
    /* A counter to read ends the read at once on every kernel; the cancel alone may have to wait
     * for an io-wq worker blocked in it. */
    uint64_t one = 1;
    while (write(b->wake_fd, &one, sizeof one) < 0 && errno == EINTR)
      continue;
    struct io_uring_sqe *sqe = tide__ring_get_sqe(&b->ring, TIDE__URING_TAG_CANCEL);
    if (sqe != NULL) {
      sqe->opcode = IORING_OP_ASYNC_CANCEL;
      sqe->fd = -1;
      sqe->addr = TIDE__URING_TAG_WAKE;
    }
    for (int i = 0; i < CLOSE_WAIT_ROUNDS && b->wake_read; i++) {
      if (tide__ring_submit_and_wait(&b->ring, CLOSE_WAIT_NS) < 0)
        break;
      (void)reap(b, INT32_MAX);
    }
  }
  if (b->reserve_fd >= 0)
    close(b->reserve_fd);
  tide__ring_close(&b->ring);
  close(b->wake_fd);
  free(b->fds);
  if (b->wake_read)
    return; /* the kernel never gave the buffer back: leak b rather than free memory it owns */
  free(b);
}

int tide__backend_attach(tide__backend *b, tide__fd fd) {
  if (fd < 0 || fd > INT32_MAX)
    return TIDE_EINVAL;
  int err = reserve_fd_slot(b, (size_t)fd);
  if (err != 0)
    return err;
  tide__uring_fd *fs = &b->fds[fd];
  if (fs->attached)
    return TIDE_EALREADY;
  struct stat st;
  if (fstat((int)fd, &st) != 0)
    return tide__err_from_errno(errno);
  /* Files and directories are always "ready" and their reads block on the disk: they belong to
   * the executor, as under epoll (which refuses them the same way). */
  if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) || S_ISBLK(st.st_mode))
    return TIDE_ENOTSUP;
  /* Non-blocking, as with every backend: polled.c's syscalls must not block, and code that
   * shares the descriptor expects it. Native socket ops do not care (io_uring uses
   * MSG_DONTWAIT internally and waits by itself). */
  int flags = fcntl((int)fd, F_GETFL);
  if (flags < 0 || (!(flags & O_NONBLOCK) && fcntl((int)fd, F_SETFL, flags | O_NONBLOCK) != 0))
    return tide__err_from_errno(errno);
  fs->attached = 1;
  fs->is_socket = S_ISSOCK(st.st_mode);
  fs->is_stream = (uint8_t)tide__io_is_byte_stream((int)fd, &st);
  return 0;
}

/* Takes an in-flight head out of its queue for detach: it becomes an orphan its CQE completes.
 * Returns 1 if it must be completed now instead (it never reached the ring). */
static int orphan(tide__backend *b, tide__op *op) {
  uint32_t asked = op->flags & TIDE__URING_CANCEL;
  op->flags |= TIDE__URING_ORPHAN | TIDE__URING_CANCEL;
  if (op->flags & TIDE__URING_NEEDS_SQE) {
    backlog_unlink(b, op);
    op->flags &= ~(uint32_t)IN_KERNEL;
    return 1;
  }
  if (tide__ring_neutralise(&b->ring, (uint64_t)(uintptr_t)op) > 0) {
    op->flags |= TIDE__URING_NOP; /* the kernel will never see the descriptor */
    return 0;
  }
  if (!asked)
    request_cancel(b, op);
  return 0;
}

int tide__backend_detach(tide__backend *b, tide__fd fd) {
  tide__uring_fd *fs = state_of(b, fd);
  if (fs == NULL)
    return TIDE_EBADF;
  fs->attached = 0; /* a finish hook run below sees the descriptor gone */
  /* SQEs still queued for fd go to the kernel now, while fd still names this file: they take
   * their own reference to it, and run as they would have (a write sends what fits, which its
   * result reports). Only if the kernel refuses them are they turned into NOPs (orphan). */
  tide__op *heads[2] = {fs->reads.head, fs->writes.head};
  for (int i = 0; i < 2; i++) {
    if (heads[i] != NULL && (heads[i]->flags & TIDE__URING_ISSUED) &&
        !(heads[i]->flags & TIDE__URING_NEEDS_SQE) && tide__ring_unsubmitted(&b->ring) > 0) {
      tide__ring_flush(&b->ring);
      break;
    }
  }
  /* Everything is unlinked first, since the finish hooks run below may do anything. */
  tide__op *now = NULL;
  tide__op **tail = &now;
  tide__op_queue *queues[2] = {&fs->reads, &fs->writes};
  for (int i = 0; i < 2; i++) {
    while (queues[i]->head != NULL) {
      tide__op *op = tide__op_queue_pop(queues[i]);
      if ((op->flags & IN_KERNEL) && !orphan(b, op))
        continue;
      *tail = op;
      tail = &op->next;
    }
  }
  while (now != NULL) {
    tide__op *op = now;
    now = op->next;
    op->next = NULL;
    tide__op_complete(op, tide__uring_cancelled_result(op));
  }
  return 0;
}

/* ---- submit, try_now, cancel ----------------------------------------------------------------- */

int tide__backend_submit(tide__backend *b, tide__op *op) {
  tide__uring_fd *fs = state_of(b, op->fd);
  if (fs == NULL)
    return TIDE_EBADF;
  op->flags = 0;
  if ((op->kind == TIDE__OP_CONNECT || op->kind == TIDE__OP_SENDTO) && op->addr != NULL) {
    /* Copied now: the caller's address may not outlive this call (backend_op.h). */
    if (op->addrlen > sizeof op->backend.dest)
      return TIDE_EINVAL;
    memcpy(&op->backend.dest, op->addr, op->addrlen);
    op->addr = &op->backend.dest; /* what io.c's connect() and the SENDMSG read from now on */
  }
  tide__op_queue *q = queue_of(fs, op);
  tide__op_queue_push(q, op);
  if (q->head == op)
    run_queue(b, op->fd, tide__op_is_read_side(op->kind));
  return 0;
}

int tide__backend_try_now(tide__backend *b, tide__op *op, intptr_t *result) {
  if (!TRY_WRITES_NOW || (op->kind != TIDE__OP_WRITE && op->kind != TIDE__OP_WRITEV))
    return 0;
  tide__uring_fd *fs = state_of(b, op->fd);
  if (fs == NULL || fs->writes.head != NULL)
    return 0;
  tide__io_target t = {.fd = (int)op->fd, .is_socket = fs->is_socket, .is_stream = fs->is_stream};
  return tide__io_try_write(&t, op, result) != TIDE__IO_WAIT;
}

void tide__backend_cancel(tide__backend *b, tide__op *op) {
  if (op->flags & TIDE__URING_ISSUED) {
    if (op->flags & TIDE__URING_CANCEL)
      return; /* asked already (or orphaned by detach, which asked) */
    op->flags |= TIDE__URING_CANCEL;
    if (op->flags & TIDE__URING_NEEDS_SQE) { /* never reached the kernel */
      backlog_unlink(b, op);
      op->flags &= ~(uint32_t)IN_KERNEL;
      complete_head(b, op, tide__uring_cancelled_result(op));
      return;
    }
    request_cancel(b, op);
    return;
  }
  /* Not issued: it waits behind the head of its queue and has moved nothing of its own. */
  tide__uring_fd *fs = state_of(b, op->fd);
  if (fs != NULL && tide__op_queue_unlink(queue_of(fs, op), op))
    tide__op_complete(op, tide__uring_cancelled_result(op));
}

/* Unlinks the first op of q that is not in the kernel, or returns NULL. */
static tide__op *take_waiting(tide__op_queue *q) {
  tide__op *prev = NULL;
  for (tide__op *op = q->head; op != NULL; prev = op, op = op->next) {
    if (op->flags & IN_KERNEL)
      continue;
    tide__op_queue_unlink_after(q, prev, op);
    return op;
  }
  return NULL;
}

void tide__backend_cancel_all(tide__backend *b) {
  /* Per descriptor: first the ops waiting behind the heads (completed now, one at a time, since
   * a finish hook may reshuffle the table), then the heads in the kernel (asked to stop; their
   * CQEs complete them in later polls). */
  for (size_t fd = 0; fd < b->fd_capacity; fd++) {
    for (int side = 0; side < 2; side++) {
      for (;;) {
        if (fd >= b->fd_capacity)
          break;
        tide__op_queue *q = side ? &b->fds[fd].writes : &b->fds[fd].reads;
        tide__op *op = take_waiting(q);
        if (op == NULL)
          break;
        tide__op_complete(op, tide__uring_cancelled_result(op));
      }
      if (fd >= b->fd_capacity)
        break;
      tide__op *head = side ? b->fds[fd].writes.head : b->fds[fd].reads.head;
      if (head != NULL)
        tide__backend_cancel(b, head);
    }
  }
}

/* ---- poll and wake ------------------------------------------------------------------------- */

/* Handles the CQE of one op. */
static void on_op_cqe(tide__backend *b, tide__op *op, int res) {
  uint32_t flags = op->flags;
  /* A cancel still waiting for an SQE slot must not outlive the op: its address could name the
   * next op to reuse this memory. */
  if (flags & TIDE__URING_BACKLOG)
    backlog_unlink(b, op);
  op->flags &= ~(uint32_t)(TIDE__URING_ISSUED | TIDE__URING_POLLING | TIDE__URING_NOP);
  intptr_t result = 0;
  tide__uring_step step;
  if ((flags & TIDE__URING_NOP) || res == -ECANCELED) {
    /* Stopped before moving anything more: by tide's cancel, or by the kernel itself (it cancels
     * a task's requests when the task exits, for one). */
    step = TIDE__URING_DONE;
    result = tide__uring_cancelled_result(op);
  } else if (flags & TIDE__URING_POLLING) {
    /* Ready (or a hang-up, or an error the syscall will report), or a back-off's timeout
     * expired (-ETIME, sockets.c): try the op again. A poll that itself failed would fail
     * again: report it. */
    step = TIDE__URING_PENDING;
    if (res < 0 && res != -ETIME) {
      step = TIDE__URING_DONE;
      result = op->done > 0 ? (intptr_t)op->done : tide__err_from_errno(-res);
    }
  } else {
    step = tide__uring_finish_socket(b, op, res, &result);
  }
  if (step != TIDE__URING_DONE) {
    if (!(op->flags & (TIDE__URING_CANCEL | TIDE__URING_ORPHAN))) {
      /* Still the head of its queue: wait for readiness, or continue it now. */
      if (step == TIDE__URING_NOT_READY)
        tide__uring_poll(b, op);
      else
        run_queue(b, op->fd, tide__op_is_read_side(op->kind));
      return;
    }
    result = tide__uring_cancelled_result(op);
  }
  complete_head(b, op, result);
}

static void on_cqe(tide__backend *b, uint64_t user_data, int res) {
  if (user_data == TIDE__URING_TAG_WAKE) {
    b->wake_read = 0; /* re-armed by the next poll; the counter it read is the wake */
    return;
  }
  if (user_data == TIDE__URING_TAG_CANCEL)
    return; /* the cancel's own outcome; the op's CQE tells what happened to it */
  on_op_cqe(b, (tide__op *)(uintptr_t)user_data, res);
}

/* Gives the backlog the SQE slots freed since it filled up. Each op is retried once at most:
 * one that finds the ring full again goes back to the end and waits for the next poll. Entries
 * are taken one at a time from the live list, never detached into a private one: a completion
 * run below may detach a descriptor, and orphan()/cancel must then find its ops in the backlog
 * to unlink them (an op unlinked there has completed and its memory may be reused). */
static void drain_backlog(tide__backend *b) {
  /* As many entries as there are now: ops pushed back during the drain wait for the next poll.
   * (A count, not the tail op: a completion below may unlink that op.) */
  size_t n = 0;
  for (tide__op *it = b->backlog_head; it != NULL; it = it->backend.backlog_next)
    n++;
  for (; n > 0; n--) {
    tide__op *op = b->backlog_head;
    if (op == NULL)
      return;
    b->backlog_head = op->backend.backlog_next;
    if (b->backlog_head == NULL)
      b->backlog_tail = NULL;
    op->backend.backlog_next = NULL;
    op->flags &= ~(uint32_t)TIDE__URING_BACKLOG;
    if (op->flags & TIDE__URING_NEEDS_SQE) {
      op->flags &= ~(uint32_t)IN_KERNEL;
      /* A socket op that waits for readiness (NOT_READY) gets its POLL_ADD: issued again at
       * once it would fail the same way. Anything else starts again, which for a polled
       * descriptor first tries the syscall (the descriptor may be ready by now). */
      uint32_t polling = op->flags & TIDE__URING_POLLING;
      op->flags &= ~(uint32_t)TIDE__URING_POLLING;
      tide__uring_fd *fs = state_of(b, op->fd);
      assert(fs != NULL); /* still the head of its queue: a detach unlinks it from here */
      if (polling && fs != NULL && fs->is_socket)
        tide__uring_poll(b, op);
      else
        run_queue(b, op->fd, tide__op_is_read_side(op->kind));
    } else if (op->flags & TIDE__URING_ISSUED) {
      request_cancel(b, op); /* in the kernel, with its cancel waiting for a slot */
    }
  }
}

/* The wait under valgrind, which lets no other thread run while this one is inside
 * io_uring_enter (memcheck.h): slices of at most VALGRIND_SLICE_NS, each after a yield that lets
 * the others run (and post a wake), until a completion arrives, the kernel refuses submissions or
 * the timeout has passed. */
static int wait_in_slices(tide__backend *b, int64_t timeout_ns) {
  int64_t now = tide__clock_now_ns();
  int64_t deadline = timeout_ns > 0 && timeout_ns < INT64_MAX - now ? now + timeout_ns : INT64_MAX;
  for (;;) {
    int64_t slice = VALGRIND_SLICE_NS;
    int last = 0;
    if (deadline != INT64_MAX) {
      int64_t left = deadline - tide__clock_now_ns();
      if (left <= slice) {
        slice = left > 0 ? left : 0; /* 0: submit and reap without waiting, then return */
        last = 1;
      }
    }
    if (slice > 0)
      sched_yield();
    int err = tide__ring_submit_and_wait(&b->ring, slice);
    /* Entries the kernel refused to take may include the wake's read: back to the loop, as an
     * ordinary wait returns then too (ring.c). */
    if (err != 0 || last || tide__ring_peek(&b->ring) != NULL ||
        tide__ring_unsubmitted(&b->ring) > 0)
      return err;
  }
}

int tide__backend_poll(tide__backend *b, int64_t timeout_ns) {
  if (b->backlog_head != NULL)
    drain_backlog(b);
  if (!b->wake_read)
    arm_wake(b);
  /* Without its read in the ring (no SQE slot: the kernel is refusing submissions), a wake from
   * another thread would not end the wait: wait briefly instead, and retry next time. */
  if (!b->wake_read && (timeout_ns < 0 || timeout_ns > UNARMED_WAIT_NS))
    timeout_ns = UNARMED_WAIT_NS;
  if (tide__ring_peek(&b->ring) != NULL)
    timeout_ns = 0; /* completions are waiting already (a flush posted them) */
  int err = b->under_valgrind && timeout_ns != 0 ? wait_in_slices(b, timeout_ns)
                                                 : tide__ring_submit_and_wait(&b->ring, timeout_ns);
  if (err != 0)
    return err;
  /* At most max_events (backend.h), so that one busy tick cannot starve timers and the SQ has
   * room for what the tick issues again; the rest waits in the CQ. */
  return reap(b, b->max_events < INT32_MAX ? (int)b->max_events : INT32_MAX);
}

int tide__backend_wake(tide__backend *b) {
  uint64_t one = 1;
  for (;;) {
    if (write(b->wake_fd, &one, sizeof one) == (ssize_t)sizeof one)
      return 0;
    if (errno != EINTR)
      return tide__err_from_errno(errno);
  }
}
