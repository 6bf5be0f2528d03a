/* backends/posix/io.c — the non-blocking syscalls behind each op kind (see io.h).
 *
 * The POSIX pitfalls handled here:
 *  - EINTR: retried at once; a signal interrupted the call, nothing failed. A non-blocking
 *    connect() interrupted by a signal carries on asynchronously, exactly like EINPROGRESS.
 *  - EAGAIN/EWOULDBLOCK: the attempt reports TIDE__IO_WAIT and the op keeps its progress.
 *  - Partial writes: progress is kept in op->done; the rest is written on the next writable
 *    edge, and a short write on a stream means its buffer is full, so the attempt stops there
 *    instead of paying for an EAGAIN.
 *  - SIGPIPE on sockets: every socket write uses send/sendmsg/sendto with MSG_NOSIGNAL, which
 *    reports EPIPE instead of raising the signal (on macOS, which lacks the flag, the socket
 *    carries SO_NOSIGPIPE instead: descriptor.h).
 *  - SIGPIPE on pipes: write() has no such flag, and changing the process's disposition would
 *    meet every other library in the process. Instead the signal is blocked in the calling
 *    thread for the duration of the write (pthread_sigmask is per thread), and a SIGPIPE the
 *    write generated — thread-directed, so it is pending on this thread — is consumed with a
 *    zero-timeout sigtimedwait before the mask is restored. A SIGPIPE that was already pending
 *    before the write is left alone (it is somebody else's). Costs three syscalls per pipe
 *    write attempt; sockets pay nothing. Where the descriptor can refuse the signal itself
 *    (F_SETNOSIGPIPE: macOS, NetBSD) there is no guard at all (descriptor.h).
 *  - Non-blocking connect: EINPROGRESS, then a writable edge, then SO_ERROR tells the outcome.
 *    EAGAIN is a failure, not progress (a Unix listener's full backlog, no free local port).
 *    A stale writable event (epoll reports an unconnected socket as writable when it is first
 *    watched) is told apart by getpeername(), which fails with ENOTCONN until the handshake is
 *    done.
 *  - Datagrams longer than the buffer are truncated by recvfrom (the rest is discarded), as the
 *    BSD API defines; the op reports the bytes stored. */
#define _GNU_SOURCE
#include "backends/posix/io.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "backends/posix/descriptor.h"
#include "core/sys/errno_map.h"
#include "tide/error.h"

/* Set in op->flags once connect() has been called: later attempts only collect the outcome. */
enum { CONNECT_STARTED = 1u << 0 };

/* Vectored writes hand the kernel at most this many buffers per call (the rest follow). */
enum { IOV_BATCH = 64 };

int tide__io_is_byte_stream(int fd, const struct stat *st) {
  if (S_ISFIFO(st->st_mode))
    return 1;
  if (!S_ISSOCK(st->st_mode))
    return 0;
  int type = 0;
  socklen_t len = sizeof type;
  return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM;
}

/* ---- SIGPIPE guard for pipes ------------------------------------------------------------- */

#if !TIDE__PIPES_NEVER_SIGNAL /* elsewhere the descriptor says so itself (descriptor.h) */

typedef struct sigpipe_guard {
  int active; /* 1: this guard blocked SIGPIPE and must restore the mask */
  sigset_t old_mask;
} sigpipe_guard;

static void sigpipe_block(sigpipe_guard *g) {
  sigset_t pending, pipe_only;
  g->active = 0;
  /* Already pending means already blocked (a pending signal is one that could not be delivered);
   * a SIGPIPE from our write would merge with it, and it is not ours to consume. */
  if (sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE))
    return;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  g->active = pthread_sigmask(SIG_BLOCK, &pipe_only, &g->old_mask) == 0;
}

static void sigpipe_restore(sigpipe_guard *g, int got_epipe) {
  if (!g->active)
    return;
  if (got_epipe) {
    sigset_t pipe_only;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    struct timespec zero = {0, 0};
    while (sigtimedwait(&pipe_only, NULL, &zero) < 0 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &g->old_mask, NULL);
}
#endif

/* ---- reads --------------------------------------------------------------------------------- */

static ssize_t read_once(const tide__io_target *t, tide__op *op, void *buf, size_t len) {
  if (op->kind == TIDE__OP_RECVFROM) {
    socklen_t alen = op->addrlen;
    ssize_t n = recvfrom(t->fd, buf, len, 0, op->addr, op->addr ? &alen : NULL);
    if (n >= 0 && op->addr)
      op->addrlen = (uint32_t)alen;
    return n;
  }
  return read(t->fd, buf, len);
}

tide__io_outcome tide__io_try_read(const tide__io_target *t, tide__op *op, intptr_t *result) {
  if (tide__io_is_plain_read(op))
    return tide__io_read_plain(t, op, result);
  for (;;) {
    if (op->kind == TIDE__OP_READ_EXACT && op->done == op->len) {
      *result = (intptr_t)op->done;
      return TIDE__IO_DONE;
    }
    if (op->len == 0 && op->kind != TIDE__OP_RECVFROM) {
      *result = 0; /* nothing asked, nothing read: a zero-length read cannot see end of file */
      return TIDE__IO_DONE;
    }
    size_t want = op->len - op->done;
    ssize_t n = read_once(t, op, (char *)op->buf + op->done, want);
    if (n < 0) {
      int step = tide__io_after_error(errno, result);
      if (step == TIDE__IO_RETRY)
        continue;
      /* Bytes an exact read already stored are reported rather than thrown away; the error
       * shows up again (or as end of file) on the next read. */
      if (step == TIDE__IO_DONE && op->done > 0)
        *result = (intptr_t)op->done;
      return (tide__io_outcome)step;
    }
    if (op->kind != TIDE__OP_READ_EXACT) {
      *result = (intptr_t)n;
      return t->is_stream && n > 0 && (size_t)n < want ? TIDE__IO_DONE_DRAINED : TIDE__IO_DONE;
    }
    if (n == 0) { /* end of file before len bytes */
      *result = (intptr_t)op->done;
      return TIDE__IO_DONE;
    }
    op->done += (size_t)n;
    if (op->done < op->len && t->is_stream)
      return TIDE__IO_WAIT; /* short: the buffer is empty, wait for the next edge */
  }
}

/* ---- writes -------------------------------------------------------------------------------- */

/* Fills out[] with the part of op's buffers not yet written; returns the count used. */
static int iov_remaining(const tide__op *op, struct iovec *out) {
  const tide__iov *in = op->buf;
  size_t skip = op->done;
  size_t i = 0;
  while (i < op->len && in[i].len <= skip)
    skip -= in[i++].len;
  int used = 0;
  for (; i < op->len && used < IOV_BATCH; i++) {
    out[used].iov_base = (char *)in[i].base + skip;
    out[used].iov_len = in[i].len - skip;
    skip = 0;
    used++;
  }
  return used;
}

static ssize_t write_once(const tide__io_target *t, tide__op *op) {
  if (op->kind == TIDE__OP_WRITEV) {
    struct iovec v[IOV_BATCH];
    int count = iov_remaining(op, v);
    if (t->is_socket) {
      struct msghdr msg = {.msg_iov = v, .msg_iovlen = (size_t)count};
      return sendmsg(t->fd, &msg, TIDE__SEND_FLAGS);
    }
    return writev(t->fd, v, count);
  }
  const char *p = (const char *)op->buf + op->done;
  size_t len = op->len - op->done;
  if (op->kind == TIDE__OP_SENDTO)
    return sendto(t->fd, p, len, TIDE__SEND_FLAGS, op->addr, op->addr ? op->addrlen : 0);
  if (t->is_socket)
    return send(t->fd, p, len, TIDE__SEND_FLAGS);
  return write(t->fd, p, len);
}

static ssize_t write_guarded(const tide__io_target *t, tide__op *op) {
#if TIDE__PIPES_NEVER_SIGNAL
  return write_once(t, op);
#else
  if (t->is_socket)
    return write_once(t, op);
  sigpipe_guard g;
  sigpipe_block(&g);
  ssize_t n = write_once(t, op);
  int err = errno;
  sigpipe_restore(&g, n < 0 && err == EPIPE);
  errno = err;
  return n;
#endif
}

static tide__io_outcome try_transfer(const tide__io_target *t, tide__op *op, intptr_t *result) {
  size_t total = tide__op_write_total(op);
  for (;;) {
    if (op->kind != TIDE__OP_SENDTO && op->done == total) {
      *result = (intptr_t)total;
      return TIDE__IO_DONE;
    }
    ssize_t n = write_guarded(t, op);
    if (n < 0) {
      int step = tide__io_after_error(errno, result);
      if (step == TIDE__IO_RETRY)
        continue;
      return (tide__io_outcome)step;
    }
    if (op->kind == TIDE__OP_SENDTO) { /* a datagram goes whole or not at all */
      *result = n;
      return TIDE__IO_DONE;
    }
    op->done += (size_t)n;
    if (op->done < total && t->is_stream)
      return TIDE__IO_WAIT; /* short: the kernel buffer is full, wait for the next edge */
  }
}

static tide__io_outcome try_connect(const tide__io_target *t, tide__op *op, intptr_t *result) {
  if (!(op->flags & CONNECT_STARTED)) {
    if (connect(t->fd, op->addr, op->addrlen) == 0) {
      *result = 0;
      return TIDE__IO_DONE;
    }
    /* EAGAIN is not "in progress": a non-blocking AF_UNIX connect to a listener whose backlog
     * is full fails with it (and a TCP one when no ephemeral port is free), with nothing queued,
     * so waiting for writability would wait forever. It is reported. */
    if (errno != EINPROGRESS && errno != EINTR) {
      *result = tide__err_from_errno(errno);
      return TIDE__IO_DONE;
    }
    op->flags |= CONNECT_STARTED;
    return TIDE__IO_WAIT;
  }
  int so_error = 0;
  socklen_t len = sizeof so_error;
  if (getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &so_error, &len) != 0)
    so_error = errno;
  if (so_error != 0) {
    *result = tide__err_from_errno(so_error);
    return TIDE__IO_DONE;
  }
  struct sockaddr_storage peer;
  socklen_t peer_len = sizeof peer;
  if (getpeername(t->fd, (struct sockaddr *)&peer, &peer_len) != 0) {
    if (errno == ENOTCONN)
      return TIDE__IO_WAIT;
    *result = tide__err_from_errno(errno);
    return TIDE__IO_DONE;
  }
  *result = 0;
  return TIDE__IO_DONE;
}

tide__io_outcome tide__io_try_write(const tide__io_target *t, tide__op *op, intptr_t *result) {
  if (tide__io_is_plain_send(t, op))
    return tide__io_send_plain(t, op, result);
  switch (op->kind) {
    case TIDE__OP_CONNECT:
      return try_connect(t, op, result);
    case TIDE__OP_SHUTDOWN:
      *result = shutdown(t->fd, SHUT_WR) == 0 ? 0 : tide__err_from_errno(errno);
      return TIDE__IO_DONE;
    default:
      return try_transfer(t, op, result);
  }
}
