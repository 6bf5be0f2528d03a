/* tests/conformance/platform.h — what the conformance tests need from the operating system
 * beside tide itself, behind one small interface: clocks and sleeps, threads, counting open
 * descriptors or handles, plain blocking sockets for the peer side of a test, and the few
 * POSIX-only facilities (signals, rlimits, descriptor wrapping) some tests probe.
 *
 * platform_posix.c implements it for Linux and macOS, platform_win32.c for Windows; the tests
 * themselves stay free of platform #ifdefs. A facility a platform does not have is reported by
 * a function returning a reason string (NULL when the facility is there), which the test passes
 * to TIDE_SKIP: the skip then names the platform limitation, as the suite's rules require.
 *
 * These helpers talk to the OS directly, never through tide, so that a bug in tide cannot hide on
 * both sides of a test. They fail the test (TIDE_TEST_FAIL) on unexpected errors. */
#ifndef TIDE_TESTS_CONFORMANCE_PLATFORM_H
#define TIDE_TESTS_CONFORMANCE_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

#include "tide.h" /* struct sockaddr_storage, from the platform's socket headers */

/* ---- time ------------------------------------------------------------------------------------ */

/* The monotonic clock tide's loop reads (CLOCK_MONOTONIC; QueryPerformanceCounter on Windows),
 * in nanoseconds, so that "not before the deadline" can be checked against the OS as well. */
int64_t plat_mono_ns(void);

/* Sleeps the calling thread for at least `ms` milliseconds. */
void plat_sleep_ms(int ms);

/* Waits at least `us` microseconds (a sleep where the system has one that fine, else a spin). */
void plat_sleep_us(int us);

/* Gives the processor to another ready thread, if any. */
void plat_yield_thread(void);

/* ---- threads --------------------------------------------------------------------------------- */

typedef struct plat_thread plat_thread;

/* Starts fn(arg) on a new thread; fails the test if it cannot. Join it with plat_thread_join. */
plat_thread *plat_thread_start(void (*fn)(void *arg), void *arg);

/* Waits for the thread to end and frees its handle. */
void plat_thread_join(plat_thread *t);

/* A value that identifies the calling thread while it lives (equal on the same thread only). */
uintptr_t plat_thread_self(void);

/* ---- processes and resources ----------------------------------------------------------------- */

/* The process id, to make names (socket paths) unique across tests running in parallel. */
long plat_pid(void);

/* The number of open descriptors (POSIX) or kernel handles (Windows) of this process. Compare two
 * counts taken at quiet moments: equal counts mean nothing leaked in between. The first call
 * warms up what the OS creates lazily on first use (Winsock's helper handles, the resolver), so
 * that it is not mistaken for a leak. */
int plat_count_handles(void);

/* Path of a Unix domain socket unique to this process and `tag`, in the temporary directory;
 * writes it into buf (size bytes) and removes any stale file of that name. */
void plat_unix_socket_path(char *buf, size_t size, const char *tag);

/* Removes a file; returns 0 or -1 (errno/GetLastError describe why). */
int plat_remove_file(const char *path);

/* NULL where Unix domain stream sockets are always there (POSIX), else the reason they may be
 * missing (then tide reports TIDE_ENOTSUP and a test may skip). */
const char *plat_unix_sockets_may_be_missing(void);

/* NULL if Unix domain sockets can have abstract names (a leading '@'), else why not. */
const char *plat_abstract_unix_names_unsupported(void);

/* ---- descriptor exhaustion (accept under EMFILE) --------------------------------------------- */

typedef struct plat_fd_fill plat_fd_fill;

/* Lowers this process's descriptor limit a little above the descriptors now open and fills the
 * rest, so that the next descriptor the process opens fails with EMFILE. Returns NULL and stores
 * the state to undo in *out, or returns why the platform cannot do that. */
const char *plat_exhaust_descriptors(plat_fd_fill **out);

/* Closes the fillers and restores the limit. */
void plat_restore_descriptors(plat_fd_fill *fill);

/* ---- signals --------------------------------------------------------------------------------- */

/* Restores SIGPIPE's default action (which would kill the process), so that a test shows tide
 * never raises it. Does nothing where there is no SIGPIPE. */
void plat_sigpipe_default(void);

/* 1 if a SIGPIPE is pending for the calling thread, 0 if not (always 0 without SIGPIPE). */
int plat_sigpipe_pending(void);

/* Blocks SIGPIPE in the calling thread and raises one, which stays pending. NULL on success, or
 * why the platform has no such thing. */
const char *plat_block_and_raise_sigpipe(void);

/* Consumes the pending SIGPIPE raised by plat_block_and_raise_sigpipe. */
void plat_consume_sigpipe(void);

/* ---- plain blocking sockets (the peer side of a test) ---------------------------------------- */

/* A socket descriptor as the platform represents it (int on POSIX, SOCKET on Windows). */
typedef intptr_t plat_socket;

/* A TCP socket bound to 127.0.0.1 on a port the kernel picked but not listening, so connections
 * to it are refused; *addr gets its address. Holding it keeps tests running in parallel from
 * being given the same port. Close it with plat_socket_close. */
plat_socket plat_refusing_port(struct sockaddr_storage *addr);

/* A blocking TCP connection to addr (made on the calling thread: the kernel completes a loopback
 * handshake from the listen backlog without an accept). */
plat_socket plat_tcp_connect_blocking(const struct sockaddr_storage *addr);

/* Sends all n bytes, blocking; fails the test on error. */
void plat_send_all(plat_socket s, const void *buf, size_t n);

/* Closes a socket. */
void plat_socket_close(plat_socket s);

/* Sets SO_LINGER to {on, 0 s} on `fd` (a socket, tide's or ours), so that closing it resets the
 * connection instead of shutting it down gracefully. */
void plat_set_linger_zero(intptr_t fd);

/* Reads an int-valued socket option of `fd` (a tide handle's descriptor). */
int plat_get_sockopt_int(intptr_t fd, int level, int name);

/* The TCP_NODELAY option's level and name, for plat_get_sockopt_int. */
int plat_tcp_nodelay_level(void);
int plat_tcp_nodelay_name(void);

/* NULL if the system has SO_REUSEPORT (listeners sharing a port, the kernel spreading
 * connections across them), else why not (then tide refuses the option with TIDE_ENOTSUP). */
const char *plat_reuse_port_unsupported(void);

/* NULL if ::1 can be bound here, else why not (no IPv6 loopback on this host). */
const char *plat_ipv6_loopback_unavailable(void);

/* ---- wrapping native descriptors (tide_stream_open_fd) --------------------------------------- */

/* NULL if the platform's tide_stream_open_fd takes the descriptors the plat_native_* helpers
 * below make, else why not. POSIX: pipes, socketpair(AF_UNIX) ends, regular files. Windows: a
 * named pipe's overlapped read end (its write end synchronous), a loopback TCP socket pair (no
 * socketpair there), a disk file handle. */
const char *plat_native_descriptors_unsupported(void);

/* A pipe: fds[0] reads (the end tide wraps), fds[1] writes (blocking, for plat_native_write). */
void plat_native_pipe(intptr_t fds[2]);

/* A pipe the other way round: fds[0] reads (blocking, for plat_native_read), fds[1] writes (the
 * end tide wraps). */
void plat_native_pipe_from_tide(intptr_t fds[2]);

/* A pipe that keeps message boundaries, else as plat_native_pipe: fds[0] reads (the end tide
 * wraps), fds[1] writes (blocking; each plat_native_write is one message, an empty one too).
 * NULL on success, or why the platform has none. Windows: a named pipe in message mode. */
const char *plat_native_message_pipe(intptr_t fds[2]);

/* A connected pair of stream sockets. */
void plat_native_socket_pair(intptr_t fds[2]);

/* A regular file opened for reading (something tide must refuse to wrap). */
intptr_t plat_native_regular_file(void);

/* Writes n bytes to a native descriptor; returns the count written or -1. */
long plat_native_write(intptr_t fd, const void *buf, size_t n);

/* Reads up to n bytes from a blocking native descriptor (a plat_native_pipe_from_tide read end),
 * waiting until some arrive; returns the count read, 0 at end of file (every write end closed),
 * or -1. */
long plat_native_read(intptr_t fd, void *buf, size_t n);

/* Closes a native descriptor. */
void plat_native_close(intptr_t fd);

/* 1 if fd is an open descriptor, 0 if not (closed, as after tide closed what it wrapped). */
int plat_native_is_open(intptr_t fd);

#endif
