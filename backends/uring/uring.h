/* backends/uring/uring.h — what the io_uring backend's files share: the per-descriptor state,
 * the op flags, and the entry points between backend.c (the backend interface: queues, cancel,
 * detach, poll, wake), sockets.c (the native socket ops: RECV, SEND, RECVMSG, SENDMSG, ACCEPT,
 * SHUTDOWN) and polled.c (the readiness fallback: descriptors that are not sockets, CONNECT, and
 * native ops the kernel found not ready).
 * The ring itself is ring.c.
 *
 * The model, in one paragraph (the IOCP backend's, backends/iocp/iocp.h): each attached
 * descriptor has two FIFO queues, the read side and the write side of core/op.h. Only the head of
 * a queue is ever in the kernel; the ops behind it wait. That keeps per-direction ordering (a
 * READ_EXACT or a write re-issued for its remainder is never overtaken, a SHUTDOWN runs after
 * the writes before it). An issued op belongs to the kernel until its CQE is reaped: the op is
 * the CQE's user_data, so a CQE finds its op without any lookup by descriptor number, and an op
 * whose descriptor was detached (and whose number may already be reused) is an "orphan" that its
 * CQE completes without touching any descriptor state. */
#ifndef TIDE_URING_H
#define TIDE_URING_H

#include <stddef.h>
#include <stdint.h>

#include "backends/backend.h"
#include "backends/op_queue.h"
#include "backends/uring/ring.h"
#include "tide/error.h"

/* op->flags bits. The low byte belongs to backends/posix/io.c (CONNECT_STARTED), which polled.c
 * calls on the same ops. */
enum {
  TIDE__URING_ISSUED = 1u << 8,    /* an SQE for it is queued or in the kernel: its CQE will come */
  TIDE__URING_NEEDS_SQE = 1u << 9, /* the SQ was full: it waits in the backlog for a slot */
  TIDE__URING_CANCEL = 1u << 10,   /* cancel asked: finish with what moved, never re-issue */
  TIDE__URING_ORPHAN = 1u << 11,   /* its descriptor was detached: in no queue any more */
  TIDE__URING_POLLING = 1u << 12,  /* its SQE (in flight or awaited) is a POLL_ADD (polled.c) */
  TIDE__URING_NOP = 1u << 13,      /* its SQE was turned into a NOP before the kernel saw it */
  TIDE__URING_BACKLOG = 1u << 14,  /* in the backlog (for its SQE, or for its cancel's) */
  TIDE__URING_BACKED_OFF = 1u << 15 /* an ACCEPT that has waited out its back-off (sockets.c) */
};

typedef struct tide__uring_fd {
  tide__op_queue reads;
  tide__op_queue writes;
  uint8_t attached;
  uint8_t is_socket; /* native socket ops; otherwise polled.c */
  uint8_t is_stream; /* SOCK_STREAM or a pipe: what io.c wants to know */
  /* A listener out of descriptors with a client waiting that could be neither accepted nor shed
   * (no reserve): EMFILE was reported once, and its accepts now back off between tries
   * (sockets.c). Cleared by the next accept that succeeds or sheds. */
  uint8_t accept_stuck;
} tide__uring_fd;

struct tide__backend {
  tide__ring ring;
  tide__uring_fd *fds; /* indexed by descriptor number */
  size_t fd_capacity;
  tide__op *backlog_head; /* ops waiting for an SQE slot (NEEDS_SQE), in order */
  tide__op *backlog_tail;
  int wake_fd;       /* eventfd, blocking (see backend.c) */
  uint8_t wake_read; /* 1 while the eventfd read is in the ring */
  uint64_t wake_value;
  int reserve_fd;      /* kept free for the EMFILE answer on accept (sockets.c); -1 until needed */
  unsigned max_events; /* CQEs reaped per poll at most (backend.h) */
  uint8_t under_valgrind; /* wait in slices, yielding between them (memcheck.h) */
};

/* Reserved user_data values; ops are pointers, at least 8-aligned, so never these. */
enum { TIDE__URING_TAG_WAKE = 1, TIDE__URING_TAG_CANCEL = 2 };

typedef enum tide__uring_step {
  TIDE__URING_DONE,     /* finished: complete the op with *result */
  TIDE__URING_PENDING,  /* an SQE is queued for it (or it waits in the backlog for one) */
  TIDE__URING_NOT_READY /* (finish only) the socket was not ready: wait for readiness with a
                           POLL_ADD (tide__uring_poll), then start the op again */
} tide__uring_step;

/* An SQE for op (user_data = op), flagged ISSUED; or NULL when the SQ is full, in which case the
 * op is flagged ISSUED | NEEDS_SQE and put in the backlog, and its start is retried at the next
 * poll. Either way the op now counts as in flight: the caller returns TIDE__URING_PENDING. */
struct io_uring_sqe *tide__uring_sqe(tide__backend *b, tide__op *op);

/* What a cancelled op completes with: a transfer that moved bytes reports them (core/op.h). */
static inline intptr_t tide__uring_cancelled_result(const tide__op *op) {
  return op->done > 0 ? (intptr_t)op->done : TIDE_ECANCELED;
}

/* sockets.c: starts (or continues, after a partial transfer) a native op on socket fd. */
tide__uring_step tide__uring_start_socket(tide__backend *b, tide__op *op, intptr_t *result);

/* sockets.c: takes a native op's CQE result `res`. TIDE__URING_DONE with *result,
 * TIDE__URING_PENDING meaning "not finished: start it again for the rest", or
 * TIDE__URING_NOT_READY meaning "wait until the socket is ready for the op's direction, then start
 * it again" (the caller decides, since a cancelled or orphaned op must not be re-issued). */
tide__uring_step tide__uring_finish_socket(tide__backend *b, tide__op *op, int res,
                                           intptr_t *result);

/* polled.c: tries op's syscall now (a non-socket op, or a CONNECT on any socket) and, if it
 * would block, queues a POLL_ADD for its direction (tide__uring_poll). */
tide__uring_step tide__uring_start_polled(tide__backend *b, tide__uring_fd *fs, tide__op *op,
                                          intptr_t *result);

/* sockets.c: queues a timeout of `ns` for op, flagged POLLING like a POLL_ADD: its expiry starts
 * the op again (a back-off, for an accept that can neither succeed nor report). Without an SQE
 * slot it waits in the backlog, which re-polls instead (at worst one early retry). */
void tide__uring_back_off(tide__backend *b, tide__op *op, int64_t ns);

/* polled.c: queues a one-shot POLL_ADD for op's direction (POLLIN for the read side, POLLOUT for
 * the write side), flagged POLLING: its CQE starts the op again. Without an SQE slot it waits in
 * the backlog still flagged POLLING, and the backlog issues the POLL_ADD (not the op). */
void tide__uring_poll(tide__backend *b, tide__op *op);

#endif
