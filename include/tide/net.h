/* tide/net.h — networking: TCP, UDP, Unix domain sockets, pipes and name resolution.
 *
 * Every operation that waits on the network comes in two forms, like tide_sleep and
 * tide_sleep_future:
 *   - `..._future(..., tide_future **out)` starts the operation and hands out a future (one
 *     reference, release it) that settles when the operation has completed. Any code on the loop
 *     thread may call it.
 *   - the plain name (tide_stream_read, ...) is for tasks: it starts the operation, awaits it and
 *     returns its outcome, with the task's cancellation and deadlines applied as tide_await does.
 * Operations that never wait (listen, bind, socket options, close) are plain calls returning 0 or
 * a TIDE_E* code.
 *
 * Resolved values (what tide_await / tide_future_result hand out for the future forms):
 *   - byte counts (read, write, send, receive): the count as an integer in the pointer; read it
 *     with tide_io_bytes(value);
 *   - accept and connect: the new tide_stream *, read with tide_io_stream(value); the stream
 *     belongs to whoever holds the future's result: retrieve it and close it, or it leaks;
 *   - resolve: a struct addrinfo * list, read with tide_io_addrinfo(value), freed with
 *     tide_addrinfo_free;
 *   - shutdown: NULL.
 *
 * Buffers, addresses and buffer arrays passed to an operation belong to the caller and must stay
 * valid until its future has settled (a task form returns only after that, so a buffer on the
 * task's stack is safe). Cancellation never loses data: a cancelled read either completes with
 * the bytes that had arrived or fails with TIDE_ECANCELED having consumed nothing; a cancelled
 * write that had sent part of its bytes completes with that count.
 *
 * Errors common to every call: TIDE_EINVAL for NULL handles or buffers (a NULL buffer is allowed
 * only with length 0), TIDE_ECLOSED for a handle that is being closed or a loop that is closing,
 * TIDE_ENOMEM. Connection failures arrive as TIDE_ECONNREFUSED, TIDE_ECONNRESET (the peer reset
 * the connection), TIDE_EPIPE (writing after the peer closed; no SIGPIPE is ever raised, see
 * backends/posix/io.c), TIDE_ETIMEDOUT, TIDE_ENETUNREACH, TIDE_EHOSTUNREACH.
 *
 * Handles belong to one loop and are used on its thread only. Closing a handle cancels its pending
 * operations (each settles, TIDE_ECANCELED unless it had moved data) and frees the handle once
 * they have settled; a handle never closed is reported when its loop closes, and closed then
 * (see tide_loop_close). Handles come from a per-loop pool, so accepting and closing connections
 * allocates nothing once the pool has grown to the peak number of open handles.
 */
#ifndef TIDE_NET_H
#define TIDE_NET_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#endif

#include "future.h"

struct addrinfo; /* complete in <netdb.h> under _POSIX_C_SOURCE >= 200112L */

#ifdef __cplusplus
extern "C" {
#endif

/* A byte stream: a TCP connection, a Unix domain stream connection, or one end of a pipe. */
typedef struct tide_stream tide_stream;

/* A listening TCP or Unix domain socket. */
typedef struct tide_listener tide_listener;

/* A UDP socket. */
typedef struct tide_udp tide_udp;

/* One buffer of a vectored write. */
typedef struct tide_iobuf {
  const void *base;
  size_t len;
} tide_iobuf;

/* ---- resolved values --------------------------------------------------------------------- */

/* The byte count a read/write/send/receive future resolved with. */
static inline size_t tide_io_bytes(void *value) {
  return (size_t)(uintptr_t)value;
}

/* The stream an accept or connect future resolved with. */
static inline tide_stream *tide_io_stream(void *value) {
  return (tide_stream *)value;
}

/* The address list a resolve future resolved with. */
static inline struct addrinfo *tide_io_addrinfo(void *value) {
  return (struct addrinfo *)value;
}

/* ---- addresses ----------------------------------------------------------------------------- */

/* Fills *out with the numeric IPv4 or IPv6 address `ip` ("127.0.0.1", "::1"; no name lookup)
 * and `port`. Returns 0, or TIDE_EINVAL (NULL argument, not a numeric address). Any thread. */
int tide_addr_from_ip(const char *ip, uint16_t port, struct sockaddr_storage *out);

/* Writes "ip:port" ("[ip]:port" for IPv6, the path for a Unix address) into buf (NUL-terminated,
 * truncated to size). Returns 0 or TIDE_EINVAL (NULL argument, unknown family). Any thread. */
int tide_addr_format(const struct sockaddr *addr, char *buf, size_t size);

/* The port of an IPv4 or IPv6 address in host byte order, or 0 for anything else. Any thread. */
uint16_t tide_addr_port(const struct sockaddr *addr);

/* ---- listeners ----------------------------------------------------------------------------- */

typedef struct tide_listen_options {
  int backlog;       /* the kernel's queue of unaccepted connections; 0: SOMAXCONN */
  int reuse_address; /* SO_REUSEADDR (default 1): rebind while old connections sit in TIME_WAIT
                        (ignored on Windows, which allows that anyway and whose SO_REUSEADDR
                        would let a listener take a port another one listens on) */
  int reuse_port;    /* SO_REUSEPORT (default 0): several sockets (one per loop/thread) share the
                        port and the kernel spreads connections across them (TIDE_ENOTSUP on
                        Windows, which has no such option) */
  int ipv6_only;     /* IPV6_V6ONLY for an IPv6 address: 1 only IPv6, 0 dual stack, -1 (default)
                        the system's setting */
} tide_listen_options;

/* Fills *opts with the defaults above. */
void tide_listen_options_init(tide_listen_options *opts);

/* Creates a TCP listener bound to `addr` (IPv4 or IPv6; port 0 picks a free port, see
 * tide_listener_address). `opts` may be NULL for the defaults. The caller owns *out and closes it
 * with tide_listener_close. Returns 0, TIDE_EINVAL (NULL loop/addr/out, family not IPv4/IPv6),
 * TIDE_EADDRINUSE, TIDE_EACCES, TIDE_EADDRNOTAVAIL, TIDE_EMFILE, TIDE_ECLOSED, TIDE_ENOMEM.
 * Loop thread. */
int tide_tcp_listen(tide_loop *loop, const struct sockaddr *addr, const tide_listen_options *opts,
                    tide_listener **out);

/* Creates a Unix domain stream listener at filesystem path `path` (which must not exist; the
 * caller unlinks it after closing). Linux abstract names start with '@' (replaced by a NUL).
 * Errors as tide_tcp_listen, plus TIDE_EINVAL for a path longer than sun_path and TIDE_ENOTSUP
 * for an abstract name on a system other than Linux, or on a system without Unix domain sockets
 * (Windows before 10 version 1803; wine). Loop thread. */
int tide_unix_listen(tide_loop *loop, const char *path, const tide_listen_options *opts,
                     tide_listener **out);

/* Accepts one connection: the future resolves with a new tide_stream (tide_io_stream), owned by
 * the caller. Accepts queue in FIFO order. Fails with TIDE_EMFILE/TIDE_ENFILE when the process
 * or system is out of descriptors, and the next accept succeeds once descriptors are freed; the
 * listener is never left spinning. On POSIX the connections waiting at that moment are closed
 * (their clients see the connection end, instead of waiting on a server that cannot take them);
 * on Windows (IOCP: the accepting socket is created before the connection is taken, and it is
 * that creation which fails) they stay in the backlog and are accepted later. Also TIDE_ECANCELED
 * (cancelled or closed), TIDE_EINVAL, TIDE_ECLOSED, TIDE_ENOMEM. Loop thread. */
int tide_listener_accept_future(tide_listener *l, tide_future **out);

/* Inside a task: accepts one connection into *out. Returns 0 or the errors above, and
 * TIDE_ETIMEDOUT under an expired deadline. */
int tide_listener_accept(tide_listener *l, tide_stream **out);

/* The address the listener is bound to (the actual port when 0 was asked). Returns 0,
 * TIDE_EINVAL or an OS error. */
int tide_listener_address(const tide_listener *l, struct sockaddr_storage *out);

/* Closes the listener: pending accepts settle with TIDE_ECANCELED, the socket is closed, and the
 * handle is freed once they have settled. Returns 0 or TIDE_EINVAL (NULL, already closed). */
int tide_listener_close(tide_listener *l);

/* ---- connecting ---------------------------------------------------------------------------- */

/* Connects to `addr` (IPv4 or IPv6): the future resolves with a new tide_stream
 * (tide_io_stream) once the handshake is done. `addr` is read before this returns: the caller
 * may reuse it at once. Fails with TIDE_ECONNREFUSED, TIDE_ETIMEDOUT,
 * TIDE_ENETUNREACH, TIDE_EHOSTUNREACH, TIDE_EADDRNOTAVAIL, TIDE_ECANCELED (the socket is closed,
 * nothing leaks), TIDE_EINVAL (NULL, family not IPv4/IPv6), TIDE_EMFILE, TIDE_ENOMEM. */
int tide_tcp_connect_future(tide_loop *loop, const struct sockaddr *addr, tide_future **out);

/* Inside a task: connects to addr and stores the new stream in *out. */
int tide_tcp_connect(tide_loop *loop, const struct sockaddr *addr, tide_stream **out);

/* Resolves host and service (tide_resolve_future, TCP) and tries each address in the order the
 * resolver returned them until one connects; fails with the last address's error (or the
 * resolver's). Runs as a task: the future is a task's future, resolving with the stream. */
int tide_tcp_connect_name_future(tide_loop *loop, const char *host, const char *service,
                                 tide_future **out);

/* Inside a task: tide_tcp_connect_name_future, awaited. */
int tide_tcp_connect_name(tide_loop *loop, const char *host, const char *service,
                          tide_stream **out);

/* Connects to the Unix domain stream socket at `path` ('@' prefix: Linux abstract name). Fails
 * with TIDE_ENOENT (no such socket), TIDE_ECONNREFUSED (nobody listens), TIDE_EAGAIN (the
 * listener's backlog is full, on Linux; other systems refuse with TIDE_ECONNREFUSED; try again
 * later), TIDE_ENOTSUP (an abstract name off Linux), and as above. */
int tide_unix_connect_future(tide_loop *loop, const char *path, tide_future **out);

/* Inside a task: tide_unix_connect_future, awaited. */
int tide_unix_connect(tide_loop *loop, const char *path, tide_stream **out);

/* ---- pipes ------------------------------------------------------------------------------- */

/* Creates a pipe: bytes written to *write_end come out of *read_end. Both are streams the caller
 * closes. Writing after the read end closed fails with TIDE_EPIPE without raising SIGPIPE. (On
 * Windows the pair is the two ends of a local overlapped named pipe with a unique name.)
 * Returns 0, TIDE_EINVAL, TIDE_EMFILE, TIDE_ENFILE, TIDE_ECLOSED, TIDE_ENOMEM. */
int tide_pipe_open(tide_loop *loop, tide_stream **read_end, tide_stream **write_end);

/* Wraps an existing descriptor (a pipe, FIFO, terminal, socketpair end or connected socket —
 * stdin, say) in a stream that takes ownership of it: tide_stream_close closes it. The
 * descriptor is switched to non-blocking mode, which is a property of the open file description
 * and so also seen by other processes sharing it (a shell's terminal, for example): dup() it
 * first, or restore the flag yourself, if that matters. Regular files cannot be wrapped
 * (TIDE_ENOTSUP: they are always "ready" and are read on the executor instead). Returns 0,
 * TIDE_EINVAL (NULL, negative fd), TIDE_EBADF, TIDE_EALREADY (already wrapped), TIDE_ENOTSUP,
 * TIDE_ECLOSED, TIDE_ENOMEM; on failure the descriptor is still the caller's.
 * On Windows `fd` is a SOCKET or a pipe HANDLE (cast to intptr_t), which must have been opened
 * for overlapped I/O (WSASocket with WSA_FLAG_OVERLAPPED, which socket() also sets;
 * FILE_FLAG_OVERLAPPED for CreateFile/CreateNamedPipe): a synchronous handle would block the
 * loop and gives TIDE_ENOTSUP, as do disk files and consoles. Its mode is not changed, but it is
 * associated with the loop's completion port for good: do not use it with another port. */
int tide_stream_open_fd(tide_loop *loop, intptr_t fd, tide_stream **out);

/* ---- streams ------------------------------------------------------------------------------- */

/* Reads some bytes (1..len; one transfer) into buf: the future resolves with the count, 0 at end
 * of file (and at once for len 0). Reads queue in FIFO order. Fails with TIDE_ECONNRESET,
 * TIDE_ECANCELED (nothing was consumed), ... */
int tide_stream_read_future(tide_stream *s, void *buf, size_t len, tide_future **out);

/* Inside a task: reads some bytes into buf; *nread gets the count (0 at end of file). */
int tide_stream_read(tide_stream *s, void *buf, size_t len, size_t *nread);

/* Reads exactly len bytes: the future resolves with len, or with fewer only if the stream ended
 * (end of file, or an error after some bytes) or the read was cancelled after some bytes had
 * arrived (they are in buf: nothing is lost). */
int tide_stream_read_exactly_future(tide_stream *s, void *buf, size_t len, tide_future **out);

/* Inside a task: reads exactly len bytes; *nread is len, or less at end of stream (then the
 * return is still 0: check *nread). */
int tide_stream_read_exactly(tide_stream *s, void *buf, size_t len, size_t *nread);

/* Writes all len bytes of buf (queued behind earlier writes, never interleaved with them): the
 * future resolves with len, or fails (TIDE_EPIPE, TIDE_ECONNRESET, ...). Does not wait for
 * room: the bytes count towards tide_stream_write_queue_size until written. */
int tide_stream_write_future(tide_stream *s, const void *buf, size_t len, tide_future **out);

/* Inside a task: waits while the stream's write queue is at or above its high-water mark
 * (backpressure from other writers), then writes all len bytes and waits until the kernel has
 * them. Returns 0 or the errors above. */
int tide_stream_write(tide_stream *s, const void *buf, size_t len);

/* Writes every byte of bufs[0..count) in order, as one write (sendmsg/writev): resolves with the
 * total. The array itself must stay valid until the future settles. */
int tide_stream_writev_future(tide_stream *s, const tide_iobuf *bufs, size_t count,
                              tide_future **out);

/* Inside a task: tide_stream_writev_future with tide_stream_write's backpressure, awaited. */
int tide_stream_writev(tide_stream *s, const tide_iobuf *bufs, size_t count);

/* Bytes submitted by writes that have not yet reached the kernel. Loop thread. */
size_t tide_stream_write_queue_size(const tide_stream *s);

/* Sets the write queue's high-water mark (default 64 KiB): task-form writes and
 * tide_stream_drain wait while the queue holds at least this many bytes. 0 makes them wait for
 * an empty queue. Returns 0 or TIDE_EINVAL. */
int tide_stream_set_write_high_water(tide_stream *s, size_t bytes);

/* Inside a task: waits until the write queue is below the high-water mark (or empty for a mark of
 * 0). Returns 0, TIDE_ECLOSED (the stream was closed meanwhile), TIDE_ECANCELED, TIDE_ETIMEDOUT. */
int tide_stream_drain(tide_stream *s);

/* Shuts the write direction down once every write submitted before has completed: the peer reads
 * end of file, and can still send. Resolves with NULL. Fails with TIDE_ENOTCONN (not connected),
 * TIDE_ENOTSUP (a pipe: close its write end instead). */
int tide_stream_shutdown_future(tide_stream *s, tide_future **out);

/* Inside a task: tide_stream_shutdown_future, awaited. */
int tide_stream_shutdown(tide_stream *s);

/* TCP_NODELAY: send small writes at once instead of coalescing them (Nagle). Returns 0,
 * TIDE_EINVAL, TIDE_ENOTSUP (not a TCP stream). */
int tide_stream_set_nodelay(tide_stream *s, int on);

/* SO_KEEPALIVE, with the idle time before the first probe when idle_seconds > 0. Returns 0,
 * TIDE_EINVAL, TIDE_ENOTSUP (not a TCP stream). */
int tide_stream_set_keepalive(tide_stream *s, int on, int idle_seconds);

/* The local / the peer's address of a socket stream. Returns 0, TIDE_EINVAL, TIDE_ENOTSUP (a
 * pipe), TIDE_ENOTCONN. */
int tide_stream_local_address(const tide_stream *s, struct sockaddr_storage *out);
int tide_stream_peer_address(const tide_stream *s, struct sockaddr_storage *out);

/* The descriptor (for options tide does not wrap); still owned by the stream. */
intptr_t tide_stream_fd(const tide_stream *s);

/* Closes the stream: pending reads and writes settle (TIDE_ECANCELED, or the bytes a write had
 * already sent), tasks waiting in tide_stream_drain/write get TIDE_ECLOSED, the descriptor is
 * closed, and the handle is freed once every operation has settled. Unsent queued bytes are
 * dropped: shut down (or await the writes) first for a graceful close. Returns 0 or TIDE_EINVAL
 * (NULL or already closed). */
int tide_stream_close(tide_stream *s);

/* ---- UDP ----------------------------------------------------------------------------------- */

typedef struct tide_udp_options {
  int reuse_address; /* SO_REUSEADDR (default 0) */
  int reuse_port;    /* SO_REUSEPORT (default 0) */
  int ipv6_only;     /* as for tide_listen_options (default -1) */
} tide_udp_options;

void tide_udp_options_init(tide_udp_options *opts);

/* Creates a UDP socket bound to addr (port 0: any free port). Returns 0 or the errors of
 * tide_tcp_listen. The caller closes *out with tide_udp_close. */
int tide_udp_bind(tide_loop *loop, const struct sockaddr *addr, const tide_udp_options *opts,
                  tide_udp **out);

/* Sends buf[0..len) as one datagram to dest (NULL: the connected peer, see tide_udp_connect):
 * resolves with len. Neither is copied: buf and *dest must stay valid until the future settles
 * (a send queued behind others reads them when its turn comes). Fails with TIDE_EMSGSIZE (too big
 * for one datagram), TIDE_ENOTCONN (dest NULL on an unconnected socket), TIDE_EAFNOSUPPORT,
 * TIDE_ECONNREFUSED (a connected socket whose peer sent ICMP port-unreachable), ... */
int tide_udp_send_to_future(tide_udp *u, const void *buf, size_t len, const struct sockaddr *dest,
                            tide_future **out);

/* Inside a task: tide_udp_send_to_future, awaited. */
int tide_udp_send_to(tide_udp *u, const void *buf, size_t len, const struct sockaddr *dest);

/* Receives one datagram into buf (truncated to len): resolves with its length as stored; its
 * source goes to *from unless from is NULL (*from must stay valid until the future settles). */
int tide_udp_recv_from_future(tide_udp *u, void *buf, size_t len, struct sockaddr_storage *from,
                              tide_future **out);

/* Inside a task: tide_udp_recv_from_future, awaited; *nread gets the datagram's length. */
int tide_udp_recv_from(tide_udp *u, void *buf, size_t len, struct sockaddr_storage *from,
                       size_t *nread);

/* Sets the default destination (and the only accepted source) to addr. Returns 0 or an OS
 * error. */
int tide_udp_connect(tide_udp *u, const struct sockaddr *addr);

/* SO_BROADCAST. Returns 0, TIDE_EINVAL or an OS error. */
int tide_udp_set_broadcast(tide_udp *u, int on);

/* Joins / leaves the IPv4 or IPv6 multicast group `group` ("239.1.2.3", "ff02::1") on the
 * interface with address `interface_ip` (IPv4; NULL: the system's choice) or index (IPv6, via
 * the same string as a number; NULL: 0). Returns 0, TIDE_EINVAL (not a multicast group, bad
 * interface) or an OS error. */
int tide_udp_join_multicast(tide_udp *u, const char *group, const char *interface_ip);
int tide_udp_leave_multicast(tide_udp *u, const char *group, const char *interface_ip);

/* Options for sending multicast: the outgoing interface (an IPv4 address, or an IPv6 interface
 * index as a string), whether this host's own members receive it (loop), and the TTL/hop limit. */
int tide_udp_set_multicast_interface(tide_udp *u, const char *interface_ip);
int tide_udp_set_multicast_loop(tide_udp *u, int on);
int tide_udp_set_multicast_ttl(tide_udp *u, int ttl);

/* The bound address (the actual port when 0 was asked). */
int tide_udp_address(const tide_udp *u, struct sockaddr_storage *out);

/* Closes the socket as tide_stream_close does. */
int tide_udp_close(tide_udp *u);

/* ---- name resolution ----------------------------------------------------------------------- */

/* Resolves host and service (either may be NULL, not both) with getaddrinfo: the future resolves
 * with a struct addrinfo list (tide_io_addrinfo; free it with tide_addrinfo_free). `hints` may be
 * NULL (any family, SOCK_STREAM, AI_ADDRCONFIG); it is copied, and so are host and service.
 * Numeric hosts and services are resolved at once (the future is settled on return); names are
 * looked up on the blocking lane of the loop's default executor (tide_run_blocking). Cancelling
 * the future settles it at once as cancelled; a lookup already running cannot be stopped, and
 * its result is freed when it arrives. While a lookup runs the loop stays alive, and
 * tide_loop_close waits for a running getaddrinfo to return (bounded by the resolver's own
 * timeouts). Fails with TIDE_ENOENT (no such name), TIDE_EAGAIN (temporary resolver failure),
 * TIDE_EAFNOSUPPORT, TIDE_EINVAL, TIDE_ENOMEM, TIDE_ECLOSED (the loop is closing),
 * TIDE_ECANCELED, or the error of creating the default executor. Loop thread only. */
int tide_resolve_future(tide_loop *loop, const char *host, const char *service,
                        const struct addrinfo *hints, tide_future **out);

/* Inside a task: tide_resolve_future, awaited; *out gets the list. */
int tide_resolve(tide_loop *loop, const char *host, const char *service,
                 const struct addrinfo *hints, struct addrinfo **out);

/* Frees a list from tide_resolve. NULL is ignored. Any thread. */
void tide_addrinfo_free(struct addrinfo *list);

#ifdef __cplusplus
}
#endif
#endif
