/* backends/posix/net_posix.c — the POSIX half of tide/net.h: creating sockets (the hooks of
 * backends/sockets/sockets.h, whose net_sockets.c holds the BSD-sockets code POSIX shares with
 * Winsock), pipes and wrapped descriptors. Everything that waits is an op (core/net.c);
 * everything here returns at once.
 *
 * Pitfalls handled here:
 *  - Descriptors are created close-on-exec and non-blocking in the same call (SOCK_CLOEXEC,
 *    pipe2) where the system can (not macOS: descriptor.h), so a fork+exec in another thread
 *    never inherits a half-made socket. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* macOS names the keep-alive idle time TCP_KEEPALIVE. */
#if !defined(TCP_KEEPIDLE) && defined(TCP_KEEPALIVE)
#define TCP_KEEPIDLE TCP_KEEPALIVE
#endif

#include "backends/posix/descriptor.h"
#include "backends/sockets/sockets.h"
#include "core/loop_internal.h"
#include "core/net_internal.h"
#include "core/sys/errno_map.h"
#include "tide/error.h"

void tide__fd_close(tide__fd fd) {
  /* On Linux the descriptor is released even when close() reports EINTR; retrying could close a
   * descriptor another thread just opened. */
  (void)close((int)fd);
}

static int last_error(void) {
  return tide__err_from_errno(errno);
}

/* ---- the hooks of backends/sockets/sockets.h ---------------------------------------------- */

int tide__net_socket(int family, int type, tide__fd *out) {
  int fd = tide__socket_open(family, type);
  if (fd < 0)
    return last_error();
  *out = fd;
  return 0;
}

int tide__net_error(void) {
  return last_error();
}

int tide__net_set_keepalive_idle(tide__fd fd, int seconds) {
  return setsockopt((int)fd, IPPROTO_TCP, TCP_KEEPIDLE, &seconds, sizeof seconds) == 0
             ? 0
             : last_error();
}

int tide__net_udp_prepare(tide__fd fd, int connected) {
  (void)fd; /* POSIX reports ICMP errors on connected datagram sockets only, as tide wants */
  (void)connected;
  return 0;
}

/* ---- pipes and wrapped descriptors --------------------------------------------------------- */

int tide__net_pipe(tide_loop *loop, tide__fd fds[2]) {
  (void)loop;
  int p[2];
  if (tide__pipe_open(p) != 0)
    return last_error();
  fds[0] = p[0];
  fds[1] = p[1];
  return 0;
}

int tide_stream_open_fd(tide_loop *loop, intptr_t fd, tide_stream **out) {
  if (loop == NULL || out == NULL || fd < 0 || fd > INT32_MAX)
    return TIDE_EINVAL;
  struct stat st;
  if (fstat((int)fd, &st) != 0)
    return last_error();
  tide__handle_kind kind = TIDE__HANDLE_PIPE;
  if (S_ISSOCK(st.st_mode)) {
#if defined(SO_DOMAIN)
    int domain = 0;
    socklen_t len = sizeof domain;
    if (getsockopt((int)fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0)
      kind = domain == AF_UNIX ? TIDE__HANDLE_UNIX : TIDE__HANDLE_TCP;
#else /* macOS: the local address says the family, even on an unbound socket */
    struct sockaddr_storage local;
    if (tide__net_name(fd, 0, &local) == 0)
      kind = local.ss_family == AF_UNIX ? TIDE__HANDLE_UNIX : TIDE__HANDLE_TCP;
#endif
  }
  return tide__stream_new(loop, fd, kind, out);
}
