/* core/ready_queue.h — the loop's FIFO of callbacks to run in the next tick.
 *
 * Intrusive and singly linked: a node is either embedded in the object that schedules itself (a
 * future dispatching its done-callbacks embeds one, so settling a future can never fail for lack
 * of memory) or taken from the loop's pool (tide_call_soon). The loop detaches the whole list at
 * the start of a tick and runs exactly that, so callbacks scheduled meanwhile wait a tick. */
#ifndef TIDE_READY_QUEUE_H
#define TIDE_READY_QUEUE_H

#include <stddef.h>

typedef struct tide__ready tide__ready;
struct tide__ready {
  tide__ready *next;
  void (*fn)(void *arg);
  void *arg;
  int pooled; /* 1: return the node to the loop's pool before running fn */
};

typedef struct tide__ready_queue {
  tide__ready *head;
  tide__ready *tail;
} tide__ready_queue;

static inline void tide__ready_queue_push(tide__ready_queue *q, tide__ready *node) {
  node->next = NULL;
  if (q->tail)
    q->tail->next = node;
  else
    q->head = node;
  q->tail = node;
}

/* Moves every node of `from` into the returned list and leaves `from` empty. */
static inline tide__ready *tide__ready_queue_take_all(tide__ready_queue *from) {
  tide__ready *all = from->head;
  from->head = from->tail = NULL;
  return all;
}

static inline int tide__ready_queue_empty(const tide__ready_queue *q) {
  return q->head == NULL;
}

#endif
