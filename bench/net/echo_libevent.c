/* bench/net/echo_libevent.c — the libevent echo server of the comparison, written the way the
 * libevent book's echo server (and libevent's users) write one:
 *   - an evconnlistener accepts;
 *   - each connection is a socket bufferevent (BEV_OPT_CLOSE_ON_FREE) reading into its input
 *     evbuffer; the read callback moves the input buffer into the output buffer
 *     (evbuffer_add_buffer, no copy of the bytes), and libevent writes it out when the socket is
 *     writable;
 *   - the event callback frees the bufferevent at end of file or on an error.
 * libevent decides the read sizes and the buffering itself (evbuffer chains); --buf is accepted
 * and ignored.
 *
 *   echo_libevent [--port 0]
 *
 * SIGPIPE is ignored, as libevent's documentation tells its users to. */
#define _POSIX_C_SOURCE 200809L /* struct timeval's suseconds_t is POSIX, hidden by -std=c11 */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>

#include "echo_common.h"

static void read_cb(struct bufferevent *bev, void *ctx) {
  (void)ctx;
  evbuffer_add_buffer(bufferevent_get_output(bev), bufferevent_get_input(bev));
}

static void event_cb(struct bufferevent *bev, short events, void *ctx) {
  (void)ctx;
  if (events & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
    bufferevent_free(bev);
}

static void accept_cb(struct evconnlistener *listener, evutil_socket_t fd, struct sockaddr *addr,
                      int socklen, void *ctx) {
  (void)addr;
  (void)socklen;
  (void)ctx;
  struct event_base *base = evconnlistener_get_base(listener);
  int one = 1;
  (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct bufferevent *bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
  if (bev == NULL) {
    evutil_closesocket(fd);
    return;
  }
  bufferevent_setcb(bev, read_cb, NULL, event_cb, NULL);
  bufferevent_enable(bev, EV_READ | EV_WRITE);
}

int main(int argc, char **argv) {
  echo_args args = echo_parse_args(argc, argv);
  echo_raise_nofile();
  signal(SIGPIPE, SIG_IGN);
  struct event_base *base = event_base_new();
  if (base == NULL)
    return 1;
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)args.port)};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  struct evconnlistener *listener =
      evconnlistener_new_bind(base, accept_cb, NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE,
                              ECHO_BACKLOG, (struct sockaddr *)&addr, sizeof addr);
  struct sockaddr_in bound;
  socklen_t len = sizeof bound;
  if (listener == NULL ||
      getsockname(evconnlistener_get_fd(listener), (struct sockaddr *)&bound, &len) != 0) {
    perror("echo_libevent: cannot listen");
    return 1;
  }
  echo_announce("libevent", ntohs(bound.sin_port));
  event_base_dispatch(base);
  evconnlistener_free(listener);
  event_base_free(base);
  return 0;
}
