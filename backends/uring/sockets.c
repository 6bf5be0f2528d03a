/* backends/uring/sockets.c — the native io_uring ops on sockets: how each op kind becomes an SQE
 * (RECV, SEND, RECVMSG, SENDMSG, ACCEPT, SHUTDOWN) and what its CQE means. CONNECT is not here:
 * it takes polled.c's path on sockets too (backend.c says why).
 *
 * io_uring pitfalls handled here:
 *  - A CQE's res is a byte count or a negated errno, never errno itself.
 *  - Partial transfers are normal: a SEND on a stream socket may move fewer bytes than asked (the
 *    socket buffer filled while the request waited), and a RECV returns what was there. Writes and
 *    READ_EXACT keep their progress in op->done and are issued again for the rest, from the head
 *    of their queue, so nothing overtakes them.
 *  - SIGPIPE: SEND and SENDMSG carry MSG_NOSIGNAL. (Pipes have no such flag, which is one reason
 *    they take polled.c's path.)
 *  - The kernel reads a SENDMSG/RECVMSG msghdr and its iovec when it issues the request, and may
 *    issue it again after a poll wake-up (kernels before 6.10 did not copy them at submission):
 *    they live in the op (backend_op.h), untouched until the CQE. A WRITEV's array is the
 *    caller's, which lives as long; a remainder that starts inside one of its buffers is sent
 *    with a SEND of that buffer's tail first, so the caller's array is never modified.
 *  - sqe->len is 32 bits: one request moves at most MAX_CHUNK bytes, the rest follows; a msghdr
 *    takes at most IOV_MAX buffers (more fail with EMSGSIZE), the rest follow too.
 *  - ACCEPT: the new descriptor is made non-blocking and close-on-exec by the kernel
 *    (accept_flags) and attached before the op completes.
 *  - ACCEPT under EMFILE/ENFILE: the kernel takes a descriptor number before it looks for a
 *    connection, so the ACCEPT fails at once even with nobody waiting, and re-issuing it would
 *    fail at once, forever. The answer is the reactor's (backends/posix/accept_reserve.h): one
 *    reserved descriptor per loop, given up to accept and close every waiting connection (their
 *    clients see the connection closed instead of hanging), then taken back. The op completes
 *    with the error when a connection was shed (once per shed); with nobody waiting it waits for
 *    POLLIN on the listener and the ACCEPT is issued again when a client arrives. Without a
 *    reserve (the process was out of descriptors before its first accept, or another thread took
 *    the slot) a waiting client can be neither accepted nor shed: that is reported once, and the
 *    listener's accepts then retry every ACCEPT_BACK_OFF_NS (a poll would fire at once). A
 *    cancelled or orphaned accept sheds nothing. Nothing spins.
 *  - -EAGAIN on a RECV, SEND, RECVMSG, SENDMSG or ACCEPT (io-wq may honour the O_NONBLOCK the
 *    backend sets, on some kernels) means "not ready", not an error: the op waits for a POLL_ADD
 *    on its direction and is issued again.
 *  - ECONNABORTED on accept is a client that gave up before being accepted: issued again. EINTR
 *    (a request interrupted in an io-wq worker) likewise; a cancelled op is not re-issued
 *    (backend.c checks). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stddef.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backends/posix/accept_reserve.h"
#include "backends/posix/descriptor.h"
#include "backends/uring/memcheck.h"
#include "backends/uring/uring.h"
#include "core/sys/errno_map.h"

_Static_assert(sizeof(tide__iov) == sizeof(struct iovec), "tide__iov is struct iovec");
_Static_assert(offsetof(tide__iov, base) == offsetof(struct iovec, iov_base), "iov_base");
_Static_assert(offsetof(tide__iov, len) == offsetof(struct iovec, iov_len), "iov_len");
_Static_assert(sizeof(socklen_t) == sizeof(uint32_t), "op->addrlen is a socklen_t");

static const size_t MAX_CHUNK = (size_t)1 << 30;

/* How long a stuck listener's accept waits between tries (finish_accept): long enough not to
 * spin, short enough that a freed descriptor is used soon. */
static const int64_t ACCEPT_BACK_OFF_NS = 10 * 1000 * 1000;

static unsigned chunk(size_t n) {
  return (unsigned)(n < MAX_CHUNK ? n : MAX_CHUNK);
}

static intptr_t error_of(int res) {
  return tide__err_from_errno(-res);
}

/* ---- starting ------------------------------------------------------------------------------ */

static void prep(struct io_uring_sqe *sqe, int opcode, tide__fd fd, const void *addr,
                 unsigned len) {
  sqe->opcode = (uint8_t)opcode;
  sqe->fd = (int32_t)fd;
  sqe->addr = (uint64_t)(uintptr_t)addr;
  sqe->len = len;
}

/* The msghdr RECVMSG and SENDMSG read for a datagram op: its one buffer, and the address `name`
 * (op->addrlen bytes of it; NULL: none). Both live in the op, which outlasts the SQE. */
static struct msghdr *one_buffer_msg(tide__op *op, void *name) {
  op->backend.iov = (struct iovec){.iov_base = op->buf, .iov_len = op->len};
  op->backend.msg = (struct msghdr){.msg_name = name,
                                    .msg_namelen = name != NULL ? op->addrlen : 0,
                                    .msg_iov = &op->backend.iov,
                                    .msg_iovlen = 1};
  return &op->backend.msg;
}

static tide__uring_step start_read(tide__backend *b, tide__op *op, intptr_t *result) {
  if (op->kind == TIDE__OP_READ_EXACT && op->done == op->len) {
    *result = (intptr_t)op->done;
    return TIDE__URING_DONE;
  }
  if (op->len == 0 && op->kind != TIDE__OP_RECVFROM) {
    *result = 0; /* nothing asked, nothing read: a zero-length read cannot see end of file */
    return TIDE__URING_DONE;
  }
  struct io_uring_sqe *sqe = tide__uring_sqe(b, op);
  if (sqe == NULL)
    return TIDE__URING_PENDING;
  if (op->kind == TIDE__OP_RECVFROM) {
    prep(sqe, IORING_OP_RECVMSG, op->fd, one_buffer_msg(op, op->addr), 1);
    return TIDE__URING_PENDING;
  }
  prep(sqe, IORING_OP_RECV, op->fd, (char *)op->buf + op->done, chunk(op->len - op->done));
  return TIDE__URING_PENDING;
}

/* A WRITEV's remainder: the tail of a partly sent buffer alone (SEND), or the whole buffers from
 * the next one on (SENDMSG over the caller's array). */
static void prep_writev(struct io_uring_sqe *sqe, tide__op *op) {
  tide__iov *v = op->buf;
  size_t skip = op->done;
  size_t i = 0;
  while (i < op->len && v[i].len <= skip)
    skip -= v[i++].len;
  if (skip > 0) {
    prep(sqe, IORING_OP_SEND, op->fd, (char *)v[i].base + skip, chunk(v[i].len - skip));
  } else {
    size_t count = op->len - i < IOV_MAX ? op->len - i : IOV_MAX;
    op->backend.msg = (struct msghdr){.msg_iov = (struct iovec *)&v[i], .msg_iovlen = count};
    prep(sqe, IORING_OP_SENDMSG, op->fd, &op->backend.msg, 1);
  }
  sqe->msg_flags = MSG_NOSIGNAL;
}

static tide__uring_step start_write(tide__backend *b, tide__op *op, intptr_t *result) {
  if (op->kind != TIDE__OP_SENDTO) {
    size_t total = tide__op_write_total(op);
    if (op->done == total) {
      *result = (intptr_t)total;
      return TIDE__URING_DONE;
    }
  }
  struct io_uring_sqe *sqe = tide__uring_sqe(b, op);
  if (sqe == NULL)
    return TIDE__URING_PENDING;
  if (op->kind == TIDE__OP_WRITEV) {
    prep_writev(sqe, op);
  } else if (op->kind == TIDE__OP_SENDTO) {
    prep(sqe, IORING_OP_SENDMSG, op->fd, one_buffer_msg(op, op->addr ? &op->backend.dest : NULL),
         1);
    sqe->msg_flags = MSG_NOSIGNAL;
  } else {
    prep(sqe, IORING_OP_SEND, op->fd, (const char *)op->buf + op->done, chunk(op->len - op->done));
    sqe->msg_flags = MSG_NOSIGNAL;
  }
  return TIDE__URING_PENDING;
}

tide__uring_step tide__uring_start_socket(tide__backend *b, tide__op *op, intptr_t *result) {
  struct io_uring_sqe *sqe;
  switch (op->kind) {
    case TIDE__OP_READ:
    case TIDE__OP_READ_EXACT:
    case TIDE__OP_RECVFROM:
      return start_read(b, op, result);
    case TIDE__OP_ACCEPT:
      tide__accept_reserve_open(&b->reserve_fd);
      if (b->fds[op->fd].accept_stuck && !(op->flags & TIDE__URING_BACKED_OFF)) {
        op->flags |= TIDE__URING_BACKED_OFF;
        tide__uring_back_off(b, op, ACCEPT_BACK_OFF_NS);
        return TIDE__URING_PENDING;
      }
      op->flags &= ~(uint32_t)TIDE__URING_BACKED_OFF;
      if ((sqe = tide__uring_sqe(b, op)) != NULL) {
        /* The kernel overwrites op->addrlen with the peer address's length: the room for it is
         * kept where ACCEPT has no other use for it, for finish_accept. */
        op->backend.msg.msg_namelen = op->addrlen;
        prep(sqe, IORING_OP_ACCEPT, op->fd, op->addr, 0);
        sqe->addr2 = op->addr ? (uint64_t)(uintptr_t)&op->addrlen : 0;
        sqe->accept_flags = SOCK_NONBLOCK | SOCK_CLOEXEC;
      }
      return TIDE__URING_PENDING;
    case TIDE__OP_SHUTDOWN:
      /* At the head of the write queue: every write before it has completed. */
      if ((sqe = tide__uring_sqe(b, op)) != NULL)
        prep(sqe, IORING_OP_SHUTDOWN, op->fd, NULL, SHUT_WR);
      return TIDE__URING_PENDING;
    default:
      return start_write(b, op, result);
  }
}

/* ---- finishing ------------------------------------------------------------------------------ */

static tide__uring_step finish_read(tide__op *op, int res, intptr_t *result) {
  if (res < 0) {
    /* Bytes an exact read already stored are reported; the error comes back next time. */
    *result = op->done > 0 ? (intptr_t)op->done : error_of(res);
    return TIDE__URING_DONE;
  }
  /* res <= the length asked (a datagram longer than the buffer is cut, and res says so only
   * with MSG_TRUNC, which is not asked for). */
  tide__uring_mark_filled((char *)op->buf + op->done, (size_t)res);
  if (op->kind == TIDE__OP_RECVFROM && op->addr != NULL) {
    socklen_t got = op->backend.msg.msg_namelen; /* the address's full length: may exceed room */
    tide__uring_mark_filled(op->addr, got < op->addrlen ? got : op->addrlen);
    op->addrlen = got;
  }
  if (op->kind != TIDE__OP_READ_EXACT) {
    *result = res;
    return TIDE__URING_DONE;
  }
  op->done += (size_t)res;
  if (res == 0 || op->done == op->len) { /* end of file, or complete */
    *result = (intptr_t)op->done;
    return TIDE__URING_DONE;
  }
  return TIDE__URING_PENDING;
}

static tide__uring_step finish_write(tide__op *op, int res, intptr_t *result) {
  if (res < 0) {
    *result = error_of(res);
    return TIDE__URING_DONE;
  }
  if (op->kind == TIDE__OP_SENDTO) { /* a datagram goes whole or not at all */
    *result = res;
    return TIDE__URING_DONE;
  }
  op->done += (size_t)res;
  size_t total = tide__op_write_total(op);
  if (op->done < total)
    return TIDE__URING_PENDING;
  *result = (intptr_t)total;
  return TIDE__URING_DONE;
}

/* Whether a connection waits on `listener` (a zero-timeout poll; accept would take it). */
static int client_waiting(int listener) {
  struct pollfd p = {.fd = listener, .events = POLLIN};
  return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static tide__uring_step finish_accept(tide__backend *b, tide__op *op, int res, intptr_t *result) {
  if (res >= 0) {
    if (op->addr != NULL) {
      socklen_t room = op->backend.msg.msg_namelen;
      tide__uring_mark_filled(op->addr, op->addrlen < room ? op->addrlen : room);
    }
    b->fds[op->fd].accept_stuck = 0;
    int err = tide__backend_attach(b, res);
    if (err != 0)
      close(res);
    *result = err != 0 ? err : res;
    return TIDE__URING_DONE;
  }
  if (res != -EMFILE && res != -ENFILE) {
    *result = error_of(res);
    return TIDE__URING_DONE;
  }
  /* Cancelled, or orphaned (its number may name another listener by now): it completes as
   * cancelled (backend.c), and nobody's clients are shed for it. */
  if (op->flags & (TIDE__URING_CANCEL | TIDE__URING_ORPHAN))
    return TIDE__URING_NOT_READY;
  /* The kernel takes a descriptor number before it looks for a connection, so EMFILE comes at
   * once even with nobody waiting. Only a shed connection, or a client that can be neither
   * accepted nor shed, is worth reporting; with nobody waiting the op waits for a client like
   * any accept (re-issuing at once would spin). */
  tide__uring_fd *fs = &b->fds[op->fd]; /* attached: neither cancelled nor orphaned */
  int drained = 0;
  int shed = tide__accept_reserve_shed(&b->reserve_fd, (int)op->fd, &drained);
  if (shed > 0) {
    fs->accept_stuck = 0;
    *result = error_of(res);
    return TIDE__URING_DONE;
  }
  if (drained || !client_waiting((int)op->fd))
    return TIDE__URING_NOT_READY;
  /* A client waits, and there is no reserve to shed it with. Reported once; after that the
   * listener's accepts back off and try again (start, below), since a poll would fire at once. */
  if (fs->accept_stuck)
    return TIDE__URING_PENDING;
  fs->accept_stuck = 1;
  *result = error_of(res);
  return TIDE__URING_DONE;
}

void tide__uring_back_off(tide__backend *b, tide__op *op, int64_t ns) {
  op->flags |= TIDE__URING_POLLING;
  op->backend.back_off =
      (struct __kernel_timespec){.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
  struct io_uring_sqe *sqe = tide__uring_sqe(b, op);
  if (sqe == NULL)
    return;
  prep(sqe, IORING_OP_TIMEOUT, -1, &op->backend.back_off, 1); /* count 0: a pure timeout */
}

tide__uring_step tide__uring_finish_socket(tide__backend *b, tide__op *op, int res,
                                           intptr_t *result) {
  if (res == -EINTR || (op->kind == TIDE__OP_ACCEPT && res == -ECONNABORTED))
    return TIDE__URING_PENDING; /* issue it again (unless cancelled: backend.c decides) */
  if (res == -EAGAIN && op->kind != TIDE__OP_SHUTDOWN)
    return TIDE__URING_NOT_READY; /* io-wq honoured O_NONBLOCK: wait for readiness instead */
  switch (op->kind) {
    case TIDE__OP_READ:
    case TIDE__OP_READ_EXACT:
    case TIDE__OP_RECVFROM:
      return finish_read(op, res, result);
    case TIDE__OP_ACCEPT:
      return finish_accept(b, op, res, result);
    case TIDE__OP_SHUTDOWN:
      *result = res < 0 ? error_of(res) : 0;
      return TIDE__URING_DONE;
    default:
      return finish_write(op, res, result);
  }
}
