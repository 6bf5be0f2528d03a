/* backends/uring/backend_op.h — the io_uring backend's private part of every op (core/op.h
 * embeds it as op->backend, found through the include path CMake sets for the chosen backend).
 *
 * An SQE points the kernel at memory that must stay put until its CQE: for RECVMSG/SENDMSG the
 * msghdr and its iovec, for ACCEPT the address length. They live here, inside the op, which lives
 * exactly that long (core/op.h), so no op allocates. A CONNECT's or SENDTO's destination is
 * copied here at submit: the core passes the caller's address, which the readiness and IOCP
 * backends read during the submitting call and callers may therefore keep on their stack
 * (tide_unix_connect_future does), while an SQE is read by the kernel only in the next poll, and a
 * CONNECT queued behind other writes calls connect() later (op->addr is pointed at the copy). The
 * op pointer itself is the SQE's user_data. */
#ifndef TIDE_URING_BACKEND_OP_H
#define TIDE_URING_BACKEND_OP_H

#include <linux/time_types.h>
#include <sys/socket.h>
#include <sys/uio.h>

struct tide__op;

struct tide__backend_op {
  struct tide__op *backlog_next; /* in the backend's list of ops waiting for a free SQE */
  struct msghdr msg;             /* RECVFROM, SENDTO, WRITEV: what RECVMSG/SENDMSG read */
  struct iovec iov;              /* the one buffer of msg for RECVFROM and SENDTO */
  union {
    struct sockaddr_storage dest;      /* CONNECT, SENDTO: the copied destination */
    struct __kernel_timespec back_off; /* ACCEPT: the timeout of its back-off (sockets.c) */
  };
};

#endif
