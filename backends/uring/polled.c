/* backends/uring/polled.c — descriptors that are not sockets (pipes, FIFOs, terminals, character
 * devices wrapped with tide_stream_open_fd), and CONNECT on sockets: readiness through
 * IORING_OP_POLL_ADD, syscalls the same non-blocking ones as the epoll reactor's
 * (backends/posix/io.c, shared, not copied). tide__uring_poll also serves native socket ops that
 * came back "not ready" (sockets.c).
 *
 * Why not IORING_OP_READ/WRITE on them:
 *  - io_uring honours O_NONBLOCK on read/write requests: on a non-blocking pipe they complete
 *    with -EAGAIN at once instead of waiting. tide's descriptors are non-blocking (they may be
 *    shared with code that expects it, and wrapped descriptors come that way), and clearing the
 *    flag on a descriptor the caller owns would change it for every other user of the open file.
 *  - A write to a pipe whose reader has gone raises SIGPIPE at the writing task, and write has no
 *    MSG_NOSIGNAL: io.c blocks the signal around its own write(), which it cannot do around a
 *    write the kernel performs inside io_uring_enter (or on an io-wq worker thread).
 * So the op tries its syscall at once (the descriptor is presumed ready, like the reactor's), and
 * only when that would block waits for a one-shot POLL_ADD on its direction, then tries again.
 * Pipes are the slow path in every benchmark of interest; sockets never come here. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backends/posix/descriptor.h"
#include "backends/posix/io.h"
#include "backends/uring/uring.h"
#include "core/sys/errno_map.h"

/* poll32_events is read by the kernel as a little-endian pair of 16-bit halves; big-endian
 * hosts swap them first, as liburing does. */
static uint32_t poll_mask(uint32_t events) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  return events << 16 | events >> 16;
#else
  return events;
#endif
}

void tide__uring_poll(tide__backend *b, tide__op *op) {
  op->flags |= TIDE__URING_POLLING;
  struct io_uring_sqe *sqe = tide__uring_sqe(b, op);
  if (sqe == NULL)
    return; /* in the backlog, still POLLING: the drain re-polls a socket, retries the rest */
  sqe->opcode = IORING_OP_POLL_ADD;
  sqe->fd = (int32_t)op->fd;
  sqe->poll32_events = poll_mask(tide__op_is_read_side(op->kind) ? POLLIN : POLLOUT);
}

tide__uring_step tide__uring_start_polled(tide__backend *b, tide__uring_fd *fs, tide__op *op,
                                          intptr_t *result) {
  int read_side = tide__op_is_read_side(op->kind);
  if (op->kind == TIDE__OP_ACCEPT) {
    /* Not a socket: accept() reports why (ENOTSOCK) without a descriptor to attach. */
    int c = tide__socket_accept((int)op->fd, NULL, NULL, 1);
    *result = c < 0 ? tide__err_from_errno(errno) : TIDE_EBADF;
    if (c >= 0)
      close(c);
    return TIDE__URING_DONE;
  }
  tide__io_target t = {.fd = (int)op->fd, .is_socket = fs->is_socket, .is_stream = fs->is_stream};
  tide__io_outcome outcome =
      read_side ? tide__io_try_read(&t, op, result) : tide__io_try_write(&t, op, result);
  if (outcome != TIDE__IO_WAIT)
    return TIDE__URING_DONE;
  tide__uring_poll(b, op);
  return TIDE__URING_PENDING;
}
