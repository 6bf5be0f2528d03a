/* backends/posix/io.h — one non-blocking attempt at an op's syscall, for the reactor.
 *
 * The reactor (reactor.c) owns the queues and the readiness bookkeeping; io.c owns the syscalls.
 * Each attempt either finishes the op (with its result) or reports that the descriptor would
 * block, and says what it learned about readiness on the way. */
#ifndef TIDE_POSIX_IO_H
#define TIDE_POSIX_IO_H

#include <errno.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backends/posix/descriptor.h"
#include "core/op.h"
#include "core/sys/errno_map.h"

typedef enum tide__io_outcome {
  TIDE__IO_WAIT,        /* would block: the op stays queued; the direction is not ready */
  TIDE__IO_DONE,        /* finished; the direction may still be ready */
  TIDE__IO_DONE_DRAINED /* finished, and the direction is known not ready now (a stream read
                           came back short: the kernel buffer is empty, and the next arrival
                           brings a fresh edge) */
} tide__io_outcome;

/* What the reactor knows about a descriptor that the syscalls need. */
typedef struct tide__io_target {
  int fd;
  uint8_t is_socket; /* send with MSG_NOSIGNAL; otherwise guard against SIGPIPE (io.c) */
  uint8_t is_stream; /* a byte stream where a short transfer means "buffer empty/full" */
} tide__io_target;

/* Whether the descriptor (its fstat in `st`) is a byte stream in the sense of tide__io_target's
 * is_stream: a SOCK_STREAM socket or a pipe/FIFO. Not a terminal: a canonical-mode read returns
 * one line even when more are buffered. */
int tide__io_is_byte_stream(int fd, const struct stat *st);

/* Attempts the read-side kinds READ, READ_EXACT and RECVFROM. */
tide__io_outcome tide__io_try_read(const tide__io_target *t, tide__op *op, intptr_t *result);

/* Attempts the write-side kinds WRITE, WRITEV, SENDTO, CONNECT and SHUTDOWN. */
tide__io_outcome tide__io_try_write(const tide__io_target *t, tide__op *op, intptr_t *result);

/* ---- the two attempts nearly every stream op is, inline for the reactor's hot paths ---------
 * A task echoing over a socket reads and sends once a round trip; through the general functions
 * above each costs a call into another file and a walk past the other kinds' cases. The outcomes
 * are the general functions' own (they call these too). */

static inline int tide__io_would_block(int err) {
  return err == EAGAIN || err == EWOULDBLOCK;
}

/* Not an outcome: what tide__io_after_error returns for EINTR, "make the same call again". */
enum { TIDE__IO_RETRY = -1 };

/* What a failed system call's errno makes of an attempt: TIDE__IO_RETRY (a signal interrupted it),
 * TIDE__IO_WAIT (it would block), or TIDE__IO_DONE with the error in *result. */
static inline int tide__io_after_error(int err, intptr_t *result) {
  if (err == EINTR)
    return TIDE__IO_RETRY;
  if (tide__io_would_block(err))
    return TIDE__IO_WAIT;
  *result = tide__err_from_errno(err);
  return TIDE__IO_DONE;
}

/* A READ into a non-empty buffer: one read(). */
static inline int tide__io_is_plain_read(const tide__op *op) {
  return op->kind == TIDE__OP_READ && op->len > 0;
}

static inline tide__io_outcome tide__io_read_plain(const tide__io_target *t, tide__op *op,
                                                   intptr_t *result) {
  for (;;) {
    ssize_t n = read(t->fd, op->buf, op->len);
    if (n >= 0) {
      *result = (intptr_t)n;
      return t->is_stream && n > 0 && (size_t)n < op->len ? TIDE__IO_DONE_DRAINED : TIDE__IO_DONE;
    }
    int step = tide__io_after_error(errno, result);
    if (step != TIDE__IO_RETRY)
      return (tide__io_outcome)step;
  }
}

/* A WRITE on a socket: send() until done, or until a short send says the buffer is full. */
static inline int tide__io_is_plain_send(const tide__io_target *t, const tide__op *op) {
  return op->kind == TIDE__OP_WRITE && t->is_socket;
}

static inline tide__io_outcome tide__io_send_plain(const tide__io_target *t, tide__op *op,
                                                   intptr_t *result) {
  for (;;) {
    size_t left = op->len - op->done;
    if (left == 0) {
      *result = (intptr_t)op->len;
      return TIDE__IO_DONE;
    }
    ssize_t n = send(t->fd, (const char *)op->buf + op->done, left, TIDE__SEND_FLAGS);
    if (n < 0) {
      int step = tide__io_after_error(errno, result);
      if (step == TIDE__IO_RETRY)
        continue;
      return (tide__io_outcome)step;
    }
    op->done += (size_t)n;
    if (op->done < op->len && t->is_stream)
      return TIDE__IO_WAIT; /* short: the kernel buffer is full, wait for the next edge */
  }
}

#endif
