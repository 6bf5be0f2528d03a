/* bench/compare/chain_epoll.c — the chain workload (chain.h) on bare epoll: the floor.
 *
 * What the libraries cost is measured against this: the least a program can do on Linux. Each
 * iteration adds every read end with epoll_ctl(EPOLL_CTL_ADD) (level-triggered EPOLLIN, the pair's
 * index in the event data), waits with epoll_wait for up to 1024 events at a time, reads what each
 * ready socket holds and writes the next byte with send(), and removes every read end with
 * epoll_ctl(EPOLL_CTL_DEL) at the end. No callbacks, no tables, no clock. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chain.h"

enum { MAX_EVENTS = 1024 };

typedef struct chain {
  int epfd;
  int *fds;
  size_t pipes;
  chain_counts counts;
} chain;

/* Reads pair i's bytes and passes each on. Returns -1 if the socket was not readable after all. */
static int on_readable(chain *c, size_t i) {
  unsigned char buf[CHAIN_READ_MAX];
  ssize_t n = recv(c->fds[2 * i], buf, sizeof buf, 0);
  if (n <= 0)
    return -1;
  int next = c->fds[2 * chain_next(i, c->pipes) + 1];
  chain_pass_on(&c->counts, next, (size_t)n);
  return 0;
}

static int run_iteration(chain *c, const chain_params *p, chain_run *run) {
  int err = 0;
  for (size_t i = 0; i < p->pipes; i++) {
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = i};
    err |= epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->fds[2 * i], &ev);
  }
  chain_iteration_registered(run);
  chain_seed(&c->counts, c->fds, p);
  struct epoll_event events[MAX_EVENTS];
  while (err == 0 && c->counts.received != c->counts.written) {
    int n = epoll_wait(c->epfd, events, MAX_EVENTS, -1);
    for (int k = 0; k < n && err == 0; k++)
      err = on_readable(c, (size_t)events[k].data.u64);
  }
  chain_iteration_drained(run);
  for (size_t i = 0; i < p->pipes; i++) {
    struct epoll_event unused = {0};
    err |= epoll_ctl(c->epfd, EPOLL_CTL_DEL, c->fds[2 * i], &unused);
  }
  return err != 0 ? -1 : 0;
}

int main(int argc, char **argv) {
  chain_params p;
  if (chain_parse(argc, argv, &p) != 0)
    return 2;
  int *fds = chain_open_pairs(&p);
  chain c = {.epfd = epoll_create1(EPOLL_CLOEXEC), .fds = fds, .pipes = p.pipes};
  chain_run run;
  if (fds == NULL || c.epfd < 0 || chain_run_init(&run, &p, fds) != 0) {
    fprintf(stderr, "chain_epoll: setup failed\n");
    return 1;
  }
  int ok = 1;
  for (size_t it = 0; it < p.iterations && ok; it++) {
    chain_iteration_begin(&run);
    ok = run_iteration(&c, &p, &run) == 0;
    chain_iteration_end(&run, c.counts.written, c.counts.received);
  }
  int status = chain_report("epoll", &run, ok);
  close(c.epfd);
  chain_close_pairs(fds, &p);
  return status;
}
