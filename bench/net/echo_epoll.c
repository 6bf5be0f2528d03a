/* bench/net/echo_epoll.c — the floor: a single-threaded echo server on a hand-written,
 * edge-triggered epoll loop, with nothing between the application and the syscalls. Every
 * library in the comparison pays its abstraction on top of what this does.
 *
 *   echo_epoll [--port 0] [--buf 16384]
 *
 * epoll's pitfalls, as they bear on an echo loop:
 *  - Edge-triggered mode reports a transition once, so a descriptor must be read until the
 *    kernel says it is empty. A stream socket's short read (fewer bytes than asked) already says
 *    so: bytes arriving after it raise a fresh edge. Reading on to EAGAIN would cost one wasted
 *    syscall per message, which is exactly what a floor must not pay. The exception is a peer
 *    that has shut down (EPOLLRDHUP): its end of file raises no further edge, so then the loop
 *    reads until read() returns 0.
 *  - Each descriptor is registered once, for reading and writing (EPOLLIN | EPOLLOUT | EPOLLET):
 *    with edges, write interest costs nothing while the socket stays writable, so there is no
 *    epoll_ctl per message. (A level-triggered loop would have to toggle EPOLLOUT.)
 *  - A write can be partial. The unsent rest is copied into the connection's pending buffer, and
 *    reading pauses until the EPOLLOUT edge has drained it: the server never holds more than one
 *    buffer per connection however slowly a client reads. An EPOLLIN edge that arrives while
 *    paused is remembered, since it will not be reported again.
 *  - close() removes the descriptor from the epoll set (it is never dup()ed here), and a batch of
 *    events names each descriptor at most once, so freeing a connection while handling its own
 *    event cannot leave a dangling pointer in the rest of the batch.
 *  - SIGPIPE: send(MSG_NOSIGNAL) reports EPIPE instead of killing the process. */
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
  uint8_t peer_shut;    /* EPOLLRDHUP seen: read until end of file, short reads prove nothing */
  uint8_t read_pending; /* an EPOLLIN edge arrived while reading was paused */
  char *pending;        /* unsent bytes; NULL when everything has been sent */
  size_t pending_len;
  size_t pending_off;
} conn;

static char *shared_buf; /* one read buffer for all connections: nothing is kept across events */
static size_t buf_size;
static int listener_tag; /* its address tags the listener's events */

static void conn_close(conn *c) {
  close(c->fd);
  free(c->pending);
  free(c);
}

/* Sends buf[0..len); keeps what the kernel did not take. Returns -1 if the connection failed. */
static int send_or_keep(conn *c, const char *buf, size_t len) {
  size_t off = 0;
  while (off < len) {
    ssize_t n = send(c->fd, buf + off, len - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += (size_t)n;
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      break;
    return -1;
  }
  if (off == len)
    return 0;
  c->pending = malloc(len - off);
  if (c->pending == NULL)
    return -1;
  memcpy(c->pending, buf + off, len - off);
  c->pending_len = len - off;
  c->pending_off = 0;
  return 0;
}

/* Reads and echoes until the socket is empty or a write stalls. Returns -1 to close. */
static int on_readable(conn *c) {
  for (;;) {
    ssize_t n = read(c->fd, shared_buf, buf_size);
    if (n > 0) {
      if (send_or_keep(c, shared_buf, (size_t)n) != 0)
        return -1;
      if (c->pending != NULL) {
        c->read_pending = 1; /* the socket may hold more: look again once drained */
        return 0;
      }
      if ((size_t)n < buf_size && !c->peer_shut)
        return 0;
      continue;
    }
    if (n == 0)
      return -1;
    if (errno == EINTR)
      continue;
    return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
  }
}

/* Sends the pending bytes; once they are gone, reads again if an edge was missed meanwhile. */
static int on_writable(conn *c) {
  while (c->pending_off < c->pending_len) {
    ssize_t n =
        send(c->fd, c->pending + c->pending_off, c->pending_len - c->pending_off, MSG_NOSIGNAL);
    if (n > 0)
      c->pending_off += (size_t)n;
    else if (n < 0 && errno == EINTR)
      continue;
    else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return 0;
    else
      return -1;
  }
  free(c->pending);
  c->pending = NULL;
  if (!c->read_pending)
    return 0;
  c->read_pending = 0;
  return on_readable(c);
}

static void accept_all(int epfd, int lfd) {
  for (;;) {
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED)
        continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        perror("accept4");
      return;
    }
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    conn *c = calloc(1, sizeof *c);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = c};
    if (c == NULL || (c->fd = fd, epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0)) {
      free(c);
      close(fd);
    }
  }
}

static void on_event(conn *c, uint32_t events) {
  if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
    c->peer_shut = 1;
  int rc = 0;
  if ((events & EPOLLOUT) && c->pending != NULL)
    rc = on_writable(c);
  if (rc == 0 && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
    if (c->pending != NULL)
      c->read_pending = 1;
    else
      rc = on_readable(c);
  }
  if (rc != 0)
    conn_close(c);
}

int main(int argc, char **argv) {
  echo_args args = echo_parse_args(argc, argv);
  echo_raise_nofile();
  buf_size = args.buf;
  shared_buf = malloc(buf_size);
  int lfd = echo_listen_socket(&args.port);
  int epfd = epoll_create1(EPOLL_CLOEXEC);
  if (shared_buf == NULL || lfd < 0 || epfd < 0)
    return 1;
  struct epoll_event lev = {.events = EPOLLIN | EPOLLET, .data.ptr = &listener_tag};
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &lev) != 0) {
    perror("epoll_ctl");
    return 1;
  }
  echo_announce("epoll", args.port);
  struct epoll_event events[MAX_EVENTS];
  for (;;) {
    int n = epoll_wait(epfd, events, MAX_EVENTS, -1);
    if (n < 0 && errno != EINTR) {
      perror("epoll_wait");
      return 1;
    }
    for (int i = 0; i < n; i++) {
      if (events[i].data.ptr == &listener_tag)
        accept_all(epfd, lfd);
      else
        on_event(events[i].data.ptr, events[i].events);
    }
  }
}
