/* bench/compare/chain_tide_cb.c — the chain workload (chain.h) on tide without tasks: futures and
 * done-callbacks, the way callback-style code uses tide. A secondary figure; chain_tide.c (tasks)
 * is the headline.
 *
 * Every socketpair end is wrapped once in a stream (tide_stream_open_fd, outside the
 * measurement). Each iteration starts one read per pair (tide_stream_read_future with a
 * done-callback); the callback handles the bytes, writes the next byte with
 * tide_stream_write_future (which completes inside the call when the socket has room, so the
 * future is settled on return: its result is checked and it is released at once) and starts the
 * pair's next read. The callback that reads the last byte stops the loop (tide_loop_stop).
 * Unregistering is cancelling every pending read future; the loop then runs until their
 * callbacks have seen TIDE_ECANCELED and no work is left. Done-callbacks run in a later tick than
 * the one that settled the future (tide/future.h): the read's completion and its callback are
 * one tick apart. The buffer is CHAIN_READ_MAX bytes for the reason given in chain_tide.c. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "chain.h"
#include "tide.h"

typedef struct reader reader;

typedef struct chain {
  tide_loop *loop;
  reader *readers;
  tide_stream **writers; /* writers[i] is pair i's write end */
  size_t pipes;
  size_t budget; /* writes left in this iteration */
  size_t written;
  size_t received;
  size_t reading; /* reads started and not yet seen by their callback */
  int stopping;   /* the iteration is over: callbacks do not read again */
  int failed;
} chain;

struct reader {
  chain *c;
  tide_stream *in;      /* pair's read end */
  tide_future *pending; /* the read in flight, our reference; NULL if none */
  size_t index;
  unsigned char buf[CHAIN_READ_MAX];
};

static void fail(chain *c) {
  c->failed = 1;
  tide_loop_stop(c->loop);
}

/* Writes one byte. The write completes inside the call when the socket has room; if it was
 * queued instead, releasing our reference leaves it to finish (and tide reports a failure). */
static void write_byte(chain *c, tide_stream *to) {
  tide_future *w;
  if (tide_stream_write_future(to, "e", 1, &w) != 0) {
    fail(c);
    return;
  }
  if (tide_future_done(w) && tide_future_result(w, NULL) != 0)
    fail(c);
  else
    c->written++;
  tide_future_release(w);
}

static void on_read(tide_future *f, void *arg);

static void start_read(reader *r) {
  if (tide_stream_read_future(r->in, r->buf, sizeof r->buf, &r->pending) != 0) {
    r->pending = NULL;
    fail(r->c);
    return;
  }
  r->c->reading++;
  tide_future_on_done(r->pending, on_read, r); /* a fresh future's first callback: no failure */
}

static void on_read(tide_future *f, void *arg) {
  reader *r = arg;
  chain *c = r->c;
  void *value = NULL;
  int err = tide_future_result(f, &value);
  tide_future_release(f);
  r->pending = NULL;
  c->reading--;
  if (err == TIDE_ECANCELED)
    return; /* unregistered at the end of the iteration */
  size_t n = err == 0 ? tide_io_bytes(value) : 0;
  if (n == 0) {
    fail(c); /* end of file or an error cannot happen here */
    return;
  }
  tide_stream *next = c->writers[chain_next(r->index, c->pipes)];
  for (size_t i = 0; i < n; i++) {
    c->received++;
    if (c->budget > 0) {
      c->budget--;
      write_byte(c, next);
    }
  }
  if (c->received == c->written)
    tide_loop_stop(c->loop);
  if (!c->stopping)
    start_read(r);
}

static int run_iteration(chain *c, const chain_params *p, chain_run *run) {
  c->stopping = 0;
  for (size_t i = 0; i < p->pipes; i++)
    start_read(&c->readers[i]);
  chain_iteration_registered(run);
  c->budget = p->writes;
  c->written = c->received = 0;
  for (size_t k = 0; k < p->active; k++)
    write_byte(c, c->writers[chain_start(k, p)]);
  int err = c->failed ? 0 : tide_loop_run(c->loop);
  chain_iteration_drained(run);
  c->stopping = 1;
  for (size_t i = 0; i < p->pipes; i++) {
    if (c->readers[i].pending != NULL)
      tide_future_cancel(c->readers[i].pending);
  }
  int drained = tide_loop_run(c->loop); /* 0: the cancelled reads' callbacks have all run */
  return err < 0 || drained != 0 || c->reading != 0 || c->failed ? -1 : 0;
}

/* Wraps every end in a stream; on failure the ends not wrapped are closed here. */
static int wrap_pairs(chain *c, const int *fds) {
  int err = 0;
  for (size_t i = 0; i < c->pipes; i++) {
    reader *r = &c->readers[i];
    *r = (reader){.c = c, .index = i};
    if (err == 0)
      err = tide_stream_open_fd(c->loop, fds[2 * i], &r->in);
    if (r->in == NULL)
      close(fds[2 * i]);
    if (err == 0)
      err = tide_stream_open_fd(c->loop, fds[2 * i + 1], &c->writers[i]);
    if (c->writers[i] == NULL)
      close(fds[2 * i + 1]);
  }
  return err;
}

int main(int argc, char **argv) {
  chain_params p;
  if (chain_parse(argc, argv, &p) != 0)
    return 2;
  int *fds = chain_open_pairs(&p);
  chain c = {.pipes = p.pipes,
             .readers = malloc(p.pipes * sizeof(reader)),
             .writers = calloc(p.pipes, sizeof(tide_stream *))};
  chain_run run;
  if (fds == NULL || c.readers == NULL || c.writers == NULL || tide_loop_new(&c.loop, NULL) != 0 ||
      chain_run_init(&run, &p, fds) != 0) {
    fprintf(stderr, "chain_tide_cb: setup failed\n");
    return 1;
  }
  int ok = wrap_pairs(&c, fds) == 0;
  for (size_t it = 0; it < p.iterations && ok; it++) {
    chain_iteration_begin(&run);
    ok = run_iteration(&c, &p, &run) == 0;
    chain_iteration_end(&run, c.written, c.received);
  }
  int status = chain_report("tide_cb", &run, ok);
  for (size_t i = 0; i < p.pipes; i++) {
    if (c.readers[i].in != NULL)
      tide_stream_close(c.readers[i].in);
    if (c.writers[i] != NULL)
      tide_stream_close(c.writers[i]);
  }
  tide_loop_close(c.loop);
  free(c.readers);
  free(c.writers);
  free(fds);
  return status;
}
