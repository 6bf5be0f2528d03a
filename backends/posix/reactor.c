/* backends/posix/reactor.c — the completion backend (backends/backend.h) for readiness pollers.
 *
 * epoll and kqueue say "this descriptor may be readable"; the core wants "this read finished with
 * 42 bytes". The reactor bridges the two: it keeps, per descriptor, a FIFO of pending reads and a
 * FIFO of pending writes, performs the non-blocking syscall when the poller says the descriptor is
 * ready, and completes the op with the result. Nothing here is epoll-specific.
 *
 * The POSIX pitfalls it handles:
 *  - EINTR: retried at once; it means a signal interrupted the syscall, not that it failed.
 *  - EAGAIN: the descriptor is not ready after all; the op stays queued and the reactor records
 *    that the direction is not ready, so it waits for the next edge instead of retrying.
 *  - Partial writes: a write op keeps its progress (op->done) and stays at the head of its queue
 *    until every byte is written, so writes queued behind it never interleave with its bytes.
 *  - SIGPIPE: writing to a socket whose peer has gone raises SIGPIPE by default, which kills the
 *    process. Sockets are written with send(MSG_NOSIGNAL), which reports EPIPE instead, without
 *    changing any process-wide signal disposition. (Pipes have no such flag; the pipe API of the
 *    networking layer deals with them.)
 *  - Readiness that nobody has seen yet: a freshly attached descriptor, or one whose last syscall
 *    did not hit EAGAIN, is presumed ready, so a read is tried at once instead of paying a poll
 *    round trip first. Edge-triggered polling makes this necessary as well as fast: an edge that
 *    arrived while no op was queued is remembered here, not re-reported by the kernel.
 *  - Stale events: an event fetched for a descriptor that was detached (and whose number may be
 *    reused) carries an older generation in its tag and is dropped. */
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

#include "backends/posix/poller.h"
#include "core/sys/errno_map.h"
#include "tide/error.h"

typedef struct op_queue {
  tide__op *head;
  tide__op *tail;
} op_queue;

typedef struct fd_state {
  op_queue reads;
  op_queue writes;
  uint32_t generation; /* bumped on detach; the high half of every event tag */
  uint8_t attached;
  uint8_t is_socket;   /* write with send(MSG_NOSIGNAL) */
  uint8_t readable;    /* presumed readable: try the syscall before waiting */
  uint8_t writable;
} fd_state;

struct tide__backend {
  tide_loop *loop;
  tide__poller *poller;
  fd_state *fds; /* indexed by descriptor number */
  size_t fd_capacity;
};

static uint64_t tag_of(int fd, const fd_state *fs) {
  return (uint64_t)fs->generation << 32 | (uint32_t)fd;
}

int tide__backend_open(tide_loop *loop, unsigned max_events, tide__backend **out) {
  tide__backend *b = calloc(1, sizeof *b);
  if (b == NULL)
    return TIDE_ENOMEM;
  b->loop = loop;
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
  if (fd < b->fd_capacity)
    return 0;
  size_t capacity = b->fd_capacity ? b->fd_capacity : 64;
  while (capacity <= fd)
    capacity *= 2;
  fd_state *fds = realloc(b->fds, capacity * sizeof *fds);
  if (fds == NULL)
    return TIDE_ENOMEM;
  memset(fds + b->fd_capacity, 0, (capacity - b->fd_capacity) * sizeof *fds);
  b->fds = fds;
  b->fd_capacity = capacity;
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
  fs->readable = 1;
  fs->writable = 1;
  return 0;
}

static void push(op_queue *q, tide__op *op) {
  op->next = NULL;
  if (q->tail)
    q->tail->next = op;
  else
    q->head = op;
  q->tail = op;
}

static tide__op *pop(op_queue *q) {
  tide__op *op = q->head;
  q->head = op->next;
  if (q->head == NULL)
    q->tail = NULL;
  op->next = NULL;
  return op;
}

/* Unlinks `op` if it is in `q`; returns 1 if it was. Queues are short (usually one op). */
static int unlink_op(op_queue *q, tide__op *op) {
  tide__op *prev = NULL;
  for (tide__op *it = q->head; it != NULL; prev = it, it = it->next) {
    if (it != op)
      continue;
    if (prev)
      prev->next = op->next;
    else
      q->head = op->next;
    if (q->tail == op)
      q->tail = prev;
    op->next = NULL;
    return 1;
  }
  return 0;
}

/* What a cancelled op completes with: a write that already moved bytes reports them. */
static intptr_t cancelled_result(const tide__op *op) {
  return op->done > 0 ? (intptr_t)op->done : TIDE_ECANCELED;
}

static void cancel_all(op_queue *q) {
  while (q->head != NULL) {
    tide__op *op = pop(q);
    tide__op_complete(op, cancelled_result(op));
  }
}

int tide__backend_detach(tide__backend *b, tide__fd fd) {
  fd_state *fs = state_of(b, fd);
  if (fs == NULL)
    return TIDE_EBADF;
  cancel_all(&fs->reads);
  cancel_all(&fs->writes);
  /* Removal can only fail if the caller closed fd before detaching; the state is dropped either
   * way, and the generation bump below discards whatever the kernel still reports for it. */
  (void)tide__poller_remove(b->poller, (int)fd);
  fs->attached = 0;
  fs->generation++;
  return 0;
}

/* Performs queued reads until one would block. */
static void run_reads(fd_state *fs, int fd) {
  while (fs->reads.head != NULL) {
    tide__op *op = fs->reads.head;
    ssize_t n = op->len ? read(fd, op->buf, op->len) : 0;
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      fs->readable = 0;
      return;
    }
    pop(&fs->reads);
    tide__op_complete(op, n >= 0 ? (intptr_t)n : tide__err_from_errno(errno));
  }
}

static ssize_t write_some(const fd_state *fs, int fd, const void *buf, size_t len) {
  if (fs->is_socket)
    return send(fd, buf, len, MSG_NOSIGNAL);
  return write(fd, buf, len);
}

/* Performs queued writes, each to its last byte, until one would block. */
static void run_writes(fd_state *fs, int fd) {
  while (fs->writes.head != NULL) {
    tide__op *op = fs->writes.head;
    if (op->done < op->len) {
      ssize_t n = write_some(fs, fd, (const char *)op->buf + op->done, op->len - op->done);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        fs->writable = 0;
        return;
      }
      if (n < 0) {
        pop(&fs->writes);
        tide__op_complete(op, tide__err_from_errno(errno));
        continue;
      }
      op->done += (size_t)n;
      if (op->done < op->len)
        continue;
    }
    pop(&fs->writes);
    tide__op_complete(op, (intptr_t)op->len);
  }
}

int tide__backend_submit(tide__backend *b, tide__op *op) {
  fd_state *fs = state_of(b, op->fd);
  if (fs == NULL)
    return TIDE_EBADF;
  switch (op->kind) {
    case TIDE__OP_READ:
      push(&fs->reads, op);
      if (fs->readable && fs->reads.head == op)
        run_reads(fs, (int)op->fd);
      return 0;
    case TIDE__OP_WRITE:
      push(&fs->writes, op);
      if (fs->writable && fs->writes.head == op)
        run_writes(fs, (int)op->fd);
      return 0;
  }
  return TIDE_EINVAL;
}

void tide__backend_cancel(tide__backend *b, tide__op *op) {
  fd_state *fs = state_of(b, op->fd);
  if (fs == NULL)
    return;
  op_queue *q = op->kind == TIDE__OP_READ ? &fs->reads : &fs->writes;
  /* A read in the queue has not transferred anything: each read is one syscall, performed
   * completely or not at all, so unlinking it loses no data. */
  if (unlink_op(q, op))
    tide__op_complete(op, cancelled_result(op));
}

void tide__backend_cancel_all(tide__backend *b) {
  for (size_t fd = 0; fd < b->fd_capacity; fd++) {
    cancel_all(&b->fds[fd].reads);
    cancel_all(&b->fds[fd].writes);
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
    if (events[i].events & TIDE__POLL_READABLE) {
      fs->readable = 1;
      run_reads(fs, fd);
    }
    if (events[i].events & TIDE__POLL_WRITABLE) {
      fs->writable = 1;
      run_writes(fs, fd);
    }
  }
  return n;
}

int tide__backend_wake(tide__backend *b) {
  return tide__poller_wake(b->poller);
}
