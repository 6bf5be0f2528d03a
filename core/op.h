/* core/op.h — an I/O operation in flight: the unit every backend completes.
 *
 * The core creates an op, hands it to the backend with tide__backend_submit, and the backend
 * later reports it done with tide__op_complete — from its poll, from submit itself when the
 * syscall succeeded at once, or from cancel. The op's future is settled there and the op returns
 * to its loop's pool, so the op's memory (and the caller's buffer it points at) is never touched
 * after completion: that is what lets a task await a read into a buffer on its own stack.
 *
 * Results follow one convention across backends: >= 0 is the byte count (or the accepted
 * descriptor, ...), < 0 a TIDE_E* code. */
#ifndef TIDE_OP_H
#define TIDE_OP_H

#include <stddef.h>
#include <stdint.h>

#include "tide/future.h"

/* An OS I/O object: a descriptor on POSIX, a HANDLE or SOCKET (cast) on Windows. */
typedef intptr_t tide__fd;

typedef enum tide__op_kind {
  TIDE__OP_READ,  /* read up to len bytes into buf; 0 at end of file */
  TIDE__OP_WRITE, /* write all len bytes of buf, across partial writes */
} tide__op_kind;

typedef struct tide__op tide__op;
struct tide__op {
  tide__op *next;      /* the backend's queue link (per-descriptor queue in the reactor) */
  tide_loop *loop;
  tide_future *future; /* settled by tide__op_complete; the op holds one reference */
  tide__fd fd;
  tide__op_kind kind;
  uint32_t flags;      /* backend-private state bits */
  void *buf;
  size_t len;
  size_t done;         /* bytes moved so far (partial writes) */
};

/* Creates a pending op and its future on `loop`. The caller owns one future reference in
 * *future_out; the op holds another until it completes. Returns 0, TIDE_ENOMEM or TIDE_ECLOSED.
 * The op is not submitted: call tide__op_submit. */
int tide__op_new(tide_loop *loop, tide__op_kind kind, tide__fd fd, void *buf, size_t len,
                 tide__op **op_out, tide_future **future_out);

/* Hands the op to the backend. On failure the op has already been completed with the error (its
 * future fails), so the caller has nothing to undo. */
void tide__op_submit(tide__op *op);

/* Called by backends (loop thread only) when the op is done: `result` is the byte count or a
 * TIDE_E* code (TIDE_ECANCELED after a cancel that won the race). Settles the future and frees
 * the op. */
void tide__op_complete(tide__op *op, intptr_t result);

/* Reads a byte count or error out of an op future's resolved value (see tide__op_complete). */
static inline intptr_t tide__op_result_of(void *value) {
  return (intptr_t)value;
}

#endif
