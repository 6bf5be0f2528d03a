/* backends/iocp/ops.c — starting and finishing the reads, writes, datagrams and shutdowns of the
 * IOCP backend (the queues around them are in port.c, accept and connect in accept_connect.c).
 *
 * Windows pitfalls handled here:
 *  - End of file has several spellings: a 0-byte WSARecv on a socket; ERROR_BROKEN_PIPE
 *    (the writer closed) or ERROR_HANDLE_EOF on a pipe. All read as 0. A pipe read that succeeds
 *    with 0 bytes is not one of them: the other end called WriteFile with nothing to write (a
 *    zero-length message), so the read is issued again. On a write the same
 *    ERROR_BROKEN_PIPE, or ERROR_NO_DATA ("the pipe is being closed"), means the reader is gone:
 *    TIDE_EPIPE, as write(2) gives on POSIX. No signal exists to suppress.
 *  - A reset arrives as the NT status turned into a Win32 code (ERROR_NETNAME_DELETED,
 *    ERROR_CONNECTION_ABORTED), not as WSAECONNRESET; tide__err_from_win32 maps both spaces.
 *  - A datagram longer than the buffer completes with STATUS_BUFFER_OVERFLOW (ERROR_MORE_DATA,
 *    WSAEMSGSIZE when synchronous) and the truncated bytes stored: reported as the stored count,
 *    as recvfrom(2) does. The call "fails", yet that status is a warning, not an error: the
 *    operation completed, and it queues a completion packet exactly as a success would (none
 *    with FILE_SKIP_COMPLETION_PORT_ON_SUCCESS, one without). Treating it as a failure would
 *    either wait for a packet that never comes or complete the op twice; it is told apart by
 *    the NT status the kernel left in the OVERLAPPED.
 *  - An ICMP port-unreachable makes Windows fail the next receive on that UDP socket with a
 *    reset; POSIX reports it as ECONNREFUSED, on connected sockets only. Unconnected sockets
 *    have SIO_UDP_CONNRESET turned off (net_win32.c); on a connected one the error is mapped
 *    to TIDE_ECONNREFUSED here.
 *  - WSABUF (ULONG length, then pointer) is laid out unlike tide__iov, so vectored writes are
 *    converted, at most IOV_BATCH buffers per call (the rest follow on the next issue). Winsock
 *    captures the WSABUF array during the call, so it lives on the stack. Buffers longer than
 *    ULONG's range are sent in slices, and one call's buffers together stay within a DWORD's
 *    count (MAX_CHUNK).
 *  - The status of a finished overlapped call is read from the OVERLAPPED itself (the NT status
 *    in Internal, the count in InternalHigh), not through WSAGetOverlappedResult: the handle may
 *    be closed by the time a cancelled op's packet is dequeued. */
#include "backends/iocp/iocp.h"

#include <string.h>
#include <winternl.h>

#include "core/sys/errno_map.h"
#include "tide/error.h"

enum { IOV_BATCH = 64 };

/* The most one call transfers: below ULONG's range, so lengths never truncate. */
static const size_t MAX_CHUNK = (size_t)1 << 30;

DWORD tide__iocp_status(tide__op *op, DWORD *bytes) {
  OVERLAPPED *ov = tide__iocp_overlapped(op);
  *bytes = (DWORD)ov->InternalHigh;
  NTSTATUS status = (NTSTATUS)ov->Internal;
  return status == 0 ? 0 : RtlNtStatusToDosError(status);
}

static intptr_t error_result(const tide__iocp_handle *h, DWORD error) {
  if (h->is_socket && !h->is_stream &&
      (error == WSAECONNRESET || error == ERROR_PORT_UNREACHABLE || error == ERROR_NETNAME_DELETED))
    return TIDE_ECONNREFUSED;
  return tide__err_from_win32(error);
}

static int is_cancel(DWORD error) {
  return error == ERROR_OPERATION_ABORTED;
}

tide__iocp_step tide__iocp_after_call(tide__backend *b, tide__iocp_handle *h, tide__op *op, int ok,
                                      DWORD error, intptr_t *result) {
  /* A warning status (a truncated datagram: STATUS_BUFFER_OVERFLOW, seen as WSAEMSGSIZE) is a
   * completion, not a failure: like a success, it queues a packet unless the handle skips them.
   * Only a call that did not pend can have left one: once it returned ERROR_IO_PENDING, the
   * kernel may already have finished it on another CPU and written a warning here, yet its packet
   * is coming, so completing it inline as well would complete it twice. */
  if (!ok && error != ERROR_IO_PENDING) {
    ULONG_PTR nt = tide__iocp_overlapped(op)->Internal;
    if (nt >= 0x80000000u && nt < 0xC0000000u)
      ok = 1;
  }
  if (ok && h->skip_on_success) {
    DWORD bytes = 0;
    DWORD status = tide__iocp_status(op, &bytes);
    return tide__iocp_finish(b, h, op, status, bytes, result);
  }
  if (!ok && error != ERROR_IO_PENDING) /* failed at once: no packet will come */
    return tide__iocp_finish(b, h, op, error, 0, result);
  op->flags |= TIDE__IOCP_ISSUED;
  h->refs++;
  return TIDE__IOCP_PENDING;
}

/* ---- reads ----------------------------------------------------------------------------------- */

static tide__iocp_step start_read(tide__backend *b, tide__iocp_handle *h, tide__op *op,
                                  intptr_t *result) {
  if (op->kind == TIDE__OP_READ_EXACT && op->done == op->len) {
    *result = (intptr_t)op->done;
    return TIDE__IOCP_DONE;
  }
  if (op->len == 0 && op->kind != TIDE__OP_RECVFROM) {
    *result = 0; /* nothing asked, nothing read: a zero-length read cannot see end of file */
    return TIDE__IOCP_DONE;
  }
  size_t want = op->len - op->done;
  WSABUF wb = {.len = (ULONG)(want < MAX_CHUNK ? want : MAX_CHUNK),
               .buf = (char *)op->buf + op->done};
  OVERLAPPED *ov = tide__iocp_overlapped(op);
  memset(ov, 0, sizeof *ov);
  int ok;
  if (!h->is_socket) {
    ok = ReadFile((HANDLE)h->fd, wb.buf, wb.len, NULL, ov);
    return tide__iocp_after_call(b, h, op, ok, ok ? 0 : GetLastError(), result);
  }
  op->backend.recv_flags = 0;
  if (op->kind == TIDE__OP_RECVFROM) {
    op->backend.from_len = (int)op->addrlen;
    ok = WSARecvFrom((SOCKET)h->fd, &wb, 1, NULL, &op->backend.recv_flags, op->addr,
                     op->addr ? &op->backend.from_len : NULL, ov, NULL) == 0;
  } else {
    ok = WSARecv((SOCKET)h->fd, &wb, 1, NULL, &op->backend.recv_flags, ov, NULL) == 0;
  }
  return tide__iocp_after_call(b, h, op, ok, ok ? 0 : (DWORD)WSAGetLastError(), result);
}

static tide__iocp_step finish_read(tide__iocp_handle *h, tide__op *op, DWORD error, DWORD bytes,
                                   intptr_t *result) {
  if (op->kind == TIDE__OP_RECVFROM && (error == ERROR_MORE_DATA || error == WSAEMSGSIZE))
    error = 0; /* truncated datagram: the stored part is the result */
  if (!h->is_socket && error == 0 && bytes == 0)
    return TIDE__IOCP_AGAIN; /* the writer wrote zero bytes: not end of file, read again */
  if (!h->is_socket && (error == ERROR_BROKEN_PIPE || error == ERROR_HANDLE_EOF ||
                        error == ERROR_PIPE_NOT_CONNECTED)) {
    error = 0; /* the writer is gone: end of file */
    bytes = 0;
  }
  /* A message-mode pipe (one wrapped with tide_stream_open_fd) whose next message is longer than
   * the buffer: the buffer is filled and the rest of the message is read by the next call. For a
   * byte stream that is a short read, not an error; failing would lose the bytes stored. */
  if (!h->is_socket && error == ERROR_MORE_DATA)
    error = 0;
  /* A cancel that still reports bytes stored them in the buffer (a driver may finish a read
   * partly when cancelled): they are the caller's, as for a cancelled write. */
  if (is_cancel(error) && bytes > 0)
    error = 0;
  if (error != 0) {
    if (is_cancel(error))
      *result = tide__iocp_cancelled_result(op);
    else /* bytes an exact read already stored are reported; the error comes back next time */
      *result = op->done > 0 ? (intptr_t)op->done : error_result(h, error);
    return TIDE__IOCP_DONE;
  }
  if (op->kind == TIDE__OP_RECVFROM && op->addr != NULL)
    op->addrlen = (uint32_t)op->backend.from_len;
  if (op->kind != TIDE__OP_READ_EXACT) {
    *result = (intptr_t)bytes;
    return TIDE__IOCP_DONE;
  }
  op->done += bytes;
  if (bytes == 0 || op->done == op->len) { /* end of file, or complete */
    *result = (intptr_t)op->done;
    return TIDE__IOCP_DONE;
  }
  return TIDE__IOCP_AGAIN;
}

/* ---- writes ---------------------------------------------------------------------------------- */

/* Fills out[] with the part of a WRITEV's buffers not yet written; returns the count used. The
 * whole batch stays within MAX_CHUNK, not just each buffer: the call reports its count in a
 * DWORD, which several large buffers together would overflow. */
static DWORD iov_remaining(const tide__op *op, WSABUF *out) {
  const tide__iov *in = op->buf;
  size_t skip = op->done;
  size_t i = 0;
  while (i < op->len && in[i].len <= skip)
    skip -= in[i++].len;
  DWORD used = 0;
  size_t budget = MAX_CHUNK;
  for (; i < op->len && used < IOV_BATCH && budget > 0; i++) {
    size_t len = in[i].len - skip;
    if (len == 0)
      continue;
    out[used].buf = (char *)in[i].base + skip;
    out[used].len = (ULONG)(len < budget ? len : budget);
    budget -= out[used].len;
    skip = 0;
    if (out[used++].len < len)
      break; /* a slice of a huge buffer: the next issue continues it */
  }
  return used;
}

static tide__iocp_step start_write(tide__backend *b, tide__iocp_handle *h, tide__op *op,
                                   intptr_t *result) {
  size_t total = tide__op_write_total(op);
  if (op->kind != TIDE__OP_SENDTO && op->done == total) {
    *result = (intptr_t)total;
    return TIDE__IOCP_DONE;
  }
  WSABUF bufs[IOV_BATCH];
  DWORD count = 1;
  if (op->kind == TIDE__OP_WRITEV) {
    count = iov_remaining(op, bufs);
  } else {
    size_t left = op->len - op->done;
    bufs[0].buf = (char *)op->buf + op->done;
    bufs[0].len = (ULONG)(left < MAX_CHUNK ? left : MAX_CHUNK);
  }
  OVERLAPPED *ov = tide__iocp_overlapped(op);
  memset(ov, 0, sizeof *ov);
  int ok;
  if (!h->is_socket) { /* one buffer per WriteFile; a WRITEV's next buffer follows */
    ok = WriteFile((HANDLE)h->fd, bufs[0].buf, bufs[0].len, NULL, ov);
    return tide__iocp_after_call(b, h, op, ok, ok ? 0 : GetLastError(), result);
  }
  if (op->kind == TIDE__OP_SENDTO && op->addr != NULL)
    ok = WSASendTo((SOCKET)h->fd, bufs, 1, NULL, 0, op->addr, (int)op->addrlen, ov, NULL) == 0;
  else
    ok = WSASend((SOCKET)h->fd, bufs, count, NULL, 0, ov, NULL) == 0;
  return tide__iocp_after_call(b, h, op, ok, ok ? 0 : (DWORD)WSAGetLastError(), result);
}

/* Whether h is a connected socket. A send without a destination on an unconnected datagram
 * socket fails with WSAENOTCONN on Windows but WSAEINVAL under wine: asking the socket itself
 * gives every system the POSIX answer (only on that failure path). Only while h is attached: a
 * detached handle may be closed and its number already reused by another socket. */
static int is_connected(const tide__iocp_handle *h) {
  struct sockaddr_storage peer;
  int len = (int)sizeof peer;
  return getpeername((SOCKET)h->fd, (struct sockaddr *)&peer, &len) == 0 ||
         WSAGetLastError() != WSAENOTCONN;
}

static tide__iocp_step finish_write(tide__iocp_handle *h, tide__op *op, DWORD error, DWORD bytes,
                                    intptr_t *result) {
  if (op->kind == TIDE__OP_SENDTO) { /* a datagram goes whole or not at all */
    *result =
        error == 0 ? (intptr_t)bytes : (is_cancel(error) ? TIDE_ECANCELED : error_result(h, error));
    if (error != 0 && !is_cancel(error) && op->addr == NULL && h->attached && !is_connected(h))
      *result = TIDE_ENOTCONN;
    return TIDE__IOCP_DONE;
  }
  op->done += bytes;
  if (error != 0) {
    if (is_cancel(error))
      *result = tide__iocp_cancelled_result(op);
    else if (!h->is_socket && (error == ERROR_BROKEN_PIPE || error == ERROR_NO_DATA ||
                               error == ERROR_PIPE_NOT_CONNECTED))
      *result = TIDE_EPIPE;
    else
      *result = error_result(h, error);
    return TIDE__IOCP_DONE;
  }
  size_t total = tide__op_write_total(op);
  if (op->done < total)
    return TIDE__IOCP_AGAIN;
  *result = (intptr_t)total;
  return TIDE__IOCP_DONE;
}

/* ---- dispatch -------------------------------------------------------------------------------- */

tide__iocp_step tide__iocp_start(tide__backend *b, tide__iocp_handle *h, tide__op *op,
                                 intptr_t *result) {
  switch (op->kind) {
    case TIDE__OP_READ:
    case TIDE__OP_READ_EXACT:
    case TIDE__OP_RECVFROM:
      return start_read(b, h, op, result);
    case TIDE__OP_ACCEPT:
      return tide__iocp_start_accept(b, h, op, result);
    case TIDE__OP_CONNECT:
      return tide__iocp_start_connect(b, h, op, result);
    case TIDE__OP_SHUTDOWN:
      /* At the head of the write queue, so every write before it has completed. */
      if (!h->is_socket)
        *result = TIDE_ENOTSUP;
      else
        *result =
            shutdown((SOCKET)h->fd, SD_SEND) == 0 ? 0 : tide__err_from_win32(WSAGetLastError());
      return TIDE__IOCP_DONE;
    default:
      return start_write(b, h, op, result);
  }
}

tide__iocp_step tide__iocp_finish(tide__backend *b, tide__iocp_handle *h, tide__op *op, DWORD error,
                                  DWORD bytes, intptr_t *result) {
  switch (op->kind) {
    case TIDE__OP_READ:
    case TIDE__OP_READ_EXACT:
    case TIDE__OP_RECVFROM:
      return finish_read(h, op, error, bytes, result);
    case TIDE__OP_ACCEPT:
      return tide__iocp_finish_accept(b, h, op, error, result);
    case TIDE__OP_CONNECT:
      return tide__iocp_finish_connect(h, error, result);
    default:
      return finish_write(h, op, error, bytes, result);
  }
}
