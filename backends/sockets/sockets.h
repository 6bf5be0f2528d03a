/* backends/sockets/sockets.h — what net_sockets.c (the BSD-sockets code POSIX and Winsock share)
 * needs from each platform: the headers, the socket handle type, and a few hooks that each
 * platform's half of tide/net.h implements (backends/posix/net_posix.c,
 * backends/iocp/net_win32.c).
 *
 * The differences this absorbs: Winsock's SOCKET is an unsigned handle, not an int; its errors
 * come from WSAGetLastError, not errno; sockets close with closesocket (tide__fd_close picks);
 * setsockopt takes char pointers (a cast POSIX accepts as well); sockets are created
 * overlapped and non-inheritable on Windows, non-blocking and close-on-exec on POSIX. */
#ifndef TIDE_SOCKETS_H
#define TIDE_SOCKETS_H

#include <stdint.h>

#if defined(_WIN32)
#include <winsock2.h>
#include <ws2tcpip.h>
#include <afunix.h>
#undef near /* empty macros from minwindef.h that would erase core identifiers (iocp.h) */
#undef far
typedef SOCKET tide__socket;
/* Windows' SO_REUSEADDR lets a listener bind a port another socket is already listening on
 * (port stealing), and Windows needs no option to rebind past TIME_WAIT: listeners skip it. */
#define TIDE__LISTENER_REUSEADDR 0
#else
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
typedef int tide__socket;
#define TIDE__LISTENER_REUSEADDR 1 /* rebind while old connections sit in TIME_WAIT */
#endif

#include "core/op.h"

/* The OS socket behind a tide__fd. */
#define TIDE__SOCK(fd) ((tide__socket)(fd))

/* Creates a socket of `family` and `type` (SOCK_STREAM, SOCK_DGRAM) ready for the backend:
 * non-blocking and close-on-exec on POSIX, overlapped and non-inheritable on Windows. Returns 0
 * or a TIDE_E* code (TIDE_EMFILE, TIDE_EAFNOSUPPORT, ...). */
int tide__net_socket(int family, int type, tide__fd *out);

/* The last socket call's error as a TIDE_E* code (errno, or WSAGetLastError). */
int tide__net_error(void);

/* Sets the keep-alive idle time before the first probe, on a socket with SO_KEEPALIVE on.
 * Returns 0, TIDE_ENOTSUP, TIDE_EINVAL (longer than the system can express) or an OS error. */
int tide__net_set_keepalive_idle(tide__fd fd, int seconds);

/* Called after a UDP socket is bound (connected: 0) or connected (1), for platforms whose
 * datagram sockets report ICMP errors differently (Windows). Returns 0 or a TIDE_E* code. */
int tide__net_udp_prepare(tide__fd fd, int connected);

/* Creates the OS pipe behind tide_pipe_open: fds[0] its read end, fds[1] its write end, ready
 * for the backend (non-blocking and close-on-exec on POSIX; overlapped, non-inheritable
 * named-pipe ends on Windows). Returns 0 or a TIDE_E* code (TIDE_EMFILE, ...). */
int tide__net_pipe(tide_loop *loop, tide__fd fds[2]);

/* The socket's local (peer: 0) or remote (peer: 1) address. Returns 0 or the OS error. */
int tide__net_name(tide__fd fd, int peer, struct sockaddr_storage *out);

#endif
