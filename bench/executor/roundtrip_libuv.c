/* bench/executor/roundtrip_libuv.c — uv_queue_work round trips on a libuv loop, written as
 * libuv's users write it: a uv_work_t per request, work_cb on the threadpool, after_work_cb on
 * the loop submitting the next request. The threadpool has its default size (4 threads,
 * UV_THREADPOOL_SIZE unset).
 *
 *   roundtrip_libuv 1 <jobs>    one in flight: prints the mean round trip in microseconds.
 *   roundtrip_libuv 64 <jobs>   64 in flight: prints jobs/s. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

#include "bench_clock.h"

typedef struct state {
  uv_loop_t *loop;
  long remaining;
  long completed;
} state;

static void work_cb(uv_work_t *req) {
  (void)req; /* empty, like the tide job */
}

static void submit(state *s, uv_work_t *req);

static void after_work_cb(uv_work_t *req, int status) {
  if (status != 0)
    abort();
  state *s = req->data;
  s->completed++;
  if (s->remaining > 0)
    submit(s, req);
  else
    free(req);
}

static void submit(state *s, uv_work_t *req) {
  s->remaining--;
  req->data = s;
  if (uv_queue_work(s->loop, req, work_cb, after_work_cb) != 0)
    abort();
}

static int64_t run(uv_loop_t *loop, int in_flight, long jobs) {
  state s = {loop, jobs, 0};
  int64_t t0 = bench_now_ns();
  for (int i = 0; i < in_flight && s.remaining > 0; i++)
    submit(&s, malloc(sizeof(uv_work_t)));
  uv_run(loop, UV_RUN_DEFAULT);
  if (s.completed != jobs)
    abort();
  return bench_now_ns() - t0;
}

int main(int argc, char **argv) {
  int in_flight = argc > 1 ? atoi(argv[1]) : 1;
  long jobs = argc > 2 ? atol(argv[2]) : 20000;
  uv_loop_t *loop = uv_default_loop();
  (void)run(loop, in_flight, jobs / 10 + 1); /* warm-up: the threadpool starts on first use */
  int64_t ns = run(loop, in_flight, jobs);
  if (in_flight == 1)
    printf("roundtrip_libuv 1 %.3f us\n", (double)ns / 1e3 / (double)jobs);
  else
    printf("roundtrip_libuv %d %.0f jobs/s\n", in_flight, (double)jobs * 1e9 / (double)ns);
  uv_loop_close(loop);
  return 0;
}
