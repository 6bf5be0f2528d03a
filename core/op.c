/* core/op.c — creating, submitting and completing backend operations (see op.h). */
#include "core/op.h"

#include "core/future_internal.h"
#include "core/loop_internal.h"
#include "core/task_internal.h"
#include "tide/error.h"

static void request_cancel(tide_future *f, void *arg) {
  (void)f;
  tide__op *op = arg;
  tide__backend_cancel(op->loop->backend, op);
}

int tide__op_new(tide_loop *loop, tide__op_kind kind, tide__fd fd, void *buf, size_t len,
                 tide__op **op_out, tide_future **future_out) {
  if (loop->closing)
    return TIDE_ECLOSED;
  tide__op *op = tide__pool_get(&loop->op_pool);
  if (op == NULL)
    return TIDE_ENOMEM;
  tide_future *f;
  int err = tide_future_new(loop, &f);
  if (err != 0) {
    tide__pool_put(&loop->op_pool, op);
    return err;
  }
  *op = (tide__op){.loop = loop, .future = f, .fd = fd, .kind = kind, .buf = buf, .len = len};
  tide_future_set_canceller(f, request_cancel, op);
  tide_future_retain(f); /* the caller's reference; the op keeps the one from tide_future_new */
  *op_out = op;
  *future_out = f;
  return 0;
}

void tide__op_submit(tide__op *op) {
  tide_loop *loop = op->loop;
  loop->pending_ops++;
  int err = tide__backend_submit(loop->backend, op);
  if (err != 0)
    tide__op_complete(op, err);
}

void tide__op_complete(tide__op *op, intptr_t result) {
  tide_loop *loop = op->loop;
  tide_future *f = op->future;
  loop->pending_ops--;
  if (op->finish != NULL)
    result = op->finish(op, result);
  if (f == NULL) {
    op->result = result;
    tide__task_op_done(op);
    return;
  }
  if (result >= 0)
    tide_future_resolve(f, (void *)result);
  else
    tide_future_fail(f, (int)result);
  tide__pool_put(&loop->op_pool, op);
  tide_future_release(f);
}
