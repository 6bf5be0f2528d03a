/* backends/posix/io.h — one non-blocking attempt at an op's syscall, for the reactor.
 *
 * The reactor (reactor.c) owns the queues and the readiness bookkeeping; io.c owns the syscalls.
 * Each attempt either finishes the op (with its result) or reports that the descriptor would
 * block, and says what it learned about readiness on the way. */
#ifndef TIDE_POSIX_IO_H
#define TIDE_POSIX_IO_H

#include <stdint.h>

#include "core/op.h"

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

/* Attempts the read-side kinds READ, READ_EXACT and RECVFROM. */
tide__io_outcome tide__io_try_read(const tide__io_target *t, tide__op *op, intptr_t *result);

/* Attempts the write-side kinds WRITE, WRITEV, SENDTO, CONNECT and SHUTDOWN. */
tide__io_outcome tide__io_try_write(const tide__io_target *t, tide__op *op, intptr_t *result);

#endif
