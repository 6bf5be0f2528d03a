/* examples/concurrent_fetches.c — the asyncio article's first scenario, with tide's futures.
 *
 * Two simulated requests run concurrently on one thread: a 1.0 s "database fetch" and a 0.5 s
 * "SMTP handshake". Each is a timer future; a done-callback prints when it finishes. Because they
 * wait concurrently, the whole thing takes max(1.0, 0.5) s, not their sum:
 *
 *   [0.000s] Starting fetch for user 42
 *   [0.000s] Sending email to user 42
 *   [0.501s] Email sent to user 42
 *   [1.001s] Finished fetch for user 42
 *
 *   All done in 1.001s — not 1.5s, because they ran concurrently.
 *
 * (The task-based version, with await and gather, arrives with tide's tasks.) */
#include <stdio.h>
#include <stdlib.h>

#include "tide.h"

struct demo {
  tide_loop *loop;
  int64_t start_ns;
  int remaining;
};

static double elapsed_s(const struct demo *d) {
  return (double)(tide_loop_update_time(d->loop) - d->start_ns) / 1e9;
}

static void fetch_done(tide_future *f, void *arg) {
  struct demo *d = arg;
  if (tide_future_result(f, NULL) == 0)
    printf("[%.3fs] Finished fetch for user 42\n", elapsed_s(d));
  d->remaining--;
}

static void email_done(tide_future *f, void *arg) {
  struct demo *d = arg;
  if (tide_future_result(f, NULL) == 0)
    printf("[%.3fs] Email sent to user 42\n", elapsed_s(d));
  d->remaining--;
}

/* Starts a simulated request: a timer future of `seconds` with a done-callback. */
static int start_request(struct demo *d, double seconds, tide_future_fn done) {
  tide_future *f;
  int err = tide_sleep_future(d->loop, (int64_t)(seconds * 1e9), &f);
  if (err != 0)
    return err;
  err = tide_future_on_done(f, done, d);
  tide_future_release(f); /* the timer keeps the future alive until it fires */
  return err;
}

int main(void) {
  struct demo d = {0};
  int err = tide_loop_new(&d.loop, NULL);
  if (err != 0) {
    fprintf(stderr, "tide_loop_new: %s\n", tide_strerror(err));
    return 1;
  }
  d.start_ns = tide_loop_update_time(d.loop);
  d.remaining = 2;
  printf("[%.3fs] Starting fetch for user 42\n", elapsed_s(&d));
  err = start_request(&d, 1.0, fetch_done);
  if (err == 0) {
    printf("[%.3fs] Sending email to user 42\n", elapsed_s(&d));
    err = start_request(&d, 0.5, email_done);
  }
  if (err == 0)
    err = tide_loop_run(d.loop);
  if (err < 0)
    fprintf(stderr, "error: %s\n", tide_strerror(err));
  double total = elapsed_s(&d);
  tide_loop_close(d.loop);
  if (err < 0 || d.remaining != 0)
    return 1;
  printf("\nAll done in %.3fs — not 1.5s, because they ran concurrently.\n", total);
  return 0;
}
