/* bench/compare/chain_libev.c — the chain workload (chain.h) written for libev.
 *
 * Idiomatic libev, and the shape of libev's port of libevent's bench.c (libev's published
 * benchmark): one ev_io watcher per pair, embedded in the program's own array and initialised
 * once with ev_io_init; each iteration starts them all with ev_io_start and stops them with
 * ev_io_stop. The callback reads what the socket holds and writes the next byte with a plain
 * send(); ev_break ends ev_run once the last byte has been read. The loop is
 * ev_default_loop(EVFLAG_AUTO) (epoll on Linux); the per-loop state is reached through
 * ev_userdata, as libev's documentation suggests. */
#define _POSIX_C_SOURCE 200809L
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chain.h"

typedef struct chain {
  ev_io *watchers; /* watchers[i] reads pair i */
  int *fds;
  size_t pipes;
  chain_counts counts;
  int failed;
} chain;

static void on_readable(struct ev_loop *loop, ev_io *w, int revents) {
  (void)revents;
  chain *c = ev_userdata(loop);
  unsigned char buf[CHAIN_READ_MAX];
  ssize_t n = recv(w->fd, buf, sizeof buf, 0);
  if (n <= 0) {
    c->failed = 1; /* a level-triggered readable socket has a byte: anything else is a bug */
    ev_break(loop, EVBREAK_ALL);
    return;
  }
  size_t index = (size_t)(w - c->watchers);
  int next = c->fds[2 * chain_next(index, c->pipes) + 1];
  chain_pass_on(&c->counts, next, (size_t)n);
  if (c->counts.received == c->counts.written)
    ev_break(loop, EVBREAK_ALL);
}

static int run_iteration(struct ev_loop *loop, chain *c, const chain_params *p, chain_run *run) {
  for (size_t i = 0; i < p->pipes; i++)
    ev_io_start(loop, &c->watchers[i]);
  chain_iteration_registered(run);
  chain_seed(&c->counts, c->fds, p);
  ev_run(loop, 0);
  chain_iteration_drained(run);
  for (size_t i = 0; i < p->pipes; i++)
    ev_io_stop(loop, &c->watchers[i]);
  return c->failed ? -1 : 0;
}

int main(int argc, char **argv) {
  chain_params p;
  if (chain_parse(argc, argv, &p) != 0)
    return 2;
  int *fds = chain_open_pairs(&p);
  chain c = {.fds = fds, .pipes = p.pipes, .watchers = malloc(p.pipes * sizeof(ev_io))};
  struct ev_loop *loop = ev_default_loop(EVFLAG_AUTO);
  chain_run run;
  if (fds == NULL || loop == NULL || c.watchers == NULL || chain_run_init(&run, &p, fds) != 0) {
    fprintf(stderr, "chain_libev: setup failed\n");
    return 1;
  }
  ev_set_userdata(loop, &c);
  for (size_t i = 0; i < p.pipes; i++)
    ev_io_init(&c.watchers[i], on_readable, fds[2 * i], EV_READ);
  int ok = 1;
  for (size_t it = 0; it < p.iterations && ok; it++) {
    chain_iteration_begin(&run);
    ok = run_iteration(loop, &c, &p, &run) == 0;
    chain_iteration_end(&run, c.counts.written, c.counts.received);
  }
  /* Teardown is not part of the workload; process exit releases everything. */
  return chain_report("libev", &run, ok);
}
