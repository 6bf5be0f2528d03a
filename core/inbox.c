/* core/inbox.c — the loop's thread-safe callback queue (see inbox.h). */
#include "core/inbox.h"

#include <stdlib.h>

#include "tide/error.h"

int tide__inbox_init(tide__inbox *inbox) {
  inbox->incoming.items = NULL;
  inbox->incoming.count = 0;
  inbox->incoming.capacity = 0;
  inbox->closed = 0;
  return tide__mutex_init(&inbox->lock);
}

void tide__inbox_destroy(tide__inbox *inbox) {
  free(inbox->incoming.items);
  tide__mutex_destroy(&inbox->lock);
}

static int grow(tide__posted_batch *batch) {
  size_t capacity = batch->capacity ? batch->capacity * 2 : 64;
  tide__posted *items = realloc(batch->items, capacity * sizeof *items);
  if (items == NULL)
    return TIDE_ENOMEM;
  batch->items = items;
  batch->capacity = capacity;
  return 0;
}

int tide__inbox_post(tide__inbox *inbox, void (*fn)(void *), void *arg) {
  int err = 0;
  tide__mutex_lock(&inbox->lock);
  tide__posted_batch *in = &inbox->incoming;
  if (inbox->closed)
    err = TIDE_ECLOSED;
  else if (in->count == in->capacity)
    err = grow(in);
  if (err == 0)
    in->items[in->count++] = (tide__posted){fn, arg};
  tide__mutex_unlock(&inbox->lock);
  return err;
}

void tide__inbox_take(tide__inbox *inbox, tide__posted_batch *batch) {
  tide__mutex_lock(&inbox->lock);
  tide__posted_batch taken = inbox->incoming;
  inbox->incoming = *batch;
  inbox->incoming.count = 0;
  tide__mutex_unlock(&inbox->lock);
  *batch = taken;
}

void tide__inbox_close(tide__inbox *inbox) {
  tide__mutex_lock(&inbox->lock);
  inbox->closed = 1;
  tide__mutex_unlock(&inbox->lock);
}
