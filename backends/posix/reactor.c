/* backends/posix/reactor.c — the completion backend (backends/backend.h) for readiness pollers.
 *
 * epoll and kqueue say "this descriptor may be readable"; the core wants "this read finished with
 * 42 bytes". The reactor bridges the two: it keeps, per descriptor, a FIFO of pending read-side
 * ops and a FIFO of pending write-side ops (core/op.h), performs the non-blocking syscall (io.c)
 * when the poller says the descriptor is ready, and completes the op with the result. Nothing
 * here is epoll-specific.
 *
 * The POSIX pitfalls it handles (the syscall-level ones — EINTR, partial writes, SIGPIPE,
 * non-blocking connect — are listed in io.c):
 *  - EAGAIN: the descriptor is not ready after all; the op stays queued and the reactor records
 *    that the direction is not ready, so it waits for the next edge instead of retrying.
 *  - Ordering: an op stays at the head of its queue until it is finished, so a partly written
 *    buffer is never interleaved with the next write, and a shutdown queued after writes runs
 *    after them.
 *  - Readiness that nobody has seen yet: a freshly attached descriptor, or one whose last syscall
 *    did not hit EAGAIN, is presumed ready, so a read is tried at once instead of paying a poll
 *    round trip first. Edge-triggered polling makes this necessary as well as fast: an edge that
 *    arrived while no op was queued is remembered here, not re-reported by the kernel.
 *  - Stale events: an event fetched for a descriptor that was detached (and whose number may be
 *    reused) carries an older generation in its tag and is dropped.
 *  - EMFILE/ENFILE on accept: the connection stays in the kernel's backlog, the listener stays
 *    readable, and an edge-triggered loop that simply retries would spin (a level-triggered one
 *    would spin in the kernel instead). The reactor keeps one reserved descriptor per loop
 *    (/dev/null, opened with the first accept): on EMFILE it closes the reserve, accepts and
 *    closes every connection waiting in the backlog (their clients see the connection closed
 *    instead of hanging), reopens the reserve, and completes the accept with TIDE_EMFILE once.
 *    The listener is then marked not readable, so the next accept waits for the next client and
 *    succeeds as soon as descriptors have been freed. If the reserve cannot be reopened (another
 *    thread took the slot), the error is still reported once per accept op and never retried in
 *    a loop.
 *  - Re-entrancy: an op's finish hook (core/op.h) may attach, detach or close descriptors while
 *    the reactor is walking a queue, and attaching may grow the descriptor table; the walks look
 *    the descriptor's state up again after every completion instead of holding a pointer. */
#define _GNU_SOURCE
#include "backends/backend.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backends/posix/accept_reserve.h"
#include "backends/posix/descriptor.h"
#include "backends/posix/fd_table.h"
#include "backends/posix/io.h"
#include "backends/posix/poller.h"
#include "backends/op_queue.h"
#include "core/sys/errno_map.h"
#include "tide/error.h"

typedef struct fd_state {
  tide__op_queue reads;
  tide__op_queue writes;
  uint32_t generation; /* bumped on detach; the high half of every event tag */
  uint8_t attached;
  uint8_t is_socket; /* write with send(MSG_NOSIGNAL) */
  uint8_t is_stream; /* a short transfer means the kernel buffer is empty / full */
  uint8_t readable;  /* presumed readable: try the syscall before waiting */
  uint8_t writable;
  uint8_t write_watched; /* the poller reports writability (from the first write that waited) */
  uint8_t hangup;        /* the poller reported a hang-up: short reads prove nothing any more */
} fd_state;

struct tide__backend {
  tide_loop *loop;
  tide__poller *poller;
  fd_state *fds; /* indexed by descriptor number */
  size_t fd_capacity;
  int reserve_fd; /* kept free for the EMFILE dance on accept; -1 until the first accept */
};

static uint64_t tag_of(int fd, const fd_state *fs) {
  return (uint64_t)fs->generation << 32 | (uint32_t)fd;
}

int tide__backend_open(tide_loop *loop, unsigned max_events, tide__backend **out) {
  tide__backend *b = calloc(1, sizeof *b);
  if (b == NULL)
    return TIDE_ENOMEM;
  b->loop = loop;
  b->reserve_fd = -1;
  int err = tide__poller_open(max_events, &b->poller);
  if (err != 0) {
    free(b);
    return err;
  }
  *out = b;
  return 0;
}

void tide__backend_close(tide__backend *b) {
#ifndef NDEBUG
  for (size_t fd = 0; fd < b->fd_capacity; fd++)
    assert(b->fds[fd].reads.head == NULL && b->fds[fd].writes.head == NULL);
#endif
  if (b->reserve_fd >= 0)
    close(b->reserve_fd);
  tide__poller_close(b->poller);
  free(b->fds);
  free(b);
}

static fd_state *state_of(tide__backend *b, tide__fd fd) {
  if (fd < 0 || (size_t)fd >= b->fd_capacity || !b->fds[fd].attached)
    return NULL;
  return &b->fds[fd];
}

static int reserve_fd_slot(tide__backend *b, size_t fd) {
  fd_state *fds = tide__fd_table_fit(b->fds, &b->fd_capacity, sizeof *fds, fd);
  if (fds == NULL)
    return TIDE_ENOMEM;
  b->fds = fds;
  return 0;
}

int tide__backend_attach(tide__backend *b, tide__fd fd) {
  if (fd < 0 || fd > INT32_MAX)
    return TIDE_EINVAL;
  int err = reserve_fd_slot(b, (size_t)fd);
  if (err != 0)
    return err;
  fd_state *fs = &b->fds[fd];
  if (fs->attached)
    return TIDE_EALREADY;
  struct stat st;
  if (fstat((int)fd, &st) != 0)
    return tide__err_from_errno(errno);
  /* Where sends cannot say MSG_NOSIGNAL (macOS), the descriptor itself must (descriptor.h). */
  if (tide__fd_no_sigpipe((int)fd, S_ISSOCK(st.st_mode)) != 0)
    return tide__err_from_errno(errno);
  int flags = fcntl((int)fd, F_GETFL);
  if (flags < 0 || (!(flags & O_NONBLOCK) && fcntl((int)fd, F_SETFL, flags | O_NONBLOCK) != 0))
    return tide__err_from_errno(errno);
  err = tide__poller_add(b->poller, (int)fd, tag_of((int)fd, fs));
  if (err != 0) {
    /* A failed attach leaves the caller's descriptor as it found it. */
    if (!(flags & O_NONBLOCK))
      (void)fcntl((int)fd, F_SETFL, flags);
    return err;
  }
  fs->attached = 1;
  fs->is_socket = S_ISSOCK(st.st_mode);
  fs->is_stream = (uint8_t)tide__io_is_byte_stream((int)fd, &st);
  fs->readable = 1;
  fs->writable = 1;
  fs->write_watched = 0;
  fs->hangup = 0;
  return 0;
}

/* What a cancelled op completes with: one that already moved bytes (a partly done write or
 * exact read) reports them, so no caller loses track of data. */
static intptr_t cancelled_result(const tide__op *op) {
  return op->done > 0 ? (intptr_t)op->done : TIDE_ECANCELED;
}

/* Cancels the ops of one queue. A finish hook may detach the same descriptor meanwhile (which
 * empties the queue itself), so the queue is re-read through `b` on every round. */
static void cancel_queue(tide__backend *b, size_t fd, int read_side) {
  while (fd < b->fd_capacity) {
    tide__op_queue *q = read_side ? &b->fds[fd].reads : &b->fds[fd].writes;
    if (q->head == NULL)
      return;
    tide__op *op = tide__op_queue_pop(q);
    tide__op_complete(op, cancelled_result(op));
  }
}

int tide__backend_detach(tide__backend *b, tide__fd fd) {
  fd_state *fs = state_of(b, fd);
  if (fs == NULL)
    return TIDE_EBADF;
  /* Detached first, so a finish hook run by the cancellations sees the descriptor gone. */
  fs->attached = 0;
  fs->generation++;
  /* Removal can only fail if the caller closed fd before detaching; the state is dropped either
   * way, and the generation bump above discards whatever the kernel still reports for it. */
  (void)tide__poller_remove(b->poller, (int)fd);
  cancel_queue(b, (size_t)fd, 1);
  cancel_queue(b, (size_t)fd, 0);
  return 0;
}

/* ---- accept, with the reserved-descriptor answer to EMFILE --------------------------------- */

static tide__io_outcome try_accept(tide__backend *b, int fd, tide__op *op, intptr_t *result) {
  tide__accept_reserve_open(&b->reserve_fd);
  for (;;) {
    socklen_t alen = op->addrlen;
    int c = tide__socket_accept(fd, op->addr, op->addr ? &alen : NULL, 1);
    if (c >= 0) {
      if (op->addr)
        op->addrlen = (uint32_t)alen;
      int err = tide__backend_attach(b, c);
      if (err != 0)
        close(c);
      *result = err != 0 ? err : c;
      return TIDE__IO_DONE;
    }
    int err = errno;
    if (err == EINTR || err == ECONNABORTED) /* a client that gave up: take the next one */
      continue;
    if (err == EAGAIN || err == EWOULDBLOCK)
      return TIDE__IO_WAIT;
    *result = tide__err_from_errno(err);
    if (err == EMFILE || err == ENFILE) {
      (void)tide__accept_reserve_shed(&b->reserve_fd, fd, NULL);
      return TIDE__IO_DONE_DRAINED; /* reported once; the next accept waits for a new client */
    }
    return TIDE__IO_DONE;
  }
}

/* ---- running queues ------------------------------------------------------------------------ */

static tide__io_target target_of(const fd_state *fs, int fd) {
  /* After a hang-up, a short read no longer means "wait for the next edge": the end of file
   * behind the last bytes raises none. */
  return (tide__io_target){
      .fd = fd, .is_socket = fs->is_socket, .is_stream = fs->is_stream && !fs->hangup};
}

/* Performs queued read-side ops until one would block. */
static void run_reads(tide__backend *b, int fd) {
  for (;;) {
    fd_state *fs = state_of(b, fd);
    if (fs == NULL || fs->reads.head == NULL || !fs->readable)
      return;
    tide__op *op = fs->reads.head;
    intptr_t result = 0;
    tide__io_target t = target_of(fs, fd);
    tide__io_outcome outcome = tide__io_is_plain_read(op)    ? tide__io_read_plain(&t, op, &result)
                               : op->kind == TIDE__OP_ACCEPT ? try_accept(b, fd, op, &result)
                                                             : tide__io_try_read(&t, op, &result);
    fs = &b->fds[fd]; /* accept attached a descriptor: the table may have moved */
    if (outcome != TIDE__IO_DONE)
      fs->readable = 0;
    if (outcome == TIDE__IO_WAIT)
      return;
    tide__op_queue_pop(&fs->reads);
    tide__op_complete(op, result);
  }
}

/* fd's writes must now wait for writability, which the poller reports only once asked
 * (poller.h): asks it the first time. Returns 0, or the poller's error (the descriptor was closed
 * or replaced behind the reactor's back, or the kernel refused), in which case fd stays presumed
 * writable (no event would ever say otherwise) and the caller fails the writes that would have
 * waited. */
static int wait_for_writable(tide__backend *b, int fd, fd_state *fs) {
  if (!fs->write_watched) {
    int err = tide__poller_watch_writes(b->poller, fd, tag_of(fd, fs));
    if (err != 0)
      return err;
    fs->write_watched = 1;
  }
  fs->writable = 0;
  return 0;
}

/* Completes every queued write-side op with `err`. */
static void fail_writes(fd_state *fs, int err) {
  tide__op *now = fs->writes.head;
  fs->writes = (tide__op_queue){0};
  while (now != NULL) {
    tide__op *op = now;
    now = op->next;
    op->next = NULL;
    tide__op_complete(op, err);
  }
}

/* Performs queued write-side ops, each to its last byte, until one would block. */
static void run_writes(tide__backend *b, int fd) {
  for (;;) {
    fd_state *fs = state_of(b, fd);
    if (fs == NULL || fs->writes.head == NULL || !fs->writable)
      return;
    tide__op *op = fs->writes.head;
    intptr_t result = 0;
    tide__io_target t = target_of(fs, fd);
    tide__io_outcome outcome = tide__io_try_write(&t, op, &result);
    if (outcome != TIDE__IO_DONE) {
      int err = wait_for_writable(b, fd, fs);
      if (err != 0 && outcome == TIDE__IO_WAIT) {
        /* The writes behind this one would leave a hole where its rest should have gone:
         * they fail with it, as after any error in a write (io.c). */
        fail_writes(fs, err);
        return;
      }
    }
    if (outcome == TIDE__IO_WAIT)
      return;
    tide__op_queue_pop(&fs->writes);
    tide__op_complete(op, result);
  }
}

/* An op with nothing queued ahead of it, on a direction presumed ready (the usual write, and a
 * read soon after data arrived), is performed here at once: what run_reads/run_writes would do
 * for it, without the queue round trip. Accepts take the general path (the EMFILE dance). */
int tide__backend_submit(tide__backend *b, tide__op *op) {
  fd_state *fs = state_of(b, op->fd);
  if (fs == NULL)
    return TIDE_EBADF;
  int read_side = tide__op_is_read_side(op->kind);
  tide__op_queue *q = read_side ? &fs->reads : &fs->writes;
  uint8_t *ready = read_side ? &fs->readable : &fs->writable;
  if (q->head != NULL || !*ready) {
    tide__op_queue_push(q, op); /* behind the others, or waiting for readiness */
    return 0;
  }
  if (op->kind == TIDE__OP_ACCEPT) {
    tide__op_queue_push(q, op);
    run_reads(b, (int)op->fd);
    return 0;
  }
  intptr_t result = 0;
  tide__io_target t = target_of(fs, (int)op->fd);
  tide__io_outcome outcome =
      read_side ? tide__io_try_read(&t, op, &result) : tide__io_try_write(&t, op, &result);
  if (outcome != TIDE__IO_DONE && read_side) {
    fs->readable = 0;
  } else if (outcome != TIDE__IO_DONE) {
    int err = wait_for_writable(b, (int)op->fd, fs);
    if (err != 0 && outcome == TIDE__IO_WAIT) {
      outcome = TIDE__IO_DONE;
      result = err; /* as any error after part of a write (io.c) */
    }
  }
  if (outcome == TIDE__IO_WAIT)
    tide__op_queue_push(q, op);
  else
    tide__op_complete(op, result);
  return 0;
}

/* The same attempt as submit's direct path, for a write the caller keeps (a task op): no queue,
 * no completion. */
int tide__backend_try_now(tide__backend *b, tide__op *op, intptr_t *result) {
  fd_state *fs = state_of(b, op->fd);
  if (fs == NULL || (op->kind != TIDE__OP_WRITE && op->kind != TIDE__OP_WRITEV) ||
      fs->writes.head != NULL || !fs->writable)
    return 0;
  tide__io_target t = target_of(fs, (int)op->fd);
  tide__io_outcome outcome = tide__io_is_plain_send(&t, op) ? tide__io_send_plain(&t, op, result)
                                                            : tide__io_try_write(&t, op, result);
  /* If writability cannot be watched, fd stays presumed writable: the submit that follows a
   * WAIT tries again and fails the write with the poller's error. */
  if (outcome != TIDE__IO_DONE)
    (void)wait_for_writable(b, (int)op->fd, fs);
  return outcome != TIDE__IO_WAIT;
}

void tide__backend_cancel(tide__backend *b, tide__op *op) {
  fd_state *fs = state_of(b, op->fd);
  if (fs == NULL)
    return;
  tide__op_queue *q = tide__op_is_read_side(op->kind) ? &fs->reads : &fs->writes;
  /* An op in the queue has either transferred nothing (a plain read is one syscall, performed
   * completely or not at all) or reports what it transferred (cancelled_result), so unlinking it
   * loses no data. */
  if (tide__op_queue_unlink(q, op))
    tide__op_complete(op, cancelled_result(op));
}

void tide__backend_cancel_all(tide__backend *b) {
  for (size_t fd = 0; fd < b->fd_capacity; fd++) {
    cancel_queue(b, fd, 1);
    cancel_queue(b, fd, 0);
  }
}

int tide__backend_poll(tide__backend *b, int64_t timeout_ns) {
  tide__poll_event *events;
  int n = tide__poller_wait(b->poller, timeout_ns, &events);
  for (int i = 0; i < n; i++) {
    int fd = (int)(uint32_t)events[i].tag;
    fd_state *fs = state_of(b, fd);
    if (fs == NULL || tag_of(fd, fs) != events[i].tag)
      continue; /* stale: the descriptor was detached after the kernel queued this event */
    unsigned ev = events[i].events;
    if (ev & TIDE__POLL_HANGUP)
      fs->hangup = 1;
    if (ev & TIDE__POLL_WRITABLE)
      fs->writable = 1; /* here or after the reads alike: a completion cannot submit (op.h) */
    if (ev & TIDE__POLL_READABLE) {
      fs->readable = 1;
      if (fs->reads.head != NULL) {
        run_reads(b, fd);
        fs = state_of(b, fd); /* a completion may have detached it, or grown the table */
        if (fs == NULL || tag_of(fd, fs) != events[i].tag)
          continue;
      }
    }
    if ((ev & TIDE__POLL_WRITABLE) && fs->writes.head != NULL)
      run_writes(b, fd);
  }
  return n;
}

int tide__backend_wake(tide__backend *b) {
  return tide__poller_wake(b->poller);
}
