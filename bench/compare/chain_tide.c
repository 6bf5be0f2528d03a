/* bench/compare/chain_tide.c — the chain workload (chain.h) written for tide with tasks: the
 * headline tide figure.
 *
 * Idiomatic tide: every socketpair end is wrapped once in a stream (tide_stream_open_fd, outside
 * the measurement). Each iteration, the main task spawns one reader task per pair into a task
 * group (registering a reader = starting a task that reads); each reader loops on
 * tide_stream_read and passes every byte on with tide_stream_write to the next pair's write end.
 * The reader that reads the last byte sets a tide_event the main task waits on; the main task
 * then cancels the group (unregistering = cancelling the readers, each of which is suspended in
 * tide_stream_read, which gives up without consuming anything) and waits for every reader to
 * end (tide_group_wait).
 *
 * The read buffer is CHAIN_READ_MAX bytes rather than one. tide's reactor is edge-triggered and
 * presumes a descriptor still readable after a read that filled its buffer, so a one-byte read
 * would be followed by a second read() that meets EAGAIN before the task suspends; a read that
 * comes back short proves the socket empty and the task suspends at once. Reading into a buffer
 * and handling what arrived is how tide's own examples read a stream (examples/echo_server.c). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "chain.h"
#include "tide.h"

typedef struct chain {
  tide_stream **readers; /* readers[i] is pair i's read end */
  tide_stream **writers; /* writers[i] is pair i's write end */
  size_t pipes;
  size_t budget; /* writes left in this iteration */
  size_t written;
  size_t received;
  tide_event drained; /* set once received == written */
  int failed;
  const int *fds;
  chain_params params;
  chain_run run;
} chain;

typedef struct reader {
  chain *c;
  size_t index;
} reader;

static int read_pair(tide_loop *loop, void *arg, void **result) {
  (void)loop;
  (void)result;
  reader *r = arg;
  chain *c = r->c;
  tide_stream *in = c->readers[r->index];
  tide_stream *next = c->writers[chain_next(r->index, c->pipes)];
  unsigned char buf[CHAIN_READ_MAX];
  size_t n;
  int err;
  while ((err = tide_stream_read(in, buf, sizeof buf, &n)) == 0 && n > 0) {
    for (size_t i = 0; i < n && err == 0; i++) {
      c->received++;
      if (c->budget > 0) {
        c->budget--;
        c->written++; /* before the write, which may let other readers run (see below) */
        err = tide_stream_write(next, "e", 1);
      }
    }
    if (err != 0)
      break;
    if (c->received == c->written)
      tide_event_set(&c->drained);
  }
  if (err == TIDE_ECANCELED)
    return err; /* the end of the iteration: the main task cancelled the group */
  /* End of file or an error cannot happen here: fail the run, and wake the main task. */
  c->failed = 1;
  tide_event_set(&c->drained);
  return err != 0 ? err : TIDE_ECONNRESET;
}

static int run_iteration(tide_loop *loop, chain *c, reader *readers) {
  tide_task_options opts;
  tide_task_options_init(&opts);
  opts.name = "reader";
  tide_group group;
  int err = tide_group_init(&group, loop);
  for (size_t i = 0; i < c->pipes && err == 0; i++)
    err = tide_group_spawn(&group, read_pair, &readers[i], &opts, NULL);
  chain_iteration_registered(&c->run);
  /* The A starting bytes count as written before the first is: a task that has finished 32
   * operations in a row without waiting yields to the others inside the next one (core/task.c),
   * so the readers run in the middle of these writes and must not see received == written while
   * some starting bytes are still to come. */
  c->budget = c->params.writes;
  c->written = c->params.active;
  c->received = 0;
  for (size_t k = 0; k < c->params.active && err == 0; k++)
    err = tide_stream_write(c->writers[chain_start(k, &c->params)], "e", 1);
  if (err == 0)
    err = tide_event_wait(&c->drained);
  chain_iteration_drained(&c->run);
  tide_group_cancel(&group);
  int group_err = tide_group_wait(&group);
  tide_event_clear(&c->drained);
  return err != 0 ? err : group_err;
}

static int wrap_pairs(tide_loop *loop, chain *c) {
  for (size_t i = 0; i < c->pipes; i++) {
    int err = tide_stream_open_fd(loop, c->fds[2 * i], &c->readers[i]);
    if (err == 0)
      err = tide_stream_open_fd(loop, c->fds[2 * i + 1], &c->writers[i]);
    if (err != 0)
      return err;
  }
  return 0;
}

static int chain_main(tide_loop *loop, void *arg, void **result) {
  (void)result;
  chain *c = arg;
  reader *readers = malloc(c->pipes * sizeof *readers);
  int err = readers == NULL ? TIDE_ENOMEM : tide_event_init(&c->drained, loop);
  if (err == 0)
    err = wrap_pairs(loop, c);
  for (size_t i = 0; i < c->pipes && readers != NULL; i++)
    readers[i] = (reader){.c = c, .index = i};
  for (size_t it = 0; it < c->params.iterations && err == 0 && !c->failed; it++) {
    chain_iteration_begin(&c->run);
    err = run_iteration(loop, c, readers);
    chain_iteration_end(&c->run, c->written, c->received);
  }
  /* Closing a stream closes its descriptor; a pair whose wrapping failed is closed by hand. */
  for (size_t i = 0; i < c->pipes; i++) {
    for (int end = 0; end < 2; end++) {
      tide_stream *s = end == 0 ? c->readers[i] : c->writers[i];
      if (s != NULL)
        tide_stream_close(s);
      else
        close(c->fds[2 * i + (size_t)end]);
    }
  }
  if (readers != NULL)
    tide_event_destroy(&c->drained);
  free(readers);
  return err != 0 ? err : c->failed ? TIDE_ECONNRESET : 0;
}

int main(int argc, char **argv) {
  chain c = {0};
  if (chain_parse(argc, argv, &c.params) != 0)
    return 2;
  int *fds = chain_open_pairs(&c.params);
  c.fds = fds;
  c.pipes = c.params.pipes;
  c.readers = calloc(c.pipes, sizeof *c.readers);
  c.writers = calloc(c.pipes, sizeof *c.writers);
  if (fds == NULL || c.readers == NULL || c.writers == NULL ||
      chain_run_init(&c.run, &c.params, fds) != 0) {
    fprintf(stderr, "chain_tide: setup failed\n");
    return 1;
  }
  int err = tide_run(chain_main, &c, NULL, NULL);
  if (err != 0)
    fprintf(stderr, "chain_tide: %s\n", tide_strerror(err));
  int status = chain_report("tide", &c.run, err == 0);
  free(c.readers);
  free(c.writers);
  free(fds);
  return status;
}
