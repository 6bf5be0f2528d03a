/* bench/net/echo_socket.h — a listening socket made with the bare BSD calls, for the two servers
 * whose users make their own (the epoll floor and libev: neither library wraps listen()).
 *
 * Pitfalls: SO_REUSEADDR so a rerun can bind while old connections sit in TIME_WAIT; the socket
 * is non-blocking because an edge- or level-triggered accept loop must stop at EAGAIN instead of
 * blocking the loop when a client gave up between the readiness event and accept(). */
#ifndef BENCH_NET_ECHO_SOCKET_H
#define BENCH_NET_ECHO_SOCKET_H

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "echo_common.h"

/* Returns a non-blocking socket listening on 127.0.0.1:*port (0: any; *port gets the actual one),
 * or -1 after printing why. */
static inline int echo_listen_socket(unsigned *port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    perror("socket");
    return -1;
  }
  int one = 1;
  (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)*port)};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(fd, ECHO_BACKLOG) != 0 ||
      getsockname(fd, (struct sockaddr *)&addr, &len) != 0) {
    perror("bind/listen");
    close(fd);
    return -1;
  }
  *port = ntohs(addr.sin_port);
  return fd;
}

#endif
