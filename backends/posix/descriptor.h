/* backends/posix/descriptor.h — making descriptors the same way on Linux, macOS and the BSDs:
 * close-on-exec, non-blocking, and unable to raise SIGPIPE.
 *
 * The pitfalls behind each helper:
 *  - socket() takes SOCK_NONBLOCK | SOCK_CLOEXEC in its type on Linux and the BSDs, not on
 *    macOS; accept4() and pipe2() are missing there too. The fallback sets the flags with fcntl
 *    right after the call. Between the two, a fork+exec in another thread could inherit the
 *    descriptor: a leak into that child, not a correctness problem for tide, and unavoidable
 *    where the kernel offers no atomic form.
 *  - An accepted socket does not inherit O_NONBLOCK from its listener on Linux (accept4 sets it),
 *    but does on macOS and the BSDs; it is set explicitly either way.
 *  - MSG_NOSIGNAL (a send flag) is missing from older macOS SDKs (newer ones define it), and a
 *    write to a socket whose peer has gone raises SIGPIPE, which kills a process that has not
 *    ignored it. The socket option SO_NOSIGPIPE does the same job per socket on macOS and the
 *    BSDs, so tide sets it on every socket it watches (created, accepted or wrapped), whatever
 *    the SDK. Pipes have no send flag anywhere: macOS and NetBSD offer
 *    fcntl(F_SETNOSIGPIPE), and where it exists it replaces io.c's signal-mask guard — a guard
 *    that would not even work on macOS, whose pipe writes raise SIGPIPE at the process rather
 *    than the writing thread. Both options stay set after tide lets go of a wrapped descriptor.
 * Each helper returns like the system call it replaces: the descriptor (or 0), or -1 with errno
 * set. Loop thread only, like everything in the reactor. */
#ifndef TIDE_POSIX_DESCRIPTOR_H
#define TIDE_POSIX_DESCRIPTOR_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

/* The flags for send/sendto/sendmsg on a socket: MSG_NOSIGNAL where it exists (elsewhere
 * SO_NOSIGPIPE, set by tide__fd_no_sigpipe, does its job). */
#if defined(MSG_NOSIGNAL)
#define TIDE__SEND_FLAGS MSG_NOSIGNAL
#else
#define TIDE__SEND_FLAGS 0
#endif

/* 1 where writes to non-socket descriptors cannot raise SIGPIPE once tide__fd_no_sigpipe ran, so
 * io.c needs no signal-mask guard around them. */
#if defined(F_SETNOSIGPIPE)
#define TIDE__PIPES_NEVER_SIGNAL 1
#else
#define TIDE__PIPES_NEVER_SIGNAL 0
#endif

/* Sets FD_CLOEXEC and, if `nonblocking`, O_NONBLOCK on fd. Returns 0 or -1 (errno set). */
static inline int tide__fd_set_flags(int fd, int nonblocking) {
  if (fcntl(fd, F_SETFD, FD_CLOEXEC) != 0)
    return -1;
  if (!nonblocking)
    return 0;
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
    return -1;
  return 0;
}

/* Closes fd keeping errno (the error being reported is the one before the close). */
static inline int tide__fd_close_failed(int fd) {
  int saved = errno;
  (void)close(fd);
  errno = saved;
  return -1;
}

/* socket(family, type, 0), close-on-exec and non-blocking. */
static inline int tide__socket_open(int family, int type) {
#if defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)
  return socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
#else
  int fd = socket(family, type, 0);
  if (fd >= 0 && tide__fd_set_flags(fd, 1) != 0)
    return tide__fd_close_failed(fd);
  return fd;
#endif
}

/* accept(), the new socket close-on-exec and, if `nonblocking`, non-blocking. */
static inline int tide__socket_accept(int listener, struct sockaddr *addr, socklen_t *len,
                                      int nonblocking) {
#if defined(TIDE_HAVE_ACCEPT4)
  return accept4(listener, addr, len, SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0));
#else
  int fd = accept(listener, addr, len);
  if (fd < 0)
    return -1;
  if (tide__fd_set_flags(fd, nonblocking) != 0)
    return tide__fd_close_failed(fd);
  return fd;
#endif
}

/* pipe(), both ends close-on-exec and non-blocking. */
static inline int tide__pipe_open(int fds[2]) {
#if defined(TIDE_HAVE_PIPE2)
  return pipe2(fds, O_CLOEXEC | O_NONBLOCK);
#else
  if (pipe(fds) != 0)
    return -1;
  if (tide__fd_set_flags(fds[0], 1) != 0 || tide__fd_set_flags(fds[1], 1) != 0) {
    (void)tide__fd_close_failed(fds[1]);
    return tide__fd_close_failed(fds[0]);
  }
  return 0;
#endif
}

/* Makes writes to fd report EPIPE instead of raising SIGPIPE, where the system has a per-
 * descriptor switch for it (SO_NOSIGPIPE for sockets, F_SETNOSIGPIPE for others); elsewhere a
 * no-op. Returns 0 or -1 (errno set). */
static inline int tide__fd_no_sigpipe(int fd, int is_socket) {
#if defined(SO_NOSIGPIPE)
  if (is_socket) {
    int on = 1;
    return setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &on, sizeof on);
  }
#endif
#if defined(F_SETNOSIGPIPE)
  if (!is_socket)
    return fcntl(fd, F_SETNOSIGPIPE, 1);
#endif
  (void)fd;
  (void)is_socket;
  return 0;
}

#endif
