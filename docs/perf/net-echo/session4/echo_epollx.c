/* docs/perf/net-echo/session4/echo_epollx.c — an experiment of NOTES.md's fourth session, not a
 * server of the comparison: the floor (bench/net/echo_epoll.c) given one of tide's shapes at a
 * time. MODE_BATCH: read every ready connection of a poll batch first, then send them all (the
 * order of tide's reactor + ready queue); the reads go to 256-byte slots of one hot buffer.
 * MODE_COLD: each connection reads into its own malloc'd 16 KiB buffer (like tide's per-task
 * stack buffer). Ping-pong only: a failed or short send closes the connection. */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include "echo_common.h"
#include "echo_socket.h"
enum { MAX_EVENTS = 256 };
typedef struct conn {
  int fd;
  ssize_t n;
  char *buf;
} conn;
static char *shared_buf;
static size_t buf_size;
static int listener_tag;
static void accept_all(int epfd, int lfd) {
  for (;;) {
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED)
        continue;
      return;
    }
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    conn *c = calloc(1, sizeof *c);
    c->fd = fd;
#if MODE_COLD
    c->buf = malloc(buf_size);
    memset(c->buf, 0, 4096);
#else
    c->buf = shared_buf;
#endif
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = c};
    epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
  }
}
static void conn_close(conn *c) {
  close(c->fd);
  if (MODE_COLD)
    free(c->buf);
  free(c);
}
int main(int argc, char **argv) {
  echo_args args = echo_parse_args(argc, argv);
  echo_raise_nofile();
  buf_size = args.buf;
  shared_buf = malloc(buf_size > 65536 ? buf_size : 65536);
  int lfd = echo_listen_socket(&args.port);
  int epfd = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event lev = {.events = EPOLLIN | EPOLLET, .data.ptr = &listener_tag};
  epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &lev);
  echo_announce("epollx", args.port);
  struct epoll_event events[MAX_EVENTS];
  conn *got[MAX_EVENTS];
  for (;;) {
    int n = epoll_wait(epfd, events, MAX_EVENTS, -1);
    int k = 0;
    for (int i = 0; i < n; i++) {
      if (events[i].data.ptr == &listener_tag) {
        accept_all(epfd, lfd);
        continue;
      }
      conn *c = events[i].data.ptr;
      if (!(events[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
        continue;
#if MODE_BATCH && !MODE_COLD
      /* batch with a shared arena: each connection gets a 64-byte-aligned slot of one buffer */
      c->buf = shared_buf + (size_t)k * 256;
      ssize_t r = read(c->fd, c->buf, 256);
#else
      ssize_t r = read(c->fd, c->buf, buf_size);
#endif
      if (r <= 0) {
        if (r < 0 && errno == EAGAIN)
          continue;
        conn_close(c);
        continue;
      }
#if MODE_BATCH
      c->n = r;
      got[k++] = c;
#else
      if (send(c->fd, c->buf, (size_t)r, MSG_NOSIGNAL) != r)
        conn_close(c);
#endif
    }
    for (int i = 0; i < k; i++)
      if (send(got[i]->fd, got[i]->buf, (size_t)got[i]->n, MSG_NOSIGNAL) != got[i]->n)
        conn_close(got[i]);
  }
}
