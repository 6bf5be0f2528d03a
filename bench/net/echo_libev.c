/* bench/net/echo_libev.c — the libev echo server of the comparison, written the way libev's users
 * write one (libev wraps readiness only; the socket calls are the application's):
 *   - one ev_io per connection, embedded in the connection struct (libev's manual: "embed the
 *     watcher in a bigger struct" and cast back in the callback);
 *   - on EV_READ: one non-blocking read() into a buffer shared by all connections, written straight
 *     back. libev is level-triggered, so one read per callback is enough: if bytes remain, the
 *     watcher fires again on the next iteration;
 *   - write buffering only when needed: a partial write copies the rest into the connection and
 *     turns the watcher to EV_WRITE (ev_io_stop, ev_io_set, ev_io_start) until it has drained,
 *     so reading pauses meanwhile and a slow client cannot make the server buffer without bound.
 *
 *   echo_libev [--port 0] [--buf 16384]
 *
 * SIGPIPE is ignored, as libev's users do for socket servers; writes use write(). */
#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <ev.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "echo_common.h"
#include "echo_socket.h"

typedef struct conn {
  ev_io io; /* first: the callback's watcher pointer is the connection */
  char *pending;
  size_t pending_len;
  size_t pending_off;
} conn;

static char *shared_buf;
static size_t buf_size;

static void conn_close(struct ev_loop *loop, conn *c) {
  ev_io_stop(loop, &c->io);
  close(c->io.fd);
  free(c->pending);
  free(c);
}

static void watch(struct ev_loop *loop, conn *c, int events) {
  ev_io_stop(loop, &c->io);
  ev_io_set(&c->io, c->io.fd, events);
  ev_io_start(loop, &c->io);
}

/* Writes buf[0..len); a rest the kernel did not take is kept and the watcher turned to EV_WRITE.
 * Returns -1 if the connection failed. */
static int write_or_keep(struct ev_loop *loop, conn *c, const char *buf, size_t len) {
  ssize_t n = write(c->io.fd, buf, len);
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
      return -1;
    n = 0;
  }
  if ((size_t)n == len)
    return 0;
  c->pending = malloc(len - (size_t)n);
  if (c->pending == NULL)
    return -1;
  memcpy(c->pending, buf + n, len - (size_t)n);
  c->pending_len = len - (size_t)n;
  c->pending_off = 0;
  watch(loop, c, EV_WRITE);
  return 0;
}

static int on_readable(struct ev_loop *loop, conn *c) {
  ssize_t n = read(c->io.fd, shared_buf, buf_size);
  if (n > 0)
    return write_or_keep(loop, c, shared_buf, (size_t)n);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
    return 0;
  return -1; /* end of file or an error */
}

static int on_writable(struct ev_loop *loop, conn *c) {
  ssize_t n = write(c->io.fd, c->pending + c->pending_off, c->pending_len - c->pending_off);
  if (n < 0)
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
  c->pending_off += (size_t)n;
  if (c->pending_off < c->pending_len)
    return 0;
  free(c->pending);
  c->pending = NULL;
  watch(loop, c, EV_READ);
  return 0;
}

static void conn_cb(struct ev_loop *loop, ev_io *w, int revents) {
  conn *c = (conn *)w;
  int rc = revents & EV_WRITE ? on_writable(loop, c) : on_readable(loop, c);
  if (rc != 0)
    conn_close(loop, c);
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents) {
  (void)revents;
  for (;;) {
    int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED)
        continue;
      return; /* EAGAIN: the backlog is empty; anything else: try on the next event */
    }
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    conn *c = calloc(1, sizeof *c);
    if (c == NULL) {
      close(fd);
      continue;
    }
    ev_io_init(&c->io, conn_cb, fd, EV_READ);
    ev_io_start(loop, &c->io);
  }
}

int main(int argc, char **argv) {
  echo_args args = echo_parse_args(argc, argv);
  echo_raise_nofile();
  signal(SIGPIPE, SIG_IGN);
  buf_size = args.buf;
  shared_buf = malloc(buf_size);
  struct ev_loop *loop = ev_default_loop(0);
  int lfd = echo_listen_socket(&args.port);
  if (shared_buf == NULL || loop == NULL || lfd < 0)
    return 1;
  ev_io listener;
  ev_io_init(&listener, accept_cb, lfd, EV_READ);
  ev_io_start(loop, &listener);
  echo_announce("libev", args.port);
  ev_run(loop, 0);
  return 0;
}
