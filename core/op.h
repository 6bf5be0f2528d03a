/* core/op.h — an I/O operation in flight: the unit every backend completes.
 *
 * The core creates an op, hands it to the backend with tide__backend_submit, and the backend
 * later reports it done with tide__op_complete — from its poll, from submit itself when the
 * syscall succeeded at once, or from cancel. The op's future is settled there and the op returns
 * to its loop's pool, so the op's memory (and the caller's buffer it points at) is never touched
 * after completion: that is what lets a task await a read into a buffer on its own stack.
 *
 * Results follow one convention across backends: >= 0 is the byte count (or the accepted
 * descriptor, 0 for connect and shutdown), < 0 a TIDE_E* code.
 *
 * Ops on one descriptor are ordered per direction: the "read side" kinds (READ, READ_EXACT,
 * RECVFROM, ACCEPT) complete in submission order among themselves, and so do the "write side"
 * kinds (WRITE, WRITEV, SENDTO, CONNECT, SHUTDOWN). A SHUTDOWN therefore takes effect after every
 * write submitted before it, on every backend. */
#ifndef TIDE_OP_H
#define TIDE_OP_H

#include <stddef.h>
#include <stdint.h>

#include "backend_op.h" /* the chosen backend's struct tide__backend_op */
#include "tide/future.h"

/* An OS I/O object: a descriptor on POSIX, a HANDLE or SOCKET (cast) on Windows. */
typedef intptr_t tide__fd;

typedef enum tide__op_kind {
  /* read side */
  TIDE__OP_READ,       /* read up to len bytes into buf (one transfer); 0 at end of file */
  TIDE__OP_READ_EXACT, /* read until len bytes are in buf; fewer only at end of file, after an
                          error that followed some bytes, or on a cancel that followed some */
  TIDE__OP_RECVFROM,   /* receive one datagram into buf (truncated to len); its source address
                          goes to addr (capacity addrlen bytes) unless addr is NULL */
  TIDE__OP_ACCEPT,     /* accept one connection: the result is its descriptor, non-blocking,
                          close-on-exec and already attached to the backend; its peer address
                          goes to addr as for RECVFROM */
  /* write side */
  TIDE__OP_WRITE,   /* write all len bytes of buf, across partial writes */
  TIDE__OP_WRITEV,  /* write every byte of the tide__iov array buf[0..len) in order */
  TIDE__OP_SENDTO,  /* send buf[0..len) as one datagram to addr (NULL: the connected peer) */
  TIDE__OP_CONNECT, /* connect to addr (addrlen bytes); result 0 */
  TIDE__OP_SHUTDOWN /* shut the write direction down once the writes before it are done */
} tide__op_kind;

/* One buffer of a vectored write. Same layout as struct iovec (and tide_iobuf), checked by the
 * POSIX reactor at compile time, so the array goes to writev/sendmsg without copying. */
typedef struct tide__iov {
  void *base;
  size_t len;
} tide__iov;

typedef struct tide__op tide__op;

/* Optional completion hook, run by tide__op_complete on the loop thread before the future
 * settles. It receives the backend's result and returns the one the future settles with: >= 0
 * resolves the future with (void *)(intptr_t)value, < 0 fails it. It may settle other futures
 * and attach, detach or close descriptors (backends tolerate that), but must not submit or
 * cancel ops. */
typedef intptr_t (*tide__op_finish_fn)(tide__op *op, intptr_t result);

struct tide__op {
  tide__op *next; /* the backend's queue link (per-descriptor queue in the reactor) */
  tide_loop *loop;
  /* Settled by tide__op_complete; the op holds one reference. NULL for a task op: one that lives
   * on the stack of the task awaiting it (tide__task_await_op, core/task_internal.h), which
   * stays suspended until the op completes, so the op's memory is valid exactly as long as a
   * pooled op's would be. Backends see no difference. */
  tide_future *future;
  tide__fd fd;
  tide__op_kind kind;
  uint32_t flags; /* backend-private state bits */
  void *buf;
  size_t len;
  size_t done;      /* bytes moved so far (partial writes, exact reads) */
  void *addr;       /* CONNECT, SENDTO: the destination; RECVFROM, ACCEPT: the source out */
  uint32_t addrlen; /* its length (in), or its capacity in and the address's length out */
  tide__op_finish_fn finish; /* NULL: settle with the backend's result as is */
  void *owner;               /* the handle the op belongs to, for `finish` */
  struct tide__task *task;   /* task ops: the awaiting task until completion, then NULL */
  intptr_t result;           /* task ops: the result, once completed */

  /* The backend's own per-op state (an OVERLAPPED for IOCP), so that no backend allocates. The
   * backend initialises it at submit: its creator need not. */
  struct tide__backend_op backend;
};

/* Creates a pending op and its future on `loop`. The caller owns one future reference in
 * *future_out; the op holds another until it completes. Returns 0, TIDE_ENOMEM or TIDE_ECLOSED.
 * The op is not submitted: set the kind-specific fields (addr, finish, ...) and call
 * tide__op_submit. */
int tide__op_new(tide_loop *loop, tide__op_kind kind, tide__fd fd, void *buf, size_t len,
                 tide__op **op_out, tide_future **future_out);

/* Hands the op to the backend. On failure the op has already been completed with the error (its
 * future fails, its finish hook ran), so the caller has nothing to undo. */
void tide__op_submit(tide__op *op);

/* Called by backends (loop thread only) when the op is done: `result` is the byte count or a
 * TIDE_E* code (TIDE_ECANCELED after a cancel that won the race). Runs the finish hook, settles
 * the future and frees the op (a task op: stores the result and wakes its task). */
void tide__op_complete(tide__op *op, intptr_t result);

/* Whether `kind` is a "read side" kind (see the ordering rule above): backends queue and order the
 * two sides separately. */
static inline int tide__op_is_read_side(tide__op_kind kind) {
  return kind == TIDE__OP_READ || kind == TIDE__OP_READ_EXACT || kind == TIDE__OP_RECVFROM ||
         kind == TIDE__OP_ACCEPT;
}

/* The bytes a WRITE or WRITEV op carries in all (its buffer's length, or the sum of its
 * vector's). */
static inline size_t tide__op_write_total(const tide__op *op) {
  if (op->kind != TIDE__OP_WRITEV)
    return op->len;
  const tide__iov *v = op->buf;
  size_t total = 0;
  for (size_t i = 0; i < op->len; i++)
    total += v[i].len;
  return total;
}

/* Reads a byte count or error out of an op future's resolved value (see tide__op_complete). */
static inline intptr_t tide__op_result_of(void *value) {
  return (intptr_t)value;
}

#endif
