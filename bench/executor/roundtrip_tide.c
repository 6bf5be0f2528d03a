/* bench/executor/roundtrip_tide.c — run_in_executor round trips on a tide loop.
 *
 *   roundtrip_tide 1 <jobs>    one job in flight: the loop submits, the job (empty) runs on a
 *                              worker, the future settles on the loop, whose done-callback
 *                              submits the next. Prints the mean round trip in microseconds.
 *   roundtrip_tide 64 <jobs>   64 in flight: each completion submits a new job. Prints jobs/s.
 *
 * The loop's default executor is used (one worker per CPU), as a user of run_in_executor would,
 * and done-callbacks rather than a task: the same shape as libuv's after_work callback. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>

#include "bench_clock.h"
#include "tide.h"

typedef struct state {
  tide_loop *loop;
  long remaining; /* jobs still to submit */
  long completed;
} state;

static void *empty_job(void *arg) {
  return arg;
}

static void submit(state *s);

static void on_done(tide_future *f, void *arg) {
  state *s = arg;
  if (tide_future_result(f, NULL) != 0)
    abort();
  tide_future_release(f);
  s->completed++;
  if (s->remaining > 0)
    submit(s);
}

static void submit(state *s) {
  tide_future *f;
  s->remaining--;
  if (tide_run_in_executor(s->loop, NULL, empty_job, s, &f) != 0 ||
      tide_future_on_done(f, on_done, s) != 0)
    abort();
}

static int64_t run(tide_loop *loop, int in_flight, long jobs) {
  state s = {loop, jobs, 0};
  int64_t t0 = bench_now_ns();
  for (int i = 0; i < in_flight && s.remaining > 0; i++)
    submit(&s);
  if (tide_loop_run(loop) != 0 || s.completed != jobs)
    abort();
  return bench_now_ns() - t0;
}

int main(int argc, char **argv) {
  int in_flight = argc > 1 ? atoi(argv[1]) : 1;
  long jobs = argc > 2 ? atol(argv[2]) : 20000;
  tide_loop *loop;
  if (tide_loop_new(&loop, NULL) != 0)
    return 1;
  (void)run(loop, in_flight, jobs / 10 + 1); /* warm-up: default executor, pools */
  int64_t ns = run(loop, in_flight, jobs);
  if (in_flight == 1)
    printf("roundtrip_tide 1 %.3f us\n", (double)ns / 1e3 / (double)jobs);
  else
    printf("roundtrip_tide %d %.0f jobs/s\n", in_flight, (double)jobs * 1e9 / (double)ns);
  tide_loop_close(loop);
  return 0;
}
