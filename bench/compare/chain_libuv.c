/* bench/compare/chain_libuv.c — the chain workload (chain.h) written for libuv.
 *
 * libuv has no "watch this descriptor for reading" for sockets it is meant to own: a user with an
 * existing socketpair end wraps it in a stream handle. For AF_UNIX sockets that is uv_pipe_t with
 * uv_pipe_open (libuv's manual says so for the descriptors uv_socketpair returns; uv_tcp_open is
 * for TCP sockets, and uv_poll_t is documented for integrating foreign libraries, not for sockets
 * libuv can drive itself). Both ends of every pair are opened once, outside the measurement. Each
 * iteration starts reading on every read end with uv_read_start and stops with uv_read_stop. The
 * read callback gets the bytes (alloc_cb hands out one static slab, as libuv's own benchmarks
 * do: reads are consumed inside the callback) and writes the next byte with uv_try_write, the
 * call for a small write that needs no request when the socket has room (Node.js's stream writes
 * go this way first); if it ever had not, uv_write with a malloc'd request takes over. uv_stop
 * ends uv_run once the last byte has been read. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

#include "chain.h"

typedef struct chain {
  uv_loop_t *loop;
  uv_pipe_t *readers; /* readers[i] reads pair i */
  uv_pipe_t *writers; /* writers[i] writes pair i */
  size_t pipes;
  size_t budget; /* writes left in this iteration */
  size_t written;
  size_t received;
  int failed;
} chain;

static char slab[65536];

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
  (void)handle;
  (void)suggested;
  *buf = uv_buf_init(slab, sizeof slab);
}

static void on_written(uv_write_t *req, int status) {
  chain *c = req->data;
  if (status != 0)
    c->failed = 1;
  free(req);
}

/* Writes one byte: at once when the socket has room (always, here), else through a request. */
static void write_byte(chain *c, uv_pipe_t *to) {
  uv_buf_t b = uv_buf_init("e", 1);
  int n = uv_try_write((uv_stream_t *)to, &b, 1);
  if (n == 1) {
    c->written++;
    return;
  }
  uv_write_t *req = malloc(sizeof *req);
  if (req == NULL || uv_write(req, (uv_stream_t *)to, &b, 1, on_written) != 0) {
    free(req);
    c->failed = 1;
    uv_stop(c->loop);
    return;
  }
  req->data = c;
  c->written++; /* queued: the byte is on its way, as a sent one */
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  (void)buf;
  chain *c = stream->data;
  if (nread == 0)
    return; /* EAGAIN: libuv reports it as an empty read */
  if (nread < 0) {
    c->failed = 1;
    uv_stop(c->loop);
    return;
  }
  size_t index = (size_t)((uv_pipe_t *)stream - c->readers);
  uv_pipe_t *next = &c->writers[chain_next(index, c->pipes)];
  for (ssize_t i = 0; i < nread; i++) {
    c->received++;
    if (c->budget > 0) {
      c->budget--;
      write_byte(c, next);
    }
  }
  if (c->received == c->written)
    uv_stop(c->loop);
}

static int run_iteration(chain *c, const chain_params *p, chain_run *run) {
  int err = 0;
  for (size_t i = 0; i < p->pipes; i++)
    err |= uv_read_start((uv_stream_t *)&c->readers[i], on_alloc, on_read);
  chain_iteration_registered(run);
  c->budget = p->writes;
  c->written = c->received = 0;
  for (size_t k = 0; k < p->active; k++)
    write_byte(c, &c->writers[chain_start(k, p)]);
  uv_run(c->loop, UV_RUN_DEFAULT);
  chain_iteration_drained(run);
  for (size_t i = 0; i < p->pipes; i++)
    err |= uv_read_stop((uv_stream_t *)&c->readers[i]);
  return err != 0 || c->failed ? -1 : 0;
}

static int open_handles(chain *c, const int *fds) {
  for (size_t i = 0; i < c->pipes; i++) {
    if (uv_pipe_init(c->loop, &c->readers[i], 0) != 0 ||
        uv_pipe_init(c->loop, &c->writers[i], 0) != 0 ||
        uv_pipe_open(&c->readers[i], fds[2 * i]) != 0 ||
        uv_pipe_open(&c->writers[i], fds[2 * i + 1]) != 0)
      return -1;
    c->readers[i].data = c;
  }
  return 0;
}

int main(int argc, char **argv) {
  chain_params p;
  if (chain_parse(argc, argv, &p) != 0)
    return 2;
  int *fds = chain_open_pairs(&p);
  chain c = {.loop = uv_default_loop(),
             .pipes = p.pipes,
             .readers = malloc(p.pipes * sizeof(uv_pipe_t)),
             .writers = malloc(p.pipes * sizeof(uv_pipe_t))};
  chain_run run;
  if (fds == NULL || c.loop == NULL || c.readers == NULL || c.writers == NULL ||
      open_handles(&c, fds) != 0 || chain_run_init(&run, &p, fds) != 0) {
    fprintf(stderr, "chain_libuv: setup failed\n");
    return 1;
  }
  int ok = 1;
  for (size_t it = 0; it < p.iterations && ok; it++) {
    chain_iteration_begin(&run);
    ok = run_iteration(&c, &p, &run) == 0;
    chain_iteration_end(&run, c.written, c.received);
  }
  /* Teardown is not part of the workload; process exit releases everything. */
  return chain_report("libuv", &run, ok);
}
