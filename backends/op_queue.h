/* backends/op_queue.h — the FIFO of ops a backend keeps per descriptor and direction.
 *
 * Both the POSIX reactor and the IOCP backend queue a descriptor's ops per direction so that
 * they complete in submission order (core/op.h). Queues are short (usually one op), so
 * unlinking from the middle walks the list rather than keeping a back link in every op. The
 * link is the op's own `next`: no allocation. */
#ifndef TIDE_BACKENDS_OP_QUEUE_H
#define TIDE_BACKENDS_OP_QUEUE_H

#include <stddef.h>

#include "core/op.h"

typedef struct tide__op_queue {
  tide__op *head;
  tide__op *tail;
} tide__op_queue;

static inline void tide__op_queue_push(tide__op_queue *q, tide__op *op) {
  op->next = NULL;
  if (q->tail)
    q->tail->next = op;
  else
    q->head = op;
  q->tail = op;
}

/* Removes and returns the head (the queue must not be empty). */
static inline tide__op *tide__op_queue_pop(tide__op_queue *q) {
  tide__op *op = q->head;
  q->head = op->next;
  if (q->head == NULL)
    q->tail = NULL;
  op->next = NULL;
  return op;
}

/* Unlinks `op`, whose predecessor in q is `prev` (NULL: op is the head). */
static inline void tide__op_queue_unlink_after(tide__op_queue *q, tide__op *prev, tide__op *op) {
  if (prev)
    prev->next = op->next;
  else
    q->head = op->next;
  if (q->tail == op)
    q->tail = prev;
  op->next = NULL;
}

/* Unlinks `op` if it is in q; returns 1 if it was. */
static inline int tide__op_queue_unlink(tide__op_queue *q, tide__op *op) {
  tide__op *prev = NULL;
  for (tide__op *it = q->head; it != NULL; prev = it, it = it->next) {
    if (it == op) {
      tide__op_queue_unlink_after(q, prev, op);
      return 1;
    }
  }
  return 0;
}

#endif
