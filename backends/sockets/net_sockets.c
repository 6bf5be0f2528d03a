/* backends/sockets/net_sockets.c — the part of tide/net.h that is plain BSD sockets, shared by
 * POSIX and Winsock: addresses, listeners, connecting, socket options, UDP and multicast. Each
 * platform's half (backends/posix/net_posix.c, backends/iocp/net_win32.c and pipe_win32.c)
 * supplies the hooks of sockets.h (creating a socket or a pipe, the last error, ...) plus wrapped
 * descriptors. tide_pipe_open is here too: only the creation of the OS pipe differs.
 * Everything that waits is an op (core/net.c); everything here returns at once.
 *
 * Pitfalls handled here:
 *  - A connect rarely fails at once, but may (ECONNREFUSED on some loopback paths, ENETUNREACH):
 *    both go through the same op and the same failure path.
 *  - Unix socket paths are limited to sizeof sun_path (108 bytes on Linux and Windows) and are
 *    not removed when the socket closes; abstract names ('@' here, a leading NUL in the kernel)
 *    are Linux's way around both, and refused elsewhere.
 *  - IPV6_V6ONLY's default differs between systems (Linux: dual stack; Windows: IPv6 only); the
 *    options make it explicit when it matters.
 *  - SO_REUSEPORT does not exist on Windows; asking for it there gives TIDE_ENOTSUP. */
#if !defined(_WIN32)
#define _GNU_SOURCE
#endif
#include "backends/sockets/sockets.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/loop_internal.h"
#include "core/net_internal.h"
#include "tide/error.h"

static int last_error(void) {
  return tide__net_error();
}

/* ---- addresses ----------------------------------------------------------------------------- */

static socklen_t inet_len(const struct sockaddr *addr) {
  if (addr == NULL)
    return 0;
  if (addr->sa_family == AF_INET)
    return sizeof(struct sockaddr_in);
  if (addr->sa_family == AF_INET6)
    return sizeof(struct sockaddr_in6);
  return 0;
}

int tide_addr_from_ip(const char *ip, uint16_t port, struct sockaddr_storage *out) {
  if (ip == NULL || out == NULL)
    return TIDE_EINVAL;
  memset(out, 0, sizeof *out);
  struct sockaddr_in *in4 = (struct sockaddr_in *)out;
  if (inet_pton(AF_INET, ip, &in4->sin_addr) == 1) {
    in4->sin_family = AF_INET;
#if defined(SIN6_LEN) /* BSD-derived systems carry the length in the address, for getnameinfo */
    in4->sin_len = sizeof *in4;
#endif
    in4->sin_port = htons(port);
    return 0;
  }
  struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)out;
  if (inet_pton(AF_INET6, ip, &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
#if defined(SIN6_LEN)
    in6->sin6_len = sizeof *in6;
#endif
    in6->sin6_port = htons(port);
    return 0;
  }
  return TIDE_EINVAL;
}

int tide_addr_format(const struct sockaddr *addr, char *buf, size_t size) {
  if (addr == NULL || buf == NULL || size == 0)
    return TIDE_EINVAL;
  char ip[INET6_ADDRSTRLEN];
  if (addr->sa_family == AF_INET) {
    const struct sockaddr_in *in4 = (const struct sockaddr_in *)addr;
    inet_ntop(AF_INET, &in4->sin_addr, ip, sizeof ip);
    snprintf(buf, size, "%s:%u", ip, (unsigned)ntohs(in4->sin_port));
    return 0;
  }
  if (addr->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)addr;
    inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
    snprintf(buf, size, "[%s]:%u", ip, (unsigned)ntohs(in6->sin6_port));
    return 0;
  }
  if (addr->sa_family == AF_UNIX) {
    const struct sockaddr_un *un = (const struct sockaddr_un *)addr;
    snprintf(buf, size, "%s", un->sun_path[0] ? un->sun_path : "@abstract");
    return 0;
  }
  return TIDE_EINVAL;
}

uint16_t tide_addr_port(const struct sockaddr *addr) {
  if (addr == NULL)
    return 0;
  if (addr->sa_family == AF_INET)
    return ntohs(((const struct sockaddr_in *)addr)->sin_port);
  if (addr->sa_family == AF_INET6)
    return ntohs(((const struct sockaddr_in6 *)addr)->sin6_port);
  return 0;
}

/* Fills a sockaddr_un from a path ('@' prefix: abstract) and stores its length in *len. Returns
 * 0, TIDE_ENOTSUP for an abstract name off Linux (elsewhere the NUL would start an ordinary
 * path), or TIDE_EINVAL for an empty or too long path. */
static int unix_addr(const char *path, struct sockaddr_un *un, socklen_t *len) {
#if !defined(__linux__)
  if (path[0] == '@')
    return TIDE_ENOTSUP;
#endif
  memset(un, 0, sizeof *un);
  un->sun_family = AF_UNIX;
  size_t n = strlen(path);
  if (n == 0 || n >= sizeof un->sun_path)
    return TIDE_EINVAL;
  memcpy(un->sun_path, path, n);
  if (path[0] == '@') {
    un->sun_path[0] = '\0';
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
  } else {
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
  }
  return 0;
}

int tide__net_name(tide__fd fd, int peer, struct sockaddr_storage *out) {
  socklen_t len = sizeof *out;
  memset(out, 0, sizeof *out);
  int rc = peer ? getpeername(TIDE__SOCK(fd), (struct sockaddr *)out, &len)
                : getsockname(TIDE__SOCK(fd), (struct sockaddr *)out, &len);
  return rc == 0 ? 0 : last_error();
}

static int set_int_option(tide__fd fd, int level, int name, int value) {
  return setsockopt(TIDE__SOCK(fd), level, name, (const char *)&value, sizeof value) == 0
             ? 0
             : last_error();
}

/* ---- listeners ----------------------------------------------------------------------------- */

void tide_listen_options_init(tide_listen_options *opts) {
  if (opts == NULL)
    return;
  opts->backlog = 0;
  opts->reuse_address = 1;
  opts->reuse_port = 0;
  opts->ipv6_only = -1;
}

/* The options shared by listeners and UDP sockets, set before bind. */
static int set_bind_options(tide__fd fd, int family, int reuse_address, int reuse_port,
                            int ipv6_only) {
  int err = 0;
  if (reuse_address)
    err = set_int_option(fd, SOL_SOCKET, SO_REUSEADDR, 1);
#ifdef SO_REUSEPORT
  if (err == 0 && reuse_port)
    err = set_int_option(fd, SOL_SOCKET, SO_REUSEPORT, 1);
#else /* Windows */
  if (err == 0 && reuse_port)
    err = TIDE_ENOTSUP;
#endif
  if (err == 0 && family == AF_INET6 && ipv6_only >= 0)
    err = set_int_option(fd, IPPROTO_IPV6, IPV6_V6ONLY, ipv6_only != 0);
  return err;
}

static int open_listener(tide_loop *loop, const struct sockaddr *addr, socklen_t len,
                         const tide_listen_options *opts, tide__handle_kind child,
                         tide_listener **out) {
  tide_listen_options defaults;
  if (opts == NULL) {
    tide_listen_options_init(&defaults);
    opts = &defaults;
  }
  if (loop->closing)
    return TIDE_ECLOSED;
  tide__fd fd;
  int err = tide__net_socket(addr->sa_family, SOCK_STREAM, &fd);
  if (err != 0)
    return err;
  if (child == TIDE__HANDLE_TCP)
    err = set_bind_options(fd, addr->sa_family, opts->reuse_address && TIDE__LISTENER_REUSEADDR,
                           opts->reuse_port, opts->ipv6_only);
  if (err == 0 && bind(TIDE__SOCK(fd), addr, len) != 0)
    err = last_error();
  if (err == 0 && listen(TIDE__SOCK(fd), opts->backlog > 0 ? opts->backlog : SOMAXCONN) != 0)
    err = last_error();
  tide__handle *h = NULL;
  if (err == 0)
    err = tide__handle_open(loop, fd, TIDE__HANDLE_LISTENER, &h);
  if (err != 0) {
    tide__fd_close(fd);
    return err;
  }
  tide_listener *l = (tide_listener *)h;
  l->h.child_kind = (uint8_t)child;
  *out = l;
  return 0;
}

int tide_tcp_listen(tide_loop *loop, const struct sockaddr *addr, const tide_listen_options *opts,
                    tide_listener **out) {
  if (loop == NULL || out == NULL || inet_len(addr) == 0)
    return TIDE_EINVAL;
  return open_listener(loop, addr, inet_len(addr), opts, TIDE__HANDLE_TCP, out);
}

int tide_unix_listen(tide_loop *loop, const char *path, const tide_listen_options *opts,
                     tide_listener **out) {
  if (loop == NULL || path == NULL || out == NULL)
    return TIDE_EINVAL;
  struct sockaddr_un un;
  socklen_t len = 0;
  int err = unix_addr(path, &un, &len);
  if (err != 0)
    return err;
  return open_listener(loop, (const struct sockaddr *)&un, len, opts, TIDE__HANDLE_UNIX, out);
}

int tide_listener_address(const tide_listener *l, struct sockaddr_storage *out) {
  if (l == NULL || out == NULL)
    return TIDE_EINVAL;
  return tide__net_name(l->h.fd, 0, out);
}

/* ---- connecting ---------------------------------------------------------------------------- */

static int connect_socket(tide_loop *loop, const struct sockaddr *addr, socklen_t len,
                          tide__handle_kind kind, tide_future **out) {
  if (loop->closing)
    return TIDE_ECLOSED;
  tide__fd fd;
  int err = tide__net_socket(addr->sa_family, SOCK_STREAM, &fd);
  if (err != 0)
    return err;
  tide_stream *s;
  err = tide__stream_new(loop, fd, kind, &s);
  if (err != 0) {
    tide__fd_close(fd);
    return err;
  }
  err = tide__stream_connect(s, addr, (uint32_t)len, out);
  if (err != 0)
    (void)tide_stream_close(s);
  return err;
}

int tide_tcp_connect_future(tide_loop *loop, const struct sockaddr *addr, tide_future **out) {
  if (loop == NULL || out == NULL || inet_len(addr) == 0)
    return TIDE_EINVAL;
  return connect_socket(loop, addr, inet_len(addr), TIDE__HANDLE_TCP, out);
}

int tide_unix_connect_future(tide_loop *loop, const char *path, tide_future **out) {
  if (loop == NULL || path == NULL || out == NULL)
    return TIDE_EINVAL;
  struct sockaddr_un un;
  socklen_t len = 0;
  int err = unix_addr(path, &un, &len);
  if (err != 0)
    return err;
  /* The address is read by connect() during this call (the socket's queue is empty and it is
   * presumed writable), so a local is fine here. */
  return connect_socket(loop, (const struct sockaddr *)&un, len, TIDE__HANDLE_UNIX, out);
}

/* ---- stream options ------------------------------------------------------------------------ */

int tide_stream_set_nodelay(tide_stream *s, int on) {
  if (s == NULL || s->h.closing)
    return TIDE_EINVAL;
  if (s->h.kind != TIDE__HANDLE_TCP)
    return TIDE_ENOTSUP;
  return set_int_option(s->h.fd, IPPROTO_TCP, TCP_NODELAY, on != 0);
}

int tide_stream_set_keepalive(tide_stream *s, int on, int idle_seconds) {
  if (s == NULL || s->h.closing || idle_seconds < 0)
    return TIDE_EINVAL;
  if (s->h.kind != TIDE__HANDLE_TCP)
    return TIDE_ENOTSUP;
  int err = set_int_option(s->h.fd, SOL_SOCKET, SO_KEEPALIVE, on != 0);
  if (err == 0 && on && idle_seconds > 0)
    err = tide__net_set_keepalive_idle(s->h.fd, idle_seconds);
  return err;
}

static int stream_name(const tide_stream *s, int peer, struct sockaddr_storage *out) {
  if (s == NULL || out == NULL || s->h.closing)
    return TIDE_EINVAL;
  if (s->h.kind == TIDE__HANDLE_PIPE)
    return TIDE_ENOTSUP;
  return tide__net_name(s->h.fd, peer, out);
}

int tide_stream_local_address(const tide_stream *s, struct sockaddr_storage *out) {
  return stream_name(s, 0, out);
}

int tide_stream_peer_address(const tide_stream *s, struct sockaddr_storage *out) {
  return stream_name(s, 1, out);
}

/* ---- pipes ------------------------------------------------------------------------------------
 */

/* The OS pipe comes from each platform's tide__net_pipe; wrapping its ends is the same on all. */
int tide_pipe_open(tide_loop *loop, tide_stream **read_end, tide_stream **write_end) {
  if (loop == NULL || read_end == NULL || write_end == NULL)
    return TIDE_EINVAL;
  if (loop->closing)
    return TIDE_ECLOSED;
  tide__fd fds[2];
  int err = tide__net_pipe(loop, fds);
  if (err != 0)
    return err;
  tide_stream *r = NULL;
  err = tide__stream_new(loop, fds[0], TIDE__HANDLE_PIPE, &r);
  if (err != 0) {
    tide__fd_close(fds[0]);
    tide__fd_close(fds[1]);
    return err;
  }
  err = tide__stream_new(loop, fds[1], TIDE__HANDLE_PIPE, write_end);
  if (err != 0) {
    (void)tide_stream_close(r);
    tide__fd_close(fds[1]);
    return err;
  }
  *read_end = r;
  return 0;
}

/* ---- UDP ----------------------------------------------------------------------------------- */

void tide_udp_options_init(tide_udp_options *opts) {
  if (opts == NULL)
    return;
  opts->reuse_address = 0;
  opts->reuse_port = 0;
  opts->ipv6_only = -1;
}

int tide_udp_bind(tide_loop *loop, const struct sockaddr *addr, const tide_udp_options *opts,
                  tide_udp **out) {
  if (loop == NULL || out == NULL || inet_len(addr) == 0)
    return TIDE_EINVAL;
  if (loop->closing)
    return TIDE_ECLOSED;
  tide_udp_options defaults;
  if (opts == NULL) {
    tide_udp_options_init(&defaults);
    opts = &defaults;
  }
  tide__fd fd;
  int err = tide__net_socket(addr->sa_family, SOCK_DGRAM, &fd);
  if (err != 0)
    return err;
  err =
      set_bind_options(fd, addr->sa_family, opts->reuse_address, opts->reuse_port, opts->ipv6_only);
  if (err == 0 && bind(TIDE__SOCK(fd), addr, inet_len(addr)) != 0)
    err = last_error();
  if (err == 0)
    err = tide__net_udp_prepare(fd, 0);
  tide__handle *h = NULL;
  if (err == 0)
    err = tide__handle_open(loop, fd, TIDE__HANDLE_UDP, &h);
  if (err != 0) {
    tide__fd_close(fd);
    return err;
  }
  *out = (tide_udp *)h;
  return 0;
}

static int udp_ok(const tide_udp *u) {
  return u != NULL && !u->h.closing && u->h.kind == TIDE__HANDLE_UDP;
}

int tide_udp_connect(tide_udp *u, const struct sockaddr *addr) {
  if (!udp_ok(u) || inet_len(addr) == 0)
    return TIDE_EINVAL;
  /* A UDP connect only records the peer: it never blocks. */
  if (connect(TIDE__SOCK(u->h.fd), addr, inet_len(addr)) != 0)
    return last_error();
  return tide__net_udp_prepare(u->h.fd, 1);
}

int tide_udp_set_broadcast(tide_udp *u, int on) {
  if (!udp_ok(u))
    return TIDE_EINVAL;
  return set_int_option(u->h.fd, SOL_SOCKET, SO_BROADCAST, on != 0);
}

static int udp_family(const tide_udp *u) {
  struct sockaddr_storage ss;
  return tide__net_name(u->h.fd, 0, &ss) == 0 ? ss.ss_family : AF_UNSPEC;
}

/* Parses an IPv6 interface given as an index ("2") or NULL (0). Returns 0 or TIDE_EINVAL. */
static int parse_ifindex(const char *s, unsigned *index) {
  *index = 0;
  if (s == NULL)
    return 0;
  char *end;
  unsigned long v = strtoul(s, &end, 10);
  if (*s == '\0' || *end != '\0' || v > UINT32_MAX)
    return TIDE_EINVAL;
  *index = (unsigned)v;
  return 0;
}

static int membership(tide_udp *u, const char *group, const char *interface_ip, int join) {
  if (!udp_ok(u) || group == NULL)
    return TIDE_EINVAL;
  if (udp_family(u) == AF_INET) {
    struct ip_mreq m;
    memset(&m, 0, sizeof m);
    if (inet_pton(AF_INET, group, &m.imr_multiaddr) != 1 ||
        !IN_MULTICAST(ntohl(m.imr_multiaddr.s_addr)))
      return TIDE_EINVAL;
    m.imr_interface.s_addr = htonl(INADDR_ANY);
    if (interface_ip != NULL && inet_pton(AF_INET, interface_ip, &m.imr_interface) != 1)
      return TIDE_EINVAL;
    int name = join ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP;
    return setsockopt(TIDE__SOCK(u->h.fd), IPPROTO_IP, name, (const char *)&m, sizeof m) == 0
               ? 0
               : last_error();
  }
  struct ipv6_mreq m;
  memset(&m, 0, sizeof m);
  unsigned index;
  if (inet_pton(AF_INET6, group, &m.ipv6mr_multiaddr) != 1 ||
      !IN6_IS_ADDR_MULTICAST(&m.ipv6mr_multiaddr) || parse_ifindex(interface_ip, &index) != 0)
    return TIDE_EINVAL;
  m.ipv6mr_interface = index; /* unsigned int on POSIX and mingw-w64, ULONG in the Windows SDK */
  int name = join ? IPV6_JOIN_GROUP : IPV6_LEAVE_GROUP; /* the POSIX names (Linux has both) */
  return setsockopt(TIDE__SOCK(u->h.fd), IPPROTO_IPV6, name, (const char *)&m, sizeof m) == 0
             ? 0
             : last_error();
}

int tide_udp_join_multicast(tide_udp *u, const char *group, const char *interface_ip) {
  return membership(u, group, interface_ip, 1);
}

int tide_udp_leave_multicast(tide_udp *u, const char *group, const char *interface_ip) {
  return membership(u, group, interface_ip, 0);
}

int tide_udp_set_multicast_interface(tide_udp *u, const char *interface_ip) {
  if (!udp_ok(u) || interface_ip == NULL)
    return TIDE_EINVAL;
  if (udp_family(u) == AF_INET) {
    struct in_addr a;
    if (inet_pton(AF_INET, interface_ip, &a) != 1)
      return TIDE_EINVAL;
    return setsockopt(TIDE__SOCK(u->h.fd), IPPROTO_IP, IP_MULTICAST_IF, (const char *)&a,
                      sizeof a) == 0
               ? 0
               : last_error();
  }
  unsigned index;
  if (parse_ifindex(interface_ip, &index) != 0)
    return TIDE_EINVAL;
  return setsockopt(TIDE__SOCK(u->h.fd), IPPROTO_IPV6, IPV6_MULTICAST_IF, (const char *)&index,
                    sizeof index) == 0
             ? 0
             : last_error();
}

int tide_udp_set_multicast_loop(tide_udp *u, int on) {
  if (!udp_ok(u))
    return TIDE_EINVAL;
  if (udp_family(u) == AF_INET)
    return set_int_option(u->h.fd, IPPROTO_IP, IP_MULTICAST_LOOP, on != 0);
  return set_int_option(u->h.fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, on != 0);
}

int tide_udp_set_multicast_ttl(tide_udp *u, int ttl) {
  if (!udp_ok(u) || ttl < 0 || ttl > 255)
    return TIDE_EINVAL;
  if (udp_family(u) == AF_INET)
    return set_int_option(u->h.fd, IPPROTO_IP, IP_MULTICAST_TTL, ttl);
  return set_int_option(u->h.fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, ttl);
}

int tide_udp_address(const tide_udp *u, struct sockaddr_storage *out) {
  if (u == NULL || out == NULL)
    return TIDE_EINVAL;
  return tide__net_name(u->h.fd, 0, out);
}
