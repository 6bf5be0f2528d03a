/* tests/backend/op_util.h — driving a backend through the op layer, as the backend suites do
 * (reactor_test.c, uring_test.c): submit an op, run the loop until it completes, read or check
 * its outcome. */
#ifndef TIDE_TESTS_OP_UTIL_H
#define TIDE_TESTS_OP_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "core/op.h"
#include "core/sys/clock.h"
#include "harness.h"
#include "tide.h"

/* Creates an op of `kind` on fd and submits it; returns its future (the caller releases it) and,
 * if op_out is not NULL, the op itself (valid until the op completes). */
static inline tide_future *submit_op(tide_loop *loop, tide__op_kind kind, int fd, void *buf,
                                     size_t len, tide__op **op_out) {
  tide__op *op = NULL;
  tide_future *f = NULL;
  CHECK_OK(tide__op_new(loop, kind, fd, buf, len, &op, &f));
  CHECK(op != NULL && f != NULL);
  tide__op_submit(op);
  if (op_out != NULL)
    *op_out = op;
  return f;
}

/* Runs ticks until f settles, failing after a generous bound. */
static inline void wait_done(tide_loop *loop, tide_future *f) {
  int64_t give_up = tide__clock_now_ns() + 10 * INT64_C(1000000000);
  while (!tide_future_done(f)) {
    if (tide__clock_now_ns() > give_up)
      TIDE_TEST_FAIL("the op did not complete within 10 s");
    CHECK(tide_loop_run_once(loop, 50 * INT64_C(1000000)) >= 0);
  }
}

/* A settled op future's outcome: the byte count (>= 0) or the TIDE_E* failure. */
static inline intptr_t op_result(tide_future *f) {
  void *value = NULL;
  int rc = tide_future_result(f, &value);
  if (rc == TIDE_EPENDING)
    TIDE_TEST_FAIL("the op has not completed");
  return rc < 0 ? rc : tide__op_result_of(value);
}

/* Waits for f, checks its outcome, and releases it. */
static inline void expect_result(tide_loop *loop, tide_future *f, intptr_t expected) {
  wait_done(loop, f);
  intptr_t got = op_result(f);
  if (got != expected)
    TIDE_TEST_FAIL("op result: expected %lld (%s), got %lld (%s)", (long long)expected,
                   expected < 0 ? tide_err_name((int)expected) : "bytes", (long long)got,
                   got < 0 ? tide_err_name((int)got) : "bytes");
  tide_future_release(f);
}

#endif
