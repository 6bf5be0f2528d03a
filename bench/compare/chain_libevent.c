/* bench/compare/chain_libevent.c — the chain workload (chain.h) written for libevent.
 *
 * Idiomatic libevent, and the shape of libevent's own test/bench.c: one persistent read event per
 * pair (event_new with EV_READ | EV_PERSIST, allocated once, as libevent's manual recommends over
 * event_assign), added with event_add at the start of each iteration and removed with event_del
 * at the end; the callback reads what the socket holds and writes the next byte with a plain
 * send(), and event_base_loopbreak ends the dispatch once the last byte has been read. The base
 * is event_base_new's default (epoll on Linux, no changelist). */
#define _POSIX_C_SOURCE 200809L
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chain.h"

typedef struct chain {
  struct event_base *base;
  struct event **events;
  int *fds;
  size_t pipes;
  chain_counts counts;
  int failed;
} chain;

typedef struct reader {
  chain *c;
  size_t index;
} reader;

static void on_readable(evutil_socket_t fd, short what, void *arg) {
  (void)what;
  reader *r = arg;
  chain *c = r->c;
  unsigned char buf[CHAIN_READ_MAX];
  ssize_t n = recv(fd, buf, sizeof buf, 0);
  if (n <= 0) {
    c->failed = 1; /* a level-triggered readable socket has a byte: anything else is a bug */
    event_base_loopbreak(c->base);
    return;
  }
  int next = c->fds[2 * chain_next(r->index, c->pipes) + 1];
  chain_pass_on(&c->counts, next, (size_t)n);
  if (c->counts.received == c->counts.written)
    event_base_loopbreak(c->base);
}

static int run_iteration(chain *c, const chain_params *p, chain_run *run) {
  int err = 0;
  for (size_t i = 0; i < p->pipes; i++)
    err |= event_add(c->events[i], NULL);
  chain_iteration_registered(run);
  chain_seed(&c->counts, c->fds, p);
  err |= event_base_dispatch(c->base) < 0;
  chain_iteration_drained(run);
  for (size_t i = 0; i < p->pipes; i++)
    err |= event_del(c->events[i]);
  return err != 0 || c->failed ? -1 : 0;
}

int main(int argc, char **argv) {
  chain_params p;
  if (chain_parse(argc, argv, &p) != 0)
    return 2;
  int *fds = chain_open_pairs(&p);
  chain c = {.base = event_base_new(), .fds = fds, .pipes = p.pipes};
  reader *readers = malloc(p.pipes * sizeof *readers);
  c.events = calloc(p.pipes, sizeof *c.events);
  chain_run run;
  if (fds == NULL || c.base == NULL || readers == NULL || c.events == NULL ||
      chain_run_init(&run, &p, fds) != 0) {
    fprintf(stderr, "chain_libevent: setup failed\n");
    return 1;
  }
  int ok = 1;
  for (size_t i = 0; i < p.pipes && ok; i++) {
    readers[i] = (reader){.c = &c, .index = i};
    c.events[i] = event_new(c.base, fds[2 * i], EV_READ | EV_PERSIST, on_readable, &readers[i]);
    ok = c.events[i] != NULL;
  }
  for (size_t it = 0; it < p.iterations && ok; it++) {
    chain_iteration_begin(&run);
    ok = run_iteration(&c, &p, &run) == 0;
    chain_iteration_end(&run, c.counts.written, c.counts.received);
  }
  /* Teardown is not part of the workload; process exit releases everything. */
  return chain_report("libevent", &run, ok);
}
