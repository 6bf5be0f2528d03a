/* backends/iocp/net_win32.c — the Windows half of tide/net.h: the hooks of
 * backends/sockets/sockets.h (whose net_sockets.c holds the BSD-sockets code Winsock shares with
 * POSIX), closing handles, and wrapping an existing handle in a stream. Pipes are in
 * pipe_win32.c. Everything here returns at once.
 *
 * Windows pitfalls handled here:
 *  - A tide__fd is a SOCKET or a HANDLE, and they close differently (closesocket, CloseHandle).
 *    closesocket is tried first: it refuses a handle that is not a socket with WSAENOTSOCK
 *    without touching it.
 *  - An unconnected UDP socket on Windows fails its next receive with WSAECONNRESET after one
 *    of its datagrams drew an ICMP port-unreachable; POSIX never reports that on an unconnected
 *    socket. SIO_UDP_CONNRESET is turned off when a UDP socket is bound, and back on when it is
 *    connected (where POSIX reports ECONNREFUSED, which ops.c maps the reset to).
 *  - Keep-alive's idle time is set with SIO_KEEPALIVE_VALS (milliseconds, together with the
 *    probe interval), which every Windows version has; the TCP_KEEPIDLE option is newer.
 *  - AF_UNIX exists from Windows 10 1803; where Winsock lacks it (older Windows, wine) creating
 *    the socket fails with WSAEAFNOSUPPORT, reported as TIDE_ENOTSUP so callers can tell "not on
 *    this system" from a bad address. */
#include "backends/iocp/iocp.h"

#include <mstcpip.h>

#include "backends/sockets/sockets.h"
#include "core/loop_internal.h"
#include "core/net_internal.h"
#include "core/sys/errno_map.h"
#include "tide/error.h"

void tide__fd_close(tide__fd fd) {
  if (closesocket((SOCKET)fd) != 0 && WSAGetLastError() == WSAENOTSOCK)
    CloseHandle((HANDLE)fd);
}

/* ---- the hooks of backends/sockets/sockets.h ------------------------------------------------- */

int tide__net_socket(int family, int type, tide__fd *out) {
  SOCKET s;
  int err = tide__iocp_socket(family, type, 0, &s);
  if (err == TIDE_EAFNOSUPPORT && family == AF_UNIX)
    return TIDE_ENOTSUP;
  if (err != 0)
    return err;
  *out = (tide__fd)s;
  return 0;
}

int tide__net_error(void) {
  return tide__err_from_win32((unsigned long)WSAGetLastError());
}

int tide__net_set_keepalive_idle(tide__fd fd, int seconds) {
  if (seconds < 0 || (unsigned long)seconds > 0xFFFFFFFFul / 1000u)
    return TIDE_EINVAL; /* the milliseconds would wrap to a much shorter idle time */
  struct tcp_keepalive vals = {
      .onoff = 1, .keepalivetime = (ULONG)seconds * 1000u, .keepaliveinterval = 1000u};
  DWORD n = 0;
  if (WSAIoctl((SOCKET)fd, SIO_KEEPALIVE_VALS, &vals, sizeof vals, NULL, 0, &n, NULL, NULL) != 0)
    return tide__net_error();
  return 0;
}

int tide__net_udp_prepare(tide__fd fd, int connected) {
  BOOL report = connected ? TRUE : FALSE;
  DWORD n = 0;
  /* Best effort: a provider without the ioctl simply keeps its behaviour. */
  (void)WSAIoctl((SOCKET)fd, SIO_UDP_CONNRESET, &report, sizeof report, NULL, 0, &n, NULL, NULL);
  return 0;
}

/* ---- wrapped handles ------------------------------------------------------------------------- */

int tide_stream_open_fd(tide_loop *loop, intptr_t fd, tide_stream **out) {
  if (loop == NULL || out == NULL || fd < 0)
    return TIDE_EINVAL;
  tide__handle_kind kind = TIDE__HANDLE_PIPE;
  WSAPROTOCOL_INFOW info;
  int len = (int)sizeof info;
  if (getsockopt((SOCKET)fd, SOL_SOCKET, SO_PROTOCOL_INFOW, (char *)&info, &len) == 0) {
    if (info.iSocketType != SOCK_STREAM)
      return TIDE_ENOTSUP;
    kind = info.iAddressFamily == AF_UNIX ? TIDE__HANDLE_UNIX : TIDE__HANDLE_TCP;
  }
  /* The backend checks the rest: a pipe or socket (TIDE_ENOTSUP for disk files and consoles),
   * opened for overlapped I/O (TIDE_ENOTSUP otherwise), not attached yet (TIDE_EALREADY). */
  return tide__stream_new(loop, (tide__fd)fd, kind, out);
}
