/* core/sync_queue.c — the tasks' bounded FIFO queue (see tide/sync.h).
 *
 * Items move by hand-off whenever someone waits, so the two wait lists are never both in use:
 * getters wait only while the ring is empty (a put gives its item straight to the first getter,
 * resolving the getter's future with it), and putters wait only while the ring is full (a get
 * that makes room pulls the first putter's item into the ring at once). An item therefore always
 * has exactly one owner: the ring, a waiting putter's node (until the putter is admitted or
 * stops), or a getter's resolved future (which its tide_await returns even if the getter was
 * cancelled after the hand-off). A cancelled get can lose no item, and a cancelled put adds none.
 *
 * With capacity 0 the ring is never used: a put waits until a get takes its item directly. */
#include "core/sync_internal.h"

_Static_assert(sizeof(void *) != 8 || sizeof(tide_queue) == 72,
               "tide/sync.h documents tide_queue as 72 bytes on 64-bit targets");

static int valid(const tide_queue *q) {
  return q != NULL && q->private_loop != NULL;
}

static void ring_push(tide_queue *q, void *item) {
  assert(q->private_count < q->private_capacity);
  size_t tail = q->private_head + q->private_count;
  if (tail >= q->private_capacity)
    tail -= q->private_capacity;
  q->private_slots[tail] = item;
  q->private_count++;
}

static void *ring_pop(tide_queue *q) {
  assert(q->private_count > 0);
  void *item = q->private_slots[q->private_head];
  if (++q->private_head == q->private_capacity)
    q->private_head = 0;
  q->private_count--;
  return item;
}

/* Admits the first waiting putter into the room a get just made. */
static void admit_putter(tide_queue *q) {
  if (tide__wait_queue_empty(&q->private_putters))
    return;
  tide__waiter *w = tide__wait_queue_pop(&q->private_putters);
  ring_push(q, w->item);
  tide__waiter_wake(w, NULL);
}

int tide_queue_init(tide_queue *queue, tide_loop *loop, void **slots, size_t capacity) {
  if (queue == NULL || loop == NULL || (slots == NULL && capacity > 0))
    return TIDE_EINVAL;
  queue->private_loop = loop;
  queue->private_slots = slots;
  queue->private_capacity = capacity;
  queue->private_head = 0;
  queue->private_count = 0;
  tide__wait_queue_init(&queue->private_getters);
  tide__wait_queue_init(&queue->private_putters);
  return 0;
}

int tide_queue_destroy(tide_queue *queue) {
  if (!valid(queue))
    return TIDE_EINVAL;
  if (!tide__wait_queue_empty(&queue->private_getters) ||
      !tide__wait_queue_empty(&queue->private_putters))
    return TIDE_EBUSY;
  queue->private_loop = NULL;
  return 0;
}

int tide_queue_try_put(tide_queue *queue, void *item) {
  if (!valid(queue))
    return TIDE_EINVAL;
  if (!tide__wait_queue_empty(&queue->private_getters)) {
    assert(queue->private_count == 0 && tide__wait_queue_empty(&queue->private_putters));
    tide__waiter_wake(tide__wait_queue_pop(&queue->private_getters), item);
    return 0;
  }
  if (queue->private_count == queue->private_capacity ||
      !tide__wait_queue_empty(&queue->private_putters))
    return TIDE_EAGAIN;
  ring_push(queue, item);
  return 0;
}

int tide_queue_put(tide_queue *queue, void *item) {
  if (!valid(queue) || !tide_in_task(queue->private_loop))
    return TIDE_EINVAL;
  if (tide_queue_try_put(queue, item) == 0)
    return 0;
  tide__waiter w;
  int err = tide__waiter_prepare(queue->private_loop, &w, TIDE__WAIT_INTERRUPTIBLE);
  if (err != 0)
    return err;
  w.item = item;
  return tide__waiter_wait(&queue->private_putters, &w, NULL);
}

int tide_queue_try_get(tide_queue *queue, void **item) {
  if (!valid(queue) || item == NULL)
    return TIDE_EINVAL;
  if (queue->private_count > 0) {
    *item = ring_pop(queue);
    admit_putter(queue);
    return 0;
  }
  if (!tide__wait_queue_empty(&queue->private_putters)) {
    /* Capacity 0: the item goes from the putter to the getter directly. */
    tide__waiter *w = tide__wait_queue_pop(&queue->private_putters);
    *item = w->item;
    tide__waiter_wake(w, NULL);
    return 0;
  }
  return TIDE_EAGAIN;
}

int tide_queue_get(tide_queue *queue, void **item) {
  if (!valid(queue) || item == NULL || !tide_in_task(queue->private_loop))
    return TIDE_EINVAL;
  if (tide_queue_try_get(queue, item) == 0)
    return 0;
  tide__waiter w;
  int err = tide__waiter_prepare(queue->private_loop, &w, TIDE__WAIT_INTERRUPTIBLE);
  if (err != 0)
    return err;
  void *value = NULL;
  int rc = tide__waiter_wait(&queue->private_getters, &w, &value);
  if (rc == 0)
    *item = value;
  return rc;
}

size_t tide_queue_size(const tide_queue *queue) {
  return queue != NULL ? queue->private_count : 0;
}

size_t tide_queue_capacity(const tide_queue *queue) {
  return queue != NULL ? queue->private_capacity : 0;
}
